/* yz_population.c: a population read as chunks of records in input order (a JSON Lines or CSV
 * ledger, or records handed over), and each record parsed and validated: the one reader of batch
 * and impact. */
#include "yz_population.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "yz_csv.h"
#include "yz_diag.h"
#include "yz_hash.h"
#include "yz_input.h"
#include "yz_text.h"

struct population {
    const char *name;
    yz_input *in;     /* NULL for a pushed population */
    bool csv;
    yz_csv *reader;
    csv_header *header;
    bool header_done;
    pop_chunk *cur;                /* being filled */
    pop_chunk *ready, *ready_tail; /* full, not yet handed out */
    uint64_t seq;
    int status;
    bool ended;
    bool notes;          /* pop_set_notes */
    uint64_t long_lines; /* lines too long to keep: skipped, each said in the diagnostics */
    yz_hasher *hasher; /* pushed ledgers */
    long pushed;
    yz_diags *d;       /* during pop_next: where CSV rows report */
};

static pop_chunk *chunk_new(void)
{
    pop_chunk *c = yz_calloc(1, sizeof *c);
    arena_init(&c->rows, 64 * 1024);
    return c;
}

void pop_chunk_free(pop_chunk *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n; i++) {
        yz_free(c->note[i]);
        yz_free(c->long_prefix[i]);
    }
    yz_free(c->text);
    arena_free(&c->rows);
    yz_free(c);
}

/* the current chunk is complete: queue it and start another */
static void chunk_done(population *l)
{
    pop_chunk *c = l->cur;
    l->cur = NULL;
    if (!c || !c->n) {
        pop_chunk_free(c);
        return;
    }
    c->seq = l->seq++;
    c->next = NULL;
    if (l->ready_tail)
        l->ready_tail->next = c;
    else
        l->ready = c;
    l->ready_tail = c;
}

static pop_chunk *current(population *l)
{
    if (!l->cur)
        l->cur = chunk_new();
    return l->cur;
}

static void add_text(population *l, const char *p, size_t n, long line)
{
    pop_chunk *c = current(l);
    if (c->off[c->n] + n + 1 > c->cap) {
        c->cap = (c->off[c->n] + n + 1) * 2;
        c->text = yz_realloc(c->text, c->cap);
    }
    memcpy(c->text + c->off[c->n], p, n);
    c->line[c->n] = line;
    c->n++;
    c->off[c->n] = c->off[c->n - 1] + n;
    if (c->n == POP_CHUNK)
        chunk_done(l);
}

int pop_open(const char *path, const char *format, const char *encoding, bool hash, population **out, yz_diags *d)
{
    *out = NULL;
    yz_input *in;
    int rc = input_open(path, encoding, &in, d);
    if (rc != YZ_OK)
        return rc;
    if (hash)
        input_hash_start(in);
    population *l = yz_calloc(1, sizeof *l);
    l->name = path;
    l->in = in;
    l->csv = format ? !strcmp(format, "csv") : yz_str_has_suffix(path, ".csv") || yz_str_has_suffix(path, ".CSV");
    if (l->csv && !(l->reader = csv_reader_new()))
        yz_out_of_memory(0); /* libcsv's csv_init fails only for want of memory */
    *out = l;
    return YZ_OK;
}

population *pop_new_pushed(const char *name, bool hash)
{
    population *l = yz_calloc(1, sizeof *l);
    l->name = name;
    if (hash)
        l->hasher = hasher_new(YZ_HASH_SHA256);
    return l;
}

void pop_push(population *l, const char *json, size_t len)
{
    if (l->hasher) {
        hasher_update(l->hasher, json, len);
        hasher_update(l->hasher, "\n", 1);
    }
    add_text(l, json, len, ++l->pushed);
}

void pop_push_end(population *l)
{
    l->ended = true;
    chunk_done(l);
}

bool pop_is_csv(const population *l)
{
    return l->csv;
}

void pop_set_notes(population *l)
{
    l->notes = true;
}

yz_input *pop_input(const population *l)
{
    return l->in;
}

__attribute__((format(printf, 1, 2))) static char *note_printf(const char *fmt, ...)
{
    strbuf sb = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(&sb, fmt, ap);
    va_end(ap);
    return sb_release(&sb);
}

/* the entry just filled in counts: a full chunk is ready */
static void entry_done(population *l, pop_chunk *c)
{
    c->n++;
    if (!l->csv)
        c->off[c->n] = c->off[c->n - 1];
    if (c->n == POP_CHUNK)
        chunk_done(l);
}

/* a line too long to keep, as an entry with a note (pop_set_notes) */
static void long_line_entry(population *l, const input_long_line *ll)
{
    pop_chunk *c = current(l);
    c->line[c->n] = ll->line;
    c->docs[c->n] = NULL;
    c->note[c->n] = note_printf("the line is longer than %u MiB (%llu bytes) and was skipped: each record must "
                                "be on a line of its own",
                                YZ_INPUT_MAX_LINE >> 20, (unsigned long long)ll->bytes);
    c->long_bytes[c->n] = ll->bytes;
    c->long_prefix[c->n] = yz_strdup(ll->prefix);
    entry_done(l, c);
}

static void on_csv_row(char **fields, size_t *lens, size_t n, const csv_row *row, void *p)
{
    population *l = p;
    long line = row->line;
    if (l->status != YZ_OK)
        return;
    if (!l->header_done) {
        l->header_done = true;
        for (size_t k = 0; k < n; k++)
            if (memchr(fields[k], '\0', lens[k])) { /* a name cut short there would name another column */
                diag_add(l->d, YZ_SEV_ERROR, l->name, line, 0, "column %zu of the header holds a NUL character: remove it",
                         k + 1);
                l->status = YZ_EINPUT;
                return;
            }
        strbuf err = STRBUF_INIT;
        l->header = csv_header_new(fields, n, &err);
        if (!l->header) {
            diag_add(l->d, YZ_SEV_ERROR, l->name, line, 0, "the header is not in the record format: %s", err.buf);
            l->status = YZ_EINPUT;
        }
        sb_free(&err);
        return;
    }
    pop_chunk *c = current(l);
    int i = c->n;
    c->line[i] = line;
    c->ncells[i] = n;
    c->quote_line[i] = row->quote_line;
    c->quote_col[i] = row->quote_col;
    c->quote_end[i] = row->last_line;
    /* a quote never closed: every later line was read into one cell of this row, which is rejected */
    c->unterminated[i] = row->unterminated;
    if (row->unterminated && l->notes)
        c->note[i] = note_printf("the quote that opens at line %ld, column %d is never closed, so every line "
                                 "after it, to the end of the file (line %ld), was read into one cell: close "
                                 "the quote",
                                 row->quote_line, row->quote_col, row->last_line);
    for (size_t k = 0; k < n; k++)
        if (yz_utf8_invalid(fields[k], lens[k])) {
            c->ncells[i] = 0;
            break;
        }
    /* a row with another number of cells than the header is reported, not guessed at */
    c->nul_col[i] = -1;
    c->docs[i] = n == csv_header_columns(l->header) && c->ncells[i] && !c->unterminated[i]
                     ? record_from_csv(&c->rows, l->header, fields, lens, n, &c->nul_col[i])
                     : NULL;
    entry_done(l, c);
}

/* JSON Lines: whole lines, blank ones left out, into chunks */
static void split_lines(population *l, const char *buf, size_t len, long line)
{
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        const char *q = p;
        while (q < e && (*q == ' ' || *q == '\t' || *q == '\r'))
            q++;
        if (q < e)
            add_text(l, p, (size_t)(e - p), line);
        p = nl ? nl + 1 : end;
        line++;
    }
}

/* reads blocks until a chunk is ready or the input ends */
static void read_more(population *l, yz_diags *d)
{
    strbuf err = STRBUF_INIT;
    l->d = d;
    while (!l->ready && !l->ended) {
        const char *buf;
        size_t len;
        long first;
        int r = input_next(l->in, &buf, &len, &first, d);
        input_long_line ll;
        if (r > 0 && input_long_line_taken(l->in, &ll)) {
            if (l->notes) {
                long_line_entry(l, &ll);
            } else {
                l->long_lines++;
                diag_add(d, YZ_SEV_ERROR, l->name, ll.line, 0,
                         "the line is longer than %u MiB (%llu bytes) and was skipped: each record must be on a "
                         "line of its own", YZ_INPUT_MAX_LINE >> 20, (unsigned long long)ll.bytes);
            }
        }
        if (r < 0) {
            l->status = YZ_EIO;
        } else if (r > 0 && l->csv) {
            if (csv_reader_feed(l->reader, buf, len, first, on_csv_row, l, &err) != 0) {
                diag_add(d, YZ_SEV_ERROR, l->name, 0, 0, "%s", err.buf);
                l->status = YZ_EINPUT;
            }
        } else if (r > 0) {
            split_lines(l, buf, len, first);
        } else if (l->csv && l->status == YZ_OK && csv_reader_finish(l->reader, on_csv_row, l, &err) != 0) {
            diag_add(d, YZ_SEV_ERROR, l->name, 0, 0, "%s", err.buf);
            l->status = YZ_EINPUT;
        }
        if (r <= 0 || l->status != YZ_OK) {
            /* what was read before the end (or the error) is decided */
            l->ended = true;
            chunk_done(l);
        }
    }
    l->d = NULL;
    sb_free(&err);
}

pop_chunk *pop_next(population *l, yz_diags *d)
{
    if (!l->ready && l->in)
        read_more(l, d);
    pop_chunk *c = l->ready;
    if (c) {
        l->ready = c->next;
        if (!l->ready)
            l->ready_tail = NULL;
        c->next = NULL;
    }
    return c;
}

int pop_status(const population *l)
{
    return l->status;
}

bool pop_record(const population *l, pop_chunk *c, int i, arena *mem, yz_record *rec, yz_diags *d, char why[160])
{
    why[0] = '\0';
    if (c->note[i]) {
        snprintf(why, 160, "%s", c->note[i]);
        return false;
    }
    yj *doc;
    if (l->csv) {
        doc = c->docs[i];
        if (!doc && c->nul_col[i] >= 0) {
            strbuf path = STRBUF_INIT;
            csv_header_path(l->header, (size_t)c->nul_col[i], &path);
            nul_found(d, l->name, 0, 0, sb_str(&path), "a zero byte");
            sb_free(&path);
            return false;
        }
        if (!doc && c->unterminated[i]) {
            snprintf(why, 160, "the quote that opens at line %ld, column %d is never closed: close the quote",
                     c->quote_line[i], c->quote_col[i]);
            return false;
        }
        if (!doc) {
            if (c->ncells[i])
                snprintf(why, 160, "the row has %zu cells, the header %zu", c->ncells[i], csv_header_columns(l->header));
            else
                snprintf(why, 160, "the row is not valid UTF-8 (use --encoding gbk for GBK files)");
            return false;
        }
    } else {
        size_t off, len = c->off[i + 1] - c->off[i];
        const char *err;
        const char *text = c->text + c->off[i];
        if (yz_utf8_invalid(text, len)) {
            snprintf(why, 160, "the line is not valid UTF-8 (use --encoding gbk for GBK files)");
            return false;
        }
        if (record_json_nul(text, len, l->name, d))
            return false;
        doc = yj_parse(mem, text, len, &off, &err);
        if (!doc) {
            snprintf(why, 160, "%s at column %zu", err, off + 1);
            return false;
        }
    }
    /* violations carry the line in the rejects output, not in their own text */
    yval *root = record_index(mem, doc, l->name, d);
    if (!root) {
        if (!d->n)
            snprintf(why, 160, "the record breaks the schema");
        return false;
    }
    memset(rec, 0, sizeof *rec);
    rec->doc = doc;
    rec->root = root;
    rec->id_number = yj_str(yj_get(doc, "id_number"));
    return true;
}

const char *pop_name(const population *l)
{
    return l->name;
}

uint64_t pop_skipped(const population *l)
{
    return l->long_lines;
}

uint64_t pop_consumed(const population *l)
{
    return l->in ? input_consumed(l->in) : 0;
}

uint64_t pop_size(const population *l)
{
    return l->in ? input_size(l->in) : 0;
}

void pop_sha256(population *l, char hex[65])
{
    hex[0] = '\0';
    if (l->in) {
        input_hash_final(l->in, hex);
    } else if (l->hasher) {
        hasher_final(l->hasher, hex);
        l->hasher = NULL;
    }
}

void pop_close(population *l)
{
    if (!l)
        return;
    while (l->ready) {
        pop_chunk *c = l->ready;
        l->ready = c->next;
        pop_chunk_free(c);
    }
    pop_chunk_free(l->cur);
    if (l->hasher) {
        char hex[65];
        hasher_final(l->hasher, hex);
    }
    csv_reader_free(l->reader);
    csv_header_free(l->header);
    input_close(l->in);
    yz_free(l);
}

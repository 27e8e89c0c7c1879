/* yz_csv.c: CSV rows through libcsv, fed line by line so each row knows its lines, and where a
 * quoted cell that runs over lines opened. */
#include "yz_csv.h"

#include <csv.h>
#include <string.h>

struct yz_csv {
    struct csv_parser p;
    char **fields;
    size_t *lens;
    size_t n, cap;
    strbuf store;   /* the current row's field bytes */
    size_t *offs;
    long line, row_line;
    bool in_row;
    long open_line;       /* a quoted cell open at the end of a line opened here (0: none) */
    int open_col;
    long row_quote_line;  /* the row's first such cell */
    int row_quote_col;
    bool unterminated;    /* the input ended inside it */
    csv_row_fn fn;
    void *ctx;
};

static void on_field(void *data, size_t len, void *ctx)
{
    yz_csv *c = ctx;
    c->open_line = 0; /* a cell has ended: no quote is open */
    if (!c->in_row) {
        c->in_row = true;
        c->row_line = c->line;
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->offs = yz_realloc(c->offs, c->cap * sizeof *c->offs);
        c->lens = yz_realloc(c->lens, c->cap * sizeof *c->lens);
        c->fields = yz_realloc(c->fields, c->cap * sizeof *c->fields);
    }
    c->offs[c->n] = c->store.len;
    c->lens[c->n] = len;
    sb_add(&c->store, data ? data : "", data ? len : 0);
    sb_addc(&c->store, '\0');
    c->n++;
}

static void on_row(int term, void *ctx)
{
    (void)term;
    yz_csv *c = ctx;
    if (!c->in_row) {
        c->n = 0;
        return;
    }
    for (size_t i = 0; i < c->n; i++)
        c->fields[i] = c->store.buf + c->offs[i];
    csv_row row = {c->row_line, c->line, c->row_quote_line, c->row_quote_col, c->unterminated};
    c->fn(c->fields, c->lens, c->n, &row, c->ctx);
    c->n = 0;
    sb_clear(&c->store);
    c->in_row = false;
    c->row_quote_line = 0;
    c->row_quote_col = 0;
}

/* The quote of a quoted cell that a line opens and does not close (cells split at commas, a
 * cell quoted when it starts with '"' after blanks, "" a quote inside one), or NULL.  The line
 * starts a row: no quote was open before it. */
static const char *open_quote(const char *p, size_t n)
{
    const char *e = p + n;
    while (p < e) {
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        if (p < e && *p == '"') {
            const char *open = p++;
            for (;;) {
                if (p >= e)
                    return open;
                if (*p++ != '"')
                    continue;
                if (p < e && *p == '"') {
                    p++;
                    continue;
                }
                break;
            }
        }
        while (p < e && *p != ',')
            p++;
        if (p < e)
            p++;
    }
    return NULL;
}

yz_csv *csv_reader_new(void)
{
    yz_csv *c = yz_calloc(1, sizeof *c);
    if (csv_init(&c->p, CSV_APPEND_NULL | CSV_STRICT_FINI) != 0) {
        yz_free(c);
        return NULL;
    }
    /* libcsv reports a failed allocation as a parse error ("memory exhausted"), which would reject
       the file as malformed: with ours, running out of memory goes to the out-of-memory handler */
    csv_set_realloc_func(&c->p, yz_realloc);
    csv_set_free_func(&c->p, yz_free);
    return c;
}

void csv_reader_free(yz_csv *c)
{
    if (!c)
        return;
    csv_free(&c->p);
    yz_free(c->fields);
    yz_free(c->lens);
    yz_free(c->offs);
    sb_free(&c->store);
    yz_free(c);
}

int csv_reader_feed(yz_csv *c, const char *buf, size_t len, long first_line, csv_row_fn fn, void *ctx, strbuf *err)
{
    c->fn = fn;
    c->ctx = ctx;
    c->line = first_line;
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        bool was_open = c->open_line != 0;
        if (csv_parse(&c->p, p, n, on_field, on_row, c) != n) {
            sb_addf(err, "line %ld: %s", c->line, csv_strerror(csv_error(&c->p)));
            return -1;
        }
        if (!was_open && c->p.quoted) {
            /* a quoted cell runs past the end of this line: remember where it opened */
            const char *q = open_quote(p, n);
            if (q) {
                c->open_line = c->line;
                c->open_col = (int)yz_utf8_width(p, (size_t)(q - p)) + 1;
                if (!c->row_quote_line) {
                    c->row_quote_line = c->open_line;
                    c->row_quote_col = c->open_col;
                }
            }
        }
        p += n;
        c->line++;
    }
    return 0;
}

int csv_reader_finish(yz_csv *c, csv_row_fn fn, void *ctx, strbuf *err)
{
    c->fn = fn;
    c->ctx = ctx;
    c->line--; /* the last line fed */
    c->unterminated = c->open_line != 0;
    if (csv_fini(&c->p, on_field, on_row, c) != 0) {
        sb_addf(err, "line %ld: %s (an unterminated quoted field?)", c->line, csv_strerror(csv_error(&c->p)));
        return -1;
    }
    return 0;
}

void csv_add_field(strbuf *sb, const char *s, size_t n)
{
    size_t need = csv_write(NULL, 0, s, n);
    sb_grow(sb, need + 1);
    sb->len += csv_write(sb->buf + sb->len, need, s, n);
    sb->buf[sb->len] = '\0';
}

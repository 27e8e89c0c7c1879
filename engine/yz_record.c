/* yz_record.c: applicant records from JSON or YAML text, validated against the schema. */
#include "yz_record.h"

#include <stdlib.h>
#include <string.h>

#include "yz_diag.h"
#include "yz_text.h"

/* ---- NUL characters ----
 *
 * A record's texts are C strings: a NUL would cut a value short without a word ("F\0x" read as F,
 * "李\0华" stored as 李).  Whichever way it is written (a zero byte in JSON, YAML or a CSV cell,
 * JSON's \u0000, YAML's "\0"), it is refused with its field path. */

void nul_found(yz_diags *d, const char *source, int line, int col, const char *path, const char *how)
{
    diag_add_field(d, source, line, col, *path ? path : "(record)",
                   "holds a NUL character (%s): remove it; a value cannot contain one (it would be cut short there)",
                   how);
}

bool record_json_nul(const char *text, size_t len, const char *source, yz_diags *d)
{
    bool escaped;
    const char *nul = yj_find_nul(text, len, &escaped);
    if (!nul)
        return false;
    int line, col;
    yz_offset_linecol(text, (size_t)(nul - text), &line, &col);
    strbuf path = STRBUF_INIT;
    yj_path_at(text, len, (size_t)(nul - text), &path);
    nul_found(d, source, line, col, sb_str(&path), escaped ? "\\u0000" : "a zero byte");
    sb_free(&path);
    return true;
}

static bool before(int l1, int c1, int l2, int c2)
{
    return l1 < l2 || (l1 == l2 && c1 < c2);
}

static bool node_holds(const ynode *n, int line, int col)
{
    return !before(line, col, n->line, n->col) && before(line, col, n->end_line, n->end_col);
}

static void path_key(strbuf *path, const ynode *key)
{
    if (path->len)
        sb_addc(path, '.');
    sb_add(path, key->str, strlen(key->str));
}

/* the path of the innermost node of n at line:col */
static void yaml_path_at(const ynode *n, int line, int col, strbuf *path)
{
    for (size_t i = 0; n && n->kind != YN_SCALAR && i < n->n; i++) {
        const ynode *k = n->kind == YN_MAP ? n->keys[i] : NULL, *v = n->vals[i];
        if ((k && node_holds(k, line, col)) || (v && node_holds(v, line, col))) {
            if (k)
                path_key(path, k);
            else
                sb_addf(path, "[%zu]", i);
            if (v && node_holds(v, line, col))
                yaml_path_at(v, line, col, path);
            return;
        }
    }
}

/* the first scalar (key or value) that holds a NUL ("\0" in double quotes), with its path */
static const ynode *yaml_nul_scalar(const ynode *n, strbuf *path)
{
    if (!n)
        return NULL;
    if (n->kind == YN_SCALAR)
        return memchr(n->str, '\0', n->len) ? n : NULL;
    for (size_t i = 0; i < n->n; i++) {
        size_t mark = path->len;
        if (n->kind == YN_MAP)
            path_key(path, n->keys[i]);
        else
            sb_addf(path, "[%zu]", i);
        if (n->kind == YN_MAP && memchr(n->keys[i]->str, '\0', n->keys[i]->len))
            return n->keys[i];
        const ynode *hit = yaml_nul_scalar(n->vals[i], path);
        if (hit)
            return hit;
        path->len = mark;
        path->buf[mark] = '\0';
    }
    return NULL;
}

/* A zero byte in YAML text: the loader refuses the file as not text; for a record, say in which
   field, found by reading a copy with the zero bytes made spaces (the same columns) */
static bool yaml_raw_nul(const char *text, size_t len, const char *source, yz_diags *d)
{
    const char *z = memchr(text, '\0', len);
    if (!z)
        return false;
    int line, col;
    yz_offset_linecol(text, (size_t)(z - text), &line, &col);
    char *copy = yz_malloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = '\0';
    for (size_t i = 0; i < len; i++)
        if (!copy[i])
            copy[i] = ' ';
    yz_diags quiet;
    yz_diags_init(&quiet);
    ydoc *doc = NULL;
    strbuf path = STRBUF_INIT;
    if (ydoc_parse(copy, len, source, &doc, &quiet) == YZ_OK)
        yaml_path_at(doc->root, line, col, &path);
    ydoc_free(doc);
    yz_diags_free(&quiet);
    yz_free(copy);
    nul_found(d, source, line, col, sb_str(&path), "a zero byte");
    sb_free(&path);
    return true;
}

yval *record_index(arena *mem, yj *doc, const char *source, yz_diags *d)
{
    schema_canonicalise(schema_applicant(), doc);
    return schema_validate(schema_applicant(), mem, doc, source, d);
}

static int record_parse(const char *text, size_t len, const char *source, bool canonical, yz_record **out,
                        yz_diags *d)
{
    *out = NULL;
    if (!source)
        source = "<record>";
    /* a UTF-8 byte order mark is harmless; skip it */
    if (len >= 3 && (unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB && (unsigned char)text[2] == 0xBF) {
        text += 3;
        len -= 3;
    }
    const char *bad = yz_utf8_invalid(text, len);
    if (bad) {
        int line, col;
        yz_offset_linecol(text, (size_t)(bad - text), &line, &col);
        diag_add(d, YZ_SEV_ERROR, source, line, col,
                 "the record is not valid UTF-8 (byte 0x%02X); save it as UTF-8 (GBK text can be converted with iconv -f GBK -t UTF-8)",
                 (unsigned char)*bad);
        return YZ_EPARSE;
    }
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
        i++;
    if (i == len) {
        diag_add(d, YZ_SEV_ERROR, source, 0, 0, "the record is empty");
        return YZ_EPARSE;
    }
    yz_record *rec = yz_calloc(1, sizeof *rec);
    arena_init(&rec->mem, 16 * 1024);
    if (text[i] == '{' || text[i] == '[') {
        if (record_json_nul(text, len, source, d)) {
            yz_record_free(rec);
            return YZ_EPARSE;
        }
        size_t off;
        const char *err;
        rec->doc = yj_parse(&rec->mem, text, len, &off, &err);
        if (!rec->doc) {
            int line, col;
            yz_offset_linecol(text, off, &line, &col);
            diag_add(d, YZ_SEV_ERROR, source, line, col, "%s", err);
            yz_record_free(rec);
            return YZ_EPARSE;
        }
    } else {
        ydoc *doc;
        if (yaml_raw_nul(text, len, source, d)) {
            yz_record_free(rec);
            return YZ_EPARSE;
        }
        if (ydoc_parse(text, len, source, &doc, d) != YZ_OK) {
            yz_record_free(rec);
            return YZ_EPARSE;
        }
        if (doc->soft_errors) {
            ydoc_free(doc);
            yz_record_free(rec);
            return YZ_EPARSE;
        }
        if (!doc->root) {
            diag_add(d, YZ_SEV_ERROR, source, 0, 0, "the record is empty");
            ydoc_free(doc);
            yz_record_free(rec);
            return YZ_EPARSE;
        }
        strbuf path = STRBUF_INIT;
        const ynode *nul = yaml_nul_scalar(doc->root, &path);
        if (nul) {
            nul_found(d, source, nul->line, nul->col, sb_str(&path), "\\0");
            sb_free(&path);
            ydoc_free(doc);
            yz_record_free(rec);
            return YZ_EPARSE;
        }
        sb_free(&path);
        /* checked as YAML first, so that every problem has its line and column */
        if (schema_check_yaml(schema_applicant(), doc->root, source, d)) {
            ydoc_free(doc);
            yz_record_free(rec);
            return YZ_EINPUT;
        }
        rec->doc = schema_yaml_to_json(schema_applicant(), &rec->mem, doc->root);
        ydoc_free(doc);
    }
    if (canonical)
        schema_canonicalise(schema_applicant(), rec->doc);
    rec->root = schema_validate(schema_applicant(), &rec->mem, rec->doc, source, d);
    if (!rec->root) {
        yz_record_free(rec);
        return YZ_EINPUT;
    }
    rec->id_number = yj_str(yj_get(rec->doc, "id_number"));
    *out = rec;
    return YZ_OK;
}

int yz_record_parse(const char *text, size_t len, const char *source, yz_record **out, yz_diags *d)
{
    return record_parse(text, len, source, true, out, d);
}

int record_parse_stored(const char *text, size_t len, const char *source, yz_record **out, yz_diags *d)
{
    return record_parse(text, len, source, false, out, d);
}

void yz_record_free(yz_record *rec)
{
    if (!rec)
        return;
    arena_free(&rec->mem);
    yz_free(rec);
}

const char *yz_record_id_number(const yz_record *rec)
{
    return rec->id_number;
}

char *yz_record_canonical(const yz_record *rec)
{
    strbuf sb = STRBUF_INIT;
    yj_write_canonical(&sb, rec->doc);
    return sb_release(&sb);
}

void record_canonical_to(const yz_record *rec, strbuf *out)
{
    yj_write_canonical(out, rec->doc);
}

/* ---- CSV ---- */

enum { COL_VALUE, COL_COUNT, COL_LIST };

/* items of a list without maxItems in the schema that a CSV row may build */
#define CSV_MAX_ITEMS 10000

typedef struct csv_step {
    const char *key; /* object member, or NULL for an array index */
    int index;
    const snode *sn; /* the node this step reaches */
} csv_step;

typedef struct csv_col {
    int kind;
    const snode *leaf;
    int nsteps;
    csv_step steps[8];
} csv_col;

struct csv_header {
    arena mem;
    csv_col *cols;
    size_t n;
};

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

csv_header *csv_header_new(char **fields, size_t n, strbuf *err)
{
    const yz_schema *sc = schema_applicant();
    csv_header *h = yz_calloc(1, sizeof *h);
    arena_init(&h->mem, 16 * 1024);
    h->cols = arena_alloc(&h->mem, (n ? n : 1) * sizeof *h->cols);
    h->n = n;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        csv_col *c = &h->cols[i];
        memset(c, 0, sizeof *c);
        char *name = arena_strdup(&h->mem, fields[i]);
        const snode *sn = sc->root;
        char *save, *seg = strtok_r(name, ".", &save);
        const char *why = NULL;
        while (seg && !why) {
            if (c->nsteps == 8) {
                why = "is nested too deeply";
                break;
            }
            if (sn->type == ST_ARRAY) {
                if (!strcmp(seg, "count") && sn->items->type == ST_OBJECT) {
                    c->kind = COL_COUNT;
                    c->leaf = sn;
                    seg = strtok_r(NULL, ".", &save);
                    if (seg)
                        why = "has parts after 'count'";
                    break;
                }
                if (!all_digits(seg) || sn->items->type != ST_OBJECT) {
                    why = "names a list item without a number (write name.0.field)";
                    break;
                }
                /* the list is built up to this item for every row: bound it by the schema */
                size_t most = sn->max_items ? sn->max_items : CSV_MAX_ITEMS;
                if (strlen(seg) > 9 || (size_t)atoi(seg) >= most) {
                    sb_addf(err, "%scolumn '%s' names item %s of a list that has at most %zu items (0 to %zu)",
                            bad++ ? "; " : "", fields[i], seg, most, most - 1);
                    why = "";
                    break;
                }
                c->steps[c->nsteps].key = NULL;
                c->steps[c->nsteps].index = atoi(seg);
                c->steps[c->nsteps].sn = sn->items;
                c->nsteps++;
                sn = sn->items;
            } else if (sn->type == ST_OBJECT) {
                const snode *child = snode_child(sn, seg, strlen(seg));
                if (!child) {
                    const char *cands[128];
                    size_t nc = 0;
                    for (size_t k = 0; k < sn->nprops && nc < 128; k++)
                        cands[nc++] = sn->props[k]->key;
                    const char *near = yz_suggest(seg, cands, nc);
                    sb_addf(err, "%sunknown column '%s'", bad++ ? "; " : "", fields[i]);
                    if (near)
                        sb_addf(err, " (did you mean '%s' for '%s'?)", near, seg);
                    why = "";
                    break;
                }
                c->steps[c->nsteps].key = child->key;
                c->steps[c->nsteps].index = -1;
                c->steps[c->nsteps].sn = child;
                c->nsteps++;
                sn = child;
            } else {
                why = "goes below a value that has no fields";
            }
            seg = strtok_r(NULL, ".", &save);
        }
        if (why) {
            if (*why)
                sb_addf(err, "%scolumn '%s' %s", bad++ ? "; " : "", fields[i], why);
            continue;
        }
        if (c->kind == COL_COUNT)
            continue;
        if (sn->type == ST_ARRAY && sn->items->type == ST_STRING) {
            c->kind = COL_LIST;
        } else if (sn->type == ST_OBJECT || sn->type == ST_ARRAY) {
            sb_addf(err, "%scolumn '%s' names a group of fields, not a value", bad++ ? "; " : "", fields[i]);
            continue;
        }
        c->leaf = sn;
    }
    if (bad) {
        csv_header_free(h);
        return NULL;
    }
    return h;
}

void csv_header_free(csv_header *h)
{
    if (!h)
        return;
    arena_free(&h->mem);
    yz_free(h);
}

size_t csv_header_columns(const csv_header *h)
{
    return h->n;
}

static yj *child_of(arena *mem, yj *parent, const csv_step *st)
{
    if (st->key) {
        yj_type want = st->sn->type == ST_ARRAY ? YJ_ARRAY : YJ_OBJECT;
        yj *c = yj_get(parent, st->key);
        if (!c) {
            c = want == YJ_ARRAY ? yj_new_array(mem) : yj_new_object(mem);
            yj_append(mem, parent, st->key, c);
        } else if (yj_typeof(c) != want) {
            /* a count cell that is not a number took the list's place: validation refuses the
               row for it, and the cells below it go nowhere */
            return want == YJ_ARRAY ? yj_new_array(mem) : yj_new_object(mem);
        }
        return c;
    }
    /* an array item: extend the list up to it */
    size_t n = yj_size(parent);
    while (n <= (size_t)st->index) {
        yj_append(mem, parent, NULL, yj_new_object(mem));
        n++;
    }
    yj *c = yj_first(parent);
    for (int i = 0; i < st->index; i++)
        c = yj_next(c);
    return c;
}

static yj *typed_cell(arena *mem, const snode *sn, const char *s, size_t len)
{
    if (len == 4 && !memcmp(s, "null", 4))
        return yj_new_null(mem);
    char *end;
    switch (sn->type) {
    case ST_INTEGER: {
        long long v = strtoll(s, &end, 10);
        if (*end == '\0' && end != s)
            return yj_new_int(mem, v);
        break;
    }
    case ST_NUMBER: {
        double v = strtod(s, &end);
        if (*end == '\0' && end != s)
            return yj_new_number(mem, v);
        break;
    }
    case ST_BOOLEAN:
        if (!strcmp(s, "true"))
            return yj_new_bool(mem, true);
        if (!strcmp(s, "false"))
            return yj_new_bool(mem, false);
        break;
    default: break;
    }
    /* text, or a cell of the wrong type: validation says which */
    return yj_new_string(mem, s, len);
}

void csv_header_path(const csv_header *h, size_t col, strbuf *path)
{
    const csv_col *c = &h->cols[col];
    for (int k = 0; k < c->nsteps; k++) {
        if (c->steps[k].key)
            sb_addf(path, "%s%s", path->len ? "." : "", c->steps[k].key);
        else
            sb_addf(path, "[%d]", c->steps[k].index);
    }
    if (c->kind == COL_COUNT)
        sb_adds(path, ".count");
}

yj *record_from_csv(arena *mem, const csv_header *h, char **fields, size_t *lens, size_t n, long *nul_col)
{
    *nul_col = -1;
    for (size_t i = 0; i < n && i < h->n; i++) {
        if (memchr(fields[i], '\0', lens[i])) {
            *nul_col = (long)i;
            return NULL;
        }
    }
    yj *root = yj_new_object(mem);
    for (size_t i = 0; i < n && i < h->n; i++) {
        if (!lens[i])
            continue; /* an empty cell is an absent field */
        const csv_col *c = &h->cols[i];
        if (!c->leaf)
            continue;
        yj *cur = root;
        for (int k = 0; k < c->nsteps - 1; k++)
            cur = child_of(mem, cur, &c->steps[k]);
        const csv_step *lst = &c->steps[c->nsteps - 1];
        if (c->kind == COL_COUNT && !all_digits(fields[i])) {
            /* not a number of items (not even null, which would leave the cells of the items
               unread): the text stands for the list, and validation says what is wrong */
            if (lst->key)
                yj_set(mem, cur, lst->key, yj_new_string(mem, fields[i], lens[i]));
            continue;
        }
        if (c->kind == COL_COUNT) {
            /* give the list that many items (absent fields until filled); 0 is the empty list */
            yj *list = child_of(mem, cur, lst);
            long want = strtol(fields[i], NULL, 10);
            /* more than the schema allows: one item too many is enough for validation to say so */
            size_t most = c->leaf->max_items ? c->leaf->max_items : CSV_MAX_ITEMS;
            if (want > (long)most)
                want = (long)most + 1;
            if (want > 0) {
                csv_step item = {NULL, (int)want - 1, c->leaf->items};
                child_of(mem, list, &item);
            }
            continue;
        }
        yj *val;
        if (c->kind == COL_LIST && lens[i] == 4 && !memcmp(fields[i], "null", 4)) {
            val = yj_new_null(mem); /* as in JSON: for a list, the same as absent (unknown) */
        } else if (c->kind == COL_LIST) {
            /* "[]" is the empty list: a known "none" (an empty cell is unknown) */
            val = yj_new_array(mem);
            const char *p = lens[i] == 2 && !memcmp(fields[i], "[]", 2) ? "" : fields[i];
            while (*p) {
                const char *e = strchr(p, ';');
                size_t l = e ? (size_t)(e - p) : strlen(p);
                yj_append(mem, val, NULL, yj_new_string(mem, p, l));
                if (!e)
                    break;
                p = e + 1;
            }
        } else {
            val = typed_cell(mem, c->leaf, fields[i], lens[i]);
        }
        if (lst->key)
            yj_append(mem, cur, lst->key, val);
    }
    return root;
}

void record_reject(const char *file, long line, const yz_diags *d, const char *why, const record_reject_more *more,
                   char **json, char **message)
{
    const char *hint = more && more->hint && *more->hint ? more->hint : NULL;
    const char *prefix = more ? more->long_prefix : NULL;
    strbuf j = STRBUF_INIT, m = STRBUF_INIT;
    jw w;
    jw_init(&w, &j);
    jw_obj_begin(&w);
    JW_KEY(&w, "errors");
    jw_arr_begin(&w);
    for (size_t i = 0; i < d->n; i++) {
        const yz_diag *x = &d->items[i];
        jw_obj_begin(&w);
        if (x->field) {
            JW_KEY(&w, "field");
            jw_str(&w, x->field);
        }
        JW_KEY(&w, "message");
        jw_str(&w, x->message);
        jw_obj_end(&w);
        if (i == 0 && x->field) {
            sb_add_shown(&m, x->field, strlen(x->field), false);
            sb_adds(&m, ": ");
        }
        if (i == 0)
            sb_add_shown(&m, x->message, strlen(x->message), false);
    }
    if (!d->n) {
        jw_obj_begin(&w);
        JW_KEY(&w, "message");
        jw_str(&w, why);
        jw_obj_end(&w);
        sb_add_shown(&m, why, strlen(why), false);
    }
    if (hint) {
        jw_obj_begin(&w);
        JW_KEY(&w, "message");
        jw_str(&w, hint);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    JW_KEY(&w, "file");
    jw_str(&w, file);
    if (prefix) {
        /* the line itself was not kept: how long it was and how it began */
        JW_KEY(&w, "length");
        jw_int(&w, (int64_t)more->long_bytes);
    }
    JW_KEY(&w, "line");
    jw_int(&w, line);
    if (prefix) {
        JW_KEY(&w, "prefix");
        jw_str(&w, prefix);
    }
    jw_obj_end(&w);
    if (d->n > 1)
        sb_addf(&m, " (and %zu more)", d->n - 1);
    if (hint) {
        sb_adds(&m, "; ");
        sb_add_shown(&m, hint, strlen(hint), false);
    }
    *json = sb_release(&j);
    *message = sb_release(&m);
}

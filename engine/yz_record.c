/* yz_record.c: applicant records from JSON or YAML text, validated against the schema. */
#include "yz_record.h"

#include <stdlib.h>
#include <string.h>

#include "yz_diag.h"

static void offset_to_linecol(const char *text, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            (*col)++;
        }
    }
}

yval *record_index(arena *mem, const yj *doc, const char *source, yz_diags *d)
{
    return schema_validate(schema_applicant(), mem, doc, source, d);
}

int yz_record_parse(const char *text, size_t len, const char *source, yz_record **out, yz_diags *d)
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
        offset_to_linecol(text, (size_t)(bad - text), &line, &col);
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
        size_t off;
        const char *err;
        rec->doc = yj_parse(&rec->mem, text, len, &off, &err);
        if (!rec->doc) {
            int line, col;
            offset_to_linecol(text, off, &line, &col);
            diag_add(d, YZ_SEV_ERROR, source, line, col, "%s", err);
            yz_record_free(rec);
            return YZ_EPARSE;
        }
    } else {
        ydoc *doc;
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
        /* checked as YAML first, so that every problem has its line and column */
        if (schema_check_yaml(schema_applicant(), doc->root, source, d)) {
            ydoc_free(doc);
            yz_record_free(rec);
            return YZ_EINPUT;
        }
        rec->doc = schema_yaml_to_json(schema_applicant(), &rec->mem, doc->root);
        ydoc_free(doc);
    }
    rec->root = record_index(&rec->mem, rec->doc, source, d);
    if (!rec->root) {
        yz_record_free(rec);
        return YZ_EINPUT;
    }
    rec->id_number = yj_str(yj_get(rec->doc, "id_number"));
    *out = rec;
    return YZ_OK;
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
        yj *c = yj_get(parent, st->key);
        if (!c) {
            c = st->sn->type == ST_ARRAY ? yj_new_array(mem) : yj_new_object(mem);
            yj_append(mem, parent, st->key, c);
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

yj *record_from_csv(arena *mem, const csv_header *h, char **fields, size_t *lens, size_t n)
{
    yj *root = yj_new_object(mem);
    for (size_t i = 0; i < n && i < h->n; i++) {
        if (!lens[i])
            continue; /* an empty cell is an absent field */
        const csv_col *c = &h->cols[i];
        if (!c->leaf)
            continue;
        yj *cur = root;
        int last = c->kind == COL_COUNT ? c->nsteps : c->nsteps - 1;
        for (int k = 0; k < last; k++)
            cur = child_of(mem, cur, &c->steps[k]);
        if (c->kind == COL_COUNT) {
            /* cur is the list itself: give it that many items (absent fields until filled) */
            long want = strtol(fields[i], NULL, 10);
            /* more than the schema allows: one item too many is enough for validation to say so */
            size_t most = c->leaf->max_items ? c->leaf->max_items : CSV_MAX_ITEMS;
            if (want > (long)most)
                want = (long)most + 1;
            if (want > 0) {
                csv_step item = {NULL, (int)want - 1, c->leaf->items};
                child_of(mem, cur, &item);
            }
            continue;
        }
        const csv_step *lst = &c->steps[c->nsteps - 1];
        yj *val;
        if (c->kind == COL_LIST) {
            val = yj_new_array(mem);
            const char *p = fields[i];
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

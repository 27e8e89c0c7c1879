/* yz_yaml.c: YAML text -> ynode tree with positions, using libyaml's event parser. */
#include "yz_yaml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "yz_diag.h"

typedef struct builder {
    ydoc *doc;
    yz_diags *d;
    yaml_parser_t parser;
    size_t nodes;
    int errors; /* fatal: the document cannot be used */
    int soft;   /* reported, but the document is complete (duplicate keys, anchors) */
    const char *buf;
    size_t len;
} builder;

/* Describes why a libyaml scan failed, with a hint when the cause is a common editing slip. */
static void report_parser_error(builder *b)
{
    yaml_parser_t *p = &b->parser;
    if (p->error == YAML_MEMORY_ERROR)
        yz_out_of_memory(0); /* not a syntax error: the file may be fine */
    int line = (int)p->problem_mark.line + 1;
    int col = (int)p->problem_mark.column + 1;
    const char *problem = p->problem ? p->problem : "syntax error";
    const char *hint = "";

    if (p->error == YAML_READER_ERROR) {
        /* the reader reports the byte offset; turn it into a line and column */
        size_t off = p->problem_offset < b->len ? p->problem_offset : b->len;
        line = 1;
        col = 1;
        for (size_t i = 0; i < off; i++) {
            if (b->buf[i] == '\n') {
                line++;
                col = 1;
            } else if (((unsigned char)b->buf[i] & 0xC0) != 0x80) {
                col++;
            }
        }
        diag_add(b->d, YZ_SEV_ERROR, b->doc->file, line, col,
                 "the file is not valid UTF-8 (%s); save it as UTF-8 (files saved as GBK must be converted, e.g. iconv -f GBK -t UTF-8)",
                 problem);
        b->errors++;
        return;
    }
    /* a tab where indentation was expected; the mark's index counts characters, not bytes,
       so the line is found by its number */
    const char *ls = b->buf, *end = b->buf + b->len;
    for (size_t l = 0; l < p->problem_mark.line && ls < end; l++) {
        ls = memchr(ls, '\n', (size_t)(end - ls));
        ls = ls ? ls + 1 : end;
    }
    for (const char *q = ls; q < end && *q != '\n'; q++)
        if (*q == '\t') {
            hint = " (the line contains a tab: YAML indents with spaces only)";
            break;
        }
    if (p->context)
        diag_add(b->d, YZ_SEV_ERROR, b->doc->file, line, col, "YAML syntax: %s %s (line %d)%s", problem,
                 p->context, (int)p->context_mark.line + 1, hint);
    else
        diag_add(b->d, YZ_SEV_ERROR, b->doc->file, line, col, "YAML syntax: %s%s", problem, hint);
    b->errors++;
}

static ynode *new_node(builder *b, ynode_kind kind, const yaml_event_t *ev)
{
    ynode *n = arena_alloc(&b->doc->mem, sizeof *n);
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->file = b->doc->file;
    n->line = (int)ev->start_mark.line + 1;
    n->col = (int)ev->start_mark.column + 1;
    n->end_line = (int)ev->end_mark.line + 1;
    n->end_col = (int)ev->end_mark.column + 1;
    b->nodes++;
    return n;
}

/* Reads one node whose first event is *ev (consumed).  Returns NULL after reporting an error. */
static ynode *parse_node(builder *b, yaml_event_t *ev, int depth);

static int next_event(builder *b, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&b->parser, ev)) {
        report_parser_error(b);
        return 0;
    }
    return 1;
}

static const char *tag_of(builder *b, const yaml_char_t *tag)
{
    return tag ? arena_strdup(&b->doc->mem, (const char *)tag) : NULL;
}

static int check_limits(builder *b, const yaml_event_t *ev, int depth)
{
    if (depth > YDOC_MAX_DEPTH) {
        diag_add(b->d, YZ_SEV_ERROR, b->doc->file, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                 "nesting deeper than %d levels", YDOC_MAX_DEPTH);
        b->errors++;
        return 0;
    }
    if (b->nodes >= YDOC_MAX_NODES) {
        diag_add(b->d, YZ_SEV_ERROR, b->doc->file, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                 "more than %d values in one file", YDOC_MAX_NODES);
        b->errors++;
        return 0;
    }
    return 1;
}

/* A sequence or mapping starts: an anchor is refused (a soft error), the node made, the event
   freed. */
static ynode *start_collection(builder *b, yaml_event_t *ev, ynode_kind kind, const yaml_char_t *anchor,
                               const yaml_char_t *tag)
{
    if (anchor) {
        diag_add(b->d, YZ_SEV_ERROR, b->doc->file, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                 "anchors (&%s) are not allowed", (const char *)anchor);
        b->soft++;
    }
    ynode *n = new_node(b, kind, ev);
    n->tag = tag_of(b, tag);
    yaml_event_delete(ev);
    return n;
}

/* The next event inside the collection n, into *e: 1; 0 at its end (whose position n keeps);
   -1 when the parser failed. */
static int next_in(builder *b, ynode *n, yaml_event_type_t end, yaml_event_t *e)
{
    if (!next_event(b, e))
        return -1;
    if (e->type != end)
        return 1;
    n->end_line = (int)e->end_mark.line + 1;
    n->end_col = (int)e->end_mark.column + 1;
    yaml_event_delete(e);
    return 0;
}

/* Room for one more entry in n (its values, and with keys its keys), doubling *cap in the arena. */
static void grow(builder *b, ynode *n, size_t *cap, bool keys)
{
    if (n->n < *cap)
        return;
    *cap = *cap ? *cap * 2 : 8;
    if (keys) {
        ynode **nk = arena_alloc(&b->doc->mem, *cap * sizeof *nk);
        if (n->n)
            memcpy(nk, n->keys, n->n * sizeof *nk);
        n->keys = nk;
    }
    ynode **nv = arena_alloc(&b->doc->mem, *cap * sizeof *nv);
    if (n->n)
        memcpy(nv, n->vals, n->n * sizeof *nv);
    n->vals = nv;
}

static ynode *parse_node(builder *b, yaml_event_t *ev, int depth)
{
    if (!check_limits(b, ev, depth)) {
        yaml_event_delete(ev);
        return NULL;
    }
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        diag_add(b->d, YZ_SEV_ERROR, b->doc->file, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                 "aliases (*%s) are not allowed: write the value out, or name a shared condition under 'conditions:'",
                 (const char *)ev->data.alias.anchor);
        b->errors++;
        yaml_event_delete(ev);
        return NULL;
    case YAML_SCALAR_EVENT: {
        if (ev->data.scalar.anchor) {
            diag_add(b->d, YZ_SEV_ERROR, b->doc->file, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                     "anchors (&%s) are not allowed", (const char *)ev->data.scalar.anchor);
            b->soft++;
        }
        ynode *n = new_node(b, YN_SCALAR, ev);
        n->str = arena_strndup(&b->doc->mem, (const char *)ev->data.scalar.value, ev->data.scalar.length);
        n->len = ev->data.scalar.length;
        n->tag = tag_of(b, ev->data.scalar.tag);
        switch (ev->data.scalar.style) {
        case YAML_SINGLE_QUOTED_SCALAR_STYLE: n->style = YS_SINGLE; break;
        case YAML_DOUBLE_QUOTED_SCALAR_STYLE: n->style = YS_DOUBLE; break;
        case YAML_LITERAL_SCALAR_STYLE: n->style = YS_LITERAL; break;
        case YAML_FOLDED_SCALAR_STYLE: n->style = YS_FOLDED; break;
        default: n->style = YS_PLAIN; break;
        }
        yaml_event_delete(ev);
        return n;
    }
    case YAML_SEQUENCE_START_EVENT: {
        ynode *n = start_collection(b, ev, YN_SEQ, ev->data.sequence_start.anchor, ev->data.sequence_start.tag);
        size_t cap = 0;
        for (;;) {
            yaml_event_t e;
            int more = next_in(b, n, YAML_SEQUENCE_END_EVENT, &e);
            if (more <= 0)
                return more ? NULL : n;
            ynode *item = parse_node(b, &e, depth + 1);
            if (!item)
                return NULL;
            grow(b, n, &cap, false);
            n->vals[n->n++] = item;
        }
    }
    case YAML_MAPPING_START_EVENT: {
        ynode *n = start_collection(b, ev, YN_MAP, ev->data.mapping_start.anchor, ev->data.mapping_start.tag);
        size_t cap = 0;
        for (;;) {
            yaml_event_t e;
            int more = next_in(b, n, YAML_MAPPING_END_EVENT, &e);
            if (more <= 0)
                return more ? NULL : n;
            ynode *key = parse_node(b, &e, depth + 1);
            if (!key)
                return NULL;
            yaml_event_t ve;
            if (!next_event(b, &ve))
                return NULL;
            ynode *val = parse_node(b, &ve, depth + 1);
            if (!val)
                return NULL;
            if (key->kind != YN_SCALAR) {
                diag_add(b->d, YZ_SEV_ERROR, b->doc->file, key->line, key->col,
                         "a key must be plain text, not a %s", ynode_kind_name(key));
                b->soft++;
                continue;
            }
            if (key->style == YS_PLAIN && key->len == 2 && memcmp(key->str, "<<", 2) == 0) {
                diag_add(b->d, YZ_SEV_ERROR, b->doc->file, key->line, key->col,
                         "merge keys (<<) are not supported: write the keys out");
                b->soft++;
                continue;
            }
            bool dup = false;
            for (size_t i = 0; i < n->n; i++) {
                if (n->keys[i]->len == key->len && memcmp(n->keys[i]->str, key->str, key->len) == 0) {
                    diag_add(b->d, YZ_SEV_ERROR, b->doc->file, key->line, key->col,
                             "duplicate key '%s' (first defined at line %d): remove or rename one of them", key->str,
                             n->keys[i]->line);
                    b->soft++;
                    dup = true;
                    break;
                }
            }
            if (dup)
                continue;
            grow(b, n, &cap, true);
            n->keys[n->n] = key;
            n->vals[n->n] = val;
            n->n++;
        }
    }
    default:
        diag_add(b->d, YZ_SEV_ERROR, b->doc->file, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                 "unexpected YAML event");
        b->errors++;
        yaml_event_delete(ev);
        return NULL;
    }
}

int ydoc_parse(const char *buf, size_t len, const char *file, ydoc **out, yz_diags *d)
{
    *out = NULL;
    builder b;
    memset(&b, 0, sizeof b);
    b.d = d;
    b.buf = buf;
    b.len = len;
    ydoc *doc = yz_calloc(1, sizeof *doc);
    arena_init(&doc->mem, 16 * 1024);
    doc->file = arena_strdup(&doc->mem, file ? file : "<input>");
    b.doc = doc;

    /* libyaml accepts UTF-16 too; insist on UTF-8 (with an optional BOM) so errors are clear */
    if (len >= 2 && (((unsigned char)buf[0] == 0xFF && (unsigned char)buf[1] == 0xFE) ||
                     ((unsigned char)buf[0] == 0xFE && (unsigned char)buf[1] == 0xFF))) {
        diag_add(d, YZ_SEV_ERROR, doc->file, 1, 1, "the file is UTF-16; save it as UTF-8");
        ydoc_free(doc);
        return YZ_EPARSE;
    }
    const char *bad = yz_utf8_invalid(buf, len);
    if (bad) {
        int line = 1, col = 1;
        for (const char *q = buf; q < bad; q++) {
            if (*q == '\n') {
                line++;
                col = 1;
            } else if (((unsigned char)*q & 0xC0) != 0x80) {
                col++;
            }
        }
        diag_add(d, YZ_SEV_ERROR, doc->file, line, col,
                 "the file is not valid UTF-8 (byte 0x%02X); save it as UTF-8 (a file saved as GBK can be converted with iconv -f GBK -t UTF-8)",
                 (unsigned char)*bad);
        ydoc_free(doc);
        return YZ_EPARSE;
    }
    if (memchr(buf, '\0', len)) {
        const char *z = memchr(buf, '\0', len);
        int line = 1;
        for (const char *q = buf; q < z; q++)
            line += *q == '\n';
        diag_add(d, YZ_SEV_ERROR, doc->file, line, 0, "the file contains a NUL byte; it is not a text file");
        ydoc_free(doc);
        return YZ_EPARSE;
    }

    if (!yaml_parser_initialize(&b.parser))
        yz_out_of_memory(0); /* its only failure */
    yaml_parser_set_input_string(&b.parser, (const unsigned char *)buf, len);
    yaml_parser_set_encoding(&b.parser, YAML_UTF8_ENCODING);

    yaml_event_t ev;
    int ndocs = 0;
    bool done = false;
    while (!done && b.errors == 0) {
        if (!next_event(&b, &ev))
            break;
        switch (ev.type) {
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_END_EVENT:
            yaml_event_delete(&ev);
            break;
        case YAML_STREAM_END_EVENT:
            yaml_event_delete(&ev);
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            ndocs++;
            if (ndocs > 1) {
                diag_add(d, YZ_SEV_ERROR, doc->file, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
                         "more than one YAML document ('---') in one file: split it into files");
                b.errors++;
            }
            yaml_event_delete(&ev);
            break;
        default:
            doc->root = parse_node(&b, &ev, 0);
            break;
        }
    }
    yaml_parser_delete(&b.parser);
    if (b.errors) {
        ydoc_free(doc);
        return YZ_EPARSE;
    }
    doc->soft_errors = b.soft;
    *out = doc;
    return YZ_OK;
}

void ydoc_free(ydoc *doc)
{
    if (!doc)
        return;
    arena_free(&doc->mem);
    yz_free(doc);
}

ynode *ynode_get(const ynode *map, const char *key)
{
    if (!map || map->kind != YN_MAP)
        return NULL;
    size_t kl = strlen(key);
    for (size_t i = 0; i < map->n; i++)
        if (map->keys[i]->len == kl && memcmp(map->keys[i]->str, key, kl) == 0)
            return map->vals[i];
    return NULL;
}

bool ynode_is_null(const ynode *n)
{
    if (!n || n->kind != YN_SCALAR || n->style != YS_PLAIN)
        return false;
    if (n->tag && strcmp(n->tag, "tag:yaml.org,2002:null") != 0)
        return false;
    return n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 || strcmp(n->str, "Null") == 0 ||
           strcmp(n->str, "NULL") == 0;
}

const char *ynode_text(const ynode *n)
{
    return n && n->kind == YN_SCALAR && !ynode_is_null(n) ? n->str : NULL;
}

bool ynode_int(const ynode *n, long long *out)
{
    if (n->kind != YN_SCALAR || n->style != YS_PLAIN || !n->len)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(n->str, &end, 10);
    if (*end || errno)
        return false;
    if (out)
        *out = v;
    return true;
}

bool ynode_bool(const ynode *n, bool *out)
{
    if (n->kind != YN_SCALAR || n->style != YS_PLAIN)
        return false;
    if (!strcmp(n->str, "true") || !strcmp(n->str, "True") || !strcmp(n->str, "TRUE")) {
        if (out)
            *out = true;
        return true;
    }
    if (!strcmp(n->str, "false") || !strcmp(n->str, "False") || !strcmp(n->str, "FALSE")) {
        if (out)
            *out = false;
        return true;
    }
    return false;
}

const char *ynode_kind_name(const ynode *n)
{
    if (!n)
        return "nothing";
    switch (n->kind) {
    case YN_MAP: return "mapping";
    case YN_SEQ: return "list";
    default: return "text";
    }
}

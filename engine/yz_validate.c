/* yz_validate.c: one validator for documents against a compiled schema (yz_schema.c): JSON
 * records (building the indexed tree rules read), YAML records and YAML policy files, every
 * problem at its field path, line and column; the cross-field checks of records; canonical forms;
 * YAML records turned into JSON. */
#include "yz_schema.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yz_date.h"
#include "yz_diag.h"

/* ---- validation: one validator for JSON records and YAML files ---- */

/* One node of a parsed document as the validator reads it: a JSON node, or a YAML node with its
 * position (y NULL and j NULL: nothing). */
typedef struct vnode {
    const yj *j;
    const ynode *y;
} vnode;

/* The node's type.  A YAML scalar has the type YAML 1.2's core schema gives it, except that where
 * the schema asks for text a plain scalar that is not null is that text (code: 440000). */
static yj_type vn_type(vnode v, const snode *sn, double *num, bool *boolean)
{
    if (v.j)
        return yj_typeof(v.j);
    if (!v.y)
        return YJ_NULL;
    if (v.y->kind == YN_MAP)
        return YJ_OBJECT;
    if (v.y->kind == YN_SEQ)
        return YJ_ARRAY;
    yj_type t = yaml_scalar_type(v.y, num, boolean);
    if (t != YJ_NULL && sn && sn->type == ST_STRING)
        return YJ_STRING;
    return t;
}

static const char *vn_str(vnode v)
{
    return v.j ? yj_str(v.j) : v.y->str;
}

static double vn_num(vnode v)
{
    if (v.j)
        return yj_num(v.j);
    double num = 0;
    bool b;
    yaml_scalar_type(v.y, &num, &b);
    return num;
}

static bool vn_is_int(vnode v)
{
    if (v.j)
        return yj_is_int(v.j, NULL);
    double d = vn_num(v);
    return d == floor(d) && fabs(d) <= 9007199254740992.0;
}

static size_t vn_size(vnode v)
{
    return v.j ? yj_size(v.j) : v.y->n;
}

/* the members of an object or the items of a list, in document order */
typedef struct vit {
    vnode of;
    const yj *next;
    size_t i;
} vit;

static void vit_init(vit *it, vnode v)
{
    it->of = v;
    it->next = v.j ? yj_first(v.j) : NULL;
    it->i = 0;
}

/* The next member (key and the node of the key, for YAML) or item (key NULL). */
static bool vit_next(vit *it, const char **key, vnode *keynode, vnode *val)
{
    if (it->of.j) {
        if (!it->next)
            return false;
        *key = yj_key(it->next);
        *keynode = (vnode){it->next, NULL};
        *val = (vnode){it->next, NULL};
        it->next = yj_next(it->next);
        return true;
    }
    const ynode *n = it->of.y;
    if (it->i >= n->n)
        return false;
    *key = n->kind == YN_MAP ? n->keys[it->i]->str : NULL;
    *keynode = (vnode){NULL, n->kind == YN_MAP ? n->keys[it->i] : n->vals[it->i]};
    *val = (vnode){NULL, n->vals[it->i]};
    it->i++;
    return true;
}

/* where validation is: a stack of keys and list positions, turned into a path ("household.
   members[1].relation") only when there is something to report */
typedef struct vseg {
    const char *key; /* NULL: a list position */
    size_t klen;
    size_t index;
} vseg;

typedef struct vctx {
    const yz_schema *s;
    arena *mem; /* NULL: check only (no yval tree) */
    const char *source;
    yz_diags *d;
    int errors;
    vseg seg[YDOC_MAX_DEPTH + 8];
    int depth;
} vctx;

static void push_key(vctx *c, const char *key, size_t klen)
{
    if (c->depth < (int)(sizeof c->seg / sizeof c->seg[0])) {
        c->seg[c->depth].key = key;
        c->seg[c->depth].klen = klen;
    }
    c->depth++;
}

static void push_index(vctx *c, size_t i)
{
    if (c->depth < (int)(sizeof c->seg / sizeof c->seg[0])) {
        c->seg[c->depth].key = NULL;
        c->seg[c->depth].index = i;
    }
    c->depth++;
}

static void path_of(const vctx *c, strbuf *sb)
{
    int n = c->depth < (int)(sizeof c->seg / sizeof c->seg[0]) ? c->depth : (int)(sizeof c->seg / sizeof c->seg[0]);
    for (int i = 0; i < n; i++) {
        if (c->seg[i].key) {
            if (sb->len)
                sb_addc(sb, '.');
            sb_add(sb, c->seg[i].key, c->seg[i].klen);
        } else {
            sb_addf(sb, "[%zu]", c->seg[i].index);
        }
    }
}

/* A violation at node at (its line and column when it has one), named by the current path. */
static void violation(vctx *c, vnode at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void violation(vctx *c, vnode at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    strbuf msg = STRBUF_INIT, path = STRBUF_INIT;
    sb_vaddf(&msg, fmt, ap);
    va_end(ap);
    path_of(c, &path);
    diag_add_field(c->d, c->source, at.y ? at.y->line : 0, at.y ? at.y->col : 0,
                   path.len ? path.buf : c->s->root_path, "%s", msg.buf);
    sb_free(&msg);
    sb_free(&path);
    c->errors++;
}

static void enum_list(strbuf *sb, const snode *sn)
{
    for (size_t i = 0; i < sn->nenum; i++) {
        if (i)
            sb_adds(sb, ", ");
        sb_adds(sb, sn->enums[i]);
    }
}

static void short_value(strbuf *sb, const char *s)
{
    size_t n = strlen(s);
    if (n > 40) {
        /* cut on a UTF-8 boundary */
        size_t k = 40;
        while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
            k--;
        sb_addc(sb, '\'');
        sb_add(sb, s, k);
        sb_adds(sb, "...'");
    } else {
        sb_addf(sb, "'%s'", s);
    }
}

/* "'x' is not an id: use lowercase ..." with the schema's words for the pattern, or "does not match" */
static void pattern_violation(vctx *c, vnode at, const char *value, const char *src, const char *text)
{
    strbuf sb = STRBUF_INIT;
    short_value(&sb, value);
    if (text)
        violation(c, at, "%s is not %s", sb.buf, text);
    else
        violation(c, at, "%s does not match %s", sb.buf, src);
    sb_free(&sb);
}

static bool check_string(vctx *c, const snode *sn, vnode v)
{
    const char *s = vn_str(v);
    size_t len = strlen(s);
    if (sn->max_length && len > sn->max_length && yz_utf8_width(s, len) > sn->max_length) {
        violation(c, v, "text longer than %zu characters", sn->max_length);
        return false;
    }
    if (sn->nenum) {
        for (size_t i = 0; i < sn->nenum; i++)
            if (strcmp(s, sn->enums[i]) == 0)
                return true;
        strbuf sb = STRBUF_INIT;
        short_value(&sb, s);
        const char *near = yz_suggest(s, sn->enums, sn->nenum);
        strbuf opts = STRBUF_INIT;
        enum_list(&opts, sn);
        if (near)
            violation(c, v, "%s is not allowed (did you mean '%s'?); allowed: %s", sb.buf, near, opts.buf);
        else
            violation(c, v, "%s is not allowed; allowed: %s", sb.buf, opts.buf);
        sb_free(&sb);
        sb_free(&opts);
        return false;
    }
    if (sn->format == SF_DATE) {
        yz_date d;
        if (!yz_date_parse(s, len, &d)) {
            strbuf sb = STRBUF_INIT;
            short_value(&sb, s);
            violation(c, v, "%s is not a real date; write YYYY-MM-DD", sb.buf);
            sb_free(&sb);
            return false;
        }
    } else if (sn->format == SF_RESIDENT_ID) {
        yz_id_info info;
        switch (yz_id_parse(s, len, &info)) {
        case YZ_ID_OK: break;
        case YZ_ID_LENGTH:
            violation(c, v, "a resident ID number has 18 characters, this one has %zu", yz_utf8_width(s, len));
            return false;
        case YZ_ID_CHARS: violation(c, v, "a resident ID number is 17 digits and a digit or X"); return false;
        case YZ_ID_BIRTH: violation(c, v, "digits 7-14 (%.8s) are not a real birth date", s + 6); return false;
        case YZ_ID_CHECK:
            violation(c, v, "check digit is '%c' but should be '%c' for the first 17 digits: the number is mistyped",
                      s[17], info.check);
            return false;
        }
    }
    bool matches;
    if (!sn->pattern)
        matches = true;
    else if (sn->six_digits)
        matches = len == 6 && strspn(s, "0123456789") == 6;
    else
        matches = schema_match(sn->pattern, s);
    if (!matches) {
        pattern_violation(c, v, s, sn->pattern_src, sn->pattern_text);
        return false;
    }
    return true;
}

static bool check_number(vctx *c, const snode *sn, vnode v)
{
    double d = vn_num(v);
    if (!isfinite(d)) {
        violation(c, v, "number out of range");
        return false;
    }
    if (sn->type == ST_INTEGER && !vn_is_int(v)) {
        violation(c, v, "expected a whole number, got %g", d);
        return false;
    }
    if (sn->const_int != INT32_MIN && d != sn->const_int) {
        violation(c, v, "unsupported value %g: this engine reads version %d", d, sn->const_int);
        return false;
    }
    if (sn->has_min && d < sn->min) {
        violation(c, v, "%g is below the minimum %g", d, sn->min);
        return false;
    }
    if (sn->has_max && d > sn->max) {
        violation(c, v, "%g is above the maximum %g", d, sn->max);
        return false;
    }
    return true;
}

/* what the schema expects, in the words of the document's own syntax */
static const char *expect_name(const snode *sn, bool yaml)
{
    switch (sn->type) {
    case ST_OBJECT: return yaml ? "a mapping (key: value lines)" : "an object";
    case ST_ARRAY: return "a list";
    case ST_STRING: return sn->format == SF_DATE ? "a date (YYYY-MM-DD)" : "text";
    case ST_INTEGER: return "a whole number";
    case ST_NUMBER: return "a number";
    case ST_BOOLEAN: return "true or false";
    default: return "a value";
    }
}

static const char *found_name(yj_type t, bool yaml)
{
    switch (t) {
    case YJ_NULL: return "nothing (null)";
    case YJ_BOOL: return "true/false";
    case YJ_NUMBER: return "a number";
    case YJ_STRING: return "text";
    case YJ_ARRAY: return "a list";
    case YJ_OBJECT: return yaml ? "a mapping" : "an object";
    default: return "nothing";
    }
}

static yval *new_yval(vctx *c, const snode *sn, const yj *js, yval *parent, int index)
{
    if (!c->mem)
        return NULL;
    yval *v = arena_alloc(c->mem, sizeof *v);
    v->sn = sn;
    v->json = js;
    v->parent = parent;
    v->index = index;
    v->n = 0;
    v->kids = NULL;
    return v;
}

static bool check_value(vctx *c, const snode *sn, vnode v, yval *parent, int index, yval **out);

/* a mapping of dates to values (x-kind dated): each key a real date, in ascending order */
static void check_dated(vctx *c, vnode v)
{
    if (vn_type(v, NULL, &(double){0}, &(bool){0}) != YJ_OBJECT) {
        violation(c, v, "expected dated values (YYYY-MM-DD: value lines)");
        return;
    }
    const char *prev = NULL, *key;
    vnode kn, val;
    vit it;
    vit_init(&it, v);
    while (vit_next(&it, &key, &kn, &val)) {
        yz_date d;
        if (!yz_date_parse(key, strlen(key), &d))
            violation(c, kn, "'%s' is not a date; write YYYY-MM-DD: value", key);
        else if (prev && strcmp(key, prev) <= 0)
            violation(c, kn, "dated values out of order: %s comes after %s; list dates in ascending order", key, prev);
        else
            prev = key;
    }
}

static bool check_object(vctx *c, const snode *sn, vnode v, yval *parent, int index, yval **out)
{
    yval *o = new_yval(c, sn, v.j, parent, index);
    if (o) {
        o->n = (uint32_t)sn->nprops;
        o->kids = arena_alloc(c->mem, (sn->nprops ? sn->nprops : 1) * sizeof *o->kids);
        memset(o->kids, 0, (sn->nprops ? sn->nprops : 1) * sizeof *o->kids);
    }
    *out = o;
    unsigned char seen_small[128];
    unsigned char *seen = sn->nprops <= sizeof seen_small ? seen_small : yz_calloc(sn->nprops, 1);
    memset(seen, 0, sn->nprops <= sizeof seen_small ? sizeof seen_small : 0);
    const char *noun = c->s->key_word;
    const char *key;
    vnode kn, val;
    vit it;
    vit_init(&it, v);
    while (vit_next(&it, &key, &kn, &val)) {
        size_t kl = strlen(key);
        push_key(c, key, kl);
        const snode *child = snode_child(sn, key, kl);
        if (child) {
            size_t idx = (size_t)child->pos;
            double num;
            bool b;
            if (seen[idx]) {
                violation(c, kn, "%s given twice", noun);
            } else {
                seen[idx] = 1;
                yval *kid = NULL;
                if (vn_type(val, child, &num, &b) == YJ_NULL && !child->null_is_none) {
                    /* null means absent (unknown) in records, where the schema allows it; in policy
                       files a value is missing */
                    if (child->required || !c->s->null_absent)
                        violation(c, val.y ? val : kn, "a value is missing here (expected %s)",
                                  expect_name(child, val.y != NULL));
                    else if (!child->nullable)
                        violation(c, val.y ? val : kn, "cannot be null: give %s or leave the %s out",
                                  expect_name(child, val.y != NULL), noun);
                } else {
                    check_value(c, child, val, o, -1, &kid);
                }
                if (o)
                    o->kids[idx] = kid;
            }
        } else if (sn->addl || sn->any_key) {
            /* a mapping keyed by ids (or dates): the key's pattern, then the value's schema */
            if (sn->key_pattern && !schema_match(sn->key_pattern, key)) {
                pattern_violation(c, kn, key, sn->key_pattern_src, sn->key_pattern_text);
                c->depth--;
                continue;
            }
            if (sn->addl) {
                yval *ignored;
                check_value(c, sn->addl, val, NULL, -1, &ignored);
            }
        } else {
            const char *cands[128];
            size_t nc = 0;
            for (size_t i = 0; i < sn->nprops && nc < 128; i++)
                cands[nc++] = sn->props[i]->key;
            const char *near = yz_suggest(key, cands, nc);
            if (near) {
                violation(c, kn, "unknown %s (did you mean '%s'?)", noun, near);
            } else {
                strbuf opts = STRBUF_INIT;
                for (size_t i = 0; i < nc; i++)
                    sb_addf(&opts, "%s%s", i ? ", " : "", cands[i]);
                violation(c, kn, "unknown %s; allowed here: %s (see %s)", noun, opts.buf, c->s->file);
                sb_free(&opts);
            }
        }
        c->depth--;
    }
    for (size_t i = 0; i < sn->nprops; i++) {
        if (sn->props[i]->required && !seen[i]) {
            push_key(c, sn->props[i]->key, sn->props[i]->keylen);
            violation(c, v, "required %s is missing", noun);
            c->depth--;
        }
    }
    if (seen != seen_small)
        yz_free(seen);
    return true;
}

/* Checks v against sn; in build mode (c->mem) *out gets its yval (NULL when it is invalid). */
static bool check_value(vctx *c, const snode *sn, vnode v, yval *parent, int index, yval **out)
{
    *out = NULL;
    if (sn->kind) {
        /* conditions, bases and 'for' are checked when the policy model is built */
        if (!strcmp(sn->kind, "dated"))
            check_dated(c, v);
        return true;
    }
    double num = 0;
    bool b = false;
    yj_type t = vn_type(v, sn, &num, &b);
    bool yaml = v.y != NULL;
    if (t == YJ_NULL) {
        if (sn->null_is_none)
            *out = new_yval(c, sn, v.j, parent, index);
        else if (!c->s->null_absent)
            violation(c, v, "a value is missing here (expected %s)", expect_name(sn, yaml));
        else if (!sn->nullable) /* a list item (members are checked in check_object) */
            violation(c, v, "cannot be null: the items of this list are %s", expect_name(sn, yaml));
        return sn->null_is_none || (c->s->null_absent && sn->nullable);
    }
    switch (sn->type) {
    case ST_OBJECT:
        if (t != YJ_OBJECT)
            break;
        return check_object(c, sn, v, parent, index, out);
    case ST_ARRAY: {
        if (t != YJ_ARRAY)
            break;
        size_t n = vn_size(v);
        if (sn->max_items && n > sn->max_items) {
            violation(c, v, "%zu items, more than the %zu allowed", n, sn->max_items);
            return false;
        }
        if (sn->min_items && n < sn->min_items) {
            if (sn->min_items == 1)
                violation(c, v, "the list is empty");
            else
                violation(c, v, "%zu items, fewer than the %zu required", n, sn->min_items);
            return false;
        }
        yval *a = new_yval(c, sn, v.j, parent, index);
        if (a) {
            a->n = (uint32_t)n;
            a->kids = arena_alloc(c->mem, (n ? n : 1) * sizeof *a->kids);
        }
        *out = a;
        const char *key;
        vnode kn, item;
        vit it;
        vit_init(&it, v);
        size_t i = 0;
        while (vit_next(&it, &key, &kn, &item)) {
            push_index(c, i);
            yval *kid;
            check_value(c, sn->items, item, a, (int)i, &kid);
            if (a)
                a->kids[i] = kid;
            c->depth--;
            i++;
        }
        return true;
    }
    case ST_STRING:
        if (t != YJ_STRING)
            break;
        if (!check_string(c, sn, v))
            return false;
        *out = new_yval(c, sn, v.j, parent, index);
        return true;
    case ST_INTEGER:
    case ST_NUMBER:
        if (t != YJ_NUMBER)
            break;
        if (!check_number(c, sn, v))
            return false;
        *out = new_yval(c, sn, v.j, parent, index);
        return true;
    case ST_BOOLEAN:
        if (t != YJ_BOOL)
            break;
        *out = new_yval(c, sn, v.j, parent, index);
        return true;
    case ST_ANY:
        *out = new_yval(c, sn, v.j, parent, index);
        return true;
    }
    if (t == YJ_STRING) {
        const char *s = vn_str(v);
        strbuf sb = STRBUF_INIT;
        short_value(&sb, s);
        if (sn->type == ST_BOOLEAN && (!strcmp(s, "yes") || !strcmp(s, "no") || !strcmp(s, "true") || !strcmp(s, "false")))
            violation(c, v, "expected true or false (without quotes), got the text %s", sb.buf);
        else
            violation(c, v, "expected %s, got the text %s", expect_name(sn, yaml), sb.buf);
        sb_free(&sb);
    } else {
        violation(c, v, "expected %s, got %s", expect_name(sn, yaml), found_name(t, yaml));
    }
    return false;
}

static const yval *slot(const yval *obj, const char *key)
{
    const snode *sn = snode_child(obj->sn, key, strlen(key));
    if (!sn)
        return NULL;
    return obj->kids[sn->pos];
}

/* checks across fields that JSON Schema cannot express */
static void cross_checks(vctx *c, const yval *root)
{
    const yval *idv = slot(root, "id_number"), *sex = slot(root, "sex"), *birth = slot(root, "birth_date");
    const yval *grp = slot(root, "retirement_group");
    yz_id_info info;
    if (idv && yz_id_parse(yj_str(idv->json), strlen(yj_str(idv->json)), &info) == YZ_ID_OK) {
        if (sex && yj_str(sex->json)[0] != info.sex) {
            c->depth = 0;
            push_key(c, "sex", 3);
            violation(c, (vnode){sex->json, NULL}, "%s disagrees with id_number, whose 17th digit (%c) is %s, i.e. %s", yj_str(sex->json),
                      yj_str(idv->json)[16], info.sex == 'M' ? "odd" : "even", info.sex == 'M' ? "M" : "F");
        }
        char bd[11];
        yz_date_format(info.birth, bd);
        if (birth && strcmp(yj_str(birth->json), bd) != 0) {
            c->depth = 0;
            push_key(c, "birth_date", 10);
            violation(c, (vnode){birth->json, NULL}, "%s disagrees with id_number, which gives %s", yj_str(birth->json), bd);
        }
    }
    if (grp && sex) {
        bool male = strcmp(yj_str(grp->json), "male") == 0;
        bool is_m = yj_str(sex->json)[0] == 'M';
        if (male != is_m) {
            c->depth = 0;
            push_key(c, "retirement_group", 16);
            violation(c, (vnode){grp->json, NULL}, "%s does not fit sex %s: use %s", yj_str(grp->json), yj_str(sex->json),
                      is_m ? "male" : "female_worker or female_cadre");
        }
    }
    c->depth = 0;
}

/* one person, one id: a check digit x is X, whatever the shape of the rest */
static void canonicalise(const snode *sn, yj *v)
{
    if (!sn->holds_id)
        return; /* most of a record: nothing to do there */
    yj_type t = yj_typeof(v);
    if (sn->type == ST_OBJECT && t == YJ_OBJECT) {
        for (yj *m = yj_first(v); m; m = yj_next(m)) {
            const snode *child = snode_child(sn, yj_key(m), strlen(yj_key(m)));
            if (child)
                canonicalise(child, m);
        }
    } else if (sn->type == ST_ARRAY && t == YJ_ARRAY) {
        for (yj *it = yj_first(v); it; it = yj_next(it))
            canonicalise(sn->items, it);
    } else if (sn->format == SF_RESIDENT_ID && t == YJ_STRING) {
        char *id = yj_str_buf(v);
        if (strlen(id) == 18 && id[17] == 'x')
            id[17] = 'X';
    }
}

void schema_canonicalise(const yz_schema *s, yj *doc)
{
    canonicalise(s->root, doc);
}

static void vctx_init(vctx *c, const yz_schema *s, arena *mem, const char *source, yz_diags *d)
{
    c->s = s;
    c->mem = mem;
    c->source = source;
    c->d = d;
    c->errors = 0;
    c->depth = 0;
}

yval *schema_validate(const yz_schema *s, arena *mem, const yj *doc, const char *source, yz_diags *d)
{
    vctx c;
    vctx_init(&c, s, mem, source, d);
    vnode v = {doc, NULL};
    if (yj_typeof(doc) != YJ_OBJECT) {
        violation(&c, v, "%s is an object of %ss, found %s", s->doc_word, s->key_word, yj_type_name(doc));
        return NULL;
    }
    yval *root;
    check_object(&c, s->root, v, NULL, -1, &root);
    if (s == schema_applicant())
        cross_checks(&c, root);
    return c.errors ? NULL : root;
}

int schema_check_yaml(const yz_schema *s, const ynode *root, const char *file, yz_diags *d)
{
    vctx c;
    vctx_init(&c, s, NULL, file, d);
    vnode v = {NULL, root};
    if (!root || root->kind != YN_MAP) {
        violation(&c, v, "%s is a mapping of keys (key: value lines), found %s", s->doc_word,
                  root ? ynode_kind_name(root) : "nothing");
        return c.errors;
    }
    yval *ignored;
    check_object(&c, s->root, v, NULL, -1, &ignored);
    return c.errors;
}

/* the JSON of a YAML node, its scalars read as the schema node sn (NULL: by the core schema) */
static yj *yaml_to_json(arena *mem, const snode *sn, const ynode *n)
{
    if (sn && sn->kind)
        sn = NULL;
    switch (n->kind) {
    case YN_MAP: {
        yj *o = yj_new_object(mem);
        for (size_t i = 0; i < n->n; i++) {
            const char *k = n->keys[i]->str;
            const snode *child = sn && sn->type == ST_OBJECT ? snode_child(sn, k, strlen(k)) : NULL;
            if (!child && sn && sn->type == ST_OBJECT)
                child = sn->addl;
            yj_append(mem, o, k, yaml_to_json(mem, child, n->vals[i]));
        }
        return o;
    }
    case YN_SEQ: {
        yj *a = yj_new_array(mem);
        for (size_t i = 0; i < n->n; i++)
            yj_append(mem, a, NULL, yaml_to_json(mem, sn && sn->type == ST_ARRAY ? sn->items : NULL, n->vals[i]));
        return a;
    }
    default:
        if (sn && sn->type == ST_STRING && n->style == YS_PLAIN && !ynode_is_null(n))
            return yj_new_string(mem, n->str, n->len);
        return yj_from_yaml(mem, n);
    }
}

yj *schema_yaml_to_json(const yz_schema *s, arena *mem, const ynode *root)
{
    return yaml_to_json(mem, s->root, root);
}

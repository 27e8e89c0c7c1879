/* yz_schema.c: compiles the applicant record and policy file JSON Schemas (a documented subset
 * of draft 2020-12 plus x- extensions) and validates documents against them: JSON records
 * (building the indexed tree rules read), YAML records and YAML policy files (every problem at
 * its line and column), all through one validator. */
#include "yz_schema.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yz_date.h"
#include "yz_diag.h"
#include "yz_embed.h"

static arena schema_mem; /* lives as long as the process */
static yz_schema applicant, policy;
static pthread_once_t applicant_once = PTHREAD_ONCE_INIT, policy_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t mem_lock = PTHREAD_MUTEX_INITIALIZER;

static void fatal_schema(const char *what)
{
    fprintf(stderr, "yuanzhu: internal error: built-in schema: %s\n", what);
    abort();
}

static int cmp_snode(const void *a, const void *b)
{
    return strcmp((*(snode *const *)a)->key, (*(snode *const *)b)->key);
}

typedef struct cctx {
    yz_schema *s;
    const yj *root;
    const char *names[64]; /* $defs already compiled (recursion) */
    snode *defs[64];
    size_t ndefs;
} cctx;

static void add_node(yz_schema *s, snode *n)
{
    s->nodes = yz_realloc(s->nodes, (s->nnodes + 1) * sizeof *s->nodes);
    n->id = (int)s->nnodes;
    s->nodes[s->nnodes++] = n;
}

/* ---- patterns ----
 *
 * The schemas' patterns are anchored runs of character classes with counts ("^[a-z][a-z0-9_]*$",
 * "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"), matched here rather than with regexec: glibc's regexec
 * allocates, and when that fails it answers "no match", which would reject a good record (or a
 * good policy) for want of memory.  This matcher never allocates. */

typedef struct patom {
    uint8_t set[32];   /* the bytes this position accepts */
    uint32_t min, max; /* how many times (max UINT32_MAX: no limit) */
} patom;

typedef struct pattern {
    size_t n;
    patom atoms[];
} pattern;

static void set_add(patom *a, unsigned c)
{
    a->set[c >> 3] |= (uint8_t)(1u << (c & 7));
}

static bool set_has(const patom *a, unsigned char c)
{
    return a->set[c >> 3] & (1u << (c & 7));
}

/* reads a count "{n}", "{n,}" or "{n,m}" at *p */
static void parse_count(const char **p, patom *a, const char *src)
{
    char *end;
    a->min = (uint32_t)strtoul(*p + 1, &end, 10);
    a->max = a->min;
    if (*end == ',') {
        a->max = end[1] == '}' ? UINT32_MAX : (uint32_t)strtoul(end + 1, &end, 10);
        if (a->max == UINT32_MAX)
            end++;
    }
    if (*end != '}' || a->max < a->min)
        fatal_schema(src);
    *p = end + 1;
}

static void *compile_pattern(const char *src)
{
    size_t len = strlen(src);
    if (len < 2 || src[0] != '^' || src[len - 1] != '$')
        fatal_schema(src);
    pattern *pt = arena_alloc(&schema_mem, sizeof *pt + len * sizeof(patom));
    pt->n = 0;
    const char *p = src + 1, *end = src + len - 1;
    while (p < end) {
        patom *a = &pt->atoms[pt->n++];
        memset(a, 0, sizeof *a);
        if (*p == '[') {
            p++;
            bool first = true;
            while (p < end && (*p != ']' || first)) {
                unsigned lo = (unsigned char)*p;
                if (p[1] == '-' && p + 2 < end && p[2] != ']') {
                    for (unsigned c = lo; c <= (unsigned char)p[2]; c++)
                        set_add(a, c);
                    p += 3;
                } else {
                    set_add(a, lo);
                    p++;
                }
                first = false;
            }
            if (p >= end)
                fatal_schema(src);
            p++;
        } else if (strchr(".()|\\*+?{}[]^$", *p)) {
            fatal_schema(src); /* not in the subset the schemas use */
        } else {
            set_add(a, (unsigned char)*p++);
        }
        a->min = a->max = 1;
        if (*p == '*' || *p == '+' || *p == '?') {
            a->min = *p == '+';
            a->max = *p == '?' ? 1 : UINT32_MAX;
            p++;
        } else if (*p == '{') {
            parse_count(&p, a, src);
        }
    }
    return pt;
}

static bool match_atoms(const patom *a, size_t n, const unsigned char *s)
{
    if (n == 0)
        return *s == '\0';
    size_t k = 0;
    while (k < a->max && s[k] && set_has(a, s[k]))
        k++;
    for (;;) { /* longest first, then shorter */
        if (k >= a->min && match_atoms(a + 1, n - 1, s + k))
            return true;
        if (k == 0 || k == a->min)
            return false;
        k--;
    }
}

static snode *compile(cctx *cx, const yj *js, const char *key, snode *parent);

/* cheap and good enough for a few dozen field names: length and three characters */
static uint32_t key_hash(const char *k, size_t n)
{
    if (!n)
        return 0;
    uint32_t h = (uint32_t)n * 2654435761u;
    h ^= (uint32_t)(unsigned char)k[0] * 40503u;
    h ^= (uint32_t)(unsigned char)k[n - 1] * 2246822519u;
    h ^= (uint32_t)(unsigned char)k[n / 2] * 3266489917u;
    return h ^ (h >> 15);
}

/* a hash table of the properties: record fields are looked up for every record */
static void build_slots(snode *n)
{
    uint32_t cap = 8;
    while (cap < n->nprops * 3)
        cap *= 2;
    n->slots = arena_alloc(&schema_mem, cap * sizeof *n->slots);
    for (uint32_t i = 0; i < cap; i++)
        n->slots[i] = -1;
    n->nslots = cap;
    for (size_t k = 0; k < n->nprops; k++) {
        uint32_t h = key_hash(n->props[k]->key, strlen(n->props[k]->key)) & (cap - 1);
        while (n->slots[h] >= 0)
            h = (h + 1) & (cap - 1);
        n->slots[h] = (int16_t)k;
    }
}

static snode *compile_ref(cctx *cx, const char *ref, const char *key, snode *parent)
{
    if (strncmp(ref, "#/$defs/", 8) != 0)
        fatal_schema(ref);
    const char *name = ref + 8;
    for (size_t i = 0; i < cx->ndefs; i++)
        if (strcmp(cx->names[i], name) == 0)
            return cx->defs[i];
    const yj *def = yj_get(yj_get(cx->root, "$defs"), name);
    if (!def || cx->ndefs == 64)
        fatal_schema(ref);
    /* register before compiling so recursive definitions (conditions) terminate */
    snode *n = arena_alloc(&schema_mem, sizeof *n);
    memset(n, 0, sizeof *n);
    cx->names[cx->ndefs] = name;
    cx->defs[cx->ndefs++] = n;
    snode *built = compile(cx, def, key, parent);
    *n = *built;
    return n;
}

static snode *compile(cctx *cx, const yj *js, const char *key, snode *parent)
{
    const yj *v;
    if ((v = yj_get(js, "$ref"))) {
        snode *target = compile_ref(cx, yj_str(v), key, parent);
        if (yj_size(js) == 1)
            return target;
        /* a $ref with siblings: a copy that adds them */
        snode *n = arena_alloc(&schema_mem, sizeof *n);
        *n = *target;
        n->key = arena_strdup(&schema_mem, key);
        n->keylen = strlen(key);
        if ((v = yj_get(js, "description")))
            n->description = arena_strdup(&schema_mem, yj_str(v));
        if ((v = yj_get(js, "x-ref")))
            n->ref = arena_strdup(&schema_mem, yj_str(v));
        return n;
    }
    yz_schema *s = cx->s;
    snode *n = arena_alloc(&schema_mem, sizeof *n);
    memset(n, 0, sizeof *n);
    n->key = arena_strdup(&schema_mem, key);
    n->keylen = strlen(key);
    n->parent = parent;
    n->const_int = INT32_MIN;
    add_node(s, n);
    if (!parent || !parent->parent) {
        n->path = !parent ? "" : n->key;
    } else if (strcmp(key, "[]") == 0) {
        n->path = arena_printf(&schema_mem, "%s[]", parent->path);
    } else {
        n->path = arena_printf(&schema_mem, "%s.%s", parent->path, key);
    }

    const yj *type = yj_get(js, "type");
    const char *tname = NULL;
    n->nullable = !type;
    if (yj_typeof(type) == YJ_STRING) {
        tname = yj_str(type);
    } else if (yj_typeof(type) == YJ_ARRAY) {
        for (const yj *t = yj_first(type); t; t = yj_next(t)) {
            if (strcmp(yj_str(t), "null") != 0)
                tname = yj_str(t);
            else
                n->nullable = true;
        }
    }
    if (!tname)
        n->type = ST_ANY;
    else if (!strcmp(tname, "object"))
        n->type = ST_OBJECT;
    else if (!strcmp(tname, "array"))
        n->type = ST_ARRAY;
    else if (!strcmp(tname, "string"))
        n->type = ST_STRING;
    else if (!strcmp(tname, "integer"))
        n->type = ST_INTEGER;
    else if (!strcmp(tname, "number"))
        n->type = ST_NUMBER;
    else if (!strcmp(tname, "boolean"))
        n->type = ST_BOOLEAN;
    else
        fatal_schema(tname);

    if ((v = yj_get(js, "description")))
        n->description = arena_strdup(&schema_mem, yj_str(v));
    if ((v = yj_get(js, "x-label")))
        n->label = arena_strdup(&schema_mem, yj_str(v));
    if ((v = yj_get(js, "x-evidence")))
        n->evidence = arena_strdup(&schema_mem, yj_str(v));
    else if (parent)
        n->evidence = parent->evidence;
    if ((v = yj_get(js, "x-null")))
        n->null_is_none = strcmp(yj_str(v), "none") == 0;
    if ((v = yj_get(js, "x-kind")))
        n->kind = arena_strdup(&schema_mem, yj_str(v));
    if ((v = yj_get(js, "x-ref")))
        n->ref = arena_strdup(&schema_mem, yj_str(v));
    int64_t iv;
    if ((v = yj_get(js, "const")) && yj_is_int(v, &iv))
        n->const_int = (int)iv;
    if ((v = yj_get(js, "format"))) {
        if (!strcmp(yj_str(v), "date"))
            n->format = SF_DATE;
        else if (!strcmp(yj_str(v), "resident-id"))
            n->format = SF_RESIDENT_ID;
    }
    if ((v = yj_get(js, "pattern"))) {
        n->pattern = compile_pattern(yj_str(v));
        n->pattern_src = arena_strdup(&schema_mem, yj_str(v));
        if ((v = yj_get(js, "x-pattern-text")))
            n->pattern_text = arena_strdup(&schema_mem, yj_str(v));
        n->six_digits = !strcmp(n->pattern_src, "^[0-9]{6}$"); /* region codes: checked without regex */
    }
    if ((v = yj_get(js, "maxLength")) && yj_is_int(v, &iv))
        n->max_length = (size_t)iv;
    if ((v = yj_get(js, "maxItems")) && yj_is_int(v, &iv))
        n->max_items = (size_t)iv;
    if ((v = yj_get(js, "minItems")) && yj_is_int(v, &iv))
        n->min_items = (size_t)iv;
    if ((v = yj_get(js, "minimum"))) {
        n->has_min = true;
        n->min = yj_num(v);
    }
    if ((v = yj_get(js, "maximum"))) {
        n->has_max = true;
        n->max = yj_num(v);
    }
    const yj *en = yj_get(js, "enum");
    if ((v = yj_get(js, "x-enum-from"))) {
        n->enum_from = arena_strdup(&schema_mem, yj_str(v));
        const yj *from = yj_get(cx->root, yj_str(v)); /* an object whose keys are the allowed values */
        /* the schema spells the list out as an enum too, for validators that know no x-enum-from:
           the two must name the same values */
        if (en) {
            bool same = yj_size(en) == yj_size(from);
            for (const yj *e = yj_first(en); e && same; e = yj_next(e))
                same = yj_typeof(e) == YJ_STRING && yj_get(from, yj_str(e)) != NULL;
            if (!same)
                fatal_schema("an enum differs from its x-enum-from");
        }
        en = from;
    }
    if (en) {
        /* null in an enum is the null that a nullable type allows: not one of the texts */
        n->enums = arena_alloc(&schema_mem, (yj_size(en) ? yj_size(en) : 1) * sizeof *n->enums);
        for (const yj *e = yj_first(en); e; e = yj_next(e))
            if (yj_typeof(en) == YJ_OBJECT || yj_typeof(e) == YJ_STRING)
                n->enums[n->nenum++] = arena_strdup(&schema_mem, yj_typeof(en) == YJ_OBJECT ? yj_key(e) : yj_str(e));
    }
    if (n->type == ST_OBJECT) {
        const yj *props = yj_get(js, "properties");
        n->nprops = yj_size(props);
        n->props = arena_alloc(&schema_mem, (n->nprops ? n->nprops : 1) * sizeof *n->props);
        size_t i = 0;
        for (const yj *p = yj_first(props); p; p = yj_next(p)) {
            snode *c = compile(cx, p, yj_key(p), n);
            if (c->parent != n && c->key) {
                /* a definition shared by several objects ($ref): each property has its own node,
                   since its position (pos) and its key belong to this object */
                snode *own = arena_alloc(&schema_mem, sizeof *own);
                *own = *c;
                own->key = arena_strdup(&schema_mem, yj_key(p));
                own->keylen = strlen(own->key);
                own->parent = n;
                own->path = !n->parent ? own->key : arena_printf(&schema_mem, "%s.%s", n->path, own->key);
                c = own;
            }
            n->props[i++] = c;
        }
        qsort(n->props, n->nprops, sizeof *n->props, cmp_snode);
        build_slots(n);
        const yj *req = yj_get(js, "required");
        for (const yj *r = yj_first(req); r; r = yj_next(r)) {
            const snode *c = snode_child(n, yj_str(r), strlen(yj_str(r)));
            if (!c)
                fatal_schema("required names an unknown property");
            /* required is a property of the use, not of a shared $defs node */
            snode *copy = arena_alloc(&schema_mem, sizeof *copy);
            *copy = *c;
            copy->required = true;
            for (size_t k = 0; k < n->nprops; k++)
                if (n->props[k] == c)
                    n->props[k] = copy;
        }
        for (size_t k = 0; k < n->nprops; k++)
            n->props[k]->pos = (int)k;
        if ((v = yj_get(js, "additionalProperties")) && yj_typeof(v) == YJ_OBJECT)
            n->addl = compile(cx, v, "*", n);
        if ((v = yj_get(js, "propertyNames"))) {
            const yj *ref = yj_get(v, "$ref");
            if (ref)
                v = yj_get(yj_get(cx->root, "$defs"), yj_str(ref) + 8);
            const yj *pat = yj_get(v, "pattern"), *text = yj_get(v, "x-pattern-text");
            if (pat) {
                n->key_pattern = compile_pattern(yj_str(pat));
                n->key_pattern_src = arena_strdup(&schema_mem, yj_str(pat));
            }
            if (text)
                n->key_pattern_text = arena_strdup(&schema_mem, yj_str(text));
        }
        if ((v = yj_get(js, "patternProperties"))) {
            const yj *pp = yj_first(v);
            n->key_pattern = compile_pattern(yj_key(pp));
            n->key_pattern_src = arena_strdup(&schema_mem, yj_key(pp));
            n->any_key = true;
        }
    } else if (n->type == ST_ARRAY) {
        const yj *items = yj_get(js, "items");
        if (!items)
            fatal_schema("array without items");
        n->items = compile(cx, items, "[]", n);
    }
    return n;
}

static void load_schema(yz_schema *s, const char *text, size_t len)
{
    pthread_mutex_lock(&mem_lock);
    if (!schema_mem.block_size)
        arena_init(&schema_mem, 64 * 1024);
    size_t off;
    const char *err;
    yj *js = yj_parse(&schema_mem, text, len, &off, &err);
    if (!js)
        fatal_schema(err);
    cctx cx;
    memset(&cx, 0, sizeof cx);
    cx.s = s;
    cx.root = js;
    s->root = compile(&cx, js, "", NULL);
    const yj *docs = yj_get(js, "x-evidence-documents");
    s->ndocs = yj_size(docs);
    s->doc_ids = arena_alloc(&schema_mem, (s->ndocs ? s->ndocs : 1) * sizeof(char *));
    s->doc_names = arena_alloc(&schema_mem, (s->ndocs ? s->ndocs : 1) * sizeof(char *));
    const char **keys = yz_malloc((s->ndocs ? s->ndocs : 1) * sizeof(char *));
    size_t i = 0;
    for (const yj *e = yj_first(docs); e; e = yj_next(e), i++)
        keys[i] = yj_key(e);
    qsort(keys, s->ndocs, sizeof(char *), yz_strcmp_ptr);
    for (i = 0; i < s->ndocs; i++) {
        s->doc_ids[i] = arena_strdup(&schema_mem, keys[i]);
        s->doc_names[i] = arena_strdup(&schema_mem, yj_str(yj_get(docs, keys[i])));
    }
    yz_free(keys);
    pthread_mutex_unlock(&mem_lock);
}

/* marks the nodes whose subtree holds a resident ID number (for schema_canonicalise); the
   applicant schema has no recursive definitions */
static bool mark_ids(snode *n)
{
    bool has = n->format == SF_RESIDENT_ID;
    for (size_t k = 0; k < n->nprops; k++)
        has |= mark_ids(n->props[k]);
    if (n->items)
        has |= mark_ids(n->items);
    n->holds_id = has;
    return has;
}

static void load_applicant(void)
{
    load_schema(&applicant, yz_embed_applicant_schema, yz_embed_applicant_schema_len);
    mark_ids(applicant.root);
    applicant.file = "schemas/applicant-record.v1.schema.json";
    applicant.doc_word = "a record";
    applicant.root_path = "(record)";
    applicant.key_word = "field";
    applicant.null_absent = true;
}

static void load_policy(void)
{
    load_schema(&policy, yz_embed_policy_schema, yz_embed_policy_schema_len);
    policy.file = "schemas/policy.v1.schema.json";
    policy.doc_word = "a policy file";
    policy.key_word = "key";
}

const yz_schema *schema_applicant(void)
{
    pthread_once(&applicant_once, load_applicant);
    return &applicant;
}

const yz_schema *schema_policy(void)
{
    pthread_once(&policy_once, load_policy);
    return &policy;
}

const snode *snode_child(const snode *obj, const char *key, size_t keylen)
{
    if (!obj->nslots)
        return NULL;
    uint32_t mask = obj->nslots - 1, h = key_hash(key, keylen) & mask;
    for (;;) {
        int16_t k = obj->slots[h];
        if (k < 0)
            return NULL;
        const snode *c = obj->props[k];
        if (c->keylen == keylen && !memcmp(c->key, key, keylen))
            return c;
        h = (h + 1) & mask;
    }
}

const snode *schema_lookup(const yz_schema *s, const char *path)
{
    const snode *n = s->root;
    const char *p = path;
    while (*p && n) {
        while (n->type == ST_ARRAY)
            n = n->items;
        const char *e = p;
        while (*e && *e != '.' && *e != '[')
            e++;
        n = snode_child(n, p, (size_t)(e - p));
        if (!n)
            return NULL;
        while (*e == '[') {
            while (*e && *e != ']')
                e++;
            if (*e == ']')
                e++;
        }
        p = *e == '.' ? e + 1 : e;
    }
    return n;
}

const void *schema_pattern(const char *src)
{
    pthread_mutex_lock(&mem_lock);
    if (!schema_mem.block_size)
        arena_init(&schema_mem, 64 * 1024);
    const void *p = compile_pattern(src);
    pthread_mutex_unlock(&mem_lock);
    return p;
}

bool schema_match(const void *pat, const char *s)
{
    const pattern *pt = pat;
    return match_atoms(pt->atoms, pt->n, (const unsigned char *)s);
}

const char *schema_doc_name(const yz_schema *s, const char *id)
{
    const char **hit = bsearch(&id, s->doc_ids, s->ndocs, sizeof(char *), yz_strcmp_ptr);
    return hit ? s->doc_names[hit - s->doc_ids] : NULL;
}

/* ---- paths ---- */

void yval_path(const yval *v, strbuf *sb)
{
    if (!v || !v->parent)
        return;
    yval_path(v->parent, sb);
    if (v->index >= 0) {
        sb_addf(sb, "[%d]", v->index);
    } else {
        if (sb->len)
            sb_addc(sb, '.');
        sb_adds(sb, v->sn->key);
    }
}

void yval_child_path(const yval *obj, const snode *child, strbuf *sb)
{
    yval_path(obj, sb);
    if (sb->len)
        sb_addc(sb, '.');
    sb_adds(sb, child->key);
}

const yval *yval_find(const yval *root, const char *path, const yval **obj, const snode **child)
{
    const yval *v = root;
    *obj = NULL;
    *child = NULL;
    for (const char *p = path; v;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        const snode *sn = v->sn->type == ST_OBJECT ? snode_child(v->sn, p, n) : NULL;
        if (!sn)
            return NULL;
        const yval *next = v->kids[sn->pos];
        if (!next) {
            *obj = v;
            *child = sn;
            return NULL;
        }
        if (!dot)
            return next;
        v = next;
        p = dot + 1;
    }
    return NULL;
}

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
    if (s == &applicant)
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

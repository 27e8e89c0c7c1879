/* yz_schema.c: compiles the applicant record and policy file JSON Schemas (a documented subset
 * of draft 2020-12 plus x- extensions): their nodes, patterns, lookups and field paths.  The one
 * validator over them (JSON records, YAML records, YAML policy files) is yz_validate.c. */
#include "yz_schema.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

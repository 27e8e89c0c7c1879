/* yz_policy.c: loads a ruleset (the national baseline, a province, a city, the Lua library),
 * checks every file against the policy schema, merges the levels in force together and builds
 * the validated policy model. */
#include "yz_policy.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "yz_date.h"
#include "yz_diag.h"
#include "yz_hash.h"
#include "yz_sandbox.h"
#include "yz_schema.h"

#define MAX_LEVELS 6
#define MAX_VERSIONS 32
#define MAX_FILE_BYTES (8u << 20)

/* ------------------------------------------------------------------------------------------ */
/* file sources: a directory tree on disk, or files held in memory (from the store) */

/* the policy file of a version (copies: the file table moves as files are added) */
typedef struct vfile {
    const char *path, *display;
} vfile;

typedef struct version {
    const vfile *file;
    ydoc *doc;
    const char *from, *to; /* effective period */
    const ynode *to_node;
    const char *extends;
    ynode *lua;            /* the lua: list */
} version;

typedef struct level {
    const char *name;        /* "national", "guangdong", "guangdong/guangzhou" */
    const char *logical_dir; /* "rules/national", "provinces/guangdong" */
    const char *disk_dir;    /* where it was read from, or NULL */
    version versions[MAX_VERSIONS];
    size_t nversions;
    const char *extends;
    bool standalone; /* extends: none */
} level;

typedef struct loader {
    yz_ruleset *rs;
    yz_diags *d;
    const char *home;
    const yz_file *mem_files; /* when loading from memory */
    size_t nmem;
    level levels[MAX_LEVELS]; /* levels[0] = the province asked for; last = national */
    size_t nlevels;
    int errors_before;
    char cwd[PATH_MAX];
} loader;

static arena *M(loader *L)
{
    return &L->rs->mem;
}

static int nerrors(loader *L)
{
    return (int)(L->d ? L->d->n_errors : 0) - L->errors_before;
}

/* path shown to people: relative to the working directory when below it */
static char *display_path(loader *L, const char *path)
{
    char *norm = yz_path_normalize(path);
    size_t cl = strlen(L->cwd);
    if (norm[0] == '/' && cl > 1 && strncmp(norm, L->cwd, cl) == 0 && norm[cl] == '/') {
        char *r = arena_strdup(M(L), norm + cl + 1);
        yz_free(norm);
        return r;
    }
    char *r = arena_strdup(M(L), norm);
    yz_free(norm);
    return r;
}

/* Canonical bytes: no UTF-8 BOM, CRLF and CR line ends as LF. */
static char *canonical_bytes(arena *m, const char *data, size_t len, size_t *out_len)
{
    if (len >= 3 && (unsigned char)data[0] == 0xEF && (unsigned char)data[1] == 0xBB && (unsigned char)data[2] == 0xBF) {
        data += 3;
        len -= 3;
    }
    char *out = arena_alloc(m, len + 1);
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\r') {
            out[k++] = '\n';
            if (i + 1 < len && data[i + 1] == '\n')
                i++;
        } else {
            out[k++] = data[i];
        }
    }
    out[k] = '\0';
    *out_len = k;
    return out;
}

static rfile *find_file(loader *L, const char *path)
{
    for (size_t i = 0; i < L->rs->nfiles; i++)
        if (strcmp(L->rs->files[i].path, path) == 0)
            return &L->rs->files[i];
    return NULL;
}

static rfile *add_file(loader *L, const char *logical, const char *display, const char *data, size_t len)
{
    rfile *f = find_file(L, logical);
    if (f)
        return f;
    L->rs->files = yz_realloc(L->rs->files, (L->rs->nfiles + 1) * sizeof *L->rs->files);
    f = &L->rs->files[L->rs->nfiles++];
    f->path = arena_strdup(M(L), logical);
    f->display = display ? (char *)display : f->path;
    f->data = canonical_bytes(M(L), data, len, &f->len);
    return f;
}

/* Reads a file of the ruleset from disk or memory.  Returns NULL after a diagnostic. */
static rfile *load_file(loader *L, const char *logical, const char *disk_path, const char *why_file, int why_line,
                        int why_col)
{
    rfile *f = find_file(L, logical);
    if (f)
        return f;
    if (L->mem_files) {
        for (size_t i = 0; i < L->nmem; i++)
            if (strcmp(L->mem_files[i].path, logical) == 0)
                return add_file(L, logical, NULL, L->mem_files[i].data, L->mem_files[i].len);
        diag_add(L->d, YZ_SEV_ERROR, why_file, why_line, why_col, "the stored ruleset has no file %s", logical);
        return NULL;
    }
    char *data;
    size_t len;
    int e = yz_read_file(disk_path, MAX_FILE_BYTES, &data, &len);
    if (e) {
        const char *shown = display_path(L, disk_path);
        if (e == EFBIG)
            diag_add(L->d, YZ_SEV_ERROR, why_file ? why_file : shown, why_line, why_col,
                     "%s is larger than %u MiB", shown, MAX_FILE_BYTES >> 20);
        else if (e == EISDIR)
            diag_add(L->d, YZ_SEV_ERROR, why_file ? why_file : shown, why_line, why_col,
                     "%s is a directory, not a file", shown);
        else
            diag_add(L->d, YZ_SEV_ERROR, why_file ? why_file : shown, why_line, why_col, "cannot read %s: %s", shown,
                     strerror(e));
        return NULL;
    }
    f = add_file(L, logical, display_path(L, disk_path), data, len);
    yz_free(data);
    return f;
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the names of files in a level directory with one of the suffixes (sorted). */
static size_t list_dir(loader *L, const char *logical_dir, const char *disk_dir, const char *suffix1,
                       const char *suffix2, char ***out)
{
    char **names = NULL;
    size_t n = 0;
    if (L->mem_files) {
        size_t dl = strlen(logical_dir);
        for (size_t i = 0; i < L->nmem; i++) {
            const char *p = L->mem_files[i].path;
            if (strncmp(p, logical_dir, dl) != 0 || p[dl] != '/' || strchr(p + dl + 1, '/'))
                continue;
            if (!yz_str_has_suffix(p, suffix1) && !(suffix2 && yz_str_has_suffix(p, suffix2)))
                continue;
            names = yz_realloc(names, (n + 1) * sizeof *names);
            names[n++] = yz_strdup(p + dl + 1);
        }
    } else {
        DIR *dir = yz_opendir(disk_dir);
        if (!dir) {
            *out = NULL;
            return 0;
        }
        struct dirent *de;
        while ((de = readdir(dir))) {
            if (de->d_name[0] == '.')
                continue;
            if (!yz_str_has_suffix(de->d_name, suffix1) && !(suffix2 && yz_str_has_suffix(de->d_name, suffix2)))
                continue;
            char *full = yz_path_join(disk_dir, de->d_name);
            struct stat st;
            bool file = false;
            if (stat(full, &st) != 0)
                diag_add(L->d, YZ_SEV_ERROR, display_path(L, full), 0, 0, "cannot read: %s%s", strerror(errno),
                         errno == ELOOP || errno == ENOENT ? " (a broken or looping symbolic link?)" : "");
            else if (S_ISDIR(st.st_mode))
                diag_add(L->d, YZ_SEV_ERROR, display_path(L, full), 0, 0,
                         "is a folder, not a file: rename it, or move the file it should be into its place");
            else if (!S_ISREG(st.st_mode))
                /* a FIFO would block the loader for ever, a device could be endless */
                diag_add(L->d, YZ_SEV_ERROR, display_path(L, full), 0, 0,
                         "is a %s, not a plain file: policy files must be plain files",
                         S_ISFIFO(st.st_mode) ? "named pipe (FIFO)" : S_ISSOCK(st.st_mode) ? "socket" : "device");
            else
                file = true;
            yz_free(full);
            if (!file)
                continue;
            names = yz_realloc(names, (n + 1) * sizeof *names);
            names[n++] = yz_strdup(de->d_name);
        }
        closedir(dir);
    }
    if (n)
        qsort(names, n, sizeof *names, cmp_cstr);
    *out = names;
    return n;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        yz_free(names[i]);
    yz_free(names);
}

/* ------------------------------------------------------------------------------------------ */
/* schema checks of one file */

typedef struct wctx {
    loader *L;
    const yz_schema *s;
} wctx;

static const char *disp(loader *L, const char *logical)
{
    rfile *f = logical ? find_file(L, logical) : NULL;
    return f ? f->display : logical;
}

static void err_at(loader *L, const ynode *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void err_at(loader *L, const ynode *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vadd(L->d, YZ_SEV_ERROR, n ? disp(L, n->file) : NULL, n ? n->line : 0, n ? n->col : 0, fmt, ap);
    va_end(ap);
}

static bool scalar_is_int(const ynode *n, long long *out)
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

static bool scalar_is_bool(const ynode *n, bool *out)
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

static bool is_date_scalar(const ynode *n)
{
    yz_date d;
    return n->kind == YN_SCALAR && yz_date_parse(n->str, n->len, &d);
}

static const char *what_expected(const snode *sn)
{
    switch (sn->type) {
    case ST_OBJECT: return "a mapping (key: value lines)";
    case ST_ARRAY: return "a list";
    case ST_STRING: return sn->format == SF_DATE ? "a date (YYYY-MM-DD)" : "text";
    case ST_INTEGER: return "a whole number";
    case ST_NUMBER: return "a number";
    case ST_BOOLEAN: return "true or false";
    default: return "a value";
    }
}

static void walk(wctx *c, const ynode *n, const snode *sn, const char *ctx);

static void walk_scalar(wctx *c, const ynode *n, const snode *sn, const char *ctx)
{
    loader *L = c->L;
    if (n->kind != YN_SCALAR) {
        err_at(L, n, "%s: expected %s, found a %s", ctx, what_expected(sn), ynode_kind_name(n));
        return;
    }
    if (ynode_is_null(n)) {
        if (!sn->null_is_none)
            err_at(L, n, "%s: a value is missing here (expected %s)", ctx, what_expected(sn));
        return;
    }
    switch (sn->type) {
    case ST_INTEGER: {
        long long v;
        if (!scalar_is_int(n, &v)) {
            err_at(L, n, "%s: expected a whole number, found '%s'", ctx, n->str);
        } else if (sn->const_int != INT32_MIN && v != sn->const_int) {
            err_at(L, n, "%s: must be %d (this engine reads policy format %d)", ctx, sn->const_int, sn->const_int);
        }
        return;
    }
    case ST_BOOLEAN:
        if (!scalar_is_bool(n, NULL))
            err_at(L, n, "%s: expected true or false, found '%s'", ctx, n->str);
        return;
    case ST_STRING:
        if (sn->format == SF_DATE) {
            if (!is_date_scalar(n))
                err_at(L, n, "%s: '%s' is not a real date; write YYYY-MM-DD", ctx, n->str);
            return;
        }
        if (sn->nenum) {
            for (size_t i = 0; i < sn->nenum; i++)
                if (strcmp(n->str, sn->enums[i]) == 0)
                    return;
            const char *near = yz_suggest(n->str, sn->enums, sn->nenum);
            strbuf opts = STRBUF_INIT;
            for (size_t i = 0; i < sn->nenum && i < 12; i++)
                sb_addf(&opts, "%s%s", i ? ", " : "", sn->enums[i]);
            if (sn->nenum > 12)
                sb_adds(&opts, ", ...");
            if (near)
                err_at(L, n, "%s: unknown value '%s' (did you mean '%s'?)", ctx, n->str, near);
            else
                err_at(L, n, "%s: unknown value '%s'; expected one of %s", ctx, n->str, opts.buf);
            sb_free(&opts);
            return;
        }
        if (sn->pattern && !schema_match(sn->pattern, n->str)) {
            if (strcmp(sn->pattern_src, "^[a-z][a-z0-9_-]*$") == 0)
                err_at(L, n, "%s: '%s' is not a source id: use lowercase letters, digits, _ and -, starting with a letter",
                       ctx, n->str);
            else if (strcmp(sn->pattern_src, "^[a-z][a-z0-9_]*$") == 0)
                err_at(L, n, "%s: '%s' is not an id: use lowercase letters, digits and _, starting with a letter", ctx,
                       n->str);
            else if (strcmp(sn->pattern_src, "^[0-9]{6}$") == 0)
                err_at(L, n, "%s: '%s' is not a 6-digit GB/T 2260 code", ctx, n->str);
            else
                err_at(L, n, "%s: '%s' does not match %s", ctx, n->str, sn->pattern_src);
        }
        return;
    default: return;
    }
}

static void walk_map(wctx *c, const ynode *n, const snode *sn, const char *ctx)
{
    loader *L = c->L;
    if (n->kind != YN_MAP) {
        if (ynode_is_null(n))
            err_at(L, n, "%s: empty; expected %s", ctx, what_expected(sn));
        else
            err_at(L, n, "%s: expected %s, found %s", ctx, what_expected(sn),
                   n->kind == YN_SCALAR ? "text" : "a list");
        return;
    }
    for (size_t i = 0; i < n->n; i++) {
        const ynode *k = n->keys[i];
        const snode *child = snode_child(sn, k->str, k->len);
        char sub[256];
        if (child) {
            snprintf(sub, sizeof sub, "%s", k->str);
            walk(c, n->vals[i], child, sub);
            continue;
        }
        if (sn->addl || sn->any_key) {
            if (sn->key_pattern && !schema_match(sn->key_pattern, k->str)) {
                if (sn->any_key)
                    err_at(L, k, "%s: '%s' is not a date; dated values are written YYYY-MM-DD: value", ctx, k->str);
                else if (!strcmp(sn->key_pattern_src, "^[a-z][a-z0-9_-]*$"))
                    err_at(L, k, "%s: '%s' is not a source id: use lowercase letters, digits, _ and -, starting with a letter",
                           ctx, k->str);
                else
                    err_at(L, k, "%s: '%s' is not an id: use lowercase letters, digits and _, starting with a letter",
                           ctx, k->str);
                continue;
            }
            if (sn->addl) {
                snprintf(sub, sizeof sub, "%s '%s'", ctx, k->str);
                walk(c, n->vals[i], sn->addl, sub);
            }
            continue;
        }
        const char *cands[64];
        size_t nc = 0;
        for (size_t j = 0; j < sn->nprops && nc < 64; j++)
            cands[nc++] = sn->props[j]->key;
        const char *near = yz_suggest(k->str, cands, nc);
        if (near) {
            err_at(L, k, "unknown key '%s' in %s (did you mean '%s'?)", k->str, ctx, near);
        } else {
            strbuf opts = STRBUF_INIT;
            for (size_t j = 0; j < nc; j++)
                sb_addf(&opts, "%s%s", j ? ", " : "", cands[j]);
            err_at(L, k, "unknown key '%s' in %s; allowed: %s", k->str, ctx, opts.buf);
            sb_free(&opts);
        }
    }
    for (size_t j = 0; j < sn->nprops; j++)
        if (sn->props[j]->required && !ynode_get(n, sn->props[j]->key))
            err_at(L, n, "%s: missing required key '%s'", ctx, sn->props[j]->key);
}

static void walk(wctx *c, const ynode *n, const snode *sn, const char *ctx)
{
    if (sn->kind) {
        /* conditions, bases, 'for' and dated values are checked when the model is built */
        if (!strcmp(sn->kind, "dated")) {
            if (n->kind != YN_MAP) {
                err_at(c->L, n, "%s: expected dated values (YYYY-MM-DD: value lines)", ctx);
                return;
            }
            const char *prev = NULL;
            for (size_t i = 0; i < n->n; i++) {
                const ynode *k = n->keys[i];
                if (!is_date_scalar(k)) {
                    err_at(c->L, k, "%s: '%s' is not a date; write YYYY-MM-DD: value", ctx, k->str);
                    continue;
                }
                if (prev && strcmp(k->str, prev) <= 0)
                    err_at(c->L, k, "%s: dated values out of order: %s comes after %s; list dates in ascending order",
                           ctx, k->str, prev);
                prev = k->str;
            }
        }
        return;
    }
    switch (sn->type) {
    case ST_OBJECT: walk_map(c, n, sn, ctx); return;
    case ST_ARRAY:
        if (n->kind != YN_SEQ) {
            err_at(c->L, n, "%s: expected a list (- item lines or [a, b]), found %s", ctx,
                   n->kind == YN_MAP ? "a mapping" : "text");
            return;
        }
        if (sn->min_items && n->n < sn->min_items)
            err_at(c->L, n, "%s: the list is empty", ctx);
        for (size_t i = 0; i < n->n; i++)
            walk(c, n->vals[i], sn->items, ctx);
        return;
    case ST_ANY: return;
    default: walk_scalar(c, n, sn, ctx); return;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* levels and versions */

static const char *scalar_or_null(const ynode *n)
{
    return n && n->kind == YN_SCALAR && !ynode_is_null(n) ? n->str : NULL;
}

static int read_level(loader *L, level *lv)
{
    char **names;
    size_t n = list_dir(L, lv->logical_dir, lv->disk_dir, ".yaml", ".yml", &names);
    if (n == 0) {
        if (L->mem_files)
            diag_add(L->d, YZ_SEV_ERROR, NULL, 0, 0, "the stored ruleset has no policy file under %s", lv->logical_dir);
        else
            diag_add(L->d, YZ_SEV_ERROR, display_path(L, lv->disk_dir), 0, 0,
                     "no policy file (*.yaml) in this folder");
        free_names(names, n);
        return -1;
    }
    if (n > MAX_VERSIONS)
        n = MAX_VERSIONS;
    for (size_t i = 0; i < n; i++) {
        char *logical = yz_path_join(lv->logical_dir, names[i]);
        char *disk = lv->disk_dir ? yz_path_join(lv->disk_dir, names[i]) : NULL;
        rfile *f = load_file(L, logical, disk, NULL, 0, 0);
        yz_free(logical);
        yz_free(disk);
        if (!f)
            continue;
        ydoc *doc;
        if (ydoc_parse(f->data, f->len, f->path, &doc, NULL) != YZ_OK || doc->soft_errors) {
            /* parse again to report with the display path */
            if (doc && doc->soft_errors) {
                ydoc *again = NULL;
                ydoc_parse(f->data, f->len, f->display, &again, L->d);
                ydoc_free(again);
            } else {
                ydoc_parse(f->data, f->len, f->display, &doc, L->d);
                continue;
            }
        }
        L->rs->docs = yz_realloc(L->rs->docs, (L->rs->ndocs + 1) * sizeof *L->rs->docs);
        L->rs->docs[L->rs->ndocs++] = doc;
        if (!doc->root) {
            diag_add(L->d, YZ_SEV_ERROR, f->display, 1, 1, "the policy file is empty");
            continue;
        }
        if (doc->root->kind != YN_MAP) {
            err_at(L, doc->root, "a policy file is a mapping of keys (format:, region:, categories: ...), found a %s",
                   ynode_kind_name(doc->root));
            continue;
        }
        wctx c = {L, schema_policy()};
        walk(&c, doc->root, c.s->root, "the policy file");
        version *v = &lv->versions[lv->nversions++];
        memset(v, 0, sizeof *v);
        vfile *vf = arena_alloc(M(L), sizeof *vf);
        vf->path = f->path;
        vf->display = f->display;
        v->file = vf;
        v->doc = doc;
        const ynode *eff = ynode_get(doc->root, "effective");
        v->from = scalar_or_null(ynode_get(eff, "from"));
        v->to = scalar_or_null(ynode_get(eff, "to"));
        v->to_node = v->to ? ynode_get(eff, "to") : NULL;
        if (v->from && v->to && strcmp(v->from, v->to) > 0)
            err_at(L, ynode_get(eff, "to"), "effective: 'to' (%s) is before 'from' (%s)", v->to, v->from);
        v->extends = scalar_or_null(ynode_get(doc->root, "extends"));
        v->lua = ynode_get(doc->root, "lua");
        if (v->extends && !strcmp(v->extends, "none"))
            v->extends = NULL, lv->standalone = true;
        else if (!v->extends && strcmp(lv->name, "national") != 0)
            err_at(L, doc->root,
                   "missing 'extends:': write 'extends: national' for a province, or 'extends: <province>' for a city");
        if (v->extends && strcmp(lv->name, "national") == 0)
            err_at(L, ynode_get(doc->root, "extends"), "the national baseline extends nothing");
        if (v->extends && lv->extends && strcmp(v->extends, lv->extends) != 0)
            err_at(L, ynode_get(doc->root, "extends"),
                   "all policy files of one folder must extend the same policy ('%s' here, '%s' in another file)",
                   v->extends, lv->extends);
        if (v->extends && !lv->extends)
            lv->extends = v->extends;
        /* helper Lua files */
        if (v->lua && v->lua->kind == YN_SEQ) {
            for (size_t j = 0; j < v->lua->n; j++) {
                const ynode *ln = v->lua->vals[j];
                if (ln->kind != YN_SCALAR)
                    continue;
                if (strchr(ln->str, '/') || !yz_str_has_suffix(ln->str, ".lua")) {
                    err_at(L, ln, "lua: '%s' must name a .lua file in the same folder", ln->str);
                    continue;
                }
                char *lg = yz_path_join(lv->logical_dir, ln->str);
                char *dk = lv->disk_dir ? yz_path_join(lv->disk_dir, ln->str) : NULL;
                bool fresh = !find_file(L, lg);
                rfile *lf = load_file(L, lg, dk, disp(L, ln->file), ln->line, ln->col);
                if (lf && fresh) {
                    /* as for the rule library: a helper that cannot compile (or is bytecode) is
                       a policy error now, not a failure of every decision */
                    strbuf err = STRBUF_INIT;
                    int line = 0;
                    if (sandbox_check_chunk(lf->data, lf->len, &err, &line) != 0)
                        diag_add(L->d, YZ_SEV_ERROR, lf->display, line, 0, "Lua syntax: %s", err.buf);
                    sb_free(&err);
                }
                yz_free(lg);
                yz_free(dk);
            }
        }
    }
    free_names(names, n);
    /* overlapping periods between versions */
    for (size_t i = 0; i < lv->nversions; i++) {
        for (size_t j = i + 1; j < lv->nversions; j++) {
            version *a = &lv->versions[i], *b = &lv->versions[j];
            if (!a->from || !b->from)
                continue;
            bool overlap = (!a->to || strcmp(b->from, a->to) <= 0) && (!b->to || strcmp(a->from, b->to) <= 0);
            if (overlap) {
                const ynode *eff = ynode_get(b->doc->root, "effective");
                err_at(L, eff ? eff : b->doc->root,
                       "overlapping effective periods: %s (%s to %s) and %s (%s to %s); a folder's policy versions must not overlap",
                       b->file->display, b->from, b->to ? b->to : "open", a->file->display, a->from,
                       a->to ? a->to : "open");
            }
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* merging a level over its parent, at the YAML level */

static ynode *copy_map(loader *L, const ynode *src, size_t extra)
{
    ynode *m = arena_alloc(M(L), sizeof *m);
    *m = *src;
    size_t cap = src->n + extra + 1;
    m->keys = arena_alloc(M(L), cap * sizeof *m->keys);
    m->vals = arena_alloc(M(L), cap * sizeof *m->vals);
    if (src->n) {
        memcpy(m->keys, src->keys, src->n * sizeof *m->keys);
        memcpy(m->vals, src->vals, src->n * sizeof *m->vals);
    }
    return m;
}

static void map_put(ynode *m, ynode *key, ynode *val)
{
    for (size_t i = 0; i < m->n; i++) {
        if (m->keys[i]->len == key->len && memcmp(m->keys[i]->str, key->str, key->len) == 0) {
            m->vals[i] = val;
            return;
        }
    }
    m->keys[m->n] = key;
    m->vals[m->n] = val;
    m->n++;
}

/* entries by id; with deep, an entry of the child patches the parent's entry key by key */
static ynode *merge_entries(loader *L, ynode *parent, ynode *child, bool deep)
{
    if (!parent || parent->kind != YN_MAP)
        return child;
    if (!child || child->kind != YN_MAP)
        return parent;
    ynode *m = copy_map(L, parent, child->n);
    for (size_t i = 0; i < child->n; i++) {
        ynode *pv = ynode_get(parent, child->keys[i]->str);
        ynode *cv = child->vals[i];
        if (deep && pv && pv->kind == YN_MAP && cv->kind == YN_MAP) {
            ynode *e = copy_map(L, pv, cv->n);
            for (size_t j = 0; j < cv->n; j++)
                map_put(e, cv->keys[j], cv->vals[j]);
            map_put(m, child->keys[i], e);
        } else {
            map_put(m, child->keys[i], cv);
        }
    }
    return m;
}

static ynode *merge_top(loader *L, ynode *parent, ynode *child)
{
    ynode *m = copy_map(L, parent, child->n);
    for (size_t i = 0; i < child->n; i++) {
        const char *k = child->keys[i]->str;
        ynode *pv = ynode_get(parent, k);
        ynode *v = child->vals[i];
        if (!strcmp(k, "sources") || !strcmp(k, "parameters"))
            v = merge_entries(L, pv, v, false);
        else if (!strcmp(k, "conditions") || !strcmp(k, "prerequisites") || !strcmp(k, "disqualifications") ||
                 !strcmp(k, "categories") || !strcmp(k, "subsidies"))
            v = merge_entries(L, pv, v, true);
        map_put(m, child->keys[i], v);
    }
    return m;
}

/* ------------------------------------------------------------------------------------------ */
/* building the model */

typedef struct bctx {
    loader *L;
    ppolicy *pol;
} bctx;

static const char *str_of(const ynode *n)
{
    return n && n->kind == YN_SCALAR && !ynode_is_null(n) ? n->str : NULL;
}

static _Thread_local arena *loc_arena; /* the ruleset this thread is building */

static ploc loc_of(const ynode *n)
{
    ploc l = {n ? n->file : NULL, n ? n->line : 0, n ? n->col : 0, NULL};
    if (n && n->file && loc_arena)
        l.rule = arena_printf(loc_arena, "%s:%d", n->file, n->line);
    return l;
}

static pcond *new_cond(loader *L, pckind kind)
{
    pcond *c = arena_alloc(M(L), sizeof *c);
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->ref_index = -1;
    c->leaf = -1;
    c->id = (int)L->rs->nnodes++;
    return c;
}

static void add_leaf(loader *L, pcond *c)
{
    yz_ruleset *rs = L->rs;
    rs->leaves = yz_realloc(rs->leaves, (rs->nleaves + 1) * sizeof *rs->leaves);
    c->leaf = (int)rs->nleaves;
    rs->leaves[rs->nleaves++] = c;
}

/* The expression starts on the node's line, or on the next one for block scalars (| and >). */
static pcond *new_leaf(loader *L, const ynode *n, const char *text)
{
    pcond *c = new_cond(L, PC_LEAF);
    c->expr = n->str;
    c->text = text;
    c->loc = loc_of(n);
    if (n->style == YS_LITERAL || n->style == YS_FOLDED) {
        c->loc.line++;
        c->loc.col = 1;
        c->loc.rule = arena_printf(M(L), "%s:%d", c->loc.file, c->loc.line);
    }
    c->ref_index = -1;
    add_leaf(L, c);
    return c;
}

static pcond *build_cond(bctx *b, const ynode *n, int depth);

static pcond *build_list(bctx *b, const ynode *n, pckind kind, const char *text, int depth, const char *word)
{
    loader *L = b->L;
    if (n->kind != YN_SEQ || n->n == 0) {
        err_at(L, n, "'%s:' takes a non-empty list of conditions (- lines)", word);
        return NULL;
    }
    pcond *c = new_cond(L, kind);
    c->text = text;
    c->loc = loc_of(n);
    c->ref_index = -1;
    c->kids = arena_alloc(M(L), n->n * sizeof *c->kids);
    for (size_t i = 0; i < n->n; i++) {
        pcond *k = build_cond(b, n->vals[i], depth + 1);
        if (k)
            c->kids[c->nkids++] = k;
    }
    return c->nkids ? c : NULL;
}

static pcond *build_cond(bctx *b, const ynode *n, int depth)
{
    loader *L = b->L;
    if (depth > 32) {
        err_at(L, n, "conditions nested more than 32 deep");
        return NULL;
    }
    if (!n || ynode_is_null(n)) {
        err_at(L, n, "a condition is missing here");
        return NULL;
    }
    if (n->kind == YN_SCALAR) {
        if (!n->len || strspn(n->str, " \t\n") == n->len) {
            err_at(L, n, "an empty condition");
            return NULL;
        }
        return new_leaf(L, n, NULL);
    }
    if (n->kind == YN_SEQ) {
        err_at(L, n, "a list of conditions needs 'all:' or 'any:' in front of it");
        return NULL;
    }
    static const char *const keys[] = {"all", "any", "not", "lua", "text", "category", "condition", "targets"};
    const char *text = NULL;
    const ynode *main = NULL, *mainkey = NULL;
    for (size_t i = 0; i < n->n; i++) {
        const char *k = n->keys[i]->str;
        bool known = false;
        for (size_t j = 0; j < YZ_ARRAY_LEN(keys); j++)
            known |= !strcmp(k, keys[j]);
        if (!known) {
            const char *near = yz_suggest(k, (const char *const *)keys, YZ_ARRAY_LEN(keys));
            if (near)
                err_at(L, n->keys[i], "unknown key '%s' in a condition (did you mean '%s'?)", k, near);
            else
                err_at(L, n->keys[i],
                       "unknown key '%s' in a condition; a condition is text (Lua) or one of all:, any:, not:, lua: (with text:), category:, condition:, targets:",
                       k);
            return NULL;
        }
        if (!strcmp(k, "text")) {
            text = str_of(n->vals[i]);
            continue;
        }
        if (main) {
            err_at(L, n->keys[i], "a condition has one of all:, any:, not:, lua:, category:, condition:, targets: (found '%s' and '%s'); nest them",
                   mainkey->str, k);
            return NULL;
        }
        main = n->vals[i];
        mainkey = n->keys[i];
    }
    if (!main) {
        err_at(L, n, "a condition needs one of all:, any:, not:, lua:, category:, condition:, targets:");
        return NULL;
    }
    const char *k = mainkey->str;
    if (!strcmp(k, "all"))
        return build_list(b, main, PC_ALL, text, depth, "all");
    if (!strcmp(k, "any"))
        return build_list(b, main, PC_ANY, text, depth, "any");
    if (!strcmp(k, "not")) {
        pcond *kid = build_cond(b, main, depth + 1);
        if (!kid)
            return NULL;
        pcond *c = new_cond(L, PC_NOT);
        c->text = text;
        c->loc = loc_of(mainkey);
        c->ref_index = -1;
        c->kids = arena_alloc(M(L), sizeof *c->kids);
        c->kids[0] = kid;
        c->nkids = 1;
        return c;
    }
    if (!strcmp(k, "lua")) {
        if (main->kind != YN_SCALAR || !main->len) {
            err_at(L, main, "lua: takes a Lua expression");
            return NULL;
        }
        return new_leaf(L, main, text);
    }
    if (!strcmp(k, "targets")) {
        bool t;
        if (!scalar_is_bool(main, &t) || !t) {
            err_at(L, main, "targets: takes true");
            return NULL;
        }
        pcond *c = new_cond(L, PC_TARGETS);
        c->text = text;
        c->loc = loc_of(mainkey);
        c->ref_index = -1;
        return c;
    }
    /* category: / condition: */
    const char *id = str_of(main);
    if (!id) {
        err_at(L, main, "%s: takes an id", k);
        return NULL;
    }
    pcond *c = new_cond(L, !strcmp(k, "category") ? PC_CATEGORY : PC_CONDITION);
    c->text = text;
    c->ref = id;
    c->loc = loc_of(main);
    c->ref_index = -1;
    return c;
}

static void build_basis(bctx *b, pitem *it, const ynode *n)
{
    loader *L = b->L;
    if (!n)
        return;
    const ynode *one[1] = {n};
    const ynode *const *list = one;
    size_t cnt = 1;
    if (n->kind == YN_SEQ) {
        list = (const ynode *const *)n->vals;
        cnt = n->n;
    }
    it->basis = arena_alloc(M(L), (cnt ? cnt : 1) * sizeof *it->basis);
    for (size_t i = 0; i < cnt; i++) {
        const ynode *e = list[i];
        if (e->kind != YN_MAP) {
            err_at(L, e, "basis: expected {source: id, article: ...}, found %s", ynode_kind_name(e));
            continue;
        }
        for (size_t j = 0; j < e->n; j++) {
            const char *k = e->keys[j]->str;
            if (strcmp(k, "source") && strcmp(k, "article") && strcmp(k, "note")) {
                static const char *const bk[] = {"source", "article", "note"};
                const char *near = yz_suggest(k, bk, 3);
                if (near)
                    err_at(L, e->keys[j], "unknown key '%s' in basis (did you mean '%s'?)", k, near);
                else
                    err_at(L, e->keys[j], "unknown key '%s' in basis; allowed: source, article, note", k);
            }
        }
        pbasis *pb = &it->basis[it->nbasis];
        memset(pb, 0, sizeof *pb);
        pb->source_id = str_of(ynode_get(e, "source"));
        pb->article = str_of(ynode_get(e, "article"));
        pb->note = str_of(ynode_get(e, "note"));
        if (!pb->source_id) {
            err_at(L, e, "basis: missing 'source:' (the id of a policy text under sources:)");
            continue;
        }
        for (size_t s = 0; s < b->pol->nsources; s++)
            if (!strcmp(b->pol->sources[s].id, pb->source_id))
                pb->src = &b->pol->sources[s];
        if (!pb->src) {
            const char *cands[256];
            size_t nc = 0;
            for (size_t s = 0; s < b->pol->nsources && nc < 256; s++)
                cands[nc++] = b->pol->sources[s].id;
            const char *near = yz_suggest(pb->source_id, cands, nc);
            const ynode *sn = ynode_get(e, "source");
            if (near)
                err_at(L, sn, "basis: unknown source '%s' (did you mean '%s'?)", pb->source_id, near);
            else
                err_at(L, sn, "basis: unknown source '%s'; define it under sources:", pb->source_id);
            continue;
        }
        it->nbasis++;
    }
}

static const char **build_id_list(bctx *b, const ynode *n, size_t *count)
{
    *count = 0;
    if (!n || n->kind != YN_SEQ)
        return NULL;
    const char **out = arena_alloc(M(b->L), (n->n ? n->n : 1) * sizeof *out);
    for (size_t i = 0; i < n->n; i++)
        if (str_of(n->vals[i]))
            out[(*count)++] = n->vals[i]->str;
    return out;
}

static const char *const kind_word[] = {"prerequisite", "disqualification", "condition", "category", "subsidy"};

static bool build_item(bctx *b, pikind kind, const ynode *key, const ynode *n, pitem *it)
{
    loader *L = b->L;
    memset(it, 0, sizeof *it);
    it->kind = kind;
    it->id = key->str;
    it->loc = loc_of(key);
    it->verified = true;
    bool en = true;
    const ynode *e = ynode_get(n, "enabled");
    if (e)
        scalar_is_bool(e, &en);
    if (!en)
        return false;
    if (n->kind != YN_MAP)
        return false;
    it->name = str_of(ynode_get(n, kind == PI_CONDITION ? "text" : "name"));
    it->code = str_of(ynode_get(n, "code"));
    const ynode *v = ynode_get(n, "verified");
    if (v)
        scalar_is_bool(v, &it->verified);
    it->note = str_of(ynode_get(n, "note"));
    const ynode *when = ynode_get(n, "when");
    if (when)
        it->when = build_cond(b, when, 0);
    else if (kind != PI_SUBSIDY)
        err_at(L, key, "%s '%s' has no condition: add 'when:'", kind_word[kind], it->id);
    if (kind != PI_CONDITION && !it->name)
        err_at(L, key, "%s '%s' has no name: add 'name:' with its Chinese name", kind_word[kind], it->id);
    if (kind != PI_CONDITION) {
        const ynode *bn = ynode_get(n, "basis");
        if (!bn)
            err_at(L, key, "%s '%s' has no legal basis: add 'basis: {source: <id>, article: <条款>}'", kind_word[kind],
                   it->id);
        build_basis(b, it, bn);
        const ynode *r = ynode_get(n, "reason");
        it->reason[YZ_MET] = str_of(ynode_get(r, "met"));
        it->reason[YZ_NOT_MET] = str_of(ynode_get(r, "not_met"));
        it->reason[YZ_UNDETERMINED] = str_of(ynode_get(r, "undetermined"));
        it->evidence = build_id_list(b, ynode_get(n, "evidence"), &it->nevidence);
        const ynode *eff = ynode_get(n, "effective");
        it->eff_from = str_of(ynode_get(eff, "from"));
        it->eff_to = str_of(ynode_get(eff, "to"));
        if (it->eff_from && it->eff_to && strcmp(it->eff_from, it->eff_to) > 0)
            err_at(L, ynode_get(eff, "to"), "effective: 'to' (%s) is before 'from' (%s)", it->eff_to, it->eff_from);
    }
    if (kind == PI_SUBSIDY) {
        const ynode *f = ynode_get(n, "for");
        if (!f) {
            err_at(L, key, "subsidy '%s' has no 'for:' (write 'for: targets' or a list of category ids)", it->id);
        } else if (f->kind == YN_SCALAR) {
            if (strcmp(f->str, "targets") == 0)
                it->for_targets = true;
            else
                err_at(L, f, "for: write 'targets' or a list of category ids, found '%s'", f->str);
        } else if (f->kind == YN_SEQ) {
            size_t cnt;
            const char **ids = build_id_list(b, f, &cnt);
            it->nfor = cnt;
            it->for_idx = arena_alloc(M(L), (cnt ? cnt : 1) * sizeof(int));
            for (size_t i = 0; i < cnt; i++) {
                it->for_idx[i] = -1;
                for (size_t c = 0; c < b->pol->nitems[PI_CATEGORY]; c++)
                    if (!strcmp(b->pol->items[PI_CATEGORY][c].id, ids[i]))
                        it->for_idx[i] = (int)c;
                if (it->for_idx[i] < 0) {
                    const char *cands[128];
                    size_t nc = 0;
                    for (size_t c = 0; c < b->pol->nitems[PI_CATEGORY] && nc < 128; c++)
                        cands[nc++] = b->pol->items[PI_CATEGORY][c].id;
                    const char *near = yz_suggest(ids[i], cands, nc);
                    if (near)
                        err_at(L, f->vals[i], "for: unknown category '%s' (did you mean '%s'?)", ids[i], near);
                    else
                        err_at(L, f->vals[i],
                               "for: unknown category '%s' (if a province switched it off, override this subsidy's 'for:' there)",
                               ids[i]);
                }
            }
        }
        const ynode *am = ynode_get(n, "amount");
        if (!am) {
            err_at(L, key, "subsidy '%s' has no amount: add 'amount: {fen: <Lua expression>, per: month}'", it->id);
        } else if (am->kind == YN_MAP) {
            const ynode *fen = ynode_get(am, "fen");
            if (fen && fen->kind == YN_SCALAR && fen->len)
                it->amount = new_leaf(L, fen, "金额");
            it->per = str_of(ynode_get(am, "per"));
            it->amount_note = str_of(ynode_get(am, "note"));
        }
        const ynode *mo = ynode_get(n, "months");
        if (mo && mo->kind == YN_SCALAR && mo->len)
            it->months = new_leaf(L, mo, "期限");
        if (it->per && !strcmp(it->per, "month") && !it->months)
            err_at(L, am, "subsidy '%s' is paid per month but has no 'months:' (the number of months still available)",
                   it->id);
        it->excludes = build_id_list(b, ynode_get(n, "excludes"), &it->nexcl);
        it->terms = str_of(ynode_get(n, "terms"));
    }
    return true;
}

static int cmp_param(const void *a, const void *b)
{
    return strcmp(((const pparam *)a)->id, ((const pparam *)b)->id);
}

static void build_params(bctx *b, const ynode *n)
{
    loader *L = b->L;
    ppolicy *pol = b->pol;
    if (!n || n->kind != YN_MAP)
        return;
    pol->params = arena_alloc(M(L), (n->n ? n->n : 1) * sizeof *pol->params);
    arena *m = M(L);
    for (size_t i = 0; i < n->n; i++) {
        const ynode *e = n->vals[i];
        if (e->kind != YN_MAP)
            continue;
        pparam *p = &pol->params[pol->nparams];
        memset(p, 0, sizeof *p);
        p->id = n->keys[i]->str;
        p->loc = loc_of(n->keys[i]);
        p->unit = str_of(ynode_get(e, "unit"));
        p->source = str_of(ynode_get(e, "source"));
        p->description = str_of(ynode_get(e, "description"));
        p->verified = true;
        const ynode *vf = ynode_get(e, "verified");
        if (vf)
            scalar_is_bool(vf, &p->verified);
        const ynode *one = ynode_get(e, "value"), *many = ynode_get(e, "values");
        if (one && many) {
            err_at(L, n->keys[i], "parameter '%s' has both value: and values:; keep one", p->id);
            continue;
        }
        if (!one && !many) {
            /* declared by the national baseline for the provinces to set */
            if (pol->nlevels > 1 || !yz_str_has_prefix(pol->version_files[0], "rules/national/"))
                diag_add(L->d, YZ_SEV_ERROR, disp(L, pol->version_files[pol->nlevels - 1]), 1, 1,
                         "parameter '%s' (declared at %s:%d) has no value: set it under parameters: with 'value:' or dated 'values:'",
                         p->id, disp(L, p->loc.file), p->loc.line);
            p->index = (int)pol->nparams;
            pol->nparams++;
            continue;
        }
        if (!p->unit)
            err_at(L, n->keys[i], "parameter '%s' has no unit: add 'unit:' (fen, 周岁, months, ...)", p->id);
        if (p->source) {
            bool found = false;
            for (size_t s = 0; s < pol->nsources; s++)
                found |= !strcmp(pol->sources[s].id, p->source);
            if (!found)
                err_at(L, ynode_get(e, "source"), "parameter '%s': unknown source '%s'", p->id, p->source);
        }
        if (one) {
            p->nvalues = 1;
            p->values = arena_alloc(m, sizeof *p->values);
            p->values[0].from = NULL;
            p->values[0].value = yj_from_yaml(m, one);
            p->values[0].loc = loc_of(one);
        } else if (many->kind == YN_MAP && many->n) {
            p->values = arena_alloc(m, many->n * sizeof *p->values);
            for (size_t k = 0; k < many->n; k++) {
                p->values[p->nvalues].from = many->keys[k]->str;
                p->values[p->nvalues].value = yj_from_yaml(m, many->vals[k]);
                p->values[p->nvalues].loc = loc_of(many->keys[k]);
                p->nvalues++;
            }
        } else {
            err_at(L, many, "parameter '%s': values: needs at least one 'YYYY-MM-DD: value' line", p->id);
            continue;
        }
        p->index = (int)pol->nparams;
        pol->nparams++;
    }
    if (pol->nparams)
        qsort(pol->params, pol->nparams, sizeof *pol->params, cmp_param);
    for (size_t i = 0; i < pol->nparams; i++)
        pol->params[i].index = (int)i;
}

static void build_sources(bctx *b, const ynode *n)
{
    loader *L = b->L;
    ppolicy *pol = b->pol;
    if (!n || n->kind != YN_MAP)
        return;
    pol->sources = arena_alloc(M(L), (n->n ? n->n : 1) * sizeof *pol->sources);
    for (size_t i = 0; i < n->n; i++) {
        const ynode *e = n->vals[i];
        if (e->kind != YN_MAP)
            continue;
        psource *s = &pol->sources[pol->nsources++];
        memset(s, 0, sizeof *s);
        s->id = n->keys[i]->str;
        s->loc = loc_of(n->keys[i]);
        s->issuer = str_of(ynode_get(e, "issuer"));
        s->number = str_of(ynode_get(e, "number"));
        s->title = str_of(ynode_get(e, "title"));
        s->date = str_of(ynode_get(e, "date"));
        s->in_force = str_of(ynode_get(e, "in_force"));
        s->url = str_of(ynode_get(e, "url"));
        s->note = str_of(ynode_get(e, "note"));
        s->verified = true;
        const ynode *vf = ynode_get(e, "verified");
        if (vf)
            scalar_is_bool(vf, &s->verified);
    }
}

static void build_section(bctx *b, pikind kind, const ynode *n)
{
    ppolicy *pol = b->pol;
    if (!n || n->kind != YN_MAP)
        return;
    pol->items[kind] = arena_alloc(M(b->L), (n->n ? n->n : 1) * sizeof(pitem));
    for (size_t i = 0; i < n->n; i++) {
        pitem *it = &pol->items[kind][pol->nitems[kind]];
        if (build_item(b, kind, n->keys[i], n->vals[i], it)) {
            it->index = (int)pol->nitems[kind];
            pol->nitems[kind]++;
        }
    }
}

/* ---- references inside Lua text: P.name and r.path ---- */

static bool ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Skips a Lua string or comment starting at p; returns the position after it, or p. */
static const char *skip_lua_literal(const char *p)
{
    if (*p == '"' || *p == '\'') {
        char q = *p++;
        while (*p && *p != q) {
            if (*p == '\\' && p[1])
                p++;
            p++;
        }
        return *p ? p + 1 : p;
    }
    if (p[0] == '-' && p[1] == '-') {
        if (p[2] == '[' && (p[3] == '[' || p[3] == '=')) {
            const char *e = strstr(p, "]]");
            return e ? e + 2 : p + strlen(p);
        }
        while (*p && *p != '\n')
            p++;
        return p;
    }
    if (p[0] == '[' && p[1] == '[') {
        const char *e = strstr(p + 2, "]]");
        return e ? e + 2 : p + strlen(p);
    }
    return p;
}

static void check_refs(bctx *b, const pcond *c)
{
    loader *L = b->L;
    const char *s = c->expr;
    const yz_schema *as = schema_applicant();
    int line = c->loc.line;
    for (const char *p = s; *p;) {
        const char *q = skip_lua_literal(p);
        if (q != p) {
            for (const char *x = p; x < q; x++)
                line += *x == '\n';
            p = q;
            continue;
        }
        if (*p == '\n')
            line++;
        bool start = p == s || !(ident_char(p[-1]) || p[-1] == '.' || p[-1] == ':');
        if (start && p[0] == 'P' && p[1] == '.' && ident_char(p[2])) {
            const char *e = p + 2;
            while (ident_char(*e))
                e++;
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)(e - p - 2), p + 2);
            if (!policy_param(b->pol, name)) {
                const char *cands[256];
                size_t nc = 0;
                for (size_t i = 0; i < b->pol->nparams && nc < 256; i++)
                    cands[nc++] = b->pol->params[i].id;
                const char *near = yz_suggest(name, cands, nc);
                int col = line == c->loc.line ? c->loc.col + (int)yz_utf8_width(s, (size_t)(p - s)) : 0;
                if (near)
                    diag_add(L->d, YZ_SEV_ERROR, disp(L, c->loc.file), line, col,
                             "unknown parameter 'P.%s' (did you mean 'P.%s'?)", name, near);
                else
                    diag_add(L->d, YZ_SEV_ERROR, disp(L, c->loc.file), line, col,
                             "unknown parameter 'P.%s': define it under parameters:", name);
            }
            p = e;
            continue;
        }
        if (start && p[0] == 'r' && p[1] == '.' && ident_char(p[2])) {
            const char *e = p + 2;
            char path[256];
            size_t pl = 0;
            while (ident_char(*e) || (*e == '.' && ident_char(e[1]))) {
                if (pl < sizeof path - 1)
                    path[pl++] = *e;
                e++;
            }
            path[pl] = '\0';
            /* the last segment may be a method or a Lua operation on a scalar: check prefixes */
            const snode *sn = as->root;
            char *save, *seg = strtok_r(path, ".", &save);
            char shown[256] = "";
            while (seg && sn) {
                const snode *parent = sn;
                while (parent->type == ST_ARRAY)
                    parent = parent->items;
                if (parent->type != ST_OBJECT) {
                    int col = line == c->loc.line ? c->loc.col + (int)yz_utf8_width(s, (size_t)(p - s)) : 0;
                    diag_add(L->d, YZ_SEV_ERROR, disp(L, c->loc.file), line, col,
                             "record field 'r.%s' is %s, it has no field '%s'", shown,
                             parent->type == ST_STRING ? "text" : "a value", seg);
                    break;
                }
                const snode *child = snode_child(parent, seg, strlen(seg));
                if (!child) {
                    const char *cands[64];
                    size_t nc = 0;
                    for (size_t i = 0; i < parent->nprops && nc < 64; i++)
                        cands[nc++] = parent->props[i]->key;
                    const char *near = yz_suggest(seg, cands, nc);
                    int col = line == c->loc.line ? c->loc.col + (int)yz_utf8_width(s, (size_t)(p - s)) : 0;
                    if (near)
                        diag_add(L->d, YZ_SEV_ERROR, disp(L, c->loc.file), line, col,
                                 "unknown record field 'r.%s%s%s' (did you mean 'r.%s%s%s'?)", shown, *shown ? "." : "",
                                 seg, shown, *shown ? "." : "", near);
                    else
                        diag_add(L->d, YZ_SEV_ERROR, disp(L, c->loc.file), line, col,
                                 "unknown record field 'r.%s%s%s' (see schemas/applicant-record.v1.schema.json)", shown,
                                 *shown ? "." : "", seg);
                    break;
                }
                if (*shown)
                    strncat(shown, ".", sizeof shown - strlen(shown) - 1);
                strncat(shown, seg, sizeof shown - strlen(shown) - 1);
                sn = child;
                seg = strtok_r(NULL, ".", &save);
            }
            p = e;
            continue;
        }
        p++;
    }
}

static void check_lua_syntax(bctx *b, const pcond *c)
{
    loader *L = b->L;
    strbuf err = STRBUF_INIT;
    int line = 0;
    if (sandbox_check_expr(c->expr, c->loc.line, &err, &line) != 0) {
        diag_add(L->d, YZ_SEV_ERROR, disp(L, c->loc.file), line ? line : c->loc.line,
                 line == c->loc.line || !line ? c->loc.col : 0, "Lua syntax: %s", err.buf);
    }
    sb_free(&err);
}

static void walk_leaves(bctx *b, const pcond *c, int *ncat_refs)
{
    if (!c)
        return;
    if (c->kind == PC_LEAF) {
        check_lua_syntax(b, c);
        check_refs(b, c);
    }
    for (size_t i = 0; i < c->nkids; i++)
        walk_leaves(b, c->kids[i], ncat_refs);
    (void)ncat_refs;
}

/* resolves category:/condition: references; reports unknown ids */
static void resolve_refs(bctx *b, pcond *c)
{
    if (!c)
        return;
    loader *L = b->L;
    if (c->kind == PC_CATEGORY || c->kind == PC_CONDITION) {
        pikind k = c->kind == PC_CATEGORY ? PI_CATEGORY : PI_CONDITION;
        for (size_t i = 0; i < b->pol->nitems[k]; i++)
            if (!strcmp(b->pol->items[k][i].id, c->ref))
                c->ref_index = (int)i;
        if (c->ref_index < 0) {
            const char *cands[128];
            size_t nc = 0;
            for (size_t i = 0; i < b->pol->nitems[k] && nc < 128; i++)
                cands[nc++] = b->pol->items[k][i].id;
            const char *near = yz_suggest(c->ref, cands, nc);
            if (near)
                diag_add(L->d, YZ_SEV_ERROR, disp(L, c->loc.file), c->loc.line, c->loc.col,
                         "unknown %s '%s' (did you mean '%s'?)", kind_word[k], c->ref, near);
            else
                diag_add(L->d, YZ_SEV_ERROR, disp(L, c->loc.file), c->loc.line, c->loc.col, "unknown %s '%s'",
                         kind_word[k], c->ref);
        }
    }
    for (size_t i = 0; i < c->nkids; i++)
        resolve_refs(b, c->kids[i]);
}

/* cycle check for category -> category and condition -> condition references */
static bool refs_reach(const ppolicy *pol, const pcond *c, pikind k, int target, int depth)
{
    if (!c || depth > 64)
        return depth > 64;
    if ((c->kind == PC_CATEGORY && k == PI_CATEGORY) || (c->kind == PC_CONDITION && k == PI_CONDITION)) {
        if (c->ref_index == target)
            return true;
        if (c->ref_index >= 0 && refs_reach(pol, pol->items[k][c->ref_index].when, k, target, depth + 1))
            return true;
    }
    if (c->kind == PC_CONDITION && k == PI_CATEGORY && c->ref_index >= 0 &&
        refs_reach(pol, pol->items[PI_CONDITION][c->ref_index].when, k, target, depth + 1))
        return true;
    if (c->kind == PC_TARGETS && k == PI_CATEGORY)
        return true; /* a category that depends on being a target depends on itself */
    for (size_t i = 0; i < c->nkids; i++)
        if (refs_reach(pol, c->kids[i], k, target, depth + 1))
            return true;
    return false;
}

/* true when a condition reads category results (directly or through named conditions) */
static bool uses_categories(const ppolicy *pol, const pcond *c, int depth)
{
    if (!c || depth > 64)
        return false;
    if (c->kind == PC_CATEGORY || c->kind == PC_TARGETS)
        return true;
    if (c->kind == PC_CONDITION && c->ref_index >= 0 &&
        uses_categories(pol, pol->items[PI_CONDITION][c->ref_index].when, depth + 1))
        return true;
    for (size_t i = 0; i < c->nkids; i++)
        if (uses_categories(pol, c->kids[i], depth + 1))
            return true;
    return false;
}

static pcond *group(loader *L, pckind kind, size_t cap)
{
    pcond *g = new_cond(L, kind);
    g->kids = arena_alloc(M(L), (cap ? cap : 1) * sizeof *g->kids);
    return g;
}

/* the whole condition of a category or subsidy, made explicit so explanations can name each part */
static void build_full_conditions(loader *L, ppolicy *pol)
{
    size_t np = pol->nitems[PI_PREREQ], nd = pol->nitems[PI_DISQUAL];
    for (size_t i = 0; i < pol->nitems[PI_CATEGORY]; i++) {
        pitem *it = &pol->items[PI_CATEGORY][i];
        pcond *all = group(L, PC_ALL, np + nd + 1);
        all->loc = it->loc;
        for (size_t k = 0; k < np; k++) {
            pcond *r = new_cond(L, PC_PREREQ);
            r->ref_index = (int)k;
            r->ref = pol->items[PI_PREREQ][k].id;
            r->loc = pol->items[PI_PREREQ][k].loc;
            all->kids[all->nkids++] = r;
        }
        for (size_t k = 0; k < nd; k++) {
            const pitem *dq = &pol->items[PI_DISQUAL][k];
            pcond *r = new_cond(L, PC_DISQUAL);
            r->ref_index = (int)k;
            r->ref = dq->id;
            r->loc = dq->loc;
            pcond *n = group(L, PC_NOT, 1);
            n->kids[n->nkids++] = r;
            n->loc = dq->loc;
            n->text = arena_printf(M(L), "未出现身份丧失情形：%s", dq->name ? dq->name : dq->id);
            all->kids[all->nkids++] = n;
        }
        if (it->when)
            all->kids[all->nkids++] = it->when;
        it->full = all;
    }
    for (size_t i = 0; i < pol->nitems[PI_SUBSIDY]; i++) {
        pitem *it = &pol->items[PI_SUBSIDY][i];
        pcond *all = group(L, PC_ALL, 2 + it->nexcl);
        all->loc = it->loc;
        if (it->for_targets) {
            pcond *t = new_cond(L, PC_TARGETS);
            t->loc = it->loc;
            all->kids[all->nkids++] = t;
        } else if (it->nfor) {
            pcond *any = group(L, PC_ANY, it->nfor);
            any->loc = it->loc;
            for (size_t k = 0; k < it->nfor; k++) {
                if (it->for_idx[k] < 0)
                    continue;
                pcond *r = new_cond(L, PC_CATEGORY);
                r->ref_index = it->for_idx[k];
                r->ref = pol->items[PI_CATEGORY][it->for_idx[k]].id;
                r->loc = it->loc;
                any->kids[any->nkids++] = r;
            }
            if (any->nkids)
                all->kids[all->nkids++] = any;
        }
        if (it->when)
            all->kids[all->nkids++] = it->when;
        for (size_t k = 0; k < it->nexcl; k++) {
            const pitem *other = it->excl_idx[k] >= 0 ? &pol->items[PI_SUBSIDY][it->excl_idx[k]] : NULL;
            const char *oname = other && other->name ? other->name : it->excludes[k];
            pcond *leaf = new_cond(L, PC_LEAF);
            leaf->expr = arena_printf(M(L), "receiving(r, as_of, \"%s\")", it->excludes[k]);
            leaf->text = arena_printf(M(L), "正在享受%s", oname);
            leaf->loc = it->loc;
            add_leaf(L, leaf);
            pcond *n = group(L, PC_NOT, 1);
            n->kids[n->nkids++] = leaf;
            n->loc = it->loc;
            n->text = arena_printf(M(L), "未在享受%s（不得重复享受）", oname);
            all->kids[all->nkids++] = n;
        }
        if (!all->nkids) {
            pcond *t = new_cond(L, PC_TARGETS);
            t->loc = it->loc;
            all->kids[all->nkids++] = t;
        }
        it->full = all;
    }
}

static const char *quoted(loader *L, const char *s)
{
    strbuf sb = STRBUF_INIT;
    json_quote(&sb, s, strlen(s));
    const char *r = arena_strndup(M(L), sb.buf, sb.len);
    sb_free(&sb);
    return r;
}

static void texts_of(loader *L, pcond *c)
{
    if (!c)
        return;
    const char *t = c->text ? c->text : c->expr;
    if (t && !strchr(t, '{')) { /* texts with {P.name} depend on the date: made per determination */
        c->fail_text = arena_printf(M(L), "不满足：%s", t);
        c->neg_text = arena_printf(M(L), "并非：%s", t);
        c->text_json = quoted(L, t);
        c->neg_json = quoted(L, c->neg_text);
    }
    for (size_t i = 0; i < c->nkids; i++)
        texts_of(L, c->kids[i]);
}

/* texts every determination would otherwise format again */
static void precompute_texts(loader *L, ppolicy *pol)
{
    static const char *const prefix[] = {"前提条件：", "身份丧失情形：", "", "属于：", ""};
    for (int k = 0; k < 5; k++) {
        for (size_t i = 0; i < pol->nitems[k]; i++) {
            pitem *it = &pol->items[k][i];
            const char *name = it->name ? it->name : it->id;
            it->txt_met = arena_printf(M(L), k == PI_SUBSIDY ? "可享受%s" : "符合：%s", name);
            it->txt_not = arena_printf(M(L), "不符合%s的条件", name);
            it->ref_text = arena_printf(M(L), "%s%s", prefix[k], name);
            it->ref_fail = arena_printf(M(L), "不满足：%s", it->ref_text);
            for (size_t b = 0; b < it->nbasis; b++)
                it->basis[b].unverified = arena_printf(M(L), "source:%s", it->basis[b].source_id);
            it->name_json = quoted(L, name);
            it->ref_text_json = quoted(L, it->ref_text);
            strbuf sb = STRBUF_INIT;
            jw w;
            jw_init(&w, &sb);
            jw_arr_begin(&w);
            for (size_t b = 0; b < it->nbasis; b++) {
                const pbasis *pb = &it->basis[b];
                jw_obj_begin(&w);
                if (pb->article) {
                    JW_KEY(&w, "article");
                    jw_str(&w, pb->article);
                }
                if (pb->note) {
                    JW_KEY(&w, "note");
                    jw_str(&w, pb->note);
                }
                if (pb->src && pb->src->number) {
                    JW_KEY(&w, "number");
                    jw_str(&w, pb->src->number);
                }
                JW_KEY(&w, "source");
                jw_str(&w, pb->source_id);
                if (pb->src && pb->src->title) {
                    JW_KEY(&w, "title");
                    jw_str(&w, pb->src->title);
                }
                if (pb->src && !pb->src->verified) {
                    JW_KEY(&w, "verified");
                    jw_bool(&w, false);
                }
                jw_obj_end(&w);
            }
            jw_arr_end(&w);
            it->basis_json = arena_strndup(M(L), sb.buf, sb.len);
            sb_free(&sb);
            texts_of(L, it->full ? it->full : it->when);
            texts_of(L, it->amount);
            texts_of(L, it->months);
        }
    }
    for (size_t i = 0; i < pol->nparams; i++)
        pol->params[i].unverified = arena_printf(M(L), "parameter:%s", pol->params[i].id);
}

static ppolicy *build_policy(loader *L, ynode *root, version **vs, size_t nv, const char *from, const char *to)
{
    loc_arena = M(L);
    ppolicy *pol = arena_alloc(M(L), sizeof *pol);
    memset(pol, 0, sizeof *pol);
    bctx b = {L, pol};
    pol->eff_from = from;
    pol->eff_to = to;
    pol->title = str_of(ynode_get(root, "title"));
    const ynode *reg = ynode_get(root, "region");
    pol->region_code = str_of(ynode_get(reg, "code"));
    pol->region_name = str_of(ynode_get(reg, "name"));
    pol->nlevels = nv;
    pol->version_files = arena_alloc(M(L), nv * sizeof(char *));
    for (size_t i = 0; i < nv; i++)
        pol->version_files[i] = vs[i]->file->path;
    /* helper Lua files, parents first */
    size_t nl = 0;
    for (size_t i = 0; i < nv; i++)
        nl += vs[i]->lua && vs[i]->lua->kind == YN_SEQ ? vs[i]->lua->n : 0;
    pol->lua_files = arena_alloc(M(L), (nl ? nl : 1) * sizeof(char *));
    for (size_t i = 0; i < nv; i++) {
        if (!vs[i]->lua || vs[i]->lua->kind != YN_SEQ)
            continue;
        const char *dir = vs[i]->file->path;
        const char *slash = strrchr(dir, '/');
        for (size_t j = 0; j < vs[i]->lua->n; j++) {
            const ynode *ln = vs[i]->lua->vals[j];
            if (ln->kind != YN_SCALAR)
                continue;
            const char *p = arena_printf(M(L), "%.*s/%s", (int)(slash - dir), dir, ln->str);
            if (find_file(L, p))
                pol->lua_files[pol->nlua++] = p;
        }
    }
    build_sources(&b, ynode_get(root, "sources"));
    build_params(&b, ynode_get(root, "parameters"));
    build_section(&b, PI_CONDITION, ynode_get(root, "conditions"));
    build_section(&b, PI_PREREQ, ynode_get(root, "prerequisites"));
    build_section(&b, PI_DISQUAL, ynode_get(root, "disqualifications"));
    build_section(&b, PI_CATEGORY, ynode_get(root, "categories"));
    build_section(&b, PI_SUBSIDY, ynode_get(root, "subsidies"));
    if (!pol->nitems[PI_CATEGORY])
        err_at(L, root, "the policy defines no category (categories:)");
    for (int k = 0; k < 5; k++) {
        for (size_t i = 0; i < pol->nitems[k]; i++) {
            pitem *it = &pol->items[k][i];
            resolve_refs(&b, it->when);
            walk_leaves(&b, it->when, NULL);
            if (it->amount)
                walk_leaves(&b, it->amount, NULL);
            if (it->months)
                walk_leaves(&b, it->months, NULL);
        }
    }
    /* cycles, subsidy exclusions */
    for (size_t i = 0; i < pol->nitems[PI_CATEGORY]; i++) {
        pitem *it = &pol->items[PI_CATEGORY][i];
        if (refs_reach(pol, it->when, PI_CATEGORY, (int)i, 0))
            diag_add(L->d, YZ_SEV_ERROR, disp(L, it->loc.file), it->loc.line, it->loc.col,
                     "category '%s' depends on itself (through category:, condition: or targets:)", it->id);
    }
    for (size_t i = 0; i < pol->nitems[PI_CONDITION]; i++) {
        pitem *it = &pol->items[PI_CONDITION][i];
        if (refs_reach(pol, it->when, PI_CONDITION, (int)i, 0))
            diag_add(L->d, YZ_SEV_ERROR, disp(L, it->loc.file), it->loc.line, it->loc.col,
                     "condition '%s' depends on itself", it->id);
    }
    for (int k = PI_PREREQ; k <= PI_DISQUAL; k++) {
        for (size_t i = 0; i < pol->nitems[k]; i++) {
            pitem *it = &pol->items[k][i];
            if (uses_categories(pol, it->when, 0))
                diag_add(L->d, YZ_SEV_ERROR, disp(L, it->loc.file), it->loc.line, it->loc.col,
                         "%s '%s' cannot depend on categories or targets: every category depends on it", kind_word[k],
                         it->id);
        }
    }
    for (size_t i = 0; i < pol->nitems[PI_SUBSIDY]; i++) {
        pitem *it = &pol->items[PI_SUBSIDY][i];
        it->excl_idx = arena_alloc(M(L), (it->nexcl ? it->nexcl : 1) * sizeof(int));
        for (size_t j = 0; j < it->nexcl; j++) {
            it->excl_idx[j] = -1;
            for (size_t s = 0; s < pol->nitems[PI_SUBSIDY]; s++)
                if (!strcmp(pol->items[PI_SUBSIDY][s].id, it->excludes[j]))
                    it->excl_idx[j] = (int)s;
            /* a subsidy may exclude one that this ruleset does not offer (received elsewhere) */
        }
    }
    build_full_conditions(L, pol);
    precompute_texts(L, pol);
    return pol;
}

/* ------------------------------------------------------------------------------------------ */
/* ruleset */

static int cmp_rfile(const void *a, const void *b)
{
    return strcmp(((const rfile *)a)->path, ((const rfile *)b)->path);
}

void ruleset_hash_files(const yz_file *files, size_t n, char hex[65])
{
    yz_hasher *h = hasher_new(YZ_HASH_SHA256);
    for (size_t i = 0; i < n; i++) {
        char len[32];
        int k = snprintf(len, sizeof len, "%zu", files[i].len);
        hasher_update(h, files[i].path, strlen(files[i].path) + 1);
        hasher_update(h, len, (size_t)k + 1);
        hasher_update(h, files[i].data, files[i].len);
    }
    hasher_final(h, hex);
}

static int load_lib(loader *L)
{
    char *dir = L->home ? yz_path_join(L->home, "rules/lib") : NULL;
    char **names;
    size_t n = list_dir(L, "rules/lib", dir, ".lua", NULL, &names);
    if (!n) {
        diag_add(L->d, YZ_SEV_ERROR, dir ? display_path(L, dir) : "rules/lib", 0, 0,
                 "the rule library (rules/lib/*.lua) is missing: set YUANZHU_HOME to the folder that holds rules/ and provinces/");
        yz_free(dir);
        free_names(names, n);
        return -1;
    }
    L->rs->lib_files = arena_alloc(M(L), n * sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        char *lg = yz_path_join("rules/lib", names[i]);
        char *dk = dir ? yz_path_join(dir, names[i]) : NULL;
        rfile *f = load_file(L, lg, dk, NULL, 0, 0);
        if (f) {
            strbuf err = STRBUF_INIT;
            int line = 0;
            if (sandbox_check_chunk(f->data, f->len, &err, &line) != 0)
                diag_add(L->d, YZ_SEV_ERROR, f->display, line, 0, "Lua syntax: %s", err.buf);
            sb_free(&err);
            L->rs->lib_files[L->rs->nlib++] = f->path;
        }
        yz_free(lg);
        yz_free(dk);
    }
    yz_free(dir);
    free_names(names, n);
    return 0;
}

/* Resolves the name of the level a policy extends into its directories. */
static void level_dirs(loader *L, level *lv, const char *name)
{
    lv->name = arena_strdup(M(L), name);
    if (!strcmp(name, "national")) {
        lv->logical_dir = "rules/national";
        lv->disk_dir = L->home ? arena_printf(M(L), "%s/rules/national", L->home) : NULL;
    } else {
        lv->logical_dir = arena_printf(M(L), "provinces/%s", name);
        lv->disk_dir = L->home ? arena_printf(M(L), "%s/provinces/%s", L->home, name) : NULL;
    }
}

static bool valid_name(const char *s)
{
    if (!*s || *s == '/' || strstr(s, "..") || strstr(s, "//"))
        return false;
    for (const char *p = s; *p; p++)
        if (!(ident_char(*p) || *p == '/' || *p == '-' || *p == '.'))
            return false;
    return s[strlen(s) - 1] != '/';
}

static int load_chain(loader *L)
{
    for (size_t i = 0; i < L->nlevels; i++) {
        level *lv = &L->levels[i];
        if (read_level(L, lv) != 0)
            return -1;
        if (!strcmp(lv->name, "national") || (lv->standalone && !lv->extends))
            return 0;
        if (!lv->extends)
            return -1;
        if (L->nlevels == MAX_LEVELS) {
            diag_add(L->d, YZ_SEV_ERROR, NULL, 0, 0, "policies extend each other more than %d deep", MAX_LEVELS);
            return -1;
        }
        const char *ext = lv->extends;
        if (!valid_name(ext)) {
            err_at(L, ynode_get(lv->versions[0].doc->root, "extends"), "extends: '%s' is not a province name", ext);
            return -1;
        }
        for (size_t j = 0; j <= i; j++) {
            if (!strcmp(L->levels[j].name, ext)) {
                err_at(L, ynode_get(lv->versions[0].doc->root, "extends"), "extends: '%s' makes a cycle", ext);
                return -1;
            }
        }
        level *parent = &L->levels[L->nlevels++];
        memset(parent, 0, sizeof *parent);
        level_dirs(L, parent, ext);
        if (!L->mem_files && !yz_is_dir(parent->disk_dir)) {
            err_at(L, ynode_get(lv->versions[0].doc->root, "extends"),
                   "extends: no policy folder %s", display_path(L, parent->disk_dir));
            return -1;
        }
    }
    return 0;
}

/* builds one merged policy per combination of versions whose periods intersect */
static void build_combinations(loader *L)
{
    size_t nl = L->nlevels;
    size_t idx[MAX_LEVELS] = {0};
    for (size_t k = 0; k < nl; k++)
        if (!L->levels[k].nversions)
            return; /* every file of a level failed: already reported */
    for (;;) {
        /* levels[nl-1] is national: merge from the top */
        version *vs[MAX_LEVELS] = {0};
        const char *from = NULL, *to = NULL;
        const ynode *to_node = NULL;
        bool ok = true;
        for (size_t k = 0; k < nl; k++) {
            version *v = &L->levels[nl - 1 - k].versions[idx[nl - 1 - k]];
            vs[k] = v;
            if (!v->from) {
                ok = false;
                break;
            }
            if (!from || strcmp(v->from, from) > 0)
                from = v->from;
            if (v->to && (!to || strcmp(v->to, to) < 0)) {
                to = v->to;
                to_node = v->to_node;
            }
        }
        if (ok && (!to || strcmp(from, to) <= 0)) {
            ynode *root = vs[0]->doc->root;
            for (size_t k = 1; k < nl; k++)
                root = merge_top(L, root, vs[k]->doc->root);
            ppolicy *pol = build_policy(L, root, vs, nl, from, to);
            pol->eff_to_loc = loc_of(to_node);
            pol->index = (int)L->rs->npolicies;
            L->rs->policies = yz_realloc(L->rs->policies, (L->rs->npolicies + 1) * sizeof *L->rs->policies);
            L->rs->policies[L->rs->npolicies++] = pol;
        }
        /* next combination */
        size_t k = 0;
        while (k < nl) {
            if (++idx[k] < L->levels[k].nversions)
                break;
            idx[k] = 0;
            k++;
        }
        if (k == nl)
            break;
    }
    /* sort by start date */
    for (size_t i = 1; i < L->rs->npolicies; i++) {
        ppolicy *p = L->rs->policies[i];
        size_t j = i;
        while (j > 0 && strcmp(L->rs->policies[j - 1]->eff_from, p->eff_from) > 0) {
            L->rs->policies[j] = L->rs->policies[j - 1];
            j--;
        }
        L->rs->policies[j] = p;
    }
}

/* removes diagnostics repeated because a file takes part in several merged policies */
static void dedupe(yz_diags *d, size_t from)
{
    if (!d)
        return;
    size_t k = from;
    for (size_t i = from; i < d->n; i++) {
        bool dup = false;
        for (size_t j = from; j < k; j++) {
            yz_diag *a = &d->items[j], *b = &d->items[i];
            if (a->line == b->line && a->col == b->col && a->severity == b->severity &&
                !strcmp(a->message, b->message) && !strcmp(a->file ? a->file : "", b->file ? b->file : "")) {
                dup = true;
                break;
            }
        }
        if (dup) {
            if (d->items[i].severity == YZ_SEV_ERROR)
                d->n_errors--;
            else if (d->items[i].severity == YZ_SEV_WARNING)
                d->n_warnings--;
            yz_free(d->items[i].file);
            yz_free(d->items[i].message);
            yz_free(d->items[i].field);
        } else {
            d->items[k++] = d->items[i];
        }
    }
    d->n = k;
}

static void ruleset_finish(yz_ruleset *rs)
{
    qsort(rs->files, rs->nfiles, sizeof *rs->files, cmp_rfile);
    rs->pub_files = arena_alloc(&rs->mem, (rs->nfiles ? rs->nfiles : 1) * sizeof *rs->pub_files);
    for (size_t i = 0; i < rs->nfiles; i++) {
        rs->pub_files[i].path = rs->files[i].path;
        rs->pub_files[i].data = rs->files[i].data;
        rs->pub_files[i].len = rs->files[i].len;
    }
    ruleset_hash_files(rs->pub_files, rs->nfiles, rs->id);
}

static int load_common(loader *L, yz_ruleset **out)
{
    yz_diags local;
    yz_diags_init(&local);
    if (!L->d)
        L->d = &local;
    size_t first = L->d->n;
    L->errors_before = (int)L->d->n_errors;
    int rc = YZ_OK;
    if (load_lib(L) != 0 || load_chain(L) != 0) {
        rc = YZ_EPOLICY;
    } else {
        build_combinations(L);
        if (!L->rs->npolicies && !nerrors(L))
            diag_add(L->d, YZ_SEV_ERROR, L->levels[0].versions[0].file->display, 0, 0,
                     "the effective periods of this policy and the policies it extends never overlap");
        if (nerrors(L))
            rc = YZ_EPOLICY;
    }
    sandbox_check_release();
    dedupe(L->d, first);
    diag_sort_from(L->d, first);
    if (rc == YZ_OK && nerrors(L))
        rc = YZ_EPOLICY;
    if (rc == YZ_OK) {
        ruleset_finish(L->rs);
        *out = L->rs;
    } else {
        yz_ruleset_free(L->rs);
    }
    yz_diags_clear(&local);
    return rc;
}

static yz_ruleset *ruleset_new(void)
{
    yz_ruleset *rs = yz_calloc(1, sizeof *rs);
    arena_init(&rs->mem, 64 * 1024);
    return rs;
}

static void list_provinces(const char *dir, const char *prefix, strbuf *out, const char ***names, size_t *n, int depth)
{
    DIR *dh = yz_opendir(dir);
    if (!dh)
        return;
    char **sub = NULL;
    size_t ns = 0;
    struct dirent *de;
    while ((de = readdir(dh))) {
        if (de->d_name[0] == '.' || !strcmp(de->d_name, "tests"))
            continue;
        char *full = yz_path_join(dir, de->d_name);
        if (yz_is_dir(full)) {
            sub = yz_realloc(sub, (ns + 1) * sizeof *sub);
            sub[ns++] = yz_strdup(de->d_name);
        }
        yz_free(full);
    }
    closedir(dh);
    if (ns)
        qsort(sub, ns, sizeof *sub, cmp_cstr);
    for (size_t i = 0; i < ns; i++) {
        char *name = *prefix ? yz_path_join(prefix, sub[i]) : yz_strdup(sub[i]);
        char *full = yz_path_join(dir, sub[i]);
        if (out->len)
            sb_adds(out, ", ");
        sb_adds(out, name);
        *names = yz_realloc(*names, (*n + 1) * sizeof **names);
        (*names)[(*n)++] = name;
        if (depth < 2)
            list_provinces(full, name, out, names, n, depth + 1);
        yz_free(full);
        yz_free(sub[i]);
    }
    yz_free(sub);
}

int yz_ruleset_load(const char *home, const char *province, yz_ruleset **out, yz_diags *d)
{
    *out = NULL;
    loader L;
    memset(&L, 0, sizeof L);
    L.rs = ruleset_new();
    L.d = d;
    L.home = home;
    if (!getcwd(L.cwd, sizeof L.cwd))
        strcpy(L.cwd, ".");
    level *top = &L.levels[L.nlevels++];
    memset(top, 0, sizeof *top);
    char *provdir = yz_path_join(home, "provinces");
    char *named = yz_path_join(provdir, province);
    bool is_path = strchr(province, '/') && yz_is_dir(province) && !valid_name(province);
    if (!is_path && valid_name(province) && yz_is_dir(named)) {
        level_dirs(&L, top, province);
    } else if (yz_is_dir(province)) {
        char real[PATH_MAX], realprov[PATH_MAX], realnat[PATH_MAX];
        const char *name = NULL;
        char *natdir = yz_path_join(home, "rules/national");
        bool national = realpath(province, real) && realpath(natdir, realnat) && !strcmp(real, realnat);
        yz_free(natdir);
        if (national) {
            name = "national";
        } else if (realpath(province, real) && realpath(provdir, realprov)) {
            size_t rl = strlen(realprov);
            if (!strncmp(real, realprov, rl) && real[rl] == '/')
                name = real + rl + 1;
        }
        if (name) {
            level_dirs(&L, top, name);
        } else {
            const char *base = strrchr(real, '/');
            base = base ? base + 1 : real;
            if (!valid_name(base) || !strcmp(base, "national"))
                base = "draft";
            top->name = arena_strdup(&L.rs->mem, base);
            top->logical_dir = arena_printf(&L.rs->mem, "provinces/%s", base);
            top->disk_dir = arena_strdup(&L.rs->mem, province);
        }
    } else {
        strbuf known = STRBUF_INIT;
        const char **names = NULL;
        size_t n = 0;
        list_provinces(provdir, "", &known, &names, &n, 0);
        const char *near = yz_suggest(province, names, n);
        if (near)
            diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "unknown province '%s' (did you mean '%s'?)", province, near);
        else if (n)
            diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "unknown province '%s'; known: %s (or give the path of a policy folder)",
                     province, known.buf);
        else
            diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "unknown province '%s': no policy folder %s", province, named);
        for (size_t i = 0; i < n; i++)
            yz_free((void *)names[i]);
        yz_free(names);
        sb_free(&known);
        yz_free(provdir);
        yz_free(named);
        yz_ruleset_free(L.rs);
        return YZ_EIO;
    }
    yz_free(provdir);
    yz_free(named);
    L.rs->province = yz_strdup(top->name);
    return load_common(&L, out);
}

int yz_ruleset_load_files(const yz_file *files, size_t n, const char *province, yz_ruleset **out, yz_diags *d)
{
    *out = NULL;
    loader L;
    memset(&L, 0, sizeof L);
    L.rs = ruleset_new();
    L.d = d;
    L.mem_files = files;
    L.nmem = n;
    strcpy(L.cwd, "/");
    if (!valid_name(province)) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "bad province name '%s'", province);
        yz_ruleset_free(L.rs);
        return YZ_EUSAGE;
    }
    level *top = &L.levels[L.nlevels++];
    memset(top, 0, sizeof *top);
    level_dirs(&L, top, province);
    L.rs->province = yz_strdup(province);
    return load_common(&L, out);
}

void yz_ruleset_free(yz_ruleset *rs)
{
    if (!rs)
        return;
    for (size_t i = 0; i < rs->ndocs; i++)
        ydoc_free(rs->docs[i]);
    yz_free(rs->docs);
    yz_free(rs->files);
    yz_free(rs->policies);
    yz_free(rs->leaves);
    yz_free(rs->province);
    arena_free(&rs->mem);
    yz_free(rs);
}

const char *yz_ruleset_id(const yz_ruleset *rs)
{
    return rs->id;
}

const char *yz_ruleset_province(const yz_ruleset *rs)
{
    return rs->province;
}

size_t yz_ruleset_files(const yz_ruleset *rs, const yz_file **files)
{
    *files = rs->pub_files;
    return rs->nfiles;
}

const ppolicy *ruleset_policy_at(const yz_ruleset *rs, const char *as_of)
{
    for (size_t i = 0; i < rs->npolicies; i++) {
        const ppolicy *p = rs->policies[i];
        if (strcmp(as_of, p->eff_from) >= 0 && (!p->eff_to || strcmp(as_of, p->eff_to) <= 0))
            return p;
    }
    return NULL;
}

int yz_ruleset_in_force(const yz_ruleset *rs, const char *as_of, yz_diags *d)
{
    if (ruleset_policy_at(rs, as_of))
        return YZ_OK;
    strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < rs->npolicies; i++) {
        const ppolicy *p = rs->policies[i];
        const char *file = p->version_files[p->nlevels - 1];
        sb_addf(&sb, "%s%s to %s (%s)", i ? "; " : "", p->eff_from, p->eff_to ? p->eff_to : "open", file);
    }
    diag_add(d, YZ_SEV_ERROR, NULL, 0, 0,
             "no %s policy is in force on %s: the ruleset covers %s; add a policy file for that date (see docs/policy-format.md, 'Successive policies')",
             rs->province, as_of, sb.len ? sb.buf : "no period");
    sb_free(&sb);
    return YZ_ENOTINFORCE;
}

const rfile *ruleset_file(const yz_ruleset *rs, const char *path)
{
    for (size_t i = 0; i < rs->nfiles; i++)
        if (!strcmp(rs->files[i].path, path))
            return &rs->files[i];
    return NULL;
}

const char *ruleset_display(const yz_ruleset *rs, const char *path)
{
    const rfile *f = ruleset_file(rs, path);
    return f ? f->display : path;
}

const yj *param_value_at(const pparam *p, const char *as_of)
{
    const yj *v = NULL;
    for (size_t i = 0; i < p->nvalues; i++)
        if (!p->values[i].from || strcmp(p->values[i].from, as_of) <= 0)
            v = p->values[i].value;
    return v;
}

const pparam *policy_param(const ppolicy *pol, const char *id)
{
    size_t lo = 0, hi = pol->nparams;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(pol->params[mid].id, id);
        if (!c)
            return &pol->params[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const pitem *policy_item(const ppolicy *pol, pikind kind, const char *id)
{
    for (size_t i = 0; i < pol->nitems[kind]; i++)
        if (!strcmp(pol->items[kind][i].id, id))
            return &pol->items[kind][i];
    return NULL;
}

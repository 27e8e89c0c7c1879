/* yz_merge.c: the levels of a ruleset (national baseline, province, city), each a folder of policy
 * versions checked against the policy schema (yz_schema.c); the chain of levels a province extends; and the
 * YAML merge of a child level over its parent for every combination of versions in force
 * together. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yz_date.h"
#include "yz_diag.h"
#include "yz_loader.h"
#include "yz_schema.h"

/* ------------------------------------------------------------------------------------------ */
/* levels and versions */

/* ------------------------------------------------------------------------------------------ */
/* levels and versions */

static int read_level(loader *L, level *lv)
{
    char **names;
    size_t n = ld_list_dir(L, lv->logical_dir, lv->disk_dir, ".yaml", ".yml", &names);
    if (n == 0) {
        if (L->mem_files)
            diag_add(L->d, YZ_SEV_ERROR, NULL, 0, 0, "the stored ruleset has no policy file under %s", lv->logical_dir);
        else
            diag_add(L->d, YZ_SEV_ERROR, ld_display_path(L, lv->disk_dir), 0, 0,
                     "no policy file (*.yaml) in this folder");
        yz_names_free(names, n);
        return -1;
    }
    if (n > MAX_VERSIONS)
        n = MAX_VERSIONS;
    for (size_t i = 0; i < n; i++) {
        char *logical = yz_path_join(lv->logical_dir, names[i]);
        char *disk = lv->disk_dir ? yz_path_join(lv->disk_dir, names[i]) : NULL;
        rfile *f = ld_load_file(L, logical, disk, NULL, 0, 0);
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
            ld_err_at(L, doc->root, "a policy file is a mapping of keys (format:, region:, categories: ...), found a %s",
                   ynode_kind_name(doc->root));
            continue;
        }
        schema_check_yaml(schema_policy(), doc->root, f->display, L->d);
        version *v = &lv->versions[lv->nversions++];
        memset(v, 0, sizeof *v);
        vfile *vf = arena_alloc(ld_mem(L), sizeof *vf);
        vf->path = f->path;
        vf->display = f->display;
        v->file = vf;
        v->doc = doc;
        const ynode *eff = ynode_get(doc->root, "effective");
        v->from = ynode_text(ynode_get(eff, "from"));
        v->to = ynode_text(ynode_get(eff, "to"));
        v->to_node = v->to ? ynode_get(eff, "to") : NULL;
        if (v->from && v->to && strcmp(v->from, v->to) > 0)
            ld_err_at(L, ynode_get(eff, "to"), "effective: 'to' (%s) is before 'from' (%s)", v->to, v->from);
        v->extends = ynode_text(ynode_get(doc->root, "extends"));
        v->lua = ynode_get(doc->root, "lua");
        if (v->extends && !strcmp(v->extends, "none"))
            v->extends = NULL, lv->standalone = true;
        else if (!v->extends && strcmp(lv->name, "national") != 0)
            ld_err_at(L, doc->root,
                   "missing 'extends:': write 'extends: national' for a province, or 'extends: <province>' for a city");
        if (v->extends && strcmp(lv->name, "national") == 0)
            ld_err_at(L, ynode_get(doc->root, "extends"), "the national baseline extends nothing");
        if (v->extends && lv->extends && strcmp(v->extends, lv->extends) != 0)
            ld_err_at(L, ynode_get(doc->root, "extends"),
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
                    ld_err_at(L, ln, "lua: '%s' must name a .lua file in the same folder", ln->str);
                    continue;
                }
                char *lg = yz_path_join(lv->logical_dir, ln->str);
                char *dk = lv->disk_dir ? yz_path_join(lv->disk_dir, ln->str) : NULL;
                bool fresh = !ld_find_file(L, lg);
                rfile *lf = ld_load_file(L, lg, dk, ld_disp(L, ln->file), ln->line, ln->col);
                if (lf && fresh)
                    /* as for the rule library: a helper that cannot compile (or is bytecode, or
                       not text) is a policy error now, not a failure of every decision */
                    ld_check_lua_file(L, lf);
                yz_free(lg);
                yz_free(dk);
            }
        }
    }
    yz_names_free(names, n);
    /* overlapping periods between versions */
    for (size_t i = 0; i < lv->nversions; i++) {
        for (size_t j = i + 1; j < lv->nversions; j++) {
            version *a = &lv->versions[i], *b = &lv->versions[j];
            if (!a->from || !b->from)
                continue;
            bool overlap = (!a->to || strcmp(b->from, a->to) <= 0) && (!b->to || strcmp(a->from, b->to) <= 0);
            if (overlap) {
                const ynode *eff = ynode_get(b->doc->root, "effective");
                ld_err_at(L, eff ? eff : b->doc->root,
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
    ynode *m = arena_alloc(ld_mem(L), sizeof *m);
    *m = *src;
    size_t cap = src->n + extra + 1;
    m->keys = arena_alloc(ld_mem(L), cap * sizeof *m->keys);
    m->vals = arena_alloc(ld_mem(L), cap * sizeof *m->vals);
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
/* the chain of levels, and one merged policy per combination of versions */

/* Resolves the name of the level a policy extends into its directories. */
void ld_level_dirs(loader *L, level *lv, const char *name)
{
    lv->name = arena_strdup(ld_mem(L), name);
    if (!strcmp(name, "national")) {
        lv->logical_dir = "rules/national";
        lv->disk_dir = L->home ? arena_printf(ld_mem(L), "%s/rules/national", L->home) : NULL;
    } else {
        lv->logical_dir = arena_printf(ld_mem(L), "provinces/%s", name);
        lv->disk_dir = L->home ? arena_printf(ld_mem(L), "%s/provinces/%s", L->home, name) : NULL;
    }
}

bool ld_valid_name(const char *s)
{
    if (!*s || *s == '/' || strstr(s, "..") || strstr(s, "//"))
        return false;
    for (const char *p = s; *p; p++)
        if (!(ld_ident_char(*p) || *p == '/' || *p == '-' || *p == '.'))
            return false;
    return s[strlen(s) - 1] != '/';
}

int merge_load_chain(loader *L)
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
        if (!ld_valid_name(ext)) {
            ld_err_at(L, ynode_get(lv->versions[0].doc->root, "extends"), "extends: '%s' is not a province name", ext);
            return -1;
        }
        for (size_t j = 0; j <= i; j++) {
            if (!strcmp(L->levels[j].name, ext)) {
                ld_err_at(L, ynode_get(lv->versions[0].doc->root, "extends"), "extends: '%s' makes a cycle", ext);
                return -1;
            }
        }
        level *parent = &L->levels[L->nlevels++];
        memset(parent, 0, sizeof *parent);
        ld_level_dirs(L, parent, ext);
        if (!L->mem_files && !yz_is_dir(parent->disk_dir)) {
            ld_err_at(L, ynode_get(lv->versions[0].doc->root, "extends"),
                   "extends: no policy folder %s", ld_display_path(L, parent->disk_dir));
            return -1;
        }
    }
    return 0;
}

/* builds one merged policy per combination of versions whose periods intersect */
void merge_build_policies(loader *L)
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
            ppolicy *pol = build_policy(L, root, vs, nl, from, to, to_node);
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

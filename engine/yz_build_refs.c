/* yz_build_refs.c: the references of a policy's conditions: P.name and r.path inside Lua text
 * (and the Lua syntax), category: and condition: resolved, cycles, what prerequisites may not
 * read, the subsidies an item excludes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yz_build.h"
#include "yz_diag.h"
#include "yz_sandbox.h"
#include "yz_schema.h"

/* ---- references inside Lua text: P.name and r.path ---- */

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
        bool start = p == s || !(ld_ident_char(p[-1]) || p[-1] == '.' || p[-1] == ':');
        if (start && p[0] == 'P' && p[1] == '.' && ld_ident_char(p[2])) {
            const char *e = p + 2;
            while (ld_ident_char(*e))
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
                    diag_add(L->d, YZ_SEV_ERROR, ld_disp(L, c->loc.file), line, col,
                             "unknown parameter 'P.%s' (did you mean 'P.%s'?)", name, near);
                else
                    diag_add(L->d, YZ_SEV_ERROR, ld_disp(L, c->loc.file), line, col,
                             "unknown parameter 'P.%s': define it under parameters:", name);
            }
            p = e;
            continue;
        }
        if (start && p[0] == 'r' && p[1] == '.' && ld_ident_char(p[2])) {
            const char *e = p + 2;
            char path[256];
            size_t pl = 0;
            while (ld_ident_char(*e) || (*e == '.' && ld_ident_char(e[1]))) {
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
                    diag_add(L->d, YZ_SEV_ERROR, ld_disp(L, c->loc.file), line, col,
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
                        diag_add(L->d, YZ_SEV_ERROR, ld_disp(L, c->loc.file), line, col,
                                 "unknown record field 'r.%s%s%s' (did you mean 'r.%s%s%s'?)", shown, *shown ? "." : "",
                                 seg, shown, *shown ? "." : "", near);
                    else
                        diag_add(L->d, YZ_SEV_ERROR, ld_disp(L, c->loc.file), line, col,
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
        diag_add(L->d, YZ_SEV_ERROR, ld_disp(L, c->loc.file), line ? line : c->loc.line,
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
                diag_add(L->d, YZ_SEV_ERROR, ld_disp(L, c->loc.file), c->loc.line, c->loc.col,
                         "unknown %s '%s' (did you mean '%s'?)", build_kind_word[k], c->ref, near);
            else
                diag_add(L->d, YZ_SEV_ERROR, ld_disp(L, c->loc.file), c->loc.line, c->loc.col, "unknown %s '%s'",
                         build_kind_word[k], c->ref);
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

/* resolves and checks the references of every item (after all items are built) */
void build_check_refs(bctx *b)
{
    ppolicy *pol = b->pol;
    loader *L = b->L;
    for (int k = 0; k < PI_NKINDS; k++) {
        for (size_t i = 0; i < pol->nitems[k]; i++) {
            pitem *it = &pol->items[k][i];
            resolve_refs(b, it->when);
            walk_leaves(b, it->when, NULL);
            if (it->amount)
                walk_leaves(b, it->amount, NULL);
            if (it->months)
                walk_leaves(b, it->months, NULL);
        }
    }
    /* cycles, subsidy exclusions */
    for (size_t i = 0; i < pol->nitems[PI_CATEGORY]; i++) {
        pitem *it = &pol->items[PI_CATEGORY][i];
        if (refs_reach(pol, it->when, PI_CATEGORY, (int)i, 0))
            diag_add(L->d, YZ_SEV_ERROR, ld_disp(L, it->loc.file), it->loc.line, it->loc.col,
                     "category '%s' depends on itself (through category:, condition: or targets:)", it->id);
    }
    for (size_t i = 0; i < pol->nitems[PI_CONDITION]; i++) {
        pitem *it = &pol->items[PI_CONDITION][i];
        if (refs_reach(pol, it->when, PI_CONDITION, (int)i, 0))
            diag_add(L->d, YZ_SEV_ERROR, ld_disp(L, it->loc.file), it->loc.line, it->loc.col,
                     "condition '%s' depends on itself", it->id);
    }
    for (int k = PI_PREREQ; k <= PI_DISQUAL; k++) {
        for (size_t i = 0; i < pol->nitems[k]; i++) {
            pitem *it = &pol->items[k][i];
            if (uses_categories(pol, it->when, 0))
                diag_add(L->d, YZ_SEV_ERROR, ld_disp(L, it->loc.file), it->loc.line, it->loc.col,
                         "%s '%s' cannot depend on categories or targets: every category depends on it", build_kind_word[k],
                         it->id);
        }
    }
    for (size_t i = 0; i < pol->nitems[PI_SUBSIDY]; i++) {
        pitem *it = &pol->items[PI_SUBSIDY][i];
        it->excl_idx = arena_alloc(ld_mem(L), (it->nexcl ? it->nexcl : 1) * sizeof(int));
        for (size_t j = 0; j < it->nexcl; j++) {
            it->excl_idx[j] = -1;
            for (size_t s = 0; s < pol->nitems[PI_SUBSIDY]; s++)
                if (!strcmp(pol->items[PI_SUBSIDY][s].id, it->excludes[j]))
                    it->excl_idx[j] = (int)s;
            /* a subsidy may exclude one that this ruleset does not offer (received elsewhere) */
        }
    }
}

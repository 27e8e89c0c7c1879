/* yz_build.c: the policy model of one merged policy: sources, dated parameters, conditions (the
 * all/any/not tree over Lua leaves), prerequisites, disqualifications, categories and subsidies.
 * The references they make are checked in yz_build_refs.c, the whole conditions and texts made
 * in yz_build_texts.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yz_build.h"
#include "yz_diag.h"
#include "yz_schema.h"

static _Thread_local arena *loc_arena; /* the ruleset this thread is building */

static ploc loc_of(const ynode *n)
{
    ploc l = {n ? n->file : NULL, n ? n->line : 0, n ? n->col : 0, NULL};
    if (n && n->file && loc_arena)
        l.rule = arena_printf(loc_arena, "%s:%d", n->file, n->line);
    return l;
}

pcond *build_new_cond(loader *L, pckind kind)
{
    pcond *c = arena_alloc(ld_mem(L), sizeof *c);
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->ref_index = -1;
    c->leaf = -1;
    c->id = (int)L->rs->nnodes++;
    return c;
}

void build_add_leaf(loader *L, pcond *c)
{
    yz_ruleset *rs = L->rs;
    rs->leaves = yz_realloc(rs->leaves, (rs->nleaves + 1) * sizeof *rs->leaves);
    c->leaf = (int)rs->nleaves;
    rs->leaves[rs->nleaves++] = c;
}

/* The expression starts on the node's line, or on the next one for block scalars (| and >). */
static pcond *new_leaf(loader *L, const ynode *n, const char *text)
{
    pcond *c = build_new_cond(L, PC_LEAF);
    c->expr = n->str;
    c->text = text;
    c->loc = loc_of(n);
    if (n->style == YS_LITERAL || n->style == YS_FOLDED) {
        c->loc.line++;
        c->loc.col = 1;
        c->loc.rule = arena_printf(ld_mem(L), "%s:%d", c->loc.file, c->loc.line);
    }
    c->ref_index = -1;
    build_add_leaf(L, c);
    return c;
}

static pcond *build_cond(bctx *b, const ynode *n, int depth);

static pcond *build_list(bctx *b, const ynode *n, pckind kind, const char *text, int depth, const char *word)
{
    loader *L = b->L;
    if (n->kind != YN_SEQ || n->n == 0) {
        ld_err_at(L, n, "'%s:' takes a non-empty list of conditions (- lines)", word);
        return NULL;
    }
    pcond *c = build_new_cond(L, kind);
    c->text = text;
    c->loc = loc_of(n);
    c->ref_index = -1;
    c->kids = arena_alloc(ld_mem(L), n->n * sizeof *c->kids);
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
        ld_err_at(L, n, "conditions nested more than 32 deep");
        return NULL;
    }
    if (!n || ynode_is_null(n)) {
        ld_err_at(L, n, "a condition is missing here");
        return NULL;
    }
    if (n->kind == YN_SCALAR) {
        if (!n->len || strspn(n->str, " \t\n") == n->len) {
            ld_err_at(L, n, "an empty condition");
            return NULL;
        }
        return new_leaf(L, n, NULL);
    }
    if (n->kind == YN_SEQ) {
        ld_err_at(L, n, "a list of conditions needs 'all:' or 'any:' in front of it");
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
                ld_err_at(L, n->keys[i], "unknown key '%s' in a condition (did you mean '%s'?)", k, near);
            else
                ld_err_at(L, n->keys[i],
                       "unknown key '%s' in a condition; a condition is text (Lua) or one of all:, any:, not:, lua: (with text:), category:, condition:, targets:",
                       k);
            return NULL;
        }
        if (!strcmp(k, "text")) {
            text = ynode_text(n->vals[i]);
            continue;
        }
        if (main) {
            ld_err_at(L, n->keys[i], "a condition has one of all:, any:, not:, lua:, category:, condition:, targets: (found '%s' and '%s'); nest them",
                   mainkey->str, k);
            return NULL;
        }
        main = n->vals[i];
        mainkey = n->keys[i];
    }
    if (!main) {
        ld_err_at(L, n, "a condition needs one of all:, any:, not:, lua:, category:, condition:, targets:");
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
        pcond *c = build_new_cond(L, PC_NOT);
        c->text = text;
        c->loc = loc_of(mainkey);
        c->ref_index = -1;
        c->kids = arena_alloc(ld_mem(L), sizeof *c->kids);
        c->kids[0] = kid;
        c->nkids = 1;
        return c;
    }
    if (!strcmp(k, "lua")) {
        if (main->kind != YN_SCALAR || !main->len) {
            ld_err_at(L, main, "lua: takes a Lua expression");
            return NULL;
        }
        return new_leaf(L, main, text);
    }
    if (!strcmp(k, "targets")) {
        bool t;
        if (!ynode_bool(main, &t) || !t) {
            ld_err_at(L, main, "targets: takes true");
            return NULL;
        }
        pcond *c = build_new_cond(L, PC_TARGETS);
        c->text = text;
        c->loc = loc_of(mainkey);
        c->ref_index = -1;
        return c;
    }
    /* category: / condition: */
    const char *id = ynode_text(main);
    if (!id) {
        ld_err_at(L, main, "%s: takes an id", k);
        return NULL;
    }
    pcond *c = build_new_cond(L, !strcmp(k, "category") ? PC_CATEGORY : PC_CONDITION);
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
    it->basis = arena_alloc(ld_mem(L), (cnt ? cnt : 1) * sizeof *it->basis);
    for (size_t i = 0; i < cnt; i++) {
        const ynode *e = list[i];
        if (e->kind != YN_MAP) {
            ld_err_at(L, e, "basis: expected {source: id, article: ...}, found %s", ynode_kind_name(e));
            continue;
        }
        for (size_t j = 0; j < e->n; j++) {
            const char *k = e->keys[j]->str;
            if (strcmp(k, "source") && strcmp(k, "article") && strcmp(k, "note")) {
                static const char *const bk[] = {"source", "article", "note"};
                const char *near = yz_suggest(k, bk, 3);
                if (near)
                    ld_err_at(L, e->keys[j], "unknown key '%s' in basis (did you mean '%s'?)", k, near);
                else
                    ld_err_at(L, e->keys[j], "unknown key '%s' in basis; allowed: source, article, note", k);
            }
        }
        pbasis *pb = &it->basis[it->nbasis];
        memset(pb, 0, sizeof *pb);
        pb->source_id = ynode_text(ynode_get(e, "source"));
        pb->article = ynode_text(ynode_get(e, "article"));
        pb->note = ynode_text(ynode_get(e, "note"));
        if (!pb->source_id) {
            ld_err_at(L, e, "basis: missing 'source:' (the id of a policy text under sources:)");
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
                ld_err_at(L, sn, "basis: unknown source '%s' (did you mean '%s'?)", pb->source_id, near);
            else
                ld_err_at(L, sn, "basis: unknown source '%s'; define it under sources:", pb->source_id);
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
    const char **out = arena_alloc(ld_mem(b->L), (n->n ? n->n : 1) * sizeof *out);
    for (size_t i = 0; i < n->n; i++)
        if (ynode_text(n->vals[i]))
            out[(*count)++] = n->vals[i]->str;
    return out;
}

const char *const build_kind_word[PI_NKINDS] = {"prerequisite", "disqualification", "condition", "category", "subsidy"};

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
        ynode_bool(e, &en);
    if (!en)
        return false;
    if (n->kind != YN_MAP)
        return false;
    it->name = ynode_text(ynode_get(n, kind == PI_CONDITION ? "text" : "name"));
    it->code = ynode_text(ynode_get(n, "code"));
    const ynode *v = ynode_get(n, "verified");
    if (v)
        ynode_bool(v, &it->verified);
    it->note = ynode_text(ynode_get(n, "note"));
    const ynode *when = ynode_get(n, "when");
    if (when)
        it->when = build_cond(b, when, 0);
    else if (kind != PI_SUBSIDY)
        ld_err_at(L, key, "%s '%s' has no condition: add 'when:'", build_kind_word[kind], it->id);
    if (kind != PI_CONDITION && !it->name)
        ld_err_at(L, key, "%s '%s' has no name: add 'name:' with its Chinese name", build_kind_word[kind], it->id);
    if (kind != PI_CONDITION) {
        const ynode *bn = ynode_get(n, "basis");
        if (!bn)
            ld_err_at(L, key, "%s '%s' has no legal basis: add 'basis: {source: <id>, article: <条款>}'", build_kind_word[kind],
                   it->id);
        build_basis(b, it, bn);
        const ynode *r = ynode_get(n, "reason");
        it->reason[YZ_MET] = ynode_text(ynode_get(r, "met"));
        it->reason[YZ_NOT_MET] = ynode_text(ynode_get(r, "not_met"));
        it->reason[YZ_UNDETERMINED] = ynode_text(ynode_get(r, "undetermined"));
        it->evidence = build_id_list(b, ynode_get(n, "evidence"), &it->nevidence);
        const ynode *eff = ynode_get(n, "effective");
        it->eff_from = ynode_text(ynode_get(eff, "from"));
        it->eff_to = ynode_text(ynode_get(eff, "to"));
        if (it->eff_from && it->eff_to && strcmp(it->eff_from, it->eff_to) > 0)
            ld_err_at(L, ynode_get(eff, "to"), "effective: 'to' (%s) is before 'from' (%s)", it->eff_to, it->eff_from);
    }
    if (kind == PI_SUBSIDY) {
        const ynode *f = ynode_get(n, "for");
        if (!f) {
            ld_err_at(L, key, "subsidy '%s' has no 'for:' (write 'for: targets', 'for: anyone' or a list of category ids)",
                      it->id);
        } else if (f->kind == YN_SCALAR) {
            if (strcmp(f->str, "targets") == 0)
                it->for_targets = true;
            else if (strcmp(f->str, "anyone") == 0)
                it->for_anyone = true;
            else
                ld_err_at(L, f, "for: write 'targets', 'anyone' or a list of category ids, found '%s'", f->str);
        } else if (f->kind == YN_SEQ && f->n == 0) {
            ld_err_at(L, f, "for: the list names no category; write 'for: anyone' for a subsidy that is not limited to "
                      "assistance targets (its when: says who)");
        } else if (f->kind == YN_SEQ) {
            size_t cnt;
            const char **ids = build_id_list(b, f, &cnt);
            it->nfor = cnt;
            it->for_idx = arena_alloc(ld_mem(L), (cnt ? cnt : 1) * sizeof(int));
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
                        ld_err_at(L, f->vals[i], "for: unknown category '%s' (did you mean '%s'?)", ids[i], near);
                    else
                        ld_err_at(L, f->vals[i],
                               "for: unknown category '%s' (if a province switched it off, override this subsidy's 'for:' there)",
                               ids[i]);
                }
            }
        }
        const ynode *am = ynode_get(n, "amount");
        if (!am) {
            ld_err_at(L, key, "subsidy '%s' has no amount: add 'amount: {fen: <Lua expression>, per: month}'", it->id);
        } else if (am->kind == YN_MAP) {
            const ynode *fen = ynode_get(am, "fen");
            if (fen && fen->kind == YN_SCALAR && fen->len)
                it->amount = new_leaf(L, fen, "金额");
            it->per = ynode_text(ynode_get(am, "per"));
            it->amount_note = ynode_text(ynode_get(am, "note"));
            const ynode *sch = ynode_get(am, "schedule");
            if (sch)
                ynode_bool(sch, &it->schedule);
        }
        const char *term = ynode_text(ynode_get(n, "term"));
        if (term && !strcmp(term, "calendar_months"))
            it->calendar_term = true;
        if ((it->schedule || it->calendar_term) && !(it->per && !strcmp(it->per, "month")))
            ld_err_at(L, ynode_get(n, it->calendar_term ? "term" : "amount"),
                      "subsidy '%s': %s applies to a subsidy paid per month (amount: {per: month})", it->id,
                      it->calendar_term ? "term: calendar_months" : "amount: {schedule: true}");
        const ynode *mo = ynode_get(n, "months");
        if (mo && mo->kind == YN_SCALAR && mo->len)
            it->months = new_leaf(L, mo, "期限");
        if (it->per && !strcmp(it->per, "month") && !it->months)
            ld_err_at(L, am, "subsidy '%s' is paid per month but has no 'months:' (the number of months still available)",
                   it->id);
        it->excludes = build_id_list(b, ynode_get(n, "excludes"), &it->nexcl);
        it->terms = ynode_text(ynode_get(n, "terms"));
    }
    return true;
}

static int cmp_param(const void *a, const void *b)
{
    return strcmp(((const pparam *)a)->id, ((const pparam *)b)->id);
}

static bool known_source(const ppolicy *pol, const char *id)
{
    for (size_t s = 0; s < pol->nsources; s++)
        if (!strcmp(pol->sources[s].id, id))
            return true;
    return false;
}

/* region: and regions: of a regional parameter (values keyed by GB/T 2260 region groups) */
static void build_regions(bctx *b, pparam *p, const ynode *e)
{
    loader *L = b->L;
    arena *m = ld_mem(L);
    const ynode *rf = ynode_get(e, "region"), *rg = ynode_get(e, "regions");
    if (!rf && !rg)
        return;
    if (!rf || !rg) {
        ld_err_at(L, rf ? rf : rg, "parameter '%s': a regional parameter needs both region: (the record field whose "
                  "GB/T 2260 code picks the value) and regions: (the groups of codes)", p->id);
        return;
    }
    p->region_field = ynode_text(rf);
    const snode *sn = p->region_field ? schema_lookup(schema_applicant(), p->region_field) : NULL;
    if (!sn || sn->type != ST_STRING || strchr(sn->path, '[')) {
        ld_err_at(L, rf, "parameter '%s': region: '%s' is not a region field of the applicant record "
                  "(e.g. unemployment_registration.region, residence.region, hukou.region)",
                  p->id, p->region_field ? p->region_field : "");
        p->region_field = NULL;
        return;
    }
    if (rg->kind != YN_MAP || !rg->n) {
        ld_err_at(L, rg, "parameter '%s': regions: expected groups, e.g. guangzhou: {name: 广州市, codes: [\"4401\"]}",
                  p->id);
        p->region_field = NULL;
        return;
    }
    p->regions = arena_alloc(m, rg->n * sizeof *p->regions);
    for (size_t i = 0; i < rg->n; i++) {
        const ynode *g = rg->vals[i];
        pregion *pr = &p->regions[p->nregions];
        memset(pr, 0, sizeof *pr);
        pr->id = rg->keys[i]->str;
        pr->loc = loc_of(rg->keys[i]);
        pr->name = ynode_text(ynode_get(g, "name"));
        pr->verified = true;
        const ynode *vf = ynode_get(g, "verified");
        if (vf)
            ynode_bool(vf, &pr->verified);
        const ynode *codes = ynode_get(g, "codes");
        if (!pr->name)
            ld_err_at(L, rg->keys[i], "parameter '%s': region group '%s' has no name: add 'name:' (广州市)", p->id, pr->id);
        if (!codes || codes->kind != YN_SEQ || !codes->n) {
            ld_err_at(L, rg->keys[i], "parameter '%s': region group '%s' has no codes: add 'codes: [\"4401\"]' (GB/T 2260 "
                      "prefixes: 2 digits a province, 4 a city, 6 a county)", p->id, pr->id);
            continue;
        }
        pr->codes = arena_alloc(m, codes->n * sizeof *pr->codes);
        for (size_t c = 0; c < codes->n; c++) {
            const char *code = ynode_text(codes->vals[c]);
            size_t n = code ? strlen(code) : 0;
            bool digits = n == 2 || n == 4 || n == 6;
            for (size_t k = 0; digits && k < n; k++)
                digits = code[k] >= '0' && code[k] <= '9';
            if (!digits) {
                ld_err_at(L, codes->vals[c], "parameter '%s': region group '%s': '%s' is not a GB/T 2260 prefix (2, 4 "
                          "or 6 digits, quoted)", p->id, pr->id, code ? code : "");
                continue;
            }
            for (size_t o = 0; o <= p->nregions; o++) {
                const pregion *other = &p->regions[o];
                size_t lim = o == p->nregions ? pr->ncodes : other->ncodes;
                for (size_t k = 0; k < lim; k++)
                    if (!strcmp(other->codes[k], code))
                        ld_err_at(L, codes->vals[c], "parameter '%s': region code '%s' is listed twice (in '%s' and '%s')",
                                  p->id, code, other->id, pr->id);
            }
            pr->codes[pr->ncodes++] = code;
        }
        p->nregions++;
    }
}

/* a regional parameter's value: one for every group, and no other key */
static void check_region_value(bctx *b, const pparam *p, const ynode *v)
{
    loader *L = b->L;
    if (v->kind != YN_MAP) {
        ld_err_at(L, v, "parameter '%s' is regional: give a value for each region group (%s: ..., ...)", p->id,
                  p->nregions ? p->regions[0].id : "group");
        return;
    }
    for (size_t g = 0; g < p->nregions; g++)
        if (!ynode_get(v, p->regions[g].id))
            ld_err_at(L, v, "parameter '%s': no value for region group '%s' (%s); a regional value names every group, "
                      "so that no region falls back to another's value", p->id, p->regions[g].id,
                      p->regions[g].name ? p->regions[g].name : "");
    for (size_t k = 0; k < v->n; k++) {
        bool found = false;
        for (size_t g = 0; g < p->nregions; g++)
            found |= !strcmp(p->regions[g].id, v->keys[k]->str);
        if (!found) {
            const char *cands[64];
            size_t nc = 0;
            for (size_t g = 0; g < p->nregions && nc < 64; g++)
                cands[nc++] = p->regions[g].id;
            const char *near = yz_suggest(v->keys[k]->str, cands, nc);
            ld_err_at(L, v->keys[k], "parameter '%s': unknown region group '%s'%s%s%s", p->id, v->keys[k]->str,
                      near ? " (did you mean '" : "; define it under regions:", near ? near : "", near ? "'?)" : "");
        }
    }
}

/* value_sources: the source and verification of each dated value */
static void build_value_sources(bctx *b, pparam *p, const ynode *e)
{
    loader *L = b->L;
    for (size_t i = 0; i < p->nvalues; i++)
        p->values[i].verified = p->verified;
    const ynode *vs = ynode_get(e, "value_sources");
    if (!vs || vs->kind != YN_MAP)
        return;
    for (size_t k = 0; k < vs->n; k++) {
        const char *date = vs->keys[k]->str;
        pvalue *pv = NULL;
        for (size_t i = 0; i < p->nvalues; i++)
            if (p->values[i].from && !strcmp(p->values[i].from, date))
                pv = &p->values[i];
        if (!pv) {
            ld_err_at(L, vs->keys[k], "parameter '%s': value_sources: %s is not one of the dates under values:", p->id, date);
            continue;
        }
        const ynode *x = vs->vals[k];
        pv->source = ynode_text(ynode_get(x, "source"));
        if (pv->source && !known_source(b->pol, pv->source))
            ld_err_at(L, ynode_get(x, "source"), "parameter '%s': unknown source '%s'", p->id, pv->source);
        const ynode *vf = ynode_get(x, "verified");
        pv->verified = true;
        if (vf)
            ynode_bool(vf, &pv->verified);
    }
}

static void build_params(bctx *b, const ynode *n)
{
    loader *L = b->L;
    ppolicy *pol = b->pol;
    if (!n || n->kind != YN_MAP)
        return;
    pol->params = arena_alloc(ld_mem(L), (n->n ? n->n : 1) * sizeof *pol->params);
    arena *m = ld_mem(L);
    for (size_t i = 0; i < n->n; i++) {
        const ynode *e = n->vals[i];
        if (e->kind != YN_MAP)
            continue;
        pparam *p = &pol->params[pol->nparams];
        memset(p, 0, sizeof *p);
        p->id = n->keys[i]->str;
        p->loc = loc_of(n->keys[i]);
        p->unit = ynode_text(ynode_get(e, "unit"));
        p->source = ynode_text(ynode_get(e, "source"));
        p->description = ynode_text(ynode_get(e, "description"));
        p->verified = true;
        const ynode *vf = ynode_get(e, "verified");
        if (vf)
            ynode_bool(vf, &p->verified);
        const ynode *one = ynode_get(e, "value"), *many = ynode_get(e, "values");
        if (one && many) {
            ld_err_at(L, n->keys[i], "parameter '%s' has both value: and values:; keep one", p->id);
            continue;
        }
        if (!one && !many) {
            /* declared by the national baseline for the provinces to set */
            if (pol->nlevels > 1 || !yz_str_has_prefix(pol->version_files[0], "rules/national/"))
                diag_add(L->d, YZ_SEV_ERROR, ld_disp(L, pol->version_files[pol->nlevels - 1]), 1, 1,
                         "parameter '%s' (declared at %s:%d) has no value: set it under parameters: with 'value:' or dated 'values:'",
                         p->id, ld_disp(L, p->loc.file), p->loc.line);
            p->index = (int)pol->nparams;
            pol->nparams++;
            continue;
        }
        if (!p->unit)
            ld_err_at(L, n->keys[i], "parameter '%s' has no unit: add 'unit:' (fen, 周岁, months, ...)", p->id);
        if (p->source && !known_source(pol, p->source))
            ld_err_at(L, ynode_get(e, "source"), "parameter '%s': unknown source '%s'", p->id, p->source);
        build_regions(b, p, e);
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
            ld_err_at(L, many, "parameter '%s': values: needs at least one 'YYYY-MM-DD: value' line", p->id);
            continue;
        }
        if (p->region_field) {
            if (one)
                check_region_value(b, p, one);
            for (size_t k = 0; many && many->kind == YN_MAP && k < many->n; k++)
                check_region_value(b, p, many->vals[k]);
        }
        build_value_sources(b, p, e);
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
    pol->sources = arena_alloc(ld_mem(L), (n->n ? n->n : 1) * sizeof *pol->sources);
    for (size_t i = 0; i < n->n; i++) {
        const ynode *e = n->vals[i];
        if (e->kind != YN_MAP)
            continue;
        psource *s = &pol->sources[pol->nsources++];
        memset(s, 0, sizeof *s);
        s->id = n->keys[i]->str;
        s->loc = loc_of(n->keys[i]);
        s->issuer = ynode_text(ynode_get(e, "issuer"));
        s->number = ynode_text(ynode_get(e, "number"));
        s->title = ynode_text(ynode_get(e, "title"));
        s->date = ynode_text(ynode_get(e, "date"));
        s->in_force = ynode_text(ynode_get(e, "in_force"));
        s->url = ynode_text(ynode_get(e, "url"));
        s->note = ynode_text(ynode_get(e, "note"));
        s->verified = true;
        const ynode *vf = ynode_get(e, "verified");
        if (vf)
            ynode_bool(vf, &s->verified);
    }
}

static void build_section(bctx *b, pikind kind, const ynode *n)
{
    ppolicy *pol = b->pol;
    if (!n || n->kind != YN_MAP)
        return;
    pol->items[kind] = arena_alloc(ld_mem(b->L), (n->n ? n->n : 1) * sizeof(pitem));
    for (size_t i = 0; i < n->n; i++) {
        pitem *it = &pol->items[kind][pol->nitems[kind]];
        if (build_item(b, kind, n->keys[i], n->vals[i], it)) {
            it->index = (int)pol->nitems[kind];
            pol->nitems[kind]++;
        }
    }
}

ppolicy *build_policy(loader *L, ynode *root, version **vs, size_t nv, const char *from, const char *to,
                      const ynode *to_node)
{
    loc_arena = ld_mem(L);
    ppolicy *pol = arena_alloc(ld_mem(L), sizeof *pol);
    memset(pol, 0, sizeof *pol);
    bctx b = {L, pol};
    pol->eff_from = from;
    pol->eff_to = to;
    pol->title = ynode_text(ynode_get(root, "title"));
    pol->edition = 1;
    const ynode *ed = ynode_get(root, "edition");
    if (ed) {
        long long e = 0;
        if (!ynode_int(ed, &e) || e < 1 || e > 2)
            ld_err_at(L, ed, "edition: write 1 or 2 (the output behaviours of docs/policy-format.md, \"Editions\")");
        else
            pol->edition = (int)e;
    }
    const ynode *reg = ynode_get(root, "region");
    pol->region_code = ynode_text(ynode_get(reg, "code"));
    pol->region_name = ynode_text(ynode_get(reg, "name"));
    pol->nlevels = nv;
    pol->version_files = arena_alloc(ld_mem(L), nv * sizeof(char *));
    for (size_t i = 0; i < nv; i++)
        pol->version_files[i] = vs[i]->file->path;
    /* helper Lua files, parents first */
    size_t nl = 0;
    for (size_t i = 0; i < nv; i++)
        nl += vs[i]->lua && vs[i]->lua->kind == YN_SEQ ? vs[i]->lua->n : 0;
    pol->lua_files = arena_alloc(ld_mem(L), (nl ? nl : 1) * sizeof(char *));
    for (size_t i = 0; i < nv; i++) {
        if (!vs[i]->lua || vs[i]->lua->kind != YN_SEQ)
            continue;
        const char *dir = vs[i]->file->path;
        const char *slash = strrchr(dir, '/');
        for (size_t j = 0; j < vs[i]->lua->n; j++) {
            const ynode *ln = vs[i]->lua->vals[j];
            if (ln->kind != YN_SCALAR)
                continue;
            const char *p = arena_printf(ld_mem(L), "%.*s/%s", (int)(slash - dir), dir, ln->str);
            if (ld_find_file(L, p))
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
        ld_err_at(L, root, "the policy defines no category (categories:)");
    build_check_refs(&b);
    build_full_conditions(L, pol);
    build_texts(L, pol);
    pol->eff_to_loc = loc_of(to_node);
    return pol;
}

/* yz_explain.c: the explanation of a determination, read back from the evaluator's memo once every
 * item's status is known: for each item the conditions that decided it (the decisive ones of an
 * all/any), the record fields and parameters they read, the fields still missing and the
 * documents that settle them, its reason text ({P.name} filled in), the evidence still to see,
 * and what its outcome rests on that is not verified against a text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yz_eval.h"
#include "yz_rulevm.h"

/* ------------------------------------------------------------------------------------------ */
/* explanations */

typedef struct xbuild {
    yz_evaluator *ev;
    ditem *di;
    size_t ccap;
    int *leaves;
    size_t nleaves, lcap;
    const ditem **refs; /* items whose missing fields carry over */
    size_t nrefs, rcap;
} xbuild;

static const char *interpolate(yz_evaluator *ev, const char *tmpl);

static void add_entry(xbuild *x, const char *text, int8_t result, const ploc *loc, int depth, const leafrec *lr,
                      const char *fail_text, const char *text_json)
{
    ditem *di = x->di;
    const char *shown = interpolate(x->ev, text);
    if (shown != text) {
        fail_text = NULL; /* the text changed with the date: the ready-made ones do not fit */
        text_json = NULL;
    }
    text = shown;
    if (di->nconds == x->ccap) {
        x->ccap = x->ccap ? x->ccap * 2 : 8;
        dcond *n = arena_alloc(&x->ev->det->mem, x->ccap * sizeof *n);
        if (di->nconds)
            memcpy(n, di->conds, di->nconds * sizeof *n);
        di->conds = n;
    }
    dcond *c = &di->conds[di->nconds++];
    c->text = text;
    c->result = result;
    c->rule = loc ? loc->rule : NULL;
    c->note = lr ? lr->note : NULL;
    c->error = lr ? lr->error : NULL;
    c->depth = depth;
    c->fail_text = fail_text;
    c->text_json = text_json;
}

static void add_leafref(xbuild *x, int leaf)
{
    for (size_t i = 0; i < x->nleaves; i++)
        if (x->leaves[i] == leaf)
            return;
    if (x->nleaves == x->lcap) {
        x->lcap = x->lcap ? x->lcap * 2 : 16;
        x->leaves = yz_realloc(x->leaves, x->lcap * sizeof *x->leaves);
    }
    x->leaves[x->nleaves++] = leaf;
}

static void add_ref(xbuild *x, const ditem *d)
{
    if (!d)
        return;
    if (x->nrefs == x->rcap) {
        x->rcap = x->rcap ? x->rcap * 2 : 8;
        x->refs = yz_realloc(x->refs, x->rcap * sizeof *x->refs);
    }
    x->refs[x->nrefs++] = d;
}

static int8_t memo_tv(yz_evaluator *ev, const pcond *c)
{
    return ev->node_gen[c->id] == ev->gen ? ev->node_tv[c->id] : -1;
}

static const char *leaf_text(const pcond *c)
{
    return c->text ? c->text : c->expr;
}

static void explain(xbuild *x, const pcond *c, int depth, bool emit)
{
    yz_evaluator *ev = x->ev;
    int8_t tv = memo_tv(ev, c);
    if (tv < 0)
        return;
    const ppolicy *pol = ev->pol;
    switch (c->kind) {
    case PC_LEAF:
        if (emit)
            add_entry(x, leaf_text(c), tv, &c->loc, depth, &ev->leafrec[c->leaf], c->fail_text, c->text_json);
        add_leafref(x, c->leaf);
        return;
    case PC_ALL:
    case PC_ANY: {
        if (c->text && emit) {
            add_entry(x, c->text, tv, &c->loc, depth, NULL, c->fail_text, c->text_json);
            depth++;
        }
        int8_t decisive = c->kind == PC_ALL ? TV_F : TV_T;
        for (size_t i = 0; i < c->nkids; i++) {
            int8_t kt = memo_tv(ev, c->kids[i]);
            if (kt < 0)
                continue;
            if (tv == decisive) {
                if (kt == decisive) {
                    explain(x, c->kids[i], depth, emit);
                    break;
                }
            } else if (tv == TV_U) {
                if (kt == TV_U)
                    explain(x, c->kids[i], depth, emit);
            } else {
                explain(x, c->kids[i], depth, emit);
            }
        }
        return;
    }
    case PC_NOT: {
        const pcond *kid = c->kids[0];
        if (emit) {
            if (c->text) {
                add_entry(x, c->text, tv, &c->loc, depth, kid->kind == PC_LEAF ? &ev->leafrec[kid->leaf] : NULL,
                          c->fail_text, c->text_json);
            } else if (kid->kind == PC_LEAF) {
                add_entry(x, kid->neg_text ? kid->neg_text : arena_printf(&ev->det->mem, "并非：%s", leaf_text(kid)), tv,
                          &kid->loc, depth, &ev->leafrec[kid->leaf], NULL, kid->neg_json);
            } else {
                add_entry(x, "并非以下情形", tv, &c->loc, depth, NULL, NULL, NULL);
                explain(x, kid, depth + 1, true);
                return;
            }
        }
        explain(x, kid, depth + 1, false);
        return;
    }
    case PC_CONDITION: {
        const pitem *it = &pol->items[PI_CONDITION][c->ref_index];
        if (emit)
            add_entry(x, c->text ? c->text : it->name ? it->name : it->id, tv, &c->loc, depth, NULL, c->fail_text,
                      c->text ? c->text_json : it->name_json);
        if (it->when)
            explain(x, it->when, depth + 1, emit);
        return;
    }
    case PC_PREREQ:
    case PC_DISQUAL:
    case PC_CATEGORY: {
        pikind k = c->kind == PC_PREREQ ? PI_PREREQ : c->kind == PC_DISQUAL ? PI_DISQUAL : PI_CATEGORY;
        const pitem *it = &pol->items[k][c->ref_index];
        if (emit)
            add_entry(x, c->text ? c->text : it->ref_text, tv, &it->loc, depth, NULL,
                      c->text ? c->fail_text : it->ref_fail, c->text ? c->text_json : it->ref_text_json);
        add_ref(x, eval_build_item(ev, k, c->ref_index));
        return;
    }
    case PC_TARGETS:
        if (emit)
            add_entry(x, c->text ? c->text : "属于就业援助对象", tv, NULL, depth, NULL, NULL, NULL);
        if (tv == TV_U) {
            for (size_t i = 0; i < pol->nitems[PI_CATEGORY]; i++)
                if (ev->item_gen[PI_CATEGORY][i] == ev->gen && ev->item_tv[PI_CATEGORY][i] == TV_U)
                    add_ref(x, eval_build_item(ev, PI_CATEGORY, (int)i));
        }
        return;
    }
}

static int cmp_dkv(const void *a, const void *b)
{
    return strcmp(((const dkv *)a)->key, ((const dkv *)b)->key);
}

static int cmp_missing(const void *a, const void *b)
{
    return strcmp(((const dmissing *)a)->field, ((const dmissing *)b)->field);
}

static void add_kv(arena *m, dkv **arr, size_t *n, size_t *cap, const char *key, const char *json)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*arr)[i].key, key))
            return;
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        dkv *na = arena_alloc(m, *cap * sizeof *na);
        if (*n)
            memcpy(na, *arr, *n * sizeof *na);
        *arr = na;
    }
    (*arr)[*n].key = key;
    (*arr)[*n].json = json;
    (*n)++;
}

static void add_missing(arena *m, dmissing **arr, size_t *n, size_t *cap, const dmissing *mi)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*arr)[i].field, mi->field))
            return;
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        dmissing *na = arena_alloc(m, *cap * sizeof *na);
        if (*n)
            memcpy(na, *arr, *n * sizeof *na);
        *arr = na;
    }
    (*arr)[(*n)++] = *mi;
}

static void add_region(arena *m, ditem *di, size_t *cap, const pparam *p, const pregion *g, const char *code)
{
    for (size_t i = 0; i < di->nregions; i++)
        if (di->regions[i].param == p)
            return;
    if (di->nregions == *cap) {
        *cap = *cap ? *cap * 2 : 2;
        dregion *na = arena_alloc(m, *cap * sizeof *na);
        if (di->nregions)
            memcpy(na, di->regions, di->nregions * sizeof *na);
        di->regions = na;
    }
    di->regions[di->nregions++] = (dregion){p, g, code};
}

static int cmp_region(const void *a, const void *b)
{
    return strcmp(((const dregion *)a)->param->id, ((const dregion *)b)->param->id);
}

/* The group of a regional parameter for the record being decided (its region field), or NULL. */
static const pregion *record_region(yz_evaluator *ev, const pparam *p)
{
    const yval *obj;
    const snode *child;
    const yval *code = yval_find(ev->root, p->region_field, &obj, &child);
    const char *s = code ? yj_str(code->json) : NULL;
    return s ? param_region_for(p, s) : NULL;
}

/* A parameter's value as a rule of this record sees it (regional: for the record's region), or NULL. */
static const yj *param_for_record(yz_evaluator *ev, const pparam *p)
{
    if (!p->region_field)
        return param_value_at(p, ev->as_of);
    const pregion *g = record_region(ev, p);
    return g ? param_region_value(p, g, ev->as_of) : NULL;
}

static const char *json_of(arena *m, const yj *v, strbuf *tmp)
{
    sb_clear(tmp);
    yj_write_canonical(tmp, v);
    return arena_strndup(m, tmp->buf, tmp->len);
}

static void missing_of(yz_evaluator *ev, const readent *e, dmissing *mi)
{
    arena *m = &ev->det->mem;
    strbuf p = STRBUF_INIT;
    const snode *sn;
    if (e->child) {
        yval_child_path(e->obj, e->child, &p);
        sn = e->child;
    } else {
        yval_path(e->obj, &p);
        sb_addf(&p, "[%d]", e->index);
        sn = e->obj->sn->items;
    }
    mi->field = arena_strndup(m, p.buf, p.len);
    mi->label = sn->label;
    mi->document = sn->evidence;
    mi->doc_name = sn->evidence ? schema_doc_name(schema_applicant(), sn->evidence) : NULL;
    sb_free(&p);
}

/* fields, parameters and missing fields from the leaves an explanation used */
static void collect_reads(xbuild *x)
{
    yz_evaluator *ev = x->ev;
    ditem *di = x->di;
    arena *m = &ev->det->mem;
    size_t fcap = 0, pcap = 0, mcap = 0, gcap = 0;
    strbuf tmp = STRBUF_INIT, p = STRBUF_INIT;
    const readent *log = rvm_log(ev->vm);
    for (size_t i = 0; i < x->nleaves; i++) {
        const leafrec *lr = &ev->leafrec[x->leaves[i]];
        bool unknown = ev->node_tv[ev->rs->leaves[x->leaves[i]]->id] == TV_U;
        if (unknown && lr->error && !di->error)
            di->error = lr->error;
        for (uint32_t k = lr->log_start; k < lr->log_end; k++) {
            const readent *e = &log[k];
            if (e->kind == RL_FIELD) {
                sb_clear(&p);
                if (e->val->index >= 0 || !e->obj)
                    yval_path(e->val, &p);
                else
                    yval_path(e->val, &p);
                add_kv(m, &di->fields, &di->nfields, &fcap, arena_strndup(m, p.buf, p.len), json_of(m, e->val->json, &tmp));
            } else if (e->kind == RL_PARAM) {
                const pparam *pp = &ev->pol->params[e->index];
                const yj *v;
                if (e->group >= 0) {
                    const pregion *g = &pp->regions[e->group];
                    v = param_region_value(pp, g, ev->as_of);
                    add_region(m, di, &gcap, pp, g, yj_str(e->val->json));
                } else {
                    v = param_value_at(pp, ev->as_of);
                }
                if (v)
                    add_kv(m, &di->params, &di->nparams, &pcap, pp->id, json_of(m, v, &tmp));
            } else if (unknown) {
                dmissing mi;
                missing_of(ev, e, &mi);
                add_missing(m, &di->missing, &di->nmissing, &mcap, &mi);
            }
        }
    }
    if (di->status == YZ_UNDETERMINED) {
        for (size_t r = 0; r < x->nrefs; r++)
            for (size_t j = 0; j < x->refs[r]->nmissing; j++)
                add_missing(m, &di->missing, &di->nmissing, &mcap, &x->refs[r]->missing[j]);
    } else {
        di->nmissing = 0;
    }
    /* qsort's array may not be NULL even when empty (UBSan: nonnull) */
    if (di->nfields)
        qsort(di->fields, di->nfields, sizeof *di->fields, cmp_dkv);
    if (di->nparams)
        qsort(di->params, di->nparams, sizeof *di->params, cmp_dkv);
    if (di->nmissing)
        qsort(di->missing, di->nmissing, sizeof *di->missing, cmp_missing);
    if (di->nregions)
        qsort(di->regions, di->nregions, sizeof *di->regions, cmp_region);
    sb_free(&tmp);
    sb_free(&p);
}

/* "{P.name}" in reason texts becomes the parameter's value on the as-of date */
static const char *interpolate(yz_evaluator *ev, const char *tmpl)
{
    if (!strchr(tmpl, '{'))
        return tmpl;
    strbuf sb = STRBUF_INIT;
    for (const char *p = tmpl; *p;) {
        if (p[0] == '{' && p[1] == 'P' && p[2] == '.') {
            const char *e = strchr(p, '}');
            if (e) {
                char name[128];
                snprintf(name, sizeof name, "%.*s", (int)(e - p - 3), p + 3);
                const pparam *pp = policy_param(ev->pol, name);
                const yj *v = pp ? param_for_record(ev, pp) : NULL;
                if (v && yj_typeof(v) == YJ_STRING)
                    sb_adds(&sb, yj_str(v));
                else if (v)
                    yj_write_canonical(&sb, v);
                else
                    sb_add(&sb, p, (size_t)(e - p + 1));
                p = e + 1;
                continue;
            }
        }
        sb_addc(&sb, *p++);
    }
    const char *r = arena_strndup(&ev->det->mem, sb.buf, sb.len);
    sb_free(&sb);
    return r;
}

static const char *default_reason(yz_evaluator *ev, const ditem *di)
{
    arena *m = &ev->det->mem;
    const pitem *it = di->it;
    if (di->status == YZ_MET)
        return it->txt_met;
    if (di->status == YZ_NOT_MET) {
        for (size_t i = 0; i < di->nconds; i++)
            if (di->conds[i].result == TV_F)
                return di->conds[i].fail_text ? di->conds[i].fail_text
                                              : arena_printf(m, "不满足：%s", di->conds[i].text);
        return it->txt_not;
    }
    if (di->error)
        return arena_printf(m, "规则执行出错，无法确定：%s", di->error);
    if (di->nmissing) {
        strbuf sb = STRBUF_INIT;
        sb_adds(&sb, "尚缺信息，无法确定：");
        for (size_t i = 0; i < di->nmissing && i < 6; i++)
            sb_addf(&sb, "%s%s", i ? "、" : "", di->missing[i].label ? di->missing[i].label : di->missing[i].field);
        const char *r = arena_strndup(m, sb.buf, sb.len);
        sb_free(&sb);
        return r;
    }
    return "无法确定";
}

static const yval *record_slot(const yval *obj, const char *key)
{
    const snode *sn = snode_child(obj->sn, key, strlen(key));
    return sn ? obj->kids[sn->pos] : NULL;
}

static bool evidence_seen(yz_evaluator *ev, const char *doc)
{
    const yval *list = record_slot(ev->root, "evidence");
    if (!list)
        return false;
    for (uint32_t i = 0; i < list->n; i++)
        if (list->kids[i] && !strcmp(yj_str(list->kids[i]->json), doc))
            return true;
    return false;
}

static void add_unverified(yz_evaluator *ev, ditem *di, const char *what)
{
    for (size_t i = 0; i < di->nunverified; i++)
        if (!strcmp(di->unverified[i], what))
            return;
    const char **n = arena_alloc(&ev->det->mem, (di->nunverified + 1) * sizeof *n);
    if (di->nunverified)
        memcpy(n, di->unverified, di->nunverified * sizeof *n);
    n[di->nunverified++] = what;
    di->unverified = n;
}

/* whether the value of a parameter a rule used is verified: the dated value in force (its
   value_sources entry, else the parameter's verified) and, for a regional one, its group */
static bool param_verified(const ditem *di, const pparam *p, const char *as_of)
{
    const pvalue *v = param_entry_at(p, as_of);
    if (!(v ? v->verified : p->verified))
        return false;
    for (size_t i = 0; i < di->nregions; i++)
        if (di->regions[i].param == p && !di->regions[i].group->verified)
            return false;
    return true;
}

/* an outcome is only as verified as the item, the texts it cites and the parameter values it used */
static void mark_unverified(yz_evaluator *ev, ditem *di)
{
    const pitem *it = di->it;
    if (!it->verified)
        add_unverified(ev, di, "item");
    for (size_t i = 0; i < it->nbasis; i++)
        if (it->basis[i].src && !it->basis[i].src->verified && basis_cited(ev->pol, &it->basis[i], ev->as_of))
            add_unverified(ev, di, it->basis[i].unverified);
    for (size_t i = 0; i < di->nparams; i++) {
        const pparam *p = policy_param(ev->pol, di->params[i].key);
        if (p && !param_verified(di, p, ev->as_of))
            add_unverified(ev, di, p->unverified);
    }
}

/* From edition 2, a category that fails on a prerequisite or a disqualification says that rather
 * than its own not-met text (a 40-year-old woman outside Guangdong does not read "未达到大龄年龄
 * 条件"): the reason of the first one that decided it, or NULL. */
static const char *gate_reason(yz_evaluator *ev, const pitem *it)
{
    const pcond *full = it->full;
    if (ev->pol->edition < 2 || !full || full->kind != PC_ALL)
        return NULL;
    for (size_t i = 0; i < full->nkids; i++) {
        const pcond *k = full->kids[i];
        if (memo_tv(ev, k) != TV_F)
            continue;
        if (k->kind == PC_PREREQ) {
            const ditem *p = eval_build_item(ev, PI_PREREQ, k->ref_index);
            return arena_printf(&ev->det->mem, "不满足前提条件：%s", p->reason ? p->reason : p->it->name);
        }
        if (k->kind == PC_NOT && k->kids[0]->kind == PC_DISQUAL) {
            const ditem *q = eval_build_item(ev, PI_DISQUAL, k->kids[0]->ref_index);
            if (q->it->reason[YZ_MET])
                return q->reason;
            return arena_printf(&ev->det->mem, "出现身份丧失情形：%s", q->it->name);
        }
        return NULL; /* its own condition */
    }
    return NULL;
}

void explain_item(yz_evaluator *ev, ditem *di, unsigned formulas)
{
    const pitem *it = di->it;
    xbuild x = {ev, di, 0, NULL, 0, 0, NULL, 0, 0};
    explain(&x, it->full ? it->full : it->when, 0, true);
    if (formulas & EX_AMOUNT)
        add_leafref(&x, it->amount->leaf);
    if (formulas & EX_MONTHS)
        add_leafref(&x, it->months->leaf);
    collect_reads(&x);
    if (it->terms)
        di->terms = interpolate(ev, it->terms);
    mark_unverified(ev, di);
    if (!di->reason && it->kind == PI_CATEGORY && di->status == YZ_NOT_MET)
        di->reason = gate_reason(ev, it);
    if (!di->reason) {
        const char *tmpl = it->reason[di->status];
        di->reason = tmpl ? interpolate(ev, tmpl) : default_reason(ev, di);
    }
    if (di->status == YZ_MET && it->nevidence) {
        di->pending = arena_alloc(&ev->det->mem, it->nevidence * sizeof(char *));
        for (size_t i = 0; i < it->nevidence; i++)
            if (!evidence_seen(ev, it->evidence[i]))
                di->pending[di->npending++] = it->evidence[i];
    }
    yz_free(x.leaves);
    yz_free(x.refs);
}

/* Why the person is not a target: from edition 2 the prerequisites not met, or else the status
 * lost, rather than "no category" when no category could apply. */
static const char *not_target_reason(yz_determination *det)
{
    static const char plain[] = "不属于就业援助对象：不符合任何认定类别";
    if (det->pol->edition < 2)
        return plain;
    strbuf sb = STRBUF_INIT;
    size_t n = 0;
    for (int pass = 0; pass < 2 && !n; pass++) {
        pikind k = pass == 0 ? PI_PREREQ : PI_DISQUAL;
        yz_status bad = pass == 0 ? YZ_NOT_MET : YZ_MET;
        for (size_t i = 0; i < det->nitems[k]; i++) {
            const ditem *di = &det->items[k][i];
            if (di->status != bad)
                continue;
            if (!n++)
                sb_adds(&sb, pass == 0 ? "不属于就业援助对象：不满足前提条件：" : "不属于就业援助对象：");
            else
                sb_adds(&sb, "；");
            sb_adds(&sb, di->reason ? di->reason : di->it->name);
        }
    }
    const char *r = n ? arena_strndup(&det->mem, sb.buf, sb.len) : plain;
    sb_free(&sb);
    return r;
}

void explain_determination(yz_evaluator *ev, yz_determination *det)
{
    (void)ev;
    arena *m = &det->mem;
    size_t mcap = 0;
    if (det->target == YZ_MET) {
        strbuf sb = STRBUF_INIT;
        sb_adds(&sb, "属于就业援助对象：");
        size_t n = 0;
        for (size_t i = 0; i < det->nitems[PI_CATEGORY]; i++)
            if (det->items[PI_CATEGORY][i].status == YZ_MET)
                sb_addf(&sb, "%s%s", n++ ? "、" : "", det->items[PI_CATEGORY][i].it->name);
        det->target_reason = arena_strndup(m, sb.buf, sb.len);
        sb_free(&sb);
    } else if (det->target == YZ_NOT_MET) {
        det->target_reason = not_target_reason(det);
    } else {
        det->target_reason = "尚无法确定是否属于就业援助对象：部分类别缺少信息";
    }
    for (int k = PI_PREREQ; k <= PI_SUBSIDY; k++) {
        if (k == PI_CONDITION)
            continue;
        for (size_t i = 0; i < det->nitems[k]; i++) {
            const ditem *di = &det->items[k][i];
            if (di->status != YZ_UNDETERMINED)
                continue;
            for (size_t j = 0; j < di->nmissing; j++)
                add_missing(m, &det->missing, &det->nmissing, &mcap, &di->missing[j]);
        }
    }
    if (det->nmissing)
        qsort(det->missing, det->nmissing, sizeof *det->missing, cmp_missing);
}

/* yz_impact.c: impact analysis: every record of a population decided under a baseline and a reform
 * ruleset, the differences added up (status transitions, costs, regions, baseline categories,
 * gainers and losers), with example records of each kind of change.  A simulation: nothing is
 * recorded.
 *
 * The calling thread reads the population (a ledger as batch reads it, or each person's newest
 * record in a store) in chunks; worker threads (yz_pool), each with an evaluator for either ruleset, decide
 * every record under both without explanations and add the outcome into an accumulator of their
 * own; a record that changes is decided again with explanations while its worker still lacks
 * examples of that change.  The accumulators are merged at the end.  Nothing in the report
 * depends on the threads: examples and rejects are the first in input order, and a worker sees its
 * chunks in input order, so once it holds N examples of a kind no later record of its can be
 * among the first N of all. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "yz_date.h"
#include "yz_diag.h"
#include "yz_eval.h"
#include "yz_impact.h"
#include "yz_population.h"
#include "yz_policy.h"
#include "yz_pool.h"

#define DEFAULT_EXAMPLES 3
#define MAX_EXAMPLES 20
#define REGION_SLOTS (2 * IMP_MAX_REGIONS)
#define SHOWN_REJECTS 20

typedef struct side {
    const ppolicy *pol;
    int *map[2]; /* category / subsidy index in the policy -> union index, -1 when not in force */
} side;

typedef struct run run;

typedef struct worker {
    run *R;
    yz_evaluator *ev[2];
    arena mem;
    imp_acc acc;
    /* one record's outcome under either ruleset */
    int8_t *cs[2], *ss[2];
    int64_t *amount[2], *total[2];
    size_t *changed;
} worker;

struct run {
    const yz_impact_options *o;
    yz_impact *im;
    yz_ruleset *rs[2];
    side sd[2];
    population *l;
    int nex;
    pthread_mutex_t mu; /* fatal_rc */
    yz_pool *pool;      /* the workers' threads (yz_pool) */
    int handed;         /* workers handed to the pool as its states */
    atomic_bool stop;
    atomic_uint_fast64_t done;
    int fatal_rc;
    worker *workers;
    int nworkers;
};

/* ------------------------------------------------------------------------------------------ */
/* small shared pieces */

size_t imp_kind_target(int from, int to)
{
    return (size_t)(from * 3 + to);
}

size_t imp_kind_cat(const yz_impact *im, size_t u, int from, int to)
{
    (void)im;
    return 9 + u * 9 + (size_t)(from * 3 + to);
}

size_t imp_kind_sub(const yz_impact *im, size_t u, int from, int to)
{
    return 9 + im->ncat * 9 + u * 9 + (size_t)(from * 3 + to);
}

size_t imp_kind_amount(const yz_impact *im, size_t u, bool higher)
{
    return 9 + (im->ncat + im->nsub) * 9 + u * 2 + higher;
}

imp_kind imp_kind_of(const yz_impact *im, size_t k)
{
    imp_kind x = {"target", NULL, 0, false, (int)(k / 3 % 3), (int)(k % 3), false};
    if (k >= 9) {
        k -= 9;
        if (k < im->ncat * 9) {
            x.kind = "category";
            x.u = k / 9;
            x.item = &im->a.cats[x.u];
        } else if (k < (im->ncat + im->nsub) * 9) {
            x.kind = "subsidy";
            x.u = (k - im->ncat * 9) / 9;
            x.item = &im->a.subs[x.u];
            x.subsidy = true;
        } else {
            k -= (im->ncat + im->nsub) * 9;
            x.kind = "amount";
            x.u = k / 2;
            x.item = &im->a.subs[x.u];
            x.subsidy = true;
            x.from = YZ_MET;
            x.to = (int)(k % 2);
            x.change = true;
            return x;
        }
        x.from = (int)(k % 9 / 3);
        x.to = (int)(k % 3);
    }
    x.change = x.from != x.to;
    return x;
}

void imp_yuan(strbuf *sb, int64_t fen)
{
    uint64_t v = fen < 0 ? (uint64_t)0 - (uint64_t)fen : (uint64_t)fen;
    char digits[32];
    snprintf(digits, sizeof digits, "%llu", (unsigned long long)(v / 100));
    if (fen < 0)
        sb_addc(sb, '-');
    size_t n = strlen(digits);
    for (size_t i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            sb_addc(sb, ',');
        sb_addc(sb, digits[i]);
    }
    sb_addf(sb, ".%02u", (unsigned)(v % 100));
}

const char *imp_status_zh(int s, bool subsidy)
{
    switch (s) {
    case YZ_MET: return subsidy ? "可享受" : "符合";
    case YZ_NOT_MET: return subsidy ? "不可享受" : "不符合";
    default: return "待定";
    }
}

static const char *const bucket_ids[IMP_NBUCKETS] = {"lose_10000_or_more", "lose_1000_to_10000", "lose_under_1000", "unchanged",
                                                     "gain_under_1000",    "gain_1000_to_10000", "gain_10000_or_more", "undetermined"};
static const char *const bucket_zh[IMP_NBUCKETS] = {"减少1万元及以上", "减少1千至1万元", "减少不足1千元", "不变",
                                                    "增加不足1千元",   "增加1千至1万元", "增加1万元及以上", "待定（有补贴无法确定）"};

const char *imp_bucket_id(int b)
{
    return bucket_ids[b];
}

const char *imp_bucket_zh(int b)
{
    return bucket_zh[b];
}

static int bucket_of(int64_t change)
{
    if (change <= -IMP_BIG_FEN)
        return IMP_B_LOSE_BIG;
    if (change <= -IMP_MID_FEN)
        return IMP_B_LOSE_MID;
    if (change < 0)
        return IMP_B_LOSE_SMALL;
    if (change == 0)
        return IMP_B_SAME;
    if (change < IMP_MID_FEN)
        return IMP_B_GAIN_SMALL;
    if (change < IMP_BIG_FEN)
        return IMP_B_GAIN_MID;
    return IMP_B_GAIN_BIG;
}

/* sums in fen: a total too large for 64 bits is flagged, and the report says it cannot add up */
static void add_fen(imp_acc *a, int64_t *sum, int64_t v)
{
    if (__builtin_add_overflow(*sum, v, sum))
        a->overflow = true;
}

static void add_money(imp_acc *a, imp_money *m, const int64_t monthly[2], const int64_t whole[2])
{
    for (int s = 0; s < 2; s++) {
        add_fen(a, &m->monthly[s], monthly[s]);
        add_fen(a, &m->whole[s], whole[s]);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* the items of both rulesets, matched by id */

static size_t union_items(run *R, pikind kind, imp_item **out)
{
    yz_impact *im = R->im;
    size_t n = 0, cap = 0;
    imp_item *items = NULL;
    for (int s = 0; s < 2; s++) {
        const ppolicy *pol = R->sd[s].pol;
        int *map = yz_malloc((pol->nitems[kind] + 1) * sizeof *map);
        R->sd[s].map[kind == PI_CATEGORY ? 0 : 1] = map;
        for (size_t i = 0; i < pol->nitems[kind]; i++) {
            const pitem *it = &pol->items[kind][i];
            map[i] = -1;
            if (!item_in_force(it, im->as_of))
                continue;
            size_t u = 0;
            while (u < n && strcmp(items[u].id, it->id))
                u++;
            if (u == n) {
                if (n == cap) {
                    cap = cap ? 2 * cap : 16;
                    items = yz_realloc(items, cap * sizeof *items);
                }
                memset(&items[n], 0, sizeof items[n]);
                items[n].id = arena_strdup(&im->mem, it->id);
                items[n].name = arena_strdup(&im->mem, it->name ? it->name : it->id);
                n++;
            }
            items[u].in[s] = true;
            if (kind == PI_SUBSIDY)
                items[u].per[s] = arena_strdup(&im->mem, it->per ? it->per : "once");
            map[i] = (int)u;
        }
    }
    *out = arena_alloc(&im->mem, (n ? n : 1) * sizeof **out);
    if (n)
        memcpy(*out, items, n * sizeof *items);
    yz_free(items);
    return n;
}

static void acc_init(imp_acc *a, const yz_impact *im)
{
    memset(a, 0, sizeof *a);
    a->cats = yz_calloc(im->ncat + 1, sizeof *a->cats);
    a->subs = yz_calloc(im->nsub + 1, sizeof *a->subs);
    a->regions = yz_calloc(REGION_SLOTS + 1, sizeof *a->regions);
    a->catrows = yz_calloc(im->ncat + 1, sizeof *a->catrows);
    a->kind_count = yz_calloc(im->nkinds, sizeof *a->kind_count);
    a->examples = yz_calloc(im->nkinds * im->nex + 1, sizeof *a->examples);
    a->nexamples = yz_calloc(im->nkinds, sizeof *a->nexamples);
    a->rejects = yz_calloc(IMP_MAX_REJECTS, sizeof *a->rejects);
}

static void example_free(imp_example *e)
{
    yz_free(e->id);
    yz_free(e->before);
    yz_free(e->after);
}

static void reject_free(imp_reject *r)
{
    yz_free(r->json);
    yz_free(r->message);
}

static void acc_free(imp_acc *a, const yz_impact *im)
{
    if (a->examples)
        for (size_t k = 0; k < im->nkinds; k++)
            for (size_t e = 0; e < a->nexamples[k]; e++)
                example_free(&a->examples[k * im->nex + e]);
    for (size_t i = 0; i < a->nrejects; i++)
        reject_free(&a->rejects[i]);
    yz_free(a->cats);
    yz_free(a->subs);
    yz_free(a->regions);
    yz_free(a->catrows);
    yz_free(a->kind_count);
    yz_free(a->examples);
    yz_free(a->nexamples);
    yz_free(a->rejects);
    memset(a, 0, sizeof *a);
}

/* ------------------------------------------------------------------------------------------ */
/* one record */

static imp_region *region_slot(imp_acc *a, const char *code)
{
    uint32_t h = 2166136261u;
    for (const char *p = code; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    for (size_t i = 0; i < REGION_SLOTS; i++) {
        imp_region *r = &a->regions[(h + i) % REGION_SLOTS];
        if (r->persons && !strcmp(r->code, code))
            return r;
        if (!r->persons) {
            if (a->nregions >= IMP_MAX_REGIONS)
                break;
            a->nregions++;
            snprintf(r->code, sizeof r->code, "%s", code);
            return r;
        }
    }
    a->regions_full = true;
    imp_region *other = &a->regions[REGION_SLOTS]; /* every region beyond the cap */
    snprintf(other->code, sizeof other->code, "*");
    return other;
}

/* the applicant's county: where they live, else their hukou */
static const char *region_of(const yz_record *rec)
{
    static const char *const from[] = {"residence", "hukou"};
    for (size_t i = 0; i < 2; i++) {
        const yj *v = yj_get(yj_get(rec->doc, from[i]), "region");
        if (yj_typeof(v) == YJ_STRING && strlen(yj_str(v)) == 6)
            return yj_str(v);
    }
    return "";
}

static char *mask_id(const char *id)
{
    if (!id)
        return yz_strdup("");
    size_t n = strlen(id);
    char *m = yz_strdup(id);
    for (size_t i = 0; i < n; i++)
        if (n < 10 || (i >= 6 && i + 4 < n))
            m[i] = '*';
    return m;
}

static void add_reject(worker *w, uint64_t order, long line, const yz_diags *d, const char *why, bool failed)
{
    imp_acc *a = &w->acc;
    if (failed)
        a->failed++;
    else
        a->rejected++;
    if (a->nrejects == IMP_MAX_REJECTS)
        return;
    imp_reject *r = &a->rejects[a->nrejects++];
    r->order = order;
    r->line = line;
    r->failed = failed;
    record_reject(pop_name(w->R->l), line, d, why, NULL, &r->json, &r->message);
}

static const char *mark(int s)
{
    return s == YZ_MET ? "✔" : s == YZ_NOT_MET ? "✘" : "?";
}

/* what a person reads about one item: its status and reason, or the amount granted, then the
   conditions that do not hold */
static void item_lines(strbuf *sb, const ditem *di)
{
    const pitem *it = di->it;
    if (it->kind == PI_SUBSIDY && di->status == YZ_MET) {
        sb_addf(sb, "✔ %s：", it->name);
        if (it->per && !strcmp(it->per, "month")) {
            sb_adds(sb, "每月 ");
            imp_yuan(sb, di->amount_fen);
            sb_adds(sb, " 元");
            if (di->months >= 0) {
                sb_addf(sb, " × %lld 个月，合计 ", (long long)di->months);
                imp_yuan(sb, di->total_fen);
                sb_adds(sb, " 元");
            }
        } else if (it->per && !strcmp(it->per, "loan")) {
            sb_adds(sb, "贷款额度最高 ");
            imp_yuan(sb, di->amount_fen);
            sb_adds(sb, " 元");
        } else {
            sb_adds(sb, "一次性 ");
            imp_yuan(sb, di->amount_fen);
            sb_adds(sb, " 元");
        }
    } else {
        sb_addf(sb, "%s %s —— %s", mark(di->status), it->name, di->reason ? di->reason : "");
    }
    if (di->status == YZ_MET)
        return;
    /* a few conditions are shown whole, so the one that fails is seen among those that hold */
    bool all = di->nconds <= 6;
    int shown = 0;
    for (size_t i = 0; i < di->nconds && shown < 6; i++) {
        const dcond *c = &di->conds[i];
        if (c->result == 1 && !all)
            continue;
        sb_adds(sb, "\n  ");
        for (int k = 0; k < c->depth && k < 4; k++)
            sb_adds(sb, "  ");
        sb_addf(sb, "%s %s", c->result == 1 ? "✔" : c->result == 0 ? "✘" : "?", c->text ? c->text : "");
        if (c->note)
            sb_addf(sb, "（%s）", c->note);
        if (c->error)
            sb_addf(sb, "（规则错误：%s）", c->error);
        shown++;
    }
}

static const ditem *find_item(const run *R, int s, const yz_determination *det, pikind kind, size_t u)
{
    const int *map = R->sd[s].map[kind == PI_CATEGORY ? 0 : 1];
    for (size_t i = 0; i < det->nitems[kind]; i++)
        if (map[det->items[kind][i].it->index] == (int)u)
            return &det->items[kind][i];
    return NULL;
}

static char *side_lines(const run *R, int s, const yz_determination *det, size_t kind)
{
    const yz_impact *im = R->im;
    strbuf sb = STRBUF_INIT;
    if (kind < 9) {
        sb_addf(&sb, "%s %s", mark(det->target), det->target_reason ? det->target_reason : "");
        return sb_release(&sb);
    }
    imp_kind x = imp_kind_of(im, kind);
    const ditem *di = find_item(R, s, det, x.subsidy ? PI_SUBSIDY : PI_CATEGORY, x.u);
    if (di)
        item_lines(&sb, di);
    else
        sb_addf(&sb, "✘ %s —— %s无此项", x.item->name, s == IMP_BASE ? "基线" : "改革方案");
    return sb_release(&sb);
}

/* the record changed in kinds[0..n): explain it under both rulesets for the kinds still short of
   examples */
static void add_examples(worker *w, const yz_record *rec, uint64_t order, long line, size_t n)
{
    run *R = w->R;
    imp_acc *a = &w->acc;
    yz_determination *det[2] = {NULL, NULL};
    yz_diags d;
    yz_diags_init(&d);
    int rc = yz_evaluate(w->ev[0], rec, R->im->as_of, &det[0], &d);
    if (rc == YZ_OK)
        rc = yz_evaluate(w->ev[1], rec, R->im->as_of, &det[1], &d);
    yz_diags_free(&d);
    if (rc == YZ_OK) {
        for (size_t i = 0; i < n; i++) {
            size_t k = w->changed[i];
            if (a->nexamples[k] >= (size_t)R->nex)
                continue;
            imp_example *e = &a->examples[k * (size_t)R->nex + a->nexamples[k]++];
            e->order = order;
            e->line = line;
            e->id = mask_id(rec->id_number);
            e->before = side_lines(R, IMP_BASE, det[0], k);
            e->after = side_lines(R, IMP_REFORM, det[1], k);
        }
    } else if (rc == YZ_ENOMEM) {
        atomic_store(&R->stop, true);
        pthread_mutex_lock(&R->mu);
        R->fatal_rc = YZ_ENOMEM;
        pthread_mutex_unlock(&R->mu);
    }
    yz_determination_free(det[0]);
    yz_determination_free(det[1]);
}

static void outcome(worker *w, int s, const yz_determination *det)
{
    const run *R = w->R;
    size_t ncat = R->im->ncat, nsub = R->im->nsub;
    memset(w->cs[s], YZ_NOT_MET, ncat + 1);
    memset(w->ss[s], YZ_NOT_MET, nsub + 1);
    for (size_t i = 0; i < nsub; i++) {
        w->amount[s][i] = 0;
        w->total[s][i] = -1;
    }
    const int *cmap = R->sd[s].map[0], *smap = R->sd[s].map[1];
    for (size_t i = 0; i < det->nitems[PI_CATEGORY]; i++) {
        const ditem *di = &det->items[PI_CATEGORY][i];
        int u = cmap[di->it->index];
        if (u >= 0)
            w->cs[s][u] = (int8_t)di->status;
    }
    for (size_t i = 0; i < det->nitems[PI_SUBSIDY]; i++) {
        const ditem *di = &det->items[PI_SUBSIDY][i];
        int u = smap[di->it->index];
        if (u < 0)
            continue;
        w->ss[s][u] = (int8_t)di->status;
        if (di->status == YZ_MET) {
            w->amount[s][u] = di->amount_fen;
            w->total[s][u] = di->total_fen;
        }
    }
}

static void add_outcome(worker *w, const yz_record *rec, yz_determination *const det[2], uint64_t order, long line)
{
    run *R = w->R;
    yz_impact *im = R->im;
    imp_acc *a = &w->acc;
    size_t nch = 0;
    a->decided++;
    outcome(w, IMP_BASE, det[0]);
    outcome(w, IMP_REFORM, det[1]);
    int tb = det[0]->target, tr = det[1]->target;
    a->target[tb][tr]++;
    if (tb != tr)
        w->changed[nch++] = imp_kind_target(tb, tr);
    for (size_t u = 0; u < im->ncat; u++) {
        int b = w->cs[0][u], r = w->cs[1][u];
        a->cats[u].m[b][r]++;
        if (b != r)
            w->changed[nch++] = imp_kind_cat(im, u, b, r);
    }
    int64_t monthly[2] = {0, 0}, whole[2] = {0, 0};
    bool unknown = false;
    for (size_t u = 0; u < im->nsub; u++) {
        imp_item *it = &a->subs[u];
        int b = w->ss[0][u], r = w->ss[1][u];
        it->m[b][r]++;
        if (b != r)
            w->changed[nch++] = imp_kind_sub(im, u, b, r);
        if (b == YZ_MET && r == YZ_MET && w->amount[0][u] != w->amount[1][u]) {
            bool higher = w->amount[1][u] > w->amount[0][u];
            if (higher)
                it->higher++;
            else
                it->lower++;
            w->changed[nch++] = imp_kind_amount(im, u, higher);
        }
        for (int s = 0; s < 2; s++) {
            int st = s ? r : b;
            unknown |= st == YZ_UNDETERMINED;
            if (st != YZ_MET)
                continue;
            const char *per = im->a.subs[u].per[s];
            int64_t amt = w->amount[s][u], tot = w->total[s][u];
            if (!strcmp(per, "month")) {
                add_fen(a, &it->monthly[s], amt);
                add_fen(a, &monthly[s], amt);
                if (tot >= 0) {
                    add_fen(a, &it->whole[s], tot);
                    add_fen(a, &whole[s], tot);
                } else {
                    it->open[s]++;
                }
            } else if (!strcmp(per, "loan")) {
                add_fen(a, &it->loan[s], amt);
            } else {
                add_fen(a, &it->whole[s], amt);
                add_fen(a, &whole[s], amt);
            }
        }
    }
    for (size_t i = 0; i < nch; i++)
        a->kind_count[w->changed[i]]++;
    add_money(a, &a->total, monthly, whole);
    int64_t dwhole = 0, dmonthly = 0;
    if (__builtin_sub_overflow(whole[1], whole[0], &dwhole) || __builtin_sub_overflow(monthly[1], monthly[0], &dmonthly))
        a->overflow = true;
    int bk = unknown ? IMP_B_UNKNOWN : bucket_of(dwhole);
    bool gainer = bk > IMP_B_SAME && bk < IMP_B_UNKNOWN, loser = bk < IMP_B_SAME;
    a->buckets[bk].persons++;
    add_fen(a, &a->buckets[bk].whole_change, dwhole);
    add_fen(a, &a->buckets[bk].monthly_change, dmonthly);
    imp_region *rg = region_slot(a, region_of(rec));
    rg->persons++;
    rg->targets[0] += tb == YZ_MET;
    rg->targets[1] += tr == YZ_MET;
    rg->gainers += gainer;
    rg->losers += loser;
    add_money(a, &rg->money, monthly, whole);
    bool any = false;
    for (size_t u = 0; u <= im->ncat; u++) {
        if (u == im->ncat ? any : w->cs[0][u] != YZ_MET)
            continue;
        any = true;
        imp_catrow *row = &a->catrows[u];
        row->persons++;
        row->target_lost += tb == YZ_MET && tr != YZ_MET;
        row->target_gained += tb != YZ_MET && tr == YZ_MET;
        row->gainers += gainer;
        row->losers += loser;
        add_money(a, &row->money, monthly, whole);
    }
    bool want = false;
    for (size_t i = 0; i < nch && !want; i++)
        want = a->nexamples[w->changed[i]] < (size_t)R->nex;
    if (want)
        add_examples(w, rec, order, line, nch);
}

static void one_record(worker *w, pop_chunk *c, int i)
{
    run *R = w->R;
    uint64_t order = c->seq * POP_CHUNK + (uint64_t)i;
    w->acc.records++;
    arena_clear(&w->mem);
    yz_diags d;
    yz_diags_init(&d);
    yz_record rec;
    char why[160];
    if (!pop_record(R->l, c, i, &w->mem, &rec, &d, why)) {
        add_reject(w, order, c->line[i], &d, why, false);
        yz_diags_free(&d);
        return;
    }
    yz_determination *det[2] = {NULL, NULL};
    int rc = yz_evaluate_brief(w->ev[0], &rec, R->im->as_of, &det[0], &d);
    if (rc == YZ_OK)
        rc = yz_evaluate_brief(w->ev[1], &rec, R->im->as_of, &det[1], &d);
    if (rc == YZ_OK) {
        add_outcome(w, &rec, det, order, c->line[i]);
    } else if (rc == YZ_ENOMEM) {
        /* the evaluator cannot be used again: the run stops (nothing is recorded anyway) */
        atomic_store(&R->stop, true);
        pthread_mutex_lock(&R->mu);
        R->fatal_rc = YZ_ENOMEM;
        pthread_mutex_unlock(&R->mu);
    } else {
        /* the CPU-time backstop: the rule named in d could not decide this record */
        yz_diags none;
        yz_diags_init(&none);
        add_reject(w, order, c->line[i], &none, d.n ? d.items[0].message : yz_rc_name(rc), true);
    }
    yz_determination_free(det[0]);
    yz_determination_free(det[1]);
    yz_diags_free(&d);
}

/* ------------------------------------------------------------------------------------------ */
/* threads */

static void decide_chunk(worker *w, pop_chunk *c)
{
    run *R = w->R;
    for (int i = 0; i < c->n && !atomic_load(&R->stop); i++)
        one_record(w, c, i);
    atomic_fetch_add(&R->done, (uint_fast64_t)c->n);
    pop_chunk_free(c);
}

/* the pool's operations: its worker states are the run's workers, made (with their evaluators)
   by start; a decided chunk is freed where it was decided, and the calling thread reports progress */
static void *pool_worker(void *arg)
{
    run *R = arg;
    return &R->workers[R->handed++];
}

static void pool_run(void *w, void *chunk)
{
    decide_chunk(w, chunk);
}

static void pool_done(void *chunk, void *arg)
{
    (void)chunk;
    run *R = arg;
    if (R->o->progress)
        R->o->progress(atomic_load(&R->done), pop_consumed(R->l), pop_size(R->l), R->o->progress_ctx);
}

static void drain(run *R, yz_diags *d)
{
    pop_chunk *c;
    while (!atomic_load(&R->stop) && (c = pop_next(R->l, d)))
        pool_submit(R->pool, c);
}

/* each person's newest stored record (yz_store_scan) */
static int on_stored(const yz_stored *s, void *ctx)
{
    run *R = ctx;
    pop_push(R->l, s->input, strlen(s->input));
    drain(R, NULL);
    return atomic_load(&R->stop);
}

/* ------------------------------------------------------------------------------------------ */
/* merging and checking */

static void merge_item(imp_item *to, const imp_item *from, imp_acc *a)
{
    for (int b = 0; b < 3; b++)
        for (int r = 0; r < 3; r++)
            to->m[b][r] += from->m[b][r];
    to->lower += from->lower;
    to->higher += from->higher;
    for (int s = 0; s < 2; s++) {
        add_fen(a, &to->monthly[s], from->monthly[s]);
        add_fen(a, &to->whole[s], from->whole[s]);
        add_fen(a, &to->loan[s], from->loan[s]);
        to->open[s] += from->open[s];
    }
}

static void merge_money(imp_acc *a, imp_money *to, const imp_money *from)
{
    add_money(a, to, from->monthly, from->whole);
}

static void merge_region(imp_acc *a, const imp_region *from)
{
    imp_region *to = !strcmp(from->code, "*") ? &a->regions[REGION_SLOTS] : region_slot(a, from->code);
    if (to == &a->regions[REGION_SLOTS])
        snprintf(to->code, sizeof to->code, "*");
    to->persons += from->persons;
    to->targets[0] += from->targets[0];
    to->targets[1] += from->targets[1];
    to->gainers += from->gainers;
    to->losers += from->losers;
    merge_money(a, &to->money, &from->money);
}

static int cmp_order_ex(const void *x, const void *y)
{
    const imp_example *a = x, *b = y;
    return a->order < b->order ? -1 : a->order > b->order;
}

static int cmp_order_rej(const void *x, const void *y)
{
    const imp_reject *a = x, *b = y;
    return a->order < b->order ? -1 : a->order > b->order;
}

static int cmp_region(const void *x, const void *y)
{
    const imp_region *a = x, *b = y;
    /* counties in code order, then the records without one, then every region beyond the cap */
    int ra = !strcmp(a->code, "*") ? 2 : !a->code[0], rb = !strcmp(b->code, "*") ? 2 : !b->code[0];
    if (ra != rb)
        return ra - rb;
    return strcmp(a->code, b->code);
}

/* merges worker w's accumulator into the report's (and empties it) */
static void merge(yz_impact *im, imp_acc *w)
{
    imp_acc *a = &im->a;
    a->records += w->records;
    a->decided += w->decided;
    a->rejected += w->rejected;
    a->failed += w->failed;
    a->overflow |= w->overflow;
    for (int b = 0; b < 3; b++)
        for (int r = 0; r < 3; r++)
            a->target[b][r] += w->target[b][r];
    for (size_t u = 0; u < im->ncat; u++)
        merge_item(&a->cats[u], &w->cats[u], a);
    for (size_t u = 0; u < im->nsub; u++)
        merge_item(&a->subs[u], &w->subs[u], a);
    merge_money(a, &a->total, &w->total);
    for (size_t i = 0; i <= REGION_SLOTS; i++)
        if (w->regions[i].persons)
            merge_region(a, &w->regions[i]);
    a->regions_full |= w->regions_full;
    for (size_t u = 0; u <= im->ncat; u++) {
        imp_catrow *to = &a->catrows[u];
        const imp_catrow *from = &w->catrows[u];
        to->persons += from->persons;
        to->target_lost += from->target_lost;
        to->target_gained += from->target_gained;
        to->gainers += from->gainers;
        to->losers += from->losers;
        merge_money(a, &to->money, &from->money);
    }
    for (int b = 0; b < IMP_NBUCKETS; b++) {
        a->buckets[b].persons += w->buckets[b].persons;
        add_fen(a, &a->buckets[b].whole_change, w->buckets[b].whole_change);
        add_fen(a, &a->buckets[b].monthly_change, w->buckets[b].monthly_change);
    }
    /* examples: the first nex of each kind in input order, of both lists */
    size_t nex = im->nex;
    imp_example *tmp = yz_malloc(2 * nex * sizeof *tmp);
    for (size_t k = 0; k < im->nkinds; k++) {
        a->kind_count[k] += w->kind_count[k];
        size_t n = 0;
        for (size_t e = 0; e < a->nexamples[k]; e++)
            tmp[n++] = a->examples[k * nex + e];
        for (size_t e = 0; e < w->nexamples[k]; e++)
            tmp[n++] = w->examples[k * nex + e];
        qsort(tmp, n, sizeof *tmp, cmp_order_ex);
        a->nexamples[k] = n < nex ? n : nex;
        for (size_t e = 0; e < n; e++) {
            if (e < nex)
                a->examples[k * nex + e] = tmp[e];
            else
                example_free(&tmp[e]);
        }
        w->nexamples[k] = 0;
    }
    yz_free(tmp);
    imp_reject *rj = yz_malloc(2 * IMP_MAX_REJECTS * sizeof *rj);
    size_t n = 0;
    for (size_t i = 0; i < a->nrejects; i++)
        rj[n++] = a->rejects[i];
    for (size_t i = 0; i < w->nrejects; i++)
        rj[n++] = w->rejects[i];
    qsort(rj, n, sizeof *rj, cmp_order_rej);
    a->nrejects = n < IMP_MAX_REJECTS ? n : IMP_MAX_REJECTS;
    for (size_t i = 0; i < n; i++) {
        if (i < IMP_MAX_REJECTS)
            a->rejects[i] = rj[i];
        else
            reject_free(&rj[i]);
    }
    w->nrejects = 0;
    yz_free(rj);
}

static void check(yz_impact *im, const char *id, const char *label, int64_t expected, int64_t got)
{
    if (im->nchecks == IMP_MAX_CHECKS)
        return;
    imp_check *c = &im->checks[im->nchecks++];
    c->id = id;
    c->label = label;
    c->expected = expected;
    c->got = got;
    c->ok = expected == got && !im->a.overflow;
    im->reconciled &= c->ok;
}

/* four money totals of a part against the whole: the first that differs, or the last */
static void check_money(yz_impact *im, const char *id, const char *label, const imp_money *sum, const imp_money *whole)
{
    int64_t e = whole->whole[1], g = sum->whole[1];
    for (int s = 0; s < 2; s++) {
        if (sum->monthly[s] != whole->monthly[s] && e == g) {
            e = whole->monthly[s];
            g = sum->monthly[s];
        }
        if (sum->whole[s] != whole->whole[s] && e == g) {
            e = whole->whole[s];
            g = sum->whole[s];
        }
    }
    check(im, id, label, e, g);
}

static void finish(yz_impact *im)
{
    imp_acc *a = &im->a;
    /* regions, sorted */
    im->regions = arena_alloc(&im->mem, (a->nregions + 2) * sizeof *im->regions);
    for (size_t i = 0; i <= REGION_SLOTS; i++)
        if (a->regions[i].persons)
            im->regions[im->nregions++] = a->regions[i];
    qsort(im->regions, im->nregions, sizeof *im->regions, cmp_region);

    /* reconciliation: every part adds up to its whole */
    im->reconciled = true;
    imp_money subs = {{0, 0}, {0, 0}}, regs = {{0, 0}, {0, 0}};
    imp_acc scratch; /* overflow of these sums shows in a->overflow */
    memset(&scratch, 0, sizeof scratch);
    for (size_t u = 0; u < im->nsub; u++)
        add_money(&scratch, &subs, a->subs[u].monthly, a->subs[u].whole);
    uint64_t region_persons = 0, bucket_persons = 0;
    for (size_t i = 0; i < im->nregions; i++) {
        merge_money(&scratch, &regs, &im->regions[i].money);
        region_persons += im->regions[i].persons;
    }
    int64_t dwhole = 0, dmonthly = 0, bwhole = 0, bmonthly = 0;
    for (int b = 0; b < IMP_NBUCKETS; b++) {
        add_fen(&scratch, &bwhole, a->buckets[b].whole_change);
        add_fen(&scratch, &bmonthly, a->buckets[b].monthly_change);
        bucket_persons += a->buckets[b].persons;
    }
    if (__builtin_sub_overflow(a->total.whole[1], a->total.whole[0], &dwhole) ||
        __builtin_sub_overflow(a->total.monthly[1], a->total.monthly[0], &dmonthly))
        scratch.overflow = true;
    a->overflow |= scratch.overflow;
    check_money(im, "subsidies_sum_to_total", "各项补贴之和等于合计（每月与全期，基线与改革方案）", &subs, &a->total);
    check_money(im, "regions_sum_to_total", "各地区之和等于合计（每月与全期，基线与改革方案）", &regs, &a->total);
    check(im, "changes_sum_to_difference", "各增减档的全期金额变化之和等于合计之差", dwhole, bwhole);
    check(im, "monthly_changes_sum_to_difference", "各增减档的每月金额变化之和等于合计之差", dmonthly, bmonthly);
    check(im, "buckets_count_everyone", "各增减档人数之和等于已核定人数", (int64_t)a->decided, (int64_t)bucket_persons);
    check(im, "regions_count_everyone", "各地区人数之和等于已核定人数", (int64_t)a->decided, (int64_t)region_persons);
    /* every matrix counts every decided person once */
    uint64_t bad = 0, t = 0;
    for (int b = 0; b < 3; b++)
        for (int r = 0; r < 3; r++)
            t += a->target[b][r];
    bad += t != a->decided;
    for (size_t u = 0; u < im->ncat + im->nsub; u++) {
        const imp_item *it = u < im->ncat ? &a->cats[u] : &a->subs[u - im->ncat];
        uint64_t n = 0;
        for (int b = 0; b < 3; b++)
            for (int r = 0; r < 3; r++)
                n += it->m[b][r];
        bad += n != a->decided;
    }
    check(im, "matrices_count_everyone", "每个转移矩阵之和等于已核定人数（不等的矩阵个数）", 0, (int64_t)bad);

    /* the null reform: the same ruleset twice must change nothing */
    im->null_reform = !strcmp(im->ruleset[0], im->ruleset[1]);
    bool zero = dwhole == 0 && dmonthly == 0 && !a->overflow;
    for (int b = 0; b < 3; b++)
        for (int r = 0; r < 3; r++)
            zero &= b == r || !a->target[b][r];
    for (size_t u = 0; u < im->ncat + im->nsub; u++) {
        const imp_item *it = u < im->ncat ? &a->cats[u] : &a->subs[u - im->ncat];
        for (int b = 0; b < 3; b++)
            for (int r = 0; r < 3; r++)
                zero &= b == r || !it->m[b][r];
        zero &= !it->lower && !it->higher && it->monthly[0] == it->monthly[1] && it->whole[0] == it->whole[1];
    }
    for (int b = 0; b < IMP_NBUCKETS; b++)
        zero &= (b == IMP_B_SAME || b == IMP_B_UNKNOWN || !a->buckets[b].persons) && !a->buckets[b].whole_change &&
                !a->buckets[b].monthly_change;
    im->null_ok = zero;
}

/* ------------------------------------------------------------------------------------------ */

static int load_side(run *R, int s, yz_diags *d)
{
    const yz_impact_options *o = R->o;
    const char *which = s == IMP_BASE ? o->baseline : o->reform;
    const char *role = s == IMP_BASE ? "baseline" : "reform";
    int rc = yz_ruleset_load(o->home, which, &R->rs[s], d);
    if (rc == YZ_OK)
        rc = yz_lint_ruleset(R->rs[s], NULL, d);
    if (rc == YZ_EIO)
        return YZ_EUSAGE;
    if (rc != YZ_OK) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0,
                 "the %s rules (%s) have errors and cannot be used: fix them (yuanzhu lint %s) and run again", role,
                 which, which);
        return YZ_EPOLICY;
    }
    /* a reform that is the baseline's very ruleset is not in force on the date either: said once */
    bool same = s == IMP_REFORM && R->rs[0] && !strcmp(yz_ruleset_id(R->rs[0]), yz_ruleset_id(R->rs[1]));
    if (same && !R->sd[0].pol)
        return YZ_ENOTINFORCE;
    if ((rc = yz_ruleset_in_force(R->rs[s], R->im->as_of, d)) != YZ_OK)
        return rc;
    R->sd[s].pol = ruleset_policy_at(R->rs[s], R->im->as_of);
    R->im->path[s] = arena_strdup(&R->im->mem, which);
    R->im->province[s] = arena_strdup(&R->im->mem, yz_ruleset_province(R->rs[s]));
    snprintf(R->im->ruleset[s], sizeof R->im->ruleset[s], "%s", yz_ruleset_id(R->rs[s]));
    return YZ_OK;
}

static int open_population(run *R, yz_store **st, yz_diags *d)
{
    const yz_impact_options *o = R->o;
    yz_impact *im = R->im;
    if (o->store) {
        if (!yz_is_file(o->store)) {
            diag_add(d, YZ_SEV_ERROR, o->store, 0, 0, "no decision store here: name the store whose records to use (--store PATH)");
            return YZ_ESTORE;
        }
        int rc = yz_store_open(o->store, NULL, st, d);
        if (rc != YZ_OK)
            return rc;
        im->source = arena_strdup(&im->mem, o->store);
        im->from_store = true;
        R->l = pop_new_pushed(im->source, true);
        return YZ_OK;
    }
    im->source = arena_strdup(&im->mem, o->input);
    return pop_open(o->input, o->format, o->encoding, true, &R->l, d);
}

static int start(run *R, yz_diags *d)
{
    const yz_impact_options *o = R->o;
    yz_impact *im = R->im;
    int jobs = o->jobs > 0 ? o->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
    jobs = jobs < 1 ? 1 : jobs > 64 ? 64 : jobs;
    R->nworkers = jobs;
    R->workers = yz_calloc((size_t)jobs, sizeof *R->workers);
    for (int i = 0; i < jobs; i++) {
        worker *w = &R->workers[i];
        w->R = R;
        arena_init(&w->mem, 64 * 1024);
        acc_init(&w->acc, im);
        for (int s = 0; s < 2; s++) {
            w->cs[s] = yz_malloc(im->ncat + 1);
            w->ss[s] = yz_malloc(im->nsub + 1);
            w->amount[s] = yz_malloc((im->nsub + 1) * sizeof(int64_t));
            w->total[s] = yz_malloc((im->nsub + 1) * sizeof(int64_t));
        }
        w->changed = yz_malloc((im->nkinds + 1) * sizeof *w->changed);
        for (int s = 0; s < 2; s++) {
            int rc = yz_evaluator_new(R->rs[s], &o->limits, &w->ev[s], d);
            if (rc != YZ_OK)
                return rc;
        }
    }
    return YZ_OK;
}

static void free_run(run *R)
{
    for (int i = 0; i < R->nworkers; i++) {
        worker *w = &R->workers[i];
        for (int s = 0; s < 2; s++) {
            yz_evaluator_free(w->ev[s]);
            yz_free(w->cs[s]);
            yz_free(w->ss[s]);
            yz_free(w->amount[s]);
            yz_free(w->total[s]);
        }
        yz_free(w->changed);
        acc_free(&w->acc, R->im);
        arena_free(&w->mem);
    }
    yz_free(R->workers);
    for (int s = 0; s < 2; s++) {
        yz_free(R->sd[s].map[0]);
        yz_free(R->sd[s].map[1]);
        yz_ruleset_free(R->rs[s]);
    }
    pop_close(R->l);
}

/* the first rejected and failed records, as batch shows them */
static void report_rejects(const yz_impact *im, yz_diags *d)
{
    const imp_acc *a = &im->a;
    size_t shown = a->nrejects < SHOWN_REJECTS ? a->nrejects : SHOWN_REJECTS;
    for (size_t i = 0; i < shown; i++)
        diag_add(d, YZ_SEV_ERROR, im->source, (int)a->rejects[i].line, 0, "%s", a->rejects[i].message);
    uint64_t all = a->rejected + a->failed;
    if (all > shown)
        diag_add(d, YZ_SEV_NOTE, im->source, 0, 0,
                 "%llu more records were not decided: the report lists the first %d (--json), and yuanzhu batch "
                 "--no-record --rejects FILE lists them all",
                 (unsigned long long)(all - shown), IMP_MAX_REJECTS);
}

int yz_impact_run(const yz_impact_options *o, yz_impact **out, yz_diags *d)
{
    *out = NULL;
    yz_date date;
    if (!o->as_of || !yz_date_parse(o->as_of, strlen(o->as_of), &date)) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "as-of date '%s' is not a real date; write YYYY-MM-DD", o->as_of ? o->as_of : "");
        return YZ_EUSAGE;
    }
    if (!o->baseline || !o->reform || (!o->input == !o->store)) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "impact needs a baseline, a reform and one population (a ledger or a store)");
        return YZ_EUSAGE;
    }
    yz_impact *im = yz_calloc(1, sizeof *im);
    arena_init(&im->mem, 64 * 1024);
    snprintf(im->as_of, sizeof im->as_of, "%s", o->as_of);
    run RR;
    run *R = &RR;
    memset(R, 0, sizeof *R);
    R->o = o;
    R->im = im;
    R->nex = o->examples > 0 ? (o->examples > MAX_EXAMPLES ? MAX_EXAMPLES : o->examples) : DEFAULT_EXAMPLES;
    im->nex = (size_t)R->nex;
    atomic_init(&R->stop, false);
    atomic_init(&R->done, 0);
    yz_store *st = NULL;
    int rc = load_side(R, IMP_BASE, d);
    int rc2 = load_side(R, IMP_REFORM, d); /* both are checked, whatever the first gave */
    if (rc == YZ_OK)
        rc = rc2;
    if (rc != YZ_OK) {
        free_run(R);
        yz_impact_free(im);
        return rc;
    }
    im->ncat = union_items(R, PI_CATEGORY, &im->a.cats);
    im->nsub = union_items(R, PI_SUBSIDY, &im->a.subs);
    im->nkinds = 9 + (im->ncat + im->nsub) * 9 + im->nsub * 2;
    /* the report's accumulator, with the item names union_items gave it */
    imp_item *cats = im->a.cats, *subs = im->a.subs;
    acc_init(&im->a, im);
    memcpy(im->a.cats, cats, im->ncat * sizeof *cats);
    memcpy(im->a.subs, subs, im->nsub * sizeof *subs);
    if ((rc = open_population(R, &st, d)) == YZ_OK)
        rc = start(R, d);
    if (rc != YZ_OK) {
        yz_store_close(st);
        free_run(R);
        yz_impact_free(im);
        return rc;
    }
    pthread_mutex_init(&R->mu, NULL);
    /* threads the system refuses are left out: the others take all the work (none: the calling
       thread decides each chunk as it is read) */
    yz_pool_ops ops = {.worker_new = pool_worker, .run = pool_run, .done = pool_done, .arg = R};
    R->pool = pool_new(R->nworkers, &ops);
    yz_diags rd; /* the reader's problems, kept apart from the workers' threads */
    yz_diags_init(&rd);
    if (st) {
        yz_scan q = {.newest = true, .input = true};
        rc = yz_store_scan(st, &q, on_stored, R, &rd);
        /* a damaged stored record was named in rd and left out: the report is of the others */
        if (rc == YZ_EFAILED)
            rc = YZ_ESTORE;
        pop_push_end(R->l);
    }
    drain(R, &rd);
    pool_free(R->pool);
    R->pool = NULL;
    pthread_mutex_destroy(&R->mu);
    yz_store_close(st);
    for (size_t i = 0; i < rd.n; i++) {
        const yz_diag *x = &rd.items[i];
        diag_add(d, x->severity, x->file, x->line, x->col, "%s", x->message);
    }
    yz_diags_free(&rd);
    if (rc == YZ_OK)
        rc = pop_status(R->l);
    if (rc == YZ_OK && R->fatal_rc)
        rc = R->fatal_rc;
    if (rc == YZ_ENOMEM)
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "out of memory: the impact run stopped (nothing was recorded); run it again with more memory or fewer --jobs");
    pop_sha256(R->l, im->sha256);
    /* lines too long to be records were reported as they were skipped */
    im->a.records += pop_skipped(R->l);
    im->a.rejected += pop_skipped(R->l);
    for (int i = 0; i < R->nworkers; i++)
        merge(im, &R->workers[i].acc);
    if (R->o->progress)
        R->o->progress(atomic_load(&R->done), pop_consumed(R->l), pop_size(R->l), R->o->progress_ctx);
    free_run(R);
    if (rc != YZ_OK && rc != YZ_EINPUT) {
        yz_impact_free(im);
        return rc;
    }
    finish(im);
    report_rejects(im, d);
    *out = im;
    if (rc == YZ_OK && im->a.failed)
        rc = YZ_EPOLICY;
    else if (rc == YZ_OK && im->a.rejected)
        rc = YZ_EINPUT;
    return rc;
}

bool yz_impact_consistent(const yz_impact *im)
{
    return im->reconciled && (!im->null_reform || im->null_ok);
}

void yz_impact_free(yz_impact *im)
{
    if (!im)
        return;
    acc_free(&im->a, im);
    arena_free(&im->mem);
    yz_free(im);
}

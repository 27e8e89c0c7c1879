/* yz_eval.c: evaluates a record against the policy in force on the as-of date.
 *
 * Conditions combine by Kleene's three-valued logic (false and unknown = false, true or unknown =
 * true), so no outcome depends on the order conditions are written in.  A Lua condition that reads
 * an absent field is unknown; one that fails or exceeds a limit is unknown and carries its error.
 * Results are memoised per record by condition node, and explanations are read back from that
 * memo: the conditions that decided each item, the record fields and parameters they read, and
 * the fields still missing. */
#include "yz_eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yz_date.h"
#include "yz_diag.h"
#include "yz_record.h"
#include "yz_rulevm.h"

static void no_memory(yz_diags *d)
{
    diag_add(d, YZ_SEV_ERROR, NULL, 0, 0,
             "out of memory: the system refused memory to the rule sandbox, so nothing was decided; "
             "free some memory and run it again");
}

int evaluator_new_with(const yz_ruleset *rs, const yz_limits *limits, void *(*host_realloc)(void *p, size_t n),
                       yz_evaluator **out, yz_diags *d)
{
    *out = NULL;
    yz_evaluator *ev = yz_calloc(1, sizeof *ev);
    ev->rs = rs;
    if (rvm_new(rs, limits, host_realloc, &ev->vm) != YZ_OK) {
        yz_free(ev);
        no_memory(d);
        return YZ_ENOMEM;
    }
    ev->leafrec = yz_calloc(rs->nleaves ? rs->nleaves : 1, sizeof(leafrec));
    ev->node_gen = yz_calloc(rs->nnodes ? rs->nnodes : 1, sizeof(uint32_t));
    ev->node_tv = yz_calloc(rs->nnodes ? rs->nnodes : 1, 1);
    for (size_t p = 0; p < rs->npolicies; p++)
        for (int k = 0; k < PI_NKINDS; k++)
            if (rs->policies[p]->nitems[k] > ev->max_items)
                ev->max_items = rs->policies[p]->nitems[k];
    for (int k = 0; k < PI_NKINDS; k++) {
        ev->item_gen[k] = yz_calloc(ev->max_items + 1, sizeof(uint32_t));
        ev->item_tv[k] = yz_calloc(ev->max_items + 1, 1);
        ev->item_built[k] = yz_calloc(ev->max_items + 1, sizeof(ditem *));
    }
    *out = ev;
    return YZ_OK;
}

int yz_evaluator_new(const yz_ruleset *rs, const yz_limits *limits, yz_evaluator **out, yz_diags *d)
{
    return evaluator_new_with(rs, limits, NULL, out, d);
}

void yz_evaluator_free(yz_evaluator *ev)
{
    if (!ev)
        return;
    rvm_free(ev->vm);
    yz_free(ev->leafrec);
    yz_free(ev->node_gen);
    yz_free(ev->node_tv);
    for (int k = 0; k < PI_NKINDS; k++) {
        yz_free(ev->item_gen[k]);
        yz_free(ev->item_tv[k]);
        yz_free(ev->item_built[k]);
    }
    yz_free(ev);
}

/* ------------------------------------------------------------------------------------------ */
/* three-valued evaluation, memoised per record */

static int8_t eval_leaf(yz_evaluator *ev, const pcond *c)
{
    int8_t tv;
    rvm_bool(ev->vm, c, &ev->det->mem, &ev->leafrec[c->leaf], &tv);
    return tv;
}

static vstatus eval_int(yz_evaluator *ev, const pcond *c, int64_t max, const char *what, int64_t *out)
{
    return rvm_int(ev->vm, c, max, what, &ev->det->mem, &ev->leafrec[c->leaf], out);
}

static int8_t eval_target(yz_evaluator *ev)
{
    int8_t tv = TV_F;
    for (size_t i = 0; i < ev->pol->nitems[PI_CATEGORY]; i++) {
        int8_t t = eval_item(ev, PI_CATEGORY, (int)i);
        if (t == TV_T)
            return TV_T;
        if (t == TV_U)
            tv = TV_U;
    }
    return tv;
}

static int8_t eval_cond(yz_evaluator *ev, const pcond *c)
{
    if (ev->node_gen[c->id] == ev->gen)
        return ev->node_tv[c->id];
    int8_t tv = TV_U;
    switch (c->kind) {
    case PC_LEAF: tv = eval_leaf(ev, c); break;
    case PC_ALL:
        tv = TV_T;
        for (size_t i = 0; i < c->nkids; i++) {
            int8_t t = eval_cond(ev, c->kids[i]);
            if (t == TV_F) {
                tv = TV_F;
                break;
            }
            if (t == TV_U)
                tv = TV_U;
        }
        break;
    case PC_ANY:
        tv = TV_F;
        for (size_t i = 0; i < c->nkids; i++) {
            int8_t t = eval_cond(ev, c->kids[i]);
            if (t == TV_T) {
                tv = TV_T;
                break;
            }
            if (t == TV_U)
                tv = TV_U;
        }
        break;
    case PC_NOT: {
        int8_t t = eval_cond(ev, c->kids[0]);
        tv = t == TV_U ? TV_U : t == TV_T ? TV_F : TV_T;
        break;
    }
    case PC_CATEGORY: tv = c->ref_index >= 0 ? eval_item(ev, PI_CATEGORY, c->ref_index) : TV_U; break;
    case PC_CONDITION: tv = c->ref_index >= 0 ? eval_item(ev, PI_CONDITION, c->ref_index) : TV_U; break;
    case PC_PREREQ: tv = eval_item(ev, PI_PREREQ, c->ref_index); break;
    case PC_DISQUAL: tv = eval_item(ev, PI_DISQUAL, c->ref_index); break;
    case PC_TARGETS: tv = eval_target(ev); break;
    }
    ev->node_gen[c->id] = ev->gen;
    ev->node_tv[c->id] = tv;
    return tv;
}

int8_t eval_item(yz_evaluator *ev, pikind k, int idx)
{
    if (ev->item_gen[k][idx] == ev->gen)
        return ev->item_tv[k][idx] == 3 ? TV_U : ev->item_tv[k][idx];
    ev->item_gen[k][idx] = ev->gen;
    ev->item_tv[k][idx] = 3; /* in progress: a cycle reads unknown (lint refuses cycles) */
    const pitem *it = &ev->pol->items[k][idx];
    int8_t tv;
    if (k != PI_CONDITION && !item_in_force(it, ev->as_of))
        tv = k == PI_PREREQ ? TV_T : TV_F; /* an item not in force asks and grants nothing */
    else
        tv = eval_cond(ev, it->full ? it->full : it->when);
    ev->item_tv[k][idx] = tv;
    return tv;
}

/* The date `months` months after as_of (on the month end when the day does not exist). */
static yz_date plus_months(const char *as_of, int64_t months)
{
    yz_date d;
    yz_date_parse(as_of, strlen(as_of), &d);
    long total = (long)d.y * 12 + (d.m - 1) + (long)months;
    yz_date e = {(int)(total / 12), (int)(total % 12) + 1, d.d};
    int dim = yz_days_in_month(e.y, e.m);
    if (e.d > dim)
        e.d = dim;
    return e;
}

/* Where period k of a term starts: as_of + k months; for a term in calendar months, as_of for the
 * first period and the first of each later month. */
static yz_date period_start(const char *as_of, int64_t k, bool calendar)
{
    yz_date e = plus_months(as_of, k);
    if (calendar && k > 0)
        e.d = 1;
    return e;
}

/* The day before a date. */
static void day_before(yz_date d, char *out)
{
    yz_date_format(yz_days_to_date(yz_date_to_days(d) - 1), out);
}

/* The last day of a term of `months` periods from as_of. */
static void term_end(const char *as_of, int64_t months, bool calendar, char *out)
{
    if (calendar) {
        yz_date e = plus_months(as_of, months - 1);
        e.d = yz_days_in_month(e.y, e.m);
        yz_date_format(e, out);
        return;
    }
    day_before(plus_months(as_of, months), out);
}

static int cmp_date_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The dates after start and up to end on which a parameter the amount read takes a new value. */
static size_t amount_changes(yz_evaluator *ev, const leafrec *lr, const char *start, const char *end,
                             const char **out, size_t cap)
{
    const readent *log = rvm_log(ev->vm);
    size_t n = 0;
    for (uint32_t k = lr->log_start; k < lr->log_end; k++) {
        if (log[k].kind != RL_PARAM)
            continue;
        const pparam *p = &ev->pol->params[log[k].index];
        for (size_t v = 0; v < p->nvalues; v++) {
            const char *from = p->values[v].from;
            if (!from || strcmp(from, start) <= 0 || strcmp(from, end) > 0)
                continue;
            bool seen = false;
            for (size_t j = 0; j < n; j++)
                seen |= !strcmp(out[j], from);
            if (!seen && n < cap)
                out[n++] = from;
        }
    }
    if (n)
        qsort(out, n, sizeof *out, cmp_date_str);
    return n;
}

/* The schedule of an eligible monthly subsidy whose amount changes during its term: each period
 * at the parameters in force on its first day.  Sets the total; returns V_OK, or the status of a
 * later period's amount that could not be computed. */
static vstatus subsidy_schedule(yz_evaluator *ev, ditem *di, const char **changes, size_t nchanges)
{
    const pitem *it = di->it;
    bool cal = it->calendar_term;
    arena *m = &ev->det->mem;
    /* the first period of each stretch: 0, then the first one starting on or after each change */
    int64_t *firsts = arena_alloc(m, (nchanges + 1) * sizeof *firsts);
    size_t nf = 0;
    firsts[nf++] = 0;
    for (size_t c = 0; c < nchanges; c++) {
        yz_date cd;
        yz_date_parse(changes[c], 10, &cd);
        int64_t k = firsts[nf - 1];
        while (k < di->months && yz_date_cmp(period_start(ev->as_of, k, cal), cd) < 0)
            k++;
        if (k < di->months && k > firsts[nf - 1])
            firsts[nf++] = k;
    }
    if (nf < 2) {
        di->total_fen = di->amount_fen * di->months;
        return V_OK;
    }
    leafrec saved = ev->leafrec[it->amount->leaf]; /* the explanation reads the as-of call */
    di->schedule = arena_alloc(m, nf * sizeof *di->schedule);
    int64_t total = 0;
    vstatus vs = V_OK;
    for (size_t s = 0; s < nf && vs == V_OK; s++) {
        char from[11], to[11];
        yz_date_format(period_start(ev->as_of, firsts[s], cal), from);
        int64_t last = s + 1 < nf ? firsts[s + 1] : di->months;
        if (s + 1 < nf)
            day_before(period_start(ev->as_of, last, cal), to);
        else
            term_end(ev->as_of, di->months, cal, to);
        int64_t amount = di->amount_fen;
        if (s > 0) {
            leafrec lr = {0, 0, NULL, NULL};
            vs = rvm_int_at(ev->vm, it->amount, from, INT64_C(1000000000000), "the amount", m, &lr, &amount);
            if (vs != V_OK)
                saved.error = lr.error;
        }
        dperiod *p = &di->schedule[di->nschedule++];
        p->from = arena_strdup(m, s ? from : ev->as_of);
        p->to = arena_strdup(m, to);
        p->months = last - firsts[s];
        p->amount_fen = amount;
        total += amount * p->months;
    }
    ev->leafrec[it->amount->leaf] = saved;
    di->total_fen = total;
    return vs;
}

/* Amount, months and dates of an eligible subsidy; returns which formulas were evaluated
 * (EX_AMOUNT, EX_MONTHS). */
static unsigned subsidy_amounts(yz_evaluator *ev, ditem *di)
{
    const pitem *it = di->it;
    di->months = -1;
    di->total_fen = -1;
    if (di->status != YZ_MET)
        return 0;
    unsigned used = 0;
    int64_t amount = 0, months = -1;
    vstatus vs = it->amount ? eval_int(ev, it->amount, INT64_C(1000000000000), "the amount", &amount) : V_ERROR;
    if (it->amount)
        used |= EX_AMOUNT;
    if (vs == V_OK && it->months) {
        vs = eval_int(ev, it->months, 1200, "the number of months", &months);
        used |= EX_MONTHS;
    }
    /* memo so the explanation sees these formulas as decisive */
    if (it->amount) {
        ev->node_gen[it->amount->id] = ev->gen;
        ev->node_tv[it->amount->id] = vs == V_OK ? TV_T : TV_U;
    }
    if (it->months) {
        ev->node_gen[it->months->id] = ev->gen;
        ev->node_tv[it->months->id] = vs == V_OK ? TV_T : TV_U;
    }
    if (vs != V_OK) {
        di->status = YZ_UNDETERMINED;
        return used;
    }
    di->amount_fen = amount;
    di->start = ev->as_of;
    if (it->months) {
        if (months == 0) {
            di->status = YZ_NOT_MET;
            const leafrec *lr = &ev->leafrec[it->months->leaf];
            di->reason = lr->note ? lr->note : "可享受期限已用完";
            return used;
        }
        di->months = months;
        char end[11];
        term_end(ev->as_of, months, it->calendar_term, end);
        di->end = arena_strdup(&ev->det->mem, end);
        di->months_note = ev->leafrec[it->months->leaf].note;
    } else {
        di->end = ev->as_of;
    }
    if (it->amount) {
        const leafrec *lr = &ev->leafrec[it->amount->leaf];
        di->amount_note = lr->note;
    }
    bool monthly = it->per && !strcmp(it->per, "month");
    if (monthly && months > 0) {
        const char *changes[16];
        size_t nc = amount_changes(ev, &ev->leafrec[it->amount->leaf], di->start, di->end, changes, 16);
        di->rate_changes = nc > 0;
        di->total_fen = amount * months;
        if (it->schedule && nc && subsidy_schedule(ev, di, changes, nc) != V_OK) {
            di->status = YZ_UNDETERMINED;
            ev->node_tv[it->amount->id] = TV_U;
            di->schedule = NULL;
            di->nschedule = 0;
            di->total_fen = -1;
        }
    } else if (it->per && !strcmp(it->per, "once")) {
        di->total_fen = amount;
    }
    return used;
}

const ditem *eval_build_item(yz_evaluator *ev, pikind k, int idx)
{
    if (ev->item_built[k][idx])
        return ev->item_built[k][idx];
    const pitem *it = &ev->pol->items[k][idx];
    ditem *di = arena_alloc(&ev->det->mem, sizeof *di);
    memset(di, 0, sizeof *di);
    ev->item_built[k][idx] = di;
    di->it = it;
    int8_t tv = eval_item(ev, k, idx);
    di->status = tv == TV_T ? YZ_MET : tv == TV_F ? YZ_NOT_MET : YZ_UNDETERMINED;
    unsigned formulas = k == PI_SUBSIDY ? subsidy_amounts(ev, di) : 0;
    if (ev->det->explained)
        explain_item(ev, di, formulas);
    return di;
}

/* ------------------------------------------------------------------------------------------ */
/* one record */

static int evaluate_in(yz_evaluator *ev, const yz_record *rec, const char *as_of, bool explained,
                       yz_determination **out, yz_diags *d);

/* one record, decided as if it were the first of a new evaluator (see rvm_begin_record) */
static int evaluate(yz_evaluator *ev, const yz_record *rec, const char *as_of, bool explained,
                    yz_determination **out, yz_diags *d)
{
    *out = NULL;
    for (;;) {
        int rc = rvm_begin_record(ev->vm);
        if (rc != YZ_OK)
            break;
        rc = evaluate_in(ev, rec, as_of, explained, out, d);
        if (!rvm_end_decided(ev->vm, rc == YZ_OK))
            return rc;
        yz_determination_free(*out);
        *out = NULL;
        if (rvm_renew(ev->vm) != YZ_OK)
            break;
    }
    no_memory(d);
    return YZ_ENOMEM;
}

static int evaluate_in(yz_evaluator *ev, const yz_record *rec, const char *as_of, bool explained,
                       yz_determination **out, yz_diags *d)
{
    *out = NULL;
    if (rvm_failed(ev->vm)) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0,
                 "out of memory earlier: this evaluator cannot be used any more (free it and make another)");
        return YZ_ENOMEM;
    }
    yz_date dt;
    if (!as_of || !yz_date_parse(as_of, strlen(as_of), &dt)) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "as-of date '%s' is not a real date; write YYYY-MM-DD", as_of ? as_of : "");
        return YZ_EUSAGE;
    }
    const ppolicy *pol = ruleset_policy_at(ev->rs, as_of);
    if (!pol)
        return yz_ruleset_in_force(ev->rs, as_of, d);
    yz_determination *det = yz_calloc(1, sizeof *det);
    arena_init(&det->mem, 16 * 1024);
    det->explained = explained;
    det->province = ev->rs->province;
    det->ruleset = ev->rs->id;
    det->as_of = arena_strdup(&det->mem, as_of);
    det->id_number = arena_strdup(&det->mem, rec->id_number);
    det->pol = pol;
    ev->det = det;
    ev->pol = pol;
    ev->as_of = det->as_of;
    ev->root = rec->root;
    ev->gen++;
    if (ev->gen == 0) {
        /* wrapped: clear the memo stamps */
        memset(ev->node_gen, 0, ev->rs->nnodes * sizeof *ev->node_gen);
        for (int k = 0; k < PI_NKINDS; k++)
            memset(ev->item_gen[k], 0, (ev->max_items + 1) * sizeof(uint32_t));
        ev->gen = 1;
    }
    for (int k = 0; k < PI_NKINDS; k++)
        memset(ev->item_built[k], 0, (ev->max_items + 1) * sizeof(ditem *));

    strbuf err = STRBUF_INIT;
    int brc = rvm_bind(ev->vm, pol, rec->root, as_of, &err);
    if (brc != YZ_OK) {
        yz_determination_free(det);
        ev->det = NULL;
        if (brc == YZ_ENOMEM)
            no_memory(d);
        else if (brc == YZ_EPOLICY)
            diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "the rule library failed to load: %s", sb_str(&err));
        else
            diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "internal error: binding the record in the rule sandbox failed");
        sb_free(&err);
        return brc;
    }
    sb_free(&err);

    /* evaluate: everything in force, in file order.  From here on no Lua API call allocates
       outside a rule's call, so a refusal of memory can only surface as SB_NOMEM from a call, which
       makes its item undetermined like any failed rule: the determination is then thrown away
       below, never returned. */
    static const pikind order[] = {PI_PREREQ, PI_DISQUAL, PI_CATEGORY, PI_SUBSIDY};

    for (size_t o = 0; o < 4; o++) {
        pikind k = order[o];
        size_t n = 0;
        for (size_t i = 0; i < pol->nitems[k]; i++)
            n += item_in_force(&pol->items[k][i], as_of);
        det->items[k] = arena_alloc(&det->mem, (n ? n : 1) * sizeof(ditem));
        for (size_t i = 0; i < pol->nitems[k]; i++) {
            if (!item_in_force(&pol->items[k][i], as_of))
                continue;
            det->items[k][det->nitems[k]++] = *eval_build_item(ev, k, (int)i);
        }
    }
    int8_t tt = eval_target(ev);
    det->target = tt == TV_T ? YZ_MET : tt == TV_F ? YZ_NOT_MET : YZ_UNDETERMINED;

    /* subsidies that cannot be combined, both eligible now */
    for (size_t i = 0; i < det->nitems[PI_SUBSIDY]; i++) {
        ditem *a = &det->items[PI_SUBSIDY][i];
        if (a->status != YZ_MET)
            continue;
        for (size_t j = 0; j < det->nitems[PI_SUBSIDY]; j++) {
            ditem *b = &det->items[PI_SUBSIDY][j];
            if (i == j || b->status != YZ_MET)
                continue;
            bool ex = false;
            for (size_t e = 0; e < a->it->nexcl; e++)
                ex |= !strcmp(a->it->excludes[e], b->it->id);
            for (size_t e = 0; e < b->it->nexcl; e++)
                ex |= !strcmp(b->it->excludes[e], a->it->id);
            if (!ex)
                continue;
            if (!a->exclusive_with)
                a->exclusive_with = arena_alloc(&det->mem, det->nitems[PI_SUBSIDY] * sizeof(char *));
            a->exclusive_with[a->nexclusive++] = b->it->id;
        }
    }
    if (explained)
        explain_determination(ev, det);
    rvm_end_record(ev->vm);
    ev->det = NULL;
    if (rvm_failed(ev->vm)) {
        /* some rule met a refusal of memory: its item would read "undetermined" for a reason that
           has nothing to do with the record, and would be recorded so */
        yz_determination_free(det);
        no_memory(d);
        return YZ_ENOMEM;
    }
    if (rvm_slow(ev->vm)) {
        /* an outcome that depends on the speed of the machine cannot be replayed */
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0,
                 "%s; nothing was decided, since an outcome must not depend on how fast the machine is: "
                 "make the rule do less work per call",
                 rvm_slow(ev->vm));
        yz_determination_free(det);
        return YZ_EPOLICY;
    }
    *out = det;
    return YZ_OK;
}

int yz_evaluate(yz_evaluator *ev, const yz_record *rec, const char *as_of, yz_determination **out, yz_diags *d)
{
    return evaluate(ev, rec, as_of, true, out, d);
}

int yz_evaluate_brief(yz_evaluator *ev, const yz_record *rec, const char *as_of, yz_determination **out, yz_diags *d)
{
    return evaluate(ev, rec, as_of, false, out, d);
}

void yz_determination_free(yz_determination *det)
{
    if (!det)
        return;
    arena_free(&det->mem);
    yz_free(det);
}

yz_status yz_determination_target(const yz_determination *det)
{
    return det->target;
}

size_t yz_determination_count(const yz_determination *det, yz_item_kind kind)
{
    return det->nitems[kind == YZ_ITEM_CATEGORY ? PI_CATEGORY : PI_SUBSIDY];
}

void yz_determination_item(const yz_determination *det, yz_item_kind kind, size_t i, yz_item_info *info)
{
    const ditem *di = &det->items[kind == YZ_ITEM_CATEGORY ? PI_CATEGORY : PI_SUBSIDY][i];
    info->id = di->it->id;
    info->name = di->it->name;
    info->status = di->status;
    info->amount_fen = di->amount_fen;
    info->months = di->months;
    info->period = di->it->per;
}

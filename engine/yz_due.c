/* yz_due.c: who changes status by a date (到期提醒 for 动态管理): from each person's newest decision,
 * its stored record and its stored ruleset, the first day on which any item of the determination
 * changes, found by the rules themselves.
 *
 * The engine evaluates the record again at later dates with the same ruleset and evaluator: at the
 * dates the rules expose (each granted subsidy's end, the end and start of policy periods and of
 * items, the dates dated parameter values change, a review interval), on a monthly grid in
 * between, and, where two such dates disagree, by bisection over days to the first day the
 * outcome differs.  Nothing here knows an age or a number of months: a threshold exists only in
 * the rules.  What changed and why comes from comparing the explained determinations of the day
 * before and the day itself: the item, the conditions that turned, its reason and legal basis.
 *
 * One assumption makes the later dates meaningful: each monthly subsidy granted (and not exclusive
 * with another one granted) is received from its start without a break, so the record gains a
 * subsidy_history entry for the months received so far (the rules then see the months used up at
 * the end of the period and answer "期满" themselves); a person the decision found to be a target,
 * and who was not recognised before, is recognised from its as-of date (so the status-loss rules
 * of a review apply on later days, where the record format has recognition.recognised_on);
 * nothing else in the record changes. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "yz_csv.h"
#include "yz_date.h"
#include "yz_diag.h"
#include "yz_eval.h"
#include "yz_json.h"
#include "yz_ledger.h"
#include "yz_pool.h"
#include "yz_record.h"
#include "yz_schema.h"

static const pikind kinds[] = {PI_PREREQ, PI_DISQUAL, PI_CATEGORY, PI_SUBSIDY};

typedef struct grant {
    const char *id;
    yz_date start, end;
    long months;
} grant;

/* the person being looked at: their newest decision and what it takes to decide again */
typedef struct person {
    arena mem; /* reset per person */
    const yz_stored *s;
    const yz_ruleset *rs;
    yz_evaluator *ev;
    yj *doc;          /* the stored record */
    const yj *hist;   /* its subsidy_history (an array), or NULL: nothing is projected */
    size_t nhist;
    grant *grants;
    size_t ngrants;
    yval *root0;       /* the record as stored, indexed (no projection) */
    bool recognise;    /* found a target, not recognised before: recognised from the decision on */
    yz_date as_of, start, by;
    int failed;
} person;

/* rows and counts (a worker's part, then the whole report, which keeps the parts' memory) */
struct yz_due_report {
    arena mem;
    yz_due_row *rows;
    size_t n, cap;
    yz_due_summary sum;
    yz_due_report **parts;
    size_t nparts;
};

/* an evaluator of a worker, for one ruleset */
typedef struct kept_ev {
    const yz_ruleset *rs;
    yz_evaluator *ev;
} kept_ev;

#define KEEP_EV 8

/* A worker follows one person at a time, with its own evaluators and its own part of the report. */
typedef struct due {
    const yz_due_options *o;
    yz_date by, from;
    yz_due_report *rep; /* this worker's part */
    yz_diags *d;        /* this worker's diagnostics */
    kept_ev evs[KEEP_EV];
    size_t nevs, next_ev;
    person p;
    strbuf sig_a, sig_b, sig_c;
    int rc;
    struct run *run;
} due;

static yz_date date_of(const char *s)
{
    yz_date d = {0, 0, 0};
    if (s)
        yz_date_parse(s, strlen(s), &d);
    return d;
}

/* a copy in the report's memory: the report outlives the determinations and rulesets it is made from */
static const char *keep(arena *m, const char *s)
{
    return s ? arena_strdup(m, s) : NULL;
}

static const char *date_str(arena *m, yz_date d)
{
    char *buf = arena_alloc(m, 11);
    yz_date_format(d, buf);
    return buf;
}

/* ---- evaluating at a date ---- */

/* the record as it would stand on day: the granted monthly subsidies received since their start */
static yval *record_on(due *u, yz_date day, yz_diags *d)
{
    person *p = &u->p;
    bool history = false, recognised = p->recognise && yz_date_cmp(day, p->as_of) > 0;
    for (size_t i = 0; i < p->ngrants && p->hist; i++)
        history |= yz_date_cmp(day, p->grants[i].start) > 0;
    if (!history && !recognised)
        return p->root0;
    arena *m = &p->mem;
    yj *doc = yj_clone(m, p->doc);
    if (history) {
        yj *arr = yj_new_array(m);
        for (const yj *e = yj_first(p->hist); e; e = yj_next(e))
            yj_append(m, arr, NULL, yj_clone(m, e));
        for (size_t i = 0; i < p->ngrants; i++) {
            const grant *g = &p->grants[i];
            if (yz_date_cmp(day, g->start) <= 0)
                continue;
            long got = yz_months_between(g->start, day);
            if (got > g->months)
                got = g->months;
            yj *e = yj_new_object(m);
            const char *from = date_str(m, g->start);
            yj_append(m, e, "first_approved_on", yj_new_string(m, from, 10));
            yj_append(m, e, "from", yj_new_string(m, from, 10));
            yj_append(m, e, "months", yj_new_int(m, got));
            yj_append(m, e, "subsidy", yj_new_string(m, g->id, strlen(g->id)));
            yj_append(m, e, "to",
                      yz_date_cmp(day, g->end) <= 0 ? yj_new_null(m) : yj_new_string(m, date_str(m, g->end), 10));
            yj_append(m, arr, NULL, e);
        }
        yj_set(m, doc, "subsidy_history", arr);
    }
    if (recognised) {
        /* found a target by the decision: recognised from its as-of date, so a later day is a review */
        const yj *was = yj_get(doc, "recognition");
        yj *rec = yj_typeof(was) == YJ_OBJECT ? yj_clone(m, was) : yj_new_object(m);
        yj_set(m, rec, "recognised_on", yj_new_string(m, p->s->as_of, strlen(p->s->as_of)));
        yj_set(m, doc, "recognition", rec);
    }
    return record_index(m, doc, "stored input (projected)", d);
}

/* Evaluates the person's record on day: YZ_OK with *out, YZ_ENOTINFORCE (no policy: *out NULL),
 * or an error that ends the look at this person. */
static int eval_on(due *u, yz_date day, bool explained, yz_determination **out)
{
    person *p = &u->p;
    *out = NULL;
    yz_diags d;
    yz_diags_init(&d);
    yval *root = record_on(u, day, &d);
    int rc = YZ_EINTERNAL;
    if (root) {
        yz_record rec;
        memset(&rec, 0, sizeof rec);
        rec.root = root;
        rec.id_number = p->s->id_number;
        char when[11];
        yz_date_format(day, when);
        rc = explained ? yz_evaluate(p->ev, &rec, when, out, &d) : yz_evaluate_brief(p->ev, &rec, when, out, &d);
        u->rep->sum.evaluations++;
    }
    if (rc != YZ_OK && rc != YZ_ENOTINFORCE) {
        if (!p->failed++) {
            for (size_t i = 0; i < d.n; i++)
                diag_add(u->d, YZ_SEV_WARNING, NULL, 0, 0, "decision %s (%s) cannot be followed: %s", p->s->id,
                         p->s->id_number, d.items[i].message);
            if (!d.n)
                diag_add(u->d, YZ_SEV_WARNING, NULL, 0, 0, "decision %s (%s) cannot be followed: %s", p->s->id,
                         p->s->id_number, yz_rc_name(rc));
        }
        if (rc == YZ_ENOMEM)
            u->rc = YZ_ENOMEM;
    }
    yz_diags_free(&d);
    return rc;
}

/* What is compared from day to day: the policy in force, the target, every item's status and a
 * granted subsidy's amount per period. */
static void signature(const yz_determination *det, strbuf *sb)
{
    sb_clear(sb);
    if (!det) {
        sb_addc(sb, 'N');
        return;
    }
    sb_add(sb, &det->pol, sizeof det->pol);
    sb_addc(sb, (char)det->target);
    for (size_t k = 0; k < YZ_ARRAY_LEN(kinds); k++)
        for (size_t i = 0; i < det->nitems[kinds[k]]; i++) {
            const ditem *di = &det->items[kinds[k]][i];
            sb_add(sb, &di->it, sizeof di->it);
            sb_addc(sb, (char)di->status);
            if (kinds[k] == PI_SUBSIDY && di->status == YZ_MET)
                sb_add(sb, &di->amount_fen, sizeof di->amount_fen);
        }
}

static bool same(const strbuf *a, const strbuf *b)
{
    return a->len == b->len && memcmp(a->buf, b->buf, a->len) == 0;
}

/* the signature on day into sb; false when the person cannot be followed */
static bool sig_on(due *u, yz_date day, strbuf *sb)
{
    yz_determination *det;
    int rc = eval_on(u, day, false, &det);
    if (rc != YZ_OK && rc != YZ_ENOTINFORCE)
        return false;
    signature(det, sb);
    yz_determination_free(det);
    return true;
}

/* ---- explaining a change ---- */

static const ditem *find_item(const yz_determination *det, pikind k, const char *id)
{
    for (size_t i = 0; det && i < det->nitems[k]; i++)
        if (!strcmp(det->items[k][i].it->id, id))
            return &det->items[k][i];
    return NULL;
}

static const char *status_word(const ditem *di, pikind k)
{
    if (!di)
        return "absent";
    return yz_status_name(di->status, k == PI_SUBSIDY);
}

static const char *kind_name(pikind k)
{
    switch (k) {
    case PI_PREREQ: return "prerequisite";
    case PI_DISQUAL: return "disqualification";
    case PI_CATEGORY: return "category";
    case PI_SUBSIDY: return "subsidy";
    default: return "condition";
    }
}

static const char *basis_text(arena *m, const pitem *it)
{
    if (!it->nbasis)
        return NULL;
    strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < it->nbasis; i++) {
        const pbasis *b = &it->basis[i];
        sb_addf(&sb, "%s%s", i ? "；" : "", b->src && b->src->number ? b->src->number : b->source_id);
        if (b->article)
            sb_addf(&sb, " %s", b->article);
    }
    const char *r = arena_strndup(m, sb.buf, sb.len);
    sb_free(&sb);
    return r;
}

static bool reads(const ditem *di, const char *field)
{
    for (size_t i = 0; di && i < di->nfields; i++)
        if (!strcmp(di->fields[i].key, field))
            return true;
    return false;
}

/* the condition of di that is c on another day: the same text at the same rule, or (by_rule) just
   the same rule (a text that names a parameter's value changes with it) */
static const dcond *same_cond(const ditem *di, const dcond *c, bool by_rule)
{
    for (size_t j = 0; di && j < di->nconds; j++) {
        const dcond *o = &di->conds[j];
        bool rule = o->rule == c->rule || (o->rule && c->rule && !strcmp(o->rule, c->rule));
        if (rule && (by_rule ? c->rule != NULL : !strcmp(o->text, c->text)))
            return o;
    }
    return NULL;
}

/* text on one line: a condition without a text: is shown by its Lua source, which may span lines */
static void one_line(strbuf *sb, const char *s)
{
    bool space = false;
    for (; *s; s++) {
        if (*s == '\n' || *s == '\r' || *s == '\t' || *s == ' ') {
            space = true;
            continue;
        }
        if (space && sb->len)
            sb_addc(sb, ' ');
        space = false;
        sb_addc(sb, *s);
    }
}

/* The conditions of an item that turned between before and after ("✔ 年满50周岁"), and the rule of
 * the first.  An explanation lists the conditions that decided: those listed on both days with
 * different results turned; when there are none, the ones that decide now (a condition the day
 * before did not need to mention). */
static void turned(arena *m, const ditem *before, const ditem *after, const char **text, const char **rule)
{
    *text = NULL;
    *rule = NULL;
    if (!after)
        return;
    strbuf sb = STRBUF_INIT;
    for (int pass = 0; pass < 3 && !sb.len; pass++) {
        int n = 0;
        for (size_t i = 0; i < after->nconds && n < 3; i++) {
            const dcond *c = &after->conds[i], *was = same_cond(before, c, pass == 1);
            if (pass < 2 ? !was || was->result == c->result : was || c->result == 2)
                continue;
            sb_addf(&sb, "%s%s ", n++ ? "；" : "", c->result == 1 ? "✔" : c->result == 0 ? "✘" : "?");
            one_line(&sb, c->text);
            if (!*rule && c->rule)
                *rule = c->rule;
        }
    }
    if (sb.len)
        *text = arena_strndup(m, sb.buf, sb.len);
    sb_free(&sb);
}

/* the parameters whose values differ between the two (an amount that changes with a dated value) */
static const char *params_changed(arena *m, const ditem *before, const ditem *after)
{
    strbuf sb = STRBUF_INIT;
    for (size_t i = 0; after && before && i < after->nparams; i++)
        for (size_t j = 0; j < before->nparams; j++)
            if (!strcmp(after->params[i].key, before->params[j].key) && strcmp(after->params[i].json, before->params[j].json))
                sb_addf(&sb, "%s参数 %s：%s → %s", sb.len ? "；" : "", after->params[i].key, before->params[j].json,
                        after->params[i].json);
    const char *r = sb.len ? arena_strndup(m, sb.buf, sb.len) : NULL;
    sb_free(&sb);
    return r;
}

/* a subsidy that stops although every condition still holds: its months are used up */
static bool used_up(const ditem *after)
{
    if (!after || after->status != YZ_NOT_MET)
        return false;
    for (size_t i = 0; i < after->nconds; i++)
        if (after->conds[i].result != 1)
            return false;
    return true;
}

/* it read a subsidy_history entry the record already had (months counted with earlier periods) */
static bool reads_earlier_periods(const ditem *di, size_t nhist)
{
    for (size_t i = 0; di && i < di->nfields; i++) {
        unsigned idx;
        if (sscanf(di->fields[i].key, "subsidy_history[%u]", &idx) == 1 && idx < nhist)
            return true;
    }
    return false;
}

static bool anniversary(yz_date day, yz_date of)
{
    if (day.m != of.m && of.m != 0)
        return false;
    int last = yz_days_in_month(day.y, day.m);
    return day.d == of.d || (of.d > last && day.d == last);
}

/* the date a record field holds, or a zero date */
static yz_date field_date(const yj *doc, const char *a, const char *b)
{
    const yj *v = yj_get(doc, a);
    if (b)
        v = yj_get(v, b);
    return date_of(yj_typeof(v) == YJ_STRING ? yj_str(v) : NULL);
}

typedef struct change_ctx {
    due *u;
    yz_due_row *row;
    size_t cap;
} change_ctx;

static yz_due_change *add_change(change_ctx *x, pikind k, const ditem *b, const ditem *a)
{
    arena *m = &x->u->rep->mem;
    yz_due_row *r = x->row;
    if (r->nchanges == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 8;
        yz_due_change *n = arena_alloc(m, x->cap * sizeof *n);
        if (r->nchanges)
            memcpy(n, r->changes, r->nchanges * sizeof *n);
        r->changes = n;
    }
    yz_due_change *c = &r->changes[r->nchanges++];
    memset(c, 0, sizeof *c);
    const pitem *it = a ? a->it : b->it;
    c->kind = kind_name(k);
    c->id = keep(m, it->id);
    c->name = keep(m, it->name ? it->name : it->id);
    c->before = status_word(b, k);
    c->after = status_word(a, k);
    c->amount_before = b && k == PI_SUBSIDY && b->status == YZ_MET ? b->amount_fen : -1;
    c->amount_after = a && k == PI_SUBSIDY && a->status == YZ_MET ? a->amount_fen : -1;
    c->reason = keep(m, a && a->reason ? a->reason : b && b->reason ? b->reason : NULL);
    turned(m, b, a, &c->conditions, &c->rule);
    c->rule = keep(m, c->rule ? c->rule : it->loc.rule);
    c->basis = basis_text(m, it);
    return c;
}

/* the Chinese words for what happened to an item */
static const char *what_happened(pikind k, const ditem *b, const ditem *a)
{
    yz_status sb = b ? b->status : YZ_NOT_MET, sa = a ? a->status : YZ_NOT_MET;
    if (sa == YZ_UNDETERMINED)
        return "变为待定";
    if (k == PI_SUBSIDY && sb == YZ_MET && sa == YZ_MET)
        return "每期金额变化";
    if (k == PI_DISQUAL)
        return sa == YZ_MET ? "出现身份丧失情形" : "身份丧失情形不再存在";
    if (k == PI_PREREQ)
        return sa == YZ_MET ? "开始满足" : "不再满足";
    if (k == PI_SUBSIDY)
        return sa == YZ_MET ? "可以享受" : used_up(a) ? "期满停止" : "不再享受";
    return sa == YZ_MET ? "新符合" : "不再符合";
}

/* one item that differs between the two days */
typedef struct diff {
    pikind k;
    const ditem *b, *a;
    int prio; /* which change names the cause: a status loss, a prerequisite, a category, a subsidy, an amount */
} diff;

static bool amount_only(const diff *x)
{
    return x->k == PI_SUBSIDY && x->b && x->a && x->b->status == YZ_MET && x->a->status == YZ_MET;
}

/* why the main change happens: from the item, what it read and the day */
static const char *cause_of(person *p, yz_date day, const diff *x)
{
    const ditem *di = x->a ? x->a : x->b;
    yz_date birth = field_date(p->doc, "birth_date", NULL);
    yz_date reg = field_date(p->doc, "unemployment_registration", "registered_on");
    reg.m = 0; /* a month of unemployment more on the same day of every month */
    if (amount_only(x))
        return "amount_changes";
    if (x->k == PI_DISQUAL)
        return "status_loss";
    if (x->k == PI_SUBSIDY && x->b && x->b->status == YZ_MET && used_up(x->a))
        return reads_earlier_periods(x->a, p->nhist) ? "limit_reached" : "subsidy_ends";
    if (x->k == PI_PREREQ && reads(di, "birth_date") && x->a && x->a->status == YZ_NOT_MET)
        return "retirement";
    if (reads(di, "birth_date") && birth.y && anniversary(day, birth))
        return "age";
    if (reads(di, "unemployment_registration.registered_on") && reg.y && anniversary(day, reg))
        return "unemployment";
    if (x->b && x->a && params_changed(&p->mem, x->b, x->a))
        return "parameter_changes";
    return "rule";
}

/* "新符合「大龄失业人员」：年满55周岁" */
static void main_text(arena *m, const diff *x, const yz_due_change *c, strbuf *sb)
{
    sb_addf(sb, "%s「%s」", what_happened(x->k, x->b, x->a), c->name);
    if (amount_only(x)) {
        char fa[40], fb[40];
        yz_format_fen(x->b->amount_fen, fb);
        yz_format_fen(x->a->amount_fen, fa);
        sb_addf(sb, "：每期 %s → %s", fb, fa);
        const char *params = params_changed(m, x->b, x->a);
        if (params)
            sb_addf(sb, "（%s）", params);
    } else if (x->k == PI_SUBSIDY && used_up(x->a)) {
        sb_addf(sb, "：%s", x->a->reason ? x->a->reason : "可享受期限已用完");
    } else if (c->conditions) {
        sb_addf(sb, "：%s", c->conditions);
        const char *params = x->b && x->a ? params_changed(m, x->b, x->a) : NULL;
        if (params)
            sb_addf(sb, "（%s）", params);
    } else if (c->reason) {
        sb_addf(sb, "：%s", c->reason);
    }
}

/* Compares the determinations of the day before and the day itself into row: every item that
 * differs (the main one first), the cause, the summary and what to do. */
static void explain_change(due *u, yz_date day, const yz_determination *b, const yz_determination *a, yz_due_row *row)
{
    person *p = &u->p;
    arena *m = &u->rep->mem;
    change_ctx x = {u, row, 0};
    size_t nd = 0, cap = 0;
    diff *ds = NULL;
    bool stop = false;
    for (size_t kk = 0; a && kk < YZ_ARRAY_LEN(kinds); kk++) {
        pikind k = kinds[kk];
        const yz_determination *both[2] = {b, a};
        for (int w = 0; w < 2; w++)
            for (size_t i = 0; both[w] && i < both[w]->nitems[k]; i++) {
                const char *id = both[w]->items[k][i].it->id;
                const ditem *ib = find_item(b, k, id), *ia = find_item(a, k, id);
                if (w == 1 && ib)
                    continue; /* seen from the day before */
                if (ib && ia && ib->status == ia->status &&
                    !(k == PI_SUBSIDY && ib->status == YZ_MET && ib->amount_fen != ia->amount_fen))
                    continue;
                if (nd == cap) {
                    cap = cap ? cap * 2 : 16;
                    ds = yz_realloc(ds, cap * sizeof *ds);
                }
                diff *dx = &ds[nd++];
                *dx = (diff){k, ib, ia, 0};
                dx->prio = k == PI_DISQUAL ? 1 : k == PI_PREREQ ? 2 : k == PI_CATEGORY ? 3 : amount_only(dx) ? 5 : 4;
                /* a monthly payment that stops */
                stop |= k == PI_SUBSIDY && ib && ib->status == YZ_MET && ib->it->per && !strcmp(ib->it->per, "month") &&
                        (!ia || ia->status != YZ_MET);
            }
    }
    size_t main = 0;
    for (size_t i = 1; i < nd; i++)
        if (ds[i].prio < ds[main].prio)
            main = i;
    if (nd) { /* the main change first */
        diff t = ds[main];
        memmove(ds + 1, ds, main * sizeof *ds);
        ds[0] = t;
    }
    for (size_t i = 0; i < nd; i++)
        add_change(&x, ds[i].k, ds[i].b, ds[i].a);
    strbuf sb = STRBUF_INIT;
    size_t first_also = 1;
    if (!a || (b && a->pol != b->pol)) {
        /* the policy period ends: a new one, or none */
        const ppolicy *old = b ? b->pol : NULL;
        row->cause = a ? "policy_changes" : "policy_ends";
        if (old) {
            sb_addf(&sb, "%s 有效期至 %s 届满", old->title ? old->title : p->s->province, old->eff_to ? old->eff_to : "");
            row->rule = keep(m, old->eff_to_loc.rule);
            row->basis = keep(m, old->title);
        }
        if (!a)
            sb_adds(&sb, "，此后没有施行中的政策：新政策施行后重新核定");
        else
            sb_addf(&sb, "，自 %s 起施行 %s", a->pol->eff_from, a->pol->title ? a->pol->title : "新政策");
        first_also = 0;
    } else if (nd) {
        row->cause = cause_of(p, day, &ds[0]);
        main_text(m, &ds[0], &row->changes[0], &sb);
        row->rule = row->changes[0].rule;
        row->basis = row->changes[0].basis;
    } else {
        row->cause = "rule";
    }
    /* what follows from it */
    int nalso = 0;
    if (a && b && a->target != b->target) {
        sb_addf(&sb, "；随之%s", a->target == YZ_MET       ? "成为就业援助对象"
                                 : a->target == YZ_NOT_MET ? "不再属于就业援助对象"
                                                           : "是否属于就业援助对象变为待定");
        nalso++;
    }
    for (size_t i = first_also; i < nd && nalso < 4; i++, nalso++)
        sb_addf(&sb, "%s%s「%s」", nalso ? "、" : "；随之", what_happened(ds[i].k, ds[i].b, ds[i].a), row->changes[i].name);
    if (nd > first_also + 3 && nalso >= 4)
        sb_addf(&sb, "等 %zu 项", nd - first_also);
    row->summary = arena_strndup(m, sb_str(&sb), sb.len);
    row->action = stop ? "停发" : "复核";
    sb_free(&sb);
    yz_free(ds);
}

static yz_due_row *new_row(due *u, yz_date day)
{
    yz_due_report *rep = u->rep;
    person *p = &u->p;
    if (rep->n == rep->cap) {
        rep->cap = rep->cap ? rep->cap * 2 : 256;
        rep->rows = yz_realloc(rep->rows, rep->cap * sizeof *rep->rows);
    }
    yz_due_row *r = &rep->rows[rep->n++];
    memset(r, 0, sizeof *r);
    arena *m = &rep->mem;
    yz_date_format(day, r->date);
    r->decision = arena_strdup(m, p->s->id);
    r->decision_as_of = arena_strdup(m, p->s->as_of);
    r->province = arena_strdup(m, p->s->province);
    r->id_number = arena_strdup(m, p->s->id_number);
    const char *name = ledger_str(p->doc, "name");
    r->name = name ? arena_strdup(m, name) : NULL;
    const char *region = ledger_str(yj_get(p->doc, "hukou"), "region");
    r->region = region ? arena_strdup(m, region) : NULL;
    return r;
}

/* the first day of a change: explained determinations of the day before and the day */
static void report_change(due *u, yz_date day)
{
    yz_determination *b = NULL, *a = NULL;
    int rb = eval_on(u, yz_date_add_days(day, -1), true, &b);
    int ra = rb == YZ_OK || rb == YZ_ENOTINFORCE ? eval_on(u, day, true, &a) : rb;
    if ((rb == YZ_OK || rb == YZ_ENOTINFORCE) && (ra == YZ_OK || ra == YZ_ENOTINFORCE) && (a || b))
        explain_change(u, day, b, a, new_row(u, day));
    yz_determination_free(b);
    yz_determination_free(a);
}

/* ---- the dates to look at ---- */

typedef struct dates {
    yz_date *a;
    size_t n, cap;
} dates;

static void add_date(dates *ds, const person *p, yz_date d)
{
    if (!d.y || yz_date_cmp(d, p->start) <= 0 || yz_date_cmp(d, p->by) > 0)
        return;
    if (ds->n == ds->cap) {
        ds->cap = ds->cap ? ds->cap * 2 : 64;
        ds->a = yz_realloc(ds->a, ds->cap * sizeof *ds->a);
    }
    ds->a[ds->n++] = d;
}

static void add_date_str(dates *ds, const person *p, const char *s, long plus_days)
{
    if (s)
        add_date(ds, p, yz_date_add_days(date_of(s), plus_days));
}

static int cmp_date(const void *x, const void *y)
{
    return yz_date_cmp(*(const yz_date *)x, *(const yz_date *)y);
}

/* The dates the rules expose between start and by, and a monthly grid. */
static void candidates(const person *p, dates *ds)
{
    ds->n = 0;
    for (long k = 1;; k++) {
        yz_date g = yz_date_add_months(p->start, k);
        if (yz_date_cmp(g, p->by) > 0)
            break;
        add_date(ds, p, g);
    }
    for (size_t i = 0; i < p->ngrants; i++)
        add_date(ds, p, yz_date_add_days(p->grants[i].end, 1));
    const yz_ruleset *rs = p->rs;
    for (size_t i = 0; i < rs->npolicies; i++) {
        const ppolicy *pol = rs->policies[i];
        add_date_str(ds, p, pol->eff_from, 0);
        add_date_str(ds, p, pol->eff_to, 1);
        for (size_t k = 0; k < YZ_ARRAY_LEN(kinds); k++)
            for (size_t j = 0; j < pol->nitems[kinds[k]]; j++) {
                add_date_str(ds, p, pol->items[kinds[k]][j].eff_from, 0);
                add_date_str(ds, p, pol->items[kinds[k]][j].eff_to, 1);
            }
        for (size_t j = 0; j < pol->nparams; j++)
            for (size_t v = 0; v < pol->params[j].nvalues; v++)
                add_date_str(ds, p, pol->params[j].values[v].from, 0);
    }
    add_date(ds, p, p->by);
    if (ds->n)
        qsort(ds->a, ds->n, sizeof *ds->a, cmp_date);
    size_t w = 0;
    for (size_t i = 0; i < ds->n; i++)
        if (!w || yz_date_cmp(ds->a[i], ds->a[w - 1]) != 0)
            ds->a[w++] = ds->a[i];
    ds->n = w;
}

/* ---- a person ---- */

/* the monthly subsidies the decision granted, received from their start (see the top) */
static void granted(person *p, const yj *det)
{
    const yj *subs = yj_get(det, "subsidies");
    size_t cap = yj_size(subs);
    p->grants = arena_alloc(&p->mem, (cap ? cap : 1) * sizeof *p->grants);
    p->ngrants = 0;
    for (const yj *v = yj_first(subs); v; v = yj_next(v)) {
        const char *per = ledger_str(v, "period");
        if (ledger_status(v) != YZ_MET || !per || strcmp(per, "month") || yj_size(yj_get(v, "exclusive_with")))
            continue;
        grant *g = &p->grants[p->ngrants];
        g->id = yj_key(v);
        g->start = date_of(ledger_str(v, "start"));
        g->end = date_of(ledger_str(v, "end"));
        g->months = (long)ledger_int(v, "months", 0);
        if (g->start.y && g->end.y && g->months > 0)
            p->ngrants++;
    }
}

/* a region code covers another: 440000 covers 4401xx, 440100 covers 440106 */
static bool region_covers(const char *code, const char *region)
{
    if (!region)
        return false;
    size_t n = strlen(code);
    while (n > 2 && code[n - 1] == '0' && code[n - 2] == '0')
        n -= 2;
    return strncmp(code, region, n) == 0;
}

static bool in_region(const due *u, const yj *doc)
{
    const char *code = u->o->region;
    if (!code)
        return true;
    return region_covers(code, ledger_str(yj_get(doc, "hukou"), "region")) ||
           region_covers(code, ledger_str(yj_get(doc, "unemployment_registration"), "region"));
}

/* a review interval the province's rules set (the parameter review_interval_months in force on the
   decision's as-of date): a review row at that many months after the decision, overdue or not */
static void review_due(due *u)
{
    person *p = &u->p;
    const ppolicy *pol = ruleset_policy_at(p->rs, p->s->as_of);
    const pparam *pp = pol ? policy_param(pol, "review_interval_months") : NULL;
    const yj *v = pp ? param_value_at(pp, p->s->as_of) : NULL;
    int64_t months;
    if (!v || !yj_is_int(v, &months) || months <= 0)
        return;
    yz_date when = yz_date_add_months(p->as_of, months);
    if (yz_date_cmp(when, p->by) > 0)
        return;
    yz_due_row *r = new_row(u, when);
    arena *m = &u->rep->mem;
    r->action = "复核";
    r->cause = "review_due";
    r->summary = arena_printf(m, "距上次核定（%s）满%lld个月，应当复核%s", p->s->as_of, (long long)months,
                              yz_date_cmp(when, p->start) <= 0 ? "（已逾期）" : "");
    r->rule = keep(m, pp->loc.rule);
    r->basis = keep(m, pp->source);
    for (size_t i = 0; i < pol->nsources; i++)
        if (pp->source && !strcmp(pol->sources[i].id, pp->source) && pol->sources[i].number)
            r->basis = keep(m, pol->sources[i].number);
}

/* a subsidy period that ends while the rules still grant the subsidy: renew */
static void renewals(due *u, size_t first_row)
{
    person *p = &u->p;
    for (size_t i = 0; i < p->ngrants; i++) {
        const grant *g = &p->grants[i];
        yz_date day = yz_date_add_days(g->end, 1);
        if (yz_date_cmp(day, p->start) <= 0 || yz_date_cmp(day, p->by) > 0)
            continue;
        bool reported = false;
        char when[11];
        yz_date_format(day, when);
        for (size_t r = first_row; r < u->rep->n && !reported; r++)
            for (size_t c = 0; c < u->rep->rows[r].nchanges && !reported; c++)
                reported = !strcmp(u->rep->rows[r].date, when) && !strcmp(u->rep->rows[r].changes[c].id, g->id);
        if (reported)
            continue;
        yz_determination *det;
        if (eval_on(u, day, true, &det) != YZ_OK)
            continue;
        const ditem *di = find_item(det, PI_SUBSIDY, g->id);
        if (di && di->status == YZ_MET) {
            yz_due_row *r = new_row(u, day);
            arena *m = &u->rep->mem;
            r->action = "续办";
            r->cause = "subsidy_ends";
            char fen[40];
            yz_format_fen(di->amount_fen, fen);
            r->summary = arena_printf(m, "「%s」本期（%s 至 %s）届满，按规则仍可享受 %lld 个月（每月 %s，至 %s）：续办",
                                      di->it->name, date_str(m, g->start), date_str(m, g->end), (long long)di->months, fen,
                                      di->end);
            r->rule = keep(m, di->it->loc.rule);
            r->basis = basis_text(m, di->it);
            change_ctx x = {u, r, 0};
            add_change(&x, PI_SUBSIDY, di, di);
        }
        yz_determination_free(det);
    }
}

static void follow(due *u)
{
    person *p = &u->p;
    dates ds = {NULL, 0, 0};
    candidates(p, &ds);
    size_t first_row = u->rep->n;
    strbuf *prev = &u->sig_a, *at = &u->sig_b, *mid = &u->sig_c;
    if (!sig_on(u, p->start, prev))
        goto done;
    yz_date lo = p->start;
    for (size_t i = 0; i < ds.n && !p->failed; i++) {
        yz_date c = ds.a[i];
        if (!sig_on(u, c, at))
            break;
        while (!same(prev, at) && !p->failed) {
            /* the first day in (lo, c] whose outcome differs from lo's */
            long l = yz_date_to_days(lo), h = yz_date_to_days(c);
            strbuf found = STRBUF_INIT;
            sb_add(&found, at->buf, at->len);
            while (h - l > 1 && !p->failed) {
                long m = l + (h - l) / 2;
                if (!sig_on(u, yz_days_to_date(m), mid))
                    break;
                if (same(mid, prev)) {
                    l = m;
                } else {
                    h = m;
                    sb_clear(&found);
                    sb_add(&found, mid->buf, mid->len);
                }
            }
            if (p->failed) {
                sb_free(&found);
                break;
            }
            yz_date day = yz_days_to_date(h);
            report_change(u, day);
            lo = day;
            sb_clear(prev);
            sb_add(prev, found.buf, found.len);
            sb_free(&found);
        }
        lo = c;
    }
    if (!p->failed)
        renewals(u, first_row);
    review_due(u);
done:
    yz_free(ds.a);
    if (p->failed) {
        u->rep->sum.failed++;
        u->rep->n = first_row; /* nothing half-followed */
    }
}

/* the evaluator of this worker for a ruleset: kept, or made (the oldest dropped when full) */
static yz_evaluator *evaluator_of(due *u, const yz_ruleset *rs, yz_diags *d)
{
    for (size_t i = 0; i < u->nevs; i++)
        if (u->evs[i].rs == rs)
            return u->evs[i].ev;
    yz_evaluator *ev;
    int rc = yz_evaluator_new(rs, NULL, &ev, d);
    if (rc != YZ_OK) {
        if (rc == YZ_ENOMEM)
            u->rc = rc;
        return NULL;
    }
    size_t slot = u->nevs < KEEP_EV ? u->nevs++ : u->next_ev;
    if (slot == u->next_ev && u->nevs == KEEP_EV && u->evs[slot].ev) {
        yz_evaluator_free(u->evs[slot].ev);
        u->next_ev = (u->next_ev + 1) % KEEP_EV;
    }
    u->evs[slot] = (kept_ev){rs, ev};
    return ev;
}

/* one person: their newest decision, its ruleset loaded (NULL when it cannot be) */
static void follow_person(due *u, const yz_stored *s, const yz_ruleset *rs)
{
    person *p = &u->p;
    arena_clear(&p->mem);
    p->s = s;
    p->failed = 0;
    u->rep->sum.decisions++;
    size_t off;
    const char *err;
    p->doc = yj_parse(&p->mem, s->input, strlen(s->input), &off, &err);
    const yj *det = yj_parse(&p->mem, s->output, strlen(s->output), &off, &err);
    if (!p->doc || !det) {
        diag_add(u->d, YZ_SEV_WARNING, NULL, 0, 0, "decision %s (%s) cannot be read back (run audit verify)", s->id,
                 s->id_number);
        u->rep->sum.failed++;
        return;
    }
    if (!in_region(u, p->doc))
        return;
    u->rep->sum.persons++;
    p->as_of = date_of(s->as_of);
    p->start = u->from.y && yz_date_cmp(u->from, p->as_of) > 0 ? u->from : p->as_of;
    p->by = u->by;
    yz_diags d;
    yz_diags_init(&d);
    p->rs = rs;
    p->ev = rs ? evaluator_of(u, rs, &d) : NULL;
    p->root0 = p->ev ? record_index(&p->mem, p->doc, "stored input", &d) : NULL;
    if (!p->root0) {
        diag_add(u->d, YZ_SEV_WARNING, NULL, 0, 0, "decision %s (%s) cannot be followed: %s", s->id, s->id_number,
                 d.n ? d.items[0].message : "its stored ruleset cannot be loaded");
        yz_diags_free(&d);
        u->rep->sum.failed++;
        return;
    }
    yz_diags_free(&d);
    const yj *hist = yj_get(p->doc, "subsidy_history");
    p->hist = yj_typeof(hist) == YJ_ARRAY ? hist : NULL;
    p->nhist = yj_size(p->hist);
    granted(p, det);
    p->recognise = false;
    if (ledger_status(yj_get(det, "target")) == YZ_MET && schema_lookup(schema_applicant(), "recognition.recognised_on")) {
        const yj *since = yj_get(yj_get(p->doc, "recognition"), "recognised_on");
        p->recognise = yj_typeof(since) != YJ_STRING;
    }
    if (yz_date_cmp(p->start, p->by) <= 0)
        follow(u);
    else
        review_due(u);
}

/* ---- the run: the store read in one thread, people followed by workers ---- */

typedef struct task {
    yz_stored s; /* the fields follow_person reads (no files) */
    const yz_ruleset *rs;
} task;

/* persons handed to a worker thread together (yz_pool) */
#define TASKS 64
typedef struct tasks {
    int n;
    task t[TASKS];
} tasks;

typedef struct loaded {
    char *id;
    yz_ruleset *rs; /* NULL: it could not be loaded */
} loaded;

typedef struct run {
    due *workers;
    int nworkers;
    loaded *rulesets;
    size_t nrulesets, caprs;
    yz_pool *pool;    /* the worker threads, when there are several workers */
    int handed;       /* workers handed to the pool as its states */
    tasks *next;      /* being filled */
    atomic_bool stop; /* a worker ran out of memory: read no further */
    yz_diags *d;
} run;

static void task_clear(task *t)
{
    yz_free(t->s.id_number);
    yz_free(t->s.as_of);
    yz_free(t->s.province);
    yz_free(t->s.input);
    yz_free(t->s.output);
}

/* the pool's operations: its worker states are the run's workers */
static void *pool_worker(void *arg)
{
    run *r = arg;
    return &r->workers[r->handed++];
}

static void pool_run(void *worker, void *chunk)
{
    due *u = worker;
    tasks *c = chunk;
    for (int i = 0; i < c->n; i++) {
        if (!atomic_load(&u->run->stop))
            follow_person(u, &c->t[i].s, c->t[i].rs);
        task_clear(&c->t[i]);
        if (u->rc == YZ_ENOMEM)
            atomic_store(&u->run->stop, true);
    }
}

static void pool_done(void *chunk, void *arg)
{
    (void)arg;
    yz_free(chunk);
}

/* the ruleset of a decision, loaded once per run from its stored files */
static const yz_ruleset *ruleset_of(run *r, const yz_stored *s)
{
    for (size_t i = 0; i < r->nrulesets; i++)
        if (!strcmp(r->rulesets[i].id, s->ruleset))
            return r->rulesets[i].rs;
    if (r->nrulesets == r->caprs) {
        r->caprs = r->caprs ? r->caprs * 2 : 8;
        r->rulesets = yz_realloc(r->rulesets, r->caprs * sizeof *r->rulesets);
    }
    loaded *l = &r->rulesets[r->nrulesets++];
    l->id = yz_strdup(s->ruleset);
    l->rs = NULL;
    yz_diags d;
    yz_diags_init(&d);
    if (yz_ruleset_load_files(s->files, s->nfiles, s->province, &l->rs, &d) == YZ_OK &&
        strcmp(yz_ruleset_id(l->rs), s->ruleset) != 0) {
        yz_ruleset_free(l->rs);
        l->rs = NULL;
    }
    if (!l->rs)
        diag_add(r->d, YZ_SEV_WARNING, NULL, 0, 0, "the stored ruleset %.12s (%s) cannot be loaded: run audit verify",
                 s->ruleset, s->province);
    yz_diags_free(&d);
    return l->rs;
}

static int due_one(const yz_stored *s, void *ctx)
{
    run *r = ctx;
    if (atomic_load(&r->stop))
        return 1;
    const yz_ruleset *rs = ruleset_of(r, s);
    if (r->nworkers == 1) {
        follow_person(&r->workers[0], s, rs);
        return r->workers[0].rc == YZ_ENOMEM;
    }
    if (!r->next)
        r->next = yz_calloc(1, sizeof *r->next);
    task *t = &r->next->t[r->next->n++];
    t->s.seq = s->seq;
    memcpy(t->s.id, s->id, sizeof t->s.id);
    t->s.id_number = yz_strdup(s->id_number);
    t->s.as_of = yz_strdup(s->as_of);
    t->s.province = yz_strdup(s->province);
    t->s.input = yz_strdup(s->input);
    t->s.output = yz_strdup(s->output);
    t->rs = rs;
    if (r->next->n == TASKS) {
        pool_submit(r->pool, r->next);
        r->next = NULL;
    }
    return atomic_load(&r->stop);
}

static int cmp_diag(const void *x, const void *y)
{
    return strcmp(((const yz_diag *)x)->message, ((const yz_diag *)y)->message);
}

static int cmp_row(const void *x, const void *y)
{
    const yz_due_row *a = x, *b = y;
    int c = strcmp(a->date, b->date);
    if (!c)
        c = strcmp(a->id_number, b->id_number);
    if (!c)
        c = strcmp(a->decision, b->decision);
    if (!c)
        c = strcmp(a->cause, b->cause);
    return c;
}

int yz_due_run(yz_store *st, const yz_due_options *o, yz_due_report **out, yz_diags *d)
{
    *out = NULL;
    if (!o->by) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "by which date? give --by YYYY-MM-DD");
        return YZ_EUSAGE;
    }
    if (!ledger_dates_ok(o->from, o->by, "--from", "--by", d))
        return YZ_EUSAGE;
    if (o->region && (strlen(o->region) != 6 || strspn(o->region, "0123456789") != 6)) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "--region takes a 6-digit region code (GB/T 2260: 440000, 440100, 440106), not '%s'",
                 o->region);
        return YZ_EUSAGE;
    }
    int jobs = o->jobs > 0 ? o->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
    jobs = jobs < 1 ? 1 : jobs > 64 ? 64 : jobs;
    run r = {.nworkers = jobs, .d = d};
    r.workers = yz_calloc((size_t)jobs, sizeof *r.workers);
    for (int i = 0; i < jobs; i++) {
        due *u = &r.workers[i];
        u->o = o;
        u->by = date_of(o->by);
        u->from = date_of(o->from);
        u->rep = yz_calloc(1, sizeof *u->rep);
        arena_init(&u->rep->mem, 64 * 1024);
        u->d = yz_calloc(1, sizeof *u->d);
        yz_diags_init(u->d);
        arena_init(&u->p.mem, 256 * 1024);
        u->run = &r;
    }
    /* several workers: on threads (those the system refuses are left out, and with none the
       scanning thread follows each chunk of persons itself); one: no copies, no thread */
    if (jobs > 1) {
        yz_pool_ops ops = {.worker_new = pool_worker, .run = pool_run, .done = pool_done, .arg = &r};
        r.pool = pool_new(jobs, &ops);
    }
    yz_scan q = {.province = o->province, .newest = true, .input = true, .output = true, .files = true};
    int rc = yz_store_scan(st, &q, due_one, &r, d);
    bool damaged = rc == YZ_EFAILED; /* decisions that cannot be read back were left out, each with an error */
    if (damaged)
        rc = YZ_OK;
    if (r.pool) {
        if (r.next)
            pool_submit(r.pool, r.next);
        r.next = NULL;
        pool_free(r.pool);
    }
    /* the whole report: every worker's rows (their memory kept), warnings in a stable order */
    yz_due_report *rep = yz_calloc(1, sizeof *rep);
    arena_init(&rep->mem, 1024);
    rep->parts = yz_calloc((size_t)jobs, sizeof *rep->parts);
    yz_diags warn;
    yz_diags_init(&warn);
    for (int i = 0; i < jobs; i++) {
        due *u = &r.workers[i];
        if (u->rc != YZ_OK && rc == YZ_OK)
            rc = u->rc;
        for (size_t k = 0; k < u->nevs; k++)
            yz_evaluator_free(u->evs[k].ev);
        arena_free(&u->p.mem);
        sb_free(&u->sig_a);
        sb_free(&u->sig_b);
        sb_free(&u->sig_c);
        yz_due_report *part = u->rep;
        rep->parts[rep->nparts++] = part;
        if (rep->n + part->n > rep->cap) {
            rep->cap = rep->n + part->n;
            rep->rows = yz_realloc(rep->rows, rep->cap * sizeof *rep->rows);
        }
        if (part->n)
            memcpy(rep->rows + rep->n, part->rows, part->n * sizeof *part->rows);
        rep->n += part->n;
        rep->sum.decisions += part->sum.decisions;
        rep->sum.persons += part->sum.persons;
        rep->sum.failed += part->sum.failed;
        rep->sum.evaluations += part->sum.evaluations;
        for (size_t k = 0; k < u->d->n; k++)
            diag_add(&warn, u->d->items[k].severity, NULL, 0, 0, "%s", u->d->items[k].message);
        yz_diags_free(u->d);
        yz_free(u->d);
    }
    if (warn.n) /* qsort's array may not be NULL, even when empty */
        qsort(warn.items, warn.n, sizeof *warn.items, cmp_diag);
    for (size_t k = 0; k < warn.n; k++)
        diag_add(d, warn.items[k].severity, NULL, 0, 0, "%s", warn.items[k].message);
    yz_diags_free(&warn);
    for (size_t i = 0; i < r.nrulesets; i++) {
        yz_free(r.rulesets[i].id);
        yz_ruleset_free(r.rulesets[i].rs);
    }
    yz_free(r.rulesets);
    yz_free(r.workers);
    if (rc != YZ_OK) {
        yz_due_report_free(rep);
        return rc;
    }
    if (rep->n)
        qsort(rep->rows, rep->n, sizeof *rep->rows, cmp_row);
    rep->sum.rows = rep->n;
    *out = rep;
    return damaged ? YZ_EFAILED : YZ_OK;
}

size_t yz_due_rows(const yz_due_report *rep, const yz_due_row **rows)
{
    *rows = rep->rows;
    return rep->n;
}

const yz_due_summary *yz_due_summary_of(const yz_due_report *rep)
{
    return &rep->sum;
}

void yz_due_report_free(yz_due_report *rep)
{
    if (!rep)
        return;
    for (size_t i = 0; i < rep->nparts; i++)
        yz_due_report_free(rep->parts[i]);
    yz_free(rep->parts);
    yz_free(rep->rows);
    arena_free(&rep->mem);
    yz_free(rep);
}

/* ---- writing a report for programs and spreadsheets ---- */

static yj *str_or_null(arena *m, const char *s)
{
    return s ? yj_new_string(m, s, strlen(s)) : yj_new_null(m);
}

static void row_json(arena *m, const yz_due_row *r, bool mask, strbuf *out)
{
    yj *o = yj_new_object(m);
    char masked[32];
    yz_mask_id(r->id_number, masked);
    yj *changes = yj_new_array(m);
    for (size_t i = 0; i < r->nchanges; i++) {
        const yz_due_change *c = &r->changes[i];
        yj *x = yj_new_object(m);
        yj_append(m, x, "after", str_or_null(m, c->after));
        if (c->amount_after >= 0)
            yj_append(m, x, "amount_after", yj_new_int(m, c->amount_after));
        if (c->amount_before >= 0)
            yj_append(m, x, "amount_before", yj_new_int(m, c->amount_before));
        yj_append(m, x, "basis", str_or_null(m, c->basis));
        yj_append(m, x, "before", str_or_null(m, c->before));
        yj_append(m, x, "conditions", str_or_null(m, c->conditions));
        yj_append(m, x, "id", str_or_null(m, c->id));
        yj_append(m, x, "kind", str_or_null(m, c->kind));
        yj_append(m, x, "name", str_or_null(m, c->name));
        yj_append(m, x, "reason", str_or_null(m, c->reason));
        yj_append(m, x, "rule", str_or_null(m, c->rule));
        yj_append(m, changes, NULL, x);
    }
    yj_append(m, o, "action", str_or_null(m, r->action));
    yj_append(m, o, "as_of", str_or_null(m, r->decision_as_of));
    yj_append(m, o, "basis", str_or_null(m, r->basis));
    yj_append(m, o, "cause", str_or_null(m, r->cause));
    yj_append(m, o, "changes", changes);
    yj_append(m, o, "date", str_or_null(m, r->date));
    yj_append(m, o, "decision", str_or_null(m, r->decision));
    yj_append(m, o, "id_number", str_or_null(m, mask ? masked : r->id_number));
    if (!mask)
        yj_append(m, o, "name", str_or_null(m, r->name));
    yj_append(m, o, "province", str_or_null(m, r->province));
    yj_append(m, o, "region", str_or_null(m, r->region));
    yj_append(m, o, "rule", str_or_null(m, r->rule));
    yj_append(m, o, "summary", str_or_null(m, r->summary));
    yj_write_canonical(out, o);
    sb_addc(out, '\n');
}

/* one CSV line of n cells, leaving out cell skip (the name, when masked; -1: none) */
static void csv_cells(strbuf *out, const char *const *v, size_t n, int skip)
{
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if ((int)i == skip)
            continue;
        if (!first)
            sb_addc(out, ',');
        first = false;
        if (v[i] && *v[i])
            csv_add_field(out, v[i], strlen(v[i]));
    }
    sb_adds(out, "\r\n");
}

int yz_due_write(const yz_due_report *rep, const char *format, bool mask, yz_write_fn write, void *ctx, yz_diags *d)
{
    bool csv = format && !strcmp(format, "csv");
    if (!csv && (!format || strcmp(format, "jsonl"))) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "unknown format '%s': use jsonl or csv", format ? format : "");
        return YZ_EUSAGE;
    }
    strbuf out = STRBUF_INIT;
    arena m;
    arena_init(&m, 16 * 1024);
    int rc = YZ_OK;
    int skip = mask ? 4 : -1; /* the name */
    if (csv) {
        sb_adds(&out, "\xEF\xBB\xBF");
        const char *head[] = {"date", "action", "cause", "id_number", "name", "region", "province",
                              "summary", "rule", "basis", "decision", "as_of"};
        csv_cells(&out, head, YZ_ARRAY_LEN(head), skip);
    }
    for (size_t i = 0; i < rep->n && rc == YZ_OK; i++) {
        const yz_due_row *r = &rep->rows[i];
        if (csv) {
            char masked[32];
            yz_mask_id(r->id_number, masked);
            const char *v[] = {r->date, r->action, r->cause, mask ? masked : r->id_number, r->name, r->region,
                               r->province, r->summary, r->rule, r->basis, r->decision, r->decision_as_of};
            csv_cells(&out, v, YZ_ARRAY_LEN(v), skip);
        } else {
            arena_clear(&m);
            row_json(&m, r, mask, &out);
        }
        if (out.len >= 64 * 1024) {
            if (write(out.buf, out.len, ctx) != 0)
                rc = YZ_EIO;
            sb_clear(&out);
        }
    }
    if (rc == YZ_OK && out.len && write(out.buf, out.len, ctx) != 0)
        rc = YZ_EIO;
    if (rc == YZ_EIO)
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "the report could not be written");
    sb_free(&out);
    arena_free(&m);
    return rc;
}

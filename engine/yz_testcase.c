/* yz_testcase.c: a province's YAML test cases: records, an as-of date and the expected outcome,
 * run against the province's ruleset, with a readable difference per failure and a report of the
 * categories and subsidies no test exercises both ways. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yz_date.h"
#include "yz_diag.h"
#include "yz_eval.h"
#include "yz_record.h"
#include "yz_testcase.h"
#include "yz_text.h"

typedef struct coverage {
    const char *id;
    bool is_sub;
    bool seen_yes, seen_no;
} coverage;

typedef struct trun {
    const char *home;
    const yz_test_options *opts;
    yz_diags *d;
    strbuf *out;
    yz_test_summary *sum;
    /* per folder */
    const yz_ruleset *rs;
    yz_evaluator *ev;
    coverage *cov;
    size_t ncov;
    int file_errors;
} trun;

static const char *const case_keys[] = {"name", "as_of", "record", "set", "unset", "expect", "note", NULL};
static const char *const expect_keys[] = {"target", "categories", "subsidies", "missing", "rejected", "error",
                                          "prerequisites", "disqualifications", NULL};
static const char *const subsidy_keys[] = {"status", "amount_fen", "months", "start", "end", "total_fen", "period",
                                           "region", "schedule", "total_estimate", "reason", "unverified", NULL};

static size_t count_keys(const char *const *k)
{
    size_t n = 0;
    while (k[n])
        n++;
    return n;
}

static void check_keys(trun *t, const ynode *map, const char *const *allowed, const char *where)
{
    if (!map || map->kind != YN_MAP)
        return;
    for (size_t i = 0; i < map->n; i++) {
        const char *k = map->keys[i]->str;
        bool ok = false;
        for (size_t j = 0; allowed[j]; j++)
            ok |= !strcmp(k, allowed[j]);
        if (ok)
            continue;
        const char *near = yz_suggest(k, allowed, count_keys(allowed));
        if (near)
            diag_add(t->d, YZ_SEV_ERROR, map->file, map->keys[i]->line, map->keys[i]->col,
                     "unknown key '%s' in %s (did you mean '%s'?)", k, where, near);
        else
            diag_add(t->d, YZ_SEV_ERROR, map->file, map->keys[i]->line, map->keys[i]->col, "unknown key '%s' in %s",
                     k, where);
        t->file_errors++;
    }
}

static const char *sval(const ynode *n)
{
    return n && n->kind == YN_SCALAR && !ynode_is_null(n) ? n->str : NULL;
}

/* ---- paths into a record: "household.members[0].employment_status" or "...members.0..." ---- */

static yj *path_parent(arena *m, yj *root, const char *path, char *last, size_t lastcap, bool create)
{
    yj *cur = root;
    const char *p = path;
    for (;;) {
        const char *e = p;
        while (*e && *e != '.' && *e != '[')
            e++;
        size_t n = (size_t)(e - p);
        bool idx = false;
        if (*p == '[' || (n && strspn(p, "0123456789") == n)) {
            idx = true;
        }
        char seg[128];
        if (*p == '[') {
            const char *q = strchr(p, ']');
            if (!q)
                return NULL;
            snprintf(seg, sizeof seg, "%.*s", (int)(q - p - 1), p + 1);
            e = q + 1;
        } else {
            snprintf(seg, sizeof seg, "%.*s", (int)n, p);
        }
        const char *next = *e == '.' ? e + 1 : e;
        if (!*next) {
            snprintf(last, lastcap, "%s", seg);
            return cur;
        }
        yj *child;
        if (idx) {
            long i = strtol(seg, NULL, 10);
            child = yj_first(cur);
            while (child && i-- > 0)
                child = yj_next(child);
        } else {
            child = yj_typeof(cur) == YJ_OBJECT ? yj_get(cur, seg) : NULL;
            if (!child && create && yj_typeof(cur) == YJ_OBJECT) {
                child = yj_new_object(m);
                yj_append(m, cur, seg, child);
            }
        }
        if (!child)
            return NULL;
        cur = child;
        p = next;
    }
}

/* sets (val != NULL) or removes a path; returns false when the path does not lead anywhere */
static bool path_apply(arena *m, yj *root, const char *path, yj *val)
{
    char last[128];
    yj *parent = path_parent(m, root, path, last, sizeof last, val != NULL);
    if (!parent)
        return false;
    if (yj_typeof(parent) == YJ_ARRAY) {
        long i = strtol(last, NULL, 10);
        yj *item = yj_first(parent);
        yj *prev = NULL;
        while (item && i-- > 0) {
            prev = item;
            item = yj_next(item);
        }
        if (!item)
            return false;
        /* rebuild the array with the item replaced or dropped */
        yj *na = yj_new_array(m);
        for (yj *x = yj_first(parent); x; x = yj_next(x)) {
            if (x == item) {
                if (val)
                    yj_append(m, na, NULL, val);
            } else {
                yj_append(m, na, NULL, yj_clone(m, x));
            }
        }
        (void)prev;
        /* swap contents: replace parent in its own parent */
        char ppath[512];
        snprintf(ppath, sizeof ppath, "%s", path);
        char *cut = strrchr(ppath, '.');
        char *br = strrchr(ppath, '[');
        if (br && (!cut || br > cut))
            cut = br;
        if (!cut)
            return false;
        *cut = '\0';
        return path_apply(m, root, ppath, na);
    }
    if (yj_typeof(parent) != YJ_OBJECT)
        return false;
    if (!val && !yj_get(parent, last))
        return false;
    yj_set(m, parent, last, val);
    return true;
}

/* a valid ID number for a birth date and sex, keeping the region of the old one */
static void derive_id(const char *old, const char *birth, char sex, char out[19])
{
    const char *region = old && strlen(old) >= 6 ? old : "440106";
    int seq = 2;
    if (old && strlen(old) >= 17)
        seq = (old[14] - '0') * 100 + (old[15] - '0') * 10 + (old[16] - '0');
    if ((seq % 2 == 1) != (sex == 'M'))
        seq = seq % 2 ? seq - 1 : seq + 1;
    if (seq < 0)
        seq = 1;
    snprintf(out, 19, "%.6s%.4s%.2s%.2s%03d", region, birth, birth + 5, birth + 8, seq % 1000);
    yz_id_info info;
    yz_id_parse(out, 17, &info); /* length error, but fills the check char only for 18; compute */
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (out[i] - '0') * w[i];
    out[17] = "10X98765432"[sum % 11];
    out[18] = '\0';
}

/* ---- comparing ---- */

typedef struct diffs {
    strbuf sb;
    int n;
} diffs;

/* one line of the report: what it quotes (case names, rule texts and errors, record values) is
   shown escaped, so that nothing in a test file or a rule can add lines to the report */
static void report_vline(strbuf *out, const char *fmt, va_list ap)
{
    strbuf line = STRBUF_INIT;
    sb_vaddf(&line, fmt, ap);
    sb_add_shown(out, line.buf, line.len, false);
    sb_addc(out, '\n');
    sb_free(&line);
}

static void report_line(strbuf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report_line(strbuf *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report_vline(out, fmt, ap);
    va_end(ap);
}

static void diff_line(diffs *df, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void diff_line(diffs *df, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_adds(&df->sb, "    ");
    report_vline(&df->sb, fmt, ap);
    va_end(ap);
    df->n++;
}

/* "provinces/x/policy.yaml:12" as the file a person opens (a draft folder has another path) */
static void shown_rule(const yz_ruleset *rs, const char *rule, strbuf *out)
{
    const char *colon = strrchr(rule, ':');
    if (!colon) {
        sb_adds(out, rule);
        return;
    }
    char path[512];
    snprintf(path, sizeof path, "%.*s", (int)(colon - rule), rule);
    sb_addf(out, "%s%s", ruleset_display(rs, path), colon);
}

static void explain_actual(const trun *t, diffs *df, const ditem *di)
{
    for (size_t i = 0; i < di->nconds && i < 8; i++) {
        const dcond *c = &di->conds[i];
        strbuf where = STRBUF_INIT;
        if (c->rule)
            shown_rule(t->rs, c->rule, &where);
        report_line(&df->sb, "        %s %s%s%s%s", c->result == 1 ? "✔" : c->result == 0 ? "✘" : "?", c->text,
                c->rule ? " (" : "", c->rule ? where.buf : "", c->rule ? ")" : "");
        sb_free(&where);
        if (c->error)
            report_line(&df->sb, "          error: %s", c->error);
    }
    for (size_t i = 0; i < di->nmissing; i++)
        sb_addf(&df->sb, "        missing: %s\n", di->missing[i].field);
}

static void cover(trun *t, const char *id, bool sub, int status)
{
    for (size_t i = 0; i < t->ncov; i++) {
        if (t->cov[i].is_sub == sub && !strcmp(t->cov[i].id, id)) {
            if (status == YZ_MET)
                t->cov[i].seen_yes = true;
            else if (status == YZ_NOT_MET)
                t->cov[i].seen_no = true;
            return;
        }
    }
}

static const ditem *find_item(const yz_determination *det, pikind k, const char *id)
{
    for (size_t i = 0; i < det->nitems[k]; i++)
        if (!strcmp(det->items[k][i].it->id, id))
            return &det->items[k][i];
    return NULL;
}

/* region: the group (id or name) a regional parameter's value was chosen for */
static void compare_region(diffs *df, const char *label, const char *id, const ditem *di, const ynode *want)
{
    const char *w = sval(want);
    if (!w)
        return;
    strbuf got = STRBUF_INIT;
    for (size_t i = 0; i < di->nregions; i++) {
        const pregion *g = di->regions[i].group;
        if (!strcmp(g->id, w) || (g->name && !strcmp(g->name, w))) {
            sb_free(&got);
            return;
        }
        sb_addf(&got, "%s%s", got.len ? ", " : "", g->id);
    }
    diff_line(df, "%s.%s.region: expected %s, got %s", label, id, w, got.len ? got.buf : "(no regional parameter)");
    sb_free(&got);
}

/* schedule: [{from, to, months, amount_fen}, ...], each key optional; [] = no schedule */
static void compare_schedule(diffs *df, const char *label, const char *id, const ditem *di, const ynode *want)
{
    if (!want)
        return;
    size_t n = want->kind == YN_SEQ ? want->n : 0;
    if (n != di->nschedule) {
        diff_line(df, "%s.%s.schedule: expected %zu periods, got %zu", label, id, n, di->nschedule);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const ynode *e = want->vals[i];
        const dperiod *p = &di->schedule[i];
        const char *from = sval(ynode_get(e, "from")), *to = sval(ynode_get(e, "to"));
        const char *months = sval(ynode_get(e, "months")), *amount = sval(ynode_get(e, "amount_fen"));
        if ((from && strcmp(from, p->from)) || (to && strcmp(to, p->to)) ||
            (months && strtoll(months, NULL, 10) != p->months) || (amount && strtoll(amount, NULL, 10) != p->amount_fen))
            diff_line(df, "%s.%s.schedule[%zu]: expected %s..%s %s x %s, got %s..%s %lld x %lld", label, id, i,
                      from ? from : "*", to ? to : "*", months ? months : "*", amount ? amount : "*", p->from, p->to,
                      (long long)p->months, (long long)p->amount_fen);
    }
}

/* unverified: what the outcome rests on that is 待核实 ("parameter:min_wage_fen", "source:<id>",
   "item"), as a set; [] = nothing */
static void compare_unverified(diffs *df, const char *label, const char *id, const ditem *di, const ynode *want)
{
    if (!want)
        return;
    size_t n = want->kind == YN_SEQ ? want->n : 0;
    bool same = n == di->nunverified;
    for (size_t i = 0; same && i < n; i++) {
        const char *w = sval(want->vals[i]);
        bool found = false;
        for (size_t j = 0; w && j < di->nunverified; j++)
            found |= !strcmp(di->unverified[j], w);
        same = found;
    }
    if (same)
        return;
    strbuf got = STRBUF_INIT;
    for (size_t j = 0; j < di->nunverified; j++)
        sb_addf(&got, "%s%s", j ? ", " : "", di->unverified[j]);
    diff_line(df, "%s.%s.unverified: expected %zu entries as listed, got [%s]", label, id, n, got.len ? got.buf : "");
    sb_free(&got);
}

static void compare_items(trun *t, diffs *df, const yz_determination *det, const ynode *exp, pikind k,
                          const char *label)
{
    bool sub = k == PI_SUBSIDY;
    if (!exp || exp->kind != YN_MAP)
        return;
    for (size_t i = 0; i < exp->n; i++) {
        const char *id = exp->keys[i]->str;
        const ynode *v = exp->vals[i];
        const ditem *di = find_item(det, k, id);
        const char *want_s = v->kind == YN_MAP ? sval(ynode_get(v, "status")) : sval(v);
        int want = yz_status_parse(want_s, sub);
        if (!di) {
            const pitem *exists = policy_item(det->pol, k, id);
            diff_line(df, "%s.%s: expected %s, but %s", label, id, want_s ? want_s : "?",
                      exists ? "it is not in force on this date" : "there is no such item in the ruleset");
            continue;
        }
        if (want >= 0)
            cover(t, id, sub, want);
        if (want >= 0 && (int)di->status != want) {
            diff_line(df, "%s.%s: expected %s, got %s — %s", label, id, want_s, yz_status_name(di->status, sub),
                      di->reason ? di->reason : "");
            explain_actual(t, df, di);
        }
        if (v->kind == YN_MAP)
            compare_unverified(df, label, id, di, ynode_get(v, "unverified"));
        const char *want_reason = v->kind == YN_MAP ? sval(ynode_get(v, "reason")) : NULL;
        if (want_reason && !(di->reason && strstr(di->reason, want_reason)))
            diff_line(df, "%s.%s.reason: expected it to contain %s, got %s", label, id, want_reason,
                      di->reason ? di->reason : "(none)");
        if (v->kind == YN_MAP && sub) {
            static const char *const nums[] = {"amount_fen", "months", "total_fen"};
            for (size_t j = 0; j < 3; j++) {
                const char *w = sval(ynode_get(v, nums[j]));
                if (!w)
                    continue;
                int64_t got = j == 0 ? di->amount_fen : j == 1 ? di->months : di->total_fen;
                if (di->status != YZ_MET)
                    got = -1;
                if (got < 0 || strtoll(w, NULL, 10) != got)
                    diff_line(df, "%s.%s.%s: expected %s, got %lld", label, id, nums[j], w, (long long)got);
            }
            compare_region(df, label, id, di, ynode_get(v, "region"));
            compare_schedule(df, label, id, di, ynode_get(v, "schedule"));
            const char *est = sval(ynode_get(v, "total_estimate"));
            bool got_est = di->status == YZ_MET && di->rate_changes && !di->nschedule;
            if (est && (!strcmp(est, "true")) != got_est)
                diff_line(df, "%s.%s.total_estimate: expected %s, got %s", label, id, est, got_est ? "true" : "false");
            static const char *const strs[] = {"start", "end", "period"};
            for (size_t j = 0; j < 3; j++) {
                const char *w = sval(ynode_get(v, strs[j]));
                if (!w)
                    continue;
                const char *got = di->status != YZ_MET ? NULL : j == 0 ? di->start : j == 1 ? di->end : di->it->per;
                if (!got || strcmp(w, got) != 0)
                    diff_line(df, "%s.%s.%s: expected %s, got %s", label, id, strs[j], w, got ? got : "(none)");
            }
        }
    }
}

/* ---- one case ---- */

static void run_case(trun *t, const ynode *file_records, const ynode *c, const char *display)
{
    yz_test_summary *sum = t->sum;
    const char *name = sval(ynode_get(c, "name"));
    if (!name)
        name = "(unnamed case)";
    if (t->opts && t->opts->filter && !strstr(name, t->opts->filter))
        return;
    arena m;
    arena_init(&m, 16 * 1024);
    diffs df = {STRBUF_INIT, 0};
    const char *as_of = sval(ynode_get(c, "as_of"));
    const ynode *recn = ynode_get(c, "record");
    const ynode *exp = ynode_get(c, "expect");
    yj *doc = NULL;
    yz_determination *det = NULL;
    yz_diags rd;
    yz_diags_init(&rd);

    if (!as_of) {
        diff_line(&df, "the case has no as_of date");
        goto report;
    }
    if (recn && recn->kind == YN_SCALAR) {
        const ynode *base = ynode_get(file_records, recn->str);
        if (!base) {
            diff_line(&df, "record '%s' is not defined under records:", recn->str);
            goto report;
        }
        doc = yj_from_yaml(&m, base);
    } else if (recn && recn->kind == YN_MAP) {
        doc = yj_from_yaml(&m, recn);
    } else {
        diff_line(&df, "the case has no record (a name from records: or a mapping)");
        goto report;
    }
    const ynode *set = ynode_get(c, "set");
    bool id_given = false, person_changed = false;
    if (set && set->kind == YN_MAP) {
        for (size_t i = 0; i < set->n; i++) {
            const char *p = set->keys[i]->str;
            if (!strcmp(p, "id_number"))
                id_given = true;
            if (!strcmp(p, "birth_date") || !strcmp(p, "sex"))
                person_changed = true;
            if (!path_apply(&m, doc, p, yj_from_yaml(&m, set->vals[i])))
                diff_line(&df, "set: cannot reach '%s' in the record", p);
        }
    }
    if (person_changed && !id_given) {
        /* keep the ID number consistent with a changed birth date or sex */
        yj *b = yj_get(doc, "birth_date"), *s = yj_get(doc, "sex"), *idn = yj_get(doc, "id_number");
        if (yj_typeof(b) == YJ_STRING && yj_typeof(s) == YJ_STRING && strlen(yj_str(b)) == 10) {
            char id[19];
            derive_id(idn ? yj_str(idn) : NULL, yj_str(b), yj_str(s)[0], id);
            yj_set(&m, doc, "id_number", yj_new_string(&m, id, 18));
        }
    }
    const ynode *unset = ynode_get(c, "unset");
    if (unset && unset->kind == YN_SEQ) {
        for (size_t i = 0; i < unset->n; i++)
            if (sval(unset->vals[i]) && !path_apply(&m, doc, unset->vals[i]->str, NULL))
                diff_line(&df, "unset: '%s' is not in the record", unset->vals[i]->str);
    }
    if (df.n)
        goto report;

    if (t->opts && t->opts->on_record) {
        strbuf js = STRBUF_INIT;
        yj_write_canonical(&js, doc);
        t->opts->on_record(name, sb_str(&js), t->opts->ctx);
        sb_free(&js);
    }
    const ynode *rejected = ynode_get(exp, "rejected");
    yval *root = record_index(&m, doc, "record", &rd);
    if (!root) {
        if (rejected && rejected->kind == YN_SEQ) {
            for (size_t i = 0; i < rejected->n; i++) {
                const char *f = sval(rejected->vals[i]);
                bool hit = false;
                for (size_t k = 0; k < rd.n && f; k++)
                    hit |= rd.items[k].field && !strcmp(rd.items[k].field, f);
                if (!hit)
                    diff_line(&df, "expected a violation at %s", f ? f : "?");
            }
        } else {
            diff_line(&df, "the record was rejected:");
            for (size_t k = 0; k < rd.n; k++)
                report_line(&df.sb, "        %s: %s", rd.items[k].field ? rd.items[k].field : "", rd.items[k].message);
        }
        goto report;
    }
    if (rejected) {
        diff_line(&df, "expected the record to be rejected, but it is valid");
        goto report;
    }
    yz_record rec;
    memset(&rec, 0, sizeof rec);
    rec.doc = doc;
    rec.root = root;
    rec.id_number = yj_str(yj_get(doc, "id_number"));
    const char *want_err = sval(ynode_get(exp, "error"));
    int rc = yz_evaluate(t->ev, &rec, as_of, &det, &rd);
    if (rc == YZ_ENOMEM)
        yz_out_of_memory(0); /* not a failed case: the rest cannot run either */
    if (rc != YZ_OK) {
        if (want_err && !strcmp(want_err, "not_in_force") && rc == YZ_ENOTINFORCE)
            goto report;
        diff_line(&df, "evaluation failed: %s", rd.n ? rd.items[0].message : yz_rc_name(rc));
        goto report;
    }
    if (want_err) {
        diff_line(&df, "expected error %s, but a determination was made", want_err);
        goto report;
    }
    const char *tw = sval(ynode_get(exp, "target"));
    int tws = yz_status_parse(tw, false);
    if (tw && tws < 0)
        diff_line(&df, "target: write met, not_met or undetermined, not '%s'", tw);
    else if (tw && tws != (int)det->target)
        diff_line(&df, "target: expected %s, got %s — %s", tw, yz_status_name(det->target, false),
                  det->target_reason ? det->target_reason : "");
    compare_items(t, &df, det, ynode_get(exp, "prerequisites"), PI_PREREQ, "prerequisites");
    compare_items(t, &df, det, ynode_get(exp, "disqualifications"), PI_DISQUAL, "disqualifications");
    compare_items(t, &df, det, ynode_get(exp, "categories"), PI_CATEGORY, "categories");
    compare_items(t, &df, det, ynode_get(exp, "subsidies"), PI_SUBSIDY, "subsidies");
    const ynode *miss = ynode_get(exp, "missing");
    if (miss && miss->kind == YN_SEQ) {
        for (size_t i = 0; i < miss->n; i++) {
            const char *f = sval(miss->vals[i]);
            bool hit = false;
            for (size_t k = 0; k < det->nmissing && f; k++)
                hit |= !strcmp(det->missing[k].field, f);
            if (!hit) {
                diff_line(&df, "missing: expected %s to be reported missing; reported:", f ? f : "?");
                for (size_t k = 0; k < det->nmissing; k++)
                    sb_addf(&df.sb, "        %s\n", det->missing[k].field);
            }
        }
    }
report:
    if (df.n) {
        sum->failed++;
        report_line(t->out, "FAIL %s:%d: %s", display, c->line, name);
        report_line(t->out, "    as of %s%s%s", as_of ? as_of : "?", recn && recn->kind == YN_SCALAR ? ", record " : "",
                recn && recn->kind == YN_SCALAR ? recn->str : "");
        sb_adds(t->out, df.sb.buf);
    } else {
        sum->passed++;
        if (t->opts && t->opts->verbose)
            report_line(t->out, "ok   %s:%d: %s", display, c->line, name);
    }
    sb_free(&df.sb);
    yz_determination_free(det);
    yz_diags_free(&rd);
    arena_free(&m);
}

/* checks a test file's structure and the ids it names; returns false when it cannot be run */
static bool check_file(trun *t, const ydoc *doc)
{
    const ynode *root = doc->root;
    if (!root || root->kind != YN_MAP) {
        diag_add(t->d, YZ_SEV_ERROR, doc->file, 1, 1, "a test file is a mapping with cases: (and optionally records:)");
        return false;
    }
    static const char *const top[] = {"records", "cases", "note", NULL};
    check_keys(t, root, top, "a test file");
    const ynode *cases = ynode_get(root, "cases");
    if (!cases || cases->kind != YN_SEQ) {
        diag_add(t->d, YZ_SEV_ERROR, doc->file, root->line, root->col, "a test file needs 'cases:', a list of cases");
        return false;
    }
    const ppolicy *pol = t->rs->npolicies ? t->rs->policies[t->rs->npolicies - 1] : NULL;
    for (size_t i = 0; i < cases->n; i++) {
        const ynode *c = cases->vals[i];
        if (c->kind != YN_MAP) {
            diag_add(t->d, YZ_SEV_ERROR, doc->file, c->line, c->col, "a case is a mapping (name:, as_of:, record:, expect:)");
            t->file_errors++;
            continue;
        }
        check_keys(t, c, case_keys, "a test case");
        const ynode *exp = ynode_get(c, "expect");
        if (!exp) {
            diag_add(t->d, YZ_SEV_ERROR, doc->file, c->line, c->col, "the case has no 'expect:'");
            t->file_errors++;
            continue;
        }
        check_keys(t, exp, expect_keys, "expect");
        static const char *const sect[] = {"categories", "subsidies", "prerequisites", "disqualifications"};
        static const pikind kinds[] = {PI_CATEGORY, PI_SUBSIDY, PI_PREREQ, PI_DISQUAL};
        for (size_t s = 0; s < 4; s++) {
            const ynode *m = ynode_get(exp, sect[s]);
            if (!m || m->kind != YN_MAP)
                continue;
            for (size_t k = 0; k < m->n; k++) {
                const char *id = m->keys[k]->str;
                bool known = false;
                for (size_t p = 0; p < t->rs->npolicies && !known; p++)
                    known = policy_item(t->rs->policies[p], kinds[s], id) != NULL;
                if (!known) {
                    const char *cands[128];
                    size_t nc = 0;
                    for (size_t j = 0; pol && j < pol->nitems[kinds[s]] && nc < 128; j++)
                        cands[nc++] = pol->items[kinds[s]][j].id;
                    const char *near = yz_suggest(id, cands, nc);
                    diag_add(t->d, YZ_SEV_ERROR, doc->file, m->keys[k]->line, m->keys[k]->col,
                             "expect.%s: unknown id '%s'%s%s%s", sect[s], id, near ? " (did you mean '" : "",
                             near ? near : "", near ? "'?)" : "");
                    t->file_errors++;
                }
                const ynode *v = m->vals[k];
                const char *st = v->kind == YN_MAP ? sval(ynode_get(v, "status")) : sval(v);
                if (v->kind == YN_MAP)
                    check_keys(t, v, subsidy_keys, "an expected subsidy");
                if (st && yz_status_parse(st, kinds[s] == PI_SUBSIDY) < 0) {
                    diag_add(t->d, YZ_SEV_ERROR, doc->file, v->line, v->col,
                             "expect.%s.%s: '%s' is not a status (%s)", sect[s], id, st,
                             kinds[s] == PI_SUBSIDY ? "eligible, not_eligible or undetermined"
                                                    : "met, not_met or undetermined");
                    t->file_errors++;
                }
            }
        }
    }
    return true;
}

static void run_file(trun *t, const char *path)
{
    char *data;
    size_t len;
    int e = yz_read_file(path, 8u << 20, &data, &len);
    if (e) {
        diag_add(t->d, YZ_SEV_ERROR, path, 0, 0, "cannot read: %s", strerror(e));
        t->file_errors++;
        return;
    }
    ydoc *doc;
    if (ydoc_parse(data, len, path, &doc, t->d) != YZ_OK) {
        yz_free(data);
        t->file_errors++;
        return;
    }
    yz_free(data);
    t->sum->files++;
    int before = t->file_errors;
    if (check_file(t, doc) && t->file_errors == before) {
        const ynode *records = ynode_get(doc->root, "records");
        const ynode *cases = ynode_get(doc->root, "cases");
        for (size_t i = 0; i < cases->n; i++)
            run_case(t, records, cases->vals[i], path);
    } else {
        t->file_errors++;
    }
    ydoc_free(doc);
}

static bool in_dir(const char *file, const char *dir)
{
    size_t n = strlen(dir);
    return file && !strncmp(file, dir, n) && file[n] == '/' && !strchr(file + n + 1, '/');
}

/* a city's tests answer for what the city itself adds or changes; a province's for everything */
static bool owned(const ppolicy *pol, const pitem *it)
{
    if (pol->nlevels <= 2)
        return true;
    const char *top = pol->version_files[pol->nlevels - 1];
    char dir[512];
    snprintf(dir, sizeof dir, "%.*s", (int)(strrchr(top, '/') - top), top);
    return in_dir(it->loc.file, dir) || (it->when && in_dir(it->when->loc.file, dir)) ||
           (it->amount && in_dir(it->amount->loc.file, dir)) || (it->months && in_dir(it->months->loc.file, dir));
}

static void add_coverage(trun *t)
{
    const ppolicy *pol = t->rs->policies[t->rs->npolicies - 1];
    t->ncov = 0;
    yz_free(t->cov);
    t->cov = yz_calloc(pol->nitems[PI_CATEGORY] + pol->nitems[PI_SUBSIDY] + 1, sizeof *t->cov);
    for (int k = PI_CATEGORY; k <= PI_SUBSIDY; k++) {
        for (size_t i = 0; i < pol->nitems[k]; i++) {
            if (!owned(pol, &pol->items[k][i]))
                continue;
            coverage *c = &t->cov[t->ncov++];
            c->id = pol->items[k][i].id;
            c->is_sub = k == PI_SUBSIDY;
        }
    }
}

static void report_coverage(trun *t, const char *folder)
{
    strbuf sb = STRBUF_INIT;
    size_t n = 0;
    for (size_t i = 0; i < t->ncov; i++) {
        const coverage *c = &t->cov[i];
        if (c->seen_yes && c->seen_no)
            continue;
        const char *what = !c->seen_yes && !c->seen_no ? "never tested"
                           : !c->seen_yes             ? (c->is_sub ? "never expected eligible" : "never expected met")
                                                      : (c->is_sub ? "never expected not eligible" : "never expected not met");
        sb_addf(&sb, "  %s %s: %s\n", c->is_sub ? "subsidy" : "category", c->id, what);
        n++;
    }
    if (n)
        sb_addf(t->out, "%s: not exercised both ways:\n%s", folder, sb.buf);
    sb_free(&sb);
}

/* runs the tests of one policy folder, then its city folders */
static void run_folder(trun *t, const char *dir, const char *only_file)
{
    if (policy_has_files(dir)) {
        yz_ruleset *rs = NULL;
        if (yz_ruleset_load(t->home, dir, &rs, t->d) != YZ_OK) {
            t->file_errors++;
        } else {
            t->rs = rs;
            if (yz_evaluator_new(rs, t->opts ? &t->opts->limits : NULL, &t->ev, t->d) != YZ_OK)
                yz_out_of_memory(0); /* its only failure */
            add_coverage(t);
            if (only_file) {
                run_file(t, only_file);
            } else {
                char *tdir = yz_path_join(dir, "tests");
                char **names;
                size_t n = policy_test_files(dir, &names);
                for (size_t i = 0; i < n; i++) {
                    char *p = yz_path_join(tdir, names[i]);
                    run_file(t, p);
                    yz_free(p);
                }
                yz_names_free(names, n);
                if (!n)
                    sb_addf(t->out, "%s: no test cases (add YAML files under %s)\n", dir, tdir);
                yz_free(tdir);
                report_coverage(t, dir);
            }
            yz_evaluator_free(t->ev);
            t->ev = NULL;
            yz_ruleset_free(rs);
            t->rs = NULL;
        }
    }
    if (only_file)
        return;
    char **subs;
    size_t ns = policy_subfolders(dir, &subs);
    for (size_t i = 0; i < ns; i++) {
        char *p = yz_path_join(dir, subs[i]);
        run_folder(t, p, NULL);
        yz_free(p);
    }
    yz_names_free(subs, ns);
}

int yz_test_run(const char *home, const char *path, const yz_test_options *opts, char **out, yz_test_summary *sum,
                yz_diags *d)
{
    strbuf sb = STRBUF_INIT;
    memset(sum, 0, sizeof *sum);
    trun t;
    memset(&t, 0, sizeof t);
    t.home = home;
    t.opts = opts;
    t.d = d;
    t.out = &sb;
    t.sum = sum;
    size_t errs_before = d ? d->n_errors : 0;
    if (yz_is_dir(path)) {
        run_folder(&t, path, NULL);
    } else if (yz_is_file(path)) {
        /* a test file: its policy folder is the parent of its tests/ folder */
        char *copy = yz_strdup(path);
        char *slash = strrchr(copy, '/');
        char *folder = NULL;
        if (slash) {
            *slash = '\0';
            if (yz_str_has_suffix(copy, "/tests") || !strcmp(copy, "tests")) {
                char *s2 = strrchr(copy, '/');
                if (s2)
                    *s2 = '\0';
                folder = yz_strdup(s2 ? copy : ".");
            }
        }
        if (!folder) {
            diag_add(d, YZ_SEV_ERROR, path, 0, 0, "a test file belongs in the tests/ folder of a policy folder");
            t.file_errors++;
        } else {
            run_folder(&t, folder, path);
        }
        yz_free(folder);
        yz_free(copy);
    } else {
        diag_add(d, YZ_SEV_ERROR, path, 0, 0, "no such file or folder");
        t.file_errors++;
    }
    yz_free(t.cov);
    sb_addf(&sb, "%zu passed, %zu failed\n", sum->passed, sum->failed);
    *out = sb_release(&sb);
    if (t.file_errors || (d && d->n_errors > errs_before))
        return YZ_EPOLICY;
    return sum->failed ? YZ_EFAILED : YZ_OK;
}

size_t testcase_check_folder(const yz_ruleset *rs, const char *dir, yz_diags *d)
{
    trun t;
    memset(&t, 0, sizeof t);
    t.rs = rs;
    t.d = d;
    char *tdir = yz_path_join(dir, "tests");
    size_t files = 0;
    char **names;
    size_t n = policy_test_files(dir, &names);
    for (size_t i = 0; i < n; i++) {
        char *p = yz_path_join(tdir, names[i]);
        char *data;
        size_t len;
        int e = yz_read_file(p, 8u << 20, &data, &len);
        if (e) {
            diag_add(d, YZ_SEV_ERROR, p, 0, 0, "cannot read: %s", strerror(e));
        } else {
            ydoc *doc;
            if (ydoc_parse(data, len, p, &doc, d) == YZ_OK) {
                check_file(&t, doc);
                ydoc_free(doc);
            }
            yz_free(data);
            files++;
        }
        yz_free(p);
    }
    yz_names_free(names, n);
    yz_free(tdir);
    return files;
}

/* test_eval.c: evaluation of whole rulesets held in memory: three-valued logic independent of
 * order, condition-level explanations, hostile rules contained, no state between records. */
#include <dirent.h>
#include <stdlib.h>

#include "unit.h"
#include "yz_eval.h"
#include "yz_record.h"
#include "yz_util.h"

static const char national[] =
    "format: 1\neffective: {from: 2000-01-01}\n"
    "sources: {s: {issuer: x, number: n1}}\n"
    "categories:\n"
    "  a_first: {name: A, basis: {source: s}, when: {all: ['r.sex == \"F\"', 'r.hukou.type == \"urban\"']}}\n"
    "  a_second: {name: B, basis: {source: s}, when: {all: ['r.hukou.type == \"urban\"', 'r.sex == \"F\"']}}\n"
    "  any_first: {name: C, basis: {source: s}, when: {any: ['r.sex == \"M\"', 'r.hukou.type == \"rural\"']}}\n"
    "  any_second: {name: D, basis: {source: s}, when: {any: ['r.hukou.type == \"rural\"', 'r.sex == \"M\"']}}\n"
    "  negated: {name: E, basis: {source: s}, when: {not: 'r.hukou.type == \"urban\"'}}\n";

static const char province[] =
    "format: 1\nextends: national\neffective: {from: 2020-01-01, to: 2030-12-31}\nlua: [h.lua]\n"
    "categories:\n"
    "  hostile: {name: H, basis: {source: s}, when: {lua: 'string.rep(\"x\", 1 << 30) ~= nil', text: 炸内存}}\n"
    "  looping: {name: L, basis: {source: s}, when: 'hang()'}\n"
    "  counting: {name: K, basis: {source: s}, when: 'count() == 1'}\n"
    "  bad_type: {name: T, basis: {source: s}, when: '42'}\n"
    "subsidies:\n"
    "  money: {name: M, basis: {source: s}, for: [a_first], amount: {fen: '1000 / 3', per: once}}\n"
    "  fine: {name: F, basis: {source: s}, for: [any_first], amount: {fen: 'mul_div(1000, 1, 3)', per: once}}\n";

static const char helper[] =
    "local M = {}\nlocal n = 0\nlocal seen = {}\n"
    "function M.count() n = n + 1 return n end\n"
    "function M.hang() while true do end end\n"
    "return M\n";

static const ditem *item(const yz_determination *det, pikind k, const char *id)
{
    for (size_t i = 0; i < det->nitems[k]; i++)
        if (!strcmp(det->items[k][i].it->id, id))
            return &det->items[k][i];
    return NULL;
}

static yz_determination *decide(yz_evaluator *ev, const char *json, const char *as_of)
{
    yz_record *rec = NULL;
    yz_diags d;
    yz_diags_init(&d);
    if (yz_record_parse(json, strlen(json), "t", &rec, &d) != YZ_OK) {
        fprintf(stderr, "unit: bad test record: %s\n", d.n ? d.items[0].message : "?");
        yz_diags_free(&d);
        return NULL;
    }
    yz_determination *det = NULL;
    int rc = yz_evaluate(ev, rec, as_of, &det, &d);
    if (rc != YZ_OK)
        det = NULL;
    yz_record_free(rec);
    yz_diags_free(&d);
    return det;
}

/* ---- the system refusing memory vs. a rule reaching its cap ---- */

static long host_calls, host_fail_at; /* fail_at 0: never; else the fail_at-th call from arming */
static bool host_once, host_failed;

static void *host_realloc(void *p, size_t n)
{
    host_calls++;
    if (host_fail_at && host_calls >= host_fail_at && (!host_once || host_calls == host_fail_at)) {
        host_failed = true;
        return NULL;
    }
    return realloc(p, n);
}

static void host_arm(long fail_at, bool once)
{
    host_calls = 0;
    host_fail_at = fail_at;
    host_once = once;
    host_failed = false;
}

static bool has_message(const yz_diags *d, const char *text)
{
    for (size_t i = 0; i < d->n; i++)
        if (strstr(d->items[i].message, text))
            return true;
    return false;
}

static void test_refused_memory(const yz_ruleset *rs)
{
    const char *json = "{\"schema\":1,\"id_number\":\"440106198301010010\",\"sex\":\"M\",\"birth_date\":\"1983-01-01\"}";
    yz_record *rec = NULL;
    yz_diags d;
    yz_diags_init(&d);
    CHECK_INT(yz_record_parse(json, strlen(json), "t", &rec, &d), YZ_OK);
    yz_limits lim = {100000, 32u << 20, 0};

    /* the reference: the cap stops the hostile rule, its item is undetermined, the call succeeds */
    host_arm(0, false);
    yz_evaluator *ev = NULL;
    CHECK_INT(evaluator_new_with(rs, &lim, host_realloc, &ev, &d), YZ_OK);
    yz_determination *det = NULL;
    CHECK_INT(yz_evaluate(ev, rec, "2025-06-15", &det, &d), YZ_OK);
    char *want = det ? yz_determination_json(det) : NULL;
    const ditem *h = det ? item(det, PI_CATEGORY, "hostile") : NULL;
    CHECK(h && h->status == YZ_UNDETERMINED && h->error && strstr(h->error, "memory cap"));
    yz_determination_free(det);
    long total = host_calls; /* host allocations of one evaluation (the first: environments built) */
    yz_evaluator_free(ev);

    /* refused while the evaluator is made: no evaluator, YZ_ENOMEM */
    for (long n = 1; n <= 40; n += 3) {
        host_arm(n, false);
        ev = NULL;
        int rc = evaluator_new_with(rs, &lim, host_realloc, &ev, &d);
        CHECK(rc == YZ_OK || (rc == YZ_ENOMEM && ev == NULL && has_message(&d, "out of memory")));
        CHECK(rc == YZ_ENOMEM || !host_failed);
        yz_evaluator_free(ev);
        yz_diags_free(&d);
        yz_diags_init(&d);
    }

    /* refused during an evaluation, once or for good, at every few allocations: either the call
       saw no refusal and gives exactly the reference, or it fails as a whole with YZ_ENOMEM.
       Never a determination made around a refusal (an item "undetermined" for want of memory). */
    int refused = 0, clean = 0;
    for (int once = 0; once <= 1; once++) {
        for (long n = 1; n <= total + 50; n += total / 97 + 1) {
            host_arm(0, false);
            ev = NULL;
            if (evaluator_new_with(rs, &lim, host_realloc, &ev, &d) != YZ_OK) {
                CHECK(0);
                continue;
            }
            host_arm(n, once);
            det = NULL;
            int rc = yz_evaluate(ev, rec, "2025-06-15", &det, &d);
            if (host_failed) {
                refused++;
                CHECK_INT(rc, YZ_ENOMEM);
                CHECK(det == NULL);
                CHECK(has_message(&d, "out of memory"));
                /* the evaluator is spent: it says so rather than deciding */
                host_arm(0, false);
                yz_determination *again = NULL;
                CHECK_INT(yz_evaluate(ev, rec, "2025-06-15", &again, &d), YZ_ENOMEM);
                yz_determination_free(again);
            } else {
                clean++;
                CHECK_INT(rc, YZ_OK);
                char *got = det ? yz_determination_json(det) : NULL;
                CHECK(got && want && !strcmp(got, want));
                yz_free(got);
            }
            yz_determination_free(det);
            yz_evaluator_free(ev);
            yz_diags_free(&d);
            yz_diags_init(&d);
        }
    }
    if (getenv("UNIT_DEBUG"))
        fprintf(stderr, "refused memory: %ld host allocations per evaluation, %d refused, %d clean\n", total, refused, clean);
    CHECK(refused > 50);
    CHECK(clean > 0);
    host_arm(0, false);
    yz_free(want);
    yz_record_free(rec);
    yz_diags_free(&d);
}

void test_eval(void)
{
    unit_files_add_lib();
    unit_files_add("rules/national/policy.yaml", national);
    unit_files_add("provinces/t/policy.yaml", province);
    unit_files_add("provinces/t/h.lua", helper);
    yz_ruleset *rs = NULL;
    yz_diags d;
    yz_diags_init(&d);
    int rc = yz_ruleset_load_files(unit_files, unit_nfiles, "t", &rs, &d);
    for (size_t i = 0; i < d.n; i++) {
        char *s = yz_diag_format(&d.items[i]);
        fprintf(stderr, "  %s\n", s);
        yz_free(s);
    }
    CHECK_INT(rc, YZ_OK);
    yz_diags_free(&d);
    if (!rs)
        return;
    CHECK_INT(strlen(yz_ruleset_id(rs)), 64);
    yz_evaluator *ev = NULL;
    yz_limits lim = {100000, 32u << 20, 0};
    CHECK_INT(yz_evaluator_new(rs, &lim, &ev, &d), YZ_OK);

    /* a man without hukou.type: 'all' is false and 'any' is true whatever the order */
    const char *man = "{\"schema\":1,\"id_number\":\"440106198301010010\",\"sex\":\"M\",\"birth_date\":\"1983-01-01\"}";
    const char *woman = "{\"schema\":1,\"id_number\":\"440106198506150025\",\"sex\":\"F\",\"birth_date\":\"1985-06-15\"}";
    yz_determination *det = decide(ev, man, "2025-06-15");
    CHECK(det != NULL);
    if (det) {
        CHECK_INT(item(det, PI_CATEGORY, "a_first")->status, YZ_NOT_MET);
        CHECK_INT(item(det, PI_CATEGORY, "a_second")->status, YZ_NOT_MET);
        CHECK_INT(item(det, PI_CATEGORY, "any_first")->status, YZ_MET);
        CHECK_INT(item(det, PI_CATEGORY, "any_second")->status, YZ_MET);
        CHECK_INT(item(det, PI_CATEGORY, "negated")->status, YZ_UNDETERMINED);
        /* the explanation names the condition that failed, not the whole predicate */
        const ditem *a2 = item(det, PI_CATEGORY, "a_second");
        CHECK(a2->nconds == 1 && !strcmp(a2->conds[0].text, "r.sex == \"F\"") && a2->conds[0].result == 0);
        CHECK(a2->nmissing == 0);
        /* hostile rules: contained, named, and the rest unaffected */
        const ditem *h = item(det, PI_CATEGORY, "hostile");
        if (getenv("UNIT_DEBUG")) {
            char *j = yz_determination_json(det);
            fprintf(stderr, "%s\n", j);
            yz_free(j);
        }
        CHECK_INT(h->status, YZ_UNDETERMINED);
        CHECK(h->error && strstr(h->error, "provinces/t/policy.yaml:6") && strstr(h->error, "memory"));
        const ditem *l = item(det, PI_CATEGORY, "looping");
        CHECK_INT(l->status, YZ_UNDETERMINED);
        CHECK(l->error && strstr(l->error, "instruction budget"));
        const ditem *t = item(det, PI_CATEGORY, "bad_type");
        CHECK(t->error && strstr(t->error, "true or false"));
        CHECK_INT(item(det, PI_CATEGORY, "counting")->status, YZ_MET);
        CHECK_INT(item(det, PI_SUBSIDY, "fine")->status, YZ_MET);
        CHECK_INT(item(det, PI_SUBSIDY, "fine")->amount_fen, 333);
        CHECK_INT(det->target, YZ_MET);
    }
    yz_determination_free(det);

    /* a woman without hukou.type: 'all' is undetermined and names the missing field */
    det = decide(ev, woman, "2025-06-15");
    if (det) {
        const ditem *a1 = item(det, PI_CATEGORY, "a_first");
        CHECK_INT(a1->status, YZ_UNDETERMINED);
        /* the whole hukou object is absent: that is what to ask for */
        CHECK(a1->nmissing == 1 && !strcmp(a1->missing[0].field, "hukou") && !strcmp(a1->missing[0].document, "hukou_book"));
        CHECK_INT(item(det, PI_CATEGORY, "a_second")->status, YZ_UNDETERMINED);
        /* helper state was reset after the previous record */
        CHECK_INT(item(det, PI_CATEGORY, "counting")->status, YZ_MET);
        CHECK_INT(det->nmissing, 1);
    }
    yz_determination_free(det);

    /* hukou present without its type: the type is what is missing */
    det = decide(ev, "{\"schema\":1,\"id_number\":\"440106198506150025\",\"sex\":\"F\",\"birth_date\":\"1985-06-15\","
                     "\"hukou\":{\"region\":\"440106\"}}",
                 "2025-06-15");
    if (det) {
        const ditem *a1 = item(det, PI_CATEGORY, "a_first");
        CHECK(a1->nmissing == 1 && !strcmp(a1->missing[0].field, "hukou.type") && !strcmp(a1->missing[0].label, "户口性质"));
    }
    yz_determination_free(det);

    /* a float amount is refused, the subsidy undetermined with the reason */
    det = decide(ev, "{\"schema\":1,\"id_number\":\"440106198506150025\",\"sex\":\"F\",\"birth_date\":\"1985-06-15\","
                     "\"hukou\":{\"type\":\"urban\"}}",
                 "2025-06-15");
    if (det) {
        const ditem *m = item(det, PI_SUBSIDY, "money");
        CHECK_INT(m->status, YZ_UNDETERMINED);
        CHECK(m->error && strstr(m->error, "whole number"));
        /* byte-identical JSON for the same inputs */
        char *j1 = yz_determination_json(det);
        yz_determination *again = decide(ev, "{\"schema\":1,\"id_number\":\"440106198506150025\",\"sex\":\"F\","
                                             "\"birth_date\":\"1985-06-15\",\"hukou\":{\"type\":\"urban\"}}",
                                         "2025-06-15");
        char *j2 = again ? yz_determination_json(again) : NULL;
        CHECK(j2 && !strcmp(j1, j2));
        yz_free(j1);
        yz_free(j2);
        yz_determination_free(again);
    }
    yz_determination_free(det);

    /* outside the policy's period: refused, naming the periods */
    yz_record *rec = NULL;
    yz_record_parse(woman, strlen(woman), "t", &rec, &d);
    det = NULL;
    CHECK_INT(yz_evaluate(ev, rec, "2031-01-01", &det, &d), YZ_ENOTINFORCE);
    CHECK(d.n && strstr(d.items[0].message, "2020-01-01 to 2030-12-31"));
    yz_diags_free(&d);
    CHECK_INT(yz_evaluate(ev, rec, "2025-02-30", &det, &d), YZ_EUSAGE);
    yz_diags_free(&d);
    yz_record_free(rec);

    yz_evaluator_free(ev);
    test_refused_memory(rs);
    yz_ruleset_free(rs);

    /* a policy with errors is never returned */
    unit_files_free();
    unit_files_add_lib();
    unit_files_add("rules/national/policy.yaml", national);
    unit_files_add("provinces/u/policy.yaml", "format: 1\nextends: national\neffective: {from: 2020-01-01}\n"
                                   "categories:\n  x: {name: X, when: 'r.sex == \"F\" and'}\n");
    rc = yz_ruleset_load_files(unit_files, unit_nfiles, "u", &rs, &d);
    CHECK_INT(rc, YZ_EPOLICY);
    CHECK(rs == NULL);
    bool syntax = false, basis = false;
    for (size_t i = 0; i < d.n; i++) {
        syntax |= strstr(d.items[i].message, "Lua syntax") && d.items[i].line == 5;
        basis |= strstr(d.items[i].message, "no legal basis") != NULL;
    }
    if (!syntax)
        for (size_t i = 0; i < d.n; i++)
            fprintf(stderr, "  diag %d: %s\n", d.items[i].line, d.items[i].message);
    CHECK(syntax);
    CHECK(basis);
    yz_diags_free(&d);
    unit_files_free();
}

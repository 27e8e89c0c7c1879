/* fuzz_record.c: applicant records.  The input is one record, JSON or YAML (yz_record_parse tells
 * them apart by the first character), parsed and validated against the schema; a valid record's
 * canonical JSON must parse and validate again to the same bytes, and the record is evaluated with
 * the Guangzhou and Shanghai rulesets (built once) into a determination that must be JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "yz_json.h"

static char *home;
static yz_ruleset *rs[2];
static yz_evaluator *ev[2];

static void cleanup(void)
{
    for (size_t i = 0; i < 2; i++) {
        yz_evaluator_free(ev[i]);
        yz_ruleset_free(rs[i]);
    }
    yz_free(home);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    home = yz_home_default((*argv)[0]);
    static const char *const provinces[] = {"guangdong/guangzhou", "shanghai"};
    yz_limits lim = {200000, 16u << 20, 0};
    for (size_t i = 0; i < 2; i++) {
        yz_diags d;
        yz_diags_init(&d);
        if (yz_ruleset_load(home, provinces[i], &rs[i], &d) != YZ_OK ||
            yz_evaluator_new(rs[i], &lim, &ev[i], &d) != YZ_OK) {
            fprintf(stderr, "fuzz_record: cannot load %s from %s\n", provinces[i], home);
            exit(2);
        }
        yz_diags_free(&d);
    }
    atexit(cleanup);
    return 0;
}

static bool is_json(const char *s)
{
    arena m;
    arena_init(&m, 4096);
    size_t off;
    const char *err;
    bool ok = yj_parse(&m, s, strlen(s), &off, &err) != NULL;
    arena_free(&m);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    yz_record *rec = NULL;
    yz_diags d;
    yz_diags_init(&d);
    int rc = yz_record_parse((const char *)data, size, "fuzz", &rec, &d);
    FUZZ_ASSERT((rc == YZ_OK) == (rec != NULL), "parse returned %s with a record %p", yz_rc_name(rc), (void *)rec);
    FUZZ_ASSERT(rc == YZ_OK || d.n_errors > 0, "parse failed (%s) without saying why", yz_rc_name(rc));
    for (size_t i = 0; i < d.n; i++)
        yz_free(yz_diag_format(&d.items[i]));
    FUZZ_SHOW_DIAGS(&d);
    yz_diags_free(&d);
    if (!rec)
        return 0;

    fuzz_check_canonical(rec, "record");

    for (size_t i = 0; i < 2; i++) {
        yz_determination *det = NULL;
        rc = yz_evaluate(ev[i], rec, "2025-06-15", &det, &d);
        FUZZ_ASSERT(rc == YZ_OK, "evaluating a valid record failed: %s", yz_rc_name(rc));
        char *json = yz_determination_json(det);
        char *text = yz_determination_text(det);
        FUZZ_ASSERT(is_json(json), "the determination is not JSON: %s", json);
        char *brief = yz_outcome_brief(json, true);
        yz_free(brief);
        yz_free(json);
        yz_free(text);
        yz_determination_free(det);
        yz_diags_free(&d);
    }
    yz_record_free(rec);
    return 0;
}

/* fuzz_policy.c: the policy loader.  The input is one policy file, loaded as the province "fuzz"
 * over the national baseline (or over another province, or standalone: whatever its extends:
 * says) from files held in memory; a ruleset that loads is evaluated for two records on the first
 * and last day of its policies (the first record twice: the same decision both times, whatever
 * the rules did in between), and the same folder is linted from disk (the loader's other source,
 * and the lint checks). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "yz_json.h"
#include "yz_policy.h"

static char *home;
static yz_file *base; /* rules/lib, rules/national and every province's policy files */
static size_t nbase;
static yz_file *files; /* base, then the fuzz province's helpers and policy */
static yz_record *recs[2];
static char tmpdir[64];
static char *lint_policy; /* TMPDIR/fuzz/policy.yaml */

static void add_base(const char *logical, char *data, size_t len)
{
    base = yz_realloc(base, (nbase + 1) * sizeof *base);
    base[nbase].path = yz_strdup(logical);
    base[nbase].data = data;
    base[nbase].len = len;
    nbase++;
}

static char *read_or_die(const char *path, size_t *len)
{
    char *data;
    int e = yz_read_file(path, 8u << 20, &data, len);
    if (e) {
        fprintf(stderr, "fuzz_policy: cannot read %s: %s\n", path, strerror(e));
        exit(2);
    }
    return data;
}

/* the .yaml and .lua files below logical (a folder of home), except test cases */
static void add_tree(const char *logical, int depth)
{
    char *dir = yz_path_join(home, logical);
    DIR *dh = opendir(dir);
    if (!dh) {
        fprintf(stderr, "fuzz_policy: cannot open %s\n", dir);
        exit(2);
    }
    struct dirent *de;
    while ((de = readdir(dh))) {
        if (de->d_name[0] == '.' || !strcmp(de->d_name, "tests"))
            continue;
        char *lg = yz_path_join(logical, de->d_name);
        char *full = yz_path_join(home, lg);
        if (yz_is_dir(full) && depth < 3) {
            add_tree(lg, depth + 1);
        } else if (yz_str_has_suffix(de->d_name, ".yaml") || yz_str_has_suffix(de->d_name, ".lua")) {
            size_t len;
            char *data = read_or_die(full, &len);
            add_base(lg, data, len);
        }
        yz_free(full);
        yz_free(lg);
    }
    closedir(dh);
    yz_free(dir);
}

static void write_or_die(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "fuzz_policy: cannot write %s\n", path);
        exit(2);
    }
}

static void cleanup(void)
{
    char *dir = yz_path_join(tmpdir, "fuzz");
    char *helpers = yz_path_join(dir, "helpers.lua");
    unlink(lint_policy);
    unlink(helpers);
    rmdir(dir);
    rmdir(tmpdir);
    yz_free(helpers);
    yz_free(dir);
    yz_free(lint_policy);
    for (size_t i = 0; i < nbase; i++) {
        yz_free_const(base[i].path);
        yz_free_const(base[i].data);
    }
    yz_free(base);
    yz_free(files);
    yz_record_free(recs[0]);
    yz_record_free(recs[1]);
    yz_free(home);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    home = yz_home_default((*argv)[0]);
    add_tree("rules/lib", 0);
    add_tree("rules/national", 0);
    add_tree("provinces", 0);
    /* the fuzz province's helpers: those of Shanghai and of the benchmark policy in one chunk, so
       seeds from both find their functions */
    strbuf h = STRBUF_INIT;
    static const char *const helper_files[] = {"provinces/shanghai/helpers.lua", "tests/bench/policy/helpers.lua"};
    sb_adds(&h, "local M = {}\n");
    for (size_t i = 0; i < YZ_ARRAY_LEN(helper_files); i++) {
        char *p = yz_path_join(home, helper_files[i]);
        size_t len;
        char *data = read_or_die(p, &len);
        sb_adds(&h, "for k, v in pairs((function()\n");
        sb_add(&h, data, len);
        sb_adds(&h, "\nend)()) do M[k] = v end\n");
        yz_free(data);
        yz_free(p);
    }
    sb_adds(&h, "return M\n");
    size_t hlen = h.len;
    add_base("provinces/fuzz/helpers.lua", sb_release(&h), hlen);
    files = yz_calloc(nbase + 1, sizeof *files);
    memcpy(files, base, nbase * sizeof *base);

    /* a complete record and a partial one (absent fields make conditions unknown) */
    static const char *const rec_files[] = {"schemas/examples/applicant.yaml", "tests/cli/fixtures/records/partial.json"};
    for (size_t i = 0; i < 2; i++) {
        char *p = yz_path_join(home, rec_files[i]);
        size_t len;
        char *data = read_or_die(p, &len);
        yz_diags d;
        yz_diags_init(&d);
        if (yz_record_parse(data, len, p, &recs[i], &d) != YZ_OK) {
            fprintf(stderr, "fuzz_policy: %s does not parse\n", p);
            exit(2);
        }
        yz_diags_free(&d);
        yz_free(data);
        yz_free(p);
    }

    /* the folder that lint reads: TMPDIR/fuzz with the helpers and the input as policy.yaml */
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/yz-fuzz-XXXXXX", t && strlen(t) < 40 ? t : "/tmp");
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "fuzz_policy: cannot make a temporary folder\n");
        exit(2);
    }
    char *dir = yz_path_join(tmpdir, "fuzz");
    char *helpers = yz_path_join(dir, "helpers.lua");
    if (mkdir(dir, 0700) != 0) {
        fprintf(stderr, "fuzz_policy: cannot make %s\n", dir);
        exit(2);
    }
    write_or_die(helpers, base[nbase - 1].data, base[nbase - 1].len);
    lint_policy = yz_path_join(dir, "policy.yaml");
    yz_free(helpers);
    yz_free(dir);
    atexit(cleanup);
    return 0;
}

/* evaluates a record on a date in force: its determination as JSON (caller frees) */
static char *evaluate_one(yz_evaluator *ev, const yz_record *rec, const char *as_of)
{
    yz_determination *det = NULL;
    yz_diags d;
    yz_diags_init(&d);
    int rc = yz_evaluate(ev, rec, as_of, &det, &d);
    FUZZ_ASSERT(rc == YZ_OK, "evaluating on %s, a date in force, failed: %s", as_of, yz_rc_name(rc));
    char *json = yz_determination_json(det);
    yz_free(yz_determination_text(det));
    arena m;
    arena_init(&m, 4096);
    size_t off;
    const char *err;
    FUZZ_ASSERT(yj_parse(&m, json, strlen(json), &off, &err), "the determination is not JSON (%s at %zu): %s", err, off,
                json);
    arena_free(&m);
    yz_determination_free(det);
    yz_diags_free(&d);
    return json;
}

/* both records, then the first again: nothing the rules did for one record may change the
   decision of the next (decisions replay byte for byte) */
static void evaluate(yz_evaluator *ev, const char *as_of)
{
    char *first = evaluate_one(ev, recs[0], as_of);
    yz_free(evaluate_one(ev, recs[1], as_of));
    char *again = evaluate_one(ev, recs[0], as_of);
    FUZZ_ASSERT(!strcmp(first, again), "the same record decided twice on %s differs:\n%s\n%s", as_of, first, again);
    yz_free(first);
    yz_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    files[nbase].path = "provinces/fuzz/policy.yaml";
    files[nbase].data = (const char *)data;
    files[nbase].len = size;
    yz_ruleset *rs = NULL;
    yz_diags d;
    yz_diags_init(&d);
    int rc = yz_ruleset_load_files(files, nbase + 1, "fuzz", &rs, &d);
    FUZZ_ASSERT((rc == YZ_OK) == (rs != NULL), "load returned %s with a ruleset %p", yz_rc_name(rc), (void *)rs);
    FUZZ_ASSERT(rc == YZ_OK || d.n_errors > 0, "load failed (%s) without saying why", yz_rc_name(rc));
    for (size_t i = 0; i < d.n; i++)
        yz_free(yz_diag_format(&d.items[i]));
    FUZZ_SHOW_DIAGS(&d);
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "load: %s, %zu policies\n", yz_rc_name(rc), rs ? rs->npolicies : 0);
    yz_diags_free(&d);
    if (rs) {
        yz_limits lim = {200000, 16u << 20, 0};
        yz_evaluator *ev = NULL;
        if (yz_evaluator_new(rs, &lim, &ev, &d) == YZ_OK) {
            const ppolicy *first = rs->policies[0], *last = rs->policies[rs->npolicies - 1];
            evaluate(ev, first->eff_from);
            if (last->eff_to)
                evaluate(ev, last->eff_to);
            yz_evaluator_free(ev);
        }
        yz_diags_free(&d);
        yz_ruleset_free(rs);
    }

    /* lint reads the folder from disk */
    write_or_die(lint_policy, (const char *)data, size);
    rc = yz_lint(home, lint_policy, "2025-01-01", &d);
    FUZZ_ASSERT(rc == YZ_OK || d.n_errors > 0, "lint failed (%s) without saying why", yz_rc_name(rc));
    FUZZ_SHOW_DIAGS(&d);
    yz_diags_free(&d);
    return 0;
}

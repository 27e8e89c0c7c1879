/* cmd_test.c: `yuanzhu test PATH...`: a province's YAML test cases. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage_text[] =
    "usage: yuanzhu test [--filter TEXT] [--verbose] [--records FILE] PATH...\n"
    "\n"
    "Runs the YAML test cases under PATH/tests (and those of its city folders), or one test file.\n"
    "Each failure is shown with what was expected, what was decided and the conditions that\n"
    "decided it.  Then the categories and subsidies that no test expects both ways are listed, and\n"
    "the last line is \"N passed, M failed\".\n"
    "\n"
    "  --filter TEXT  run only cases whose name contains TEXT\n"
    "  --verbose      list passing cases too\n"
    "  --records FILE write each case's applicant record (after its set: and unset:) to FILE as\n"
    "                 JSON Lines, to check them with another tool or decide them with batch\n"
    "\n"
    "exit codes: 0 all passed; 1 some failed; 2 usage error; 3 a policy or test file has errors\n"
    "\n"
    "example: yuanzhu test provinces/guangdong\n";

static void write_record(const char *name, const char *json, void *ctx)
{
    (void)name;
    fprintf(ctx, "%s\n", json);
}

int cmd_test(cli *c, int argc, char **argv)
{
    yz_test_options opts;
    memset(&opts, 0, sizeof opts);
    const char *records = NULL;
    const char *paths[256];
    int npaths = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int l;
        if (cli_is_help(argv[i])) {
            return cli_help(usage_text);
        } else if ((v = cli_opt(argc, argv, &i, "--filter"))) {
            opts.filter = v;
        } else if ((v = cli_opt(argc, argv, &i, "--records"))) {
            records = v;
        } else if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v")) {
            opts.verbose = 1;
        } else if ((l = cli_limit_opt(c, argc, argv, &i, &opts.limits)) != 0) {
            if (l < 0)
                return EXIT_USAGE;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage(c, usage_text, "unknown option '%s'", argv[i]);
        } else if (npaths < 256) {
            paths[npaths++] = argv[i];
        }
    }
    if (!npaths) {
        cli_error(c, "name the policy folders or test files to run (e.g. yuanzhu test provinces/guangdong)");
        return EXIT_USAGE;
    }
    FILE *rf = NULL;
    if (records) {
        rf = *records ? fopen(records, "w") : NULL;
        if (!rf) {
            cli_error(c, "--records: cannot write '%s': %s", records, *records ? strerror(errno) : "no file named");
            return EXIT_USAGE;
        }
        opts.on_record = write_record;
        opts.ctx = rf;
    }
    size_t passed = 0, failed = 0;
    int worst = 0;
    for (int i = 0; i < npaths; i++) {
        yz_diags d;
        yz_diags_init(&d);
        char *out = NULL;
        yz_test_summary sum;
        int rc = yz_test_run(c->home, paths[i], &opts, &out, &sum, &d);
        cli_print_diags(c, &d);
        /* the per-path summary line is left out: one total line ends the run */
        if (out) {
            char *last = strrchr(out, '\n');
            if (last) {
                *last = '\0';
                char *prev = strrchr(out, '\n');
                if (prev)
                    prev[1] = '\0';
                else
                    out[0] = '\0';
            }
            fputs(out, stdout);
            yz_free(out);
        }
        passed += sum.passed;
        failed += sum.failed;
        int code = rc == YZ_OK ? 0 : rc == YZ_EFAILED ? EXIT_FAIL : EXIT_POLICY;
        if (code > worst)
            worst = code;
        yz_diags_free(&d);
    }
    if (rf && (ferror(rf) | fclose(rf))) {
        cli_error(c, "--records: cannot write '%s'", records);
        worst = worst ? worst : EXIT_INTERNAL;
    }
    printf("%zu passed, %zu failed\n", passed, failed);
    return worst;
}

/* cmd_impact.c: `yuanzhu impact`: what a draft ruleset would do to a caseload, before it takes effect. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char usage_text[] =
    "usage: yuanzhu impact --baseline P --reform P [--as-of YYYY-MM-DD] [--json] [--html FILE]\n"
    "                      [--format jsonl|csv] [--encoding gbk] [--jobs N] [--examples N] [--quiet]\n"
    "                      FILE|-|--store DB\n"
    "\n"
    "Simulates a policy change: decides every record of a population under two rulesets — the\n"
    "rules in force (the baseline) and a draft (the reform) — and reports what changes.  Nothing is\n"
    "recorded.  The population is a ledger (JSON Lines or CSV, read as batch reads it) or, with\n"
    "--store, each person's newest record in a decision store.  Both rulesets are loaded and linted\n"
    "first: one with errors is refused, as check refuses it.\n"
    "\n"
    "The report (Chinese text on standard output; --json for programs; --html for a page to read or\n"
    "print) has: the target status before -> after (met / not met / undetermined) and the same for\n"
    "every category and subsidy; the monthly and whole-period cost of each subsidy in both, with the\n"
    "difference, and a check that the parts add up to the totals; breakdowns by county (residence,\n"
    "else hukou) and by baseline category; gainers and losers by the change of their amount; for each\n"
    "kind of change the first records in input order (ID numbers masked) with the reasons before and\n"
    "after; provenance (both ruleset ids, the population's SHA-256 and size, the date, the engine).\n"
    "Records that break the schema are counted and listed, as batch lists them.  An undetermined\n"
    "item stays undetermined, never 'not eligible'.  A reform equal to the baseline must change\n"
    "nothing, and the report says whether it did.  docs/impact.md has a worked example.\n"
    "\n"
    "  --baseline P      the rules in force: a province name or a policy folder\n"
    "  --reform P        the draft: a policy folder (e.g. a copy of provinces/guangdong, edited;\n"
    "                    a city's copy goes in a folder named after its province, as\n"
    "                    /tmp/x/guangdong/guangzhou, to keep its name and ruleset id)\n"
    "  --as-of DATE      the date both decide for (default: today)\n"
    "  --store DB        the population is each person's newest record in this store\n"
    "  --json            print the report as canonical JSON (sorted keys, amounts in integer fen)\n"
    "  --html FILE       also write the report as a self-contained HTML page (charts as inline SVG;\n"
    "                    nothing fetched from the network; prints on A4)\n"
    "  --format F        jsonl or csv (default: by the extension, .csv = CSV)\n"
    "  --encoding E      utf-8 (default), gbk or gb18030\n"
    "  --jobs N          worker threads (default: one per CPU)\n"
    "  --examples N      example records per kind of change (default 3, at most 20)\n"
    "  --instructions N, --memory-mb N, --cpu-seconds N\n"
    "                    the rule limits, as for check\n"
    "  --quiet           no progress line\n"
    "\n"
    "exit codes: 0 report made; 1 the report's own checks failed (parts do not add up, or a null\n"
    "            reform changed something: an engine fault, please report it); 2 usage error;\n"
    "            3 a ruleset has errors or is not in force on the date, or a rule could not decide\n"
    "            some records (the report is still made); 4 the population cannot be read, some\n"
    "            records were rejected (the report is still made), or FILE cannot be written;\n"
    "            5 the store cannot be read\n"
    "\n"
    "example: cp -r provinces/guangdong /tmp/gd-draft   # then edit /tmp/gd-draft/policy.yaml\n"
    "         yuanzhu impact --baseline guangdong --reform /tmp/gd-draft --as-of 2026-06-15 \\\n"
    "             --html impact.html ledger.csv\n";

typedef struct progress {
    double t0, last;
} progress;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* a progress line on the terminal (display only: the report never sees the clock) */
static void show_progress(uint64_t records, uint64_t read, uint64_t size, void *ctx)
{
    progress *p = ctx;
    double t = now_s();
    if (t - p->last < 0.25)
        return;
    p->last = t;
    double el = t - p->t0;
    fprintf(stderr, "\r  impact: %llu records  %.0f/s", (unsigned long long)records, el > 0 ? (double)records / el : 0.0);
    if (size && read) {
        double frac = (double)read / (double)size;
        double eta = frac > 0.01 ? el / frac - el : 0;
        fprintf(stderr, "  %3.0f%%  ETA %d:%02d  ", frac * 100, (int)eta / 60, (int)eta % 60);
    } else {
        fprintf(stderr, "  %.1f s        ", el);
    }
    fflush(stderr);
}

static int write_file(const cli *c, const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f && errno == ENOMEM)
        cli_out_of_memory(0);
    if (!f) {
        cli_error(c, "cannot write %s: %s", path, strerror(errno));
        return EXIT_INPUT;
    }
    size_t n = strlen(text);
    bool ok = fwrite(text, 1, n, f) == n;
    ok &= fclose(f) == 0;
    if (!ok) {
        cli_error(c, "cannot write %s: %s", path, strerror(errno));
        return EXIT_INPUT;
    }
    return 0;
}

int cmd_impact(cli *c, int argc, char **argv)
{
    yz_impact_options o;
    memset(&o, 0, sizeof o);
    o.home = c->home;
    bool json = false, quiet = false;
    const char *html = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int l;
        unsigned long long n;
        if (cli_is_help(argv[i])) {
            return cli_help(usage_text);
        } else if ((v = cli_opt(argc, argv, &i, "--baseline"))) {
            o.baseline = v;
        } else if ((v = cli_opt(argc, argv, &i, "--reform"))) {
            o.reform = v;
        } else if ((v = cli_opt(argc, argv, &i, "--as-of"))) {
            o.as_of = v;
        } else if ((v = cli_opt(argc, argv, &i, "--store"))) {
            o.store = v;
        } else if ((v = cli_opt(argc, argv, &i, "--html"))) {
            html = v;
        } else if ((v = cli_opt(argc, argv, &i, "--format"))) {
            if (cli_input_format(c, v, &o.format) != 0)
                return EXIT_USAGE;
        } else if ((v = cli_opt(argc, argv, &i, "--encoding"))) {
            o.encoding = v;
        } else if ((v = cli_opt(argc, argv, &i, "--jobs"))) {
            if (cli_number(c, "--jobs", v, 1, 64, &n) != 0)
                return EXIT_USAGE;
            o.jobs = (int)n;
        } else if ((v = cli_opt(argc, argv, &i, "--examples"))) {
            if (cli_number(c, "--examples", v, 1, 20, &n) != 0)
                return EXIT_USAGE;
            o.examples = (int)n;
        } else if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
            quiet = true;
        } else if ((l = cli_limit_opt(c, argc, argv, &i, &o.limits)) != 0) {
            if (l < 0)
                return EXIT_USAGE;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage(c, usage_text, "unknown option '%s'", argv[i]);
        } else if (cli_one_input(c, &o.input, argv[i], "population") != 0) {
            return EXIT_USAGE;
        }
    }
    const char *missing = !o.baseline || !*o.baseline ? "which rules are in force? add --baseline (e.g. --baseline guangdong)"
                          : !o.reform || !*o.reform   ? "which draft? add --reform FOLDER (e.g. a copy of provinces/guangdong, edited)"
                          : !o.input && (!o.store || !*o.store)
                              ? "no population: name a JSON Lines or CSV ledger, - for standard input, or --store DB"
                              : NULL;
    if (missing) {
        return cli_usage(c, usage_text, "%s", missing);
    }
    if (o.input && o.store) {
        cli_error(c, "one population at a time: the ledger '%s' or --store %s", o.input, o.store);
        return EXIT_USAGE;
    }
    if (o.store && (o.format || o.encoding)) {
        cli_error(c, "--format and --encoding are for a ledger file, not for --store");
        return EXIT_USAGE;
    }
    char today[11];
    if (!o.as_of || !*o.as_of) {
        cli_today(today);
        o.as_of = today;
    }
    progress pg = {now_s(), 0};
    if (!quiet && isatty(2)) {
        o.progress = show_progress;
        o.progress_ctx = &pg;
    }
    yz_diags d;
    yz_diags_init(&d);
    yz_impact *im = NULL;
    int rc = yz_impact_run(&o, &im, &d);
    if (o.progress && pg.last > 0)
        fputs("\r\033[K", stderr); /* the progress line goes; the report follows */
    cli_print_diags(c, &d);
    yz_diags_free(&d);
    if (!im)
        return cli_exit_for(rc);
    char *out = json ? yz_impact_json(im) : yz_impact_text(im);
    fputs(out, stdout);
    yz_free(out);
    int code = cli_exit_for(rc);
    if (html) {
        char *page = yz_impact_html(im);
        int w = write_file(c, html, page);
        yz_free(page);
        if (w && !code)
            code = w;
        else if (!w && !quiet)
            fprintf(stderr, "yuanzhu impact: the report is also in %s\n", cli_shown(html));
    }
    if (!yz_impact_consistent(im) && !code) {
        cli_error(c, "the report's checks failed (see the reconciliation): this is a fault in yuanzhu, please report it");
        code = EXIT_FAIL;
    }
    yz_impact_free(im);
    return code;
}

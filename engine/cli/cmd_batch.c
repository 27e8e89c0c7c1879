/* cmd_batch.c: `yuanzhu batch`: a whole ledger of records, on all cores. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char usage_text[] =
    "usage: yuanzhu batch --province P --as-of YYYY-MM-DD [--operator ID] [--db PATH] [--jobs N]\n"
    "                     [--format jsonl|csv] [--encoding gbk] [--rejects PATH] [--lines PATH]\n"
    "                     [--commit-every N] [--no-record] [--quiet] FILE|-\n"
    "\n"
    "Decides every record of FILE — JSON Lines (one record per line) or CSV (UTF-8 with a header\n"
    "of dotted field names: hukou.type, household.members.0.relation with household.members.count,\n"
    "lists of text joined with ';'; an empty cell is an absent field) — and records each decision\n"
    "with its audit event, exactly as check would.  A record that breaks the schema is reported\n"
    "with its line number and field path and skipped; the rest continue.  Run again on the same\n"
    "file, province and date, records already decided are skipped: a batch killed at any moment\n"
    "finishes on the next run with every record decided once.\n"
    "\n"
    "  --province P      province name or policy folder\n"
    "  --as-of DATE      the date of every determination (required: a batch is for one date)\n"
    "  --operator ID     who runs it (or YUANZHU_OPERATOR); required to record\n"
    "  --db PATH         the decision store (or YUANZHU_DB; default ./yuanzhu.db)\n"
    "  --jobs N          worker threads (default: one per CPU)\n"
    "  --commit-every N  decisions per transaction (default 20000): fewer lose less work to a\n"
    "                    crash, more are faster\n"
    "  --format F        jsonl or csv (default: by the extension, .csv = CSV)\n"
    "  --encoding E      utf-8 (default), gbk or gb18030 (Excel in China saves CSV as GBK); a UTF-8\n"
    "                    byte-order mark is skipped\n"
    "  --rejects PATH    write rejected records (line, field, message) here as JSON Lines\n"
    "                    (default: FILE.rejects.jsonl next to the input)\n"
    "  --lines PATH      also write one line per record: id, categories, subsidies, total (the\n"
    "                    benchmark kit's canonical line; - for standard output)\n"
    "  --no-record       decide without recording (statuses and amounts only)\n"
    "  --instructions N, --memory-mb N, --cpu-seconds N\n"
    "                    the rule limits, as for check (the first two only with --no-record)\n"
    "  --quiet           no progress line and no summary\n"
    "  --ruleset-key F, --require-signed, --chain-key F\n"
    "                    the ruleset's signature and a keyed store's secret, as for check\n"
    "\n"
    "exit codes: 0 every record decided; 2 usage error; 3 policy error, no policy in force, or a\n"
    "            rule could not decide some records (reported; nothing recorded for them);\n"
    "            4 some records were rejected (the others were decided); 5 the store failed, or the\n"
    "            rejects or lines file could not be written\n"
    "\n"
    "example: yuanzhu batch --province guangdong --as-of 2025-06-15 --operator gz-0042 ledger.csv\n";

static void yuan(char *buf, size_t n, int64_t fen)
{
    if (fen == INT64_MAX) { /* the sum stopped there: not a real total */
        snprintf(buf, n, "too large to add up");
        return;
    }
    char digits[32];
    snprintf(digits, sizeof digits, "%lld", (long long)(fen / 100));
    size_t k = 0, l = strlen(digits);
    for (size_t i = 0; i < l && k + 2 < n; i++) {
        if (i && (l - i) % 3 == 0)
            buf[k++] = ',';
        buf[k++] = digits[i];
    }
    snprintf(buf + k, n - k, ".%02lld", (long long)(fen % 100));
}

/* what the batch reports as it runs: the records it did not decide (the first 20 rejected, then
   where the rest are), and a progress line on a terminal */
typedef struct report {
    const char *rejects; /* the rejects file, or NULL */
    bool progress;
    unsigned long shown;
} report;

#define SHOWN_REJECTS 20

static void on_problem(const yz_batch_problem *p, void *ctx)
{
    report *r = ctx;
    if (r->progress)
        fputs("\r\033[K", stderr); /* the progress line gives way */
    if (!p->rejected)
        fprintf(stderr, "%s:%ld: error: %s\n", cli_shown(p->input), p->line, p->message);
    else if (r->shown++ < SHOWN_REJECTS)
        fprintf(stderr, "%s:%ld: error: %s\n", cli_shown(p->input), p->line, p->message);
    else if (r->shown == SHOWN_REJECTS + 1)
        fprintf(stderr, "%s: more rejected records: see %s\n", cli_shown(p->input),
                r->rejects ? cli_shown(r->rejects) : "the rejects file");
}

static void on_progress(const yz_batch_progress *p, void *ctx)
{
    report *r = ctx;
    if (!r->progress)
        return;
    double rate = p->seconds > 0 ? (double)p->records / p->seconds : 0;
    fprintf(stderr, "\r  %llu records", (unsigned long long)p->records);
    if (p->rejected)
        fprintf(stderr, " (%llu rejected)", (unsigned long long)p->rejected);
    fprintf(stderr, "  %.0f/s", rate);
    if (p->bytes_total && p->bytes_read && !p->final) {
        double frac = (double)p->bytes_read / (double)p->bytes_total;
        double eta = frac > 0.01 ? p->seconds / frac - p->seconds : 0;
        fprintf(stderr, "  %3.0f%%  ETA %d:%02d  ", frac * 100, (int)eta / 60, (int)eta % 60);
    } else {
        fprintf(stderr, "  %.1f s        ", p->seconds);
    }
    if (p->final)
        fputc('\n', stderr);
    fflush(stderr);
}

static void print_summary(const yz_batch_options *o, const yz_batch_summary *s)
{
    printf("batch: %llu record%s from %s, %s as of %s (ruleset %.12s)\n", (unsigned long long)s->records,
           s->records == 1 ? "" : "s", cli_shown(o->input), cli_shown(o->province), o->as_of, s->ruleset);
    printf("  decided %llu, already decided (skipped) %llu, rejected %llu", (unsigned long long)s->decided,
           (unsigned long long)s->skipped, (unsigned long long)s->rejected);
    if (s->failed)
        printf(", failed %llu", (unsigned long long)s->failed);
    if (s->unrecorded)
        printf(", decided but not recorded %llu", (unsigned long long)s->unrecorded);
    printf("\n  targets: %llu met, %llu undetermined, %llu not met\n", (unsigned long long)s->targets[YZ_MET],
           (unsigned long long)s->targets[YZ_UNDETERMINED], (unsigned long long)s->targets[YZ_NOT_MET]);
    char label[160];
    size_t col = 12;
    for (size_t i = 0; i < s->ncat + s->nsub; i++) {
        bool cat = i < s->ncat;
        const char *id = cat ? s->cat_ids[i] : s->sub_ids[i - s->ncat];
        const char *name = cat ? s->cat_names[i] : s->sub_names[i - s->ncat];
        snprintf(label, sizeof label, "%s %s", cli_shown(name ? name : ""), cli_shown(id));
        size_t w = cli_width(label);
        col = w > col ? w : col;
    }
    if (s->ncat) {
        printf("\n  ");
        cli_pad("category 认定类别", col);
        printf(" %10s %13s\n", yz_status_name(YZ_MET, false), yz_status_name(YZ_UNDETERMINED, false));
    }
    for (size_t i = 0; i < s->ncat; i++) {
        snprintf(label, sizeof label, "%s %s", cli_shown(s->cat_names[i] ? s->cat_names[i] : ""),
                 cli_shown(s->cat_ids[i]));
        printf("  ");
        cli_pad(label, col);
        printf(" %10llu %13llu\n", (unsigned long long)s->cat_counts[i][YZ_MET],
               (unsigned long long)s->cat_counts[i][YZ_UNDETERMINED]);
    }
    if (s->nsub) {
        printf("\n  ");
        cli_pad("subsidy 补贴", col);
        printf(" %10s %13s %22s\n", yz_status_name(YZ_MET, true), yz_status_name(YZ_UNDETERMINED, true),
               "granted in total (yuan)");
    }
    for (size_t i = 0; i < s->nsub; i++) {
        char money[40];
        snprintf(label, sizeof label, "%s %s", cli_shown(s->sub_names[i] ? s->sub_names[i] : ""),
                 cli_shown(s->sub_ids[i]));
        yuan(money, sizeof money, s->sub_totals[i]);
        printf("  ");
        cli_pad(label, col);
        printf(" %10llu %13llu %22s\n", (unsigned long long)s->sub_counts[i][YZ_MET],
               (unsigned long long)s->sub_counts[i][YZ_UNDETERMINED], money);
    }
    char m[40], once[40];
    yuan(m, sizeof m, s->monthly_fen);
    yuan(once, sizeof once, s->once_fen);
    printf("\n  monthly subsidy cost: %s yuan per month; one-off payments: %s yuan\n", m, once);
    if (o->record && s->first_seq)
        printf("  recorded in %s as decisions seq %lld to %lld\n", cli_shown(o->db), (long long)s->first_seq,
               (long long)s->last_seq);
    else if (o->record)
        printf("  nothing new recorded in %s\n", cli_shown(o->db));
    if (o->record && s->unrecorded)
        printf("  not recorded: %llu decided after the last commit, lost with the transaction the store failed; "
               "run the same command again to decide them (what is recorded is skipped)\n",
               (unsigned long long)s->unrecorded);
    printf("  %.2f s, %.0f records/s\n", s->seconds, s->seconds > 0 ? (double)s->records / s->seconds : 0.0);
}

int cmd_batch(cli *c, int argc, char **argv)
{
    yz_batch_options o;
    memset(&o, 0, sizeof o);
    o.home = c->home;
    o.province = getenv("YUANZHU_PROVINCE");
    o.operator_id = getenv("YUANZHU_OPERATOR");
    o.record = true;
    const char *db = NULL, *chain = NULL;
    cli_key_paths key_paths = {{NULL}, 0};
    bool quiet = false;
    char *rejects = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int l;
        if (cli_is_help(argv[i])) {
            return cli_help(usage_text);
        } else if ((v = cli_opt(argc, argv, &i, "--province"))) {
            o.province = v;
        } else if ((v = cli_opt(argc, argv, &i, "--as-of"))) {
            o.as_of = v;
        } else if ((v = cli_opt(argc, argv, &i, "--operator"))) {
            o.operator_id = v;
        } else if ((v = cli_opt(argc, argv, &i, "--db"))) {
            db = v;
        } else if ((v = cli_opt(argc, argv, &i, "--commit-every"))) {
            unsigned long long n;
            if (cli_number(c, "--commit-every", v, 1, 10000000, &n) != 0)
                return EXIT_USAGE;
            o.commit_every = (unsigned)n;
        } else if ((v = cli_opt(argc, argv, &i, "--jobs"))) {
            unsigned long long n;
            if (cli_number(c, "--jobs", v, 1, 64, &n) != 0)
                return EXIT_USAGE;
            o.jobs = (int)n;
        } else if ((v = cli_opt(argc, argv, &i, "--format"))) {
            if (cli_input_format(c, v, &o.format) != 0)
                return EXIT_USAGE;
        } else if ((v = cli_opt(argc, argv, &i, "--encoding"))) {
            o.encoding = v;
        } else if ((v = cli_opt(argc, argv, &i, "--rejects"))) {
            o.rejects = v;
        } else if ((v = cli_opt(argc, argv, &i, "--lines"))) {
            o.lines = v;
        } else if (!strcmp(argv[i], "--no-record")) {
            o.record = false;
        } else if ((v = cli_opt(argc, argv, &i, "--ruleset-key"))) {
            if (cli_key_path(c, &key_paths, v) != 0)
                return EXIT_USAGE;
        } else if (!strcmp(argv[i], "--require-signed")) {
            o.require_signed = true;
        } else if ((v = cli_opt(argc, argv, &i, "--chain-key"))) {
            chain = v;
        } else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
            quiet = true;
        } else if ((l = cli_limit_opt(c, argc, argv, &i, &o.limits)) != 0) {
            if (l < 0)
                return EXIT_USAGE;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage(c, usage_text, "unknown option '%s'", argv[i]);
        } else if (cli_one_input(c, &o.input, argv[i], "input file") != 0) {
            return EXIT_USAGE;
        }
    }
    if (!o.province || !o.as_of || !o.input) {
        return cli_usage(c, usage_text, "%s",
                         !o.province ? "which province? add --province"
                         : !o.as_of  ? "which date? add --as-of YYYY-MM-DD (all records are decided for one date)"
                                     : "no input: name a JSON Lines or CSV file, or - for standard input");
    }
    if (o.record && (o.limits.instructions || o.limits.memory_bytes)) {
        cli_error(c, "--instructions and --memory-mb change what a rule may do, so decisions made with them "
                     "would not replay: use them with --no-record");
        return EXIT_USAGE;
    }
    if (o.record && (!o.operator_id || !*o.operator_id)) {
        cli_error(c, "recording decisions needs the operator's id: add --operator ID (or set YUANZHU_OPERATOR), "
                     "or --no-record");
        return EXIT_USAGE;
    }
    if (o.record && cli_check_operator(c, o.operator_id))
        return EXIT_USAGE;
    o.db = cli_db_path(db);
    if (!o.rejects && strcmp(o.input, "-")) {
        size_t n = strlen(o.input) + 16;
        rejects = malloc(n);
        if (!rejects)
            cli_out_of_memory(n);
        snprintf(rejects, n, "%s.rejects.jsonl", o.input);
        o.rejects = rejects;
    }
    report rep = {o.rejects, !quiet && isatty(2), 0};
    o.on_problem = on_problem;
    o.on_progress = on_progress;
    o.ctx = &rep;
    cli_keys keys = {{NULL}, 0}, chain_key = {{NULL}, 0};
    int code = cli_keys_read(c, &key_paths, "YUANZHU_RULESET_KEY", &keys);
    if (!code && (chain || (o.record && (chain = getenv("YUANZHU_CHAIN_KEY")) && *chain)))
        code = cli_key_add(c, &chain_key, chain);
    if (code) {
        cli_keys_free(&keys);
        cli_keys_free(&chain_key);
        free(rejects);
        return code;
    }
    o.ruleset_keys = (const yz_key *const *)keys.k;
    o.n_ruleset_keys = keys.n;
    o.chain_key = chain_key.n ? chain_key.k[0] : NULL;
    yz_diags d;
    yz_diags_init(&d);
    yz_batch_summary s;
    int rc = yz_batch_run(&o, &s, &d);
    bool d_output = false; /* an output file could not be written */
    for (size_t i = 0; i < d.n; i++)
        d_output |= !strncmp(d.items[i].message, "cannot write the lines file", 27) ||
                    !strncmp(d.items[i].message, "cannot write the rejects file", 29);
    cli_keys_free(&keys);
    cli_keys_free(&chain_key);
    cli_print_diags(c, &d);
    yz_diags_free(&d);
    if (!quiet && s.records + s.rejected > 0)
        print_summary(&o, &s);
    if (rejects && s.rejected == 0)
        unlink(rejects); /* no rejects, no file */
    else if (rejects && !quiet)
        printf("  rejected records: %s\n", cli_shown(rejects));
    free(rejects);
    yz_batch_summary_free(&s);
    switch (rc) {
    case YZ_OK: return 0;
    case YZ_EINPUT: return EXIT_INPUT;
    case YZ_EUSAGE: return EXIT_USAGE;
    case YZ_EPOLICY:
    case YZ_ENOTINFORCE: return EXIT_POLICY;
    case YZ_EIO: /* the input unreadable (4), or an output file unwritable (5) */
        return d_output ? EXIT_STORE : EXIT_INPUT;
    case YZ_ESTORE: return EXIT_STORE;
    default: return EXIT_INTERNAL;
    }
}

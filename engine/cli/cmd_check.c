/* cmd_check.c: `yuanzhu check`: one applicant, one province, one as-of date. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage_text[] =
    "usage: yuanzhu check --province P [--as-of YYYY-MM-DD] [--json] [--operator ID] [--db PATH]\n"
    "                     [--no-record] FILE|-\n"
    "\n"
    "Decides whether the applicant in FILE (JSON or YAML; - reads standard input) is an\n"
    "employment-assistance target under province P's rules on the as-of date, which categories\n"
    "apply, which subsidies with how much for how long, and what is still missing.\n"
    "\n"
    "  --province P      a province name (guangdong, guangdong/guangzhou, zhejiang, ...) or the\n"
    "                    path of a policy folder\n"
    "  --as-of DATE      the date the determination is made for (default: today); rules never\n"
    "                    see the clock, only this date\n"
    "  --json            print the determination as canonical JSON (sorted keys) for programs\n"
    "  --operator ID     the caseworker recording the decision (or YUANZHU_OPERATOR); required to record\n"
    "  --db PATH         the decision store (or YUANZHU_DB; default ./yuanzhu.db, created if absent)\n"
    "  --no-record       decide without recording anything\n"
    "  --ruleset-key F   the public key of a ruleset signer (repeatable; or YUANZHU_RULESET_KEY): a\n"
    "                    folder's signature (" YZ_RULESET_SIGNATURE ") is checked against it before anything is\n"
    "                    decided; a signed folder with no key to check it is refused\n"
    "  --require-signed  refuse a ruleset that is not signed by such a key (a store that trusts\n"
    "                    keys requires it by itself: yuanzhu key trust)\n"
    "  --chain-key F     the secret of a keyed store's chain (or YUANZHU_CHAIN_KEY)\n"
    "  --instructions N  Lua instruction budget per rule call (default 1000000; with --no-record)\n"
    "  --memory-mb N     memory a rule call may allocate, in MiB (default 64; with --no-record)\n"
    "  --cpu-seconds N   stop a rule call after N s of CPU time (default 5): the decision then\n"
    "                    fails with exit 3 rather than depend on the speed of the machine\n"
    "\n"
    "Every determination is recorded in the store as a decision with its audit event, and its id is\n"
    "printed (to standard error with --json), unless --no-record is given.\n"
    "\n"
    "exit codes: 0 a determination was made (whatever its outcome); 2 usage error;\n"
    "            3 policy error, no policy in force on the date, or the ruleset's signature is\n"
    "            missing, wrong or unchecked; 4 the record is unreadable or\n"
    "            breaks the schema (every violation is listed with its field path); 5 the store\n"
    "            failed (the determination is printed, nothing was recorded)\n"
    "\n"
    "example: yuanzhu check --province guangdong --as-of 2025-06-15 --operator gz-0042 \\\n"
    "             schemas/examples/applicant.yaml\n";

int cmd_check(cli *c, int argc, char **argv)
{
    const char *province = getenv("YUANZHU_PROVINCE"), *as_of = NULL, *file = NULL, *db = NULL;
    const char *operator_id = getenv("YUANZHU_OPERATOR");
    const char *chain = NULL;
    bool json = false, record = true, require = false;
    yz_limits lim = {0, 0, 0};
    cli_key_paths key_paths = {{NULL}, 0};
    for (int i = 1; i < argc; i++) {
        const char *v;
        int l;
        if (cli_is_help(argv[i])) {
            return cli_help(usage_text);
        } else if ((v = cli_opt(argc, argv, &i, "--ruleset-key"))) {
            if (cli_key_path(c, &key_paths, v) != 0)
                return EXIT_USAGE;
        } else if (!strcmp(argv[i], "--require-signed")) {
            require = true;
        } else if ((v = cli_opt(argc, argv, &i, "--chain-key"))) {
            chain = v;
        } else if ((v = cli_opt(argc, argv, &i, "--province"))) {
            province = v;
        } else if ((v = cli_opt(argc, argv, &i, "--as-of"))) {
            as_of = v;
        } else if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (!strcmp(argv[i], "--no-record")) {
            record = false;
        } else if ((v = cli_opt(argc, argv, &i, "--operator"))) {
            operator_id = v;
        } else if ((v = cli_opt(argc, argv, &i, "--db"))) {
            db = v;
        } else if ((l = cli_limit_opt(c, argc, argv, &i, &lim)) != 0) {
            if (l < 0)
                return EXIT_USAGE;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage(c, usage_text, "unknown option '%s'", argv[i]);
        } else if (file) {
            cli_error(c, "one record at a time: '%s' and '%s' (use batch for many)", file, argv[i]);
            return EXIT_USAGE;
        } else {
            file = argv[i];
        }
    }
    if (!province || !*province) {
        return cli_usage(c, usage_text, "which province? add --province (e.g. --province guangdong)");
    }
    if (!file) {
        return cli_usage(c, usage_text, "no record given: name a JSON or YAML file, or - for standard input");
    }
    if (record && (lim.instructions || lim.memory_bytes)) {
        cli_error(c, "--instructions and --memory-mb change what a rule may do, so a decision made with them "
                     "would not replay: use them with --no-record");
        return EXIT_USAGE;
    }
    if (record && (!operator_id || !*operator_id)) {
        cli_error(c, "recording a decision needs the caseworker's id: add --operator ID (or set YUANZHU_OPERATOR), "
                     "or --no-record to decide without recording");
        return EXIT_USAGE;
    }
    if (record && cli_check_operator(c, operator_id))
        return EXIT_USAGE;
    char today[11];
    if (!as_of || !*as_of) {
        cli_today(today);
        as_of = today;
    }

    yz_diags d;
    yz_diags_init(&d);
    yz_ruleset *rs = NULL;
    yz_record *rec = NULL;
    yz_evaluator *ev = NULL;
    yz_determination *det = NULL;
    yz_store *st = NULL;
    yz_key *chain_key = NULL;
    cli_keys keys = {{NULL}, 0};
    yz_diags store_diags;
    yz_diags_init(&store_diags);
    int code = cli_keys_read(c, &key_paths, "YUANZHU_RULESET_KEY", &keys);
    if (code)
        goto out;

    int rc = yz_ruleset_load(c->home, province, &rs, &d);
    if (rc != YZ_OK) {
        cli_print_diags(c, &d);
        if (rc == YZ_EIO)
            code = EXIT_USAGE;
        else {
            cli_error(c, "the %s rules have errors and cannot be used (run yuanzhu lint on the folder)", province);
            code = EXIT_POLICY;
        }
        goto out;
    }
    yz_diags_free(&d);
    yz_diags_init(&d);
    /* the ruleset's signature, as the store (when recording) or the options require, before
       anything is decided; a store that cannot be opened is reported after the determination */
    const char *path = cli_db_path(db);
    int store_rc = record ? yz_store_open(path, NULL, &st, &store_diags) : YZ_OK;
    if (st && (code = cli_chain_key(c, st, chain, &chain_key)) != 0)
        goto out;
    rc = st ? yz_store_check_ruleset(st, rs, (const yz_key *const *)keys.k, keys.n, require, &d)
            : yz_ruleset_verify(rs, (const yz_key *const *)keys.k, keys.n, require, &d);
    if (rc != YZ_OK) {
        cli_print_diags(c, &d);
        if (rc == YZ_EPOLICY)
            cli_error(c, "the %s ruleset was refused for its signature: nothing was decided", cli_shown(province));
        code = rc == YZ_EPOLICY ? EXIT_POLICY : rc == YZ_EUSAGE ? EXIT_USAGE : EXIT_STORE;
        goto out;
    }
    if ((rc = yz_ruleset_in_force(rs, as_of, &d)) != YZ_OK) {
        cli_print_diags(c, &d);
        code = rc == YZ_ENOTINFORCE ? EXIT_POLICY : cli_exit_for(rc);
        goto out;
    }

    char *text = NULL;
    size_t len = 0;
    const char *source = strcmp(file, "-") ? file : "<stdin>";
    int e = cli_read(file, &text, &len);
    if (e) {
        cli_error(c, "cannot read %s: %s", source, e == EISDIR ? "it is a directory" : e == EFBIG ? "larger than 16 MiB" : strerror(e));
        code = EXIT_INPUT;
        goto out;
    }
    rc = yz_record_parse(text, len, source, &rec, &d);
    free(text);
    if (rc != YZ_OK) {
        size_t n = cli_print_diags(c, &d);
        if (rc == YZ_EINPUT)
            fprintf(stderr, "%s: %zu problem%s; the record was not evaluated\n", cli_shown(source), n,
                    n == 1 ? "" : "s");
        code = EXIT_INPUT;
        goto out;
    }
    if ((rc = yz_evaluator_new(rs, &lim, &ev, &d)) != YZ_OK || (rc = yz_evaluate(ev, rec, as_of, &det, &d)) != YZ_OK) {
        cli_print_diags(c, &d);
        code = cli_exit_for(rc);
        goto out;
    }
    char decision[17] = "";
    int64_t seq = 0;
    if (record) {
        rc = store_rc == YZ_OK ? yz_store_record(st, rs, rec, det, operator_id, decision, &seq, &d) : store_rc;
        if (rc != YZ_OK) {
            cli_print_diags(c, &store_diags);
            cli_print_diags(c, &d);
            code = rc == YZ_EUSAGE ? EXIT_USAGE : EXIT_STORE;
        }
    }
    char *outs = json ? yz_determination_json(det) : yz_determination_text(det);
    fputs(outs, stdout);
    yz_free(outs);
    if (code == EXIT_STORE)
        cli_error(c, "the decision was NOT recorded in %s", path);
    else if (record && json)
        fprintf(stderr, "recorded decision %s (seq %lld) in %s\n", decision, (long long)seq, cli_shown(path));
    else if (record)
        printf("\n已记录：决定编号 %s（%s，序号 %lld，经办人 %s）\n", decision, cli_shown(path), (long long)seq,
               cli_shown(operator_id));
out:
    yz_diags_free(&store_diags);
    yz_store_close(st);
    yz_key_free(chain_key);
    cli_keys_free(&keys);
    yz_determination_free(det);
    yz_evaluator_free(ev);
    yz_record_free(rec);
    yz_ruleset_free(rs);
    yz_diags_free(&d);
    return code;
}

/* cmd_lint.c: `yuanzhu lint PATH...`: every problem of every policy file, in one run. */
#include <string.h>

#include "cli.h"

static const char usage_text[] =
    "usage: yuanzhu lint [--today YYYY-MM-DD] PATH...\n"
    "\n"
    "Checks policy folders (with their city folders and test files) or single files and prints\n"
    "every problem as file:line:col: error: message — YAML syntax, duplicate and unknown keys,\n"
    "wrong types, Lua syntax errors at their line in the YAML, unknown categories, parameters and\n"
    "record fields, dated values out of order, overlapping effective periods, missing legal basis;\n"
    "in rules and Lua helpers, names the sandbox does not have (os, io, load, require, debug, ...)\n"
    "and assignments to globals, the record or the libraries; helpers that fail while loading.\n"
    "Warnings say when a province's rules expire within 90 days of today, and point at loops only\n"
    "the instruction budget can end and amounts that cannot be a whole number of fen.\n"
    "\n"
    "  --today DATE   the date expiry warnings are computed from (default: today)\n"
    "  --ruleset-key F  the public key of a ruleset signer (repeatable; or YUANZHU_RULESET_KEY): a folder's\n"
    "                 signature (" YZ_RULESET_SIGNATURE ") must verify with one and sign exactly its files; a\n"
    "                 signed folder with no key to check it is an error\n"
    "\n"
    "exit codes: 0 no errors (warnings allowed); 2 usage error; 3 errors found\n"
    "\n"
    "example: yuanzhu lint provinces/*\n";

int cmd_lint(cli *c, int argc, char **argv)
{
    const char *today = NULL;
    char todaybuf[11];
    int npaths = 0;
    cli_key_paths key_paths = {{NULL}, 0};
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (cli_is_help(argv[i])) {
            return cli_help(usage_text);
        } else if ((v = cli_opt(argc, argv, &i, "--today"))) {
            today = v;
        } else if ((v = cli_opt(argc, argv, &i, "--ruleset-key"))) {
            if (cli_key_path(c, &key_paths, v) != 0)
                return EXIT_USAGE;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage(c, usage_text, "unknown option '%s'", argv[i]);
        } else {
            npaths++;
        }
    }
    if (!npaths) {
        cli_error(c, "name the policy folders or files to check (e.g. yuanzhu lint provinces/*)");
        return EXIT_USAGE;
    }
    if (!today) {
        cli_today(todaybuf);
        today = todaybuf;
    }
    cli_keys keys = {{NULL}, 0};
    int code = cli_keys_read(c, &key_paths, "YUANZHU_RULESET_KEY", &keys);
    if (code) {
        cli_keys_free(&keys);
        return code;
    }
    yz_diags d;
    yz_diags_init(&d);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--today") || !strcmp(argv[i], "--ruleset-key")) {
            i++;
            continue;
        }
        if (!strncmp(argv[i], "--today=", 8) || !strncmp(argv[i], "--ruleset-key=", 14))
            continue;
        yz_lint_keys(c->home, argv[i], today, (const yz_key *const *)keys.k, keys.n, &d);
    }
    cli_keys_free(&keys);
    cli_print_diags(c, &d);
    size_t errors = d.n_errors, warnings = d.n_warnings;
    if (errors || warnings)
        fprintf(stderr, "%zu error%s, %zu warning%s\n", errors, errors == 1 ? "" : "s", warnings,
                warnings == 1 ? "" : "s");
    yz_diags_free(&d);
    return errors ? EXIT_POLICY : 0;
}

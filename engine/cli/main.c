/* main.c: `yuanzhu <command> [options]`: one table of subcommands, each in its own file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* the out-of-memory message, made before it is needed: the handler must not allocate */
static char oom_msg[160];
static size_t oom_len;

/* git's die() for memory: one line on stderr and exit 70, from any thread.  _exit, not exit:
   no atexit handlers (OpenSSL's cleanup) may run while batch workers still use the libraries,
   and stdout, which may hold half a result, is not flushed.  The store keeps only committed
   transactions, so nothing half-done is recorded. */
_Noreturn void cli_out_of_memory(size_t bytes)
{
    (void)bytes;
    ssize_t w = write(2, oom_msg, oom_len);
    (void)w;
    _exit(EXIT_INTERNAL);
}

static void set_oom_message(const char *cmd)
{
    bool records = cmd && (!strcmp(cmd, "check") || !strcmp(cmd, "batch") || !strcmp(cmd, "init"));
    int n = snprintf(oom_msg, sizeof oom_msg, "yuanzhu%s%s: error: out of memory: stopped%s; free some memory and run it again\n",
                     cmd ? " " : "", cmd ? cmd : "",
                     records ? " (the store keeps only complete decisions: nothing half-done was recorded)" : "");
    oom_len = n > 0 && (size_t)n < sizeof oom_msg ? (size_t)n : sizeof oom_msg - 1;
}

static const struct command {
    const char *name;
    int (*run)(cli *c, int argc, char **argv);
    const char *summary;
} commands[] = {
    {"check", cmd_check, "decide one applicant: categories, subsidies, reasons, what is missing"},
    {"batch", cmd_batch, "decide a whole file of records (JSON Lines or CSV) on all cores and record them"},
    {"lint", cmd_lint, "check policy files and report every problem as file:line:col"},
    {"test", cmd_test, "run a province's YAML test cases"},
    {"history", cmd_history, "list a person's decisions over time"},
    {"show", cmd_show, "print a recorded decision in Chinese as check printed it (--json: as stored)"},
    {"export", cmd_export, "write recorded decisions as a spreadsheet (CSV, GBK for Excel) or JSON Lines"},
    {"due", cmd_due, "list whose status changes by a date (subsidy ends, age, retirement, policy end)"},
    {"impact", cmd_impact, "simulate a draft ruleset on a caseload: who gains, who loses, what it costs"},
    {"replay", cmd_replay, "redo recorded decisions and show they come out byte for byte the same"},
    {"audit", cmd_audit, "verify the tamper-evident audit chain of the store, print its head, or sign a checkpoint"},
    {"init", cmd_init, "create a decision store (SHA-256 or SM3 chain, optionally keyed)"},
    {"key", cmd_key, "make a signing key (SM2, Ed25519) or chain secret; show one; trust one in a store"},
    {"sign", cmd_sign, "sign a policy folder's ruleset (the manifest of its files)"},
    {"serve", cmd_serve, "serve decisions over HTTP (JSON API with roles, and a caseworker's web page)"},
    {"token", cmd_token, "make a bearer token for serve (caseworker, auditor, policy, admin)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: yuanzhu <command> [options]   (yuanzhu <command> --help for details)\n\n"
               "yuanzhu (援助) decides eligibility for employment assistance (就业援助) from a province's\n"
               "policy files (YAML with Lua conditions) and an applicant record (JSON or YAML).\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nexit codes: 0 ok; 1 a test failed; 2 usage error; 3 policy error or no policy in force;\n"
               "            4 input error (unreadable file, record breaks the schema); 5 store error;\n"
               "            70 out of memory (nothing half-done is recorded)\n"
               "environment: YUANZHU_HOME  folder holding rules/ and provinces/ (default: next to the binary)\n"
               "             YUANZHU_DB    decision store (default ./yuanzhu.db)\n"
               "             YUANZHU_OPERATOR  caseworker id recorded with decisions\n"
               "             YUANZHU_BUSY_TIMEOUT_MS  how long a write waits for another process's (default 10000)\n"
               "             YUANZHU_CHAIN_KEY  the secret of a keyed store's chain (a file)\n"
               "             YUANZHU_RULESET_KEY  public keys of ruleset signers (files, separated by ':')\n"
               "version: yuanzhu " YZ_VERSION "\n");
}

int main(int argc, char **argv)
{
    cli c = {argv[0], NULL, NULL};
    set_oom_message(NULL);
    yz_set_oom_handler(cli_out_of_memory);
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return cli_finish(&c, 0);
    }
    if (!strcmp(argv[1], "--version")) {
        printf("yuanzhu %s\n", YZ_VERSION);
        return cli_finish(&c, 0);
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            c.cmd = commands[i].name;
            set_oom_message(c.cmd);
            c.home = yz_home_default(argv[0]);
            int rc = commands[i].run(&c, argc - 1, argv + 1);
            yz_free(c.home);
            return cli_finish(&c, rc);
        }
    }
    cli_error(&c, "unknown command '%s'", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}

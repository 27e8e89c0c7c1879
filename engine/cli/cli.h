/* cli.h: shared pieces of the yuanzhu command line (a client of yuanzhu.h only). */
#ifndef YZ_CLI_H
#define YZ_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "yuanzhu.h"

/* exit codes, documented in --help and the README */
enum {
    EXIT_OK_ = 0,
    EXIT_FAIL = 1,     /* a test failed, a replay differs, a verification failed */
    EXIT_USAGE = 2,    /* bad command line */
    EXIT_POLICY = 3,   /* the ruleset has errors, or no policy is in force on the date */
    EXIT_INPUT = 4,    /* the record is unreadable or breaks the schema */
    EXIT_STORE = 5,    /* the decision store failed */
    EXIT_INTERNAL = 70
};

typedef struct cli {
    const char *argv0;
    const char *cmd;  /* "check" */
    char *home;
} cli;

/* "yuanzhu check: error: ..." to stderr */
void cli_error(const cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s as yz_text_escape(s, false) shows it, for a printf: the text lives until eight more calls. */
const char *cli_shown(const char *s);
/* 0, or EXIT_USAGE after saying why operator_id cannot be recorded (yz_operator_check). */
int cli_check_operator(const cli *c, const char *operator_id);
/* True for --help and -h. */
bool cli_is_help(const char *arg);
/* --help: prints usage to stdout; returns 0 (the exit code). */
int cli_help(const char *usage);
/* A usage error: cli_error's message, then usage, to stderr; returns EXIT_USAGE. */
int cli_usage(const cli *c, const char *usage, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* --format of a ledger read (batch, impact): v is jsonl or csv, kept in *format: 0, or
 * EXIT_USAGE after saying which formats there are. */
int cli_input_format(const cli *c, const char *v, const char **format);
/* The one input operand: arg into *input, 0; or, when there is one already, EXIT_USAGE after
 * saying "one WHAT at a time". */
int cli_one_input(const cli *c, const char **input, const char *arg, const char *what);
/* Prints every diagnostic to stderr; returns the number of errors. */
size_t cli_print_diags(const cli *c, const yz_diags *d);
/* Exit code for a library return code. */
int cli_exit_for(int rc);
/* Matches "--name value" or "--name=value"; advances *i.  Returns the value or NULL. */
const char *cli_opt(int argc, char **argv, int *i, const char *name);
/* Today's date for --as-of defaults (the only use of the clock). */
void cli_today(char out[11]);
/* The out-of-memory handler the command line installs (yz_set_oom_handler): prints
 * "yuanzhu CMD: error: out of memory ..." and ends the process with 70.  Also called where the
 * command line's own allocation fails. */
_Noreturn void cli_out_of_memory(size_t bytes);
/* Flushes stdout and reports a write error (exit code or 0). */
int cli_finish(const cli *c, int code);
/* Reads the whole decimal number v of option opt into *n: 0, or -1 after saying which numbers
 * opt takes (v empty, signed, not all digits, or outside lo..hi). */
int cli_number(const cli *c, const char *opt, const char *v, unsigned long long lo, unsigned long long hi,
               unsigned long long *n);
/* Reads limits from --instructions / --memory-mb / --cpu-seconds; returns 1 if argv[*i] was one of
 * them, -1 on error. */
int cli_limit_opt(const cli *c, int argc, char **argv, int *i, yz_limits *lim);

/* Reads a file, or standard input for "-" (at most 16 MiB).  Returns 0 or an errno value; the
 * caller frees *out with free(). */
int cli_read(const char *path, char **out, size_t *len);
/* The store path: --db, else $YUANZHU_DB, else ./yuanzhu.db. */
const char *cli_db_path(const char *opt);
/* Opens an existing store for reading commands (a clear error when there is none). */
int cli_open_existing(const cli *c, const char *path, yz_store **st);

/* Keys named on the command line (--key, --pubkey, --ruleset-key) or in the environment. */
#define CLI_MAX_KEYS 8
typedef struct cli_keys {
    yz_key *k[CLI_MAX_KEYS];
    size_t n;
} cli_keys;
/* Reads the key in path into ks: 0, or an exit code after saying why. */
int cli_key_add(const cli *c, cli_keys *ks, const char *path);
/* Reads the keys named by the environment variable var (paths separated by ':'), if set. */
int cli_key_env(const cli *c, cli_keys *ks, const char *var);
void cli_keys_free(cli_keys *ks);
/* The key files named by repeated options (--ruleset-key), read once the command line is checked. */
typedef struct cli_key_paths {
    const char *p[CLI_MAX_KEYS];
    size_t n;
} cli_key_paths;
/* Keeps path: 0, or EXIT_USAGE after saying there are too many. */
int cli_key_path(const cli *c, cli_key_paths *kp, const char *path);
/* Reads the keys kp names, or when it names none those of the environment variable env (NULL: none; see
 * cli_key_env), into ks: 0 or an exit code. */
int cli_keys_read(const cli *c, const cli_key_paths *kp, const char *env, cli_keys *ks);
/* The chain secret of a keyed store: from path (--chain-key), else $YUANZHU_CHAIN_KEY, given to st.
 * *key (free it after closing st) stays NULL when neither is set.  0 or an exit code. */
int cli_chain_key(const cli *c, yz_store *st, const char *path, yz_key **key);

/* Columns a UTF-8 text takes on a terminal (a Chinese character takes two). */
size_t cli_width(const char *s);
/* Prints s then spaces up to `width` columns. */
void cli_pad(const char *s, size_t width);

int cmd_check(cli *c, int argc, char **argv);
int cmd_init(cli *c, int argc, char **argv);
int cmd_batch(cli *c, int argc, char **argv);
int cmd_audit(cli *c, int argc, char **argv);
int cmd_replay(cli *c, int argc, char **argv);
int cmd_history(cli *c, int argc, char **argv);
int cmd_show(cli *c, int argc, char **argv);
int cmd_lint(cli *c, int argc, char **argv);
int cmd_test(cli *c, int argc, char **argv);
int cmd_export(cli *c, int argc, char **argv);
int cmd_due(cli *c, int argc, char **argv);
int cmd_key(cli *c, int argc, char **argv);
int cmd_sign(cli *c, int argc, char **argv);
int cmd_serve(cli *c, int argc, char **argv);
int cmd_token(cli *c, int argc, char **argv);
int cmd_impact(cli *c, int argc, char **argv);

#endif

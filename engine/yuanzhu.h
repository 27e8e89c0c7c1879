/*
 * yuanzhu.h: the public API of the yuanzhu employment-assistance eligibility engine.
 *
 * Data flows one way: load a ruleset (YAML + Lua, validated) -> parse and validate an applicant
 * record -> evaluate it at an as-of date -> a determination (canonical JSON or Chinese text).
 *
 * Conventions for the whole API:
 *  - functions return YZ_OK (0) or a yz_rc error code and never print;
 *  - problems with files and records are appended to a caller-owned yz_diags list with their
 *    location (file:line:col or field path);
 *  - an object returned through an out-parameter belongs to the caller, who frees it with the
 *    matching yz_*_free(); yz_*_free(NULL) is a no-op; a returned char * is freed with yz_free();
 *  - a yz_ruleset is immutable once loaded and may be shared by threads; a yz_evaluator (one
 *    sandboxed Lua state) belongs to one thread at a time.
 */
#ifndef YUANZHU_H
#define YUANZHU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define YZ_VERSION "0.1.0"

typedef enum yz_rc {
    YZ_OK = 0,
    YZ_ENOMEM,      /* out of memory */
    YZ_EIO,         /* a file could not be read or written */
    YZ_EPARSE,      /* a YAML or JSON text could not be parsed */
    YZ_EPOLICY,     /* the ruleset has errors (see the diagnostics) */
    YZ_EINPUT,      /* the applicant record breaks the schema (see the diagnostics) */
    YZ_ENOTINFORCE, /* no policy of the ruleset is in force on the as-of date */
    YZ_EUSAGE,      /* a bad argument (date format, unknown name) */
    YZ_ESTORE,      /* the decision store failed */
    YZ_EINTERNAL,
    YZ_EFAILED      /* tests ran and some failed; a replay differs */
} yz_rc;

/* Short English name of a return code ("policy error"). */
const char *yz_rc_name(int rc);

/* ---- diagnostics ---- */

typedef enum yz_severity { YZ_SEV_ERROR, YZ_SEV_WARNING, YZ_SEV_NOTE } yz_severity;

typedef struct yz_diag {
    yz_severity severity;
    char *file;    /* as the user named it; NULL when not about a file */
    int line, col; /* 1-based; 0 when unknown */
    char *field;   /* record field path ("household.members[1].id_number"), or NULL */
    char *message; /* lowercase, no full stop, says how to fix where it can */
    size_t seq;
} yz_diag;

typedef struct yz_diags {
    yz_diag *items;
    size_t n, cap;
    size_t n_errors, n_warnings;
} yz_diags;

void yz_diags_init(yz_diags *d);
void yz_diags_clear(yz_diags *d);
/* "file:line:col: error: field: message" (caller frees). */
char *yz_diag_format(const yz_diag *x);

void yz_free(void *p);

/* ---- running out of memory ----
 *
 * Where an allocation failure can be reported, the call returns YZ_ENOMEM: creating an evaluator
 * and evaluating (Lua states, which allocate through their own allocator: a rule that exceeds its
 * memory cap makes its item undetermined, but memory the system refuses fails the whole
 * evaluation, so no decision ever depends on how much memory was free; the evaluator can then
 * only be freed), and yz_batch_run, which stops.  The store reports SQLite's own "out of memory"
 * as YZ_ESTORE with that message.
 *
 * Everywhere else (loading, parsing, validating, formatting) the library allocates with functions
 * that do not return on failure: they call the out-of-memory handler.  A handler must not return;
 * it ends the process (the yuanzhu command prints "yuanzhu CMD: error: out of memory ..." and exits
 * with 70).  Without a handler, or if the handler returns, the process ends at once with _Exit(70)
 * and prints nothing (a library does not print, and abort() would look like a crash).  Ending the
 * process this way leaves the store as it was before: every write is one SQLite transaction, and
 * one that has not committed leaves no trace. */
typedef void (*yz_oom_handler)(size_t bytes);
/* Installs fn (NULL: the default) for the whole process; returns the previous handler. */
yz_oom_handler yz_set_oom_handler(yz_oom_handler fn);

/* ---- engine home: where rules/ and provinces/ live ---- */

/* Returns the directory holding rules/ and provinces/: $YUANZHU_HOME if set, else the
 * directory above the running executable if it holds rules/, else the compiled-in data
 * directory.  Caller frees. */
char *yz_home_default(const char *argv0);

/* ---- rulesets ---- */

typedef struct yz_ruleset yz_ruleset;

/* Loads and validates a ruleset.  province is a name under HOME/provinces ("guangdong",
 * "guangdong/guangzhou") or a path to a policy folder.  Every problem goes to d.  Returns
 * YZ_OK, YZ_EIO (no such province) or YZ_EPOLICY (errors: *out is NULL; a ruleset with errors
 * is never returned).  Warnings do not stop loading. */
int yz_ruleset_load(const char *home, const char *province, yz_ruleset **out, yz_diags *d);

/* One file of a ruleset, by its logical path ("rules/lib/date.lua",
 * "provinces/guangdong/policy.yaml"). */
typedef struct yz_file {
    const char *path;
    const char *data;
    size_t len;
} yz_file;

/* Loads a ruleset from files held in memory (e.g. from the decision store): files are copied.
 * province is the ruleset's province name as recorded ("guangdong/guangzhou"). */
int yz_ruleset_load_files(const yz_file *files, size_t n, const char *province, yz_ruleset **out,
                          yz_diags *d);
void yz_ruleset_free(yz_ruleset *rs);

/* Hex SHA-256 over the canonical bytes of every file the ruleset uses (its id). */
const char *yz_ruleset_id(const yz_ruleset *rs);
/* Province name ("guangdong/guangzhou"). */
const char *yz_ruleset_province(const yz_ruleset *rs);
/* The files (logical path, canonical bytes), sorted by path. */
size_t yz_ruleset_files(const yz_ruleset *rs, const yz_file **files);
/* Checks that a policy of the ruleset is in force on as_of; otherwise YZ_ENOTINFORCE with a
 * diagnostic that names the periods that exist. */
int yz_ruleset_in_force(const yz_ruleset *rs, const char *as_of, yz_diags *d);

/* ---- applicant records ---- */

typedef struct yz_record yz_record;

/* Parses one applicant record (JSON, or YAML when the text does not start with '{') and validates
 * it against the applicant record schema (version 1).  Every violation goes to d with its field
 * path.  source names the input in messages ("applicant.yaml", "<stdin>", "batch.jsonl:17").
 * Returns YZ_OK, YZ_EPARSE (not JSON/YAML) or YZ_EINPUT (schema violations; *out is NULL). */
int yz_record_parse(const char *text, size_t len, const char *source, yz_record **out, yz_diags *d);
void yz_record_free(yz_record *rec);
const char *yz_record_id_number(const yz_record *rec);
/* Canonical JSON of the record as parsed (sorted keys, no spaces): the bytes that are hashed and
 * stored.  Caller frees. */
char *yz_record_canonical(const yz_record *rec);

/* ---- evaluation ---- */

typedef struct yz_limits {
    uint64_t instructions; /* Lua VM instructions per predicate call (0 = default 1,000,000) */
    size_t memory_bytes;   /* memory a predicate call may allocate (0 = default 64 MiB); nothing is
                              collected during a call */
    unsigned cpu_ms;       /* backstop: CPU time per predicate call (0 = default 5,000 ms); a call
                              that reaches it fails the whole evaluation (YZ_EPOLICY), since an
                              outcome must not depend on how fast the machine is */
} yz_limits;

typedef struct yz_evaluator yz_evaluator;

/* Creates a sandboxed Lua state for a ruleset (which must outlive it).  limits may be NULL. */
int yz_evaluator_new(const yz_ruleset *rs, const yz_limits *limits, yz_evaluator **out, yz_diags *d);
void yz_evaluator_free(yz_evaluator *ev);

typedef struct yz_determination yz_determination;

/* Evaluates one record at as_of ("YYYY-MM-DD").  Returns YZ_OK, YZ_EUSAGE (bad date) or
 * YZ_ENOTINFORCE.  A predicate that fails or exceeds a limit does not fail the call: its item
 * is undetermined and carries the error.  The exceptions are limits that do not depend on the
 * rule and the record alone: the system refusing memory (YZ_ENOMEM) and the CPU-time backstop
 * (YZ_EPOLICY, the rule named in d) fail the evaluation and give no determination. */
int yz_evaluate(yz_evaluator *ev, const yz_record *rec, const char *as_of, yz_determination **out,
                yz_diags *d);
/* The same decision without explanations (statuses, amounts, periods): for bulk runs where only
 * the outcome is needed.  Its JSON has no reasons, conditions, fields or parameters. */
int yz_evaluate_brief(yz_evaluator *ev, const yz_record *rec, const char *as_of, yz_determination **out,
                      yz_diags *d);
void yz_determination_free(yz_determination *det);

/* Canonical JSON (sorted keys, UTF-8, no insignificant space, '\n'-terminated).  Caller frees. */
char *yz_determination_json(const yz_determination *det);
/* A Chinese-friendly summary for a person at a desk.  Caller frees. */
char *yz_determination_text(const yz_determination *det);

typedef enum yz_status {
    YZ_NOT_MET = 0,      /* category not met / subsidy not eligible / not a target */
    YZ_MET = 1,          /* category met / subsidy eligible / a target */
    YZ_UNDETERMINED = 2, /* depends on something unknown or a rule failed */
} yz_status;

typedef enum yz_item_kind { YZ_ITEM_CATEGORY, YZ_ITEM_SUBSIDY } yz_item_kind;

typedef struct yz_item_info {
    const char *id;
    const char *name;
    yz_status status;
    int64_t amount_fen; /* subsidies: per period, when eligible */
    int64_t months;     /* subsidies: number of periods, or -1 */
    const char *period; /* "month", "once", "loan" */
} yz_item_info;

yz_status yz_determination_target(const yz_determination *det);
size_t yz_determination_count(const yz_determination *det, yz_item_kind kind);
void yz_determination_item(const yz_determination *det, yz_item_kind kind, size_t i, yz_item_info *info);

/* ---- the decision store (SQLite) and its audit chain ---- */

typedef struct yz_store yz_store;

/* Opens a store, creating it (schema and hash algorithm hash_alg: "sha256" or "sm3"; NULL =
 * sha256) when the file does not exist, and migrating an older schema forward.  A store that
 * exists keeps its own algorithm; asking for another one with create_only is an error.
 * Returns YZ_OK or YZ_ESTORE with a diagnostic.
 *
 * Many processes may use one store: readers never wait, and a writer waits up to the busy
 * timeout, 10 seconds (YUANZHU_BUSY_TIMEOUT_MS in milliseconds overrides it), for another
 * writer's transaction to end before failing with YZ_ESTORE ("database is locked").  A store
 * whose folder cannot be written (read-only media) is opened read-only, and can be verified,
 * listed and replayed there.  A failed write leaves nothing of itself behind. */
int yz_store_open(const char *path, const char *hash_alg, yz_store **out, yz_diags *d);
/* Creates a new store and fails if the file exists. */
int yz_store_create(const char *path, const char *hash_alg, yz_diags *d);
void yz_store_close(yz_store *st);
const char *yz_store_hash_alg(const yz_store *st);

/* Records a determination as a decision: registers its ruleset (with every file) if new, stores
 * the input once under its hash, appends the decision and its audit event, all in one
 * transaction (or in the caller's, see yz_store_begin).  id_out gets the decision id (17
 * bytes). */
int yz_store_record(yz_store *st, const yz_ruleset *rs, const yz_record *rec, const yz_determination *det,
                    const char *operator_id, char id_out[17], int64_t *seq_out, yz_diags *d);
/* Recording in bulk: the expensive part of a decision (canonical JSON, hashes, compression) is
 * packed by worker threads, and one writer appends the packed decisions.
 *   yz_store_dict   registers the ruleset if needed (using a first record and its determination
 *                   for the compression dictionary) and returns a dictionary handle that any
 *                   thread may use; free with yz_store_dict_free after the workers stop;
 *   yz_pack         (any thread, with its own yz_packer) packs a determination;
 *   yz_store_append (the writer) appends it unless the same input was already decided with this
 *                   ruleset on this as-of date (then *skipped is true and nothing is written). */
typedef struct yz_store_dict yz_store_dict;
typedef struct yz_packer yz_packer;
typedef struct yz_packed yz_packed;
int yz_store_dict_get(yz_store *st, const yz_ruleset *rs, const yz_record *rec, const yz_determination *det,
                      yz_store_dict **out, yz_diags *d);
void yz_store_dict_free(yz_store_dict *dict);
yz_packer *yz_packer_new(const yz_store_dict *dict);
void yz_packer_free(yz_packer *p);
int yz_pack(yz_packer *p, const yz_record *rec, const yz_determination *det, yz_packed **out);
/* The SHA-256 of the packed input's canonical JSON (64 hex digits). */
const char *yz_packed_input_hash(const yz_packed *pk);
void yz_packed_free(yz_packed *pk);
int yz_store_append(yz_store *st, const yz_packed *pk, const char *operator_id, bool *skipped, char id_out[17],
                    int64_t *seq_out, yz_diags *d);
/* True when some input was already decided with this ruleset on this as-of date. */
bool yz_store_any_decided(yz_store *st, const char *ruleset_id, const char *as_of);
/* True when this input (by hash) was already decided with this ruleset on this as-of date. */
bool yz_store_decided(yz_store *st, const char *ruleset_id, const char *input_hash, const char *as_of);

/* Groups many yz_store_record / yz_store_append calls into one transaction (batch writers). */
int yz_store_begin(yz_store *st, yz_diags *d);
int yz_store_commit(yz_store *st, yz_diags *d);
int yz_store_rollback(yz_store *st);

typedef struct yz_verify_report {
    int64_t events;     /* events checked */
    int64_t head_seq;
    char head_hash[65];
    int64_t bad_seq;    /* first sequence number with a problem, 0 if none */
    char problem[512];  /* what is wrong there */
} yz_verify_report;

/* Walks the chain and the rows it describes.  expect_head ("HASH" or "SEQ:HASH", may be NULL)
 * must appear in the chain (the way a truncated tail is found).  Returns YZ_OK, YZ_EFAILED
 * (report.bad_seq/problem say where) or YZ_ESTORE. */
int yz_store_verify(yz_store *st, const char *expect_head, yz_verify_report *rep, yz_diags *d);
int yz_store_head(yz_store *st, int64_t *seq, char hash[65], yz_diags *d);

/* A stored decision and everything needed to redo it. */
typedef struct yz_stored {
    int64_t seq;
    char id[17];
    char *province, *ruleset, *id_number, *as_of, *operator_id, *recorded_at, *engine, *target;
    char *input;  /* canonical input JSON */
    char *output; /* canonical determination JSON as recorded */
    yz_file *files;
    size_t nfiles;
} yz_stored;

/* Loads a decision by id (or a unique prefix of at least 6 characters). */
int yz_store_load(yz_store *st, const char *id, bool with_files, yz_stored **out, yz_diags *d);
void yz_stored_free(yz_stored *s);

/* Calls fn for decisions in sequence order: all (from/to NULL), those recorded on dates
 * from..to (inclusive, UTC, "YYYY-MM-DD"), or one person's (id_number).  Stops when fn returns
 * non-zero. */
typedef int (*yz_stored_fn)(const yz_stored *s, void *ctx);
int yz_store_each(yz_store *st, const char *id_number, const char *from, const char *to, bool with_output,
                  yz_stored_fn fn, void *ctx, yz_diags *d);

/* Replays a stored decision: re-evaluates it from its stored ruleset and input at its as-of
 * date (or, with rules_path, from that policy folder on disk) and compares the canonical JSON
 * byte for byte.  *diff gets a readable difference (caller frees) when they differ.  Returns
 * YZ_OK (identical), YZ_EFAILED (different) or an error. */
int yz_replay(const char *home, const yz_stored *s, const char *rules_path, char **diff, yz_diags *d);

/* The same for many decisions: a replayer keeps the rulesets it has built (with their evaluators),
 * so each is compiled once, not once per decision (replay --all). */
typedef struct yz_replayer yz_replayer;
yz_replayer *yz_replayer_new(const char *home, const char *rules_path);
int yz_replayer_run(yz_replayer *r, const yz_stored *s, char **diff, yz_diags *d);
void yz_replayer_free(yz_replayer *r);

/* ---- batch: a file of records on all cores ---- */

/* A record batch did not decide, for the caller to show (the library prints nothing). */
typedef struct yz_batch_problem {
    const char *input;   /* the input, as named in the options */
    long line;           /* the record's line (CSV: the line its row starts on) */
    bool rejected;       /* true: rejected (it breaks the schema, or its line cannot be read);
                            false: a rule could not decide it (the CPU-time backstop) */
    const char *message; /* the first problem, "field: message" (and how many more) */
} yz_batch_problem;

/* How far a batch has got, for a progress line. */
typedef struct yz_batch_progress {
    uint64_t records, rejected; /* records handled so far, and how many of them were rejected */
    uint64_t bytes_read;        /* of the input so far */
    uint64_t bytes_total;       /* the input's size; 0 when unknown (standard input, a pipe) */
    double seconds;             /* since the batch started */
    bool final;                 /* the last call, once every record is handled */
} yz_batch_progress;

typedef struct yz_batch_options {
    const char *home, *province, *as_of;
    const char *input;    /* a JSON Lines or CSV file, or "-" */
    const char *format;   /* "jsonl", "csv", or NULL: by the file's extension (.csv), else JSON Lines */
    const char *encoding; /* NULL or "utf-8", "gbk", "gb18030" */
    int jobs;             /* worker threads; 0 = one per CPU */
    unsigned commit_every; /* decisions per transaction; 0 = 20,000 (a crash loses at most that many) */
    bool record;          /* record decisions in the store at db (else evaluate only) */
    const char *db, *operator_id;
    const char *lines;    /* write the benchmark's canonical line per record here ("-": stdout, which
                             the caller checks for write errors) */
    const char *rejects;  /* write rejected records here (JSON Lines: line, errors) */
    yz_limits limits;
    /* Callbacks, each may be NULL; ctx goes to both.  They are called one at a time, from one of
     * the batch's threads: on_problem for every record not decided, in input order;
     * on_progress about four times a second, and once more at the end with final set. */
    void (*on_problem)(const yz_batch_problem *p, void *ctx);
    void (*on_progress)(const yz_batch_progress *p, void *ctx);
    void *ctx;
} yz_batch_options;

/* With record, the counts (decided, targets, categories, subsidies, sums, seq) are of decisions
 * committed to the store: those in a transaction the store failed to commit are unrecorded. */
typedef struct yz_batch_summary {
    uint64_t records, decided, rejected, skipped, failed;
    uint64_t unrecorded; /* decided, but lost with a transaction the store could not commit */
    uint64_t targets[3]; /* by yz_status */
    size_t ncat, nsub;
    const char **cat_ids, **cat_names, **sub_ids, **sub_names, **sub_per;
    uint64_t (*cat_counts)[3], (*sub_counts)[3]; /* by yz_status */
    int64_t *sub_totals;  /* fen over the whole periods granted (sums stop at INT64_MAX) */
    int64_t monthly_fen;  /* sum of monthly amounts granted (the monthly cost) */
    int64_t once_fen;     /* sum of one-off payments granted */
    int64_t first_seq, last_seq;
    double seconds;
    char ruleset[65];
} yz_batch_summary;

/* Decides every record of a file and, with record, appends each decision (skipping what was
 * already decided with this ruleset and as-of date, so a rerun after a crash finishes the
 * work).  Rejected records go to on_problem and the rejects file; the rest continue.  Returns
 * YZ_OK, YZ_EPOLICY when a rule could not decide some records (the CPU-time backstop; nothing
 * recorded for them), YZ_EINPUT when some records were rejected, YZ_EIO when the input cannot
 * be read or the lines or rejects file cannot be written (d names it), or another error. */
int yz_batch_run(const yz_batch_options *o, yz_batch_summary *sum, yz_diags *d);
void yz_batch_summary_free(yz_batch_summary *s);

/* The outcome of a canonical determination in brief.  Text: "cat1, cat2 / sub1 175000, sub2 ..."
 * (met categories / eligible subsidies with the amount per period).  JSON: the members
 * "categories":[ids],"subsidies":{id:amount} (no braces around them).  Caller frees. */
char *yz_outcome_brief(const char *determination_json, bool json);

/* ---- policy authoring ---- */

/* Lints a policy folder (recursively with its city folders) or one file.  Problems go to d;
 * returns YZ_OK when there is no error (warnings allowed), else YZ_EPOLICY or YZ_EIO.
 * today ("YYYY-MM-DD", may be NULL) enables the "expires soon" warning. */
int yz_lint(const char *home, const char *path, const char *today, yz_diags *d);

typedef struct yz_test_options {
    const char *filter;    /* run only cases whose name contains this, or NULL */
    int verbose;           /* print passing cases too */
    yz_limits limits;
} yz_test_options;

typedef struct yz_test_summary {
    size_t passed, failed, files;
} yz_test_summary;

/* Runs the YAML test cases of a policy folder (its tests/ folder, then its city folders) or of a
 * single test file.  The report (diffs, coverage of categories and subsidies not exercised both
 * ways, and last the line "N passed, M failed") goes to *out (caller frees with yz_free).
 * Returns YZ_OK when every case passed, YZ_EFAILED when some failed, or YZ_EPOLICY when a folder
 * or test file could not be used (see d). */
int yz_test_run(const char *home, const char *path, const yz_test_options *opts, char **out,
                yz_test_summary *sum, yz_diags *d);

#ifdef __cplusplus
}
#endif

#endif

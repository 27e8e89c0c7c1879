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
 *  - names: x_init prepares a caller-owned struct, x_free gives back everything it holds (for a
 *    struct the caller owns, such as yz_diags, it is empty and usable again afterwards),
 *    x_clear empties it but keeps its storage for reuse, x_release hands its storage to the
 *    caller;
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

/* Every function of this header is the library's public API: the only symbols libyuanzhu.a and
 * libyuanzhu.so export (the rest is internal and hidden). */
#if defined(__GNUC__)
#define YZ_API __attribute__((visibility("default")))
#else
#define YZ_API
#endif

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
YZ_API const char *yz_rc_name(int rc);

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

YZ_API void yz_diags_init(yz_diags *d);
/* Frees every diagnostic; the list is empty and can be used again. */
YZ_API void yz_diags_free(yz_diags *d);
/* "file:line:col: error: field: message" (caller frees). */
YZ_API char *yz_diag_format(const yz_diag *x);

YZ_API void yz_free(void *p);

/* ---- text for people ---- */

/* s made safe to print for a person to read: control characters (C0, DEL, C1), bidirectional-
 * text controls and line or paragraph separators become escapes (\n, \t, \x1b, \u202e), and
 * bytes that are not UTF-8 become \xNN, so that a value from a record, a rule, a file name or the
 * command line cannot add a line, move the cursor, clear the screen or reorder what is shown.
 * With keep_newlines, '\n' stays (for text whose lines are already safe, such as a replay diff,
 * whose values are quoted JSON).  Every human-readable text the library makes (diagnostics,
 * yz_determination_text, test reports) is already escaped this way.  Caller frees. */
YZ_API char *yz_text_escape(const char *s, bool keep_newlines);

/* Checks an operator (caseworker) id before anything is recorded with it: 1 to 64 characters of
 * UTF-8, none of them a control, bidirectional-text or invisible formatting character, and no
 * space at either end.  yz_store_record, yz_store_append and yz_batch_run check it themselves.
 * Returns YZ_OK, or YZ_EUSAGE with a diagnostic that says what is wrong. */
YZ_API int yz_operator_check(const char *operator_id, yz_diags *d);

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
YZ_API yz_oom_handler yz_set_oom_handler(yz_oom_handler fn);

/* ---- engine home: where rules/ and provinces/ live ---- */

/* Returns the directory holding rules/ and provinces/: $YUANZHU_HOME if set, else the
 * directory above the running executable if it holds rules/ (a source tree), else share/yuanzhu
 * beside the executable's folder (an installation, also one moved or staged under DESTDIR), else
 * the data directory compiled in (make's DATADIR).  Caller frees. */
YZ_API char *yz_home_default(const char *argv0);

/* ---- rulesets ---- */

typedef struct yz_ruleset yz_ruleset;

/* Loads and validates a ruleset.  province is a name under HOME/provinces ("guangdong",
 * "guangdong/guangzhou") or a path to a policy folder.  Every problem goes to d.  Returns
 * YZ_OK, YZ_EIO (no such province) or YZ_EPOLICY (errors: *out is NULL; a ruleset with errors
 * is never returned).  Warnings do not stop loading. */
YZ_API int yz_ruleset_load(const char *home, const char *province, yz_ruleset **out, yz_diags *d);

/* One file of a ruleset, by its logical path ("rules/lib/date.lua",
 * "provinces/guangdong/policy.yaml"). */
typedef struct yz_file {
    const char *path;
    const char *data;
    size_t len;
} yz_file;

/* Loads a ruleset from files held in memory (e.g. from the decision store): files are copied.
 * province is the ruleset's province name as recorded ("guangdong/guangzhou"). */
YZ_API int yz_ruleset_load_files(const yz_file *files, size_t n, const char *province, yz_ruleset **out,
                          yz_diags *d);
YZ_API void yz_ruleset_free(yz_ruleset *rs);

/* Hex SHA-256 over the canonical bytes of every file the ruleset uses (its id). */
YZ_API const char *yz_ruleset_id(const yz_ruleset *rs);
/* Province name ("guangdong/guangzhou"). */
YZ_API const char *yz_ruleset_province(const yz_ruleset *rs);
/* The files (logical path, canonical bytes), sorted by path. */
YZ_API size_t yz_ruleset_files(const yz_ruleset *rs, const yz_file **files);
/* Checks that a policy of the ruleset is in force on as_of; otherwise YZ_ENOTINFORCE with a
 * diagnostic that names the periods that exist. */
YZ_API int yz_ruleset_in_force(const yz_ruleset *rs, const char *as_of, yz_diags *d);

/* ---- keys and signatures ----
 *
 * A yz_key is a signing key (SM2 with SM3, or Ed25519; private, or public only) or the secret of
 * a keyed audit chain (HMAC).  Its name is the algorithm and the first 16 hex digits of its
 * fingerprint, "sm2:9c1f3b7a2e4d6f80": the SHA-256 of the public key's DER (SubjectPublicKeyInfo),
 * or for a secret a SHA-256 keyed apart from it (naming a secret does not reveal it).
 *
 * SM2 signatures are made and checked with SM3 and the distinguishing ID YZ_SM2_ID, always set
 * explicitly (GB/T 32918's default ID; OpenSSL 3.0 would otherwise use an empty one, which other
 * SM2 implementations do not): `openssl pkeyutl -verify -rawin -digest sm3 -pkeyopt
 * distid:1234567812345678` checks them.  Ed25519 signatures are RFC 8032's (pure Ed25519). */
#define YZ_SM2_ID "1234567812345678"

typedef struct yz_key yz_key;

/* Makes a new key: alg "sm2", "ed25519" or "hmac" (a 256-bit random secret).  YZ_EUSAGE for
 * another alg. */
YZ_API int yz_key_generate(const char *alg, yz_key **out, yz_diags *d);
/* Reads a key: a PEM private key (PKCS#8 or SEC1, unencrypted), a PEM public key, or a chain
 * secret written as hex digits (at least 32).  source names the text in messages. */
YZ_API int yz_key_parse(const char *text, size_t len, const char *source, yz_key **out, yz_diags *d);
YZ_API int yz_key_read(const char *path, yz_key **out, yz_diags *d);
YZ_API void yz_key_free(yz_key *k);
YZ_API const char *yz_key_name(const yz_key *k);
/* "sm2", "ed25519" or "hmac". */
YZ_API const char *yz_key_alg(const yz_key *k);
/* True for a private key or a secret (it can sign, or key a chain). */
YZ_API bool yz_key_is_private(const yz_key *k);
/* The private key as PEM (PKCS#8), or a secret as hex and a newline; NULL for a public key.
 * Caller frees (the text is a secret: keep it in a file only its owner can read). */
YZ_API char *yz_key_private_text(const yz_key *k);
/* The public key as PEM; NULL for a secret.  Caller frees. */
YZ_API char *yz_key_public_pem(const yz_key *k);

/* ---- signed rulesets ----
 *
 * A policy folder may carry a signature of its ruleset in the file YZ_RULESET_SIGNATURE: a signed
 * note whose text is the ruleset's manifest (yz_ruleset_manifest) and whose lines below it are the
 * signatures (see docs/audit.md).  yz_ruleset_load reads it with the folder.  Checking it:
 *  - a folder without one is accepted unless signatures are required (then YZ_EPOLICY);
 *  - a folder with one needs a key to check it against: with no key it is an error, never
 *    ignored (YZ_EPOLICY);
 *  - it must be signed by one of the keys, and the files must be exactly those signed: a file
 *    changed, added or removed since is named (YZ_EPOLICY).
 * After a successful check yz_ruleset_signer names the key, and a decision recorded with the
 * ruleset records it.  Verify before sharing the ruleset between threads. */
#define YZ_RULESET_SIGNATURE "ruleset.sig"

/* "yuanzhu ruleset PROVINCE\n" and one line per file, "SHA256  LOGICAL_PATH\n" (the SHA-256 of
 * its canonical bytes, as sha256sum writes it), sorted by path.  Caller frees. */
YZ_API char *yz_ruleset_manifest(const yz_ruleset *rs);
/* The text of a signature file for the ruleset signed with key (caller frees).  existing (the
 * folder's current signature file, or NULL): when it signs the same manifest, the signature lines
 * of its other keys are kept, so a second person countersigns. */
YZ_API int yz_ruleset_sign(const yz_ruleset *rs, const yz_key *key, const char *existing, char **text, yz_diags *d);
/* Checks the ruleset's signature against keys (public or private; n may be 0), as above. */
YZ_API int yz_ruleset_verify(yz_ruleset *rs, const yz_key *const *keys, size_t n, bool required, yz_diags *d);
/* True when the ruleset's folder carried a signature file. */
YZ_API bool yz_ruleset_has_signature(const yz_ruleset *rs);
/* The name of the key whose signature yz_ruleset_verify accepted, or NULL. */
YZ_API const char *yz_ruleset_signer(const yz_ruleset *rs);
/* One policy of a ruleset (successive policies each have their own period).  The strings belong
 * to the ruleset. */
typedef struct yz_policy_info {
    const char *title;
    const char *region_code, *region_name; /* GB/T 2260 code and name ("440000", "广东省") */
    const char *from, *to;                 /* effective period, "YYYY-MM-DD"; to NULL = open-ended */
} yz_policy_info;
/* The number of policies of the ruleset, in date order. */
YZ_API size_t yz_ruleset_policy_count(const yz_ruleset *rs);
/* Fills info for policy i (0 <= i < yz_ruleset_policy_count). */
YZ_API void yz_ruleset_policy(const yz_ruleset *rs, size_t i, yz_policy_info *info);
/* The names of the provinces and cities with policy files under HOME/provinces, sorted
 * ("guangdong", "guangdong/guangzhou", ...).  Returns the count; the caller frees each name and
 * the array with yz_free. */
YZ_API size_t yz_province_names(const char *home, char ***names);

/* ---- applicant records ---- */

typedef struct yz_record yz_record;

/* Parses one applicant record (JSON, or YAML when the text does not start with '{') and validates
 * it against the applicant record schema (version 1).  Every violation goes to d with its field
 * path; so does a NUL character anywhere in it (a value is never cut short).  Resident ID numbers
 * are put in canonical form (a check digit x is X) before anything else sees them, so one person
 * has one id in the record, its canonical JSON, its hash and every output.  source names the input in messages ("applicant.yaml", "<stdin>", "batch.jsonl:17").
 * Returns YZ_OK, YZ_EPARSE (not JSON/YAML) or YZ_EINPUT (schema violations; *out is NULL). */
YZ_API int yz_record_parse(const char *text, size_t len, const char *source, yz_record **out, yz_diags *d);
YZ_API void yz_record_free(yz_record *rec);
YZ_API const char *yz_record_id_number(const yz_record *rec);
/* Canonical JSON of the record as parsed (sorted keys, no spaces): the bytes that are hashed and
 * stored.  Caller frees. */
YZ_API char *yz_record_canonical(const yz_record *rec);
/* The applicant record JSON Schema (version 1) the engine validates against, as published in
 * schemas/ (static text, NUL-terminated). */
YZ_API const char *yz_applicant_schema(void);

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
YZ_API int yz_evaluator_new(const yz_ruleset *rs, const yz_limits *limits, yz_evaluator **out, yz_diags *d);
YZ_API void yz_evaluator_free(yz_evaluator *ev);

typedef struct yz_determination yz_determination;

/* Evaluates one record at as_of ("YYYY-MM-DD").  Returns YZ_OK, YZ_EUSAGE (bad date) or
 * YZ_ENOTINFORCE.  A predicate that fails or exceeds a limit does not fail the call: its item
 * is undetermined and carries the error.  The exceptions are limits that do not depend on the
 * rule and the record alone: the system refusing memory (YZ_ENOMEM) and the CPU-time backstop
 * (YZ_EPOLICY, the rule named in d) fail the evaluation and give no determination. */
YZ_API int yz_evaluate(yz_evaluator *ev, const yz_record *rec, const char *as_of, yz_determination **out,
                yz_diags *d);
/* The same decision without explanations (statuses, amounts, periods): for bulk runs where only
 * the outcome is needed.  Its JSON has no reasons, conditions, fields or parameters. */
YZ_API int yz_evaluate_brief(yz_evaluator *ev, const yz_record *rec, const char *as_of, yz_determination **out,
                      yz_diags *d);
YZ_API void yz_determination_free(yz_determination *det);

/* Canonical JSON (sorted keys, UTF-8, no insignificant space, '\n'-terminated).  Caller frees. */
YZ_API char *yz_determination_json(const yz_determination *det);
/* A Chinese-friendly summary for a person at a desk.  Caller frees. */
YZ_API char *yz_determination_text(const yz_determination *det);
/* The same text from a determination's canonical JSON (a stored decision's output): the text
 * check printed when it was made.  rs, the ruleset it was made with, gives the order items are
 * listed in (the policy files'); NULL lists them by id.  Returns YZ_OK, or YZ_EPARSE when json is
 * not a determination; *out is the caller's. */
YZ_API int yz_determination_json_text(const char *json, const yz_ruleset *rs, char **out);

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

/* The status as determinations write it: "met", "not_met", "undetermined"; for a subsidy
 * (subsidy true) "eligible", "not_eligible", "undetermined".  Static text. */
YZ_API const char *yz_status_name(yz_status s, bool subsidy);
/* The status a name stands for (for a subsidy its own words or the category ones), or -1. */
YZ_API int yz_status_parse(const char *name, bool subsidy);

YZ_API yz_status yz_determination_target(const yz_determination *det);
YZ_API size_t yz_determination_count(const yz_determination *det, yz_item_kind kind);
YZ_API void yz_determination_item(const yz_determination *det, yz_item_kind kind, size_t i, yz_item_info *info);

/* ---- the decision store (SQLite) and its audit chain ---- */

typedef struct yz_store yz_store;

/* Opens a store, creating it (schema and hash algorithm hash_alg: "sha256" or "sm3"; NULL =
 * sha256) when the file does not exist, and migrating an older schema forward.  A store that
 * exists keeps its own algorithm; asking for another one with create_only is an error.
 * A new store is created whole or not at all (built in a temporary file beside it, mode 0600,
 * then renamed into place), so a process killed while creating one leaves no file at path (at most
 * a PATH.new-XXXXXX beside it).  An empty file at path (made by hand or by the sqlite3 shell, or
 * left by an older engine's interrupted init) holds no store yet: the store is made in it, and
 * yz_store_create does not count it as an existing store.
 * Returns YZ_OK or YZ_ESTORE with a diagnostic.
 *
 * Many processes may use one store: readers never wait, and a writer waits up to the busy
 * timeout, 10 seconds (YUANZHU_BUSY_TIMEOUT_MS in milliseconds overrides it), for another
 * writer's transaction to end before failing with YZ_ESTORE ("database is locked").  A store
 * whose folder cannot be written (read-only media) is opened read-only, and can be verified,
 * listed and replayed there.  A failed write leaves nothing of itself behind. */
YZ_API int yz_store_open(const char *path, const char *hash_alg, yz_store **out, yz_diags *d);
/* Creates a new store and fails if the file exists. */
YZ_API int yz_store_create(const char *path, const char *hash_alg, yz_diags *d);
YZ_API void yz_store_close(yz_store *st);
YZ_API const char *yz_store_hash_alg(const yz_store *st);

/* Records a determination as a decision: registers its ruleset (with every file) if new, stores
 * the input once under its hash, appends the decision and its audit event, all in one
 * transaction (or in the caller's, see yz_store_begin).  id_out gets the decision id (17
 * bytes).  det must have been made from rec (the same person: YZ_EUSAGE otherwise), and
 * operator_id must pass yz_operator_check (YZ_EUSAGE). */
YZ_API int yz_store_record(yz_store *st, const yz_ruleset *rs, const yz_record *rec, const yz_determination *det,
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
YZ_API int yz_store_dict_get(yz_store *st, const yz_ruleset *rs, const yz_record *rec, const yz_determination *det,
                      yz_store_dict **out, yz_diags *d);
YZ_API void yz_store_dict_free(yz_store_dict *dict);
YZ_API yz_packer *yz_packer_new(const yz_store_dict *dict);
YZ_API void yz_packer_free(yz_packer *p);
YZ_API int yz_pack(yz_packer *p, const yz_record *rec, const yz_determination *det, yz_packed **out);
/* The SHA-256 of the packed input's canonical JSON (64 hex digits). */
YZ_API const char *yz_packed_input_hash(const yz_packed *pk);
YZ_API void yz_packed_free(yz_packed *pk);
YZ_API int yz_store_append(yz_store *st, const yz_packed *pk, const char *operator_id, bool *skipped, char id_out[17],
                    int64_t *seq_out, yz_diags *d);
/* True when some input was already decided with this ruleset on this as-of date. */
YZ_API bool yz_store_any_decided(yz_store *st, const char *ruleset_id, const char *as_of);
/* True when this input (by hash) was already decided with this ruleset on this as-of date. */
YZ_API bool yz_store_decided(yz_store *st, const char *ruleset_id, const char *input_hash, const char *as_of);

/* Groups many yz_store_record / yz_store_append calls into one transaction (batch writers). */
YZ_API int yz_store_begin(yz_store *st, yz_diags *d);
YZ_API int yz_store_commit(yz_store *st, yz_diags *d);
YZ_API int yz_store_rollback(yz_store *st);

typedef struct yz_verify_report {
    int64_t events;     /* events checked */
    int64_t head_seq;
    char head_hash[65];
    int64_t bad_seq;    /* first sequence number with a problem, 0 if none */
    char problem[512];  /* what is wrong there */
} yz_verify_report;

/* Walks the chain and the rows it describes, and checks that each decision holds the record and
 * the determination of the person it names (its id_number).  expect_head ("HASH" or "SEQ:HASH",
 * may be NULL; HASH may be abbreviated to its first 16 or more hex digits) must appear in the
 * chain (the way a truncated tail is found).  Returns YZ_OK, YZ_EFAILED (report.bad_seq/problem
 * say where), YZ_EUSAGE (expect_head is malformed or too short; nothing was checked) or
 * YZ_ESTORE. */
YZ_API int yz_store_verify(yz_store *st, const char *expect_head, yz_verify_report *rep, yz_diags *d);
/* The threads verification checks decisions on (0, the default: one per online processor; 1:
 * the calling thread only).  The report is the same for any number. */
YZ_API void yz_store_set_jobs(yz_store *st, int jobs);
YZ_API int yz_store_head(yz_store *st, int64_t *seq, char hash[65], yz_diags *d);

/* ---- what a store can prove against someone who can write it (docs/audit.md) ----
 *
 * Keyed chain.  A store made with yz_store_create_keyed chains its events with HMAC (under its
 * hash algorithm) keyed by a secret kept outside the store, instead of a plain hash: appending,
 * changing or rewriting an event so that the chain still verifies needs the secret.  Writing to
 * such a store and verifying it need yz_store_set_chain_key first (else YZ_EUSAGE says so);
 * reading, showing and replaying do not. */
YZ_API int yz_store_create_keyed(const char *path, const char *hash_alg, const yz_key *chain_key, yz_diags *d);
/* Gives an open store its chain secret (kept by the caller while the store is open).  YZ_EUSAGE
 * when the store is not keyed, or keyed by another secret. */
YZ_API int yz_store_set_chain_key(yz_store *st, const yz_key *key, yz_diags *d);
/* The store's name in checkpoints: "yuanzhu/" and the 32 hex digits drawn when it was made. */
YZ_API const char *yz_store_origin(const yz_store *st);
/* How the chain is made, as a checkpoint states it: "sha256", "sm3", or "hmac-sha256 hmac:..."
 * (the keyed HMAC and the name of its secret). */
YZ_API const char *yz_store_chain(const yz_store *st);

/* Trusted ruleset keys.  Once a store trusts a key (yz_store_trust_key; a store never forgets
 * one), every decision recorded in it must come from a ruleset signed by a key it trusts.
 * yz_store_check_ruleset checks a loaded ruleset's signature for recording here (before it
 * decides anything): against the store's trusted keys and keys (n may be 0); required when
 * required is true or the store trusts a key, and then the signer must be one the store trusts.
 * Returns YZ_OK or YZ_EPOLICY (see d); yz_store_record refuses what it would refuse.  Also
 * YZ_EUSAGE when the store's chain is keyed and its secret was not given: nothing could be
 * recorded. */
YZ_API int yz_store_trust_key(yz_store *st, const yz_key *key, yz_diags *d);
YZ_API int yz_store_check_ruleset(yz_store *st, yz_ruleset *rs, const yz_key *const *keys, size_t n, bool required,
                                  yz_diags *d);

/* Signed checkpoints.  yz_store_checkpoint verifies the chain (from the last checkpoint of the
 * store that one of keys signed and that still holds, else from the start), then signs the head it
 * verified with every key (private SM2 or Ed25519 keys, n >= 1), appends the checkpoint to the
 * store and, when append_to is not NULL, to that file (created if needed, flushed to disk before
 * the store commits).  *text gets the checkpoint (caller frees; may be NULL), *size the events it
 * covers.  The format, one field per line and then the signature lines:
 *     yuanzhu/<store id>            origin: which store
 *     <size>                        the number of events covered, 1..size
 *     <hash>                        the chain hash of event <size> (audit head's)
 *     chain <yz_store_chain>
 *     time <UTC>
 *     (an empty line)
 *     — <key name> <base64 of key id and signature>
 * Returns YZ_OK, YZ_EFAILED (the chain does not verify: rep-like problem in d, nothing signed),
 * YZ_EUSAGE (a key that cannot sign), YZ_EIO (the file) or YZ_ESTORE. */
YZ_API int yz_store_checkpoint(yz_store *st, const yz_key *const *keys, size_t n, const char *append_to, char **text,
                               int64_t *size, yz_diags *d);

typedef struct yz_checkpoint_report {
    size_t checkpoints;        /* checkpoints read and found to hold */
    int64_t size;              /* the latest of them (the most events) */
    char hash[65], time[21];
    char signer[48];           /* the key whose signature was accepted */
    int64_t appended;          /* events appended since it */
    int64_t appended_decisions, appended_rulesets;
    char first_after[21], last_after[21]; /* their recording times (UTC), "" when none */
} yz_checkpoint_report;

/* Verifies the chain as yz_store_verify does, then every checkpoint in text (one or more, as
 * yz_store_checkpoint writes them; source names it in messages): each must be of this store,
 * state its chain, carry a signature by one of keys (public keys will do; one of another key is
 * refused), and the store must still hold exactly the events it covers (a rewritten, cut or
 * re-chained store fails at the checkpoint's size); an event after the latest checkpoint must not
 * be recorded before it (back-dated).  Returns YZ_OK (cp says what was appended since),
 * YZ_EFAILED (rep says where), YZ_EPARSE/YZ_EUSAGE (the text or the keys; see d) or YZ_ESTORE. */
YZ_API int yz_store_verify_checkpoints(yz_store *st, const char *text, size_t len, const char *source,
                                       const yz_key *const *keys, size_t n, yz_verify_report *rep,
                                       yz_checkpoint_report *cp, yz_diags *d);

/* A stored decision and everything needed to redo it. */
typedef struct yz_stored {
    int64_t seq;
    char id[17];
    char *province, *ruleset, *id_number, *as_of, *operator_id, *recorded_at, *engine, *target;
    char *input;  /* canonical input JSON */
    char *output; /* canonical determination JSON as recorded */
    yz_file *files;
    size_t nfiles;
    char *ruleset_signer; /* the key whose signature of the ruleset was accepted, or NULL (unsigned) */
} yz_stored;

/* Loads a decision by id (or a unique prefix of at least 6 characters). */
YZ_API int yz_store_load(yz_store *st, const char *id, bool with_files, yz_stored **out, yz_diags *d);
YZ_API void yz_stored_free(yz_stored *s);
/* A copy of s without its files (files NULL, nfiles 0); free it with yz_stored_free. */
YZ_API yz_stored *yz_stored_dup(const yz_stored *s);

/* Calls fn for decisions in sequence order: all (from/to NULL), those recorded on dates
 * from..to (inclusive, UTC, "YYYY-MM-DD"), or one person's (id_number; a check digit x or X
 * finds both).  Stops when fn returns non-zero.  A decision that cannot be read back (with_output:
 * its stored input, output or ruleset files are damaged) is not passed to fn: it gets one error
 * in d, the walk goes on, and the call returns YZ_EFAILED at the end. */
typedef int (*yz_stored_fn)(const yz_stored *s, void *ctx);
YZ_API int yz_store_each(yz_store *st, const char *id_number, const char *from, const char *to, bool with_output,
                  yz_stored_fn fn, void *ctx, yz_diags *d);

/* Which decisions a scan reads, and how much of each. */
typedef struct yz_scan {
    const char *id_number; /* one person's decisions (a final x and X are the same), or NULL */
    const char *from, *to; /* recorded on these dates (inclusive, UTC, "YYYY-MM-DD"), or NULL */
    const char *province;  /* made with this province's rules or its cities' ("guangdong" takes
                              "guangdong/guangzhou"), or NULL */
    bool newest;           /* only each person's newest decision (the other filters apply to it) */
    bool input, output;    /* read the record (s->input) and the determination (s->output) */
    bool files;            /* and the ruleset's files (lent to fn: valid during the call) */
} yz_scan;

/* Calls fn for the decisions q chooses, in sequence order, reading one at a time (constant
 * memory whatever the size of the store).  Stops when fn returns non-zero.  A decision that
 * cannot be read back (damaged) is not passed to fn: it gets one error in d, the scan goes on,
 * and the call returns YZ_EFAILED at the end.  Otherwise YZ_OK or YZ_ESTORE. */
YZ_API int yz_store_scan(yz_store *st, const yz_scan *q, yz_stored_fn fn, void *ctx, yz_diags *d);

/* Calls fn once for each ruleset the decisions q chooses were made with, in the order they were
 * registered, with its files (valid during the call).  Stops when fn returns non-zero. */
typedef int (*yz_ruleset_fn)(const char *ruleset_id, const char *province, const yz_file *files, size_t n,
                             void *ctx);
YZ_API int yz_store_rulesets(yz_store *st, const yz_scan *q, yz_ruleset_fn fn, void *ctx, yz_diags *d);

/* Replays a stored decision: re-evaluates it from its stored ruleset and input at its as-of
 * date (or, with rules_path, from that policy folder on disk) and compares the canonical JSON
 * byte for byte.  *diff gets a readable difference (caller frees) when they differ.  Returns
 * YZ_OK (identical), YZ_EFAILED (different) or an error. */
YZ_API int yz_replay(const char *home, const yz_stored *s, const char *rules_path, char **diff, yz_diags *d);

/* The same for many decisions: a replayer keeps the rulesets it has built (with their evaluators),
 * so each is compiled once, not once per decision (replay --all). */
typedef struct yz_replayer yz_replayer;
YZ_API yz_replayer *yz_replayer_new(const char *home, const char *rules_path);
YZ_API int yz_replayer_run(yz_replayer *r, const yz_stored *s, char **diff, yz_diags *d);
YZ_API void yz_replayer_free(yz_replayer *r);

/* Replays every decision a scan of the store finds (q: which ones; input, output and files are
 * read whatever q says), on jobs threads (0: one per CPU), each with a replayer of its own.
 * on_result gets each decision in sequence order, from the calling thread, with what
 * yz_replayer_run returned for it (rc, diff, d); a non-zero return stops the walk.  Returns
 * YZ_EUSAGE when q's from or to is not a real date (or from is after to), else what
 * yz_store_scan returns (YZ_EFAILED: damaged decisions were left out, one error each in d). */
typedef struct yz_replay_all_options {
    const char *home;       /* for rules_path */
    const char *rules_path; /* replay with this policy folder instead of the stored rulesets, or NULL */
    int jobs;
    int (*on_result)(const yz_stored *s, int rc, const char *diff, const yz_diags *d, void *ctx);
    void *ctx;
} yz_replay_all_options;
YZ_API int yz_replay_all(yz_store *st, const yz_scan *q, const yz_replay_all_options *o, yz_diags *d);

/* ---- the real-name ledger (实名制台账): decisions read back for listings ---- */

/* One category, subsidy or status-loss rule of a recorded decision. */
typedef struct yz_brief_item {
    const char *id, *name;
    yz_status status;
    const char *reason;     /* the rule's Chinese reason, or NULL (unexplained determinations) */
    int64_t amount_fen;     /* subsidies granted: per period; else 0 */
    int64_t months;         /* subsidies granted: periods, or -1 */
    const char *period;     /* subsidies granted: "month", "once", "loan"; else NULL */
    const char *start, *end; /* subsidies granted; else NULL */
} yz_brief_item;

/* A recorded decision in brief, read from its determination JSON (the strings live as long as
 * the brief). */
typedef struct yz_decision_brief {
    const char *as_of, *province, *region_name; /* region_name: the policy's, or NULL */
    yz_status target;
    const char *target_reason;
    yz_brief_item *categories, *subsidies, *losses; /* losses: status-loss rules (身份丧失) met */
    size_t ncategories, nsubsidies, nlosses;
    int review; /* 1 a review of a recognised person (复核), 0 a first recognition (认定), -1 unknown
                   (the record does not say: recognition.recognised_on) */
    void *priv;
} yz_decision_brief;

/* Reads a determination JSON and (may be NULL) the record it was made from.  Returns YZ_OK or
 * YZ_EPARSE (not a determination). */
YZ_API int yz_decision_brief_new(const char *determination_json, const char *input_json, yz_decision_brief **out);
YZ_API void yz_decision_brief_free(yz_decision_brief *b);
/* A recorded decision as one line of JSON (sorted keys, '\n'-terminated): as_of, categories (ids
 * met), decision, engine, id_number, operator, province, recorded_at, review (true, false or
 * null), ruleset, seq, status_loss ([{id, name, reason}]), subsidies ({id: amount_fen} granted),
 * target.  Caller frees. */
YZ_API char *yz_decision_brief_json(const yz_stored *s, const yz_decision_brief *b);

/* Where an export or report goes: returns 0, or non-zero when the bytes could not be written
 * (the call then stops with YZ_EIO). */
typedef int (*yz_write_fn)(const char *buf, size_t n, void *ctx);

typedef struct yz_export_options {
    const char *from, *to;  /* decisions recorded on these dates (UTC, inclusive), or NULL */
    const char *province;   /* made with this province's rules or its cities', or NULL */
    const char *format;     /* "csv" (NULL) or "jsonl" */
    const char *encoding;   /* csv: NULL or "utf-8" (with a byte order mark, as Excel wants),
                               "gbk" or "gb18030" (Excel in Chinese locales) */
    bool mask;              /* ID numbers as 440106********0025, and no names */
    bool zh_header;         /* csv: a header of Chinese names instead of ids */
    yz_write_fn write;
    void *ctx;
} yz_export_options;

typedef struct yz_export_summary {
    uint64_t decisions;
    size_t categories, subsidies; /* the columns: every one of the rulesets involved */
    uint64_t unconvertible;       /* characters the encoding lacks, written as '?' */
    char first_unconvertible[17]; /* the decision the first of them is in */
} yz_export_summary;

/* Writes the decisions chosen, one row each in sequence order: seq, decision, recorded_at, as_of,
 * province, ruleset, operator, engine, id_number, name, region (hukou), target, status_loss (the
 * status-loss rules met), then for each category of the rulesets involved its status, and for
 * each subsidy its status, amount_fen, months and end.  Reads one decision at a time: memory
 * does not grow with the store.  Returns YZ_OK, YZ_EUSAGE (bad options), YZ_EIO (write failed),
 * YZ_ESTORE, or YZ_EFAILED when decisions that cannot be read back (damaged) were left out, each
 * with an error in d (the others are written). */
YZ_API int yz_export(yz_store *st, const yz_export_options *o, yz_export_summary *sum, yz_diags *d);

/* ---- due: whose status changes by a date (到期提醒) ----
 *
 * From each person's newest decision (its stored record and ruleset), the days between its as-of
 * date (or from, when later) and by on which an item of the determination changes, found by
 * evaluating the record again with the same rules: at the dates the rules expose (a granted
 * subsidy's end, policy and item periods, dated parameter values), monthly in between, and by
 * bisection over days to the first day the outcome differs.  Each granted monthly subsidy is
 * taken as received from its start without a break; nothing else in the record changes. */
typedef struct yz_due_options {
    const char *by;       /* the last day looked at (required) */
    const char *from;     /* start here instead of at a decision's as-of date, when later */
    const char *province; /* newest decisions made with this province's rules or its cities' */
    const char *region;   /* people whose hukou or unemployment registration lies in this region
                             (GB/T 2260: 440000 a province, 440100 a city, 440106 a district) */
    int jobs;             /* worker threads; 0 = one per CPU */
} yz_due_options;

/* One item that changes on the day. */
typedef struct yz_due_change {
    const char *kind;           /* prerequisite, disqualification, category, subsidy */
    const char *id, *name;
    const char *before, *after; /* status words (met, not_met, eligible, ...; "absent": not in force) */
    int64_t amount_before, amount_after; /* subsidies granted: fen per period; else -1 */
    const char *reason;         /* the rule's reason after the change (or before, when it lapses) */
    const char *conditions;     /* the conditions that turned ("年满50周岁"), or NULL */
    const char *rule;           /* where: the first condition that turned, or the item ("file:line") */
    const char *basis;          /* its legal basis ("粤人社规〔2023〕11号 第（一）类"), or NULL */
} yz_due_change;

/* One person on one day. */
typedef struct yz_due_row {
    char date[11];        /* the first day of the new status (the day a subsidy period ends + 1) */
    const char *action;   /* 复核 (review), 续办 (renew), 停发 (stop paying) */
    const char *cause;    /* subsidy_ends, limit_reached, age, retirement, unemployment,
                             status_loss, amount_changes, policy_ends, policy_changes,
                             review_due, rule (another condition of the rules) */
    const char *summary;  /* what happens and why, in Chinese */
    const char *rule, *basis; /* of the main change */
    const char *decision, *decision_as_of, *province, *id_number, *name, *region;
    yz_due_change *changes;
    size_t nchanges;
} yz_due_row;

typedef struct yz_due_summary {
    uint64_t decisions, persons; /* newest decisions read; people looked at (in the region) */
    uint64_t rows, failed;       /* rows; people whose rules or record could not be evaluated */
    uint64_t evaluations;
} yz_due_summary;

typedef struct yz_due_report yz_due_report;
/* Builds the report, rows sorted by date, then ID number.  A person whose decision cannot be
 * evaluated again is left out with a warning in d (and counted as failed).  Returns YZ_OK,
 * YZ_EUSAGE (bad options), YZ_ENOMEM, YZ_ESTORE, or YZ_EFAILED with a report of the others when
 * decisions that cannot be read back (damaged) were left out, each with an error in d. */
YZ_API int yz_due_run(yz_store *st, const yz_due_options *o, yz_due_report **out, yz_diags *d);
YZ_API size_t yz_due_rows(const yz_due_report *rep, const yz_due_row **rows);
YZ_API const yz_due_summary *yz_due_summary_of(const yz_due_report *rep);
/* Writes the rows as JSON Lines ("jsonl") or CSV ("csv", UTF-8 with a byte order mark); mask:
 * masked ID numbers and no names.  Returns YZ_OK, YZ_EUSAGE or YZ_EIO. */
YZ_API int yz_due_write(const yz_due_report *rep, const char *format, bool mask, yz_write_fn write, void *ctx, yz_diags *d);
YZ_API void yz_due_report_free(yz_due_report *rep);

/* "440106********0025": the first six and the last four characters of an ID number (the region
 * and the check), the rest starred; a shorter text is starred whole.  out holds 32 bytes. */
YZ_API void yz_mask_id(const char *id_number, char out[32]);
/* "1,750.00 元".  out holds 40 bytes. */
YZ_API void yz_format_fen(int64_t fen, char out[40]);

/* ---- batch: a file of records on all cores ---- */

/* A record batch did not decide, for the caller to show (the library prints nothing). */
typedef struct yz_batch_problem {
    const char *input;   /* the input, as named in the options */
    long line;           /* the record's line (CSV: the line its row starts on) */
    bool rejected;       /* true: rejected (it breaks the schema, or its line cannot be read);
                            false: a rule could not decide it (the CPU-time backstop) */
    const char *message; /* the first problem, "field: message" (and how many more), its control and
                            bidi characters escaped (yz_text_escape) */
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
    /* the ruleset's signature, checked before any record is decided (see yz_store_check_ruleset,
       or without recording yz_ruleset_verify) */
    const yz_key *const *ruleset_keys;
    size_t n_ruleset_keys;
    bool require_signed;
    const yz_key *chain_key; /* the secret of a keyed store's chain, or NULL */
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
YZ_API int yz_batch_run(const yz_batch_options *o, yz_batch_summary *sum, yz_diags *d);
YZ_API void yz_batch_summary_free(yz_batch_summary *s);

/* The outcome of a canonical determination in brief.  Text: "cat1, cat2 / sub1 175000, sub2 ..."
 * (met categories / eligible subsidies with the amount per period).  JSON: the members
 * "categories":[ids],"subsidies":{id:amount} (no braces around them).  Caller frees. */
YZ_API char *yz_outcome_brief(const char *determination_json, bool json);

/* ---- impact: what a draft ruleset would do to a population (a simulation: nothing recorded) ---- */

typedef struct yz_impact_options {
    const char *home;
    const char *baseline, *reform; /* province names or policy folders */
    const char *as_of;
    const char *input;    /* a ledger (JSON Lines or CSV, as batch reads it) or "-"; NULL with store */
    const char *format;   /* "jsonl", "csv", or NULL: by the file's extension */
    const char *encoding; /* NULL or "utf-8", "gbk", "gb18030" */
    const char *store;    /* or a decision store: each person's newest stored record */
    int jobs;             /* worker threads; 0 = one per CPU */
    int examples;         /* example records per kind of change (0 = 3, at most 20) */
    yz_limits limits;
    /* called from the calling thread as the work goes on (and once at the end): records decided,
       bytes of the ledger read and its size (0 when unknown) */
    void (*progress)(uint64_t records, uint64_t read, uint64_t size, void *ctx);
    void *progress_ctx;
} yz_impact_options;

typedef struct yz_impact yz_impact;

/* Loads and lints both rulesets (one with errors is refused, as check refuses it: YZ_EPOLICY and
 * nothing evaluated), checks both are in force on as_of, decides every record of the population
 * under both (all cores, constant memory) and adds up what changes.  Records that break the
 * schema are counted and listed in the report, and the first 20 go to d as batch reports them.
 * Returns YZ_OK; YZ_EINPUT or YZ_EPOLICY when some records were rejected or could not be decided
 * by a rule (the report is made all the same); or an error without a report (YZ_EUSAGE,
 * YZ_EPOLICY, YZ_ENOTINFORCE, YZ_EIO, YZ_EINPUT for a ledger that cannot be read as one, YZ_ESTORE,
 * YZ_ENOMEM).  *out is the report (free with yz_impact_free) or NULL. */
YZ_API int yz_impact_run(const yz_impact_options *o, yz_impact **out, yz_diags *d);
/* The report as a readable Chinese text, as canonical JSON (sorted keys, integer fen), and as a
 * self-contained HTML page (inline SVG charts, no scripts, nothing fetched).  Caller frees. */
YZ_API char *yz_impact_text(const yz_impact *im);
YZ_API char *yz_impact_json(const yz_impact *im);
YZ_API char *yz_impact_html(const yz_impact *im);
/* True when the report's own checks pass: every part adds up to its total and, when the reform is
 * the baseline's very ruleset, nothing changed (the report says which check failed otherwise). */
YZ_API bool yz_impact_consistent(const yz_impact *im);
YZ_API void yz_impact_free(yz_impact *im);

/* ---- policy authoring ---- */

/* Lints a policy folder (recursively with its city folders) or one file.  Problems go to d;
 * returns YZ_OK when there is no error (warnings allowed), else YZ_EPOLICY or YZ_EIO.
 * today ("YYYY-MM-DD", may be NULL) enables the "expires soon" warning. */
YZ_API int yz_lint(const char *home, const char *path, const char *today, yz_diags *d);
/* The same, checking each folder's ruleset signature (YZ_RULESET_SIGNATURE) against keys: a
 * folder that carries one is checked as yz_ruleset_verify does (yz_lint, with no keys, reports a
 * signed folder as an error: its signature cannot be checked); with keys, an unsigned folder is
 * warned about. */
YZ_API int yz_lint_keys(const char *home, const char *path, const char *today, const yz_key *const *keys, size_t n,
                        yz_diags *d);
/* The checks lint makes on a ruleset beyond loading it (Lua that the sandbox would refuse, helper
 * files, parameters without a value at the start of their policy, and with today the "expires
 * soon" warning), on a ruleset already loaded, for the rules of every level it holds.  Returns
 * YZ_OK when there is no error, else YZ_EPOLICY.  Its test files are not read. */
YZ_API int yz_lint_ruleset(const yz_ruleset *rs, const char *today, yz_diags *d);

/* ---- hashing ---- */

/* Writes the hash of data as 64 lowercase hex digits and a NUL to hex; alg is "sha256" or "sm3".
 * Returns YZ_OK, or YZ_EUSAGE for another name or an algorithm this OpenSSL build lacks. */
YZ_API int yz_hash_hex(const char *alg, const void *data, size_t n, char hex[65]);

typedef struct yz_test_options {
    const char *filter;    /* run only cases whose name contains this, or NULL */
    int verbose;           /* print passing cases too */
    yz_limits limits;
    /* when set: called with each case's applicant record as canonical JSON (after its set: and
       unset:, before it is validated; the text is valid during the call), e.g. to check the
       records with another tool or decide them with batch */
    void (*on_record)(const char *case_name, const char *record_json, void *ctx);
    void *ctx;
} yz_test_options;

typedef struct yz_test_summary {
    size_t passed, failed, files;
} yz_test_summary;

/* Runs the YAML test cases of a policy folder (its tests/ folder, then its city folders) or of a
 * single test file.  The report (diffs, coverage of categories and subsidies not exercised both
 * ways, and last the line "N passed, M failed") goes to *out (caller frees with yz_free).
 * Returns YZ_OK when every case passed, YZ_EFAILED when some failed, or YZ_EPOLICY when a folder
 * or test file could not be used (see d). */
YZ_API int yz_test_run(const char *home, const char *path, const yz_test_options *opts, char **out,
                yz_test_summary *sum, yz_diags *d);

#ifdef __cplusplus
}
#endif

#endif

/* yz_store.h: what the store's files share (internal to the engine):
 *   yz_store.c       the store: schema and migrations, recording, reading
 *   yz_chain.c       verification of the audit chain and the rows it describes
 *   yz_checkpoint.c  what proves more than the chain: checkpoints, ruleset signatures and the
 *                    keys they name, trusted keys
 * They are the only users of sqlite3.h. */
#ifndef YZ_STORE_H
#define YZ_STORE_H

#include <sqlite3.h>
#include <stdint.h>

#include "yuanzhu.h"
#include "yz_hash.h"
#include "yz_zip.h"
#include "yz_util.h"

/* ---- yz_store.c ---- */

sqlite3 *store_db(yz_store *st);
const char *store_path(const yz_store *st);
/* Reports SQLite's error on st's connection as "what: message (hint)"; returns YZ_ESTORE. */
int store_err(yz_store *st, yz_diags *d, const char *what);
/* Runs sql; on failure reports it as store_err does (d may be NULL) and returns YZ_ESTORE. */
int store_exec(yz_store *st, const char *sql, yz_diags *d, const char *what);
/* Prepares sql on st's connection; on failure reports it as store_err does and returns YZ_ESTORE. */
int store_prepare(yz_store *st, const char *sql, sqlite3_stmt **stmt, yz_diags *d);
/* A column's text, "" for SQL NULL; store_col_dup: a copy the caller frees (yz_free). */
const char *store_col_text(sqlite3_stmt *s, int i);
char *store_col_dup(sqlite3_stmt *s, int i);
/* A column's bytes (NULL with *n = 0 when empty or SQL NULL). */
const void *store_col_blob(sqlite3_stmt *s, int i, size_t *n);
/* The store's chain hash, and the chain's secret (NULL: the chain is not keyed, or its secret
 * was not given). */
yz_hash_alg store_alg(const yz_store *st);
const yz_key *store_chain_key(const yz_store *st);
/* The threads verification may use (yz_store_set_jobs). */
int store_jobs(const yz_store *st);
/* The dictionary row id made ready for zstd into *out (the caller frees it: zdict_free): YZ_OK,
 * YZ_EFAILED (no such row: the store was damaged) or YZ_ESTORE (SQLite failed; said in d). */
int store_dict_load(yz_store *st, int64_t id, zdict **out, yz_diags *d);
/* The largest stored text read back (a frame claiming more is damaged). */
#define STORE_MAX_BLOB (64u << 20)
/* The files of the ruleset row rs_row into out->files (sorted by path): YZ_OK, YZ_EFAILED (one
 * cannot be read back: damaged) or YZ_ESTORE (SQLite failed); said in d.  store_files_free
 * frees them (and leaves the rest of out). */
int store_load_files(yz_store *st, int64_t rs_row, yz_stored *out, yz_diags *d);
void store_files_free(yz_stored *s);
/* The current time in UTC as YYYY-MM-DDTHH:MM:SSZ. */
void store_now(char out[21]);
/* YZ_OK, or YZ_EUSAGE (said in d) when the chain is keyed and its secret was not given. */
int store_need_chain_key(yz_store *st, yz_diags *d);

/* ---- yz_chain.c ---- */

/* Records a problem found by verification at seq; returns YZ_EFAILED. */
int store_problem(yz_verify_report *rep, int64_t seq, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Walks the chain from event from+1 (from_hash: event from's hash; from 0: the whole chain) as
 * yz_store_verify does. */
int store_verify_from(yz_store *st, int64_t from, const char *from_hash, yz_verify_report *rep, yz_diags *d);

/* ---- yz_checkpoint.c ---- */

/* The signature row of rs (registered with its key when new) for recording a decision in the
 * store, inside the caller's write transaction: *row 0 when rs carries no accepted signature.
 * Refuses (YZ_EPOLICY) a ruleset the store's trusted keys do not accept. */
int checkpoint_ruleset_signature(yz_store *st, const yz_ruleset *rs, int64_t rs_row, int64_t *row, yz_diags *d);
/* Verification of a decision's signature row: the signer's name into name (48 bytes) when the
 * row is there, for the ruleset row rs_row, names a stored key, and its note signs exactly the
 * stored files of the ruleset with that key.  Else a problem at seq (YZ_EFAILED). */
int checkpoint_check_signature(yz_store *st, int64_t sig_row, int64_t rs_row, int64_t seq, char name[48],
                               yz_verify_report *rep, yz_diags *d);
/* Verification of the checkpoints kept in the store: each must still match the chain of head_seq
 * events and its signature must verify with its stored key. */
int checkpoint_check_stored(yz_store *st, int64_t head_seq, yz_verify_report *rep, yz_diags *d);

#endif

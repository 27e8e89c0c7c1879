/* yz_ledger.h: a ledger of applicant records read as chunks in input order — a JSON Lines or CSV
 * file as batch reads it, or records handed over one by one (a store's) — and each record parsed
 * and validated the way batch does it.  Shared by batch and impact. */
#ifndef YZ_LEDGER_H
#define YZ_LEDGER_H

#include <stdbool.h>
#include <stdint.h>

#include "yz_json.h"
#include "yz_record.h"

#define LEDGER_CHUNK 256

/* Up to LEDGER_CHUNK records in input order.  JSON: each record's text at text[off[i]..off[i+1]);
 * CSV: each row already built as a JSON document in rows (docs[i]; NULL when the row cannot be one:
 * ncells[i] is then its number of cells, or 0 when a cell is not valid UTF-8). */
typedef struct ledger_chunk {
    uint64_t seq; /* 0, 1, 2, ... in input order */
    int n;
    long line[LEDGER_CHUNK]; /* the line each record starts on (a handed-over record: its ordinal) */
    char *text;
    size_t cap;
    size_t off[LEDGER_CHUNK + 1];
    size_t ncells[LEDGER_CHUNK];
    arena rows;
    yj *docs[LEDGER_CHUNK];
    struct ledger_chunk *next; /* the ledger's until handed out, then the caller's (its queues) */
} ledger_chunk;

typedef struct ledger ledger;

/* Opens a JSON Lines or CSV file ("-": standard input).  format "jsonl", "csv" or NULL (by the
 * extension: .csv is CSV); encoding as for input_open.  With hash, the file's bytes are hashed
 * (ledger_sha256).  Returns YZ_OK, YZ_EUSAGE (unknown encoding) or YZ_EIO, with a diagnostic. */
int ledger_open(const char *path, const char *format, const char *encoding, bool hash, ledger **out, yz_diags *d);
/* A ledger of records handed over with ledger_push (JSON text each), named name in messages;
 * with hash, each record and a '\n' after it are hashed. */
ledger *ledger_new_pushed(const char *name, bool hash);
void ledger_push(ledger *l, const char *json, size_t len);
/* No more records will be pushed: the last chunk, however short, is ready. */
void ledger_push_end(ledger *l);
/* True when the file is CSV. */
bool ledger_is_csv(const ledger *l);

/* The next chunk in input order (the caller owns it: ledger_chunk_free), or NULL when there is
 * none: at the end, after an error (ledger_status), or, for a pushed ledger, until more is pushed.
 * Chunks read before an error are all handed out first.  Problems with the file go to d. */
ledger_chunk *ledger_next(ledger *l, yz_diags *d);
/* YZ_OK, or why reading stopped: YZ_EIO (unreadable, not in its encoding), YZ_EINPUT (a CSV
 * header that is not in the record format, broken quoting). */
int ledger_status(const ledger *l);
void ledger_chunk_free(ledger_chunk *c);

/* Record i of chunk c, validated against the schema, into *rec (its document and index in mem,
 * or in the chunk for CSV; rec owns nothing).  Returns true, or false when the record cannot be
 * used: its problems are in d, or, when it is not even a record, why holds the reason. */
bool ledger_record(const ledger *l, ledger_chunk *c, int i, arena *mem, yz_record *rec, yz_diags *d,
                   char why[160]);
/* For a record ledger_record refused: the rejects-file line (JSON: errors, file, line) and the
 * one-line message for people ("field: message (and N more)").  Caller frees both. */
void ledger_reject(const ledger *l, long line, const yz_diags *d, const char *why, char **json, char **message);

const char *ledger_name(const ledger *l);
/* Lines skipped as too long to be a record (each was reported when it was skipped). */
uint64_t ledger_skipped(const ledger *l);
/* Bytes read so far, and the file's size (0 when unknown: a pipe, a pushed ledger). */
uint64_t ledger_consumed(const ledger *l);
uint64_t ledger_size(const ledger *l);
/* The SHA-256 of what was read (64 hex digits; empty without hash).  Call once, at the end. */
void ledger_sha256(ledger *l, char hex[65]);
void ledger_close(ledger *l);

#endif

/* yz_population.h: applicant records read as chunks in input order — a JSON Lines or CSV ledger
 * (the one reader of batch and impact), or records handed over one by one (a store's, for
 * impact) — and each record parsed and validated. */
#ifndef YZ_POPULATION_H
#define YZ_POPULATION_H

#include <stdbool.h>
#include <stdint.h>

#include "yz_input.h"
#include "yz_json.h"
#include "yz_record.h"

#define POP_CHUNK 256

/* Up to POP_CHUNK records in input order.  JSON: each record's text at text[off[i]..off[i+1]);
 * CSV: each row already built as a JSON document in rows (docs[i]; NULL when the row cannot be one:
 * ncells[i] is then its number of cells, or 0 when a cell is not valid UTF-8; unterminated[i] when
 * a quote never closed made the rest of the file one cell of the row).  With pop_set_notes, an
 * entry may be no record at all: note[i] (owned by the chunk) says why. */
typedef struct pop_chunk {
    uint64_t seq; /* 0, 1, 2, ... in input order */
    int n;
    long line[POP_CHUNK]; /* the line each record starts on (a handed-over record: its ordinal) */
    char *text;
    size_t cap;
    size_t off[POP_CHUNK + 1];
    size_t ncells[POP_CHUNK];
    long nul_col[POP_CHUNK]; /* CSV: the column of a cell holding a NUL, or -1 */
    /* CSV: where a quoted cell running over lines opened, and the row's last line (0: none) */
    long quote_line[POP_CHUNK], quote_end[POP_CHUNK];
    int quote_col[POP_CHUNK];
    bool unterminated[POP_CHUNK];
    /* with pop_set_notes: why the entry is no record (NULL: it is one), and for a line too long
       to keep, its length and first bytes (owned by the chunk) */
    char *note[POP_CHUNK];
    uint64_t long_bytes[POP_CHUNK];
    char *long_prefix[POP_CHUNK];
    arena rows;
    yj *docs[POP_CHUNK];
    struct pop_chunk *next; /* the ledger's until handed out, then the caller's (its queues) */
} pop_chunk;

typedef struct population population;

/* Opens a JSON Lines or CSV file ("-": standard input).  format "jsonl", "csv" or NULL (by the
 * extension: .csv is CSV); encoding as for input_open.  With hash, the file's bytes are hashed
 * (pop_sha256).  Returns YZ_OK, YZ_EUSAGE (unknown encoding) or YZ_EIO, with a diagnostic. */
int pop_open(const char *path, const char *format, const char *encoding, bool hash, population **out, yz_diags *d);
/* A ledger of records handed over with pop_push (JSON text each), named name in messages;
 * with hash, each record and a '\n' after it are hashed. */
population *pop_new_pushed(const char *name, bool hash);
void pop_push(population *l, const char *json, size_t len);
/* No more records will be pushed: the last chunk, however short, is ready. */
void pop_push_end(population *l);
/* True when the file is CSV. */
bool pop_is_csv(const population *l);
/* From now on a line too long to keep and a CSV row whose quote never closes become entries of
 * their chunk with a note (batch rejects them there, in input order), instead of a diagnostic
 * and a skip (long lines: pop_skipped) or pop_record's reason (the quote). */
void pop_set_notes(population *l);
/* The input read (NULL for a pushed ledger), for its counters only (input_consumed, input_size);
 * the population owns it. */
yz_input *pop_input(const population *l);

/* The next chunk in input order (the caller owns it: pop_chunk_free), or NULL when there is
 * none: at the end, after an error (pop_status), or, for a pushed ledger, until more is pushed.
 * Chunks read before an error are all handed out first.  Problems with the file go to d. */
pop_chunk *pop_next(population *l, yz_diags *d);
/* YZ_OK, or why reading stopped: YZ_EIO (unreadable, not in its encoding), YZ_EINPUT (a CSV
 * header that is not in the record format, broken quoting). */
int pop_status(const population *l);
void pop_chunk_free(pop_chunk *c);

/* Record i of chunk c, validated against the schema, into *rec (its document and index in mem,
 * or in the chunk for CSV; rec owns nothing).  Returns true, or false when the record cannot be
 * used: its problems are in d, or, when it is not even a record, why holds the reason (an entry
 * with a note: the note, cut to fit). */
bool pop_record(const population *l, pop_chunk *c, int i, arena *mem, yz_record *rec, yz_diags *d,
                char why[160]);
const char *pop_name(const population *l);
/* Lines skipped as too long to be a record (each was reported when it was skipped). */
uint64_t pop_skipped(const population *l);
/* Bytes read so far, and the file's size (0 when unknown: a pipe, a pushed ledger). */
uint64_t pop_consumed(const population *l);
uint64_t pop_size(const population *l);
/* The SHA-256 of what was read (64 hex digits; empty without hash).  Call once, at the end. */
void pop_sha256(population *l, char hex[65]);
void pop_close(population *l);

#endif

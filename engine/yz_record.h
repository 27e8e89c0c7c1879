/* yz_record.h: applicant records: parsed (JSON or YAML), validated, indexed for rules. */
#ifndef YZ_RECORD_H
#define YZ_RECORD_H

#include "yz_json.h"
#include "yz_schema.h"
#include "yuanzhu.h"

struct yz_record {
    arena mem;          /* owns the document and the index */
    yj *doc;
    yval *root;
    const char *id_number;
};

/* yz_record_canonical appended to out (a buffer reused record after record). */
void record_canonical_to(const yz_record *rec, strbuf *out);

/* Validates an already parsed document (e.g. a CSV row), taking ownership of nothing: the caller
 * keeps mem alive as long as the record.  Puts doc in canonical form first (schema_canonicalise),
 * as yz_record_parse does. */
yval *record_index(arena *mem, yj *doc, const char *source, yz_diags *d);
/* What a reader knows beyond the diagnostics (each may be NULL / 0): a hint that follows them
 * (where a CSV quote opened), and for a line too long to keep its length and first bytes. */
typedef struct record_reject_more {
    const char *hint;
    uint64_t long_bytes;
    const char *long_prefix;
} record_reject_more;
/* A record that cannot be decided, as batch and impact report it: the rejects-file line (JSON:
 * errors [{field, message}], file, [length,] line[, prefix]) and the one-line message for people
 * ("field: message (and N more)[; hint]", shown escaped).  With no problem in d, why is the one
 * message.  more may be NULL.  Caller frees both. */
void record_reject(const char *file, long line, const yz_diags *d, const char *why, const record_reject_more *more,
                   char **json, char **message);

/* True (and a diagnostic with the field path, line and column) when a JSON record text holds a
 * NUL, as a zero byte or a \u0000 escape. */
bool record_json_nul(const char *text, size_t len, const char *source, yz_diags *d);

/* yz_record_parse for a stored input (replay): the record exactly as stored, not put in canonical
 * form again, since the rules saw it in that form when the decision was made.  A store written
 * before ID numbers were canonical may hold an id ending in x; its decisions replay as recorded. */
int record_parse_stored(const char *text, size_t len, const char *source, yz_record **out, yz_diags *d);

/* CSV records: a header of dotted field names (hukou.type; household.members.0.relation with
 * household.members.count, 0 for none; lists of text joined with ';', [] for none), cells typed by
 * the schema; an empty cell is an absent field and the text null a JSON null. */
typedef struct csv_header csv_header;
/* Compiles a header row; unknown columns are errors (with a suggestion) in err. */
csv_header *csv_header_new(char **fields, size_t n, strbuf *err);
void csv_header_free(csv_header *h);
size_t csv_header_columns(const csv_header *h);
/* Builds the JSON document of one row in mem (before validation).  A row with a NUL in a cell is
 * not built: NULL, and *nul_col is that cell's column (else -1). */
yj *record_from_csv(arena *mem, const csv_header *h, char **fields, size_t *lens, size_t n, long *nul_col);
/* The field path of a column ("household.members[0].relation"). */
void csv_header_path(const csv_header *h, size_t col, strbuf *path);
/* Reports a NUL found at a field ("(record)" when path is empty): how it was written ("a zero
 * byte", "\\u0000"). */
void nul_found(yz_diags *d, const char *source, int line, int col, const char *path, const char *how);

#endif

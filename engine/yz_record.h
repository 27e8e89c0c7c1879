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

/* Validates an already parsed document (e.g. a CSV row), taking ownership of nothing: the caller
 * keeps mem alive as long as the record. */
yval *record_index(arena *mem, const yj *doc, const char *source, yz_diags *d);

/* CSV records: a header of dotted field names (hukou.type; household.members.0.relation with
 * household.members.count; lists of text joined with ';'), cells typed by the schema; an empty
 * cell is an absent field and the text null a JSON null. */
typedef struct csv_header csv_header;
/* Compiles a header row; unknown columns are errors (with a suggestion) in err. */
csv_header *csv_header_new(char **fields, size_t n, strbuf *err);
void csv_header_free(csv_header *h);
size_t csv_header_columns(const csv_header *h);
/* Builds the JSON document of one row in mem (before validation). */
yj *record_from_csv(arena *mem, const csv_header *h, char **fields, size_t *lens, size_t n);

#endif

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

#endif

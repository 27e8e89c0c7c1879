/* yz_schema.h: the applicant record schema (schemas/applicant-record.v1.schema.json, compiled
 * into the engine) and record validation into an indexed tree that rules read through. */
#ifndef YZ_SCHEMA_H
#define YZ_SCHEMA_H

#include <stdbool.h>
#include <stdint.h>

#include "yz_json.h"
#include "yuanzhu.h"

typedef enum { ST_ANY, ST_OBJECT, ST_ARRAY, ST_STRING, ST_INTEGER, ST_NUMBER, ST_BOOLEAN } stype;
typedef enum { SF_NONE, SF_DATE, SF_RESIDENT_ID } sformat;

typedef struct snode snode;
struct snode {
    int id;              /* index into schema->nodes */
    int pos;             /* index within the parent object's props (its slot) */
    stype type;
    const char *key;     /* property name, or "[]" for array items */
    size_t keylen;
    const char *path;    /* "household.members[].employment_status" */
    const char *label;   /* Chinese label (x-label) */
    const char *evidence;/* document id to ask for (x-evidence), inherited from parents */
    bool null_is_none;   /* x-null: none: null is a known "none" */
    bool nullable;       /* the type allows null (else a null is refused) */
    bool holds_id;       /* applicant schema: a resident ID number is at or below this node */
    bool required;
    int const_int;       /* for "const" (schema version); INT32_MIN when none */
    const char **enums;
    size_t nenum;
    sformat format;
    void *pattern;       /* compiled pattern, or NULL */
    const char *pattern_src;
    const char *pattern_text; /* what the pattern stands for (x-pattern-text: "an id: use ..."), or NULL */
    bool six_digits;     /* the pattern is ^[0-9]{6}$ */
    size_t max_length, max_items;
    bool has_min, has_max;
    double min, max;
    snode **props;       /* object: sorted by key */
    size_t nprops;
    int16_t *slots;      /* object: open-addressing table of prop indexes by key hash (-1 empty) */
    uint32_t nslots;     /* a power of two */
    snode *items;        /* array */
    snode *addl;         /* object: schema of properties not listed (maps keyed by id), or NULL */
    void *key_pattern;   /* object: pattern every key of addl must match, or NULL */
    const char *key_pattern_src;
    const char *key_pattern_text;
    bool any_key;        /* object: any key allowed (patternProperties without a schema we check) */
    const char *kind;    /* x-kind: "condition", "basis", "for", "dated" (checked by C code) */
    const char *ref;     /* x-ref: section whose ids a value must name ("sources") */
    const char *enum_from; /* x-enum-from */
    const char *description;
    size_t min_items;
    snode *parent;
};

typedef struct yz_schema {
    const char *file;      /* where it is published: "schemas/applicant-record.v1.schema.json" */
    const char *doc_word;  /* what a document is called in messages: "a record", "a policy file" */
    const char *root_path; /* the field path of a problem with the whole document, or NULL */
    const char *key_word;  /* what its keys are called: "field", "key" */
    bool null_absent;      /* null means absent (records); else a value is missing (policy files) */
    snode *root;
    snode **nodes;
    size_t nnodes;
    const char **doc_ids;   /* evidence documents, sorted */
    const char **doc_names; /* their Chinese names */
    size_t ndocs;
} yz_schema;

/* The applicant record schema and the policy file schema, each compiled once per process
 * (thread-safe). */
const yz_schema *schema_applicant(void);
const yz_schema *schema_policy(void);
/* Child of an object node by key, or NULL. */
const snode *snode_child(const snode *obj, const char *key, size_t keylen);
/* Finds a node by dotted path ("hukou.type", "household.members.employment_status"; array
 * items may be written "members[]" or skipped). */
const snode *schema_lookup(const yz_schema *s, const char *path);
/* True when s matches a compiled pattern of the schema.  Never allocates. */
bool schema_match(const void *pattern, const char *s);
/* Compiles a pattern of the subset the schemas use: "^...$" around character classes ("[a-z0-9_-]")
 * and literal characters, each with an optional *, +, ?, {n}, {n,} or {n,m}.  The result lives as
 * long as the process.  Exposed for tests. */
const void *schema_pattern(const char *src);
/* Chinese name of an evidence document id, or NULL. */
const char *schema_doc_name(const yz_schema *s, const char *doc_id);

/* A validated value inside a record: the JSON node plus the schema node it conforms to, and for
 * objects a slot per schema property (NULL = absent, i.e. unknown). */
typedef struct yval yval;
struct yval {
    const snode *sn;
    const yj *json;   /* a JSON null when the field is a known "none" */
    yval *parent;
    int index;        /* position within a parent array, else -1 */
    uint32_t n;       /* object: sn->nprops; array: item count */
    yval **kids;      /* object slots by property index; array items (NULL = absent item) */
};

/* One validator serves JSON and YAML: the same checks and the same words (only the names of the
 * syntax differ: an object in JSON is a mapping in YAML).
 *
 * schema_validate validates a parsed JSON document, building the yval tree in mem.  Every
 * violation goes to d (field path + message; file = source).  Returns the root or NULL when there
 * was a violation.
 *
 * schema_check_yaml checks a YAML document (a policy file, or a record written in YAML) and
 * reports every violation at its line and column, with its path; returns how many.  A plain
 * scalar where the schema asks for text is that text (code: 440000); elsewhere scalars have the
 * type YAML 1.2's core schema gives them.
 *
 * schema_yaml_to_json converts a YAML document that passed schema_check_yaml into JSON nodes in
 * mem, reading its scalars the same way. */
yval *schema_validate(const yz_schema *s, arena *mem, const yj *doc, const char *source, yz_diags *d);
int schema_check_yaml(const yz_schema *s, const ynode *root, const char *file, yz_diags *d);
yj *schema_yaml_to_json(const yz_schema *s, arena *mem, const ynode *root);
/* Puts the values of a document in their canonical form, in place, before it is validated: a
 * resident ID number ending in x ends in X, so the record the rules see, its canonical JSON, its
 * hash and the id_number recorded with it are the same however the number was typed.  Touches
 * nothing else (a malformed document stays for validation to describe). */
void schema_canonicalise(const yz_schema *s, yj *doc); /* the applicant schema only */

/* Writes a value's instance path ("household.members[1].employment_status"). */
void yval_path(const yval *v, strbuf *sb);
/* Instance path of the property slot of an object. */
void yval_child_path(const yval *obj, const snode *child, strbuf *sb);
/* The value at a dotted path of objects ("unemployment_registration.region"), or NULL: then, when
 * the path stopped at an absent property, *obj and *child name it (else both NULL: the path is
 * not one of the schema's). */
const yval *yval_find(const yval *root, const char *path, const yval **obj, const snode **child);

#endif

/* yz_yaml.h: YAML documents as a small tree with 1-based source positions (the only user of libyaml). */
#ifndef YZ_YAML_H
#define YZ_YAML_H

#include <stdbool.h>
#include <stddef.h>

#include "yz_util.h"
#include "yuanzhu.h"

typedef enum { YN_SCALAR, YN_MAP, YN_SEQ } ynode_kind;
typedef enum { YS_PLAIN, YS_SINGLE, YS_DOUBLE, YS_LITERAL, YS_FOLDED } yscalar_style;

typedef struct ynode ynode;
struct ynode {
    ynode_kind kind;
    yscalar_style style;
    const char *file;      /* the document's file name (shared) */
    int line, col;         /* 1-based start of the node */
    int end_line, end_col; /* 1-based end (exclusive column) */
    const char *tag;       /* explicit tag ("!!str"), or NULL */
    const char *str;       /* scalar text (NUL-terminated; may contain NULs: see len) */
    size_t len;
    size_t n;              /* map: number of pairs; seq: number of items */
    ynode **keys;          /* map keys (scalars) */
    ynode **vals;          /* map values, or sequence items */
};

typedef struct ydoc {
    arena mem;     /* owns every node and string */
    ynode *root;   /* NULL for an empty document */
    const char *file;
    int soft_errors; /* problems reported that left the tree complete (duplicate keys, anchors) */
} ydoc;

/* Limits that keep hostile files bounded. */
#define YDOC_MAX_DEPTH 64
#define YDOC_MAX_NODES 1000000

/* Parses one YAML document.  Every problem goes to d as "file:line:col: error"; returns YZ_OK,
 * or YZ_EPARSE (nothing usable) with *out NULL.  Aliases and anchors are refused (no bombs);
 * duplicate keys, non-scalar keys and more than one document are errors.  file is copied.
 * The caller frees *out with ydoc_free. */
int ydoc_parse(const char *buf, size_t len, const char *file, ydoc **out, yz_diags *d);
void ydoc_free(ydoc *doc);

/* Map lookup by key text; NULL if absent. */
ynode *ynode_get(const ynode *map, const char *key);
/* True for a plain scalar that YAML's core schema reads as null (~, null, empty). */
bool ynode_is_null(const ynode *n);
/* The text of a scalar that is not null, else NULL. */
const char *ynode_text(const ynode *n);
/* True for a plain scalar that YAML's core schema reads as an integer (decimal), with its value. */
bool ynode_int(const ynode *n, long long *out);
/* True for a plain scalar that YAML's core schema reads as a boolean (true/True/TRUE, false/...),
 * with its value (out may be NULL). */
bool ynode_bool(const ynode *n, bool *out);
/* Human word for a node kind ("mapping", "list", "text"). */
const char *ynode_kind_name(const ynode *n);

#endif

/* yz_json.h: JSON documents (the only user of cJSON) and the canonical JSON writer.
 *
 * Parsed documents live in an arena: yj_parse() allocates every node from the arena given, and
 * the nodes die with arena_clear()/arena_free().  Nothing here is freed node by node. */
#ifndef YZ_JSON_H
#define YZ_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include "yz_util.h"
#include "yz_yaml.h"

typedef struct cJSON yj;

typedef enum { YJ_INVALID, YJ_NULL, YJ_BOOL, YJ_NUMBER, YJ_STRING, YJ_ARRAY, YJ_OBJECT } yj_type;

/* Parses exactly one JSON value (surrounding whitespace allowed) into nodes from mem.  On a
 * syntax error returns NULL and sets *err_off to the byte offset of the problem and *err to a
 * short description.  A NUL (a zero byte, or a string's \u0000) is an error: strings here are C
 * strings. */
yj *yj_parse(arena *mem, const char *text, size_t len, size_t *err_off, const char **err);
/* The first NUL in a JSON text (a zero byte, or a \u0000 escape: *escaped says which), or NULL. */
const char *yj_find_nul(const char *text, size_t len, bool *escaped);
/* Appends the record-style path ("household.members[1].relation") of the value or member name at
 * byte offset off of a JSON text, as far as the text before off says; nothing at the top level. */
void yj_path_at(const char *text, size_t len, size_t off, strbuf *path);
/* Converts a YAML node (a record written in YAML) to JSON nodes in mem, resolving plain scalars
 * with YAML 1.2's core schema (null, true/false, integers, floats; everything else text). */
yj *yj_from_yaml(arena *mem, const ynode *n);
/* The type a scalar has by that schema (YJ_NULL, YJ_BOOL with *boolean, YJ_NUMBER with *num, or
 * YJ_STRING); allocates nothing. */
yj_type yaml_scalar_type(const ynode *n, double *num, bool *boolean);

/* Builders for documents made in C (CSV rows, test patches).  Nodes come from mem. */
yj *yj_new_object(arena *mem);
yj *yj_new_array(arena *mem);
yj *yj_new_string(arena *mem, const char *s, size_t len);
yj *yj_new_int(arena *mem, int64_t v);
yj *yj_new_number(arena *mem, double v);
yj *yj_new_bool(arena *mem, bool v);
yj *yj_new_null(arena *mem);
/* Appends (object: under key, which is copied; array: key NULL). */
void yj_append(arena *mem, yj *container, const char *key, yj *item);
/* Replaces or adds key in an object; removes it when item is NULL. */
void yj_set(arena *mem, yj *obj, const char *key, yj *item);
/* Replaces every string value in v (not member names) by what fn appends to out for it; the new
 * strings come from mem. */
void yj_map_strings(arena *mem, yj *v, void (*fn)(strbuf *out, const char *s, void *ctx), void *ctx);
/* Deep copy into mem. */
yj *yj_clone(arena *mem, const yj *v);

yj_type yj_typeof(const yj *v);
const char *yj_type_name(const yj *v); /* "text", "number", "true/false", ... */
const char *yj_key(const yj *v);       /* member name within an object */
const char *yj_str(const yj *v);
/* The text of a string node, to change in place (same length), or NULL. */
char *yj_str_buf(yj *v);
double yj_num(const yj *v);
bool yj_bool(const yj *v);
/* True when the number is integral and exactly representable (|v| <= 2^53). */
bool yj_is_int(const yj *v, int64_t *out);
yj *yj_first(const yj *container);
yj *yj_next(const yj *v);
size_t yj_size(const yj *container);
yj *yj_get(const yj *obj, const char *key);

/* Canonical JSON (sorted keys, no insignificant whitespace, integers without exponent, UTF-8
 * unescaped except '"', '\\' and control characters). */
void yj_write_canonical(strbuf *sb, const yj *v);

/* Appends a readable structural difference ("categories.x.status: \"met\" -> \"not_met\"", one per
 * line, with paths) to out; at most max_lines lines.  Returns the number of differences. */
int yj_diff(const yj *a, const yj *b, strbuf *out, int max_lines);

/* ---- streaming canonical writer: the caller adds keys in sorted order ---- */
typedef struct jw {
    strbuf *sb;
    int depth;
    bool after_key;
    bool nonempty[64];
} jw;
void jw_init(jw *w, strbuf *sb);
void jw_obj_begin(jw *w);
void jw_obj_end(jw *w);
void jw_arr_begin(jw *w);
void jw_arr_end(jw *w);
void jw_key(jw *w, const char *key);
/* A key that needs no escaping, of known length (JW_KEY for string literals). */
void jw_key_plain(jw *w, const char *key, size_t n);
#define JW_KEY(w, lit) jw_key_plain((w), (lit), sizeof(lit) - 1)
void jw_str(jw *w, const char *s);
void jw_strn(jw *w, const char *s, size_t n);
void jw_int(jw *w, int64_t v);
void jw_bool(jw *w, bool v);
void jw_null(jw *w);
/* Inserts an already canonical JSON value. */
void jw_raw(jw *w, const char *json, size_t n);
/* Appends a JSON string literal for s (with quotes) to sb. */
void json_quote(strbuf *sb, const char *s, size_t n);
/* The value of the member key of the top-level object of the JSON text s (its len bytes),
 * without parsing it: true with *v, *n when that value is a string holding no escape (as an ID
 * number, a date).  False when it cannot tell so cheaply (no such member at the top, another kind
 * of value, an escape in the value or in a top-level key, text that is not an object): the caller
 * then parses (yj_parse).  It only skips strings and counts brackets, so it says nothing about
 * the rest of the text being valid; on valid JSON its answer is the parser's. */
bool json_top_string(const char *s, size_t len, const char *key, const char **v, size_t *n);
/* For tests: json_top_string uses vectors of at most bits bits (512, 256 or 128 on x86-64); returns
 * the width it will use on this processor (64: no vectors, another processor).  Not thread-safe:
 * call it before any thread scans. */
int json_scan_limit(int bits);

#endif

/* yz_jsonfast.h: the fast path of yj_parse (yz_json.c, its only user): simdjson parses the text
 * and the document is built as the cJSON nodes cJSON itself would have made.  The only file that
 * includes simdjson.h is yz_jsonfast.cc (C++: simdjson has no C interface).
 *
 * The fast path takes a document only where both parsers agree by construction: strict JSON that
 * simdjson accepts, at most YJF_MAX_LEN bytes, nested at most YJF_MAX_DEPTH deep, every number
 * a whole number that fits 64 bits and none written "-0" (cJSON keeps its sign).  Anything else
 * (an error, a fraction or exponent, a BOM, cJSON's own leniencies) it declines, and cJSON
 * parses the text as before: every error message and offset comes from cJSON. */
#ifndef YZ_JSONFAST_H
#define YZ_JSONFAST_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define YJF_MAX_LEN (64 * 1024)
#define YJF_MAX_DEPTH 64

struct cJSON;

/* Parses text[0..len) into cJSON nodes whose memory (nodes and strings) comes from
 * alloc(ctx, n), which must not fail (the arena's aborts on exhaustion); nothing is freed node by
 * node.  NULL when the fast path declines the document: parse it with cJSON.  Thread-safe (a
 * parser per thread, kept for the thread's life); never throws. */
struct cJSON *yjf_parse(const char *text, size_t len, void *(*alloc)(void *ctx, size_t n), void *ctx);

/* Test hook: off (0) makes yjf_parse decline everything, so a caller's tests can compare the two
 * parsers on the same texts; returns the previous setting.  Process-wide. */
int yjf_enable(int on);

#ifdef __cplusplus
}
#endif

#endif

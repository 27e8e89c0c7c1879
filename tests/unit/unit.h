/* unit.h: a minimal unit-test harness: CHECK macros count failures and print file:line. */
#ifndef YZ_UNIT_H
#define YZ_UNIT_H

#include <stdint.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>

#include "yuanzhu.h"

extern int unit_checks, unit_failures;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        unit_checks++;                                                               \
        if (!(cond)) {                                                               \
            unit_failures++;                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

#define CHECK_STR(got, want)                                                                          \
    do {                                                                                              \
        const char *g_ = (got), *w_ = (want);                                                         \
        unit_checks++;                                                                                \
        if (!g_ || !w_ || strcmp(g_, w_) != 0) {                                                      \
            unit_failures++;                                                                          \
            fprintf(stderr, "%s:%d: %s\n    got:  %s\n    want: %s\n", __FILE__, __LINE__, #got,         \
                    g_ ? g_ : "(null)", w_ ? w_ : "(null)");                                          \
        }                                                                                             \
    } while (0)

#define CHECK_INT(got, want)                                                                          \
    do {                                                                                              \
        long long g_ = (long long)(got), w_ = (long long)(want);                                      \
        unit_checks++;                                                                                \
        if (g_ != w_) {                                                                               \
            unit_failures++;                                                                          \
            fprintf(stderr, "%s:%d: %s\n    got:  %lld\n    want: %lld\n", __FILE__, __LINE__, #got, g_, w_); \
        }                                                                                             \
    } while (0)

/* A fixed pseudo-random sequence (xorshift64) for generated test inputs: 0..n-1 from *state. */
static inline unsigned unit_rnd(uint64_t *state, unsigned n)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return (unsigned)(*state % n);
}

/* Evaluates a Lua expression with the rule library loaded (rules/lib, relative to the working
 * directory) and returns its result as text ("true", "42", "2025-02-01", "unknown",
 * "error: ..."); static buffer. */
const char *lua_eval(const char *expr);

/* A ruleset's files in memory (files.c): unit_files_add keeps the literals it is given,
 * unit_files_add_lib reads every .lua file of rules/lib (from the repository's top folder),
 * unit_files_free frees those and empties the list. */
#define UNIT_MAX_FILES 64
extern yz_file unit_files[UNIT_MAX_FILES];
extern size_t unit_nfiles;
void unit_files_add(const char *path, const char *data);
void unit_files_add_lib(void);
void unit_files_free(void);

void test_util(void);
void test_dates(void);
void test_schema(void);
void test_library(void);
void test_sandbox(void);
void test_eval(void);
void test_lualint(void);
void test_batch(void);
void test_yaml(void);
void test_json(void);
void test_jsonfast(void);
void test_merge(void);
void test_store(void);
void test_ledger(void);
void test_sign(void);
void test_records(void);

#endif

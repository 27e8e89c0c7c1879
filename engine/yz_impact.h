/* yz_impact.h: the impact report (struct yz_impact) as yz_impact.c builds it and the writers
 * (yz_impact_report.c: text and JSON; yz_impact_html.c: HTML) read it. */
#ifndef YZ_IMPACT_H
#define YZ_IMPACT_H

#include <stdbool.h>
#include <stdint.h>

#include "yz_util.h"
#include "yuanzhu.h"

enum { IMP_BASE = 0, IMP_REFORM = 1 };

/* persons by the change of their whole-period amount (fen), and those whose amount is unknown */
enum {
    IMP_B_LOSE_BIG,   /* lose 10,000 yuan or more */
    IMP_B_LOSE_MID,   /* lose 1,000 to 10,000 */
    IMP_B_LOSE_SMALL, /* lose less than 1,000 */
    IMP_B_SAME,
    IMP_B_GAIN_SMALL,
    IMP_B_GAIN_MID,
    IMP_B_GAIN_BIG,
    IMP_B_UNKNOWN, /* a subsidy undetermined before or after: the change is not known */
    IMP_NBUCKETS
};
#define IMP_MID_FEN INT64_C(100000)  /* 1,000 yuan */
#define IMP_BIG_FEN INT64_C(1000000) /* 10,000 yuan */

/* A category or subsidy of either ruleset (in force on the as-of date), matched by id. */
typedef struct imp_item {
    const char *id, *name;
    const char *per[2]; /* subsidies: "month", "once", "loan"; NULL: not in that ruleset */
    bool in[2];
    uint64_t m[3][3];          /* persons by [before][after] status (yz_status) */
    uint64_t lower, higher;    /* subsidies eligible in both: amount per period lower / higher */
    int64_t monthly[2];        /* subsidies: the monthly cost, fen */
    int64_t whole[2];          /* subsidies: over the whole periods granted (monthly with an end, once) */
    uint64_t open[2];          /* monthly grants without an end (not in whole) */
    int64_t loan[2];           /* loan ceilings (not a cost, not in any total) */
} imp_item;

typedef struct imp_money {
    int64_t monthly[2], whole[2];
} imp_money;

typedef struct imp_region {
    char code[8]; /* GB/T 2260 county code, "" when the record has none */
    uint64_t persons, targets[2], gainers, losers;
    imp_money money;
} imp_region;

/* persons met in one baseline category (the last row: in none) */
typedef struct imp_catrow {
    uint64_t persons, target_lost, target_gained, gainers, losers;
    imp_money money;
} imp_catrow;

typedef struct imp_bucket {
    uint64_t persons;
    int64_t whole_change, monthly_change; /* the unknown bucket: of the parts that are known */
} imp_bucket;

typedef struct imp_example {
    uint64_t order; /* input order */
    long line;
    char *id;       /* masked ID number */
    char *before, *after; /* reason lines, '\n'-separated */
} imp_example;

/* a record that was not decided: rejected (breaks the schema) or failed (a rule stopped by the
   CPU-time backstop) */
typedef struct imp_reject {
    uint64_t order;
    long line;
    bool failed;
    char *json;    /* rejects: errors, file, line (as batch's rejects file) */
    char *message; /* one line */
} imp_reject;

/* Everything that adds up over records: each worker has one, merged at the end. */
typedef struct imp_acc {
    uint64_t records, decided, rejected, failed;
    uint64_t target[3][3];
    imp_item *cats, *subs;
    imp_money total;     /* summed person by person, to check against the sum of the subsidies */
    imp_region *regions; /* open hash table of IMP_MAX_REGIONS + 1 (the last: every other region) */
    size_t nregions;
    bool regions_full;
    imp_catrow *catrows; /* ncat + 1 */
    imp_bucket buckets[IMP_NBUCKETS];
    uint64_t *kind_count; /* per kind of change */
    imp_example *examples; /* nkinds * nex */
    size_t *nexamples;
    imp_reject *rejects; /* the first IMP_MAX_REJECTS in input order */
    size_t nrejects;
    bool overflow;
} imp_acc;
#define IMP_MAX_REGIONS 4096
#define IMP_MAX_REJECTS 100

typedef struct imp_check {
    const char *id;    /* "subsidies_sum_to_total" */
    const char *label; /* Chinese */
    bool ok;
    int64_t expected, got;
} imp_check;
#define IMP_MAX_CHECKS 16

struct yz_impact {
    arena mem;
    char as_of[11];
    const char *path[2], *province[2];
    char ruleset[2][65];
    const char *source; /* the ledger's name, or the store's path */
    bool from_store;
    char sha256[65];
    size_t ncat, nsub, nkinds, nex;
    imp_acc a;
    imp_region *regions; /* sorted by code, the rest last */
    size_t nregions;
    imp_check checks[IMP_MAX_CHECKS];
    size_t nchecks;
    bool reconciled;
    bool null_reform, null_ok;
};

/* Kinds of change, for examples: the target's transitions, each category's and subsidy's, and a
   subsidy's amount per period lower or higher. */
size_t imp_kind_target(int from, int to);
size_t imp_kind_cat(const yz_impact *im, size_t u, int from, int to);
size_t imp_kind_sub(const yz_impact *im, size_t u, int from, int to);
size_t imp_kind_amount(const yz_impact *im, size_t u, bool higher);

/* What kind of change k is. */
typedef struct imp_kind {
    const char *kind;     /* "target", "category", "subsidy", "amount" */
    const imp_item *item; /* NULL for the target */
    size_t u;             /* the item's index among the categories or subsidies */
    bool subsidy;
    int from, to;         /* statuses; amount: to is 1 for higher, 0 for lower */
    bool change;          /* false for staying in the same status */
} imp_kind;
imp_kind imp_kind_of(const yz_impact *im, size_t k);

/* "1,750.00" (yuan from fen, with a sign when negative). */
void imp_yuan(strbuf *sb, int64_t fen);
const char *imp_status_zh(int s, bool subsidy);   /* 符合 / 不符合 / 待定, 可享受 / 不可享受 / 待定 */
const char *imp_bucket_id(int b);
const char *imp_bucket_zh(int b);

#endif

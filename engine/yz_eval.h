/* yz_eval.h: evaluation of a record against the policy in force (three-valued, with condition-level
 * explanations) into a determination. */
#ifndef YZ_EVAL_H
#define YZ_EVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "yz_policy.h"
#include "yz_schema.h"
#include "yuanzhu.h"

/* One condition that decided an item, as shown to people. */
typedef struct dcond {
    const char *text;
    int8_t result;     /* 1 holds, 0 does not, 2 unknown */
    const char *rule;  /* "provinces/guangdong/policy.yaml:57", or NULL */
    const char *note;  /* text a Lua condition returned with its result */
    const char *error; /* why it could not be evaluated */
    int depth;
    const char *fail_text; /* "不满足：<text>" when ready-made */
    const char *text_json; /* text as a JSON string when ready-made */
} dcond;

typedef struct dkv {
    const char *key;
    const char *json; /* canonical JSON value */
} dkv;

/* The region group a regional parameter's value was chosen for. */
typedef struct dregion {
    const pparam *param;
    const pregion *group;
    const char *code; /* the record's GB/T 2260 code */
} dregion;

/* One stretch of a subsidy's schedule: the months from `from` to `to` at one amount. */
typedef struct dperiod {
    const char *from, *to;
    int64_t months, amount_fen;
} dperiod;

typedef struct dmissing {
    const char *field;    /* "hukou.type" */
    const char *label;    /* 户口性质 */
    const char *document; /* evidence id, or NULL */
    const char *doc_name; /* 户口簿 */
} dmissing;

typedef struct ditem {
    const pitem *it;
    yz_status status;
    const char *reason;
    dcond *conds;
    size_t nconds;
    dkv *fields;
    size_t nfields;
    dkv *params;
    size_t nparams;
    dmissing *missing;
    size_t nmissing;
    const char *error; /* first rule error, when undetermined because of it */
    const char **pending; /* required evidence not yet seen */
    size_t npending;
    /* subsidies */
    int64_t amount_fen, months, total_fen; /* months / total -1 = not applicable */
    const char *start, *end;
    const char *amount_note;
    const char *terms; /* with {P.name} filled in */
    const char **exclusive_with;
    size_t nexclusive;
    const char *months_note; /* the note of the months formula (why this many months) */
    dperiod *schedule;       /* amount.schedule: the stretches at one amount, when there are two or more */
    size_t nschedule;
    bool rate_changes;       /* a parameter of the amount changes value during the term */
    dregion *regions;        /* regional parameters its rules read, by parameter id */
    size_t nregions;
    /* what the outcome rests on that is not verified against a text: "item", "source:<id>",
       "parameter:<id>" */
    const char **unverified;
    size_t nunverified;
} ditem;

struct yz_determination {
    arena mem;
    const char *province, *ruleset, *as_of, *id_number;
    const ppolicy *pol;
    bool explained; /* false: statuses and amounts only */
    yz_status target;
    const char *target_reason;
    ditem *items[PI_NKINDS];
    size_t nitems[PI_NKINDS];
    dmissing *missing; /* what to ask for, all items together */
    size_t nmissing;
};

/* yz_evaluator_new whose Lua state takes its memory from host_realloc (NULL: realloc): tests give
 * it one that fails, to tell a refusal of memory from a rule reaching its memory cap. */
int evaluator_new_with(const yz_ruleset *rs, const yz_limits *limits, void *(*host_realloc)(void *p, size_t n),
                       yz_evaluator **out, yz_diags *d);

/* ---- shared by yz_eval.c (three-valued logic, the order of evaluation) and yz_explain.c ---- */

typedef struct rulevm rulevm;
typedef struct leafrec leafrec;

/* An evaluator: the Lua state (rulevm) and the per-record memo of every condition node and item,
 * stamped with the record's generation so nothing is cleared between records. */
struct yz_evaluator {
    const yz_ruleset *rs;
    rulevm *vm;
    uint32_t gen;
    uint32_t *node_gen;
    int8_t *node_tv;      /* TV_F, TV_T, TV_U */
    leafrec *leafrec;     /* by leaf id */
    size_t max_items;
    uint32_t *item_gen[PI_NKINDS];
    int8_t *item_tv[PI_NKINDS];
    ditem **item_built[PI_NKINDS];
    /* the record being decided */
    const ppolicy *pol;
    const char *as_of;
    const yval *root;
    yz_determination *det;
};

/* Evaluates an item (memoised): TV_F, TV_T or TV_U. */
int8_t eval_item(yz_evaluator *ev, pikind k, int idx);
/* The item's outcome in the determination (built once per record, with its explanation when
 * the determination is explained). */
const ditem *eval_build_item(yz_evaluator *ev, pikind k, int idx);

/* Which formulas of a subsidy were evaluated (their reads belong to its explanation). */
enum { EX_AMOUNT = 1, EX_MONTHS = 2 };
/* Explains an item whose status is known: the conditions that decided it, the fields and
 * parameters they read, what is missing, its reason, evidence still to see and what it rests on
 * that is not verified.  formulas: EX_AMOUNT | EX_MONTHS. */
void explain_item(yz_evaluator *ev, ditem *di, unsigned formulas);
/* The determination's own explanation: the target reason and everything still missing. */
void explain_determination(yz_evaluator *ev, yz_determination *det);
/* yz_determination_json appended to out (a buffer reused decision after decision). */
void determination_json_to(const yz_determination *det, strbuf *out);

#endif

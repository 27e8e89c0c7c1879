/* yz_rulevm.h: the Lua side of evaluation: one sandboxed state per evaluator holding a ruleset's
 * environments (the rule library and each policy's helpers), its compiled leaves (conditions and
 * formulas) and the record, parameters and as-of date bound for the record being decided.  With
 * yz_sandbox.c and yz_view.c the only code that calls Lua. */
#ifndef YZ_RULEVM_H
#define YZ_RULEVM_H

#include <stdbool.h>
#include <stdint.h>

#include "yz_policy.h"
#include "yz_schema.h"
#include "yz_view.h"

/* three-valued results: false, true, unknown */
enum { TV_F = 0, TV_T = 1, TV_U = 2 };

/* What one call of a leaf left behind for explanations: the range of the read log it wrote, the
 * note the rule returned with its result and the error that stopped it (in the determination's
 * arena). */
typedef struct leafrec {
    uint32_t log_start, log_end;
    const char *note;
    const char *error;
} leafrec;

typedef enum { V_OK, V_UNKNOWN, V_ERROR } vstatus;

typedef struct rulevm rulevm;

/* A state for the ruleset (which must outlive it) with the limits (NULL: the defaults), whose
 * memory comes from host_realloc (NULL: realloc).  Returns YZ_OK or YZ_ENOMEM (*out NULL). */
int rvm_new(const yz_ruleset *rs, const yz_limits *limits, void *(*host_realloc)(void *p, size_t n), rulevm **out);
void rvm_free(rulevm *vm);
/* True once the system refused the state memory: it can only be freed. */
bool rvm_failed(const rulevm *vm);

/* Binds a record (its validated root) in the environment of policy pol at as_of, and starts a
 * new read log.  Returns YZ_OK, YZ_ENOMEM, YZ_EPOLICY (the rule library or the policy's helpers
 * fail to load: *err says why) or YZ_EINTERNAL. */
int rvm_bind(rulevm *vm, const ppolicy *pol, const yval *root, const char *as_of, strbuf *err);
/* Calls a condition leaf: *tv is TV_T or TV_F when it gave a boolean, else TV_U.  lr gets its
 * note and error (strings in m).  Returns V_OK, V_UNKNOWN (it read an absent field) or V_ERROR
 * (it failed, exceeded a limit or gave something else than a boolean). */
vstatus rvm_bool(rulevm *vm, const pcond *c, arena *m, leafrec *lr, int8_t *tv);
/* Calls a formula leaf (an amount, a number of months) that must give an integer in [0, max];
 * what names it in errors ("the amount"). */
vstatus rvm_int(rulevm *vm, const pcond *c, int64_t max, const char *what, arena *m, leafrec *lr, int64_t *out);
/* rvm_int with the parameters in force on another date (a later period of a subsidy's schedule);
 * the record and as_of stay those bound. */
vstatus rvm_int_at(rulevm *vm, const pcond *c, const char *date, int64_t max, const char *what, arena *m, leafrec *lr,
                   int64_t *out);
/* The read log of the record being decided (every field and parameter a leaf read). */
const readent *rvm_log(const rulevm *vm);
/* The first call of this record stopped by the CPU-time backstop, located ("file:line: ..."), or
 * NULL; rvm_bind clears it. */
const char *rvm_slow(const rulevm *vm);
/* Ends a record: restores what rules may have changed in the helpers' upvalues. */
void rvm_end_record(rulevm *vm);
/* Every record is decided as if it were the first of a new evaluator (as check and replay decide
 * it).  rvm_begin_record before a record: a record that wore the state out (deep recursion, a
 * large allocation, a stop by the memory cap or the clock) left it to be replaced by a new one
 * (YZ_ENOMEM when that fails; rvm_failed is then true).  rvm_end_decided after it: true when a
 * record that was decided came near the memory cap in a state that had decided others first
 * (what they left there could have moved it across, see yz_sandbox.h); the caller then makes a
 * new state with rvm_renew and decides the record again. */
int rvm_begin_record(rulevm *vm);
bool rvm_end_decided(rulevm *vm, bool decided);
int rvm_renew(rulevm *vm);

/* Loads the rule library and each policy's Lua helpers once, as the first record would, so that
 * a helper that fails while loading (raises, assigns a global, keeps an iterator) is reported by
 * lint with its file and line instead of by every decision.  Returns YZ_OK or YZ_EPOLICY
 * (diagnostics in d). */
int rvm_check_helpers(const yz_ruleset *rs, yz_diags *d);

#endif

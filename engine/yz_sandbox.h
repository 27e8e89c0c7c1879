/* yz_sandbox.h: sandboxed Lua 5.4 states (the only place that creates one): safe libraries only,
 * text chunks only, an instruction budget per call, a memory cap per call, deterministic
 * iteration and printing, and read-only environments. */
#ifndef YZ_SANDBOX_H
#define YZ_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "yz_util.h"
#include "yuanzhu.h"

typedef struct lua_State lua_State;

#define YZ_DEFAULT_INSTRUCTIONS 1000000u
#define YZ_DEFAULT_CPU_MS 5000u
#define YZ_DEFAULT_MEMORY (64u << 20)
/* bytes of a rule's error text kept in a determination (longer ones are cut, with "…") */
#define SB_MESSAGE_MAX 1000

/* Memory.  The collector never runs while a rule runs (the state's collector is stopped), so
 * what a call allocates is the same whatever earlier calls and records left behind, and the cap
 * applies to it: the bytes a call allocates (less what it frees itself) may not pass mem_cap.
 * Garbage is collected in full between calls, once more than mem_cap / SB_COLLECT_DIVISOR has
 * piled up (512 KiB by default: collected while it is still in the processor's caches, which
 * measured 2.5% faster batches than 2 MiB or 8 MiB did).  What earlier records can still change is small (strings they left that a call
 * finds already made, the stack and string table sizes they grew), far below SB_NEAR_DIVISOR:
 * see sandbox_worn and sandbox_near_cap, with which an evaluator keeps every decision as it
 * would be in a fresh state. */
#define SB_GARBAGE_DIVISOR 32
#define SB_COLLECT_DIVISOR 128
#define SB_NEAR_DIVISOR 4

typedef struct sandbox {
    lua_State *L;
    size_t mem_used, mem_cap;
    size_t mem_settled;   /* mem_used after the last full collection */
    size_t call_base;     /* mem_used when the limited call began */
    size_t call_peak;     /* the most the limited call had allocated (over call_base) */
    size_t mark_peak;     /* the largest call_peak since sandbox_mark */
    bool mark_stopped;    /* since sandbox_mark, a call was stopped by the cap or the clock */
    uint64_t budget;
    bool limited;         /* limits apply (inside sandbox_call) */
    bool mem_exceeded;    /* set by the allocator during a limited call: the cap was reached */
    bool budget_exceeded; /* set by the count hook during a limited call */
    /* work the count hook cannot see, per limited call: the steps library functions were
       charged for (patterns, table shifts) */
    double c_steps;
    bool host_failed;     /* the system refused memory (any time): the state can only be closed */
    /* the CPU-time backstop: a call that keeps C busy on few instructions (comparing long texts
       over and over) is stopped after cpu_limit seconds of this thread's CPU time.  Time depends
       on the machine, so such a stop is never an outcome: the evaluation fails as a whole */
    uint64_t budget_left; /* instructions the call may still run (the count hook fires in steps) */
    int hook_step;        /* the count hook's count in effect */
    double cpu_limit, cpu_start;
    bool too_slow;
    void *(*host_realloc)(void *p, size_t n); /* realloc, or a failing one in tests */
    const char *const *chunk_names; /* chunk "=@N:B" is chunk_names[N] from line B in messages */
    size_t nchunk_names;
} sandbox;

/* Result of a protected call.  SB_MEMORY: the rule reached the state's memory cap (a property of
 * the rule and the record); SB_NOMEM: the system refused memory, so nothing computed is usable;
 * SB_SLOW: the call ran past the CPU-time backstop (a property of the machine as much as of the
 * rule, so it must not become an outcome either). */
typedef enum { SB_OK, SB_UNKNOWN, SB_ERROR, SB_BUDGET, SB_MEMORY, SB_NOMEM, SB_SLOW } sb_status;

/* A new state with the safe globals, or NULL when memory runs out.  host_realloc (NULL: the C
 * library's realloc) is where the state's memory comes from; tests pass one that fails. */
sandbox *sandbox_new(const yz_limits *lim, void *(*host_realloc)(void *p, size_t n));
void sandbox_free(sandbox *sb);
/* A new state with the limits, allocator and chunk names of sb (which is left as it is), or
 * NULL when memory runs out. */
sandbox *sandbox_renew(const sandbox *sb);
/* Starts watching the calls of one record (for the two below). */
void sandbox_mark(sandbox *sb);
/* True when a call since sandbox_mark allocated more than a little (mem_cap /
 * SB_GARBAGE_DIVISOR: deep recursion grows the stack, many strings the string table) or was
 * stopped by the memory cap or the CPU-time backstop: the state is no longer as good as new and
 * the next record should get a fresh one. */
bool sandbox_worn(const sandbox *sb);
/* True when a call since sandbox_mark came within mem_cap / SB_NEAR_DIVISOR of the cap (or
 * reached it): close enough that what earlier records left in the state might have changed its
 * outcome, so a state that has decided other records first must decide this one again fresh. */
bool sandbox_near_cap(const sandbox *sb);
/* Runs fn(L, ud) as a protected call, so that a memory error raised by any Lua API function in
 * it ends fn instead of the process.  fn returns how many results it leaves; nresults of them
 * are kept.  Returns SB_OK, SB_NOMEM (msg: "out of memory"; also when the state had failed
 * before) or SB_ERROR.  Whatever the sandbox and its users do to the state outside
 * sandbox_call that may allocate runs inside one of these. */
sb_status sandbox_protect(sandbox *sb, int (*fn)(lua_State *L, void *ud), void *ud, int nresults, strbuf *msg);

/* Builds the Lua source of a condition or formula: the expression as 'return <expr>' (or the
 * statements as they are), on one line with a per-call constant _ENV.  Its line numbers count
 * from the expression's first line in the YAML file (see sandbox_compile). */
void sandbox_leaf_source(const char *expr, strbuf *out);
/* Compiles an expression (as sandbox_leaf_source does) or a whole chunk in a scratch state to
 * check its syntax.  Returns 0, or -1 with the message in err and the line in *line. */
int sandbox_check_expr(const char *expr, int first_line, strbuf *err, int *line);
int sandbox_check_chunk(const char *src, size_t len, strbuf *err, int *line);
/* Closes the calling thread's scratch state of the two checks above (they open it again when
 * needed).  The loader calls it at the end of every load. */
void sandbox_check_free(void);

/* Creates a read-only environment (left on the stack): the safe globals, then the library
 * chunks run in order, each returning a table of functions merged into the environment.
 * chunk_ids[i] is chunk i's number in messages.  Chunks from first_helper on are a policy's own
 * helpers: their upvalues are reset after every record (sandbox_restore); the rule library before
 * them keeps no state and is not reset.  Returns 0, or -1 with a message in err. */
int sandbox_env_new(sandbox *sb, const char *const *srcs, const size_t *lens, const int *chunk_ids, size_t n,
                    size_t first_helper, strbuf *err);
/* Adds the value on the top of the stack (popped) to the safe globals of every environment made
 * afterwards. */
void sandbox_add_global(sandbox *sb, const char *name);
/* Sets a variable of an environment (at index env) seen by rules as a global. */
void sandbox_env_set(sandbox *sb, int env, const char *name);
/* Compiles a text chunk with the environment at index env as its _ENV; pushes the function.
 * The chunk is file chunk_id of chunk_names starting at its line first_line, so messages name
 * the true file and line.  Returns 0 or -1 with the message in err. */
int sandbox_compile(sandbox *sb, int env, const char *src, size_t len, int chunk_id, int first_line, strbuf *err);

/* Calls the function below nargs arguments with the limits on; results (nresults, or the error
 * message) are left on the stack.  After an error, msg gets a message with chunk numbers turned
 * into file names (never calling a __tostring of the error object), valid UTF-8 and at most
 * SB_MESSAGE_MAX bytes of the rule's own text.  SB_NOMEM leaves nothing (and is returned at once,
 * the function and arguments popped, once the state has failed). */
sb_status sandbox_call(sandbox *sb, int nargs, int nresults, strbuf *msg);

/* Pushes the "unknown" signal and raises it (rules reading an absent field).  Never returns. */
int sandbox_raise_unknown(lua_State *L);
/* True if the value at idx is the unknown signal. */
bool sandbox_is_unknown(lua_State *L, int idx);

/* Replaces the table on the top of the stack by a read-only proxy of a copy in which every
 * nested table is read-only too (#, pairs and ipairs work on it).  Runs protected: returns 0, or
 * -1 with nil in its place when memory ran out. */
int sandbox_freeze(lua_State *L);

/* Restores the upvalues of helper functions recorded when their environment was made, so
 * nothing a rule does to them can be seen by the next record. */
void sandbox_restore(sandbox *sb);

#endif

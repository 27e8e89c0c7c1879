/* yz_sandbox.c: sandboxed Lua 5.4 states for rule evaluation: the state, its allocator with the
 * memory cap, the instruction budget and CPU-time backstop, protected and limited calls,
 * compiling and syntax checks.  The safe globals are in yz_sandlib.c, environments and what
 * helpers keep between records in yz_sandenv.c. */
#include "yz_sandbox_int.h"

#include <lauxlib.h>
#include <limits.h>
#include <stdarg.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char unknown_tag; /* its address is the "unknown" signal */
char sandbox_restore_key; /* registry key of the upvalue restore list */
char sandbox_safe_key;    /* registry key of the table of safe globals */
char sandbox_frozen_key;  /* registry key of the weak set of read-only proxies */


/* ---- allocator with a cap ----
 *
 * Two different refusals: the cap, which applies while a rule runs (sandbox_call) and is part of
 * the rules' meaning (the same record always exceeds it the same way: the item is undetermined),
 * and the system's, which can come anywhere and depends on the machine.  The second sets
 * host_failed for good: every later call reports SB_NOMEM, even when Lua recovered (its
 * emergency collection, or a rule's own pcall catching the error), so no result computed around
 * a refused allocation is ever used.
 *
 * The cap counts what the call allocates, not the state's size: the state also holds the rules
 * and whatever garbage earlier calls left, which differs from one record to the next (see
 * SB_GARBAGE_DIVISOR and SB_COLLECT_DIVISOR in yz_sandbox.h). */

static void *sb_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    sandbox *sb = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        sb->mem_used -= old;
        return NULL;
    }
    size_t after = sb->mem_used - old + nsize;
    if (sb->limited && nsize > old && after > sb->call_base && after - sb->call_base > sb->mem_cap) {
        sb->mem_exceeded = true;
        return NULL;
    }
    void *p = sb->host_realloc ? sb->host_realloc(ptr, nsize) : realloc(ptr, nsize);
    if (!p) {
        sb->host_failed = true;
        return NULL;
    }
    sb->mem_used = after;
    if (sb->limited && after > sb->call_base && after - sb->call_base > sb->call_peak)
        sb->call_peak = after - sb->call_base;
    return p;
}

int sandbox_raisef(lua_State *L, const char *fmt, ...)
{
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return luaL_error(L, "%s", buf);
}

/* ---- instruction budget ---- */

#define HOOK_STEP 1024u /* instructions between looks at the budget and the clock */

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* the hook count of the next step: the rest of the budget, at most HOOK_STEP */
static int hook_count(const sandbox *sb)
{
    return (int)(sb->budget_left < HOOK_STEP ? sb->budget_left : HOOK_STEP);
}

static void count_hook(lua_State *L, lua_Debug *ar);

/* Sets the count of the hook.  lua_sethook walks every frame of the call stack, so it is called
 * only when the count changes (Lua counts each step down from the same count again by itself):
 * at the depth of a runaway recursion, once per step made a budgeted call a hundred times
 * slower than its instructions. */
void sandbox_set_hook_count(lua_State *L, sandbox *sb, int count)
{
    if (sb->hook_step != count) {
        sb->hook_step = count;
        lua_sethook(L, count_hook, LUA_MASKCOUNT, count);
    }
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    sandbox *sb = sandbox_of(L);
    if (!sandbox_stopped(sb)) {
        /* a normal rule runs far fewer than HOOK_STEP instructions and never gets here */
        sb->budget_left -= (uint64_t)sb->hook_step;
        if (sb->budget_left == 0) {
            sb->budget_exceeded = true;
        } else {
            /* the clock is read from the first step on, never by calls that end before it (reading
               this thread's CPU time is a system call) */
            double now = thread_cpu();
            if (sb->cpu_start < 0)
                sb->cpu_start = now;
            if (now - sb->cpu_start <= sb->cpu_limit) {
                sandbox_set_hook_count(L, sb, hook_count(sb));
                return;
            }
            sb->too_slow = true;
        }
    }
    /* from now on every instruction fails, so a rule's own pcall cannot swallow the stop (nor a
       rule go on after its pcall caught the memory cap's refusal) */
    sandbox_set_hook_count(L, sb, 1);
    if (sb->too_slow)
        sandbox_raisef(L, "stopped after %.0f s of CPU time", sb->cpu_limit);
    if (sb->mem_exceeded)
        sandbox_raisef(L, "the memory cap of %zu MiB was exceeded", sb->mem_cap >> 20);
    sandbox_raisef(L, "instruction budget of %llu exceeded", (unsigned long long)sb->budget);
}

int sandbox_raise_unknown(lua_State *L)
{
    lua_pushlightuserdata(L, &unknown_tag);
    return lua_error(L);
}

bool sandbox_is_unknown(lua_State *L, int idx)
{
    return lua_type(L, idx) == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == &unknown_tag;
}


/* an error outside every protected call: only a bug can get here (all our Lua work runs in
   sandbox_protect or sandbox_call); Lua would abort() after this returns */
static int panic_fn(lua_State *L)
{
    sandbox *sb = sandbox_of(L);
    if (sb->host_failed)
        yz_out_of_memory(0);
    return 0;
}

typedef struct protected_call {
    int (*fn)(lua_State *L, void *ud);
    void *ud;
} protected_call;

static int protected_tramp(lua_State *L)
{
    protected_call *pc = lua_touserdata(L, 1);
    lua_remove(L, 1);
    return pc->fn(L, pc->ud);
}

sb_status sandbox_protect(sandbox *sb, int (*fn)(lua_State *L, void *ud), void *ud, int nresults, strbuf *msg)
{
    lua_State *L = sb->L;
    if (sb->host_failed) {
        if (msg)
            sb_adds(msg, "out of memory");
        return SB_NOMEM;
    }
    protected_call pc = {fn, ud};
    /* neither push allocates: the stack always has LUA_MINSTACK free slots for C code */
    lua_pushcfunction(L, protected_tramp);
    lua_pushlightuserdata(L, &pc);
    int rc = lua_pcall(L, 1, nresults, 0);
    if (rc == LUA_OK && !sb->host_failed)
        return SB_OK;
    if (rc == LUA_OK)
        lua_pop(L, nresults);
    else
        lua_pop(L, 1);
    if (sb->host_failed || rc == LUA_ERRMEM) {
        sb->host_failed = true;
        if (msg)
            sb_adds(msg, "out of memory");
        return SB_NOMEM;
    }
    if (msg)
        sb_adds(msg, "an internal Lua error outside any rule");
    return SB_ERROR;
}

static int setup_fn(lua_State *L, void *ud)
{
    (void)ud;
    /* collections happen only between calls, in full (sandbox_call), never in a rule */
    lua_gc(L, LUA_GCSTOP);
    sandlib_open(L);
    return 0;
}

sandbox *sandbox_new(const yz_limits *lim, void *(*host_realloc)(void *p, size_t n))
{
    sandbox *sb = calloc(1, sizeof *sb);
    if (!sb)
        return NULL;
    sb->host_realloc = host_realloc;
    sb->mem_cap = lim && lim->memory_bytes ? lim->memory_bytes : YZ_DEFAULT_MEMORY;
    sb->budget = lim && lim->instructions ? lim->instructions : YZ_DEFAULT_INSTRUCTIONS;
    if (sb->budget > INT_MAX)
        sb->budget = INT_MAX;
    sb->cpu_limit = (lim && lim->cpu_ms ? lim->cpu_ms : YZ_DEFAULT_CPU_MS) / 1000.0;
    sb->L = lua_newstate(sb_alloc, sb);
    if (!sb->L) {
        free(sb);
        return NULL;
    }
    lua_atpanic(sb->L, panic_fn);
    if (sandbox_protect(sb, setup_fn, NULL, 0, NULL) != SB_OK) {
        sandbox_free(sb);
        return NULL;
    }
    sb->mem_settled = sb->mem_used;
    return sb;
}

void sandbox_free(sandbox *sb)
{
    if (!sb)
        return;
    lua_close(sb->L);
    free(sb);
}

sandbox *sandbox_renew(const sandbox *sb)
{
    yz_limits lim = {sb->budget, sb->mem_cap, (unsigned)(sb->cpu_limit * 1000.0 + 0.5)};
    sandbox *n = sandbox_new(&lim, sb->host_realloc);
    if (n) {
        n->chunk_names = sb->chunk_names;
        n->nchunk_names = sb->nchunk_names;
    }
    return n;
}

void sandbox_mark(sandbox *sb)
{
    sb->mark_peak = 0;
    sb->mark_stopped = false;
}

bool sandbox_worn(const sandbox *sb)
{
    return sb->mark_stopped || sb->mark_peak > sb->mem_cap / SB_GARBAGE_DIVISOR;
}

bool sandbox_near_cap(const sandbox *sb)
{
    return sb->mark_peak > sb->mem_cap - sb->mem_cap / SB_NEAR_DIVISOR;
}

/* ---- compiling ---- */

static bool looks_like_block(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    static const char *const kw[] = {"local ", "local\t", "if ", "for ", "while ", "return", "do\n", "do ", "repeat"};
    for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
        if (strncmp(s, kw[i], strlen(kw[i])) == 0)
            return true;
    return false;
}

void sandbox_leaf_source(const char *expr, strbuf *out)
{
    sb_clear(out);
    /* a local _ENV per call: code that assigns _ENV changes only this call's copy; the record,
       the parameters and the date arrive as arguments (locals are faster than globals) */
    sb_adds(out, "local _ENV <const> = _ENV;local r <const>, P <const>, as_of <const> = ...;");
    if (looks_like_block(expr)) {
        sb_adds(out, expr);
    } else {
        sb_adds(out, "return ");
        sb_adds(out, expr);
    }
}

/* "=@N" chunks report "@N:LINE: msg"; returns LINE and copies msg after it */
static int split_message(const char *m, strbuf *err)
{
    int line = 0;
    const char *p = strchr(m, ':');
    if (p && p[1] >= '0' && p[1] <= '9') {
        line = atoi(p + 1);
        const char *q = strchr(p + 1, ':');
        if (q) {
            q++;
            while (*q == ' ')
                q++;
            sb_adds(err, q);
            return line;
        }
    }
    sb_adds(err, m);
    return line;
}

/* one plain state per thread compiles everything that is only checked, never run; the loader
   closes it when a ruleset is loaded (sandbox_check_free), so no state outlives a load */
static _Thread_local lua_State *scratch;

void sandbox_check_free(void)
{
    if (scratch) {
        lua_close(scratch);
        scratch = NULL;
    }
}

static int check_source(const char *src, size_t len, strbuf *err, int *line)
{
    if (!scratch) {
        scratch = luaL_newstate();
        if (!scratch)
            yz_out_of_memory(0);
    }
    int rc = luaL_loadbufferx(scratch, src, len, "=@0", "t");
    if (rc == LUA_ERRMEM)
        yz_out_of_memory(0); /* not a syntax error */
    if (rc != LUA_OK) {
        const char *m = lua_tostring(scratch, -1);
        *line = split_message(m ? m : "syntax error", err);
    }
    lua_settop(scratch, 0);
    if (lua_gc(scratch, LUA_GCCOUNT, 0) > 16 * 1024) /* KiB: do not let garbage pile up */
        lua_gc(scratch, LUA_GCCOLLECT, 0);
    return rc == LUA_OK ? 0 : -1;
}

int sandbox_check_expr(const char *expr, int first_line, strbuf *err, int *line)
{
    strbuf src = STRBUF_INIT;
    sandbox_leaf_source(expr, &src);
    int rc = check_source(src.buf, src.len, err, line);
    if (rc != 0 && *line > 0)
        *line += first_line - 1;
    sb_free(&src);
    return rc;
}

int sandbox_check_chunk(const char *src, size_t len, strbuf *err, int *line)
{
    return check_source(src, len, err, line);
}

/* turns chunk references into file names: a chunk named "=@N:B" (file N, starting at line B of it)
   reports "@N:B:K: ...", which becomes "path:(B+K-1): ..." */
static void fix_message(sandbox *sb, const char *m, strbuf *out)
{
    const char *p = m;
    while (*p) {
        if (*p == '@' && p[1] >= '0' && p[1] <= '9') {
            char *end;
            long n = strtol(p + 1, &end, 10);
            if (*end == ':' && n >= 0 && (size_t)n < sb->nchunk_names) {
                char *e2;
                long base = strtol(end + 1, &e2, 10);
                char *e3;
                long k = *e2 == ':' ? strtol(e2 + 1, &e3, 10) : 0;
                /* line numbers are ints: bigger ones (strtol saturates) come from text a message
                   quotes (a record's value), and adding them would overflow */
                if (*e2 == ':' && e3 > e2 + 1 && *e3 == ':' && base >= 1 && base <= INT_MAX && k >= 0 && k <= INT_MAX) {
                    sb_addf(out, "%s:%ld", sb->chunk_names[n], base + k - 1);
                    p = e3;
                    continue;
                }
                sb_adds(out, sb->chunk_names[n]);
                p = end;
                continue;
            }
        }
        sb_addc(out, *p++);
    }
}

int sandbox_compile(sandbox *sb, int env, const char *src, size_t len, int chunk_id, int first_line, strbuf *err)
{
    lua_State *L = sb->L;
    env = lua_absindex(L, env);
    char name[40];
    snprintf(name, sizeof name, "=@%d:%d", chunk_id, first_line);
    if (luaL_loadbufferx(L, src, len, name, "t") != LUA_OK) {
        fix_message(sb, lua_tostring(L, -1), err);
        lua_pop(L, 1);
        return -1;
    }
    lua_pushvalue(L, env);
    if (!lua_setupvalue(L, -2, 1))
        lua_pop(L, 1);
    return 0;
}

sb_status sandbox_call(sandbox *sb, int nargs, int nresults, strbuf *msg)
{
    lua_State *L = sb->L;
    if (sb->host_failed) {
        lua_pop(L, nargs + 1);
        if (msg)
            sb_adds(msg, "out of memory");
        return SB_NOMEM;
    }
    if (sb->mem_used > sb->mem_settled && sb->mem_used - sb->mem_settled > sb->mem_cap / SB_COLLECT_DIVISOR) {
        lua_gc(L, LUA_GCCOLLECT);
        sb->mem_settled = sb->mem_used;
    }
    sb->limited = true;
    sb->call_base = sb->mem_used;
    sb->call_peak = 0;
    sb->mem_exceeded = false;
    sb->budget_exceeded = false;
    sb->c_steps = 0;
    sb->too_slow = false;
    sb->budget_left = sb->budget;
    sb->cpu_start = -1;
    sb->hook_step = hook_count(sb);
    lua_sethook(L, count_hook, LUA_MASKCOUNT, sb->hook_step);
    int rc = lua_pcall(L, nargs, nresults, 0);
    lua_sethook(L, NULL, 0, 0);
    sb->limited = false;
    if (sb->call_peak > sb->mark_peak)
        sb->mark_peak = sb->call_peak;
    sb->mark_stopped |= sb->mem_exceeded || sb->too_slow;
    if (sb->too_slow && !sb->host_failed) {
        lua_pop(L, rc == LUA_OK ? nresults : 1);
        if (msg)
            sb_addf(msg,
                    "stopped after %.0f s of CPU time in one call without using up its instruction budget "
                    "(long texts compared or copied over and over?)",
                    sb->cpu_limit);
        return SB_SLOW;
    }
    if (sb->host_failed) {
        /* whatever the rule made of it (its own pcall may have caught the error): not used */
        lua_pop(L, rc == LUA_OK ? nresults : 1);
        if (msg)
            sb_adds(msg, "out of memory");
        return SB_NOMEM;
    }
    if (sb->budget_exceeded || sb->mem_exceeded) {
        if (rc == LUA_OK)
            lua_pop(L, nresults);
        else
            lua_pop(L, 1);
        if (msg) {
            if (sb->budget_exceeded && sb->c_steps > (double)sb->budget * PATTERN_STEPS_PER_INSTRUCTION)
                sb_addf(msg,
                        "stopped: the instruction budget of %llu per call was exceeded by the work of library "
                        "functions (patterns or table shifts called over and over?)",
                        (unsigned long long)sb->budget);
            else if (sb->budget_exceeded)
                sb_addf(msg, "stopped: the instruction budget of %llu per call was exceeded (an endless loop?)",
                        (unsigned long long)sb->budget);
            else
                sb_addf(msg, "stopped: the memory cap of %zu MiB was exceeded", sb->mem_cap >> 20);
        }
        return sb->budget_exceeded ? SB_BUDGET : SB_MEMORY;
    }
    if (rc == LUA_OK)
        return SB_OK;
    if (sandbox_is_unknown(L, -1)) {
        lua_pop(L, 1);
        return SB_UNKNOWN;
    }
    if (msg) {
        if (lua_type(L, -1) == LUA_TSTRING) {
            /* a rule chooses its error text: keep it short and valid UTF-8 for the determination */
            size_t n;
            const char *m = lua_tolstring(L, -1, &n);
            strbuf clean = STRBUF_INIT;
            sb_add_clean(&clean, m, n, SB_MESSAGE_MAX);
            fix_message(sb, sb_str(&clean), msg);
            sb_free(&clean);
        }
        else if (rc == LUA_ERRMEM)
            sb_adds(msg, "not enough memory");
        else
            sb_addf(msg, "the rule raised an error that is a %s, not text", luaL_typename(L, -1));
    }
    lua_pop(L, 1);
    return SB_ERROR;
}

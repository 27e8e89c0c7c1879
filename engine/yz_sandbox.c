/* yz_sandbox.c: sandboxed Lua 5.4 states for rule evaluation. */
#include "yz_sandbox.h"

#include <lauxlib.h>
#include <limits.h>
#include <stdarg.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char unknown_tag;      /* its address is the "unknown" signal */
static char restore_key;      /* registry key of the upvalue restore list */
static char safe_key;         /* registry key of the table of safe globals */
static char frozen_key;       /* registry key of the weak set of read-only proxies */

#define SETUP_BUDGET 50000000 /* instructions allowed to run a library or helper chunk */

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
 * SB_GARBAGE_DIVISOR in yz_sandbox.h). */

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

static sandbox *sb_of(lua_State *L)
{
    void *ud;
    lua_getallocf(L, &ud);
    return ud;
}

/* luaL_error with the whole of printf's format (lua_pushfstring knows no %lld, %zu or %e) */
__attribute__((format(printf, 2, 3))) static int raisef(lua_State *L, const char *fmt, ...)
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
static void set_hook_count(lua_State *L, sandbox *sb, int count)
{
    if (sb->hook_step != count) {
        sb->hook_step = count;
        lua_sethook(L, count_hook, LUA_MASKCOUNT, count);
    }
}

/* true once a limited call has been stopped by a limit: from then on nothing of the rule runs */
static bool stopped(const sandbox *sb)
{
    return sb->budget_exceeded || sb->too_slow || sb->mem_exceeded;
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    sandbox *sb = sb_of(L);
    if (!stopped(sb)) {
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
                set_hook_count(L, sb, hook_count(sb));
                return;
            }
            sb->too_slow = true;
        }
    }
    /* from now on every instruction fails, so a rule's own pcall cannot swallow the stop (nor a
       rule go on after its pcall caught the memory cap's refusal) */
    set_hook_count(L, sb, 1);
    if (sb->too_slow)
        raisef(L, "stopped after %.0f s of CPU time", sb->cpu_limit);
    if (sb->mem_exceeded)
        raisef(L, "the memory cap of %zu MiB was exceeded", sb->mem_cap >> 20);
    raisef(L, "instruction budget of %llu exceeded", (unsigned long long)sb->budget);
}

/* ---- deterministic replacements ---- */

typedef struct keyent {
    int type;
    lua_Number num;
    lua_Integer inum;
    int isint;
    const char *s;
    size_t len;
    int boolean;
    int pos; /* index in the collected key table */
} keyent;

static int cmp_keys(const void *pa, const void *pb)
{
    const keyent *a = pa, *b = pb;
    if (a->type != b->type)
        return a->type < b->type ? -1 : 1;
    switch (a->type) {
    case LUA_TNUMBER: {
        lua_Number x = a->isint ? (lua_Number)a->inum : a->num;
        lua_Number y = b->isint ? (lua_Number)b->inum : b->num;
        if (x != y)
            return x < y ? -1 : 1;
        if (a->isint && b->isint && a->inum != b->inum)
            return a->inum < b->inum ? -1 : 1;
        return 0;
    }
    case LUA_TSTRING: {
        size_t n = a->len < b->len ? a->len : b->len;
        int c = memcmp(a->s, b->s, n);
        if (c)
            return c;
        return a->len < b->len ? -1 : a->len > b->len;
    }
    case LUA_TBOOLEAN: return a->boolean - b->boolean;
    default: return 0;
    }
}

/* iterator: upvalues 1 = sorted keys, 2 = table, 3 = position */
static int sorted_next(lua_State *L)
{
    lua_Integer i = lua_tointeger(L, lua_upvalueindex(3)) + 1;
    if (lua_geti(L, lua_upvalueindex(1), i) == LUA_TNIL)
        return 1;
    lua_pushinteger(L, i);
    lua_replace(L, lua_upvalueindex(3));
    lua_pushvalue(L, -1);
    lua_gettable(L, lua_upvalueindex(2));
    return 2;
}

static int sorted_pairs(lua_State *L)
{
    luaL_checkany(L, 1);
    if (luaL_getmetafield(L, 1, "__pairs") != LUA_TNIL) {
        lua_pushvalue(L, 1);
        lua_call(L, 1, 3);
        return 3;
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer n = 0;
    lua_newtable(L); /* keys, in table order */
    int keys = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        lua_pop(L, 1);
        int t = lua_type(L, -1);
        if (t != LUA_TNUMBER && t != LUA_TSTRING && t != LUA_TBOOLEAN)
            return luaL_error(L, "pairs: a table with %s keys has no fixed order; use ipairs or keys of text or numbers",
                              lua_typename(L, t));
        lua_pushvalue(L, -1);
        lua_rawseti(L, keys, ++n);
    }
    keyent *ents = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *ents, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, keys, i);
        keyent *e = &ents[i - 1];
        memset(e, 0, sizeof *e);
        e->type = lua_type(L, -1);
        e->pos = (int)i;
        if (e->type == LUA_TNUMBER) {
            e->isint = lua_isinteger(L, -1);
            if (e->isint)
                e->inum = lua_tointeger(L, -1);
            else
                e->num = lua_tonumber(L, -1);
        } else if (e->type == LUA_TSTRING) {
            e->s = lua_tolstring(L, -1, &e->len); /* anchored by the keys table */
        } else {
            e->boolean = lua_toboolean(L, -1);
        }
        lua_pop(L, 1);
    }
    qsort(ents, (size_t)n, sizeof *ents, cmp_keys);
    lua_createtable(L, (int)n, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, keys, ents[i - 1].pos);
        lua_rawseti(L, -2, i);
    }
    lua_pushvalue(L, 1);
    lua_pushinteger(L, 0);
    lua_pushcclosure(L, sorted_next, 3);
    lua_pushnil(L);
    lua_pushnil(L);
    return 3;
}

static int safe_tostring(lua_State *L)
{
    luaL_checkany(L, 1);
    switch (lua_type(L, 1)) {
    case LUA_TNIL:
    case LUA_TBOOLEAN:
    case LUA_TNUMBER:
    case LUA_TSTRING:
        luaL_tolstring(L, 1, NULL);
        return 1;
    default:
        break;
    }
    if (luaL_getmetafield(L, 1, "__tostring") != LUA_TNIL) {
        lua_pushvalue(L, 1);
        lua_call(L, 1, 1);
        if (!lua_isstring(L, -1))
            return luaL_error(L, "'__tostring' must return a string");
        return 1;
    }
    /* never an address: it would differ from run to run */
    lua_pushstring(L, luaL_typename(L, 1));
    return 1;
}

static int safe_format(lua_State *L)
{
    const char *fmt = luaL_checkstring(L, 1);
    for (const char *p = fmt; *p; p++) {
        if (*p != '%')
            continue;
        p++;
        if (*p == '%')
            continue;
        while (*p && strchr("-+ #0123456789.", *p))
            p++;
        if (*p == 'p')
            return luaL_error(L, "string.format: '%%p' prints an address, which is not deterministic");
        if (!*p)
            break;
    }
    int n = lua_gettop(L);
    for (int i = 2; i <= n; i++) {
        int t = lua_type(L, i);
        if (t == LUA_TTABLE || t == LUA_TFUNCTION || t == LUA_TUSERDATA || t == LUA_TTHREAD || t == LUA_TLIGHTUSERDATA)
            return luaL_error(L, "string.format: argument #%d is a %s; format text or numbers", i, lua_typename(L, t));
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, n, 1);
    return 1;
}

static int safe_setmetatable(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    if (lua_type(L, 2) == LUA_TTABLE) {
        if (lua_getfield(L, 2, "__gc") != LUA_TNIL)
            return luaL_error(L, "setmetatable: '__gc' is not allowed in rules (it would run during another record)");
        lua_pop(L, 1);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* ---- C functions whose work the instruction budget cannot see ----
 *
 * The count hook runs between VM instructions, so a library function that loops in C runs to
 * its end however long that is: string.rep of an empty text 2^62 times, table.move over 2^62
 * empty slots, table.insert into a table whose __len claims 2^60 elements, a pattern that
 * backtracks exponentially.  These wrappers refuse such calls before they start.  The bound is
 * the instruction budget itself: a rule may make C do about as much work as it could do in Lua. */

#define PATTERN_STEPS_PER_INSTRUCTION 64

static lua_Integer c_step_limit(lua_State *L)
{
    return (lua_Integer)sb_of(L)->budget;
}

/* Charges a call its C work; past the budget of the whole call (64 steps per instruction), the
 * call stops as if its instructions had run out, and stays stopped. */
static void charge(lua_State *L, double steps)
{
    sandbox *sb = sb_of(L);
    if (!sb->limited)
        return;
    sb->c_steps += steps;
    if (sb->c_steps > (double)sb->budget * PATTERN_STEPS_PER_INSTRUCTION) {
        sb->budget_exceeded = true;
        set_hook_count(L, sb, 1);
        raisef(L, "the work of library calls exceeded the instruction budget of %llu", (unsigned long long)sb->budget);
    }
}

static int safe_rep(lua_State *L)
{
    size_t l, lsep;
    luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &lsep);
    if (n <= 0 || l + lsep == 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    sandbox *sb = sb_of(L);
    if ((lua_Unsigned)n > sb->mem_cap / (l + lsep)) {
        /* it could never fit: stop as the allocator would, without trying */
        if (sb->limited)
            sb->mem_exceeded = true;
        return raisef(L, "string.rep: %lld copies of %zu bytes do not fit in the memory cap of %zu MiB",
                          (long long)n, l + lsep, sb->mem_cap >> 20);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* the end of a set "[...]" starting at p (which is at '['), as Lua's matcher reads it */
static const char *set_end(const char *p, const char *e)
{
    p++;
    if (p < e && *p == '^')
        p++;
    do {
        if (p >= e)
            return e;
        if (*p++ == '%' && p < e)
            p++;
    } while (p < e && *p != ']');
    return p < e ? p + 1 : e;
}

/* An upper bound on the steps Lua's matcher may take for a pattern of m bytes on a text of n:
 * every start position (one when anchored with '^'), times the ways each item can backtrack
 * (n + 1 for '*', '+' and '-', and for %b and back-references; 2 for '?'), times the pattern
 * length.  A plain search costs n times m. */
static double pattern_cost(const char *p, size_t m, size_t n, bool plain)
{
    double width = (double)n + 1, len = m ? (double)m : 1;
    if (plain)
        return width * len;
    const char *e = p + m;
    double starts = width, ways = 1;
    if (p < e && *p == '^') {
        starts = 1;
        p++;
    }
    while (p < e) {
        bool item = true; /* something a quantifier may follow */
        if (*p == '(' || *p == ')') {
            p++;
            item = false;
        } else if (*p == '%' && p + 1 < e) {
            char c = p[1];
            if (c == 'b') {
                ways *= width;
                p = e - p >= 4 ? p + 4 : e;
                item = false;
            } else if (c == 'f') {
                p = p + 2 < e && p[2] == '[' ? set_end(p + 2, e) : e;
                item = false;
            } else if (c >= '0' && c <= '9') {
                ways *= width;
                p += 2;
                item = false;
            } else {
                p += 2;
            }
        } else if (*p == '[') {
            p = set_end(p, e);
        } else {
            p++;
        }
        if (item && p < e) {
            if (*p == '*' || *p == '+' || *p == '-') {
                ways *= width;
                p++;
            } else if (*p == '?') {
                ways *= 2;
                p++;
            }
        }
        if (ways > 1e30)
            ways = 1e30;
    }
    return starts * ways * len;
}

/* find, match, gmatch, gsub: upvalue 1 is the original, upvalue 2 its name */
static int safe_pattern(lua_State *L)
{
    size_t n, m;
    luaL_checklstring(L, 1, &n);
    const char *p = luaL_checklstring(L, 2, &m);
    const char *name = lua_tostring(L, lua_upvalueindex(2));
    bool plain = !strcmp(name, "find") && lua_toboolean(L, 4);
    double cost = pattern_cost(p, m, n, plain);
    double limit = (double)c_step_limit(L) * PATTERN_STEPS_PER_INSTRUCTION;
    if (cost > limit)
        return raisef(L,
                          "string.%s: this pattern on a text of %zu bytes may take up to %.0e steps, more than a rule "
                          "may spend (%.0e); use fewer of * + - ? in the pattern, anchor it with ^, or shorten the text",
                          name, n, cost, limit);
    charge(L, cost);
    int nargs = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, nargs, LUA_MULTRET);
    return lua_gettop(L);
}

/* #t once (a __len may answer differently each time), and small enough to walk in C */
static lua_Integer list_length(lua_State *L, const char *fn)
{
    lua_Integer n = luaL_len(L, 1);
    if (n < 0 || n >= c_step_limit(L))
        return raisef(L, "table.%s: a list of %lld elements is more than a rule may shift in one call (at most %lld)",
                          fn, (long long)n, (long long)c_step_limit(L) - 1);
    charge(L, (double)n * PATTERN_STEPS_PER_INSTRUCTION);
    return n;
}

static int safe_insert(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int nargs = lua_gettop(L);
    if (nargs != 2 && nargs != 3)
        return luaL_error(L, "wrong number of arguments to 'insert'");
    lua_Integer n = list_length(L, "insert");
    if (nargs == 2) {
        lua_seti(L, 1, n + 1);
        return 0;
    }
    lua_Integer pos = luaL_checkinteger(L, 2);
    luaL_argcheck(L, pos >= 1 && pos <= n + 1, 2, "position out of bounds");
    for (lua_Integer i = n; i >= pos; i--) {
        lua_geti(L, 1, i);
        lua_seti(L, 1, i + 1);
    }
    lua_seti(L, 1, pos);
    return 0;
}

static int safe_remove(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer n = list_length(L, "remove");
    lua_Integer pos = luaL_optinteger(L, 2, n);
    if (pos != n)
        luaL_argcheck(L, pos >= 1 && pos <= n + 1, 2, "position out of bounds");
    lua_geti(L, 1, pos);
    for (; pos < n; pos++) {
        lua_geti(L, 1, pos + 1);
        lua_seti(L, 1, pos);
    }
    lua_pushnil(L);
    lua_seti(L, 1, pos);
    return 1;
}

static int safe_move(lua_State *L)
{
    lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3);
    if (e >= f && (lua_Unsigned)e - (lua_Unsigned)f >= (lua_Unsigned)c_step_limit(L))
        return raisef(L, "table.move: %llu elements are more than a rule may move in one call (at most %lld)",
                          (unsigned long long)((lua_Unsigned)e - (lua_Unsigned)f) + 1, (long long)c_step_limit(L));
    if (e >= f)
        charge(L, ((double)e - (double)f + 1) * PATTERN_STEPS_PER_INSTRUCTION);
    int nargs = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, nargs, 1);
    return 1;
}

static int readonly_newindex(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TSTRING)
        return luaL_error(L, "cannot assign '%s': rules and their libraries are read-only (use local variables)",
                          lua_tostring(L, 2));
    return luaL_error(L, "cannot assign: rules and their libraries are read-only (use local variables)");
}

static int frozen_pairs(lua_State *L)
{
    lua_settop(L, 0);
    lua_pushcfunction(L, sorted_pairs);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_call(L, 1, 3);
    return 3;
}

static int frozen_len(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, lua_upvalueindex(1)));
    return 1;
}

/* Pushes a read-only proxy of the table at idx (a shallow one: see freeze_top for what rules
 * and helpers are given). */
static void push_frozen(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    lua_newtable(L);
    /* remember it as frozen, so it is never copied again */
    lua_rawgetp(L, LUA_REGISTRYINDEX, &frozen_key);
    lua_pushvalue(L, -2);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_createtable(L, 0, 5);
    lua_pushvalue(L, idx);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, readonly_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushvalue(L, idx);
    lua_pushcclosure(L, frozen_pairs, 1);
    lua_setfield(L, -2, "__pairs");
    lua_pushvalue(L, idx);
    lua_pushcclosure(L, frozen_len, 1);
    lua_setfield(L, -2, "__len");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
}

/* copies the named fields of the table at src into a new table (left on the stack) */
static void copy_fields(lua_State *L, int src, const char *const *names)
{
    src = lua_absindex(L, src);
    lua_newtable(L);
    for (const char *const *n = names; *n; n++) {
        lua_getfield(L, src, *n);
        lua_setfield(L, -2, *n);
    }
}

static int raise_unknown_fn(lua_State *L)
{
    return sandbox_raise_unknown(L);
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

/* try(f, ...): calls f; returns true and its results, or false when it read something unknown;
 * other errors pass through.  Lets library code apply three-valued logic. */
static int try_fn(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    int n = lua_gettop(L);
    int rc = lua_pcall(L, n - 1, LUA_MULTRET, 0);
    if (rc == LUA_OK) {
        lua_pushboolean(L, 1);
        lua_insert(L, 1);
        return lua_gettop(L);
    }
    if (sandbox_is_unknown(L, -1)) {
        lua_pushboolean(L, 0);
        return 1;
    }
    return lua_error(L);
}

/* xpcall(f, msgh, ...) with the message handler guarded.  Lua calls a message handler at the
 * point an error is raised, before the stack unwinds, and that includes the errors the count
 * hook raises to stop a call.  While a hook runs, Lua turns hooks off (allowhook), and a hook that
 * raises never turns them back on: that happens only when the protected call catching the error
 * returns.  So a handler called for a stop ran with no budget and no clock at all (a handler
 * 'while true do end' hung for ever).  The guard calls the rule's handler only while the call
 * has not been stopped (then hooks are on: the error came from the rule, not from the hook), and
 * passes a stop through untouched.  rule code has no other way to install a message handler
 * (no coroutines, no debug library), so no rule code ever runs with hooks off. */
static int guarded_handler(lua_State *L)
{
    if (stopped(sb_of(L)))
        return 1; /* the stop, as it is */
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int safe_xpcall(lua_State *L)
{
    int n = lua_gettop(L);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, guarded_handler, 1);
    lua_replace(L, 2);
    lua_pushboolean(L, 1); /* the first result when there is no error */
    lua_pushvalue(L, 1);
    lua_rotate(L, 3, 2); /* f, guard, true, f, args... */
    if (lua_pcall(L, n - 2, LUA_MULTRET, 2) != LUA_OK) {
        lua_pushboolean(L, 0);
        lua_pushvalue(L, -2);
        return 2;
    }
    return lua_gettop(L) - 2;
}

/* an error outside every protected call: only a bug can get here (all our Lua work runs in
   sandbox_protect or sandbox_call); Lua would abort() after this returns */
static int panic_fn(lua_State *L)
{
    sandbox *sb = sb_of(L);
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

static void build_safe_globals(lua_State *L)
{
    static const char *const base[] = {"assert", "error", "ipairs", "pcall", "select", "tonumber", "type",
                                       "rawequal", "rawlen", "rawget", "getmetatable", NULL};
    static const char *const strf[] = {"byte", "char", "find", "gmatch", "gsub", "len", "lower", "match", "rep",
                                       "reverse", "sub", "upper", "pack", "packsize", "unpack", NULL};
    static const char *const tabf[] = {"concat", "insert", "move", "pack", "remove", "sort", "unpack", NULL};
    static const char *const mathf[] = {"abs", "ceil", "floor", "fmod", "huge", "max", "maxinteger", "min",
                                        "mininteger", "modf", "pi", "sqrt", "tointeger", "type", "ult", "exp", "log",
                                        "sin", "cos", "tan", "asin", "acos", "atan", NULL};
    static const char *const utf8f[] = {"char", "charpattern", "codes", "codepoint", "len", "offset", NULL};

    lua_newtable(L); /* the set of frozen proxies, weak so it holds none alive */
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &frozen_key);

    luaL_requiref(L, "_G", luaopen_base, 0);
    int g = lua_gettop(L);
    luaL_requiref(L, "string", luaopen_string, 0);
    int s = lua_gettop(L);
    luaL_requiref(L, "table", luaopen_table, 0);
    int t = lua_gettop(L);
    luaL_requiref(L, "math", luaopen_math, 0);
    int m = lua_gettop(L);
    luaL_requiref(L, "utf8", luaopen_utf8, 0);
    int u = lua_gettop(L);

    copy_fields(L, g, base);
    int safe = lua_gettop(L);
    lua_pushcfunction(L, sorted_pairs);
    lua_setfield(L, safe, "pairs");
    lua_pushcfunction(L, safe_tostring);
    lua_setfield(L, safe, "tostring");
    lua_getfield(L, g, "setmetatable");
    lua_pushcclosure(L, safe_setmetatable, 1);
    lua_setfield(L, safe, "setmetatable");
    lua_pushcfunction(L, safe_xpcall);
    lua_setfield(L, safe, "xpcall");
    lua_pushcfunction(L, try_fn);
    lua_setfield(L, safe, "try");
    lua_pushcfunction(L, raise_unknown_fn);
    lua_setfield(L, safe, "unknown");

    /* string: no dump; format that prints no addresses; used for methods on strings too */
    copy_fields(L, s, strf);
    int scopy = lua_gettop(L);
    lua_getfield(L, s, "format");
    lua_pushcclosure(L, safe_format, 1);
    lua_setfield(L, scopy, "format");
    lua_getfield(L, s, "rep");
    lua_pushcclosure(L, safe_rep, 1);
    lua_setfield(L, scopy, "rep");
    static const char *const patf[] = {"find", "match", "gmatch", "gsub", NULL};
    for (const char *const *f = patf; *f; f++) {
        lua_getfield(L, s, *f);
        lua_pushstring(L, *f);
        lua_pushcclosure(L, safe_pattern, 2);
        lua_setfield(L, scopy, *f);
    }
    lua_pushstring(L, "");
    lua_getmetatable(L, -1);
    lua_pushvalue(L, scopy);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);
    push_frozen(L, scopy);
    lua_setfield(L, safe, "string");
    lua_pop(L, 1);

    copy_fields(L, t, tabf);
    lua_getfield(L, t, "move");
    lua_pushcclosure(L, safe_move, 1);
    lua_setfield(L, -2, "move");
    lua_pushcfunction(L, safe_insert);
    lua_setfield(L, -2, "insert");
    lua_pushcfunction(L, safe_remove);
    lua_setfield(L, -2, "remove");
    push_frozen(L, -1);
    lua_setfield(L, safe, "table");
    lua_pop(L, 1);
    copy_fields(L, m, mathf); /* no random: rules must be deterministic */
    push_frozen(L, -1);
    lua_setfield(L, safe, "math");
    lua_pop(L, 1);
    copy_fields(L, u, utf8f);
    push_frozen(L, -1);
    lua_setfield(L, safe, "utf8");
    lua_pop(L, 1);

    lua_rawsetp(L, LUA_REGISTRYINDEX, &safe_key);
    lua_settop(L, g - 1);
    /* the restore list for helper upvalues */
    lua_newtable(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &restore_key);
}

static int setup_fn(lua_State *L, void *ud)
{
    (void)ud;
    /* collections happen only between calls, in full (sandbox_call), never in a rule */
    lua_gc(L, LUA_GCSTOP);
    build_safe_globals(L);
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
    if (sb->mem_used > sb->mem_settled && sb->mem_used - sb->mem_settled > sb->mem_cap / SB_GARBAGE_DIVISOR) {
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

void sandbox_add_global(sandbox *sb, const char *name)
{
    lua_State *L = sb->L;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &safe_key);
    lua_insert(L, -2);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

/* ---- environments ---- */

static void push_storage(lua_State *L, int env)
{
    lua_getmetatable(L, env);
    lua_rawgeti(L, -1, 1); /* the storage table is kept at [1] of the metatable */
    lua_remove(L, -2);
}

void sandbox_env_set(sandbox *sb, int env, const char *name)
{
    lua_State *L = sb->L;
    env = lua_absindex(L, env);
    push_storage(L, env);
    lua_insert(L, -2);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

/* ---- what helpers keep between records ----
 *
 * A helper file runs once per state; what it keeps must not carry anything from one record to
 * the next.  Its tables (exported, or held in upvalues, at any depth) are replaced by read-only
 * copies, and every upvalue of its functions is recorded and put back after each record
 * (sandbox_restore), so a helper that reassigns one starts the next record as it started the
 * first.  Functions with state a restore cannot reach (an iterator kept from load time) are
 * refused. */

#define SEAL_DEPTH 32

typedef struct seal_ctx {
    int memo;  /* original table -> its proxy; function or upvalue id -> true */
    int list;  /* the restore list: {f, i, value} */
    bool walk; /* helpers: record functions' upvalues (the rule library keeps no state) */
} seal_ctx;

static bool is_frozen(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &frozen_key);
    lua_pushvalue(L, idx);
    bool yes = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    return yes;
}

static void seal_top(lua_State *L, const seal_ctx *c, int depth);

/* the table on the top becomes a proxy of a copy whose values (and the __index of its
   metatable, for tables that inherit) are sealed too */
static void freeze_top(lua_State *L, const seal_ctx *c, int depth)
{
    int orig = lua_gettop(L);
    if (is_frozen(L, orig))
        return;
    lua_pushvalue(L, orig);
    if (lua_rawget(L, c->memo) != LUA_TNIL) { /* shared or cyclic: the same proxy */
        lua_replace(L, orig);
        return;
    }
    lua_pop(L, 1);
    if (depth >= SEAL_DEPTH)
        raisef(L, "a table nested deeper than %d levels cannot be made read-only; flatten it", SEAL_DEPTH);
    luaL_checkstack(L, 12, "sealing helper state");
    lua_newtable(L);
    int copy = lua_gettop(L);
    push_frozen(L, copy);
    lua_pushvalue(L, orig);
    lua_pushvalue(L, -2);
    lua_rawset(L, c->memo);
    lua_pushnil(L);
    while (lua_next(L, orig)) {
        seal_top(L, c, depth + 1);
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, copy);
    }
    if (lua_getmetatable(L, orig)) {
        lua_pushliteral(L, "__index");
        int t = lua_rawget(L, -2);
        if (t == LUA_TTABLE || t == LUA_TFUNCTION) {
            seal_top(L, c, depth + 1);
            lua_createtable(L, 0, 1);
            lua_insert(L, -2);
            lua_setfield(L, -2, "__index");
            lua_setmetatable(L, copy);
        } else {
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    lua_replace(L, orig); /* the proxy */
    lua_settop(L, orig);
}

static int sorted_next(lua_State *L);

/* a C function whose upvalues change as it runs (an iterator) */
static bool has_c_state(lua_State *L, int f)
{
    if (lua_tocfunction(L, f) == sorted_next)
        return true;
    for (int i = 1; lua_getupvalue(L, f, i); i++) {
        bool ud = lua_type(L, -1) == LUA_TUSERDATA;
        lua_pop(L, 1);
        if (ud)
            return true;
    }
    return false;
}

static void seal_function(lua_State *L, const seal_ctx *c, int depth)
{
    int f = lua_gettop(L);
    lua_pushvalue(L, f);
    if (lua_rawget(L, c->memo) != LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    lua_pushvalue(L, f);
    lua_pushboolean(L, 1);
    lua_rawset(L, c->memo);
    if (!c->walk)
        return;
    if (lua_iscfunction(L, f)) {
        if (has_c_state(L, f))
            raisef(L, "a helper keeps an iterator (or another function with changing state) made when the file "
                      "was loaded; it would carry state from one record to the next: create it inside the function "
                      "that uses it");
        return;
    }
    if (depth >= SEAL_DEPTH)
        raisef(L, "functions nested deeper than %d levels in a helper's upvalues cannot be reset between records",
               SEAL_DEPTH);
    luaL_checkstack(L, 12, "sealing helper state");
    for (int i = 1;; i++) {
        const char *name = lua_getupvalue(L, f, i);
        if (!name)
            break;
        /* an upvalue shared by several functions is handled once */
        lua_pushlightuserdata(L, lua_upvalueid(L, f, i));
        if (lua_rawget(L, c->memo) != LUA_TNIL) {
            lua_pop(L, 2);
            continue;
        }
        lua_pop(L, 1);
        lua_pushlightuserdata(L, lua_upvalueid(L, f, i));
        lua_pushboolean(L, 1);
        lua_rawset(L, c->memo);
        if (strcmp(name, "_ENV") != 0) { /* _ENV is the read-only environment itself */
            bool table = lua_type(L, -1) == LUA_TTABLE;
            seal_top(L, c, depth + 1);
            if (table) {
                lua_pushvalue(L, -1);
                lua_setupvalue(L, f, i);
            }
        }
        /* restore entry {f, i, value}: also for tables, which a helper could reassign */
        lua_createtable(L, 3, 0);
        lua_pushvalue(L, f);
        lua_rawseti(L, -2, 1);
        lua_pushinteger(L, i);
        lua_rawseti(L, -2, 2);
        lua_pushvalue(L, -2);
        lua_rawseti(L, -2, 3);
        lua_rawseti(L, c->list, (lua_Integer)lua_rawlen(L, c->list) + 1);
        lua_pop(L, 1);
    }
}

/* seals the value on the top of the stack (a table is replaced by its proxy); raises on
   nesting deeper than SEAL_DEPTH and on state that cannot be reset */
static void seal_top(lua_State *L, const seal_ctx *c, int depth)
{
    switch (lua_type(L, -1)) {
    case LUA_TTABLE: freeze_top(L, c, depth); break;
    case LUA_TFUNCTION: seal_function(L, c, depth); break;
    default: break;
    }
}

/* protected: 1 storage, 2 exports, 3 memo, 4 restore list, 5 walk; moves the sealed exports
   with text names into storage */
static int export_chunk(lua_State *L)
{
    seal_ctx c = {3, 4, lua_toboolean(L, 5)};
    lua_settop(L, 5);
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            lua_pop(L, 1);
            continue;
        }
        seal_top(L, &c, 0);
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, 1);
    }
    return 0;
}

/* protected: 1 the value to freeze; returns it frozen */
static int freeze_fn(lua_State *L)
{
    lua_settop(L, 1);
    lua_newtable(L);
    lua_newtable(L);
    seal_ctx c = {2, 3, false};
    lua_pushvalue(L, 1);
    seal_top(L, &c, 0);
    return 1;
}

int sandbox_freeze(lua_State *L)
{
    lua_pushcfunction(L, freeze_fn);
    lua_insert(L, -2);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        lua_pop(L, 1);
        lua_pushnil(L);
        return -1;
    }
    return 0;
}

void sandbox_restore(sandbox *sb)
{
    lua_State *L = sb->L;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &restore_key);
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    for (lua_Integer k = 1; k <= n; k++) {
        lua_rawgeti(L, -1, k);
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        int i = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
        lua_rawgeti(L, -2, 3);
        lua_setupvalue(L, -2, i);
        lua_pop(L, 2);
    }
    lua_pop(L, 1);
}

/* a message about a library or helper file starts with the file's name */
static void name_chunk(sandbox *sb, int chunk_id, strbuf *err)
{
    const char *name = chunk_id >= 0 && (size_t)chunk_id < sb->nchunk_names ? sb->chunk_names[chunk_id] : NULL;
    if (!name || yz_str_has_prefix(sb_str(err), name))
        return;
    char *why = yz_strdup(sb_str(err));
    sb_clear(err);
    sb_addf(err, "%s: %s", name, why);
    yz_free(why);
}

static int env_new(sandbox *sb, const char *const *srcs, const size_t *lens, const int *chunk_ids, size_t n,
                   size_t first_helper, strbuf *err)
{
    lua_State *L = sb->L;
    /* storage: the safe globals, then library exports */
    lua_newtable(L);
    int storage = lua_gettop(L);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &safe_key);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, storage);
    }
    lua_pop(L, 1);
    /* the environment rules see: an empty proxy */
    lua_newtable(L);
    int env = lua_gettop(L);
    lua_createtable(L, 1, 3);
    lua_pushvalue(L, storage);
    lua_rawseti(L, -2, 1);
    lua_pushvalue(L, storage);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, readonly_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, env);

    lua_newtable(L);
    int visited = lua_gettop(L);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &restore_key);
    int list = lua_gettop(L);
    for (size_t i = 0; i < n; i++) {
        if (sandbox_compile(sb, env, srcs[i], lens[i], chunk_ids[i], 1, err) != 0) {
            name_chunk(sb, chunk_ids[i], err);
            lua_settop(L, storage - 1);
            return -1;
        }
        uint64_t saved = sb->budget;
        sb->budget = SETUP_BUDGET;
        sb_status st = sandbox_call(sb, 0, 1, err);
        sb->budget = saved;
        if (st != SB_OK) {
            if (st == SB_UNKNOWN)
                sb_adds(err, "a library chunk read an unknown value while loading");
            name_chunk(sb, chunk_ids[i], err);
            lua_settop(L, storage - 1);
            return -1;
        }
        if (lua_type(L, -1) == LUA_TTABLE) {
            int exports = lua_gettop(L);
            lua_pushcfunction(L, export_chunk);
            lua_pushvalue(L, storage);
            lua_pushvalue(L, exports);
            lua_pushvalue(L, visited);
            lua_pushvalue(L, list);
            lua_pushboolean(L, i >= first_helper);
            sb->budget = SETUP_BUDGET;
            st = sandbox_call(sb, 5, 0, err);
            sb->budget = saved;
            if (st != SB_OK) {
                name_chunk(sb, chunk_ids[i], err);
                lua_settop(L, storage - 1);
                return -1;
            }
        } else if (lua_type(L, -1) != LUA_TNIL) {
            sb_addf(err, "library chunk %d must return a table of functions", chunk_ids[i]);
            lua_settop(L, storage - 1);
            return -1;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 2); /* visited, list */
    lua_remove(L, storage);
    return 0;
}

int sandbox_env_new(sandbox *sb, const char *const *srcs, const size_t *lens, const int *chunk_ids, size_t n,
                    size_t first_helper, strbuf *err)
{
    /* loading the library is not a record's work: it does not wear the state out */
    size_t mark_peak = sb->mark_peak;
    int rc = env_new(sb, srcs, lens, chunk_ids, n, first_helper, err);
    sb->mark_peak = mark_peak;
    return rc;
}

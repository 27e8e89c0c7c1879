/* yz_sandlib.c: the safe global environment of a sandboxed state: the libraries rules may use,
 * deterministic pairs and tostring, wrappers that charge library work to the instruction budget,
 * read-only proxies, try and a guarded xpcall. */
#include "yz_sandbox_int.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
int sandlib_sorted_next(lua_State *L)
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
    lua_pushcclosure(L, sandlib_sorted_next, 3);
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

static lua_Integer c_step_limit(lua_State *L)
{
    return (lua_Integer)sandbox_of(L)->budget;
}

/* Charges a call its C work; past the budget of the whole call (64 steps per instruction), the
 * call stops as if its instructions had run out, and stays stopped. */
static void charge(lua_State *L, double steps)
{
    sandbox *sb = sandbox_of(L);
    if (!sb->limited)
        return;
    sb->c_steps += steps;
    if (sb->c_steps > (double)sb->budget * PATTERN_STEPS_PER_INSTRUCTION) {
        sb->budget_exceeded = true;
        sandbox_set_hook_count(L, sb, 1);
        sandbox_raisef(L, "the work of library calls exceeded the instruction budget of %llu", (unsigned long long)sb->budget);
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
    sandbox *sb = sandbox_of(L);
    if ((lua_Unsigned)n > sb->mem_cap / (l + lsep)) {
        /* it could never fit: stop as the allocator would, without trying */
        if (sb->limited)
            sb->mem_exceeded = true;
        return sandbox_raisef(L, "string.rep: %lld copies of %zu bytes do not fit in the memory cap of %zu MiB",
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
        return sandbox_raisef(L,
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
        return sandbox_raisef(L, "table.%s: a list of %lld elements is more than a rule may shift in one call (at most %lld)",
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
        return sandbox_raisef(L, "table.move: %llu elements are more than a rule may move in one call (at most %lld)",
                          (unsigned long long)((lua_Unsigned)e - (lua_Unsigned)f) + 1, (long long)c_step_limit(L));
    if (e >= f)
        charge(L, ((double)e - (double)f + 1) * PATTERN_STEPS_PER_INSTRUCTION);
    int nargs = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, nargs, 1);
    return 1;
}

int sandlib_readonly_newindex(lua_State *L)
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
void sandlib_push_frozen(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    lua_newtable(L);
    /* remember it as frozen, so it is never copied again */
    lua_rawgetp(L, LUA_REGISTRYINDEX, &sandbox_frozen_key);
    lua_pushvalue(L, -2);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_createtable(L, 0, 5);
    lua_pushvalue(L, idx);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, sandlib_readonly_newindex);
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
    if (sandbox_stopped(sandbox_of(L)))
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

void sandlib_open(lua_State *L)
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
    lua_rawsetp(L, LUA_REGISTRYINDEX, &sandbox_frozen_key);

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
    sandlib_push_frozen(L, scopy);
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
    sandlib_push_frozen(L, -1);
    lua_setfield(L, safe, "table");
    lua_pop(L, 1);
    copy_fields(L, m, mathf); /* no random: rules must be deterministic */
    sandlib_push_frozen(L, -1);
    lua_setfield(L, safe, "math");
    lua_pop(L, 1);
    copy_fields(L, u, utf8f);
    sandlib_push_frozen(L, -1);
    lua_setfield(L, safe, "utf8");
    lua_pop(L, 1);

    lua_rawsetp(L, LUA_REGISTRYINDEX, &sandbox_safe_key);
    lua_settop(L, g - 1);
    /* the restore list for helper upvalues */
    lua_newtable(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &sandbox_restore_key);
}

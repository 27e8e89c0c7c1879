/* yz_sandenv.c: the read-only environments rules run in (the safe globals and library exports),
 * and what helper files keep between records: sealed into read-only copies, upvalues restored
 * after every record. */
#include "yz_sandbox_int.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>

#define SETUP_BUDGET 50000000 /* instructions allowed to run a library or helper chunk */

void sandbox_add_global(sandbox *sb, const char *name)
{
    lua_State *L = sb->L;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &sandbox_safe_key);
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
    lua_rawgetp(L, LUA_REGISTRYINDEX, &sandbox_frozen_key);
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
        sandbox_raisef(L, "a table nested deeper than %d levels cannot be made read-only; flatten it", SEAL_DEPTH);
    luaL_checkstack(L, 12, "sealing helper state");
    lua_newtable(L);
    int copy = lua_gettop(L);
    sandlib_push_frozen(L, copy);
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

/* a C function whose upvalues change as it runs (an iterator) */
static bool has_c_state(lua_State *L, int f)
{
    if (lua_tocfunction(L, f) == sandlib_sorted_next)
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
            sandbox_raisef(L, "a helper keeps an iterator (or another function with changing state) made when the file "
                      "was loaded; it would carry state from one record to the next: create it inside the function "
                      "that uses it");
        return;
    }
    if (depth >= SEAL_DEPTH)
        sandbox_raisef(L, "functions nested deeper than %d levels in a helper's upvalues cannot be reset between records",
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
    lua_rawgetp(L, LUA_REGISTRYINDEX, &sandbox_restore_key);
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
    lua_rawgetp(L, LUA_REGISTRYINDEX, &sandbox_safe_key);
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
    lua_pushcfunction(L, sandlib_readonly_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, env);

    lua_newtable(L);
    int visited = lua_gettop(L);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &sandbox_restore_key);
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

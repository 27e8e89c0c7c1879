/* yz_view.c: read-only Lua views of records and parameters. */
#include "yz_view.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <string.h>

#include "yz_sandbox.h"

static char rv_meta_key; /* registry: metatable of record views */
static char pv_meta_key; /* registry: metatable of parameter views */

typedef struct rview {
    uint32_t gen;
    const yval *v;
} rview;

static viewctx *ctx_of(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

static readent *log_read(viewctx *c, rl_kind kind, int index, const yval *obj, const snode *child, const yval *val)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 256;
        c->log = yz_realloc(c->log, c->cap * sizeof *c->log);
    }
    readent *e = &c->log[c->n++];
    e->kind = (uint8_t)kind;
    e->index = index;
    e->group = -1;
    e->obj = obj;
    e->child = child;
    e->val = val;
    return e;
}

static void push_view(lua_State *L, viewctx *c, const yval *v)
{
    rview *rv = lua_newuserdatauv(L, sizeof *rv, 0);
    rv->gen = c->gen;
    rv->v = v;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &rv_meta_key);
    lua_setmetatable(L, -2);
}

static void push_scalar(lua_State *L, const yj *j)
{
    int64_t iv;
    switch (yj_typeof(j)) {
    case YJ_STRING: lua_pushstring(L, yj_str(j)); break;
    case YJ_NUMBER:
        if (yj_is_int(j, &iv))
            lua_pushinteger(L, (lua_Integer)iv);
        else
            lua_pushnumber(L, yj_num(j));
        break;
    case YJ_BOOL: lua_pushboolean(L, yj_bool(j)); break;
    default: lua_pushnil(L); break;
    }
}

/* pushes a present value: scalars as Lua values, objects and arrays as views */
static void push_value(lua_State *L, viewctx *c, const yval *v)
{
    yj_type t = yj_typeof(v->json);
    if (t == YJ_OBJECT || t == YJ_ARRAY) {
        push_view(L, c, v);
        return;
    }
    push_scalar(L, v->json);
}

static const yval *check_view(lua_State *L, viewctx *c)
{
    rview *rv = lua_touserdata(L, 1);
    if (!rv)
        luaL_error(L, "not a record view");
    if (rv->gen != c->gen)
        luaL_error(L, "a view of an earlier record was kept; rules may not keep state between records");
    return rv->v;
}

static int get_object_field(lua_State *L, viewctx *c, const yval *v, const char *key, size_t kl, bool raise)
{
    const snode *child = snode_child(v->sn, key, kl);
    if (!child) {
        strbuf *p = &c->tmp;
        sb_clear(p);
        yval_path(v, p);
        luaL_where(L, 1);
        lua_pushfstring(L, "the record has no field '%s%s%s' (see schemas/applicant-record.v1.schema.json)",
                        p->len ? p->buf : "", p->len ? "." : "", key);
        lua_concat(L, 2);
        return lua_error(L);
    }
    const yval *slot = v->kids[child->pos];
    if (!slot) {
        log_read(c, RL_ABSENT, -1, v, child, NULL);
        if (raise)
            return sandbox_raise_unknown(L);
        lua_pushnil(L);
        lua_pushboolean(L, 0);
        return 2;
    }
    if (yj_typeof(slot->json) != YJ_OBJECT && yj_typeof(slot->json) != YJ_ARRAY)
        log_read(c, RL_FIELD, -1, v, child, slot);
    push_value(L, c, slot);
    if (raise)
        return 1;
    lua_pushboolean(L, 1);
    return 2;
}

static int get_array_item(lua_State *L, viewctx *c, const yval *v, lua_Integer i, bool raise)
{
    if (i < 1 || (uint64_t)i > v->n) {
        lua_pushnil(L);
        if (raise)
            return 1;
        lua_pushboolean(L, 1);
        return 2;
    }
    const yval *item = v->kids[i - 1];
    if (!item) {
        log_read(c, RL_ABSENT, (int32_t)(i - 1), v, NULL, NULL);
        if (raise)
            return sandbox_raise_unknown(L);
        lua_pushnil(L);
        lua_pushboolean(L, 0);
        return 2;
    }
    if (yj_typeof(item->json) != YJ_OBJECT && yj_typeof(item->json) != YJ_ARRAY)
        log_read(c, RL_FIELD, (int32_t)(i - 1), v, NULL, item);
    push_value(L, c, item);
    if (raise)
        return 1;
    lua_pushboolean(L, 1);
    return 2;
}

static int rv_index(lua_State *L)
{
    viewctx *c = ctx_of(L);
    const yval *v = check_view(L, c);
    if (v->sn->type == ST_OBJECT) {
        size_t kl;
        const char *key = lua_tolstring(L, 2, &kl);
        if (!key || lua_type(L, 2) != LUA_TSTRING)
            return luaL_error(L, "record fields are named by text");
        return get_object_field(L, c, v, key, kl, true);
    }
    if (!lua_isinteger(L, 2))
        return luaL_error(L, "a list in the record is indexed by whole numbers (1, 2, ...)");
    return get_array_item(L, c, v, lua_tointeger(L, 2), true);
}

static int rv_newindex(lua_State *L)
{
    return luaL_error(L, "the record is read-only");
}

static int rv_len(lua_State *L)
{
    viewctx *c = ctx_of(L);
    const yval *v = check_view(L, c);
    if (v->sn->type != ST_ARRAY)
        return luaL_error(L, "# applies to lists of the record, not to '%s'", v->sn->path);
    lua_pushinteger(L, (lua_Integer)v->n);
    return 1;
}

/* iteration: upvalues 1 = ctx, 2 = the view */
static int rv_next(lua_State *L)
{
    viewctx *c = ctx_of(L);
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_replace(L, 1);
    const yval *v = check_view(L, c);
    if (v->sn->type == ST_ARRAY) {
        lua_Integer i = lua_isnil(L, 2) ? 1 : lua_tointeger(L, 2) + 1;
        if ((uint64_t)i > v->n)
            return 0;
        lua_pushinteger(L, i);
        get_array_item(L, c, v, i, true);
        return 2;
    }
    /* objects: present fields in key order */
    size_t start = 0;
    if (!lua_isnil(L, 2)) {
        size_t kl;
        const char *k = lua_tolstring(L, 2, &kl);
        const snode *cur = k ? snode_child(v->sn, k, kl) : NULL;
        start = cur ? (size_t)cur->pos + 1 : v->n;
    }
    for (size_t i = start; i < v->n; i++) {
        if (!v->kids[i])
            continue;
        lua_pushstring(L, v->sn->props[i]->key);
        get_object_field(L, c, v, v->sn->props[i]->key, strlen(v->sn->props[i]->key), true);
        return 2;
    }
    return 0;
}

static int rv_pairs(lua_State *L)
{
    viewctx *c = ctx_of(L);
    check_view(L, c);
    lua_pushlightuserdata(L, c);
    lua_pushvalue(L, 1);
    lua_pushcclosure(L, rv_next, 2);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int rv_tostring(lua_State *L)
{
    viewctx *c = ctx_of(L);
    const yval *v = check_view(L, c);
    strbuf *p = &c->tmp;
    sb_clear(p);
    yval_path(v, p);
    lua_pushfstring(L, "record%s%s", p->len ? "." : "", p->len ? p->buf : "");
    return 1;
}

/* field(view, key) -> value, true | nil, false (absent): reads without raising "unknown" */
static int field_fn(lua_State *L)
{
    viewctx *c = ctx_of(L);
    if (lua_type(L, 1) != LUA_TUSERDATA || !lua_getmetatable(L, 1))
        return luaL_error(L, "field: expected a part of the record, got %s", luaL_typename(L, 1));
    lua_rawgetp(L, LUA_REGISTRYINDEX, &rv_meta_key);
    int ok = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (!ok)
        return luaL_error(L, "field: expected a part of the record");
    const yval *v = check_view(L, c);
    if (v->sn->type == ST_OBJECT) {
        size_t kl;
        const char *key = luaL_checklstring(L, 2, &kl);
        return get_object_field(L, c, v, key, kl, false);
    }
    return get_array_item(L, c, v, luaL_checkinteger(L, 2), false);
}

/* ---- parameters ---- */

typedef struct pview {
    uint32_t gen;
    const ppolicy *pol;
    char as_of[11];
} pview;

/* P.name of a regional parameter: the value of the region group of the record's region field
 * (read like a field: absent makes the rule unknown and names the field) */
static int pv_regional(lua_State *L, viewctx *c, const pview *pv, const pparam *p)
{
    const yval *obj;
    const snode *child;
    const yval *code = c->root ? yval_find(c->root, p->region_field, &obj, &child) : NULL;
    if (!code) {
        if (obj)
            log_read(c, RL_ABSENT, -1, obj, child, NULL);
        return sandbox_raise_unknown(L);
    }
    log_read(c, RL_FIELD, -1, code->parent, code->sn, code);
    const char *s = yj_str(code->json);
    const pregion *g = s ? param_region_for(p, s) : NULL;
    if (!g)
        return luaL_error(L, "parameter P.%s has no value for region %s (%s): add its group to the parameter's regions:",
                          p->id, s ? s : "?", p->region_field);
    readent *e = log_read(c, RL_PARAM, p->index, NULL, NULL, code);
    e->group = (int32_t)(g - p->regions);
    const yj *v = param_region_value(p, g, pv->as_of);
    if (!v) {
        if (!p->nvalues)
            return luaL_error(L, "parameter P.%s has no value: the province must set it", p->id);
        return luaL_error(L, "parameter P.%s has no value on this date (its first value is from %s)", p->id,
                          p->values[0].from ? p->values[0].from : "?");
    }
    view_push_json(L, v);
    if (lua_type(L, -1) == LUA_TTABLE)
        sandbox_freeze(L);
    return 1;
}

static int pv_index(lua_State *L)
{
    viewctx *c = ctx_of(L);
    pview *pv = lua_touserdata(L, 1);
    const char *name = luaL_checkstring(L, 2);
    const pparam *p = policy_param(pv->pol, name);
    if (!p)
        return luaL_error(L, "unknown parameter P.%s", name);
    if (p->region_field)
        return pv_regional(L, c, pv, p);
    log_read(c, RL_PARAM, p->index, NULL, NULL, NULL);
    lua_getiuservalue(L, 1, 1);
    if (lua_rawgeti(L, -1, p->index + 1) == LUA_TNIL) {
        if (!p->nvalues)
            return luaL_error(L, "parameter P.%s has no value: the province must set it", name);
        return luaL_error(L, "parameter P.%s has no value on this date (its first value is from %s)", name,
                          p->values[0].from ? p->values[0].from : "?");
    }
    return 1;
}

void view_push_json(lua_State *L, const yj *v)
{
    switch (yj_typeof(v)) {
    case YJ_ARRAY: {
        lua_createtable(L, (int)yj_size(v), 0);
        lua_Integer i = 1;
        for (const yj *x = yj_first(v); x; x = yj_next(x)) {
            view_push_json(L, x);
            lua_rawseti(L, -2, i++);
        }
        break;
    }
    case YJ_OBJECT:
        lua_createtable(L, 0, (int)yj_size(v));
        for (const yj *x = yj_first(v); x; x = yj_next(x)) {
            view_push_json(L, x);
            lua_setfield(L, -2, yj_key(x));
        }
        break;
    default: push_scalar(L, v); break;
    }
}

static int pv_tostring(lua_State *L)
{
    lua_pushliteral(L, "parameters");
    return 1;
}

void view_push_params(lua_State *L, viewctx *c, const ppolicy *pol, const char *as_of)
{
    pview *pv = lua_newuserdatauv(L, sizeof *pv, 1);
    pv->gen = c->gen;
    pv->pol = pol;
    snprintf(pv->as_of, sizeof pv->as_of, "%s", as_of);
    lua_createtable(L, (int)pol->nparams, 0);
    for (size_t i = 0; i < pol->nparams; i++) {
        const yj *val = param_value_at(&pol->params[i], as_of);
        if (!val || pol->params[i].region_field)
            continue;
        view_push_json(L, val);
        /* a list or map parameter is read-only at every depth: the view lives for every record
           decided on this date, so a change would reach the next one */
        if (lua_type(L, -1) == LUA_TTABLE)
            sandbox_freeze(L);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setiuservalue(L, -2, 1);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &pv_meta_key);
    lua_setmetatable(L, -2);
}

void view_push_record(lua_State *L, viewctx *c, const yval *root)
{
    c->gen++;
    c->root = root;
    push_view(L, c, root);
}

void view_init(sandbox *sb, viewctx *c)
{
    lua_State *L = sb->L;
    lua_createtable(L, 0, 7);
    static const luaL_Reg rv_funcs[] = {{"__index", rv_index},   {"__newindex", rv_newindex},
                                        {"__len", rv_len},       {"__pairs", rv_pairs},
                                        {"__tostring", rv_tostring}, {NULL, NULL}};
    lua_pushlightuserdata(L, c);
    luaL_setfuncs(L, rv_funcs, 1);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &rv_meta_key);

    lua_createtable(L, 0, 4);
    static const luaL_Reg pv_funcs[] = {{"__index", pv_index}, {"__newindex", rv_newindex}, {"__tostring", pv_tostring},
                                        {NULL, NULL}};
    lua_pushlightuserdata(L, c);
    luaL_setfuncs(L, pv_funcs, 1);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &pv_meta_key);

    lua_pushlightuserdata(L, c);
    lua_pushcclosure(L, field_fn, 1);
    sandbox_add_global(sb, "field");
}

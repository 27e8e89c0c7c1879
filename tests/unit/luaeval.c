/* luaeval.c: evaluates Lua expressions in a sandbox with the rule library, for unit tests. */
#include <dirent.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>

#include "unit.h"
#include "yz_record.h"
#include "yz_sandbox.h"
#include "yz_view.h"

static sandbox *sb;
static viewctx vc;
static int env_ref = LUA_NOREF;
static char result[4096];
static const char *names[64];

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void init(void)
{
    sb = sandbox_new(NULL, NULL);
    view_init(sb, &vc);
    DIR *d = opendir("rules/lib");
    if (!d) {
        fprintf(stderr, "unit: run from the project root (rules/lib not found)\n");
        exit(2);
    }
    char *files[64];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 64)
        if (yz_str_has_suffix(de->d_name, ".lua"))
            files[n++] = yz_path_join("rules/lib", de->d_name);
    closedir(d);
    qsort(files, n, sizeof *files, cmp);
    const char *srcs[64];
    size_t lens[64];
    int ids[64];
    char *data[64];
    for (size_t i = 0; i < n; i++) {
        yz_read_file(files[i], 1 << 20, &data[i], &lens[i]);
        srcs[i] = data[i];
        ids[i] = (int)i;
        names[i] = files[i];
    }
    sb->chunk_names = names;
    sb->nchunk_names = n;
    strbuf err = STRBUF_INIT;
    if (sandbox_env_new(sb, srcs, lens, ids, n, n, &err) != 0) {
        fprintf(stderr, "unit: library failed to load: %s\n", err.buf);
        exit(2);
    }
    env_ref = luaL_ref(sb->L, LUA_REGISTRYINDEX);
    for (size_t i = 0; i < n; i++)
        yz_free(data[i]);
    sb_free(&err);
}

/* evaluates with r bound to a record given as JSON (or none) and as_of */
const char *lua_eval_with(const char *expr, const char *record_json, const char *as_of);
const char *lua_eval_with(const char *expr, const char *record_json, const char *as_of)
{
    if (!sb)
        init();
    lua_State *L = sb->L;
    yz_record *rec = NULL;
    yz_diags d;
    yz_diags_init(&d);
    lua_rawgeti(L, LUA_REGISTRYINDEX, env_ref);
    if (record_json) {
        if (yz_record_parse(record_json, strlen(record_json), "unit", &rec, &d) != YZ_OK) {
            snprintf(result, sizeof result, "bad record: %s", d.n ? d.items[0].message : "?");
            yz_diags_free(&d);
            lua_pop(L, 1);
            return result;
        }
        view_push_record(L, &vc, rec->root);
        sandbox_env_set(sb, -2, "r");
    }
    lua_pushstring(L, as_of ? as_of : "2025-06-15");
    sandbox_env_set(sb, -2, "as_of");
    strbuf src = STRBUF_INIT, msg = STRBUF_INIT;
    sandbox_leaf_source(expr, &src);
    if (sandbox_compile(sb, -1, src.buf, src.len, 0, 1, &msg) != 0) {
        snprintf(result, sizeof result, "syntax: %s", msg.buf);
    } else {
        vc.n = 0;
        /* r, P and as_of as the evaluator passes them */
        lua_getmetatable(L, -2);
        lua_rawgeti(L, -1, 1);
        lua_getfield(L, -1, "r");
        lua_pushnil(L);
        lua_getfield(L, -3, "as_of");
        lua_remove(L, -4);
        lua_remove(L, -4);
        sb_status st = sandbox_call(sb, 3, 1, &msg);
        if (st == SB_OK) {
            switch (lua_type(L, -1)) {
            case LUA_TNIL: snprintf(result, sizeof result, "nil"); break;
            case LUA_TBOOLEAN: snprintf(result, sizeof result, "%s", lua_toboolean(L, -1) ? "true" : "false"); break;
            case LUA_TNUMBER:
            case LUA_TSTRING: snprintf(result, sizeof result, "%s", lua_tostring(L, -1)); break;
            default: snprintf(result, sizeof result, "<%s>", luaL_typename(L, -1)); break;
            }
            lua_pop(L, 1);
        } else if (st == SB_UNKNOWN) {
            snprintf(result, sizeof result, "unknown");
        } else {
            snprintf(result, sizeof result, "%s: %s",
                     st == SB_BUDGET ? "budget" : st == SB_MEMORY ? "memory" : "error", msg.buf);
        }
    }
    lua_pop(L, 1);
    sandbox_restore(sb);
    sb_free(&src);
    sb_free(&msg);
    yz_record_free(rec);
    yz_diags_free(&d);
    return result;
}

const char *lua_eval(const char *expr)
{
    return lua_eval_with(expr, NULL, NULL);
}

/* test_sandbox.c: what a rule can and cannot do: no files, OS, network, clock, randomness,
 * bytecode or shared state; limits that stop runaway rules; deterministic output. */
#include <lauxlib.h>
#include <lua.h>

#include "unit.h"
#include "yz_sandbox.h"

const char *lua_eval_with(const char *expr, const char *record_json, const char *as_of);

static bool starts(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* ---- helpers: what they keep cannot carry from one record to the next ---- */

static char hresult[512];
static const char *const helper_names[] = {"helpers.lua"};

static sandbox *helper_sandbox(const char *src, strbuf *err)
{
    sandbox *sb = sandbox_new(NULL, NULL);
    sb->chunk_names = helper_names;
    sb->nchunk_names = 1;
    const char *srcs[] = {src};
    size_t lens[] = {strlen(src)};
    int ids[] = {0};
    if (sandbox_env_new(sb, srcs, lens, ids, 1, 0, err) != 0) {
        sandbox_free(sb);
        return NULL;
    }
    return sb;
}

/* one "record": evaluates expr in the environment on the top of the stack, then restores */
static const char *helper_eval(sandbox *sb, const char *expr)
{
    lua_State *L = sb->L;
    strbuf src = STRBUF_INIT, msg = STRBUF_INIT;
    sandbox_leaf_source(expr, &src);
    if (sandbox_compile(sb, -1, src.buf, src.len, 0, 1, &msg) != 0) {
        snprintf(hresult, sizeof hresult, "syntax: %s", msg.buf);
    } else {
        lua_pushnil(L);
        lua_pushnil(L);
        lua_pushnil(L);
        if (sandbox_call(sb, 3, 1, &msg) == SB_OK) {
            snprintf(hresult, sizeof hresult, "%s", lua_isnil(L, -1) ? "nil" : luaL_tolstring(L, -1, NULL));
            lua_settop(L, 1);
        } else {
            snprintf(hresult, sizeof hresult, "error: %s", msg.buf);
        }
    }
    sandbox_restore(sb);
    sb_free(&src);
    sb_free(&msg);
    return hresult;
}

static void test_helper_state(void)
{
    static const char helper[] =
        "local M = {}\n"
        "local state = {inner = {n = 0}}\n"
        "function M.bump() state.inner.n = state.inner.n + 1 return state.inner.n end\n"
        "local box = {}\n"
        "function M.reassign() box = {n = (box.n or 0) + 1} return box.n end\n"
        "local count = 0\n"
        "function M.count() count = count + 1 return count end\n"
        "M.T = {list = {10, 20, 30}, map = {b = 1, a = 2}}\n"
        "local cyc = {} cyc.self = cyc M.cyc = cyc\n"
        "local base = {x = {1}} M.obj = setmetatable({}, {__index = base})\n"
        "return M\n";
    strbuf err = STRBUF_INIT;
    sandbox *sb = helper_sandbox(helper, &err);
    CHECK(sb != NULL);
    if (!sb) {
        fprintf(stderr, "  %s\n", err.buf);
        sb_free(&err);
        return;
    }
    /* nested tables are read-only too, not only the outer one */
    CHECK(strstr(helper_eval(sb, "bump()"), "cannot assign 'n'"));
    /* an upvalue reassigned during one record is back for the next */
    CHECK_STR(helper_eval(sb, "reassign()"), "1");
    CHECK_STR(helper_eval(sb, "reassign()"), "1");
    CHECK_STR(helper_eval(sb, "count() + count()"), "3");
    CHECK_STR(helper_eval(sb, "count()"), "1");
    /* read-only copies still read like the tables they copy */
    CHECK_STR(helper_eval(sb, "#T.list"), "3");
    CHECK_STR(helper_eval(sb, "T.list[2]"), "20");
    CHECK_STR(helper_eval(sb, "(function() local s = '' for k, v in pairs(T.map) do s = s .. k .. v end return s end)()"),
              "a2b1");
    CHECK_STR(helper_eval(sb, "(function() local n = 0 for _, v in ipairs(T.list) do n = n + v end return n end)()"), "60");
    CHECK_STR(helper_eval(sb, "table.concat(T.list, ',')"), "10,20,30");
    CHECK(strstr(helper_eval(sb, "(function() T.list[1] = 0 end)()"), "read-only"));
    CHECK(strstr(helper_eval(sb, "table.insert(T.list, 40)"), "read-only"));
    CHECK_STR(helper_eval(sb, "rawget(T.list, 1)"), "nil");
    CHECK_STR(helper_eval(sb, "getmetatable(T.list)"), "false");
    CHECK_STR(helper_eval(sb, "cyc.self == cyc and cyc.self.self == cyc"), "true");
    CHECK_STR(helper_eval(sb, "obj.x[1]"), "1");
    CHECK(strstr(helper_eval(sb, "(function() obj.x[1] = 2 end)()"), "read-only"));
    CHECK_STR(helper_eval(sb, "obj.x[1]"), "1");
    sandbox_free(sb);

    /* state a restore cannot reach is refused when the helpers load, with the file named */
    sb_clear(&err);
    sb = helper_sandbox("local it = ('a b'):gmatch('%a') return {w = function() return it() end}", &err);
    CHECK(sb == NULL && strstr(err.buf, "helpers.lua: a helper keeps an iterator"));
    sandbox_free(sb);
    sb_clear(&err);
    sb = helper_sandbox("local nx = pairs({a = 1, b = 2}) return {w = function() return nx() end}", &err);
    CHECK(sb == NULL && strstr(err.buf, "keeps an iterator"));
    sandbox_free(sb);
    sb_clear(&err);
    sb = helper_sandbox("local t = {} for i = 1, 100 do t = {t} end return {t = t}", &err);
    CHECK(sb == NULL && strstr(err.buf, "nested deeper than"));
    sandbox_free(sb);
    sb_clear(&err);
    sb = helper_sandbox("local f = function() return 1 end for i = 1, 100 do local g = f f = function() return g() end end "
                        "return {f = f}", &err);
    CHECK(sb == NULL && strstr(err.buf, "nested deeper than"));
    sandbox_free(sb);
    sb_free(&err);
}

void test_sandbox(void)
{
    /* nothing that reaches outside */
    static const char *const absent[] = {"os", "io", "require", "package", "debug", "load", "loadfile", "dofile",
                                         "loadstring", "collectgarbage", "print", "coroutine", "string.dump",
                                         "math.random", "math.randomseed", "rawset", "next", "_G"};
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++) {
        char expr[64];
        snprintf(expr, sizeof expr, "%s == nil", absent[i]);
        const char *r = lua_eval(expr);
        if (strcmp(r, "true") != 0)
            fprintf(stderr, "  (%s is reachable: %s)\n", absent[i], r);
        CHECK_STR(r, "true");
    }
    /* the string metatable cannot be reached to patch string methods */
    CHECK_STR(lua_eval("getmetatable('')"), "false");
    CHECK_STR(lua_eval("getmetatable(string)"), "false");
    CHECK(starts(lua_eval("(function() string.upper = nil end)()"), "error: "));
    CHECK(starts(lua_eval("setmetatable(string, {})"), "error: "));
    /* globals cannot be created or changed */
    CHECK(strstr(lua_eval("(function() leak = 1 end)()"), "cannot assign 'leak'"));
    CHECK(strstr(lua_eval("(function() age = nil end)()"), "cannot assign 'age'"));
    /* _ENV cannot be replaced (it is a constant local in every condition) */
    CHECK(starts(lua_eval("(function() _ENV = {} end)()"), "syntax: "));
    /* finalizers would run during another record */
    CHECK(strstr(lua_eval("setmetatable({}, {__gc = function() end})"), "__gc"));

    /* limits */
    CHECK(starts(lua_eval("(function() while true do end end)()"), "budget: "));
    CHECK(starts(lua_eval("(function() local ok = pcall(function() while true do end end) return true end)()"), "budget: "));
    CHECK(starts(lua_eval("string.rep('x', 1 << 30)"), "memory: "));
    CHECK(starts(lua_eval("(function() local t = {} for i = 1, 1e9 do t[i] = {i} end end)()"), "memory: ") ||
          starts(lua_eval("(function() local t = {} for i = 1, 1e9 do t[i] = {i} end end)()"), "budget: "));
    {
        const char *r = lua_eval("(function() local function f(n) return 1 + f(n + 1) end return f(1) end)()");
        CHECK(strstr(r, "stack overflow") || starts(r, "budget: ") || starts(r, "memory: "));
    }
    /* loops in C that the budget cannot see are refused before they start */
    CHECK_STR(lua_eval("string.rep('', math.maxinteger)"), "");
    CHECK_STR(lua_eval("string.rep('', math.maxinteger, '')"), "");
    CHECK(starts(lua_eval("string.rep('ab', 1 << 40, ',')"), "memory: "));
    CHECK(strstr(lua_eval("table.move({}, 1, math.maxinteger - 1, 2)"), "more than a rule may move"));
    CHECK(strstr(lua_eval("table.move({}, math.mininteger, -1, 1)"), "more than a rule may move"));
    CHECK(strstr(lua_eval("table.insert(setmetatable({}, {__len = function() return 1 << 60 end}), 1, 'x')"),
                 "more than a rule may shift"));
    CHECK(strstr(lua_eval("table.remove(setmetatable({}, {__len = function() return 1 << 60 end}), 1)"),
                 "more than a rule may shift"));
    CHECK(strstr(lua_eval("table.insert(setmetatable({}, {__len = function() return -5 end}), 1, 'x')"),
                 "more than a rule may shift"));
    CHECK(strstr(lua_eval("string.find(string.rep('a', 40), string.rep('a?', 40) .. string.rep('a', 40) .. 'b')"),
                 "may take up to"));
    CHECK(strstr(lua_eval("string.find(string.rep('a', 4000000), string.rep('a', 2000000) .. 'b', 1, true)"),
                 "may take up to"));
    CHECK(strstr(lua_eval("('x'):rep(100000):gsub('.-.-y', '')"), "string.gsub: this pattern"));
    CHECK(strstr(lua_eval("(function() for w in ('x'):rep(100000):gmatch('%a*%a*%a*y') do end end)()"),
                 "string.gmatch: this pattern"));
    CHECK(strstr(lua_eval("('x'):rep(5000):match('(%b())(%b())(%b())')"), "may take up to"));
    /* ... and so is the same work repeated: C work counts against the budget of the whole call */
    CHECK(strstr(lua_eval("(function() local s = ('a'):rep(200) for i = 1, 100000 do s:find('.-.-b') end end)()"),
                 "exceeded by the work of library functions"));
    CHECK(strstr(lua_eval("(function() local t = {} for i = 1, 5000 do t[i] = i end "
                          "for i = 1, 100000 do table.insert(t, 1, 0) table.remove(t, 1) end end)()"),
                 "exceeded by the work of library functions"));
    CHECK(strstr(lua_eval("(function() for i = 1, 1000000 do local s = ('x'):rep(1 << 20) end end)()"),
                 "memory cap of 64 MiB was exceeded"));
    /* ... while ordinary uses work as in Lua */
    CHECK_STR(lua_eval("(function() local t = {1, 2, 3} table.insert(t, 2, 9) return table.concat(t, ',') end)()"),
              "1,9,2,3");
    CHECK_STR(lua_eval("(function() local t = {1, 2, 3} table.insert(t, 4) return table.concat(t, ',') end)()"),
              "1,2,3,4");
    CHECK_STR(lua_eval("(function() local t = {1, 2, 3} local x = table.remove(t, 1) return x .. ':' .. table.concat(t, ',') end)()"),
              "1:2,3");
    CHECK_STR(lua_eval("(function() local t = {1, 2, 3} local x = table.remove(t) return x .. ':' .. table.concat(t, ',') end)()"),
              "3:1,2");
    CHECK_STR(lua_eval("table.remove({})"), "nil");
    CHECK(strstr(lua_eval("table.insert({1}, 5, 2)"), "position out of bounds"));
    CHECK(strstr(lua_eval("table.insert({1}, 1, 2, 3)"), "wrong number of arguments"));
    CHECK_STR(lua_eval("table.concat(table.move({1, 2, 3}, 1, 3, 2), ',')"), "1,1,2,3");
    CHECK_STR(lua_eval("('2025-06-15'):match('^(%d+)-(%d+)-(%d+)$')"), "2025");
    CHECK_STR(lua_eval("select(2, ('a b  c'):gsub('%s+', ' '))"), "2");
    CHECK_STR(lua_eval("('x.y'):find('.', 1, true)"), "2");
    CHECK_STR(lua_eval("('[a]'):find('[]]')"), "3");
    CHECK_STR(lua_eval("(function() local n = 0 for w in ('a b c'):gmatch('%a') do n = n + 1 end return n end)()"), "3");
    CHECK_STR(lua_eval("string.rep('ab', 3, ',')"), "ab,ab,ab");

    /* after all that, the state still works */
    CHECK_STR(lua_eval("age('1985-06-15', '2025-06-15')"), "40");

    /* error objects are never printed through their metamethods */
    CHECK(strstr(lua_eval("error(setmetatable({}, {__tostring = function() while true do end end}))"),
                 "raised an error that is a table"));
    CHECK(strstr(lua_eval("error({})"), "is a table"));
    /* a message that quotes text looking like a chunk reference with huge numbers (fuzz_rulelib) */
    CHECK(strstr(lua_eval("age('@0:1:9223372036854775807:', '2025-01-01')"), "expected a date"));

    /* deterministic: sorted pairs, no addresses */
    CHECK_STR(lua_eval("(function() local s = '' for k in pairs({b = 1, a = 2, c = 3, [2] = 0, [1] = 0}) do s = s .. tostring(k) end return s end)()"),
              "12abc");
    CHECK_STR(lua_eval("tostring({})"), "table");
    CHECK_STR(lua_eval("tostring(print)"), "nil");
    CHECK(strstr(lua_eval("string.format('%p', {})"), "address"));
    CHECK(strstr(lua_eval("string.format('%s', {})"), "argument #2 is a table"));
    CHECK_STR(lua_eval("string.format('%d元', 25)"), "25元");
    CHECK_STR(lua_eval("('abc'):upper()"), "ABC");

    /* the record is read-only, and a view kept from one record is dead in the next */
    const char *rec = "{\"schema\":1,\"id_number\":\"440106198506150025\",\"sex\":\"F\",\"birth_date\":\"1985-06-15\"}";
    CHECK(strstr(lua_eval_with("(function() r.sex = 'M' end)()", rec, NULL), "read-only"));
    CHECK_STR(lua_eval_with("r.sex", rec, NULL), "F");
    CHECK_STR(lua_eval_with("r.hukou.type", rec, NULL), "unknown");
    CHECK_STR(lua_eval_with("tostring(r)", rec, NULL), "record");
    CHECK(strstr(lua_eval_with("r.no_such_field", rec, NULL), "no field 'no_such_field'"));
    CHECK_STR(lua_eval_with("select(2, field(r, 'hukou'))", rec, NULL), "false");
    CHECK_STR(lua_eval_with("try(function() return r.hukou.type end)", rec, NULL), "false");

    test_helper_state();
}

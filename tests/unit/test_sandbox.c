/* test_sandbox.c: what a rule can and cannot do: no files, OS, network, clock, randomness,
 * bytecode or shared state; limits that stop runaway rules; deterministic output. */
#include "unit.h"

const char *lua_eval_with(const char *expr, const char *record_json, const char *as_of);

static bool starts(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
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
    /* after all that, the state still works */
    CHECK_STR(lua_eval("age('1985-06-15', '2025-06-15')"), "40");

    /* error objects are never printed through their metamethods */
    CHECK(strstr(lua_eval("error(setmetatable({}, {__tostring = function() while true do end end}))"),
                 "raised an error that is a table"));
    CHECK(strstr(lua_eval("error({})"), "is a table"));

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
}

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

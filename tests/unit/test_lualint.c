/* test_lualint.c: lint's lexical checks of Lua text: what they report, where, and what they
 * leave alone (locals, fields, table keys, strings and comments). */
#include "unit.h"
#include "yz_lualint.h"

static char found[2048];

static void collect(void *ctx, int line, size_t byte, yz_severity sev, const char *msg)
{
    (void)ctx;
    size_t n = strlen(found);
    /* "E1:5 first words of the message|" */
    char words[200];
    snprintf(words, sizeof words, "%s", msg);
    char *cut = strchr(words, ':');
    if (cut)
        *cut = '\0';
    snprintf(found + n, sizeof found - n, "%c%d:%zu %s|", sev == YZ_SEV_ERROR ? 'E' : 'W', line + 1, byte + 1, words);
}

static const char *lint(const char *src, bool amount)
{
    found[0] = '\0';
    lualint_text(src, strlen(src), amount, collect, NULL);
    return found;
}

void test_lualint(void)
{
    /* names the sandbox does not have, wherever they appear as globals */
    CHECK_STR(lint("os.execute('x')", false), "E1:1 'os' is not available to rules|");
    CHECK_STR(lint("x and\n  require('os')", false), "E2:3 'require' is not available to rules|");
    CHECK_STR(lint("load(string.dump(f))", false), "E1:1 'load' is not available to rules|E1:13 string.dump is not available|");
    CHECK_STR(lint("_G.print(1)", false), "E1:1 '_G' is not available to rules|");
    /* ... but not as locals, fields, keys, method names, in strings or in comments */
    CHECK_STR(lint("local load = 1 return load", false), "");
    CHECK_STR(lint("local function next(a) return a end return next(1)", false), "");
    CHECK_STR(lint("for _, io in ipairs(r.list) do end return r.os", false), "");
    CHECK_STR(lint("return {print = 1, os = 2}", false), "");
    CHECK_STR(lint("return 'os.exit()' -- io.open\n--[[ require ]] .. [==[ debug ]==]", false), "");
    CHECK_STR(lint("return function(os, io) return os + io end", false), "");
    /* assignments that would fail at run time */
    CHECK_STR(lint("x = 1", false), "E1:1 assigns to 'x', which is not a local|");
    CHECK_STR(lint("local x\nx = 1", false), "");
    CHECK_STR(lint("r.sex = 'M'", false), "E1:1 assigns to r.sex|");
    CHECK_STR(lint("string.upper = nil", false), "E1:1 assigns to string.upper|");
    CHECK_STR(lint("return r.sex == 'M'", false), "");
    CHECK_STR(lint("function f() end", false), "E1:10 defines the global function 'f'|");
    CHECK_STR(lint("local M = {} function M.f() end local function g() end return M", false), "");
    CHECK_STR(lint("setmetatable({}, {__gc = f})", false), "E1:19 a finalizer (__gc) is refused in rules|");
    /* loops that only the budget can end: the item is always undetermined */
    CHECK_STR(lint("while true do end", false), "E1:1 'while true do' with no break, return or error inside never ends|");
    CHECK_STR(lint("while true do if x then break end end", false), "");
    CHECK_STR(lint("while true do local function f() end return 1 end", false), "");
    CHECK_STR(lint("xpcall(f, function(e) while true do end end)", false), "E1:23 'while true do' with no break, return or error inside never ends|");
    CHECK_STR(lint("repeat local x = 1 until false", false), "E1:1 'repeat ... until false' with no break, return or error inside never ends|");
    CHECK_STR(lint("repeat local x = 1 until nil", false), "E1:1 'repeat ... until nil' with no break, return or error inside never ends|");
    CHECK_STR(lint("repeat if x then break end until false", false), "");
    CHECK_STR(lint("repeat x = x + 1 until false or x > 3", false), "E1:8 assigns to 'x', which is not a local|");
    CHECK_STR(lint("for i = 1, 3e8 do end", false), "E1:1 this loop runs 300000000 times, more than the 1000000 instructions a rule call may run|");
    CHECK_STR(lint("for i = -1e7, 0, 5 do end", false), "E1:1 this loop runs 2000001 times, more than the 1000000 instructions a rule call may run|");
    CHECK_STR(lint("for i = 1, 1000000 do end", false), "");
    CHECK_STR(lint("for i = 1e9, 1 do end", false), "");
    CHECK_STR(lint("for i = 1, 1e9, 0 do end", false), "");
    CHECK_STR(lint("for i = 1, n do end for i = 1, 1e9 * x do end", false), "");
    /* warnings */
    CHECK_STR(lint("getmetatable('').__index", false), "W1:1 getmetatable of a string gives false in rules|");
    CHECK_STR(lint("return _ENV.x", false), "W1:8 uses _ENV|");
    /* amounts */
    CHECK_STR(lint("P.min_wage_fen / 2", true), "W1:16 '/' gives a float, and an amount must be a whole number of fen|");
    CHECK_STR(lint("P.min_wage_fen // 2", true), "");
    CHECK_STR(lint("-100", true), "W1:1 a negative amount or number of months is refused|");
    CHECK_STR(lint("'100'", true), "W1:1 an amount is a number, not text|");
    CHECK_STR(lint("math.huge", true), "W1:1 math.huge is out of the range of an amount (0 to 10^12 fen) or of months (0 to 1200)|");
    CHECK_STR(lint("a / b", false), "");
}

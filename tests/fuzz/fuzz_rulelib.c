/* fuzz_rulelib.c: the rule library's dates, ID numbers and retirement dates, in Lua (rules/lib,
 * called through the sandbox as rules call them) and in C (yz_date.c, which validates records).
 *
 * The input is text: the first line names a library function, the next lines (up to four) are its
 * arguments ("nil", "true" and "false" as such, a Lua numeral as a number, anything else as text).
 * The function must return or raise an error within the sandbox's limits, and the same when it is
 * called again with the lines it runs counted for libFuzzer (which cannot see inside the Lua VM
 * otherwise; the checks below are counted too).  Then every argument is
 * checked as a date and as an ID number by C and by Lua, which must agree, and the first arguments
 * are checked against what the library documents: days_between agrees with C, months_between(a, b)
 * is the largest n with add_months(a, n) <= b, age is months_between // 12, add_days agrees with C,
 * and the retirement functions follow the 2025 reform's table. */
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "yz_date.h"
#include "yz_policy.h"
#include "yz_sandbox.h"
#include "yz_view.h"

#define MAX_ARGS 4

static char *home;
static yz_ruleset *rs; /* only for the library files */
static sandbox *sb;
static viewctx vc;
static int env_ref = LUA_NOREF;

static void cleanup(void)
{
    sandbox_free(sb);
    yz_free(vc.log);
    yz_ruleset_free(rs);
    yz_free(home);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    home = yz_home_default((*argv)[0]);
    yz_diags d;
    yz_diags_init(&d);
    if (yz_ruleset_load(home, "guangdong", &rs, &d) != YZ_OK) {
        fprintf(stderr, "fuzz_rulelib: cannot load a ruleset from %s\n", home);
        exit(2);
    }
    yz_diags_free(&d);
    /* the library as the evaluator loads it: views registered, then the chunks in file order */
    sb = sandbox_new(NULL, NULL);
    view_init(sb, &vc);
    const char *srcs[16];
    size_t lens[16];
    int ids[16];
    size_t n = rs->nlib < 16 ? rs->nlib : 16;
    for (size_t i = 0; i < n; i++) {
        const rfile *f = ruleset_file(rs, rs->lib_files[i]);
        srcs[i] = f->data;
        lens[i] = f->len;
        ids[i] = (int)i;
    }
    sb->chunk_names = (const char *const *)rs->lib_files;
    sb->nchunk_names = n;
    strbuf err = STRBUF_INIT;
    if (sandbox_env_new(sb, srcs, lens, ids, n, n, &err) != 0) {
        fprintf(stderr, "fuzz_rulelib: the library does not load: %s\n", err.buf);
        exit(2);
    }
    sb_free(&err);
    env_ref = luaL_ref(sb->L, LUA_REGISTRYINDEX);
    atexit(cleanup);
    return 0;
}

/* ---- calling the library ---- */

typedef struct arg {
    const char *s;
    size_t len;
} arg;

typedef struct result {
    sb_status st;
    char text[256]; /* the value as text ("nil", "true", "42", "2025-02-15"), or the error */
} result;

/* pushes an argument as rules would write it */
static void push_arg(lua_State *L, const arg *a, bool typed)
{
    if (typed) {
        if (a->len == 3 && !memcmp(a->s, "nil", 3)) {
            lua_pushnil(L);
            return;
        }
        if ((a->len == 4 && !memcmp(a->s, "true", 4)) || (a->len == 5 && !memcmp(a->s, "false", 5))) {
            lua_pushboolean(L, a->len == 4);
            return;
        }
        /* a numeral: lua_stringtonumber needs a NUL-terminated copy */
        char buf[64];
        if (a->len < sizeof buf && !memchr(a->s, '\0', a->len)) {
            memcpy(buf, a->s, a->len);
            buf[a->len] = '\0';
            if (lua_stringtonumber(L, buf))
                return;
        }
    }
    lua_pushlstring(L, a->s, a->len);
}

/* Lua lines run, for libFuzzer (an extra coverage map: the Lua VM is not instrumented, so without
   this the fuzzer would not see which branches of the library an input reaches) */
#define LUA_LINE_SLOTS 4096
__attribute__((section("__libfuzzer_extra_counters"))) static uint8_t lua_lines[LUA_LINE_SLOTS];

static void line_hook(lua_State *L, lua_Debug *ar)
{
    if (ar->event == LUA_HOOKCOUNT)
        luaL_error(L, "instruction budget exceeded");
    lua_getinfo(L, "S", ar);
    size_t h = ((uintptr_t)ar->source >> 4) * 2654435761u + (size_t)ar->currentline;
    uint8_t *c = &lua_lines[h % LUA_LINE_SLOTS];
    if (*c < 255)
        (*c)++;
}

/* Calls library function fn with the arguments (typed: as push_arg reads them, else as text)
 * through sandbox_call, as rules are run; or, traced, with a plain lua_pcall in the same
 * environment that records the lines run (then an error is the raw message). */
static void call_as(const char *fn, const arg *args, int nargs, bool typed, bool traced, result *out)
{
    lua_State *L = sb->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, env_ref);
    lua_getfield(L, -1, fn);
    lua_remove(L, -2);
    FUZZ_ASSERT(lua_type(L, -1) == LUA_TFUNCTION, "the library has no function %s", fn);
    for (int i = 0; i < nargs; i++)
        push_arg(L, &args[i], typed);
    strbuf msg = STRBUF_INIT;
    if (traced) {
        lua_sethook(L, line_hook, LUA_MASKLINE | LUA_MASKCOUNT, (int)YZ_DEFAULT_INSTRUCTIONS);
        int rc = lua_pcall(L, nargs, 1, 0);
        lua_sethook(L, NULL, 0, 0);
        out->st = rc == LUA_OK ? SB_OK : sandbox_is_unknown(L, -1) ? SB_UNKNOWN : SB_ERROR;
        if (rc != LUA_OK) {
            sb_adds(&msg, lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(not text)");
            lua_pop(L, 1);
        }
    } else {
        out->st = sandbox_call(sb, nargs, 1, &msg);
    }
    if (out->st == SB_OK) {
        switch (lua_type(L, -1)) {
        case LUA_TNIL: snprintf(out->text, sizeof out->text, "nil"); break;
        case LUA_TBOOLEAN: snprintf(out->text, sizeof out->text, "%s", lua_toboolean(L, -1) ? "true" : "false"); break;
        case LUA_TNUMBER:
        case LUA_TSTRING: snprintf(out->text, sizeof out->text, "%s", lua_tostring(L, -1)); break;
        default: snprintf(out->text, sizeof out->text, "<%s>", luaL_typename(L, -1)); break;
        }
        lua_pop(L, 1);
    } else {
        snprintf(out->text, sizeof out->text, "%s", msg.buf ? msg.buf : "");
    }
    sb_free(&msg);
    /* nothing a call does may outlive it */
    FUZZ_ASSERT(lua_gettop(L) == 0, "the stack holds %d values after %s", lua_gettop(L), fn);
    sandbox_restore(sb);
}

static void call(const char *fn, const arg *args, int nargs, bool typed, result *out)
{
    call_as(fn, args, nargs, typed, true, out);
}

/* the library's value of fn(args as text), which must not fail */
static const char *value(const char *fn, const arg *args, int nargs, result *r)
{
    call(fn, args, nargs, false, r);
    FUZZ_ASSERT(r->st == SB_OK, "%s(%.*s) failed: %s", fn, (int)args[0].len, args[0].s, r->text);
    return r->text;
}

static const char *const functions[] = {
    "date_parts", "is_date", "days_between", "add_days", "add_months", "add_years", "months_between",
    "years_between", "age", "date_min", "date_max", "within", "id_check_char", "id_problem", "id_valid",
    "id_birth_date", "id_sex", "id_region", "id_province", "id_age", "region_in", "retirement_delay_months",
    "retirement_date", "retirement_age_months", "mul_div", "round_half_up",
};

/* ---- what C and Lua must agree on ---- */

static void check_date(const arg *a)
{
    yz_date dt;
    bool c_ok = yz_date_parse(a->s, a->len, &dt);
    result r;
    const char *lua = value("is_date", a, 1, &r);
    FUZZ_ASSERT(!strcmp(lua, c_ok ? "true" : "false"), "is_date('%.*s') is %s in Lua but %s in C", (int)a->len, a->s,
                lua, c_ok ? "true" : "false");
    if (!c_ok)
        return;
    char buf[11];
    yz_date_format(dt, buf);
    FUZZ_ASSERT(!memcmp(buf, a->s, 10), "'%.10s' formats back as '%s'", a->s, buf);
    yz_date back = yz_days_to_date(yz_date_to_days(dt));
    FUZZ_ASSERT(!yz_date_cmp(back, dt), "'%.10s' does not survive days and back", a->s);
}

static void check_id(const arg *a)
{
    yz_id_info info;
    yz_id_error e = yz_id_parse(a->s, a->len, &info);
    result r;
    const char *p = value("id_problem", a, 1, &r);
    static const char *const problems[] = {
        [YZ_ID_OK] = "nil", [YZ_ID_LENGTH] = "身份号码应为18位", [YZ_ID_CHARS] = "前17位应为数字",
        [YZ_ID_BIRTH] = "第7至14位不是有效的出生日期", [YZ_ID_CHECK] = "校验码错误",
    };
    bool agree = !strcmp(p, problems[e]) || (e == YZ_ID_CHARS && !strcmp(p, "第18位应为数字或X"));
    FUZZ_ASSERT(agree, "ID '%.*s': Lua says %s, C says %s", (int)a->len, a->s, p, problems[e]);
    if (e != YZ_ID_OK)
        return;
    char birth[11];
    yz_date_format(info.birth, birth);
    FUZZ_ASSERT(!strcmp(value("id_birth_date", a, 1, &r), birth), "ID '%.18s': birth %s in Lua, %s in C", a->s, r.text,
                birth);
    char sex[2] = {info.sex, '\0'};
    FUZZ_ASSERT(!strcmp(value("id_sex", a, 1, &r), sex), "ID '%.18s': sex %s in Lua, %s in C", a->s, r.text, sex);
    FUZZ_ASSERT(!strcmp(value("id_region", a, 1, &r), info.region), "ID '%.18s': region %s in Lua, %s in C", a->s,
                r.text, info.region);
    char check[2] = {info.check, '\0'};
    FUZZ_ASSERT(!strcmp(value("id_check_char", a, 1, &r), check), "ID '%.18s': check %s in Lua, %s in C", a->s, r.text,
                check);
}

static bool parse_long(const arg *a, long *out)
{
    char buf[32];
    if (a->len == 0 || a->len >= sizeof buf || memchr(a->s, '\0', a->len))
        return false;
    memcpy(buf, a->s, a->len);
    buf[a->len] = '\0';
    char *end;
    *out = strtol(buf, &end, 10);
    return *end == '\0';
}

static long lua_long(const char *s)
{
    return strtol(s, NULL, 10);
}

/* the retirement table of rules/lib/retirement.lua, from the decision's text */
static void check_retirement(const arg *birth, yz_date b)
{
    static const struct {
        const char *name;
        int age, step, cap;
    } groups[] = {{"male", 60, 4, 36}, {"female_cadre", 55, 4, 36}, {"female_worker", 50, 2, 60}};
    for (size_t i = 0; i < YZ_ARRAY_LEN(groups); i++) {
        arg args[2] = {*birth, {groups[i].name, strlen(groups[i].name)}};
        long original = (long)(b.y + groups[i].age) * 12 + (b.m - 1);
        long delay = original < 2025L * 12 ? 0 : (original - 2025L * 12) / groups[i].step + 1;
        if (delay > groups[i].cap)
            delay = groups[i].cap;
        result r;
        long got = lua_long(value("retirement_delay_months", args, 2, &r));
        FUZZ_ASSERT(got == delay, "retirement_delay_months(%.10s, %s) = %ld, the table says %ld", birth->s,
                    groups[i].name, got, delay);
        got = lua_long(value("retirement_age_months", args, 2, &r));
        FUZZ_ASSERT(got == groups[i].age * 12 + delay, "retirement_age_months(%.10s, %s) = %ld", birth->s,
                    groups[i].name, got);
        /* the retirement date is the birth date plus that many months */
        char months[32];
        snprintf(months, sizeof months, "%ld", got);
        arg am[2] = {*birth, {months, strlen(months)}};
        result r2;
        call("add_months", am, 2, true, &r2);
        const char *date = value("retirement_date", args, 2, &r);
        FUZZ_ASSERT(r2.st == SB_OK && !strcmp(date, r2.text), "retirement_date(%.10s, %s) = %s, add_months gives %s",
                    birth->s, groups[i].name, date, r2.text);
    }
}

static void check_pair(const arg *a, const arg *b, yz_date da, yz_date db)
{
    result r;
    arg ab[2] = {*a, *b};
    long days = lua_long(value("days_between", ab, 2, &r));
    FUZZ_ASSERT(days == yz_date_to_days(db) - yz_date_to_days(da), "days_between(%.10s, %.10s) = %ld in Lua", a->s,
                b->s, days);
    long n = lua_long(value("months_between", ab, 2, &r));
    if (yz_date_cmp(db, da) < 0) {
        FUZZ_ASSERT(n == 0, "months_between(%.10s, %.10s) = %ld for an earlier date", a->s, b->s, n);
        return;
    }
    /* the largest n with add_months(a, n) <= b */
    for (long k = n; k <= n + 1; k++) {
        char ks[32];
        snprintf(ks, sizeof ks, "%ld", k);
        arg am[2] = {*a, {ks, strlen(ks)}};
        result r2;
        call("add_months", am, 2, true, &r2);
        FUZZ_ASSERT(r2.st == SB_OK, "add_months(%.10s, %ld) failed: %s", a->s, k, r2.text);
        if (strlen(r2.text) != 10)
            continue; /* past year 9999 */
        int c = memcmp(r2.text, b->s, 10);
        FUZZ_ASSERT(k == n ? c <= 0 : c > 0, "months_between(%.10s, %.10s) = %ld but add_months(a, %ld) = %s", a->s,
                    b->s, n, k, r2.text);
    }
    long age = lua_long(value("age", ab, 2, &r));
    FUZZ_ASSERT(age == n / 12, "age(%.10s, %.10s) = %ld but months_between // 12 = %ld", a->s, b->s, age, n / 12);
}

static void check_add_days(const arg *a, yz_date da, const arg *k)
{
    long n;
    if (!parse_long(k, &n) || n < -3000000 || n > 3000000)
        return;
    yz_date e = yz_days_to_date(yz_date_to_days(da) + n);
    if (e.y < 1000 || e.y > 9999)
        return;
    char want[11];
    yz_date_format(e, want);
    arg args[2] = {*a, *k};
    result r;
    call("add_days", args, 2, true, &r);
    FUZZ_ASSERT(r.st == SB_OK && !strcmp(r.text, want), "add_days(%.10s, %ld) = %s, C says %s", a->s, n, r.text, want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data, *end = s + size;
    arg lines[1 + MAX_ARGS];
    int n = 0;
    while (n < 1 + MAX_ARGS) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        lines[n].s = s;
        lines[n].len = nl ? (size_t)(nl - s) : (size_t)(end - s);
        n++;
        if (!nl)
            break;
        s = nl + 1;
    }
    /* the function: by name, else by the first byte */
    const char *fn = NULL;
    for (size_t i = 0; i < YZ_ARRAY_LEN(functions) && !fn; i++)
        if (lines[0].len == strlen(functions[i]) && !memcmp(lines[0].s, functions[i], lines[0].len))
            fn = functions[i];
    if (!fn)
        fn = functions[(lines[0].len ? (unsigned char)lines[0].s[0] : 0) % YZ_ARRAY_LEN(functions)];
    const arg *args = lines + 1;
    int nargs = n - 1;

    /* as rules run it, and traced for the lines it runs: the same outcome */
    result r, traced;
    call_as(fn, args, nargs, true, false, &r);
    FUZZ_ASSERT(r.st == SB_OK || r.st == SB_ERROR, "%s stopped by a limit or read an unknown value: %s", fn, r.text);
    call_as(fn, args, nargs, true, true, &traced);
    FUZZ_ASSERT(traced.st == r.st && (r.st != SB_OK || !strcmp(traced.text, r.text)),
                "%s gave %s in the sandbox but %s traced", fn, r.text, traced.text);

    yz_date dates[MAX_ARGS];
    bool is_date[MAX_ARGS] = {false};
    for (int i = 0; i < nargs; i++) {
        check_date(&args[i]);
        check_id(&args[i]);
        is_date[i] = yz_date_parse(args[i].s, args[i].len, &dates[i]);
    }
    if (nargs >= 1 && is_date[0])
        check_retirement(&args[0], dates[0]);
    if (nargs >= 2 && is_date[0] && is_date[1])
        check_pair(&args[0], &args[1], dates[0], dates[1]);
    if (nargs >= 2 && is_date[0])
        check_add_days(&args[0], dates[0], &args[1]);
    /* the garbage of this input goes now: libFuzzer looks for leaks (slowly) after any input that
       leaves more allocations than it found */
    lua_gc(sb->L, LUA_GCCOLLECT, 0);
    return 0;
}

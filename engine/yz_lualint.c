/* yz_lualint.c: lexical checks of rule and helper Lua text for lint (see yz_lualint.h). */
#include "yz_lualint.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yz_sandbox.h"
#include "yz_util.h"

typedef enum { T_NAME, T_KEYWORD, T_NUMBER, T_STRING, T_PUNCT } ttype;

typedef struct tok {
    ttype type;
    const char *s;
    size_t n;
    int line;    /* 0-based */
    size_t byte; /* offset in its line */
} tok;

typedef struct lexer {
    const char *p, *end, *line_start;
    int line;
    tok *toks;
    size_t n, cap;
} lexer;

static const char *const keywords[] = {"and",  "break", "do",     "else", "elseif", "end",   "false",
                                       "for",  "function", "goto", "if",   "in",     "local", "nil",
                                       "not",  "or",    "repeat", "return", "then",  "true",  "until",
                                       "while", NULL};

/* names a rule cannot reach: the sandbox does not have them */
static const char *const absent[] = {"os",   "io",      "debug",   "package",  "require",  "load",
                                     "loadstring", "loadfile", "dofile", "collectgarbage", "print", "rawset",
                                     "next", "_G",      "coroutine", "module", "setfenv",  "getfenv",
                                     "unpack", "newproxy", "gcinfo", NULL};

/* globals whose fields cannot be assigned */
static const char *const readonly[] = {"string", "table", "math", "utf8", "r", "P", NULL};

static bool in_list(const char *const *list, const char *s, size_t n)
{
    for (; *list; list++)
        if (strlen(*list) == n && memcmp(*list, s, n) == 0)
            return true;
    return false;
}

static bool is(const tok *t, const char *s)
{
    return t && t->n == strlen(s) && memcmp(t->s, s, t->n) == 0 && t->type != T_STRING;
}

static void newline(lexer *x)
{
    x->line++;
    x->line_start = x->p + 1;
}

static void push(lexer *x, ttype type, const char *s, size_t n, int line, const char *line_start)
{
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 64;
        x->toks = yz_realloc(x->toks, x->cap * sizeof *x->toks);
    }
    tok *t = &x->toks[x->n++];
    t->type = type;
    t->s = s;
    t->n = n;
    t->line = line;
    t->byte = (size_t)(s - line_start);
}

/* at "[" of a long bracket "[==[": its level, or -1 */
static int long_bracket(const char *p, const char *end)
{
    if (p >= end || *p != '[')
        return -1;
    int level = 0;
    p++;
    while (p < end && *p == '=') {
        level++;
        p++;
    }
    return p < end && *p == '[' ? level : -1;
}

/* skips a long bracket of the level at x->p, counting lines */
static void skip_long(lexer *x, int level)
{
    x->p += level + 2;
    while (x->p < x->end) {
        if (*x->p == ']') {
            const char *q = x->p + 1;
            int l = 0;
            while (q < x->end && *q == '=') {
                l++;
                q++;
            }
            if (l == level && q < x->end && *q == ']') {
                x->p = q + 1;
                return;
            }
        } else if (*x->p == '\n') {
            newline(x);
        }
        x->p++;
    }
}

static void lex(lexer *x)
{
    static const char *const multi[] = {"...", "..", "==", "~=", "<=", ">=", "//", "::", "<<", ">>", NULL};
    while (x->p < x->end) {
        char c = *x->p;
        if (c == '\n') {
            newline(x);
            x->p++;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r') {
            x->p++;
            continue;
        }
        const char *start = x->p, *ls = x->line_start;
        int line = x->line;
        if (c == '-' && x->p + 1 < x->end && x->p[1] == '-') {
            x->p += 2;
            int level = long_bracket(x->p, x->end);
            if (level >= 0) {
                skip_long(x, level);
            } else {
                while (x->p < x->end && *x->p != '\n')
                    x->p++;
            }
            continue;
        }
        int level = long_bracket(x->p, x->end);
        if (level >= 0) {
            skip_long(x, level);
            push(x, T_STRING, start, (size_t)(x->p - start), line, ls);
            continue;
        }
        if (c == '"' || c == '\'') {
            x->p++;
            while (x->p < x->end && *x->p != c && *x->p != '\n') {
                if (*x->p == '\\' && x->p + 1 < x->end) {
                    x->p++;
                    if (*x->p == '\n')
                        newline(x);
                }
                x->p++;
            }
            if (x->p < x->end && *x->p == c)
                x->p++;
            push(x, T_STRING, start + 1, (size_t)(x->p - start) > 1 ? (size_t)(x->p - start) - 2 : 0, line, ls);
            x->toks[x->n - 1].byte--; /* found at its quote */
            continue;
        }
        if ((c >= '0' && c <= '9') || (c == '.' && x->p + 1 < x->end && x->p[1] >= '0' && x->p[1] <= '9')) {
            while (x->p < x->end) {
                char d = *x->p;
                if ((d == '+' || d == '-') && (x->p[-1] == 'e' || x->p[-1] == 'E' || x->p[-1] == 'p' || x->p[-1] == 'P'))
                    x->p++;
                else if ((d >= '0' && d <= '9') || (d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z') || d == '.' || d == '_')
                    x->p++;
                else
                    break;
            }
            push(x, T_NUMBER, start, (size_t)(x->p - start), line, ls);
            continue;
        }
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
            while (x->p < x->end && ((*x->p >= 'a' && *x->p <= 'z') || (*x->p >= 'A' && *x->p <= 'Z') ||
                                     (*x->p >= '0' && *x->p <= '9') || *x->p == '_'))
                x->p++;
            size_t n = (size_t)(x->p - start);
            push(x, in_list(keywords, start, n) ? T_KEYWORD : T_NAME, start, n, line, ls);
            continue;
        }
        size_t n = 1;
        for (const char *const *m = multi; *m; m++)
            if ((size_t)(x->end - x->p) >= strlen(*m) && memcmp(x->p, *m, strlen(*m)) == 0) {
                n = strlen(*m);
                break;
            }
        x->p += n;
        push(x, T_PUNCT, start, n, line, ls);
    }
}

typedef struct names {
    const tok **v;
    size_t n, cap;
} names;

static void declare(names *l, const tok *t)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = yz_realloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = t;
}

static bool declared(const names *l, const tok *t)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i]->n == t->n && memcmp(l->v[i]->s, t->s, t->n) == 0)
            return true;
    return false;
}

/* every name declared local anywhere in the text (scopes are not followed: a name local
   somewhere is not reported anywhere) */
static void collect_locals(const tok *t, size_t n, names *l)
{
    for (size_t i = 0; i < n; i++) {
        if (is(&t[i], "local") || is(&t[i], "for")) {
            size_t j = i + 1;
            if (j < n && is(&t[j], "function")) {
                if (j + 1 < n && t[j + 1].type == T_NAME)
                    declare(l, &t[j + 1]);
                continue;
            }
            while (j < n && t[j].type == T_NAME) {
                declare(l, &t[j++]);
                if (j + 2 < n && is(&t[j], "<") && is(&t[j + 2], ">")) /* <const>, <close> */
                    j += 3;
                if (j < n && is(&t[j], ","))
                    j++;
                else
                    break;
            }
        } else if (is(&t[i], "function")) {
            size_t j = i + 1;
            while (j < n && !is(&t[j], "("))
                j++;
            for (j++; j < n && !is(&t[j], ")"); j++)
                if (t[j].type == T_NAME)
                    declare(l, &t[j]);
        }
    }
}

/* the 'end' closing the block opened just before token i, or n */
static size_t block_end(const tok *t, size_t n, size_t i)
{
    int depth = 1;
    for (; i < n; i++) {
        if (t[i].type != T_KEYWORD)
            continue;
        if (is(&t[i], "if") || is(&t[i], "function") || is(&t[i], "do") || is(&t[i], "repeat"))
            depth++;
        else if ((is(&t[i], "end") || is(&t[i], "until")) && --depth == 0)
            return i;
    }
    return n;
}

/* a break, return, goto or call of error among tokens [from, to): a way out of a loop */
static bool exits(const tok *t, size_t from, size_t to)
{
    for (size_t k = from; k < to; k++)
        if (is(&t[k], "break") || is(&t[k], "return") || is(&t[k], "goto") || (t[k].type == T_NAME && is(&t[k], "error")))
            return true;
    return false;
}

/* a number literal, with an optional minus, at t[*i] (advanced past it) */
static bool number_at(const tok *t, size_t n, size_t *i, double *v)
{
    bool neg = *i < n && is(&t[*i], "-");
    size_t k = *i + neg;
    if (k >= n || t[k].type != T_NUMBER || t[k].n >= 64)
        return false;
    char buf[64], *end;
    memcpy(buf, t[k].s, t[k].n);
    buf[t[k].n] = '\0';
    double x = strtod(buf, &end);
    if (*end)
        return false;
    *v = neg ? -x : x;
    *i = k + 1;
    return true;
}

/* 'for NAME = A, B[, C] do' with number literals: *steps gets how many times it runs */
static bool numeric_for(const tok *t, size_t n, size_t i, double *steps)
{
    double a, b, c = 1;
    size_t k = i + 3;
    if (!(i + 3 < n && t[i + 1].type == T_NAME && is(&t[i + 2], "=")))
        return false;
    if (!number_at(t, n, &k, &a) || !(k < n && is(&t[k], ",")) || (k++, !number_at(t, n, &k, &b)))
        return false;
    if (k < n && is(&t[k], ",") && (k++, !number_at(t, n, &k, &c)))
        return false;
    if (!(k < n && is(&t[k], "do")) || c == 0)
        return false;
    double d = (b - a) / c;
    *steps = d < 0 ? 0 : d + 1;
    return true;
}

static void reportf(lualint_report report, void *ctx, const tok *t, yz_severity sev, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void reportf(lualint_report report, void *ctx, const tok *t, yz_severity sev, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    report(ctx, t->line, t->byte, sev, msg);
}

/* an amount or months formula: the forms that cannot give a whole number in range */
static void lint_amount(const tok *t, size_t n, lualint_report report, void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i].type == T_PUNCT && is(&t[i], "/")) {
            reportf(report, ctx, &t[i], YZ_SEV_WARNING,
                    "'/' gives a float, and an amount must be a whole number of fen: use // or mul_div(a, num, den)");
        } else if (is(&t[i], "math") && i + 2 < n && is(&t[i + 1], ".") &&
                   (is(&t[i + 2], "huge") || is(&t[i + 2], "maxinteger") || is(&t[i + 2], "mininteger"))) {
            reportf(report, ctx, &t[i], YZ_SEV_WARNING,
                    "math.%.*s is out of the range of an amount (0 to 10^12 fen) or of months (0 to 1200)",
                    (int)t[i + 2].n, t[i + 2].s);
        } else if (i == 0 && is(&t[i], "-") && n > 1 && t[1].type == T_NUMBER) {
            reportf(report, ctx, &t[i], YZ_SEV_WARNING, "a negative amount or number of months is refused");
        } else if (i == 0 && t[i].type == T_STRING && n == 1) {
            reportf(report, ctx, &t[i], YZ_SEV_WARNING, "an amount is a number, not text: remove the quotes");
        }
    }
}

void lualint_text(const char *src, size_t len, bool amount, lualint_report report, void *ctx)
{
    lexer x = {src, src + len, src, 0, NULL, 0, 0};
    lex(&x);
    const tok *t = x.toks;
    size_t n = x.n;
    names locals = {NULL, 0, 0};
    collect_locals(t, n, &locals);
    if (amount)
        lint_amount(t, n, report, ctx);
    int braces = 0;
    for (size_t i = 0; i < n; i++) {
        const tok *prev = i ? &t[i - 1] : NULL, *next = i + 1 < n ? &t[i + 1] : NULL;
        if (is(&t[i], "{"))
            braces++;
        else if (is(&t[i], "}") && braces > 0)
            braces--;
        if ((t[i].type == T_NAME || t[i].type == T_STRING) && t[i].n == 4 && !memcmp(t[i].s, "__gc", 4)) {
            reportf(report, ctx, &t[i], YZ_SEV_ERROR,
                    "a finalizer (__gc) is refused in rules: it would run while another record is decided");
            continue;
        }
        if (is(&t[i], "while") && next && is(next, "true") && i + 2 < n && is(&t[i + 2], "do")) {
            if (!exits(t, i + 3, block_end(t, n, i + 3)))
                reportf(report, ctx, &t[i], YZ_SEV_ERROR,
                        "'while true do' with no break, return or error inside never ends: the instruction budget "
                        "stops it and the item is always undetermined; give the loop a condition");
            continue;
        }
        if (is(&t[i], "repeat")) {
            size_t e = block_end(t, n, i + 1);
            if (e + 1 < n && is(&t[e], "until") && (is(&t[e + 1], "false") || is(&t[e + 1], "nil")) &&
                !(e + 2 < n && (t[e + 2].type == T_PUNCT || is(&t[e + 2], "or") || is(&t[e + 2], "and"))) &&
                !exits(t, i + 1, e))
                reportf(report, ctx, &t[i], YZ_SEV_ERROR,
                        "'repeat ... until %.*s' with no break, return or error inside never ends: the instruction "
                        "budget stops it and the item is always undetermined; give the loop a condition",
                        (int)t[e + 1].n, t[e + 1].s);
            continue;
        }
        double steps;
        if (is(&t[i], "for") && numeric_for(t, n, i, &steps) && steps > (double)YZ_DEFAULT_INSTRUCTIONS) {
            reportf(report, ctx, &t[i], YZ_SEV_ERROR,
                    "this loop runs %.0f times, more than the %u instructions a rule call may run: the instruction "
                    "budget always stops it and the item is always undetermined; loop over less",
                    steps, YZ_DEFAULT_INSTRUCTIONS);
            continue;
        }
        if (is(&t[i], "function") && t[i].type == T_KEYWORD && next && next->type == T_NAME && i + 2 < n &&
            is(&t[i + 2], "(") && !(prev && is(prev, "local")) && !declared(&locals, next)) {
            reportf(report, ctx, next, YZ_SEV_ERROR,
                    "defines the global function '%.*s': globals cannot be set (nothing may carry from one record "
                    "to the next); write 'local function %.*s', or 'function M.%.*s' to export it from a helper file",
                    (int)next->n, next->s, (int)next->n, next->s, (int)next->n, next->s);
            continue;
        }
        if (t[i].type != T_NAME)
            continue;
        if (prev && (is(prev, ".") || is(prev, ":"))) {
            if (is(&t[i], "dump"))
                reportf(report, ctx, &t[i], YZ_SEV_ERROR,
                        "string.dump is not available: rules run from their text, never from bytecode");
            continue;
        }
        if (prev && (is(prev, "::") || is(prev, "goto")))
            continue;
        if (declared(&locals, &t[i]))
            continue;
        bool assigns = next && is(next, "=");
        if (assigns && braces > 0 && prev && (is(prev, "{") || is(prev, ",") || is(prev, ";")))
            continue; /* a key in a table constructor */
        if (in_list(absent, t[i].s, t[i].n)) {
            reportf(report, ctx, &t[i], YZ_SEV_ERROR,
                    "'%.*s' is not available to rules: they see the record, the parameters, the date, the rule library "
                    "and string, table, math and utf8, and nothing that reaches files, the system or other code "
                    "(docs/policy-format.md)",
                    (int)t[i].n, t[i].s);
            continue;
        }
        if (is(&t[i], "_ENV")) {
            reportf(report, ctx, &t[i], YZ_SEV_WARNING,
                    "uses _ENV: rules see a read-only environment, and a replaced _ENV sees nothing; name what you "
                    "need directly");
            continue;
        }
        if (assigns && braces == 0) {
            reportf(report, ctx, &t[i], YZ_SEV_ERROR,
                    "assigns to '%.*s', which is not a local: globals cannot be set (nothing may carry from one "
                    "record to the next); write 'local %.*s = ...'",
                    (int)t[i].n, t[i].s, (int)t[i].n, t[i].s);
            continue;
        }
        if (in_list(readonly, t[i].s, t[i].n)) {
            /* string.x = ..., r.a.b = ... */
            size_t j = i + 1;
            while (j + 1 < n && is(&t[j], ".") && t[j + 1].type == T_NAME)
                j += 2;
            if (j > i + 1 && j < n && is(&t[j], "=") && braces == 0) {
                reportf(report, ctx, &t[i], YZ_SEV_ERROR,
                        "assigns to %.*s: the rule library, the record (r) and the parameters (P) are read-only; "
                        "copy what you need into a local table",
                        (int)(t[j - 1].s + t[j - 1].n - t[i].s), t[i].s);
                continue;
            }
        }
        if (is(&t[i], "getmetatable") && next && is(next, "(") && i + 2 < n &&
            (t[i + 2].type == T_STRING || is(&t[i + 2], "string"))) {
            reportf(report, ctx, &t[i], YZ_SEV_WARNING,
                    "getmetatable of a string gives false in rules: the string metatable is hidden from them");
            continue;
        }
    }
    yz_free(locals.v);
    yz_free(x.toks);
}

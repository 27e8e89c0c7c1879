/* test_jsonfast.c: yj_parse's fast path (simdjson, yz_jsonfast.cc) against cJSON alone on the
 * same texts: where the fast path takes a document, the nodes are the ones cJSON makes (types,
 * doubles to the bit, the int cJSON saturates, member order, the list links cJSON's own functions
 * walk); where it declines, cJSON answers, so every error and offset is cJSON's. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>

#include "unit.h"
#include "yz_json.h"
#include "yz_jsonfast.h"

static uint64_t rng = 0x2545F4914F6CDD1Du; /* fixed: the same documents every run */

static unsigned rnd(unsigned n)
{
    return unit_rnd(&rng, n);
}

/* the same nodes, and lists linked as cJSON links them (first->prev is the last, last->next NULL) */
static bool same_tree(const cJSON *a, const cJSON *b)
{
    if (!a || !b)
        return a == b;
    if (a->type != b->type || a->valueint != b->valueint || memcmp(&a->valuedouble, &b->valuedouble, sizeof(double)))
        return false;
    if (!a->string != !b->string || (a->string && strcmp(a->string, b->string)))
        return false;
    if (!a->valuestring != !b->valuestring || (a->valuestring && strcmp(a->valuestring, b->valuestring)))
        return false;
    const cJSON *x = a->child, *y = b->child, *lx = NULL, *ly = NULL;
    for (; x && y; lx = x, ly = y, x = x->next, y = y->next) {
        if (!same_tree(x, y) || (lx && x->prev != lx) || (ly && y->prev != ly))
            return false;
    }
    if (x || y)
        return false;
    return !a->child || (a->child->prev == lx && b->child->prev == ly);
}

typedef struct {
    int texts, fast, agree;
} tally;

/* one text through both: fast (the fast path may take it) and cJSON alone */
static void compare(tally *t, const char *text, size_t len)
{
    arena m;
    arena_init(&m, 4096);
    size_t off1, off2;
    const char *e1, *e2;
    yj *fast = yjf_parse(text, len, (void *(*)(void *, size_t))arena_alloc, &m);
    yj *v1 = yj_parse(&m, text, len, &off1, &e1);
    int was = yjf_enable(0);
    yj *v2 = yj_parse(&m, text, len, &off2, &e2);
    yjf_enable(was);
    t->texts++;
    t->fast += fast != NULL;
    bool ok = same_tree(v1, v2) && (fast == NULL || same_tree(fast, v2)) &&
              (v1 || (off1 == off2 && e1 && e2 && !strcmp(e1, e2)));
    if (ok)
        t->agree++;
    else
        fprintf(stderr, "test_jsonfast: the parsers differ on %zu bytes: %.200s\n", len, text);
    arena_free(&m);
}

static void compare_str(tally *t, const char *text)
{
    compare(t, text, strlen(text));
}

static void gen_value(strbuf *sb, int depth)
{
    static const char *const lit[] = {"0",     "-1",    "42",         "-12.5e+3",  "true",  "false", "null",
                                      "2147483647", "2147483648", "-2147483649", "9007199254740993",
                                      "18446744073709551615", "-9223372036854775808", "1e2", "0.1", "-0"};
    static const char *const piece[] = {"a", "中文", "\\\"", "\\\\", "\\/", "\\u0041", "\\u00e9", "\\ud83d\\ude00",
                                        "\\n\\t\\r\\b\\f", " ", "x-0", "2023-05-08", "{", "]"};
    unsigned kind = depth > 5 ? rnd(3) : rnd(5);
    if (kind == 0) {
        sb_addc(sb, '"');
        for (unsigned i = 0, k = rnd(8); i < k; i++)
            sb_adds(sb, piece[rnd(14)]);
        sb_addc(sb, '"');
    } else if (kind < 3) {
        sb_adds(sb, lit[rnd(kind == 1 ? 3 : 16)]);
    } else if (kind == 3) {
        sb_addc(sb, '{');
        for (unsigned i = 0, k = rnd(6); i < k; i++) {
            sb_adds(sb, i ? ", \"" : "\"");
            sb_adds(sb, rnd(3) ? "k" : piece[rnd(14)]);
            sb_addf(sb, "%u\":", rnd(4)); /* some keys twice: both parsers keep both, in order */
            gen_value(sb, depth + 1);
        }
        sb_addc(sb, '}');
    } else {
        sb_addc(sb, '[');
        for (unsigned i = 0, k = rnd(7); i < k; i++) {
            if (i)
                sb_adds(sb, rnd(2) ? "," : " ,\n ");
            gen_value(sb, depth + 1);
        }
        sb_addc(sb, ']');
    }
}

static void nested(strbuf *sb, int depth)
{
    sb_clear(sb);
    for (int i = 0; i < depth; i++)
        sb_addc(sb, '[');
    sb_addc(sb, '1');
    for (int i = 0; i < depth; i++)
        sb_addc(sb, ']');
}

void test_jsonfast(void)
{
    tally t = {0, 0, 0};
    /* the edges of what the fast path takes */
    static const char *const edge[] = {
        "-0", "[-0]", "{\"a\":-0}", "[-0.0]", "[0]", "[1.0]", "[1e2]", "[0.1]", "[1e400]", "[-1e400]",
        "[9223372036854775807]", "[-9223372036854775808]", "[-9223372036854775809]", "[18446744073709551615]",
        "[18446744073709551616]", "[2147483647]", "[2147483648]", "[-2147483648]", "[-2147483649]",
        "[9007199254740993]", "[1000000000000000000000000000000000000000000000000000000000000000000000]",
        "[01]", "[1.]", "[.5]", "[+1]", "[1,]", "[1 2]", "{\"a\" 1}", "{\"a\":1,}", "{\"a\":1,\"a\":2}",
        "[\"\\uD800\"]", "[\"\\uDC00\"]", "[\"\\uD800\\u0041\"]", "[\"\\uD83D\\uDE00\"]", "[\"\\uDBFF\\uDFFF\"]",
        "[\"\\uZZZZ\"]", "[\"\\x\"]", "[\"a\x01\"]", "[\"\xff\"]", "[\"\xc0\xaf\"]", "[\"\xed\xa0\x80\"]",
        "\xEF\xBB\xBF[1]", "[1]\x0b", "\x0b[1]", "[1] x", "[1]]", "", "   ", "\"text\"", "true", "null", " 5 ",
        "{}", "[]", "{\"\":\"\"}", "[[[]]]", "{\"中文\":\"就业援助\",\"x\":[true,false,null]}", "[tru]", "[nul]",
        "{\"a\":[1,2,{\"b\":\"c\"}]}", "\t\n\r [1]\t\n\r ", "[\"\x7f\"]",
    };
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++)
        compare_str(&t, edge[i]);
    int edge_fast = t.fast;
    strbuf sb = STRBUF_INIT;
    /* the nesting limit of each, and the length limit of the fast path */
    int depths[] = {YJF_MAX_DEPTH - 1, YJF_MAX_DEPTH, YJF_MAX_DEPTH + 1, 999, 1000, 1001};
    for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++) {
        nested(&sb, depths[i]);
        compare(&t, sb.buf, sb.len);
    }
    for (size_t len = YJF_MAX_LEN - 1; len <= YJF_MAX_LEN + 1; len++) {
        sb_clear(&sb);
        sb_addc(&sb, '"');
        while (sb.len < len - 1)
            sb_addc(&sb, 'a');
        sb_addc(&sb, '"');
        compare(&t, sb.buf, sb.len);
    }
    /* generated documents, then each cut short and with one byte changed */
    int generated_fast = t.fast;
    for (int round = 0; round < 3000; round++) {
        sb_clear(&sb);
        gen_value(&sb, 0);
        compare(&t, sb.buf, sb.len);
        char *copy = malloc(sb.len + 1);
        memcpy(copy, sb.buf, sb.len + 1);
        if (sb.len) {
            compare(&t, copy, rnd((unsigned)sb.len));
            copy[rnd((unsigned)sb.len)] = "\"\\{}[],:-0x "[rnd(12)];
            compare(&t, copy, sb.len);
        }
        free(copy);
    }
    generated_fast = t.fast - generated_fast;
    sb_free(&sb);
    CHECK_INT(t.agree, t.texts);
    /* both paths are exercised: the fast path took plain documents, and declined the rest */
    CHECK(edge_fast >= 20);
    CHECK(generated_fast > 1000);
    CHECK(t.fast < t.texts / 2);
    /* the fast path never takes what it must not: -0, a fraction, a BOM, cJSON's leniencies */
    static const char *const declined[] = {"-0", "[-0]", "[1.0]", "[1e2]", "\xEF\xBB\xBF[1]", "[01]", "[1]\x0b", "[\"a\x01\"]"};
    arena m;
    arena_init(&m, 1024);
    for (size_t i = 0; i < sizeof declined / sizeof declined[0]; i++)
        CHECK(yjf_parse(declined[i], strlen(declined[i]), (void *(*)(void *, size_t))arena_alloc, &m) == NULL);
    CHECK(yjf_parse("[-01]", 5, (void *(*)(void *, size_t))arena_alloc, &m) == NULL); /* simdjson refuses it too */
    CHECK(yjf_parse("[\"2023-05-08\",-1]", 17, (void *(*)(void *, size_t))arena_alloc, &m) != NULL);
    arena_free(&m);
}

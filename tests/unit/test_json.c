/* test_json.c: the canonical JSON writer every stored determination goes through (sorted keys,
 * integers without exponent, UTF-8 as is, only what JSON requires escaped), the streaming
 * writer, YAML records turned into JSON by the core schema, and structural differences. */
#include <stdlib.h>

#include "unit.h"
#include "yz_json.h"
#include "yz_yaml.h"

static const char *canon(arena *m, const char *text)
{
    static char buf[1024];
    size_t off;
    const char *err;
    yj *v = yj_parse(m, text, strlen(text), &off, &err);
    if (!v)
        return "(parse error)";
    strbuf sb = STRBUF_INIT;
    yj_write_canonical(&sb, v);
    snprintf(buf, sizeof buf, "%s", sb.buf);
    sb_free(&sb);
    return buf;
}

/* json_top_string's answer as text: the value, or "(parse)" when the caller must parse */
static const char *top(const char *text, const char *key)
{
    static char buf[128];
    const char *v;
    size_t n;
    if (!json_top_string(text, strlen(text), key, &v, &n))
        return "(parse)";
    snprintf(buf, sizeof buf, "%.*s", (int)n, v);
    return buf;
}

static void test_top_string(void)
{
    /* the top-level member, not a nested one met first (household members have ID numbers too) */
    CHECK_STR(top("{\"household\":{\"members\":[{\"id_number\":\"A\"}]},\"id_number\":\"B\"}", "id_number"), "B");
    CHECK_STR(top("{\"a\":[{\"id_number\":\"A\"},[\"id_number\",\"x\"]],\"id_number\":\"B\"}", "id_number"), "B");
    /* a string value that looks like the key, and nested keys and strings holding quotes and
       brackets */
    CHECK_STR(top("{\"k\":\"id_number\",\"x\":{\"y\\\"}{\":\"]\\\\\"},\"id_number\" : \"44X\"}", "id_number"), "44X");
    CHECK_STR(top(" {\n \"id_number\" :\t\"C\" }", "id_number"), "C");
    /* what it leaves to the parser: no such member at the top, another kind of value, an escape,
       not an object, text cut short */
    CHECK_STR(top("{\"a\":{\"id_number\":\"A\"}}", "id_number"), "(parse)");
    CHECK_STR(top("{\"id_number\":12}", "id_number"), "(parse)");
    CHECK_STR(top("{\"id_number\":\"4\\u0034\"}", "id_number"), "(parse)");
    /* an escaped key at the top may spell the key itself: the parser's first member wins */
    CHECK_STR(top("{\"id\\u005fnumber\":\"A\",\"id_number\":\"B\"}", "id_number"), "(parse)");
    CHECK_STR(top("[{\"id_number\":\"A\"}]", "id_number"), "(parse)");
    CHECK_STR(top("{\"id_number\":\"A", "id_number"), "(parse)");
    CHECK_STR(top("{\"x\":\"\\", "id_number"), "(parse)");
    CHECK_STR(top("{\"id\":\"A\",\"id_numbers\":\"B\"}", "id_number"), "(parse)");
    CHECK_STR(top("", "id_number"), "(parse)");
    /* an escaped quote, and an escaped backslash before a closing quote, at every offset of the
       64-byte blocks the scan reads and of the bytes after the last one */
    int off_wrong = 0;
    for (int pad = 0; pad < 200; pad++) {
        char doc[512];
        snprintf(doc, sizeof doc, "{\"a\":[\"%*s\\\"]\",{\"b\":\"%*s\\\\\"}],\"id_number\":\"B\"}", pad, "",
                 199 - pad, "");
        off_wrong += strcmp(top(doc, "id_number"), "B") != 0;
    }
    CHECK_INT(off_wrong, 0);
}

/* ---- json_top_string against the parser, on generated documents ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15u; /* fixed: the same documents every run */

static unsigned rnd(unsigned n)
{
    return unit_rnd(&rng_state, n);
}

static void gen_ws(strbuf *sb)
{
    static const char *const ws[] = {"", "", "", " ", "\n  ", "\t"};
    sb_adds(sb, ws[rnd(6)]);
}

/* a string literal whose pieces are the bytes the scanner has to tell apart; *esc: it holds one */
static void gen_string(strbuf *sb, bool *esc)
{
    static const char *const piece[] = {"a", "id_number", "\\\"", "\\\\", "{", "}", "[", "]", ",", ":",
                                        "中文", "\\u0041", "\\n", "  ", "x\\\\\\\"", "0123456789abcdef"};
    sb_addc(sb, '"');
    for (unsigned i = 0, k = rnd(12); i < k; i++) {
        const char *x = piece[rnd(16)];
        if (strchr(x, '\\') && esc)
            *esc = true;
        sb_adds(sb, x);
    }
    sb_addc(sb, '"');
}

static void gen_value(strbuf *sb, int depth)
{
    bool esc = false;
    unsigned kind = depth == 0 ? 4 + rnd(3) : depth > 5 ? rnd(4) : rnd(7); /* depth 0: a container */
    static const char *const lit[] = {"0", "-12.5e+3", "true", "false", "null", "9007199254740992"};
    if (kind < 2) {
        gen_string(sb, &esc);
    } else if (kind < 4) {
        sb_adds(sb, lit[rnd(6)]);
    } else if (kind < 6) {
        sb_addc(sb, '{');
        for (unsigned i = 0, k = rnd(6); i < k; i++) {
            if (i)
                sb_addc(sb, ',');
            gen_ws(sb);
            if (rnd(4) == 0)
                sb_adds(sb, "\"id_number\"");
            else
                gen_string(sb, &esc);
            gen_ws(sb);
            sb_addc(sb, ':');
            gen_ws(sb);
            gen_value(sb, depth + 1);
        }
        sb_addc(sb, '}');
    } else {
        sb_addc(sb, '[');
        for (unsigned i = 0, k = rnd(8); i < k; i++) {
            if (i)
                sb_addc(sb, ',');
            gen_ws(sb);
            gen_value(sb, depth + 1);
        }
        sb_addc(sb, ']');
    }
}

/* a top-level object; *plain: its first id_number member (if any) has a string value without
   escape and no key before it holds an escape, so the scan has to find it */
static void gen_document(strbuf *sb, bool *plain)
{
    static const char *const key[] = {"\"a\"", "\"id_number\"", "\"id_numbers\"", "\"id\"", "\"中文\"",
                                      "\"k\\\"\"", "\"id\\u005fnumber\""};
    bool found = false, bad = false;
    *plain = false;
    unsigned k = 1 + rnd(8), at = rnd(4) ? rnd(k) : k; /* most documents have the member, anywhere */
    gen_ws(sb);
    sb_addc(sb, '{');
    for (unsigned i = 0; i < k; i++) {
        if (i)
            sb_addc(sb, ',');
        gen_ws(sb);
        unsigned which = i == at ? 1 : rnd(7);
        sb_adds(sb, key[which]);
        if (which >= 5 && !found)
            bad = true;
        gen_ws(sb);
        sb_addc(sb, ':');
        gen_ws(sb);
        if (i == at && !found) {
            bool esc = false;
            if (rnd(4))
                sb_addf(sb, "\"44%016u\"", rnd(1000000000));
            else
                gen_string(sb, &esc);
            *plain = !bad && !esc;
            found = true;
        } else {
            if (which == 1)
                found = true;
            gen_value(sb, rnd(2));
        }
    }
    gen_ws(sb);
    sb_addc(sb, '}');
}

/* what the parser says the top-level id_number is: a string, or NULL */
static const char *parsed_id(arena *m, const char *text, size_t n, bool *valid)
{
    size_t off;
    const char *err;
    yj *doc = yj_parse(m, text, n, &off, &err);
    *valid = doc != NULL;
    const yj *id = doc ? yj_get(doc, "id_number") : NULL;
    return yj_typeof(id) == YJ_STRING ? yj_str(id) : NULL;
}

static void test_top_string_generated(void)
{
    int answered = 0, deep = 0, must = 0, wrong = 0, missed = 0, cut_wrong = 0;
    strbuf sb = STRBUF_INIT;
    for (int round = 0; round < 4000; round++) {
        arena m;
        arena_init(&m, 4096);
        sb_clear(&sb);
        bool plain, valid;
        gen_document(&sb, &plain);
        const char *want = parsed_id(&m, sb.buf, sb.len, &valid), *v;
        size_t n;
        bool got = json_top_string(sb.buf, sb.len, "id_number", &v, &n);
        if (!valid)
            wrong++; /* the generator writes JSON only */
        if (got && (!want || strlen(want) != n || memcmp(want, v, n) != 0))
            wrong++;
        if (plain && !got)
            missed++;
        answered += got;
        deep += got && v - sb.buf > 256;
        must += plain;
        /* the same text cut short, and with one byte changed: whatever the scan answers, it answers
           from inside the text, and what it answers on text still JSON is the parser's answer */
        for (int cut = 0; cut < 2; cut++) {
            size_t len = sb.len;
            char *t = arena_alloc(&m, len + 1);
            memcpy(t, sb.buf, len + 1);
            if (cut == 0 && len) {
                len = rnd((unsigned)len);
                t[len] = '\0';
            } else if (len) {
                t[rnd((unsigned)len)] = "\"\\{}[],:x "[rnd(10)];
            }
            want = parsed_id(&m, t, len, &valid);
            got = json_top_string(t, len, "id_number", &v, &n);
            if (got && (v < t || v + n > t + len))
                cut_wrong++;
            else if (got && valid && (!want || strlen(want) != n || memcmp(want, v, n) != 0))
                cut_wrong++;
        }
        arena_free(&m);
    }
    sb_free(&sb);
    CHECK_INT(wrong, 0);
    CHECK_INT(missed, 0);
    CHECK_INT(cut_wrong, 0);
    /* the documents are long enough and varied enough that the fast answer is often there */
    CHECK(must > 800);
    CHECK(answered >= must);
}

void test_json(void)
{
    /* every way of reading a block this processor has, down to 128-bit vectors */
    for (int bits = 512, used = 0; bits >= 128; bits /= 2) {
        int now = json_scan_limit(bits);
        if (now == used)
            continue;
        used = now;
        rng_state = 0x9E3779B97F4A7C15u;
        test_top_string();
        test_top_string_generated();
    }
    json_scan_limit(512);
    arena m;
    arena_init(&m, 4096);
    /* keys sorted by their bytes at every depth, no insignificant space */
    CHECK_STR(canon(&m, "{ \"b\": 1, \"a\": {\"z\": [3, 2, 1], \"y\": null}, \"B\": true }"),
              "{\"B\":true,\"a\":{\"y\":null,\"z\":[3,2,1]},\"b\":1}");
    /* Chinese keys sort by UTF-8 bytes, text is not escaped */
    CHECK_STR(canon(&m, "{\"认定\": \"大龄\", \"a\": \"就业\"}"), "{\"a\":\"就业\",\"认定\":\"大龄\"}");
    /* integers as integers, however written; large ones exactly */
    CHECK_STR(canon(&m, "[1.0, 1e3, -0, 250000, 9007199254740992]"), "[1,1000,0,250000,9007199254740992]");
    /* escapes: only quote, backslash and control characters; a solidus stays as it is */
    CHECK_STR(canon(&m, "[\"a\\/b\", \"\\u0007\", \"\\t\", \"\\u00e9\", \"\\ud83d\\ude00\"]"),
              "[\"a/b\",\"\\u0007\",\"\\t\",\"é\",\"😀\"]");
    /* the same value written two ways gives the same bytes */
    CHECK_STR(canon(&m, "{\"x\":[{\"b\":2,\"a\":1}]}"), canon(&m, "{\n  \"x\" : [ { \"a\" : 1.0 , \"b\" : 2 } ]\n}"));
    /* a NUL inside a string is refused (strings are C strings) */
    CHECK_STR(canon(&m, "[\"a\\u0000b\"]"), "(parse error)");
    CHECK_STR(canon(&m, "{\"a\":1,}"), "(parse error)");

    /* the streaming writer: the caller adds keys in order, commas come by themselves */
    strbuf sb = STRBUF_INIT;
    jw w;
    jw_init(&w, &sb);
    jw_obj_begin(&w);
    JW_KEY(&w, "amount_fen");
    jw_int(&w, 175000);
    jw_key(&w, "list");
    jw_arr_begin(&w);
    jw_str(&w, "公益性岗位");
    jw_null(&w);
    jw_bool(&w, false);
    jw_arr_begin(&w);
    jw_arr_end(&w);
    jw_arr_end(&w);
    jw_key(&w, "raw");
    jw_raw(&w, "{\"k\":1}", 7);
    jw_key(&w, "text");
    jw_strn(&w, "a\"b\nc", 5);
    jw_obj_end(&w);
    CHECK_STR(sb.buf, "{\"amount_fen\":175000,\"list\":[\"公益性岗位\",null,false,[]],\"raw\":{\"k\":1},\"text\":\"a\\\"b\\nc\"}");
    sb_clear(&sb);
    jw_init(&w, &sb);
    jw_int(&w, INT64_MIN);
    CHECK_STR(sb.buf, "-9223372036854775808");
    sb_free(&sb);

    /* a record written in YAML: plain scalars by the core schema, quoted ones are text */
    ydoc *doc = NULL;
    const char *y = "id_number: '440106198506150025'\nage: 40\nok: true\nnone: ~\nratio: 0.5\nzip: 012\ntext: 2025-06-15\n";
    CHECK_INT(ydoc_parse(y, strlen(y), "r.yaml", &doc, NULL), YZ_OK);
    if (doc) {
        yj *v = yj_from_yaml(&m, doc->root);
        yj_write_canonical(&sb, v);
        CHECK_STR(sb.buf, "{\"age\":40,\"id_number\":\"440106198506150025\",\"none\":null,\"ok\":true,\"ratio\":0.5,"
                          "\"text\":\"2025-06-15\",\"zip\":12}");
        sb_free(&sb);
    }
    ydoc_free(doc);

    /* differences are listed by path */
    size_t off;
    const char *err;
    const char *ta = "{\"s\":{\"x\":{\"status\":\"met\"}},\"n\":1}";
    const char *tb = "{\"s\":{\"x\":{\"status\":\"not_met\"}},\"n\":1}";
    yj *a = yj_parse(&m, ta, strlen(ta), &off, &err);
    yj *b = yj_parse(&m, tb, strlen(tb), &off, &err);
    CHECK(a && b);
    if (a && b) {
        CHECK_INT(yj_diff(a, b, &sb, 10), 1);
        CHECK(strstr(sb_str(&sb), "s.x.status") != NULL);
        CHECK_INT(yj_diff(a, a, &sb, 10), 0);
    }
    sb_free(&sb);
    arena_free(&m);
}

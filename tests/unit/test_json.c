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
    if (!json_top_string(text, key, &v, &n))
        return "(parse)";
    snprintf(buf, sizeof buf, "%.*s", (int)n, v);
    return buf;
}

static void test_top_string(void)
{
    /* the top-level member, not a nested one met first (household members have ID numbers too) */
    CHECK_STR(top("{\"household\":{\"members\":[{\"id_number\":\"A\"}]},\"id_number\":\"B\"}", "id_number"), "B");
    CHECK_STR(top("{\"a\":[{\"id_number\":\"A\"},[\"id_number\",\"x\"]],\"id_number\":\"B\"}", "id_number"), "B");
    /* a string value that looks like the key, and keys holding quotes and brackets */
    CHECK_STR(top("{\"k\":\"id_number\",\"x\\\"}{\":1,\"id_number\" : \"44X\"}", "id_number"), "44X");
    CHECK_STR(top(" {\n \"id_number\" :\t\"C\" }", "id_number"), "C");
    /* what it leaves to the parser: no such member at the top, another kind of value, an escape,
       not an object, text cut short */
    CHECK_STR(top("{\"a\":{\"id_number\":\"A\"}}", "id_number"), "(parse)");
    CHECK_STR(top("{\"id_number\":12}", "id_number"), "(parse)");
    CHECK_STR(top("{\"id_number\":\"4\\u0034\"}", "id_number"), "(parse)");
    CHECK_STR(top("[{\"id_number\":\"A\"}]", "id_number"), "(parse)");
    CHECK_STR(top("{\"id_number\":\"A", "id_number"), "(parse)");
    CHECK_STR(top("{\"x\":\"\\", "id_number"), "(parse)");
    CHECK_STR(top("{\"id\":\"A\",\"id_numbers\":\"B\"}", "id_number"), "(parse)");
    CHECK_STR(top("", "id_number"), "(parse)");
}

void test_json(void)
{
    test_top_string();
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

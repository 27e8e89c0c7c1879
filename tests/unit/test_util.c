/* test_util.c: strings, arenas, UTF-8, suggestions, paths, canonical JSON. */
#include <stdlib.h>

#include "unit.h"
#include "yz_hash.h"
#include "yz_json.h"
#include "yz_util.h"

/* the plain byte loop json_quote must agree with */
static void quote_ref(strbuf *sb, const unsigned char *s, size_t n)
{
    sb_addc(sb, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\')
            sb_addf(sb, "\\%c", c);
        else if (c == '\b')
            sb_adds(sb, "\\b");
        else if (c == '\f')
            sb_adds(sb, "\\f");
        else if (c == '\n')
            sb_adds(sb, "\\n");
        else if (c == '\r')
            sb_adds(sb, "\\r");
        else if (c == '\t')
            sb_adds(sb, "\\t");
        else if (c < 0x20)
            sb_addf(sb, "\\u%04x", c);
        else
            sb_addc(sb, (char)c);
    }
    sb_addc(sb, '"');
}

/* json_quote copies eight bytes at a time when none needs escaping: every byte value at every
 * position of a block, next to Chinese text, must still come out as the byte loop has it */
static void test_quote(void)
{
    unsigned char buf[40];
    const char *zh = "就业困难人员";
    int bad = 0;
    for (int c = 0; c < 256; c++) {
        for (size_t pos = 0; pos < 24; pos++) {
            size_t n = 0;
            memcpy(buf, zh, strlen(zh) < 16 ? strlen(zh) : 16);
            n = 16;
            for (size_t k = 0; k < 24; k++)
                buf[n + k] = (unsigned char)('a' + k);
            buf[pos + 8] = (unsigned char)c;
            n = 40;
            strbuf got = STRBUF_INIT, want = STRBUF_INIT;
            json_quote(&got, (const char *)buf, n);
            quote_ref(&want, buf, n);
            if (strcmp(got.buf, want.buf) != 0)
                bad++;
            sb_free(&got);
            sb_free(&want);
        }
    }
    CHECK_INT(bad, 0);
    strbuf sb = STRBUF_INIT;
    json_quote(&sb, "a\"b\\c\x01\x1f\x7f 就业", strlen("a\"b\\c\x01\x1f\x7f 就业"));
    CHECK_STR(sb.buf, "\"a\\\"b\\\\c\\u0001\\u001f\x7f 就业\"");
    sb_free(&sb);
}

void test_util(void)
{
    test_quote();
    strbuf sb = STRBUF_INIT;
    sb_addf(&sb, "%d-%s", 7, "x");
    CHECK_STR(sb_str(&sb), "7-x");
    sb_free(&sb);

    /* untrusted text: invalid bytes replaced, long text cut at a character boundary */
    sb_add_clean(&sb, "ok \xff\xfe end", 9, 100);
    CHECK_STR(sb_str(&sb), "ok \xEF\xBF\xBD\xEF\xBF\xBD end");
    CHECK(yz_utf8_invalid(sb.buf, sb.len) == NULL);
    CHECK_INT(sb.len, 13);
    sb_clear(&sb);
    sb_add_clean(&sb, "\xE4\xB8\xAD\xE6\x96\x87", 6, 4); /* 中文, room for one character and a byte */
    CHECK_STR(sb_str(&sb), "\xE4\xB8\xAD\xE2\x80\xA6");
    sb_clear(&sb);
    sb_add_clean(&sb, "\xE4\xB8", 2, 100); /* a character cut off at the end */
    CHECK_STR(sb_str(&sb), "\xEF\xBF\xBD\xEF\xBF\xBD");
    sb_clear(&sb);
    sb_add_clean(&sb, "abc", 3, 3);
    CHECK_STR(sb_str(&sb), "abc");
    sb_free(&sb);

    arena a;
    arena_init(&a, 64);
    char *big = arena_alloc(&a, 1000); /* larger than a block */
    memset(big, 'x', 1000);
    char *s = arena_strdup(&a, "hello");
    CHECK_STR(s, "hello");
    CHECK(((uintptr_t)arena_alloc(&a, 3) & 15) == 0);
    arena_free(&a);

    CHECK(yz_utf8_invalid("李华", strlen("李华")) == NULL);
    CHECK(yz_utf8_invalid("\xc0\xaf", 2) != NULL);       /* overlong */
    CHECK(yz_utf8_invalid("\xed\xa0\x80", 3) != NULL);   /* surrogate */
    CHECK(yz_utf8_invalid("\xe6\x9d", 2) != NULL);       /* truncated */
    CHECK_INT(yz_utf8_width("李华ab", strlen("李华ab")), 4);

    const char *keys[] = {"categories", "subsidies", "parameters"};
    CHECK_STR(yz_suggest("catagories", keys, 3), "categories");
    CHECK_STR(yz_suggest("subsdies", keys, 3), "subsidies");
    CHECK(yz_suggest("zzz", keys, 3) == NULL);
    CHECK_INT(yz_edit_distance("ab", "ba", 3), 1); /* transposition */

    char *p = yz_path_normalize("a/./b/../c//d/");
    CHECK_STR(p, "a/c/d");
    yz_free(p);
    p = yz_path_normalize("../x/./y");
    CHECK_STR(p, "../x/y");
    yz_free(p);

    /* hashes: the standard test vectors */
    char hex[65];
    CHECK_INT(hash_hex(YZ_HASH_SHA256, "abc", 3, hex), 0);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK_INT(hash_hex(YZ_HASH_SM3, "abc", 3, hex), 0);
    CHECK_STR(hex, "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
    yz_hasher *h = hasher_new(YZ_HASH_SHA256);
    hasher_update(h, "a", 1);
    hasher_update(h, "bc", 2);
    hasher_final(h, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

    /* canonical JSON: sorted keys, integers, escapes, UTF-8 kept */
    arena m;
    arena_init(&m, 4096);
    size_t off;
    const char *err;
    yj *v = yj_parse(&m, "{\"b\": 1.0, \"a\": [true, null, \"x\\n\\u674e\"], \"c\": 0.5}", 52, &off, &err);
    CHECK(v != NULL);
    strbuf out = STRBUF_INIT;
    yj_write_canonical(&out, v);
    CHECK_STR(sb_str(&out), "{\"a\":[true,null,\"x\\n李\"],\"b\":1,\"c\":0.5}");
    sb_free(&out);
    CHECK(yj_parse(&m, "{\"a\":1} x", 9, &off, &err) == NULL);
    CHECK_INT(off, 8);
    arena_free(&m);
}

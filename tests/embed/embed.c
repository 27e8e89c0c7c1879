/* tests/embed/embed.c: a program that embeds the engine as the installed library would be used:
 * only yuanzhu.h, linked with libyuanzhu.a or libyuanzhu.so.  It defines functions with the names
 * of engine internals (arena_alloc, sb_add, diag_add, schema_validate) and uses cJSON itself
 * before and after the engine has parsed JSON: neither may disturb the other. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yuanzhu.h"

/* the embedder's own functions, named like engine internals, with other meanings */
int arena_alloc(int x);
int sb_add(int a, int b);
const char *diag_add(void);
int schema_validate(const char *s);
int arena_alloc(int x) { return x * 2; }
int sb_add(int a, int b) { return a + b; }
const char *diag_add(void) { return "embedder"; }
int schema_validate(const char *s) { return (int)strlen(s); }

static int failures;
#define EXPECT(cond, what)                                                                         \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("embed: FAIL %s\n", what);                                                      \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

/* the embedder's own JSON work through cJSON's default allocator (or its hooks) */
static void own_json(const char *when)
{
    cJSON *doc = cJSON_Parse("{\"name\":\"李华\",\"list\":[1,2,3]}");
    char what[80];
    snprintf(what, sizeof what, "cJSON_Parse in the embedder %s", when);
    EXPECT(doc && cJSON_GetArraySize(cJSON_GetObjectItem(doc, "list")) == 3, what);
    cJSON_AddItemToObject(doc, "added", cJSON_CreateString("x"));
    char *text = cJSON_PrintUnformatted(doc);
    snprintf(what, sizeof what, "cJSON_PrintUnformatted in the embedder %s", when);
    EXPECT(text && strstr(text, "\"added\":\"x\""), what);
    cJSON_free(text);
    cJSON_Delete(doc);
}

int main(int argc, char **argv)
{
    const char *home = argc > 1 ? argv[1] : ".";
    own_json("before the engine");
    EXPECT(arena_alloc(21) == 42 && sb_add(1, 2) == 3 && !strcmp(diag_add(), "embedder") && schema_validate("abc") == 3,
           "the embedder's functions named like engine internals are its own");

    yz_diags d;
    yz_diags_init(&d);
    yz_ruleset *rs = NULL;
    int rc = yz_ruleset_load(home, "guangdong", &rs, &d);
    EXPECT(rc == YZ_OK, "yz_ruleset_load guangdong");
    const char *rec_text = "{\"schema\":1,\"id_number\":\"440106198506150025\",\"name\":\"李华\","
                           "\"sex\":\"F\",\"birth_date\":\"1985-06-15\"}";
    yz_record *rec = NULL;
    rc = yz_record_parse(rec_text, strlen(rec_text), "embed.json", &rec, &d);
    EXPECT(rc == YZ_OK, "yz_record_parse");
    own_json("after the engine parsed a record");
    if (rs && rec) {
        yz_evaluator *ev = NULL;
        EXPECT(yz_evaluator_new(rs, NULL, &ev, &d) == YZ_OK, "yz_evaluator_new");
        yz_determination *det = NULL;
        EXPECT(ev && yz_evaluate(ev, rec, "2025-06-15", &det, &d) == YZ_OK, "yz_evaluate");
        if (det) {
            char *json = yz_determination_json(det);
            cJSON *back = cJSON_Parse(json); /* the embedder reads the engine's output with cJSON */
            EXPECT(back && !strcmp(cJSON_GetObjectItem(back, "province")->valuestring, "guangdong"),
                   "the determination JSON read back with the embedder's cJSON");
            cJSON_Delete(back);
            yz_free(json);
            yz_determination_free(det);
        }
        yz_evaluator_free(ev);
    }
    own_json("after an evaluation");
    yz_record_free(rec);
    yz_ruleset_free(rs);
    for (size_t i = 0; i < d.n; i++) {
        char *m = yz_diag_format(&d.items[i]);
        printf("embed: %s\n", m);
        yz_free(m);
    }
    yz_diags_free(&d);
    printf("embed: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}

/* fuzz_json.c: the two JSON parsers of yj_parse, differentially.  The input is any text; parsed with
 * the fast path (simdjson, yz_jsonfast.cc) allowed and with cJSON alone, it must give the same
 * answer: both refuse it with the same offset and message, or both make the same nodes (types,
 * doubles to the bit, cJSON's int, member names and order, the list links). */
#include <cjson/cJSON.h>

#include "fuzz.h"
#include "yz_json.h"
#include "yz_jsonfast.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static void same_tree(const cJSON *a, const cJSON *b, const char *path)
{
    FUZZ_ASSERT((a == NULL) == (b == NULL), "one parser made a node the other did not, at %s", path);
    if (!a)
        return;
    FUZZ_ASSERT(a->type == b->type, "types %d and %d at %s", a->type, b->type, path);
    FUZZ_ASSERT(a->valueint == b->valueint && !memcmp(&a->valuedouble, &b->valuedouble, sizeof(double)),
                "numbers %.17g (%d) and %.17g (%d) at %s", a->valuedouble, a->valueint, b->valuedouble, b->valueint, path);
    FUZZ_ASSERT(!a->string == !b->string && (!a->string || !strcmp(a->string, b->string)), "member names at %s", path);
    FUZZ_ASSERT(!a->valuestring == !b->valuestring && (!a->valuestring || !strcmp(a->valuestring, b->valuestring)),
                "texts at %s", path);
    const cJSON *x = a->child, *y = b->child, *lx = NULL, *ly = NULL;
    for (; x || y; lx = x, ly = y, x = x ? x->next : NULL, y = y ? y->next : NULL) {
        same_tree(x, y, x && x->string ? x->string : "[]");
        FUZZ_ASSERT(x->prev == lx || !lx, "a list's back links (fast path) at %s", path);
        FUZZ_ASSERT(y->prev == ly || !ly, "a list's back links (cJSON) at %s", path);
    }
    if (a->child)
        FUZZ_ASSERT(a->child->prev == lx && b->child->prev == ly, "a list's first node does not name its last at %s", path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    arena m;
    arena_init(&m, 4096);
    const char *text = (const char *)data;
    size_t off1 = 0, off2 = 0;
    const char *e1 = NULL, *e2 = NULL;
    yj *v1 = yj_parse(&m, text, size, &off1, &e1);
    int was = yjf_enable(0);
    yj *v2 = yj_parse(&m, text, size, &off2, &e2);
    yjf_enable(was);
    FUZZ_ASSERT((v1 == NULL) == (v2 == NULL), "the fast path %s a text cJSON %s", v1 ? "took" : "refused",
                v2 ? "takes" : "refuses");
    if (v1)
        same_tree(v1, v2, "(top)");
    else
        FUZZ_ASSERT(off1 == off2 && e1 && e2 && !strcmp(e1, e2), "errors differ: %zu %s / %zu %s", off1, e1, off2, e2);
    arena_free(&m);
    return 0;
}

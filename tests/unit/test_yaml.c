/* test_yaml.c: YAML documents with their positions (1-based lines and columns, as lint reports
 * them), the scalar readers, and the refusals that keep hostile files bounded. */
#include <stdlib.h>

#include "unit.h"
#include "yz_yaml.h"

static ydoc *parse(const char *text, yz_diags *d)
{
    ydoc *doc = NULL;
    ydoc_parse(text, strlen(text), "t.yaml", &doc, d);
    return doc;
}

/* the first diagnostic's location and message, as "line:col: message" */
static const char *first(const yz_diags *d)
{
    static char buf[300];
    if (!d->n)
        return "(none)";
    snprintf(buf, sizeof buf, "%d:%d: %s", d->items[0].line, d->items[0].col, d->items[0].message);
    return buf;
}

void test_yaml(void)
{
    yz_diags d;
    yz_diags_init(&d);
    const char *text = "format: 1\n"
                       "categories:\n"
                       "  older:\n"
                       "    name: 大龄失业人员\n"
                       "    when:\n"
                       "      - 'r.sex == \"F\"'\n"
                       "      - |\n"
                       "        age(r.birth_date, as_of) >= 40\n"
                       "    list: [a, \"b\", 3]\n";
    ydoc *doc = parse(text, &d);
    CHECK(doc && doc->root && doc->root->kind == YN_MAP);
    CHECK_INT(d.n, 0);
    if (doc && doc->root) {
        CHECK_INT(doc->root->line, 1);
        CHECK_INT(doc->root->col, 1);
        ynode *cats = ynode_get(doc->root, "categories");
        ynode *older = ynode_get(cats, "older");
        CHECK(older && older->kind == YN_MAP);
        CHECK_INT(older ? older->line : 0, 4); /* a block mapping starts at its first key */
        ynode *name = ynode_get(older, "name");
        CHECK_STR(ynode_text(name), "大龄失业人员");
        CHECK_INT(name ? name->line : 0, 4);
        CHECK_INT(name ? name->col : 0, 11); /* columns count bytes from 1 */
        ynode *when = ynode_get(older, "when");
        CHECK(when && when->kind == YN_SEQ && when->n == 2);
        if (when && when->n == 2) {
            CHECK_INT(when->vals[0]->line, 6);
            CHECK_INT(when->vals[0]->col, 9);
            CHECK_INT(when->vals[0]->style, YS_SINGLE);
            CHECK_STR(when->vals[0]->str, "r.sex == \"F\"");
            /* a literal block starts on the line of its indicator; its text on the next */
            CHECK_INT(when->vals[1]->style, YS_LITERAL);
            CHECK_INT(when->vals[1]->line, 7);
            CHECK_STR(when->vals[1]->str, "age(r.birth_date, as_of) >= 40\n");
        }
        ynode *list = ynode_get(older, "list");
        CHECK(list && list->kind == YN_SEQ && list->n == 3);
        if (list && list->n == 3) {
            CHECK_INT(list->vals[2]->col, 20);
            long long v = 0;
            CHECK(ynode_int(list->vals[2], &v) && v == 3);
            CHECK(!ynode_int(list->vals[1], NULL)); /* "b" is quoted text */
        }
        CHECK(ynode_get(older, "absent") == NULL);
        CHECK_STR(ynode_kind_name(list), "list");
    }
    ydoc_free(doc);

    /* the scalar readers follow YAML 1.2's core schema, plain scalars only */
    doc = parse("a: true\nb: False\nc: 'true'\nd: ~\ne:\nf: 12x\ng: -7\nh: yes\n", &d);
    CHECK(doc != NULL);
    if (doc) {
        bool b = false;
        CHECK(ynode_bool(ynode_get(doc->root, "a"), &b) && b);
        CHECK(ynode_bool(ynode_get(doc->root, "b"), &b) && !b);
        CHECK(!ynode_bool(ynode_get(doc->root, "c"), NULL));
        CHECK(!ynode_bool(ynode_get(doc->root, "h"), NULL)); /* YAML 1.1's yes is text in 1.2 */
        CHECK(ynode_is_null(ynode_get(doc->root, "d")) && ynode_text(ynode_get(doc->root, "d")) == NULL);
        CHECK(ynode_is_null(ynode_get(doc->root, "e")));
        CHECK(!ynode_int(ynode_get(doc->root, "f"), NULL));
        long long v = 0;
        CHECK(ynode_int(ynode_get(doc->root, "g"), &v) && v == -7);
    }
    ydoc_free(doc);

    /* problems name their line and column */
    yz_diags_free(&d);
    doc = parse("a: 1\nb: 2\na: 3\n", &d);
    CHECK(d.n_errors == 1);
    CHECK(strstr(first(&d), "3:1: ") == first(&d) && strstr(first(&d), "duplicate key 'a'"));
    ydoc_free(doc);
    yz_diags_free(&d);
    doc = parse("a: &x 1\nb: *x\n", &d);
    CHECK(d.n_errors >= 1 && strstr(first(&d), "1:4: ") == first(&d));
    ydoc_free(doc);
    yz_diags_free(&d);
    doc = parse("a: [1, 2\nb: 3\n", &d);
    CHECK(doc == NULL && d.n_errors == 1);
    CHECK(d.n && d.items[0].line >= 2);
    yz_diags_free(&d);
    doc = parse("a: 1\n---\nb: 2\n", &d);
    CHECK(d.n_errors == 1 && strstr(first(&d), "document"));
    ydoc_free(doc);
    yz_diags_free(&d);

    /* nesting beyond the limit is refused, not followed */
    strbuf deep = STRBUF_INIT;
    for (int i = 0; i < YDOC_MAX_DEPTH + 10; i++)
        sb_adds(&deep, "[");
    doc = parse(deep.buf, &d);
    CHECK(doc == NULL && d.n_errors >= 1);
    sb_free(&deep);
    yz_diags_free(&d);

    /* an empty document has no root */
    doc = parse("", &d);
    CHECK(doc && doc->root == NULL && d.n == 0);
    ydoc_free(doc);
    yz_diags_free(&d);
}

/* test_schema.c: applicant records: every violation listed with its field path; absent vs null. */
#include <stdlib.h>

#include "unit.h"
#include "yz_record.h"
#include "yz_schema.h"

static bool has_violation(const yz_diags *d, const char *field, const char *text)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->items[i].field && !strcmp(d->items[i].field, field) && strstr(d->items[i].message, text))
            return true;
    return false;
}

static int parse(const char *text, yz_record **rec, yz_diags *d)
{
    yz_diags_init(d);
    return yz_record_parse(text, strlen(text), "t.json", rec, d);
}

/* the patterns of the schemas, matched without regexec (which may allocate) */
static void test_patterns(void)
{
    const void *id = schema_pattern("^[a-z][a-z0-9_]*$");
    CHECK(schema_match(id, "older_unemployed"));
    CHECK(schema_match(id, "a"));
    CHECK(!schema_match(id, ""));
    CHECK(!schema_match(id, "Older"));
    CHECK(!schema_match(id, "9lives"));
    CHECK(!schema_match(id, "a-b"));
    CHECK(!schema_match(id, "ab "));
    const void *dash = schema_pattern("^[a-z][a-z0-9_-]*$");
    CHECK(schema_match(dash, "yue-2023-11"));
    CHECK(!schema_match(dash, "-yue"));
    const void *six = schema_pattern("^[0-9]{6}$");
    CHECK(schema_match(six, "440000"));
    CHECK(!schema_match(six, "44000"));
    CHECK(!schema_match(six, "4400000"));
    CHECK(!schema_match(six, "44000a"));
    const void *code = schema_pattern("^[A-Za-z0-9_-]{1,16}$");
    CHECK(schema_match(code, "A-1_b"));
    CHECK(schema_match(code, "0123456789abcdef"));
    CHECK(!schema_match(code, "0123456789abcdefg"));
    CHECK(!schema_match(code, ""));
    CHECK(!schema_match(code, "a.b"));
    const void *date = schema_pattern("^[0-9]{4}-[0-9]{2}-[0-9]{2}$");
    CHECK(schema_match(date, "2025-06-15"));
    CHECK(!schema_match(date, "2025-6-15"));
    CHECK(!schema_match(date, "2025-06-155"));
    const void *bt = schema_pattern("^[a-z]*[a-z]x?$"); /* needs backtracking */
    CHECK(schema_match(bt, "abc"));
    CHECK(schema_match(bt, "abx"));
    CHECK(!schema_match(bt, ""));
}

/* the violations of d as "field|message" lines, positions left out */
static void violations(const yz_diags *d, strbuf *out)
{
    sb_clear(out);
    for (size_t i = 0; i < d->n; i++)
        sb_addf(out, "%s|%s\n", d->items[i].field ? d->items[i].field : "-", d->items[i].message);
}

/* one validator: a record written in JSON and in YAML gets the same violations, with the same
 * paths and words (but the name of the syntax: an object in JSON, a mapping in YAML); in YAML
 * each has its line and column, and a plain scalar where text is expected is text */
static void test_one_validator(void)
{
    const char *json = "{\"schema\": 1, \"id_number\": \"440106198506150025\", \"sex\": \"X\", \"birth_date\": \"1985-02-30\",\n"
                       " \"hukou\": {\"region\": \"4401\", \"typ\": \"urban\"}, \"willing_to_work\": \"yes\",\n"
                       " \"employment\": [1], \"public_welfare_post\": {\"placements\": 1.5}}";
    const char *yaml = "schema: 1\nid_number: '440106198506150025'\nsex: X\nbirth_date: 1985-02-30\n"
                       "hukou: {region: '4401', typ: urban}\nwilling_to_work: 'yes'\n"
                       "employment: [1]\npublic_welfare_post: {placements: 1.5}\n";
    yz_record *rec = NULL;
    yz_diags dj, dy;
    CHECK_INT(parse(json, &rec, &dj), YZ_EINPUT);
    CHECK_INT(parse(yaml, &rec, &dy), YZ_EINPUT);
    strbuf a = STRBUF_INIT, b = STRBUF_INIT;
    violations(&dj, &a);
    violations(&dy, &b);
    CHECK_INT(dj.n, 7);
    /* the same but for the name of an object in YAML */
    char *yw = strstr(b.buf, "a mapping (key: value lines)");
    CHECK(yw != NULL);
    if (yw) {
        strbuf c = STRBUF_INIT;
        sb_add(&c, b.buf, (size_t)(yw - b.buf));
        sb_adds(&c, "an object");
        sb_adds(&c, yw + strlen("a mapping (key: value lines)"));
        CHECK_STR(c.buf, a.buf);
        sb_free(&c);
    }
    CHECK(has_violation(&dj, "employment", "expected an object, got a list"));
    CHECK(has_violation(&dj, "hukou.region", "is not a 6-digit GB/T 2260 region code"));
    /* the YAML ones name their line and column; JSON's only their path */
    CHECK(dy.n == 7 && dy.items[0].line > 0 && dy.items[0].col > 0);
    CHECK(dj.n == 7 && dj.items[0].line == 0);
    bool pos = false;
    for (size_t i = 0; i < dy.n; i++)
        pos |= !strcmp(dy.items[i].field, "hukou.typ") && dy.items[i].line == 5 && dy.items[i].col == 25;
    CHECK(pos);
    sb_free(&a);
    sb_free(&b);
    yz_diags_free(&dj);
    yz_diags_free(&dy);

    /* plain scalars where the schema asks for text are that text; canonical input has strings */
    const char *plain = "schema: 1\nid_number: 440106198506150025\nsex: F\nbirth_date: 1985-06-15\nhukou: {region: 440106}\n";
    yz_diags d;
    CHECK_INT(parse(plain, &rec, &d), YZ_OK);
    if (rec) {
        char *c = yz_record_canonical(rec);
        CHECK_STR(c, "{\"birth_date\":\"1985-06-15\",\"hukou\":{\"region\":\"440106\"},\"id_number\":\"440106198506150025\",\"schema\":1,\"sex\":\"F\"}");
        yz_free(c);
        yz_record_free(rec);
        rec = NULL;
    }
    yz_diags_free(&d);
    /* but not where it asks for a number or true/false */
    CHECK_INT(parse("schema: '1'\nid_number: 440106198506150025\nwilling_to_work: yes\n", &rec, &d), YZ_EINPUT);
    CHECK(has_violation(&d, "schema", "expected a whole number, got the text '1'"));
    CHECK(has_violation(&d, "willing_to_work", "expected true or false (without quotes), got the text 'yes'"));
    yz_diags_free(&d);

    /* a policy file through the same validator: its own noun, the path, the position */
    yz_diags_init(&d);
    ydoc *doc = NULL;
    const char *pol = "format: 2\ntitle: [x]\ncatagories: {}\nregion: {code: '4400'}\nsources: {Bad: {issuer: x}}\n";
    CHECK_INT(ydoc_parse(pol, strlen(pol), "p.yaml", &doc, &d), YZ_OK);
    CHECK(doc && schema_check_yaml(schema_policy(), doc->root, "p.yaml", &d) == 7);
    CHECK(has_violation(&d, "effective", "required key is missing"));
    CHECK(has_violation(&d, "format", "unsupported value 2: this engine reads version 1"));
    CHECK(has_violation(&d, "title", "expected text, got a list"));
    CHECK(has_violation(&d, "catagories", "unknown key (did you mean 'categories'?)"));
    CHECK(has_violation(&d, "region.code", "'4400' is not a 6-digit GB/T 2260 code"));
    CHECK(has_violation(&d, "sources.Bad", "'Bad' is not a source id"));
    for (size_t i = 0; i < d.n; i++)
        if (d.items[i].field && !strcmp(d.items[i].field, "catagories"))
            CHECK(d.items[i].line == 3 && d.items[i].col == 1);
    ydoc_free(doc);
    yz_diags_free(&d);
}

void test_schema(void)
{
    test_patterns();
    test_one_validator();
    yz_record *rec = NULL;
    yz_diags d;
    const char *good = "{\"schema\":1,\"id_number\":\"440106198506150025\",\"sex\":\"F\",\"birth_date\":\"1985-06-15\"}";
    CHECK_INT(parse(good, &rec, &d), YZ_OK);
    CHECK_STR(yz_record_id_number(rec), "440106198506150025");
    char *canon = yz_record_canonical(rec);
    CHECK_STR(canon, "{\"birth_date\":\"1985-06-15\",\"id_number\":\"440106198506150025\",\"schema\":1,\"sex\":\"F\"}");
    yz_free(canon);
    yz_record_free(rec);
    yz_diags_free(&d);

    /* many problems at once, each with its path */
    const char *bad = "{\"schema\":1,\"id_number\":\"440106198506150026\",\"sex\":\"M\",\"birth_date\":\"1985-02-30\","
                      "\"hukou\":{\"typ\":\"urban\",\"region\":\"4401\"},\"willing_to_work\":\"yes\","
                      "\"employment\":{\"status\":\"unemploy\"},\"household\":{\"members\":[{\"id_number\":\"440106198301010019\"}]},"
                      "\"public_welfare_post\":{\"placements\":1.5},\"retirement_group\":\"female_worker\"}";
    CHECK_INT(parse(bad, &rec, &d), YZ_EINPUT);
    CHECK(rec == NULL);
    CHECK(has_violation(&d, "id_number", "check digit is '6' but should be '5'"));
    CHECK(has_violation(&d, "birth_date", "not a real date"));
    CHECK(has_violation(&d, "hukou.typ", "did you mean 'type'"));
    CHECK(has_violation(&d, "hukou.region", "6-digit"));
    CHECK(has_violation(&d, "willing_to_work", "true or false"));
    CHECK(has_violation(&d, "employment.status", "did you mean 'unemployed'"));
    CHECK(has_violation(&d, "household.members[0].id_number", "should be '0'"));
    CHECK(has_violation(&d, "public_welfare_post.placements", "whole number"));
    CHECK(has_violation(&d, "retirement_group", "does not fit sex M"));
    yz_diags_free(&d);

    /* sex and birth date must agree with a valid ID number */
    CHECK_INT(parse("{\"schema\":1,\"id_number\":\"440106198506150025\",\"sex\":\"M\",\"birth_date\":\"1985-06-16\"}", &rec, &d),
              YZ_EINPUT);
    CHECK(has_violation(&d, "sex", "disagrees with id_number"));
    CHECK(has_violation(&d, "birth_date", "gives 1985-06-15"));
    yz_diags_free(&d);

    /* required fields, version, wrong top-level type */
    CHECK_INT(parse("{\"schema\":2,\"sex\":\"F\"}", &rec, &d), YZ_EINPUT);
    CHECK(has_violation(&d, "schema", "version 1"));
    CHECK(has_violation(&d, "id_number", "missing"));
    CHECK(has_violation(&d, "birth_date", "missing"));
    yz_diags_free(&d);
    CHECK_INT(parse("[1,2]", &rec, &d), YZ_EINPUT);
    yz_diags_free(&d);

    /* syntax errors report line and column */
    CHECK_INT(parse("{\"schema\":1,\n  \"sex\": F}", &rec, &d), YZ_EPARSE);
    CHECK(d.n == 1 && d.items[0].line == 2);
    yz_diags_free(&d);

    /* YAML records; a plain 'yes' is text (YAML 1.2), so it is refused for a boolean */
    const char *yaml = "schema: 1\nid_number: \"440106198506150025\"\nsex: F\nbirth_date: 1985-06-15\n"
                       "disability: {certificate: none, grade: null}\nveteran: null\n";
    CHECK_INT(parse(yaml, &rec, &d), YZ_OK);
    if (rec) {
        /* grade: null is a known "none"; veteran: null is absent (unknown) */
        const yval *dis = rec->root->kids[snode_child(rec->root->sn, "disability", 10)->pos];
        CHECK(dis && dis->kids[snode_child(dis->sn, "grade", 5)->pos] != NULL);
        CHECK(rec->root->kids[snode_child(rec->root->sn, "veteran", 7)->pos] == NULL);
    }
    yz_record_free(rec);
    yz_diags_free(&d);

    /* duplicate keys, bad UTF-8, empty input */
    CHECK_INT(parse("{\"schema\":1,\"schema\":1}", &rec, &d), YZ_EINPUT);
    CHECK(has_violation(&d, "schema", "twice"));
    yz_diags_free(&d);
    CHECK_INT(parse("{\"name\":\"\xff\"}", &rec, &d), YZ_EPARSE);
    yz_diags_free(&d);
    CHECK_INT(parse("  \n", &rec, &d), YZ_EPARSE);
    yz_diags_free(&d);
    CHECK_INT(parse("{\"schema\":1,\"name\":\"a\\u0000b\"}", &rec, &d), YZ_EPARSE);
    CHECK(d.n && strstr(d.items[0].message, "NUL character"));
    yz_diags_free(&d);
    /* a backslash followed by "u0000" is text, not a NUL: the record is valid and its canonical
       JSON reads back (fuzz_record: one written in YAML was decided, then refused on replay) */
    {
        static const char *const texts[] = {
            "{\"schema\":1,\"id_number\":\"440106198506150025\",\"sex\":\"F\",\"birth_date\":\"1985-06-15\",\"name\":\"a\\\\u0000b\"}",
            "schema: 1\nid_number: '440106198506150025'\nsex: F\nbirth_date: 1985-06-15\nname: 'a\\u0000b'\n",
        };
        for (size_t i = 0; i < 2; i++) {
            CHECK_INT(parse(texts[i], &rec, &d), YZ_OK);
            yz_diags_free(&d);
            if (!rec)
                continue;
            char *c = yz_record_canonical(rec);
            CHECK(strstr(c, "\"name\":\"a\\\\u0000b\""));
            yz_record *again = NULL;
            CHECK_INT(parse(c, &again, &d), YZ_OK);
            yz_diags_free(&d);
            yz_record_free(again);
            yz_free(c);
            yz_record_free(rec);
        }
    }
    CHECK_INT(parse("{\"schema\":1,\"name\":\"a\\\\\\u0000b\"}", &rec, &d), YZ_EPARSE); /* \\ then \u0000 */
    yz_diags_free(&d);

    /* a list item far away would make every row build the list up to it (fuzz_csv) */
    {
        char *far[] = {"schema", "household.members.100000000.relation"};
        strbuf err = STRBUF_INIT;
        CHECK(csv_header_new(far, 2, &err) == NULL);
        CHECK(strstr(sb_str(&err), "names item 100000000 of a list that has at most 1000 items"));
        sb_free(&err);
        char *last[] = {"schema", "household.members.999.relation"};
        csv_header *h = csv_header_new(last, 2, &err);
        CHECK(h != NULL);
        csv_header_free(h);
        sb_free(&err);
    }
}

/* test_records.c: what a person types and reads, and records bound to the people they name:
 * escaping for terminals, operator ids, JSON field paths at an offset, CSV's explicit "none",
 * and a decision that names one person but would hold another's record. */
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
#include "yz_eval.h"
#include "yz_json.h"
#include "yz_record.h"
#include "yz_text.h"

static void check_escape(const char *in, bool keep, const char *want)
{
    char *got = yz_text_escape(in, keep);
    CHECK_STR(got, want);
    yz_free(got);
}

static int operator_rc(const char *id)
{
    yz_diags d;
    yz_diags_init(&d);
    int rc = yz_operator_check(id, &d);
    if (rc != YZ_OK) { /* a refusal always says why, and shows the id escaped */
        CHECK(d.n == 1);
        CHECK(d.n && !strpbrk(d.items[0].message, "\n\r\x1b"));
    }
    yz_diags_free(&d);
    return rc;
}

static void test_text(void)
{
    check_escape("gz-0042 李华", false, "gz-0042 李华");
    check_escape("gz-1\n已记录：决定编号 FAKE", false, "gz-1\\n已记录：决定编号 FAKE");
    check_escape("a\tb\rc", false, "a\\tb\\rc");
    check_escape("\x1b[2J\x1b[1;1H", false, "\\x1b[2J\\x1b[1;1H");
    check_escape("x\x7fy", false, "x\\x7fy");
    check_escape("\xc2\x85next", false, "\\u0085next");                 /* C1: NEL */
    check_escape("abc\xe2\x80\xae" "cba", false, "abc\\u202ecba");     /* right-to-left override */
    check_escape("\xe2\x81\xa6iso\xe2\x81\xa9", false, "\\u2066iso\\u2069");
    check_escape("line\xe2\x80\xa8sep", false, "line\\u2028sep");
    check_escape("bad \xff\xfe byte", false, "bad \\xff\\xfe byte");
    check_escape("cut \xe6\x9d", false, "cut \\xe6\\x9d");              /* a character cut short */
    check_escape("one\ntwo\n", true, "one\ntwo\n");
    check_escape("one\ntwo\x1b", true, "one\ntwo\\x1b");
    check_escape(NULL, false, "");

    CHECK_INT(operator_rc("gz-0042"), YZ_OK);
    CHECK_INT(operator_rc("张三"), YZ_OK);
    CHECK_INT(operator_rc("GZ 0042"), YZ_OK);
    CHECK_INT(operator_rc("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), YZ_OK); /* 64 */
    CHECK_INT(operator_rc("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), YZ_EUSAGE);
    CHECK_INT(operator_rc("张三张三张三张三张三张三张三张三张三张三张三张三张三张三张三张三"
                          "张三张三张三张三张三张三张三张三张三张三张三张三张三张三张三张三"), YZ_OK); /* 64 characters */
    CHECK_INT(operator_rc(""), YZ_EUSAGE);
    CHECK_INT(operator_rc(NULL), YZ_EUSAGE);
    CHECK_INT(operator_rc("gz-1\n已记录：决定编号 FAKE"), YZ_EUSAGE);
    CHECK_INT(operator_rc("gz\x1b[2J"), YZ_EUSAGE);
    CHECK_INT(operator_rc("gz\x7f"), YZ_EUSAGE);
    CHECK_INT(operator_rc("gz\xc2\x9b" "2J"), YZ_EUSAGE);        /* C1 CSI */
    CHECK_INT(operator_rc("gz\xe2\x80\xae" "1"), YZ_EUSAGE);     /* RLO */
    CHECK_INT(operator_rc("gz\xe2\x80\x8b" "1"), YZ_EUSAGE);     /* zero-width space */
    CHECK_INT(operator_rc("gz\xef\xbb\xbf"), YZ_EUSAGE);         /* BOM */
    CHECK_INT(operator_rc("gz\xff"), YZ_EUSAGE);
    CHECK_INT(operator_rc(" gz"), YZ_EUSAGE);
    CHECK_INT(operator_rc("gz "), YZ_EUSAGE);
    CHECK_INT(operator_rc("gz\xe3\x80\x80"), YZ_EUSAGE);         /* ideographic space */
}

static void check_path_at(const char *json, const char *mark, const char *want)
{
    strbuf sb = STRBUF_INIT;
    yj_path_at(json, strlen(json), (size_t)(strstr(json, mark) - json), &sb);
    CHECK_STR(sb_str(&sb), want);
    sb_free(&sb);
}

static void test_paths(void)
{
    check_path_at("{\"sex\":\"F@x\"}", "@", "sex");
    check_path_at("{\"a\":1,\"name\":\"李@华\"}", "@", "name");
    check_path_at("{\"household\":{\"members\":[{\"relation\":\"spouse\"},{\"relation\":\"ch@ild\"}]}}", "@",
                  "household.members[1].relation");
    check_path_at("{\"a\":{\"b\":[1,2,[3,\"@\"]]}}", "@", "a.b[2][1]");
    check_path_at("{\"k\\\"ey\":{\"x\":\"@\"}}", "@", "k\\\"ey.x");      /* an escaped quote in a key */
    check_path_at("{\"na@me\":1}", "@", "na");                            /* inside a member name */
    check_path_at("{\"a\":\"x,y\",\"b\":\"@\"}", "@", "b");              /* a comma inside a string */
    check_path_at("@{\"a\":1}", "@", "");

    bool esc;
    const char t1[] = "{\"a\":\"x\\\\u0000\",\"b\":\"\\u0000\"}";
    const char *n = yj_find_nul(t1, strlen(t1), &esc);
    CHECK(n && esc && n == strstr(t1, "\"b\":\"") + 5);
    const char t2[] = "{\"a\":\"F\0x\"}";
    n = yj_find_nul(t2, sizeof t2 - 1, &esc);
    CHECK(n == t2 + 7 && !esc);
    CHECK(!yj_find_nul("{\"a\":\"\\\\u0000\"}", 15, &esc));
    /* runs of backslashes: odd ends in an escape, even is text; cut short, or at the very end */
    const char t3[] = "\\\\\\u0000", t4[] = "\\\\\\\\u0000", t5[] = "\"\\u000\"", t6[] = "\"x\\",
               t7[] = "\\\\u0000\\u0000";
    CHECK(yj_find_nul(t3, sizeof t3 - 1, &esc) == t3 + 2 && esc);
    CHECK(!yj_find_nul(t4, sizeof t4 - 1, &esc) && !esc);
    CHECK(!yj_find_nul(t5, sizeof t5 - 1, &esc));
    CHECK(!yj_find_nul(t6, sizeof t6 - 1, &esc));
    CHECK(yj_find_nul(t7, sizeof t7 - 1, &esc) == t7 + 7 && esc);
}

static yj *csv_row(arena *m, const char *header, const char *row)
{
    char hb[512], rb[512];
    snprintf(hb, sizeof hb, "%s", header);
    snprintf(rb, sizeof rb, "%s", row);
    char *hf[32], *rf[32];
    size_t hn = 0, rn = 0, lens[32];
    for (char *s = strtok(hb, ","); s; s = strtok(NULL, ","))
        hf[hn++] = s;
    for (char *p = rb, *e;; p = e + 1) {
        e = strchr(p, ',');
        if (e)
            *e = '\0';
        lens[rn] = strlen(p);
        rf[rn++] = p;
        if (!e)
            break;
    }
    strbuf err = STRBUF_INIT;
    csv_header *h = csv_header_new(hf, hn, &err);
    CHECK(h != NULL);
    sb_free(&err);
    long nul;
    yj *doc = h ? record_from_csv(m, h, rf, lens, rn, &nul) : NULL;
    csv_header_free(h);
    return doc;
}

static void check_csv(const char *header, const char *row, const char *want)
{
    arena m;
    arena_init(&m, 4096);
    yj *doc = csv_row(&m, header, row);
    strbuf sb = STRBUF_INIT;
    if (doc)
        yj_write_canonical(&sb, doc);
    CHECK_STR(sb_str(&sb), want);
    sb_free(&sb);
    arena_free(&m);
}

static void test_csv_none(void)
{
    check_csv("service_refusals,evidence", "[],[]", "{\"evidence\":[],\"service_refusals\":[]}");
    check_csv("service_refusals", "null", "{\"service_refusals\":null}");
    check_csv("service_refusals", "", "{}");
    check_csv("service_refusals", "2025-01-02;2025-03-04", "{\"service_refusals\":[\"2025-01-02\",\"2025-03-04\"]}");
    check_csv("household.members.count", "0", "{\"household\":{\"members\":[]}}");
    check_csv("household.members.count,household.members.0.relation", "1,spouse",
              "{\"household\":{\"members\":[{\"relation\":\"spouse\"}]}}");
    /* not a number of items: the text stands for the list (validation refuses it), and the cells
       of its items go nowhere rather than into a list that is not one */
    check_csv("household.members.count,household.members.0.relation", "two,spouse", "{\"household\":{\"members\":\"two\"}}");
    check_csv("household.members.0.relation,household.members.count", "spouse,null", "{\"household\":{\"members\":\"null\"}}");
}

/* a record from the example with another id number (and the sex and birth date it implies) */
static yz_record *record_with_id(const char *id, const char *sex, const char *birth)
{
    char text[512];
    snprintf(text, sizeof text,
             "{\"schema\":1,\"id_number\":\"%s\",\"sex\":\"%s\",\"birth_date\":\"%s\",\"hukou\":{\"region\":\"440106\",\"type\":\"urban\"}}",
             id, sex, birth);
    yz_record *rec = NULL;
    yz_diags d;
    yz_diags_init(&d);
    CHECK_INT(yz_record_parse(text, strlen(text), "t.json", &rec, &d), YZ_OK);
    yz_diags_free(&d);
    return rec;
}

static void test_identity(void)
{
    char dir[] = "/tmp/yz-unit-records.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char db[64];
    snprintf(db, sizeof db, "%s/s.db", dir);
    yz_diags d;
    yz_diags_init(&d);
    yz_ruleset *rs = NULL;
    yz_evaluator *ev = NULL;
    CHECK_INT(yz_ruleset_load(".", "guangdong", &rs, &d), YZ_OK);
    CHECK_INT(yz_evaluator_new(rs, NULL, &ev, &d), YZ_OK);
    /* one person typed with a lowercase x is the canonical one */
    yz_record *a = record_with_id("44010619850615048x", "F", "1985-06-15");
    yz_record *b = record_with_id("440106198506150025", "F", "1985-06-15");
    CHECK_STR(yz_record_id_number(a), "44010619850615048X");
    char *canon = yz_record_canonical(a);
    CHECK(strstr(canon, "\"id_number\":\"44010619850615048X\"") != NULL);
    yz_free(canon);
    yz_determination *da = NULL, *db_ = NULL;
    CHECK_INT(yz_evaluate(ev, a, "2025-06-15", &da, &d), YZ_OK);
    CHECK_INT(yz_evaluate(ev, b, "2025-06-15", &db_, &d), YZ_OK);
    yz_store *st = NULL;
    CHECK_INT(yz_store_open(db, NULL, &st, &d), YZ_OK);
    char id[17];
    int64_t seq;
    yz_diags_free(&d);
    /* the library checks operator ids itself (a service calls it directly) */
    CHECK_INT(yz_store_record(st, rs, a, da, "gz-1\n已记录：决定编号 FAKE", id, &seq, &d), YZ_EUSAGE);
    CHECK(d.n_errors == 1);
    yz_diags_free(&d);
    /* a determination recorded with another person's record: refused */
    CHECK_INT(yz_store_record(st, rs, b, da, "gz-0042", id, &seq, &d), YZ_EUSAGE);
    yz_diags_free(&d);
    CHECK_INT(yz_store_record(st, rs, a, da, "gz-0042", id, &seq, &d), YZ_OK);
    yz_verify_report rep;
    CHECK_INT(yz_store_verify(st, NULL, &rep, &d), YZ_OK);
    /* what a forger (or a caller bypassing the API) could make: a chain that is valid, whose
       decision names person A but holds B's record; verify must see it */
    yz_record forged = *b;
    forged.id_number = yz_record_id_number(a);
    CHECK_INT(yz_store_record(st, rs, &forged, da, "gz-0042", id, &seq, &d), YZ_OK);
    CHECK_INT(yz_store_verify(st, NULL, &rep, &d), YZ_EFAILED);
    CHECK_INT(rep.bad_seq, seq);
    CHECK(strstr(rep.problem, "recorded for id_number 44010619850615048X, but its stored input is the record of "
                              "440106198506150025") != NULL);
    /* --expect-head: malformed or too short is a usage error, not "tampered" */
    CHECK_INT(yz_store_verify(st, "abc", &rep, &d), YZ_EUSAGE);
    CHECK_INT(yz_store_verify(st, "12:82fcbefd", &rep, &d), YZ_EUSAGE);
    CHECK_INT(yz_store_verify(st, "", &rep, &d), YZ_EUSAGE);
    CHECK_INT(yz_store_verify(st, "x:0123456789abcdef", &rep, &d), YZ_EUSAGE);
    CHECK_INT(yz_store_verify(st, "0:0123456789abcdef", &rep, &d), YZ_EUSAGE);
    yz_diags_free(&d);
    yz_store_close(st);
    yz_determination_free(da);
    yz_determination_free(db_);
    yz_record_free(a);
    yz_record_free(b);
    yz_evaluator_free(ev);
    yz_ruleset_free(rs);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

void test_records(void)
{
    test_text();
    test_paths();
    test_csv_none();
    test_identity();
}

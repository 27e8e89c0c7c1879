/* test_merge.c: how a city builds on its province and a province on the national baseline
 * (yz_merge.c): parameters and sources replaced by id, categories and subsidies patched key by
 * key, an item switched off, and one merged policy per combination of versions in force
 * together, each with the intersection of their periods. */
#include <stdlib.h>

#include "unit.h"
#include "yz_policy.h"

static const char national[] =
    "format: 1\neffective: {from: 2000-01-01}\n"
    "sources: {nat: {issuer: 国务院, number: N1, title: 国家文件}}\n"
    "parameters:\n"
    "  age_f: {unit: 周岁, value: 40, source: nat}\n"
    "  wage: {unit: fen, values: {2020-01-01: 100000, 2024-01-01: 120000}, source: nat}\n"
    "categories:\n"
    "  older: {name: 大龄, basis: {source: nat, article: 第一条}, when: 'r.sex == \"F\"',\n"
    "          reason: {met: 国家口径, not_met: 不符合}}\n"
    "  disabled: {name: 残疾, basis: {source: nat}, when: 'r.disability.certificate ~= \"none\"'}\n"
    "  veteran: {name: 退役, basis: {source: nat}, when: 'r.sex == \"M\"'}\n"
    "subsidies:\n"
    "  post: {name: 岗位补贴, basis: {source: nat}, for: [older], amount: {fen: 'P.wage', per: once}}\n";

/* two versions of the province: 2020-2022 and 2023 onwards */
static const char prov_old[] =
    "format: 1\nextends: national\neffective: {from: 2020-01-01, to: 2022-12-31}\n"
    "sources: {prov: {issuer: 省人社厅, number: P1}}\n"
    "parameters: {age_f: {unit: 周岁, value: 45, source: prov}}\n"
    "categories:\n"
    "  older: {name: 省大龄}\n"
    "  veteran: {enabled: false}\n";
static const char prov_new[] =
    "format: 1\nextends: national\neffective: {from: 2023-01-01}\n"
    "sources: {prov: {issuer: 省人社厅, number: P2}}\n"
    "categories:\n"
    "  local: {name: 省定类别, basis: {source: prov}, when: 'r.sex == \"M\"'}\n";
static const char city[] =
    "format: 1\nextends: p\neffective: {from: 2021-07-01}\n"
    "parameters: {wage: {unit: fen, value: 150000}}\n"
    "categories:\n"
    "  older: {reason: {met: 市口径}}\n";

static const pitem *item(const ppolicy *pol, pikind k, const char *id)
{
    return pol ? policy_item(pol, k, id) : NULL;
}

static long long param(const ppolicy *pol, const char *id, const char *on)
{
    const pparam *p = pol ? policy_param(pol, id) : NULL;
    const yj *v = p ? param_value_at(p, on) : NULL;
    int64_t x = -1;
    if (v)
        yj_is_int(v, &x);
    return x;
}

void test_merge(void)
{
    yz_diags d;
    yz_diags_init(&d);
    unit_files_add_lib();
    unit_files_add("rules/national/policy.yaml", national);
    unit_files_add("provinces/p/policy-2020.yaml", prov_old);
    unit_files_add("provinces/p/policy-2023.yaml", prov_new);
    unit_files_add("provinces/p/c/policy.yaml", city);
    yz_ruleset *rs = NULL;
    int rc = yz_ruleset_load_files(unit_files, unit_nfiles, "p/c", &rs, &d);
    CHECK_INT(rc, YZ_OK);
    for (size_t i = 0; i < d.n; i++)
        fprintf(stderr, "merge: %s\n", d.items[i].message);
    if (rs) {
        /* the city starts 2021-07-01: no policy before, two periods after */
        CHECK(ruleset_policy_at(rs, "2021-06-30") == NULL);
        const ppolicy *a = ruleset_policy_at(rs, "2021-07-01");
        const ppolicy *b = ruleset_policy_at(rs, "2023-01-01");
        CHECK(a && b && a != b);
        CHECK(a == ruleset_policy_at(rs, "2022-12-31"));
        CHECK_STR(a ? a->eff_from : NULL, "2021-07-01");
        CHECK_STR(a ? a->eff_to : NULL, "2022-12-31");
        CHECK_STR(b ? b->eff_from : NULL, "2023-01-01");
        CHECK(b && b->eff_to == NULL);
        CHECK_INT(a ? a->nlevels : 0, 3);
        CHECK_STR(a ? a->version_files[1] : NULL, "provinces/p/policy-2020.yaml");
        CHECK_STR(b ? b->version_files[1] : NULL, "provinces/p/policy-2023.yaml");

        /* parameters: replaced whole by id (the city's wage has no dated values left) */
        CHECK_INT(param(a, "age_f", "2022-01-01"), 45);
        CHECK_INT(param(b, "age_f", "2023-06-01"), 40); /* the 2023 province leaves it national */
        CHECK_INT(param(a, "wage", "2021-08-01"), 150000);
        CHECK_INT(param(b, "wage", "2025-01-01"), 150000);

        /* categories: patched key by key; what a level does not say stays its parent's */
        const pitem *oa = item(a, PI_CATEGORY, "older"), *ob = item(b, PI_CATEGORY, "older");
        CHECK_STR(oa ? oa->name : NULL, "省大龄");
        CHECK_STR(ob ? ob->name : NULL, "大龄");
        /* a key given replaces the parent's value whole: reason: {met: ...} drops not_met */
        CHECK_STR(oa ? oa->reason[YZ_MET] : NULL, "市口径");
        CHECK(oa && oa->reason[YZ_NOT_MET] == NULL);
        CHECK_STR(ob ? ob->reason[YZ_MET] : NULL, "市口径"); /* the city is over both versions */
        CHECK(oa && oa->when && oa->when->kind == PC_LEAF && !strcmp(oa->when->expr, "r.sex == \"F\""));
        CHECK(oa && oa->nbasis == 1 && !strcmp(oa->basis[0].article, "第一条"));
        /* switched off by one version only */
        CHECK(item(a, PI_CATEGORY, "veteran") == NULL);
        CHECK(item(b, PI_CATEGORY, "veteran") != NULL);
        /* added by one version only, after the parent's in file order */
        CHECK(item(a, PI_CATEGORY, "local") == NULL);
        const pitem *loc = item(b, PI_CATEGORY, "local");
        CHECK(loc && loc->index == (int)b->nitems[PI_CATEGORY] - 1);
        /* sources: both levels' together, the province's by its version */
        CHECK_INT(a ? a->nsources : 0, 2);
        const psource *pa = NULL, *pb = NULL;
        for (size_t i = 0; a && i < a->nsources; i++)
            if (!strcmp(a->sources[i].id, "prov"))
                pa = &a->sources[i];
        for (size_t i = 0; b && i < b->nsources; i++)
            if (!strcmp(b->sources[i].id, "prov"))
                pb = &b->sources[i];
        CHECK_STR(pa ? pa->number : NULL, "P1");
        CHECK_STR(pb ? pb->number : NULL, "P2");
        /* the subsidy kept its link to the merged category */
        const pitem *post = item(a, PI_SUBSIDY, "post");
        CHECK(post && post->nfor == 1 && post->for_idx[0] == (oa ? oa->index : -2));
        yz_ruleset_free(rs);
    }
    yz_diags_free(&d);

    /* a city whose period never meets its province's is an error, not an empty ruleset */
    unit_files_free();
    unit_files_add_lib();
    unit_files_add("rules/national/policy.yaml", national);
    unit_files_add("provinces/p/policy.yaml", prov_old);
    unit_files_add("provinces/p/c/policy.yaml", "format: 1\nextends: p\neffective: {from: 2024-01-01}\n");
    rs = NULL;
    CHECK_INT(yz_ruleset_load_files(unit_files, unit_nfiles, "p/c", &rs, &d), YZ_EPOLICY);
    CHECK(rs == NULL && d.n_errors >= 1 && strstr(d.items[0].message, "never overlap"));
    yz_diags_free(&d);

    /* a patch that names an unknown key of an item is reported at its line */
    unit_files_free();
    unit_files_add_lib();
    unit_files_add("rules/national/policy.yaml", national);
    unit_files_add("provinces/p/policy.yaml", "format: 1\nextends: national\neffective: {from: 2020-01-01}\n"
                                              "categories:\n  older:\n    nmae: 大龄\n");
    CHECK_INT(yz_ruleset_load_files(unit_files, unit_nfiles, "p", &rs, &d), YZ_EPOLICY);
    CHECK(d.n_errors == 1 && d.items[0].line == 6 && strstr(d.items[0].message, "did you mean 'name'"));
    yz_diags_free(&d);
    unit_files_free();
}

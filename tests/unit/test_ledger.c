/* test_ledger.c: what due and export compute in C: month arithmetic that must agree with the rule
 * library (due projects received months with it), masked ID numbers, amounts in yuan. */
#include <stdio.h>

#include "unit.h"
#include "yz_date.h"
#include "yuanzhu.h"

static void fmt(yz_date d, char out[11])
{
    yz_date_format(d, out);
}

void test_ledger(void)
{
    /* add_months and months_between as rules/lib/date.lua computes them, over month ends, leap
       days and year ends */
    static const char *const starts[] = {"2024-01-31", "2024-02-29", "2023-02-28", "2025-06-15",
                                         "2025-12-31", "2024-03-30", "2025-01-01", "2000-02-29"};
    char a[11], b[11], expr[128], want[24];
    for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
        yz_date s;
        CHECK(yz_date_parse(starts[i], 10, &s));
        for (long n = 0; n <= 40; n += 3) {
            fmt(yz_date_add_months(s, n), a);
            snprintf(expr, sizeof expr, "add_months('%s', %ld)", starts[i], n);
            CHECK_STR(lua_eval(expr), a);
            for (long k = -2; k <= 2; k++) {
                yz_date e = yz_date_add_days(yz_date_add_months(s, n), k);
                fmt(e, b);
                snprintf(expr, sizeof expr, "months_between('%s', '%s')", starts[i], b);
                snprintf(want, sizeof want, "%ld", yz_months_between(s, e));
                CHECK_STR(lua_eval(expr), want);
            }
        }
    }
    yz_date x = {2024, 12, 31};
    fmt(yz_date_add_days(x, 1), a);
    CHECK_STR(a, "2025-01-01");

    char m[32];
    yz_mask_id("440106198506150025", m);
    CHECK_STR(m, "440106********0025");
    yz_mask_id("11010519491231002X", m);
    CHECK_STR(m, "110105********002X");
    yz_mask_id("12345", m);
    CHECK_STR(m, "*****");
    yz_mask_id("", m);
    CHECK_STR(m, "");
    yz_mask_id(NULL, m);
    CHECK_STR(m, "");

    char f[40];
    yz_format_fen(175000, f);
    CHECK_STR(f, "1,750.00 元");
    yz_format_fen(5, f);
    CHECK_STR(f, "0.05 元");
    yz_format_fen(-123456789, f);
    CHECK_STR(f, "-1,234,567.89 元");
    yz_format_fen(INT64_MIN, f);
    CHECK_STR(f, "-92,233,720,368,547,758.08 元");
}

/* test_library.c: the Lua rule library (rules/lib): dates, months, ages, ID numbers, retirement
 * under the 2025 reform, money arithmetic, registration and subsidy history. */
#include "unit.h"

const char *lua_eval_with(const char *expr, const char *record_json, const char *as_of);

#define R(id, sex, birth, extra) \
    "{\"schema\":1,\"id_number\":\"" id "\",\"sex\":\"" sex "\",\"birth_date\":\"" birth "\"" extra "}"

void test_library(void)
{
    /* age in 周岁: reached on the birthday; 29 February reaches it on 28 February */
    CHECK_STR(lua_eval("age('1985-06-15', '2025-06-15')"), "40");
    CHECK_STR(lua_eval("age('1985-06-15', '2025-06-14')"), "39");
    CHECK_STR(lua_eval("age('2000-02-29', '2025-02-28')"), "25");
    CHECK_STR(lua_eval("age('2000-02-29', '2024-02-28')"), "23");
    CHECK_STR(lua_eval("age('2000-02-29', '2024-02-29')"), "24");
    CHECK(strstr(lua_eval("age('1985-6-15', '2025-01-01')"), "expected a date YYYY-MM-DD, got '1985-6-15'"));
    CHECK(strstr(lua_eval("age('1985-06-15', '1980-01-01')"), "before the birth date"));

    /* whole months: month ends and leap days */
    CHECK_STR(lua_eval("months_between('2024-01-31', '2024-02-29')"), "1");
    CHECK_STR(lua_eval("months_between('2024-01-31', '2024-02-28')"), "0");
    CHECK_STR(lua_eval("months_between('2023-01-31', '2023-02-28')"), "1");
    CHECK_STR(lua_eval("months_between('2024-06-15', '2025-06-14')"), "11");
    CHECK_STR(lua_eval("months_between('2024-06-15', '2025-06-15')"), "12");
    CHECK_STR(lua_eval("months_between('2025-06-15', '2024-06-15')"), "0");
    CHECK_STR(lua_eval("months_between('2024-12-15', '2025-06-14')"), "5");
    CHECK_STR(lua_eval("add_months('2024-01-31', 1)"), "2024-02-29");
    CHECK_STR(lua_eval("add_months('2023-01-31', 1)"), "2023-02-28");
    CHECK_STR(lua_eval("add_months('2024-03-31', -1)"), "2024-02-29");
    CHECK_STR(lua_eval("add_months('2024-11-15', 14)"), "2026-01-15");
    CHECK_STR(lua_eval("add_years('2024-02-29', 1)"), "2025-02-28");
    CHECK_STR(lua_eval("add_days('2024-12-31', 1)"), "2025-01-01");
    CHECK_STR(lua_eval("add_days('2024-03-01', -1)"), "2024-02-29");
    CHECK_STR(lua_eval("days_between('2024-01-01', '2025-01-01')"), "366");
    CHECK_STR(lua_eval("is_date('2023-02-29')"), "false");
    CHECK(strstr(lua_eval("add_months('2024-01-31', 1.5)"), "whole number"));

    /* resident ID numbers */
    CHECK_STR(lua_eval("id_check_char('11010519491231002')"), "X");
    CHECK_STR(lua_eval("id_valid('11010519491231002x')"), "true");
    CHECK_STR(lua_eval("id_valid('44010619850615002X')"), "false");
    CHECK_STR(lua_eval("id_problem('44010619850615002X')"), "校验码错误");
    CHECK_STR(lua_eval("id_problem('440106198502300025')"), "第7至14位不是有效的出生日期");
    CHECK_STR(lua_eval("id_sex('440106198506150025')"), "F");
    CHECK(strstr(lua_eval("id_sex('11010519491231001X')"), "id_sex: 校验码错误"));
    CHECK_STR(lua_eval("id_birth_date('440106198506150025')"), "1985-06-15");
    CHECK_STR(lua_eval("id_province('440106198506150025')"), "44");
    CHECK_STR(lua_eval("region_in('440106', '45', '4401')"), "true");
    CHECK_STR(lua_eval("region_in('440106', '4403')"), "false");

    /* the 2025 retirement reform: the anchors of policy-facts §4 */
    CHECK_STR(lua_eval("retirement_date('1964-12-15', 'male')"), "2024-12-15");
    CHECK_STR(lua_eval("retirement_date('1965-01-15', 'male')"), "2025-02-15");
    CHECK_STR(lua_eval("retirement_date('1970-01-10', 'female_cadre')"), "2025-02-10");
    CHECK_STR(lua_eval("retirement_date('1975-01-10', 'female_worker')"), "2025-02-10");
    CHECK_STR(lua_eval("retirement_date('1974-12-10', 'female_worker')"), "2024-12-10");
    CHECK_STR(lua_eval("retirement_age_months('1976-09-01', 'male')"), "756");         /* 63 */
    CHECK_STR(lua_eval("retirement_age_months('1976-08-01', 'male')"), "755");
    CHECK_STR(lua_eval("retirement_age_months('1990-01-01', 'male')"), "756");
    CHECK_STR(lua_eval("retirement_age_months('1981-09-01', 'female_cadre')"), "696"); /* 58 */
    CHECK_STR(lua_eval("retirement_age_months('1981-08-01', 'female_cadre')"), "695");
    CHECK_STR(lua_eval("retirement_age_months('1984-11-01', 'female_worker')"), "660"); /* 55 */
    CHECK_STR(lua_eval("retirement_age_months('1984-10-01', 'female_worker')"), "659");
    CHECK_STR(lua_eval("retirement_delay_months('1965-05-01', 'male')"), "2");
    CHECK_STR(lua_eval("retirement_delay_months('1975-03-01', 'female_worker')"), "2");
    CHECK(strstr(lua_eval("retirement_date('1970-01-01', 'female')"), "unknown retirement group 'female'"));

    /* working age with and without retirement_group: unknown only when it matters */
    const char *w30 = R("440106199503010021", "F", "1995-03-01", "");
    const char *w52 = R("44010619730110002X", "F", "1973-01-10", "");
    const char *w52c = R("44010619730110002X", "F", "1973-01-10", ",\"retirement_group\":\"female_cadre\"");
    const char *m15 = R("440106201001010013", "M", "2010-01-01", "");
    CHECK_STR(lua_eval_with("working_age(r, as_of, 16)", w30, "2025-06-15"), "true");
    CHECK_STR(lua_eval_with("working_age(r, as_of, 16)", w52, "2025-06-15"), "unknown");
    CHECK_STR(lua_eval_with("working_age(r, as_of, 16)", w52c, "2025-06-15"), "true");
    CHECK_STR(lua_eval_with("working_age(r, as_of, 16)", m15, "2025-06-15"), "false");
    CHECK_STR(lua_eval_with("retirement_date_of(r)", m15, "2025-06-15"), "2073-01-01");
    CHECK_STR(lua_eval_with("retirement_date_of(r)", w52c, NULL), "2028-11-10");
    CHECK_STR(lua_eval_with("near_retirement(r, as_of, 5)", w52c, "2023-11-10"), "false");
    CHECK_STR(lua_eval_with("near_retirement(r, as_of, 5)", w52c, "2023-11-11"), "true");

    /* registration and subsidy history */
    const char *reg = R("440106198506150025", "F", "1985-06-15",
                        ",\"unemployment_registration\":{\"registered\":true,\"registered_on\":\"2024-06-15\"},"
                        "\"subsidy_history\":[{\"subsidy\":\"social_insurance_flexible\",\"first_approved_on\":\"2023-01-01\","
                        "\"from\":\"2023-01-01\",\"to\":\"2023-12-31\",\"months\":12},"
                        "{\"subsidy\":\"public_welfare_post\",\"first_approved_on\":\"2024-07-01\",\"from\":\"2024-07-01\",\"to\":null,\"months\":11}]");
    CHECK_STR(lua_eval_with("registered(r, as_of)", reg, "2025-06-15"), "true");
    CHECK_STR(lua_eval_with("registered(r, as_of)", reg, "2024-06-14"), "false");
    CHECK_STR(lua_eval_with("unemployed_months(r, as_of)", reg, "2025-06-14"), "11");
    CHECK_STR(lua_eval_with("months_received(r, {'social_insurance_flexible', 'x'})", reg, NULL), "12");
    CHECK_STR(lua_eval_with("receiving(r, as_of, 'public_welfare_post')", reg, "2025-06-15"), "true");
    CHECK_STR(lua_eval_with("receiving(r, as_of, 'social_insurance_flexible')", reg, "2025-06-15"), "false");
    CHECK_STR(lua_eval_with("receiving(r, as_of, 'public_welfare_post')", R("440106198506150025", "F", "1985-06-15", ""), NULL),
              "unknown");
    CHECK_STR(lua_eval_with("first_approved_on(r, 'public_welfare_post')", reg, NULL), "2024-07-01");
    /* 36 months less 12 used; a female worker born 1985 retires long after */
    CHECK_STR(lua_eval_with("months_available(r, as_of, 'social_insurance_flexible', 36, 5)",
                            R("440106198506150025", "F", "1985-06-15",
                              ",\"retirement_group\":\"female_worker\",\"subsidy_history\":[{\"subsidy\":\"social_insurance_flexible\","
                              "\"first_approved_on\":\"2023-01-01\",\"from\":\"2023-01-01\",\"to\":\"2023-12-31\",\"months\":12}]"),
                            "2025-06-15"),
              "24");
    /* money in fen: integer arithmetic only */
    CHECK_STR(lua_eval("mul_div(98000, 2, 3)"), "65333");
    CHECK_STR(lua_eval("round_half_up(5, 1, 2)"), "3");
    CHECK_STR(lua_eval("round_half_up(4, 1, 3)"), "1");
    CHECK(strstr(lua_eval("mul_div(1.5, 1, 2)"), "whole numbers"));
    CHECK_STR(lua_eval("one_of('b', {'a', 'b'})"), "true");
}

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
    /* calendar months (subsidies are paid by the month) */
    CHECK_STR(lua_eval("calendar_months('2026-08-31', '2031-07-01')"), "59");
    CHECK_STR(lua_eval("calendar_months('2026-07-01', '2031-07-31')"), "60");
    CHECK_STR(lua_eval("calendar_months('2025-03-01', '2025-02-28')"), "-1");
    CHECK_STR(lua_eval("month_index('2025-01-31') - month_index('2024-12-01')"), "1");
    CHECK_STR(lua_eval("month_of('2031-07-15')"), "2031-07");
    CHECK_STR(lua_eval("month_end('2024-02-10')"), "2024-02-29");
    CHECK_STR(lua_eval("month_end('2031-07-15')"), "2031-07-31");

    /* extension to retirement by month: a man born 1970-03-15 retires 2031-07-15 */
    const char *m70 = R("440106197003150010", "M", "1970-03-15", ",\"subsidy_history\":[]");
    CHECK_STR(lua_eval_with("retirement_date_of(r)", m70, NULL), "2031-07-15");
    CHECK_STR(lua_eval_with("months_available(r, as_of, 'social_insurance_flexible', 36, 5)", m70, "2026-08-15"), "60");
    CHECK_STR(lua_eval_with("select(2, months_available(r, as_of, 'social_insurance_flexible', 36, 5))", m70, "2026-08-15"),
              "首次核定时（2026-08）距法定退休年龄不足5年，可延长至退休（2031-07）");
    CHECK_STR(lua_eval_with("months_available(r, as_of, 'social_insurance_flexible', 36, 5)", m70, "2026-08-01"), "60");
    CHECK_STR(lua_eval_with("months_available(r, as_of, 'social_insurance_flexible', 36, 5)", m70, "2026-07-31"), "36");
    CHECK_STR(lua_eval_with("months_available(r, as_of, 'social_insurance_flexible', 36, 5)", m70, "2026-07-01"), "36");
    /* in the retirement month, before the day: that month is still paid; from the day: none */
    CHECK_STR(lua_eval_with("months_available(r, as_of, 'social_insurance_flexible', 36, nil)", m70, "2031-07-14"), "1");
    CHECK_STR(lua_eval_with("months_available(r, as_of, 'social_insurance_flexible', 36, nil)", m70, "2031-07-15"), "0");
    /* without an extension, capped at the retirement month */
    CHECK_STR(lua_eval_with("months_available(r, as_of, 'social_insurance_flexible', 36, nil)", m70, "2029-09-01"), "23");
    /* a woman without retirement_group: known when both groups give the same months */
    CHECK_STR(lua_eval_with("months_available(r, as_of, 'x', 36, 5)", R("440106198506150025", "F", "1985-06-15", ",\"subsidy_history\":[]"),
                            "2025-06-15"),
              "36");
    CHECK_STR(lua_eval_with("months_available(r, as_of, 'x', 36, 5)", R("44010619730110002X", "F", "1973-01-10", ",\"subsidy_history\":[]"),
                            "2025-06-15"),
              "unknown");
    CHECK_STR(lua_eval_with("#retirement_dates_of(r)", R("44010619730110002X", "F", "1973-01-10", ""), NULL), "2");
    CHECK_STR(lua_eval_with("retirement_dates_of(r)[2]", R("44010619730110002X", "F", "1973-01-10", ""), NULL), "2028-11-10");

    /* recognition and review: contacts, refusals that take the status away for good */
    const char *rv = R("440106198506150025", "F", "1985-06-15",
                       ",\"unemployment_registration\":{\"registered\":true,\"registered_on\":\"2025-01-15\"},"
                       "\"recognition\":{\"recognised_on\":\"2024-07-01\"},"
                       "\"service_refusals\":[\"2025-05-01\",\"2025-01-01\",\"2025-03-01\"]");
    const char *first = R("440106198506150025", "F", "1985-06-15",
                          ",\"unemployment_registration\":{\"registered\":true,\"registered_on\":\"2024-10-15\"},"
                          "\"recognition\":{\"recognised_on\":null},\"last_contact_on\":null,"
                          "\"service_refusals\":[\"2025-05-01\",\"2025-01-01\",\"2025-03-01\"]");
    const char *bare = R("440106198506150025", "F", "1985-06-15",
                         ",\"unemployment_registration\":{\"registered\":true,\"registered_on\":\"2024-10-15\"},"
                         "\"service_refusals\":[]");
    CHECK_STR(lua_eval_with("recognised(r, as_of)", rv, "2025-06-15"), "true");
    CHECK_STR(lua_eval_with("recognised(r, as_of)", rv, "2024-06-30"), "false");
    CHECK_STR(lua_eval_with("recognised(r, as_of)", first, "2025-06-15"), "false");
    CHECK_STR(lua_eval_with("recognised(r, as_of)", bare, "2025-06-15"), "unknown");
    /* the registration is a contact: lapsed only more than 6 months after it */
    CHECK_STR(lua_eval_with("contact_lapsed(r, as_of, 6)", first, "2025-04-15"), "false");
    CHECK_STR(lua_eval_with("contact_lapsed(r, as_of, 6)", first, "2025-04-16"), "true");
    CHECK_STR(lua_eval_with("contact_lapsed(r, as_of, 6)", bare, "2025-04-15"), "false"); /* known without last_contact_on */
    CHECK_STR(lua_eval_with("contact_lapsed(r, as_of, 6)", bare, "2025-04-16"), "unknown");
    CHECK_STR(lua_eval_with("last_contact(r, as_of)", rv, "2025-06-15"), "2025-01-15");
    /* refusals: lost on the third within 6 months, and it stays lost */
    CHECK_STR(lua_eval_with("status_lost_by_refusals(r, as_of, 6, 3)", rv, "2025-04-30"), "false");
    CHECK_STR(lua_eval_with("status_lost_by_refusals(r, as_of, 6, 3)", rv, "2025-05-01"), "true");
    CHECK_STR(lua_eval_with("status_lost_by_refusals(r, as_of, 6, 3)", rv, "2025-11-01"), "true");
    CHECK_STR(lua_eval_with("select(2, status_lost_by_refusals(r, as_of, 6, 3))", rv, "2025-07-01"),
              "2025-05-01第3次拒绝，自该日丧失身份");
    CHECK_STR(lua_eval_with("status_lost_by_refusals(r, as_of, 6, 3)", first, "2025-06-15"), "false");
    CHECK_STR(lua_eval_with("status_lost_by_refusals(r, as_of, 6, 3)", bare, "2025-06-15"), "false");
    CHECK_STR(lua_eval_with("status_lost_by_refusals(r, as_of, 3, 3)", rv, "2025-06-15"), "false"); /* 01-01 to 05-01: over 3 months */
    CHECK_STR(lua_eval_with("status_lost_by_refusals(r, as_of, nil, 3)", rv, "2025-06-15"), "true");

    /* graduating year (毕业年度) is the calendar year of graduation */
    const char *grad = R("440106200305040022", "F", "2003-05-04",
                         ",\"employment\":{\"status\":\"unemployed\"},\"graduate\":{\"level\":\"bachelor\",\"graduated_on\":\"2024-07-01\"}");
    const char *stud = R("440106200305040022", "F", "2003-05-04",
                         ",\"employment\":{\"status\":\"student\"},\"graduate\":{\"graduated_on\":null,\"expected_on\":\"2025-06-30\"}");
    const char *none = R("440106200305040022", "F", "2003-05-04",
                         ",\"employment\":{\"status\":\"unemployed\"},\"graduate\":{\"level\":null,\"graduated_on\":null}");
    CHECK_STR(lua_eval_with("graduating_year(r, as_of)", grad, "2024-12-31"), "true");
    CHECK_STR(lua_eval_with("graduating_year(r, as_of)", grad, "2025-03-01"), "false");
    CHECK_STR(lua_eval_with("graduating_year(r, as_of)", stud, "2025-01-01"), "true");
    CHECK_STR(lua_eval_with("graduating_year(r, as_of)", stud, "2024-12-31"), "false");
    CHECK_STR(lua_eval_with("graduating_year(r, as_of)", none, "2025-06-15"), "false");
    CHECK_STR(lua_eval_with("left_school_within(r, as_of, 2)", grad, "2026-07-01"), "true");
    CHECK_STR(lua_eval_with("left_school_within(r, as_of, 2)", grad, "2026-07-02"), "false");

    /* household members above working age are outside the zero-employment test */
    CHECK_STR(lua_eval("member_in_working_age('440106195503010429', '2025-06-15', 16)"), "false"); /* woman, 70 */
    CHECK_STR(lua_eval("member_in_working_age('44010619730110002X', '2025-06-15', 16)"), "nil");   /* woman, 52: group unknown */
    CHECK_STR(lua_eval("member_in_working_age('44010619730110002X', '2022-06-15', 16)"), "true");
    CHECK_STR(lua_eval("member_in_working_age('440402196604180713', '2025-06-15', 16)"), "true");  /* man, 59 */
    CHECK_STR(lua_eval("member_in_working_age('440402196604180713', '2026-08-18', 16)"), "false"); /* retired 2026-08-18 */

    /* money in fen: integer arithmetic only */
    CHECK_STR(lua_eval("mul_div(98000, 2, 3)"), "65333");
    CHECK_STR(lua_eval("round_half_up(5, 1, 2)"), "3");
    CHECK_STR(lua_eval("round_half_up(4, 1, 3)"), "1");
    CHECK(strstr(lua_eval("mul_div(1.5, 1, 2)"), "whole numbers"));
    CHECK_STR(lua_eval("one_of('b', {'a', 'b'})"), "true");
}

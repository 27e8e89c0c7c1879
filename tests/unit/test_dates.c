/* test_dates.c: calendar dates and resident ID numbers in C (input validation). */
#include "unit.h"
#include "yz_date.h"

void test_dates(void)
{
    yz_date d;
    CHECK(yz_date_parse("2024-02-29", 10, &d));
    CHECK(!yz_date_parse("2023-02-29", 10, &d));
    CHECK(!yz_date_parse("2023-13-01", 10, &d));
    CHECK(!yz_date_parse("2023-1-01", 9, &d));
    CHECK(!yz_date_parse("2023/01/01", 10, &d));
    yz_date a = {1970, 1, 1}, b = {2000, 3, 1};
    CHECK_INT(yz_date_to_days(a), 0);
    CHECK_INT(yz_date_to_days(b), 11017);
    yz_date c = yz_days_to_date(11017);
    CHECK(c.y == 2000 && c.m == 3 && c.d == 1);
    char buf[11];
    yz_date_format(c, buf);
    CHECK_STR(buf, "2000-03-01");

    yz_id_info info;
    CHECK_INT(yz_id_parse("11010519491231002X", 18, &info), YZ_ID_OK); /* the standard's example */
    CHECK(info.sex == 'F' && info.birth.y == 1949 && info.birth.m == 12 && info.birth.d == 31);
    CHECK_INT(yz_id_parse("11010519491231002x", 18, &info), YZ_ID_OK); /* lowercase x */
    CHECK_INT(yz_id_parse("110105194912310021", 18, &info), YZ_ID_CHECK);
    CHECK(info.check == 'X');
    CHECK_INT(yz_id_parse("44010619850615002X", 18, &info), YZ_ID_CHECK); /* the format page's example */
    CHECK_INT(yz_id_parse("440106198502300025", 18, &info), YZ_ID_BIRTH);
    CHECK_INT(yz_id_parse("4401061985061500", 16, &info), YZ_ID_LENGTH);
    CHECK_INT(yz_id_parse("4401061985061500A5", 18, &info), YZ_ID_CHARS);
    CHECK_INT(yz_id_parse("440106198506150025", 18, &info), YZ_ID_OK);
    CHECK(info.sex == 'F');
    CHECK_STR(info.region, "440106");
}

/* yz_date.c: calendar dates and resident ID numbers for input validation. */
#include "yz_date.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int yz_days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12)
        return 0;
    return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

static int digits(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

bool yz_date_parse(const char *s, size_t len, yz_date *out)
{
    if (len != 10 || s[4] != '-' || s[7] != '-')
        return false;
    int y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);
    if (y < 1000 || m < 1 || m > 12 || d < 1 || d > yz_days_in_month(y, m))
        return false;
    out->y = y;
    out->m = m;
    out->d = d;
    return true;
}

long yz_date_to_days(yz_date dt)
{
    /* days from civil (Howard Hinnant's algorithm) */
    long y = dt.y - (dt.m <= 2);
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long mp = (dt.m + 9) % 12;
    long doy = (153 * mp + 2) / 5 + dt.d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

yz_date yz_days_to_date(long z)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long y = yoe + era * 400;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    long d = doy - (153 * mp + 2) / 5 + 1;
    long m = mp < 10 ? mp + 3 : mp - 9;
    yz_date r = {(int)(y + (m <= 2)), (int)m, (int)d};
    return r;
}

int yz_date_cmp(yz_date a, yz_date b)
{
    if (a.y != b.y)
        return a.y < b.y ? -1 : 1;
    if (a.m != b.m)
        return a.m < b.m ? -1 : 1;
    if (a.d != b.d)
        return a.d < b.d ? -1 : 1;
    return 0;
}

void yz_date_format(yz_date d, char *buf)
{
    int y = d.y % 10000, m = d.m % 100, day = d.d % 100;
    buf[0] = (char)('0' + y / 1000);
    buf[1] = (char)('0' + y / 100 % 10);
    buf[2] = (char)('0' + y / 10 % 10);
    buf[3] = (char)('0' + y % 10);
    buf[4] = '-';
    buf[5] = (char)('0' + m / 10);
    buf[6] = (char)('0' + m % 10);
    buf[7] = '-';
    buf[8] = (char)('0' + day / 10);
    buf[9] = (char)('0' + day % 10);
    buf[10] = '\0';
}

yz_date yz_date_today(void)
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    yz_date d = {tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday};
    return d;
}

yz_id_error yz_id_parse(const char *s, size_t len, yz_id_info *info)
{
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static const char map[11] = {'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'};
    memset(info, 0, sizeof *info);
    if (len != 18)
        return YZ_ID_LENGTH;
    for (int i = 0; i < 17; i++)
        if (s[i] < '0' || s[i] > '9')
            return YZ_ID_CHARS;
    char last = s[17] == 'x' ? 'X' : s[17];
    if (!((last >= '0' && last <= '9') || last == 'X'))
        return YZ_ID_CHARS;
    memcpy(info->region, s, 6);
    info->region[6] = '\0';
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (s[i] - '0') * w[i];
    info->check = map[sum % 11];
    info->sex = ((s[16] - '0') % 2) ? 'M' : 'F';
    char buf[11];
    snprintf(buf, sizeof buf, "%.4s-%.2s-%.2s", s + 6, s + 10, s + 12);
    if (!yz_date_parse(buf, 10, &info->birth))
        return YZ_ID_BIRTH;
    if (last != info->check)
        return YZ_ID_CHECK;
    return YZ_ID_OK;
}

yz_date yz_date_add_months(yz_date d, long n)
{
    long total = (long)d.y * 12 + (d.m - 1) + n;
    yz_date e = {(int)(total / 12), (int)(total % 12) + 1, d.d};
    int dim = yz_days_in_month(e.y, e.m);
    if (e.d > dim)
        e.d = dim;
    return e;
}

long yz_months_between(yz_date a, yz_date b)
{
    long n = ((long)b.y - a.y) * 12 + (b.m - a.m);
    if (n <= 0)
        return 0;
    return yz_date_cmp(yz_date_add_months(a, n), b) > 0 ? n - 1 : n;
}

yz_date yz_date_add_days(yz_date d, long n)
{
    return yz_days_to_date(yz_date_to_days(d) + n);
}

/* yz_date.h: calendar dates (proleptic Gregorian) and GB 11643 resident ID numbers, for input
 * validation in C.  Rules never call these: they use the Lua library in rules/lib, which is part
 * of the ruleset and so of every decision's fingerprint. */
#ifndef YZ_DATE_H
#define YZ_DATE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct yz_date {
    int y, m, d;
} yz_date;

/* Parses exactly "YYYY-MM-DD" (years 1000-9999) and checks that the day exists. */
bool yz_date_parse(const char *s, size_t len, yz_date *out);
int yz_days_in_month(int y, int m);
/* Days since 1970-01-01 (negative before). */
long yz_date_to_days(yz_date d);
yz_date yz_days_to_date(long days);
int yz_date_cmp(yz_date a, yz_date b);
/* Writes "YYYY-MM-DD" into buf (at least 11 bytes). */
void yz_date_format(yz_date d, char *buf);
/* d plus n months, the day clamped to the month's last (rules/lib/date.lua's add_months; n >= 0). */
yz_date yz_date_add_months(yz_date d, long n);
/* Whole months from a to b: the largest n with add_months(a, n) <= b; 0 when b is before a
 * (rules/lib/date.lua's months_between). */
long yz_months_between(yz_date a, yz_date b);
yz_date yz_date_add_days(yz_date d, long n);
/* Today's date in local time (only used to default --as-of; never seen by rules). */
yz_date yz_date_today(void);

typedef enum {
    YZ_ID_OK = 0,
    YZ_ID_LENGTH,     /* not 18 characters */
    YZ_ID_CHARS,      /* not 17 digits and a digit or X */
    YZ_ID_BIRTH,      /* birth date part is not a real date */
    YZ_ID_CHECK,      /* check digit wrong */
} yz_id_error;

typedef struct yz_id_info {
    char region[7];
    yz_date birth;
    char sex;       /* 'M' (odd sequence digit) or 'F' */
    char check;     /* expected check character */
} yz_id_info;

/* Validates an 18-digit resident ID number (lowercase x accepted).  Fills info as far as it can. */
yz_id_error yz_id_parse(const char *s, size_t len, yz_id_info *info);

#endif

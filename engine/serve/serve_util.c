/* serve_util.c: the service's log, its clocks, and allocation that does not return on failure. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "serve.h"

_Noreturn void sv_oom(size_t n)
{
    /* the handler the command line installed; asking for it means setting one, so put it back */
    yz_oom_handler h = yz_set_oom_handler(NULL);
    yz_set_oom_handler(h);
    if (h)
        h(n);
    _Exit(70);
}

void *sv_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        sv_oom(n);
    return p;
}

void *sv_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        sv_oom(n * size);
    return p;
}

void *sv_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        sv_oom(n);
    return q;
}

char *sv_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(sv_malloc(n), s, n);
}

char *sv_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        sv_oom(strlen(fmt));
    return s;
}

void serve_now(char out[21])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void serve_today(char out[11])
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

double serve_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void serve_log(const char *fmt, ...)
{
    /* one write per line, so lines of different threads never interleave */
    char line[2048], now[21];
    serve_now(now);
    int n = snprintf(line, sizeof line, "%s yuanzhu serve: ", now);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m < sizeof line - (size_t)n - 1 ? (size_t)m : sizeof line - (size_t)n - 2);
    line[len++] = '\n';
    ssize_t w = write(2, line, len);
    (void)w;
}

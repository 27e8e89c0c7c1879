/* serve_metrics.c: what /metrics shows, in Prometheus's text format: requests by route and status,
 * their latencies as a histogram, decisions made and recorded, errors by kind, reloads.  Counters
 * are atomics: the HTTP threads never wait for each other here. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

#define MAX_ROUTES 24
static const int codes[] = {200, 201, 204, 304, 400, 401, 403, 404, 405, 409, 413, 415, 422, 500, 503};
#define NCODES (sizeof codes / sizeof codes[0])
static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define NBOUNDS (sizeof bounds / sizeof bounds[0])
static const char *const error_kinds[] = {"invalid_record", "policy", "evaluation", "store", "auth", "internal"};
#define NKINDS (sizeof error_kinds / sizeof error_kinds[0])

static const char *const *route_names;
static size_t nroutes;
static atomic_ullong requests[MAX_ROUTES + 1][NCODES + 1]; /* last route: unknown; last code: other */
static atomic_ullong buckets[MAX_ROUTES + 1][NBOUNDS + 1];
static atomic_ullong micros[MAX_ROUTES + 1];
static atomic_ullong determinations, recorded, errors[NKINDS], reloads_ok, reloads_failed;

void metrics_init(const char *const *routes, size_t n)
{
    route_names = routes;
    nroutes = n < MAX_ROUTES ? n : MAX_ROUTES;
}

void metrics_request(int route, int status, double seconds)
{
    size_t r = route >= 0 && (size_t)route < nroutes ? (size_t)route : MAX_ROUTES, c = NCODES, b = 0;
    for (size_t i = 0; i < NCODES; i++)
        if (codes[i] == status)
            c = i;
    atomic_fetch_add_explicit(&requests[r][c], 1, memory_order_relaxed);
    while (b < NBOUNDS && seconds > bounds[b])
        b++;
    atomic_fetch_add_explicit(&buckets[r][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&micros[r], (unsigned long long)(seconds * 1e6 + 0.5), memory_order_relaxed);
}

void metrics_decision(bool rec)
{
    atomic_fetch_add_explicit(&determinations, 1, memory_order_relaxed);
    if (rec)
        atomic_fetch_add_explicit(&recorded, 1, memory_order_relaxed);
}

void metrics_error(const char *kind)
{
    for (size_t i = 0; i < NKINDS; i++)
        if (!strcmp(kind, error_kinds[i])) {
            atomic_fetch_add_explicit(&errors[i], 1, memory_order_relaxed);
            return;
        }
    atomic_fetch_add_explicit(&errors[NKINDS - 1], 1, memory_order_relaxed);
}

void metrics_reload(bool ok)
{
    atomic_fetch_add_explicit(ok ? &reloads_ok : &reloads_failed, 1, memory_order_relaxed);
}

static unsigned long long get(atomic_ullong *a)
{
    return atomic_load_explicit(a, memory_order_relaxed);
}

static const char *route_label(size_t r)
{
    return r < nroutes ? route_names[r] : "other";
}

char *metrics_text(size_t rulesets, size_t tokens)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fprintf(f, "# HELP yuanzhu_http_requests_total HTTP requests answered, by route and status.\n"
               "# TYPE yuanzhu_http_requests_total counter\n");
    for (size_t r = 0; r <= MAX_ROUTES; r++)
        for (size_t c = 0; c <= NCODES; c++) {
            unsigned long long v = get(&requests[r][c]);
            if (!v)
                continue;
            if (c < NCODES)
                fprintf(f, "yuanzhu_http_requests_total{route=\"%s\",code=\"%d\"} %llu\n", route_label(r), codes[c], v);
            else
                fprintf(f, "yuanzhu_http_requests_total{route=\"%s\",code=\"other\"} %llu\n", route_label(r), v);
        }
    fprintf(f, "# HELP yuanzhu_http_request_duration_seconds Time from a request's headers to its response.\n"
               "# TYPE yuanzhu_http_request_duration_seconds histogram\n");
    for (size_t r = 0; r <= MAX_ROUTES; r++) {
        unsigned long long total = 0;
        for (size_t b = 0; b <= NBOUNDS; b++)
            total += get(&buckets[r][b]);
        if (!total && r >= nroutes)
            continue;
        unsigned long long cum = 0;
        for (size_t b = 0; b < NBOUNDS; b++) {
            cum += get(&buckets[r][b]);
            fprintf(f, "yuanzhu_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n", route_label(r),
                    bounds[b], cum);
        }
        fprintf(f, "yuanzhu_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n", route_label(r), total);
        fprintf(f, "yuanzhu_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route_label(r),
                (double)get(&micros[r]) / 1e6);
        fprintf(f, "yuanzhu_http_request_duration_seconds_count{route=\"%s\"} %llu\n", route_label(r), total);
    }
    fprintf(f, "# HELP yuanzhu_determinations_total Determinations made.\n"
               "# TYPE yuanzhu_determinations_total counter\n"
               "yuanzhu_determinations_total %llu\n"
               "# HELP yuanzhu_decisions_recorded_total Decisions recorded in the store.\n"
               "# TYPE yuanzhu_decisions_recorded_total counter\n"
               "yuanzhu_decisions_recorded_total %llu\n",
            get(&determinations), get(&recorded));
    fprintf(f, "# HELP yuanzhu_errors_total Requests that failed, by kind.\n# TYPE yuanzhu_errors_total counter\n");
    for (size_t i = 0; i < NKINDS; i++)
        fprintf(f, "yuanzhu_errors_total{kind=\"%s\"} %llu\n", error_kinds[i], get(&errors[i]));
    fprintf(f, "# HELP yuanzhu_reloads_total Reloads of the rulesets (SIGHUP), by result.\n"
               "# TYPE yuanzhu_reloads_total counter\n"
               "yuanzhu_reloads_total{result=\"ok\"} %llu\n"
               "yuanzhu_reloads_total{result=\"failed\"} %llu\n"
               "# HELP yuanzhu_rulesets Rulesets in service.\n# TYPE yuanzhu_rulesets gauge\nyuanzhu_rulesets %zu\n"
               "# HELP yuanzhu_tokens Bearer tokens known.\n# TYPE yuanzhu_tokens gauge\nyuanzhu_tokens %zu\n",
            get(&reloads_ok), get(&reloads_failed), rulesets, tokens);
    fclose(f);
    return buf;
}

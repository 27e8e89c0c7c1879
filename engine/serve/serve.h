/* serve.h: `yuanzhu serve`, the decision service, as modules of one prefix (serve_):
 *
 *   serve_http.c     the HTTP layer, the only file that includes microhttpd.h: the daemon and its
 *                    thread pool, request bodies and their limits, the deadline per request
 *   serve_routes.c   the routes of /v1, /health, /metrics and the web page; JSON in and out
 *   serve_auth.c     bearer tokens (their hashes in a 0600 file), roles and their rights
 *   serve_rules.c    the rulesets, loaded (and linted) at start and on reload; evaluators per thread
 *   serve_store.c    the store: one writer thread that records (the HTTP thread does not wait for
 *                    it); a read connection per thread
 *   serve_metrics.c  counters and latencies (Prometheus text)
 *   serve_util.c     the service's log, the clock, allocation that does not return on failure
 *
 * Data flows one way: HTTP -> route (auth, parse) -> rules (evaluate) -> store (record) -> HTTP.
 * Apart from serve_http.c, the modules use only the public API of yuanzhu.h (and cJSON, in
 * serve_routes.c only). */
#ifndef YZ_SERVE_H
#define YZ_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "yuanzhu.h"

/* ---- configuration (cmd_serve.c fills it) ---- */

typedef struct serve_config {
    const char *home;        /* rules/ and provinces/ */
    const char *listen;      /* "127.0.0.1:8080", "[::1]:8080", "unix:/run/yuanzhu.sock" */
    const char *db;          /* the store (created if absent) */
    const char *tokens;      /* the tokens file */
    const char *web;         /* the folder of the web page */
    unsigned threads;        /* HTTP worker threads */
    size_t max_body;         /* bytes */
    unsigned idle_timeout;   /* seconds a connection may stay silent */
    unsigned request_timeout;/* seconds a request may take to arrive, headers and body */
    unsigned max_connections;
    yz_limits limits;        /* of the rule sandbox (only cpu_ms may differ from the defaults) */
    /* ruleset signatures: checked with these public keys and the store's trusted ones, required
       when require_signed or the store trusts a key (as batch does) */
    const yz_key *const *ruleset_keys;
    size_t n_ruleset_keys;
    bool require_signed;
    const yz_key *chain_key; /* the secret of a keyed chain, or NULL */
    /* signed checkpoints every checkpoint_every seconds (0: none) with these private keys,
       appended to checkpoint_file too when it is not NULL */
    const yz_key *const *checkpoint_keys;
    size_t n_checkpoint_keys;
    unsigned checkpoint_every;
    const char *checkpoint_file;
} serve_config;

typedef struct serve serve;

/* Loads the rulesets, the tokens and the store, and starts listening.  On failure returns an
 * exit code (cli.h's) after writing the reason to err. */
int serve_start(const serve_config *cfg, serve **out, char *err, size_t errlen);
/* The address listened on, as a URL ("http://127.0.0.1:8080", "unix:/run/yuanzhu.sock"). */
const char *serve_url(const serve *s);
/* SIGHUP: reloads the rulesets (lint first; a ruleset with errors keeps the one loaded before)
 * and the tokens file. */
void serve_reload(serve *s);
/* Stops listening, finishes the requests in progress, closes the store, frees everything. */
void serve_stop(serve *s);

/* ---- the HTTP layer (serve_http.c) ---- */

typedef struct serve_req {
    const char *method;      /* "GET", "HEAD", "POST", ... */
    const char *path;        /* without the query */
    const char *content_type, *authorization;
    const char *remote;      /* "127.0.0.1:40000", or "unix" */
    const char *body;        /* NUL-terminated; NULL on the first (headers-only) call */
    size_t body_len;
    int64_t content_length;  /* -1 when not given */
} serve_req;

typedef struct serve_resp {
    int status;
    const char *content_type; /* default application/json */
    char *body;               /* malloc'd, freed after sending (may be NULL) */
    size_t len;
    char location[96];        /* Location header, or "" */
    const char *allow;        /* Allow header (405), or NULL */
    const char *cache;        /* Cache-Control, default "no-store" */
    bool challenge;           /* WWW-Authenticate: Bearer */
    int route;                /* the route's index for the metrics; -1 unknown */
    struct serve_pending *pending; /* instead of an answer now: one that waits for the store */
} serve_resp;

/* An answer that waits (for the store's writer): the handler did its work up to there and set
 * resp->pending instead of a status.  The HTTP layer suspends the connection (its thread serves
 * others meanwhile), then calls start, which hands the work on and returns; whoever finishes it
 * calls done(arg) once, from any thread.  The connection resumes, and on its HTTP thread finish
 * fills resp (any field but pending) and frees the pending answer. */
typedef struct serve_pending serve_pending;
struct serve_pending {
    void (*start)(serve_pending *p, void (*done)(void *arg), void *arg);
    void (*finish)(serve_pending *p, serve_resp *resp);
};

typedef struct serve_http serve_http;
/* Called with the headers (req->body NULL): 0 to read the body, or a response to send at once
 * (resp filled).  Then with the whole body: fills resp. */
typedef int (*serve_handler)(void *ctx, const serve_req *req, serve_resp *resp);

typedef struct serve_http_options {
    unsigned threads, idle_timeout, request_timeout, max_connections;
    size_t max_body;
} serve_http_options;

/* Listens on addr (see serve_config.listen) and serves with handler: preflight for the headers,
 * then handle for the whole request.  Returns NULL with a reason in err. */
serve_http *serve_http_start(const char *addr, const serve_http_options *o, serve_handler preflight,
                             serve_handler handle, void *ctx, char *err, size_t errlen);
const char *serve_http_url(const serve_http *h);
void serve_http_stop(serve_http *h);

/* ---- tokens and roles (serve_auth.c) ---- */

enum {
    RIGHT_DETERMINE = 1 << 0, /* POST /v1/determinations */
    RIGHT_RECORD = 1 << 1,    /* ... and record it */
    RIGHT_READ = 1 << 2,      /* decisions, people */
    RIGHT_REPLAY = 1 << 3,
    RIGHT_VERIFY = 1 << 4,    /* audit head and verify */
    RIGHT_METRICS = 1 << 5,
    RIGHT_ANY = 1 << 6        /* any valid token (the province list) */
};

typedef struct serve_principal {
    char operator_id[64];
    char role[16];
    char province[64];  /* caseworkers: "" = every province */
    unsigned rights;
} serve_principal;

typedef struct serve_tokens serve_tokens;
/* Reads a tokens file (which must not be readable by group or others).  NULL with err. */
serve_tokens *serve_tokens_load(const char *path, char *err, size_t errlen);
void serve_tokens_free(serve_tokens *t);
size_t serve_tokens_count(const serve_tokens *t);
/* The principal of an "Authorization: Bearer TOKEN" header: 0, or 401 with why (no header,
 * not Bearer, unknown token). */
int serve_tokens_check(const serve_tokens *t, const char *authorization, serve_principal *p, const char **why);
/* The rights of a role name, 0 for an unknown one. */
unsigned serve_role_rights(const char *role);
/* True when a caseworker bound to province p may act for province q (itself or a city of it). */
bool serve_province_covers(const char *p, const char *q);
/* Creates a new token for operator/role/province, appends its hash to the file (creating it with
 * mode 0600) and writes the token to out.  0, or -1 with err. */
int serve_token_add(const char *path, const char *hash_alg, const char *operator_id, const char *role,
                    const char *province, char *out, size_t outlen, char *err, size_t errlen);

/* ---- rulesets (serve_rules.c) ---- */

typedef struct serve_rs {
    char *name;          /* "guangdong/guangzhou" */
    yz_ruleset *rs;      /* NULL when it never loaded without errors */
    char *errors;        /* the lint messages of the last failed load, one per line, or NULL */
    char loaded_at[21];  /* UTC, when rs was loaded */
    int refs;
} serve_rs;

typedef struct serve_gen {
    serve_rs **items;    /* sorted by name */
    size_t n;
    int refs;
    char reloaded_at[21];
    bool reload_ok;      /* false: the last reload had errors (see the items' errors) */
} serve_gen;

typedef struct serve_rules serve_rules;
/* check (may be NULL) is asked about each ruleset once it is linted: its signature, before the
 * ruleset is used (YZ_OK, or its problems in d). */
typedef int (*serve_rules_check)(void *ctx, yz_ruleset *rs, yz_diags *d);
serve_rules *serve_rules_new(const char *home, const yz_limits *limits, serve_rules_check check, void *check_ctx);
/* Loads (or reloads) every province; returns the number of rulesets with errors. */
size_t serve_rules_load(serve_rules *r);
/* The current generation, referenced (release it). */
serve_gen *serve_rules_acquire(serve_rules *r);
void serve_gen_release(serve_gen *g);
const serve_rs *serve_gen_find(const serve_gen *g, const char *name);
/* This thread's evaluator for ruleset e of generation g, which the caller holds (NULL with d
 * filled).  The thread keeps it until it next uses another generation. */
yz_evaluator *serve_rules_evaluator(serve_rules *r, serve_gen *g, const serve_rs *e, yz_diags *d);
/* After an evaluation failed for want of memory: the evaluator can only be freed. */
void serve_rules_drop_evaluator(serve_rules *r, const serve_rs *e);
void serve_rules_free(serve_rules *r);

/* ---- the store (serve_store.c) ---- */

typedef struct serve_store serve_store;
/* Opens (or creates) the store and starts its writer thread.  NULL with err. */
serve_store *serve_store_open(const char *path, const yz_key *chain_key, char *err, size_t errlen);
/* Runs fn on the writer's connection, between transactions, and waits: fn's result (its
 * problems in d). */
typedef int (*serve_store_fn)(yz_store *w, void *arg, yz_diags *d);
int serve_store_call(serve_store *s, serve_store_fn fn, void *arg, yz_diags *d);
/* Signs a checkpoint of the chain's head (yz_store_checkpoint, with keys: private keys that
 * outlive s) at start, then every `every` seconds when events were appended since the last one,
 * and once more when the store closes; each goes into the store and, when file is not NULL, is
 * appended to that file.  A failure is logged and kept for /health; the next tick tries again. */
typedef struct serve_checkpoint_status {
    unsigned every;        /* seconds between checkpoints; 0: none are made */
    int64_t size;          /* the events the last checkpoint covers (0: none yet) */
    char hash[65], time[21];
    unsigned long made, failed;
    char error[320];       /* why the last attempt failed, or "" */
} serve_checkpoint_status;
/* Starts the checkpoint timer thread; -1 (err says why) when the system refuses the thread. */
int serve_store_checkpoints(serve_store *s, const yz_key *const *keys, size_t n, unsigned every, const char *file,
                           char *err, size_t errlen);
void serve_store_checkpoint_status(serve_store *s, serve_checkpoint_status *out);
/* The recording of a determination, handed to the writer without waiting for it: made with
 * serve_store_job_new (rs, rec, det and operator_id must outlive the job), queued with
 * serve_store_submit, whose done(arg) the writer calls, on its thread, once the decision committed
 * or failed; then serve_store_job_result tells which (YZ_OK with the decision's id and seq, or an
 * error with the store's message in msg) and serve_store_job_free frees the job (NULL: nothing). */
typedef struct serve_store_job serve_store_job;
serve_store_job *serve_store_job_new(const yz_ruleset *rs, const yz_record *rec, const yz_determination *det,
                                     const char *operator_id);
void serve_store_submit(serve_store *s, serve_store_job *j, void (*done)(void *arg), void *arg);
int serve_store_job_result(const serve_store_job *j, char id[17], int64_t *seq, char *msg, size_t msglen);
void serve_store_job_free(serve_store_job *j);
/* This thread's read connection (NULL with d filled). */
yz_store *serve_store_reader(serve_store *s, yz_diags *d);
const char *serve_store_path(const serve_store *s);
void serve_store_close(serve_store *s);

/* ---- metrics (serve_metrics.c) ---- */

void metrics_init(const char *const *routes, size_t nroutes);
void metrics_request(int route, int status, double seconds);
void metrics_decision(bool recorded);
void metrics_error(const char *kind);
void metrics_reload(bool ok);
/* The Prometheus text exposition (caller frees with yz_free). */
char *metrics_text(size_t rulesets, size_t tokens);
/* ---- log, clock, memory (serve_util.c) ---- */

/* One line on stderr with a UTC timestamp: "2026-01-02T03:04:05Z yuanzhu serve: ...". */
void serve_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The UTC time now as "YYYY-MM-DDTHH:MM:SSZ". */
void serve_now(char out[21]);
/* Today's date, local time ("YYYY-MM-DD"): the default as-of date. */
void serve_today(char out[11]);
/* Seconds of a monotonic clock. */
double serve_clock(void);
/* Allocation that calls the out-of-memory handler (yz_set_oom_handler) instead of failing;
 * sv_oom calls it. */
_Noreturn void sv_oom(size_t n);
void *sv_malloc(size_t n);
void *sv_calloc(size_t n, size_t size);
void *sv_realloc(void *p, size_t n);
char *sv_strdup(const char *s);
char *sv_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

/* serve_routes.c: the routes of `yuanzhu serve`: who may call what, request bodies read as JSON,
 * answers written as JSON, the web page's files.  JSON goes through jansson (the only file that
 * includes it): it checks UTF-8, refuses duplicate keys and deep nesting, and says where a body
 * goes wrong.  (The engine's cJSON allocates from the engine's arenas only.)  Every answer that is
 * not a success is {"error": {"code", "message", ...}}; the determination and the stored input
 * are inserted as the engine wrote them, byte for byte. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "serve.h"

extern const char yz_serve_openapi[];
extern const size_t yz_serve_openapi_len;

struct serve {
    serve_config cfg;
    char *home, *db, *tokens_path, *web;
    serve_rules *rules;
    serve_store *store;
    pthread_rwlock_t tokens_lock;
    serve_tokens *tokens;
    char tokens_error[640]; /* the last reload of the tokens file failed: why */
    serve_http *http;
    char started_at[21];
};

typedef struct route route;
typedef void (*route_fn)(serve *s, const serve_req *q, const serve_principal *p, char **params, serve_resp *r);

struct route {
    const char *method; /* GET also answers HEAD */
    const char *pattern;
    unsigned right;     /* 0: no token needed */
    route_fn fn;
};

/* ---- answers ---- */

/* a string member, or a placeholder when s is not UTF-8 (jansson refuses such text) */
static json_t *jstr(const char *s)
{
    json_t *v = json_string(s ? s : "");
    return v ? v : json_string("(not valid UTF-8)");
}

/* adds v under key and returns it */
static json_t *obj_add(json_t *obj, const char *key, json_t *v)
{
    json_object_set_new(obj, key, v);
    return v;
}

/* Members inserted as the engine wrote them (canonical JSON, byte for byte): add_raw puts a
   placeholder string that set_json replaces in the text it writes.  The placeholder holds a
   control character and a number drawn at start, so no text from outside can imitate it. */
#define MAX_RAW 4
static _Thread_local char *raw_text[MAX_RAW];
static _Thread_local int nraw;
static unsigned long raw_nonce;

static void add_raw(json_t *obj, const char *name, const char *json)
{
    if (nraw == MAX_RAW)
        return;
    size_t n = strlen(json);
    while (n && json[n - 1] == '\n')
        n--;
    raw_text[nraw] = sv_malloc(n + 1);
    memcpy(raw_text[nraw], json, n);
    raw_text[nraw][n] = '\0';
    char mark[48];
    snprintf(mark, sizeof mark, "\x01raw:%lx:%d", raw_nonce, nraw);
    json_object_set_new(obj, name, json_string(mark));
    nraw++;
}

static void set_json(serve_resp *r, int status, json_t *body)
{
    r->status = status;
    char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(body);
    if (!text)
        text = sv_strdup("{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        sv_oom(strlen(text));
    const char *t = text;
    for (;;) { /* the placeholders in the order they appear */
        const char *first = NULL;
        size_t flen = 0;
        int which = -1;
        for (int i = 0; i < nraw; i++) {
            char mark[56];
            snprintf(mark, sizeof mark, "\"\\u0001raw:%lx:%d\"", raw_nonce, i);
            const char *at = strstr(t, mark);
            if (at && (!first || at < first)) {
                first = at;
                flen = strlen(mark);
                which = i;
            }
        }
        if (!first)
            break;
        fwrite(t, 1, (size_t)(first - t), f);
        fputs(raw_text[which], f);
        t = first + flen;
    }
    for (int i = 0; i < nraw; i++)
        free(raw_text[i]);
    nraw = 0;
    fputs(t, f);
    fputc('\n', f);
    fclose(f);
    free(text);
    r->body = buf;
    r->len = len;
}

/* {"error": {"code": code, "message": message, extra members}} */
static json_t *error_obj(const char *code, const char *message, json_t **err)
{
    json_t *root = json_object(), *e = obj_add(root, "error", json_object());
    json_object_set_new(e, "code", jstr(code));
    json_object_set_new(e, "message", jstr(message));
    if (err)
        *err = e;
    return root;
}

static void fail(serve_resp *r, int status, const char *code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void fail(serve_resp *r, int status, const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    set_json(r, status, error_obj(code, msg, NULL));
}

/* the problems of d as [{"field", "message", "line", "col"}], fields under prefix */
static json_t *violations(const yz_diags *d, const char *prefix, bool with_position)
{
    json_t *a = json_array();
    for (size_t i = 0; i < d->n; i++) {
        const yz_diag *x = &d->items[i];
        if (x->severity != YZ_SEV_ERROR)
            continue;
        json_t *v = json_object();
        if (x->field || prefix) {
            char *f = sv_printf("%s%s%s", prefix ? prefix : "", prefix && x->field && *x->field != '[' ? "." : "",
                                x->field ? x->field : "");
            json_object_set_new(v, "field", jstr(f));
            free(f);
        }
        json_object_set_new(v, "message", jstr(x->message));
        if (with_position && x->line > 0) {
            json_object_set_new(v, "line", json_integer(x->line));
            if (x->col > 0)
                json_object_set_new(v, "col", json_integer(x->col));
        }
        json_array_append_new(a, v);
    }
    return a;
}

static char *first_error(const yz_diags *d, const char *fallback)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->items[i].severity == YZ_SEV_ERROR) {
            char *m = yz_diag_format(&d->items[i]);
            char *c = sv_strdup(m);
            yz_free(m);
            return c;
        }
    return sv_strdup(fallback);
}

static void add_str_or_null(json_t *obj, const char *name, const char *v)
{
    if (v)
        json_object_set_new(obj, name, jstr(v));
    else
        json_object_set_new(obj, name, json_null());
}

/* ---- reading request bodies ---- */

static bool is_json_body(const serve_req *q)
{
    if (!q->content_type)
        return false;
    const char *t = q->content_type;
    while (*t == ' ')
        t++;
    size_t n = strcspn(t, "; ");
    return (n == 16 && !strncasecmp(t, "application/json", 16));
}

/* the body as a JSON object (an empty body is {} when allow_empty): NULL after answering */
static json_t *read_body(const serve_req *q, bool allow_empty, serve_resp *r)
{
    const char *b = q->body;
    size_t n = q->body_len;
    size_t i = 0;
    while (i < n && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t'))
        i++;
    if (i == n) {
        if (allow_empty)
            return json_object();
        fail(r, 400, "bad_request", "the request has no body: send a JSON object");
        return NULL;
    }
    if (!is_json_body(q)) {
        fail(r, 415, "unsupported_media_type", "send the body as application/json, not %s",
             q->content_type ? q->content_type : "without a Content-Type");
        return NULL;
    }
    json_error_t e;
    json_t *v = json_loadb(b, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
    if (!v) {
        fail(r, 400, "bad_request", "the body is not valid JSON: %s at line %d, column %d (byte %d)", e.text, e.line,
             e.column, e.position);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        fail(r, 422, "invalid_request", "the body must be a JSON object");
        return NULL;
    }
    return v;
}

/* a 422 listing members not among known */
static bool unknown_members(json_t *obj, const char *const *known, const char *hint_member, const char *hint,
                            serve_resp *r)
{
    json_t *e, *root = NULL, *list = NULL;
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
        (void)val;
        bool ok = false;
        for (const char *const *k = known; *k; k++)
            ok |= !strcmp(key, *k);
        if (ok)
            continue;
        if (!root) {
            root = error_obj("invalid_request", "the body has members this endpoint does not take", &e);
            list = obj_add(e, "violations", json_array());
        }
        json_t *v = json_object();
        json_object_set_new(v, "field", jstr(key));
        char *msg;
        if (hint_member && !strcmp(key, hint_member))
            msg = sv_strdup(hint);
        else {
            char *names = sv_strdup("");
            for (const char *const *k = known; *k; k++) {
                char *nn = sv_printf("%s%s%s", names, *names ? ", " : "", *k);
                free(names);
                names = nn;
            }
            msg = sv_printf("unknown member '%s' (this endpoint takes %s)", key, names);
            free(names);
        }
        json_object_set_new(v, "message", jstr(msg));
        free(msg);
        json_array_append_new(list, v);
    }
    if (root)
        set_json(r, 422, root);
    return root != NULL;
}

/* ---- POST /v1/determinations ---- */

static bool valid_date(const char *s)
{
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    return true;
}

static void add_violation(json_t *list, const char *field, const char *message)
{
    json_t *v = json_object();
    json_object_set_new(v, "field", jstr(field));
    json_object_set_new(v, "message", jstr(message));
    json_array_append_new(list, v);
}

/* the answer to POST /v1/determinations: the decision (id, operator and seq when recorded, else
   null) and the determination */
static void answer_determination(serve_resp *r, const yz_determination *det, const char *id, int64_t seq,
                                 const char *operator_id)
{
    metrics_decision(id != NULL);
    json_t *o = json_object();
    if (id) {
        json_t *dec = obj_add(o, "decision", json_object());
        json_object_set_new(dec, "id", jstr(id));
        json_object_set_new(dec, "operator", jstr(operator_id));
        json_object_set_new(dec, "seq", json_integer(seq));
        snprintf(r->location, sizeof r->location, "/v1/decisions/%s", id);
    } else {
        json_object_set_new(o, "decision", json_null());
    }
    char *dj = yz_determination_json(det);
    add_raw(o, "determination", dj);
    yz_free(dj);
    set_json(r, id ? 201 : 200, o);
}

/* a determination being recorded: what h_determine made, kept until the writer is done */
typedef struct decide_pending {
    serve_pending base;
    serve *s;
    serve_gen *g; /* holds the ruleset the job records with */
    json_t *body;
    char *text;
    yz_record *rec;
    yz_determination *det;
    char operator_id[64];
    serve_store_job *job;
} decide_pending;

static void decide_start(serve_pending *p, void (*done)(void *arg), void *arg)
{
    decide_pending *dp = (decide_pending *)p;
    serve_store_submit(dp->s->store, dp->job, done, arg);
}

static void decide_finish(serve_pending *p, serve_resp *r)
{
    decide_pending *dp = (decide_pending *)p;
    char id[17], msg[512];
    int64_t seq = 0;
    if (serve_store_job_result(dp->job, id, &seq, msg, sizeof msg) != YZ_OK) {
        serve_log("store error recording for %s: %s", dp->operator_id, msg);
        fail(r, 503, "store_error", "the decision was NOT recorded: %s", msg);
        metrics_error("store");
    } else {
        answer_determination(r, dp->det, id, seq, dp->operator_id);
    }
    serve_store_job_free(dp->job);
    free(dp->text);
    yz_determination_free(dp->det);
    yz_record_free(dp->rec);
    serve_gen_release(dp->g);
    json_decref(dp->body);
    free(dp);
}

static void h_determine(serve *s, const serve_req *q, const serve_principal *p, char **params, serve_resp *r)
{
    (void)params;
    json_t *body = read_body(q, false, r);
    if (!body)
        return;
    static const char *const known[] = {"province", "as_of", "record", "dry_run", NULL};
    char hint[160];
    snprintf(hint, sizeof hint, "the operator recorded is the token's (%s), never a request's: remove 'operator'",
             p->operator_id);
    if (unknown_members(body, known, "operator", hint, r)) {
        json_decref(body);
        return;
    }
    json_t *jprov = json_object_get(body, "province");
    json_t *jasof = json_object_get(body, "as_of");
    json_t *jrec = json_object_get(body, "record");
    json_t *jdry = json_object_get(body, "dry_run");
    json_t *e, *root = error_obj("invalid_request", "the request is incomplete or wrong", &e);
    json_t *vl = obj_add(e, "violations", json_array());
    if (!json_is_string(jprov) || !*json_string_value(jprov))
        add_violation(vl, "province", "required: a province name (GET /v1/provinces lists them)");
    if (jasof && !json_is_null(jasof) && !(json_is_string(jasof) && valid_date(json_string_value(jasof))))
        add_violation(vl, "as_of", "the as-of date must read YYYY-MM-DD");
    if (!json_is_object(jrec) && !json_is_string(jrec))
        add_violation(vl, "record", "required: the applicant record, as a JSON object or as JSON/YAML text");
    if (jdry && !json_is_boolean(jdry))
        add_violation(vl, "dry_run", "true or false");
    if (json_array_size(vl)) {
        json_decref(body);
        set_json(r, 422, root);
        metrics_error("invalid_record");
        return;
    }
    json_decref(root);
    bool record = !json_is_true(jdry);
    const char *province = json_string_value(jprov);
    if (record && !(p->rights & RIGHT_RECORD)) {
        serve_log("refused 403 %s %s from %s: operator %s (%s) may not record decisions", q->method, q->path, q->remote,
                  p->operator_id, p->role);
        metrics_error("auth");
        fail(r, 403, "forbidden", "the role %s may determine but not record: send \"dry_run\": true", p->role);
        json_decref(body);
        return;
    }
    if (!serve_province_covers(p->province, province)) {
        serve_log("refused 403 %s %s from %s: operator %s (caseworker of %s) asked for %s", q->method, q->path, q->remote,
                  p->operator_id, p->province, province);
        metrics_error("auth");
        fail(r, 403, "forbidden", "operator %s works for %s, not %s", p->operator_id, p->province, province);
        json_decref(body);
        return;
    }
    char as_of[11];
    if (json_is_string(jasof))
        snprintf(as_of, sizeof as_of, "%s", json_string_value(jasof));
    else
        serve_today(as_of);

    serve_gen *g = serve_rules_acquire(s->rules);
    const serve_rs *e_rs = serve_gen_find(g, province);
    yz_diags d;
    yz_diags_init(&d);
    yz_record *rec = NULL;
    yz_determination *det = NULL;
    char *text = NULL;
    if (!e_rs) {
        json_t *err, *o = error_obj("invalid_request", "unknown province", &err);
        char *msg = sv_printf("no province '%s' is in service (GET /v1/provinces lists them)", province);
        add_violation(obj_add(err, "violations", json_array()), "province", msg);
        free(msg);
        set_json(r, 422, o);
        metrics_error("invalid_record");
        goto out;
    }
    if (!e_rs->rs) {
        json_t *err, *o = error_obj("policy_error", "the rules of this province have errors and are not used", &err);
        json_object_set_new(err, "lint", jstr(e_rs->errors ? e_rs->errors : ""));
        set_json(r, 409, o);
        metrics_error("policy");
        goto out;
    }
    int rc = yz_ruleset_in_force(e_rs->rs, as_of, &d);
    if (rc == YZ_ENOTINFORCE) {
        char *m = first_error(&d, "no policy in force");
        fail(r, 409, "not_in_force", "%s", m);
        free(m);
        metrics_error("policy");
        goto out;
    }
    yz_diags_free(&d);
    yz_diags_init(&d);
    bool as_text = json_is_string(jrec);
    text = as_text ? sv_strdup(json_string_value(jrec)) : json_dumps(jrec, JSON_COMPACT);
    if (!text)
        text = sv_strdup("");
    rc = yz_record_parse(text, strlen(text), "record", &rec, &d);
    if (rc != YZ_OK) {
        json_t *err, *o = error_obj(rc == YZ_EINPUT ? "invalid_record" : "unreadable_record",
                                   rc == YZ_EINPUT ? "the record breaks the applicant record schema: nothing was evaluated"
                                                   : "the record is neither JSON nor YAML",
                                   &err);
        json_object_set_new(err, "violations", violations(&d, "record", as_text));
        set_json(r, 422, o);
        metrics_error("invalid_record");
        goto out;
    }
    yz_evaluator *ev = serve_rules_evaluator(s->rules, g, e_rs, &d);
    rc = ev ? yz_evaluate(ev, rec, as_of, &det, &d) : YZ_ENOMEM;
    if (rc != YZ_OK) {
        char *m = first_error(&d, yz_rc_name(rc));
        if (rc == YZ_EUSAGE) {
            json_t *err, *o = error_obj("invalid_request", "the request is incomplete or wrong", &err);
            add_violation(obj_add(err, "violations", json_array()), "as_of", m);
            set_json(r, 422, o);
            metrics_error("invalid_record");
        } else if (rc == YZ_ENOMEM) {
            serve_rules_drop_evaluator(s->rules, e_rs);
            fail(r, 503, "out_of_memory", "out of memory: nothing was recorded; try again later");
            metrics_error("evaluation");
        } else {
            fail(r, 500, "evaluation_failed", "%s", m);
            metrics_error("evaluation");
        }
        free(m);
        goto out;
    }
    if (record) {
        /* the rest when the writer has recorded it (decide_finish): nothing is freed here */
        decide_pending *dp = sv_calloc(1, sizeof *dp);
        dp->base.start = decide_start;
        dp->base.finish = decide_finish;
        dp->s = s;
        dp->g = g;
        dp->body = body;
        dp->text = text;
        dp->rec = rec;
        dp->det = det;
        snprintf(dp->operator_id, sizeof dp->operator_id, "%s", p->operator_id);
        dp->job = serve_store_job_new(e_rs->rs, rec, det, dp->operator_id);
        r->pending = &dp->base;
        yz_diags_free(&d);
        return;
    }
    answer_determination(r, det, NULL, 0, NULL);
out:
    free(text);
    yz_determination_free(det);
    yz_record_free(rec);
    yz_diags_free(&d);
    serve_gen_release(g);
    json_decref(body);
}

/* ---- decisions, people ---- */

static json_t *stored_meta(const yz_stored *st)
{
    json_t *m = json_object();
    json_object_set_new(m, "as_of", jstr(st->as_of));
    json_object_set_new(m, "engine", jstr(st->engine));
    json_object_set_new(m, "id", jstr(st->id));
    json_object_set_new(m, "id_number", jstr(st->id_number));
    json_object_set_new(m, "operator", jstr(st->operator_id));
    json_object_set_new(m, "province", jstr(st->province));
    json_object_set_new(m, "recorded_at", jstr(st->recorded_at));
    json_object_set_new(m, "ruleset", jstr(st->ruleset));
    json_object_set_new(m, "seq", json_integer(st->seq));
    json_object_set_new(m, "target", jstr(st->target));
    return m;
}

/* loads decision id for p: NULL after answering */
static yz_stored *load_decision(serve *s, const serve_req *q, const serve_principal *p, const char *id, bool files,
                                serve_resp *r)
{
    yz_diags d;
    yz_diags_init(&d);
    yz_stored *st = NULL;
    yz_store *rd = serve_store_reader(s->store, &d);
    int rc = rd ? yz_store_load(rd, id, files, &st, &d) : YZ_ESTORE;
    if (rc != YZ_OK) {
        char *m = first_error(&d, "the store cannot be read");
        if (rc == YZ_EUSAGE)
            fail(r, 404, "not_found", "%s", m);
        else {
            fail(r, 500, "store_error", "%s", m);
            metrics_error("store");
        }
        free(m);
        yz_diags_free(&d);
        return NULL;
    }
    yz_diags_free(&d);
    if (!serve_province_covers(p->province, st->province)) {
        serve_log("refused 403 %s %s from %s: operator %s (caseworker of %s) asked for a decision of %s", q->method,
                  q->path, q->remote, p->operator_id, p->province, st->province);
        metrics_error("auth");
        fail(r, 403, "forbidden", "decision %s was made for %s: operator %s works for %s", st->id, st->province,
             p->operator_id, p->province);
        yz_stored_free(st);
        return NULL;
    }
    return st;
}

static void h_decision(serve *s, const serve_req *q, const serve_principal *p, char **params, serve_resp *r)
{
    yz_stored *st = load_decision(s, q, p, params[0], false, r);
    if (!st)
        return;
    json_t *o = json_object();
    json_object_set_new(o, "decision", stored_meta(st));
    add_raw(o, "determination", st->output);
    add_raw(o, "input", st->input);
    yz_stored_free(st);
    set_json(r, 200, o);
}

static void h_replay(serve *s, const serve_req *q, const serve_principal *p, char **params, serve_resp *r)
{
    json_t *body = read_body(q, true, r);
    if (!body)
        return;
    static const char *const known[] = {"against", NULL};
    json_t *ag = json_object_get(body, "against");
    if (unknown_members(body, known, NULL, NULL, r)) {
        json_decref(body);
        return;
    }
    bool current = false;
    if (ag && !(json_is_string(ag) && (!strcmp(json_string_value(ag), "recorded") || !strcmp(json_string_value(ag), "current")))) {
        json_t *e, *o = error_obj("invalid_request", "the request is incomplete or wrong", &e);
        add_violation(obj_add(e, "violations", json_array()), "against",
                      "\"recorded\" (the stored rules, the default) or \"current\" (the rules in service now)");
        set_json(r, 422, o);
        json_decref(body);
        return;
    }
    current = ag && !strcmp(json_string_value(ag), "current");
    json_decref(body);
    yz_stored *st = load_decision(s, q, p, params[0], true, r);
    if (!st)
        return;
    yz_diags d;
    yz_diags_init(&d);
    char *diff = NULL, *rules = current ? sv_printf("%s/provinces/%s", s->home, st->province) : NULL;
    int rc = yz_replay(s->home, st, rules, &diff, &d);
    if (rc == YZ_OK || rc == YZ_EFAILED) {
        json_t *o = json_object();
        json_object_set_new(o, "against", jstr(current ? "current" : "recorded"));
        json_object_set_new(o, "decision", jstr(st->id));
        add_str_or_null(o, "difference", rc == YZ_EFAILED ? diff : NULL);
        json_object_set_new(o, "match", json_boolean(rc == YZ_OK));
        json_object_set_new(o, "seq", json_integer(st->seq));
        set_json(r, 200, o);
    } else {
        char *m = first_error(&d, yz_rc_name(rc));
        if (rc == YZ_EPOLICY || rc == YZ_ENOTINFORCE)
            fail(r, 409, rc == YZ_EPOLICY ? "policy_error" : "not_in_force", "%s", m);
        else if (rc == YZ_ENOMEM)
            fail(r, 503, "out_of_memory", "out of memory: try again later");
        else
            fail(r, 500, "replay_failed", "%s", m);
        metrics_error(rc == YZ_EPOLICY || rc == YZ_ENOTINFORCE ? "policy" : "internal");
        free(m);
    }
    yz_free(diff);
    free(rules);
    yz_diags_free(&d);
    yz_stored_free(st);
}

typedef struct people_ctx {
    const serve_principal *p;
    json_t *list;
    size_t hidden;
} people_ctx;

static int person_one(const yz_stored *st, void *ctx)
{
    people_ctx *c = ctx;
    if (!serve_province_covers(c->p->province, st->province)) {
        c->hidden++;
        return 0;
    }
    json_t *m = stored_meta(st);
    char *brief = yz_outcome_brief(st->output, true);
    char *obj = sv_printf("{%s}", brief);
    yz_free(brief);
    json_t *b = json_loads(obj, 0, NULL);
    free(obj);
    if (b) {
        json_object_set_new(m, "categories", json_incref(json_object_get(b, "categories")));
        json_object_set_new(m, "subsidies", json_incref(json_object_get(b, "subsidies")));
        json_decref(b);
    }
    json_array_append_new(c->list, m);
    return 0;
}

static void h_people(serve *s, const serve_req *q, const serve_principal *p, char **params, serve_resp *r)
{
    (void)q;
    char norm[32];
    snprintf(norm, sizeof norm, "%s", params[0]);
    for (char *c = norm; *c; c++)
        if (*c == 'x')
            *c = 'X';
    yz_diags d;
    yz_diags_init(&d);
    json_t *o = json_object();
    people_ctx c = {p, NULL, 0};
    c.list = obj_add(o, "decisions", json_array());
    yz_store *rd = serve_store_reader(s->store, &d);
    int rc = rd ? yz_store_each(rd, norm, NULL, NULL, true, person_one, &c, &d) : YZ_ESTORE;
    if (rc != YZ_OK) {
        json_decref(o);
        char *m = first_error(&d, "the store cannot be read");
        fail(r, 500, "store_error", "%s", m);
        free(m);
        metrics_error("store");
    } else {
        json_object_set_new(o, "id_number", jstr(norm));
        if (*p->province)
            json_object_set_new(o, "province", jstr(p->province));
        set_json(r, 200, o);
    }
    yz_diags_free(&d);
}

/* ---- provinces, audit ---- */

static void h_provinces(serve *s, const serve_req *q, const serve_principal *p, char **params, serve_resp *r)
{
    (void)q, (void)p, (void)params;
    serve_gen *g = serve_rules_acquire(s->rules);
    json_t *o = json_object(), *list = obj_add(o, "provinces", json_array());
    for (size_t i = 0; g && i < g->n; i++) {
        const serve_rs *e = g->items[i];
        json_t *x = json_object();
        if (e->errors)
            json_object_set_new(x, "errors", jstr(e->errors));
        json_object_set_new(x, "in_service", json_boolean(e->rs != NULL));
        add_str_or_null(x, "loaded_at", e->rs ? e->loaded_at : NULL);
        json_object_set_new(x, "name", jstr(e->name));
        json_t *pl = obj_add(x, "policies", json_array());
        size_t np = e->rs ? yz_ruleset_policy_count(e->rs) : 0;
        for (size_t k = 0; k < np; k++) {
            yz_policy_info pi;
            yz_ruleset_policy(e->rs, k, &pi);
            json_t *y = json_object();
            json_object_set_new(y, "from", jstr(pi.from));
            add_str_or_null(y, "region_code", pi.region_code);
            add_str_or_null(y, "region_name", pi.region_name);
            add_str_or_null(y, "title", pi.title);
            add_str_or_null(y, "to", pi.to);
            json_array_append_new(pl, y);
        }
        add_str_or_null(x, "ruleset", e->rs ? yz_ruleset_id(e->rs) : NULL);
        json_array_append_new(list, x);
    }
    serve_gen_release(g);
    set_json(r, 200, o);
}

static void h_head(serve *s, const serve_req *q, const serve_principal *p, char **params, serve_resp *r)
{
    (void)q, (void)p, (void)params;
    yz_diags d;
    yz_diags_init(&d);
    yz_store *rd = serve_store_reader(s->store, &d);
    int64_t seq = 0;
    char hash[65];
    if (!rd || yz_store_head(rd, &seq, hash, &d) != YZ_OK) {
        char *m = first_error(&d, "the store cannot be read");
        fail(r, 500, "store_error", "%s", m);
        free(m);
        metrics_error("store");
    } else {
        json_t *o = json_object();
        json_object_set_new(o, "alg", jstr(yz_store_hash_alg(rd)));
        json_object_set_new(o, "hash", jstr(hash));
        char *h = sv_printf("%lld:%s", (long long)seq, hash);
        json_object_set_new(o, "head", jstr(h));
        free(h);
        json_object_set_new(o, "seq", json_integer(seq));
        set_json(r, 200, o);
    }
    yz_diags_free(&d);
}

static void h_verify(serve *s, const serve_req *q, const serve_principal *p, char **params, serve_resp *r)
{
    (void)p, (void)params;
    json_t *body = read_body(q, true, r);
    if (!body)
        return;
    static const char *const known[] = {"expect_head", NULL};
    if (unknown_members(body, known, NULL, NULL, r)) {
        json_decref(body);
        return;
    }
    json_t *eh = json_object_get(body, "expect_head");
    if (eh && !json_is_string(eh) && !json_is_null(eh)) {
        json_t *e, *o = error_obj("invalid_request", "the request is incomplete or wrong", &e);
        add_violation(obj_add(e, "violations", json_array()), "expect_head", "a head as 'audit head' prints it: SEQ:HASH");
        set_json(r, 422, o);
        json_decref(body);
        return;
    }
    yz_diags d;
    yz_diags_init(&d);
    yz_store *rd = serve_store_reader(s->store, &d);
    yz_verify_report rep;
    memset(&rep, 0, sizeof rep);
    int rc = rd ? yz_store_verify(rd, json_is_string(eh) ? json_string_value(eh) : NULL, &rep, &d) : YZ_ESTORE;
    json_decref(body);
    if (rc == YZ_OK || rc == YZ_EFAILED) {
        json_t *o = json_object();
        json_object_set_new(o, "alg", jstr(yz_store_hash_alg(rd)));
        if (rc == YZ_EFAILED)
            json_object_set_new(o, "bad_seq", json_integer(rep.bad_seq));
        else
            json_object_set_new(o, "bad_seq", json_null());
        json_object_set_new(o, "events", json_integer(rep.events));
        char *h = sv_printf("%lld:%s", (long long)rep.head_seq, rep.head_hash);
        json_object_set_new(o, "head", jstr(h));
        free(h);
        json_object_set_new(o, "ok", json_boolean(rc == YZ_OK));
        add_str_or_null(o, "problem", rc == YZ_EFAILED ? rep.problem : NULL);
        set_json(r, 200, o);
    } else {
        char *m = first_error(&d, "the store cannot be read");
        fail(r, rc == YZ_EUSAGE ? 422 : 500, rc == YZ_EUSAGE ? "invalid_request" : "store_error", "%s", m);
        free(m);
    }
    yz_diags_free(&d);
}

static void h_whoami(serve *s, const serve_req *q, const serve_principal *p, char **params, serve_resp *r)
{
    (void)s, (void)q, (void)params;
    json_t *o = json_object();
    json_object_set_new(o, "operator", jstr(p->operator_id));
    add_str_or_null(o, "province", *p->province ? p->province : NULL);
    json_object_set_new(o, "role", jstr(p->role));
    json_t *rights = obj_add(o, "rights", json_array());
    static const struct { unsigned bit; const char *name; } names[] = {
        {RIGHT_DETERMINE, "determine"}, {RIGHT_RECORD, "record"}, {RIGHT_READ, "read"},
        {RIGHT_REPLAY, "replay"},       {RIGHT_VERIFY, "verify"}, {RIGHT_METRICS, "metrics"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (p->rights & names[i].bit)
            json_array_append_new(rights, jstr(names[i].name));
    set_json(r, 200, o);
}

/* ---- health, metrics, documents, the page ---- */

static void h_health(serve *s, const serve_req *q, const serve_principal *p, char **params, serve_resp *r)
{
    (void)q, (void)p, (void)params;
    serve_gen *g = serve_rules_acquire(s->rules);
    size_t in = 0, bad = 0;
    json_t *o = json_object(), *problems = json_array();
    for (size_t i = 0; g && i < g->n; i++) {
        const serve_rs *e = g->items[i];
        in += e->rs != NULL;
        if (!e->errors)
            continue;
        bad++;
        char *m = e->rs ? sv_printf("%s: the rules reloaded at %s have errors; still deciding with the ruleset %.12s "
                                    "loaded at %s:\n%s",
                                    e->name, g->reloaded_at, yz_ruleset_id(e->rs), e->loaded_at, e->errors)
                        : sv_printf("%s: the rules have errors and are not used:\n%s", e->name, e->errors);
        json_array_append_new(problems, jstr(m));
        free(m);
    }
    pthread_rwlock_rdlock(&s->tokens_lock);
    if (s->tokens_error[0])
        json_array_append_new(problems, jstr(s->tokens_error));
    size_t ntok = serve_tokens_count(s->tokens);
    pthread_rwlock_unlock(&s->tokens_lock);
    serve_checkpoint_status cs;
    serve_store_checkpoint_status(s->store, &cs);
    if (cs.error[0]) {
        char *m = sv_printf("the last signed checkpoint failed: %s", cs.error);
        json_array_append_new(problems, jstr(m));
        free(m);
    }
    if (cs.every) {
        json_t *cp = obj_add(o, "checkpoints", json_object());
        json_object_set_new(cp, "every_seconds", json_integer(cs.every));
        json_object_set_new(cp, "failed", json_integer((json_int_t)cs.failed));
        json_object_set_new(cp, "last_error", cs.error[0] ? jstr(cs.error) : json_null());
        json_object_set_new(cp, "last_hash", cs.size ? jstr(cs.hash) : json_null());
        json_object_set_new(cp, "last_size", json_integer(cs.size));
        json_object_set_new(cp, "last_time", cs.size ? jstr(cs.time) : json_null());
        json_object_set_new(cp, "made", json_integer((json_int_t)cs.made));
    }
    json_object_set_new(o, "problems", problems);
    json_t *rl = obj_add(o, "reload", json_object());
    json_object_set_new(rl, "at", jstr(g ? g->reloaded_at : ""));
    json_object_set_new(rl, "ok", json_boolean(g && g->reload_ok && !s->tokens_error[0]));
    json_t *rs = obj_add(o, "rulesets", json_object());
    json_object_set_new(rs, "in_service", json_integer(in));
    json_object_set_new(rs, "with_errors", json_integer(bad));
    json_object_set_new(o, "started_at", jstr(s->started_at));
    json_object_set_new(o, "status", jstr(bad || s->tokens_error[0] || cs.error[0] ? "degraded" : "ok"));
    json_object_set_new(o, "tokens", json_integer(ntok));
    json_object_set_new(o, "version", jstr("yuanzhu " YZ_VERSION));
    serve_gen_release(g);
    set_json(r, 200, o);
}

static void h_metrics(serve *s, const serve_req *q, const serve_principal *p, char **params, serve_resp *r)
{
    (void)q, (void)p, (void)params;
    serve_gen *g = serve_rules_acquire(s->rules);
    size_t in = 0;
    for (size_t i = 0; g && i < g->n; i++)
        in += g->items[i]->rs != NULL;
    serve_gen_release(g);
    pthread_rwlock_rdlock(&s->tokens_lock);
    size_t ntok = serve_tokens_count(s->tokens);
    pthread_rwlock_unlock(&s->tokens_lock);
    r->status = 200;
    r->body = metrics_text(in, ntok);
    r->len = r->body ? strlen(r->body) : 0;
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

static void h_openapi(serve *s, const serve_req *q, const serve_principal *p, char **params, serve_resp *r)
{
    (void)s, (void)q, (void)p, (void)params;
    r->status = 200;
    r->body = sv_strdup(yz_serve_openapi);
    r->len = yz_serve_openapi_len;
    r->cache = "no-cache";
}

static void h_schema(serve *s, const serve_req *q, const serve_principal *p, char **params, serve_resp *r)
{
    (void)s, (void)q, (void)p, (void)params;
    r->status = 200;
    r->body = sv_strdup(yz_applicant_schema());
    r->len = strlen(r->body);
    r->content_type = "application/schema+json";
    r->cache = "no-cache";
}

static const struct ctype {
    const char *ext, *type;
} ctypes[] = {
    {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},             {".png", "image/png"},                      {".ico", "image/x-icon"},
    {".json", "application/json"},         {".txt", "text/plain; charset=utf-8"},
};

static void h_static(serve *s, const serve_req *q, const serve_principal *p, char **params, serve_resp *r)
{
    (void)q, (void)p;
    const char *name = params[0] && *params[0] ? params[0] : "index.html";
    const char *type = NULL;
    for (size_t i = 0; i < sizeof ctypes / sizeof ctypes[0]; i++) {
        size_t n = strlen(name), e = strlen(ctypes[i].ext);
        if (n > e && !strcmp(name + n - e, ctypes[i].ext))
            type = ctypes[i].type;
    }
    bool plain = name[0] != '.';
    for (const char *c = name; *c; c++)
        plain &= (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("._-", *c);
    char *path = sv_printf("%s/%s", s->web, name);
    FILE *f = plain && type ? fopen(path, "rb") : NULL;
    free(path);
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (16 << 20)) {
        if (f)
            fclose(f);
        fail(r, 404, "not_found", "no such page: %s", name);
        return;
    }
    r->body = sv_malloc((size_t)st.st_size + 1);
    r->len = fread(r->body, 1, (size_t)st.st_size, f);
    fclose(f);
    r->status = 200;
    r->content_type = type;
    r->cache = "no-cache";
}

/* ---- the table ---- */

static const route routes[] = {
    {"POST", "/v1/determinations", RIGHT_DETERMINE, h_determine},
    {"GET", "/v1/decisions/*", RIGHT_READ, h_decision},
    {"POST", "/v1/decisions/*/replay", RIGHT_REPLAY, h_replay},
    {"GET", "/v1/people/*/decisions", RIGHT_READ, h_people},
    {"GET", "/v1/provinces", RIGHT_ANY, h_provinces},
    {"GET", "/v1/whoami", RIGHT_ANY, h_whoami},
    {"GET", "/v1/audit/head", RIGHT_VERIFY, h_head},
    {"POST", "/v1/audit/verify", RIGHT_VERIFY, h_verify},
    {"GET", "/health", 0, h_health},
    {"GET", "/metrics", RIGHT_METRICS, h_metrics},
    {"GET", "/v1/openapi.json", 0, h_openapi},
    {"GET", "/v1/schemas/applicant-record.v1.json", 0, h_schema},
    {"GET", "/*", 0, h_static},
};
#define NROUTES (sizeof routes / sizeof routes[0])
static const char *const route_names[NROUTES] = {
    "/v1/determinations", "/v1/decisions/{id}", "/v1/decisions/{id}/replay", "/v1/people/{id_number}/decisions",
    "/v1/provinces",      "/v1/whoami",         "/v1/audit/head",     "/v1/audit/verify",          "/health",
    "/metrics",           "/v1/openapi.json",   "/v1/schemas/applicant-record.v1.json", "/ (web page)",
};

/* matches path against a pattern whose '*' stands for one segment; params get the segments */
static bool match(const char *pattern, const char *path, char **params, int *np)
{
    *np = 0;
    while (*pattern && *path) {
        if (*pattern == '*') {
            size_t n = strcspn(path, "/");
            if (*np < 2)
                params[(*np)++] = strndup(path, n);
            path += n;
            pattern++;
        } else if (*pattern == *path) {
            pattern++;
            path++;
        } else {
            break;
        }
    }
    if (*pattern == '*' && !*path && *np < 2) { /* an empty last segment ("/" for the page) */
        params[(*np)++] = sv_strdup("");
        pattern++;
    }
    bool ok = !*pattern && !*path;
    if (!ok) {
        for (int i = 0; i < *np; i++)
            free(params[i]);
        *np = 0;
    }
    return ok;
}

/* the route for q (-1 after answering 404 or 405) */
static int find_route(const serve_req *q, char **params, int *np, serve_resp *r)
{
    const char *method = !strcmp(q->method, "HEAD") ? "GET" : q->method;
    const char *allow = NULL;
    for (size_t i = 0; i < NROUTES; i++) {
        int n;
        char *tmp[2];
        if (!match(routes[i].pattern, q->path, tmp, &n))
            continue;
        if (!strcmp(routes[i].method, method)) {
            memcpy(params, tmp, sizeof tmp);
            *np = n;
            return (int)i;
        }
        for (int k = 0; k < n; k++)
            free(tmp[k]);
        if (!allow) /* no path here takes two methods */
            allow = !strcmp(routes[i].method, "GET") ? "GET, HEAD" : routes[i].method;
    }
    if (allow) {
        fail(r, 405, "method_not_allowed", "%s does not take %s (it takes %s)", q->path, q->method, allow);
        r->allow = allow;
        return -1;
    }
    fail(r, 404, "not_found", "no such endpoint: %s %s (GET /v1/openapi.json describes them)", q->method, q->path);
    return -1;
}

/* the principal for a route that needs rights (0), or an answer (401/403) */
static int authorize(serve *s, const serve_req *q, const route *rt, serve_principal *p, serve_resp *r)
{
    memset(p, 0, sizeof *p);
    if (!rt->right)
        return 0;
    const char *why = NULL;
    pthread_rwlock_rdlock(&s->tokens_lock);
    int rc = serve_tokens_check(s->tokens, q->authorization, p, &why);
    pthread_rwlock_unlock(&s->tokens_lock);
    if (rc) {
        serve_log("refused 401 %s %s from %s: %s", q->method, q->path, q->remote, why);
        metrics_error("auth");
        fail(r, 401, "unauthorized", "%s: send 'Authorization: Bearer TOKEN' (yuanzhu token add makes one)", why);
        r->challenge = true;
        return 401;
    }
    if (!(p->rights & rt->right)) {
        serve_log("refused 403 %s %s from %s: operator %s (%s) lacks the right", q->method, q->path, q->remote,
                  p->operator_id, p->role);
        metrics_error("auth");
        fail(r, 403, "forbidden", "the role %s may not use %s %s", p->role, q->method, q->path);
        return 403;
    }
    return 0;
}

static int preflight(void *ctx, const serve_req *q, serve_resp *r)
{
    serve *s = ctx;
    char *params[2];
    int np = 0;
    int i = find_route(q, params, &np, r);
    for (int k = 0; k < np; k++)
        free(params[k]);
    if (i < 0)
        return 1;
    r->route = i;
    serve_principal p;
    if (authorize(s, q, &routes[i], &p, r))
        return 1;
    bool has_body = q->content_length > 0;
    if (!strcmp(routes[i].method, "POST") && has_body && !is_json_body(q)) {
        fail(r, 415, "unsupported_media_type", "send the body as application/json, not %s",
             q->content_type ? q->content_type : "without a Content-Type");
        return 1;
    }
    if (strcmp(routes[i].method, "POST") && has_body) {
        fail(r, 400, "bad_request", "%s %s takes no body", q->method, q->path);
        return 1;
    }
    return 0;
}

static int handle(void *ctx, const serve_req *q, serve_resp *r)
{
    serve *s = ctx;
    char *params[2] = {NULL, NULL};
    int np = 0;
    int i = find_route(q, params, &np, r);
    if (i >= 0) {
        r->route = i;
        serve_principal p;
        if (!authorize(s, q, &routes[i], &p, r))
            routes[i].fn(s, q, &p, params, r);
    }
    for (int k = 0; k < np; k++)
        free(params[k]);
    if (r->status >= 500)
        serve_log("answered %d to %s %s from %s", r->status, q->method, q->path, q->remote);
    return 0;
}

/* ---- the service ---- */

typedef struct sig_check {
    serve *s;
    yz_ruleset *rs;
} sig_check;

static int check_on_writer(yz_store *w, void *arg, yz_diags *d)
{
    sig_check *k = arg;
    const serve_config *cfg = &k->s->cfg;
    return yz_store_check_ruleset(w, k->rs, cfg->ruleset_keys, cfg->n_ruleset_keys, cfg->require_signed, d);
}

/* a ruleset is used only once its signature holds, as batch would record it */
static int check_signature(void *ctx, yz_ruleset *rs, yz_diags *d)
{
    sig_check k = {ctx, rs};
    return serve_store_call(((serve *)ctx)->store, check_on_writer, &k, d);
}

int serve_start(const serve_config *cfg, serve **out, char *err, size_t errlen)
{
    serve *s = sv_calloc(1, sizeof *s);
    s->cfg = *cfg;
    s->home = sv_strdup(cfg->home);
    s->db = sv_strdup(cfg->db);
    s->tokens_path = sv_strdup(cfg->tokens);
    s->web = sv_strdup(cfg->web);
    pthread_rwlock_init(&s->tokens_lock, NULL);
    serve_now(s->started_at);
    metrics_init(route_names, NROUTES);
    if (getrandom(&raw_nonce, sizeof raw_nonce, 0) != (ssize_t)sizeof raw_nonce)
        raw_nonce = (unsigned long)time(NULL) ^ (unsigned long)getpid();
    int code = 0;
    s->tokens = serve_tokens_load(s->tokens_path, err, errlen);
    if (!s->tokens) {
        code = 2;
        goto fail;
    }
    /* the store first: a ruleset's signature is checked against the keys it trusts */
    s->store = serve_store_open(s->db, cfg->chain_key, err, errlen);
    if (!s->store) {
        code = 5;
        goto fail;
    }
    s->rules = serve_rules_new(s->home, &cfg->limits, check_signature, s);
    size_t nerr = serve_rules_load(s->rules);
    serve_gen *g = serve_rules_acquire(s->rules);
    size_t in = 0;
    for (size_t i = 0; g && i < g->n; i++) {
        const serve_rs *e = g->items[i];
        if (e->rs) {
            in++;
            const char *signer = yz_ruleset_signer(e->rs);
            serve_log("rules %s: ruleset %.12s%s%s", e->name, yz_ruleset_id(e->rs), signer ? ", signed by " : "",
                      signer ? signer : "");
        } else {
            serve_log("rules %s have errors and are not used:\n%s", e->name, e->errors);
        }
    }
    serve_gen_release(g);
    if (!in) {
        snprintf(err, errlen, "no province's rules can be used (%zu with errors) under %s/provinces", nerr, s->home);
        code = 3;
        goto fail;
    }
    if (cfg->checkpoint_every && serve_store_checkpoints(s->store, cfg->checkpoint_keys, cfg->n_checkpoint_keys,
                                                         cfg->checkpoint_every, cfg->checkpoint_file, err, errlen)) {
        code = 5;
        goto fail;
    }
    serve_http_options o = {cfg->threads, cfg->idle_timeout, cfg->request_timeout, cfg->max_connections, cfg->max_body};
    s->http = serve_http_start(cfg->listen, &o, preflight, handle, s, err, errlen);
    if (!s->http) {
        code = 2;
        goto fail;
    }
    *out = s;
    return 0;
fail:
    serve_stop(s);
    *out = NULL;
    return code;
}

const char *serve_url(const serve *s)
{
    return serve_http_url(s->http);
}

void serve_reload(serve *s)
{
    size_t nerr = serve_rules_load(s->rules);
    metrics_reload(nerr == 0);
    serve_gen *g = serve_rules_acquire(s->rules);
    for (size_t i = 0; g && i < g->n; i++) {
        const serve_rs *e = g->items[i];
        if (e->errors && e->rs)
            serve_log("reload: %s has errors; still deciding with ruleset %.12s loaded at %s:\n%s", e->name,
                      yz_ruleset_id(e->rs), e->loaded_at, e->errors);
        else if (e->errors)
            serve_log("reload: %s has errors and is not used:\n%s", e->name, e->errors);
    }
    serve_gen_release(g);
    char err[512];
    serve_tokens *t = serve_tokens_load(s->tokens_path, err, sizeof err);
    pthread_rwlock_wrlock(&s->tokens_lock);
    if (t) {
        serve_tokens_free(s->tokens);
        s->tokens = t;
        s->tokens_error[0] = '\0';
    } else {
        snprintf(s->tokens_error, sizeof s->tokens_error, "tokens: %s; the tokens read before stay in use", err);
    }
    size_t ntok = serve_tokens_count(s->tokens);
    pthread_rwlock_unlock(&s->tokens_lock);
    if (!t)
        serve_log("reload: %s; the tokens read before stay in use", err);
    serve_log("reloaded: %zu ruleset%s with errors, %zu tokens", nerr, nerr == 1 ? "" : "s", ntok);
}

void serve_stop(serve *s)
{
    if (!s)
        return;
    serve_http_stop(s->http); /* first: no request runs after this */
    serve_store_close(s->store);
    serve_rules_free(s->rules);
    serve_tokens_free(s->tokens);
    pthread_rwlock_destroy(&s->tokens_lock);
    free(s->home);
    free(s->db);
    free(s->tokens_path);
    free(s->web);
    free(s);
}

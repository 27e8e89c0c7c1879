/* serve_store.c: the service's store.  One writer thread owns the only writing connection and
 * records the decisions the HTTP threads hand it, as many as are waiting in one transaction (a
 * group commit: with many clients one fsync serves them all); a request is answered only after
 * its decision committed.  A recording does not hold its HTTP thread: the writer tells the HTTP
 * layer when it is done (serve_store_submit), and the thread serves other connections meanwhile.
 * Each HTTP thread reads through a connection of its own; SQLite's WAL shows a reader only
 * committed transactions, so nobody sees a decision half-written.  Other work on the writer's
 * connection (a ruleset's signature checked against the keys the store trusts, a signed
 * checkpoint on a timer) goes through the same queue, alone. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve.h"

#define GROUP_MAX 256

typedef struct serve_store_job {
    serve_store_fn fn; /* a call on the writer's connection (then only arg and its diags), or NULL */
    void *arg;
    yz_diags *call_d;
    const yz_ruleset *rs;
    const yz_record *rec;
    const yz_determination *det;
    const char *operator_id;
    char id[17];
    int64_t seq;
    int rc;
    yz_diags d;
    bool done; /* a waited-for job (run_job): set under mu */
    void (*notify)(void *arg); /* a submitted job: called by the writer once it is done */
    void *notify_arg;
    struct serve_store_job *next;
} job;

typedef struct reader {
    serve_store *owner;
    yz_store *st;
    struct reader *next;
} reader;

struct serve_store {
    char *path;
    yz_store *w;
    pthread_t writer;
    bool no_writer; /* its thread could not be started */
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    job *head, *tail;
    bool stopping;
    reader *readers;
    /* signed checkpoints on a timer (serve_store_checkpoints) */
    const yz_key *const *cp_keys;
    size_t cp_nkeys;
    unsigned cp_every;
    char *cp_file;
    pthread_t cp_thread;
    bool cp_running, cp_stop;
    pthread_cond_t cp_wake;
    serve_checkpoint_status cp;
};

static _Thread_local reader *this_reader;

/* the jobs are done: a waiting thread wakes, a submitted job's notify runs (after which the job
   may be freed at once: nothing here touches it again) */
static void finish(serve_store *s, job *list)
{
    job *submitted = NULL;
    pthread_mutex_lock(&s->mu);
    for (job *j = list, *next; j; j = next) {
        next = j->next;
        if (j->notify) {
            j->next = submitted;
            submitted = j;
        } else {
            j->done = true;
        }
    }
    pthread_cond_broadcast(&s->done);
    pthread_mutex_unlock(&s->mu);
    for (job *j = submitted, *next; j; j = next) {
        next = j->next;
        j->notify(j->notify_arg);
    }
}

static void record_one(serve_store *s, job *j)
{
    j->rc = j->fn ? j->fn(s->w, j->arg, j->call_d)
                  : yz_store_record(s->w, j->rs, j->rec, j->det, j->operator_id, j->id, &j->seq, &j->d);
}

static void *writer_main(void *p)
{
    serve_store *s = p;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (!s->head && !s->stopping)
            pthread_cond_wait(&s->work, &s->mu);
        if (!s->head && s->stopping) {
            pthread_mutex_unlock(&s->mu);
            return NULL;
        }
        /* take what is waiting, up to a group of decisions (a call goes alone) */
        job *list = s->head, *last = list;
        int n = 1;
        while (!list->fn && last->next && !last->next->fn && n < GROUP_MAX) {
            last = last->next;
            n++;
        }
        s->head = last->next;
        if (!s->head)
            s->tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&s->mu);

        if (n == 1) {
            record_one(s, list);
        } else {
            yz_diags d;
            yz_diags_init(&d);
            int rc = yz_store_begin(s->w, &d);
            for (job *j = list; rc == YZ_OK && j; j = j->next) {
                record_one(s, j);
                rc = j->rc;
            }
            if (rc == YZ_OK)
                rc = yz_store_commit(s->w, &d);
            if (rc != YZ_OK) {
                /* one failed (or the commit): nothing of the group was kept; each on its own */
                yz_store_rollback(s->w);
                for (job *j = list; j; j = j->next) {
                    yz_diags_free(&j->d);
                    yz_diags_init(&j->d);
                    record_one(s, j);
                }
            }
            yz_diags_free(&d);
        }
        finish(s, list);
    }
}

serve_store *serve_store_open(const char *path, const yz_key *chain_key, char *err, size_t errlen)
{
    yz_diags d;
    yz_diags_init(&d);
    yz_store *w = NULL;
    if (yz_store_open(path, NULL, &w, &d) != YZ_OK || (chain_key && yz_store_set_chain_key(w, chain_key, &d) != YZ_OK)) {
        yz_store_close(w);
        char *m = d.n ? yz_diag_format(&d.items[0]) : NULL;
        snprintf(err, errlen, "cannot open the store %s: %s", path, m ? m : "unknown error");
        yz_free(m);
        yz_diags_free(&d);
        return NULL;
    }
    const char *chain = yz_store_chain(w);
    if (!chain_key && !strncmp(chain, "hmac", 4)) {
        snprintf(err, errlen, "the store %s has a keyed chain (%s): recording needs its secret: --chain-key FILE "
                 "(or YUANZHU_CHAIN_KEY)", path, chain);
        yz_store_close(w);
        yz_diags_free(&d);
        return NULL;
    }
    yz_diags_free(&d);
    serve_store *s = sv_calloc(1, sizeof *s);
    s->path = sv_strdup(path);
    s->w = w;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_cond_init(&s->done, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cp_wake, &ca);
    pthread_condattr_destroy(&ca);
    int e = pthread_create(&s->writer, NULL, writer_main, s);
    if (e) {
        snprintf(err, errlen, "cannot start the store's writer thread: %s", strerror(e));
        s->no_writer = true;
        serve_store_close(s);
        return NULL;
    }
    return s;
}

/* queues j for the writer (the caller holds s->mu) */
static void enqueue(serve_store *s, job *j)
{
    if (s->tail)
        s->tail->next = j;
    else
        s->head = j;
    s->tail = j;
    pthread_cond_signal(&s->work);
}

/* queues j for the writer and waits until it is done */
static void run_job(serve_store *s, job *j)
{
    pthread_mutex_lock(&s->mu);
    enqueue(s, j);
    while (!j->done)
        pthread_cond_wait(&s->done, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

static void first_message(const yz_diags *d, int rc, char *msg, size_t msglen)
{
    msg[0] = '\0';
    if (rc != YZ_OK) {
        char *m = d->n ? yz_diag_format(&d->items[0]) : NULL;
        snprintf(msg, msglen, "%s", m ? m : yz_rc_name(rc));
        yz_free(m);
    }
}

int serve_store_call(serve_store *s, serve_store_fn fn, void *arg, yz_diags *d)
{
    job j;
    memset(&j, 0, sizeof j);
    j.fn = fn;
    j.arg = arg;
    j.call_d = d; /* written by the writer while this thread waits */
    yz_diags_init(&j.d);
    run_job(s, &j);
    yz_diags_free(&j.d);
    return j.rc;
}

/* ---- signed checkpoints on a timer ---- */

/* on the writer: a checkpoint of the head, when events were appended since the last one */
static int checkpoint_now(yz_store *w, void *arg, yz_diags *d)
{
    serve_store *s = arg;
    int64_t head = 0, size = 0;
    char hash[65];
    int rc = yz_store_head(w, &head, hash, d);
    pthread_mutex_lock(&s->mu);
    int64_t last = s->cp.size;
    pthread_mutex_unlock(&s->mu);
    if (rc != YZ_OK || head == 0 || head == last)
        return rc;
    char *text = NULL;
    rc = yz_store_checkpoint(w, s->cp_keys, s->cp_nkeys, s->cp_file, &text, &size, d);
    yz_free(text);
    if (rc == YZ_OK) {
        pthread_mutex_lock(&s->mu);
        s->cp.size = size;
        memcpy(s->cp.hash, hash, sizeof s->cp.hash);
        serve_now(s->cp.time);
        s->cp.made++;
        s->cp.error[0] = '\0';
        pthread_mutex_unlock(&s->mu);
        serve_log("checkpoint: events 1..%lld signed (head %.16s)%s%s", (long long)size, hash,
                  s->cp_file ? ", appended to " : "", s->cp_file ? s->cp_file : "");
    }
    return rc;
}

static void checkpoint_tick(serve_store *s)
{
    yz_diags d;
    yz_diags_init(&d);
    int rc = serve_store_call(s, checkpoint_now, s, &d);
    if (rc != YZ_OK) {
        char msg[sizeof s->cp.error];
        first_message(&d, rc, msg, sizeof msg);
        pthread_mutex_lock(&s->mu);
        memcpy(s->cp.error, msg, sizeof msg);
        s->cp.failed++;
        pthread_mutex_unlock(&s->mu);
        serve_log("checkpoint failed: %s", msg);
    }
    yz_diags_free(&d);
}

static void *checkpoint_main(void *p)
{
    serve_store *s = p;
    checkpoint_tick(s); /* the state the service starts from */
    pthread_mutex_lock(&s->mu);
    while (!s->cp_stop) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        t.tv_sec += s->cp_every;
        while (!s->cp_stop && pthread_cond_timedwait(&s->cp_wake, &s->mu, &t) == 0)
            ;
        pthread_mutex_unlock(&s->mu);
        checkpoint_tick(s); /* on the timer, and once more when stopping */
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int serve_store_checkpoints(serve_store *s, const yz_key *const *keys, size_t n, unsigned every, const char *file,
                           char *err, size_t errlen)
{
    s->cp_keys = keys;
    s->cp_nkeys = n;
    s->cp_every = every;
    s->cp_file = file ? sv_strdup(file) : NULL;
    int e = pthread_create(&s->cp_thread, NULL, checkpoint_main, s);
    s->cp_running = e == 0;
    if (e)
        snprintf(err, errlen, "cannot start the checkpoint thread: %s", strerror(e));
    return e ? -1 : 0;
}

void serve_store_checkpoint_status(serve_store *s, serve_checkpoint_status *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->cp;
    out->every = s->cp_running ? s->cp_every : 0;
    pthread_mutex_unlock(&s->mu);
}

const char *serve_store_path(const serve_store *s)
{
    return s->path;
}

serve_store_job *serve_store_job_new(const yz_ruleset *rs, const yz_record *rec, const yz_determination *det,
                                     const char *operator_id)
{
    job *j = sv_calloc(1, sizeof *j);
    j->rs = rs;
    j->rec = rec;
    j->det = det;
    j->operator_id = operator_id;
    yz_diags_init(&j->d);
    return j;
}

void serve_store_submit(serve_store *s, serve_store_job *j, void (*done)(void *arg), void *arg)
{
    j->notify = done;
    j->notify_arg = arg;
    pthread_mutex_lock(&s->mu);
    enqueue(s, j);
    pthread_mutex_unlock(&s->mu);
}

int serve_store_job_result(const serve_store_job *j, char id[17], int64_t *seq, char *msg, size_t msglen)
{
    memcpy(id, j->id, 17);
    *seq = j->seq;
    first_message(&j->d, j->rc, msg, msglen);
    return j->rc;
}

void serve_store_job_free(serve_store_job *j)
{
    if (!j)
        return;
    yz_diags_free(&j->d);
    free(j);
}

yz_store *serve_store_reader(serve_store *s, yz_diags *d)
{
    reader *r = this_reader;
    if (r && r->owner == s)
        return r->st;
    yz_store *st = NULL;
    if (yz_store_open(s->path, NULL, &st, d) != YZ_OK)
        return NULL;
    r = sv_calloc(1, sizeof *r);
    r->owner = s;
    r->st = st;
    pthread_mutex_lock(&s->mu);
    r->next = s->readers;
    s->readers = r;
    pthread_mutex_unlock(&s->mu);
    this_reader = r;
    return st;
}

void serve_store_close(serve_store *s)
{
    if (!s)
        return;
    if (s->cp_running) { /* its last checkpoint goes through the writer: stop it first */
        pthread_mutex_lock(&s->mu);
        s->cp_stop = true;
        pthread_cond_signal(&s->cp_wake);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->cp_thread, NULL);
    }
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
    if (!s->no_writer)
        pthread_join(s->writer, NULL);
    for (reader *r = s->readers, *next; r; r = next) {
        next = r->next;
        yz_store_close(r->st);
        free(r);
    }
    yz_store_close(s->w);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->work);
    pthread_cond_destroy(&s->done);
    pthread_cond_destroy(&s->cp_wake);
    free(s->cp_file);
    free(s->path);
    free(s);
}

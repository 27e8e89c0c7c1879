/* serve_store.c: the service's store.  One writer thread owns the only writing connection and
 * records the decisions the HTTP threads hand it, as many as are waiting in one transaction (a
 * group commit: with many clients one fsync serves them all); a request is answered only after
 * its decision committed.  Each HTTP thread reads through a connection of its own; SQLite's WAL
 * shows a reader only committed transactions, so nobody sees a decision half-written. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

#define GROUP_MAX 256

typedef struct job {
    const yz_ruleset *rs;
    const yz_record *rec;
    const yz_determination *det;
    const char *operator_id;
    char id[17];
    int64_t seq;
    int rc;
    yz_diags d;
    bool done;
    struct job *next;
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
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    job *head, *tail;
    bool stopping;
    reader *readers;
};

static _Thread_local reader *this_reader;

static void finish(serve_store *s, job *list)
{
    pthread_mutex_lock(&s->mu);
    for (job *j = list; j; j = j->next)
        j->done = true;
    pthread_cond_broadcast(&s->done);
    pthread_mutex_unlock(&s->mu);
}

static void record_one(serve_store *s, job *j)
{
    j->rc = yz_store_record(s->w, j->rs, j->rec, j->det, j->operator_id, j->id, &j->seq, &j->d);
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
        /* take what is waiting, up to a group */
        job *list = s->head, *last = list;
        int n = 1;
        while (last->next && n < GROUP_MAX) {
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

serve_store *serve_store_open(const char *path, char *err, size_t errlen)
{
    yz_diags d;
    yz_diags_init(&d);
    yz_store *w = NULL;
    if (yz_store_open(path, NULL, &w, &d) != YZ_OK) {
        char *m = d.n ? yz_diag_format(&d.items[0]) : NULL;
        snprintf(err, errlen, "cannot open the store %s: %s", path, m ? m : "unknown error");
        yz_free(m);
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
    pthread_create(&s->writer, NULL, writer_main, s);
    return s;
}

const char *serve_store_path(const serve_store *s)
{
    return s->path;
}

int serve_store_record(serve_store *s, const yz_ruleset *rs, const yz_record *rec, const yz_determination *det,
                       const char *operator_id, char id[17], int64_t *seq, char *msg, size_t msglen)
{
    job j;
    memset(&j, 0, sizeof j);
    j.rs = rs;
    j.rec = rec;
    j.det = det;
    j.operator_id = operator_id;
    yz_diags_init(&j.d);
    pthread_mutex_lock(&s->mu);
    if (s->tail)
        s->tail->next = &j;
    else
        s->head = &j;
    s->tail = &j;
    pthread_cond_signal(&s->work);
    while (!j.done)
        pthread_cond_wait(&s->done, &s->mu);
    pthread_mutex_unlock(&s->mu);
    memcpy(id, j.id, 17);
    *seq = j.seq;
    msg[0] = '\0';
    if (j.rc != YZ_OK) {
        char *m = j.d.n ? yz_diag_format(&j.d.items[0]) : NULL;
        snprintf(msg, msglen, "%s", m ? m : yz_rc_name(j.rc));
        yz_free(m);
    }
    yz_diags_free(&j.d);
    return j.rc;
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
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
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
    free(s->path);
    free(s);
}

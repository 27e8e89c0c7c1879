/* yz_replay_all.c: replaying many stored decisions on every core (replay --all, --from/--to).
 *
 * The calling thread walks the store (yz_store_scan: SQLite and decompression stay on one
 * connection) and copies each decision into a chunk; workers, each with a replayer of its own (its
 * own rulesets and evaluators), redo the chunks; the calling thread hands the results to the
 * caller's function in sequence order, so what is reported does not depend on the number of
 * threads.  A ruleset's stored files are copied once per run of decisions made with it and shared
 * by the chunks that need them. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "yz_diag.h"
#include "yz_ledger.h"
#include "yz_util.h"

#define RCHUNK 128
#define KEEP_FILESETS 8

/* a ruleset's stored files, shared by the chunks of the decisions made with it */
typedef struct fileset {
    atomic_int refs;
    char *ruleset;
    yz_file *files;
    char **own; /* the paths and texts files[] points to, two for each */
    size_t n;
} fileset;

typedef struct rjob {
    yz_stored *s; /* a copy (yz_stored_dup); s->files points into fs */
    fileset *fs;
    int rc;
    char *diff;
    yz_diags d;
} rjob;

typedef struct rchunk {
    rjob job[RCHUNK];
    int n;
    bool done;
    struct rchunk *next_work, *next_order;
} rchunk;

typedef struct rworker {
    struct rall *A;
    pthread_t th;
    bool running;
    yz_replayer *rp;
} rworker;

typedef struct rall {
    const yz_replay_all_options *o;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    rchunk *work_head, *work_tail;   /* to be replayed */
    rchunk *order_head, *order_tail; /* every chunk not yet reported, in order */
    int in_flight, max_in_flight;
    bool closed;
    int nworkers, started;
    rworker *workers;
    rchunk *cur;     /* being filled */
    /* the filesets of the last rulesets met (the reader holds a reference to each), so that
       decisions of a few rulesets interleaved do not copy their files again and again */
    fileset *fs[KEEP_FILESETS];
    int nfs, next_fs;
    bool stop;       /* the caller's function asked to stop */
} rall;


static void fileset_release(fileset *fs)
{
    if (!fs || atomic_fetch_sub(&fs->refs, 1) != 1)
        return;
    for (size_t i = 0; i < 2 * fs->n; i++)
        yz_free(fs->own[i]);
    yz_free(fs->own);
    yz_free(fs->files);
    yz_free(fs->ruleset);
    yz_free(fs);
}

static fileset *fileset_of(rall *A, const yz_stored *s)
{
    for (int i = 0; i < A->nfs; i++)
        if (!strcmp(A->fs[i]->ruleset, s->ruleset))
            return A->fs[i];
    int slot;
    if (A->nfs < KEEP_FILESETS) {
        slot = A->nfs++;
    } else {
        slot = A->next_fs; /* the oldest: the reader gives up its reference */
        A->next_fs = (slot + 1) % KEEP_FILESETS;
        fileset_release(A->fs[slot]);
    }
    fileset *fs = yz_calloc(1, sizeof *fs);
    atomic_init(&fs->refs, 1); /* the reader's own, until it drops the fileset from fs[] */
    fs->ruleset = yz_strdup(s->ruleset);
    fs->n = s->nfiles;
    fs->files = yz_calloc(s->nfiles ? s->nfiles : 1, sizeof *fs->files);
    fs->own = yz_calloc(s->nfiles ? 2 * s->nfiles : 1, sizeof *fs->own);
    for (size_t i = 0; i < s->nfiles; i++) {
        char *path = yz_strdup(s->files[i].path), *data = yz_malloc(s->files[i].len + 1);
        memcpy(data, s->files[i].data, s->files[i].len);
        data[s->files[i].len] = '\0';
        fs->own[2 * i] = path;
        fs->own[2 * i + 1] = data;
        fs->files[i] = (yz_file){path, data, s->files[i].len};
    }
    A->fs[slot] = fs;
    return fs;
}

static void job_free(rjob *j)
{
    j->s->files = NULL; /* fs's */
    j->s->nfiles = 0;
    yz_stored_free(j->s);
    yz_free(j->diff);
    yz_diags_free(&j->d);
    fileset_release(j->fs);
}

static void replay_chunk(rworker *w, rchunk *c)
{
    for (int i = 0; i < c->n; i++) {
        rjob *j = &c->job[i];
        j->rc = yz_replayer_run(w->rp, j->s, &j->diff, &j->d);
    }
}

static void *worker_main(void *p)
{
    rworker *w = p;
    rall *A = w->A;
    for (;;) {
        pthread_mutex_lock(&A->mu);
        while (!A->work_head && !A->closed)
            pthread_cond_wait(&A->cv_work, &A->mu);
        rchunk *c = A->work_head;
        if (c) {
            A->work_head = c->next_work;
            if (!A->work_head)
                A->work_tail = NULL;
        }
        pthread_mutex_unlock(&A->mu);
        if (!c)
            break;
        replay_chunk(w, c);
        pthread_mutex_lock(&A->mu);
        c->done = true;
        pthread_cond_broadcast(&A->cv_done);
        pthread_mutex_unlock(&A->mu);
    }
    return NULL;
}

/* hands the caller the results of the chunks at the head of the order that are done; waits for
 * the head while max_in_flight chunks are in flight, or with all until every chunk is reported */
static void report(rall *A, bool all)
{
    for (;;) {
        pthread_mutex_lock(&A->mu);
        while (A->order_head && !A->order_head->done && (all || A->in_flight >= A->max_in_flight))
            pthread_cond_wait(&A->cv_done, &A->mu);
        rchunk *c = A->order_head;
        if (!c || !c->done) {
            pthread_mutex_unlock(&A->mu);
            return;
        }
        A->order_head = c->next_order;
        if (!A->order_head)
            A->order_tail = NULL;
        A->in_flight--;
        pthread_mutex_unlock(&A->mu);
        for (int i = 0; i < c->n; i++) {
            rjob *j = &c->job[i];
            if (!A->stop && A->o->on_result(j->s, j->rc, j->diff, &j->d, A->o->ctx))
                A->stop = true;
            job_free(j);
        }
        yz_free(c);
    }
}

static void dispatch(rall *A)
{
    rchunk *c = A->cur;
    A->cur = NULL;
    if (!c || !c->n) {
        yz_free(c);
        return;
    }
    if (!A->started) { /* no worker thread: replayed here */
        replay_chunk(&A->workers[0], c);
        c->done = true;
    }
    pthread_mutex_lock(&A->mu);
    if (A->order_tail)
        A->order_tail->next_order = c;
    else
        A->order_head = c;
    A->order_tail = c;
    A->in_flight++;
    if (A->started) {
        if (A->work_tail)
            A->work_tail->next_work = c;
        else
            A->work_head = c;
        A->work_tail = c;
        pthread_cond_signal(&A->cv_work);
    }
    pthread_mutex_unlock(&A->mu);
    report(A, false);
}

static int on_stored(const yz_stored *s, void *ctx)
{
    rall *A = ctx;
    if (!A->cur)
        A->cur = yz_calloc(1, sizeof *A->cur);
    rjob *j = &A->cur->job[A->cur->n++];
    j->s = yz_stored_dup(s);
    yz_stored *c = j->s;
    if (!A->o->rules_path) {
        j->fs = fileset_of(A, s);
        atomic_fetch_add(&j->fs->refs, 1);
        c->files = j->fs->files;
        c->nfiles = j->fs->n;
    }
    yz_diags_init(&j->d);
    if (A->cur->n == RCHUNK)
        dispatch(A);
    return A->stop;
}

int yz_replay_all(yz_store *st, const yz_scan *q, const yz_replay_all_options *o, yz_diags *d)
{
    if (!ledger_dates_ok(q->from, q->to, "--from", "--to", d))
        return YZ_EUSAGE;
    rall A;
    memset(&A, 0, sizeof A);
    A.o = o;
    A.nworkers = o->jobs > 0 ? o->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (A.nworkers < 1)
        A.nworkers = 1;
    A.max_in_flight = 4 * A.nworkers;
    A.workers = yz_calloc((size_t)A.nworkers, sizeof *A.workers);
    pthread_mutex_init(&A.mu, NULL);
    pthread_cond_init(&A.cv_work, NULL);
    pthread_cond_init(&A.cv_done, NULL);
    for (int i = 0; i < A.nworkers; i++) {
        A.workers[i].A = &A;
        A.workers[i].rp = yz_replayer_new(o->home, o->rules_path);
    }
    /* those the system refuses are left out; with none, the calling thread replays */
    for (int i = 0; i < A.nworkers; i++)
        if (pthread_create(&A.workers[i].th, NULL, worker_main, &A.workers[i]) == 0) {
            A.workers[i].running = true;
            A.started++;
        }
    yz_scan scan = *q;
    scan.input = scan.output = true;
    scan.files = !o->rules_path;
    int rc = yz_store_scan(st, &scan, on_stored, &A, d);
    dispatch(&A);
    report(&A, true);
    pthread_mutex_lock(&A.mu);
    A.closed = true;
    pthread_cond_broadcast(&A.cv_work);
    pthread_mutex_unlock(&A.mu);
    for (int i = 0; i < A.nworkers; i++)
        if (A.workers[i].running)
            pthread_join(A.workers[i].th, NULL);
    for (int i = 0; i < A.nfs; i++)
        fileset_release(A.fs[i]);
    for (int i = 0; i < A.nworkers; i++)
        yz_replayer_free(A.workers[i].rp);
    yz_free(A.workers);
    pthread_mutex_destroy(&A.mu);
    pthread_cond_destroy(&A.cv_work);
    pthread_cond_destroy(&A.cv_done);
    return rc;
}

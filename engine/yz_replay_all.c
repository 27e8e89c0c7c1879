/* yz_replay_all.c: replaying many stored decisions on every core (replay --all, --from/--to).
 *
 * The calling thread walks the store (yz_store_scan: SQLite and decompression stay on one
 * connection) and copies each decision into a chunk; workers, each with a replayer of its own (its
 * own rulesets and evaluators), redo the chunks; the calling thread hands the results to the
 * caller's function in sequence order, so what is reported does not depend on the number of
 * threads.  A ruleset's stored files are copied once per run of decisions made with it and shared
 * by the chunks that need them. */
#include <stdatomic.h>
#include <string.h>

#include "yz_diag.h"
#include "yz_ledger.h"
#include "yz_pool.h"
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
} rchunk;

typedef struct rall {
    const yz_replay_all_options *o;
    yz_pool *pool;
    rchunk *cur; /* being filled */
    /* the filesets of the last rulesets met (the reader holds a reference to each), so that
       decisions of a few rulesets interleaved do not copy their files again and again */
    fileset *fs[KEEP_FILESETS];
    int nfs, next_fs;
    bool stop; /* the caller's function asked to stop */
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

static void *replayer_new(void *arg)
{
    const rall *A = arg;
    return yz_replayer_new(A->o->home, A->o->rules_path);
}

static void replayer_free(void *rp)
{
    yz_replayer_free(rp);
}

static void replay_chunk(void *rp, void *chunk)
{
    rchunk *c = chunk;
    for (int i = 0; i < c->n; i++) {
        rjob *j = &c->job[i];
        j->rc = yz_replayer_run(rp, j->s, &j->diff, &j->d);
    }
}

/* the results of a chunk, in sequence order, to the caller's function */
static void report(void *chunk, void *arg)
{
    rall *A = arg;
    rchunk *c = chunk;
    for (int i = 0; i < c->n; i++) {
        rjob *j = &c->job[i];
        if (!A->stop && A->o->on_result(j->s, j->rc, j->diff, &j->d, A->o->ctx))
            A->stop = true;
        job_free(j);
    }
    yz_free(c);
}

static void dispatch(rall *A)
{
    rchunk *c = A->cur;
    A->cur = NULL;
    if (c && c->n)
        pool_submit(A->pool, c);
    else
        yz_free(c);
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
    yz_pool_ops ops = {replayer_new, replayer_free, replay_chunk, report, &A};
    A.pool = pool_new(o->jobs, &ops);
    yz_scan scan = *q;
    scan.input = scan.output = true;
    scan.files = !o->rules_path;
    int rc = yz_store_scan(st, &scan, on_stored, &A, d);
    dispatch(&A);
    pool_free(A.pool);
    for (int i = 0; i < A.nfs; i++)
        fileset_release(A.fs[i]);
    return rc;
}

/* yz_batch.c: deciding a whole file of records (JSON Lines or CSV) on all cores.
 *
 * One reader (the calling thread) cuts the input into chunks of records; worker threads, each
 * with its own Lua state, parse, validate, evaluate and pack them; one writer thread takes the
 * chunks back in input order, appends the decisions to the store in large transactions, writes
 * rejects and canonical lines, and keeps the counts.  At most a fixed number of chunks are in
 * flight, so memory stays constant however long the input is.  Killed at any moment, the store
 * keeps whole transactions only; run again, records already decided with this ruleset and as-of
 * date are skipped. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "yz_diag.h"
#include "yz_eval.h"
#include "yz_hash.h"
#include "yz_input.h"
#include "yz_population.h"
#include "yz_record.h"
#include "yz_text.h"

#define CHUNK POP_CHUNK
#define COMMIT_EVERY 20000

enum { RS_DECIDED, RS_REJECTED, RS_SKIPPED, RS_FAILED };

typedef struct rres {
    int status;
    long line;
    yz_status target;
    int64_t *amounts; /* per subsidy: amount per period (the allocation of all four) */
    int64_t *totals;  /* per subsidy: total (or -1) */
    int8_t *cats;     /* per category: status */
    int8_t *subs;     /* per subsidy: status */
    char *line_out;   /* canonical line (--lines) */
    char *reject;     /* rejects-file JSON line */
    char *message;    /* first problem, for stderr */
    yz_packed *pk;
} rres;

typedef struct chunk {
    uint64_t seq;
    int n;
    pop_chunk *in; /* the entries as yz_population read them (a note: the reader rejects it) */
    rres res[CHUNK];
    struct chunk *next;
} chunk;

typedef struct batch batch;

typedef struct worker {
    batch *b;
    pthread_t th;
    bool running; /* th was started */
    yz_evaluator *ev;
    yz_packer *packer;
    yz_store *ro; /* read connection for skipping what is already decided */
    arena mem;
} worker;

struct batch {
    const yz_batch_options *o;
    yz_batch_summary *sum;
    yz_diags *d;
    yz_ruleset *rs;
    const ppolicy *pol;
    size_t ncat, nsub;
    population *pop; /* the reader */
    yz_store *st;
    yz_store_dict *dict;
    /* queues */
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done, cv_room;
    chunk *work_head, *work_tail;
    chunk *done;          /* finished chunks, any order */
    bool work_closed;
    /* diagnostics of the reader and of the writer, added to d once the threads have ended (d
       itself is shared by the workers, under mu) */
    yz_diags rd, wd;
    uint64_t next_seq;    /* next chunk to hand out */
    uint64_t written;     /* chunks written so far */
    int in_flight_max;
    /* writer */
    pthread_t writer;
    int writer_rc;
    FILE *lines, *rejects;
    int lines_errno, rejects_errno; /* the first write error of each */
    uint64_t uncommitted;
    yz_batch_summary pend; /* the counts of decisions appended since the last commit */
    atomic_bool fatal;
    int fatal_rc; /* why, when not the store: YZ_ENOMEM */
    bool in_txn;
    worker *workers;
    int nworkers;
    bool threads, no_threads; /* the workers run / none could be started */
    bool inline_writer;       /* no writer thread could be started: the reader writes */
    int wrc;                  /* the writer's first failure */
    yz_input *in; /* pop's, for the progress counters */
    double t0;
    double last_progress;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------------------------------ */
/* one record */

/* the hint for a CSV row rejected while a quoted cell of it ran over lines: a missing closing
   quote makes the rows after it one cell */
static void quote_hint(const pop_chunk *c, int i, strbuf *out)
{
    if (c->quote_line[i] && !c->note[i])
        sb_addf(out, "a quoted cell opens at line %ld, column %d, and runs to line %ld: if it should end on its line, "
                "its closing quote is missing",
                c->quote_line[i], c->quote_col[i], c->quote_end[i]);
}

/* rejects entry e of chunk c with the problems in d, or fallback when there are none */
static void reject(batch *b, rres *r, const yz_diags *d, const char *fallback, const pop_chunk *c, int e)
{
    r->status = RS_REJECTED;
    strbuf hint = STRBUF_INIT;
    quote_hint(c, e, &hint);
    record_reject_more more = {hint.buf, c->long_bytes[e], c->long_prefix[e]};
    record_reject(b->o->input, r->line, d, fallback, &more, &r->reject, &r->message);
    sb_free(&hint);
}

/* the line of ../shared/bench/POLICY.md: id, categories, subsidies, total */
static char *canonical_line(batch *b, const yz_determination *det, const char *id)
{
    strbuf sb = STRBUF_INIT;
    sb_adds(&sb, id);
    sb_addc(&sb, '\t');
    size_t n = 0;
    for (size_t i = 0; i < det->nitems[PI_CATEGORY]; i++) {
        const ditem *di = &det->items[PI_CATEGORY][i];
        if (di->status == YZ_NOT_MET)
            continue;
        sb_addf(&sb, "%s%s%s", n++ ? "," : "", di->it->code ? di->it->code : di->it->id,
                di->status == YZ_UNDETERMINED ? "?" : "");
    }
    if (!n)
        sb_addc(&sb, '-');
    sb_addc(&sb, '\t');
    n = 0;
    int64_t total = 0;
    for (size_t i = 0; i < det->nitems[PI_SUBSIDY]; i++) {
        const ditem *di = &det->items[PI_SUBSIDY][i];
        if (di->status == YZ_NOT_MET)
            continue;
        const char *code = di->it->code ? di->it->code : di->it->id;
        if (di->status == YZ_UNDETERMINED) {
            sb_addf(&sb, "%s%s:?", n++ ? "," : "", code);
        } else {
            int64_t a = di->total_fen >= 0 ? di->total_fen : di->amount_fen;
            sb_addf(&sb, "%s%s:%lld", n++ ? "," : "", code, (long long)a);
            total += a;
        }
    }
    if (!n)
        sb_addc(&sb, '-');
    sb_addf(&sb, "\t%lld\n", (long long)total);
    (void)b;
    return sb_release(&sb);
}

static void bootstrap(batch *b, const yz_record *rec, const yz_determination *det);

/* Sums of amounts over a whole file: a rule may grant up to 10^12 fen for 1,200 months, so
 * some thousands of records reach INT64_MAX, where the sum stays (see yz_batch_summary). */
static void add_fen(int64_t *sum, int64_t v)
{
    if (__builtin_add_overflow(*sum, v, sum))
        *sum = INT64_MAX;
}

/* a worker's evaluator ran out of memory: this record is not decided, and the batch stops (its
   Lua state cannot be used again); what was decided before is recorded, a rerun finishes */
static void out_of_memory(batch *b, rres *r)
{
    r->status = RS_FAILED;
    pthread_mutex_lock(&b->mu);
    if (!b->fatal_rc) {
        b->fatal_rc = YZ_ENOMEM;
        diag_add(b->d, YZ_SEV_ERROR, NULL, 0, 0,
                 "out of memory: the batch stopped; the decisions made before were recorded, and running "
                 "the same command again (with more memory or fewer --jobs) decides the rest");
    }
    b->fatal = true;
    pthread_cond_broadcast(&b->cv_room);
    pthread_mutex_unlock(&b->mu);
}

static void decide(worker *w, chunk *c, int i)
{
    batch *b = w->b;
    rres *r = &c->res[i];
    pop_chunk *pc = c->in;
    memset(r, 0, sizeof *r);
    r->line = pc->line[i];
    arena_clear(&w->mem);
    yz_diags d;
    yz_diags_init(&d);
    if (pc->note[i]) {
        reject(b, r, &d, pc->note[i], pc, i);
        return;
    }
    /* violations carry the line in the rejects output */
    yz_record rec;
    char why[160];
    if (!pop_record(b->pop, pc, i, &w->mem, &rec, &d, why)) {
        reject(b, r, &d, why, pc, i);
        yz_diags_free(&d);
        return;
    }
    if (w->ro) {
        /* already decided with this ruleset on this date: nothing to do */
        char *canon = yz_record_canonical(&rec);
        char hash[65];
        hash_hex(YZ_HASH_SHA256, canon, strlen(canon), hash);
        yz_free(canon);
        if (yz_store_decided(w->ro, yz_ruleset_id(b->rs), hash, b->o->as_of)) {
            r->status = RS_SKIPPED;
            return;
        }
    }
    yz_determination *det = NULL;
    int rc = b->o->record ? yz_evaluate(w->ev, &rec, b->o->as_of, &det, &d)
                          : yz_evaluate_brief(w->ev, &rec, b->o->as_of, &det, &d);
    if (rc == YZ_ENOMEM) {
        out_of_memory(b, r);
        yz_diags_free(&d);
        return;
    }
    if (rc != YZ_OK) {
        r->status = RS_FAILED;
        r->message = yz_text_escape(d.n ? d.items[0].message : yz_rc_name(rc), false);
        yz_diags_free(&d);
        return;
    }
    r->target = det->target;
    /* one allocation (freed on the writer's thread): the amounts first, for their alignment */
    r->amounts = yz_malloc(2 * (b->nsub + 1) * sizeof(int64_t) + b->ncat + 1 + b->nsub + 1);
    r->totals = r->amounts + b->nsub + 1;
    r->cats = (int8_t *)(r->totals + b->nsub + 1);
    r->subs = r->cats + b->ncat + 1;
    for (size_t k = 0; k < det->nitems[PI_CATEGORY] && k < b->ncat; k++)
        r->cats[k] = (int8_t)det->items[PI_CATEGORY][k].status;
    for (size_t k = 0; k < det->nitems[PI_SUBSIDY] && k < b->nsub; k++) {
        const ditem *di = &det->items[PI_SUBSIDY][k];
        r->subs[k] = (int8_t)di->status;
        r->amounts[k] = di->status == YZ_MET ? di->amount_fen : 0;
        r->totals[k] = di->status == YZ_MET ? di->total_fen : -1;
    }
    if (b->lines)
        r->line_out = canonical_line(b, det, rec.id_number);
    if (b->o->record && !w->packer)
        bootstrap(b, &rec, det);
    int prc = YZ_OK;
    if (b->o->record && (!w->packer || (prc = yz_pack(w->packer, &rec, det, &r->pk)) != YZ_OK)) {
        if (prc == YZ_ENOMEM) {
            out_of_memory(b, r);
        } else {
            r->status = RS_FAILED;
            r->message = yz_strdup("cannot pack the decision");
        }
    }
    yz_determination_free(det);
    yz_diags_free(&d);
}

static void free_chunk(chunk *c)
{
    for (int i = 0; i < c->n; i++) {
        rres *r = &c->res[i];
        yz_free(r->amounts); /* and cats, subs, totals: one allocation */
        yz_free(r->line_out);
        yz_free(r->reject);
        yz_free(r->message);
        yz_packed_free(r->pk);
    }
    pop_chunk_free(c->in);
    yz_free(c);
}

/* ------------------------------------------------------------------------------------------ */
/* workers */

static void *worker_main(void *p)
{
    worker *w = p;
    batch *b = w->b;
    for (;;) {
        pthread_mutex_lock(&b->mu);
        while (!b->work_head && !b->work_closed)
            pthread_cond_wait(&b->cv_work, &b->mu);
        chunk *c = b->work_head;
        if (c) {
            b->work_head = c->next;
            if (!b->work_head)
                b->work_tail = NULL;
        }
        pthread_mutex_unlock(&b->mu);
        if (!c)
            break;
        for (int i = 0; i < c->n; i++)
            decide(w, c, i);
        pthread_mutex_lock(&b->mu);
        c->next = b->done;
        b->done = c;
        pthread_cond_broadcast(&b->cv_done);
        pthread_mutex_unlock(&b->mu);
    }
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* writer */

static void progress(batch *b, bool final)
{
    if (!b->o->on_progress)
        return;
    double t = now_s();
    if (!final && t - b->last_progress < 0.25)
        return;
    b->last_progress = t;
    yz_batch_progress p = {b->sum->records, b->sum->rejected, input_consumed(b->in), input_size(b->in),
                           t - b->t0, final};
    b->o->on_progress(&p, b->o->ctx);
}

static void problem(batch *b, const rres *r, bool rejected)
{
    if (!b->o->on_problem || !r->message)
        return;
    yz_batch_problem p = {b->o->input, r->line, rejected, r->message};
    b->o->on_problem(&p, b->o->ctx);
}

/* Adds the counts of from (decided, targets, categories, subsidies, sums, sequence numbers) to
 * to, and clears them in from: decisions appended become decisions committed. */
static void summary_add(batch *b, yz_batch_summary *to, yz_batch_summary *from)
{
    to->decided += from->decided;
    for (int k = 0; k < 3; k++)
        to->targets[k] += from->targets[k];
    for (size_t k = 0; k < b->ncat; k++)
        for (int v = 0; v < 3; v++)
            to->cat_counts[k][v] += from->cat_counts[k][v];
    for (size_t k = 0; k < b->nsub; k++) {
        for (int v = 0; v < 3; v++)
            to->sub_counts[k][v] += from->sub_counts[k][v];
        add_fen(&to->sub_totals[k], from->sub_totals[k]);
    }
    add_fen(&to->monthly_fen, from->monthly_fen);
    add_fen(&to->once_fen, from->once_fen);
    if (from->first_seq && !to->first_seq)
        to->first_seq = from->first_seq;
    if (from->last_seq)
        to->last_seq = from->last_seq;
    from->decided = from->monthly_fen = from->once_fen = from->first_seq = from->last_seq = 0;
    memset(from->targets, 0, sizeof from->targets);
    memset(from->cat_counts, 0, (b->ncat + 1) * sizeof *from->cat_counts);
    memset(from->sub_counts, 0, (b->nsub + 1) * sizeof *from->sub_counts);
    memset(from->sub_totals, 0, (b->nsub + 1) * sizeof *from->sub_totals);
}

static void summary_alloc(batch *b, yz_batch_summary *s)
{
    s->cat_counts = yz_calloc(b->ncat + 1, sizeof *s->cat_counts);
    s->sub_counts = yz_calloc(b->nsub + 1, sizeof *s->sub_counts);
    s->sub_totals = yz_calloc(b->nsub + 1, sizeof *s->sub_totals);
}

/* the first write error of an output file */
static void check_output(FILE *f, int *err)
{
    if (f && !*err && ferror(f))
        *err = errno ? errno : EIO;
}

static int commit(batch *b)
{
    if (yz_store_commit(b->st, &b->wd) != YZ_OK)
        return YZ_ESTORE;
    summary_add(b, b->sum, &b->pend);
    b->uncommitted = 0;
    return YZ_OK;
}

static int write_chunk(batch *b, chunk *c)
{
    yz_batch_summary *s = b->sum;
    /* counted when committed (at once without a store) */
    yz_batch_summary *acc = b->o->record ? &b->pend : s;
    for (int i = 0; i < c->n; i++) {
        rres *r = &c->res[i];
        s->records++;
        switch (r->status) {
        case RS_REJECTED:
            s->rejected++;
            if (b->rejects)
                fprintf(b->rejects, "%s\n", r->reject);
            problem(b, r, true);
            continue;
        case RS_SKIPPED: s->skipped++; continue;
        case RS_FAILED:
            s->failed++;
            problem(b, r, false); /* none for records left undecided once memory ran out: one message says so */
            continue;
        default: break;
        }
        if (b->o->record) {
            bool skipped = false;
            int64_t seq;
            if (!b->in_txn) {
                if (yz_store_begin(b->st, &b->wd) != YZ_OK)
                    return YZ_ESTORE;
                b->in_txn = true;
            }
            if (yz_store_append(b->st, r->pk, b->o->operator_id, &skipped, NULL, &seq, &b->wd) != YZ_OK)
                return YZ_ESTORE;
            if (skipped) {
                s->skipped++;
                continue;
            }
            if (!acc->first_seq)
                acc->first_seq = seq;
            acc->last_seq = seq;
        }
        acc->decided++;
        acc->targets[r->target]++;
        for (size_t k = 0; k < b->ncat; k++)
            acc->cat_counts[k][r->cats[k]]++;
        for (size_t k = 0; k < b->nsub; k++) {
            acc->sub_counts[k][r->subs[k]]++;
            if (r->subs[k] == YZ_MET) {
                const pitem *it = &b->pol->items[PI_SUBSIDY][k];
                if (it->per && !strcmp(it->per, "month"))
                    add_fen(&acc->monthly_fen, r->amounts[k]);
                else if (it->per && !strcmp(it->per, "once"))
                    add_fen(&acc->once_fen, r->amounts[k]);
                if (r->totals[k] > 0)
                    add_fen(&acc->sub_totals[k], r->totals[k]);
            }
        }
        if (r->line_out)
            fputs(r->line_out, b->lines);
        if (b->o->record && ++b->uncommitted >= (b->o->commit_every ? b->o->commit_every : COMMIT_EVERY)) {
            b->in_txn = false;
            if (commit(b) != YZ_OK)
                return YZ_ESTORE;
        }
    }
    if (b->lines != stdout)
        check_output(b->lines, &b->lines_errno);
    check_output(b->rejects, &b->rejects_errno);
    return YZ_OK;
}

/* Takes the next chunk in input order that is decided and writes it (lines, rejects, store).
 * With wait, waits for it, and returns false once every chunk is written; without, returns false
 * when the next one is not decided yet. */
static bool write_next(batch *b, bool wait)
{
    pthread_mutex_lock(&b->mu);
    chunk *c = NULL;
    for (;;) {
        chunk **pp = &b->done;
        while (*pp && (*pp)->seq != b->written)
            pp = &(*pp)->next;
        if (*pp) {
            c = *pp;
            *pp = c->next;
            break;
        }
        if (!wait || (b->work_closed && b->written == b->next_seq))
            break;
        pthread_cond_wait(&b->cv_done, &b->mu);
    }
    pthread_mutex_unlock(&b->mu);
    if (!c)
        return false;
    if (b->wrc == YZ_OK)
        b->wrc = write_chunk(b, c);
    free_chunk(c);
    pthread_mutex_lock(&b->mu);
    b->written++;
    if (b->wrc != YZ_OK)
        b->fatal = true;
    pthread_cond_broadcast(&b->cv_room);
    pthread_mutex_unlock(&b->mu);
    progress(b, false);
    return true;
}

/* after the last chunk: the open transaction committed (or rolled back after a failure) */
static void write_end(batch *b)
{
    int rc = b->wrc;
    if (b->in_txn) {
        b->in_txn = false;
        if (rc == YZ_OK)
            rc = commit(b);
        else
            yz_store_rollback(b->st);
    }
    /* what was appended since the last commit is not in the store */
    b->sum->unrecorded += b->pend.decided;
    b->writer_rc = rc;
}

static void *writer_main(void *p)
{
    batch *b = p;
    while (write_next(b, true))
        ;
    write_end(b);
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* reader */

static void start_workers(batch *b);

/* hands a chunk to the workers, waiting while too many are in flight.  Until the store's
   dictionary for this ruleset exists (it is made from the first valid record), chunks are
   decided here, in the reader's thread. */
static void dispatch(batch *b, chunk *c)
{
    pthread_mutex_lock(&b->mu);
    while (b->next_seq - b->written >= (uint64_t)b->in_flight_max && !b->fatal)
        pthread_cond_wait(&b->cv_room, &b->mu);
    c->seq = b->next_seq++;
    c->next = NULL;
    if (!b->threads) {
        pthread_mutex_unlock(&b->mu);
        for (int i = 0; i < c->n; i++)
            decide(&b->workers[0], c, i);
        pthread_mutex_lock(&b->mu);
        c->next = b->done;
        b->done = c;
        pthread_cond_broadcast(&b->cv_done);
        bool ready = !b->o->record || b->dict;
        pthread_mutex_unlock(&b->mu);
        if (b->inline_writer) {
            while (write_next(b, false))
                ;
        } else if (ready) {
            start_workers(b);
        }
        return;
    }
    if (b->work_tail)
        b->work_tail->next = c;
    else
        b->work_head = c;
    b->work_tail = c;
    pthread_cond_signal(&b->cv_work);
    pthread_mutex_unlock(&b->mu);
}

/* reads the input through yz_population, chunk by chunk, to the workers; returns YZ_OK, or why
   reading stopped (YZ_EIO, YZ_EINPUT: said in b->rd) */
static int read_all(batch *b)
{
    pop_chunk *pc;
    while (!b->fatal && (pc = pop_next(b->pop, &b->rd))) {
        chunk *c = yz_calloc(1, sizeof *c);
        c->in = pc;
        c->n = pc->n;
        dispatch(b, c);
    }
    return pop_status(b->pop);
}

/* ------------------------------------------------------------------------------------------ */

/* the store's dictionary for this ruleset, registering the ruleset with the first valid record */
static void bootstrap(batch *b, const yz_record *rec, const yz_determination *det)
{
    pthread_mutex_lock(&b->mu);
    if (!b->dict && !b->fatal) {
        if (yz_store_dict_get(b->st, b->rs, rec, det, &b->dict, b->d) != YZ_OK)
            b->fatal = true;
        else
            for (int i = 0; i < b->nworkers; i++)
                b->workers[i].packer = yz_packer_new(b->dict);
    }
    pthread_mutex_unlock(&b->mu);
}

/* Starts the worker threads.  Those the system refuses (pthread_create fails) are left out: the
 * others take all the work, and when none starts the reader's thread decides every chunk itself,
 * as it does before the store's dictionary exists. */
static void start_workers(batch *b)
{
    if (b->threads || b->no_threads)
        return;
    int started = 0;
    for (int i = 0; i < b->nworkers; i++)
        if (pthread_create(&b->workers[i].th, NULL, worker_main, &b->workers[i]) == 0) {
            b->workers[i].running = true;
            started++;
        }
    b->threads = started > 0;
    b->no_threads = started == 0;
}

/* Closes an output file: a write that failed (a full disk) is an error that names the file.
 * Standard output ("-") is the caller's, who checks it like the rest of what it prints there. */
static int close_output(FILE *f, const char *path, int err, const char *what, yz_diags *d)
{
    if (!f)
        return YZ_OK;
    if (f == stdout) {
        fflush(f);
        return YZ_OK;
    }
    if (!err && ferror(f))
        err = EIO;
    if (fclose(f) != 0 && !err)
        err = errno ? errno : EIO;
    if (!err)
        return YZ_OK;
    diag_add(d, YZ_SEV_ERROR, path, 0, 0, "cannot write %s: %s", what, strerror(err));
    return YZ_EIO;
}

void yz_batch_summary_free(yz_batch_summary *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->ncat; i++) {
        yz_free_const(s->cat_ids[i]);
        yz_free_const(s->cat_names[i]);
    }
    for (size_t i = 0; i < s->nsub; i++) {
        yz_free_const(s->sub_ids[i]);
        yz_free_const(s->sub_names[i]);
        yz_free_const(s->sub_per[i]);
    }
    yz_free(s->cat_ids);
    yz_free(s->cat_names);
    yz_free(s->sub_ids);
    yz_free(s->sub_names);
    yz_free(s->sub_per);
    yz_free(s->cat_counts);
    yz_free(s->sub_counts);
    yz_free(s->sub_totals);
    memset(s, 0, sizeof *s);
}

int yz_batch_run(const yz_batch_options *o, yz_batch_summary *sum, yz_diags *d)
{
    memset(sum, 0, sizeof *sum);
    batch bb;
    batch *b = &bb;
    memset(b, 0, sizeof *b);
    b->o = o;
    b->sum = sum;
    b->d = d;
    b->t0 = now_s();
    int rc = yz_ruleset_load(o->home, o->province, &b->rs, d);
    if (rc != YZ_OK)
        return rc == YZ_EIO ? YZ_EUSAGE : rc;
    if ((rc = yz_ruleset_in_force(b->rs, o->as_of, d)) != YZ_OK) {
        yz_ruleset_free(b->rs);
        return rc;
    }
    b->pol = ruleset_policy_at(b->rs, o->as_of);
    /* the items in force on the date, in policy order, as the determinations list them */
    const ppolicy *pol = b->pol;
    for (size_t i = 0; i < pol->nitems[PI_CATEGORY]; i++)
        b->ncat += item_in_force(&pol->items[PI_CATEGORY][i], o->as_of);
    for (size_t i = 0; i < pol->nitems[PI_SUBSIDY]; i++)
        b->nsub += item_in_force(&pol->items[PI_SUBSIDY][i], o->as_of);
    sum->ncat = b->ncat;
    sum->nsub = b->nsub;
    sum->cat_ids = yz_calloc(b->ncat + 1, sizeof(char *));
    sum->cat_names = yz_calloc(b->ncat + 1, sizeof(char *));
    sum->sub_ids = yz_calloc(b->nsub + 1, sizeof(char *));
    sum->sub_names = yz_calloc(b->nsub + 1, sizeof(char *));
    sum->sub_per = yz_calloc(b->nsub + 1, sizeof(char *));
    summary_alloc(b, sum);
    summary_alloc(b, &b->pend);
    size_t k = 0;
    for (size_t i = 0; i < pol->nitems[PI_CATEGORY] && k < b->ncat; i++) {
        const pitem *it = &pol->items[PI_CATEGORY][i];
        if (!item_in_force(it, o->as_of))
            continue;
        sum->cat_ids[k] = it->code ? it->code : it->id;
        sum->cat_names[k++] = it->name;
    }
    k = 0;
    for (size_t i = 0; i < pol->nitems[PI_SUBSIDY] && k < b->nsub; i++) {
        const pitem *it = &pol->items[PI_SUBSIDY][i];
        if (!item_in_force(it, o->as_of))
            continue;
        sum->sub_ids[k] = it->code ? it->code : it->id;
        sum->sub_per[k] = it->per;
        sum->sub_names[k++] = it->name;
    }
    snprintf(sum->ruleset, sizeof sum->ruleset, "%s", yz_ruleset_id(b->rs));
    if ((rc = pop_open(o->input, o->format, o->encoding, false, &b->pop, d)) != YZ_OK)
        goto done;
    pop_set_notes(b->pop); /* long lines and open quotes are rejected in input order */
    b->in = pop_input(b->pop);
    if (o->record) {
        if ((rc = yz_operator_check(o->operator_id, d)) != YZ_OK)
            goto done;
        if ((rc = yz_store_open(o->db, NULL, &b->st, d)) != YZ_OK)
            goto done;
        if (o->chain_key && (rc = yz_store_set_chain_key(b->st, o->chain_key, d)) != YZ_OK)
            goto done;
    }
    /* the ruleset's signature, before any record is decided */
    rc = b->st ? yz_store_check_ruleset(b->st, b->rs, o->ruleset_keys, o->n_ruleset_keys, o->require_signed, d)
               : yz_ruleset_verify(b->rs, o->ruleset_keys, o->n_ruleset_keys, o->require_signed, d);
    if (rc != YZ_OK)
        goto done;
    if (o->lines) {
        b->lines = strcmp(o->lines, "-") ? yz_fopen(o->lines, "w") : stdout;
        if (!b->lines) {
            diag_add(d, YZ_SEV_ERROR, o->lines, 0, 0, "cannot write: %s", strerror(errno));
            rc = YZ_EIO;
            goto done;
        }
    }
    if (o->rejects) {
        b->rejects = yz_fopen(o->rejects, "w");
        if (!b->rejects) {
            diag_add(d, YZ_SEV_ERROR, o->rejects, 0, 0, "cannot write the rejects file: %s", strerror(errno));
            rc = YZ_EIO;
            goto done;
        }
    }
    int jobs = o->jobs > 0 ? o->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (jobs < 1)
        jobs = 1;
    if (jobs > 64)
        jobs = 64;
    b->nworkers = jobs;
    b->in_flight_max = 4 * jobs + 4;
    b->workers = yz_calloc((size_t)jobs, sizeof *b->workers);
    /* a rerun (or a second run on the same date) skips records decided before; a first run need
       not look each record up */
    bool precheck = o->record && yz_store_any_decided(b->st, yz_ruleset_id(b->rs), o->as_of);
    for (int i = 0; i < jobs && rc == YZ_OK; i++) {
        worker *w = &b->workers[i];
        w->b = b;
        arena_init(&w->mem, 64 * 1024);
        rc = yz_evaluator_new(b->rs, &o->limits, &w->ev, d);
        if (rc == YZ_OK && precheck)
            rc = yz_store_open(o->db, NULL, &w->ro, d);
    }
    if (rc != YZ_OK)
        goto done;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv_work, NULL);
    pthread_cond_init(&b->cv_done, NULL);
    pthread_cond_init(&b->cv_room, NULL);
    if (o->record) {
        /* a ruleset registered earlier already has its dictionary: no need to wait for a record */
        if (yz_store_dict_get(b->st, b->rs, NULL, NULL, &b->dict, NULL) == YZ_OK)
            for (int i = 0; i < b->nworkers; i++)
                b->workers[i].packer = yz_packer_new(b->dict);
    }
    /* no thread to write (the system refuses one): the reader's thread decides and writes every
       chunk itself, one after the other */
    b->inline_writer = pthread_create(&b->writer, NULL, writer_main, b) != 0;
    if (b->inline_writer)
        b->no_threads = true;
    else if (!o->record || b->dict)
        start_workers(b);
    rc = read_all(b);
    pthread_mutex_lock(&b->mu);
    b->work_closed = true;
    pthread_cond_broadcast(&b->cv_work);
    pthread_cond_broadcast(&b->cv_done);
    pthread_mutex_unlock(&b->mu);
    for (int i = 0; i < b->nworkers; i++)
        if (b->workers[i].running)
            pthread_join(b->workers[i].th, NULL);
    pthread_mutex_lock(&b->mu);
    pthread_cond_broadcast(&b->cv_done);
    pthread_mutex_unlock(&b->mu);
    if (b->inline_writer) {
        while (write_next(b, true))
            ;
        write_end(b);
    } else {
        pthread_join(b->writer, NULL);
    }
    progress(b, true);
    if (rc == YZ_OK && b->writer_rc != YZ_OK)
        rc = b->writer_rc;
    if (rc == YZ_OK && b->fatal)
        rc = b->fatal_rc ? b->fatal_rc : YZ_ESTORE;
    diag_move(d, &b->rd);
    diag_move(d, &b->wd);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv_work);
    pthread_cond_destroy(&b->cv_done);
    pthread_cond_destroy(&b->cv_room);
done:
    sum->seconds = now_s() - b->t0;
    for (int i = 0; i < b->nworkers; i++) {
        yz_evaluator_free(b->workers[i].ev);
        yz_packer_free(b->workers[i].packer);
        yz_store_close(b->workers[i].ro);
        arena_free(&b->workers[i].mem);
    }
    yz_free(b->workers);
    yz_store_dict_free(b->dict);
    yz_store_close(b->st);
    int orc = close_output(b->lines, o->lines, b->lines_errno, "the lines file", d);
    if (close_output(b->rejects, o->rejects, b->rejects_errno, "the rejects file", d) != YZ_OK)
        orc = YZ_EIO;
    if (rc == YZ_OK)
        rc = orc;
    yz_free(b->pend.cat_counts);
    yz_free(b->pend.sub_counts);
    yz_free(b->pend.sub_totals);
    pop_close(b->pop);
    /* the summary keeps names that live in the ruleset: copy them */
    for (size_t i = 0; i < sum->ncat; i++) {
        sum->cat_ids[i] = sum->cat_ids[i] ? yz_strdup(sum->cat_ids[i]) : NULL;
        sum->cat_names[i] = sum->cat_names[i] ? yz_strdup(sum->cat_names[i]) : NULL;
    }
    for (size_t i = 0; i < sum->nsub; i++) {
        sum->sub_ids[i] = sum->sub_ids[i] ? yz_strdup(sum->sub_ids[i]) : NULL;
        sum->sub_names[i] = sum->sub_names[i] ? yz_strdup(sum->sub_names[i]) : NULL;
        sum->sub_per[i] = sum->sub_per[i] ? yz_strdup(sum->sub_per[i]) : NULL;
    }
    yz_ruleset_free(b->rs);
    if (rc == YZ_OK && sum->failed)
        rc = YZ_EPOLICY; /* a rule could not decide some records: the policy needs fixing */
    else if (rc == YZ_OK && sum->rejected)
        rc = YZ_EINPUT;
    return rc;
}

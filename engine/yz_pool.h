/* yz_pool.h: chunks of work done on worker threads and handed back in the order they were given
 * (internal to the engine).
 *
 * The calling thread reads (a store, a ledger) and submits chunks; each worker thread runs them
 * with a state of its own (a decompressor, a replayer); the calling thread gets each chunk back, in
 * the order submitted, in ops->done.  What a caller reports therefore does not depend on the
 * number of threads.  Threads the system refuses (pthread_create fails) are left out; with none,
 * the calling thread runs each chunk itself when it is submitted. */
#ifndef YZ_POOL_H
#define YZ_POOL_H

#include <stdbool.h>

typedef struct yz_pool yz_pool;

typedef struct yz_pool_ops {
    /* a worker's own state, made on the calling thread before the threads start (NULL allowed) */
    void *(*worker_new)(void *arg);
    void (*worker_free)(void *worker);
    /* runs one chunk: on a worker thread, or on the calling thread when there is none */
    void (*run)(void *worker, void *chunk);
    /* on the calling thread, in submission order, once the chunk has run; it owns the chunk then */
    void (*done)(void *chunk, void *arg);
    void *arg;
} yz_pool_ops;

/* Starts up to nthreads workers (0 or less: one per online processor); ops is copied.  At most
 * 4 chunks a worker are in flight: pool_submit waits for the oldest beyond that.  Never NULL. */
yz_pool *pool_new(int nthreads, const yz_pool_ops *ops);
/* The number of worker threads running (0: the calling thread runs the chunks). */
int pool_threads(const yz_pool *p);
/* Hands chunk to the workers; the done of earlier chunks that have run may be called from here. */
void pool_submit(yz_pool *p, void *chunk);
/* Waits until every chunk submitted has run and been handed to done. */
void pool_drain(yz_pool *p);
/* Drains, stops and joins the workers, frees their states and p.  NULL is a no-op. */
void pool_free(yz_pool *p);

#endif

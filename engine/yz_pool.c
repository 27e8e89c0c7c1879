/* yz_pool.c: an ordered pipeline of chunks over worker threads. */
#include "yz_pool.h"

#include <pthread.h>
#include <unistd.h>

#include "yz_util.h"

#define MAX_THREADS 64

typedef struct node {
    void *chunk;
    bool ran;
    struct node *next_work, *next_order;
} node;

typedef struct worker {
    yz_pool *p;
    pthread_t th;
    bool running;
    void *state;
} worker;

struct yz_pool {
    yz_pool_ops ops;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_ran;
    node *work_head, *work_tail;   /* to be run */
    node *order_head, *order_tail; /* submitted, not yet handed to done */
    int in_flight, max_in_flight;
    bool closed;
    int nworkers, started;
    worker *workers;
};

static void *worker_main(void *arg)
{
    worker *w = arg;
    yz_pool *p = w->p;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->work_head && !p->closed)
            pthread_cond_wait(&p->cv_work, &p->mu);
        node *n = p->work_head;
        if (n) {
            p->work_head = n->next_work;
            if (!p->work_head)
                p->work_tail = NULL;
        }
        pthread_mutex_unlock(&p->mu);
        if (!n)
            return NULL;
        p->ops.run(w->state, n->chunk);
        pthread_mutex_lock(&p->mu);
        n->ran = true;
        pthread_cond_broadcast(&p->cv_ran);
        pthread_mutex_unlock(&p->mu);
    }
}

yz_pool *pool_new(int nthreads, const yz_pool_ops *ops)
{
    yz_pool *p = yz_calloc(1, sizeof *p);
    p->ops = *ops;
    if (nthreads <= 0)
        nthreads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (nthreads < 1)
        nthreads = 1;
    if (nthreads > MAX_THREADS)
        nthreads = MAX_THREADS;
    p->nworkers = nthreads;
    p->max_in_flight = 4 * nthreads;
    p->workers = yz_calloc((size_t)nthreads, sizeof *p->workers);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv_work, NULL);
    pthread_cond_init(&p->cv_ran, NULL);
    for (int i = 0; i < nthreads; i++) {
        p->workers[i].p = p;
        p->workers[i].state = ops->worker_new ? ops->worker_new(ops->arg) : NULL;
    }
    for (int i = 0; i < nthreads; i++)
        if (pthread_create(&p->workers[i].th, NULL, worker_main, &p->workers[i]) == 0) {
            p->workers[i].running = true;
            p->started++;
        }
    return p;
}

int pool_threads(const yz_pool *p)
{
    return p->started;
}

/* hands done the chunks at the head of the order that have run; waits for the head while
   max_in_flight chunks are in flight, or with all until none is */
static void hand_back(yz_pool *p, bool all)
{
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (p->order_head && !p->order_head->ran && (all || p->in_flight >= p->max_in_flight))
            pthread_cond_wait(&p->cv_ran, &p->mu);
        node *n = p->order_head;
        if (!n || !n->ran) {
            pthread_mutex_unlock(&p->mu);
            return;
        }
        p->order_head = n->next_order;
        if (!p->order_head)
            p->order_tail = NULL;
        p->in_flight--;
        pthread_mutex_unlock(&p->mu);
        void *chunk = n->chunk;
        yz_free(n);
        p->ops.done(chunk, p->ops.arg);
    }
}

void pool_submit(yz_pool *p, void *chunk)
{
    node *n = yz_calloc(1, sizeof *n);
    n->chunk = chunk;
    if (!p->started) { /* no worker thread: run here */
        p->ops.run(p->workers[0].state, chunk);
        n->ran = true;
    }
    pthread_mutex_lock(&p->mu);
    if (p->order_tail)
        p->order_tail->next_order = n;
    else
        p->order_head = n;
    p->order_tail = n;
    p->in_flight++;
    if (p->started) {
        if (p->work_tail)
            p->work_tail->next_work = n;
        else
            p->work_head = n;
        p->work_tail = n;
        pthread_cond_signal(&p->cv_work);
    }
    pthread_mutex_unlock(&p->mu);
    hand_back(p, false);
}

void pool_drain(yz_pool *p)
{
    hand_back(p, true);
}

void pool_free(yz_pool *p)
{
    if (!p)
        return;
    pool_drain(p);
    pthread_mutex_lock(&p->mu);
    p->closed = true;
    pthread_cond_broadcast(&p->cv_work);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nworkers; i++)
        if (p->workers[i].running)
            pthread_join(p->workers[i].th, NULL);
    for (int i = 0; i < p->nworkers; i++)
        if (p->ops.worker_free)
            p->ops.worker_free(p->workers[i].state);
    yz_free(p->workers);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv_work);
    pthread_cond_destroy(&p->cv_ran);
    yz_free(p);
}

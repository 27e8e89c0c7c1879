/* tests/faults/nothreads.c: an LD_PRELOAD shim whose pthread_create always fails with EAGAIN, as
 * on a system out of threads (tests/faults/run.sh, "no threads"). */
#include <errno.h>
#include <pthread.h>

int pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg)
{
    (void)t;
    (void)a;
    (void)fn;
    (void)arg;
    return EAGAIN;
}

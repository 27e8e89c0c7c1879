/* failmalloc.c: an LD_PRELOAD shim that makes allocations fail, for the fault-injection tests.
 *
 *   YZ_FAILMALLOC=N        the Nth call of malloc, calloc, realloc (to a non-zero size),
 *                          posix_memalign, aligned_alloc or memalign, and every later one, returns
 *                          NULL (ENOMEM): memory is exhausted from then on
 *   YZ_FAILMALLOC_ONCE=1   only the Nth fails: a transient failure
 *   YZ_FAILMALLOC_REPORT=1 at exit, print "failmalloc: K allocations" to standard error (the
 *                          count a test sweeps N over)
 *
 * Every allocation of the process counts, ours and the libraries' (Lua, libyaml, cJSON, SQLite,
 * zstd, OpenSSL, the C library): they all reach malloc through the dynamic linker, which finds
 * these definitions first.  The real allocator is glibc's __libc_* entry points, so no dlsym
 * (which itself allocates) is needed.  Counting is atomic: batch allocates on several threads. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);
extern void __libc_free(void *p);

static unsigned long fail_at;    /* 0: never */
static int once, report;
static unsigned long count;
static int ready;

static void setup(void)
{
    const char *v = getenv("YZ_FAILMALLOC");
    fail_at = v ? strtoul(v, NULL, 10) : 0;
    v = getenv("YZ_FAILMALLOC_ONCE");
    once = v && *v == '1';
    v = getenv("YZ_FAILMALLOC_REPORT");
    report = v && *v == '1';
    __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
}

/* true when this allocation is to fail */
static int fail_now(void)
{
    if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE))
        return 0; /* before the constructor ran (the dynamic linker, libc start-up) */
    unsigned long k = __atomic_add_fetch(&count, 1, __ATOMIC_RELAXED);
    if (!fail_at || k < fail_at || (once && k != fail_at))
        return 0;
    errno = ENOMEM;
    return 1;
}

__attribute__((constructor)) static void failmalloc_init(void)
{
    setup();
}

__attribute__((destructor)) static void failmalloc_fini(void)
{
    if (!report)
        return;
    char buf[64], digits[24];
    unsigned long k = __atomic_load_n(&count, __ATOMIC_RELAXED);
    int n = 0;
    do
        digits[n++] = (char)('0' + k % 10);
    while ((k /= 10) && n < (int)sizeof digits);
    size_t len = 0;
    const char *pre = "failmalloc: ";
    memcpy(buf, pre, strlen(pre));
    len = strlen(pre);
    while (n)
        buf[len++] = digits[--n];
    memcpy(buf + len, " allocations\n", 13);
    len += 13;
    ssize_t w = write(2, buf, len);
    (void)w;
}

void *malloc(size_t n)
{
    return fail_now() ? NULL : __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    return fail_now() ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    if (p && n == 0)
        return __libc_realloc(p, 0); /* a free */
    return fail_now() ? NULL : __libc_realloc(p, n);
}

void free(void *p)
{
    __libc_free(p);
}

void *memalign(size_t align, size_t n)
{
    return fail_now() ? NULL : __libc_memalign(align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
    return fail_now() ? NULL : __libc_memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    if (fail_now())
        return ENOMEM;
    void *p = __libc_memalign(align, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

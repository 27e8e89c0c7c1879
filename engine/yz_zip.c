/* yz_zip.c: zstd frames with prepared dictionaries (made with entropy tables, or raw content). */
#include "yz_zip.h"

#include <string.h>

#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_customMem and the *_advanced constructors */
#include <zstd.h>
#include <zstd_errors.h>
#include <zdict.h>

/* zstd's default level.  With a dictionary that carries entropy tables (zip_dict_build) it is
   as fast as the fast levels and the smallest: 50,000 bench records on 2 cores recorded in 0.97x
   the time, 1,130 against 1,163 bytes a decision, of level -1 with a raw-content dictionary;
   level -1 with tables gave 1,193 bytes and no gain in time.  Only new frames change: every level
   reads every frame. */
#define LEVEL 3

/* zstd's memory comes from yz_malloc, which does not return NULL: zstd 1.5.4 (Debian 12)
   dereferences NULL when the allocation of a new CDict fails (facebook/zstd#3847, fixed in 1.5.6),
   and with this allocator that path cannot be reached; running out of memory goes to the
   out-of-memory handler instead, like every other allocation of ours. */
static void *z_alloc(void *opaque, size_t n)
{
    (void)opaque;
    return yz_malloc(n);
}

static void z_free(void *opaque, void *p)
{
    (void)opaque;
    yz_free(p);
}

static const ZSTD_customMem zmem = {z_alloc, z_free, NULL};

struct zipper {
    ZSTD_CCtx *c;
    ZSTD_DCtx *dc;
};

struct zdict {
    ZSTD_CDict *c;
    ZSTD_DDict *d;
};

/* an error code: -1, unless zstd ran out of memory (then the out-of-memory handler: a "damaged"
   message would be wrong) */
static int nomem(size_t r)
{
    if (ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation)
        yz_out_of_memory(0);
    return -1;
}

zipper *zipper_new(void)
{
    zipper *z = yz_calloc(1, sizeof *z);
    z->c = ZSTD_createCCtx_advanced(zmem);
    z->dc = ZSTD_createDCtx_advanced(zmem);
    if (!z->c || !z->dc)
        yz_out_of_memory(0); /* their only failure */
    /* a dictionary's tables are referenced, never copied into the context: zstd copies them for
       inputs over 8 KB at fast levels (a determination is about 9 KB), and that copy (the
       dictionary's hash table, sized for an unknown input) cost more than compressing */
    ZSTD_CCtx_setParameter(z->c, ZSTD_c_forceAttachDict, ZSTD_dictForceAttach);
    return z;
}

void zipper_free(zipper *z)
{
    if (!z)
        return;
    ZSTD_freeCCtx(z->c);
    ZSTD_freeDCtx(z->dc);
    yz_free(z);
}

void zip_dict_build(const void *content, const size_t *parts, unsigned nparts, strbuf *out)
{
    size_t len = 0;
    for (unsigned i = 0; i < nparts; i++)
        len += parts[i];
    size_t cap = len + 16384; /* the tables take a few hundred bytes: the content is never cut */
    sb_clear(out);
    sb_grow(out, cap);
    ZDICT_params_t zp = {.compressionLevel = LEVEL, .notificationLevel = 0, .dictID = 0};
    size_t r = ZDICT_finalizeDictionary(out->buf, cap, content, len, content, parts, nparts, zp);
    if (ZDICT_isError(r) || r < len) {
        /* too little to compute tables from (a content under 128 bytes): the content alone */
        memcpy(out->buf, content, len);
        r = len;
    }
    out->len = r;
    out->buf[r] = '\0';
}

zdict *zdict_new(const void *data, size_t len)
{
    zdict *d = yz_calloc(1, sizeof *d);
    /* bytes starting with zstd's dictionary magic are a dictionary with tables (zip_dict_build),
       which zstd checks; any other bytes are raw content (stores written before 0.1.0's tables:
       canonical JSON, starting with '{'), which is never refused */
    d->c = ZSTD_createCDict_advanced(data, len, ZSTD_dlm_byCopy, ZSTD_dct_auto, ZSTD_getCParams(LEVEL, 0, len), zmem);
    d->d = ZSTD_createDDict_advanced(data, len, ZSTD_dlm_byCopy, ZSTD_dct_auto, zmem);
    if (!d->c || !d->d) {
        /* the allocator does not return NULL, so zstd refused the tables: damaged */
        zdict_free(d);
        return NULL;
    }
    return d;
}

void zdict_free(zdict *d)
{
    if (!d)
        return;
    ZSTD_freeCDict(d->c);
    ZSTD_freeDDict(d->d);
    yz_free(d);
}

int zip_compress(zipper *z, const zdict *d, const void *src, size_t n, strbuf *out)
{
    size_t bound = ZSTD_compressBound(n);
    sb_grow(out, bound);
    size_t r;
    if (d) {
        ZSTD_CCtx_reset(z->c, ZSTD_reset_session_only);
        r = ZSTD_CCtx_refCDict(z->c, d->c);
        if (!ZSTD_isError(r))
            r = ZSTD_compress2(z->c, out->buf + out->len, bound, src, n);
    } else {
        r = ZSTD_compressCCtx(z->c, out->buf + out->len, bound, src, n, LEVEL);
    }
    if (ZSTD_isError(r))
        return nomem(r);
    out->len += r;
    out->buf[out->len] = '\0';
    return 0;
}

int zip_decompress(zipper *z, const zdict *d, const void *src, size_t n, size_t max, strbuf *out)
{
    unsigned long long size = ZSTD_getFrameContentSize(src, n);
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > max)
        return -1;
    sb_grow(out, (size_t)size);
    size_t r = d ? ZSTD_decompress_usingDDict(z->dc, out->buf + out->len, (size_t)size, src, n, d->d)
                 : ZSTD_decompressDCtx(z->dc, out->buf + out->len, (size_t)size, src, n);
    if (ZSTD_isError(r))
        return nomem(r);
    if (r != size)
        return -1;
    out->len += r;
    out->buf[out->len] = '\0';
    return 0;
}

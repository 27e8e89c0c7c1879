/* yz_zip.h: zstd compression with raw-content dictionaries (the only user of libzstd). */
#ifndef YZ_ZIP_H
#define YZ_ZIP_H

#include <stddef.h>

#include "yz_util.h"

typedef struct zipper zipper; /* compression contexts; one per thread */
typedef struct zdict zdict;   /* a prepared dictionary */

/* zipper_new and zdict_new never return NULL: they fail only for memory, and then call the
 * out-of-memory handler, as does any function here whose zstd call runs out of memory. */
zipper *zipper_new(void);
void zipper_free(zipper *z);
/* A dictionary made from any bytes (zstd "raw content"): data is copied. */
zdict *zdict_new(const void *data, size_t len);
void zdict_free(zdict *d);
/* Appends a zstd frame of src to out (dict may be NULL).  Returns 0 or -1. */
int zip_compress(zipper *z, const zdict *d, const void *src, size_t n, strbuf *out);
/* Appends the decompressed frame to out; refuses more than max bytes.  Returns 0 or -1. */
int zip_decompress(zipper *z, const zdict *d, const void *src, size_t n, size_t max, strbuf *out);

#endif

/* yz_zip.h: zstd compression with dictionaries (the only user of libzstd). */
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
/* The bytes of a dictionary for frames like the parts of content (the concatenation of nparts
 * parts, of the sizes given): the content with zstd's entropy tables computed from those parts, so
 * that a frame starts from tables that fit rather than building its own (about 25% faster and
 * 5% smaller for a determination).  The same content always gives the same bytes; too small a
 * content (under 128 bytes) is put in out as it is. */
void zip_dict_build(const void *content, const size_t *parts, unsigned nparts, strbuf *out);
/* A prepared dictionary from the bytes of one (zip_dict_build's or any bytes as "raw content"):
 * data is copied.  NULL when zstd refuses them: they start with its dictionary magic and their
 * tables are damaged. */
zdict *zdict_new(const void *data, size_t len);
void zdict_free(zdict *d);
/* Appends a zstd frame of src to out (dict may be NULL).  Returns 0 or -1. */
int zip_compress(zipper *z, const zdict *d, const void *src, size_t n, strbuf *out);
/* Appends the decompressed frame to out; refuses more than max bytes.  Returns 0 or -1. */
int zip_decompress(zipper *z, const zdict *d, const void *src, size_t n, size_t max, strbuf *out);

#endif

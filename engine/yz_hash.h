/* yz_hash.h: cryptographic hashes and HMACs through OpenSSL libcrypto (with yz_sign.c, the only
 * users of OpenSSL). */
#ifndef YZ_HASH_H
#define YZ_HASH_H

#include <stddef.h>

typedef enum { YZ_HASH_SHA256, YZ_HASH_SM3 } yz_hash_alg;

#define YZ_HASH_LEN 32
#define YZ_HASH_HEX_LEN 64

typedef struct yz_hasher yz_hasher;

/* Incremental hashing.  hasher_new returns NULL when the algorithm is not available in this
 * OpenSSL build (and calls the out-of-memory handler when OpenSSL has no memory).  hasher_final writes 64 lowercase hex digits and a NUL into hex (65 bytes) and
 * frees the hasher. */
yz_hasher *hasher_new(yz_hash_alg alg);
/* The same, keyed: HMAC (RFC 2104) with alg and the secret key (copied).  NULL when the
 * algorithm is unavailable. */
yz_hasher *hasher_new_hmac(yz_hash_alg alg, const void *key, size_t keylen);
void hasher_update(yz_hasher *h, const void *data, size_t n);
void hasher_final(yz_hasher *h, char *hex);
/* One-shot helper; returns 0, or -1 when the algorithm is unavailable. */
int hash_hex(yz_hash_alg alg, const void *data, size_t n, char *hex);
/* The SHA-256 of data as 64 hex digits (SHA-256 is always there). */
static inline void sha256_hex(const void *data, size_t n, char hex[65])
{
    hash_hex(YZ_HASH_SHA256, data, n, hex);
}
const char *hash_alg_name(yz_hash_alg alg);
/* True when this OpenSSL build has the algorithm (SM3 may be missing). */
int hash_alg_available(yz_hash_alg alg);

#endif

/* yz_hash.c: SHA-256 and SM3, plain or as HMAC, through OpenSSL's EVP interface. */
#include "yz_hash.h"

#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init: the direct implementation, without a provider lookup */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>

#include "yz_util.h"

struct yz_hasher {
    yz_hash_alg alg;
    EVP_MD_CTX *ctx; /* SM3 */
    EVP_MAC_CTX *mac; /* HMAC with either */
    SHA256_CTX sha; /* SHA-256 */
};

static EVP_MD *mds[2];
static pthread_once_t mds_once = PTHREAD_ONCE_INIT;

/* fetched once: OpenSSL 3 looks algorithms up through its providers, which is slow per call;
   the configuration file is not read (nothing in it concerns digests) */
static void fetch_mds(void)
{
    OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
    mds[YZ_HASH_SHA256] = EVP_MD_fetch(NULL, "SHA256", NULL);
    mds[YZ_HASH_SM3] = EVP_MD_fetch(NULL, "SM3", NULL);
}

static const EVP_MD *md_of(yz_hash_alg alg)
{
    pthread_once(&mds_once, fetch_mds);
    return mds[alg];
}

yz_hasher *hasher_new(yz_hash_alg alg)
{
    if (alg == YZ_HASH_SHA256) {
        /* the common case, and the one a single `check` needs: no provider start-up */
        yz_hasher *h = yz_calloc(1, sizeof *h);
        h->alg = alg;
        SHA256_Init(&h->sha);
        return h;
    }
    const EVP_MD *md = md_of(alg);
    if (!md)
        return NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, md, NULL) != 1)
        yz_out_of_memory(0); /* the algorithm exists: only memory can be missing */
    yz_hasher *h = yz_calloc(1, sizeof *h);
    h->alg = alg;
    h->ctx = ctx;
    return h;
}

static EVP_MAC *hmac;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void fetch_hmac(void)
{
    OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
    hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

yz_hasher *hasher_new_hmac(yz_hash_alg alg, const void *key, size_t keylen)
{
    if (!md_of(alg))
        return NULL;
    pthread_once(&hmac_once, fetch_hmac);
    if (!hmac)
        return NULL;
    EVP_MAC_CTX *mac = EVP_MAC_CTX_new(hmac);
    if (!mac)
        yz_out_of_memory(0);
    static char sha256_name[] = "SHA256", sm3_name[] = "SM3"; /* OSSL_PARAM takes them writable */
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, alg == YZ_HASH_SM3 ? sm3_name : sha256_name, 0);
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_MAC_init(mac, key, keylen, params) != 1) {
        EVP_MAC_CTX_free(mac);
        return NULL;
    }
    yz_hasher *h = yz_calloc(1, sizeof *h);
    h->alg = alg;
    h->mac = mac;
    return h;
}

void hasher_update(yz_hasher *h, const void *data, size_t n)
{
    if (h->mac)
        EVP_MAC_update(h->mac, data, n);
    else if (h->alg == YZ_HASH_SHA256)
        SHA256_Update(&h->sha, data, n);
    else
        EVP_DigestUpdate(h->ctx, data, n);
}

void hasher_final(yz_hasher *h, char *hex)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (h->mac) {
        size_t n = 0;
        EVP_MAC_final(h->mac, md, &n, sizeof md);
        len = (unsigned)n;
    } else if (h->alg == YZ_HASH_SHA256) {
        SHA256_Final(md, &h->sha);
        len = SHA256_DIGEST_LENGTH;
    } else {
        EVP_DigestFinal_ex(h->ctx, md, &len);
    }
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < len && i < YZ_HASH_LEN; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[YZ_HASH_HEX_LEN] = '\0';
    EVP_MD_CTX_free(h->ctx);
    EVP_MAC_CTX_free(h->mac);
    yz_free(h);
}

int hash_hex(yz_hash_alg alg, const void *data, size_t n, char *hex)
{
    yz_hasher *h = hasher_new(alg);
    if (!h)
        return -1;
    hasher_update(h, data, n);
    hasher_final(h, hex);
    return 0;
}

const char *hash_alg_name(yz_hash_alg alg)
{
    return alg == YZ_HASH_SM3 ? "sm3" : "sha256";
}

int hash_alg_available(yz_hash_alg alg)
{
    return alg == YZ_HASH_SHA256 || md_of(alg) != NULL;
}

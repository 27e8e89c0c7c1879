/* yz_hash.c: SHA-256 and SM3 through OpenSSL's EVP interface. */
#include "yz_hash.h"

#include <openssl/evp.h>
#include <stdio.h>

#include "yz_util.h"

struct yz_hasher {
    EVP_MD_CTX *ctx;
};

static const EVP_MD *md_of(yz_hash_alg alg)
{
    return alg == YZ_HASH_SM3 ? EVP_get_digestbyname("SM3") : EVP_sha256();
}

yz_hasher *hasher_new(yz_hash_alg alg)
{
    const EVP_MD *md = md_of(alg);
    if (!md)
        return NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, md, NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return NULL;
    }
    yz_hasher *h = yz_malloc(sizeof *h);
    h->ctx = ctx;
    return h;
}

void hasher_update(yz_hasher *h, const void *data, size_t n)
{
    EVP_DigestUpdate(h->ctx, data, n);
}

void hasher_final(yz_hasher *h, char *hex)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(h->ctx, md, &len);
    for (unsigned i = 0; i < len && i < YZ_HASH_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    hex[YZ_HASH_HEX_LEN] = '\0';
    EVP_MD_CTX_free(h->ctx);
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

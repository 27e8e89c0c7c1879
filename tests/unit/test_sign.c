/* test_sign.c: keys and signatures (yz_sign.c) against OpenSSL's own calls: SM2 signatures carry
 * the distinguishing ID YZ_SM2_ID (OpenSSL 3.0's empty default does not verify them), Ed25519,
 * HMAC chains equal OpenSSL's HMAC; signed notes parse and refuse what is not one; a ruleset's
 * signature names each file changed, added or removed since signing. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdlib.h>

#include "unit.h"
#include "yz_diag.h"
#include "yz_hash.h"
#include "yz_policy.h"
#include "yz_sign.h"

static bool has_error(const yz_diags *d, const char *text)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->items[i].severity == YZ_SEV_ERROR && strstr(d->items[i].message, text))
            return true;
    return false;
}

/* verifies with OpenSSL directly, the SM2 ID given (or none: OpenSSL 3.0's default) */
static int openssl_verify(const yz_key *k, const char *msg, const strbuf *sig, const char *sm2_id)
{
    char *pem = yz_key_public_pem(k);
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    yz_free(pem);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    bool sm2 = EVP_PKEY_is_a(pkey, "SM2");
    if (sm2) {
        pc = EVP_PKEY_CTX_new(pkey, NULL);
        if (sm2_id)
            EVP_PKEY_CTX_set1_id(pc, sm2_id, strlen(sm2_id));
        EVP_MD_CTX_set_pkey_ctx(m, pc);
    }
    int r = EVP_DigestVerifyInit(m, NULL, sm2 ? EVP_sm3() : NULL, NULL, pkey) == 1 &&
            EVP_DigestVerify(m, (const unsigned char *)sig->buf, sig->len, (const unsigned char *)msg, strlen(msg)) == 1;
    EVP_MD_CTX_free(m);
    EVP_PKEY_CTX_free(pc);
    EVP_PKEY_free(pkey);
    return r;
}

static void keys(void)
{
    yz_diags d;
    yz_diags_init(&d);
    const char *algs[] = {"sm2", "ed25519"};
    for (int a = 0; a < 2; a++) {
        yz_key *k = NULL, *pub = NULL, *again = NULL;
        CHECK_INT(yz_key_generate(algs[a], &k, &d), YZ_OK);
        if (!k)
            continue;
        CHECK(!strncmp(yz_key_name(k), algs[a], strlen(algs[a])) && strlen(yz_key_name(k)) == strlen(algs[a]) + 17);
        CHECK(yz_key_is_private(k));
        char *pem = yz_key_public_pem(k), *priv = yz_key_private_text(k);
        CHECK_INT(yz_key_parse(pem, strlen(pem), "k.pub", &pub, &d), YZ_OK);
        CHECK_INT(yz_key_parse(priv, strlen(priv), "k.key", &again, &d), YZ_OK);
        if (pub && again) {
            CHECK_STR(yz_key_name(pub), yz_key_name(k));
            CHECK_STR(yz_key_name(again), yz_key_name(k));
            CHECK(!yz_key_is_private(pub));
            CHECK(yz_key_private_text(pub) == NULL);
        }
        const char *msg = "yuanzhu/0123\n5\nabc\n";
        strbuf sig = STRBUF_INIT;
        CHECK_INT(key_sign(k, msg, strlen(msg), &sig), 0);
        CHECK_INT(key_sign(pub, msg, strlen(msg), &sig), -1); /* a public key cannot sign */
        CHECK(key_verify(pub, msg, strlen(msg), sig.buf, sig.len));
        CHECK(!key_verify(pub, "yuanzhu/0123\n6\nabc\n", strlen(msg), sig.buf, sig.len));
        CHECK_INT(openssl_verify(k, msg, &sig, YZ_SM2_ID), 1);
        if (a == 0) /* SM2: the ID is set explicitly; with OpenSSL 3.0's empty default it does not verify */
            CHECK_INT(openssl_verify(k, msg, &sig, NULL), 0);
        sb_free(&sig);
        yz_free(pem);
        yz_free(priv);
        yz_key_free(k);
        yz_key_free(pub);
        yz_key_free(again);
    }
    /* secrets: hex, at least 16 bytes; the name does not depend on how it is written */
    yz_key *s = NULL, *t = NULL;
    const char *hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
    CHECK_INT(yz_key_parse(hex, strlen(hex), "c.key", &s, &d), YZ_OK);
    CHECK_INT(yz_key_parse("00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF", 64, "c", &t, &d), YZ_OK);
    if (s && t) {
        CHECK_STR(yz_key_name(s), yz_key_name(t));
        CHECK(!strncmp(yz_key_name(s), "hmac:", 5));
        CHECK(yz_key_public_pem(s) == NULL);
    }
    yz_key_free(s);
    yz_key_free(t);
    yz_key *bad = NULL;
    CHECK_INT(yz_key_parse("0011", 4, "short.key", &bad, &d), YZ_EPARSE);
    CHECK(has_error(&d, "at least 32 hex digits"));
    CHECK_INT(yz_key_parse("-----BEGIN ENCRYPTED PRIVATE KEY-----\nxx\n", 42, "e.key", &bad, &d), YZ_EUSAGE);
    CHECK(has_error(&d, "encrypted"));
    CHECK(bad == NULL);
    CHECK_INT(yz_key_generate("rsa", &bad, &d), YZ_EUSAGE);
    yz_diags_free(&d);
}

static void hmac(void)
{
    const unsigned char key[] = "0123456789abcdef0123456789abcdef";
    const char *msg = "0000000000000000000000000000000000000000000000000000000000000000{\"kind\":\"decision\"}";
    const char *mds[] = {"SHA256", "SM3"};
    for (int a = 0; a < 2; a++) {
        char ours[65];
        yz_hasher *h = hasher_new_hmac(a ? YZ_HASH_SM3 : YZ_HASH_SHA256, key, 32);
        CHECK(h != NULL);
        if (!h)
            continue;
        hasher_update(h, msg, 10);
        hasher_update(h, msg + 10, strlen(msg) - 10);
        hasher_final(h, ours);
        unsigned char md[64];
        unsigned int n = 0;
        HMAC(EVP_get_digestbyname(mds[a]), key, 32, (const unsigned char *)msg, strlen(msg), md, &n);
        char theirs[65];
        for (unsigned i = 0; i < n; i++)
            snprintf(theirs + 2 * i, 3, "%02x", md[i]);
        CHECK_STR(ours, theirs);
    }
}

static void notes(void)
{
    yz_diags d;
    yz_diags_init(&d);
    yz_key *k = NULL, *other = NULL;
    yz_key_generate("ed25519", &k, &d);
    yz_key_generate("ed25519", &other, &d);
    if (!k || !other)
        return;
    const char *body = "yuanzhu/ab\n3\nhash\n";
    strbuf t = STRBUF_INIT;
    sb_adds(&t, body);
    sb_addc(&t, '\n');
    CHECK_INT(note_sign(&t, body, strlen(body), k), 0);
    sb_adds(&t, "\n"); /* a second note after an empty line */
    sb_adds(&t, body);
    sb_addc(&t, '\n');
    note_sign(&t, body, strlen(body), other);
    note *n = NULL;
    size_t nn = 0;
    CHECK_INT(notes_parse(t.buf, t.len, "cp", &n, &nn, &d), YZ_OK);
    CHECK_INT(nn, 2);
    if (nn == 2) {
        CHECK_INT(n[0].line, 1);
        CHECK_INT(n[1].line, 7);
        CHECK_INT(note_check(&n[0], k), 1);
        CHECK_INT(note_check(&n[0], other), 0); /* not signed by it */
        CHECK_INT(note_check(&n[1], other), 1);
        n[0].nbody--; /* the text changed: the line in k's name no longer verifies */
        CHECK_INT(note_check(&n[0], k), -1);
        strbuf re = STRBUF_INIT;
        note_sig_line(&re, &n[1].sigs[0]);
        CHECK(strstr(t.buf, re.buf) != NULL);
        sb_free(&re);
    }
    notes_free(n, nn);
    const char *bad[] = {
        "yuanzhu/ab\n3\n",                     /* no signature */
        "yuanzhu/ab\n3\n\nnot a signature\n",  /* not a signature line */
        "yuanzhu/ab\n3\n\n\xE2\x80\x94 k AAAA", /* cut short */
        "yuanzhu/ab\r\n3\r\n",                 /* CR line ends */
        "yuanzhu/ab\n3\n\n\xE2\x80\x94 k !!!!\n", /* not base64 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_INT(notes_parse(bad[i], strlen(bad[i]), "cp", &n, &nn, &d), YZ_EPARSE);
        CHECK(n == NULL && nn == 0);
    }
    sb_free(&t);
    yz_key_free(k);
    yz_key_free(other);
    yz_diags_free(&d);
}

/* signs body (a manifest) with k and sets it as rs's signature file */
static void set_signature(yz_ruleset *rs, const char *body, const yz_key *k)
{
    strbuf t = STRBUF_INIT;
    sb_adds(&t, body);
    sb_addc(&t, '\n');
    note_sign(&t, body, strlen(body), k);
    yz_free(rs->sig_text);
    rs->sig_len = t.len;
    rs->sig_text = sb_release(&t);
    if (!rs->sig_file)
        rs->sig_file = yz_strdup("ruleset.sig");
}

static void manifests(void)
{
    yz_diags d;
    yz_diags_init(&d);
    yz_ruleset *rs = NULL;
    yz_key *k = NULL;
    CHECK_INT(yz_ruleset_load(".", "guangdong", &rs, &d), YZ_OK);
    yz_key_generate("sm2", &k, &d);
    if (!rs || !k) {
        yz_ruleset_free(rs);
        yz_key_free(k);
        yz_diags_free(&d);
        return;
    }
    const yz_key *keys[] = {k};
    CHECK(!yz_ruleset_has_signature(rs)); /* the tree's provinces are not signed */
    CHECK_INT(yz_ruleset_verify(rs, keys, 1, false, &d), YZ_OK);
    CHECK(yz_ruleset_signer(rs) == NULL);
    CHECK_INT(yz_ruleset_verify(rs, keys, 1, true, &d), YZ_EPOLICY);
    CHECK(has_error(&d, "is not signed"));
    char *text = NULL;
    CHECK_INT(yz_ruleset_sign(rs, k, NULL, &text, &d), YZ_OK);
    char *m = yz_ruleset_manifest(rs);
    CHECK(text && !strncmp(text, m, strlen(m)) && text[strlen(m)] == '\n');
    CHECK(!strncmp(m, "yuanzhu ruleset guangdong\n", 26));
    set_signature(rs, m, k);
    CHECK_INT(yz_ruleset_verify(rs, keys, 1, true, &d), YZ_OK);
    CHECK_STR(yz_ruleset_signer(rs), yz_key_name(k));
    yz_diags_free(&d);
    yz_diags_init(&d);
    CHECK_INT(yz_ruleset_verify(rs, NULL, 0, false, &d), YZ_EPOLICY); /* signed, nothing to check it with */
    CHECK(has_error(&d, "no key to check the signature"));
    CHECK(yz_ruleset_signer(rs) == NULL);
    /* manifests that differ from the files, each correctly signed: each difference is named */
    char *policy = strstr(m, "  provinces/guangdong/policy.yaml\n");
    CHECK(policy != NULL);
    if (policy) {
        strbuf e = STRBUF_INIT;
        /* a changed hash */
        sb_adds(&e, m);
        e.buf[policy - m - 1] = e.buf[policy - m - 1] == '0' ? '1' : '0';
        set_signature(rs, e.buf, k);
        yz_diags_free(&d);
        yz_diags_init(&d);
        CHECK_INT(yz_ruleset_verify(rs, keys, 1, false, &d), YZ_EPOLICY);
        CHECK(has_error(&d, "changed after the ruleset was signed"));
        /* the file missing from the manifest (added since), and one in it the ruleset lacks */
        sb_clear(&e);
        const char *line = policy - 64, *next = strchr(policy, '\n') + 1;
        sb_add(&e, m, (size_t)(line - m));
        sb_adds(&e, "0000000000000000000000000000000000000000000000000000000000000000  provinces/guangdong/old.yaml\n");
        sb_adds(&e, next);
        set_signature(rs, e.buf, k);
        yz_diags_free(&d);
        yz_diags_init(&d);
        CHECK_INT(yz_ruleset_verify(rs, keys, 1, false, &d), YZ_EPOLICY);
        CHECK(has_error(&d, "not in the signed manifest"));
        CHECK(has_error(&d, "provinces/guangdong/old.yaml was signed but is no longer part of the ruleset"));
        /* another province's manifest */
        sb_clear(&e);
        sb_adds(&e, "yuanzhu ruleset zhejiang\n");
        sb_adds(&e, strchr(m, '\n') + 1);
        set_signature(rs, e.buf, k);
        CHECK_INT(yz_ruleset_verify(rs, keys, 1, false, &d), YZ_EPOLICY);
        CHECK(has_error(&d, "another ruleset"));
        sb_free(&e);
    }
    /* a countersignature keeps the first signer's line */
    yz_key *k2 = NULL;
    yz_key_generate("ed25519", &k2, &d);
    char *both = NULL;
    CHECK_INT(yz_ruleset_sign(rs, k2, text, &both, &d), YZ_OK);
    if (both) {
        CHECK(strstr(both, yz_key_name(k)) && strstr(both, yz_key_name(k2)));
        yz_free(rs->sig_text);
        rs->sig_text = yz_strdup(both);
        rs->sig_len = strlen(both);
        const yz_key *second[] = {k2};
        CHECK_INT(yz_ruleset_verify(rs, second, 1, true, &d), YZ_OK);
        CHECK_STR(yz_ruleset_signer(rs), yz_key_name(k2));
    }
    yz_free(both);
    yz_key_free(k2);
    yz_free(m);
    yz_free(text);
    yz_key_free(k);
    yz_ruleset_free(rs);
    yz_diags_free(&d);
}

void test_sign(void)
{
    keys();
    hmac();
    notes();
    manifests();
}

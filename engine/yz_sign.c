/* yz_sign.c: keys and signatures through OpenSSL 3's EVP interface (SM2 with SM3, Ed25519), the
 * secrets of keyed chains, and the signed-note text they sign. */
#include "yz_sign.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <string.h>

#include "yz_diag.h"
#include "yz_hash.h"

struct yz_key {
    key_kind kind;
    EVP_PKEY *pkey;         /* SM2, Ed25519 */
    bool priv;
    unsigned char *secret;  /* HMAC */
    size_t nsecret;
    unsigned char id[4];    /* the first bytes of the fingerprint: the key id of signature lines */
    char name[40];          /* "sm2:" + 16 hex digits of the fingerprint */
};

#define HMAC_MIN_BYTES 16
#define HMAC_NEW_BYTES 32
static const char KEY_DOMAIN[] = "yuanzhu chain key\n"; /* the fingerprint of a secret is keyed apart */

static const char *kind_name(key_kind k)
{
    return k == KEY_SM2 ? "sm2" : k == KEY_ED25519 ? "ed25519" : "hmac";
}

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* the name and id from a fingerprint (SHA-256 of the public key's DER, or of the keyed secret) */
static void set_name(yz_key *k, const char hex[65])
{
    for (int i = 0; i < 4; i++)
        k->id[i] = (unsigned char)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
    snprintf(k->name, sizeof k->name, "%s:%.16s", kind_name(k->kind), hex);
}

static int finish_pkey(yz_key *k, EVP_PKEY *pkey, bool priv, const char *source, yz_diags *d)
{
    if (EVP_PKEY_is_a(pkey, "SM2"))
        k->kind = KEY_SM2;
    else if (EVP_PKEY_is_a(pkey, "ED25519"))
        k->kind = KEY_ED25519;
    else {
        diag_add(d, YZ_SEV_ERROR, source, 0, 0, "a %s key: yuanzhu signs with sm2 or ed25519 keys (make one with yuanzhu key new)",
                 EVP_PKEY_get0_type_name(pkey));
        EVP_PKEY_free(pkey);
        return YZ_EUSAGE;
    }
    k->pkey = pkey;
    k->priv = priv;
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(pkey, &der);
    if (n <= 0)
        yz_out_of_memory(0);
    char hex[65];
    hash_hex(YZ_HASH_SHA256, der, (size_t)n, hex);
    OPENSSL_free(der);
    set_name(k, hex);
    return YZ_OK;
}

static void set_secret(yz_key *k, const unsigned char *s, size_t n)
{
    k->kind = KEY_HMAC;
    k->priv = true;
    k->secret = yz_malloc(n);
    memcpy(k->secret, s, n);
    k->nsecret = n;
    yz_hasher *h = hasher_new(YZ_HASH_SHA256);
    hasher_update(h, KEY_DOMAIN, sizeof KEY_DOMAIN - 1);
    hasher_update(h, s, n);
    char hex[65];
    hasher_final(h, hex);
    set_name(k, hex);
}

int yz_key_generate(const char *alg, yz_key **out, yz_diags *d)
{
    *out = NULL;
    yz_key *k = yz_calloc(1, sizeof *k);
    if (alg && !strcmp(alg, "hmac")) {
        unsigned char s[HMAC_NEW_BYTES];
        if (RAND_bytes(s, sizeof s) != 1) {
            yz_free(k);
            diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "the system's random number generator failed: no key was made");
            return YZ_EINTERNAL;
        }
        set_secret(k, s, sizeof s);
        OPENSSL_cleanse(s, sizeof s);
        *out = k;
        return YZ_OK;
    }
    if (!alg || (strcmp(alg, "sm2") && strcmp(alg, "ed25519"))) {
        yz_free(k);
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "unknown key algorithm '%s': use sm2, ed25519 or hmac", alg ? alg : "");
        return YZ_EUSAGE;
    }
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, !strcmp(alg, "sm2") ? "SM2" : "ED25519");
    if (!pkey) {
        yz_free(k);
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "this OpenSSL cannot make %s keys", alg);
        return YZ_EINTERNAL;
    }
    int rc = finish_pkey(k, pkey, true, NULL, d);
    if (rc != YZ_OK) {
        yz_free(k);
        return rc;
    }
    *out = k;
    return YZ_OK;
}

/* a PEM passphrase is never asked for: OpenSSL would prompt on the terminal */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

int yz_key_parse(const char *text, size_t len, const char *source, yz_key **out, yz_diags *d)
{
    *out = NULL;
    size_t a = 0, b = len;
    while (a < b && strchr(" \t\r\n", text[a]))
        a++;
    while (b > a && strchr(" \t\r\n", text[b - 1]))
        b--;
    yz_key *k = yz_calloc(1, sizeof *k);
    if (b - a > 10 && !memcmp(text + a, "-----BEGIN", 10)) {
        if (memmem(text + a, b - a, "ENCRYPTED", 9)) {
            diag_add(d, YZ_SEV_ERROR, source, 0, 0,
                     "the private key is encrypted: yuanzhu reads unencrypted PEM keys (openssl pkey -in KEY -out PLAIN), "
                     "kept readable by their owner only");
            yz_free(k);
            return YZ_EUSAGE;
        }
        bool pub = memmem(text + a, b - a, "PUBLIC KEY-----", 15) != NULL;
        BIO *bio = BIO_new_mem_buf(text + a, (int)(b - a));
        if (!bio)
            yz_out_of_memory(0);
        EVP_PKEY *pkey = pub ? PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL)
                             : PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
        BIO_free(bio);
        if (!pkey) {
            diag_add(d, YZ_SEV_ERROR, source, 0, 0, "not a readable PEM %s key (damaged, or of a kind OpenSSL cannot read)",
                     pub ? "public" : "private");
            yz_free(k);
            return YZ_EPARSE;
        }
        int rc = finish_pkey(k, pkey, !pub, source, d);
        if (rc != YZ_OK) {
            yz_free(k);
            return rc;
        }
        *out = k;
        return YZ_OK;
    }
    /* a chain secret: hex digits (as yuanzhu key new --alg hmac or openssl rand -hex 32 write it) */
    size_t n = b - a;
    bool hex = n % 2 == 0 && n >= 2 * HMAC_MIN_BYTES;
    for (size_t i = a; i < b && hex; i++)
        hex = hexval((unsigned char)text[i]) >= 0;
    if (!hex) {
        diag_add(d, YZ_SEV_ERROR, source, 0, 0,
                 "not a key: expected a PEM key (-----BEGIN ...) or a chain secret of at least %d hex digits "
                 "(yuanzhu key new makes both)",
                 2 * HMAC_MIN_BYTES);
        yz_free(k);
        return YZ_EPARSE;
    }
    unsigned char *s = yz_malloc(n / 2);
    for (size_t i = 0; i < n / 2; i++)
        s[i] = (unsigned char)(hexval(text[a + 2 * i]) << 4 | hexval(text[a + 2 * i + 1]));
    set_secret(k, s, n / 2);
    OPENSSL_cleanse(s, n / 2);
    yz_free(s);
    *out = k;
    return YZ_OK;
}

int yz_key_read(const char *path, yz_key **out, yz_diags *d)
{
    *out = NULL;
    char *text;
    size_t len;
    int e = yz_read_file(path, 1u << 16, &text, &len);
    if (e) {
        diag_add(d, YZ_SEV_ERROR, path, 0, 0, "cannot read the key: %s", strerror(e));
        return YZ_EIO;
    }
    int rc = yz_key_parse(text, len, path, out, d);
    OPENSSL_cleanse(text, len);
    yz_free(text);
    return rc;
}

void yz_key_free(yz_key *k)
{
    if (!k)
        return;
    EVP_PKEY_free(k->pkey);
    if (k->secret) {
        OPENSSL_cleanse(k->secret, k->nsecret);
        yz_free(k->secret);
    }
    yz_free(k);
}

const char *yz_key_name(const yz_key *k)
{
    return k->name;
}

const char *yz_key_alg(const yz_key *k)
{
    return kind_name(k->kind);
}

bool yz_key_is_private(const yz_key *k)
{
    return k->priv;
}

static char *bio_text(BIO *bio)
{
    char *p;
    long n = BIO_get_mem_data(bio, &p);
    char *s = yz_strndup(p, n > 0 ? (size_t)n : 0);
    BIO_free(bio);
    return s;
}

char *yz_key_private_text(const yz_key *k)
{
    if (!k->priv)
        return NULL;
    if (k->kind == KEY_HMAC) {
        static const char digits[] = "0123456789abcdef";
        char *s = yz_malloc(2 * k->nsecret + 2);
        for (size_t i = 0; i < k->nsecret; i++) {
            s[2 * i] = digits[k->secret[i] >> 4];
            s[2 * i + 1] = digits[k->secret[i] & 15];
        }
        s[2 * k->nsecret] = '\n';
        s[2 * k->nsecret + 1] = '\0';
        return s;
    }
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio || PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL) != 1)
        yz_out_of_memory(0);
    return bio_text(bio);
}

char *yz_key_public_pem(const yz_key *k)
{
    if (k->kind == KEY_HMAC)
        return NULL;
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio || PEM_write_bio_PUBKEY(bio, k->pkey) != 1)
        yz_out_of_memory(0);
    return bio_text(bio);
}

yz_key *key_from_public_pem(const char *pem)
{
    yz_key *k = NULL;
    if (yz_key_parse(pem, strlen(pem), NULL, &k, NULL) != YZ_OK || k->kind == KEY_HMAC || k->priv) {
        yz_key_free(k);
        return NULL;
    }
    return k;
}

key_kind key_kind_of(const yz_key *k)
{
    return k->kind;
}

const unsigned char *key_secret(const yz_key *k, size_t *n)
{
    *n = k->nsecret;
    return k->secret;
}

/* A digest-sign context for k: SM2 with SM3 and the distinguishing ID set explicitly (OpenSSL 3.0
   would use an empty one, which GB/T 32918 implementations do not), Ed25519 without a digest (it
   hashes the message itself).  *pctx, the SM2 context, is freed by the caller after mctx. */
static EVP_MD_CTX *sign_ctx(const yz_key *k, bool sign, EVP_PKEY_CTX **pctx)
{
    *pctx = NULL;
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    if (!mctx)
        yz_out_of_memory(0);
    const char *md = NULL;
    if (k->kind == KEY_SM2) {
        *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
        if (!*pctx || EVP_PKEY_CTX_set1_id(*pctx, YZ_SM2_ID, sizeof YZ_SM2_ID - 1) != 1) {
            EVP_MD_CTX_free(mctx);
            EVP_PKEY_CTX_free(*pctx);
            *pctx = NULL;
            return NULL;
        }
        EVP_MD_CTX_set_pkey_ctx(mctx, *pctx);
        md = "SM3";
    }
    int ok = sign ? EVP_DigestSignInit_ex(mctx, NULL, md, NULL, NULL, k->pkey, NULL)
                  : EVP_DigestVerifyInit_ex(mctx, NULL, md, NULL, NULL, k->pkey, NULL);
    if (ok != 1) {
        EVP_MD_CTX_free(mctx);
        EVP_PKEY_CTX_free(*pctx);
        *pctx = NULL;
        return NULL;
    }
    return mctx;
}

int key_sign(const yz_key *k, const void *msg, size_t n, strbuf *sig)
{
    if (k->kind == KEY_HMAC || !k->priv)
        return -1;
    EVP_PKEY_CTX *pctx;
    EVP_MD_CTX *mctx = sign_ctx(k, true, &pctx);
    if (!mctx)
        return -1;
    size_t len = 0;
    int rc = -1;
    if (EVP_DigestSign(mctx, NULL, &len, msg, n) == 1) {
        sb_grow(sig, len);
        if (EVP_DigestSign(mctx, (unsigned char *)sig->buf + sig->len, &len, msg, n) == 1) {
            sig->len += len;
            sig->buf[sig->len] = '\0';
            rc = 0;
        }
    }
    EVP_MD_CTX_free(mctx);
    EVP_PKEY_CTX_free(pctx);
    return rc;
}

bool key_verify(const yz_key *k, const void *msg, size_t n, const void *sig, size_t siglen)
{
    if (k->kind == KEY_HMAC)
        return false;
    EVP_PKEY_CTX *pctx;
    EVP_MD_CTX *mctx = sign_ctx(k, false, &pctx);
    if (!mctx)
        return false;
    bool ok = EVP_DigestVerify(mctx, sig, siglen, msg, n) == 1;
    EVP_MD_CTX_free(mctx);
    EVP_PKEY_CTX_free(pctx);
    return ok;
}

/* ---- signed notes ---- */

static const char DASH[] = "\xE2\x80\x94 "; /* U+2014 and a space */

static void sig_line(strbuf *out, const char *name, const void *blob, size_t n)
{
    unsigned char *b64 = yz_malloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock(b64, blob, (int)n);
    sb_addf(out, "%s%s %s\n", DASH, name, (const char *)b64);
    yz_free(b64);
}

int note_sign(strbuf *out, const char *body, size_t nbody, const yz_key *k)
{
    strbuf blob = STRBUF_INIT;
    sb_add(&blob, k->id, 4);
    if (key_sign(k, body, nbody, &blob) != 0) {
        sb_free(&blob);
        return -1;
    }
    sig_line(out, k->name, blob.buf, blob.len);
    sb_free(&blob);
    return 0;
}

void note_sig_line(strbuf *out, const note_sig *sg)
{
    sig_line(out, sg->name, sg->blob, sg->nblob);
}

/* decodes standard base64 (with its padding); NULL when it is not */
static unsigned char *unbase64(const char *s, size_t n, size_t *out)
{
    if (n == 0 || n % 4 != 0 || n > 4096)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '+' || s[i] == '/' || (s[i] == '=' && i >= n - 2)))
            return NULL;
    unsigned char *b = yz_malloc(n / 4 * 3 + 1);
    int r = EVP_DecodeBlock(b, (const unsigned char *)s, (int)n);
    if (r < 0) {
        yz_free(b);
        return NULL;
    }
    size_t pad = (s[n - 1] == '=') + (s[n - 2] == '=');
    *out = (size_t)r - pad;
    return b;
}

static bool parse_sig_line(const char *l, size_t n, note_sig *sg)
{
    size_t dl = sizeof DASH - 1;
    if (n <= dl || memcmp(l, DASH, dl) != 0)
        return false;
    const char *name = l + dl, *end = l + n;
    const char *sp = memchr(name, ' ', (size_t)(end - name));
    if (!sp || sp == name)
        return false;
    size_t nb;
    unsigned char *blob = unbase64(sp + 1, (size_t)(end - sp - 1), &nb);
    if (!blob || nb <= 4) {
        yz_free(blob);
        return false;
    }
    sg->name = yz_strndup(name, (size_t)(sp - name));
    sg->blob = blob;
    sg->nblob = nb;
    return true;
}

int notes_parse(const char *text, size_t len, const char *source, note **out, size_t *count, yz_diags *d)
{
    *out = NULL;
    *count = 0;
    size_t cap = 0, pos = 0;
    int line = 1;
    int rc = YZ_OK;
    if (memchr(text, '\r', len)) {
        diag_add(d, YZ_SEV_ERROR, source, 0, 0,
                 "the text has CR line ends (it was converted, e.g. on Windows): its signed bytes are no longer the "
                 "ones signed; use the file as it was written, with LF line ends");
        return YZ_EPARSE;
    }
    while (pos < len && rc == YZ_OK) {
        if (text[pos] == '\n') { /* empty lines between notes */
            pos++;
            line++;
            continue;
        }
        note nt = {text + pos, 0, line, NULL, 0};
        /* the body: up to the first empty line */
        while (pos < len && text[pos] != '\n') {
            const char *nl = memchr(text + pos, '\n', len - pos);
            if (!nl) {
                diag_add(d, YZ_SEV_ERROR, source, line, 0, "the last line has no line end: the text was cut short");
                rc = YZ_EPARSE;
                break;
            }
            pos = (size_t)(nl - text) + 1;
            line++;
        }
        if (rc != YZ_OK)
            break;
        nt.nbody = (size_t)(text + pos - nt.body);
        if (pos >= len) {
            diag_add(d, YZ_SEV_ERROR, source, nt.line, 0,
                     "this note has no signature: an empty line and then lines '— KEY SIGNATURE' must follow its text");
            rc = YZ_EPARSE;
            break;
        }
        pos++; /* the empty line */
        line++;
        size_t scap = 0;
        while (pos < len && text[pos] != '\n') {
            const char *nl = memchr(text + pos, '\n', len - pos);
            size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
            note_sig sg = {NULL, NULL, 0, line};
            if (!nl || !parse_sig_line(text + pos, n, &sg)) {
                diag_add(d, YZ_SEV_ERROR, source, line, 1,
                         !nl ? "the last line has no line end: the text was cut short"
                             : "not a signature line: expected '— KEY BASE64' (an em dash, the key name, the signature); "
                               "separate notes with an empty line");
                rc = YZ_EPARSE;
                break;
            }
            if (nt.nsigs == scap) {
                scap = scap ? 2 * scap : 2;
                nt.sigs = yz_realloc(nt.sigs, scap * sizeof *nt.sigs);
            }
            nt.sigs[nt.nsigs++] = sg;
            pos += n + 1;
            line++;
        }
        if (rc == YZ_OK && !nt.nsigs) {
            diag_add(d, YZ_SEV_ERROR, source, line, 0, "the note has no signature lines after its empty line");
            rc = YZ_EPARSE;
        }
        if (*count == cap) {
            cap = cap ? 2 * cap : 4;
            *out = yz_realloc(*out, cap * sizeof **out);
        }
        (*out)[(*count)++] = nt;
    }
    if (rc != YZ_OK) {
        notes_free(*out, *count);
        *out = NULL;
        *count = 0;
    }
    return rc;
}

void notes_free(note *notes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < notes[i].nsigs; j++) {
            yz_free(notes[i].sigs[j].name);
            yz_free(notes[i].sigs[j].blob);
        }
        yz_free(notes[i].sigs);
    }
    yz_free(notes);
}

int note_check(const note *n, const yz_key *k)
{
    int r = 0;
    for (size_t i = 0; i < n->nsigs; i++) {
        const note_sig *sg = &n->sigs[i];
        if (strcmp(sg->name, k->name) != 0 || memcmp(sg->blob, k->id, 4) != 0)
            continue;
        if (key_verify(k, n->body, n->nbody, sg->blob + 4, sg->nblob - 4))
            return 1;
        r = -1;
    }
    return r;
}

void note_signers(const note *n, strbuf *sb)
{
    for (size_t i = 0; i < n->nsigs; i++)
        sb_addf(sb, "%s%s", i ? ", " : "", n->sigs[i].name);
}

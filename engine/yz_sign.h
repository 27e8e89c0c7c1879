/* yz_sign.h: signing keys (SM2 with SM3, Ed25519), chain secrets (HMAC) and the signed-note text
 * of checkpoints and ruleset signatures.  yz_sign.c is, with yz_hash.c, the only user of OpenSSL;
 * the public half of the key API is in yuanzhu.h (yz_key_*).  Internal to the engine. */
#ifndef YZ_SIGN_H
#define YZ_SIGN_H

#include <stdbool.h>
#include <stddef.h>

#include "yuanzhu.h"
#include "yz_util.h"

typedef enum key_kind { KEY_SM2, KEY_ED25519, KEY_HMAC } key_kind;

key_kind key_kind_of(const yz_key *k);
/* The secret of an HMAC key (its bytes, n set), NULL for a signing key. */
const unsigned char *key_secret(const yz_key *k, size_t *n);
/* Signs msg with a private SM2 (SM3, YZ_SM2_ID) or Ed25519 key: the signature (DER for SM2, 64
 * bytes for Ed25519) is appended to sig.  Returns 0, or -1 when k cannot sign. */
int key_sign(const yz_key *k, const void *msg, size_t n, strbuf *sig);
/* True when sig is k's signature of msg (private or public k). */
bool key_verify(const yz_key *k, const void *msg, size_t n, const void *sig, size_t siglen);
/* Decodes the public key of a PEM text into a key (for keys the store keeps); NULL when it is not one. */
yz_key *key_from_public_pem(const char *pem);

/* ---- signed notes ----
 *
 * The text format of checkpoints and ruleset signatures, after the transparency-log signed note
 * (c2sp.org/signed-note): a body of one or more non-empty lines, each ending in '\n'; an empty
 * line; then one signature line per signer,
 *     "— NAME BASE64\n"   (U+2014 EM DASH, a space, the key name, a space)
 * where BASE64 holds the first 4 bytes of the key's fingerprint followed by the signature of the
 * body's exact bytes.  A file may hold several notes, separated by empty lines. */
typedef struct note_sig {
    char *name;          /* "sm2:9c1f3b7a2e4d6f80" */
    unsigned char *blob; /* key id (4 bytes) || signature */
    size_t nblob;
    int line;
} note_sig;

typedef struct note {
    const char *body; /* points into the parsed text */
    size_t nbody;
    int line;         /* of its first body line */
    note_sig *sigs;
    size_t nsigs;
} note;

/* Splits text into notes.  Problems go to d at source:line; returns YZ_OK or YZ_EPARSE. */
int notes_parse(const char *text, size_t len, const char *source, note **out, size_t *n, yz_diags *d);
void notes_free(note *notes, size_t n);
/* Appends k's signature line for body to out; -1 when k cannot sign. */
int note_sign(strbuf *out, const char *body, size_t nbody, const yz_key *k);
/* Appends a parsed signature line again, as it was written. */
void note_sig_line(strbuf *out, const note_sig *sg);
/* 1: a signature line of k verifies; -1: a line in k's name does not; 0: none is in k's name. */
int note_check(const note *n, const yz_key *k);
/* The names of the note's signers, ", "-separated, into sb. */
void note_signers(const note *n, strbuf *sb);

#endif

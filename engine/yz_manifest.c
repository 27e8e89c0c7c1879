/* yz_manifest.c: signed rulesets: a ruleset's manifest (each file's logical path and SHA-256),
 * the signature file a policy folder may carry over it, and checking it before a ruleset decides
 * anything. */
#include <errno.h>
#include <string.h>

#include "yz_diag.h"
#include "yz_hash.h"
#include "yz_policy.h"
#include "yz_sign.h"

void manifest_begin(strbuf *sb, const char *province)
{
    sb_addf(sb, "yuanzhu ruleset %s\n", province);
}

void manifest_file(strbuf *sb, const char *sha256_hex, const char *path)
{
    sb_addf(sb, "%s  %s\n", sha256_hex, path);
}

char *yz_ruleset_manifest(const yz_ruleset *rs)
{
    strbuf sb = STRBUF_INIT;
    manifest_begin(&sb, rs->province);
    for (size_t i = 0; i < rs->nfiles; i++) {
        char hex[65];
        hash_hex(YZ_HASH_SHA256, rs->pub_files[i].data, rs->pub_files[i].len, hex);
        manifest_file(&sb, hex, rs->pub_files[i].path);
    }
    return sb_release(&sb);
}

void ruleset_read_signature(yz_ruleset *rs, const char *path, const char *shown)
{
    rs->sig_file = yz_strdup(shown);
    int e = yz_read_file(path, 1u << 20, &rs->sig_text, &rs->sig_len);
    if (e == ENOENT) {
        rs->sig_text = NULL;
        return;
    }
    if (e == ENOMEM)
        yz_out_of_memory(0);
    rs->sig_errno = e; /* there is something, and it cannot be read: never taken as "unsigned" */
}

bool yz_ruleset_has_signature(const yz_ruleset *rs)
{
    return rs->sig_text || rs->sig_errno;
}

const char *yz_ruleset_signer(const yz_ruleset *rs)
{
    return rs->signer;
}

const char *ruleset_signer_pem(const yz_ruleset *rs)
{
    return rs->signer_pem;
}

const char *ruleset_signature_note(const yz_ruleset *rs)
{
    return rs->sig_note;
}

int yz_ruleset_sign(const yz_ruleset *rs, const yz_key *key, const char *existing, char **text, yz_diags *d)
{
    *text = NULL;
    if (!yz_key_is_private(key) || key_kind_of(key) == KEY_HMAC) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "%s is %s: a ruleset is signed with a private sm2 or ed25519 key",
                 yz_key_name(key), key_kind_of(key) == KEY_HMAC ? "a chain secret" : "a public key");
        return YZ_EUSAGE;
    }
    for (size_t i = 0; i < rs->nfiles; i++)
        if (strchr(rs->pub_files[i].path, '\n')) {
            diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "a file name holds a line break; rename it before signing");
            return YZ_EPOLICY;
        }
    char *manifest = yz_ruleset_manifest(rs);
    size_t nm = strlen(manifest);
    strbuf out = STRBUF_INIT;
    sb_add(&out, manifest, nm);
    sb_addc(&out, '\n');
    /* a countersignature keeps the others' lines when they sign the same manifest */
    note *notes = NULL;
    size_t nn = 0;
    if (existing && notes_parse(existing, strlen(existing), NULL, &notes, &nn, NULL) == YZ_OK && nn == 1 &&
        notes[0].nbody == nm && !memcmp(notes[0].body, manifest, nm))
        for (size_t i = 0; i < notes[0].nsigs; i++)
            if (strcmp(notes[0].sigs[i].name, yz_key_name(key)) != 0)
                note_sig_line(&out, &notes[0].sigs[i]);
    notes_free(notes, nn);
    int rc = note_sign(&out, manifest, nm, key);
    yz_free(manifest);
    if (rc != 0) {
        sb_free(&out);
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "OpenSSL could not sign with %s", yz_key_name(key));
        return YZ_EINTERNAL;
    }
    *text = sb_release(&out);
    return YZ_OK;
}

/* the signed manifest against the ruleset's files: each difference named; true when none */
static bool same_files(const yz_ruleset *rs, const note *nt, yz_diags *d)
{
    char *manifest = yz_ruleset_manifest(rs);
    bool same = nt->nbody == strlen(manifest) && !memcmp(nt->body, manifest, nt->nbody);
    yz_free(manifest);
    if (same)
        return true;
    const char *p = nt->body, *end = nt->body + nt->nbody;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    strbuf first = STRBUF_INIT;
    manifest_begin(&first, rs->province);
    size_t errors = d ? d->n_errors : 0;
    if ((size_t)(nl + 1 - p) != first.len || memcmp(p, first.buf, first.len) != 0)
        diag_add(d, YZ_SEV_ERROR, rs->sig_file, nt->line, 1,
                 "this signature is of another ruleset ('%.*s'), not of %s: sign this folder's own ruleset",
                 (int)(nl - p), p, rs->province);
    sb_free(&first);
    p = nl + 1;
    int line = nt->line + 1;
    size_t i = 0; /* the ruleset's files and the manifest's lines, both sorted by path */
    while (p < end || i < rs->nfiles) {
        const char *path = NULL, *hash = NULL;
        size_t plen = 0;
        if (p < end) {
            nl = memchr(p, '\n', (size_t)(end - p));
            if (nl - p > 66 && p[64] == ' ' && p[65] == ' ') {
                hash = p;
                path = p + 66;
                plen = (size_t)(nl - path);
            } else {
                diag_add(d, YZ_SEV_ERROR, rs->sig_file, line, 1, "not a manifest line: expected 'SHA256  PATH'");
                p = nl + 1;
                line++;
                continue;
            }
        }
        const yz_file *f = i < rs->nfiles ? &rs->pub_files[i] : NULL;
        int c = !path ? 1 : !f ? -1 : strncmp(path, f->path, plen) ? strncmp(path, f->path, plen) : f->path[plen] ? -1 : 0;
        if (c < 0) {
            diag_add(d, YZ_SEV_ERROR, rs->sig_file, line, 67,
                     "%.*s was signed but is no longer part of the ruleset (removed or renamed since): sign the ruleset "
                     "again, or restore the file",
                     (int)plen, path);
        } else if (c > 0) {
            diag_add(d, YZ_SEV_ERROR, ruleset_display(rs, f->path), 0, 0,
                     "not in the signed manifest %s (added after the ruleset was signed): sign the ruleset again, or "
                     "remove the file",
                     rs->sig_file);
        } else {
            char hex[65];
            hash_hex(YZ_HASH_SHA256, f->data, f->len, hex);
            if (strncmp(hex, hash, 64) != 0)
                diag_add(d, YZ_SEV_ERROR, ruleset_display(rs, f->path), 0, 0,
                         "changed after the ruleset was signed (%s signs sha256 %.12s..., the file is now %.12s...): "
                         "sign the ruleset again (yuanzhu sign), or restore the signed file",
                         rs->sig_file, hash, hex);
        }
        if (c <= 0) {
            p = nl + 1;
            line++;
        }
        if (c >= 0)
            i++;
    }
    if (d && d->n_errors == errors)
        diag_add(d, YZ_SEV_ERROR, rs->sig_file, nt->line, 1, "the signed manifest is not this ruleset's");
    return false;
}

int ruleset_check_signature(yz_ruleset *rs, const yz_key *const *keys, size_t n, const char *required_by, yz_diags *d)
{
    yz_free(rs->signer);
    yz_free(rs->signer_pem);
    yz_free(rs->sig_note);
    rs->signer = rs->signer_pem = rs->sig_note = NULL;
    const char *file = rs->sig_file;
    if (rs->sig_errno) {
        diag_add(d, YZ_SEV_ERROR, file, 0, 0, "cannot read the ruleset's signature: %s", strerror(rs->sig_errno));
        return YZ_EPOLICY;
    }
    if (!rs->sig_text) {
        if (!required_by)
            return YZ_OK;
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0,
                 "the %s ruleset is not signed (there is no %s), and %s: sign it (yuanzhu sign --key KEY FOLDER) or "
                 "use a signed one",
                 rs->province, file ? file : YZ_RULESET_SIGNATURE, required_by);
        return YZ_EPOLICY;
    }
    if (!n) {
        diag_add(d, YZ_SEV_ERROR, file, 0, 0,
                 "the ruleset is signed, but no key to check the signature is configured (a signature nobody checks "
                 "proves nothing): give the signer's public key with --ruleset-key FILE (or YUANZHU_RULESET_KEY), or "
                 "let the store trust it (yuanzhu key trust)");
        return YZ_EPOLICY;
    }
    note *notes;
    size_t nn;
    if (notes_parse(rs->sig_text, rs->sig_len, file, &notes, &nn, d) != YZ_OK)
        return YZ_EPOLICY;
    int rc = YZ_EPOLICY;
    if (nn != 1) {
        diag_add(d, YZ_SEV_ERROR, file, 0, 0,
                 "holds %zu signed texts: a ruleset signature is one manifest followed by its signature lines", nn);
        notes_free(notes, nn);
        return YZ_EPOLICY;
    }
    const yz_key *by = NULL;
    const yz_key *bad = NULL;
    for (size_t i = 0; i < n && !by; i++) {
        int r = note_check(&notes[0], keys[i]);
        if (r > 0)
            by = keys[i];
        else if (r < 0 && !bad)
            bad = keys[i];
    }
    if (!by && bad) {
        diag_add(d, YZ_SEV_ERROR, file, notes[0].line, 1,
                 "the signature by %s does not verify: the manifest or the signature was changed after signing",
                 yz_key_name(bad));
    } else if (!by) {
        strbuf signers = STRBUF_INIT, known = STRBUF_INIT;
        note_signers(&notes[0], &signers);
        for (size_t i = 0; i < n; i++)
            sb_addf(&known, "%s%s", i ? ", " : "", yz_key_name(keys[i]));
        diag_add(d, YZ_SEV_ERROR, file, notes[0].line, 1,
                 "signed by %s, not by a key configured to check it (%s): refused", signers.buf, known.buf);
        sb_free(&signers);
        sb_free(&known);
    } else if (same_files(rs, &notes[0], d)) {
        rs->signer = yz_strdup(yz_key_name(by));
        rs->signer_pem = yz_key_public_pem(by);
        rs->sig_note = yz_strndup(rs->sig_text, rs->sig_len);
        rc = YZ_OK;
    }
    notes_free(notes, nn);
    return rc;
}

int yz_ruleset_verify(yz_ruleset *rs, const yz_key *const *keys, size_t n, bool required, yz_diags *d)
{
    return ruleset_check_signature(rs, keys, n, required ? "signed rulesets are required (--require-signed)" : NULL,
                                   d);
}

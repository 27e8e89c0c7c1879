/* yz_checkpoint.c: what the store can prove beyond its own chain: signed checkpoints of the
 * chain's head (kept in the store and in a file kept elsewhere), the signatures of the rulesets
 * its decisions used and the keys that made them, and the ruleset keys a store trusts. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "yz_diag.h"
#include "yz_policy.h"
#include "yz_sign.h"
#include "yz_store.h"

#define col_text store_col_text

static int prep(yz_store *st, const char *sql, sqlite3_stmt **s, yz_diags *d)
{
    if (sqlite3_prepare_v2(store_db(st), sql, -1, s, NULL) != SQLITE_OK)
        return store_err(st, d, "cannot prepare a query");
    return YZ_OK;
}

/* prep, with v bound to the query's one parameter */
static int prep_int(yz_store *st, const char *sql, int64_t v, sqlite3_stmt **s, yz_diags *d)
{
    int rc = prep(st, sql, s, d);
    if (rc == YZ_OK)
        sqlite3_bind_int64(*s, 1, v);
    return rc;
}

/* registers a public key under its name (inside the caller's transaction) */
static int add_key(yz_store *st, const yz_key *k, yz_diags *d)
{
    char *pem = yz_key_public_pem(k);
    sqlite3_stmt *s;
    int rc = prep(st, "INSERT OR IGNORE INTO keys (name, alg, pubkey) VALUES (?, ?, ?)", &s, d);
    if (rc == YZ_OK) {
        sqlite3_bind_text(s, 1, yz_key_name(k), -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, yz_key_alg(k), -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, pem, -1, SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = store_err(st, d, "cannot record a public key");
        sqlite3_finalize(s);
    }
    yz_free(pem);
    return rc;
}

/* ---- trusted ruleset keys ---- */

/* the keys the store trusts for rulesets (free each with yz_key_free, then the array) */
static int trusted_keys(yz_store *st, yz_key ***out, size_t *n, yz_diags *d)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *s;
    if (prep(st, "SELECT t.name, k.pubkey FROM trusted_keys t LEFT JOIN keys k ON k.name = t.name ORDER BY t.name", &s,
             d) != YZ_OK)
        return YZ_ESTORE;
    int step;
    int rc = YZ_OK;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        yz_key *k = key_from_public_pem(col_text(s, 1));
        if (!k || strcmp(yz_key_name(k), col_text(s, 0)) != 0) {
            /* a trusted key that is not what its name says cannot be trusted */
            diag_add(d, YZ_SEV_ERROR, store_path(st), 0, 0,
                     "the store's trusted key %s is damaged (its stored public key is not that key): run yuanzhu audit "
                     "verify, and trust the key again",
                     col_text(s, 0));
            yz_key_free(k);
            rc = YZ_ESTORE;
            break;
        }
        *out = yz_realloc(*out, (*n + 1) * sizeof **out);
        (*out)[(*n)++] = k;
    }
    if (rc == YZ_OK && step != SQLITE_DONE)
        rc = store_err(st, d, "cannot read the store's trusted keys");
    sqlite3_finalize(s);
    return rc;
}

static void keys_free(yz_key **keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        yz_key_free(keys[i]);
    yz_free(keys);
}

int yz_store_trust_key(yz_store *st, const yz_key *key, yz_diags *d)
{
    if (key_kind_of(key) == KEY_HMAC) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "%s is a chain secret: a store trusts the public keys of ruleset signers",
                 yz_key_name(key));
        return YZ_EUSAGE;
    }
    if (store_exec(st, "BEGIN IMMEDIATE", d, "cannot lock the store for writing") != YZ_OK)
        return YZ_ESTORE;
    int rc = add_key(st, key, d);
    sqlite3_stmt *s;
    if (rc == YZ_OK && (rc = prep(st, "INSERT OR IGNORE INTO trusted_keys (name, added_at) VALUES (?, ?)", &s, d)) ==
                           YZ_OK) {
        char when[21];
        store_now(when);
        sqlite3_bind_text(s, 1, yz_key_name(key), -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, when, -1, SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = store_err(st, d, "cannot record the trusted key");
        sqlite3_finalize(s);
    }
    if (rc == YZ_OK)
        rc = store_exec(st, "COMMIT", d, "cannot commit");
    if (rc != YZ_OK)
        store_exec(st, "ROLLBACK", NULL, "");
    return rc;
}

static bool among(const char *name, yz_key *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(yz_key_name(keys[i]), name))
            return true;
    return false;
}

static void names_of(yz_key *const *keys, size_t n, strbuf *sb)
{
    for (size_t i = 0; i < n; i++)
        sb_addf(sb, "%s%s", i ? ", " : "", yz_key_name(keys[i]));
}

int yz_store_check_ruleset(yz_store *st, yz_ruleset *rs, const yz_key *const *keys, size_t n, bool required,
                           yz_diags *d)
{
    if (store_need_chain_key(st, d) != YZ_OK)
        return YZ_EUSAGE;
    yz_key **trusted;
    size_t nt;
    if (trusted_keys(st, &trusted, &nt, d) != YZ_OK)
        return YZ_ESTORE;
    const yz_key **all = yz_malloc((nt + n + 1) * sizeof *all);
    for (size_t i = 0; i < nt; i++)
        all[i] = trusted[i];
    for (size_t i = 0; i < n; i++)
        all[nt + i] = keys[i];
    strbuf why = STRBUF_INIT;
    if (nt)
        sb_addf(&why, "the store %s records only rulesets signed by a key it trusts", store_path(st));
    else if (required)
        sb_adds(&why, "signed rulesets are required (--require-signed)");
    int rc = ruleset_check_signature(rs, all, nt + n, why.len ? why.buf : NULL, d);
    if (rc == YZ_OK && nt && !among(yz_ruleset_signer(rs), trusted, nt)) {
        strbuf names = STRBUF_INIT;
        names_of(trusted, nt, &names);
        diag_add(d, YZ_SEV_ERROR, rs->sig_file, 0, 0,
                 "signed by %s, which the store %s does not trust (it trusts %s): use a ruleset signed by one of them, "
                 "or trust the key in the store (yuanzhu key trust)",
                 yz_ruleset_signer(rs), store_path(st), names.buf);
        sb_free(&names);
        rc = YZ_EPOLICY;
    }
    sb_free(&why);
    yz_free(all);
    keys_free(trusted, nt);
    return rc;
}

/* ---- ruleset signatures in the store ---- */

int checkpoint_ruleset_signature(yz_store *st, const yz_ruleset *rs, int64_t rs_row, int64_t *row, yz_diags *d)
{
    *row = 0;
    yz_key **trusted;
    size_t nt;
    if (trusted_keys(st, &trusted, &nt, d) != YZ_OK)
        return YZ_ESTORE;
    const char *signer = yz_ruleset_signer(rs);
    bool ok = !nt || (signer && among(signer, trusted, nt));
    keys_free(trusted, nt);
    if (!ok) {
        diag_add(d, YZ_SEV_ERROR, store_path(st), 0, 0,
                 "this store records only decisions made with rulesets signed by a key it trusts, and the %s ruleset "
                 "%s: check its signature first (yz_store_check_ruleset)",
                 yz_ruleset_province(rs), signer ? "is signed by another key" : "was not checked or is not signed");
        return YZ_EPOLICY;
    }
    if (!signer && yz_ruleset_has_signature(rs)) {
        /* a signature nobody checked is not taken for "unsigned" */
        diag_add(d, YZ_SEV_ERROR, rs->sig_file, 0, 0,
                 "the %s ruleset is signed, but its signature was not checked: check it before deciding "
                 "(yz_store_check_ruleset or yz_ruleset_verify, with the signer's public key)",
                 yz_ruleset_province(rs));
        return YZ_EPOLICY;
    }
    if (!signer)
        return YZ_OK;
    yz_key *k = key_from_public_pem(ruleset_signer_pem(rs));
    int rc = k ? add_key(st, k, d) : YZ_EINTERNAL;
    yz_key_free(k);
    sqlite3_stmt *s;
    if (rc == YZ_OK && (rc = prep(st, "INSERT OR IGNORE INTO ruleset_signatures (ruleset, signer, note) VALUES (?, ?, ?)",
                                  &s, d)) == YZ_OK) {
        sqlite3_bind_int64(s, 1, rs_row);
        sqlite3_bind_text(s, 2, signer, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, ruleset_signature_note(rs), -1, SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = store_err(st, d, "cannot record the ruleset's signature");
        sqlite3_finalize(s);
    }
    if (rc == YZ_OK && (rc = prep(st, "SELECT id FROM ruleset_signatures WHERE ruleset = ? AND signer = ?", &s, d)) ==
                           YZ_OK) {
        sqlite3_bind_int64(s, 1, rs_row);
        sqlite3_bind_text(s, 2, signer, -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW)
            *row = sqlite3_column_int64(s, 0);
        else
            rc = store_err(st, d, "cannot record the ruleset's signature");
        sqlite3_finalize(s);
    }
    return rc;
}

int checkpoint_check_signature(yz_store *st, int64_t sig_row, int64_t rs_row, int64_t seq, char name[48],
                               yz_verify_report *rep, yz_diags *d)
{
    sqlite3_stmt *s;
    if (prep_int(st,
                 "SELECT g.ruleset, g.signer, g.note, k.pubkey, r.province FROM ruleset_signatures g "
                 "LEFT JOIN keys k ON k.name = g.signer LEFT JOIN rulesets r ON r.id = g.ruleset WHERE g.id = ?",
                 sig_row, &s, d) != YZ_OK)
        return YZ_ESTORE;
    int step = sqlite3_step(s);
    if (step != SQLITE_ROW) {
        sqlite3_finalize(s);
        return step == SQLITE_DONE ? store_problem(rep, seq, "the signature of the decision's ruleset is missing (deleted)")
                                   : store_err(st, d, "cannot read a ruleset signature");
    }
    int rc = YZ_OK;
    snprintf(name, 48, "%s", col_text(s, 1));
    yz_key *k = sqlite3_column_type(s, 3) == SQLITE_NULL ? NULL : key_from_public_pem(col_text(s, 3));
    note *notes = NULL;
    size_t nn = 0;
    const char *text = col_text(s, 2);
    if (sqlite3_column_int64(s, 0) != rs_row)
        rc = store_problem(rep, seq, "altered: the signature the decision names belongs to another ruleset");
    else if (!k || strcmp(yz_key_name(k), name) != 0)
        rc = store_problem(rep, seq, "the public key of the ruleset's signer %s is missing or altered", name);
    else if (notes_parse(text, strlen(text), NULL, &notes, &nn, NULL) != YZ_OK || nn != 1 || note_check(&notes[0], k) != 1)
        rc = store_problem(rep, seq, "the ruleset's signature by %s does not verify (altered)", name);
    if (rc == YZ_OK) {
        /* the manifest it signs must be the ruleset's stored files (their hashes were checked with the
           ruleset's registration) */
        strbuf m = STRBUF_INIT;
        manifest_begin(&m, col_text(s, 4));
        sqlite3_stmt *f;
        if ((rc = prep_int(st, "SELECT blob, path FROM ruleset_files WHERE ruleset = ? ORDER BY path", rs_row, &f, d)) ==
            YZ_OK) {
            while ((step = sqlite3_step(f)) == SQLITE_ROW)
                manifest_file(&m, col_text(f, 0), col_text(f, 1));
            if (step != SQLITE_DONE)
                rc = store_err(st, d, "cannot read the ruleset's files");
            sqlite3_finalize(f);
        }
        if (rc == YZ_OK && (m.len != notes[0].nbody || memcmp(m.buf, notes[0].body, m.len) != 0))
            rc = store_problem(rep, seq, "the ruleset signed by %s is not the ruleset the decision used (altered)", name);
        sb_free(&m);
    }
    notes_free(notes, nn);
    yz_key_free(k);
    sqlite3_finalize(s);
    return rc;
}

/* ---- checkpoints ---- */

int checkpoint_check_stored(yz_store *st, int64_t head_seq, yz_verify_report *rep, yz_diags *d)
{
    sqlite3_stmt *s;
    if (prep_int(st,
                 "SELECT c.size, c.made_at FROM checkpoints c LEFT JOIN audit a ON a.seq = c.size "
                 "WHERE c.size > ? OR (c.size > 0 AND (a.hash IS NULL OR a.hash <> c.hash)) ORDER BY c.size LIMIT 1",
                 head_seq, &s, d) != YZ_OK)
        return YZ_ESTORE;
    int step = sqlite3_step(s);
    int rc = YZ_OK;
    if (step == SQLITE_ROW) {
        int64_t size = sqlite3_column_int64(s, 0);
        rc = size > head_seq
                 ? store_problem(rep, head_seq + 1,
                                 "the store's own checkpoint of %s covers %lld events and the chain has %lld: events "
                                 "were removed from its end",
                                 col_text(s, 1), (long long)size, (long long)head_seq)
                 : store_problem(rep, size,
                                 "the store's own checkpoint of %s no longer matches event %lld: the chain was "
                                 "rewritten at or before it",
                                 col_text(s, 1), (long long)size);
    } else if (step != SQLITE_DONE) {
        rc = store_err(st, d, "cannot read the store's checkpoints");
    }
    sqlite3_finalize(s);
    return rc;
}

/* the fields of a checkpoint's text */
typedef struct cpoint {
    const char *origin, *hash, *chain, *time; /* into fields */
    int64_t size;
    char *fields; /* the body, its lines cut at '\n' */
} cpoint;

static int parse_checkpoint(const note *nt, const char *source, cpoint *c, yz_diags *d)
{
    memset(c, 0, sizeof *c);
    c->fields = yz_strndup(nt->body, nt->nbody);
    char *lines[16];
    int n = 0;
    for (char *p = c->fields; *p && n < 16;) {
        char *nl = strchr(p, '\n');
        *nl = '\0';
        lines[n++] = p;
        p = nl + 1;
    }
    char *end;
    bool ok = n >= 3;
    if (ok) {
        c->origin = lines[0];
        errno = 0;
        long long size = strtoll(lines[1], &end, 10);
        ok = *lines[1] >= '0' && *lines[1] <= '9' && !*end && !errno;
        c->size = size;
        c->hash = lines[2];
        ok = ok && strlen(c->hash) == 64 && strspn(c->hash, "0123456789abcdef") == 64;
    }
    for (int i = 3; i < n && ok; i++) {
        if (!strncmp(lines[i], "chain ", 6))
            c->chain = lines[i] + 6;
        else if (!strncmp(lines[i], "time ", 5))
            c->time = lines[i] + 5;
        /* other lines: extensions a later engine may add; they are signed all the same */
    }
    if (!ok || !c->chain || !c->time) {
        diag_add(d, YZ_SEV_ERROR, source, nt->line, 1,
                 "not a yuanzhu checkpoint: expected the store's origin, the number of events, the head hash (64 hex "
                 "digits), 'chain ...' and 'time ...' lines");
        yz_free(c->fields);
        c->fields = NULL;
        return YZ_EPARSE;
    }
    return YZ_OK;
}

/* the checkpoint text of the store's head seq:hash, signed by every key */
static int make_checkpoint(yz_store *st, int64_t seq, const char *hash, const yz_key *const *keys, size_t n,
                           strbuf *out, yz_diags *d)
{
    char when[21];
    store_now(when);
    strbuf body = STRBUF_INIT;
    sb_addf(&body, "%s\n%lld\n%s\nchain %s\ntime %s\n", yz_store_origin(st), (long long)seq, hash, yz_store_chain(st),
            when);
    sb_add(out, body.buf, body.len);
    sb_addc(out, '\n');
    int rc = YZ_OK;
    for (size_t i = 0; i < n && rc == YZ_OK; i++)
        if (note_sign(out, body.buf, body.len, keys[i]) != 0) {
            diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "OpenSSL could not sign with %s", yz_key_name(keys[i]));
            rc = YZ_EINTERNAL;
        }
    sb_free(&body);
    return rc;
}

/* appends text to a file, after an empty line when it holds something, and flushes it to disk */
static int append_file(const char *path, const char *text, size_t n, yz_diags *d)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        diag_add(d, YZ_SEV_ERROR, path, 0, 0, "cannot write the checkpoint: %s", strerror(errno));
        return YZ_EIO;
    }
    struct stat sb;
    bool sep = fstat(fd, &sb) == 0 && sb.st_size > 0;
    int rc = YZ_OK;
    if ((sep && write(fd, "\n", 1) != 1) || write(fd, text, n) != (ssize_t)n || fsync(fd) != 0) {
        diag_add(d, YZ_SEV_ERROR, path, 0, 0, "cannot write the checkpoint: %s", strerror(errno ? errno : EIO));
        rc = YZ_EIO;
    }
    if (close(fd) != 0 && rc == YZ_OK) {
        diag_add(d, YZ_SEV_ERROR, path, 0, 0, "cannot write the checkpoint: %s", strerror(errno));
        rc = YZ_EIO;
    }
    return rc;
}

/* The latest checkpoint in the store signed by one of keys that still names an event of the
   chain: verification can start after it.  0 when there is none. */
static int64_t last_own_checkpoint(yz_store *st, const yz_key *const *keys, size_t n, char hash[65])
{
    sqlite3_stmt *s;
    if (prep(st, "SELECT size, hash, note FROM checkpoints ORDER BY id DESC LIMIT 32", &s, NULL) != YZ_OK)
        return 0;
    int64_t found = 0;
    while (!found && sqlite3_step(s) == SQLITE_ROW) {
        const char *text = col_text(s, 2);
        note *notes;
        size_t nn;
        if (notes_parse(text, strlen(text), NULL, &notes, &nn, NULL) != YZ_OK)
            continue;
        cpoint c;
        if (nn == 1 && parse_checkpoint(&notes[0], NULL, &c, NULL) == YZ_OK) {
            /* the row's columns are only believed as far as its signed text says the same */
            bool same = c.size == sqlite3_column_int64(s, 0) && !strcmp(c.hash, col_text(s, 1)) &&
                        !strcmp(c.origin, yz_store_origin(st)) && !strcmp(c.chain, yz_store_chain(st));
            for (size_t i = 0; i < n && same && !found; i++)
                if (note_check(&notes[0], keys[i]) == 1) {
                    found = c.size;
                    snprintf(hash, 65, "%s", c.hash);
                }
            yz_free(c.fields);
        }
        notes_free(notes, nn);
    }
    sqlite3_finalize(s);
    return found;
}

int yz_store_checkpoint(yz_store *st, const yz_key *const *keys, size_t n, const char *append_to, char **text,
                        int64_t *size, yz_diags *d)
{
    if (text)
        *text = NULL;
    if (size)
        *size = 0;
    if (!n) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "a checkpoint needs a signing key (yuanzhu key new makes one)");
        return YZ_EUSAGE;
    }
    for (size_t i = 0; i < n; i++)
        if (key_kind_of(keys[i]) == KEY_HMAC || !yz_key_is_private(keys[i])) {
            diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "%s is %s: a checkpoint is signed with a private sm2 or ed25519 key",
                     yz_key_name(keys[i]), key_kind_of(keys[i]) == KEY_HMAC ? "a chain secret" : "a public key");
            return YZ_EUSAGE;
        }
    /* What is signed is what was verified: the events since the last checkpoint these keys made
       (if it holds), without holding up writers; then, holding the write lock, the few recorded
       meanwhile, so that the checkpoint's time is later than every event it covers and earlier
       than every event after it. */
    yz_verify_report rep;
    char from_hash[65] = "";
    int64_t from = last_own_checkpoint(st, keys, n, from_hash);
    int rc = store_verify_from(st, from, from_hash, &rep, d);
    if (rc == YZ_OK) {
        from = rep.head_seq;
        snprintf(from_hash, sizeof from_hash, "%s", rep.head_hash);
        if (store_exec(st, "BEGIN IMMEDIATE", d, "cannot lock the store for writing") != YZ_OK)
            return YZ_ESTORE;
        if ((rc = store_verify_from(st, from, from_hash, &rep, d)) != YZ_OK)
            store_exec(st, "ROLLBACK", NULL, "");
    }
    if (rc == YZ_EFAILED) {
        diag_add(d, YZ_SEV_ERROR, store_path(st), 0, 0,
                 "the chain does not verify at seq %lld (%s): nothing was signed; run yuanzhu audit verify",
                 (long long)rep.bad_seq, rep.problem);
        return YZ_EFAILED;
    }
    if (rc != YZ_OK)
        return rc;
    strbuf out = STRBUF_INIT;
    rc = make_checkpoint(st, rep.head_seq, rep.head_hash, keys, n, &out, d);
    for (size_t i = 0; i < n && rc == YZ_OK; i++)
        rc = add_key(st, keys[i], d);
    sqlite3_stmt *s;
    if (rc == YZ_OK &&
        (rc = prep(st, "INSERT INTO checkpoints (size, hash, made_at, note) VALUES (?, ?, ?, ?)", &s, d)) == YZ_OK) {
        const char *tl = strstr(out.buf, "\ntime ");
        sqlite3_bind_int64(s, 1, rep.head_seq);
        sqlite3_bind_text(s, 2, rep.head_hash, 64, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, tl ? tl + 6 : "", 20, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, out.buf, (int)out.len, SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = store_err(st, d, "cannot record the checkpoint");
        sqlite3_finalize(s);
    }
    /* the copy kept elsewhere is written before the store's commits: a checkpoint the store has is
       never missing from the file */
    if (rc == YZ_OK && append_to)
        rc = append_file(append_to, out.buf, out.len, d);
    if (rc == YZ_OK)
        rc = store_exec(st, "COMMIT", d, "cannot commit the checkpoint");
    if (rc != YZ_OK) {
        store_exec(st, "ROLLBACK", NULL, "");
        sb_free(&out);
        return rc;
    }
    if (size)
        *size = rep.head_seq;
    if (text)
        *text = sb_release(&out);
    else
        sb_free(&out);
    return YZ_OK;
}

/* the chain hash of event seq: 1 found, 0 none, -1 SQLite failed */
static int event_hash(yz_store *st, int64_t seq, char hash[65])
{
    sqlite3_stmt *s;
    if (prep_int(st, "SELECT hash FROM audit WHERE seq = ?", seq, &s, NULL) != YZ_OK)
        return -1;
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW)
        snprintf(hash, 65, "%s", col_text(s, 0));
    sqlite3_finalize(s);
    return step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : -1;
}

static const char SQL_EVENTS_AFTER[] = "SELECT a.seq, a.kind, coalesce(x.recorded_at, r.recorded_at, '') FROM audit a "
                                       "LEFT JOIN decisions x ON x.seq = a.seq LEFT JOIN rulesets r ON r.seq = a.seq "
                                       "WHERE a.seq > ? ORDER BY a.seq";

/* what was appended after the latest checkpoint, and none of it dated before it */
static int appended_since(yz_store *st, yz_checkpoint_report *cp, yz_verify_report *rep, yz_diags *d)
{
    sqlite3_stmt *s;
    if (prep_int(st, SQL_EVENTS_AFTER, cp->size, &s, d) != YZ_OK)
        return YZ_ESTORE;
    int step, rc = YZ_OK;
    while (rc == YZ_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        const char *when = col_text(s, 2);
        if (strcmp(when, cp->time) < 0) {
            rc = store_problem(rep, sqlite3_column_int64(s, 0),
                               "recorded at %s, before the checkpoint of %s that does not hold it: appended later and "
                               "back-dated (or the clock was set back)",
                               when, cp->time);
            break;
        }
        cp->appended++;
        if (!strcmp(col_text(s, 1), "decision"))
            cp->appended_decisions++;
        else
            cp->appended_rulesets++;
        if (!*cp->first_after)
            snprintf(cp->first_after, sizeof cp->first_after, "%s", when);
        snprintf(cp->last_after, sizeof cp->last_after, "%s", when);
    }
    if (rc == YZ_OK && step != SQLITE_DONE)
        rc = store_err(st, d, "cannot read the audit chain");
    sqlite3_finalize(s);
    return rc;
}

/* one checkpoint against the store: YZ_OK (it holds; *signer set), YZ_EFAILED (into a problem),
   YZ_EPARSE or YZ_ESTORE */
static int check_one(yz_store *st, const note *nt, const char *source, const yz_key *const *keys, size_t n,
                     const yz_verify_report *chain, cpoint *c, const yz_key **signer, char *problem, size_t cap,
                     int64_t *bad_seq, yz_diags *d)
{
    *signer = NULL;
    if (parse_checkpoint(nt, source, c, d) != YZ_OK)
        return YZ_EPARSE;
    const yz_key *bad = NULL;
    for (size_t i = 0; i < n && !*signer; i++) {
        int r = note_check(nt, keys[i]);
        if (r > 0)
            *signer = keys[i];
        else if (r < 0 && !bad)
            bad = keys[i];
    }
    strbuf sb = STRBUF_INIT;
    const char *at = source ? source : "the checkpoint";
    *bad_seq = c->size ? c->size : 1;
    if (!*signer && bad) {
        sb_addf(&sb, "%s:%d: the signature by %s does not verify: the checkpoint's text was changed after it was signed", at,
                nt->line, yz_key_name(bad));
    } else if (!*signer) {
        strbuf names = STRBUF_INIT, known = STRBUF_INIT;
        note_signers(nt, &names);
        for (size_t i = 0; i < n; i++)
            sb_addf(&known, "%s%s", i ? ", " : "", yz_key_name(keys[i]));
        sb_addf(&sb, "%s:%d: the checkpoint is signed by %s, not by %s: refused", at, nt->line, names.buf, known.buf);
        sb_free(&names);
        sb_free(&known);
    } else if (strcmp(c->origin, yz_store_origin(st)) != 0) {
        sb_addf(&sb, "%s:%d: the checkpoint is of the store %s, and this store is %s: it is not the store that was "
                     "checkpointed (replaced?), or give the checkpoint file of this one",
                at, nt->line, c->origin, yz_store_origin(st));
    } else if (strcmp(c->chain, yz_store_chain(st)) != 0) {
        sb_addf(&sb, "%s:%d: the checkpoint says the chain is '%s', and the store's is '%s': the store's chain setting "
                     "was changed",
                at, nt->line, c->chain, yz_store_chain(st));
    } else if (c->size > chain->head_seq) {
        *bad_seq = chain->head_seq + 1;
        sb_addf(&sb, "the checkpoint of %s (%s:%d, signed by %s) covers %lld events, and the store has %lld: events "
                     "%lld to %lld were removed (the tail was cut)",
                c->time, at, nt->line, yz_key_name(*signer), (long long)c->size, (long long)chain->head_seq,
                (long long)chain->head_seq + 1, (long long)c->size);
    } else if (c->size > 0) {
        char h[65] = "";
        int r = event_hash(st, c->size, h);
        if (r < 0) {
            sb_free(&sb);
            return store_err(st, d, "cannot read the audit chain");
        }
        if (r == 0 || strcmp(h, c->hash) != 0)
            sb_addf(&sb, "event %lld is not the one the checkpoint of %s (%s:%d, signed by %s) covers: the store was "
                         "rewritten at or before seq %lld, its chain recomputed",
                    (long long)c->size, c->time, at, nt->line, yz_key_name(*signer), (long long)c->size);
    }
    int rc = sb.len ? YZ_EFAILED : YZ_OK;
    if (sb.len)
        snprintf(problem, cap, "%s", sb.buf);
    sb_free(&sb);
    return rc;
}

int yz_store_verify_checkpoints(yz_store *st, const char *text, size_t len, const char *source,
                                const yz_key *const *keys, size_t n, yz_verify_report *rep, yz_checkpoint_report *cp,
                                yz_diags *d)
{
    memset(cp, 0, sizeof *cp);
    memset(rep, 0, sizeof *rep);
    if (!n) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0,
                 "checking a checkpoint needs the public key of its signer (--pubkey FILE): a checkpoint whose "
                 "signature is not checked proves nothing");
        return YZ_EUSAGE;
    }
    for (size_t i = 0; i < n; i++)
        if (key_kind_of(keys[i]) == KEY_HMAC) {
            diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "%s is a chain secret, not the public key of a checkpoint's signer",
                     yz_key_name(keys[i]));
            return YZ_EUSAGE;
        }
    note *notes;
    size_t nn;
    if (notes_parse(text, len, source, &notes, &nn, d) != YZ_OK)
        return YZ_EPARSE;
    if (!nn) {
        diag_add(d, YZ_SEV_ERROR, source, 0, 0, "holds no checkpoint");
        return YZ_EPARSE;
    }
    int rc = yz_store_verify(st, NULL, rep, d);
    yz_verify_report chain = *rep;
    /* every checkpoint must hold; the first problem by sequence number is the one reported */
    int64_t worst = 0;
    const yz_key *latest_signer = NULL;
    for (size_t i = 0; i < nn && rc == YZ_OK; i++) {
        cpoint c;
        const yz_key *signer;
        char problem[512];
        int64_t bad = 0;
        int r = check_one(st, &notes[i], source, keys, n, &chain, &c, &signer, problem, sizeof problem, &bad, d);
        if (r == YZ_EFAILED) {
            if (!worst || bad < worst) {
                worst = bad;
                rep->bad_seq = bad;
                snprintf(rep->problem, sizeof rep->problem, "%s", problem);
            }
        } else if (r != YZ_OK) {
            rc = r;
        } else {
            cp->checkpoints++;
            if (c.size >= cp->size && (!*cp->time || c.size > cp->size || strcmp(c.time, cp->time) > 0)) {
                cp->size = c.size;
                snprintf(cp->hash, sizeof cp->hash, "%s", c.hash);
                snprintf(cp->time, sizeof cp->time, "%s", c.time);
                latest_signer = signer;
            }
        }
        yz_free(c.fields);
    }
    notes_free(notes, nn);
    if (rc == YZ_OK && worst)
        rc = YZ_EFAILED;
    if (rc == YZ_OK) {
        snprintf(cp->signer, sizeof cp->signer, "%s", yz_key_name(latest_signer));
        rc = appended_since(st, cp, rep, d);
    }
    return rc;
}

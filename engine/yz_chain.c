/* yz_chain.c: verification of the audit chain and of every row it describes.
 *
 * An event's stored hash must be H(the previous event's stored hash || the event rebuilt from the
 * rows it describes); when every link holds, the chain holds, so the events are checked each on
 * its own.  The calling thread walks the audit table joined with the rows (one SQLite connection,
 * one snapshot), checks the few ruleset events itself, and copies each decision's row into a
 * chunk; workers (yz_pool) decompress its input and output, hash them and rebuild its event.
 * Chunks come back in order, so the problem reported is the first in sequence order, as a walk
 * on one thread finds it, whatever the number of threads. */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yz_diag.h"
#include "yz_event.h"
#include "yz_hash.h"
#include "yz_json.h"
#include "yz_policy.h"
#include "yz_pool.h"
#include "yz_store.h"
#include "yz_text.h"
#include "yz_zip.h"

#define problem(...) store_problem(__VA_ARGS__)
#define col_text store_col_text
#define col_dup store_col_dup
#define prepare store_prepare
#define VCHUNK 256     /* decisions a chunk */
#define KEEP_DICTS 64  /* dictionaries a walk keeps before it waits for its chunks and lets them go */

int store_problem(yz_verify_report *rep, int64_t seq, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rep->bad_seq = seq;
    vsnprintf(rep->problem, sizeof rep->problem, fmt, ap);
    va_end(ap);
    return YZ_EFAILED;
}

/* identity bound to content: the id_number recorded with a decision must be the one inside its
   stored input and inside its output.  Otherwise writes what is wrong into why and returns false. */
/* the ID number at the top of a stored input or output: found by a scan (json_top_string; the
   input's bytes are those its hash chains), parsed only when the scan cannot tell */
static const char *top_id_number(arena *m, const char *json, size_t len, char *buf, size_t cap)
{
    const char *v;
    size_t n;
    if (json_top_string(json, len, "id_number", &v, &n)) {
        if (n >= cap)
            return NULL;
        memcpy(buf, v, n);
        buf[n] = '\0';
        return buf;
    }
    size_t off;
    const char *err;
    yj *doc = yj_parse(m, json, len, &off, &err);
    const yj *id = doc ? yj_get(doc, "id_number") : NULL;
    return yj_typeof(id) == YJ_STRING ? yj_str(id) : NULL;
}

static bool same_person(const char *input, size_t nin, const char *output, size_t nout, const char *id_number,
                        char *why, size_t n)
{
    arena m;
    arena_init(&m, 1024);
    char abuf[64], bbuf[64];
    const char *a = top_id_number(&m, input, nin, abuf, sizeof abuf),
               *b = top_id_number(&m, output, nout, bbuf, sizeof bbuf);
    bool same = a && b && !strcmp(a, id_number) && !strcmp(b, id_number);
    if (!same) {
        strbuf x = STRBUF_INIT, y = STRBUF_INIT, z = STRBUF_INIT;
        snprintf(why, n,
                 "the decision is recorded for id_number %s, but its stored input is the record of %s and its output "
                 "the determination for %s: a decision must hold the record of the person it names (altered)",
                 text_shown(&x, id_number), text_shown(&y, a ? a : "(none)"), text_shown(&z, b ? b : "(none)"));
        sb_free(&x);
        sb_free(&y);
        sb_free(&z);
    }
    arena_free(&m);
    return same;
}


/* ---- decision events, checked on the workers ---- */

enum { VI_DECISION, VI_CHECKED };

/* an event as the walk read it: for a decision, what its check needs, with no SQLite */
typedef struct vitem {
    int kind;        /* VI_CHECKED: checked by the walk already (a ruleset event, a missing row) */
    const char *bad; /* what the walk found wrong with it, or NULL */
    int64_t seq;
    char stored[65], prev[65]; /* the event's stored hash, and the previous event's */
    const char *id, *ruleset, *province, *input_hash, *id_number, *as_of, *operator_id, *recorded_at, *engine,
        *target;
    const void *in_z, *out_z; /* the stored frames */
    size_t nin, nout;
    const zdict *idict, *odict; /* NULL: the dictionary named is not in the store */
    const char *signer;         /* the key that signed the ruleset, NULL when unsigned */
    const char *sig_bad;        /* what the check of that signature found wrong, or NULL */
} vitem;

typedef struct vchunk {
    arena m; /* the items' texts and frames */
    int n;
    int64_t bad_seq; /* the first item with a problem, 0 if none */
    char problem[512];
    vitem item[VCHUNK];
} vchunk;

typedef struct vworker {
    zipper *z;
    strbuf in, out, ev;
    yz_hash_alg alg;
    const yz_key *key;
} vworker;

/* the check of one decision event; false with why when it fails */
static bool check_decision(vworker *w, const vitem *it, char *why, size_t n)
{
    char ihash[65], ohash[65], hash[65];
    sb_clear(&w->in);
    sb_clear(&w->out);
    const char *fail = NULL;
    if (!it->idict || zip_decompress(w->z, it->idict, it->in_z, it->nin, STORE_MAX_BLOB, &w->in) != 0)
        fail = "the decision's input cannot be read back (altered)";
    else if (sha256_hex(w->in.buf, w->in.len, ihash), strcmp(ihash, it->input_hash) != 0)
        /* every byte of the frame's content: a NUL and more after the text stored is an alteration */
        fail = "the decision's input was altered (its hash no longer matches)";
    else if (!it->odict || zip_decompress(w->z, it->odict, it->out_z, it->nout, STORE_MAX_BLOB, &w->out) != 0)
        fail = "the decision's output cannot be read back (altered)";
    else if (!same_person(w->in.buf, w->in.len, w->out.buf, w->out.len, it->id_number, why, n))
        /* checked before the chain: a chain recomputed by someone who rewrote the store is valid,
           but it cannot make one person's decision hold another person's record */
        return false;
    else if (it->sig_bad)
        /* the signature its ruleset was accepted with is gone or no longer signs the ruleset */
        fail = it->sig_bad;
    if (fail) {
        snprintf(why, n, "%s", fail);
        return false;
    }
    sha256_hex(w->out.buf, w->out.len, ohash);
    event_decision e = {it->as_of,       it->engine, it->id_number, ihash,      it->operator_id, ohash,
                        it->province,    it->recorded_at, it->ruleset, it->target, it->seq, it->signer};
    sb_clear(&w->ev);
    event_decision_json(&e, &w->ev);
    event_chain_hash(w->alg, w->key, it->prev, w->ev.buf, w->ev.len, hash);
    if (strcmp(hash, it->stored) != 0)
        fail = "altered: the decision or its audit event no longer matches the chain";
    else if (strncmp(it->id, hash, 16) != 0)
        fail = "altered: the decision id does not match its event";
    if (fail)
        snprintf(why, n, "%s", fail);
    return !fail;
}

static void check_chunk(void *worker, void *chunk)
{
    vworker *w = worker;
    vchunk *c = chunk;
    for (int i = 0; i < c->n; i++) {
        const vitem *it = &c->item[i];
        bool ok;
        if (it->kind == VI_CHECKED) {
            ok = !it->bad;
            if (!ok)
                snprintf(c->problem, sizeof c->problem, "%s", it->bad);
        } else {
            ok = check_decision(w, it, c->problem, sizeof c->problem);
        }
        if (!ok) {
            c->bad_seq = it->seq;
            return;
        }
    }
}

/* ---- the walk (on the calling thread) ---- */

typedef struct walk {
    yz_store *st;
    yz_diags *d;
    yz_pool *pool;
    vchunk *cur; /* being filled */
    struct {
        int64_t id;
        zdict *z;
    } dict[KEEP_DICTS];
    int ndict;
    struct { /* signature rows found sound, for the decisions that follow (they come in runs) */
        int64_t sig_row, rs_row;
        char name[48];
    } sig_ok[4];
    int nsig_ok;
    int64_t bad_seq; /* the first problem the chunks handed back found, 0 if none */
    char problem[512];
    int64_t rows[2]; /* decision and ruleset events walked, each with its row */
} walk;

static void *worker_new(void *arg)
{
    const walk *W = arg;
    vworker *w = yz_calloc(1, sizeof *w);
    w->z = zipper_new();
    w->alg = store_alg(W->st);
    w->key = store_chain_key(W->st);
    return w;
}

static void worker_free(void *p)
{
    vworker *w = p;
    if (!w)
        return;
    zipper_free(w->z);
    sb_free(&w->in);
    sb_free(&w->out);
    sb_free(&w->ev);
    yz_free(w);
}

static void chunk_done(void *chunk, void *arg)
{
    walk *W = arg;
    vchunk *c = chunk;
    if (c->bad_seq && !W->bad_seq) {
        W->bad_seq = c->bad_seq;
        memcpy(W->problem, c->problem, sizeof W->problem);
    }
    arena_free(&c->m);
    yz_free(c);
}

static void submit(walk *W)
{
    vchunk *c = W->cur;
    W->cur = NULL;
    if (c && c->n)
        pool_submit(W->pool, c);
    else if (c)
        chunk_done(c, W);
}

static vitem *next_item(walk *W, int kind, int64_t seq)
{
    if (!W->cur) {
        W->cur = yz_calloc(1, sizeof *W->cur);
        arena_init(&W->cur->m, 64 * 1024);
    }
    vitem *it = &W->cur->item[W->cur->n++];
    it->kind = kind;
    it->seq = seq;
    return it;
}

/* every chunk back from the workers, and the dictionaries they used let go */
static void drain(walk *W)
{
    submit(W);
    pool_drain(W->pool);
    for (int i = 0; i < W->ndict; i++)
        zdict_free(W->dict[i].z);
    W->ndict = 0;
}

/* the dictionary with this id: YZ_OK (*out NULL when the store has none: damaged) or YZ_ESTORE */
static int dict_of(walk *W, int64_t id, const zdict **out)
{
    *out = NULL;
    for (int i = 0; i < W->ndict; i++)
        if (W->dict[i].id == id) {
            *out = W->dict[i].z;
            return YZ_OK;
        }
    zdict *z;
    int rc = store_dict_load(W->st, id, &z, W->d);
    if (rc == YZ_ESTORE)
        return rc;
    if (rc == YZ_OK) {
        W->dict[W->ndict].id = id;
        W->dict[W->ndict].z = z;
        W->ndict++;
        *out = z;
    }
    return YZ_OK;
}

/* the signer of a ruleset signature row, checked once per walk */
static int signer_of(walk *W, int64_t sig_row, int64_t rs_row, int64_t seq, char name[48], yz_verify_report *rep)
{
    for (int i = 0; i < W->nsig_ok; i++)
        if (W->sig_ok[i].sig_row == sig_row && W->sig_ok[i].rs_row == rs_row) {
            memcpy(name, W->sig_ok[i].name, 48);
            return YZ_OK;
        }
    int rc = checkpoint_check_signature(W->st, sig_row, rs_row, seq, name, rep, W->d);
    if (rc == YZ_OK) {
        int k = W->nsig_ok < 4 ? W->nsig_ok++ : (int)(sig_row % 4);
        W->sig_ok[k].sig_row = sig_row;
        W->sig_ok[k].rs_row = rs_row;
        memcpy(W->sig_ok[k].name, name, 48);
    }
    return rc;
}

/* the audit table, each event with the rows a decision event describes */
static const char SQL_WALK[] =
    "SELECT a.seq, a.kind, a.hash, d.seq, d.id, r.ruleset, r.province, i.hash, i.data, i.dict, d.id_number, "
    "d.as_of, d.operator, d.recorded_at, d.engine, d.target, d.output, r.dict, d.signed_by, d.ruleset "
    "FROM audit a LEFT JOIN decisions d ON a.kind = 'decision' AND d.seq = a.seq "
    "LEFT JOIN rulesets r ON r.id = d.ruleset LEFT JOIN inputs i ON i.id = d.input "
    "WHERE a.seq >= ? ORDER BY a.seq";

static const void *copy_blob(arena *m, sqlite3_stmt *s, int col, size_t *n)
{
    const void *b = store_col_blob(s, col, n);
    if (!b)
        return NULL;
    void *c = arena_alloc(m, *n ? *n : 1);
    memcpy(c, b, *n);
    return c;
}

/* a decision event into the chunk being filled: YZ_OK or YZ_ESTORE */
static int add_decision(walk *W, sqlite3_stmt *s, int64_t seq, const char *prev, const char *stored)
{
    const char *bad = NULL;
    const zdict *idict = NULL, *odict = NULL;
    if (W->ndict > KEEP_DICTS - 2)
        drain(W); /* room for this decision's two, while no item of the chunk is half made */
    if (sqlite3_column_type(s, 3) == SQLITE_NULL)
        bad = "the decision recorded by this event is missing (deleted)";
    else if (sqlite3_column_type(s, 5) == SQLITE_NULL || sqlite3_column_type(s, 7) == SQLITE_NULL)
        bad = "the decision's ruleset or input row is missing (deleted)";
    else if (dict_of(W, sqlite3_column_int64(s, 9), &idict) != YZ_OK ||
             dict_of(W, sqlite3_column_int64(s, 17), &odict) != YZ_OK)
        return YZ_ESTORE;
    vitem *it = next_item(W, bad ? VI_CHECKED : VI_DECISION, seq);
    it->bad = bad;
    if (bad)
        return YZ_OK;
    W->rows[0]++;
    memcpy(it->prev, prev, 65);
    memcpy(it->stored, stored, 65);
    it->idict = idict;
    it->odict = odict;
    arena *m = &W->cur->m;
    const char **texts[] = {&it->id,    &it->ruleset,     &it->province,    &it->input_hash, &it->id_number,
                            &it->as_of, &it->operator_id, &it->recorded_at, &it->engine,     &it->target};
    static const int cols[] = {4, 5, 6, 7, 10, 11, 12, 13, 14, 15};
    for (int i = 0; i < 10; i++)
        *texts[i] = arena_strdup(m, col_text(s, cols[i]));
    it->in_z = copy_blob(m, s, 8, &it->nin);
    it->out_z = copy_blob(m, s, 16, &it->nout);
    if (sqlite3_column_type(s, 18) != SQLITE_NULL) {
        char name[48];
        yz_verify_report tmp;
        memset(&tmp, 0, sizeof tmp);
        int rc = signer_of(W, sqlite3_column_int64(s, 18), sqlite3_column_int64(s, 19), seq, name, &tmp);
        if (rc == YZ_OK)
            it->signer = arena_strdup(m, name);
        else if (rc == YZ_EFAILED)
            it->sig_bad = arena_strdup(m, tmp.problem);
        else
            return YZ_ESTORE;
    }
    return YZ_OK;
}

static int verify_ruleset(yz_store *st, int64_t seq, const char *prev, const char *stored, yz_verify_report *rep,
                          yz_diags *d)
{
    sqlite3_stmt *s;
    if (prepare(st,
                "SELECT r.id, r.ruleset, r.province, x.hash, x.data, r.recorded_at FROM rulesets r "
                "LEFT JOIN dicts x ON x.id = r.dict WHERE r.seq = ?",
                &s, d) != YZ_OK)
        return YZ_ESTORE;
    sqlite3_bind_int64(s, 1, seq);
    int step = sqlite3_step(s);
    if (step != SQLITE_ROW) {
        int rc = step == SQLITE_DONE ? problem(rep, seq, "the ruleset registered by this event is missing (deleted)")
                                     : store_err(st, d, "cannot read a ruleset");
        sqlite3_finalize(s);
        return rc;
    }
    int64_t row = sqlite3_column_int64(s, 0);
    char *ruleset = col_dup(s, 1), *province = col_dup(s, 2), *dict_hash = col_dup(s, 3), *when = col_dup(s, 5);
    char dh[65];
    const void *dict_blob;
    size_t dict_len;
    int rc = YZ_OK;
    if (sqlite3_column_type(s, 4) == SQLITE_NULL)
        rc = problem(rep, seq, "the ruleset's dictionary is missing (deleted)");
    else if (dict_blob = store_col_blob(s, 4, &dict_len), sha256_hex(dict_blob, dict_len, dh), strcmp(dh, dict_hash))
        rc = problem(rep, seq, "the ruleset's dictionary was altered");
    sqlite3_finalize(s);
    /* files: contents must match their hashes, and together reproduce the ruleset id */
    yz_stored files;
    memset(&files, 0, sizeof files);
    if (rc == YZ_OK && (rc = store_load_files(st, row, &files, d)) == YZ_EFAILED)
        rc = problem(rep, seq, "a file of the ruleset cannot be read back (altered)");
    const char **paths = yz_malloc((files.nfiles ? files.nfiles : 1) * sizeof *paths);
    const char **blobs = yz_malloc((files.nfiles ? files.nfiles : 1) * sizeof *blobs);
    char (*hashes)[65] = yz_malloc((files.nfiles ? files.nfiles : 1) * sizeof *hashes);
    if (rc == YZ_OK) {
        /* the recorded blob hash of each file */
        sqlite3_stmt *f;
        if (prepare(st, "SELECT path, blob FROM ruleset_files WHERE ruleset = ? ORDER BY path", &f, d) != YZ_OK)
            rc = YZ_ESTORE;
        sqlite3_bind_int64(f, 1, row);
        size_t k = 0;
        int fstep = SQLITE_DONE;
        while (rc == YZ_OK && (fstep = sqlite3_step(f)) == SQLITE_ROW && k < files.nfiles) {
            snprintf(hashes[k], 65, "%s", col_text(f, 1));
            paths[k] = files.files[k].path;
            blobs[k] = hashes[k];
            char real[65];
            sha256_hex(files.files[k].data, files.files[k].len, real);
            if (strcmp(real, hashes[k]) != 0 && rc == YZ_OK)
                rc = problem(rep, seq, "the stored file %s was altered", files.files[k].path);
            k++;
        }
        if (rc == YZ_OK && fstep != SQLITE_ROW && fstep != SQLITE_DONE)
            rc = store_err(st, d, "cannot read the ruleset's files");
        else if (rc == YZ_OK && k != files.nfiles)
            rc = problem(rep, seq, "the ruleset's list of files was altered");
        sqlite3_finalize(f);
        char id[65];
        ruleset_hash_files(files.files, files.nfiles, id);
        if (rc == YZ_OK && strcmp(id, ruleset) != 0)
            rc = problem(rep, seq, "the ruleset's files no longer reproduce its id %.12s", ruleset);
    }
    if (rc == YZ_OK) {
        event_ruleset e = {ruleset, province, dict_hash, when, paths, blobs, files.nfiles, seq};
        strbuf ev = STRBUF_INIT;
        event_ruleset_json(&e, &ev);
        char hash[65];
        event_chain_hash(store_alg(st), store_chain_key(st), prev, ev.buf, ev.len, hash);
        sb_free(&ev);
        if (strcmp(hash, stored) != 0)
            rc = problem(rep, seq, "altered: the ruleset registration no longer matches the chain");
    }
    for (size_t i = 0; i < files.nfiles; i++) {
        yz_free_const(files.files[i].path);
        yz_free_const(files.files[i].data);
    }
    yz_free(files.files);
    yz_free(paths);
    yz_free(blobs);
    yz_free(hashes);
    yz_free(ruleset);
    yz_free(province);
    yz_free(dict_hash);
    yz_free(when);
    return rc;
}

/* Reads an anchored head "[SEQ:]HASH": HASH is the hash audit head prints, or its first 16 or more
   hex digits (upper or lower case; a trailing "…" or "..." of an abbreviation is allowed).  Fewer
   digits are refused: with 8 (32 bits) a forger who rewrites the chain could make a head that
   matches within minutes.  Returns YZ_OK or YZ_EUSAGE with a diagnostic. */
static int parse_head(const char *s, int64_t *seq, char hex[65], yz_diags *d)
{
    *seq = 0;
    const char *h = s, *colon = strchr(s, ':');
    bool ok = true;
    if (colon) {
        size_t nd = (size_t)(colon - s);
        ok = nd >= 1 && nd <= 18 && strspn(s, "0123456789") == nd;
        *seq = ok ? strtoll(s, NULL, 10) : 0;
        ok = ok && *seq > 0;
        h = colon + 1;
    }
    size_t n = strlen(h);
    if (yz_str_has_suffix(h, "\xE2\x80\xA6")) /* … */
        n -= 3;
    else if (yz_str_has_suffix(h, "..."))
        n -= 3;
    size_t x = 0;
    while (x < n && strchr("0123456789abcdefABCDEF", h[x]))
        x++;
    ok = ok && x == n && n >= 16 && n <= 64;
    if (!ok) {
        strbuf sb = STRBUF_INIT;
        const char *shown = text_shown(&sb, s);
        if (x == n && n > 0 && n < 16)
            diag_add(d, YZ_SEV_ERROR, NULL, 0, 0,
                     "--expect-head '%s': %zu hex digits are too few to anchor the chain (a forged chain could be "
                     "made to match them); give the whole SEQ:HASH that audit head prints, or at least its first 16 "
                     "hex digits",
                     shown, n);
        else
            diag_add(d, YZ_SEV_ERROR, NULL, 0, 0,
                     "--expect-head takes SEQ:HASH as audit head prints it (e.g. 2:7a6bee8b...: the sequence number, a "
                     "colon, and the 64 hex digits of the hash, or at least their first 16), not '%s'",
                     shown);
        sb_free(&sb);
        return YZ_EUSAGE;
    }
    for (size_t i = 0; i < n; i++)
        hex[i] = (char)(h[i] >= 'A' && h[i] <= 'F' ? h[i] - 'A' + 'a' : h[i]);
    hex[n] = '\0';
    return YZ_OK;
}

/* the walk from event from+1 (from_hash: the hash of event from, which must be in the chain) */
/* rows of table i (0 decisions, 1 rulesets) no event describes: YZ_OK, YZ_EFAILED naming the first,
   or YZ_ESTORE.  walked: the events of that kind a walk from the start met, each with its row (-1
   when the walk did not start at the first event): a table holding only as many rows holds none
   inserted, which one index count tells; only otherwise is the table searched for the first. */
static int inserted_rows(yz_store *st, int i, int64_t walked, yz_verify_report *rep, yz_diags *d)
{
    static const char *const count[] = {"SELECT count(*) FROM decisions", "SELECT count(*) FROM rulesets"};
    static const char *const first[] = {
        "SELECT min(seq) FROM decisions WHERE seq NOT IN (SELECT seq FROM audit WHERE kind = 'decision')",
        "SELECT min(seq) FROM rulesets WHERE seq NOT IN (SELECT seq FROM audit WHERE kind = 'ruleset')"};
    sqlite3_stmt *s;
    if (walked >= 0) {
        if (prepare(st, count[i], &s, d) != YZ_OK)
            return YZ_ESTORE;
        int step = sqlite3_step(s);
        int64_t n = step == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
        sqlite3_finalize(s);
        if (step != SQLITE_ROW)
            return store_err(st, d, "cannot read the store");
        if (n == walked)
            return YZ_OK;
    }
    if (prepare(st, first[i], &s, d) != YZ_OK)
        return YZ_ESTORE;
    int rc = YZ_OK, step = sqlite3_step(s);
    if (step != SQLITE_ROW)
        rc = store_err(st, d, "cannot read the store");
    else if (sqlite3_column_type(s, 0) != SQLITE_NULL)
        rc = problem(rep, sqlite3_column_int64(s, 0), "a %s with no audit event was inserted",
                     i == 0 ? "decision" : "ruleset");
    sqlite3_finalize(s);
    return rc;
}

static int verify(yz_store *st, int64_t from, const char *from_hash, const char *expect_head, yz_verify_report *rep,
                  yz_diags *d)
{
    memset(rep, 0, sizeof *rep);
    int64_t want_seq = 0;
    char want[65] = "";
    if (expect_head && parse_head(expect_head, &want_seq, want, d) != YZ_OK)
        return YZ_EUSAGE;
    if (store_need_chain_key(st, d) != YZ_OK)
        return YZ_EUSAGE;
    char prev[65];
    memset(prev, '0', 64);
    prev[64] = '\0';
    if (from > 0)
        snprintf(prev, sizeof prev, "%s", from_hash);
    rep->head_seq = from;
    sqlite3_stmt *s;
    /* one snapshot of the store (or the caller's transaction: a checkpoint holds the write lock) */
    bool own = sqlite3_get_autocommit(store_db(st)) != 0;
    if (own && store_exec(st, "BEGIN", d, "cannot read the store") != YZ_OK)
        return YZ_ESTORE;
    if (prepare(st, SQL_WALK, &s, d) != YZ_OK) {
        if (own)
            store_exec(st, "ROLLBACK", NULL, "");
        return YZ_ESTORE;
    }
    walk W;
    memset(&W, 0, sizeof W);
    W.st = st;
    W.d = d;
    yz_pool_ops ops = {worker_new, worker_free, check_chunk, chunk_done, &W};
    W.pool = pool_new(store_jobs(st), &ops);
    sqlite3_bind_int64(s, 1, from);
    int64_t expected = from + 1;
    int rc = YZ_OK;
    if (from > 0) {
        /* the event the walk starts after, as the caller knows it */
        int first = sqlite3_step(s);
        if (first != SQLITE_ROW || sqlite3_column_int64(s, 0) != from || strcmp(col_text(s, 2), from_hash) != 0)
            rc = first == SQLITE_ROW || first == SQLITE_DONE
                     ? problem(rep, from, "event %lld is no longer the one checked before (rewritten or removed)",
                               (long long)from)
                     : store_err(st, d, "cannot read the audit chain");
    }
    int step = SQLITE_DONE;
    while (rc == YZ_OK && !W.bad_seq && (step = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(s, 0);
        const char *kind = col_text(s, 1);
        const char *hash = col_text(s, 2);
        char stored[65]; /* the hash, kept while a ruleset's own queries run */
        if (seq != expected) {
            rc = problem(rep, expected, "event %lld is missing: the chain jumps from %lld to %lld (deleted)",
                         (long long)expected, (long long)expected - 1, (long long)seq);
            break;
        }
        if (!hash || strlen(hash) != 64) {
            rc = problem(rep, seq, "the event's hash is damaged (altered)");
            break;
        }
        if (!strcmp(kind, "decision")) {
            rc = add_decision(&W, s, seq, prev, hash);
        } else {
            /* checked here (it reads its files); a problem goes with the chunk, in order */
            yz_verify_report tmp;
            memset(&tmp, 0, sizeof tmp);
            memcpy(stored, hash, 65);
            rc = verify_ruleset(st, seq, prev, stored, &tmp, d);
            W.rows[1] += rc == YZ_OK;
            if (rc == YZ_EFAILED) {
                vitem *it = next_item(&W, VI_CHECKED, seq);
                it->bad = arena_strdup(&W.cur->m, tmp.problem);
                rc = YZ_OK;
            }
            hash = stored; /* the statement's text may have been freed by the ruleset's queries */
        }
        memcpy(prev, hash, 65);
        rep->events++;
        rep->head_seq = seq;
        expected++;
        if (W.cur && W.cur->n == VCHUNK)
            submit(&W);
    }
    /* a walk that stopped on an error checked only part of the chain */
    if (rc == YZ_OK && !W.bad_seq && step != SQLITE_DONE)
        rc = store_err(st, d, "cannot read the audit chain");
    sqlite3_finalize(s);
    drain(&W);
    pool_free(W.pool);
    if (rc != YZ_ESTORE && W.bad_seq) {
        /* the first problem of an event the walk handed on: before any the walk itself met */
        rc = YZ_EFAILED;
        rep->bad_seq = W.bad_seq;
        memcpy(rep->problem, W.problem, sizeof rep->problem);
        rep->events = W.bad_seq - from;
        rep->head_seq = W.bad_seq;
    }
    if (rc == YZ_OK)
        snprintf(rep->head_hash, sizeof rep->head_hash, "%s", prev);
    /* store-wide checks (in the caller's transaction, the checkpoint's second pass over the few
       events since its first, they were just made) */
    if (rc == YZ_OK && own) {
        /* rows the chain does not describe were inserted around it */
        for (int i = 0; i < 2 && rc == YZ_OK; i++)
            rc = inserted_rows(st, i, from > 0 ? -1 : W.rows[i], rep, d);
        /* the checkpoints the store keeps must still hold (the ones kept elsewhere prove more) */
        if (rc == YZ_OK)
            rc = checkpoint_check_stored(st, rep->head_seq, rep, d);
    }
    if (rc == YZ_OK && expect_head) {
        /* the anchored head, or the abbreviation of it, must be an event of the chain (at its
           sequence number when one is given); hex digits sort below 'g', so [want, want+"g")
           are the hashes that begin with want */
        char upper[66];
        snprintf(upper, sizeof upper, "%sg", want);
        if (prepare(st,
                    want_seq ? "SELECT seq FROM audit WHERE seq = ?3 AND hash >= ?1 AND hash < ?2"
                             : "SELECT seq FROM audit WHERE hash >= ?1 AND hash < ?2 ORDER BY seq LIMIT 1",
                    &s, d) != YZ_OK) {
            if (own)
                store_exec(st, "COMMIT", NULL, "");
            return YZ_ESTORE;
        }
        sqlite3_bind_text(s, 1, want, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, upper, -1, SQLITE_STATIC);
        if (want_seq)
            sqlite3_bind_int64(s, 3, want_seq);
        step = sqlite3_step(s);
        bool found = step == SQLITE_ROW;
        sqlite3_finalize(s);
        if (step != SQLITE_ROW && step != SQLITE_DONE)
            rc = store_err(st, d, "cannot read the audit chain");
        else if (!found)
            rc = problem(rep, want_seq ? want_seq : rep->head_seq + 1,
                         "the anchored head %.16s... is not in the chain: events up to it were removed or rewritten",
                         want);
    }
    if (own)
        store_exec(st, "COMMIT", NULL, "");
    return rc;
}


int yz_store_verify(yz_store *st, const char *expect_head, yz_verify_report *rep, yz_diags *d)
{
    return verify(st, 0, NULL, expect_head, rep, d);
}

int store_verify_from(yz_store *st, int64_t from, const char *from_hash, yz_verify_report *rep, yz_diags *d)
{
    return verify(st, from, from_hash, NULL, rep, d);
}

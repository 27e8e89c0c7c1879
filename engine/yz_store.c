/* yz_store.c: the decision store in SQLite (with yz_checkpoint.c, the only user of sqlite3.h):
 * rulesets with their files, inputs by hash, decisions, and the hash-chained audit trail. */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "yz_diag.h"
#include "yz_embed.h"
#include "yz_event.h"
#include "yz_eval.h"
#include "yz_hash.h"
#include "yz_json.h"
#include "yz_policy.h"
#include "yz_record.h"
#include "yz_sign.h"
#include "yz_store.h"
#include "yz_text.h"
#include "yz_zip.h"

#define STORE_VERSION 2

/* the migrations, in order: migration N takes a store from version N-1 to N */
static const char *const migrations[STORE_VERSION] = {yz_embed_store_v1, yz_embed_store_sign};

#define need_chain_key store_need_chain_key
#define prepare store_prepare
#define col_dup store_col_dup

typedef struct rcache {
    char ruleset[65];
    int64_t rowid, dict;
} rcache;

typedef struct dcache {
    int64_t id;
    zdict *d;
} dcache;

typedef struct stmt_cache {
    const char *sql; /* a string literal: compared by address */
    sqlite3_stmt *s;
} stmt_cache;

struct yz_store {
    sqlite3 *db;
    stmt_cache cache[16];
    int ncache;
    bool head_valid; /* inside our own write transaction the chain head is known */
    int64_t head_seq;
    char head_hash[65];
    char *path;
    int busy_ms; /* how long a write waits for another process's */
    yz_hash_alg alg;
    zipper *z;
    bool batch;
    int64_t ncommits; /* of yz_store_begin's transactions, so far */
    rcache rc[8];
    int nrc;
    dcache dc[16];
    int ndc;
    char origin[48];         /* "yuanzhu/" + meta.store_id */
    char chain_name[48];     /* meta.chain_key: the name of the chain's secret; "" for a plain chain */
    char chain[80];          /* as a checkpoint states it */
    const yz_key *chain_key; /* the secret, once given (yz_store_set_chain_key) */
    int jobs;                /* verification's threads (yz_store_set_jobs) */
};

int store_err(yz_store *st, yz_diags *d, const char *what)
{
    /* without a connection, sqlite3_open_v2 could not allocate one */
    const char *msg = st && st->db ? sqlite3_errmsg(st->db) : "out of memory";
    int code = st && st->db ? sqlite3_errcode(st->db) : SQLITE_NOMEM;
    const char *hint = "";
    char busy[200];
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
        snprintf(busy, sizeof busy,
                 " (another process has held the store longer than the busy timeout of %d ms: nothing was "
                 "recorded; try again, or raise YUANZHU_BUSY_TIMEOUT_MS)",
                 st->busy_ms);
        hint = busy;
    }
    else if (code == SQLITE_READONLY)
        hint = " (the store or its folder is read-only: nothing was recorded; record into a store you can write, "
               "or get write permission for it and its folder)";
    else if (code == SQLITE_FULL && st && st->ncommits) /* a batch: what it committed before stays */
        hint = " (the disk is full: the transaction in progress was not recorded; free some space and run it again)";
    else if (code == SQLITE_FULL)
        hint = " (the disk is full: nothing was recorded; free some space and run it again)";
    else if (code == SQLITE_NOTADB)
        hint = " (not a yuanzhu store: give another --db path)";
    else if (code == SQLITE_CANTOPEN)
        hint = " (check the path and that its folder exists)";
    diag_add(d, YZ_SEV_ERROR, st && st->path ? st->path : NULL, 0, 0, "%s: %s%s", what, msg, hint);
    return YZ_ESTORE;
}

/* A column's text, "" for SQL NULL (rows are NOT NULL; a tampered one reads as altered, never as
   a crash).  SQLite may need memory to make the text; when it has none the out-of-memory
   handler runs: a NULL here would otherwise be hashed as "(null)" or read as damage. */
static const char *col_text(sqlite3_stmt *s, int i)
{
    const char *t = (const char *)sqlite3_column_text(s, i);
    if (t)
        return t;
    if (sqlite3_errcode(sqlite3_db_handle(s)) == SQLITE_NOMEM && sqlite3_column_type(s, i) != SQLITE_NULL)
        yz_out_of_memory(0);
    return "";
}

/* A column's bytes (NULL with *n = 0 when empty or SQL NULL); out of memory as col_text. */
static const void *col_blob(sqlite3_stmt *s, int i, size_t *n)
{
    const void *b = sqlite3_column_blob(s, i);
    int len = sqlite3_column_bytes(s, i);
    if (!b && len > 0)
        yz_out_of_memory((size_t)len);
    if (!b && sqlite3_errcode(sqlite3_db_handle(s)) == SQLITE_NOMEM && sqlite3_column_type(s, i) != SQLITE_NULL)
        yz_out_of_memory(0);
    *n = b ? (size_t)len : 0;
    return b;
}

static int exec(yz_store *st, const char *sql, yz_diags *d, const char *what)
{
    char *err = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        sqlite3_free(err);
        return store_err(st, d, what);
    }
    return YZ_OK;
}

/* a statement prepared once per store for the paths every decision takes; reset, not finalized */
static sqlite3_stmt *cached(yz_store *st, const char *sql, yz_diags *d)
{
    for (int i = 0; i < st->ncache; i++) {
        if (st->cache[i].sql == sql) {
            sqlite3_reset(st->cache[i].s);
            sqlite3_clear_bindings(st->cache[i].s);
            return st->cache[i].s;
        }
    }
    sqlite3_stmt *s;
    if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
        store_err(st, d, "cannot prepare a query");
        return NULL;
    }
    if (st->ncache < 16) {
        st->cache[st->ncache].sql = sql;
        st->cache[st->ncache].s = s;
        st->ncache++;
    }
    return s;
}

int store_prepare(yz_store *st, const char *sql, sqlite3_stmt **stmt, yz_diags *d)
{
    if (sqlite3_prepare_v2(st->db, sql, -1, stmt, NULL) != SQLITE_OK)
        return store_err(st, d, "cannot prepare a query");
    return YZ_OK;
}

static void now_utc(char out[21])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int user_version(yz_store *st, int *v)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
        return -1;
    int rc = sqlite3_step(s);
    *v = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* 0 found, 1 no such key (or no value), -1 SQLite failed (its message is on the connection) */
static int read_meta(yz_store *st, const char *key, char *out, size_t cap)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = ?", -1, &s, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    const char *v = rc == SQLITE_ROW ? col_text(s, 0) : NULL;
    int r = v && *v ? 0 : rc == SQLITE_ROW || rc == SQLITE_DONE ? 1 : -1;
    if (v)
        snprintf(out, cap, "%s", v);
    sqlite3_finalize(s);
    return r;
}

/* creates the schema (every migration, and the settings: hash_alg, chain_key the name of a keyed
   chain's secret or NULL) or moves an older store forward, in one transaction */
static int migrate(yz_store *st, const char *hash_alg, const char *chain_key, yz_diags *d)
{
    if (exec(st, "BEGIN IMMEDIATE", d, "cannot lock the store") != YZ_OK)
        return YZ_ESTORE;
    int v;
    if (user_version(st, &v) != 0) {
        exec(st, "ROLLBACK", NULL, "");
        return store_err(st, d, "cannot read the store's version");
    }
    if (v > STORE_VERSION) {
        exec(st, "ROLLBACK", NULL, "");
        diag_add(d, YZ_SEV_ERROR, st->path, 0, 0,
                 "the store has schema version %d, newer than this engine's %d: use a newer yuanzhu", v, STORE_VERSION);
        return YZ_ESTORE;
    }
    if (v == 0) {
        sqlite3_stmt *s;
        if (prepare(st, "SELECT count(*) FROM sqlite_master", &s, d) != YZ_OK) {
            exec(st, "ROLLBACK", NULL, "");
            return YZ_ESTORE;
        }
        int step = sqlite3_step(s);
        int n = step == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
        sqlite3_finalize(s);
        if (step != SQLITE_ROW) {
            int rc = store_err(st, d, "cannot read the store");
            exec(st, "ROLLBACK", NULL, "");
            return rc;
        }
        if (n) {
            exec(st, "ROLLBACK", NULL, "");
            diag_add(d, YZ_SEV_ERROR, st->path, 0, 0, "this SQLite file is not a yuanzhu store (it has other tables)");
            return YZ_ESTORE;
        }
    }
    for (int m = v; m < STORE_VERSION; m++) {
        if (exec(st, migrations[m], d, m ? "cannot migrate the store to this engine's schema"
                                         : "cannot create the store's tables") != YZ_OK) {
            exec(st, "ROLLBACK", NULL, "");
            return YZ_ESTORE;
        }
    }
    char sql[512];
    if (v == 0) {
        char when[21];
        now_utc(when);
        snprintf(sql, sizeof sql,
                 "INSERT INTO meta VALUES ('hash', '%s'), ('created_at', '%s'), ('created_by', 'yuanzhu %s')%s%s%s;",
                 hash_alg, when, YZ_VERSION, chain_key ? ", ('chain_key', '" : "", chain_key ? chain_key : "",
                 chain_key ? "')" : "");
        if (exec(st, sql, d, "cannot initialise the store") != YZ_OK) {
            exec(st, "ROLLBACK", NULL, "");
            return YZ_ESTORE;
        }
    }
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d;", STORE_VERSION);
    if (exec(st, sql, d, "cannot initialise the store") != YZ_OK) {
        exec(st, "ROLLBACK", NULL, "");
        return YZ_ESTORE;
    }
    return exec(st, "COMMIT", d, "cannot commit the store's schema");
}

static bool valid_alg(const char *a)
{
    return !strcmp(a, "sha256") || !strcmp(a, "sm3");
}

/* The busy timeout: how long a writer waits for another process that holds the store's write
   lock before failing with "database is locked".  Documented in yuanzhu.h and --help. */
#define BUSY_TIMEOUT_MS 10000

/* true when the store's folder cannot be written and no write-ahead log holds changes that an
   immutable connection (which does not read the log) would miss */
static bool read_only_media(const char *path)
{
    char *dir = yz_strdup(path);
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[slash == dir ? 1 : 0] = '\0';
    bool ro = access(slash ? dir : ".", W_OK) != 0 && errno != ENOMEM;
    yz_free(dir);
    size_t n = strlen(path);
    char *wal = yz_malloc(n + 5);
    memcpy(wal, path, n);
    memcpy(wal + n, "-wal", 5);
    struct stat sb;
    bool pending = stat(wal, &sb) == 0 && sb.st_size > 0;
    yz_free(wal);
    return ro && !pending;
}

/* opens st->path (immutable: read-only, as a file nothing writes to) and sets the connection up;
   returns an SQLite code (st->db may be NULL when SQLite had no memory for it) */
static int connect_store(yz_store *st, bool immutable)
{
    int rc;
    if (immutable) {
        strbuf uri = STRBUF_INIT;
        sb_adds(&uri, "file:");
        for (const unsigned char *p = (const unsigned char *)st->path; *p; p++) {
            if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("/-._~", *p))
                sb_addc(&uri, (char)*p);
            else
                sb_addf(&uri, "%%%02X", *p);
        }
        sb_adds(&uri, "?immutable=1");
        rc = sqlite3_open_v2(uri.buf, &st->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
        sb_free(&uri);
    } else {
        rc = sqlite3_open_v2(st->path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    }
    if (rc != SQLITE_OK)
        return rc;
    const char *bt = getenv("YUANZHU_BUSY_TIMEOUT_MS");
    st->busy_ms = bt && *bt && atoi(bt) >= 0 ? atoi(bt) : BUSY_TIMEOUT_MS;
    sqlite3_busy_timeout(st->db, st->busy_ms);
    /* 16 KiB pages for a new store (an existing one keeps its own: SQLite changes it only when
       the file is empty): a decision's rows take a few hundred bytes each, and the larger pages
       mean fewer splits and balances of its tables and indexes.  A recording batch of 50,000
       bench records on 2 cores ran in 0.905x the wall time of 4 KiB pages (8 KiB 0.916x, 32 and
       64 KiB 0.90x), in a store 3.5% smaller (1,090 against 1,130 bytes a decision).  The price
       is paid by small commits, which write whole pages to the WAL: serve's recorded
       determinations/s (tests/bench/serve.sh, 8 connections) had a median of about 2,790 against
       2,900 with 4 KiB pages (13 and 18 runs; with either size a run now and then gives about
       1,550). */
    if (!immutable)
        exec(st, "PRAGMA page_size = 16384", NULL, "");
    if (!immutable && exec(st, "PRAGMA journal_mode = WAL", NULL, "") != YZ_OK) {
        /* a read-only store, or an old file: carry on; the rollback journal protects writes too */
    }
    /* the store must not be used without these (they fail only for memory, or when the file
       cannot be read at all); a 16 MiB page cache keeps a batch's index pages in memory instead of
       reading them back from the file for every insert */
    if (exec(st, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -16384;", NULL, "") != YZ_OK)
        return sqlite3_errcode(st->db);
    return SQLITE_OK;
}

/* true for a file of 0 bytes with no write-ahead log holding its first transaction: what an init
   killed before its first commit left behind with engines before stores were created atomically,
   or a file made by hand or by the sqlite3 shell */
static bool empty_file(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size != 0)
        return false;
    char *wal = yz_malloc(strlen(path) + 5);
    sprintf(wal, "%s-wal", path);
    bool pending = stat(wal, &sb) == 0 && sb.st_size > 0;
    yz_free(wal);
    return !pending;
}

/* Creates a complete new store at path, atomically: the schema is built in a temporary file in the
   same folder (mode 0600: decisions are personal data) and only then renamed to path, without
   replacing a file that appeared there meanwhile.  A process killed part way leaves path as it was
   (at most a PATH.new-XXXXXX file, never a half-made store).  Returns YZ_OK, YZ_EFAILED when path
   exists (another process made it first), or YZ_ESTORE with a diagnostic. */
static int create_store_file(const char *path, const char *hash_alg, const char *chain_key, yz_diags *d)
{
    size_t n = strlen(path);
    char *tmp = yz_malloc(n + 12);
    snprintf(tmp, n + 12, "%s.new-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        if (e == ENOMEM)
            yz_out_of_memory(0);
        yz_free(tmp);
        diag_add(d, YZ_SEV_ERROR, path, 0, 0, "cannot create the store: %s%s", strerror(e),
                 e == ENOENT ? " (check that its folder exists)"
                 : e == EACCES || e == EROFS ? " (the folder cannot be written: choose a --db path you can write)"
                                             : "");
        return YZ_ESTORE;
    }
    close(fd);
    yz_store t;
    memset(&t, 0, sizeof t);
    t.path = tmp;
    int rc = connect_store(&t, false) == SQLITE_OK ? YZ_OK : store_err(&t, d, "cannot create the store");
    if (rc == YZ_OK) {
        const char *mp = getenv("YUANZHU_TEST_MAX_PAGES"); /* see open_store */
        if (mp && *mp) {
            char sql[64];
            snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld", atoll(mp));
            exec(&t, sql, NULL, "");
        }
        rc = migrate(&t, hash_alg, chain_key, d);
    }
    /* closing the last connection checkpoints the log into the file and removes it */
    if (sqlite3_close(t.db) != SQLITE_OK && rc == YZ_OK)
        rc = store_err(&t, d, "cannot finish the new store");
    if (rc == YZ_OK) {
        /* the folder entry appears whole; RENAME_NOREPLACE keeps a store another process made */
        int r = renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE);
        if (r != 0 && (errno == EINVAL || errno == ENOSYS) && (r = link(tmp, path)) == 0)
            unlink(tmp); /* a file system without renameat2: a hard link does not replace either */
        if (r != 0) {
            int e = errno;
            rc = e == EEXIST ? YZ_EFAILED : YZ_ESTORE;
            if (rc == YZ_ESTORE)
                diag_add(d, YZ_SEV_ERROR, path, 0, 0, "cannot create the store: %s", strerror(e));
        } else {
            /* make the new name durable with the file */
            char *dir = yz_strdup(path);
            char *slash = strrchr(dir, '/');
            if (slash)
                slash[slash == dir ? 1 : 0] = '\0';
            int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY);
            if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
            }
            yz_free(dir);
        }
    }
    if (rc != YZ_OK) {
        unlink(tmp);
        strbuf side = STRBUF_INIT;
        sb_addf(&side, "%s-wal", tmp);
        unlink(side.buf);
        sb_clear(&side);
        sb_addf(&side, "%s-shm", tmp);
        unlink(side.buf);
        sb_free(&side);
    }
    yz_free(tmp);
    return rc;
}

static int open_store(const char *path, const char *hash_alg, bool must_create, const yz_key *chain_key,
                      yz_store **out, yz_diags *d)
{
    *out = NULL;
    if (hash_alg && !valid_alg(hash_alg)) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "unknown hash '%s': use sha256 or sm3", hash_alg);
        return YZ_EUSAGE;
    }
    if (yz_is_dir(path)) {
        diag_add(d, YZ_SEV_ERROR, path, 0, 0, "is a directory; --db names the store file (e.g. %s/yuanzhu.db)", path);
        return YZ_ESTORE;
    }
    /* An empty file holds no store yet: the store is made in it, as at a path where there is
       none, keeping the file its owner made (in one transaction: stopped part way, the file is
       left empty, as it was).  No yuanzhu process leaves one (a new store appears whole, see
       create_store_file), but the sqlite3 shell makes one by merely opening a path. */
    bool exists = yz_is_file(path), empty = exists && empty_file(path);
    if (must_create && exists && !empty) {
        diag_add(d, YZ_SEV_ERROR, path, 0, 0, "a store already exists here; choose another --db path");
        return YZ_ESTORE;
    }
    if (!exists) {
        int rc = create_store_file(path, hash_alg ? hash_alg : "sha256", chain_key ? yz_key_name(chain_key) : NULL, d);
        if (rc == YZ_EFAILED && must_create) {
            diag_add(d, YZ_SEV_ERROR, path, 0, 0, "a store already exists here; choose another --db path");
            return YZ_ESTORE;
        }
        if (rc == YZ_ESTORE)
            return rc;
        /* made now, or by another process at the same moment: open it like any other */
        exists = true;
    }
    yz_store *st = yz_calloc(1, sizeof *st);
    st->path = yz_strdup(path);
    int src = connect_store(st, false);
    if (src != SQLITE_OK && exists && read_only_media(path)) {
        /* a store in a folder we cannot write (an archive, read-only media): SQLite cannot make the
           shared-memory file a WAL store needs, even to read; the file cannot change, so say so */
        sqlite3_close(st->db);
        st->db = NULL;
        src = connect_store(st, true);
    }
    if (src != SQLITE_OK) {
        int rc = store_err(st, d, st->db ? "cannot set up the connection" : "cannot open the store");
        yz_store_close(st);
        return rc;
    }
    /* For the fault-injection tests only (tests/faults/run.sh): YUANZHU_TEST_MAX_PAGES=N caps the
       store at N pages, as a full disk would, so that a write fails with SQLITE_FULL part way
       through.  A real full disk cannot be made without root, and a shim that fails write() would
       not run under the sanitizers, whose interceptors come first; the cap makes SQLite fail at the
       same points with the same error.  It only ever refuses writes. */
    const char *mp = getenv("YUANZHU_TEST_MAX_PAGES");
    if (mp && *mp) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld", atoll(mp));
        exec(st, sql, NULL, "");
    }
    int v = 0;
    if (user_version(st, &v) != 0) {
        int rc = store_err(st, d, "cannot read the store");
        yz_store_close(st);
        return rc;
    }
    if (v != STORE_VERSION &&
        migrate(st, hash_alg ? hash_alg : "sha256", chain_key ? yz_key_name(chain_key) : NULL, d) != YZ_OK) {
        yz_store_close(st);
        return YZ_ESTORE;
    }
    char alg[16];
    int m = read_meta(st, "hash", alg, sizeof alg);
    if (m < 0) {
        int rc = store_err(st, d, "cannot read the store's settings");
        yz_store_close(st);
        return rc;
    }
    if (m != 0 || !valid_alg(alg)) {
        diag_add(d, YZ_SEV_ERROR, path, 0, 0, "the store has no valid hash setting (meta.hash)");
        yz_store_close(st);
        return YZ_ESTORE;
    }
    if (hash_alg && must_create == false && exists && strcmp(alg, hash_alg) != 0) {
        diag_add(d, YZ_SEV_ERROR, path, 0, 0, "this store is chained with %s, not %s", alg, hash_alg);
        yz_store_close(st);
        return YZ_ESTORE;
    }
    st->alg = !strcmp(alg, "sm3") ? YZ_HASH_SM3 : YZ_HASH_SHA256;
    char id[40];
    int mi = read_meta(st, "store_id", id, sizeof id);
    int mk = mi < 0 ? mi : read_meta(st, "chain_key", st->chain_name, sizeof st->chain_name);
    if (mi < 0 || mk < 0) {
        int rc = store_err(st, d, "cannot read the store's settings");
        yz_store_close(st);
        return rc;
    }
    snprintf(st->origin, sizeof st->origin, "yuanzhu/%s", mi == 0 ? id : "unnamed");
    if (mk != 0)
        st->chain_name[0] = '\0';
    if (*st->chain_name)
        snprintf(st->chain, sizeof st->chain, "hmac-%s %s", alg, st->chain_name);
    else
        snprintf(st->chain, sizeof st->chain, "%s", alg);
    if (!hash_alg_available(st->alg)) {
        diag_add(d, YZ_SEV_ERROR, path, 0, 0, "this OpenSSL has no SM3; the store cannot be used here");
        yz_store_close(st);
        return YZ_ESTORE;
    }
    st->z = zipper_new();
    *out = st;
    return YZ_OK;
}

int yz_store_open(const char *path, const char *hash_alg, yz_store **out, yz_diags *d)
{
    return open_store(path, hash_alg, false, NULL, out, d);
}

int yz_store_create(const char *path, const char *hash_alg, yz_diags *d)
{
    yz_store *st;
    int rc = open_store(path, hash_alg, true, NULL, &st, d);
    yz_store_close(st);
    return rc;
}

int yz_store_create_keyed(const char *path, const char *hash_alg, const yz_key *chain_key, yz_diags *d)
{
    if (!chain_key || key_kind_of(chain_key) != KEY_HMAC) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "a chain key is a secret (yuanzhu key new --alg hmac), not %s key",
                 chain_key ? yz_key_alg(chain_key) : "no");
        return YZ_EUSAGE;
    }
    yz_store *st;
    int rc = open_store(path, hash_alg, true, chain_key, &st, d);
    yz_store_close(st);
    return rc;
}

int yz_store_set_chain_key(yz_store *st, const yz_key *key, yz_diags *d)
{
    if (!*st->chain_name) {
        diag_add(d, YZ_SEV_ERROR, st->path, 0, 0,
                 "this store's chain is not keyed (it was made without --chain-key): verify it without one");
        return YZ_EUSAGE;
    }
    if (key_kind_of(key) != KEY_HMAC || strcmp(yz_key_name(key), st->chain_name) != 0) {
        diag_add(d, YZ_SEV_ERROR, st->path, 0, 0, "the store's chain is keyed by %s, not by %s: give its own chain key",
                 st->chain_name, yz_key_name(key));
        return YZ_EUSAGE;
    }
    st->chain_key = key;
    return YZ_OK;
}

const char *yz_store_origin(const yz_store *st)
{
    return st->origin;
}

const char *yz_store_chain(const yz_store *st)
{
    return st->chain;
}

int store_need_chain_key(yz_store *st, yz_diags *d)
{
    if (!*st->chain_name || st->chain_key)
        return YZ_OK;
    diag_add(d, YZ_SEV_ERROR, st->path, 0, 0,
             "this store's chain is keyed by %s: writing to it and verifying it need that secret "
             "(--chain-key FILE or YUANZHU_CHAIN_KEY)",
             st->chain_name);
    return YZ_EUSAGE;
}

sqlite3 *store_db(yz_store *st)
{
    return st->db;
}

const char *store_path(const yz_store *st)
{
    return st->path;
}

int store_exec(yz_store *st, const char *sql, yz_diags *d, const char *what)
{
    return exec(st, sql, d, what);
}

const void *store_col_blob(sqlite3_stmt *s, int i, size_t *n)
{
    return col_blob(s, i, n);
}

void yz_store_set_jobs(yz_store *st, int jobs)
{
    st->jobs = jobs;
}

int store_jobs(const yz_store *st)
{
    return st->jobs;
}

yz_hash_alg store_alg(const yz_store *st)
{
    return st->alg;
}

const yz_key *store_chain_key(const yz_store *st)
{
    return st->chain_key;
}

const char *store_col_text(sqlite3_stmt *s, int i)
{
    return col_text(s, i);
}

void store_now(char out[21])
{
    now_utc(out);
}

void yz_store_close(yz_store *st)
{
    if (!st)
        return;
    for (int i = 0; i < st->ncache; i++)
        sqlite3_finalize(st->cache[i].s);
    for (int i = 0; i < st->ndc; i++)
        zdict_free(st->dc[i].d);
    zipper_free(st->z);
    sqlite3_close(st->db);
    yz_free(st->path);
    yz_free(st);
}

const char *yz_store_hash_alg(const yz_store *st)
{
    return hash_alg_name(st->alg);
}

/* ---- helpers ---- */

static void chain_hash(yz_store *st, const char *prev, const char *event, size_t n, char hex[65])
{
    event_chain_hash(st->alg, st->chain_key, prev, event, n, hex);
}

int store_dict_load(yz_store *st, int64_t id, zdict **out, yz_diags *d)
{
    *out = NULL;
    sqlite3_stmt *s;
    if (prepare(st, "SELECT data FROM dicts WHERE id = ?", &s, d) != YZ_OK)
        return YZ_ESTORE;
    sqlite3_bind_int64(s, 1, id);
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        size_t n;
        const void *b = col_blob(s, 0, &n);
        *out = zdict_new(b, n);
    }
    /* a dictionary zstd refuses (damaged tables) is as good as none */
    int rc = step == SQLITE_ROW && *out ? YZ_OK
             : step == SQLITE_DONE || step == SQLITE_ROW ? YZ_EFAILED
                                                         : store_err(st, d, "cannot read a dictionary");
    sqlite3_finalize(s);
    return rc;
}

/* the dictionary with this id, kept in a small cache: YZ_OK, YZ_EFAILED (there is none: the
   store was damaged) or YZ_ESTORE (SQLite failed; a diagnostic says why) */
static int dict_by_id(yz_store *st, int64_t id, const zdict **out, yz_diags *d)
{
    *out = NULL;
    for (int i = 0; i < st->ndc; i++)
        if (st->dc[i].id == id) {
            *out = st->dc[i].d;
            return YZ_OK;
        }
    zdict *z;
    int rc = store_dict_load(st, id, &z, d);
    if (rc != YZ_OK)
        return rc;
    if (st->ndc == 16) {
        zdict_free(st->dc[0].d);
        memmove(st->dc, st->dc + 1, 15 * sizeof *st->dc);
        st->ndc--;
    }
    st->dc[st->ndc].id = id;
    st->dc[st->ndc].d = z;
    st->ndc++;
    *out = z;
    return YZ_OK;
}

static const char SQL_HEAD[] = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1";
static const char SQL_AUDIT[] = "INSERT INTO audit (seq, kind, hash) VALUES (?, ?, ?)";
static const char SQL_INPUT_FIND[] = "SELECT id FROM inputs WHERE hash = ?";
static const char SQL_INPUT_ADD[] = "INSERT INTO inputs (hash, dict, data) VALUES (?, ?, ?)";
static const char SQL_DECISION_ADD[] =
    "INSERT INTO decisions (seq, id, ruleset, input, id_number, as_of, operator, recorded_at, engine, target, output, "
    "signed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_DECIDED[] = "SELECT 1 FROM inputs i JOIN decisions d ON d.input = i.id "
                                  "WHERE i.hash = ? AND d.ruleset = ? AND d.as_of = ? LIMIT 1";
/* the same, for an input whose row is known */
static const char SQL_DECIDED_ROW[] = "SELECT 1 FROM decisions WHERE input = ? AND ruleset = ? AND as_of = ? LIMIT 1";

static int last_event(yz_store *st, int64_t *seq, char hash[65], yz_diags *d)
{
    if (st->head_valid) {
        *seq = st->head_seq;
        memcpy(hash, st->head_hash, 65);
        return YZ_OK;
    }
    sqlite3_stmt *s = cached(st, SQL_HEAD, d);
    if (!s)
        return YZ_ESTORE;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *seq = sqlite3_column_int64(s, 0);
        snprintf(hash, 65, "%s", col_text(s, 1));
    } else if (rc == SQLITE_DONE) {
        *seq = 0;
        memset(hash, '0', 64);
        hash[64] = '\0';
    } else {
        sqlite3_reset(s);
        return store_err(st, d, "cannot read the audit chain");
    }
    sqlite3_reset(s);
    return YZ_OK;
}

static int insert_audit(yz_store *st, int64_t seq, const char *kind, const char *hash, yz_diags *d)
{
    sqlite3_stmt *s = cached(st, SQL_AUDIT, d);
    if (!s)
        return YZ_ESTORE;
    sqlite3_bind_int64(s, 1, seq);
    sqlite3_bind_text(s, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, hash, 64, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store_err(st, d, "cannot append to the audit chain");
    if (st->batch) {
        /* the head is ours until the transaction ends */
        st->head_valid = true;
        st->head_seq = seq;
        memcpy(st->head_hash, hash, 64);
        st->head_hash[64] = '\0';
    }
    return YZ_OK;
}

/* ---- recording ---- */

struct yz_store_dict {
    char ruleset[65];
    char *province;
    int64_t rs_row, dict_id;
    zdict *z;
    int64_t sig_row;  /* the ruleset's accepted signature, or 0 */
    char *signer;     /* its key's name, or NULL */
};

struct yz_packer {
    const yz_store_dict *dict;
    zipper *z;
    /* reused record after record: the canonical input and output, and their frames as zstd
       writes them (room for its bound) */
    strbuf input, output, input_z, output_z;
};

/* one allocation, since a packed decision is made on a worker and freed on the writer: the
   frames and texts follow the struct */
struct yz_packed {
    const yz_store_dict *dict;
    char input_hash[65], output_hash[65];
    const char *input_z, *output_z; /* frames */
    size_t ninput_z, noutput_z;
    const char *id_number, *as_of, *target;
    char data[];
};

/* finds or registers the ruleset (inside the caller's transaction); dict content for a new one:
   the first input and output */
static int ruleset_row(yz_store *st, const yz_ruleset *rs, const char *input, const char *output, int64_t *rowid,
                       int64_t *dict, yz_diags *d)
{
    const char *id = yz_ruleset_id(rs);
    for (int i = 0; i < st->nrc; i++) {
        if (!strcmp(st->rc[i].ruleset, id)) {
            *rowid = st->rc[i].rowid;
            *dict = st->rc[i].dict;
            return YZ_OK;
        }
    }
    sqlite3_stmt *s;
    if (prepare(st, "SELECT id, dict FROM rulesets WHERE ruleset = ?", &s, d) != YZ_OK)
        return YZ_ESTORE;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *rowid = sqlite3_column_int64(s, 0);
        *dict = sqlite3_column_int64(s, 1);
        sqlite3_finalize(s);
    } else {
        sqlite3_finalize(s);
        if (rc != SQLITE_DONE)
            return store_err(st, d, "cannot look up the ruleset");
        char when[21];
        now_utc(when);
        /* the dictionary */
        strbuf content = STRBUF_INIT, dd = STRBUF_INIT;
        size_t parts[2] = {strlen(input), strlen(output)};
        sb_add(&content, input, parts[0]);
        sb_add(&content, output, parts[1]);
        zip_dict_build(content.buf, parts, 2, &dd);
        sb_free(&content);
        char dict_hash[65];
        sha256_hex(dd.buf, dd.len, dict_hash);
        if (prepare(st, "INSERT OR IGNORE INTO dicts (hash, data) VALUES (?, ?)", &s, d) != YZ_OK) {
            sb_free(&dd);
            return YZ_ESTORE;
        }
        sqlite3_bind_text(s, 1, dict_hash, 64, SQLITE_STATIC);
        sqlite3_bind_blob(s, 2, dd.buf, (int)dd.len, SQLITE_STATIC);
        rc = sqlite3_step(s);
        sqlite3_finalize(s);
        sb_free(&dd);
        if (rc != SQLITE_DONE)
            return store_err(st, d, "cannot store a dictionary");
        if (prepare(st, "SELECT id FROM dicts WHERE hash = ?", &s, d) != YZ_OK)
            return YZ_ESTORE;
        sqlite3_bind_text(s, 1, dict_hash, 64, SQLITE_STATIC);
        rc = sqlite3_step(s);
        *dict = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        if (rc != SQLITE_ROW)
            return store_err(st, d, "cannot store a dictionary");
        /* the files */
        const yz_file *files;
        size_t n = yz_ruleset_files(rs, &files);
        const char **paths = yz_malloc((n ? n : 1) * sizeof *paths);
        const char **blobs = yz_malloc((n ? n : 1) * sizeof *blobs);
        char (*hashes)[65] = yz_malloc((n ? n : 1) * sizeof *hashes);
        strbuf z = STRBUF_INIT;
        int err = 0;
        for (size_t i = 0; i < n && !err; i++) {
            paths[i] = files[i].path;
            sha256_hex(files[i].data, files[i].len, hashes[i]);
            blobs[i] = hashes[i];
            sb_clear(&z);
            zip_compress(st->z, NULL, files[i].data, files[i].len, &z);
            prepare(st, "INSERT OR IGNORE INTO blobs (hash, data) VALUES (?, ?)", &s, d);
            sqlite3_bind_text(s, 1, hashes[i], 64, SQLITE_STATIC);
            sqlite3_bind_blob(s, 2, z.buf, (int)z.len, SQLITE_STATIC);
            err = sqlite3_step(s) != SQLITE_DONE;
            sqlite3_finalize(s);
        }
        sb_free(&z);
        int64_t seq;
        char prev[65], hash[65];
        if (err || last_event(st, &seq, prev, d) != YZ_OK) {
            yz_free(paths);
            yz_free(blobs);
            yz_free(hashes);
            return err ? store_err(st, d, "cannot store the ruleset's files") : YZ_ESTORE;
        }
        seq++;
        prepare(st, "INSERT INTO rulesets (ruleset, province, dict, seq, recorded_at) VALUES (?, ?, ?, ?, ?)", &s, d);
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, yz_ruleset_province(rs), -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, *dict);
        sqlite3_bind_int64(s, 4, seq);
        sqlite3_bind_text(s, 5, when, -1, SQLITE_STATIC);
        err = sqlite3_step(s) != SQLITE_DONE;
        sqlite3_finalize(s);
        *rowid = sqlite3_last_insert_rowid(st->db);
        for (size_t i = 0; i < n && !err; i++) {
            prepare(st, "INSERT INTO ruleset_files (ruleset, path, blob) VALUES (?, ?, ?)", &s, d);
            sqlite3_bind_int64(s, 1, *rowid);
            sqlite3_bind_text(s, 2, paths[i], -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 3, blobs[i], 64, SQLITE_STATIC);
            err = sqlite3_step(s) != SQLITE_DONE;
            sqlite3_finalize(s);
        }
        if (!err) {
            event_ruleset e = {id, yz_ruleset_province(rs), dict_hash, when, paths, blobs, n, seq};
            strbuf ev = STRBUF_INIT;
            event_ruleset_json(&e, &ev);
            chain_hash(st, prev, ev.buf, ev.len, hash);
            sb_free(&ev);
            err = insert_audit(st, seq, "ruleset", hash, d) != YZ_OK;
        }
        yz_free(paths);
        yz_free(blobs);
        yz_free(hashes);
        if (err)
            return store_err(st, d, "cannot register the ruleset");
    }
    if (st->nrc == 8) {
        memmove(st->rc, st->rc + 1, 7 * sizeof *st->rc);
        st->nrc--;
    }
    snprintf(st->rc[st->nrc].ruleset, 65, "%s", id);
    st->rc[st->nrc].rowid = *rowid;
    st->rc[st->nrc].dict = *dict;
    st->nrc++;
    return YZ_OK;
}

int yz_store_begin(yz_store *st, yz_diags *d)
{
    st->head_valid = false;
    if (need_chain_key(st, d) != YZ_OK)
        return YZ_EUSAGE;
    if (exec(st, "BEGIN IMMEDIATE", d, "cannot lock the store for writing") != YZ_OK)
        return YZ_ESTORE;
    st->batch = true;
    return YZ_OK;
}

int yz_store_commit(yz_store *st, yz_diags *d)
{
    st->head_valid = false;
    int rc = exec(st, "COMMIT", d, "cannot commit");
    st->batch = false;
    if (rc != YZ_OK) {
        exec(st, "ROLLBACK", NULL, "");
        st->nrc = 0;
        return YZ_ESTORE;
    }
    st->ncommits++;
    return YZ_OK;
}

int yz_store_rollback(yz_store *st)
{
    st->batch = false;
    st->head_valid = false;
    st->nrc = 0; /* cached rows may not exist any more */
    return exec(st, "ROLLBACK", NULL, "");
}

static int open_txn(yz_store *st, bool *own, yz_diags *d)
{
    *own = false;
    if (need_chain_key(st, d) != YZ_OK)
        return YZ_EUSAGE;
    *own = !st->batch;
    if (*own && exec(st, "BEGIN IMMEDIATE", d, "cannot lock the store for writing") != YZ_OK)
        return YZ_ESTORE;
    return YZ_OK;
}

static int close_txn(yz_store *st, bool own, int rc, yz_diags *d)
{
    if (!own)
        return rc;
    st->head_valid = false;
    if (rc == YZ_OK)
        rc = exec(st, "COMMIT", d, "cannot commit the decision");
    if (rc != YZ_OK) {
        exec(st, "ROLLBACK", NULL, "");
        st->nrc = 0;
    }
    return rc;
}

int yz_store_dict_get(yz_store *st, const yz_ruleset *rs, const yz_record *rec, const yz_determination *det,
                      yz_store_dict **out, yz_diags *d)
{
    *out = NULL;
    if (!rec || !det) {
        /* only when the ruleset is registered already */
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM rulesets WHERE ruleset = ?", -1, &s, NULL) != SQLITE_OK)
            return YZ_ESTORE;
        sqlite3_bind_text(s, 1, yz_ruleset_id(rs), -1, SQLITE_STATIC);
        bool found = sqlite3_step(s) == SQLITE_ROW;
        sqlite3_finalize(s);
        if (!found)
            return YZ_EFAILED;
    } else if (!det->explained) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "only full determinations (with explanations) are recorded");
        return YZ_EUSAGE;
    }
    bool own;
    int orc = open_txn(st, &own, d);
    if (orc != YZ_OK)
        return orc;
    char *input = rec ? yz_record_canonical(rec) : NULL;
    char *output = det ? yz_determination_json(det) : NULL;
    int64_t row = 0, dict = 0;
    int rc = ruleset_row(st, rs, input ? input : "", output ? output : "", &row, &dict, d);
    yz_free(input);
    yz_free(output);
    int64_t sig_row = 0;
    if (rc == YZ_OK)
        rc = checkpoint_ruleset_signature(st, rs, row, &sig_row, d);
    zdict *z = NULL;
    if (rc == YZ_OK && (rc = store_dict_load(st, dict, &z, d)) == YZ_EFAILED) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0,
                 "the store's dictionary of this ruleset (dicts row %lld) is missing or damaged: nothing more can be "
                 "recorded with it; yuanzhu audit verify names the damage",
                 (long long)dict);
        rc = YZ_ESTORE;
    }
    rc = close_txn(st, own, rc, d);
    if (rc != YZ_OK) {
        zdict_free(z);
        return rc;
    }
    yz_store_dict *sd = yz_calloc(1, sizeof *sd);
    snprintf(sd->ruleset, sizeof sd->ruleset, "%s", yz_ruleset_id(rs));
    sd->province = yz_strdup(yz_ruleset_province(rs));
    sd->rs_row = row;
    sd->dict_id = dict;
    sd->z = z;
    sd->sig_row = sig_row;
    sd->signer = sig_row && yz_ruleset_signer(rs) ? yz_strdup(yz_ruleset_signer(rs)) : NULL;
    *out = sd;
    return YZ_OK;
}

void yz_store_dict_free(yz_store_dict *sd)
{
    if (!sd)
        return;
    zdict_free(sd->z);
    yz_free(sd->province);
    yz_free(sd->signer);
    yz_free(sd);
}

yz_packer *yz_packer_new(const yz_store_dict *dict)
{
    yz_packer *p = yz_calloc(1, sizeof *p);
    p->dict = dict;
    p->z = zipper_new();
    return p;
}

void yz_packer_free(yz_packer *p)
{
    if (!p)
        return;
    zipper_free(p->z);
    sb_free(&p->input);
    sb_free(&p->output);
    sb_free(&p->input_z);
    sb_free(&p->output_z);
    yz_free(p);
}

/* the packer's buffers keep what they grew to, but not a stray giant (a record of megabytes) */
static void packer_trim(strbuf *sb)
{
    if (sb->cap > 1 << 20)
        sb_free(sb);
    else
        sb_clear(sb);
}

int yz_pack(yz_packer *p, const yz_record *rec, const yz_determination *det, yz_packed **out)
{
    *out = NULL;
    /* a determination is recorded with the record it was made from: the same person (else the
       decision would name one person and hold another's record) */
    if (!det->explained || strcmp(det->ruleset, p->dict->ruleset) != 0 || !rec->id_number ||
        strcmp(det->id_number, rec->id_number) != 0)
        return YZ_EUSAGE;
    packer_trim(&p->input);
    packer_trim(&p->output);
    packer_trim(&p->input_z);
    packer_trim(&p->output_z);
    record_canonical_to(rec, &p->input);
    determination_json_to(det, &p->output);
    if (zip_compress(p->z, p->dict->z, p->input.buf, p->input.len, &p->input_z) != 0 ||
        zip_compress(p->z, p->dict->z, p->output.buf, p->output.len, &p->output_z) != 0)
        return YZ_ENOMEM;
    /* exactly sized: a packed record waits in the batch's queue, and a buffer sized for zstd's
       bound would hold ten times the frame */
    size_t nid = strlen(det->id_number) + 1, nas = strlen(det->as_of) + 1;
    yz_packed *pk = yz_malloc(sizeof *pk + p->input_z.len + p->output_z.len + nid + nas);
    pk->dict = p->dict;
    sha256_hex(p->input.buf, p->input.len, pk->input_hash);
    sha256_hex(p->output.buf, p->output.len, pk->output_hash);
    char *at = pk->data;
    pk->input_z = memcpy(at, p->input_z.buf, p->input_z.len);
    pk->ninput_z = p->input_z.len;
    at += p->input_z.len;
    pk->output_z = memcpy(at, p->output_z.buf, p->output_z.len);
    pk->noutput_z = p->output_z.len;
    at += p->output_z.len;
    pk->id_number = memcpy(at, det->id_number, nid);
    at += nid;
    pk->as_of = memcpy(at, det->as_of, nas);
    pk->target = yz_status_name(det->target, false);
    *out = pk;
    return YZ_OK;
}

const char *yz_packed_input_hash(const yz_packed *pk)
{
    return pk->input_hash;
}

void yz_packed_free(yz_packed *pk)
{
    yz_free(pk);
}

static int decided_row(yz_store *st, int64_t rs_row, const char *input_hash, const char *as_of, bool *yes)
{
    sqlite3_stmt *s = cached(st, SQL_DECIDED, NULL);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, input_hash, 64, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, rs_row);
    sqlite3_bind_text(s, 3, as_of, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    *yes = rc == SQLITE_ROW;
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

bool yz_store_any_decided(yz_store *st, const char *ruleset_id, const char *as_of)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT 1 FROM decisions d JOIN rulesets r ON r.id = d.ruleset "
                           "WHERE r.ruleset = ? AND d.as_of = ? LIMIT 1",
                           -1, &s, NULL) != SQLITE_OK)
        return true; /* when in doubt, check each record */
    sqlite3_bind_text(s, 1, ruleset_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, as_of, -1, SQLITE_STATIC);
    bool any = sqlite3_step(s) == SQLITE_ROW;
    sqlite3_finalize(s);
    return any;
}

bool yz_store_decided(yz_store *st, const char *ruleset_id, const char *input_hash, const char *as_of)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, "SELECT id FROM rulesets WHERE ruleset = ?", -1, &s, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(s, 1, ruleset_id, -1, SQLITE_STATIC);
    bool found = sqlite3_step(s) == SQLITE_ROW;
    int64_t row = found ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    bool yes = false;
    return found && decided_row(st, row, input_hash, as_of, &yes) == 0 && yes;
}

/* appends a packed decision inside the caller's transaction; with once, not when the same input
   was already decided with this ruleset on this date (batch runs are idempotent; a caseworker's
   check is always a new decision) */
static int append_locked(yz_store *st, const yz_packed *pk, const char *operator_id, bool once, bool *skipped,
                         char id_out[17], int64_t *seq_out, yz_diags *d)
{
    *skipped = false;
    /* the input, once; an input not stored yet cannot have been decided, so the lookup of an
       earlier decision (with once) is only made for one that is */
    sqlite3_stmt *s = cached(st, SQL_INPUT_FIND, d);
    if (!s)
        return YZ_ESTORE;
    sqlite3_bind_text(s, 1, pk->input_hash, 64, SQLITE_STATIC);
    int64_t in_row;
    int found = sqlite3_step(s);
    if (found == SQLITE_ROW) {
        in_row = sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
        if (once) {
            if (!(s = cached(st, SQL_DECIDED_ROW, d)))
                return YZ_ESTORE;
            sqlite3_bind_int64(s, 1, in_row);
            sqlite3_bind_int64(s, 2, pk->dict->rs_row);
            sqlite3_bind_text(s, 3, pk->as_of, -1, SQLITE_STATIC);
            int rc = sqlite3_step(s);
            sqlite3_reset(s);
            if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                return store_err(st, d, "cannot look up earlier decisions");
            if (rc == SQLITE_ROW) {
                *skipped = true;
                return YZ_OK;
            }
        }
    } else if (found != SQLITE_DONE) {
        sqlite3_reset(s);
        return store_err(st, d, "cannot look up the input");
    } else {
        sqlite3_reset(s);
        if (!(s = cached(st, SQL_INPUT_ADD, d)))
            return YZ_ESTORE;
        sqlite3_bind_text(s, 1, pk->input_hash, 64, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, pk->dict->dict_id);
        sqlite3_bind_blob(s, 3, pk->input_z, (int)pk->ninput_z, SQLITE_STATIC);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
            return store_err(st, d, "cannot store the input");
        in_row = sqlite3_last_insert_rowid(st->db);
    }
    int64_t seq;
    char prev[65], hash[65], when[21];
    if (last_event(st, &seq, prev, d) != YZ_OK)
        return YZ_ESTORE;
    seq++;
    now_utc(when);
    event_decision e = {pk->as_of, "yuanzhu " YZ_VERSION, pk->id_number, pk->input_hash, operator_id, pk->output_hash,
                   pk->dict->province, when, pk->dict->ruleset, pk->target, seq, pk->dict->signer};
    strbuf ev = STRBUF_INIT;
    event_decision_json(&e, &ev);
    chain_hash(st, prev, ev.buf, ev.len, hash);
    sb_free(&ev);
    if (!(s = cached(st, SQL_DECISION_ADD, d)))
        return YZ_ESTORE;
    sqlite3_bind_int64(s, 1, seq);
    sqlite3_bind_text(s, 2, hash, 16, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, pk->dict->rs_row);
    sqlite3_bind_int64(s, 4, in_row);
    sqlite3_bind_text(s, 5, pk->id_number, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, pk->as_of, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, operator_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 8, when, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 9, "yuanzhu " YZ_VERSION, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 10, pk->target, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 11, pk->output_z, (int)pk->noutput_z, SQLITE_STATIC);
    if (pk->dict->sig_row)
        sqlite3_bind_int64(s, 12, pk->dict->sig_row);
    int r = sqlite3_step(s);
    sqlite3_reset(s);
    if (r != SQLITE_DONE)
        return store_err(st, d, "cannot record the decision");
    if (insert_audit(st, seq, "decision", hash, d) != YZ_OK)
        return YZ_ESTORE;
    if (id_out)
        snprintf(id_out, 17, "%.16s", hash);
    if (seq_out)
        *seq_out = seq;
    return YZ_OK;
}

int yz_store_append(yz_store *st, const yz_packed *pk, const char *operator_id, bool *skipped, char id_out[17],
                    int64_t *seq_out, yz_diags *d)
{
    if (yz_operator_check(operator_id, d) != YZ_OK)
        return YZ_EUSAGE;
    bool own;
    int orc = open_txn(st, &own, d);
    if (orc != YZ_OK)
        return orc;
    int rc = append_locked(st, pk, operator_id, true, skipped, id_out, seq_out, d);
    return close_txn(st, own, rc, d);
}

int yz_store_record(yz_store *st, const yz_ruleset *rs, const yz_record *rec, const yz_determination *det,
                    const char *operator_id, char id_out[17], int64_t *seq_out, yz_diags *d)
{
    if (yz_operator_check(operator_id, d) != YZ_OK)
        return YZ_EUSAGE;
    bool own;
    int orc = open_txn(st, &own, d);
    if (orc != YZ_OK)
        return orc;
    bool was = st->batch;
    st->batch = true; /* the steps below join this transaction */
    yz_store_dict *dict = NULL;
    yz_packer *pp = NULL;
    yz_packed *pk = NULL;
    int rc = yz_store_dict_get(st, rs, rec, det, &dict, d);
    if (rc == YZ_OK) {
        pp = yz_packer_new(dict);
        rc = yz_pack(pp, rec, det, &pk);
        if (rc == YZ_EUSAGE)
            diag_add(d, YZ_SEV_ERROR, NULL, 0, 0,
                     "the determination was not made from this record with this ruleset (or without explanations): "
                     "record a determination with the record it was made from");
    }
    bool skipped = false;
    if (rc == YZ_OK)
        rc = append_locked(st, pk, operator_id, false, &skipped, id_out, seq_out, d);
    st->batch = was;
    yz_packed_free(pk);
    yz_packer_free(pp);
    yz_store_dict_free(dict);
    return close_txn(st, own, rc, d);
}

/* ---- reading ---- */

char *store_col_dup(sqlite3_stmt *s, int i)
{
    return yz_strdup(col_text(s, i));
}

/* a stored text: a frame whose content holds a NUL cannot be read back as one (what was stored
   never does; a reader that stopped at it would miss what follows) */
static int unzip_col(yz_store *st, sqlite3_stmt *s, int col, const zdict *zd, char **out)
{
    strbuf sb = STRBUF_INIT;
    size_t n;
    const void *b = col_blob(s, col, &n);
    if (zip_decompress(st->z, zd, b, n, STORE_MAX_BLOB, &sb) != 0 || memchr(sb.buf, '\0', sb.len)) {
        sb_free(&sb);
        *out = NULL;
        return -1;
    }
    *out = sb_release(&sb);
    return 0;
}

void store_files_free(yz_stored *s)
{
    for (size_t i = 0; i < s->nfiles; i++) {
        yz_free_const(s->files[i].path);
        yz_free_const(s->files[i].data);
    }
    yz_free(s->files);
    s->files = NULL;
    s->nfiles = 0;
}

void yz_stored_free(yz_stored *s)
{
    if (!s)
        return;
    yz_free(s->province);
    yz_free(s->ruleset);
    yz_free(s->id_number);
    yz_free(s->as_of);
    yz_free(s->operator_id);
    yz_free(s->recorded_at);
    yz_free(s->engine);
    yz_free(s->target);
    yz_free(s->ruleset_signer);
    yz_free(s->input);
    yz_free(s->output);
    store_files_free(s);
    yz_free(s);
}

static char *dup_or_null(const char *s)
{
    return s ? yz_strdup(s) : NULL;
}

yz_stored *yz_stored_dup(const yz_stored *s)
{
    yz_stored *c = yz_calloc(1, sizeof *c);
    c->seq = s->seq;
    memcpy(c->id, s->id, sizeof c->id);
    c->province = dup_or_null(s->province);
    c->ruleset = dup_or_null(s->ruleset);
    c->id_number = dup_or_null(s->id_number);
    c->as_of = dup_or_null(s->as_of);
    c->operator_id = dup_or_null(s->operator_id);
    c->recorded_at = dup_or_null(s->recorded_at);
    c->engine = dup_or_null(s->engine);
    c->target = dup_or_null(s->target);
    c->input = dup_or_null(s->input);
    c->output = dup_or_null(s->output);
    c->ruleset_signer = dup_or_null(s->ruleset_signer);
    return c;
}

/* the files of a ruleset: YZ_OK, YZ_EFAILED (one is damaged) or YZ_ESTORE (SQLite failed) */
int store_load_files(yz_store *st, int64_t rs_row, yz_stored *out, yz_diags *d)
{
    sqlite3_stmt *s;
    if (prepare(st,
                "SELECT f.path, b.data, b.hash FROM ruleset_files f JOIN blobs b ON b.hash = f.blob "
                "WHERE f.ruleset = ? ORDER BY f.path",
                &s, d) != YZ_OK)
        return YZ_ESTORE;
    sqlite3_bind_int64(s, 1, rs_row);
    size_t cap = 0;
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (out->nfiles == cap) {
            cap = cap ? cap * 2 : 16;
            out->files = yz_realloc(out->files, cap * sizeof *out->files);
        }
        char *data;
        if (unzip_col(st, s, 1, NULL, &data) != 0) {
            sqlite3_finalize(s);
            diag_add(d, YZ_SEV_ERROR, st->path, 0, 0, "a stored ruleset file cannot be read back (damaged)");
            return YZ_EFAILED;
        }
        yz_file *f = &out->files[out->nfiles++];
        f->path = col_dup(s, 0);
        f->data = data;
        f->len = strlen(data);
    }
    int rc = step == SQLITE_DONE ? YZ_OK : store_err(st, d, "cannot read the ruleset's files");
    sqlite3_finalize(s);
    return rc;
}

#define DECISION_COLUMNS                                                                                           \
    "d.seq, d.id, r.province, r.ruleset, d.id_number, d.as_of, d.operator, d.recorded_at, d.engine, d.target, " \
    "d.ruleset, r.dict, i.data, i.dict, d.output, (SELECT g.signer FROM ruleset_signatures g WHERE g.id = d.signed_by)"

/* the record and the determination of a row, as asked (each with its ruleset's dictionary) */
static int unpack_row(yz_store *st, sqlite3_stmt *s, bool input, bool output, yz_stored *o, yz_diags *d)
{
    const zdict *rd = NULL, *id = NULL;
    int r = YZ_OK;
    if (output)
        r = dict_by_id(st, sqlite3_column_int64(s, 11), &rd, d);
    if (r == YZ_OK && input)
        r = dict_by_id(st, sqlite3_column_int64(s, 13), &id, d);
    if (r == YZ_ESTORE)
        return r;
    if (r != YZ_OK || (input && unzip_col(st, s, 12, id, &o->input) != 0) ||
        (output && unzip_col(st, s, 14, rd, &o->output) != 0)) {
        diag_add(d, YZ_SEV_ERROR, st->path, 0, 0, "decision %s cannot be read back (damaged)", o->id);
        return YZ_EFAILED;
    }
    return YZ_OK;
}

static int fill_stored(yz_store *st, sqlite3_stmt *s, bool with_output, yz_stored *o, yz_diags *d)
{
    o->seq = sqlite3_column_int64(s, 0);
    snprintf(o->id, sizeof o->id, "%s", col_text(s, 1));
    o->province = col_dup(s, 2);
    o->ruleset = col_dup(s, 3);
    o->id_number = col_dup(s, 4);
    o->as_of = col_dup(s, 5);
    o->operator_id = col_dup(s, 6);
    o->recorded_at = col_dup(s, 7);
    o->engine = col_dup(s, 8);
    o->target = col_dup(s, 9);
    o->ruleset_signer = sqlite3_column_type(s, 15) == SQLITE_NULL ? NULL : col_dup(s, 15);
    return with_output ? unpack_row(st, s, true, true, o, d) : YZ_OK;
}

int yz_store_load(yz_store *st, const char *id, bool with_files, yz_stored **out, yz_diags *d)
{
    *out = NULL;
    size_t n = strlen(id);
    if (n < 6 || n > 16 || strspn(id, "0123456789abcdef") != n) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "'%s' is not a decision id (16 hex digits, or at least the first 6)", id);
        return YZ_EUSAGE;
    }
    sqlite3_stmt *s;
    if (prepare(st,
                "SELECT " DECISION_COLUMNS " FROM decisions d JOIN rulesets r ON r.id = d.ruleset "
                "JOIN inputs i ON i.id = d.input WHERE d.id >= ? AND d.id < ? ORDER BY d.id LIMIT 2",
                &s, d) != YZ_OK)
        return YZ_ESTORE;
    char hi[18];
    snprintf(hi, sizeof hi, "%s~", id);
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, hi, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(s);
        if (rc != SQLITE_DONE)
            return store_err(st, d, "cannot read decisions");
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "no decision %s in %s", id, st->path);
        return YZ_EUSAGE;
    }
    yz_stored *o = yz_calloc(1, sizeof *o);
    rc = fill_stored(st, s, true, o, d);
    int64_t rs_row = sqlite3_column_int64(s, 10);
    if (rc == YZ_OK && sqlite3_step(s) == SQLITE_ROW) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "'%s' names more than one decision: give more digits", id);
        rc = YZ_EUSAGE;
    }
    sqlite3_finalize(s);
    if (rc == YZ_OK && with_files && (rc = store_load_files(st, rs_row, o, d)) == YZ_EFAILED)
        rc = YZ_ESTORE;
    if (rc != YZ_OK) {
        yz_stored_free(o);
        return rc;
    }
    *out = o;
    return YZ_OK;
}

/* ---- scans: many decisions, chosen by person, date, province, or each person's newest ---- */

/* the WHERE clause of a scan (parameters ?1 and ?5 person, ?2 from, ?3 to, ?4 province) */
static void scan_where(strbuf *sql, const yz_scan *q)
{
    if (q->newest)
        sb_adds(sql, " AND d.seq IN (SELECT max(seq) FROM decisions GROUP BY upper(id_number))");
    if (q->id_number) /* a final x or X: the same person */
        sb_adds(sql, " AND d.id_number IN (?1, ?5)");
    if (q->from)
        sb_adds(sql, " AND d.recorded_at >= ?2");
    if (q->to)
        sb_adds(sql, " AND d.recorded_at < ?3");
    if (q->province)
        sb_adds(sql, " AND (r.province = ?4 OR substr(r.province, 1, length(?4) + 1) = ?4 || '/')");
}

/* prepares head + the scan's WHERE clause + tail, with the scan's values bound */
static int scan_prepare(yz_store *st, const char *head, const yz_scan *q, const char *tail, sqlite3_stmt **out,
                        yz_diags *d)
{
    strbuf sql = STRBUF_INIT;
    sb_adds(&sql, head);
    scan_where(&sql, q);
    sb_adds(&sql, tail);
    int rc = prepare(st, sql.buf, out, d);
    sb_free(&sql);
    if (rc != YZ_OK)
        return rc;
    sqlite3_stmt *s = *out;
    if (q->id_number) {
        char other_x[32];
        snprintf(other_x, sizeof other_x, "%s", q->id_number);
        size_t n = strlen(other_x);
        if (n && (other_x[n - 1] == 'x' || other_x[n - 1] == 'X'))
            other_x[n - 1] ^= 'x' ^ 'X';
        sqlite3_bind_text(s, 1, q->id_number, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 5, other_x, -1, SQLITE_TRANSIENT);
    }
    if (q->from)
        sqlite3_bind_text(s, 2, q->from, -1, SQLITE_TRANSIENT);
    if (q->to) {
        char to_next[32];
        snprintf(to_next, sizeof to_next, "%sT99", q->to); /* every time on that day sorts before it */
        sqlite3_bind_text(s, 3, to_next, -1, SQLITE_TRANSIENT);
    }
    if (q->province)
        sqlite3_bind_text(s, 4, q->province, -1, SQLITE_TRANSIENT);
    return YZ_OK;
}

int yz_store_scan(yz_store *st, const yz_scan *q, yz_stored_fn fn, void *ctx, yz_diags *d)
{
    sqlite3_stmt *s;
    int rc = scan_prepare(st,
                          "SELECT " DECISION_COLUMNS " FROM decisions d JOIN rulesets r ON r.id = d.ruleset "
                          "JOIN inputs i ON i.id = d.input WHERE 1",
                          q, " ORDER BY d.seq", &s, d);
    if (rc != YZ_OK)
        return rc;
    /* the files of the last ruleset read, lent to the decisions of that ruleset that follow */
    yz_stored files = {0};
    int64_t files_row = -1;
    size_t damaged = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        yz_stored *o = yz_calloc(1, sizeof *o);
        size_t mark = d ? d->n : 0;
        int r = fill_stored(st, s, false, o, d);
        if (r == YZ_OK)
            r = unpack_row(st, s, q->input, q->output, o, d);
        int64_t row = sqlite3_column_int64(s, 10);
        if (r == YZ_OK && q->files && row != files_row) {
            store_files_free(&files);
            files_row = -1;
            if ((r = store_load_files(st, row, &files, d)) == YZ_OK)
                files_row = row;
        }
        if (r == YZ_EFAILED) {
            /* a damaged row is reported, and the walk goes on to the others */
            diag_truncate(d, mark);
            diag_add(d, YZ_SEV_ERROR, st->path, 0, 0,
                     "decision %s (seq %lld) cannot be read back: its stored input, output or ruleset files are "
                     "damaged (yuanzhu audit verify says where); skipped",
                     o->id, (long long)o->seq);
            damaged++;
            yz_stored_free(o);
            continue;
        }
        if (r == YZ_OK && q->files) {
            o->files = files.files;
            o->nfiles = files.nfiles;
        }
        int stop = r == YZ_OK ? fn(o, ctx) : 1;
        o->files = NULL; /* lent */
        o->nfiles = 0;
        yz_stored_free(o);
        if (r != YZ_OK) {
            store_files_free(&files);
            sqlite3_finalize(s);
            return r;
        }
        if (stop)
            break;
    }
    store_files_free(&files);
    int ok = rc == SQLITE_DONE || rc == SQLITE_ROW;
    sqlite3_finalize(s);
    if (!ok)
        return store_err(st, d, "cannot read decisions");
    return damaged ? YZ_EFAILED : YZ_OK;
}

int yz_store_each(yz_store *st, const char *id_number, const char *from, const char *to, bool with_output,
                  yz_stored_fn fn, void *ctx, yz_diags *d)
{
    yz_scan q = {.id_number = id_number, .from = from, .to = to, .input = with_output, .output = with_output,
                 .files = with_output};
    return yz_store_scan(st, &q, fn, ctx, d);
}

int yz_store_rulesets(yz_store *st, const yz_scan *q, yz_ruleset_fn fn, void *ctx, yz_diags *d)
{
    sqlite3_stmt *s;
    int rc = scan_prepare(st,
                          "SELECT r.id, r.ruleset, r.province FROM rulesets r WHERE r.id IN (SELECT d.ruleset "
                          "FROM decisions d JOIN rulesets r ON r.id = d.ruleset WHERE 1",
                          q, ") ORDER BY r.id", &s, d);
    if (rc != YZ_OK)
        return rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        yz_stored files = {0};
        int r = store_load_files(st, sqlite3_column_int64(s, 0), &files, d);
        if (r != YZ_OK) {
            sqlite3_finalize(s);
            return YZ_ESTORE;
        }
        int stop = fn(col_text(s, 1), col_text(s, 2), files.files, files.nfiles, ctx);
        store_files_free(&files);
        if (stop)
            break;
    }
    int ok = rc == SQLITE_DONE || rc == SQLITE_ROW;
    sqlite3_finalize(s);
    return ok ? YZ_OK : store_err(st, d, "cannot read rulesets");
}

/* ---- verification ---- */

int yz_store_head(yz_store *st, int64_t *seq, char hash[65], yz_diags *d)
{
    return last_event(st, seq, hash, d);
}

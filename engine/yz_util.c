/* yz_util.c: memory, string buffers, arenas and small text helpers. */
#include "yz_util.h"

#include "yuanzhu.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static _Atomic(yz_oom_handler) oom_handler;

yz_oom_handler yz_set_oom_handler(yz_oom_handler fn)
{
    return atomic_exchange(&oom_handler, fn);
}

_Noreturn void yz_out_of_memory(size_t n)
{
    yz_oom_handler fn = atomic_load(&oom_handler);
    if (fn)
        fn(n);
    _Exit(70); /* EX_SOFTWARE, as the command line's handler */
}

static _Noreturn void oom(size_t n)
{
    yz_out_of_memory(n);
}

void *yz_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *yz_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *yz_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *yz_strdup(const char *s)
{
    return s ? yz_strndup(s, strlen(s)) : NULL;
}

char *yz_strndup(const char *s, size_t n)
{
    char *p = yz_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void yz_free(void *p)
{
    free(p);
}

/* ---- strbuf ---- */

void sb_grow(strbuf *sb, size_t extra)
{
    size_t need = sb->len + extra + 1;
    if (need <= sb->cap)
        return;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < need)
        cap *= 2;
    sb->buf = yz_realloc(sb->buf, cap);
    sb->cap = cap;
}

void sb_add(strbuf *sb, const void *data, size_t n)
{
    if (sb->len + n + 1 > sb->cap)
        sb_grow(sb, n);
    memcpy(sb->buf + sb->len, data, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

void sb_adds(strbuf *sb, const char *s)
{
    sb_add(sb, s, strlen(s));
}

void sb_vaddf(strbuf *sb, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return;
    sb_grow(sb, (size_t)n);
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    sb->len += (size_t)n;
}

void sb_addf(strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(sb, fmt, ap);
    va_end(ap);
}

void sb_clear(strbuf *sb)
{
    sb->len = 0;
    if (sb->buf)
        sb->buf[0] = '\0';
}

void sb_free(strbuf *sb)
{
    yz_free(sb->buf);
    sb->buf = NULL;
    sb->len = sb->cap = 0;
}

char *sb_release(strbuf *sb)
{
    char *p = sb->buf ? sb->buf : yz_strdup("");
    sb->buf = NULL;
    sb->len = sb->cap = 0;
    return p;
}

/* ---- arena ---- */

struct arena_block {
    arena_block *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

void arena_init(arena *a, size_t block_size)
{
    a->head = NULL;
    a->block_size = block_size ? block_size : 64 * 1024;
    a->used_total = 0;
}

void *arena_alloc(arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    arena_block *b = a->head;
    if (!b || b->size - b->used < n) {
        size_t size = n > a->block_size ? n : a->block_size;
        arena_block *nb = yz_malloc(sizeof *nb + size);
        nb->size = size;
        nb->used = 0;
        if (b && n > a->block_size) {
            /* oversized: keep the current block at the head for further small allocations */
            nb->next = b->next;
            b->next = nb;
            nb->used = n;
            a->used_total += n;
            return nb->data;
        }
        nb->next = b;
        a->head = b = nb;
    }
    void *p = b->data + b->used;
    b->used += n;
    a->used_total += n;
    return p;
}

char *arena_strndup(arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(arena *a, const char *s)
{
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

char *arena_printf(arena *a, const char *fmt, ...)
{
    va_list ap, cp;
    va_start(ap, fmt);
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    char *p = arena_alloc(a, (size_t)(n < 0 ? 0 : n) + 1);
    vsnprintf(p, (size_t)(n < 0 ? 0 : n) + 1, fmt, ap);
    va_end(ap);
    return p;
}

void arena_clear(arena *a)
{
    /* keep one regular-sized block: the oldest one, at the tail */
    arena_block *b = a->head, *keep = NULL;
    while (b) {
        arena_block *next = b->next;
        if (!keep && !next && b->size == a->block_size)
            keep = b;
        else
            yz_free(b);
        b = next;
    }
    if (keep) {
        keep->used = 0;
        keep->next = NULL;
    }
    a->head = keep;
    a->used_total = 0;
}

void arena_free(arena *a)
{
    arena_block *b = a->head;
    while (b) {
        arena_block *next = b->next;
        yz_free(b);
        b = next;
    }
    a->head = NULL;
    a->used_total = 0;
}

/* ---- files ---- */

DIR *yz_opendir(const char *path)
{
    DIR *d = opendir(path);
    if (!d && errno == ENOMEM)
        yz_out_of_memory(0);
    return d;
}

FILE *yz_fopen(const char *path, const char *mode)
{
    FILE *f = fopen(path, mode);
    if (!f && errno == ENOMEM)
        yz_out_of_memory(0);
    return f;
}

int yz_read_stream(void *fp, size_t max_bytes, char **out, size_t *out_len)
{
    strbuf sb = STRBUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, (FILE *)fp)) > 0) {
        if (sb.len + n > max_bytes) {
            sb_free(&sb);
            return EFBIG;
        }
        sb_add(&sb, chunk, n);
    }
    if (ferror((FILE *)fp)) {
        int e = errno ? errno : EIO;
        sb_free(&sb);
        return e;
    }
    *out_len = sb.len;
    *out = sb_release(&sb);
    return 0;
}

int yz_read_file(const char *path, size_t max_bytes, char **out, size_t *out_len)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return errno;
    if (S_ISDIR(st.st_mode))
        return EISDIR;
    if (!S_ISREG(st.st_mode))
        return EINVAL;
    if ((size_t)st.st_size > max_bytes)
        return EFBIG;
    FILE *fp = yz_fopen(path, "rb");
    if (!fp)
        return errno;
    int rc = yz_read_stream(fp, max_bytes, out, out_len);
    fclose(fp);
    return rc;
}

bool yz_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool yz_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

size_t yz_list_dir(const char *dir, bool folders, const char *suffix1, const char *suffix2, char ***out)
{
    *out = NULL;
    DIR *dh = yz_opendir(dir);
    if (!dh)
        return 0;
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(dh))) {
        const char *name = de->d_name;
        if (name[0] == '.')
            continue;
        if (folders) {
            char *full = yz_path_join(dir, name);
            bool is_dir = yz_is_dir(full);
            yz_free(full);
            if (!is_dir)
                continue;
        } else if ((suffix1 || suffix2) && !(suffix1 && yz_str_has_suffix(name, suffix1)) &&
                   !(suffix2 && yz_str_has_suffix(name, suffix2))) {
            continue;
        }
        names = yz_realloc(names, (n + 1) * sizeof *names);
        names[n++] = yz_strdup(name);
    }
    closedir(dh);
    if (n)
        qsort(names, n, sizeof *names, yz_strcmp_ptr);
    *out = names;
    return n;
}

void yz_names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        yz_free(names[i]);
    yz_free(names);
}

/* ---- text ---- */

void yz_offset_linecol(const char *text, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            (*col)++;
        }
    }
}

const char *yz_utf8_invalid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        /* ASCII runs eight bytes at a time */
        while (end - p >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            if (w & 0x8080808080808080ull)
                break;
            p += 8;
        }
        if (p >= end)
            break;
        unsigned c = *p;
        if (c < 0x80) {
            p++;
            continue;
        }
        size_t k;
        unsigned min;
        if (c >= 0xC2 && c <= 0xDF) {
            k = 1;
            min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            min = 0x10000;
        } else {
            return (const char *)p;
        }
        if ((size_t)(end - p) <= k)
            return (const char *)p;
        unsigned cp = c & (0x3F >> k);
        for (size_t i = 1; i <= k; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return (const char *)p;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return (const char *)p;
        p += k + 1;
    }
    return NULL;
}

size_t yz_utf8_width(const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            w++;
    return w;
}

void sb_add_clean(strbuf *sb, const char *s, size_t n, size_t max)
{
    size_t start = sb->len;
    const char *end = s + n;
    while (s < end && sb->len - start < max) {
        const char *bad = yz_utf8_invalid(s, (size_t)(end - s));
        size_t good = (size_t)((bad ? bad : end) - s);
        size_t room = max - (sb->len - start);
        if (good > room) {
            /* cut before a continuation byte, never inside a character */
            good = room;
            while (good && ((unsigned char)s[good] & 0xC0) == 0x80)
                good--;
            sb_add(sb, s, good);
            s += good;
            break;
        }
        sb_add(sb, s, good);
        s += good;
        if (bad) {
            sb_adds(sb, "\xEF\xBF\xBD"); /* U+FFFD */
            s++;
        }
    }
    if (s < end)
        sb_adds(sb, "\xE2\x80\xA6"); /* … */
}

size_t yz_edit_distance(const char *a, const char *b, size_t limit)
{
    /* optimal string alignment distance (Levenshtein plus adjacent transpositions) */
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    size_t rows[3][65];
    size_t *pp = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        size_t best = cur[0];
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t v = prev[j - 1] + cost;
            if (prev[j] + 1 < v)
                v = prev[j] + 1;
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;
            cur[j] = v;
            if (v < best)
                best = v;
        }
        if (best > limit)
            return SIZE_MAX;
        size_t *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb] <= limit ? prev[lb] : SIZE_MAX;
}

const char *yz_suggest(const char *word, const char *const *candidates, size_t n)
{
    size_t wl = strlen(word);
    size_t limit = wl <= 3 ? 1 : wl <= 8 ? 2 : 3;
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        if (!candidates[i])
            continue;
        size_t d = yz_edit_distance(word, candidates[i], limit);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    return best;
}

bool yz_str_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool yz_str_has_suffix(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

int yz_strcmp_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *yz_path_join(const char *dir, const char *name)
{
    strbuf sb = STRBUF_INIT;
    if (dir && *dir && strcmp(dir, ".") != 0 && name[0] != '/') {
        sb_adds(&sb, dir);
        if (sb.len && sb.buf[sb.len - 1] != '/')
            sb_addc(&sb, '/');
    }
    sb_adds(&sb, name);
    return sb_release(&sb);
}

char *yz_path_normalize(const char *path)
{
    bool abs = path[0] == '/';
    const char *parts[256];
    size_t lens[256], n = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *s = p;
        while (*p && *p != '/')
            p++;
        size_t l = (size_t)(p - s);
        if (l == 1 && s[0] == '.')
            continue;
        if (l == 2 && s[0] == '.' && s[1] == '.' && n > 0 && !(lens[n - 1] == 2 && parts[n - 1][0] == '.' && parts[n - 1][1] == '.')) {
            n--;
            continue;
        }
        if (l == 2 && s[0] == '.' && s[1] == '.' && abs)
            continue;
        if (n < 256) {
            parts[n] = s;
            lens[n] = l;
            n++;
        }
    }
    strbuf sb = STRBUF_INIT;
    if (abs)
        sb_addc(&sb, '/');
    for (size_t i = 0; i < n; i++) {
        if (i)
            sb_addc(&sb, '/');
        sb_add(&sb, parts[i], lens[i]);
    }
    if (!sb.len)
        sb_addc(&sb, '.');
    return sb_release(&sb);
}

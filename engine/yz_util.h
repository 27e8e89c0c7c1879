/* yz_util.h: memory, string buffers, arenas and small text helpers shared by every module. */
#ifndef YZ_UTIL_H
#define YZ_UTIL_H

#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdbool.h>

#define YZ_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation that never returns NULL: on exhaustion it calls the out-of-memory handler (see
 * yz_set_oom_handler in yuanzhu.h), which does not return. */
void *yz_malloc(size_t n);
void *yz_calloc(size_t n, size_t size);
void *yz_realloc(void *p, size_t n);
char *yz_strdup(const char *s);
char *yz_strndup(const char *s, size_t n);
void yz_free(void *p);
/* Frees what a struct owns but shows read-only (a const char * it allocated). */
static inline void yz_free_const(const void *p)
{
    yz_free((void *)(uintptr_t)p);
}
/* Ends the process through the out-of-memory handler: for the places where a library we call
 * reports that it ran out of memory (libyaml, regcomp, zstd) and the caller cannot return
 * YZ_ENOMEM.  n is the size that failed, or 0 when unknown. */
_Noreturn void yz_out_of_memory(size_t n);

/* Growable byte buffer, always NUL-terminated.  sb_release() hands the storage to the caller
 * (free with yz_free); sb_clear() keeps the storage. */
typedef struct strbuf {
    char *buf;
    size_t len, cap;
} strbuf;
#define STRBUF_INIT {NULL, 0, 0}
void sb_grow(strbuf *sb, size_t extra);
void sb_add(strbuf *sb, const void *data, size_t n);
void sb_adds(strbuf *sb, const char *s);
/* one character; inline because writers call it per byte */
static inline void sb_addc(strbuf *sb, char c)
{
    if (sb->len + 2 > sb->cap)
        sb_grow(sb, 1);
    sb->buf[sb->len++] = c;
    sb->buf[sb->len] = '\0';
}
void sb_addf(strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vaddf(strbuf *sb, const char *fmt, va_list ap);
void sb_clear(strbuf *sb);
void sb_free(strbuf *sb);
char *sb_release(strbuf *sb);
static inline const char *sb_str(const strbuf *sb) { return sb->buf ? sb->buf : ""; }

/* Bump allocator: many small allocations freed at once.  arena_clear() keeps the first block
 * for reuse, arena_free() returns everything.  Returned memory is 16-byte aligned. */
typedef struct arena_block arena_block;
typedef struct arena {
    arena_block *head;
    size_t block_size;
    size_t used_total;
} arena;
void arena_init(arena *a, size_t block_size);
void *arena_alloc(arena *a, size_t n);
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_strdup(arena *a, const char *s);
char *arena_printf(arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void arena_clear(arena *a);
void arena_free(arena *a);

/* opendir and fopen, except that when the C library has no memory for the handle (ENOMEM) they
 * call the out-of-memory handler instead of failing: a missing folder or an unreadable file is
 * reported to the user, and lack of memory must not look like one. */
DIR *yz_opendir(const char *path);
FILE *yz_fopen(const char *path, const char *mode);

/* Reads a whole file.  Returns 0 and a malloc'd, NUL-terminated buffer (caller frees), or an
 * errno value.  Refuses directories (EISDIR) and files over max_bytes (EFBIG). */
int yz_read_file(const char *path, size_t max_bytes, char **out, size_t *out_len);
/* Reads all of a stream (stdin). Same contract as yz_read_file. */
int yz_read_stream(void *fp, size_t max_bytes, char **out, size_t *out_len);

/* Returns NULL if s[0..n) is valid UTF-8, else a pointer to the first bad byte. */
const char *yz_utf8_invalid(const char *s, size_t n);
/* The 1-based line and column (in UTF-8 characters) of byte off of text. */
void yz_offset_linecol(const char *text, size_t off, int *line, int *col);
/* Number of code points (for column counting). */
size_t yz_utf8_width(const char *s, size_t n);
/* Appends text from an untrusted source (a rule's error or note) so that what lands in a
 * determination is valid UTF-8 of bounded size: each invalid byte becomes U+FFFD, and text
 * beyond max bytes is cut at a character boundary and ends with "…". */
void sb_add_clean(strbuf *sb, const char *s, size_t n, size_t max);

/* Edit distance, for did-you-mean suggestions; returns SIZE_MAX when above limit. */
size_t yz_edit_distance(const char *a, const char *b, size_t limit);
/* Best candidate among a NULL-terminated list within a distance that scales with the length,
 * or NULL. */
const char *yz_suggest(const char *word, const char *const *candidates, size_t n);

bool yz_str_has_prefix(const char *s, const char *prefix);
bool yz_str_has_suffix(const char *s, const char *suffix);
int yz_strcmp_ptr(const void *a, const void *b); /* qsort over char* */

/* Joins a directory and a name with exactly one '/'.  Caller frees. */
char *yz_path_join(const char *dir, const char *name);
/* Lexically normalises "a/./b/../c" to "a/c"; keeps a leading "../". Caller frees. */
char *yz_path_normalize(const char *path);
bool yz_is_dir(const char *path);
bool yz_is_file(const char *path);
/* The entries of folder dir whose names do not start with '.', sorted by byte order: with
 * folders, its sub-folders; else the names ending in suffix1 or suffix2 (both NULL: every name).
 * Returns their number and the names in *out (free with yz_names_free), or 0 and NULL when dir
 * cannot be read. */
size_t yz_list_dir(const char *dir, bool folders, const char *suffix1, const char *suffix2, char ***out);
void yz_names_free(char **names, size_t n);

#endif

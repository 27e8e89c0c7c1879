/* yz_source.c: the files of a ruleset load, read from a folder tree on disk or from files held in
 * memory (a ruleset stored with a decision): their canonical bytes, the sorted listing of a level's
 * folder, and the messages that name them. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "yz_diag.h"
#include "yz_loader.h"
#include "yz_sandbox.h"

/* path shown to people: relative to the working directory when below it */
char *ld_display_path(loader *L, const char *path)
{
    char *norm = yz_path_normalize(path);
    size_t cl = strlen(L->cwd);
    if (norm[0] == '/' && cl > 1 && strncmp(norm, L->cwd, cl) == 0 && norm[cl] == '/') {
        char *r = arena_strdup(ld_mem(L), norm + cl + 1);
        yz_free(norm);
        return r;
    }
    char *r = arena_strdup(ld_mem(L), norm);
    yz_free(norm);
    return r;
}

/* Canonical bytes: no UTF-8 BOM, CRLF and CR line ends as LF. */
static char *canonical_bytes(arena *m, const char *data, size_t len, size_t *out_len)
{
    if (len >= 3 && (unsigned char)data[0] == 0xEF && (unsigned char)data[1] == 0xBB && (unsigned char)data[2] == 0xBF) {
        data += 3;
        len -= 3;
    }
    char *out = arena_alloc(m, len + 1);
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\r') {
            out[k++] = '\n';
            if (i + 1 < len && data[i + 1] == '\n')
                i++;
        } else {
            out[k++] = data[i];
        }
    }
    out[k] = '\0';
    *out_len = k;
    return out;
}

rfile *ld_find_file(loader *L, const char *path)
{
    for (size_t i = 0; i < L->rs->nfiles; i++)
        if (strcmp(L->rs->files[i].path, path) == 0)
            return &L->rs->files[i];
    return NULL;
}

static rfile *add_file(loader *L, const char *logical, const char *display, const char *data, size_t len)
{
    rfile *f = ld_find_file(L, logical);
    if (f)
        return f;
    L->rs->files = yz_realloc(L->rs->files, (L->rs->nfiles + 1) * sizeof *L->rs->files);
    f = &L->rs->files[L->rs->nfiles++];
    f->path = arena_strdup(ld_mem(L), logical);
    f->display = display ? display : f->path;
    f->data = canonical_bytes(ld_mem(L), data, len, &f->len);
    return f;
}

/* Reads a file of the ruleset from disk or memory.  Returns NULL after a diagnostic. */
rfile *ld_load_file(loader *L, const char *logical, const char *disk_path, const char *why_file, int why_line,
                        int why_col)
{
    rfile *f = ld_find_file(L, logical);
    if (f)
        return f;
    if (L->mem_files) {
        for (size_t i = 0; i < L->nmem; i++)
            if (strcmp(L->mem_files[i].path, logical) == 0)
                return add_file(L, logical, NULL, L->mem_files[i].data, L->mem_files[i].len);
        diag_add(L->d, YZ_SEV_ERROR, why_file, why_line, why_col, "the stored ruleset has no file %s", logical);
        return NULL;
    }
    char *data;
    size_t len;
    int e = yz_read_file(disk_path, MAX_FILE_BYTES, &data, &len);
    if (e) {
        const char *shown = ld_display_path(L, disk_path);
        if (e == EFBIG)
            diag_add(L->d, YZ_SEV_ERROR, why_file ? why_file : shown, why_line, why_col,
                     "%s is larger than %u MiB", shown, MAX_FILE_BYTES >> 20);
        else if (e == EISDIR)
            diag_add(L->d, YZ_SEV_ERROR, why_file ? why_file : shown, why_line, why_col,
                     "%s is a directory, not a file", shown);
        else
            diag_add(L->d, YZ_SEV_ERROR, why_file ? why_file : shown, why_line, why_col, "cannot read %s: %s", shown,
                     strerror(e));
        return NULL;
    }
    f = add_file(L, logical, ld_display_path(L, disk_path), data, len);
    yz_free(data);
    return f;
}

/* A Lua file of the ruleset must be text (what is stored and hashed is text, and a reader that
   stopped at a NUL byte would see another file) and must compile; bytecode gets Lua's own word. */
bool ld_check_lua_file(loader *L, const rfile *f)
{
    const char *z = f->len && f->data[0] != '\x1b' ? memchr(f->data, '\0', f->len) : NULL;
    if (z) {
        int line, col;
        yz_offset_linecol(f->data, (size_t)(z - f->data), &line, &col);
        diag_add(L->d, YZ_SEV_ERROR, f->display, line, col, "the file contains a NUL byte; it is not a text file");
        return false;
    }
    strbuf err = STRBUF_INIT;
    int line = 0;
    bool ok = sandbox_check_chunk(f->data, f->len, &err, &line) == 0;
    if (!ok)
        diag_add(L->d, YZ_SEV_ERROR, f->display, line, 0, "Lua syntax: %s", err.buf);
    sb_free(&err);
    return ok;
}

/* Lists the names of files in a level directory with one of the suffixes (sorted). */
size_t ld_list_dir(loader *L, const char *logical_dir, const char *disk_dir, const char *suffix1,
                       const char *suffix2, char ***out)
{
    char **names = NULL;
    size_t n = 0;
    if (L->mem_files) {
        size_t dl = strlen(logical_dir);
        for (size_t i = 0; i < L->nmem; i++) {
            const char *p = L->mem_files[i].path;
            if (strncmp(p, logical_dir, dl) != 0 || p[dl] != '/' || strchr(p + dl + 1, '/'))
                continue;
            if (!yz_str_has_suffix(p, suffix1) && !(suffix2 && yz_str_has_suffix(p, suffix2)))
                continue;
            names = yz_realloc(names, (n + 1) * sizeof *names);
            names[n++] = yz_strdup(p + dl + 1);
        }
    } else {
        char **all;
        size_t nall = yz_list_dir(disk_dir, false, suffix1, suffix2, &all);
        for (size_t i = 0; i < nall; i++) {
            char *full = yz_path_join(disk_dir, all[i]);
            struct stat st;
            bool file = false;
            if (stat(full, &st) != 0)
                diag_add(L->d, YZ_SEV_ERROR, ld_display_path(L, full), 0, 0, "cannot read: %s%s", strerror(errno),
                         errno == ELOOP || errno == ENOENT ? " (a broken or looping symbolic link?)" : "");
            else if (S_ISDIR(st.st_mode))
                diag_add(L->d, YZ_SEV_ERROR, ld_display_path(L, full), 0, 0,
                         "is a folder, not a file: rename it, or move the file it should be into its place");
            else if (!S_ISREG(st.st_mode))
                /* a FIFO would block the loader for ever, a device could be endless */
                diag_add(L->d, YZ_SEV_ERROR, ld_display_path(L, full), 0, 0,
                         "is a %s, not a plain file: policy files must be plain files",
                         S_ISFIFO(st.st_mode) ? "named pipe (FIFO)" : S_ISSOCK(st.st_mode) ? "socket" : "device");
            else
                file = true;
            yz_free(full);
            if (file) {
                names = yz_realloc(names, (n + 1) * sizeof *names);
                names[n++] = all[i];
            } else {
                yz_free(all[i]);
            }
        }
        yz_free(all);
        *out = names;
        return n;
    }
    if (n)
        qsort(names, n, sizeof *names, yz_strcmp_ptr);
    *out = names;
    return n;
}

bool policy_has_files(const char *dir)
{
    char **names;
    size_t n = yz_list_dir(dir, false, ".yaml", ".yml", &names);
    yz_names_free(names, n);
    return n > 0;
}

size_t policy_subfolders(const char *dir, char ***out)
{
    size_t n = yz_list_dir(dir, true, NULL, NULL, out), k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp((*out)[i], "tests"))
            yz_free((*out)[i]);
        else
            (*out)[k++] = (*out)[i];
    }
    return k;
}

size_t policy_test_files(const char *dir, char ***out)
{
    char *tdir = yz_path_join(dir, "tests");
    size_t n = yz_list_dir(tdir, false, ".yaml", ".yml", out);
    yz_free(tdir);
    return n;
}

const char *ld_disp(loader *L, const char *logical)
{
    rfile *f = logical ? ld_find_file(L, logical) : NULL;
    return f ? f->display : logical;
}

void ld_err_at(loader *L, const ynode *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vadd(L->d, YZ_SEV_ERROR, n ? ld_disp(L, n->file) : NULL, n ? n->line : 0, n ? n->col : 0, fmt, ap);
    va_end(ap);
}

int ld_load_lib(loader *L)
{
    char *dir = L->home ? yz_path_join(L->home, "rules/lib") : NULL;
    char **names;
    size_t n = ld_list_dir(L, "rules/lib", dir, ".lua", NULL, &names);
    if (!n) {
        diag_add(L->d, YZ_SEV_ERROR, dir ? ld_display_path(L, dir) : "rules/lib", 0, 0,
                 "the rule library (rules/lib/*.lua) is missing: set YUANZHU_HOME to the folder that holds rules/ and provinces/");
        yz_free(dir);
        yz_names_free(names, n);
        return -1;
    }
    L->rs->lib_files = arena_alloc(ld_mem(L), n * sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        char *lg = yz_path_join("rules/lib", names[i]);
        char *dk = dir ? yz_path_join(dir, names[i]) : NULL;
        rfile *f = ld_load_file(L, lg, dk, NULL, 0, 0);
        if (f) {
            ld_check_lua_file(L, f);
            L->rs->lib_files[L->rs->nlib++] = f->path;
        }
        yz_free(lg);
        yz_free(dk);
    }
    yz_free(dir);
    yz_names_free(names, n);
    return 0;
}

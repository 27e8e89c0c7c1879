/* yz_loader.h: the state of one ruleset load, shared by its stages, in reading order:
 *   yz_source.c   the files (disk or memory), their canonical bytes, sorted folder listings
 *   yz_merge.c    each level's policy versions (checked against the policy schema), the chain
 *                 of levels (city -> province -> national), the YAML merge of each combination
 *   yz_build.c    one validated policy model per merged combination
 *   yz_ruleset.c  the public API: load from disk or memory, the ruleset id, lookups
 * Internal to the engine. */
#ifndef YZ_LOADER_H
#define YZ_LOADER_H

#include <limits.h>
#include <stdbool.h>

#include "yz_policy.h"

#define MAX_LEVELS 6
#define MAX_VERSIONS 32
#define MAX_FILE_BYTES (8u << 20)

/* the policy file of a version (copies: the file table moves as files are added) */
typedef struct vfile {
    const char *path, *display;
} vfile;

typedef struct version {
    const vfile *file;
    ydoc *doc;
    const char *from, *to; /* effective period */
    const ynode *to_node;
    const char *extends;
    ynode *lua;            /* the lua: list */
} version;

typedef struct level {
    const char *name;        /* "national", "guangdong", "guangdong/guangzhou" */
    const char *logical_dir; /* "rules/national", "provinces/guangdong" */
    const char *disk_dir;    /* where it was read from, or NULL */
    version versions[MAX_VERSIONS];
    size_t nversions;
    const char *extends;
    bool standalone; /* extends: none */
} level;

typedef struct loader {
    yz_ruleset *rs;
    yz_diags *d;
    const char *home;
    const yz_file *mem_files; /* when loading from memory */
    size_t nmem;
    level levels[MAX_LEVELS]; /* levels[0] = the province asked for; last = national */
    size_t nlevels;
    int errors_before;
    char cwd[PATH_MAX];
} loader;

/* The arena of the ruleset being built: everything the model holds lives there. */
static inline arena *ld_mem(loader *L)
{
    return &L->rs->mem;
}

/* Errors reported since this load began. */
static inline int ld_nerrors(loader *L)
{
    return (int)(L->d ? L->d->n_errors : 0) - L->errors_before;
}

/* Letters, digits and '_': the characters of ids and Lua names. */
static inline bool ld_ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* ---- yz_source.c ---- */

/* The path shown to people for a path on disk: relative to the working directory when below it
 * (in the ruleset's arena). */
char *ld_display_path(loader *L, const char *path);
/* The file with this logical path, or NULL. */
rfile *ld_find_file(loader *L, const char *path);
/* The display path of a logical path (the logical path itself when it is not a file of the load). */
const char *ld_disp(loader *L, const char *logical);
/* Reads a file of the ruleset from disk (disk_path) or from the memory files, once: a second call
 * returns the same file.  On failure reports at why_file:why_line:why_col (or the file itself)
 * and returns NULL. */
rfile *ld_load_file(loader *L, const char *logical, const char *disk_path, const char *why_file, int why_line,
                    int why_col);
/* A Lua file of the ruleset (the rule library, a helper) is text without a NUL byte and compiles;
 * false after a diagnostic at the file (its line and column). */
bool ld_check_lua_file(loader *L, const rfile *f);
/* The names of the plain files in a level folder ending in suffix1 or suffix2 (may be NULL),
 * sorted; from memory files when loading from memory.  A folder entry that cannot be a policy
 * file (a folder, a FIFO, a broken link) is reported.  Free with yz_names_free. */
size_t ld_list_dir(loader *L, const char *logical_dir, const char *disk_dir, const char *suffix1,
                   const char *suffix2, char ***out);
/* An error at a YAML node (its file shown as the person named it). */
void ld_err_at(loader *L, const ynode *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Loads the rule library (rules/lib, every .lua file) and checks that each compiles.  Returns 0, or -1 when it is missing. */
int ld_load_lib(loader *L);

/* ---- yz_merge.c ---- */

/* True for a province name: ids separated by '/', no "..", no leading or trailing '/'. */
bool ld_valid_name(const char *s);
/* Sets a level's name and its logical and disk folders ("national" or a province name). */
void ld_level_dirs(loader *L, level *lv, const char *name);
/* Reads levels[0] and every level it extends, up to the national baseline.  Returns 0 or -1. */
int merge_load_chain(loader *L);
/* Builds one merged policy per combination of the levels' versions whose periods intersect,
 * into L->rs->policies (ascending by start date). */
void merge_build_policies(loader *L);

/* ---- yz_build.c ---- */

/* Builds and validates the policy model of a merged YAML tree in force from..to (to NULL:
 * open; to_node: where 'to' is written).  vs are the versions merged, national first. */
ppolicy *build_policy(loader *L, ynode *root, version **vs, size_t nv, const char *from, const char *to,
                      const ynode *to_node);

#endif

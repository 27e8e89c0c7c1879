/* files.c: the files of a ruleset held in memory, for the tests that load one with
 * yz_ruleset_load_files: literals, plus the rule library read from rules/lib. */
#include <stdlib.h>

#include "unit.h"
#include "yz_util.h"

yz_file unit_files[UNIT_MAX_FILES];
size_t unit_nfiles;
static bool owned[UNIT_MAX_FILES];

void unit_files_add(const char *path, const char *data)
{
    if (unit_nfiles == UNIT_MAX_FILES) {
        fprintf(stderr, "unit: more than %d files\n", UNIT_MAX_FILES);
        exit(2);
    }
    unit_files[unit_nfiles].path = path;
    unit_files[unit_nfiles].data = data;
    unit_files[unit_nfiles].len = strlen(data);
    owned[unit_nfiles++] = false;
}

void unit_files_add_lib(void)
{
    char **names;
    size_t n = yz_list_dir("rules/lib", false, ".lua", NULL, &names);
    if (!n) {
        fprintf(stderr, "unit: no rule library under rules/lib (run from the repository)\n");
        exit(2);
    }
    for (size_t i = 0; i < n; i++) {
        char *path = yz_path_join("rules/lib", names[i]);
        char *data;
        size_t len;
        if (yz_read_file(path, 1 << 20, &data, &len) != 0 || unit_nfiles == UNIT_MAX_FILES) {
            fprintf(stderr, "unit: cannot read %s\n", path);
            exit(2);
        }
        unit_files[unit_nfiles].path = path;
        unit_files[unit_nfiles].data = data;
        unit_files[unit_nfiles].len = len;
        owned[unit_nfiles++] = true;
    }
    yz_names_free(names, n);
}

void unit_files_free(void)
{
    for (size_t i = 0; i < unit_nfiles; i++)
        if (owned[i]) {
            yz_free_const(unit_files[i].path);
            yz_free_const(unit_files[i].data);
        }
    unit_nfiles = 0;
}

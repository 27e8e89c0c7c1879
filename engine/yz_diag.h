/* yz_diag.h: collected diagnostics ("file:line:col: error: message") for lint, load and input errors. */
#ifndef YZ_DIAG_H
#define YZ_DIAG_H

#include <stdarg.h>

#include "yuanzhu.h"

/* A diagnostics list (struct yz_diags is public, in yuanzhu.h).  All strings are copied. */
void diag_add(yz_diags *d, yz_severity sev, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void diag_vadd(yz_diags *d, yz_severity sev, const char *file, int line, int col, const char *fmt, va_list ap);
/* Appends an error about a field (path may be NULL): "file:line:col: error: path: message". */
void diag_add_field(yz_diags *d, const char *file, int line, int col, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Drops the diagnostics from index n on (what a step said before its caller replaced it). */
void diag_truncate(yz_diags *d, size_t n);
/* Moves every diagnostic of from to the end of to; from is left empty. */
void diag_move(yz_diags *to, yz_diags *from);
/* Sorts by file, line, column (stable for equal positions). */
void diag_sort(yz_diags *d);
/* Sorts the diagnostics from index first on. */
void diag_sort_from(yz_diags *d, size_t first);

#endif

/* yz_lualint.h: static checks of rule and helper Lua text for lint: names the sandbox does not
 * have (os, io, load, require, debug, ...), assignments to globals and to the read-only
 * libraries, the record and the parameters, and loops that can only end at the budget (errors:
 * such an item is always undetermined). */
#ifndef YZ_LUALINT_H
#define YZ_LUALINT_H

#include <stdbool.h>
#include <stddef.h>

#include "yuanzhu.h"

/* Called for each finding: line is 0-based within the text, byte the offset in that line. */
typedef void (*lualint_report)(void *ctx, int line, size_t byte, yz_severity sev, const char *message);

/* Scans Lua text (a condition's expression or chunk, or a helper file) and reports what a rule
 * cannot do or should not do; amount is true for an amount or months formula, which must give
 * a whole number in range.  The checks are lexical (no parser): they may miss things, and they
 * do not report what they are unsure of. */
void lualint_text(const char *src, size_t len, bool amount, lualint_report report, void *ctx);

#endif

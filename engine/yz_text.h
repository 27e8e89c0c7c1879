/* yz_text.h: text a person reads and types: values made safe to show on a terminal (every
 * human-readable output goes through sb_add_shown), and operator ids checked before they are
 * recorded (yz_operator_check, public). */
#ifndef YZ_TEXT_H
#define YZ_TEXT_H

#include <stdbool.h>

#include "yz_util.h"
#include "yuanzhu.h"

/* the longest operator id, in characters */
#define YZ_OPERATOR_MAX 64

/* Appends s[0..n) as yz_text_escape writes it (see yuanzhu.h). */
void sb_add_shown(strbuf *sb, const char *s, size_t n, bool keep_newlines);
/* Replaces sb's contents with s as shown (NULL: empty); returns sb's text, valid until sb
 * changes.  For a few values in one printf: one strbuf each. */
const char *text_shown(strbuf *sb, const char *s);

#endif

/* yz_text.c: text a person reads and types: values made safe to show on a terminal, and operator
 * ids checked before they are recorded. */
#include "yz_text.h"

#include <string.h>

#include "yz_diag.h"

/* the next character of s[0..n): its length and code point, or 0 for a byte that does not start
   a valid UTF-8 sequence */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t k = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : 2;
    if (n < k || yz_utf8_invalid((const char *)s, k))
        return 0;
    uint32_t c = s[0] & (0x7F >> k);
    for (size_t i = 1; i < k; i++)
        c = (c << 6) | (s[i] & 0x3F);
    *cp = c;
    return k;
}

/* characters that change how the text around them is laid out or ordered: the C1 controls,
   bidirectional-text controls, line and paragraph separators */
static bool layout_char(uint32_t c)
{
    return (c >= 0x80 && c <= 0x9F) || c == 0x061C || c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E) ||
           (c >= 0x2066 && c <= 0x2069) || c == 0x2028 || c == 0x2029;
}

#define IDEOGRAPHIC_SPACE "\xE3\x80\x80" /* U+3000 */

/* what an operator id may not hold besides those: invisible formatting characters */
static bool invisible_char(uint32_t c)
{
    return c == 0x00AD || c == 0x180E || (c >= 0x200B && c <= 0x200D) || (c >= 0x2060 && c <= 0x2064) ||
           (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFB);
}

void sb_add_shown(strbuf *sb, const char *s, size_t n, bool keep_newlines)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        /* runs of plain text in one go */
        const unsigned char *q = p;
        while (q < end && *q >= 0x20 && *q < 0x7F)
            q++;
        sb_add(sb, p, (size_t)(q - p));
        p = q;
        if (p >= end)
            break;
        uint32_t c;
        size_t k = utf8_next(p, (size_t)(end - p), &c);
        if (k == 0) {
            sb_addf(sb, "\\x%02x", *p);
            p++;
        } else if (c == '\n' && keep_newlines) {
            sb_addc(sb, '\n');
            p++;
        } else if (c == '\n' || c == '\t' || c == '\r') {
            sb_addc(sb, '\\');
            sb_addc(sb, c == '\n' ? 'n' : c == '\t' ? 't' : 'r');
            p++;
        } else if (c < 0x20 || c == 0x7F) {
            sb_addf(sb, "\\x%02x", (unsigned)c);
            p++;
        } else if (layout_char(c)) {
            sb_addf(sb, "\\u%04x", (unsigned)c);
            p += k;
        } else {
            sb_add(sb, p, k);
            p += k;
        }
    }
}

const char *text_shown(strbuf *sb, const char *s)
{
    sb_clear(sb);
    if (s)
        sb_add_shown(sb, s, strlen(s), false);
    return sb_str(sb);
}

char *yz_text_escape(const char *s, bool keep_newlines)
{
    strbuf sb = STRBUF_INIT;
    sb_add_shown(&sb, s ? s : "", s ? strlen(s) : 0, keep_newlines);
    if (!sb.buf)
        sb_adds(&sb, "");
    return sb_release(&sb);
}

int yz_operator_check(const char *id, yz_diags *d)
{
    if (!id || !*id) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0,
                 "recording a decision needs an operator id (--operator or YUANZHU_OPERATOR)");
        return YZ_EUSAGE;
    }
    const unsigned char *p = (const unsigned char *)id;
    size_t n = strlen(id), chars = 0;
    const char *why = NULL;
    uint32_t bad = 0;
    while (n && !why) {
        uint32_t c;
        size_t k = utf8_next(p, n, &c);
        chars++;
        if (k == 0)
            why = "is not valid UTF-8";
        else if (c < 0x20 || c == 0x7F || layout_char(c))
            why = "holds a control or bidirectional-text character";
        else if (invisible_char(c))
            why = "holds an invisible formatting character";
        bad = c;
        p += k ? k : 1;
        n -= k ? k : 1;
    }
    strbuf sb = STRBUF_INIT;
    const char *shown = text_shown(&sb, id);
    if (why) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0,
                 "operator id '%s' %s (U+%04X, character %zu): an operator id is the caseworker's printable id, "
                 "such as gz-0042",
                 shown, why, (unsigned)bad, chars);
    } else if (chars > YZ_OPERATOR_MAX) {
        why = "too long";
        size_t cut = 0;
        for (int i = 0; i < 20; i++) /* the first 20 characters */
            while (++cut < sb.len && ((unsigned char)shown[cut] & 0xC0) == 0x80)
                ;
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "operator id '%.*s...' is %zu characters long: at most %d", (int)cut,
                 shown, chars, YZ_OPERATOR_MAX);
    } else if (id[0] == ' ' || id[strlen(id) - 1] == ' ' || yz_str_has_prefix(id, IDEOGRAPHIC_SPACE) ||
               yz_str_has_suffix(id, IDEOGRAPHIC_SPACE)) {
        why = "spaces";
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "operator id '%s' begins or ends with a space: give the id alone",
                 shown);
    }
    sb_free(&sb);
    return why ? YZ_EUSAGE : YZ_OK;
}

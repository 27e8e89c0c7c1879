/* yz_record.c: applicant records from JSON or YAML text, validated against the schema. */
#include "yz_record.h"

#include <string.h>

#include "yz_diag.h"

static void offset_to_linecol(const char *text, size_t off, int *line, int *col)
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

yval *record_index(arena *mem, const yj *doc, const char *source, yz_diags *d)
{
    return schema_validate(schema_applicant(), mem, doc, source, d);
}

int yz_record_parse(const char *text, size_t len, const char *source, yz_record **out, yz_diags *d)
{
    *out = NULL;
    if (!source)
        source = "<record>";
    /* a UTF-8 byte order mark is harmless; skip it */
    if (len >= 3 && (unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB && (unsigned char)text[2] == 0xBF) {
        text += 3;
        len -= 3;
    }
    const char *bad = yz_utf8_invalid(text, len);
    if (bad) {
        int line, col;
        offset_to_linecol(text, (size_t)(bad - text), &line, &col);
        diag_add(d, YZ_SEV_ERROR, source, line, col,
                 "the record is not valid UTF-8 (byte 0x%02X); save it as UTF-8 (GBK text can be converted with iconv -f GBK -t UTF-8)",
                 (unsigned char)*bad);
        return YZ_EPARSE;
    }
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
        i++;
    if (i == len) {
        diag_add(d, YZ_SEV_ERROR, source, 0, 0, "the record is empty");
        return YZ_EPARSE;
    }
    yz_record *rec = yz_calloc(1, sizeof *rec);
    arena_init(&rec->mem, 16 * 1024);
    if (text[i] == '{' || text[i] == '[') {
        if (memmem(text, len, "\\u0000", 6)) {
            diag_add(d, YZ_SEV_ERROR, source, 0, 0, "the record contains a NUL character (\\u0000) in a string");
            yz_record_free(rec);
            return YZ_EPARSE;
        }
        size_t off;
        const char *err;
        rec->doc = yj_parse(&rec->mem, text, len, &off, &err);
        if (!rec->doc) {
            int line, col;
            offset_to_linecol(text, off, &line, &col);
            diag_add(d, YZ_SEV_ERROR, source, line, col, "%s", err);
            yz_record_free(rec);
            return YZ_EPARSE;
        }
    } else {
        ydoc *doc;
        if (ydoc_parse(text, len, source, &doc, d) != YZ_OK) {
            yz_record_free(rec);
            return YZ_EPARSE;
        }
        if (doc->soft_errors) {
            ydoc_free(doc);
            yz_record_free(rec);
            return YZ_EPARSE;
        }
        if (!doc->root) {
            diag_add(d, YZ_SEV_ERROR, source, 0, 0, "the record is empty");
            ydoc_free(doc);
            yz_record_free(rec);
            return YZ_EPARSE;
        }
        rec->doc = yj_from_yaml(&rec->mem, doc->root);
        ydoc_free(doc);
    }
    rec->root = record_index(&rec->mem, rec->doc, source, d);
    if (!rec->root) {
        yz_record_free(rec);
        return YZ_EINPUT;
    }
    rec->id_number = yj_str(yj_get(rec->doc, "id_number"));
    *out = rec;
    return YZ_OK;
}

void yz_record_free(yz_record *rec)
{
    if (!rec)
        return;
    arena_free(&rec->mem);
    yz_free(rec);
}

const char *yz_record_id_number(const yz_record *rec)
{
    return rec->id_number;
}

char *yz_record_canonical(const yz_record *rec)
{
    strbuf sb = STRBUF_INIT;
    yj_write_canonical(&sb, rec->doc);
    return sb_release(&sb);
}

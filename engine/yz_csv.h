/* yz_csv.h: CSV rows with the line each starts on, and CSV fields written (the only user of
 * libcsv). */
#ifndef YZ_CSV_H
#define YZ_CSV_H

#include <stddef.h>

#include "yz_util.h"

typedef struct yz_csv yz_csv;

/* fields[i] is NUL-terminated and lens[i] its length; valid only during the call */
typedef void (*csv_row_fn)(char **fields, size_t *lens, size_t n, long line, void *ctx);

yz_csv *csv_reader_new(void);
void csv_reader_free(yz_csv *c);
/* Feeds a block of whole lines starting at first_line; calls fn for each complete row (a quoted
 * field may span lines).  Returns 0, or -1 with a message in err. */
int csv_reader_feed(yz_csv *c, const char *buf, size_t len, long first_line, csv_row_fn fn, void *ctx, strbuf *err);
/* Ends the input: an unterminated quoted field is an error. */
int csv_reader_finish(yz_csv *c, csv_row_fn fn, void *ctx, strbuf *err);

/* Appends one field as CSV (quoted, an inner quote doubled: libcsv's csv_write). */
void csv_add_field(strbuf *sb, const char *s, size_t n);

#endif

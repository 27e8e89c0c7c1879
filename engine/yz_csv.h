/* yz_csv.h: CSV rows with the lines each runs over, and CSV fields written (the only user of
 * libcsv). */
#ifndef YZ_CSV_H
#define YZ_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include "yz_util.h"

typedef struct yz_csv yz_csv;

/* Where a row is in the input.  A quoted cell may run over lines (a line end inside quotes is
 * part of the text); when one does, quote_line and quote_col (1-based, in characters) say where
 * its quote opened, so that a missing closing quote, which makes every later row part of one
 * cell, can be shown where it is. */
typedef struct csv_row {
    long line, last_line; /* the lines the row starts and ends on */
    long quote_line;      /* a quoted cell running over lines opened here (0: none) */
    int quote_col;
    bool unterminated;    /* that quote is never closed: the row runs to the end of the input */
} csv_row;

/* fields[i] is NUL-terminated and lens[i] its length; valid only during the call */
typedef void (*csv_row_fn)(char **fields, size_t *lens, size_t n, const csv_row *row, void *ctx);

yz_csv *csv_reader_new(void);
void csv_reader_free(yz_csv *c);
/* Feeds a block of whole lines starting at first_line; calls fn for each complete row (a quoted
 * field may span lines).  Returns 0, or -1 with a message in err. */
int csv_reader_feed(yz_csv *c, const char *buf, size_t len, long first_line, csv_row_fn fn, void *ctx, strbuf *err);
/* Ends the input, calling fn for a last row without a line end, and for a row whose quote was
 * never closed (with unterminated set).  Returns 0, or -1 with a message in err. */
int csv_reader_finish(yz_csv *c, csv_row_fn fn, void *ctx, strbuf *err);

/* Appends one field as CSV (quoted, an inner quote doubled: libcsv's csv_write). */
void csv_add_field(strbuf *sb, const char *s, size_t n);

#endif

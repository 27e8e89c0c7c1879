/* fuzz_csv.c: CSV ledgers as `batch` reads them.  The input is a CSV file: the first row is a
 * header of dotted field names, each further row with as many cells, all UTF-8, becomes a record
 * document that is validated against the schema (what yz_batch does with each row); a valid row's
 * canonical JSON must parse and validate as a record to the same bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "yz_csv.h"
#include "yz_record.h"

typedef struct run {
    csv_header *header;
    bool header_done;
    arena rows;
    size_t nrows;
} run;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static void check_row(run *x, char **fields, size_t *lens, size_t n, long line)
{
    arena_clear(&x->rows);
    long nul_col;
    yj *doc = record_from_csv(&x->rows, x->header, fields, lens, n, &nul_col);
    if (!doc) {
        /* only a cell with a NUL is refused before validation (batch rejects the row, naming it) */
        FUZZ_ASSERT(nul_col >= 0 && memchr(fields[nul_col], '\0', lens[nul_col]),
                    "no document for the row at line %ld", line);
        return;
    }
    FUZZ_ASSERT(nul_col < 0, "a document and a NUL column for the row at line %ld", line);
    yz_diags d;
    yz_diags_init(&d);
    yval *root = record_index(&x->rows, doc, "fuzz.csv", &d);
    FUZZ_ASSERT(root || d.n_errors > 0, "the row at line %ld was refused without saying why", line);
    for (size_t i = 0; i < d.n; i++)
        yz_free(yz_diag_format(&d.items[i]));
    FUZZ_SHOW_DIAGS(&d);
    yz_diags_free(&d);
    if (!root)
        return;
    /* the record as it would be stored must read back as the same record */
    yz_record rec;
    memset(&rec, 0, sizeof rec);
    rec.doc = doc;
    rec.root = root;
    fuzz_check_canonical(&rec, "row");
}

static void on_row(char **fields, size_t *lens, size_t n, const csv_row *row, void *ctx)
{
    run *x = ctx;
    long line = row->line;
    FUZZ_ASSERT(row->last_line >= row->line, "row of line %ld ends at line %ld", line, row->last_line);
    FUZZ_ASSERT(!row->unterminated || row->quote_line, "row of line %ld: a quote never closed, opened nowhere", line);
    FUZZ_ASSERT(!row->quote_line || (row->quote_line >= line && row->quote_line <= row->last_line && row->quote_col >= 1),
                "row of lines %ld-%ld: its quote opens at %ld:%d", line, row->last_line, row->quote_line, row->quote_col);
    for (size_t i = 0; i < n; i++)
        FUZZ_ASSERT(strlen(fields[i]) <= lens[i], "cell %zu of line %ld is longer than its length", i, line);
    if (!x->header_done) {
        x->header_done = true;
        strbuf err = STRBUF_INIT;
        x->header = csv_header_new(fields, n, &err);
        FUZZ_ASSERT(x->header || err.len, "the header at line %ld was refused without saying why", line);
        if (getenv("FUZZ_VERBOSE") && err.len)
            fprintf(stderr, "header: %s\n", err.buf);
        sb_free(&err);
        return;
    }
    if (!x->header || n != csv_header_columns(x->header) || row->unterminated || x->nrows++ > 64)
        return;
    /* batch rejects a row with a cell that is not UTF-8 before it becomes a document (a GBK
       ledger read as UTF-8): such text could not be stored and read back */
    for (size_t i = 0; i < n; i++)
        if (yz_utf8_invalid(fields[i], lens[i]))
            return;
    check_row(x, fields, lens, n, line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run x;
    memset(&x, 0, sizeof x);
    arena_init(&x.rows, 16 * 1024);
    yz_csv *csv = csv_reader_new();
    FUZZ_ASSERT(csv, "no CSV reader");
    strbuf err = STRBUF_INIT;
    if (csv_reader_feed(csv, (const char *)data, size, 1, on_row, &x, &err) == 0)
        csv_reader_finish(csv, on_row, &x, &err);
    csv_reader_free(csv);
    sb_free(&err);
    csv_header_free(x.header);
    arena_free(&x.rows);
    return 0;
}

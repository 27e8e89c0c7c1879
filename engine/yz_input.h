/* yz_input.h: reading a batch input stream in blocks of whole lines, UTF-8 (an optional BOM is
 * dropped) or converted from GBK/GB18030 with iconv (the only user of iconv.h), and text written
 * out in those encodings. */
#ifndef YZ_INPUT_H
#define YZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "yz_util.h"
#include "yuanzhu.h"

typedef struct yz_input yz_input;

/* Opens a file, or standard input for "-".  encoding: NULL or "utf-8", or "gbk"/"gb18030". */
int input_open(const char *path, const char *encoding, yz_input **out, yz_diags *d);
/* The next block of whole lines (UTF-8): *buf and *len stay valid until the next call; *first_line
 * is the 1-based number of its first line (a skipped line leaves a gap in the numbers).  Returns
 * 1, 0 at the end, or -1 after an error (d says what: a read error, or bytes that are not valid in
 * the encoding).  A block may be empty: after a line too long to keep (input_long_line). */
int input_next(yz_input *in, const char **buf, size_t *len, long *first_line, yz_diags *d);
/* Lines longer than this are skipped rather than kept. */
#define YZ_INPUT_MAX_LINE (16u << 20)
/* Bytes of a skipped line kept to show what it was */
#define YZ_INPUT_PREFIX 120
/* A line too long to keep, once it has been dropped to its end. */
typedef struct input_long_line {
    long line;          /* its number */
    uint64_t bytes;     /* its length (without the line end) */
    const char *prefix; /* its first bytes, at most YZ_INPUT_PREFIX (valid UTF-8, cut with "…"); valid
                           until the next input_next */
} input_long_line;
/* True (once per line) when the block input_next returned last comes after a line too long to
 * keep: *out says which. */
bool input_long_line_taken(yz_input *in, input_long_line *out);
/* Bytes of the file read so far (any thread may ask) and its size (0 when unknown, e.g. a pipe). */
uint64_t input_consumed(const yz_input *in);
uint64_t input_size(const yz_input *in);
/* Hashes (SHA-256) every byte read from now on, as they are in the file (before a byte-order mark
 * is dropped or GBK converted), so that the digest equals `sha256sum FILE` once all was read.
 * Call before the first input_next. */
void input_hash_start(yz_input *in);
/* The digest (64 hex digits and a NUL; empty when hashing was not started).  Ends the hashing. */
void input_hash_final(yz_input *in, char hex[65]);
void input_close(yz_input *in);

/* Text out in another encoding (exports for Excel in Chinese locales). */
typedef struct yz_encoder yz_encoder;
/* encoding: "gbk" or "gb18030"; NULL or "utf-8" gives *out NULL (nothing to convert).  Returns
 * YZ_OK or YZ_EUSAGE (an unknown encoding, with a diagnostic). */
int encoder_new(const char *encoding, yz_encoder **out, yz_diags *d);
/* Appends s converted to out; a character the encoding lacks becomes '?'.  Returns how many did.
 * s is only read (iconv's interface takes it non-const). */
size_t encoder_convert(yz_encoder *e, char *s, size_t n, strbuf *out);
void encoder_free(yz_encoder *e);

#endif

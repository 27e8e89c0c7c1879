/* yz_input.c: batch input in blocks of whole lines, with BOM removal and iconv conversion. */
#include "yz_input.h"

#include <errno.h>
#include <iconv.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "yz_diag.h"
#include "yz_hash.h"
#include "yz_util.h"

#define BLOCK (1u << 20)

struct yz_input {
    FILE *f;
    const char *name;
    iconv_t cd;          /* (iconv_t)-1 for UTF-8 */
    char raw[BLOCK];     /* bytes read, not yet converted */
    size_t raw_len;
    strbuf text;         /* converted text; [0, hand) was handed out */
    size_t hand;
    long line;           /* line number of text[hand] */
    /* bytes read: the progress line reads it from another thread than the reader's */
    _Atomic uint64_t consumed;
    uint64_t size;
    bool eof, first;
    bool checked;        /* the first block was checked for UTF-8 */
    bool skipping;       /* inside a line too long to keep, dropped until its end */
    bool long_done;      /* ... which has ended: input_long_line_taken says so */
    long long_line;      /* the line being dropped (0: none), the one that ended, its length and
                            first bytes */
    long long_taken;
    uint64_t long_bytes;
    strbuf long_prefix;
    uint64_t skipped;    /* lines dropped so */
    yz_hasher *hasher;   /* SHA-256 of the bytes read (input_hash_start), or NULL */
};

static bool is_utf8(const char *encoding)
{
    return !strcasecmp(encoding, "utf-8") || !strcasecmp(encoding, "utf8");
}

/* iconv's name for an encoding the user names, or NULL */
static const char *iconv_name(const char *encoding)
{
    return !strcasecmp(encoding, "gbk") || !strcasecmp(encoding, "gb2312") ? "GBK"
           : !strcasecmp(encoding, "gb18030")                               ? "GB18030"
                                                                            : NULL;
}

int input_open(const char *path, const char *encoding, yz_input **out, yz_diags *d)
{
    *out = NULL;
    yz_input *in = yz_calloc(1, sizeof *in);
    in->name = path;
    in->cd = (iconv_t)-1;
    in->line = 1;
    in->first = true;
    if (encoding && !is_utf8(encoding)) {
        const char *from = iconv_name(encoding);
        if (from && (in->cd = iconv_open("UTF-8", from)) == (iconv_t)-1 && errno == ENOMEM)
            yz_out_of_memory(0); /* not an unknown encoding */
        if (!from || in->cd == (iconv_t)-1) {
            diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "unknown encoding '%s': use utf-8, gbk or gb18030", encoding);
            yz_free(in);
            return YZ_EUSAGE;
        }
    }
    if (!strcmp(path, "-")) {
        in->f = stdin;
    } else {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            diag_add(d, YZ_SEV_ERROR, path, 0, 0, "is a directory, not a file of records");
            input_close(in);
            return YZ_EIO;
        }
        in->f = yz_fopen(path, "rb");
        if (!in->f) {
            diag_add(d, YZ_SEV_ERROR, path, 0, 0, "cannot read: %s", strerror(errno));
            input_close(in);
            return YZ_EIO;
        }
        if (fstat(fileno(in->f), &st) == 0 && S_ISREG(st.st_mode))
            in->size = (uint64_t)st.st_size;
    }
    *out = in;
    return YZ_OK;
}

/* converts raw bytes into text; keeps an incomplete multibyte sequence for the next read */
static int convert(yz_input *in, yz_diags *d)
{
    if (in->cd == (iconv_t)-1) {
        sb_add(&in->text, in->raw, in->raw_len);
        in->raw_len = 0;
        return 0;
    }
    char *src = in->raw;
    size_t left = in->raw_len;
    while (left) {
        sb_grow(&in->text, left * 2 + 16);
        char *dst = in->text.buf + in->text.len;
        size_t room = in->text.cap - in->text.len - 1;
        size_t r = iconv(in->cd, &src, &left, &dst, &room);
        in->text.len = (size_t)(dst - in->text.buf);
        in->text.buf[in->text.len] = '\0';
        if (r == (size_t)-1) {
            if (errno == E2BIG)
                continue;
            if (errno == EINVAL && !in->eof)
                break; /* an incomplete sequence at the end of the block */
            long line = in->line;
            for (size_t i = in->hand; i < in->text.len; i++)
                line += in->text.buf[i] == '\n';
            diag_add(d, YZ_SEV_ERROR, in->name, line, 0, "bytes that are not valid in the input's encoding: is it really %s?",
                     "GBK");
            return -1;
        }
    }
    memmove(in->raw, src, left);
    in->raw_len = left;
    return 0;
}

/* A file in another encoding is told apart at once, not as one reject per line: the first line
 * with a non-ASCII byte decides.  Later lines that are not UTF-8 are rejected one by one. */
static int check_encoding(yz_input *in, size_t n, yz_diags *d)
{
    const char *p = in->text.buf, *end = p + n;
    long line = in->line;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t len = eol ? (size_t)(eol - p) : (size_t)(end - p);
        bool ascii = true;
        for (size_t i = 0; i < len && ascii; i++)
            ascii = (unsigned char)p[i] < 0x80;
        if (!ascii) {
            in->checked = true;
            const char *bad = yz_utf8_invalid(p, len);
            if (!bad)
                return 0;
            diag_add(d, YZ_SEV_ERROR, in->name, line, (int)(bad - p) + 1,
                     "not valid UTF-8 (byte 0x%02X): Excel in China saves CSV as GBK; add --encoding gbk "
                     "(or gb18030), or save the file as \"CSV UTF-8\"",
                     (unsigned char)*bad);
            return -1;
        }
        line++;
        p += len + 1;
    }
    return 0;
}

int input_next(yz_input *in, const char **buf, size_t *len, long *first_line, yz_diags *d)
{
    /* drop what was handed out last time */
    if (in->hand) {
        for (const char *q = in->text.buf, *e = q + in->hand; (q = memchr(q, '\n', (size_t)(e - q))); q++)
            in->line++;
        memmove(in->text.buf, in->text.buf + in->hand, in->text.len - in->hand);
        in->text.len -= in->hand;
        in->text.buf[in->text.len] = '\0';
        in->hand = 0;
    }
    in->long_done = false;
    for (;;) {
        if (in->skipping && in->text.len) {
            /* the rest of a line too long to keep: drop it up to its end */
            const char *end = memchr(in->text.buf, '\n', in->text.len);
            size_t drop = end ? (size_t)(end - in->text.buf) + 1 : in->text.len;
            in->long_bytes += end ? drop - 1 : drop;
            memmove(in->text.buf, in->text.buf + drop, in->text.len - drop);
            in->text.len -= drop;
            in->text.buf[in->text.len] = '\0';
            if (end) {
                in->skipping = false;
                in->line++;
            }
        }
        if (in->skipping && in->eof) /* the last line, without a line end */
            in->skipping = false;
        if (!in->skipping && in->long_line) {
            /* the line has ended: an empty block, after which the caller takes it */
            in->long_done = true;
            in->long_taken = in->long_line;
            in->long_line = 0;
            *buf = in->text.buf;
            *len = 0;
            *first_line = in->line;
            return 1;
        }
        const char *nl = in->text.len ? memrchr(in->text.buf, '\n', in->text.len) : NULL;
        if (nl || (in->eof && in->text.len)) {
            size_t n = nl ? (size_t)(nl - in->text.buf) + 1 : in->text.len;
            if (!in->checked && in->cd == (iconv_t)-1 && check_encoding(in, n, d) != 0)
                return -1;
            in->hand = n;
            *buf = in->text.buf;
            *len = n;
            *first_line = in->line;
            return 1;
        }
        if (in->eof)
            return 0;
        if (!in->skipping && in->text.len > YZ_INPUT_MAX_LINE) {
            /* one record per line: a longer line would only grow (a whole file without line
               ends, a JSON array of every record) */
            in->skipping = true;
            in->long_line = in->line;
            in->long_bytes = 0;
            sb_clear(&in->long_prefix);
            sb_add_clean(&in->long_prefix, in->text.buf, in->text.len, YZ_INPUT_PREFIX);
        }
        if (in->skipping) {
            in->long_bytes += in->text.len;
            in->text.len = 0;
            in->text.buf[0] = '\0';
        }
        size_t n = fread(in->raw + in->raw_len, 1, BLOCK - in->raw_len, in->f);
        if (n == 0) {
            if (ferror(in->f)) {
                diag_add(d, YZ_SEV_ERROR, in->name, 0, 0, "read error: %s", strerror(errno));
                return -1;
            }
            in->eof = true;
        }
        if (in->hasher)
            hasher_update(in->hasher, in->raw + in->raw_len, n);
        atomic_fetch_add_explicit(&in->consumed, n, memory_order_relaxed);
        in->raw_len += n;
        if (in->first && in->raw_len >= 3) {
            in->first = false;
            if ((unsigned char)in->raw[0] == 0xEF && (unsigned char)in->raw[1] == 0xBB && (unsigned char)in->raw[2] == 0xBF) {
                memmove(in->raw, in->raw + 3, in->raw_len - 3);
                in->raw_len -= 3;
            }
        }
        if (convert(in, d) != 0)
            return -1;
    }
}

uint64_t input_consumed(const yz_input *in)
{
    return atomic_load_explicit(&in->consumed, memory_order_relaxed);
}

bool input_long_line_taken(yz_input *in, input_long_line *out)
{
    if (!in->long_done)
        return false;
    in->long_done = false;
    out->line = in->long_taken;
    out->bytes = in->long_bytes;
    out->prefix = sb_str(&in->long_prefix);
    return true;
}

uint64_t input_size(const yz_input *in)
{
    return in->size;
}

void input_hash_start(yz_input *in)
{
    if (!in->hasher && !in->consumed)
        in->hasher = hasher_new(YZ_HASH_SHA256);
}

void input_hash_final(yz_input *in, char hex[65])
{
    hex[0] = '\0';
    if (in->hasher)
        hasher_final(in->hasher, hex);
    in->hasher = NULL;
}

void input_close(yz_input *in)
{
    if (!in)
        return;
    if (in->hasher) {
        char hex[65];
        hasher_final(in->hasher, hex);
    }
    if (in->f && in->f != stdin)
        fclose(in->f);
    if (in->cd != (iconv_t)-1)
        iconv_close(in->cd);
    sb_free(&in->text);
    sb_free(&in->long_prefix);
    yz_free(in);
}

/* ---- text out: UTF-8 converted to GBK or GB18030 ---- */

struct yz_encoder {
    iconv_t cd;
};

int encoder_new(const char *encoding, yz_encoder **out, yz_diags *d)
{
    *out = NULL;
    if (!encoding || is_utf8(encoding))
        return YZ_OK;
    const char *to = iconv_name(encoding);
    iconv_t cd = to ? iconv_open(to, "UTF-8") : (iconv_t)-1;
    if (to && cd == (iconv_t)-1 && errno == ENOMEM)
        yz_out_of_memory(0);
    if (cd == (iconv_t)-1) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "unknown encoding '%s': use utf-8, gbk or gb18030", encoding);
        return YZ_EUSAGE;
    }
    *out = yz_calloc(1, sizeof **out);
    (*out)->cd = cd;
    return YZ_OK;
}

size_t encoder_convert(yz_encoder *e, char *s, size_t n, strbuf *out)
{
    size_t lost = 0;
    char *src = s;
    while (n) {
        sb_grow(out, n * 2 + 16);
        char *dst = out->buf + out->len;
        size_t room = out->cap - out->len - 1;
        size_t r = iconv(e->cd, &src, &n, &dst, &room);
        out->len = (size_t)(dst - out->buf);
        out->buf[out->len] = '\0';
        if (r != (size_t)-1 || errno == E2BIG)
            continue;
        /* a character the encoding lacks (or not UTF-8): one '?' for the whole character */
        size_t k = 1;
        while (k < n && ((unsigned char)src[k] & 0xC0) == 0x80)
            k++;
        src += k;
        n -= k;
        sb_addc(out, '?');
        lost++;
    }
    iconv(e->cd, NULL, NULL, NULL, NULL);
    return lost;
}

void encoder_free(yz_encoder *e)
{
    if (!e)
        return;
    iconv_close(e->cd);
    yz_free(e);
}

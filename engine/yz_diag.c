/* yz_diag.c: collected diagnostics. */
#include "yz_diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "yz_text.h"
#include "yz_util.h"

void diag_vadd(yz_diags *d, yz_severity sev, const char *file, int line, int col, const char *fmt, va_list ap)
{
    if (!d)
        return;
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 16;
        d->items = yz_realloc(d->items, d->cap * sizeof *d->items);
    }
    strbuf sb = STRBUF_INIT;
    sb_vaddf(&sb, fmt, ap);
    yz_diag *x = &d->items[d->n++];
    memset(x, 0, sizeof *x);
    x->severity = sev;
    x->file = file ? yz_strdup(file) : NULL;
    x->line = line;
    x->col = col;
    x->message = sb_release(&sb);
    x->seq = d->n;
    if (sev == YZ_SEV_ERROR)
        d->n_errors++;
    else if (sev == YZ_SEV_WARNING)
        d->n_warnings++;
}

void diag_add(yz_diags *d, yz_severity sev, const char *file, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vadd(d, sev, file, line, col, fmt, ap);
    va_end(ap);
}

void diag_add_field(yz_diags *d, const char *file, int line, int col, const char *path, const char *fmt, ...)
{
    if (!d)
        return;
    va_list ap;
    va_start(ap, fmt);
    strbuf sb = STRBUF_INIT;
    sb_vaddf(&sb, fmt, ap);
    va_end(ap);
    diag_add(d, YZ_SEV_ERROR, file, line, col, "%s", sb_str(&sb));
    d->items[d->n - 1].field = path ? yz_strdup(path) : NULL;
    sb_free(&sb);
}

static int cmp_diag(const void *pa, const void *pb)
{
    const yz_diag *a = pa, *b = pb;
    int c = strcmp(a->file ? a->file : "", b->file ? b->file : "");
    if (c)
        return c;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    if (a->col != b->col)
        return a->col < b->col ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void diag_sort(yz_diags *d)
{
    if (d && d->n > 1)
        qsort(d->items, d->n, sizeof *d->items, cmp_diag);
}

void yz_diags_init(yz_diags *d)
{
    memset(d, 0, sizeof *d);
}

void diag_truncate(yz_diags *d, size_t n)
{
    while (d && d->n > n) {
        yz_diag *x = &d->items[--d->n];
        if (x->severity == YZ_SEV_ERROR)
            d->n_errors--;
        else if (x->severity == YZ_SEV_WARNING)
            d->n_warnings--;
        yz_free(x->file);
        yz_free(x->message);
        yz_free(x->field);
    }
}

void yz_diags_free(yz_diags *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++) {
        yz_free(d->items[i].file);
        yz_free(d->items[i].message);
        yz_free(d->items[i].field);
    }
    yz_free(d->items);
    memset(d, 0, sizeof *d);
}

char *yz_diag_format(const yz_diag *x)
{
    static const char *const names[] = {"error", "warning", "note"};
    strbuf sb = STRBUF_INIT;
    /* file names, field paths and messages quote what users wrote: shown escaped */
    if (x->file) {
        sb_add_shown(&sb, x->file, strlen(x->file), false);
        if (x->line > 0) {
            sb_addf(&sb, ":%d", x->line);
            if (x->col > 0)
                sb_addf(&sb, ":%d", x->col);
        }
        sb_adds(&sb, ": ");
    }
    sb_addf(&sb, "%s: ", names[x->severity]);
    if (x->field) {
        sb_add_shown(&sb, x->field, strlen(x->field), false);
        sb_adds(&sb, ": ");
    }
    sb_add_shown(&sb, x->message, strlen(x->message), false);
    return sb_release(&sb);
}

void diag_sort_from(yz_diags *d, size_t first)
{
    if (d && d->n > first + 1)
        qsort(d->items + first, d->n - first, sizeof *d->items, cmp_diag);
}

void diag_move(yz_diags *to, yz_diags *from)
{
    for (size_t i = 0; i < from->n; i++) {
        if (to->n == to->cap) {
            to->cap = to->cap ? to->cap * 2 : 16;
            to->items = yz_realloc(to->items, to->cap * sizeof *to->items);
        }
        to->items[to->n] = from->items[i];
        to->n++;
        to->items[to->n - 1].seq = to->n;
    }
    to->n_errors += from->n_errors;
    to->n_warnings += from->n_warnings;
    yz_free(from->items);
    memset(from, 0, sizeof *from);
}

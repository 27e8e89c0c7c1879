/* yz_export.c: recorded decisions as a spreadsheet (CSV) or JSON Lines, one row per decision with
 * its metadata and every category and subsidy of the rulesets involved as columns, streamed one
 * decision at a time. */
#include <string.h>

#include "yz_csv.h"
#include "yz_date.h"
#include "yz_diag.h"
#include "yz_input.h"
#include "yz_json.h"
#include "yz_ledger.h"
#include "yz_policy.h"

typedef struct xcol {
    const char *id, *name;
} xcol;

typedef struct xcols {
    xcol *a;
    size_t n, cap;
} xcols;

typedef struct exporter {
    const yz_export_options *o;
    arena names;  /* column ids and names */
    xcols cats, subs;
    bool csv;
    yz_encoder *enc;
    strbuf out;  /* text for the writer, in the export's encoding */
    strbuf row_text, line;
    arena row;    /* the current decision's parsed JSON, reset per row */
    yz_export_summary *sum;
    yz_diags *d;
    int rc;
} exporter;

static void add_col(exporter *x, xcols *c, const pitem *it)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->a[i].id, it->id))
            return;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 32;
        c->a = yz_realloc(c->a, c->cap * sizeof *c->a);
    }
    c->a[c->n].id = arena_strdup(&x->names, it->id);
    c->a[c->n].name = arena_strdup(&x->names, it->name ? it->name : it->id);
    c->n++;
}

/* the categories and subsidies of a ruleset, every policy period, in file order */
static int collect_columns(const char *ruleset_id, const char *province, const yz_file *files, size_t n, void *ctx)
{
    exporter *x = ctx;
    yz_ruleset *rs = NULL;
    yz_diags rd;
    yz_diags_init(&rd);
    int rc = yz_ruleset_load_files(files, n, province, &rs, &rd);
    yz_diags_free(&rd);
    if (rc != YZ_OK) {
        diag_add(x->d, YZ_SEV_ERROR, NULL, 0, 0, "the stored ruleset %.12s (%s) cannot be loaded: run audit verify",
                 ruleset_id, province);
        x->rc = YZ_ESTORE;
        return 1;
    }
    for (size_t p = 0; p < rs->npolicies; p++) {
        const ppolicy *pol = rs->policies[p];
        for (size_t i = 0; i < pol->nitems[PI_CATEGORY]; i++)
            add_col(x, &x->cats, &pol->items[PI_CATEGORY][i]);
        for (size_t i = 0; i < pol->nitems[PI_SUBSIDY]; i++)
            add_col(x, &x->subs, &pol->items[PI_SUBSIDY][i]);
    }
    yz_ruleset_free(rs);
    return 0;
}

/* the text of one row (or the header: s NULL), in the export's encoding */
static void emit(exporter *x, const yz_stored *s)
{
    if (!x->enc) {
        sb_add(&x->out, x->row_text.buf ? x->row_text.buf : "", x->row_text.len);
    } else {
        size_t lost = x->row_text.len ? encoder_convert(x->enc, x->row_text.buf, x->row_text.len, &x->out) : 0;
        if (lost && !x->sum->unconvertible)
            snprintf(x->sum->first_unconvertible, sizeof x->sum->first_unconvertible, "%s", s ? s->id : "header");
        x->sum->unconvertible += lost;
    }
    sb_clear(&x->row_text);
}

/* hands the text gathered so far to the caller's writer */
static int flush(exporter *x, bool all)
{
    if (!x->out.len || (!all && x->out.len < 64 * 1024))
        return 0;
    int w = x->o->write(x->out.buf, x->out.len, x->o->ctx);
    sb_clear(&x->out);
    if (w != 0) {
        x->rc = YZ_EIO;
        return 1;
    }
    return 0;
}

/* ---- CSV ---- */

static void cell(exporter *x, const char *s)
{
    if (x->line.len)
        sb_addc(&x->line, ',');
    if (s && *s)
        csv_add_field(&x->line, s, strlen(s));
}

static void cell_int(exporter *x, int64_t v, bool present)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    cell(x, present ? buf : NULL);
}

static void end_line(exporter *x)
{
    sb_add(&x->row_text, x->line.buf ? x->line.buf : "", x->line.len);
    sb_adds(&x->row_text, "\r\n"); /* RFC 4180, and what Excel writes */
    sb_clear(&x->line);
}

static const struct {
    const char *id, *zh;
} fixed[] = {{"seq", "序号"},
             {"decision", "决定编号"},
             {"recorded_at", "记录时间（UTC）"},
             {"as_of", "核定日期"},
             {"province", "规则（省份）"},
             {"ruleset", "规则集"},
             {"operator", "经办人"},
             {"engine", "引擎"},
             {"id_number", "身份号码"},
             {"name", "姓名"},
             {"region", "户籍地区"},
             {"target", "是否援助对象"},
             {"status_loss", "身份丧失情形"}};

static void csv_header(exporter *x)
{
    bool zh = x->o->zh_header;
    char buf[256];
    for (size_t i = 0; i < YZ_ARRAY_LEN(fixed); i++)
        if (!(x->o->mask && !strcmp(fixed[i].id, "name")))
            cell(x, zh ? fixed[i].zh : fixed[i].id);
    for (size_t i = 0; i < x->cats.n; i++) {
        snprintf(buf, sizeof buf, "category.%s", x->cats.a[i].id);
        cell(x, zh ? x->cats.a[i].name : buf);
    }
    static const char *const sub_cols[][2] = {{"", ""}, {".amount_fen", "·每期金额（分）"}, {".months", "·期数"}, {".end", "·截止日期"}};
    for (size_t i = 0; i < x->subs.n; i++)
        for (size_t k = 0; k < YZ_ARRAY_LEN(sub_cols); k++) {
            snprintf(buf, sizeof buf, "%s%s%s", zh ? "" : "subsidy.", zh ? x->subs.a[i].name : x->subs.a[i].id,
                     sub_cols[k][zh]);
            cell(x, buf);
        }
    end_line(x);
}

/* the ids of the status-loss rules met, joined with ';' */
static void losses(const yj *det, strbuf *sb)
{
    for (const yj *v = yj_first(yj_get(det, "disqualifications")); v; v = yj_next(v))
        if (ledger_status(v) == YZ_MET)
            sb_addf(sb, "%s%s", sb->len ? ";" : "", yj_key(v));
}

static void export_csv_row(exporter *x, const yz_stored *s, const yj *rec, const yj *det)
{
    char num[24], masked[32];
    snprintf(num, sizeof num, "%lld", (long long)s->seq);
    yz_mask_id(s->id_number, masked);
    strbuf loss = STRBUF_INIT;
    losses(det, &loss);
    const char *values[] = {num,
                            s->id,
                            s->recorded_at,
                            s->as_of,
                            s->province,
                            s->ruleset,
                            s->operator_id,
                            s->engine,
                            x->o->mask ? masked : s->id_number,
                            ledger_str(rec, "name"),
                            ledger_str(yj_get(rec, "hukou"), "region"),
                            yz_status_name(ledger_status(yj_get(det, "target")), false),
                            sb_str(&loss)};
    for (size_t i = 0; i < YZ_ARRAY_LEN(values); i++)
        if (!(x->o->mask && !strcmp(fixed[i].id, "name")))
            cell(x, values[i]);
    sb_free(&loss);
    const yj *cats = yj_get(det, "categories"), *subs = yj_get(det, "subsidies");
    for (size_t i = 0; i < x->cats.n; i++)
        cell(x, ledger_str(yj_get(cats, x->cats.a[i].id), "status"));
    for (size_t i = 0; i < x->subs.n; i++) {
        const yj *it = yj_get(subs, x->subs.a[i].id);
        bool granted = it && ledger_status(it) == YZ_MET;
        cell(x, ledger_str(it, "status"));
        cell_int(x, ledger_int(it, "amount_fen", 0), granted && yj_get(it, "amount_fen"));
        cell_int(x, ledger_int(it, "months", 0), granted && yj_is_int(yj_get(it, "months"), NULL));
        cell(x, granted ? ledger_str(it, "end") : NULL);
    }
    end_line(x);
}

/* ---- JSON Lines ---- */

static yj *str_or_null(arena *m, const char *s)
{
    return s ? yj_new_string(m, s, strlen(s)) : yj_new_null(m);
}

static void jsonl_row(exporter *x, const yz_stored *s, const yj *rec, const yj *det)
{
    arena *m = &x->row;
    yj *o = ledger_meta(m, s, x->o->mask);
    yj *cats = yj_new_object(m), *subs = yj_new_object(m), *loss = yj_new_array(m);
    const yj *dc = yj_get(det, "categories"), *ds = yj_get(det, "subsidies");
    for (size_t i = 0; i < x->cats.n; i++) {
        const char *st = ledger_str(yj_get(dc, x->cats.a[i].id), "status");
        if (st)
            yj_append(m, cats, x->cats.a[i].id, str_or_null(m, st));
    }
    for (size_t i = 0; i < x->subs.n; i++) {
        const yj *it = yj_get(ds, x->subs.a[i].id);
        if (!it)
            continue;
        yj *one = yj_new_object(m);
        if (ledger_status(it) == YZ_MET) {
            static const char *const keep[] = {"amount_fen", "end", "months", "period", "start"};
            for (size_t k = 0; k < YZ_ARRAY_LEN(keep); k++)
                if (yj_get(it, keep[k]))
                    yj_append(m, one, keep[k], yj_clone(m, yj_get(it, keep[k])));
        }
        yj_append(m, one, "status", str_or_null(m, ledger_str(it, "status")));
        yj_append(m, subs, x->subs.a[i].id, one);
    }
    for (const yj *v = yj_first(yj_get(det, "disqualifications")); v; v = yj_next(v))
        if (ledger_status(v) == YZ_MET)
            yj_append(m, loss, NULL, str_or_null(m, yj_key(v)));
    yj_append(m, o, "categories", cats);
    if (!x->o->mask)
        yj_append(m, o, "name", str_or_null(m, ledger_str(rec, "name")));
    yj_append(m, o, "region", str_or_null(m, ledger_str(yj_get(rec, "hukou"), "region")));
    yj_append(m, o, "status_loss", loss);
    yj_append(m, o, "subsidies", subs);
    yj_append(m, o, "target", str_or_null(m, yz_status_name(ledger_status(yj_get(det, "target")), false)));
    yj_write_canonical(&x->row_text, o);
    sb_addc(&x->row_text, '\n');
}

static int export_one(const yz_stored *s, void *ctx)
{
    exporter *x = ctx;
    arena_clear(&x->row);
    size_t off;
    const char *err;
    const yj *rec = yj_parse(&x->row, s->input, strlen(s->input), &off, &err);
    const yj *det = yj_parse(&x->row, s->output, strlen(s->output), &off, &err);
    if (!rec || !det || yj_typeof(yj_get(det, "categories")) != YJ_OBJECT) {
        diag_add(x->d, YZ_SEV_ERROR, NULL, 0, 0, "decision %s (seq %lld) cannot be read back: run audit verify", s->id,
                 (long long)s->seq);
        x->rc = YZ_ESTORE;
        return 1;
    }
    if (x->csv)
        export_csv_row(x, s, rec, det);
    else
        jsonl_row(x, s, rec, det);
    emit(x, s);
    x->sum->decisions++;
    return flush(x, false);
}

int yz_export(yz_store *st, const yz_export_options *o, yz_export_summary *sum, yz_diags *d)
{
    memset(sum, 0, sizeof *sum);
    if (!ledger_dates_ok(o->from, o->to, "--from", "--to", d))
        return YZ_EUSAGE;
    bool csv = !o->format || !strcmp(o->format, "csv");
    if (!csv && strcmp(o->format, "jsonl") != 0) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "unknown format '%s': use csv or jsonl", o->format);
        return YZ_EUSAGE;
    }
    exporter x = {.o = o, .csv = csv, .sum = sum, .d = d, .rc = YZ_OK};
    int rc = encoder_new(o->encoding, &x.enc, d);
    if (rc != YZ_OK)
        return rc;
    if (x.enc && !csv) {
        encoder_free(x.enc);
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "JSON Lines are always UTF-8: --encoding applies to csv");
        return YZ_EUSAGE;
    }
    arena_init(&x.names, 8 * 1024);
    arena_init(&x.row, 64 * 1024);
    yz_scan q = {.from = o->from, .to = o->to, .province = o->province, .input = true, .output = true};
    rc = yz_store_rulesets(st, &q, collect_columns, &x, d);
    if (rc == YZ_OK)
        rc = x.rc;
    if (rc == YZ_OK && csv) {
        if (!x.enc)
            sb_adds(&x.out, "\xEF\xBB\xBF"); /* Excel reads UTF-8 only with its byte order mark */
        csv_header(&x);
        emit(&x, NULL);
    }
    if (rc == YZ_OK)
        rc = yz_store_scan(st, &q, export_one, &x, d);
    bool damaged = rc == YZ_EFAILED; /* rows that cannot be read back were left out, each with an error */
    if (damaged)
        rc = YZ_OK;
    if (rc == YZ_OK)
        rc = x.rc;
    if (rc == YZ_OK && flush(&x, true) != 0)
        rc = x.rc;
    if (rc == YZ_EIO)
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "the export could not be written");
    if (rc == YZ_OK && sum->unconvertible)
        diag_add(d, YZ_SEV_WARNING, NULL, 0, 0,
                 "%llu character%s cannot be written in %s and became '?' (the first in decision %s): "
                 "use --encoding gb18030, which holds every character",
                 (unsigned long long)sum->unconvertible, sum->unconvertible == 1 ? "" : "s", o->encoding,
                 sum->first_unconvertible);
    if (rc == YZ_OK && damaged)
        rc = YZ_EFAILED;
    sum->categories = x.cats.n;
    sum->subsidies = x.subs.n;
    encoder_free(x.enc);
    yz_free(x.cats.a);
    yz_free(x.subs.a);
    arena_free(&x.names);
    arena_free(&x.row);
    sb_free(&x.out);
    sb_free(&x.row_text);
    sb_free(&x.line);
    return rc;
}

/* yz_impact_report.c: the impact report as canonical JSON (for programs) and as a Chinese text
 * with aligned tables (for a policy office). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "yz_impact.h"
#include "yz_json.h"
#include "yz_text.h"

static const int status_order[3] = {YZ_MET, YZ_NOT_MET, YZ_UNDETERMINED};

static uint64_t gained(const uint64_t m[3][3])
{
    return m[YZ_NOT_MET][YZ_MET] + m[YZ_UNDETERMINED][YZ_MET];
}

static uint64_t lost(const uint64_t m[3][3])
{
    return m[YZ_MET][YZ_NOT_MET] + m[YZ_MET][YZ_UNDETERMINED];
}

static uint64_t before(const uint64_t m[3][3], int s)
{
    return m[s][0] + m[s][1] + m[s][2];
}

static uint64_t after(const uint64_t m[3][3], int s)
{
    return m[0][s] + m[1][s] + m[2][s];
}

static int64_t diff(const int64_t v[2])
{
    int64_t d;
    return __builtin_sub_overflow(v[1], v[0], &d) ? 0 : d;
}

/* ------------------------------------------------------------------------------------------ */
/* JSON: a document built in an arena, written canonically (sorted keys) */

typedef struct jctx {
    arena *m;
} jctx;

static void put(jctx *j, yj *obj, const char *key, yj *v)
{
    yj_append(j->m, obj, key, v);
}

static void put_int(jctx *j, yj *obj, const char *key, int64_t v)
{
    put(j, obj, key, yj_new_int(j->m, v));
}

static void put_str(jctx *j, yj *obj, const char *key, const char *s)
{
    put(j, obj, key, s ? yj_new_string(j->m, s, strlen(s)) : yj_new_null(j->m));
}

static void put_bool(jctx *j, yj *obj, const char *key, bool v)
{
    put(j, obj, key, yj_new_bool(j->m, v));
}

static yj *pair(jctx *j, const int64_t v[2])
{
    yj *o = yj_new_object(j->m);
    put_int(j, o, "baseline", v[0]);
    put_int(j, o, "reform", v[1]);
    put_int(j, o, "change", diff(v));
    return o;
}

static yj *count_pair(jctx *j, uint64_t b, uint64_t r)
{
    yj *o = yj_new_object(j->m);
    put_int(j, o, "baseline", (int64_t)b);
    put_int(j, o, "reform", (int64_t)r);
    return o;
}

static void put_money(jctx *j, yj *o, const imp_money *m)
{
    put(j, o, "monthly_fen", pair(j, m->monthly));
    put(j, o, "whole_period_fen", pair(j, m->whole));
}

static yj *matrix(jctx *j, const uint64_t m[3][3], bool sub)
{
    yj *o = yj_new_object(j->m);
    for (int b = 0; b < 3; b++) {
        yj *row = yj_new_object(j->m);
        for (int r = 0; r < 3; r++)
            put_int(j, row, yz_status_name((yz_status)r, sub), (int64_t)m[b][r]);
        put(j, o, yz_status_name((yz_status)b, sub), row);
    }
    return o;
}

static void put_transitions(jctx *j, yj *o, const uint64_t m[3][3], bool sub)
{
    put(j, o, "transitions", matrix(j, m, sub));
    yj *bo = yj_new_object(j->m), *ao = yj_new_object(j->m);
    for (int s = 0; s < 3; s++) {
        put_int(j, bo, yz_status_name((yz_status)s, sub), (int64_t)before(m, s));
        put_int(j, ao, yz_status_name((yz_status)s, sub), (int64_t)after(m, s));
    }
    put(j, o, "before", bo);
    put(j, o, "after", ao);
    put_int(j, o, "gained", (int64_t)gained(m));
    put_int(j, o, "lost", (int64_t)lost(m));
}

static yj *lines_array(jctx *j, const char *text)
{
    yj *a = yj_new_array(j->m);
    const char *p = text;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        yj_append(j->m, a, NULL, yj_new_string(j->m, p, n));
        p = nl ? nl + 1 : NULL;
    }
    return a;
}

static void put_item(jctx *j, yj *arr, const imp_item *it, bool sub)
{
    yj *o = yj_new_object(j->m);
    put_str(j, o, "id", it->id);
    put_str(j, o, "name", it->name);
    put_bool(j, o, "in_baseline", it->in[0]);
    put_bool(j, o, "in_reform", it->in[1]);
    put_transitions(j, o, it->m, sub);
    if (sub) {
        yj *per = yj_new_object(j->m);
        put_str(j, per, "baseline", it->per[0]);
        put_str(j, per, "reform", it->per[1]);
        put(j, o, "period", per);
        put_int(j, o, "amount_lower", (int64_t)it->lower);
        put_int(j, o, "amount_higher", (int64_t)it->higher);
        imp_money m = {{it->monthly[0], it->monthly[1]}, {it->whole[0], it->whole[1]}};
        put_money(j, o, &m);
        put(j, o, "open_ended", count_pair(j, it->open[0], it->open[1]));
        if ((it->per[0] && !strcmp(it->per[0], "loan")) || (it->per[1] && !strcmp(it->per[1], "loan")))
            put(j, o, "loan_ceiling_fen", pair(j, it->loan));
    }
    yj_append(j->m, arr, NULL, o);
}

static yj *side_json(jctx *j, const yz_impact *im, int s)
{
    yj *o = yj_new_object(j->m);
    put_str(j, o, "path", im->path[s]);
    put_str(j, o, "province", im->province[s]);
    put_str(j, o, "ruleset", im->ruleset[s]);
    return o;
}

char *yz_impact_json(const yz_impact *im)
{
    arena mem;
    arena_init(&mem, 64 * 1024);
    jctx J = {&mem}, *j = &J;
    const imp_acc *a = &im->a;
    yj *root = yj_new_object(&mem);
    put_str(j, root, "as_of", im->as_of);
    put(j, root, "baseline", side_json(j, im, 0));
    put(j, root, "reform", side_json(j, im, 1));
    put_str(j, root, "engine", "yuanzhu " YZ_VERSION);
    put_bool(j, root, "recorded", false);

    yj *pop = yj_new_object(&mem);
    put_str(j, pop, "source", im->source);
    put_str(j, pop, "kind", im->from_store ? "store" : "ledger");
    put_str(j, pop, "sha256", im->sha256);
    put_int(j, pop, "records", (int64_t)a->records);
    put_int(j, pop, "decided", (int64_t)a->decided);
    put_int(j, pop, "rejected", (int64_t)a->rejected);
    put_int(j, pop, "failed", (int64_t)a->failed);
    put(j, root, "population", pop);

    yj *self = yj_new_object(&mem);
    put_bool(j, self, "null_reform", im->null_reform);
    put_bool(j, self, "zero_change", im->null_ok);
    put_bool(j, self, "ok", !im->null_reform || im->null_ok);
    put(j, root, "self_check", self);

    yj *target = yj_new_object(&mem);
    put_transitions(j, target, a->target, false);
    put(j, root, "target", target);

    yj *cats = yj_new_array(&mem), *subs = yj_new_array(&mem);
    for (size_t u = 0; u < im->ncat; u++)
        put_item(j, cats, &a->cats[u], false);
    for (size_t u = 0; u < im->nsub; u++)
        put_item(j, subs, &a->subs[u], true);
    put(j, root, "categories", cats);
    put(j, root, "subsidies", subs);

    yj *cost = yj_new_object(&mem);
    put_money(j, cost, &a->total);
    put(j, root, "cost", cost);

    yj *rec = yj_new_object(&mem);
    put_bool(j, rec, "ok", im->reconciled);
    put_bool(j, rec, "overflow", a->overflow);
    yj *checks = yj_new_array(&mem);
    for (size_t i = 0; i < im->nchecks; i++) {
        const imp_check *c = &im->checks[i];
        yj *o = yj_new_object(&mem);
        put_str(j, o, "id", c->id);
        put_str(j, o, "label", c->label);
        put_bool(j, o, "ok", c->ok);
        put_int(j, o, "expected", c->expected);
        put_int(j, o, "got", c->got);
        yj_append(&mem, checks, NULL, o);
    }
    put(j, rec, "checks", checks);
    put(j, root, "reconciliation", rec);

    yj *regions = yj_new_array(&mem);
    for (size_t i = 0; i < im->nregions; i++) {
        const imp_region *r = &im->regions[i];
        yj *o = yj_new_object(&mem);
        put_str(j, o, "code", r->code[0] ? r->code : NULL);
        put_int(j, o, "persons", (int64_t)r->persons);
        put(j, o, "targets", count_pair(j, r->targets[0], r->targets[1]));
        put_int(j, o, "gainers", (int64_t)r->gainers);
        put_int(j, o, "losers", (int64_t)r->losers);
        put_money(j, o, &r->money);
        yj_append(&mem, regions, NULL, o);
    }
    put(j, root, "regions", regions);
    put_bool(j, root, "regions_capped", a->regions_full);

    yj *bycat = yj_new_array(&mem);
    for (size_t u = 0; u <= im->ncat; u++) {
        const imp_catrow *row = &a->catrows[u];
        yj *o = yj_new_object(&mem);
        put_str(j, o, "id", u < im->ncat ? a->cats[u].id : NULL);
        put_str(j, o, "name", u < im->ncat ? a->cats[u].name : "（基线未认定任何类别）");
        put_int(j, o, "persons", (int64_t)row->persons);
        put_int(j, o, "target_lost", (int64_t)row->target_lost);
        put_int(j, o, "target_gained", (int64_t)row->target_gained);
        put_int(j, o, "gainers", (int64_t)row->gainers);
        put_int(j, o, "losers", (int64_t)row->losers);
        put_money(j, o, &row->money);
        yj_append(&mem, bycat, NULL, o);
    }
    put(j, root, "by_baseline_category", bycat);

    yj *changes = yj_new_array(&mem);
    for (int b = 0; b < IMP_NBUCKETS; b++) {
        yj *o = yj_new_object(&mem);
        put_str(j, o, "bucket", imp_bucket_id(b));
        put_str(j, o, "label", imp_bucket_zh(b));
        put_int(j, o, "persons", (int64_t)a->buckets[b].persons);
        put_int(j, o, "whole_period_change_fen", a->buckets[b].whole_change);
        put_int(j, o, "monthly_change_fen", a->buckets[b].monthly_change);
        yj_append(&mem, changes, NULL, o);
    }
    put(j, root, "changes", changes);

    yj *examples = yj_new_array(&mem);
    for (size_t k = 0; k < im->nkinds; k++) {
        imp_kind x = imp_kind_of(im, k);
        if (!x.change || !a->kind_count[k])
            continue;
        bool sub = x.subsidy;
        yj *o = yj_new_object(&mem);
        put_str(j, o, "kind", x.kind);
        if (x.item)
            put_str(j, o, "id", x.item->id);
        if (!strcmp(x.kind, "amount")) {
            put_str(j, o, "change", x.to ? "higher" : "lower");
        } else {
            put_str(j, o, "from", yz_status_name((yz_status)x.from, sub));
            put_str(j, o, "to", yz_status_name((yz_status)x.to, sub));
        }
        put_int(j, o, "persons", (int64_t)a->kind_count[k]);
        yj *recs = yj_new_array(&mem);
        for (size_t e = 0; e < a->nexamples[k]; e++) {
            const imp_example *ex = &a->examples[k * im->nex + e];
            yj *r = yj_new_object(&mem);
            put_int(j, r, "line", ex->line);
            put_str(j, r, "id_number", ex->id);
            put(j, r, "before", lines_array(j, ex->before));
            put(j, r, "after", lines_array(j, ex->after));
            yj_append(&mem, recs, NULL, r);
        }
        put(j, o, "records", recs);
        yj_append(&mem, examples, NULL, o);
    }
    put(j, root, "examples", examples);

    yj *rej = yj_new_array(&mem);
    for (size_t i = 0; i < a->nrejects; i++) {
        const imp_reject *r = &a->rejects[i];
        yj *o = yj_new_object(&mem);
        size_t off;
        const char *err;
        yj *parsed = yj_parse(&mem, r->json, strlen(r->json), &off, &err);
        put(j, o, "errors", parsed ? yj_get(parsed, "errors") : yj_new_array(&mem));
        put_int(j, o, "line", r->line);
        put_bool(j, o, "failed", r->failed);
        put_str(j, o, "message", r->message);
        yj_append(&mem, rej, NULL, o);
    }
    put(j, root, "not_decided", rej);

    strbuf sb = STRBUF_INIT;
    yj_write_canonical(&sb, root);
    sb_addc(&sb, '\n');
    arena_free(&mem);
    return sb_release(&sb);
}

/* ------------------------------------------------------------------------------------------ */
/* text */

/* columns a UTF-8 text takes on a terminal: East Asian wide characters take two */
static size_t cols(const char *s)
{
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t c = *p;
        int len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        if (len > 1)
            c &= 0xFFu >> (len + 1);
        for (int i = 1; i < len && p[i]; i++)
            c = (c << 6) | (p[i] & 0x3F);
        for (int i = 0; i < len && *p; i++)
            p++;
        bool wide = (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0x303E) || (c >= 0x3041 && c <= 0x33FF) ||
                    (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xA000 && c <= 0xA4CF) ||
                    (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFE30 && c <= 0xFE4F) ||
                    (c >= 0xFF00 && c <= 0xFF60) || (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x20000 && c <= 0x3FFFD);
        n += wide ? 2 : 1;
    }
    return n;
}

/* a table of text cells: the first column left-aligned, the others right-aligned */
typedef struct table {
    arena *m;
    size_t ncols, nrows, cap;
    const char **cells;
} table;

static void t_init(table *t, arena *m, size_t ncols)
{
    memset(t, 0, sizeof *t);
    t->m = m;
    t->ncols = ncols;
}

static void t_row(table *t, ...)
{
    if (t->nrows == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 16;
        const char **c = arena_alloc(t->m, t->cap * t->ncols * sizeof *c);
        if (t->nrows)
            memcpy(c, t->cells, t->nrows * t->ncols * sizeof *c);
        t->cells = c;
    }
    va_list ap;
    va_start(ap, t);
    for (size_t i = 0; i < t->ncols; i++) {
        const char *s = va_arg(ap, const char *);
        t->cells[t->nrows * t->ncols + i] = arena_strdup(t->m, s ? s : "");
    }
    va_end(ap);
    t->nrows++;
}

static void pad(strbuf *sb, size_t n)
{
    while (n--)
        sb_addc(sb, ' ');
}

static void t_write(strbuf *sb, const table *t)
{
    size_t w[16] = {0};
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols && c < 16; c++) {
            size_t n = cols(t->cells[r * t->ncols + c]);
            w[c] = n > w[c] ? n : w[c];
        }
    for (size_t r = 0; r < t->nrows; r++) {
        sb_adds(sb, "  ");
        for (size_t c = 0; c < t->ncols && c < 16; c++) {
            const char *s = t->cells[r * t->ncols + c];
            size_t n = cols(s);
            if (c == 0) {
                sb_adds(sb, s);
                if (t->ncols > 1)
                    pad(sb, w[c] - n);
            } else {
                pad(sb, w[c] - n + 2);
                sb_adds(sb, s);
            }
        }
        sb_addc(sb, '\n');
    }
}

/* a value from a file, a record or a rule as a person may see it (yz_text_escape: one line, no
   control characters) */
static const char *sh(arena *m, const char *s)
{
    strbuf sb = STRBUF_INIT;
    sb_add_shown(&sb, s ? s : "", s ? strlen(s) : 0, false);
    const char *r = arena_strdup(m, sb_str(&sb));
    sb_free(&sb);
    return r;
}

static const char *num(arena *m, uint64_t v)
{
    return arena_printf(m, "%llu", (unsigned long long)v);
}

static const char *yuan(arena *m, int64_t fen)
{
    strbuf sb = STRBUF_INIT;
    imp_yuan(&sb, fen);
    const char *s = arena_strdup(m, sb.buf);
    sb_free(&sb);
    return s;
}

/* a change in yuan with its sign: +1,000.00, -25.00, 0.00 */
static const char *delta(arena *m, int64_t fen)
{
    strbuf sb = STRBUF_INIT;
    if (fen > 0)
        sb_addc(&sb, '+');
    imp_yuan(&sb, fen);
    const char *s = arena_strdup(m, sb.buf);
    sb_free(&sb);
    return s;
}

static const char *per_zh(const char *per)
{
    return !per ? "—" : !strcmp(per, "month") ? "按月" : !strcmp(per, "loan") ? "贷款" : "一次性";
}

static void text_head(strbuf *sb, const yz_impact *im, arena *m)
{
    const imp_acc *a = &im->a;
    sb_adds(sb, "政策影响测算（模拟测算：未记录任何决定）\n");
    static const char *const role[2] = {"基线    ", "改革方案"};
    for (int s = 0; s < 2; s++) {
        sb_addf(sb, "  %s  %s", role[s], sh(m, im->path[s]));
        if (strcmp(im->path[s], im->province[s]))
            sb_addf(sb, "（%s）", sh(m, im->province[s]));
        sb_addf(sb, " 规则集 %.12s\n", im->ruleset[s]);
    }
    sb_addf(sb, "  核定日期  %s\n", im->as_of);
    sb_addf(sb, "  人群      %s%s：%llu 条记录，已核定 %llu，退回 %llu", sh(m, im->source), im->from_store ? "（库中每人最新记录）" : "",
            (unsigned long long)a->records, (unsigned long long)a->decided, (unsigned long long)a->rejected);
    if (a->failed)
        sb_addf(sb, "，规则未能核定 %llu", (unsigned long long)a->failed);
    sb_addf(sb, "\n            SHA-256 %s\n", im->sha256);
    sb_adds(sb, "  引擎      yuanzhu " YZ_VERSION "\n");
    if (im->null_reform)
        sb_addf(sb, "\n【零改革自检】改革方案与基线是同一规则集：%s\n",
                im->null_ok ? "结果无任何变化 ✔" : "结果竟有变化 ✘（这是引擎的错误，请报告）");
}

static void text_target(strbuf *sb, const yz_impact *im, arena *m)
{
    const imp_acc *a = &im->a;
    sb_adds(sb, "\n一、援助对象认定（人数，行：基线，列：改革方案）\n");
    table t;
    t_init(&t, m, 5);
    t_row(&t, "", "后：符合", "后：不符合", "后：待定", "基线合计");
    static const char *const rows[3] = {"前：符合", "前：不符合", "前：待定"};
    for (int i = 0; i < 3; i++) {
        int b = status_order[i];
        t_row(&t, rows[i], num(m, a->target[b][YZ_MET]), num(m, a->target[b][YZ_NOT_MET]),
              num(m, a->target[b][YZ_UNDETERMINED]), num(m, before(a->target, b)));
    }
    t_row(&t, "改革方案合计", num(m, after(a->target, YZ_MET)), num(m, after(a->target, YZ_NOT_MET)),
          num(m, after(a->target, YZ_UNDETERMINED)), num(m, a->decided));
    t_write(sb, &t);
    sb_addf(sb, "  新成为援助对象 %llu 人，不再是援助对象 %llu 人。\n", (unsigned long long)gained(a->target),
            (unsigned long long)lost(a->target));
}

static void transitions_line(strbuf *sb, const imp_item *it, bool sub)
{
    bool any = false;
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++) {
            int b = status_order[i], r = status_order[k];
            if (b == r || !it->m[b][r])
                continue;
            sb_addf(sb, "%s%s→%s %llu", any ? "，" : "：", imp_status_zh(b, sub), imp_status_zh(r, sub),
                    (unsigned long long)it->m[b][r]);
            any = true;
        }
    if (it->lower)
        sb_addf(sb, "%s金额降低 %llu", any ? "，" : "：", (unsigned long long)it->lower), any = true;
    if (it->higher)
        sb_addf(sb, "%s金额提高 %llu", any ? "，" : "：", (unsigned long long)it->higher), any = true;
}

static bool item_changed(const imp_item *it)
{
    for (int b = 0; b < 3; b++)
        for (int r = 0; r < 3; r++)
            if (b != r && it->m[b][r])
                return true;
    return it->lower || it->higher;
}

static const char *item_label(arena *m, const imp_item *it)
{
    const char *only = it->in[0] && it->in[1] ? "" : it->in[0] ? "（改革方案删去）" : "（改革方案新增）";
    return arena_printf(m, "%s%s", sh(m, it->name), only);
}

static void text_items(strbuf *sb, const yz_impact *im, arena *m)
{
    const imp_acc *a = &im->a;
    sb_adds(sb, "\n二、各认定类别与补贴（人数）\n");
    table t;
    t_init(&t, m, 7);
    t_row(&t, "认定类别", "前符合", "后符合", "新增", "失去", "前待定", "后待定");
    for (size_t u = 0; u < im->ncat; u++) {
        const imp_item *it = &a->cats[u];
        t_row(&t, item_label(m, it), num(m, before(it->m, YZ_MET)), num(m, after(it->m, YZ_MET)), num(m, gained(it->m)),
              num(m, lost(it->m)), num(m, before(it->m, YZ_UNDETERMINED)), num(m, after(it->m, YZ_UNDETERMINED)));
    }
    t_row(&t, "补贴", "前可享受", "后可享受", "新增", "失去", "前待定", "后待定");
    for (size_t u = 0; u < im->nsub; u++) {
        const imp_item *it = &a->subs[u];
        t_row(&t, item_label(m, it), num(m, before(it->m, YZ_MET)), num(m, after(it->m, YZ_MET)), num(m, gained(it->m)),
              num(m, lost(it->m)), num(m, before(it->m, YZ_UNDETERMINED)), num(m, after(it->m, YZ_UNDETERMINED)));
    }
    t_write(sb, &t);
    bool any = false;
    for (size_t u = 0; u < im->ncat + im->nsub; u++) {
        bool sub = u >= im->ncat;
        const imp_item *it = sub ? &a->subs[u - im->ncat] : &a->cats[u];
        if (!item_changed(it))
            continue;
        if (!any)
            sb_adds(sb, "  有变化的项目（前→后，人数）：\n");
        any = true;
        sb_addf(sb, "    %s", sh(m, it->name));
        transitions_line(sb, it, sub);
        sb_addc(sb, '\n');
    }
    if (!any)
        sb_adds(sb, "  没有任何类别或补贴的认定结果发生变化。\n");
}

static void text_cost(strbuf *sb, const yz_impact *im, arena *m)
{
    const imp_acc *a = &im->a;
    sb_adds(sb, "\n三、补贴支出（元，按分精确计算；全期 = 各人各项补贴的全期金额之和（按月补贴按各月标准逐期计算，跨标准调整的估算额照计），加一次性补贴）\n");
    table t;
    t_init(&t, m, 8);
    t_row(&t, "补贴", "期别", "基线每月", "改革每月", "每月差额", "基线全期", "改革全期", "全期差额");
    bool loans = false, open = false;
    for (size_t u = 0; u < im->nsub; u++) {
        const imp_item *it = &a->subs[u];
        const char *per = it->per[0] ? it->per[0] : it->per[1];
        if (!strcmp(per, "loan") && (!it->per[0] || !strcmp(it->per[0], "loan")) &&
            (!it->per[1] || !strcmp(it->per[1], "loan"))) {
            loans = true;
            continue;
        }
        open |= it->open[0] || it->open[1];
        const char *p = it->per[0] && it->per[1] && strcmp(it->per[0], it->per[1])
                            ? arena_printf(m, "%s→%s", per_zh(it->per[0]), per_zh(it->per[1]))
                            : per_zh(per);
        t_row(&t, sh(m, it->name), p, yuan(m, it->monthly[0]), yuan(m, it->monthly[1]), delta(m, diff(it->monthly)),
              yuan(m, it->whole[0]), yuan(m, it->whole[1]), delta(m, diff(it->whole)));
    }
    t_row(&t, "合计", "", yuan(m, a->total.monthly[0]), yuan(m, a->total.monthly[1]), delta(m, diff(a->total.monthly)),
          yuan(m, a->total.whole[0]), yuan(m, a->total.whole[1]), delta(m, diff(a->total.whole)));
    t_write(sb, &t);
    if (loans) {
        for (size_t u = 0; u < im->nsub; u++) {
            const imp_item *it = &a->subs[u];
            if (!(it->loan[0] || it->loan[1] || (it->per[0] && !strcmp(it->per[0], "loan"))))
                continue;
            sb_addf(sb, "  %s（贷款额度，不是财政支出，不计入合计）：基线 %s 元，改革方案 %s 元，差额 %s 元\n", sh(m, it->name),
                    yuan(m, it->loan[0]), yuan(m, it->loan[1]), delta(m, diff(it->loan)));
        }
    }
    if (open)
        for (size_t u = 0; u < im->nsub; u++) {
            const imp_item *it = &a->subs[u];
            if (it->open[0] || it->open[1])
                sb_addf(sb, "  %s：按月无期限的 %llu 人（基线）、%llu 人（改革方案）只计入每月支出\n", sh(m, it->name),
                        (unsigned long long)it->open[0], (unsigned long long)it->open[1]);
        }
    if (im->reconciled) {
        sb_addf(sb, "  核对：通过 ✔ 各部分之和与合计一致（%zu 项检查）\n", im->nchecks);
    } else {
        sb_adds(sb, "  核对：未通过 ✘");
        if (a->overflow)
            sb_adds(sb, "（金额合计超出可表示范围）");
        sb_addc(sb, '\n');
    }
    for (size_t i = 0; i < im->nchecks; i++) {
        const imp_check *c = &im->checks[i];
        sb_addf(sb, "    %s %s", c->ok ? "✔" : "✘", c->label);
        if (!c->ok)
            sb_addf(sb, "：应为 %lld，实为 %lld", (long long)c->expected, (long long)c->got);
        sb_addc(sb, '\n');
    }
}

static void text_regions(strbuf *sb, const yz_impact *im, arena *m)
{
    sb_adds(sb, "\n四、按地区（区县代码：常住地，无则户籍地）\n");
    table t;
    t_init(&t, m, 9);
    t_row(&t, "地区", "人数", "基线对象", "改革对象", "增加者", "减少者", "基线每月", "每月差额", "全期差额");
    for (size_t i = 0; i < im->nregions; i++) {
        const imp_region *r = &im->regions[i];
        const char *name = !strcmp(r->code, "*") ? "其他地区" : r->code[0] ? sh(m, r->code) : "（未填地区）";
        t_row(&t, name, num(m, r->persons), num(m, r->targets[0]), num(m, r->targets[1]), num(m, r->gainers),
              num(m, r->losers), yuan(m, r->money.monthly[0]), delta(m, diff(r->money.monthly)),
              delta(m, diff(r->money.whole)));
    }
    t_write(sb, &t);
    if (im->a.regions_full)
        sb_addf(sb, "  地区超过 %d 个：其余合并为“其他地区”。\n", IMP_MAX_REGIONS);
}

static void text_bycat(strbuf *sb, const yz_impact *im, arena *m)
{
    const imp_acc *a = &im->a;
    sb_adds(sb, "\n五、按基线认定类别（一人可属多个类别，各行之和不等于合计）\n");
    table t;
    t_init(&t, m, 8);
    t_row(&t, "基线类别", "人数", "失去对象资格", "新成为对象", "增加者", "减少者", "每月差额", "全期差额");
    for (size_t u = 0; u <= im->ncat; u++) {
        const imp_catrow *row = &a->catrows[u];
        t_row(&t, u < im->ncat ? sh(m, a->cats[u].name) : "（基线未认定任何类别）", num(m, row->persons), num(m, row->target_lost),
              num(m, row->target_gained), num(m, row->gainers), num(m, row->losers), delta(m, diff(row->money.monthly)),
              delta(m, diff(row->money.whole)));
    }
    t_write(sb, &t);
}

static void text_buckets(strbuf *sb, const yz_impact *im, arena *m)
{
    const imp_acc *a = &im->a;
    sb_adds(sb, "\n六、增减分布（按每人全期金额的变化）\n");
    table t;
    t_init(&t, m, 4);
    t_row(&t, "档次", "人数", "全期变化合计", "每月变化合计");
    for (int b = 0; b < IMP_NBUCKETS; b++)
        t_row(&t, imp_bucket_zh(b), num(m, a->buckets[b].persons), delta(m, a->buckets[b].whole_change),
              delta(m, a->buckets[b].monthly_change));
    t_write(sb, &t);
    if (a->buckets[IMP_B_UNKNOWN].persons)
        sb_adds(sb, "  待定：前或后有补贴因信息不全无法确定，其金额变化未知（此处只计已确定的部分）。\n");
}

/* reason lines, each shown escaped and indented under the label */
static void indent_lines(strbuf *sb, const char *label, const char *text)
{
    sb_addf(sb, "      %s", label);
    for (const char *p = text;;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        sb_add_shown(sb, p, n, false);
        if (!nl)
            break;
        sb_adds(sb, "\n        ");
        p = nl + 1;
    }
    sb_addc(sb, '\n');
}

static void text_examples(strbuf *sb, const yz_impact *im, arena *m)
{
    const imp_acc *a = &im->a;
    sb_addf(sb, "\n七、变化示例（每种变化按输入顺序的前 %zu 条；身份号码已遮蔽）\n", im->nex);
    bool any = false;
    for (size_t k = 0; k < im->nkinds; k++) {
        imp_kind x = imp_kind_of(im, k);
        if (!x.change || !a->kind_count[k])
            continue;
        any = true;
        bool sub = x.subsidy;
        const char *name = x.item ? sh(m, x.item->name) : "援助对象";
        if (!strcmp(x.kind, "amount"))
            sb_addf(sb, "  %s：金额%s（%llu 人）\n", name, x.to ? "提高" : "降低", (unsigned long long)a->kind_count[k]);
        else
            sb_addf(sb, "  %s：%s → %s（%llu 人）\n", name, imp_status_zh(x.from, sub), imp_status_zh(x.to, sub),
                    (unsigned long long)a->kind_count[k]);
        for (size_t e = 0; e < a->nexamples[k]; e++) {
            const imp_example *ex = &a->examples[k * im->nex + e];
            sb_addf(sb, "    第 %ld %s  %s\n", ex->line, im->from_store ? "条" : "行", sh(m, ex->id));
            indent_lines(sb, "前：", ex->before);
            indent_lines(sb, "后：", ex->after);
        }
    }
    if (!any)
        sb_adds(sb, "  无。\n");
}

static void text_rejects(strbuf *sb, const yz_impact *im, arena *m)
{
    const imp_acc *a = &im->a;
    if (!a->rejected && !a->failed)
        return;
    sb_addf(sb, "\n八、未核定的记录（退回 %llu 条，规则未能核定 %llu 条；不计入以上各表）\n", (unsigned long long)a->rejected,
            (unsigned long long)a->failed);
    for (size_t i = 0; i < a->nrejects && i < 20; i++)
        sb_addf(sb, "  %s:%ld: %s%s\n", sh(m, im->source), a->rejects[i].line, a->rejects[i].failed ? "规则未能核定：" : "",
                a->rejects[i].message);
    if (a->rejected + a->failed > 20)
        sb_addf(sb, "  ……其余 %llu 条见 --json（列出前 %d 条）\n", (unsigned long long)(a->rejected + a->failed - 20),
                IMP_MAX_REJECTS);
}

char *yz_impact_text(const yz_impact *im)
{
    arena m;
    arena_init(&m, 64 * 1024);
    strbuf sb = STRBUF_INIT;
    text_head(&sb, im, &m);
    text_target(&sb, im, &m);
    text_items(&sb, im, &m);
    text_cost(&sb, im, &m);
    text_regions(&sb, im, &m);
    text_bycat(&sb, im, &m);
    text_buckets(&sb, im, &m);
    text_examples(&sb, im, &m);
    text_rejects(&sb, im, &m);
    arena_free(&m);
    return sb_release(&sb);
}

/* yz_impact_html.c: the impact report as one self-contained HTML page: the same sections as the
 * text, with charts drawn as inline SVG, no script, nothing fetched (a Content-Security-Policy
 * says so to the browser), and a print style for A4. */
#include <stdio.h>
#include <string.h>

#include "yz_impact.h"

static void esc(strbuf *sb, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': sb_adds(sb, "&amp;"); break;
        case '<': sb_adds(sb, "&lt;"); break;
        case '>': sb_adds(sb, "&gt;"); break;
        case '"': sb_adds(sb, "&quot;"); break;
        default: sb_addc(sb, *s);
        }
    }
}

static void yuan(strbuf *sb, int64_t fen)
{
    imp_yuan(sb, fen);
}

static void delta(strbuf *sb, int64_t fen)
{
    if (fen > 0)
        sb_addc(sb, '+');
    imp_yuan(sb, fen);
}

static int64_t diff(const int64_t v[2])
{
    int64_t d;
    return __builtin_sub_overflow(v[1], v[0], &d) ? 0 : d;
}

static uint64_t row_sum(const uint64_t m[3][3], int b)
{
    return m[b][0] + m[b][1] + m[b][2];
}

static uint64_t col_sum(const uint64_t m[3][3], int r)
{
    return m[0][r] + m[1][r] + m[2][r];
}

static const int order[3] = {YZ_MET, YZ_NOT_MET, YZ_UNDETERMINED};

static const char style[] =
    "body{font-family:\"Noto Sans CJK SC\",\"Source Han Sans SC\",\"WenQuanYi Micro Hei\",\"Microsoft YaHei\","
    "\"PingFang SC\",sans-serif;color:#222;max-width:1000px;margin:24px auto;padding:0 16px;line-height:1.5;"
    "font-size:14px}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:2px solid #345;"
    "padding-bottom:2px}h3{font-size:15px;margin:16px 0 6px}"
    ".sim{display:inline-block;background:#fff3cd;border:1px solid #e0c36a;padding:2px 8px;border-radius:3px}"
    "table{border-collapse:collapse;width:100%;margin:6px 0 10px}th,td{border:1px solid #ccd;padding:3px 6px}"
    "th{background:#eef1f5;font-weight:600;text-align:center}td.n{text-align:right;font-variant-numeric:tabular-nums;"
    "white-space:nowrap}td.l{text-align:left}tr.total td{font-weight:600;background:#f6f7f9}"
    ".pos{color:#1a7f37}.neg{color:#c62828}.ok{color:#1a7f37;font-weight:600}.bad{color:#c62828;font-weight:600}"
    ".cards{display:flex;flex-wrap:wrap;gap:10px;margin:10px 0}.card{flex:1 1 200px;border:1px solid #ccd;"
    "border-radius:4px;padding:8px 10px}.card b{display:block;font-size:20px}"
    "dl.prov{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:8px 0}dl.prov dt{color:#555}"
    "dl.prov dd{margin:0;word-break:break-all}code{font-size:12px}"
    ".ex{border-left:3px solid #ccd;margin:6px 0 10px;padding:2px 10px}.ex pre{margin:2px 0;white-space:pre-wrap;"
    "font-family:inherit}.muted{color:#666}figure{margin:10px 0}figcaption{font-weight:600;margin-bottom:4px}"
    "svg text{font-size:12px;fill:#222}"
    ".mats{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:4px 16px}"
    "h4{font-size:14px;margin:8px 0 2px}table.matrix{font-size:12px}table.matrix th{font-weight:500}"
    "@media print{@page{size:A4;margin:14mm}body{max-width:none;margin:0;padding:0;font-size:10.5pt}"
    "h2{break-after:avoid}figure,tr,.ex,.card{break-inside:avoid}thead{display:table-header-group}"
    "th,tr.total td{-webkit-print-color-adjust:exact;print-color-adjust:exact}}";

/* ------------------------------------------------------------------------------------------ */
/* charts */

static void svg_open(strbuf *sb, const char *id, const char *caption, int w, int h)
{
    sb_addf(sb, "<figure><figcaption id=\"%s-t\">", id);
    esc(sb, caption);
    sb_addf(sb,
            "</figcaption><svg class=\"chart\" id=\"%s\" viewBox=\"0 0 %d %d\" "
            "width=\"100%%\" role=\"img\" aria-labelledby=\"%s-t\"><title>",
            id, w, h, id);
    esc(sb, caption);
    sb_adds(sb, "</title>");
}

static void svg_close(strbuf *sb)
{
    sb_adds(sb, "</svg></figure>\n");
}

static void svg_text(strbuf *sb, double x, double y, const char *anchor, const char *text)
{
    sb_addf(sb, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">", x, y, anchor);
    esc(sb, text);
    sb_adds(sb, "</text>");
}

static double scale(int64_t v, int64_t max, double width)
{
    return max > 0 && v > 0 ? (double)v / (double)max * width : 0;
}

/* monthly cost per subsidy, baseline and reform side by side */
static void chart_cost(strbuf *sb, const yz_impact *im)
{
    const imp_acc *a = &im->a;
    int64_t max = 0;
    size_t n = 0;
    for (size_t u = 0; u < im->nsub; u++)
        for (int s = 0; s < 2; s++)
            if (a->subs[u].per[s] && !strcmp(a->subs[u].per[s], "month")) {
                max = a->subs[u].monthly[s] > max ? a->subs[u].monthly[s] : max;
                n += s == 0 || !(a->subs[u].per[0] && !strcmp(a->subs[u].per[0], "month"));
            }
    int rowh = 38, left = 210, width = 400, h = 40 + (int)n * rowh;
    svg_open(sb, "chart-cost", "每月补贴支出（元）：基线与改革方案", 760, h);
    sb_addf(sb, "<rect x=\"%d\" y=\"8\" width=\"12\" height=\"12\" fill=\"#6b8fb3\"/>", left);
    svg_text(sb, left + 16, 18, "start", "基线");
    sb_addf(sb, "<rect x=\"%d\" y=\"8\" width=\"12\" height=\"12\" fill=\"#e07b39\"/>", left + 70);
    svg_text(sb, left + 86, 18, "start", "改革方案");
    int y = 32;
    for (size_t u = 0; u < im->nsub; u++) {
        const imp_item *it = &a->subs[u];
        bool m0 = it->per[0] && !strcmp(it->per[0], "month"), m1 = it->per[1] && !strcmp(it->per[1], "month");
        if (!m0 && !m1)
            continue;
        svg_text(sb, left - 8, y + 20, "end", it->name);
        for (int s = 0; s < 2; s++) {
            double w = scale(it->monthly[s], max, width);
            int by = y + 4 + s * 15;
            sb_addf(sb, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"13\" fill=\"%s\"/>", left, by, w,
                    s ? "#e07b39" : "#6b8fb3");
            strbuf v = STRBUF_INIT;
            yuan(&v, it->monthly[s]);
            svg_text(sb, left + w + 4, by + 11, "start", v.buf);
            sb_free(&v);
        }
        y += rowh;
    }
    sb_addf(sb, "<line x1=\"%d\" y1=\"28\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>", left, left, h - 4);
    svg_close(sb);
}

/* persons in each bucket of the change of their whole-period amount */
static void chart_buckets(strbuf *sb, const yz_impact *im)
{
    static const char *const labels[IMP_NBUCKETS] = {"减少≥1万", "减少1千–1万", "减少<1千", "不变",
                                                     "增加<1千", "增加1千–1万", "增加≥1万", "待定"};
    static const char *const colors[IMP_NBUCKETS] = {"#b71c1c", "#e53935", "#ef9a9a", "#9e9e9e",
                                                     "#a5d6a7", "#43a047", "#1b5e20", "#cfd8dc"};
    const imp_acc *a = &im->a;
    uint64_t max = 0;
    /* the unchanged, usually most, would flatten the others: their number is said, not drawn */
    for (int b = 0; b < IMP_NBUCKETS; b++)
        if (b != IMP_B_SAME)
            max = a->buckets[b].persons > max ? a->buckets[b].persons : max;
    int w = 760, h = 250, base = 200, top = 24, colw = 96, x0 = 24;
    char caption[160];
    snprintf(caption, sizeof caption, "增减分布：每人全期金额的变化（人数；金额不变的 %llu 人未画出）",
             (unsigned long long)a->buckets[IMP_B_SAME].persons);
    svg_open(sb, "chart-buckets", caption, w, h);
    int col = 0;
    for (int b = 0; b < IMP_NBUCKETS; b++) {
        if (b == IMP_B_SAME)
            continue;
        double bh = max ? (double)a->buckets[b].persons / (double)max * (base - top - 16) : 0;
        int x = x0 + col++ * (colw + 8);
        sb_addf(sb, "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"%s\"%s/>", x, base - bh, colw, bh,
                colors[b], b == IMP_B_UNKNOWN ? " stroke=\"#78909c\" stroke-dasharray=\"4 2\"" : "");
        char v[32];
        snprintf(v, sizeof v, "%llu", (unsigned long long)a->buckets[b].persons);
        svg_text(sb, x + colw / 2.0, base - bh - 4, "middle", v);
        svg_text(sb, x + colw / 2.0, base + 18, "middle", labels[b]);
    }
    sb_addf(sb, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>", x0 - 4, base, w - 10, base);
    if (!max)
        svg_text(sb, w / 2.0, base / 2.0, "middle", "无人增减");
    svg_close(sb);
}

/* the target status before and after, as two stacked bars */
static void chart_target(strbuf *sb, const yz_impact *im)
{
    static const char *const colors[3] = {"#bdbdbd", "#2e7d32", "#ffb300"}; /* by yz_status */
    static const char *const names[3] = {"不符合", "符合", "待定"};
    const imp_acc *a = &im->a;
    int left = 110, width = 600;
    svg_open(sb, "chart-target", "援助对象：前后构成（人数）", 760, 120);
    for (int s = 0; s < 2; s++) {
        int y = 14 + s * 40;
        svg_text(sb, left - 8, y + 19, "end", s ? "改革方案" : "基线");
        double x = left;
        for (int i = 0; i < 3; i++) {
            int st = order[i];
            uint64_t v = s ? col_sum(a->target, st) : row_sum(a->target, st);
            double w = a->decided ? (double)v / (double)a->decided * width : 0;
            sb_addf(sb, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"28\" fill=\"%s\"/>", x, y, w, colors[st]);
            if (w > 60) {
                char t[64];
                snprintf(t, sizeof t, "%s %llu", names[st], (unsigned long long)v);
                svg_text(sb, x + w / 2, y + 19, "middle", t);
            }
            x += w;
        }
    }
    for (int i = 0; i < 3; i++) {
        int st = order[i];
        sb_addf(sb, "<rect x=\"%d\" y=\"100\" width=\"12\" height=\"12\" fill=\"%s\"/>", left + i * 90, colors[st]);
        svg_text(sb, left + i * 90 + 16, 110, "start", names[st]);
    }
    svg_close(sb);
}

/* the regions whose whole-period cost changes most, as diverging bars */
static void chart_regions(strbuf *sb, const yz_impact *im)
{
    size_t n = 0, pick[15];
    bool used[IMP_MAX_REGIONS + 2];
    memset(used, 0, sizeof used);
    for (; n < 15; n++) {
        int64_t best = 0;
        size_t bi = SIZE_MAX;
        for (size_t i = 0; i < im->nregions && i < IMP_MAX_REGIONS + 2; i++) {
            int64_t d = diff(im->regions[i].money.whole);
            int64_t ad = d < 0 ? -d : d;
            if (!used[i] && ad > best) {
                best = ad;
                bi = i;
            }
        }
        if (bi == SIZE_MAX)
            break;
        used[bi] = true;
        pick[n] = bi;
    }
    if (!n)
        return;
    int64_t max = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t d = diff(im->regions[pick[i]].money.whole);
        max = (d < 0 ? -d : d) > max ? (d < 0 ? -d : d) : max;
    }
    int rowh = 22, mid = 380, half = 250, h = 16 + (int)n * rowh;
    svg_open(sb, "chart-regions", "全期支出变化最大的地区（元）", 760, h);
    for (size_t i = 0; i < n; i++) {
        const imp_region *r = &im->regions[pick[i]];
        int64_t d = diff(r->money.whole);
        double w = scale(d < 0 ? -d : d, max, half);
        int y = 8 + (int)i * rowh;
        sb_addf(sb, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"16\" fill=\"%s\"/>", d < 0 ? mid - w : mid, y, w,
                d < 0 ? "#e53935" : "#43a047");
        const char *name = !strcmp(r->code, "*") ? "其他地区" : r->code[0] ? r->code : "未填地区";
        strbuf v = STRBUF_INIT;
        delta(&v, d);
        if (d < 0) {
            svg_text(sb, mid + 6, y + 12, "start", name);
            svg_text(sb, mid - w - 4, y + 12, "end", v.buf);
        } else {
            svg_text(sb, mid - 6, y + 12, "end", name);
            svg_text(sb, mid + w + 4, y + 12, "start", v.buf);
        }
        sb_free(&v);
    }
    sb_addf(sb, "<line x1=\"%d\" y1=\"4\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>", mid, mid, h - 4);
    svg_close(sb);
}

/* ------------------------------------------------------------------------------------------ */
/* tables */

static void td_num(strbuf *sb, uint64_t v)
{
    sb_addf(sb, "<td class=\"n\">%llu</td>", (unsigned long long)v);
}

static void td_yuan(strbuf *sb, int64_t fen)
{
    sb_adds(sb, "<td class=\"n\">");
    yuan(sb, fen);
    sb_adds(sb, "</td>");
}

static void td_delta(strbuf *sb, int64_t fen)
{
    sb_addf(sb, "<td class=\"n%s\">", fen > 0 ? " pos" : fen < 0 ? " neg" : "");
    delta(sb, fen);
    sb_adds(sb, "</td>");
}

static void td_text(strbuf *sb, const char *s)
{
    sb_adds(sb, "<td class=\"l\">");
    esc(sb, s);
    sb_adds(sb, "</td>");
}

static void thead(strbuf *sb, const char *const *cols, size_t n)
{
    sb_adds(sb, "<table><thead><tr>");
    for (size_t i = 0; i < n; i++) {
        sb_adds(sb, "<th>");
        esc(sb, cols[i]);
        sb_adds(sb, "</th>");
    }
    sb_adds(sb, "</tr></thead><tbody>\n");
}

static void matrix_table(strbuf *sb, const uint64_t m[3][3], bool sub, uint64_t total)
{
    sb_adds(sb, "<table class=\"matrix\"><thead><tr><th>基线 ＼ 改革方案</th>");
    for (int i = 0; i < 3; i++)
        sb_addf(sb, "<th>%s</th>", imp_status_zh(order[i], sub));
    sb_adds(sb, "<th>基线合计</th></tr></thead><tbody>\n");
    for (int i = 0; i < 3; i++) {
        int b = order[i];
        sb_addf(sb, "<tr><th>%s</th>", imp_status_zh(b, sub));
        for (int k = 0; k < 3; k++)
            td_num(sb, m[b][order[k]]);
        td_num(sb, row_sum(m, b));
        sb_adds(sb, "</tr>\n");
    }
    sb_adds(sb, "<tr class=\"total\"><th>改革方案合计</th>");
    for (int k = 0; k < 3; k++)
        td_num(sb, col_sum(m, order[k]));
    td_num(sb, total);
    sb_adds(sb, "</tr></tbody></table>\n");
}

static void items_table(strbuf *sb, const yz_impact *im, bool subs)
{
    static const char *const cols[2][8] = {{"认定类别", "前符合", "后符合", "新增", "失去", "前待定", "后待定", "其他变化"},
                                           {"补贴", "前可享受", "后可享受", "新增", "失去", "前待定", "后待定", "其他变化"}};
    const imp_acc *a = &im->a;
    thead(sb, cols[subs], 8);
    size_t n = subs ? im->nsub : im->ncat;
    for (size_t u = 0; u < n; u++) {
        const imp_item *it = subs ? &a->subs[u] : &a->cats[u];
        sb_adds(sb, "<tr>");
        strbuf name = STRBUF_INIT;
        sb_adds(&name, it->name);
        if (!it->in[0] || !it->in[1])
            sb_adds(&name, it->in[0] ? "（改革方案删去）" : "（改革方案新增）");
        td_text(sb, name.buf);
        sb_free(&name);
        td_num(sb, row_sum(it->m, YZ_MET));
        td_num(sb, col_sum(it->m, YZ_MET));
        td_num(sb, it->m[YZ_NOT_MET][YZ_MET] + it->m[YZ_UNDETERMINED][YZ_MET]);
        td_num(sb, it->m[YZ_MET][YZ_NOT_MET] + it->m[YZ_MET][YZ_UNDETERMINED]);
        td_num(sb, row_sum(it->m, YZ_UNDETERMINED));
        td_num(sb, col_sum(it->m, YZ_UNDETERMINED));
        sb_adds(sb, "<td class=\"l\">");
        bool any = false;
        for (int b = 0; b < 3; b++)
            for (int r = 0; r < 3; r++)
                if (b != r && it->m[b][r] && !(b == YZ_MET || r == YZ_MET)) {
                    sb_addf(sb, "%s%s→%s %llu", any ? "；" : "", imp_status_zh(b, subs), imp_status_zh(r, subs),
                            (unsigned long long)it->m[b][r]);
                    any = true;
                }
        if (it->lower)
            sb_addf(sb, "%s金额降低 %llu", any ? "；" : "", (unsigned long long)it->lower), any = true;
        if (it->higher)
            sb_addf(sb, "%s金额提高 %llu", any ? "；" : "", (unsigned long long)it->higher);
        sb_adds(sb, "</td></tr>\n");
    }
    sb_adds(sb, "</tbody></table>\n");
}

static void cost_table(strbuf *sb, const yz_impact *im)
{
    static const char *const cols[] = {"补贴", "期别", "基线每月", "改革每月", "每月差额", "基线全期", "改革全期", "全期差额"};
    const imp_acc *a = &im->a;
    thead(sb, cols, 8);
    for (size_t u = 0; u < im->nsub; u++) {
        const imp_item *it = &a->subs[u];
        bool loan = (!it->per[0] || !strcmp(it->per[0], "loan")) && (!it->per[1] || !strcmp(it->per[1], "loan"));
        if (loan)
            continue;
        const char *per = it->per[0] ? it->per[0] : it->per[1];
        sb_adds(sb, "<tr>");
        td_text(sb, it->name);
        td_text(sb, !strcmp(per, "month") ? "按月" : "一次性");
        td_yuan(sb, it->monthly[0]);
        td_yuan(sb, it->monthly[1]);
        td_delta(sb, diff(it->monthly));
        td_yuan(sb, it->whole[0]);
        td_yuan(sb, it->whole[1]);
        td_delta(sb, diff(it->whole));
        sb_adds(sb, "</tr>\n");
    }
    sb_adds(sb, "<tr class=\"total\"><td class=\"l\">合计</td><td></td>");
    td_yuan(sb, a->total.monthly[0]);
    td_yuan(sb, a->total.monthly[1]);
    td_delta(sb, diff(a->total.monthly));
    td_yuan(sb, a->total.whole[0]);
    td_yuan(sb, a->total.whole[1]);
    td_delta(sb, diff(a->total.whole));
    sb_adds(sb, "</tr></tbody></table>\n");
    for (size_t u = 0; u < im->nsub; u++) {
        const imp_item *it = &a->subs[u];
        if (!((it->per[0] && !strcmp(it->per[0], "loan")) || (it->per[1] && !strcmp(it->per[1], "loan"))))
            continue;
        sb_adds(sb, "<p class=\"muted\">");
        esc(sb, it->name);
        sb_adds(sb, "（贷款额度，不是财政支出，不计入合计）：基线 ");
        yuan(sb, it->loan[0]);
        sb_adds(sb, " 元，改革方案 ");
        yuan(sb, it->loan[1]);
        sb_adds(sb, " 元。</p>\n");
    }
    sb_addf(sb, "<p><span class=\"%s\">核对：%s</span>%s</p><ul>\n", im->reconciled ? "ok" : "bad",
            im->reconciled ? "通过 ✔" : "未通过 ✘", im->a.overflow ? "（金额合计超出可表示范围）" : "");
    for (size_t i = 0; i < im->nchecks; i++) {
        const imp_check *c = &im->checks[i];
        sb_addf(sb, "<li><span class=\"%s\">%s</span> ", c->ok ? "ok" : "bad", c->ok ? "✔" : "✘");
        esc(sb, c->label);
        if (!c->ok)
            sb_addf(sb, "：应为 %lld，实为 %lld", (long long)c->expected, (long long)c->got);
        sb_adds(sb, "</li>\n");
    }
    sb_adds(sb, "</ul>\n");
}

static void regions_table(strbuf *sb, const yz_impact *im)
{
    static const char *const cols[] = {"地区", "人数", "基线对象", "改革对象", "增加者", "减少者", "基线每月", "每月差额", "全期差额"};
    thead(sb, cols, 9);
    for (size_t i = 0; i < im->nregions; i++) {
        const imp_region *r = &im->regions[i];
        sb_adds(sb, "<tr>");
        td_text(sb, !strcmp(r->code, "*") ? "其他地区" : r->code[0] ? r->code : "（未填地区）");
        td_num(sb, r->persons);
        td_num(sb, r->targets[0]);
        td_num(sb, r->targets[1]);
        td_num(sb, r->gainers);
        td_num(sb, r->losers);
        td_yuan(sb, r->money.monthly[0]);
        td_delta(sb, diff(r->money.monthly));
        td_delta(sb, diff(r->money.whole));
        sb_adds(sb, "</tr>\n");
    }
    sb_adds(sb, "</tbody></table>\n");
}

static void bycat_table(strbuf *sb, const yz_impact *im)
{
    static const char *const cols[] = {"基线类别", "人数", "失去对象资格", "新成为对象", "增加者", "减少者", "每月差额", "全期差额"};
    const imp_acc *a = &im->a;
    thead(sb, cols, 8);
    for (size_t u = 0; u <= im->ncat; u++) {
        const imp_catrow *row = &a->catrows[u];
        sb_adds(sb, "<tr>");
        td_text(sb, u < im->ncat ? a->cats[u].name : "（基线未认定任何类别）");
        td_num(sb, row->persons);
        td_num(sb, row->target_lost);
        td_num(sb, row->target_gained);
        td_num(sb, row->gainers);
        td_num(sb, row->losers);
        td_delta(sb, diff(row->money.monthly));
        td_delta(sb, diff(row->money.whole));
        sb_adds(sb, "</tr>\n");
    }
    sb_adds(sb, "</tbody></table>\n");
}

static void buckets_table(strbuf *sb, const yz_impact *im)
{
    static const char *const cols[] = {"档次", "人数", "全期变化合计", "每月变化合计"};
    const imp_acc *a = &im->a;
    thead(sb, cols, 4);
    for (int b = 0; b < IMP_NBUCKETS; b++) {
        sb_adds(sb, "<tr>");
        td_text(sb, imp_bucket_zh(b));
        td_num(sb, a->buckets[b].persons);
        td_delta(sb, a->buckets[b].whole_change);
        td_delta(sb, a->buckets[b].monthly_change);
        sb_adds(sb, "</tr>\n");
    }
    sb_adds(sb, "</tbody></table>\n");
}

/* the kinds of change, in the order of the report's kinds, with their examples */
static void examples_section(strbuf *sb, const yz_impact *im)
{
    const imp_acc *a = &im->a;
    bool any = false;
    for (size_t k = 0; k < im->nkinds; k++) {
        if (!a->kind_count[k])
            continue;
        imp_kind x = imp_kind_of(im, k);
        if (!x.change)
            continue;
        const char *name = x.item ? x.item->name : "援助对象";
        bool sub = x.subsidy, amount = !strcmp(x.kind, "amount");
        int from = x.from, to = x.to;
        any = true;
        sb_adds(sb, "<h3>");
        esc(sb, name);
        if (amount)
            sb_addf(sb, "：金额%s", to ? "提高" : "降低");
        else
            sb_addf(sb, "：%s → %s", imp_status_zh(from, sub), imp_status_zh(to, sub));
        sb_addf(sb, "（%llu 人）</h3>\n", (unsigned long long)a->kind_count[k]);
        for (size_t e = 0; e < a->nexamples[k]; e++) {
            const imp_example *ex = &a->examples[k * im->nex + e];
            sb_addf(sb, "<div class=\"ex\"><div class=\"muted\">第 %ld %s · <code>", ex->line, im->from_store ? "条" : "行");
            esc(sb, ex->id);
            sb_adds(sb, "</code></div><pre>前：");
            esc(sb, ex->before);
            sb_adds(sb, "</pre><pre>后：");
            esc(sb, ex->after);
            sb_adds(sb, "</pre></div>\n");
        }
    }
    if (!any)
        sb_adds(sb, "<p>没有任何变化。</p>\n");
}

char *yz_impact_html(const yz_impact *im)
{
    const imp_acc *a = &im->a;
    strbuf sb = STRBUF_INIT;
    sb_adds(&sb, "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\n"
                 "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>政策影响测算：");
    esc(&sb, im->path[1]);
    sb_addf(&sb, " 对比 ");
    esc(&sb, im->path[0]);
    sb_addf(&sb, "（%s）</title>\n<style>%s</style></head><body>\n", im->as_of, style);
    sb_adds(&sb, "<h1>政策影响测算</h1>\n<p><span class=\"sim\">模拟测算：未记录任何决定</span></p>\n<dl class=\"prov\">");
    static const char *const role[2] = {"基线", "改革方案"};
    for (int s = 0; s < 2; s++) {
        sb_addf(&sb, "<dt>%s</dt><dd>", role[s]);
        esc(&sb, im->path[s]);
        sb_adds(&sb, "（");
        esc(&sb, im->province[s]);
        sb_addf(&sb, "）规则集 <code>%s</code></dd>", im->ruleset[s]);
    }
    sb_addf(&sb, "<dt>核定日期</dt><dd>%s</dd><dt>人群</dt><dd>", im->as_of);
    esc(&sb, im->source);
    sb_addf(&sb, "%s：%llu 条记录，已核定 %llu，退回 %llu", im->from_store ? "（库中每人最新记录）" : "",
            (unsigned long long)a->records, (unsigned long long)a->decided, (unsigned long long)a->rejected);
    if (a->failed)
        sb_addf(&sb, "，规则未能核定 %llu", (unsigned long long)a->failed);
    sb_addf(&sb, "</dd><dt>人群 SHA-256</dt><dd><code>%s</code></dd><dt>引擎</dt><dd>yuanzhu " YZ_VERSION "</dd></dl>\n",
            im->sha256);
    if (im->null_reform)
        sb_addf(&sb, "<p class=\"%s\">零改革自检：改革方案与基线是同一规则集，%s</p>\n", im->null_ok ? "ok" : "bad",
                im->null_ok ? "结果无任何变化 ✔" : "结果竟有变化 ✘（这是引擎的错误，请报告）");

    uint64_t tb = row_sum(a->target, YZ_MET), tr = col_sum(a->target, YZ_MET);
    uint64_t gain = 0, lose = 0;
    for (int b = IMP_B_GAIN_SMALL; b <= IMP_B_GAIN_BIG; b++)
        gain += a->buckets[b].persons;
    for (int b = IMP_B_LOSE_BIG; b <= IMP_B_LOSE_SMALL; b++)
        lose += a->buckets[b].persons;
    sb_addf(&sb, "<div class=\"cards\"><div class=\"card\">援助对象<b>%llu → %llu</b></div>", (unsigned long long)tb,
            (unsigned long long)tr);
    sb_adds(&sb, "<div class=\"card\">每月支出差额（元）<b>");
    delta(&sb, diff(a->total.monthly));
    sb_adds(&sb, "</b></div><div class=\"card\">全期支出差额（元）<b>");
    delta(&sb, diff(a->total.whole));
    sb_addf(&sb, "</b></div><div class=\"card\">增加者 / 减少者<b>%llu / %llu</b></div></div>\n", (unsigned long long)gain,
            (unsigned long long)lose);

    sb_adds(&sb, "<h2>一、援助对象认定（前 → 后）</h2>\n");
    chart_target(&sb, im);
    matrix_table(&sb, a->target, false, a->decided);
    sb_adds(&sb, "<h2>二、各认定类别与补贴</h2>\n<h3>认定类别</h3>\n");
    items_table(&sb, im, false);
    sb_adds(&sb, "<h3>补贴</h3>\n");
    items_table(&sb, im, true);
    bool grid = false;
    for (size_t u = 0; u < im->ncat + im->nsub; u++) {
        bool sub = u >= im->ncat;
        const imp_item *it = sub ? &a->subs[u - im->ncat] : &a->cats[u];
        bool changed = false;
        for (int b = 0; b < 3; b++)
            for (int r = 0; r < 3; r++)
                changed |= b != r && it->m[b][r];
        if (!changed)
            continue;
        if (!grid)
            sb_adds(&sb, "<h3>有变化的项目：转移矩阵（行：基线，列：改革方案）</h3>\n<div class=\"mats\">\n");
        grid = true;
        sb_adds(&sb, "<div><h4>");
        esc(&sb, it->name);
        sb_adds(&sb, "</h4>\n");
        matrix_table(&sb, it->m, sub, a->decided);
        sb_adds(&sb, "</div>\n");
    }
    if (grid)
        sb_adds(&sb, "</div>\n");
    sb_adds(&sb, "<h2>三、补贴支出</h2>\n<p class=\"muted\">按分精确计算，以元显示；全期 = 各人各项补贴的全期金额之和（按月补贴按各月标准逐期计算，跨标准调整的估算额照计），加一次性补贴。</p>\n");
    chart_cost(&sb, im);
    cost_table(&sb, im);
    sb_adds(&sb, "<h2>四、按地区</h2>\n<p class=\"muted\">区县代码：常住地，无则户籍地。</p>\n");
    chart_regions(&sb, im);
    regions_table(&sb, im);
    sb_adds(&sb, "<h2>五、按基线认定类别</h2>\n<p class=\"muted\">一人可属多个类别，各行之和不等于合计。</p>\n");
    bycat_table(&sb, im);
    sb_adds(&sb, "<h2>六、增减分布</h2>\n");
    chart_buckets(&sb, im);
    buckets_table(&sb, im);
    sb_addf(&sb, "<h2>七、变化示例</h2>\n<p class=\"muted\">每种变化按输入顺序的前 %zu 条；身份号码已遮蔽。</p>\n", im->nex);
    examples_section(&sb, im);
    if (a->rejected || a->failed) {
        sb_addf(&sb, "<h2>八、未核定的记录</h2>\n<p>退回 %llu 条，规则未能核定 %llu 条；不计入以上各表。</p><ul>\n",
                (unsigned long long)a->rejected, (unsigned long long)a->failed);
        for (size_t i = 0; i < a->nrejects; i++) {
            sb_addf(&sb, "<li><code>");
            esc(&sb, im->source);
            sb_addf(&sb, ":%ld</code> %s", a->rejects[i].line, a->rejects[i].failed ? "规则未能核定：" : "");
            esc(&sb, a->rejects[i].message);
            sb_adds(&sb, "</li>\n");
        }
        sb_adds(&sb, "</ul>\n");
    }
    sb_adds(&sb, "</body></html>\n");
    return sb_release(&sb);
}

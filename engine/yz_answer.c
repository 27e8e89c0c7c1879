/* yz_answer.c: a determination as Chinese-friendly text for a person at a desk, written from its
 * canonical JSON: the same text for a determination just made (check) and for one read back from
 * the store (show), since both are that JSON.  Every text value is shown escaped (yz_text.h):
 * text from policies, rules and records cannot add a line to the answer (a forged "已记录"
 * confirmation), move the cursor or reorder the text around it. */
#include <stdio.h>
#include <string.h>

#include "yz_eval.h"
#include "yz_json.h"
#include "yz_ledger.h"
#include "yz_schema.h"
#include "yz_text.h"


static const char *or_empty(const char *s)
{
    return s ? s : "";
}

void yz_format_fen(int64_t fen, char out[40])
{
    bool neg = fen < 0;
    uint64_t u = neg ? (uint64_t)0 - (uint64_t)fen : (uint64_t)fen;
    char digits[32];
    snprintf(digits, sizeof digits, "%llu", (unsigned long long)(u / 100));
    size_t n = strlen(digits), k = 0;
    if (neg)
        out[k++] = '-';
    for (size_t i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            out[k++] = ',';
        out[k++] = digits[i];
    }
    snprintf(out + k, 40 - k, ".%02u 元", (unsigned)(u % 100));
}

static void money(strbuf *sb, int64_t fen)
{
    char buf[40];
    yz_format_fen(fen, buf);
    sb_adds(sb, buf);
}

static const char *mark(yz_status s)
{
    return s == YZ_MET ? "✔" : s == YZ_NOT_MET ? "✘" : "?";
}

static const char *cond_mark(const yj *result)
{
    yj_type t = yj_typeof(result);
    return t == YJ_BOOL ? (yj_bool(result) ? "✔" : "✘") : "?";
}

static void text_basis(strbuf *sb, const yj *item, const char *indent)
{
    const yj *basis = yj_get(item, "basis");
    if (!yj_size(basis)) {
        if (basis) /* every text it cites took effect after the as-of date (edition 2) */
            sb_addf(sb, "%s依据：核定日施行的文件未列入规则（所列文件均在核定日之后施行），请核实\n", indent);
        return;
    }
    sb_addf(sb, "%s依据：", indent);
    int i = 0;
    for (const yj *b = yj_first(basis); b; b = yj_next(b), i++) {
        if (i)
            sb_adds(sb, "；");
        const char *number = ledger_str(b, "number");
        sb_adds(sb, number ? number : or_empty(ledger_str(b, "source")));
        const char *article = ledger_str(b, "article");
        if (article)
            sb_addf(sb, " %s", article);
        const yj *verified = yj_get(b, "verified");
        if (yj_typeof(verified) == YJ_BOOL && !yj_bool(verified))
            sb_adds(sb, "（待核实）");
    }
    sb_addc(sb, '\n');
}

/* facts behind a granted item that nobody has checked against a text yet */
static void text_unverified(strbuf *sb, const yj *item)
{
    const yj *list = yj_get(item, "unverified");
    size_t n = 0;
    bool whole = false;
    for (const yj *u = yj_first(list); u; u = yj_next(u)) {
        n += strncmp(yj_str(u), "parameter:", 10) == 0;
        whole |= u == yj_first(list) && !strcmp(yj_str(u), "item");
    }
    if (!n && !whole)
        return;
    sb_adds(sb, "      待核实：");
    size_t k = 0;
    for (const yj *u = yj_first(list); u; u = yj_next(u)) {
        const char *s = yj_str(u);
        if (!strcmp(s, "item"))
            sb_addf(sb, "%s本项规定", k++ ? "、" : "");
        else if (!strncmp(s, "parameter:", 10))
            sb_addf(sb, "%s参数 %s", k++ ? "、" : "", s + 10);
    }
    sb_addc(sb, '\n');
}

static void text_conditions(strbuf *sb, const yj *item, bool all)
{
    for (const yj *c = yj_first(yj_get(item, "conditions")); c; c = yj_next(c)) {
        const yj *result = yj_get(c, "result");
        if (!all && yj_typeof(result) == YJ_BOOL && yj_bool(result))
            continue;
        sb_adds(sb, "      ");
        for (int64_t d = ledger_int(c, "depth", 0); d > 0; d--)
            sb_adds(sb, "  ");
        sb_addf(sb, "%s %s", cond_mark(result), or_empty(ledger_str(c, "text")));
        const char *note = ledger_str(c, "note");
        if (note)
            sb_addf(sb, "（%s）", note);
        sb_addc(sb, '\n');
        const char *error = ledger_str(c, "error");
        if (error)
            sb_addf(sb, "        规则错误：%s\n", error);
    }
}

static void text_missing(strbuf *sb, const yj *list, const char *indent)
{
    for (const yj *m = yj_first(list); m; m = yj_next(m)) {
        const char *field = or_empty(ledger_str(m, "field")), *label = ledger_str(m, "label");
        sb_addf(sb, "%s- %s（%s）", indent, label ? label : field, field);
        const char *doc = ledger_str(m, "document_name");
        if (doc)
            sb_addf(sb, "：请提供%s", doc);
        sb_addc(sb, '\n');
    }
}

/* The members of an object of items (keyed by id) in the order the policy lists them (file
 * order), then any it does not know, by id.  Caller frees the array. */
static const yj **ordered(const yj *items, const ppolicy *pol, pikind k, size_t *n)
{
    size_t cap = yj_size(items);
    const yj **out = yz_malloc((cap ? cap : 1) * sizeof *out);
    *n = 0;
    if (pol) {
        for (size_t i = 0; i < pol->nitems[k]; i++) {
            const yj *v = yj_get(items, pol->items[k][i].id);
            if (v && yj_typeof(v) == YJ_OBJECT)
                out[(*n)++] = v;
        }
    }
    for (const yj *v = yj_first(items); v; v = yj_next(v)) {
        bool seen = false;
        for (size_t j = 0; j < *n && !seen; j++)
            seen = out[j] == v;
        if (!seen && yj_typeof(v) == YJ_OBJECT)
            out[(*n)++] = v;
    }
    return out;
}

static const char *item_name(const yj *item)
{
    const char *name = ledger_str(item, "name");
    return name ? name : yj_key(item);
}

/* the stretches of a monthly subsidy paid at different amounts */
static void text_schedule(strbuf *sb, const yj *di)
{
    for (const yj *p = yj_first(yj_get(di, "schedule")); p; p = yj_next(p)) {
        sb_addf(sb, "      %s 至 %s：每月 ", or_empty(ledger_str(p, "from")), or_empty(ledger_str(p, "to")));
        money(sb, ledger_int(p, "amount_fen", 0));
        sb_addf(sb, " × %lld 个月\n", (long long)ledger_int(p, "months", 0));
    }
}

/* the region whose standard a regional parameter gave */
static void text_regions(strbuf *sb, const yj *di)
{
    for (const yj *r = yj_first(yj_get(di, "regions")); r; r = yj_next(r)) {
        const char *field = ledger_str(r, "field");
        const snode *sn = field ? schema_lookup(schema_applicant(), field) : NULL;
        sb_addf(sb, "      按%s标准（%s %s）\n", or_empty(ledger_str(r, "name")), sn && sn->label ? sn->label : or_empty(field),
                or_empty(ledger_str(r, "code")));
    }
}

static void text_subsidy(strbuf *sb, const yj *di, const yj *subsidies)
{
    sb_addf(sb, "  %s %s", mark(ledger_status(di)), item_name(di));
    if (ledger_status(di) != YZ_MET) {
        sb_addf(sb, " —— %s\n", or_empty(ledger_str(di, "reason")));
        if (ledger_status(di) == YZ_UNDETERMINED)
            text_conditions(sb, di, false);
        return;
    }
    const char *per = or_empty(ledger_str(di, "period"));
    int64_t amount = ledger_int(di, "amount_fen", 0), months = ledger_int(di, "months", -1);
    sb_adds(sb, "：");
    if (!strcmp(per, "month")) {
        sb_adds(sb, "每月 ");
        money(sb, amount);
        sb_addf(sb, " × %lld 个月（%s 至 %s），合计 ", (long long)months, or_empty(ledger_str(di, "start")),
                or_empty(ledger_str(di, "end")));
        money(sb, ledger_int(di, "total_fen", 0));
        if (yj_get(di, "total_estimate"))
            sb_adds(sb, "（按当前标准估算，期限内标准调整的以调整后为准）");
    } else if (!strcmp(per, "loan")) {
        sb_adds(sb, "贷款额度最高 ");
        money(sb, amount);
        if (months > 0)
            sb_addf(sb, "，期限最长 %lld 个月", (long long)months);
    } else {
        sb_adds(sb, "一次性 ");
        money(sb, amount);
    }
    sb_addc(sb, '\n');
    text_schedule(sb, di);
    text_regions(sb, di);
    const char *mnote = ledger_str(di, "months_note");
    if (mnote)
        sb_addf(sb, "      期限：%s\n", mnote);
    const yj *excl = yj_get(di, "exclusive_with");
    if (yj_size(excl)) {
        sb_adds(sb, "      注意：与");
        int k = 0;
        for (const yj *e = yj_first(excl); e; e = yj_next(e), k++) {
            const yj *other = yj_get(subsidies, yj_str(e));
            sb_addf(sb, "%s%s", k ? "、" : "", other ? item_name(other) : yj_str(e));
        }
        sb_adds(sb, "不得重复享受，请择一申领\n");
    }
    const char *terms = ledger_str(di, "terms");
    if (terms)
        sb_addf(sb, "      %s\n", terms);
    text_basis(sb, di, "      ");
    text_unverified(sb, di);
}

/* 办理前需查验的材料: every pending document once, with the items that need it, in the order of
 * the lists given */
static void text_evidence(strbuf *sb, const yj **pre, size_t npre, const yj **cats, size_t ncat, const yj **subs,
                          size_t nsub)
{
    const yj **const lists[3] = {pre, cats, subs};
    const size_t counts[3] = {npre, ncat, nsub};
    const char **docs = NULL;
    size_t ndocs = 0, cap = 0;
    for (int l = 0; l < 3; l++)
        for (size_t i = 0; i < counts[l]; i++)
            for (const yj *p = yj_first(yj_get(lists[l][i], "evidence_pending")); p; p = yj_next(p)) {
                size_t k = 0;
                while (k < ndocs && strcmp(docs[k], yj_str(p)))
                    k++;
                if (k < ndocs)
                    continue;
                if (ndocs == cap) {
                    cap = cap ? cap * 2 : 8;
                    docs = yz_realloc(docs, cap * sizeof *docs);
                }
                docs[ndocs++] = yj_str(p);
            }
    if (ndocs)
        sb_adds(sb, "\n办理前需查验的材料：\n");
    const yz_schema *as = schema_applicant();
    for (size_t k = 0; k < ndocs; k++) {
        const char *name = schema_doc_name(as, docs[k]);
        sb_addf(sb, "  - %s（", name ? name : docs[k]);
        int used = 0;
        for (int l = 0; l < 3; l++)
            for (size_t i = 0; i < counts[l]; i++)
                for (const yj *p = yj_first(yj_get(lists[l][i], "evidence_pending")); p; p = yj_next(p))
                    if (!strcmp(yj_str(p), docs[k]))
                        sb_addf(sb, "%s%s", used++ ? "、" : "", item_name(lists[l][i]));
        sb_adds(sb, "）\n");
    }
    yz_free(docs);
}

static void shown(strbuf *out, const char *s, void *ctx)
{
    (void)ctx;
    sb_add_shown(out, s, strlen(s), false);
}

static char *text_of_determination(const yj *doc, const ppolicy *pol)
{
    strbuf sb = STRBUF_INIT;
    const yj *policy = yj_get(doc, "policy"), *target = yj_get(doc, "target");
    const char *region = ledger_str(yj_get(policy, "region"), "name");
    sb_addf(&sb, "%s 就业援助资格核定\n", region ? region : or_empty(ledger_str(doc, "province")));
    sb_addf(&sb, "核定日期 %s · 身份号码 %s · 规则集 %.12s\n", or_empty(ledger_str(doc, "as_of")),
            or_empty(ledger_str(doc, "id_number")), or_empty(ledger_str(doc, "ruleset")));
    sb_addc(&sb, '\n');
    yz_status ts = ledger_status(target);
    sb_addf(&sb, "结论：%s —— %s\n", ts == YZ_MET ? "是" : ts == YZ_NOT_MET ? "否" : "待定",
            or_empty(ledger_str(target, "reason")));

    size_t n, npre;
    const yj **pre = ordered(yj_get(doc, "prerequisites"), pol, PI_PREREQ, &n);
    bool any_pre_failed = false;
    for (size_t i = 0; i < n; i++)
        any_pre_failed |= ledger_status(pre[i]) != YZ_MET;
    if (any_pre_failed) {
        sb_adds(&sb, "\n前提条件：\n");
        for (size_t i = 0; i < n; i++) {
            sb_addf(&sb, "  %s %s —— %s\n", mark(ledger_status(pre[i])), item_name(pre[i]), or_empty(ledger_str(pre[i], "reason")));
            if (ledger_status(pre[i]) != YZ_MET)
                text_conditions(&sb, pre[i], false);
        }
    }
    yz_free(pre);
    const yj **dis = ordered(yj_get(doc, "disqualifications"), pol, PI_DISQUAL, &n);
    for (size_t i = 0; i < n; i++)
        if (ledger_status(dis[i]) != YZ_NOT_MET)
            sb_addf(&sb, "\n身份丧失情形：%s %s —— %s\n", mark(ledger_status(dis[i])), item_name(dis[i]),
                    or_empty(ledger_str(dis[i], "reason")));
    yz_free(dis);

    sb_adds(&sb, "\n认定类别：\n");
    const yj **cats = ordered(yj_get(doc, "categories"), pol, PI_CATEGORY, &n);
    for (size_t i = 0; i < n; i++) {
        const yj *di = cats[i];
        yz_status s = ledger_status(di);
        sb_addf(&sb, "  %s %s —— %s\n", mark(s), item_name(di), or_empty(ledger_str(di, "reason")));
        if (s == YZ_MET) {
            text_basis(&sb, di, "      ");
            text_unverified(&sb, di);
        } else if (s == YZ_UNDETERMINED || !any_pre_failed) {
            text_conditions(&sb, di, false);
        }
    }

    sb_adds(&sb, "\n补贴与扶持：\n");
    const yj *subsidies = yj_get(doc, "subsidies");
    size_t nsub;
    const yj **subs = ordered(subsidies, pol, PI_SUBSIDY, &nsub);
    for (size_t i = 0; i < nsub; i++)
        text_subsidy(&sb, subs[i], subsidies);

    const yj *missing = yj_get(doc, "missing");
    if (yj_size(missing)) {
        sb_adds(&sb, "\n需补充的信息或材料：\n");
        text_missing(&sb, missing, "  ");
    }
    /* documents still to see for what was granted, each once, in the order a caseworker works:
       the recognition (prerequisites, then categories), then the subsidies */
    const yj **pres = ordered(yj_get(doc, "prerequisites"), pol, PI_PREREQ, &npre);
    text_evidence(&sb, pres, npre, cats, n, subs, nsub);
    yz_free(pres);
    yz_free(cats);
    yz_free(subs);
    return sb_release(&sb);
}

char *yz_determination_text(const yz_determination *det)
{
    char *json = yz_determination_json(det);
    arena m;
    arena_init(&m, 64 * 1024);
    size_t off;
    const char *err;
    yj *doc = yj_parse(&m, json, strlen(json), &off, &err);
    yj_map_strings(&m, doc, shown, NULL);
    char *text = text_of_determination(doc, det->pol); /* our own JSON: it parses */
    arena_free(&m);
    yz_free(json);
    return text;
}

int yz_determination_json_text(const char *json, const yz_ruleset *rs, char **out)
{
    *out = NULL;
    arena m;
    arena_init(&m, 64 * 1024);
    size_t off;
    const char *err;
    yj *doc = json ? yj_parse(&m, json, strlen(json), &off, &err) : NULL;
    yj_map_strings(&m, doc, shown, NULL);
    const char *as_of = ledger_str(doc, "as_of");
    if (!doc || yj_typeof(doc) != YJ_OBJECT || !as_of || yj_typeof(yj_get(doc, "categories")) != YJ_OBJECT) {
        arena_free(&m);
        return YZ_EPARSE;
    }
    *out = text_of_determination(doc, rs ? ruleset_policy_at(rs, as_of) : NULL);
    arena_free(&m);
    return YZ_OK;
}

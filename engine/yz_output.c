/* yz_output.c: determinations as canonical JSON (for programs and the store) and as Chinese-friendly
 * text (for a caseworker at a desk). */
#include <stdio.h>
#include <string.h>

#include "yz_eval.h"
#include "yz_json.h"
#include "yz_schema.h"
#include "yz_text.h"

const char *yz_status_name(yz_status s, bool subsidy)
{
    switch (s) {
    case YZ_MET: return subsidy ? "eligible" : "met";
    case YZ_NOT_MET: return subsidy ? "not_eligible" : "not_met";
    default: return "undetermined";
    }
}

int yz_status_parse(const char *s, bool subsidy)
{
    if (!s)
        return -1;
    if (!strcmp(s, "met") || (subsidy && !strcmp(s, "eligible")))
        return YZ_MET;
    if (!strcmp(s, "not_met") || (subsidy && !strcmp(s, "not_eligible")))
        return YZ_NOT_MET;
    if (!strcmp(s, "undetermined"))
        return YZ_UNDETERMINED;
    return -1;
}

static const char *status_word(const ditem *di)
{
    return yz_status_name(di->status, di->it->kind == PI_SUBSIDY);
}

static void write_missing(jw *w, const dmissing *m, size_t n)
{
    jw_arr_begin(w);
    for (size_t i = 0; i < n; i++) {
        jw_obj_begin(w);
        if (m[i].document) {
            JW_KEY(w, "document");
            jw_str(w, m[i].document);
        }
        if (m[i].doc_name) {
            JW_KEY(w, "document_name");
            jw_str(w, m[i].doc_name);
        }
        JW_KEY(w, "field");
        jw_str(w, m[i].field);
        if (m[i].label) {
            JW_KEY(w, "label");
            jw_str(w, m[i].label);
        }
        jw_obj_end(w);
    }
    jw_arr_end(w);
}

static void write_kv(jw *w, const dkv *kv, size_t n)
{
    jw_obj_begin(w);
    for (size_t i = 0; i < n; i++) {
        jw_key(w, kv[i].key);
        jw_raw(w, kv[i].json, strlen(kv[i].json));
    }
    jw_obj_end(w);
}

static void write_tv(jw *w, int8_t tv)
{
    if (tv == 2)
        jw_null(w);
    else
        jw_bool(w, tv == 1);
}

static void write_item(jw *w, const ditem *di, bool explained)
{
    const pitem *it = di->it;
    bool sub = it->kind == PI_SUBSIDY;
    bool met = di->status == YZ_MET;
    jw_obj_begin(w);
    if (sub && met) {
        JW_KEY(w, "amount_fen");
        jw_int(w, di->amount_fen);
        if (explained && di->amount_note) {
            JW_KEY(w, "amount_note");
            jw_str(w, di->amount_note);
        } else if (explained && it->amount_note) {
            JW_KEY(w, "amount_note");
            jw_str(w, it->amount_note);
        }
    }
    if (explained) {
        JW_KEY(w, "basis");
        jw_raw(w, it->basis_json, strlen(it->basis_json));
        JW_KEY(w, "conditions");
        jw_arr_begin(w);
        for (size_t i = 0; i < di->nconds; i++) {
            const dcond *c = &di->conds[i];
            jw_obj_begin(w);
            if (c->depth) {
                JW_KEY(w, "depth");
                jw_int(w, c->depth);
            }
            if (c->error) {
                JW_KEY(w, "error");
                jw_str(w, c->error);
            }
            if (c->note) {
                JW_KEY(w, "note");
                jw_str(w, c->note);
            }
            JW_KEY(w, "result");
            write_tv(w, c->result);
            if (c->rule) {
                JW_KEY(w, "rule");
                jw_str(w, c->rule);
            }
            JW_KEY(w, "text");
            if (c->text_json)
                jw_raw(w, c->text_json, strlen(c->text_json));
            else
                jw_str(w, c->text);
            jw_obj_end(w);
        }
        jw_arr_end(w);
    }
    if (sub && met) {
        JW_KEY(w, "end");
        jw_str(w, di->end);
    }
    if (explained && di->error && di->status == YZ_UNDETERMINED) {
        JW_KEY(w, "error");
        jw_str(w, di->error);
    }
    if (explained && di->npending) {
        JW_KEY(w, "evidence_pending");
        jw_arr_begin(w);
        for (size_t i = 0; i < di->npending; i++)
            jw_str(w, di->pending[i]);
        jw_arr_end(w);
    }
    if (di->nexclusive) {
        JW_KEY(w, "exclusive_with");
        jw_arr_begin(w);
        for (size_t i = 0; i < di->nexclusive; i++)
            jw_str(w, di->exclusive_with[i]);
        jw_arr_end(w);
    }
    if (explained) {
        JW_KEY(w, "fields");
        write_kv(w, di->fields, di->nfields);
        JW_KEY(w, "missing");
        write_missing(w, di->missing, di->nmissing);
    }
    if (sub && met) {
        JW_KEY(w, "months");
        if (di->months >= 0)
            jw_int(w, di->months);
        else
            jw_null(w);
    }
    JW_KEY(w, "name");
    jw_raw(w, it->name_json, strlen(it->name_json));
    if (explained) {
        JW_KEY(w, "params");
        write_kv(w, di->params, di->nparams);
    }
    if (sub && met) {
        JW_KEY(w, "period");
        jw_str(w, it->per ? it->per : "once");
    }
    if (explained) {
        JW_KEY(w, "reason");
        jw_str(w, di->reason ? di->reason : "");
    }
    if (sub && met) {
        JW_KEY(w, "start");
        jw_str(w, di->start);
    }
    JW_KEY(w, "status");
    jw_str(w, status_word(di));
    if (explained && sub && di->terms) {
        JW_KEY(w, "terms");
        jw_str(w, di->terms);
    }
    if (sub && met) {
        JW_KEY(w, "total_fen");
        if (di->total_fen >= 0)
            jw_int(w, di->total_fen);
        else
            jw_null(w);
    }
    if (explained && di->nunverified) {
        JW_KEY(w, "unverified");
        jw_arr_begin(w);
        for (size_t i = 0; i < di->nunverified; i++)
            jw_str(w, di->unverified[i]);
        jw_arr_end(w);
    }
    jw_obj_end(w);
}

/* items of one kind as an object keyed by id (sorted) */
static void write_items(jw *w, const yz_determination *det, pikind k)
{
    size_t n = det->nitems[k];
    const ditem **sorted = yz_malloc((n ? n : 1) * sizeof *sorted);
    for (size_t i = 0; i < n; i++)
        sorted[i] = &det->items[k][i];
    for (size_t i = 1; i < n; i++) {
        const ditem *x = sorted[i];
        size_t j = i;
        while (j > 0 && strcmp(sorted[j - 1]->it->id, x->it->id) > 0) {
            sorted[j] = sorted[j - 1];
            j--;
        }
        sorted[j] = x;
    }
    jw_obj_begin(w);
    for (size_t i = 0; i < n; i++) {
        jw_key(w, sorted[i]->it->id);
        write_item(w, sorted[i], det->explained);
    }
    jw_obj_end(w);
    yz_free(sorted);
}

char *yz_determination_json(const yz_determination *det)
{
    strbuf sb = STRBUF_INIT;
    jw w;
    jw_init(&w, &sb);
    const ppolicy *pol = det->pol;
    bool ex = det->explained;
    jw_obj_begin(&w);
    JW_KEY(&w, "as_of");
    jw_str(&w, det->as_of);
    JW_KEY(&w, "categories");
    write_items(&w, det, PI_CATEGORY);
    if (det->nitems[PI_DISQUAL]) {
        JW_KEY(&w, "disqualifications");
        write_items(&w, det, PI_DISQUAL);
    }
    JW_KEY(&w, "engine");
    jw_str(&w, "yuanzhu " YZ_VERSION);
    JW_KEY(&w, "id_number");
    jw_str(&w, det->id_number);
    if (ex) {
        JW_KEY(&w, "missing");
        write_missing(&w, det->missing, det->nmissing);
        JW_KEY(&w, "policy");
        jw_obj_begin(&w);
        JW_KEY(&w, "files");
        jw_arr_begin(&w);
        for (size_t i = 0; i < pol->nlevels; i++)
            jw_str(&w, pol->version_files[i]);
        jw_arr_end(&w);
        JW_KEY(&w, "from");
        jw_str(&w, pol->eff_from);
        if (pol->region_code || pol->region_name) {
            JW_KEY(&w, "region");
            jw_obj_begin(&w);
            if (pol->region_code) {
                JW_KEY(&w, "code");
                jw_str(&w, pol->region_code);
            }
            if (pol->region_name) {
                JW_KEY(&w, "name");
                jw_str(&w, pol->region_name);
            }
            jw_obj_end(&w);
        }
        if (pol->title) {
            JW_KEY(&w, "title");
            jw_str(&w, pol->title);
        }
        JW_KEY(&w, "to");
        if (pol->eff_to)
            jw_str(&w, pol->eff_to);
        else
            jw_null(&w);
        jw_obj_end(&w);
    }
    if (det->nitems[PI_PREREQ]) {
        JW_KEY(&w, "prerequisites");
        write_items(&w, det, PI_PREREQ);
    }
    JW_KEY(&w, "province");
    jw_str(&w, det->province);
    JW_KEY(&w, "ruleset");
    jw_str(&w, det->ruleset);
    JW_KEY(&w, "subsidies");
    write_items(&w, det, PI_SUBSIDY);
    JW_KEY(&w, "target");
    jw_obj_begin(&w);
    JW_KEY(&w, "categories");
    jw_arr_begin(&w);
    {
        /* met categories, sorted by id */
        size_t n = det->nitems[PI_CATEGORY];
        const char **ids = yz_malloc((n ? n : 1) * sizeof *ids);
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (det->items[PI_CATEGORY][i].status == YZ_MET)
                ids[m++] = det->items[PI_CATEGORY][i].it->id;
        for (size_t i = 1; i < m; i++) {
            const char *x = ids[i];
            size_t j = i;
            while (j > 0 && strcmp(ids[j - 1], x) > 0) {
                ids[j] = ids[j - 1];
                j--;
            }
            ids[j] = x;
        }
        for (size_t i = 0; i < m; i++)
            jw_str(&w, ids[i]);
        yz_free(ids);
    }
    jw_arr_end(&w);
    if (ex) {
        JW_KEY(&w, "reason");
        jw_str(&w, det->target_reason);
    }
    JW_KEY(&w, "status");
    jw_str(&w, yz_status_name(det->target, false));
    jw_obj_end(&w);
    jw_obj_end(&w);
    sb_addc(&sb, '\n');
    return sb_release(&sb);
}

/* ---- text ---- */

static void money(strbuf *sb, int64_t fen)
{
    int64_t yuan = fen / 100, rest = fen % 100;
    char digits[32];
    snprintf(digits, sizeof digits, "%lld", (long long)yuan);
    size_t n = strlen(digits);
    for (size_t i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            sb_addc(sb, ',');
        sb_addc(sb, digits[i]);
    }
    sb_addf(sb, ".%02lld 元", (long long)rest);
}

static const char *mark(yz_status s)
{
    return s == YZ_MET ? "✔" : s == YZ_NOT_MET ? "✘" : "?";
}

static const char *cond_mark(int8_t r)
{
    return r == 1 ? "✔" : r == 0 ? "✘" : "?";
}

/* Text from policies and rules, which may quote record values (a reason, a rule's error, a note),
   is shown escaped: it cannot add a line to the answer (a forged "已记录" confirmation), move the
   cursor or reorder the text around it. */
static void add_shown(strbuf *sb, const char *s)
{
    if (s)
        sb_add_shown(sb, s, strlen(s), false);
}

/* "  ✔ name —— reason" */
static void item_line(strbuf *sb, const char *lead, const ditem *di)
{
    sb_addf(sb, "%s%s ", lead, mark(di->status));
    add_shown(sb, di->it->name);
    sb_adds(sb, " —— ");
    add_shown(sb, di->reason);
    sb_addc(sb, '\n');
}

static void text_basis(strbuf *sb, const pitem *it, const char *indent)
{
    if (!it->nbasis)
        return;
    sb_addf(sb, "%s依据：", indent);
    for (size_t i = 0; i < it->nbasis; i++) {
        const pbasis *b = &it->basis[i];
        if (i)
            sb_adds(sb, "；");
        add_shown(sb, b->src && b->src->number ? b->src->number : b->source_id);
        if (b->article) {
            sb_addc(sb, ' ');
            add_shown(sb, b->article);
        }
        if (b->src && !b->src->verified)
            sb_adds(sb, "（待核实）");
    }
    sb_addc(sb, '\n');
}

/* facts behind a granted item that nobody has checked against a text yet */
static void text_unverified(strbuf *sb, const ditem *di)
{
    size_t n = 0;
    for (size_t i = 0; i < di->nunverified; i++)
        n += strncmp(di->unverified[i], "parameter:", 10) == 0;
    if (!n && !(di->nunverified && !strcmp(di->unverified[0], "item")))
        return;
    sb_adds(sb, "      待核实：");
    size_t k = 0;
    for (size_t i = 0; i < di->nunverified; i++) {
        const char *u = di->unverified[i];
        if (!strcmp(u, "item"))
            sb_addf(sb, "%s本项规定", k++ ? "、" : "");
        else if (!strncmp(u, "parameter:", 10)) {
            sb_addf(sb, "%s参数 ", k++ ? "、" : "");
            add_shown(sb, u + 10);
        }
    }
    sb_addc(sb, '\n');
}

static void text_conditions(strbuf *sb, const ditem *di, bool all)
{
    for (size_t i = 0; i < di->nconds; i++) {
        const dcond *c = &di->conds[i];
        if (!all && c->result == 1)
            continue;
        sb_adds(sb, "      ");
        for (int d = 0; d < c->depth; d++)
            sb_adds(sb, "  ");
        sb_addf(sb, "%s ", cond_mark(c->result));
        add_shown(sb, c->text);
        if (c->note) {
            sb_adds(sb, "（");
            add_shown(sb, c->note);
            sb_adds(sb, "）");
        }
        sb_addc(sb, '\n');
        if (c->error) {
            sb_adds(sb, "        规则错误：");
            add_shown(sb, c->error);
            sb_addc(sb, '\n');
        }
    }
}

static void text_missing(strbuf *sb, const dmissing *m, size_t n, const char *indent)
{
    for (size_t i = 0; i < n; i++) {
        sb_addf(sb, "%s- ", indent);
        add_shown(sb, m[i].label ? m[i].label : m[i].field);
        sb_adds(sb, "（");
        add_shown(sb, m[i].field);
        sb_adds(sb, "）");
        if (m[i].doc_name) {
            sb_adds(sb, "：请提供");
            add_shown(sb, m[i].doc_name);
        }
        sb_addc(sb, '\n');
    }
}

char *yz_determination_text(const yz_determination *det)
{
    strbuf sb = STRBUF_INIT;
    const ppolicy *pol = det->pol;
    add_shown(&sb, pol->region_name ? pol->region_name : det->province);
    sb_adds(&sb, " 就业援助资格核定\n");
    sb_addf(&sb, "核定日期 %s · 身份号码 %s · 规则集 %.12s\n", det->as_of, det->id_number, det->ruleset);
    sb_addc(&sb, '\n');
    const char *verdict = det->target == YZ_MET ? "是" : det->target == YZ_NOT_MET ? "否" : "待定";
    sb_addf(&sb, "结论：%s —— ", verdict);
    add_shown(&sb, det->target_reason);
    sb_addc(&sb, '\n');

    const ditem *pre = det->items[PI_PREREQ];
    bool any_pre_failed = false;
    for (size_t i = 0; i < det->nitems[PI_PREREQ]; i++)
        any_pre_failed |= pre[i].status != YZ_MET;
    if (any_pre_failed) {
        sb_adds(&sb, "\n前提条件：\n");
        for (size_t i = 0; i < det->nitems[PI_PREREQ]; i++) {
            const ditem *di = &pre[i];
            item_line(&sb, "  ", di);
            if (di->status != YZ_MET)
                text_conditions(&sb, di, false);
        }
    }
    for (size_t i = 0; i < det->nitems[PI_DISQUAL]; i++) {
        const ditem *di = &det->items[PI_DISQUAL][i];
        if (di->status == YZ_NOT_MET)
            continue;
        item_line(&sb, "\n身份丧失情形：", di);
    }

    sb_adds(&sb, "\n认定类别：\n");
    for (size_t i = 0; i < det->nitems[PI_CATEGORY]; i++) {
        const ditem *di = &det->items[PI_CATEGORY][i];
        item_line(&sb, "  ", di);
        if (di->status == YZ_MET) {
            text_basis(&sb, di->it, "      ");
            text_unverified(&sb, di);
        } else if (di->status == YZ_UNDETERMINED) {
            text_conditions(&sb, di, false);
        } else if (!any_pre_failed) {
            text_conditions(&sb, di, false);
        }
    }

    sb_adds(&sb, "\n补贴与扶持：\n");
    for (size_t i = 0; i < det->nitems[PI_SUBSIDY]; i++) {
        const ditem *di = &det->items[PI_SUBSIDY][i];
        const pitem *it = di->it;
        sb_addf(&sb, "  %s ", mark(di->status));
        add_shown(&sb, it->name);
        if (di->status == YZ_MET) {
            sb_adds(&sb, "：");
            if (it->per && !strcmp(it->per, "month")) {
                sb_adds(&sb, "每月 ");
                money(&sb, di->amount_fen);
                sb_addf(&sb, " × %lld 个月（%s 至 %s），合计 ", (long long)di->months, di->start, di->end);
                money(&sb, di->total_fen);
            } else if (it->per && !strcmp(it->per, "loan")) {
                sb_adds(&sb, "贷款额度最高 ");
                money(&sb, di->amount_fen);
                if (di->months > 0)
                    sb_addf(&sb, "，期限最长 %lld 个月", (long long)di->months);
            } else {
                sb_adds(&sb, "一次性 ");
                money(&sb, di->amount_fen);
            }
            sb_addc(&sb, '\n');
            if (di->nexclusive) {
                sb_adds(&sb, "      注意：与");
                for (size_t k = 0; k < di->nexclusive; k++) {
                    if (k)
                        sb_adds(&sb, "、");
                    add_shown(&sb, di->exclusive_with[k]);
                }
                sb_adds(&sb, "不得重复享受，请择一申领\n");
            }
            if (di->terms) {
                sb_adds(&sb, "      ");
                add_shown(&sb, di->terms);
                sb_addc(&sb, '\n');
            }
            text_basis(&sb, it, "      ");
            text_unverified(&sb, di);
        } else {
            sb_adds(&sb, " —— ");
            add_shown(&sb, di->reason);
            sb_addc(&sb, '\n');
            if (di->status == YZ_UNDETERMINED)
                text_conditions(&sb, di, false);
        }
    }

    if (det->nmissing) {
        sb_adds(&sb, "\n需补充的信息或材料：\n");
        text_missing(&sb, det->missing, det->nmissing, "  ");
    }
    /* documents still to see for what was granted */
    bool header = false;
    const yz_schema *as = schema_applicant();
    for (int k = PI_CATEGORY; k <= PI_SUBSIDY; k++) {
        if (k != PI_CATEGORY && k != PI_SUBSIDY)
            continue;
        for (size_t i = 0; i < det->nitems[k]; i++) {
            const ditem *di = &det->items[k][i];
            for (size_t j = 0; j < di->npending; j++) {
                if (!header) {
                    sb_adds(&sb, "\n办理前需查验的材料：\n");
                    header = true;
                }
                const char *name = schema_doc_name(as, di->pending[j]);
                sb_adds(&sb, "  - ");
                add_shown(&sb, name ? name : di->pending[j]);
                sb_adds(&sb, "（");
                add_shown(&sb, di->it->name);
                sb_adds(&sb, "）\n");
            }
        }
    }
    return sb_release(&sb);
}

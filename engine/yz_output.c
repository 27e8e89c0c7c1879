/* yz_output.c: determinations as canonical JSON (for programs and the store; yz_answer.c writes the
 * text for people from it). */
#include <stdio.h>
#include <string.h>

#include "yz_eval.h"
#include "yz_json.h"

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

/* regions: the region group each regional parameter's value was chosen for */
static void write_regions(jw *w, const ditem *di)
{
    jw_obj_begin(w);
    for (size_t i = 0; i < di->nregions; i++) {
        const dregion *r = &di->regions[i];
        jw_key(w, r->param->id);
        jw_obj_begin(w);
        JW_KEY(w, "code");
        jw_str(w, r->code);
        JW_KEY(w, "field");
        jw_str(w, r->param->region_field);
        JW_KEY(w, "group");
        jw_str(w, r->group->id);
        JW_KEY(w, "name");
        jw_str(w, r->group->name);
        jw_obj_end(w);
    }
    jw_obj_end(w);
}

/* schedule: the stretches of a monthly subsidy at one amount */
static void write_schedule(jw *w, const ditem *di)
{
    jw_arr_begin(w);
    for (size_t i = 0; i < di->nschedule; i++) {
        const dperiod *p = &di->schedule[i];
        jw_obj_begin(w);
        JW_KEY(w, "amount_fen");
        jw_int(w, p->amount_fen);
        JW_KEY(w, "from");
        jw_str(w, p->from);
        JW_KEY(w, "months");
        jw_int(w, p->months);
        JW_KEY(w, "to");
        jw_str(w, p->to);
        jw_obj_end(w);
    }
    jw_arr_end(w);
}

/* the legal basis of an item: from edition 2 only the texts in force on the as-of date */
static void write_basis(jw *w, const ditem *di, const ppolicy *pol, const char *as_of)
{
    const pitem *it = di->it;
    if (pol->edition < 2) {
        jw_raw(w, it->basis_json, strlen(it->basis_json));
        return;
    }
    jw_arr_begin(w);
    for (size_t i = 0; i < it->nbasis; i++)
        if (basis_cited(pol, &it->basis[i], as_of))
            jw_raw(w, it->basis[i].json, strlen(it->basis[i].json));
    jw_arr_end(w);
}

static void write_item(jw *w, const ditem *di, bool explained, const ppolicy *pol, const char *as_of)
{
    int edition = pol->edition;
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
        write_basis(w, di, pol, as_of);
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
    if (sub && met && explained && edition >= 2 && di->months_note) {
        JW_KEY(w, "months_note");
        jw_str(w, di->months_note);
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
    if (explained && di->nregions) {
        JW_KEY(w, "regions");
        write_regions(w, di);
    }
    if (sub && met && di->nschedule) {
        JW_KEY(w, "schedule");
        write_schedule(w, di);
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
    if (sub && met && edition >= 2 && di->rate_changes && !di->nschedule && di->total_fen >= 0) {
        JW_KEY(w, "total_estimate");
        jw_bool(w, true);
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
        write_item(w, sorted[i], det->explained, det->pol, det->as_of);
    }
    jw_obj_end(w);
    yz_free(sorted);
}

char *yz_determination_json(const yz_determination *det)
{
    strbuf sb = STRBUF_INIT;
    determination_json_to(det, &sb);
    return sb_release(&sb);
}

void determination_json_to(const yz_determination *det, strbuf *out)
{
    jw w;
    jw_init(&w, out);
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
    sb_addc(out, '\n');
}

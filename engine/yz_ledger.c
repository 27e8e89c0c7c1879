/* yz_ledger.c: the real-name ledger (实名制台账): recorded decisions in brief for listings
 * (history, export, due), read from their determination JSON, and masked ID numbers. */
#include <stdio.h>
#include <string.h>

#include "yz_date.h"
#include "yz_diag.h"
#include "yz_json.h"
#include "yz_ledger.h"

const char *ledger_str(const yj *obj, const char *key)
{
    const yj *v = yj_get(obj, key);
    return yj_typeof(v) == YJ_STRING ? yj_str(v) : NULL;
}

int64_t ledger_int(const yj *obj, const char *key, int64_t dflt)
{
    int64_t v;
    return yj_is_int(yj_get(obj, key), &v) ? v : dflt;
}

yz_status ledger_status(const yj *item)
{
    int st = yz_status_parse(ledger_str(item, "status"), true);
    return st < 0 ? YZ_UNDETERMINED : (yz_status)st;
}

void yz_mask_id(const char *id, char out[32])
{
    size_t n = id ? strlen(id) : 0;
    if (n > 31)
        n = 31;
    for (size_t i = 0; i < n; i++)
        out[i] = n >= 12 && (i < 6 || i >= n - 4) ? id[i] : '*';
    out[n] = '\0';
}

static void brief_items(arena *m, const yj *obj, bool subsidy, bool losses_only, yz_brief_item **out, size_t *n)
{
    size_t cap = yj_size(obj);
    *out = arena_alloc(m, (cap ? cap : 1) * sizeof **out);
    *n = 0;
    for (const yj *v = yj_first(obj); v; v = yj_next(v)) {
        yz_status st = ledger_status(v);
        if (losses_only && st != YZ_MET)
            continue;
        yz_brief_item *it = &(*out)[(*n)++];
        memset(it, 0, sizeof *it);
        it->id = yj_key(v);
        it->name = ledger_str(v, "name");
        if (!it->name)
            it->name = it->id;
        it->status = st;
        it->reason = ledger_str(v, "reason");
        it->months = -1;
        if (subsidy && st == YZ_MET) {
            it->amount_fen = ledger_int(v, "amount_fen", 0);
            it->months = ledger_int(v, "months", -1);
            it->period = ledger_str(v, "period");
            it->start = ledger_str(v, "start");
            it->end = ledger_str(v, "end");
        }
    }
}

int yz_decision_brief_new(const char *json, const char *input, yz_decision_brief **out)
{
    *out = NULL;
    arena *m = yz_malloc(sizeof *m);
    arena_init(m, 32 * 1024);
    size_t off;
    const char *err;
    const yj *doc = json ? yj_parse(m, json, strlen(json), &off, &err) : NULL;
    const yj *cats = yj_get(doc, "categories"), *subs = yj_get(doc, "subsidies"), *target = yj_get(doc, "target");
    if (yj_typeof(doc) != YJ_OBJECT || yj_typeof(cats) != YJ_OBJECT || yj_typeof(subs) != YJ_OBJECT ||
        yj_typeof(target) != YJ_OBJECT || !ledger_str(doc, "as_of")) {
        arena_free(m);
        yz_free(m);
        return YZ_EPARSE;
    }
    yz_decision_brief *b = arena_alloc(m, sizeof *b);
    memset(b, 0, sizeof *b);
    b->priv = m;
    b->as_of = ledger_str(doc, "as_of");
    b->province = ledger_str(doc, "province");
    b->region_name = ledger_str(yj_get(yj_get(doc, "policy"), "region"), "name");
    b->target = ledger_status(target);
    b->target_reason = ledger_str(target, "reason");
    brief_items(m, cats, false, false, &b->categories, &b->ncategories);
    brief_items(m, subs, true, false, &b->subsidies, &b->nsubsidies);
    brief_items(m, yj_get(doc, "disqualifications"), false, true, &b->losses, &b->nlosses);
    /* a review when the record says the person was recognised on or before the as-of date */
    b->review = -1;
    const yj *rec = input ? yj_parse(m, input, strlen(input), &off, &err) : NULL;
    const yj *since = yj_get(yj_get(rec, "recognition"), "recognised_on");
    if (yj_typeof(since) == YJ_STRING)
        b->review = strcmp(yj_str(since), b->as_of) <= 0;
    else if (yj_typeof(since) == YJ_NULL)
        b->review = 0;
    *out = b;
    return YZ_OK;
}

void yz_decision_brief_free(yz_decision_brief *b)
{
    if (!b)
        return;
    arena *m = b->priv;
    arena_free(m);
    yz_free(m);
}

yj *ledger_meta(arena *m, const yz_stored *s, bool mask)
{
    yj *o = yj_new_object(m);
    char masked[32];
    if (mask)
        yz_mask_id(s->id_number, masked);
    struct {
        const char *key, *value;
    } kv[] = {{"as_of", s->as_of},       {"decision", s->id},          {"engine", s->engine},
              {"id_number", mask ? masked : s->id_number},             {"operator", s->operator_id},
              {"province", s->province}, {"recorded_at", s->recorded_at}, {"ruleset", s->ruleset}};
    for (size_t i = 0; i < YZ_ARRAY_LEN(kv); i++)
        yj_append(m, o, kv[i].key, yj_new_string(m, kv[i].value ? kv[i].value : "", kv[i].value ? strlen(kv[i].value) : 0));
    if (s->ruleset_signer)
        yj_append(m, o, "ruleset_signer", yj_new_string(m, s->ruleset_signer, strlen(s->ruleset_signer)));
    yj_append(m, o, "seq", yj_new_int(m, s->seq));
    return o;
}

static yj *str_node(arena *m, const char *s)
{
    return s ? yj_new_string(m, s, strlen(s)) : yj_new_null(m);
}

char *yz_decision_brief_json(const yz_stored *s, const yz_decision_brief *b)
{
    arena m;
    arena_init(&m, 16 * 1024);
    yj *o = ledger_meta(&m, s, false);
    yj *cats = yj_new_array(&m), *subs = yj_new_object(&m), *loss = yj_new_array(&m);
    for (size_t i = 0; i < b->ncategories; i++)
        if (b->categories[i].status == YZ_MET)
            yj_append(&m, cats, NULL, str_node(&m, b->categories[i].id));
    for (size_t i = 0; i < b->nsubsidies; i++)
        if (b->subsidies[i].status == YZ_MET)
            yj_append(&m, subs, b->subsidies[i].id, yj_new_int(&m, b->subsidies[i].amount_fen));
    for (size_t i = 0; i < b->nlosses; i++) {
        yj *l = yj_new_object(&m);
        yj_append(&m, l, "id", str_node(&m, b->losses[i].id));
        yj_append(&m, l, "name", str_node(&m, b->losses[i].name));
        yj_append(&m, l, "reason", str_node(&m, b->losses[i].reason));
        yj_append(&m, loss, NULL, l);
    }
    yj_append(&m, o, "categories", cats);
    yj_append(&m, o, "review", b->review < 0 ? yj_new_null(&m) : yj_new_bool(&m, b->review == 1));
    yj_append(&m, o, "status_loss", loss);
    yj_append(&m, o, "subsidies", subs);
    yj_append(&m, o, "target", str_node(&m, yz_status_name(b->target, false)));
    strbuf sb = STRBUF_INIT;
    yj_write_canonical(&sb, o);
    sb_addc(&sb, '\n');
    arena_free(&m);
    return sb_release(&sb);
}

bool ledger_dates_ok(const char *from, const char *to, const char *from_name, const char *to_name, yz_diags *d)
{
    yz_date a, b;
    const char *names[2] = {from_name, to_name}, *v[2] = {from, to};
    for (int i = 0; i < 2; i++)
        if (v[i] && !yz_date_parse(v[i], strlen(v[i]), i ? &b : &a)) {
            diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "%s '%s' is not a real date: write YYYY-MM-DD", names[i], v[i]);
            return false;
        }
    if (from && to && yz_date_cmp(a, b) > 0) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "%s %s is after %s %s", from_name, from, to_name, to);
        return false;
    }
    return true;
}

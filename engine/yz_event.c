/* yz_event.c: the audit chain's events and their chain hashes. */
#include "yz_event.h"

#include "yz_json.h"


void event_ruleset_json(const event_ruleset *e, strbuf *sb)
{
    jw w;
    jw_init(&w, sb);
    jw_obj_begin(&w);
    JW_KEY(&w, "dict");
    jw_str(&w, e->dict_hash);
    JW_KEY(&w, "files");
    jw_arr_begin(&w);
    for (size_t i = 0; i < e->nfiles; i++) {
        jw_obj_begin(&w);
        JW_KEY(&w, "blob");
        jw_str(&w, e->blobs[i]);
        JW_KEY(&w, "path");
        jw_str(&w, e->paths[i]);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    JW_KEY(&w, "kind");
    jw_str(&w, "ruleset");
    JW_KEY(&w, "province");
    jw_str(&w, e->province);
    JW_KEY(&w, "recorded_at");
    jw_str(&w, e->recorded_at);
    JW_KEY(&w, "ruleset");
    jw_str(&w, e->ruleset);
    JW_KEY(&w, "seq");
    jw_int(&w, e->seq);
    jw_obj_end(&w);
}


void event_decision_json(const event_decision *e, strbuf *sb)
{
    jw w;
    jw_init(&w, sb);
    jw_obj_begin(&w);
    JW_KEY(&w, "as_of");
    jw_str(&w, e->as_of);
    JW_KEY(&w, "engine");
    jw_str(&w, e->engine);
    JW_KEY(&w, "id_number");
    jw_str(&w, e->id_number);
    JW_KEY(&w, "input");
    jw_str(&w, e->input_hash);
    JW_KEY(&w, "kind");
    jw_str(&w, "decision");
    JW_KEY(&w, "operator");
    jw_str(&w, e->operator_id);
    JW_KEY(&w, "output");
    jw_str(&w, e->output_hash);
    JW_KEY(&w, "province");
    jw_str(&w, e->province);
    JW_KEY(&w, "recorded_at");
    jw_str(&w, e->recorded_at);
    JW_KEY(&w, "ruleset");
    jw_str(&w, e->ruleset);
    if (e->signer) {
        JW_KEY(&w, "ruleset_signer");
        jw_str(&w, e->signer);
    }
    JW_KEY(&w, "seq");
    jw_int(&w, e->seq);
    JW_KEY(&w, "target");
    jw_str(&w, e->target);
    jw_obj_end(&w);
}

void event_chain_hash(yz_hash_alg alg, const yz_key *key, const char *prev, const char *event, size_t n,
                      char hex[65])
{
    size_t nk = 0;
    const unsigned char *k = key ? key_secret(key, &nk) : NULL;
    yz_hasher *h = k ? hasher_new_hmac(alg, k, nk) : hasher_new(alg);
    hasher_update(h, prev, 64);
    hasher_update(h, event, n);
    hasher_final(h, hex);
}

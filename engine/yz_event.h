/* yz_event.h: the audit chain's events, the bytes its hashes cover (internal to the engine).
 *
 * An event is the canonical JSON of what a ruleset registration or a decision recorded; its
 * chain hash is H(the previous event's hex hash, or 64 zeros, || the event), H being the store's
 * hash (SHA-256 or SM3), keyed (HMAC) when the store's chain is.  Recording (yz_store.c) and
 * verification (yz_chain.c) build them here, so the two cannot drift apart.  See docs/audit.md. */
#ifndef YZ_EVENT_H
#define YZ_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "yz_hash.h"
#include "yz_sign.h"
#include "yz_util.h"

typedef struct event_ruleset {
    const char *ruleset, *province, *dict_hash, *recorded_at;
    const char **paths, **blobs;
    size_t nfiles;
    int64_t seq;
} event_ruleset;

typedef struct event_decision {
    const char *as_of, *engine, *id_number, *input_hash, *operator_id, *output_hash, *province, *recorded_at,
        *ruleset, *target;
    int64_t seq;
    const char *signer; /* the key that signed the ruleset, or NULL (then the event has no such key) */
} event_decision;

/* The canonical JSON of a ruleset event, appended to sb. */
void event_ruleset_json(const event_ruleset *e, strbuf *sb);

/* The canonical JSON of a decision event (with "ruleset_signer" only when signer is not NULL),
 * appended to sb. */
void event_decision_json(const event_decision *e, strbuf *sb);

/* hex = H(prev (64 hex digits) || event[0..n)), with the chain's secret when key is not NULL. */
void event_chain_hash(yz_hash_alg alg, const yz_key *key, const char *prev, const char *event, size_t n,
                      char hex[65]);

#endif

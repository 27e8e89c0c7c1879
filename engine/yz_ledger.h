/* yz_ledger.h: what the ledger's listings share (history, export, due): fields of a stored
 * determination read from its JSON, and the members every listing of a decision starts with. */
#ifndef YZ_LEDGER_H
#define YZ_LEDGER_H

#include "yz_json.h"
#include "yuanzhu.h"

/* The member key of obj when it is text, else NULL. */
const char *ledger_str(const yj *obj, const char *key);
/* The member key of obj when it is an integer, else dflt. */
int64_t ledger_int(const yj *obj, const char *key, int64_t dflt);
/* An item's status from its status word (met / eligible, not_met / not_eligible, else
 * undetermined). */
yz_status ledger_status(const yj *item);
/* An object (nodes from m) holding a decision's metadata: as_of, decision, engine, id_number
 * (masked with mask), operator, province, recorded_at, ruleset, seq. */
yj *ledger_meta(arena *m, const yz_stored *s, bool mask);

/* Checks two optional dates ("YYYY-MM-DD", from not after to); false after a diagnostic that names
 * the option. */
bool ledger_dates_ok(const char *from, const char *to, const char *from_name, const char *to_name, yz_diags *d);

#endif

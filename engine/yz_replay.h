/* yz_replay.h: what other modules use of the replayer: its kept rulesets and evaluators. */
#ifndef YZ_REPLAY_H
#define YZ_REPLAY_H

#include "yuanzhu.h"

/* The ruleset and evaluator a stored decision is replayed with (built from its stored files the
 * first time, then kept by the replayer, which owns both).  Returns YZ_OK or the error of
 * loading them (d says why). */
int replayer_get(yz_replayer *r, const yz_stored *s, const yz_ruleset **rs, yz_evaluator **ev, yz_diags *d);

#endif

/* cmd_store.c: `init`, `audit`, `replay`, `history`: the decision store for auditors (`show` is in cmd_show.c). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* ---- init ---- */

static const char init_usage[] =
    "usage: yuanzhu init [--db PATH] [--hash sha256|sm3] [--chain-key SECRET]\n"
    "\n"
    "Creates a decision store.  Its audit chain is hashed with SHA-256 (default) or SM3 (国密,\n"
    "GB/T 32905), chosen once for the life of the store.  'check' creates a SHA-256 store by\n"
    "itself when none exists; use init for an SM3 store.  A new store is built beside PATH and\n"
    "renamed into place when complete (mode 0600: decisions are personal data), so an init that\n"
    "is stopped leaves no store behind; an empty file at PATH is made into the store.\n"
    "\n"
    "With --chain-key (a secret made by yuanzhu key new --alg hmac, kept outside the store) the\n"
    "chain is an HMAC keyed by it: nobody without the secret can append or rewrite an event that\n"
    "verifies.  Every command that records or verifies then needs the secret (--chain-key or\n"
    "YUANZHU_CHAIN_KEY).\n"
    "\n"
    "exit codes: 0 created; 2 usage error; 5 the store exists or cannot be created\n";

int cmd_init(cli *c, int argc, char **argv)
{
    const char *db = NULL, *hash = "sha256", *chain = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (cli_is_help(argv[i])) {
            return cli_help(init_usage);
        } else if ((v = cli_opt(argc, argv, &i, "--db"))) {
            db = v;
        } else if ((v = cli_opt(argc, argv, &i, "--chain-key"))) {
            chain = v;
        } else if ((v = cli_opt(argc, argv, &i, "--hash"))) {
            hash = v;
        } else {
            return cli_usage(c, init_usage, "unexpected '%s'", argv[i]);
        }
    }
    if (strcmp(hash, "sha256") && strcmp(hash, "sm3")) {
        cli_error(c, "--hash takes sha256 or sm3, not '%s'", hash);
        return EXIT_USAGE;
    }
    const char *path = cli_db_path(db);
    cli_keys ks = {{NULL}, 0};
    int code = chain ? cli_key_add(c, &ks, chain) : 0;
    if (code)
        return code;
    yz_diags d;
    yz_diags_init(&d);
    int rc = chain ? yz_store_create_keyed(path, hash, ks.k[0], &d) : yz_store_create(path, hash, &d);
    cli_print_diags(c, &d);
    yz_diags_free(&d);
    if (rc == YZ_OK && chain)
        printf("created %s (audit chain: hmac-%s keyed by %s)\n", cli_shown(path), hash, yz_key_name(ks.k[0]));
    else if (rc == YZ_OK)
        printf("created %s (audit chain: %s)\n", cli_shown(path), hash);
    cli_keys_free(&ks);
    if (rc != YZ_OK)
        return rc == YZ_EUSAGE ? EXIT_USAGE : EXIT_STORE;
    return 0;
}

/* ---- audit ---- */

static const char audit_usage[] =
    "usage: yuanzhu audit verify [--db PATH] [--expect-head [SEQ:]HASH] [--chain-key SECRET] [--jobs N]\n"
    "                            [--checkpoint FILE --pubkey PUBLIC_KEY...]\n"
    "       yuanzhu audit checkpoint [--db PATH] --key PRIVATE_KEY... [--to FILE] [--chain-key SECRET]\n"
    "       yuanzhu audit head [--db PATH]\n"
    "\n"
    "verify walks the whole audit chain and every row it describes (decisions, their inputs and\n"
    "outputs, rulesets and their files and signatures) and prints 'ok: N events, head HASH', or the\n"
    "first sequence number that was altered, deleted, inserted or reordered; it also checks that each\n"
    "decision names the person whose record it stores.  --expect-head takes what 'audit head'\n"
    "printed: the whole SEQ:HASH, or the hash's first 16 or more hex digits.  The chain alone cannot\n"
    "show what someone who can write the store did with care: a tail cut off, a rewrite with the\n"
    "hashes recomputed.  A checkpoint kept outside the store does:\n"
    "\n"
    "checkpoint verifies the chain, signs its head (origin, size, hash, chain, time) with the key(s),\n"
    "keeps the checkpoint in the store and appends it to FILE (--to; keep that file elsewhere:\n"
    "another machine, a write-once medium, an e-mail to the auditor).  The key is --key or\n"
    "YUANZHU_CHECKPOINT_KEY.\n"
    "verify --checkpoint FILE --pubkey KEY.pub checks every checkpoint in FILE: signed by that key,\n"
    "of this store, and the store still holds exactly the events each covers; then it reports what\n"
    "was appended since the latest (an event recorded before it but appended after is back-dated).\n"
    "A store made with --chain-key needs its secret to be verified (--chain-key or YUANZHU_CHAIN_KEY).\n"
    "verify checks decisions on --jobs N threads (default: one per CPU); what it reports is the same\n"
    "for any N.\n"
    "\n"
    "exit codes: 0 the chain (and the checkpoints) hold; 1 tampering found, or a checkpoint refused;\n"
    "            2 usage error; 4 a file cannot be read; 5 the store cannot be read\n";

static int audit_checkpoint(cli *c, yz_store *st, cli_keys *keys, const char *to)
{
    int code = keys->n ? 0 : cli_key_env(c, keys, "YUANZHU_CHECKPOINT_KEY");
    if (code)
        return code;
    if (!keys->n) {
        cli_error(c, "sign the checkpoint with which key? add --key PRIVATE_KEY (or set YUANZHU_CHECKPOINT_KEY; "
                     "yuanzhu key new --alg sm2 makes one)");
        return EXIT_USAGE;
    }
    yz_diags d;
    yz_diags_init(&d);
    char *text = NULL;
    int64_t size = 0;
    int rc = yz_store_checkpoint(st, (const yz_key *const *)keys->k, keys->n, to, &text, &size, &d);
    cli_print_diags(c, &d);
    yz_diags_free(&d);
    if (rc == YZ_OK) {
        fputs(text, stdout);
        if (to)
            fprintf(stderr, "checkpoint of %lld events appended to %s and kept in the store\n", (long long)size,
                    cli_shown(to));
        else
            fprintf(stderr, "checkpoint of %lld events kept in the store: keep a copy elsewhere too (--to FILE)\n",
                    (long long)size);
    }
    yz_free(text);
    return rc == YZ_OK         ? 0
           : rc == YZ_EFAILED ? EXIT_FAIL
           : rc == YZ_EUSAGE  ? EXIT_USAGE
           : rc == YZ_EIO     ? EXIT_INPUT
                              : EXIT_STORE;
}

static int audit_verify_checkpoints(cli *c, yz_store *st, const char *file, cli_keys *keys, yz_diags *d)
{
    char *text;
    size_t len;
    int e = cli_read(file, &text, &len);
    if (e) {
        cli_error(c, "cannot read %s: %s", cli_shown(file), strerror(e));
        return EXIT_INPUT;
    }
    yz_verify_report rep;
    yz_checkpoint_report cp;
    int rc = yz_store_verify_checkpoints(st, text, len, file, (const yz_key *const *)keys->k, keys->n, &rep, &cp, d);
    free(text);
    if (rc == YZ_OK) {
        printf("ok: %lld events, head %lld:%s (%s)\n", (long long)rep.events, (long long)rep.head_seq, rep.head_hash,
               yz_store_chain(st));
        printf("checkpoint: %zu checked; the latest, of %s signed by %s, covers %lld events, and the store still "
               "holds exactly those\n",
               cp.checkpoints, cp.time, cp.signer, (long long)cp.size);
        if (cp.appended)
            printf("appended since: %lld event%s (seq %lld to %lld: %lld decision%s, %lld ruleset%s), recorded %s to %s\n",
                   (long long)cp.appended, cp.appended == 1 ? "" : "s", (long long)cp.size + 1,
                   (long long)(cp.size + cp.appended), (long long)cp.appended_decisions,
                   cp.appended_decisions == 1 ? "" : "s", (long long)cp.appended_rulesets,
                   cp.appended_rulesets == 1 ? "" : "s", cp.first_after, cp.last_after);
        else
            printf("appended since: nothing\n");
        return 0;
    }
    if (rc == YZ_EFAILED) {
        printf("TAMPERED at seq %lld: %s\n", (long long)rep.bad_seq, rep.problem);
        return EXIT_FAIL;
    }
    return rc == YZ_EPARSE ? EXIT_INPUT : rc == YZ_EUSAGE ? EXIT_USAGE : EXIT_STORE;
}

int cmd_audit(cli *c, int argc, char **argv)
{
    const char *db = NULL, *expect = NULL, *sub = NULL, *checkpoint = NULL, *to = NULL, *chain = NULL;
    cli_keys keys = {{NULL}, 0}, pubkeys = {{NULL}, 0};
    int code = 0;
    unsigned long long jobs = 0;
    for (int i = 1; i < argc && !code; i++) {
        const char *v;
        if (cli_is_help(argv[i])) {
            cli_keys_free(&keys);
            cli_keys_free(&pubkeys);
            return cli_help(audit_usage);
        } else if ((v = cli_opt(argc, argv, &i, "--db"))) {
            db = v;
        } else if ((v = cli_opt(argc, argv, &i, "--expect-head"))) {
            expect = v;
        } else if ((v = cli_opt(argc, argv, &i, "--checkpoint"))) {
            checkpoint = v;
        } else if ((v = cli_opt(argc, argv, &i, "--to"))) {
            to = v;
        } else if ((v = cli_opt(argc, argv, &i, "--chain-key"))) {
            chain = v;
        } else if ((v = cli_opt(argc, argv, &i, "--jobs"))) {
            if (cli_number(c, "--jobs", v, 1, 64, &jobs) != 0)
                code = EXIT_USAGE;
        } else if ((v = cli_opt(argc, argv, &i, "--key"))) {
            code = cli_key_add(c, &keys, v);
        } else if ((v = cli_opt(argc, argv, &i, "--pubkey"))) {
            code = cli_key_add(c, &pubkeys, v);
        } else if (!sub && (!strcmp(argv[i], "verify") || !strcmp(argv[i], "head") || !strcmp(argv[i], "checkpoint"))) {
            sub = argv[i];
        } else {
            code = cli_usage(c, audit_usage, "unexpected '%s'", argv[i]);
        }
    }
    if (!code && !sub) {
        code = cli_usage(c, audit_usage, "say what to do: audit verify, audit checkpoint, or audit head");
    }
    const char *path = cli_db_path(db);
    if (!code && checkpoint && (strcmp(sub, "verify") || !pubkeys.n)) {
        cli_error(c, "%s", strcmp(sub, "verify") ? "--checkpoint goes with audit verify"
                                                 : "--checkpoint needs --pubkey FILE: the public key of the checkpoint's "
                                                   "signer (a checkpoint whose signature is not checked proves nothing)");
        code = EXIT_USAGE;
    }
    if (!code && jobs && !strcmp(sub, "head")) {
        cli_error(c, "--jobs goes with audit verify and audit checkpoint (audit head reads one row)");
        code = EXIT_USAGE;
    }
    if (!code && ((pubkeys.n && !checkpoint) || (keys.n && strcmp(sub, "checkpoint")) || (to && strcmp(sub, "checkpoint")))) {
        cli_error(c, "%s", pubkeys.n && !checkpoint ? "--pubkey goes with --checkpoint FILE"
                                                    : "--key and --to go with audit checkpoint");
        code = EXIT_USAGE;
    }
    yz_store *st = NULL;
    yz_key *chain_key = NULL;
    if (!code)
        code = cli_open_existing(c, path, &st);
    if (!code && strcmp(sub, "head"))
        code = cli_chain_key(c, st, chain, &chain_key);
    if (code) {
        yz_store_close(st);
        yz_key_free(chain_key);
        cli_keys_free(&keys);
        cli_keys_free(&pubkeys);
        return code;
    }
    yz_store_set_jobs(st, (int)jobs);
    yz_diags d;
    yz_diags_init(&d);
    if (!strcmp(sub, "checkpoint")) {
        code = audit_checkpoint(c, st, &keys, to);
    } else if (checkpoint) {
        code = audit_verify_checkpoints(c, st, checkpoint, &pubkeys, &d);
    } else if (!strcmp(sub, "head")) {
        int64_t seq;
        char hash[65];
        if (yz_store_head(st, &seq, hash, &d) != YZ_OK)
            code = EXIT_STORE;
        else
            printf("%lld:%s\n", (long long)seq, hash);
    } else {
        yz_verify_report rep;
        int rc = yz_store_verify(st, expect, &rep, &d);
        if (rc == YZ_OK)
            printf("ok: %lld events, head %lld:%s (%s)\n", (long long)rep.events, (long long)rep.head_seq,
                   rep.head_hash, yz_store_chain(st));
        else if (rc == YZ_EFAILED) {
            printf("TAMPERED at seq %lld: %s\n", (long long)rep.bad_seq, cli_shown(rep.problem));
            code = EXIT_FAIL;
        } else
            code = rc == YZ_EUSAGE ? EXIT_USAGE : EXIT_STORE;
    }
    cli_print_diags(c, &d);
    yz_diags_free(&d);
    yz_store_close(st);
    yz_key_free(chain_key);
    cli_keys_free(&keys);
    cli_keys_free(&pubkeys);
    return code;
}

/* ---- replay ---- */

static const char replay_usage[] =
    "usage: yuanzhu replay [--db PATH] DECISION_ID [--rules POLICY_FOLDER]\n"
    "       yuanzhu replay [--db PATH] [--jobs N] --all | --from YYYY-MM-DD --to YYYY-MM-DD\n"
    "\n"
    "Redoes a recorded decision from the ruleset and input stored with it, at its as-of date, and\n"
    "compares the result with the recorded one byte for byte: 'match', or the difference.  With\n"
    "--rules, decides the same case with the policy files on disk instead and shows what they would\n"
    "decide differently (\"would today's rules decide otherwise?\").  --all and --from/--to (dates\n"
    "the decisions were recorded, UTC) replay many and count matches and mismatches, on every CPU\n"
    "(--jobs N: on N threads), reported in the order they were recorded.\n"
    "\n"
    "exit codes: 0 everything matches; 1 a difference; 2 usage error; 3 the rules cannot be loaded;\n"
    "            5 the store cannot be read\n";

typedef struct replay_ctx {
    const cli *c;
    long long matched, mismatched, failed;
    bool nomem;
} replay_ctx;

static int replay_one(const yz_stored *s, int rc, const char *diff, const yz_diags *d, void *p)
{
    replay_ctx *r = p;
    if (rc == YZ_OK) {
        r->matched++;
    } else if (rc == YZ_EFAILED) {
        r->mismatched++;
        char *shown = yz_text_escape(diff ? diff : "", true);
        printf("MISMATCH %s (seq %lld, %s, as of %s):\n%s", s->id, (long long)s->seq, cli_shown(s->id_number),
               cli_shown(s->as_of), shown);
        yz_free(shown);
    } else if (rc == YZ_ENOMEM) {
        /* says nothing about the decision: stop, and say why */
        cli_print_diags(r->c, d);
        r->nomem = true;
    } else {
        r->failed++;
        printf("FAILED %s (seq %lld): cannot be replayed\n", s->id, (long long)s->seq);
        cli_print_diags(r->c, d);
    }
    return r->nomem;
}

int cmd_replay(cli *c, int argc, char **argv)
{
    const char *db = NULL, *rules = NULL, *from = NULL, *to = NULL, *id = NULL;
    bool all = false;
    int jobs = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (cli_is_help(argv[i])) {
            return cli_help(replay_usage);
        } else if ((v = cli_opt(argc, argv, &i, "--db"))) {
            db = v;
        } else if ((v = cli_opt(argc, argv, &i, "--jobs"))) {
            unsigned long long n;
            if (cli_number(c, "--jobs", v, 1, 64, &n) != 0)
                return EXIT_USAGE;
            jobs = (int)n;
        } else if ((v = cli_opt(argc, argv, &i, "--rules"))) {
            rules = v;
        } else if ((v = cli_opt(argc, argv, &i, "--from"))) {
            from = v;
        } else if ((v = cli_opt(argc, argv, &i, "--to"))) {
            to = v;
        } else if (!strcmp(argv[i], "--all")) {
            all = true;
        } else if (argv[i][0] != '-' && !id) {
            id = argv[i];
        } else {
            return cli_usage(c, replay_usage, "unexpected '%s'", argv[i]);
        }
    }
    if (!id && !all && !(from && to)) {
        return cli_usage(c, replay_usage, "name a decision id, or --all, or --from DATE --to DATE");
    }
    if (id && (all || from || to)) {
        cli_error(c, "give a decision id or a range, not both");
        return EXIT_USAGE;
    }
    if (rules && !id) {
        cli_error(c, "--rules compares one decision: give its id");
        return EXIT_USAGE;
    }
    yz_store *st;
    int code = cli_open_existing(c, cli_db_path(db), &st);
    if (code)
        return code;
    yz_diags d;
    yz_diags_init(&d);
    if (id) {
        yz_stored *s = NULL;
        int rc = yz_store_load(st, id, true, &s, &d);
        if (rc != YZ_OK) {
            cli_print_diags(c, &d);
            code = rc == YZ_EUSAGE ? EXIT_USAGE : EXIT_STORE;
        } else {
            char *diff = NULL;
            rc = yz_replay(c->home, s, rules, &diff, &d);
            cli_print_diags(c, &d);
            char *shown = yz_text_escape(diff, true);
            const char *rules_shown = rules ? cli_shown(rules) : NULL;
            if (rc == YZ_OK) {
                if (rules)
                    printf("same: the rules in %s decide decision %s (as of %s) exactly as recorded\n", rules_shown,
                           s->id, cli_shown(s->as_of));
                else
                    printf("match: decision %s (seq %lld, as of %s, ruleset %.12s) replays byte for byte\n", s->id,
                           (long long)s->seq, cli_shown(s->as_of), cli_shown(s->ruleset));
            } else if (rc == YZ_EFAILED) {
                if (rules)
                    printf("different: the rules in %s would decide decision %s (as of %s) otherwise\n"
                           "  (recorded -> with these rules)\n%s",
                           rules_shown, s->id, cli_shown(s->as_of), shown);
                else
                    printf("MISMATCH: decision %s (seq %lld) does not replay to the recorded output\n"
                           "  (recorded -> replayed)\n%s",
                           s->id, (long long)s->seq, shown);
                code = EXIT_FAIL;
            } else {
                code = rc == YZ_EPOLICY || rc == YZ_ENOTINFORCE ? EXIT_POLICY
                       : rc == YZ_ENOMEM                       ? EXIT_INTERNAL
                                                               : EXIT_STORE;
            }
            yz_free(shown);
            yz_free(diff);
        }
        yz_stored_free(s);
    } else {
        replay_ctx r = {c, 0, 0, 0, false};
        yz_scan q = {.from = all ? NULL : from, .to = all ? NULL : to};
        yz_replay_all_options ro = {c->home, NULL, jobs, replay_one, &r};
        int rc = yz_replay_all(st, &q, &ro, &d);
        cli_print_diags(c, &d);
        if (rc == YZ_EUSAGE) {
            yz_diags_free(&d);
            yz_store_close(st);
            return EXIT_USAGE;
        }
        /* damaged decisions were skipped, one error each, and the others replayed */
        long long damaged = rc == YZ_EFAILED ? (long long)d.n_errors : 0;
        if (r.nomem)
            code = EXIT_INTERNAL;
        else if (rc != YZ_OK && rc != YZ_EFAILED)
            code = EXIT_STORE;
        printf("replayed %lld decisions: %lld match, %lld mismatch, %lld failed", r.matched + r.mismatched + r.failed,
               r.matched, r.mismatched, r.failed);
        if (damaged)
            printf("; %lld damaged (cannot be read back: run yuanzhu audit verify)", damaged);
        printf("\n");
        if (!code && (r.mismatched || r.failed || damaged))
            code = EXIT_FAIL;
    }
    yz_diags_free(&d);
    yz_store_close(st);
    return code;
}

/* ---- history ---- */

static const char history_usage[] =
    "usage: yuanzhu history [--db PATH] [--json] ID_NUMBER\n"
    "\n"
    "Lists a person's recorded decisions, oldest first: the as-of date, the province's rules, the\n"
    "conclusion (是 a target, 否 not, 待定 undetermined), whether it was a first recognition (认定)\n"
    "or a review of a recognised person (复核; where the record says), the categories met, the\n"
    "subsidies granted with their amounts and end dates, a status loss (身份丧失) with its reason,\n"
    "the decision id, the caseworker and when it was recorded.  'show DECISION_ID' prints one in\n"
    "full.\n"
    "\n"
    "  --json    one JSON object per line (sorted keys): as_of, categories (ids met), decision,\n"
    "            engine, id_number, operator, province, recorded_at, review, ruleset, seq, status_loss,\n"
    "            subsidies (id: amount in fen per period), target\n"
    "\n"
    "exit codes: 0 ok (also when there is none); 2 usage error; 5 the store cannot be read\n";

typedef struct hist_ctx {
    const cli *c;
    bool json;
    int n;
} hist_ctx;

static const char *conclusion(yz_status st)
{
    return st == YZ_MET ? "是" : st == YZ_NOT_MET ? "否" : "待定";
}

/* "公益性岗位补贴 每月 1,750.00 元（至 2028-06-14）" */
static void print_grant(const yz_brief_item *it)
{
    char money[40];
    yz_format_fen(it->amount_fen, money);
    if (it->period && !strcmp(it->period, "month"))
        printf("%s 每月 %s（%s 至 %s）", cli_shown(it->name), money, cli_shown(it->start), cli_shown(it->end));
    else if (it->period && !strcmp(it->period, "loan"))
        printf("%s 额度最高 %s", cli_shown(it->name), money);
    else
        printf("%s 一次性 %s", cli_shown(it->name), money);
}

static int history_one(const yz_stored *s, void *p)
{
    hist_ctx *h = p;
    yz_decision_brief *b = NULL;
    if (yz_decision_brief_new(s->output, s->input, &b) != YZ_OK) {
        cli_error(h->c, "decision %s holds no readable determination (the store is damaged: run audit verify)", s->id);
        h->n++;
        return 0;
    }
    if (h->json) {
        char *line = yz_decision_brief_json(s, b);
        fputs(line, stdout);
        yz_free(line);
    } else {
        if (h->n == 0) {
            cli_pad("核定日期", 12);
            cli_pad("地区（规则）", 30);
            cli_pad("结论", 6);
            cli_pad("类型", 6);
            cli_pad("决定编号", 18);
            cli_pad("经办人", 12);
            printf("记录时间（UTC）\n");
        }
        char where[160];
        snprintf(where, sizeof where, "%s（%s）", cli_shown(b->region_name ? b->region_name : s->province),
                 cli_shown(s->province));
        cli_pad(cli_shown(s->as_of), 12);
        cli_pad(where, 30);
        cli_pad(conclusion(b->target), 6);
        cli_pad(b->review == 1 ? "复核" : b->review == 0 ? "认定" : "", 6);
        cli_pad(s->id, 18);
        cli_pad(cli_shown(s->operator_id), 12);
        printf("%s\n", cli_shown(s->recorded_at));
        int k = 0;
        for (size_t i = 0; i < b->ncategories; i++)
            if (b->categories[i].status == YZ_MET)
                printf("%s%s", k++ ? "、" : "            认定类别：", cli_shown(b->categories[i].name));
        if (k)
            putchar('\n');
        k = 0;
        for (size_t i = 0; i < b->nsubsidies; i++) {
            if (b->subsidies[i].status != YZ_MET)
                continue;
            fputs(k++ ? "                  " : "            补贴：", stdout);
            print_grant(&b->subsidies[i]);
            putchar('\n');
        }
        for (size_t i = 0; i < b->nlosses; i++)
            printf("            身份丧失（%s）：%s —— %s\n", cli_shown(s->as_of), cli_shown(b->losses[i].name),
                   cli_shown(b->losses[i].reason));
    }
    yz_decision_brief_free(b);
    h->n++;
    return 0;
}

int cmd_history(cli *c, int argc, char **argv)
{
    const char *db = NULL, *person = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (cli_is_help(argv[i])) {
            return cli_help(history_usage);
        } else if ((v = cli_opt(argc, argv, &i, "--db"))) {
            db = v;
        } else if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (argv[i][0] != '-' && !person) {
            person = argv[i];
        } else {
            return cli_usage(c, history_usage, "unexpected '%s'", argv[i]);
        }
    }
    if (!person) {
        return cli_usage(c, history_usage, "whose history? give a resident ID number");
    }
    yz_store *st;
    int code = cli_open_existing(c, cli_db_path(db), &st);
    if (code)
        return code;
    yz_diags d;
    yz_diags_init(&d);
    hist_ctx h = {c, json, 0};
    /* an ID number typed with a lowercase x is the same person */
    char norm[32];
    snprintf(norm, sizeof norm, "%s", person);
    for (char *q = norm; *q; q++)
        if (*q == 'x')
            *q = 'X';
    int rc = yz_store_each(st, norm, NULL, NULL, true, history_one, &h, &d);
    cli_print_diags(c, &d);
    if (rc != YZ_OK)
        code = EXIT_STORE;
    else if (!h.n && !json)
        printf("%s 没有决定记录（no decisions recorded）\n", cli_shown(norm));
    yz_diags_free(&d);
    yz_store_close(st);
    return code;
}

/* yz_replay.c: redoing a stored decision from its stored ruleset and input (or from the rules on
 * disk) and comparing the canonical output byte for byte. */
#include <string.h>

#include "yz_diag.h"
#include "yz_json.h"
#include "yz_record.h"

/* A replayer keeps the rulesets (each with its evaluator) it has built, so that replaying a whole
 * store compiles each ruleset once instead of once per decision: up to KEEP of them, the oldest
 * dropped first.  Reusing an evaluator is what batch does when it records: the sandbox makes a
 * record's outcome independent of the records evaluated before it. */
#define KEEP 8

typedef struct built {
    char *key; /* the stored ruleset id, or the rules path */
    yz_ruleset *rs;
    yz_evaluator *ev;
} built;

struct yz_replayer {
    char *home, *rules_path;
    built kept[KEEP];
    size_t n, next; /* kept, and the slot to reuse when full */
};

yz_replayer *yz_replayer_new(const char *home, const char *rules_path)
{
    yz_replayer *r = yz_calloc(1, sizeof *r);
    r->home = home ? yz_strdup(home) : NULL;
    r->rules_path = rules_path ? yz_strdup(rules_path) : NULL;
    return r;
}

static void built_free(built *b)
{
    yz_evaluator_free(b->ev);
    yz_ruleset_free(b->rs);
    yz_free(b->key);
    memset(b, 0, sizeof *b);
}

void yz_replayer_free(yz_replayer *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        built_free(&r->kept[i]);
    yz_free(r->home);
    yz_free(r->rules_path);
    yz_free(r);
}

/* the evaluator for a stored decision: kept, or built from its stored files (or the rules path) */
static int evaluator_for(yz_replayer *r, const yz_stored *s, yz_evaluator **ev, yz_diags *d)
{
    const char *key = r->rules_path ? r->rules_path : s->ruleset;
    for (size_t i = 0; i < r->n; i++) {
        if (!strcmp(r->kept[i].key, key)) {
            *ev = r->kept[i].ev;
            return YZ_OK;
        }
    }
    built b = {NULL, NULL, NULL};
    int rc;
    if (r->rules_path)
        rc = yz_ruleset_load(r->home, r->rules_path, &b.rs, d);
    else
        rc = yz_ruleset_load_files(s->files, s->nfiles, s->province, &b.rs, d);
    if (rc == YZ_OK && !r->rules_path && strcmp(yz_ruleset_id(b.rs), s->ruleset) != 0) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "the stored files of ruleset %.12s no longer give that id", s->ruleset);
        rc = YZ_ESTORE;
    }
    if (rc == YZ_OK)
        rc = yz_evaluator_new(b.rs, NULL, &b.ev, d);
    if (rc != YZ_OK) {
        built_free(&b);
        return rc;
    }
    b.key = yz_strdup(key);
    size_t slot;
    if (r->n < KEEP) {
        slot = r->n++;
    } else {
        slot = r->next;
        r->next = (r->next + 1) % KEEP;
        built_free(&r->kept[slot]);
    }
    r->kept[slot] = b;
    *ev = b.ev;
    return YZ_OK;
}

int yz_replayer_run(yz_replayer *r, const yz_stored *s, char **diff, yz_diags *d)
{
    *diff = NULL;
    yz_record *rec = NULL;
    yz_evaluator *ev = NULL;
    yz_determination *det = NULL;
    char *out = NULL;
    int rc;
    if ((rc = evaluator_for(r, s, &ev, d)) != YZ_OK)
        goto done;
    if ((rc = record_parse_stored(s->input, strlen(s->input), "stored input", &rec, d)) != YZ_OK)
        goto done;
    if ((rc = yz_evaluate(ev, rec, s->as_of, &det, d)) != YZ_OK)
        goto done;
    out = yz_determination_json(det);
    if (strcmp(out, s->output) == 0) {
        rc = YZ_OK;
        goto done;
    }
    rc = YZ_EFAILED;
    strbuf sb = STRBUF_INIT;
    arena m;
    arena_init(&m, 64 * 1024);
    size_t off;
    const char *err;
    yj *a = yj_parse(&m, s->output, strlen(s->output), &off, &err);
    yj *b = yj_parse(&m, out, strlen(out), &off, &err);
    if (a && b && yj_diff(a, b, &sb, 60) > 0) {
        /* differences found */
    } else {
        sb_adds(&sb, "  the canonical bytes differ, though the values are equal (the engine writes JSON differently)\n");
    }
    if (strcmp(s->engine, "yuanzhu " YZ_VERSION) != 0)
        sb_addf(&sb, "  note: recorded by %s, replayed by yuanzhu %s\n", s->engine, YZ_VERSION);
    arena_free(&m);
    *diff = sb_release(&sb);
done:
    yz_free(out);
    yz_determination_free(det);
    yz_record_free(rec);
    return rc;
}

int yz_replay(const char *home, const yz_stored *s, const char *rules_path, char **diff, yz_diags *d)
{
    yz_replayer *r = yz_replayer_new(home, rules_path);
    int rc = yz_replayer_run(r, s, diff, d);
    yz_replayer_free(r);
    return rc;
}

char *yz_outcome_brief(const char *output, bool json)
{
    strbuf sb = STRBUF_INIT;
    arena m;
    arena_init(&m, 64 * 1024);
    size_t off;
    const char *err;
    yj *det = output ? yj_parse(&m, output, strlen(output), &off, &err) : NULL;
    const yj *cats = yj_get(det, "categories"), *subs = yj_get(det, "subsidies");
    if (json)
        sb_adds(&sb, "\"categories\":[");
    int n = 0;
    for (const yj *c = yj_first(cats); c; c = yj_next(c)) {
        if (yz_status_parse(yj_str(yj_get(c, "status")), false) != YZ_MET)
            continue;
        if (json) {
            if (n)
                sb_addc(&sb, ',');
            json_quote(&sb, yj_key(c), strlen(yj_key(c)));
        } else {
            sb_addf(&sb, "%s%s", n ? ", " : "", yj_key(c));
        }
        n++;
    }
    sb_adds(&sb, json ? "],\"subsidies\":{" : (n ? " / " : "- / "));
    int k = 0;
    for (const yj *c = yj_first(subs); c; c = yj_next(c)) {
        if (yz_status_parse(yj_str(yj_get(c, "status")), true) != YZ_MET)
            continue;
        int64_t amount = 0;
        yj_is_int(yj_get(c, "amount_fen"), &amount);
        if (json) {
            if (k)
                sb_addc(&sb, ',');
            json_quote(&sb, yj_key(c), strlen(yj_key(c)));
            sb_addf(&sb, ":%lld", (long long)amount);
        } else {
            sb_addf(&sb, "%s%s %lld", k ? ", " : "", yj_key(c), (long long)amount);
        }
        k++;
    }
    if (json)
        sb_addc(&sb, '}');
    else if (!k)
        sb_addc(&sb, '-');
    arena_free(&m);
    return sb_release(&sb);
}

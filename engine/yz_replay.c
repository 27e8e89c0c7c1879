/* yz_replay.c: redoing a stored decision from its stored ruleset and input (or from the rules on
 * disk) and comparing the canonical output byte for byte. */
#include <string.h>

#include "yz_diag.h"
#include "yz_json.h"
#include "yz_record.h"

int yz_replay(const char *home, const yz_stored *s, const char *rules_path, char **diff, yz_diags *d)
{
    *diff = NULL;
    yz_ruleset *rs = NULL;
    yz_record *rec = NULL;
    yz_evaluator *ev = NULL;
    yz_determination *det = NULL;
    char *out = NULL;
    int rc;
    if (rules_path)
        rc = yz_ruleset_load(home, rules_path, &rs, d);
    else
        rc = yz_ruleset_load_files(s->files, s->nfiles, s->province, &rs, d);
    if (rc != YZ_OK)
        goto done;
    if (!rules_path && strcmp(yz_ruleset_id(rs), s->ruleset) != 0) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "the stored files of ruleset %.12s no longer give that id", s->ruleset);
        rc = YZ_ESTORE;
        goto done;
    }
    if ((rc = yz_record_parse(s->input, strlen(s->input), "stored input", &rec, d)) != YZ_OK)
        goto done;
    if ((rc = yz_evaluator_new(rs, NULL, &ev, d)) != YZ_OK)
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
    yz_evaluator_free(ev);
    yz_record_free(rec);
    yz_ruleset_free(rs);
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
        if (strcmp(yj_str(yj_get(c, "status")), "met") != 0)
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
        if (strcmp(yj_str(yj_get(c, "status")), "eligible") != 0)
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

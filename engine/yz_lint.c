/* yz_lint.c: `lint`: loads every policy folder under the paths given (cities included), checks
 * their test files, and warns about policies that expire soon. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yz_date.h"
#include "yz_diag.h"
#include "yz_rulevm.h"
#include "yz_lualint.h"
#include "yz_policy.h"
#include "yz_testcase.h"

#define EXPIRY_WARNING_DAYS 90

static void expiry(const yz_ruleset *rs, const char *today, yz_diags *d)
{
    if (!today || !rs->npolicies)
        return;
    yz_date t;
    if (!yz_date_parse(today, strlen(today), &t))
        return;
    const ppolicy *last = rs->policies[rs->npolicies - 1];
    if (!last->eff_to)
        return;
    yz_date end;
    yz_date_parse(last->eff_to, strlen(last->eff_to), &end);
    long days = yz_date_to_days(end) - yz_date_to_days(t);
    const char *file = ruleset_display(rs, last->eff_to_loc.file ? last->eff_to_loc.file : last->version_files[last->nlevels - 1]);
    if (days < 0)
        diag_add(d, YZ_SEV_WARNING, file, last->eff_to_loc.line, last->eff_to_loc.col,
                 "%s's rules expired on %s (%ld days ago) and no later policy is in force: decisions after that date are refused; add the successor policy",
                 rs->province, last->eff_to, -days);
    else if (days <= EXPIRY_WARNING_DAYS)
        diag_add(d, YZ_SEV_WARNING, file, last->eff_to_loc.line, last->eff_to_loc.col,
                 "%s's rules expire on %s (in %ld days) and no later policy follows: add the successor policy file (docs/policy-format.md, 'Successive policies')",
                 rs->province, last->eff_to, days);
}

/* a dated parameter whose first value starts after its policy does leaves days without it */
static void value_gaps(const yz_ruleset *rs, yz_diags *d)
{
    for (size_t i = 0; i < rs->npolicies; i++) {
        const ppolicy *pol = rs->policies[i];
        for (size_t k = 0; k < pol->nparams; k++) {
            const pparam *p = &pol->params[k];
            if (!p->nvalues || !p->values[0].from || strcmp(p->values[0].from, pol->eff_from) <= 0)
                continue;
            diag_add(d, YZ_SEV_WARNING, ruleset_display(rs, p->values[0].loc.file), p->values[0].loc.line,
                     p->values[0].loc.col,
                     "parameter '%s' has no value from %s (the policy's start) until %s: rules that read it then cannot decide; add a value dated %s or earlier",
                     p->id, pol->eff_from, p->values[0].from, pol->eff_from);
        }
    }
}

/* ---- Lua text: what the sandbox will refuse at run time, said before it runs ---- */

typedef struct luactx {
    const yz_ruleset *rs;
    yz_diags *d;
    const char *file;   /* display path */
    const char *text;   /* the Lua text */
    const rfile *yaml;  /* a condition's YAML file (NULL for a helper file) */
    int line, col;      /* where the text starts in it */
} luactx;

/* the start of line k of a text */
static const char *line_of(const char *s, int k)
{
    for (; k > 0 && s; k--) {
        s = strchr(s, '\n');
        if (s)
            s++;
    }
    return s;
}

static void lua_report(void *ctx, int line, size_t byte, yz_severity sev, const char *msg)
{
    luactx *c = ctx;
    const char *ls = line_of(c->text, line);
    size_t width = ls ? yz_utf8_width(ls, byte) : 0;
    int col = 0;
    if (!c->yaml) {
        col = (int)width + 1;
    } else if (c->col == 1) {
        /* a block scalar (| or >): its lines share the block's indentation */
        const char *fl = line_of(c->yaml->data, c->line + line - 1);
        int indent = 0;
        while (fl && fl[indent] == ' ')
            indent++;
        col = indent + (int)width + 1;
    } else if (line == 0) {
        /* on the key's line, after the quote of a quoted scalar */
        const char *fl = line_of(c->yaml->data, c->line - 1);
        const char *at = fl ? fl : "";
        int k = 1;
        while (*at && *at != '\n' && k < c->col) {
            if (((unsigned char)*at & 0xC0) != 0x80)
                k++;
            at++;
        }
        col = c->col + (int)width + (*at == '\'' || *at == '"');
    }
    diag_add(c->d, sev, c->file, c->line + line, col, "%s", msg);
}

/* a file of the policy folder itself (those of the policies it extends are theirs), or with
   all_levels of any level (not the shared library under rules/lib/) */
static bool lint_owns(const char *path, const char *own_file, size_t dirlen, bool all_levels)
{
    if (all_levels)
        return strncmp(path, "rules/lib/", 10) != 0;
    return strncmp(path, own_file, dirlen) == 0 && !strchr(path + dirlen, '/');
}

/* the rules and helpers of the folder itself, or with all_levels of every level */
static void lint_lua(const yz_ruleset *rs, bool all_levels, yz_diags *d)
{
    if (!rs->npolicies)
        return;
    const ppolicy *own = rs->policies[rs->npolicies - 1];
    const char *own_file = own->version_files[own->nlevels - 1];
    const char *slash = strrchr(own_file, '/');
    size_t dirlen = slash ? (size_t)(slash - own_file) + 1 : 0;
    /* amount and months formulas must give whole numbers */
    bool *amount = yz_calloc(rs->nleaves ? rs->nleaves : 1, sizeof *amount);
    for (size_t p = 0; p < rs->npolicies; p++)
        for (size_t k = 0; k < rs->policies[p]->nitems[PI_SUBSIDY]; k++) {
            const pitem *it = &rs->policies[p]->items[PI_SUBSIDY][k];
            if (it->amount && it->amount->leaf >= 0)
                amount[it->amount->leaf] = true;
            if (it->months && it->months->leaf >= 0)
                amount[it->months->leaf] = true;
        }
    for (size_t i = 0; i < rs->nleaves; i++) {
        const pcond *c = rs->leaves[i];
        if (!c->expr || !c->loc.file || !lint_owns(c->loc.file, own_file, dirlen, all_levels))
            continue;
        luactx x = {rs, d, ruleset_display(rs, c->loc.file), c->expr, ruleset_file(rs, c->loc.file), c->loc.line,
                    c->loc.col};
        lualint_text(c->expr, strlen(c->expr), amount[i], lua_report, &x);
    }
    yz_free(amount);
    for (size_t f = 0; f < rs->nfiles; f++) {
        const rfile *rf = &rs->files[f];
        if (!yz_str_has_suffix(rf->path, ".lua") || !lint_owns(rf->path, own_file, dirlen, all_levels))
            continue;
        luactx x = {rs, d, rf->display, rf->data, NULL, 1, 1};
        lualint_text(rf->data, rf->len, false, lua_report, &x);
    }
}

typedef struct lint_keys {
    const yz_key *const *k;
    size_t n;
} lint_keys;

/* a folder's signature, when it has one, is checked (a signature nobody checks proves nothing);
   with keys given, an unsigned folder is pointed out */
static void lint_signature(yz_ruleset *rs, const lint_keys *keys, yz_diags *d)
{
    if (yz_ruleset_has_signature(rs))
        ruleset_check_signature(rs, keys->k, keys->n, NULL, d);
    else if (keys->n)
        diag_add(d, YZ_SEV_WARNING, NULL, 0, 0,
                 "the %s ruleset is not signed (no %s): yuanzhu sign --key KEY signs it", rs->province,
                 rs->sig_file ? rs->sig_file : YZ_RULESET_SIGNATURE);
}

static void lint_ruleset(yz_ruleset *rs, const char *dir, const char *today, const lint_keys *keys, yz_diags *d)
{
    lint_signature(rs, keys, d);
    size_t first = d->n;
    expiry(rs, today, d);
    value_gaps(rs, d);
    lint_lua(rs, false, d);
    rvm_check_helpers(rs, d);
    diag_sort_from(d, first);
    testcase_check_folder(rs, dir, d);
}

static int lint_folder(const char *home, const char *dir, const char *today, const lint_keys *keys, yz_diags *d,
                       int depth)
{
    int folders = 0;
    if (policy_has_files(dir)) {
        yz_ruleset *rs = NULL;
        folders++;
        if (yz_ruleset_load(home, dir, &rs, d) == YZ_OK) {
            lint_ruleset(rs, dir, today, keys, d);
            yz_ruleset_free(rs);
        }
    }
    if (depth > 4)
        return folders;
    char **subs;
    size_t n = policy_subfolders(dir, &subs);
    for (size_t i = 0; i < n; i++) {
        char *p = yz_path_join(dir, subs[i]);
        folders += lint_folder(home, p, today, keys, d, depth + 1);
        yz_free(p);
    }
    yz_names_free(subs, n);
    return folders;
}

int policy_lint(const char *home, const char *path, const char *today, const yz_key *const *keys, size_t n,
                yz_diags *d)
{
    lint_keys lk = {keys, n};
    size_t before = d->n_errors;
    if (yz_is_dir(path)) {
        if (!lint_folder(home, path, today, &lk, d, 0))
            diag_add(d, YZ_SEV_ERROR, path, 0, 0, "no policy files (*.yaml) in this folder or below it");
    } else if (yz_is_file(path)) {
        /* a policy file or a test file: lint the folder it belongs to (not its cities) */
        char *copy = yz_strdup(path);
        char *slash = strrchr(copy, '/');
        const char *dir = ".";
        if (slash) {
            *slash = '\0';
            dir = copy;
        }
        if (yz_str_has_suffix(dir, "/tests") || !strcmp(dir, "tests")) {
            char *s2 = strrchr(copy, '/');
            if (s2)
                *s2 = '\0';
            else
                dir = ".";
        }
        yz_ruleset *rs = NULL;
        if (yz_ruleset_load(home, dir, &rs, d) == YZ_OK) {
            lint_ruleset(rs, dir, today, &lk, d);
            yz_ruleset_free(rs);
        }
        yz_free(copy);
    } else {
        diag_add(d, YZ_SEV_ERROR, path, 0, 0, "no such file or folder");
    }
    return d->n_errors > before ? YZ_EPOLICY : YZ_OK;
}

int yz_lint(const char *home, const char *path, const char *today, yz_diags *d)
{
    return policy_lint(home, path, today, NULL, 0, d);
}

int yz_lint_keys(const char *home, const char *path, const char *today, const yz_key *const *keys, size_t n,
                 yz_diags *d)
{
    return policy_lint(home, path, today, keys, n, d);
}

int yz_lint_ruleset(const yz_ruleset *rs, const char *today, yz_diags *d)
{
    size_t before = d->n_errors, first = d->n;
    expiry(rs, today, d);
    value_gaps(rs, d);
    lint_lua(rs, true, d);
    rvm_check_helpers(rs, d);
    diag_sort_from(d, first);
    return d->n_errors > before ? YZ_EPOLICY : YZ_OK;
}

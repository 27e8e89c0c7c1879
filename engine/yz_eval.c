/* yz_eval.c: evaluates a record against the policy in force on the as-of date.
 *
 * Conditions combine by Kleene's three-valued logic (false and unknown = false, true or unknown =
 * true), so no outcome depends on the order conditions are written in.  A Lua condition that reads
 * an absent field is unknown; one that fails or exceeds a limit is unknown and carries its error.
 * Results are memoised per record by condition node, and explanations are read back from that
 * memo: the conditions that decided each item, the record fields and parameters they read, and
 * the fields still missing. */
#include "yz_eval.h"

#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yz_date.h"
#include "yz_diag.h"
#include "yz_record.h"
#include "yz_sandbox.h"
#include "yz_view.h"

enum { F = 0, T = 1, U = 2 };

typedef struct leafrec {
    uint32_t log_start, log_end;
    const char *note;
    const char *error;
} leafrec;

struct yz_evaluator {
    const yz_ruleset *rs;
    sandbox *sb;
    viewctx vc;
    int *env_refs;  /* per policy */
    int leaves_ref; /* compiled leaves by leaf id + 1 */
    uint8_t *leaf_state; /* 0 not compiled, 1 compiled, 2 failed */
    char **leaf_err;
    const char **chunk_names;
    /* per record */
    uint32_t gen;
    uint32_t *node_gen;
    int8_t *node_tv;
    leafrec *leafrec;
    size_t max_items;
    uint32_t *item_gen[5];
    int8_t *item_tv[5];
    ditem **item_built[5];
    const ppolicy *pol;
    const char *as_of;
    const yval *root;
    yz_determination *det;
    int r_ref, asof_ref; /* this record's view and date, passed to every condition */
    /* parameter view cache */
    int params_ref;
    const ppolicy *params_pol;
    char params_asof[11];
    strbuf tmp, err;
    strbuf slow; /* this record: the first call stopped by the CPU-time backstop, located */
    /* the state decided nothing yet / a record wore it out (see sandbox_worn) */
    bool fresh, worn;
    /* the chunks of an environment (rule library, then a policy's helpers) */
    const char **env_srcs;
    size_t *env_lens;
    int *env_ids;
};

/* ------------------------------------------------------------------------------------------ */

static void no_memory(yz_diags *d)
{
    diag_add(d, YZ_SEV_ERROR, NULL, 0, 0,
             "out of memory: the system refused memory to the rule sandbox, so nothing was decided; "
             "free some memory and run it again");
}

/* the views and the table of compiled leaves, sized so that storing a leaf never allocates */
static int setup_fn(lua_State *L, void *ud)
{
    yz_evaluator *ev = ud;
    view_init(ev->sb, &ev->vc);
    lua_createtable(L, (int)ev->rs->nleaves, 0);
    ev->leaves_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

int evaluator_new_with(const yz_ruleset *rs, const yz_limits *limits, void *(*host_realloc)(void *p, size_t n),
                       yz_evaluator **out, yz_diags *d)
{
    *out = NULL;
    yz_evaluator *ev = yz_calloc(1, sizeof *ev);
    ev->rs = rs;
    ev->sb = sandbox_new(limits, host_realloc);
    if (!ev->sb) {
        yz_free(ev);
        no_memory(d);
        return YZ_ENOMEM;
    }
    ev->chunk_names = yz_calloc(rs->nfiles ? rs->nfiles : 1, sizeof(char *));
    for (size_t i = 0; i < rs->nfiles; i++)
        ev->chunk_names[i] = rs->files[i].path;
    ev->sb->chunk_names = ev->chunk_names;
    ev->sb->nchunk_names = rs->nfiles;
    size_t nchunks = rs->nlib;
    for (size_t p = 0; p < rs->npolicies; p++)
        if (rs->nlib + rs->policies[p]->nlua > nchunks)
            nchunks = rs->nlib + rs->policies[p]->nlua;
    ev->env_srcs = yz_malloc((nchunks ? nchunks : 1) * sizeof *ev->env_srcs);
    ev->env_lens = yz_malloc((nchunks ? nchunks : 1) * sizeof *ev->env_lens);
    ev->env_ids = yz_malloc((nchunks ? nchunks : 1) * sizeof *ev->env_ids);
    ev->env_refs = yz_malloc((rs->npolicies ? rs->npolicies : 1) * sizeof(int));
    for (size_t i = 0; i < rs->npolicies; i++)
        ev->env_refs[i] = LUA_NOREF;
    ev->params_ref = LUA_NOREF;
    ev->r_ref = LUA_NOREF;
    ev->asof_ref = LUA_NOREF;
    ev->leaf_state = yz_calloc(rs->nleaves ? rs->nleaves : 1, 1);
    ev->leaf_err = yz_calloc(rs->nleaves ? rs->nleaves : 1, sizeof(char *));
    ev->leafrec = yz_calloc(rs->nleaves ? rs->nleaves : 1, sizeof(leafrec));
    ev->node_gen = yz_calloc(rs->nnodes ? rs->nnodes : 1, sizeof(uint32_t));
    ev->node_tv = yz_calloc(rs->nnodes ? rs->nnodes : 1, 1);
    for (size_t p = 0; p < rs->npolicies; p++)
        for (int k = 0; k < 5; k++)
            if (rs->policies[p]->nitems[k] > ev->max_items)
                ev->max_items = rs->policies[p]->nitems[k];
    for (int k = 0; k < 5; k++) {
        ev->item_gen[k] = yz_calloc(ev->max_items + 1, sizeof(uint32_t));
        ev->item_tv[k] = yz_calloc(ev->max_items + 1, 1);
        ev->item_built[k] = yz_calloc(ev->max_items + 1, sizeof(ditem *));
    }
    ev->leaves_ref = LUA_NOREF;
    if (sandbox_protect(ev->sb, setup_fn, ev, 0, NULL) != SB_OK) {
        yz_evaluator_free(ev);
        no_memory(d);
        return YZ_ENOMEM;
    }
    ev->fresh = true;
    *out = ev;
    return YZ_OK;
}

/* A new Lua state in place of the evaluator's, as yz_evaluator_new made it: nothing a record
 * did to the old one (its garbage, its grown stack) can reach the next record.  Compiled leaves
 * are compiled again on first use, as in a new evaluator. */
static int evaluator_renew(yz_evaluator *ev, yz_diags *d)
{
    sandbox *sb = sandbox_renew(ev->sb);
    if (sb) {
        sandbox_free(ev->sb);
        ev->sb = sb;
    }
    for (size_t i = 0; i < ev->rs->npolicies; i++)
        ev->env_refs[i] = LUA_NOREF;
    for (size_t i = 0; i < ev->rs->nleaves; i++)
        if (ev->leaf_state[i] == 1)
            ev->leaf_state[i] = 0;
    ev->params_ref = ev->r_ref = ev->asof_ref = ev->leaves_ref = LUA_NOREF;
    ev->params_pol = NULL;
    if (!sb || sandbox_protect(ev->sb, setup_fn, ev, 0, NULL) != SB_OK) {
        ev->sb->host_failed = true; /* the evaluator can only be freed */
        no_memory(d);
        return YZ_ENOMEM;
    }
    ev->fresh = true;
    ev->worn = false;
    return YZ_OK;
}

int yz_evaluator_new(const yz_ruleset *rs, const yz_limits *limits, yz_evaluator **out, yz_diags *d)
{
    return evaluator_new_with(rs, limits, NULL, out, d);
}

void yz_evaluator_free(yz_evaluator *ev)
{
    if (!ev)
        return;
    sandbox_free(ev->sb);
    for (size_t i = 0; i < ev->rs->nleaves; i++)
        yz_free(ev->leaf_err[i]);
    yz_free(ev->leaf_err);
    yz_free(ev->leaf_state);
    yz_free(ev->leafrec);
    yz_free(ev->node_gen);
    yz_free(ev->node_tv);
    for (int k = 0; k < 5; k++) {
        yz_free(ev->item_gen[k]);
        yz_free(ev->item_tv[k]);
        yz_free(ev->item_built[k]);
    }
    yz_free(ev->env_refs);
    yz_free(ev->env_srcs);
    yz_free(ev->env_lens);
    yz_free(ev->env_ids);
    yz_free(ev->chunk_names);
    yz_free(ev->vc.log);
    sb_free(&ev->vc.tmp);
    sb_free(&ev->tmp);
    sb_free(&ev->err);
    sb_free(&ev->slow);
    yz_free(ev);
}

static int file_index(const yz_ruleset *rs, const char *path)
{
    for (size_t i = 0; i < rs->nfiles; i++)
        if (!strcmp(rs->files[i].path, path))
            return (int)i;
    return -1;
}

/* Pushes the environment of the current policy, building it on first use. */
static int push_env(yz_evaluator *ev, strbuf *err)
{
    lua_State *L = ev->sb->L;
    int pi = ev->pol->index;
    if (ev->env_refs[pi] != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, ev->env_refs[pi]);
        return 0;
    }
    const yz_ruleset *rs = ev->rs;
    size_t n = rs->nlib + ev->pol->nlua;
    /* the evaluator's arrays: a memory error raised in sandbox_env_new leaks nothing */
    const char **srcs = ev->env_srcs;
    size_t *lens = ev->env_lens;
    int *ids = ev->env_ids;
    size_t k = 0;
    for (size_t i = 0; i < rs->nlib; i++, k++) {
        ids[k] = file_index(rs, rs->lib_files[i]);
        srcs[k] = rs->files[ids[k]].data;
        lens[k] = rs->files[ids[k]].len;
    }
    for (size_t i = 0; i < ev->pol->nlua; i++, k++) {
        ids[k] = file_index(rs, ev->pol->lua_files[i]);
        srcs[k] = rs->files[ids[k]].data;
        lens[k] = rs->files[ids[k]].len;
    }
    int rc = sandbox_env_new(ev->sb, srcs, lens, ids, n, rs->nlib, err);
    if (rc != 0)
        return -1;
    lua_pushvalue(L, -1);
    ev->env_refs[pi] = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

/* Pushes the compiled function of a leaf; returns -1 (nothing pushed) if it cannot compile. */
static int push_leaf(yz_evaluator *ev, const pcond *c)
{
    lua_State *L = ev->sb->L;
    if (ev->leaf_state[c->leaf] == 1) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, ev->leaves_ref);
        lua_rawgeti(L, -1, c->leaf + 1);
        lua_remove(L, -2);
        return 0;
    }
    if (ev->leaf_state[c->leaf] == 2)
        return -1;
    /* a leaf that does not compile stays failed; one that met the system's refusal of memory does
       not (the evaluation fails as a whole, see evaluate) */
    strbuf err = STRBUF_INIT;
    if (push_env(ev, &err) != 0) {
        if (!ev->sb->host_failed) {
            ev->leaf_state[c->leaf] = 2;
            ev->leaf_err[c->leaf] = sb_release(&err);
        }
        sb_free(&err);
        return -1;
    }
    strbuf src = STRBUF_INIT;
    sandbox_leaf_source(c->expr, &src);
    int rc = sandbox_compile(ev->sb, -1, src.buf, src.len, file_index(ev->rs, c->loc.file), c->loc.line, &err);
    sb_free(&src);
    lua_remove(L, -2); /* env */
    if (rc != 0) {
        if (!ev->sb->host_failed) {
            ev->leaf_state[c->leaf] = 2;
            ev->leaf_err[c->leaf] = sb_release(&err);
        }
        sb_free(&err);
        return -1;
    }
    sb_free(&err);
    /* the table was made with a slot for every leaf: no allocation here */
    lua_rawgeti(L, LUA_REGISTRYINDEX, ev->leaves_ref);
    lua_pushvalue(L, -2);
    lua_rawseti(L, -2, c->leaf + 1);
    lua_pop(L, 1);
    ev->leaf_state[c->leaf] = 1;
    return 0;
}

static const char *dstr(yz_evaluator *ev, const char *s)
{
    return s ? arena_strdup(&ev->det->mem, s) : NULL;
}

/* bytes of a rule's note kept in a determination */
#define NOTE_MAX 500

/* a note a rule returned (the string at idx): valid UTF-8, at most NOTE_MAX bytes */
static const char *rule_note(yz_evaluator *ev, lua_State *L, int idx)
{
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    strbuf sb = STRBUF_INIT;
    sb_add_clean(&sb, s, n, NOTE_MAX);
    const char *r = arena_strndup(&ev->det->mem, sb_str(&sb), sb.len);
    sb_free(&sb);
    return r;
}

/* an error message that says where: "file:line: message" */
static const char *located(yz_evaluator *ev, const pcond *c, const char *msg)
{
    if (yz_str_has_prefix(msg, c->loc.file))
        return dstr(ev, msg);
    return arena_printf(&ev->det->mem, "%s:%d: %s", c->loc.file, c->loc.line, msg);
}

typedef enum { V_OK, V_UNKNOWN, V_ERROR } vstatus;

/* Calls a leaf: leaves nresults values on the stack when V_OK.  Records the read log range,
 * the error, into leafrec. */
static vstatus call_leaf(yz_evaluator *ev, const pcond *c, int nresults)
{
    leafrec *lr = &ev->leafrec[c->leaf];
    lr->note = NULL;
    lr->error = NULL;
    lr->log_start = (uint32_t)ev->vc.n;
    if (push_leaf(ev, c) != 0) {
        lr->error = located(ev, c, ev->leaf_err[c->leaf] ? ev->leaf_err[c->leaf] : "cannot compile");
        lr->log_end = lr->log_start;
        return V_ERROR;
    }
    sb_clear(&ev->tmp);
    lua_State *L = ev->sb->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, ev->r_ref);
    lua_rawgeti(L, LUA_REGISTRYINDEX, ev->params_ref);
    lua_rawgeti(L, LUA_REGISTRYINDEX, ev->asof_ref);
    sb_status st = sandbox_call(ev->sb, 3, nresults, &ev->tmp);
    lr->log_end = (uint32_t)ev->vc.n;
    switch (st) {
    case SB_OK: return V_OK;
    case SB_UNKNOWN: return V_UNKNOWN;
    case SB_SLOW:
        lr->error = located(ev, c, ev->tmp.buf);
        if (!ev->slow.len)
            sb_adds(&ev->slow, lr->error);
        return V_ERROR;
    default: lr->error = located(ev, c, ev->tmp.buf); return V_ERROR;
    }
}

static int8_t eval_leaf(yz_evaluator *ev, const pcond *c)
{
    lua_State *L = ev->sb->L;
    leafrec *lr = &ev->leafrec[c->leaf];
    vstatus vs = call_leaf(ev, c, 2);
    if (vs == V_UNKNOWN)
        return U;
    if (vs == V_ERROR)
        return U;
    int8_t tv = U;
    if (lua_type(L, -2) == LUA_TBOOLEAN) {
        tv = lua_toboolean(L, -2) ? T : F;
        if (lua_type(L, -1) == LUA_TSTRING)
            lr->note = rule_note(ev, L, -1);
    } else {
        const char *what = lua_type(L, -2) == LUA_TNIL ? "nothing (nil)" : luaL_typename(L, -2);
        char buf[160];
        snprintf(buf, sizeof buf, "a condition must give true or false, this one gave %s", what);
        lr->error = located(ev, c, buf);
    }
    lua_pop(L, 2);
    return tv;
}

/* amount and months formulas: an integer in [0, max] */
static vstatus eval_int(yz_evaluator *ev, const pcond *c, int64_t max, const char *what, int64_t *out)
{
    lua_State *L = ev->sb->L;
    leafrec *lr = &ev->leafrec[c->leaf];
    vstatus vs = call_leaf(ev, c, 2);
    if (vs != V_OK)
        return vs;
    char buf[200];
    if (lua_isinteger(L, -2)) {
        lua_Integer v = lua_tointeger(L, -2);
        if (v < 0 || v > max) {
            snprintf(buf, sizeof buf, "%s %lld is out of range (0 to %lld)", what, (long long)v, (long long)max);
            lr->error = located(ev, c, buf);
            vs = V_ERROR;
        } else {
            *out = v;
            if (lua_type(L, -1) == LUA_TSTRING)
                lr->note = rule_note(ev, L, -1);
        }
    } else if (lua_type(L, -2) == LUA_TNUMBER) {
        double x = lua_tonumber(L, -2);
        if (isnan(x))
            snprintf(buf, sizeof buf, "%s must be a whole number, got NaN (not a number: 0/0 or a computation on it)",
                     what);
        else if (isinf(x))
            snprintf(buf, sizeof buf, "%s must be a whole number, got %sinfinity (a division by zero?)", what,
                     x < 0 ? "minus " : "");
        else if (x == floor(x))
            snprintf(buf, sizeof buf,
                     "%s must be an integer, got the float %.15g: compute in integers (// or mul_div), or use "
                     "math.tointeger",
                     what, x);
        else
            snprintf(buf, sizeof buf, "%s must be a whole number, got %.15g: compute in integers (// or mul_div)", what,
                     x);
        lr->error = located(ev, c, buf);
        vs = V_ERROR;
    } else {
        snprintf(buf, sizeof buf, "%s must be a whole number, got %s", what,
                 lua_type(L, -2) == LUA_TNIL ? "nothing (nil)" : luaL_typename(L, -2));
        lr->error = located(ev, c, buf);
        vs = V_ERROR;
    }
    lua_pop(L, 2);
    return vs;
}

static bool in_force(const pitem *it, const char *as_of)
{
    return (!it->eff_from || strcmp(as_of, it->eff_from) >= 0) && (!it->eff_to || strcmp(as_of, it->eff_to) <= 0);
}

static int8_t eval_item(yz_evaluator *ev, pikind k, int idx);

static int8_t eval_target(yz_evaluator *ev)
{
    int8_t tv = F;
    for (size_t i = 0; i < ev->pol->nitems[PI_CATEGORY]; i++) {
        int8_t t = eval_item(ev, PI_CATEGORY, (int)i);
        if (t == T)
            return T;
        if (t == U)
            tv = U;
    }
    return tv;
}

static int8_t eval_cond(yz_evaluator *ev, const pcond *c)
{
    if (ev->node_gen[c->id] == ev->gen)
        return ev->node_tv[c->id];
    int8_t tv = U;
    switch (c->kind) {
    case PC_LEAF: tv = eval_leaf(ev, c); break;
    case PC_ALL:
        tv = T;
        for (size_t i = 0; i < c->nkids; i++) {
            int8_t t = eval_cond(ev, c->kids[i]);
            if (t == F) {
                tv = F;
                break;
            }
            if (t == U)
                tv = U;
        }
        break;
    case PC_ANY:
        tv = F;
        for (size_t i = 0; i < c->nkids; i++) {
            int8_t t = eval_cond(ev, c->kids[i]);
            if (t == T) {
                tv = T;
                break;
            }
            if (t == U)
                tv = U;
        }
        break;
    case PC_NOT: {
        int8_t t = eval_cond(ev, c->kids[0]);
        tv = t == U ? U : t == T ? F : T;
        break;
    }
    case PC_CATEGORY: tv = c->ref_index >= 0 ? eval_item(ev, PI_CATEGORY, c->ref_index) : U; break;
    case PC_CONDITION: tv = c->ref_index >= 0 ? eval_item(ev, PI_CONDITION, c->ref_index) : U; break;
    case PC_PREREQ: tv = eval_item(ev, PI_PREREQ, c->ref_index); break;
    case PC_DISQUAL: tv = eval_item(ev, PI_DISQUAL, c->ref_index); break;
    case PC_TARGETS: tv = eval_target(ev); break;
    }
    ev->node_gen[c->id] = ev->gen;
    ev->node_tv[c->id] = tv;
    return tv;
}

static int8_t eval_item(yz_evaluator *ev, pikind k, int idx)
{
    if (ev->item_gen[k][idx] == ev->gen)
        return ev->item_tv[k][idx] == 3 ? U : ev->item_tv[k][idx];
    ev->item_gen[k][idx] = ev->gen;
    ev->item_tv[k][idx] = 3; /* in progress: a cycle reads unknown (lint refuses cycles) */
    const pitem *it = &ev->pol->items[k][idx];
    int8_t tv;
    if (k != PI_CONDITION && !in_force(it, ev->as_of))
        tv = k == PI_PREREQ ? T : F; /* an item not in force asks and grants nothing */
    else
        tv = eval_cond(ev, it->full ? it->full : it->when);
    ev->item_tv[k][idx] = tv;
    return tv;
}

/* ------------------------------------------------------------------------------------------ */
/* explanations */

typedef struct xbuild {
    yz_evaluator *ev;
    ditem *di;
    size_t ccap;
    int *leaves;
    size_t nleaves, lcap;
    const ditem **refs; /* items whose missing fields carry over */
    size_t nrefs, rcap;
} xbuild;

static const char *interpolate(yz_evaluator *ev, const char *tmpl);

static void add_entry(xbuild *x, const char *text, int8_t result, const ploc *loc, int depth, const leafrec *lr,
                      const char *fail_text, const char *text_json)
{
    ditem *di = x->di;
    const char *shown = interpolate(x->ev, text);
    if (shown != text) {
        fail_text = NULL; /* the text changed with the date: the ready-made ones do not fit */
        text_json = NULL;
    }
    text = shown;
    if (di->nconds == x->ccap) {
        x->ccap = x->ccap ? x->ccap * 2 : 8;
        dcond *n = arena_alloc(&x->ev->det->mem, x->ccap * sizeof *n);
        if (di->nconds)
            memcpy(n, di->conds, di->nconds * sizeof *n);
        di->conds = n;
    }
    dcond *c = &di->conds[di->nconds++];
    c->text = text;
    c->result = result;
    c->rule = loc ? loc->rule : NULL;
    c->note = lr ? lr->note : NULL;
    c->error = lr ? lr->error : NULL;
    c->depth = depth;
    c->fail_text = fail_text;
    c->text_json = text_json;
}

static void add_leafref(xbuild *x, int leaf)
{
    for (size_t i = 0; i < x->nleaves; i++)
        if (x->leaves[i] == leaf)
            return;
    if (x->nleaves == x->lcap) {
        x->lcap = x->lcap ? x->lcap * 2 : 16;
        x->leaves = yz_realloc(x->leaves, x->lcap * sizeof *x->leaves);
    }
    x->leaves[x->nleaves++] = leaf;
}

static void add_ref(xbuild *x, const ditem *d)
{
    if (!d)
        return;
    if (x->nrefs == x->rcap) {
        x->rcap = x->rcap ? x->rcap * 2 : 8;
        x->refs = yz_realloc(x->refs, x->rcap * sizeof *x->refs);
    }
    x->refs[x->nrefs++] = d;
}

static const ditem *build_item(yz_evaluator *ev, pikind k, int idx);

static int8_t memo_tv(yz_evaluator *ev, const pcond *c)
{
    return ev->node_gen[c->id] == ev->gen ? ev->node_tv[c->id] : -1;
}

static const char *leaf_text(const pcond *c)
{
    return c->text ? c->text : c->expr;
}

static void explain(xbuild *x, const pcond *c, int depth, bool emit)
{
    yz_evaluator *ev = x->ev;
    int8_t tv = memo_tv(ev, c);
    if (tv < 0)
        return;
    const ppolicy *pol = ev->pol;
    switch (c->kind) {
    case PC_LEAF:
        if (emit)
            add_entry(x, leaf_text(c), tv, &c->loc, depth, &ev->leafrec[c->leaf], c->fail_text, c->text_json);
        add_leafref(x, c->leaf);
        return;
    case PC_ALL:
    case PC_ANY: {
        if (c->text && emit) {
            add_entry(x, c->text, tv, &c->loc, depth, NULL, c->fail_text, c->text_json);
            depth++;
        }
        int8_t decisive = c->kind == PC_ALL ? F : T;
        for (size_t i = 0; i < c->nkids; i++) {
            int8_t kt = memo_tv(ev, c->kids[i]);
            if (kt < 0)
                continue;
            if (tv == decisive) {
                if (kt == decisive) {
                    explain(x, c->kids[i], depth, emit);
                    break;
                }
            } else if (tv == U) {
                if (kt == U)
                    explain(x, c->kids[i], depth, emit);
            } else {
                explain(x, c->kids[i], depth, emit);
            }
        }
        return;
    }
    case PC_NOT: {
        const pcond *kid = c->kids[0];
        if (emit) {
            if (c->text) {
                add_entry(x, c->text, tv, &c->loc, depth, kid->kind == PC_LEAF ? &ev->leafrec[kid->leaf] : NULL,
                          c->fail_text, c->text_json);
            } else if (kid->kind == PC_LEAF) {
                add_entry(x, kid->neg_text ? kid->neg_text : arena_printf(&ev->det->mem, "并非：%s", leaf_text(kid)), tv,
                          &kid->loc, depth, &ev->leafrec[kid->leaf], NULL, kid->neg_json);
            } else {
                add_entry(x, "并非以下情形", tv, &c->loc, depth, NULL, NULL, NULL);
                explain(x, kid, depth + 1, true);
                return;
            }
        }
        explain(x, kid, depth + 1, false);
        return;
    }
    case PC_CONDITION: {
        const pitem *it = &pol->items[PI_CONDITION][c->ref_index];
        if (emit)
            add_entry(x, c->text ? c->text : it->name ? it->name : it->id, tv, &c->loc, depth, NULL, c->fail_text,
                      c->text ? c->text_json : it->name_json);
        if (it->when)
            explain(x, it->when, depth + 1, emit);
        return;
    }
    case PC_PREREQ:
    case PC_DISQUAL:
    case PC_CATEGORY: {
        pikind k = c->kind == PC_PREREQ ? PI_PREREQ : c->kind == PC_DISQUAL ? PI_DISQUAL : PI_CATEGORY;
        const pitem *it = &pol->items[k][c->ref_index];
        if (emit)
            add_entry(x, c->text ? c->text : it->ref_text, tv, &it->loc, depth, NULL,
                      c->text ? c->fail_text : it->ref_fail, c->text ? c->text_json : it->ref_text_json);
        add_ref(x, build_item(ev, k, c->ref_index));
        return;
    }
    case PC_TARGETS:
        if (emit)
            add_entry(x, c->text ? c->text : "属于就业援助对象", tv, NULL, depth, NULL, NULL, NULL);
        if (tv == U) {
            for (size_t i = 0; i < pol->nitems[PI_CATEGORY]; i++)
                if (ev->item_gen[PI_CATEGORY][i] == ev->gen && ev->item_tv[PI_CATEGORY][i] == U)
                    add_ref(x, build_item(ev, PI_CATEGORY, (int)i));
        }
        return;
    }
}

static int cmp_dkv(const void *a, const void *b)
{
    return strcmp(((const dkv *)a)->key, ((const dkv *)b)->key);
}

static int cmp_missing(const void *a, const void *b)
{
    return strcmp(((const dmissing *)a)->field, ((const dmissing *)b)->field);
}

static void add_kv(arena *m, dkv **arr, size_t *n, size_t *cap, const char *key, const char *json)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*arr)[i].key, key))
            return;
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        dkv *na = arena_alloc(m, *cap * sizeof *na);
        if (*n)
            memcpy(na, *arr, *n * sizeof *na);
        *arr = na;
    }
    (*arr)[*n].key = key;
    (*arr)[*n].json = json;
    (*n)++;
}

static void add_missing(arena *m, dmissing **arr, size_t *n, size_t *cap, const dmissing *mi)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*arr)[i].field, mi->field))
            return;
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        dmissing *na = arena_alloc(m, *cap * sizeof *na);
        if (*n)
            memcpy(na, *arr, *n * sizeof *na);
        *arr = na;
    }
    (*arr)[(*n)++] = *mi;
}

static const char *json_of(arena *m, const yj *v, strbuf *tmp)
{
    sb_clear(tmp);
    yj_write_canonical(tmp, v);
    return arena_strndup(m, tmp->buf, tmp->len);
}

static void missing_of(yz_evaluator *ev, const readent *e, dmissing *mi)
{
    arena *m = &ev->det->mem;
    strbuf p = STRBUF_INIT;
    const snode *sn;
    if (e->child) {
        yval_child_path(e->obj, e->child, &p);
        sn = e->child;
    } else {
        yval_path(e->obj, &p);
        sb_addf(&p, "[%d]", e->index);
        sn = e->obj->sn->items;
    }
    mi->field = arena_strndup(m, p.buf, p.len);
    mi->label = sn->label;
    mi->document = sn->evidence;
    mi->doc_name = sn->evidence ? schema_doc_name(schema_applicant(), sn->evidence) : NULL;
    sb_free(&p);
}

/* fields, parameters and missing fields from the leaves an explanation used */
static void collect_reads(xbuild *x)
{
    yz_evaluator *ev = x->ev;
    ditem *di = x->di;
    arena *m = &ev->det->mem;
    size_t fcap = 0, pcap = 0, mcap = 0;
    strbuf tmp = STRBUF_INIT, p = STRBUF_INIT;
    for (size_t i = 0; i < x->nleaves; i++) {
        const leafrec *lr = &ev->leafrec[x->leaves[i]];
        bool unknown = ev->node_tv[ev->rs->leaves[x->leaves[i]]->id] == U;
        if (unknown && lr->error && !di->error)
            di->error = lr->error;
        for (uint32_t k = lr->log_start; k < lr->log_end; k++) {
            const readent *e = &ev->vc.log[k];
            if (e->kind == RL_FIELD) {
                sb_clear(&p);
                if (e->val->index >= 0 || !e->obj)
                    yval_path(e->val, &p);
                else
                    yval_path(e->val, &p);
                add_kv(m, &di->fields, &di->nfields, &fcap, arena_strndup(m, p.buf, p.len), json_of(m, e->val->json, &tmp));
            } else if (e->kind == RL_PARAM) {
                const pparam *pp = &ev->pol->params[e->index];
                const yj *v = param_value_at(pp, ev->as_of);
                if (v)
                    add_kv(m, &di->params, &di->nparams, &pcap, pp->id, json_of(m, v, &tmp));
            } else if (unknown) {
                dmissing mi;
                missing_of(ev, e, &mi);
                add_missing(m, &di->missing, &di->nmissing, &mcap, &mi);
            }
        }
    }
    if (di->status == YZ_UNDETERMINED) {
        for (size_t r = 0; r < x->nrefs; r++)
            for (size_t j = 0; j < x->refs[r]->nmissing; j++)
                add_missing(m, &di->missing, &di->nmissing, &mcap, &x->refs[r]->missing[j]);
    } else {
        di->nmissing = 0;
    }
    /* qsort's array may not be NULL even when empty (UBSan: nonnull) */
    if (di->nfields)
        qsort(di->fields, di->nfields, sizeof *di->fields, cmp_dkv);
    if (di->nparams)
        qsort(di->params, di->nparams, sizeof *di->params, cmp_dkv);
    if (di->nmissing)
        qsort(di->missing, di->nmissing, sizeof *di->missing, cmp_missing);
    sb_free(&tmp);
    sb_free(&p);
}

/* "{P.name}" in reason texts becomes the parameter's value on the as-of date */
static const char *interpolate(yz_evaluator *ev, const char *tmpl)
{
    if (!strchr(tmpl, '{'))
        return tmpl;
    strbuf sb = STRBUF_INIT;
    for (const char *p = tmpl; *p;) {
        if (p[0] == '{' && p[1] == 'P' && p[2] == '.') {
            const char *e = strchr(p, '}');
            if (e) {
                char name[128];
                snprintf(name, sizeof name, "%.*s", (int)(e - p - 3), p + 3);
                const pparam *pp = policy_param(ev->pol, name);
                const yj *v = pp ? param_value_at(pp, ev->as_of) : NULL;
                if (v && yj_typeof(v) == YJ_STRING)
                    sb_adds(&sb, yj_str(v));
                else if (v)
                    yj_write_canonical(&sb, v);
                else
                    sb_add(&sb, p, (size_t)(e - p + 1));
                p = e + 1;
                continue;
            }
        }
        sb_addc(&sb, *p++);
    }
    const char *r = arena_strndup(&ev->det->mem, sb.buf, sb.len);
    sb_free(&sb);
    return r;
}

static const char *default_reason(yz_evaluator *ev, const ditem *di)
{
    arena *m = &ev->det->mem;
    const pitem *it = di->it;
    if (di->status == YZ_MET)
        return it->txt_met;
    if (di->status == YZ_NOT_MET) {
        for (size_t i = 0; i < di->nconds; i++)
            if (di->conds[i].result == F)
                return di->conds[i].fail_text ? di->conds[i].fail_text
                                              : arena_printf(m, "不满足：%s", di->conds[i].text);
        return it->txt_not;
    }
    if (di->error)
        return arena_printf(m, "规则执行出错，无法确定：%s", di->error);
    if (di->nmissing) {
        strbuf sb = STRBUF_INIT;
        sb_adds(&sb, "尚缺信息，无法确定：");
        for (size_t i = 0; i < di->nmissing && i < 6; i++)
            sb_addf(&sb, "%s%s", i ? "、" : "", di->missing[i].label ? di->missing[i].label : di->missing[i].field);
        const char *r = arena_strndup(m, sb.buf, sb.len);
        sb_free(&sb);
        return r;
    }
    return "无法确定";
}

static const yval *record_slot(const yval *obj, const char *key)
{
    const snode *sn = snode_child(obj->sn, key, strlen(key));
    return sn ? obj->kids[sn->pos] : NULL;
}

static bool evidence_seen(yz_evaluator *ev, const char *doc)
{
    const yval *list = record_slot(ev->root, "evidence");
    if (!list)
        return false;
    for (uint32_t i = 0; i < list->n; i++)
        if (list->kids[i] && !strcmp(yj_str(list->kids[i]->json), doc))
            return true;
    return false;
}

static void add_months_date(const char *as_of, int64_t months, char *out)
{
    yz_date d;
    yz_date_parse(as_of, strlen(as_of), &d);
    long total = (long)d.y * 12 + (d.m - 1) + (long)months;
    yz_date e = {(int)(total / 12), (int)(total % 12) + 1, d.d};
    int dim = yz_days_in_month(e.y, e.m);
    if (e.d > dim)
        e.d = dim;
    yz_date_format(yz_days_to_date(yz_date_to_days(e) - 1), out);
}

static void subsidy_amounts(yz_evaluator *ev, ditem *di, xbuild *x)
{
    const pitem *it = di->it;
    di->months = -1;
    di->total_fen = -1;
    if (di->status != YZ_MET)
        return;
    int64_t amount = 0, months = -1;
    vstatus vs = it->amount ? eval_int(ev, it->amount, INT64_C(1000000000000), "the amount", &amount) : V_ERROR;
    if (x && it->amount)
        add_leafref(x, it->amount->leaf);
    if (vs == V_OK && it->months) {
        vs = eval_int(ev, it->months, 1200, "the number of months", &months);
        if (x)
            add_leafref(x, it->months->leaf);
    }
    /* memo so the explanation sees these formulas as decisive */
    if (it->amount) {
        ev->node_gen[it->amount->id] = ev->gen;
        ev->node_tv[it->amount->id] = vs == V_OK ? T : U;
    }
    if (it->months) {
        ev->node_gen[it->months->id] = ev->gen;
        ev->node_tv[it->months->id] = vs == V_OK ? T : U;
    }
    if (vs != V_OK) {
        di->status = YZ_UNDETERMINED;
        return;
    }
    di->amount_fen = amount;
    di->start = ev->as_of;
    if (it->months) {
        if (months == 0) {
            di->status = YZ_NOT_MET;
            const leafrec *lr = &ev->leafrec[it->months->leaf];
            di->reason = lr->note ? lr->note : "可享受期限已用完";
            return;
        }
        di->months = months;
        char end[11];
        add_months_date(ev->as_of, months, end);
        di->end = arena_strdup(&ev->det->mem, end);
    } else {
        di->end = ev->as_of;
    }
    if (it->per && !strcmp(it->per, "month") && months > 0)
        di->total_fen = amount * months;
    else if (it->per && !strcmp(it->per, "once"))
        di->total_fen = amount;
    if (it->amount) {
        const leafrec *lr = &ev->leafrec[it->amount->leaf];
        di->amount_note = lr->note;
    }
}

static void add_unverified(yz_evaluator *ev, ditem *di, const char *what)
{
    for (size_t i = 0; i < di->nunverified; i++)
        if (!strcmp(di->unverified[i], what))
            return;
    const char **n = arena_alloc(&ev->det->mem, (di->nunverified + 1) * sizeof *n);
    if (di->nunverified)
        memcpy(n, di->unverified, di->nunverified * sizeof *n);
    n[di->nunverified++] = what;
    di->unverified = n;
}

/* an outcome is only as verified as the item, the texts it cites and the parameters it used */
static void mark_unverified(yz_evaluator *ev, ditem *di)
{
    const pitem *it = di->it;
    if (!it->verified)
        add_unverified(ev, di, "item");
    for (size_t i = 0; i < it->nbasis; i++)
        if (it->basis[i].src && !it->basis[i].src->verified)
            add_unverified(ev, di, it->basis[i].unverified);
    for (size_t i = 0; i < di->nparams; i++) {
        const pparam *p = policy_param(ev->pol, di->params[i].key);
        if (p && !p->verified)
            add_unverified(ev, di, p->unverified);
    }
}

static const ditem *build_item(yz_evaluator *ev, pikind k, int idx)
{
    if (ev->item_built[k][idx])
        return ev->item_built[k][idx];
    const pitem *it = &ev->pol->items[k][idx];
    ditem *di = arena_alloc(&ev->det->mem, sizeof *di);
    memset(di, 0, sizeof *di);
    ev->item_built[k][idx] = di;
    di->it = it;
    int8_t tv = eval_item(ev, k, idx);
    di->status = tv == T ? YZ_MET : tv == F ? YZ_NOT_MET : YZ_UNDETERMINED;
    xbuild x = {ev, di, 0, NULL, 0, 0, NULL, 0, 0};
    bool explain_on = ev->det->explained;
    if (explain_on)
        explain(&x, it->full ? it->full : it->when, 0, true);
    if (k == PI_SUBSIDY)
        subsidy_amounts(ev, di, explain_on ? &x : NULL);
    if (explain_on) {
        collect_reads(&x);
        if (it->terms)
            di->terms = interpolate(ev, it->terms);
        mark_unverified(ev, di);
        if (!di->reason) {
            const char *tmpl = it->reason[di->status];
            di->reason = tmpl ? interpolate(ev, tmpl) : default_reason(ev, di);
        }
        if (di->status == YZ_MET && it->nevidence) {
            di->pending = arena_alloc(&ev->det->mem, it->nevidence * sizeof(char *));
            for (size_t i = 0; i < it->nevidence; i++)
                if (!evidence_seen(ev, it->evidence[i]))
                    di->pending[di->npending++] = it->evidence[i];
        }
    }
    yz_free(x.leaves);
    yz_free(x.refs);
    return di;
}

/* ------------------------------------------------------------------------------------------ */

typedef struct bindctx {
    yz_evaluator *ev;
    const yz_record *rec;
    const char *as_of;
    const ppolicy *pol;
    int rc;
} bindctx;

/* pops the value on top into the registry slot *ref (taken on first use, then overwritten) */
static void ref_set(lua_State *L, int *ref)
{
    if (*ref == LUA_NOREF)
        *ref = luaL_ref(L, LUA_REGISTRYINDEX);
    else
        lua_rawseti(L, LUA_REGISTRYINDEX, *ref);
}

static int bind_fn(lua_State *L, void *ud)
{
    bindctx *bc = ud;
    yz_evaluator *ev = bc->ev;
    const ppolicy *pol = bc->pol;
    const char *as_of = bc->as_of;
    if (push_env(ev, &ev->err) != 0) {
        bc->rc = YZ_EPOLICY;
        return 0;
    }
    view_push_record(L, &ev->vc, bc->rec->root);
    lua_pushvalue(L, -1);
    ref_set(L, &ev->r_ref);
    sandbox_env_set(ev->sb, -2, "r");
    if (ev->params_pol != pol || strcmp(ev->params_asof, as_of) != 0) {
        if (ev->params_ref != LUA_NOREF)
            luaL_unref(L, LUA_REGISTRYINDEX, ev->params_ref);
        ev->params_ref = LUA_NOREF;
        ev->params_pol = NULL;
        view_push_params(L, &ev->vc, pol, as_of);
        ev->params_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        ev->params_pol = pol;
        snprintf(ev->params_asof, sizeof ev->params_asof, "%s", as_of);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, ev->params_ref);
    sandbox_env_set(ev->sb, -2, "P");
    lua_pushstring(L, as_of);
    lua_pushvalue(L, -1);
    ref_set(L, &ev->asof_ref);
    sandbox_env_set(ev->sb, -2, "as_of");
    lua_pop(L, 1);
    return 0;
}

static int evaluate_in(yz_evaluator *ev, const yz_record *rec, const char *as_of, bool explained,
                       yz_determination **out, yz_diags *d);

/* Every record is decided as if it were the first of a new evaluator (as check decides it, and
 * replay): a record that wore the state out (deep recursion, a large allocation, a stop by the
 * memory cap) leaves a fresh state to the next one, and a record that came near the memory cap
 * in a state that had decided others first is decided again in a fresh state, since what the
 * earlier records left there (see yz_sandbox.h) could have moved it across. */
static int evaluate(yz_evaluator *ev, const yz_record *rec, const char *as_of, bool explained,
                    yz_determination **out, yz_diags *d)
{
    int rc;
    if (ev->worn && !ev->sb->host_failed && (rc = evaluator_renew(ev, d)) != YZ_OK)
        return rc;
    for (;;) {
        bool fresh = ev->fresh;
        sandbox_mark(ev->sb);
        rc = evaluate_in(ev, rec, as_of, explained, out, d);
        ev->fresh = false;
        ev->worn = sandbox_worn(ev->sb);
        if (rc != YZ_OK || fresh || !sandbox_near_cap(ev->sb))
            return rc;
        yz_determination_free(*out);
        *out = NULL;
        if ((rc = evaluator_renew(ev, d)) != YZ_OK)
            return rc;
    }
}

static int evaluate_in(yz_evaluator *ev, const yz_record *rec, const char *as_of, bool explained,
                       yz_determination **out, yz_diags *d)
{
    *out = NULL;
    sb_clear(&ev->slow);
    if (ev->sb->host_failed) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0,
                 "out of memory earlier: this evaluator cannot be used any more (free it and make another)");
        return YZ_ENOMEM;
    }
    yz_date dt;
    if (!as_of || !yz_date_parse(as_of, strlen(as_of), &dt)) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "as-of date '%s' is not a real date; write YYYY-MM-DD", as_of ? as_of : "");
        return YZ_EUSAGE;
    }
    const ppolicy *pol = ruleset_policy_at(ev->rs, as_of);
    if (!pol)
        return yz_ruleset_in_force(ev->rs, as_of, d);
    yz_determination *det = yz_calloc(1, sizeof *det);
    arena_init(&det->mem, 16 * 1024);
    det->explained = explained;
    det->province = ev->rs->province;
    det->ruleset = ev->rs->id;
    det->as_of = arena_strdup(&det->mem, as_of);
    det->id_number = arena_strdup(&det->mem, rec->id_number);
    det->pol = pol;
    ev->det = det;
    ev->pol = pol;
    ev->as_of = det->as_of;
    ev->root = rec->root;
    ev->gen++;
    if (ev->gen == 0) {
        /* wrapped: clear the memo stamps */
        memset(ev->node_gen, 0, ev->rs->nnodes * sizeof *ev->node_gen);
        for (int k = 0; k < 5; k++)
            memset(ev->item_gen[k], 0, (ev->max_items + 1) * sizeof(uint32_t));
        ev->gen = 1;
    }
    for (int k = 0; k < 5; k++)
        memset(ev->item_built[k], 0, (ev->max_items + 1) * sizeof(ditem *));
    ev->vc.n = 0;
    ev->vc.pol = pol;

    /* bind r, P and as_of in the policy's environment (the only step that allocates in Lua
       outside the rules themselves) */
    bindctx bc = {ev, rec, as_of, pol, YZ_OK};
    sb_clear(&ev->err);
    sb_status bs = sandbox_protect(ev->sb, bind_fn, &bc, 0, NULL);
    if (bs != SB_OK) {
        yz_determination_free(det);
        ev->det = NULL;
        if (bs == SB_NOMEM) {
            no_memory(d);
            return YZ_ENOMEM;
        }
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "internal error: binding the record in the rule sandbox failed");
        return YZ_EINTERNAL;
    }
    if (bc.rc != YZ_OK) {
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0, "the rule library failed to load: %s", sb_str(&ev->err));
        yz_determination_free(det);
        ev->det = NULL;
        return bc.rc;
    }

    /* evaluate: everything in force, in file order.  From here on no Lua API call allocates
       outside a rule's call, so a refusal of memory can only surface as SB_NOMEM from a call, which
       makes its item undetermined like any failed rule: the determination is then thrown away
       below, never returned. */
    static const pikind order[] = {PI_PREREQ, PI_DISQUAL, PI_CATEGORY, PI_SUBSIDY};

    for (size_t o = 0; o < 4; o++) {
        pikind k = order[o];
        size_t n = 0;
        for (size_t i = 0; i < pol->nitems[k]; i++)
            n += in_force(&pol->items[k][i], as_of);
        det->items[k] = arena_alloc(&det->mem, (n ? n : 1) * sizeof(ditem));
        for (size_t i = 0; i < pol->nitems[k]; i++) {
            if (!in_force(&pol->items[k][i], as_of))
                continue;
            det->items[k][det->nitems[k]++] = *build_item(ev, k, (int)i);
        }
    }
    int8_t tt = eval_target(ev);
    det->target = tt == T ? YZ_MET : tt == F ? YZ_NOT_MET : YZ_UNDETERMINED;

    /* subsidies that cannot be combined, both eligible now */
    for (size_t i = 0; i < det->nitems[PI_SUBSIDY]; i++) {
        ditem *a = &det->items[PI_SUBSIDY][i];
        if (a->status != YZ_MET)
            continue;
        for (size_t j = 0; j < det->nitems[PI_SUBSIDY]; j++) {
            ditem *b = &det->items[PI_SUBSIDY][j];
            if (i == j || b->status != YZ_MET)
                continue;
            bool ex = false;
            for (size_t e = 0; e < a->it->nexcl; e++)
                ex |= !strcmp(a->it->excludes[e], b->it->id);
            for (size_t e = 0; e < b->it->nexcl; e++)
                ex |= !strcmp(b->it->excludes[e], a->it->id);
            if (!ex)
                continue;
            if (!a->exclusive_with)
                a->exclusive_with = arena_alloc(&det->mem, det->nitems[PI_SUBSIDY] * sizeof(char *));
            a->exclusive_with[a->nexclusive++] = b->it->id;
        }
    }
    if (explained) {
        arena *m = &det->mem;
        size_t mcap = 0;
        if (det->target == YZ_MET) {
            strbuf sb = STRBUF_INIT;
            sb_adds(&sb, "属于就业援助对象：");
            size_t n = 0;
            for (size_t i = 0; i < det->nitems[PI_CATEGORY]; i++)
                if (det->items[PI_CATEGORY][i].status == YZ_MET)
                    sb_addf(&sb, "%s%s", n++ ? "、" : "", det->items[PI_CATEGORY][i].it->name);
            det->target_reason = arena_strndup(m, sb.buf, sb.len);
            sb_free(&sb);
        } else if (det->target == YZ_NOT_MET) {
            det->target_reason = "不属于就业援助对象：不符合任何认定类别";
        } else {
            det->target_reason = "尚无法确定是否属于就业援助对象：部分类别缺少信息";
        }
        for (int k = PI_PREREQ; k <= PI_SUBSIDY; k++) {
            if (k == PI_CONDITION)
                continue;
            for (size_t i = 0; i < det->nitems[k]; i++) {
                const ditem *di = &det->items[k][i];
                if (di->status != YZ_UNDETERMINED)
                    continue;
                for (size_t j = 0; j < di->nmissing; j++)
                    add_missing(m, &det->missing, &det->nmissing, &mcap, &di->missing[j]);
            }
        }
        if (det->nmissing)
            qsort(det->missing, det->nmissing, sizeof *det->missing, cmp_missing);
    }
    sandbox_restore(ev->sb);
    ev->det = NULL;
    if (ev->sb->host_failed) {
        /* some rule met a refusal of memory: its item would read "undetermined" for a reason that
           has nothing to do with the record, and would be recorded so */
        yz_determination_free(det);
        no_memory(d);
        return YZ_ENOMEM;
    }
    if (ev->slow.len) {
        /* an outcome that depends on the speed of the machine cannot be replayed */
        yz_determination_free(det);
        diag_add(d, YZ_SEV_ERROR, NULL, 0, 0,
                 "%s; nothing was decided, since an outcome must not depend on how fast the machine is: "
                 "make the rule do less work per call",
                 ev->slow.buf);
        sb_clear(&ev->slow);
        return YZ_EPOLICY;
    }
    *out = det;
    return YZ_OK;
}

typedef struct envctx {
    yz_evaluator *ev;
    strbuf *err;
    int rc;
} envctx;

static int env_fn(lua_State *L, void *ud)
{
    envctx *x = ud;
    x->rc = push_env(x->ev, x->err);
    if (x->rc == 0)
        lua_pop(L, 1);
    return 0;
}

int eval_check_helpers(const yz_ruleset *rs, yz_diags *d)
{
    yz_evaluator *ev;
    int rc = yz_evaluator_new(rs, NULL, &ev, d);
    if (rc == YZ_ENOMEM)
        yz_out_of_memory(0); /* lint reports policies; it cannot say anything about this one */
    if (rc != YZ_OK)
        return rc;
    for (size_t i = 0; i < rs->npolicies && rc == YZ_OK; i++) {
        ev->pol = rs->policies[i];
        strbuf err = STRBUF_INIT;
        envctx x = {ev, &err, -1};
        sandbox_protect(ev->sb, env_fn, &x, 0, NULL);
        if (ev->sb->host_failed) {
            sb_free(&err);
            yz_evaluator_free(ev);
            yz_out_of_memory(0); /* not a helper that fails to load */
        }
        if (x.rc == 0) {
            /* loaded */
        } else {
            /* "path:line: message" or "path: message", path a logical one: show the file as the
               person named it, at its line */
            const char *msg = sb_str(&err), *file = NULL;
            int line = 0;
            for (size_t f = 0; f < rs->nfiles && !file; f++) {
                size_t n = strlen(rs->files[f].path);
                if (!strncmp(msg, rs->files[f].path, n) && msg[n] == ':') {
                    file = rs->files[f].display;
                    msg += n + 1;
                    if (*msg >= '0' && *msg <= '9') {
                        line = atoi(msg);
                        while (*msg >= '0' && *msg <= '9')
                            msg++;
                        if (*msg == ':')
                            msg++;
                    }
                    while (*msg == ' ')
                        msg++;
                }
            }
            diag_add(d, YZ_SEV_ERROR, file, line, 0, "the Lua helpers fail while loading: %s", msg);
            rc = YZ_EPOLICY;
        }
        sb_free(&err);
    }
    yz_evaluator_free(ev);
    return rc;
}

int yz_evaluate(yz_evaluator *ev, const yz_record *rec, const char *as_of, yz_determination **out, yz_diags *d)
{
    return evaluate(ev, rec, as_of, true, out, d);
}

int yz_evaluate_brief(yz_evaluator *ev, const yz_record *rec, const char *as_of, yz_determination **out, yz_diags *d)
{
    return evaluate(ev, rec, as_of, false, out, d);
}

void yz_determination_free(yz_determination *det)
{
    if (!det)
        return;
    arena_free(&det->mem);
    yz_free(det);
}

yz_status yz_determination_target(const yz_determination *det)
{
    return det->target;
}

size_t yz_determination_count(const yz_determination *det, yz_item_kind kind)
{
    return det->nitems[kind == YZ_ITEM_CATEGORY ? PI_CATEGORY : PI_SUBSIDY];
}

void yz_determination_item(const yz_determination *det, yz_item_kind kind, size_t i, yz_item_info *info)
{
    const ditem *di = &det->items[kind == YZ_ITEM_CATEGORY ? PI_CATEGORY : PI_SUBSIDY][i];
    info->id = di->it->id;
    info->name = di->it->name;
    info->status = di->status;
    info->amount_fen = di->amount_fen;
    info->months = di->months;
    info->period = di->it->per;
}

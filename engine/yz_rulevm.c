/* yz_rulevm.c: the Lua side of evaluation (see yz_rulevm.h): an evaluator's sandboxed state, the
 * environments of a ruleset's policies, its compiled leaves, and the record bound for each call. */
#include "yz_rulevm.h"

#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yz_diag.h"
#include "yz_sandbox.h"

#define DATED_VIEWS 4

struct rulevm {
    const yz_ruleset *rs;
    sandbox *sb;
    viewctx vc;
    const ppolicy *pol;  /* the policy whose environment leaves run in */
    int *env_refs;       /* per policy */
    int leaves_ref;      /* compiled leaves by leaf id + 1 */
    uint8_t *leaf_state; /* 0 not compiled, 1 compiled, 2 failed */
    char **leaf_err;
    const char **chunk_names;
    int r_ref, asof_ref; /* this record's view and date, passed to every condition */
    /* parameter view cache */
    int params_ref;
    const ppolicy *params_pol;
    char params_asof[11];
    /* parameter views for other dates (a subsidy's schedule), for params_pol */
    int dated_refs[DATED_VIEWS];
    char dated_dates[DATED_VIEWS][11];
    size_t dated_next;
    strbuf tmp, err;
    strbuf slow; /* this record: the first call stopped by the CPU-time backstop, located */
    /* the state decided nothing yet / a record wore it out (see sandbox_worn) */
    bool fresh, worn;
    bool first; /* this record is the first the state decides */
    /* the chunks of an environment (rule library, then a policy's helpers) */
    const char **env_srcs;
    size_t *env_lens;
    int *env_ids;
};

/* the views and the table of compiled leaves, sized so that storing a leaf never allocates */
static int setup_fn(lua_State *L, void *ud)
{
    rulevm *vm = ud;
    view_init(vm->sb, &vm->vc);
    lua_createtable(L, (int)vm->rs->nleaves, 0);
    vm->leaves_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

int rvm_new(const yz_ruleset *rs, const yz_limits *limits, void *(*host_realloc)(void *p, size_t n), rulevm **out)
{
    *out = NULL;
    rulevm *vm = yz_calloc(1, sizeof *vm);
    vm->rs = rs;
    vm->sb = sandbox_new(limits, host_realloc);
    if (!vm->sb) {
        yz_free(vm);
        return YZ_ENOMEM;
    }
    vm->chunk_names = yz_calloc(rs->nfiles ? rs->nfiles : 1, sizeof(char *));
    for (size_t i = 0; i < rs->nfiles; i++)
        vm->chunk_names[i] = rs->files[i].path;
    vm->sb->chunk_names = vm->chunk_names;
    vm->sb->nchunk_names = rs->nfiles;
    size_t nchunks = rs->nlib;
    for (size_t p = 0; p < rs->npolicies; p++)
        if (rs->nlib + rs->policies[p]->nlua > nchunks)
            nchunks = rs->nlib + rs->policies[p]->nlua;
    vm->env_srcs = yz_malloc((nchunks ? nchunks : 1) * sizeof *vm->env_srcs);
    vm->env_lens = yz_malloc((nchunks ? nchunks : 1) * sizeof *vm->env_lens);
    vm->env_ids = yz_malloc((nchunks ? nchunks : 1) * sizeof *vm->env_ids);
    vm->env_refs = yz_malloc((rs->npolicies ? rs->npolicies : 1) * sizeof(int));
    for (size_t i = 0; i < rs->npolicies; i++)
        vm->env_refs[i] = LUA_NOREF;
    vm->params_ref = LUA_NOREF;
    for (size_t i = 0; i < DATED_VIEWS; i++)
        vm->dated_refs[i] = LUA_NOREF;
    vm->r_ref = LUA_NOREF;
    vm->asof_ref = LUA_NOREF;
    vm->leaf_state = yz_calloc(rs->nleaves ? rs->nleaves : 1, 1);
    vm->leaf_err = yz_calloc(rs->nleaves ? rs->nleaves : 1, sizeof(char *));
    vm->leaves_ref = LUA_NOREF;
    if (sandbox_protect(vm->sb, setup_fn, vm, 0, NULL) != SB_OK) {
        rvm_free(vm);
        return YZ_ENOMEM;
    }
    vm->fresh = true;
    *out = vm;
    return YZ_OK;
}

void rvm_free(rulevm *vm)
{
    if (!vm)
        return;
    sandbox_free(vm->sb);
    for (size_t i = 0; i < vm->rs->nleaves; i++)
        yz_free(vm->leaf_err[i]);
    yz_free(vm->leaf_err);
    yz_free(vm->leaf_state);
    yz_free(vm->env_refs);
    yz_free(vm->env_srcs);
    yz_free(vm->env_lens);
    yz_free(vm->env_ids);
    yz_free(vm->chunk_names);
    yz_free(vm->vc.log);
    sb_free(&vm->vc.tmp);
    sb_free(&vm->tmp);
    sb_free(&vm->err);
    sb_free(&vm->slow);
    yz_free(vm);
}

bool rvm_failed(const rulevm *vm)
{
    return vm->sb->host_failed;
}

const readent *rvm_log(const rulevm *vm)
{
    return vm->vc.log;
}

const char *rvm_slow(const rulevm *vm)
{
    return vm->slow.len ? vm->slow.buf : NULL;
}

void rvm_end_record(rulevm *vm)
{
    sandbox_restore(vm->sb);
}

/* A new Lua state in place of the old, as rvm_new made it: nothing a record did to the old one
 * (its garbage, its grown stack) can reach the next record.  Compiled leaves are compiled again
 * on first use, as in a new evaluator. */
static int renew(rulevm *vm)
{
    sandbox *sb = sandbox_renew(vm->sb);
    if (sb) {
        sandbox_free(vm->sb);
        vm->sb = sb;
    }
    for (size_t i = 0; i < vm->rs->npolicies; i++)
        vm->env_refs[i] = LUA_NOREF;
    for (size_t i = 0; i < vm->rs->nleaves; i++)
        if (vm->leaf_state[i] == 1)
            vm->leaf_state[i] = 0;
    vm->params_ref = vm->r_ref = vm->asof_ref = vm->leaves_ref = LUA_NOREF;
    vm->params_pol = NULL;
    if (!sb || sandbox_protect(vm->sb, setup_fn, vm, 0, NULL) != SB_OK) {
        vm->sb->host_failed = true; /* the evaluator can only be freed */
        return YZ_ENOMEM;
    }
    vm->fresh = true;
    vm->worn = false;
    return YZ_OK;
}

int rvm_begin_record(rulevm *vm)
{
    if (vm->worn && !vm->sb->host_failed) {
        int rc = renew(vm);
        if (rc != YZ_OK)
            return rc;
    }
    vm->first = vm->fresh;
    sandbox_mark(vm->sb);
    return YZ_OK;
}

bool rvm_end_decided(rulevm *vm, bool decided)
{
    vm->fresh = false;
    vm->worn = sandbox_worn(vm->sb);
    return decided && !vm->first && sandbox_near_cap(vm->sb);
}

int rvm_renew(rulevm *vm)
{
    return renew(vm);
}

static int file_index(const yz_ruleset *rs, const char *path)
{
    for (size_t i = 0; i < rs->nfiles; i++)
        if (!strcmp(rs->files[i].path, path))
            return (int)i;
    return -1;
}

/* Pushes the environment of the current policy, building it on first use. */
static int push_env(rulevm *vm, strbuf *err)
{
    lua_State *L = vm->sb->L;
    int pi = vm->pol->index;
    if (vm->env_refs[pi] != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, vm->env_refs[pi]);
        return 0;
    }
    const yz_ruleset *rs = vm->rs;
    size_t n = rs->nlib + vm->pol->nlua;
    /* the evaluator's arrays: a memory error raised in sandbox_env_new leaks nothing */
    const char **srcs = vm->env_srcs;
    size_t *lens = vm->env_lens;
    int *ids = vm->env_ids;
    size_t k = 0;
    for (size_t i = 0; i < rs->nlib; i++, k++) {
        ids[k] = file_index(rs, rs->lib_files[i]);
        srcs[k] = rs->files[ids[k]].data;
        lens[k] = rs->files[ids[k]].len;
    }
    for (size_t i = 0; i < vm->pol->nlua; i++, k++) {
        ids[k] = file_index(rs, vm->pol->lua_files[i]);
        srcs[k] = rs->files[ids[k]].data;
        lens[k] = rs->files[ids[k]].len;
    }
    int rc = sandbox_env_new(vm->sb, srcs, lens, ids, n, rs->nlib, err);
    if (rc != 0)
        return -1;
    lua_pushvalue(L, -1);
    vm->env_refs[pi] = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

/* Pushes the compiled function of a leaf; returns -1 (nothing pushed) if it cannot compile. */
static int push_leaf(rulevm *vm, const pcond *c)
{
    lua_State *L = vm->sb->L;
    if (vm->leaf_state[c->leaf] == 1) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, vm->leaves_ref);
        lua_rawgeti(L, -1, c->leaf + 1);
        lua_remove(L, -2);
        return 0;
    }
    if (vm->leaf_state[c->leaf] == 2)
        return -1;
    /* a leaf that does not compile stays failed; one that met the system's refusal of memory does
       not (the evaluation fails as a whole, see evaluate) */
    strbuf err = STRBUF_INIT;
    if (push_env(vm, &err) != 0) {
        if (!vm->sb->host_failed) {
            vm->leaf_state[c->leaf] = 2;
            vm->leaf_err[c->leaf] = sb_release(&err);
        }
        sb_free(&err);
        return -1;
    }
    strbuf src = STRBUF_INIT;
    sandbox_leaf_source(c->expr, &src);
    int rc = sandbox_compile(vm->sb, -1, src.buf, src.len, file_index(vm->rs, c->loc.file), c->loc.line, &err);
    sb_free(&src);
    lua_remove(L, -2); /* env */
    if (rc != 0) {
        if (!vm->sb->host_failed) {
            vm->leaf_state[c->leaf] = 2;
            vm->leaf_err[c->leaf] = sb_release(&err);
        }
        sb_free(&err);
        return -1;
    }
    sb_free(&err);
    /* the table was made with a slot for every leaf: no allocation here */
    lua_rawgeti(L, LUA_REGISTRYINDEX, vm->leaves_ref);
    lua_pushvalue(L, -2);
    lua_rawseti(L, -2, c->leaf + 1);
    lua_pop(L, 1);
    vm->leaf_state[c->leaf] = 1;
    return 0;
}

/* bytes of a rule's note kept in a determination */
#define NOTE_MAX 500

/* a note a rule returned (the string at idx): valid UTF-8, at most NOTE_MAX bytes */
static const char *rule_note(arena *m, lua_State *L, int idx)
{
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    strbuf sb = STRBUF_INIT;
    sb_add_clean(&sb, s, n, NOTE_MAX);
    const char *r = arena_strndup(m, sb_str(&sb), sb.len);
    sb_free(&sb);
    return r;
}

/* an error message that says where: "file:line: message" */
static const char *located(arena *m, const pcond *c, const char *msg)
{
    if (yz_str_has_prefix(msg, c->loc.file))
        return arena_strdup(m, msg);
    return arena_printf(m, "%s:%d: %s", c->loc.file, c->loc.line, msg);
}

/* Calls a leaf with the parameter view in registry slot pref: leaves nresults values on the
 * stack when V_OK.  Records the read log range and the error into lr. */
static vstatus call_leaf_with(rulevm *vm, const pcond *c, int pref, int nresults, arena *m, leafrec *lr)
{
    lr->note = NULL;
    lr->error = NULL;
    lr->log_start = (uint32_t)vm->vc.n;
    if (push_leaf(vm, c) != 0) {
        lr->error = located(m, c, vm->leaf_err[c->leaf] ? vm->leaf_err[c->leaf] : "cannot compile");
        lr->log_end = lr->log_start;
        return V_ERROR;
    }
    sb_clear(&vm->tmp);
    lua_State *L = vm->sb->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, vm->r_ref);
    lua_rawgeti(L, LUA_REGISTRYINDEX, pref);
    lua_rawgeti(L, LUA_REGISTRYINDEX, vm->asof_ref);
    sb_status st = sandbox_call(vm->sb, 3, nresults, &vm->tmp);
    lr->log_end = (uint32_t)vm->vc.n;
    switch (st) {
    case SB_OK: return V_OK;
    case SB_UNKNOWN: return V_UNKNOWN;
    case SB_SLOW:
        lr->error = located(m, c, vm->tmp.buf);
        if (!vm->slow.len)
            sb_adds(&vm->slow, lr->error);
        return V_ERROR;
    default: lr->error = located(m, c, vm->tmp.buf); return V_ERROR;
    }
}

static vstatus call_leaf(rulevm *vm, const pcond *c, int nresults, arena *m, leafrec *lr)
{
    return call_leaf_with(vm, c, vm->params_ref, nresults, m, lr);
}

vstatus rvm_bool(rulevm *vm, const pcond *c, arena *m, leafrec *lr, int8_t *tv)
{
    lua_State *L = vm->sb->L;
    *tv = TV_U;
    vstatus vs = call_leaf(vm, c, 2, m, lr);
    if (vs != V_OK)
        return vs;
    if (lua_type(L, -2) == LUA_TBOOLEAN) {
        *tv = lua_toboolean(L, -2) ? TV_T : TV_F;
        if (lua_type(L, -1) == LUA_TSTRING)
            lr->note = rule_note(m, L, -1);
    } else {
        const char *what = lua_type(L, -2) == LUA_TNIL ? "nothing (nil)" : luaL_typename(L, -2);
        char buf[160];
        snprintf(buf, sizeof buf, "a condition must give true or false, this one gave %s", what);
        lr->error = located(m, c, buf);
        vs = V_ERROR;
    }
    lua_pop(L, 2);
    return vs;
}

/* amount and months formulas: an integer in [0, max], with the parameter view in slot pref */
static vstatus int_with(rulevm *vm, const pcond *c, int pref, int64_t max, const char *what, arena *m, leafrec *lr,
                        int64_t *out)
{
    lua_State *L = vm->sb->L;
    vstatus vs = call_leaf_with(vm, c, pref, 2, m, lr);
    if (vs != V_OK)
        return vs;
    char buf[200];
    if (lua_isinteger(L, -2)) {
        lua_Integer v = lua_tointeger(L, -2);
        if (v < 0 || v > max) {
            snprintf(buf, sizeof buf, "%s %lld is out of range (0 to %lld)", what, (long long)v, (long long)max);
            lr->error = located(m, c, buf);
            vs = V_ERROR;
        } else {
            *out = v;
            if (lua_type(L, -1) == LUA_TSTRING)
                lr->note = rule_note(m, L, -1);
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
        lr->error = located(m, c, buf);
        vs = V_ERROR;
    } else {
        snprintf(buf, sizeof buf, "%s must be a whole number, got %s", what,
                 lua_type(L, -2) == LUA_TNIL ? "nothing (nil)" : luaL_typename(L, -2));
        lr->error = located(m, c, buf);
        vs = V_ERROR;
    }
    lua_pop(L, 2);
    return vs;
}

vstatus rvm_int(rulevm *vm, const pcond *c, int64_t max, const char *what, arena *m, leafrec *lr, int64_t *out)
{
    return int_with(vm, c, vm->params_ref, max, what, m, lr, out);
}

typedef struct datedctx {
    rulevm *vm;
    const char *date;
    int ref;
} datedctx;

static int dated_fn(lua_State *L, void *ud)
{
    datedctx *x = ud;
    view_push_params(L, &x->vm->vc, x->vm->params_pol, x->date);
    x->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

/* the registry slot of the parameter view of the bound policy on another date, or LUA_NOREF when
   the system refused the memory */
static int params_ref_at(rulevm *vm, const char *date)
{
    if (!strcmp(date, vm->params_asof))
        return vm->params_ref;
    for (size_t i = 0; i < DATED_VIEWS; i++)
        if (vm->dated_refs[i] != LUA_NOREF && !strcmp(vm->dated_dates[i], date))
            return vm->dated_refs[i];
    size_t slot = vm->dated_next++ % DATED_VIEWS;
    if (vm->dated_refs[slot] != LUA_NOREF)
        luaL_unref(vm->sb->L, LUA_REGISTRYINDEX, vm->dated_refs[slot]);
    vm->dated_refs[slot] = LUA_NOREF;
    datedctx x = {vm, date, LUA_NOREF};
    if (sandbox_protect(vm->sb, dated_fn, &x, 0, NULL) != SB_OK)
        return LUA_NOREF;
    vm->dated_refs[slot] = x.ref;
    snprintf(vm->dated_dates[slot], sizeof vm->dated_dates[slot], "%s", date);
    return x.ref;
}

vstatus rvm_int_at(rulevm *vm, const pcond *c, const char *date, int64_t max, const char *what, arena *m, leafrec *lr,
                   int64_t *out)
{
    int pref = params_ref_at(vm, date);
    if (pref == LUA_NOREF) {
        lr->note = NULL;
        lr->error = located(m, c, "out of memory while making the parameters of a later period");
        lr->log_start = lr->log_end = (uint32_t)vm->vc.n;
        return V_ERROR;
    }
    return int_with(vm, c, pref, max, what, m, lr, out);
}

typedef struct bindctx {
    rulevm *vm;
    const yval *root;
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
    rulevm *vm = bc->vm;
    const ppolicy *pol = bc->pol;
    const char *as_of = bc->as_of;
    if (push_env(vm, &vm->err) != 0) {
        bc->rc = YZ_EPOLICY;
        return 0;
    }
    view_push_record(L, &vm->vc, bc->root);
    lua_pushvalue(L, -1);
    ref_set(L, &vm->r_ref);
    sandbox_env_set(vm->sb, -2, "r");
    if (vm->params_pol != pol || strcmp(vm->params_asof, as_of) != 0) {
        if (vm->params_ref != LUA_NOREF)
            luaL_unref(L, LUA_REGISTRYINDEX, vm->params_ref);
        vm->params_ref = LUA_NOREF;
        vm->params_pol = NULL;
        for (size_t i = 0; i < DATED_VIEWS; i++) {
            if (vm->dated_refs[i] != LUA_NOREF)
                luaL_unref(L, LUA_REGISTRYINDEX, vm->dated_refs[i]);
            vm->dated_refs[i] = LUA_NOREF;
        }
        view_push_params(L, &vm->vc, pol, as_of);
        vm->params_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        vm->params_pol = pol;
        snprintf(vm->params_asof, sizeof vm->params_asof, "%s", as_of);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, vm->params_ref);
    sandbox_env_set(vm->sb, -2, "P");
    lua_pushstring(L, as_of);
    lua_pushvalue(L, -1);
    ref_set(L, &vm->asof_ref);
    sandbox_env_set(vm->sb, -2, "as_of");
    lua_pop(L, 1);
    return 0;
}

int rvm_bind(rulevm *vm, const ppolicy *pol, const yval *root, const char *as_of, strbuf *err)
{
    sb_clear(&vm->slow);
    vm->vc.n = 0;
    vm->vc.pol = pol;
    vm->pol = pol;
    /* bind r, P and as_of in the policy's environment (the only step that allocates in Lua
       outside the rules themselves) */
    bindctx bc = {vm, root, as_of, pol, YZ_OK};
    sb_clear(&vm->err);
    sb_status bs = sandbox_protect(vm->sb, bind_fn, &bc, 0, NULL);
    if (bs != SB_OK)
        return bs == SB_NOMEM ? YZ_ENOMEM : YZ_EINTERNAL;
    if (bc.rc != YZ_OK && err)
        sb_adds(err, sb_str(&vm->err));
    return bc.rc;
}

typedef struct envctx {
    rulevm *vm;
    strbuf *err;
    int rc;
} envctx;

static int env_fn(lua_State *L, void *ud)
{
    envctx *x = ud;
    x->rc = push_env(x->vm, x->err);
    if (x->rc == 0)
        lua_pop(L, 1);
    return 0;
}

int rvm_check_helpers(const yz_ruleset *rs, yz_diags *d)
{
    rulevm *vm;
    int rc = rvm_new(rs, NULL, NULL, &vm);
    if (rc != YZ_OK)
        yz_out_of_memory(0); /* lint reports policies; it cannot say anything about this one */
    for (size_t i = 0; i < rs->npolicies && rc == YZ_OK; i++) {
        vm->pol = rs->policies[i];
        strbuf err = STRBUF_INIT;
        envctx x = {vm, &err, -1};
        sandbox_protect(vm->sb, env_fn, &x, 0, NULL);
        if (vm->sb->host_failed) {
            sb_free(&err);
            rvm_free(vm);
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
    rvm_free(vm);
    return rc;
}

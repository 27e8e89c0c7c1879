/* serve_rules.c: the rulesets the service decides with.  Every province under HOME/provinces is
 * loaded and linted at start and again on reload; a ruleset with errors is never used: on reload
 * the one loaded before stays in service, and the errors are kept for /health and for the 409 a
 * request for it gets.  A generation (the set in service) is reference-counted, so a request
 * keeps the rules it started with while a reload swaps in the next; each HTTP thread keeps its
 * own evaluators (one sandboxed Lua state per ruleset) for the generation it last used. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

/* a loaded ruleset, shared by the generations that keep it */
typedef struct held {
    yz_ruleset *rs;
    char loaded_at[21];
    int refs;
} held;

typedef struct cached_ev {
    const yz_ruleset *rs;
    yz_evaluator *ev;
} cached_ev;

/* one thread's evaluators */
typedef struct tcache {
    serve_rules *owner;
    serve_gen *gen;
    cached_ev *evs;
    size_t n;
    struct tcache *next;
} tcache;

struct serve_rules {
    char *home;
    yz_limits limits;
    serve_rules_check check;
    void *check_ctx;
    pthread_mutex_t mu;
    serve_gen *gen;
    tcache *caches;
};

static _Thread_local tcache *this_thread;

serve_rules *serve_rules_new(const char *home, const yz_limits *limits, serve_rules_check check, void *check_ctx)
{
    serve_rules *r = sv_calloc(1, sizeof *r);
    r->home = sv_strdup(home);
    r->check = check;
    r->check_ctx = check_ctx;
    if (limits)
        r->limits = *limits;
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

static void held_release(held *h)
{
    if (h && __atomic_sub_fetch(&h->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        yz_ruleset_free(h->rs);
        free(h);
    }
}

/* the holder of each item travels with the generation, after its items */
static held **gen_holds(serve_gen *g)
{
    return (held **)(g->items + g->n);
}

void serve_gen_release(serve_gen *g)
{
    if (!g || __atomic_sub_fetch(&g->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    held **holds = gen_holds(g);
    for (size_t i = 0; i < g->n; i++) {
        held_release(holds[i]);
        free(g->items[i]->name);
        free(g->items[i]->errors);
        free(g->items[i]);
    }
    free(g->items);
    free(g);
}

serve_gen *serve_rules_acquire(serve_rules *r)
{
    pthread_mutex_lock(&r->mu);
    serve_gen *g = r->gen;
    if (g)
        __atomic_add_fetch(&g->refs, 1, __ATOMIC_ACQ_REL);
    pthread_mutex_unlock(&r->mu);
    return g;
}

static int cmp_item(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, (*(serve_rs *const *)b)->name);
}

const serve_rs *serve_gen_find(const serve_gen *g, const char *name)
{
    if (!g)
        return NULL;
    serve_rs **e = bsearch(&name, g->items, g->n, sizeof *g->items, cmp_item);
    return e ? *e : NULL;
}

/* the errors of d, one per line (NULL when there are none) */
static char *errors_text(const yz_diags *d)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return sv_strdup("out of memory");
    for (size_t i = 0; i < d->n; i++)
        if (d->items[i].severity == YZ_SEV_ERROR) {
            char *s = yz_diag_format(&d->items[i]);
            fprintf(f, "%s%s", len ? "\n" : "", s);
            fflush(f);
            yz_free(s);
        }
    fclose(f);
    if (!len) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* the ruleset of one province, loaded, linted and its signature checked: NULL with its errors */
static yz_ruleset *load_one(const serve_rules *r, const char *name, char **errors)
{
    yz_diags d;
    yz_diags_init(&d);
    yz_ruleset *rs = NULL;
    int rc = yz_ruleset_load(r->home, name, &rs, &d);
    if (rc == YZ_OK && (yz_lint_ruleset(rs, NULL, &d) != YZ_OK || (r->check && r->check(r->check_ctx, rs, &d) != YZ_OK))) {
        yz_ruleset_free(rs);
        rs = NULL;
    }
    *errors = rs ? NULL : errors_text(&d);
    if (!rs && !*errors)
        *errors = sv_printf("%s: cannot be loaded (%s)", name, yz_rc_name(rc));
    yz_diags_free(&d);
    return rs;
}

size_t serve_rules_load(serve_rules *r)
{
    char **names;
    size_t n = yz_province_names(r->home, &names), nerr = 0;
    serve_gen *old = serve_rules_acquire(r);
    /* items, then their holders, in one block */
    serve_gen *g = sv_calloc(1, sizeof *g);
    g->items = sv_calloc(n ? 2 * n : 1, sizeof(void *));
    g->n = n;
    g->refs = 1;
    serve_now(g->reloaded_at);
    held **holds = gen_holds(g);
    for (size_t i = 0; i < n; i++) {
        serve_rs *e = sv_calloc(1, sizeof *e);
        e->name = names[i];
        g->items[i] = e;
        yz_ruleset *rs = load_one(r, names[i], &e->errors);
        /* a city builds on its province: it is no better than the province's rules */
        for (size_t k = 0; rs && k < i; k++)
            if (!gen_holds(g)[k] && g->items[k]->errors && serve_province_covers(g->items[k]->name, names[i]) &&
                strcmp(g->items[k]->name, names[i])) {
                e->errors = sv_printf("%s builds on %s, whose rules have errors:\n%s", names[i], g->items[k]->name,
                                      g->items[k]->errors);
                yz_ruleset_free(rs);
                rs = NULL;
            }
        if (rs) {
            held *h = sv_calloc(1, sizeof *h);
            h->rs = rs;
            h->refs = 1;
            serve_now(h->loaded_at);
            holds[i] = h;
        } else {
            nerr++;
            /* keep what was in service before */
            const serve_rs *prev = serve_gen_find(old, names[i]);
            if (prev && prev->rs) {
                size_t k = (size_t)(((serve_rs *const *)bsearch(&names[i], old->items, old->n, sizeof *old->items, cmp_item)) -
                                    old->items);
                holds[i] = gen_holds(old)[k];
                __atomic_add_fetch(&holds[i]->refs, 1, __ATOMIC_ACQ_REL);
            }
        }
        if (holds[i]) {
            e->rs = holds[i]->rs;
            memcpy(e->loaded_at, holds[i]->loaded_at, sizeof e->loaded_at);
        }
        names[i] = NULL;
    }
    free(names);
    g->reload_ok = nerr == 0;
    pthread_mutex_lock(&r->mu);
    serve_gen *prev = r->gen;
    r->gen = g;
    pthread_mutex_unlock(&r->mu);
    serve_gen_release(prev);
    serve_gen_release(old);
    return nerr;
}

static void tcache_reset(tcache *t, serve_gen *g)
{
    for (size_t i = 0; i < t->n; i++)
        yz_evaluator_free(t->evs[i].ev);
    free(t->evs);
    t->evs = NULL;
    t->n = 0;
    serve_gen_release(t->gen);
    t->gen = g;
    if (g)
        __atomic_add_fetch(&g->refs, 1, __ATOMIC_ACQ_REL);
}

static tcache *thread_cache(serve_rules *r, serve_gen *g)
{
    tcache *t = this_thread;
    if (!t || t->owner != r) {
        t = sv_calloc(1, sizeof *t);
        t->owner = r;
        pthread_mutex_lock(&r->mu);
        t->next = r->caches;
        r->caches = t;
        pthread_mutex_unlock(&r->mu);
        this_thread = t;
    }
    if (t->gen != g)
        tcache_reset(t, g);
    return t;
}

yz_evaluator *serve_rules_evaluator(serve_rules *r, serve_gen *g, const serve_rs *e, yz_diags *d)
{
    tcache *t = thread_cache(r, g);
    for (size_t i = 0; i < t->n; i++)
        if (t->evs[i].rs == e->rs)
            return t->evs[i].ev;
    yz_evaluator *ev = NULL;
    if (yz_evaluator_new(e->rs, &r->limits, &ev, d) != YZ_OK)
        return NULL;
    t->evs = sv_realloc(t->evs, (t->n + 1) * sizeof *t->evs);
    t->evs[t->n].rs = e->rs;
    t->evs[t->n++].ev = ev;
    return ev;
}

void serve_rules_drop_evaluator(serve_rules *r, const serve_rs *e)
{
    tcache *t = this_thread;
    if (!t || t->owner != r)
        return;
    for (size_t i = 0; i < t->n; i++)
        if (t->evs[i].rs == e->rs) {
            yz_evaluator_free(t->evs[i].ev);
            t->evs[i] = t->evs[--t->n];
            return;
        }
}

void serve_rules_free(serve_rules *r)
{
    if (!r)
        return;
    /* the HTTP threads are gone: their caches are freed here */
    for (tcache *t = r->caches, *next; t; t = next) {
        next = t->next;
        tcache_reset(t, NULL);
        free(t);
    }
    serve_gen_release(r->gen);
    pthread_mutex_destroy(&r->mu);
    free(r->home);
    free(r);
}

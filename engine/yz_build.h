/* yz_build.h: what the policy builder's three files share (yz_build.c the model,
 * yz_build_refs.c references, yz_build_texts.c whole conditions and texts); only they include it. */
#ifndef YZ_BUILD_H
#define YZ_BUILD_H

#include "yz_loader.h"

typedef struct bctx {
    loader *L;
    ppolicy *pol;
} bctx;

/* the word for an item kind in messages ("prerequisite", ..., "subsidy") */
extern const char *const build_kind_word[PI_NKINDS];

/* A new condition node of the ruleset (in its arena), numbered. */
pcond *build_new_cond(loader *L, pckind kind);
/* Makes c a leaf of the ruleset (its Lua is compiled per evaluator). */
void build_add_leaf(loader *L, pcond *c);

/* yz_build_refs.c: resolves category:/condition: references and checks every leaf's Lua syntax
 * and P./r. references, cycles, prerequisites reading categories, subsidy exclusions; problems go
 * to the loader's diagnostics. */
void build_check_refs(bctx *b);

/* yz_build_texts.c: the whole condition of every category and subsidy (it->full), then the texts
 * and JSON fragments made once (call after build_full_conditions). */
void build_full_conditions(loader *L, ppolicy *pol);
void build_texts(loader *L, ppolicy *pol);

#endif

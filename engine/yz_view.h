/* yz_view.h: what rules see of a record and of the parameters: read-only Lua views over the
 * validated record (an absent field raises "unknown") that log every read for explanations. */
#ifndef YZ_VIEW_H
#define YZ_VIEW_H

#include <stdint.h>

#include "yz_policy.h"
#include "yz_schema.h"

typedef struct lua_State lua_State;
typedef struct sandbox sandbox;

typedef enum { RL_FIELD, RL_ABSENT, RL_PARAM } rl_kind;

/* One read by a rule: a present field (val), an absent one (obj + child, or an array item), or a
 * parameter (index into the policy's params; of a regional parameter, the region group chosen
 * and the record field whose code chose it). */
typedef struct readent {
    uint8_t kind;
    int32_t index;      /* array item index, or parameter index */
    int32_t group;      /* RL_PARAM of a regional parameter: index into its regions; else -1 */
    const yval *obj;    /* RL_ABSENT: the object or array read from */
    const snode *child; /* RL_ABSENT: the absent property (NULL for an array item) */
    const yval *val;    /* RL_FIELD; RL_PARAM of a regional parameter: the region field */
} readent;

typedef struct viewctx {
    uint32_t gen; /* views made for an earlier record refuse to work */
    readent *log;
    size_t n, cap;
    const ppolicy *pol;
    const yval *root; /* the record being decided (regional parameters read its region fields) */
    strbuf tmp; /* scratch for messages: a C function that raises holds no malloc'd memory of its own */
} viewctx;

/* Registers the view metatables and the field() helper in the sandbox (before environments are
 * made).  ctx must outlive the sandbox. */
void view_init(sandbox *sb, viewctx *ctx);
/* Pushes a view of the record root (a new generation: older views stop working). */
void view_push_record(lua_State *L, viewctx *ctx, const yval *root);
/* Pushes the parameter view for a policy on a date. */
void view_push_params(lua_State *L, viewctx *ctx, const ppolicy *pol, const char *as_of);
/* Pushes a JSON value as Lua (objects and arrays as read-only tables). */
void view_push_json(lua_State *L, const yj *v);

#endif

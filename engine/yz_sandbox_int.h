/* yz_sandbox_int.h: what the sandbox's three files share (yz_sandbox.c the state and its limits,
 * yz_sandlib.c the safe globals, yz_sandenv.c environments and helper state); nothing else
 * includes it. */
#ifndef YZ_SANDBOX_INT_H
#define YZ_SANDBOX_INT_H

#include <lua.h>

#include "yz_sandbox.h"

/* library work charged to the budget: this many steps of C work count as one instruction */
#define PATTERN_STEPS_PER_INSTRUCTION 64

/* registry keys (their addresses): the upvalue restore list, the table of safe globals, the weak
 * set of read-only proxies (all made by sandlib_open) */
extern char sandbox_restore_key, sandbox_safe_key, sandbox_frozen_key;

/* the sandbox of a state (the allocator's user data) */
static inline sandbox *sandbox_of(lua_State *L)
{
    void *ud;
    lua_getallocf(L, &ud);
    return ud;
}

/* true once a limited call has been stopped by a limit: from then on nothing of the rule runs */
static inline bool sandbox_stopped(const sandbox *sb)
{
    return sb->budget_exceeded || sb->too_slow || sb->mem_exceeded;
}

/* Sets the count of the count hook (see yz_sandbox.c: only when it changes); 1 makes every
 * instruction stop the call. */
void sandbox_set_hook_count(lua_State *L, sandbox *sb, int count);
/* luaL_error with the whole of printf's format (lua_pushfstring knows no %lld, %zu or %e).
 * Raises: never returns. */
__attribute__((format(printf, 2, 3))) int sandbox_raisef(lua_State *L, const char *fmt, ...);

/* yz_sandlib.c.  Builds the safe globals, the frozen set and the restore list in the registry
 * (raises on memory errors: run it protected). */
void sandlib_open(lua_State *L);
/* Pushes a read-only proxy of the table at idx (shallow; its metatable's __newindex is
 * sandlib_readonly_newindex). */
void sandlib_push_frozen(lua_State *L, int idx);
/* __newindex of every read-only table: raises with a message for rule authors. */
int sandlib_readonly_newindex(lua_State *L);
/* the iterator sorted pairs returns (its upvalues change as it runs) */
int sandlib_sorted_next(lua_State *L);

#endif

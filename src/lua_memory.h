/*
 * A cap on the memory of an app's Lua state (--max-lua-memory). LuaJIT's own
 * allocator stays; a thin wrapper counts what it holds and refuses to grow
 * past the cap while a handler runs, so a handler allocating without bound
 * fails with "not enough memory" (a 500) instead of taking the machine.
 * Outside handlers (loading the app, binding arguments, the collector)
 * nothing is refused: a Lua error there would not be caught.
 */
#ifndef MT_LUA_MEMORY_H
#define MT_LUA_MEMORY_H

#include <lua.h>
#include <stddef.h>

typedef struct st_mt_lua_memory_t {
    lua_Alloc inner; /* LuaJIT's allocator */
    void *inner_ud;
    size_t used;     /* bytes the state holds */
    size_t cap;      /* 0: no cap */
    int refused;     /* an allocation was refused since the last mt_lua_memory_refused() */
} mt_lua_memory_t;

/* A new Lua state: luaL_newstate(), except in AddressSanitizer builds, whose
 * states allocate with malloc so that ASan sees inside Lua's heap. */
lua_State *mt_lua_memory_newstate(void);

/* The cap new app states get (0: none); set once from the command line. */
void mt_lua_memory_set_cap(size_t bytes);

/* Puts `m` between L and its allocator. `m` must outlive L. */
void mt_lua_memory_attach(lua_State *L, mt_lua_memory_t *m);

/* Whether a handler runs (the cap is enforced) — set around each resume. */
void mt_lua_memory_enforce(int on);

/* Whether an allocation was refused (the cap was reached) since the last call. */
int mt_lua_memory_refused(mt_lua_memory_t *m);

#endif

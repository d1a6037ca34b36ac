/*
 * The allocator of an app's Lua state. Two jobs:
 *
 * - A cap (--max-lua-memory): it counts what the state holds and refuses to
 *   grow past the cap while a handler runs, so a handler allocating without
 *   bound fails with "not enough memory" (a 500) instead of taking the
 *   machine. Outside handlers (loading the app, binding arguments, the
 *   collector) nothing is refused: a Lua error there would not be caught.
 *
 * - Speed: requests make many small short-lived objects (tables of two or
 *   three fields, their hash parts, short strings), freed in bursts by the
 *   collector. Freed blocks of up to MT_LUA_SMALL_MAX bytes are kept in
 *   lists by size class and handed out again in a few instructions; larger
 *   ones, and small ones past a bound on what the lists hold, go to malloc.
 */
#ifndef MT_LUA_MEMORY_H
#define MT_LUA_MEMORY_H

#include <lua.h>
#include <stddef.h>

#define MT_LUA_SMALL_MAX 256
#define MT_LUA_SMALL_CLASSES (MT_LUA_SMALL_MAX / 16) /* classes of 16, 32, ... 256 bytes */

typedef struct st_mt_lua_memory_t {
    size_t used;     /* bytes the state holds */
    size_t cap;      /* 0: no cap */
    size_t limit;    /* what `used` may reach now: the cap while a handler runs, else SIZE_MAX */
    int refused;     /* an allocation was refused since the last mt_lua_memory_refused() */
    void *free_blocks[MT_LUA_SMALL_CLASSES + 1]; /* freed small blocks by class, linked through their first word */
    size_t kept;     /* bytes in those lists */
} mt_lua_memory_t;

/* A new Lua state allocating through `m`, which must outlive it. */
lua_State *mt_lua_memory_newstate(mt_lua_memory_t *m);

/* Closes L and gives back the blocks `m` kept. */
void mt_lua_memory_close(lua_State *L, mt_lua_memory_t *m);

/* The cap new app states get (0: none); set once from the command line. */
void mt_lua_memory_set_cap(size_t bytes);

/* Whether a handler runs (the cap is enforced) — set around each resume. */
void mt_lua_memory_enforce(mt_lua_memory_t *m, int on);

/* Whether an allocation was refused (the cap was reached) since the last call. */
int mt_lua_memory_refused(mt_lua_memory_t *m);

#endif

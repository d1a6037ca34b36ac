/*
 * The Lua memory cap: an allocator wrapper. See lua_memory.h.
 */
#include "lua_memory.h"

#include <lauxlib.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define MT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MT_ASAN 1
#endif
#endif

static size_t default_cap;
static int enforcing;

#ifdef MT_ASAN
/* LuaJIT's own allocator carves its blocks out of big mappings, where ASan
 * cannot tell a freed block from a live one; malloc'ed blocks it can. */
static void *system_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud, (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, nsize);
}
#endif

lua_State *mt_lua_memory_newstate(void)
{
#ifdef MT_ASAN
    return lua_newstate(system_alloc, NULL);
#else
    return luaL_newstate();
#endif
}

void mt_lua_memory_set_cap(size_t bytes)
{
    default_cap = bytes;
}

void mt_lua_memory_enforce(int on)
{
    enforcing = on;
}

static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    mt_lua_memory_t *m = ud;
    if (enforcing && nsize > osize && m->cap != 0 && m->used + (nsize - osize) > m->cap) {
        m->refused = 1;
        return NULL; /* LuaJIT raises "not enough memory" in the handler */
    }
    void *p = m->inner(m->inner_ud, ptr, osize, nsize);
    if (p != NULL || nsize == 0)
        m->used = m->used + nsize - osize;
    return p;
}

void mt_lua_memory_attach(lua_State *L, mt_lua_memory_t *m)
{
    m->inner = lua_getallocf(L, &m->inner_ud);
    /* what the state already holds, so that freeing it later balances */
    m->used = (size_t)lua_gc(L, LUA_GCCOUNT, 0) * 1024 + (size_t)lua_gc(L, LUA_GCCOUNTB, 0);
    m->cap = default_cap;
    lua_setallocf(L, capped_alloc, m);
}

int mt_lua_memory_refused(mt_lua_memory_t *m)
{
    int refused = m->refused;
    m->refused = 0;
    return refused;
}

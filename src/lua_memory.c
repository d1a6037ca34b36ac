/*
 * The Lua state's allocator: the memory cap and the small-block lists. See
 * lua_memory.h.
 *
 * LuaJIT tells the allocator the size of every block it frees or resizes,
 * so a small block needs no header: its size names its class. Every small
 * block is malloc'ed at its class's full size, so any block of a class can
 * serve any request of that class.
 */
#include "lua_memory.h"

#include <lauxlib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define MT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MT_ASAN 1
#endif
#endif

/*
 * What the lists may hold in all. A collector cycle frees the garbage of
 * many requests at once; the lists take what the next requests will ask for
 * again, and past this bound blocks go back to malloc.
 */
#ifdef MT_ASAN
#define KEEP_MAX 0 /* every block back to malloc at once, so ASan sees a use after free */
#else
#define KEEP_MAX (4 * 1024 * 1024)
#endif

static size_t default_cap;

static inline size_t class_of(size_t size)
{
    return (size + 15) >> 4;
}

/* Unlinks `block`, the head of its class's list. */
static inline void *pop_block(mt_lua_memory_t *m, size_t class, void *block)
{
    m->free_blocks[class] = *(void **)block;
    m->kept -= class << 4;
    return block;
}

static void *take(mt_lua_memory_t *m, size_t size)
{
    if (size > MT_LUA_SMALL_MAX)
        return malloc(size);
    size_t class = class_of(size);
    void *block = m->free_blocks[class];
    return block != NULL ? pop_block(m, class, block) : malloc(class << 4);
}

static void give_back(mt_lua_memory_t *m, void *block, size_t size)
{
    if (size > MT_LUA_SMALL_MAX || m->kept + MT_LUA_SMALL_MAX > KEEP_MAX) {
        free(block);
        return;
    }
    size_t class = class_of(size);
    *(void **)block = m->free_blocks[class];
    m->free_blocks[class] = block;
    m->kept += class << 4;
}

static void *resize(mt_lua_memory_t *m, void *block, size_t osize, size_t nsize)
{
    if (osize > MT_LUA_SMALL_MAX && nsize > MT_LUA_SMALL_MAX)
        return realloc(block, nsize);
    if (osize <= MT_LUA_SMALL_MAX && nsize <= MT_LUA_SMALL_MAX && class_of(osize) == class_of(nsize))
        return block;
    void *moved = take(m, nsize);
    if (moved == NULL)
        return NULL;
    memcpy(moved, block, osize < nsize ? osize : nsize);
    give_back(m, block, osize);
    return moved;
}

/*
 * The rarer cases, out of line so that lua_alloc's own paths (a small block
 * freed or taken from its list, most calls) save no registers: a resize, a
 * new block from malloc, a refusal.
 */
__attribute__((noinline)) static void *resize_counted(mt_lua_memory_t *m, void *block, size_t osize, size_t nsize)
{
    if (nsize > osize && m->used + (nsize - osize) > m->limit) {
        m->refused = 1;
        return NULL; /* LuaJIT raises "not enough memory" in the handler */
    }
    void *p = resize(m, block, osize, nsize);
    if (p != NULL)
        m->used = m->used + nsize - osize;
    return p;
}

__attribute__((noinline)) static void *take_counted(mt_lua_memory_t *m, size_t size)
{
    if (m->used + size > m->limit) {
        m->refused = 1;
        return NULL;
    }
    void *p = take(m, size);
    if (p != NULL)
        m->used += size;
    return p;
}

static void *lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    mt_lua_memory_t *m = ud;
    if (nsize == 0) {
        if (ptr != NULL) {
            m->used -= osize;
            give_back(m, ptr, osize);
        }
        return NULL;
    }
    if (ptr != NULL)
        return resize_counted(m, ptr, osize, nsize);
    /* a new block: osize says nothing (LuaJIT passes 0); from its class's list when it has one */
    size_t class = class_of(nsize);
    void *block = nsize <= MT_LUA_SMALL_MAX ? m->free_blocks[class] : NULL;
    if (block == NULL || m->used + nsize > m->limit)
        return take_counted(m, nsize);
    m->used += nsize;
    return pop_block(m, class, block);
}

lua_State *mt_lua_memory_newstate(mt_lua_memory_t *m)
{
    memset(m, 0, sizeof(*m));
    m->cap = default_cap;
    m->limit = SIZE_MAX;
    return lua_newstate(lua_alloc, m);
}

static void release_kept(mt_lua_memory_t *m)
{
    for (size_t class = 1; class <= MT_LUA_SMALL_CLASSES; class++) {
        while (m->free_blocks[class] != NULL) {
            void *block = m->free_blocks[class];
            m->free_blocks[class] = *(void **)block;
            free(block);
        }
    }
    m->kept = 0;
}

void mt_lua_memory_close(lua_State *L, mt_lua_memory_t *m)
{
    lua_close(L);
    release_kept(m);
}

void mt_lua_memory_set_cap(size_t bytes)
{
    default_cap = bytes;
}

void mt_lua_memory_enforce(mt_lua_memory_t *m, int on)
{
    m->limit = on && m->cap != 0 ? m->cap : SIZE_MAX;
}

int mt_lua_memory_refused(mt_lua_memory_t *m)
{
    int refused = m->refused;
    m->refused = 0;
    return refused;
}

/*
 * Unit tests for src/lua_memory.c: the allocator keeps every block's bytes
 * across resizes between and within size classes, hands a freed small block
 * out again, bounds what it keeps, counts what the state holds exactly as
 * LuaJIT does, and refuses growth past the cap only while enforcing. The
 * file is included so the tests can call the allocator directly.
 */
#include "../../src/lua_memory.c"
#include <lualib.h>
#include <stdint.h>
#include "tap.h"

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed + i * 7);
}

static int holds(const unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(seed + i * 7))
            return 0;
    return 1;
}

static void test_resizes_keep_the_bytes(void)
{
    mt_lua_memory_t m;
    memset(&m, 0, sizeof(m));
    m.limit = SIZE_MAX; /* as mt_lua_memory_newstate sets it */
    int all_kept = 1;
    size_t sizes[] = {1, 8, 15, 16, 17, 100, 255, 256, 257, 1000, 5000};
    size_t n = sizeof(sizes) / sizeof(sizes[0]);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            unsigned char *p = lua_alloc(&m, NULL, 0, sizes[i]);
            fill(p, sizes[i], (unsigned)(i * 31 + j));
            p = lua_alloc(&m, p, sizes[i], sizes[j]);
            size_t common = sizes[i] < sizes[j] ? sizes[i] : sizes[j];
            if (p == NULL || !holds(p, common, (unsigned)(i * 31 + j))) {
                all_kept = 0;
                printf("# %zu -> %zu lost bytes\n", sizes[i], sizes[j]);
            }
            fill(p, sizes[j], 1); /* the whole new size is the caller's (ASan checks the bounds) */
            lua_alloc(&m, p, sizes[j], 0);
        }
    }
    ok(all_kept, "resizing between every pair of sizes (within a class, across classes, small to large) keeps the bytes");
    ok(m.used == 0, "what was allocated and freed balances to 0 held (%zu)", m.used);
    release_kept(&m);
}

static void test_small_blocks_are_reused_and_bounded(void)
{
    mt_lua_memory_t m;
    memset(&m, 0, sizeof(m));
    m.limit = SIZE_MAX; /* as mt_lua_memory_newstate sets it */
    void *a = lua_alloc(&m, NULL, 0, 40);
    lua_alloc(&m, a, 40, 0);
    void *b = lua_alloc(&m, NULL, 0, 48); /* 40 and 48 are both of the 48-byte class */
    if (KEEP_MAX > 0)
        ok(a == b, "a freed small block serves the next request of its class");
    else
        ok(m.kept == 0, "sanitized builds keep no freed block (ASan must see every free)");
    lua_alloc(&m, b, 48, 0);
    void *large = lua_alloc(&m, NULL, 0, MT_LUA_SMALL_MAX + 1);
    lua_alloc(&m, large, MT_LUA_SMALL_MAX + 1, 0);
    size_t kept = m.kept;
    ok(kept <= 48, "a large block is not kept (%zu bytes kept)", kept);

    /* free more than the bound in one go, as a collector cycle does */
    size_t count = 2 * KEEP_MAX / 64 + 100;
    void **blocks = malloc(count * sizeof(*blocks));
    for (size_t i = 0; i < count; i++)
        blocks[i] = lua_alloc(&m, NULL, 0, 64);
    for (size_t i = 0; i < count; i++)
        lua_alloc(&m, blocks[i], 64, 0);
    free(blocks);
    ok(m.kept <= KEEP_MAX, "freeing %zu blocks keeps at most the bound (%zu of %d bytes)", count, m.kept, KEEP_MAX);
    ok(m.used == 0, "everything freed: 0 held (%zu)", m.used);
    release_kept(&m);
    ok(m.kept == 0 && m.free_blocks[4] == NULL, "closing gives every kept block back");
}

static void test_the_count_agrees_with_luajit(void)
{
    mt_lua_memory_t m;
    lua_State *L = mt_lua_memory_newstate(&m);
    luaL_openlibs(L);
    int rc = luaL_dostring(L, "local t = {} for i = 1, 20000 do t[i] = { i = i, s = 'x' .. i, { i } } end "
                              "for i = 1, 20000, 2 do t[i] = nil end collectgarbage() "
                              "local s = '' for i = 1, 300 do s = s .. 'y' end return #s");
    ok(rc == 0, "a state allocating through it runs Lua (%s)", rc == 0 ? "ok" : lua_tostring(L, -1));
    lua_settop(L, 0);
    lua_gc(L, LUA_GCCOLLECT, 0);
    size_t luajit = (size_t)lua_gc(L, LUA_GCCOUNT, 0) * 1024 + (size_t)lua_gc(L, LUA_GCCOUNTB, 0);
    ok(m.used == luajit, "the count (%zu) is what LuaJIT says the state holds (%zu)", m.used, luajit);
    mt_lua_memory_close(L, &m);
}

static void test_the_cap_refuses_only_while_enforcing(void)
{
    mt_lua_memory_set_cap(4 * 1024 * 1024);
    mt_lua_memory_t m;
    lua_State *L = mt_lua_memory_newstate(&m);
    luaL_openlibs(L);
    const char *hog = "local t = {} for i = 1, 1e7 do t[i] = { i } end";
    mt_lua_memory_enforce(&m, 1);
    int rc = luaL_dostring(L, hog);
    mt_lua_memory_enforce(&m, 0);
    ok(rc != 0 && strstr(lua_tostring(L, -1), "not enough memory") != NULL, "past the cap a handler gets \"not enough memory\"");
    ok(mt_lua_memory_refused(&m) && !mt_lua_memory_refused(&m), "the refusal is reported once");
    lua_settop(L, 0);
    lua_gc(L, LUA_GCCOLLECT, 0);
    ok(m.used < 1024 * 1024, "the refused table is collected (%zu bytes held)", m.used);
    rc = luaL_dostring(L, "local t = {} for i = 1, 300000 do t[i] = { i } end");
    size_t grown = m.used; /* the table is garbage now, not yet collected */
    ok(rc == 0 && grown > 4 * 1024 * 1024, "not enforcing, the state grows past the cap (%zu bytes)", grown);
    mt_lua_memory_close(L, &m);
    mt_lua_memory_set_cap(0);
}

int main(void)
{
    test_resizes_keep_the_bytes();
    test_small_blocks_are_reused_and_bounded();
    test_the_count_agrees_with_luajit();
    test_the_cap_refuses_only_while_enforcing();
    return tap_done();
}

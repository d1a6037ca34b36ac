/*
 * moontide.core: the C functions the framework's Lua library (lua/) is built
 * on, and the markers C looks for in what handlers return or raise.
 */
#ifndef MT_LUA_API_H
#define MT_LUA_API_H

#include <lua.h>

#define MT_HTTP_ERROR_MT "moontide.HTTPError"
#define MT_RESPONSE_MT "moontide.Response"

/* Registers moontide.core in package.preload and creates the metatables. */
void mt_lua_api_open(lua_State *L);

/* Whether the value at `index` carries the named registry metatable (moontide gives them to tables only). */
int mt_lua_has_mt(lua_State *L, int index, const char *registry_key);

/* Whether the value at `index` has no metatable at all (a plain table, the usual result): none of ours to look for. */
static inline int mt_lua_is_plain(lua_State *L, int index)
{
    if (!lua_getmetatable(L, index))
        return 1;
    lua_pop(L, 1);
    return 0;
}

/*
 * Raises an HTTP error from C, as moontide.raise would: the detail is the
 * value on top of the stack (popped).
 */
int mt_lua_raise_detail(lua_State *L, int status);

/* A message handler for lua_pcall: the error with a traceback of where it was raised. */
int mt_lua_traceback(lua_State *L);

#endif

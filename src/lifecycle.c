/*
 * Lifecycle hooks: running app:on_startup / app:on_shutdown functions. They
 * run outside any request, so they cannot wait (moontide.sleep and
 * moontide.http.request need a request's coroutine) and their errors are
 * logged with a traceback. See lifecycle.h for when each runs.
 */
#include <lauxlib.h>
#include "lifecycle.h"
#include "log.h"
#include "lua_api.h"

static int list_ref(lua_State *L, int app_index, const char *field)
{
    lua_getfield(L, app_index, field);
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        return LUA_NOREF;
    }
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

void mt_lifecycle_collect(mt_app_t *app, int app_index)
{
    app->startup_ref = list_ref(app->L, app_index, "_on_startup");
    app->shutdown_ref = list_ref(app->L, app_index, "_on_shutdown");
}

/* Runs the functions of one list; returns how many failed (stopping at the first when `stop_at_error`). */
static int run_list(mt_app_t *app, int ref, const char *hook, int stop_at_error)
{
    lua_State *L = app->L;
    int failed = 0;
    if (ref == LUA_NOREF)
        return 0;
    lua_pushcfunction(L, mt_lua_traceback);
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    int handler = lua_gettop(L) - 1, list = lua_gettop(L);
    int n = (int)lua_objlen(L, list);
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, list, i);
        lua_Debug ar;
        lua_pushvalue(L, -1);
        lua_getinfo(L, ">S", &ar);
        if (lua_pcall(L, 0, 0, handler) != 0) {
            mt_log_error("%s function %d of %d (%s:%d) failed: %s", hook, i, n, ar.short_src, ar.linedefined,
                         lua_tostring(L, -1));
            lua_pop(L, 1);
            failed++;
            if (stop_at_error)
                break;
        }
    }
    lua_settop(L, handler - 1);
    return failed;
}

int mt_lifecycle_startup(mt_app_t *app)
{
    app->started = 1; /* its shutdown functions run even after a failed startup: they may undo part of it */
    return run_list(app, app->startup_ref, "on_startup", 1) == 0 ? 0 : -1;
}

void mt_lifecycle_shutdown(mt_app_t *app)
{
    if (!app->started)
        return;
    app->started = 0;
    run_list(app, app->shutdown_ref, "on_shutdown", 0);
}

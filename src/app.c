/*
 * Loading an app: a fresh LuaJIT state with the standard libraries, the
 * framework's Lua modules served from the binary, and `require` looking in the
 * app's directory first. The app file runs once and returns its app object;
 * its routes are then copied into C (mt_route_t) and the router is built, so
 * request dispatch never calls Lua until the handler itself.
 */
#include <errno.h>
#include <lauxlib.h>
#include <limits.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "app.h"
#include "embedded.h"
#include "lua_api.h"
#include "request.h"

const mt_embedded_t *mt_embedded_find(const mt_embedded_t *table, const char *name)
{
    for (; table->name != NULL; table++)
        if (strcmp(table->name, name) == 0)
            return table;
    return NULL;
}

/* package.loaders entry for the framework's modules compiled into the binary */
static int embedded_searcher(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    const mt_embedded_t *module = mt_embedded_find(mt_embedded_lua, name);
    if (module == NULL) {
        lua_pushfstring(L, "\n\tno module '%s' in moontide's built-in library", name);
        return 1;
    }
    char chunkname[256];
    snprintf(chunkname, sizeof(chunkname), "=[moontide]/%s.lua", name);
    if (luaL_loadbuffer(L, module->data, module->len, chunkname) != 0)
        return lua_error(L);
    return 1;
}

/*
 * require: preload, then the framework's modules built into the binary (the
 * names "moontide" and "moontide.*" are the framework's, so an app file
 * called moontide.lua cannot hide it), then the app's directory
 * (package.path starts there), then LuaJIT's usual places.
 */
static void setup_require(lua_State *L, const char *dir)
{
    lua_getglobal(L, "package");
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;", dir, dir);
    lua_getfield(L, -2, "path");
    lua_concat(L, 2);
    lua_setfield(L, -2, "path");

    lua_getfield(L, -1, "loaders");
    int n = (int)lua_objlen(L, -1);
    for (int i = n; i >= 2; i--) { /* make room after the preload searcher */
        lua_rawgeti(L, -1, i);
        lua_rawseti(L, -2, i + 1);
    }
    lua_pushcfunction(L, embedded_searcher);
    lua_rawseti(L, -2, 2);
    lua_pop(L, 2);
}

static int traceback_handler(lua_State *L)
{
    if (!lua_isstring(L, 1)) {
        lua_pushfstring(L, "error object is a %s value", luaL_typename(L, 1));
        lua_replace(L, 1);
    }
    return 1;
}

/* First line of a Lua error message: the user-facing "FILE:LINE: message". */
static void first_line(char *errbuf, size_t errsize, const char *msg)
{
    size_t len = strcspn(msg, "\n");
    snprintf(errbuf, errsize, "%.*s", (int)len, msg);
}

static int get_string_field(lua_State *L, int table, const char *name, char **out)
{
    lua_getfield(L, table, name);
    const char *s = lua_tostring(L, -1);
    *out = s != NULL ? strdup(s) : NULL;
    lua_pop(L, 1);
    return s != NULL ? 0 : -1;
}

static void route_free(mt_route_t *route)
{
    for (size_t i = 0; i != route->num_params; i++)
        free(route->param_names[i]);
    free(route->param_names);
    free(route->pattern);
    free(route->where);
    free(route);
}

/* Copies one entry of app._routes (on top of the stack) into C and the router. */
static int add_route(mt_app_t *app, char *errbuf, size_t errsize)
{
    lua_State *L = app->L;
    int entry = lua_gettop(L);
    mt_route_t *route = calloc(1, sizeof(*route));
    char *method = NULL;
    const char *err = NULL;
    if (route == NULL || get_string_field(L, entry, "where", &route->where) != 0 ||
        get_string_field(L, entry, "path", &route->pattern) != 0 || get_string_field(L, entry, "method", &method) != 0) {
        snprintf(errbuf, errsize, "%s: malformed route entry", app->path);
        goto fail;
    }
    if ((route->method = mt_method_parse(method, strlen(method))) < 0) {
        snprintf(errbuf, errsize, "%s: unsupported HTTP method '%s'", route->where, method);
        goto fail;
    }
    mt_slice_t names[MT_ROUTER_MAX_PARAMS];
    int num_params = mt_router_pattern_params(route->pattern, names, MT_ROUTER_MAX_PARAMS, &err);
    if (num_params < 0)
        goto route_error;
    mt_route_t **grown = realloc(app->routes, (app->num_routes + 1) * sizeof(*grown));
    route->param_names = calloc((size_t)num_params + 1, sizeof(char *));
    if (grown == NULL || route->param_names == NULL) {
        if (grown != NULL)
            app->routes = grown;
        snprintf(errbuf, errsize, "out of memory");
        goto fail;
    }
    app->routes = grown;
    for (int i = 0; i < num_params; i++)
        route->param_names[route->num_params++] = strndup(names[i].base, names[i].len);
    if (mt_router_add(app->router, route->method, route->pattern, route, &err) != 0)
        goto route_error;
    lua_getfield(L, entry, "handler");
    route->handler_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    route->index = app->num_routes;
    app->routes[app->num_routes++] = route;
    free(method);
    return 0;

route_error:
    snprintf(errbuf, errsize, "%s: %s %s: %s", route->where, method, route->pattern, err);
fail:
    free(method);
    if (route != NULL)
        route_free(route);
    return -1;
}

static int collect_routes(mt_app_t *app, char *errbuf, size_t errsize)
{
    lua_State *L = app->L;
    int app_index = lua_gettop(L);
    int is_app = 0;
    if (lua_getmetatable(L, app_index)) {
        lua_getfield(L, -1, "__name");
        is_app = lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), "moontide.App") == 0;
        lua_pop(L, 2);
    }
    if (!is_app) {
        snprintf(errbuf, errsize, "%s: the app file must end with 'return app' (an app from moontide.app{}), but it returned %s",
                 app->path, luaL_typename(L, app_index));
        return -1;
    }
    lua_getfield(L, app_index, "_routes");
    int routes = lua_gettop(L);
    size_t n = lua_objlen(L, routes);
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, routes, (int)i);
        if (add_route(app, errbuf, errsize) != 0)
            return -1;
        lua_pop(L, 1);
    }
    lua_settop(L, app_index - 1);
    return 0;
}

static int resolve_paths(mt_app_t *app, const char *app_path, char *errbuf, size_t errsize)
{
    struct stat st;
    char resolved[PATH_MAX];
    if (stat(app_path, &st) != 0) {
        snprintf(errbuf, errsize, "%s: %s", app_path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(resolved, sizeof(resolved), "%s/app.lua", app_path);
        if (stat(resolved, &st) != 0) {
            snprintf(errbuf, errsize, "%s: no app.lua in this directory", app_path);
            return -1;
        }
        app->path = strdup(resolved);
        app->dir = strdup(app_path);
    } else {
        app->path = strdup(app_path);
        const char *slash = strrchr(app_path, '/');
        app->dir = slash == NULL ? strdup(".") : strndup(app_path, (size_t)(slash - app_path) + (slash == app_path));
    }
    return 0;
}

mt_app_t *mt_app_load(const char *app_path, char *errbuf, size_t errsize)
{
    mt_app_t *app = calloc(1, sizeof(*app));
    if (app == NULL || resolve_paths(app, app_path, errbuf, errsize) != 0)
        goto fail;
    if ((app->L = luaL_newstate()) == NULL || (app->router = mt_router_new()) == NULL) {
        snprintf(errbuf, errsize, "out of memory");
        goto fail;
    }
    lua_State *L = app->L;
    luaL_openlibs(L);
    mt_lua_api_open(L);
    mt_request_open(L);
    setup_require(L, app->dir);

    lua_pushcfunction(L, traceback_handler);
    if (luaL_loadfile(L, app->path) != 0 || lua_pcall(L, 0, 1, -2) != 0) {
        first_line(errbuf, errsize, lua_tostring(L, -1));
        goto fail;
    }
    if (collect_routes(app, errbuf, errsize) != 0)
        goto fail;
    lua_settop(L, 0);
    lua_gc(L, LUA_GCCOLLECT, 0);
    return app;
fail:
    mt_app_free(app);
    return NULL;
}

void mt_app_free(mt_app_t *app)
{
    if (app == NULL)
        return;
    for (size_t i = 0; i != app->num_routes; i++)
        route_free(app->routes[i]);
    free(app->routes);
    mt_router_free(app->router);
    if (app->L != NULL)
        lua_close(app->L);
    free(app->path);
    free(app->dir);
    free(app);
}

/*
 * Loading an app: a fresh LuaJIT state with the standard libraries, the
 * framework's Lua modules served from the binary, and `require` looking in the
 * app's directory. The app file runs once and returns its app object. Then
 * the annotations of every file the app loaded from its directory are read
 * into one schema model, its routes are copied into C (mt_route_t), each
 * handler is matched with the block above its `function` line, and the
 * router is built: request dispatch never calls Lua until the handler itself.
 * Every problem found along the way is collected, so `moontide check` can
 * report them all at once.
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
#include "bundle.h"
#include "compress.h"
#include "cors.h"
#include "docs.h"
#include "embedded.h"
#include "lifecycle.h"
#include "lua_api.h"
#include "providers.h"
#include "request.h"
#include "route_opts.h"
#include "static_files.h"

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

/* Loads one of the app's Lua files: from the bundle in a built binary, else from disk. */
static int load_app_file(lua_State *L, const char *path)
{
    if (mt_bundle == NULL)
        return luaL_loadfile(L, path);
    const mt_bundle_file_t *file = mt_bundle_find(path);
    if (file == NULL) {
        lua_pushfstring(L, "cannot open %s (not in this built app)", path);
        return LUA_ERRFILE;
    }
    char chunkname[4096];
    snprintf(chunkname, sizeof(chunkname), "@%s", path);
    return luaL_loadbuffer(L, file->bytecode, file->bytecode_len, chunkname);
}

char *mt_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    mt_buf_t buf = {0};
    char chunk[65536];
    size_t n;
    if (f == NULL)
        return NULL;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (mt_buf_append(&buf, chunk, n) != 0)
            break;
    int failed = ferror(f) || !feof(f);
    fclose(f);
    if (failed) {
        mt_buf_free(&buf);
        return NULL;
    }
    *len = buf.len;
    return buf.data != NULL ? buf.data : calloc(1, 1);
}

/* A file's text for its annotations (a built app's: its annotation lines); NULL when it cannot. */
static char *read_file(const char *path, size_t *len)
{
    if (mt_bundle != NULL) {
        const mt_bundle_file_t *file = mt_bundle_find(path);
        char *copy = file != NULL ? malloc(file->annotations_len + 1) : NULL;
        if (copy != NULL) {
            memcpy(copy, file->annotations, file->annotations_len);
            *len = file->annotations_len;
        }
        return copy;
    }
    return mt_read_file(path, len);
}

static void add_file(mt_app_t *app, const char *path)
{
    for (size_t i = 0; i != app->num_files; i++)
        if (strcmp(app->files[i], path) == 0)
            return;
    char **grown = realloc(app->files, (app->num_files + 1) * sizeof(char *));
    if (grown == NULL)
        return;
    app->files = grown;
    if ((grown[app->num_files] = strdup(path)) != NULL)
        app->num_files++;
}

/*
 * The Lua-file searcher, in place of the standard one: the same search along
 * package.path, but it remembers the files found in the app's directory,
 * whose annotations belong to the app.
 */
static int app_file_searcher(lua_State *L)
{
    mt_app_t *app = lua_touserdata(L, lua_upvalueindex(1));
    const char *name = luaL_checkstring(L, 1);
    if (mt_bundle != NULL) { /* a built app: its modules are in the bundle, under the paths they had */
        char path[4096], *p;
        for (int init = 0; init < 2; init++) {
            snprintf(path, sizeof(path), "%s/%s%s", app->dir, name, init ? "/init.lua" : ".lua");
            for (p = path + strlen(app->dir) + 1; *p != '\0' && strcmp(p, ".lua") != 0 && strcmp(p, "/init.lua") != 0; p++)
                if (*p == '.')
                    *p = '/';
            if (mt_bundle_find(path) != NULL) {
                add_file(app, path);
                if (load_app_file(L, path) != 0)
                    return luaL_error(L, "error loading module '%s' from '%s':\n\t%s", name, path, lua_tostring(L, -1));
                return 1;
            }
        }
        lua_pushfstring(L, "\n\tno module '%s' in this built app", name);
        return 1;
    }
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "searchpath");
    lua_pushvalue(L, 1);
    lua_getfield(L, -3, "path");
    lua_call(L, 2, 2);
    if (lua_isnil(L, -2))
        return 1; /* the message listing the places tried */
    const char *path = lua_tostring(L, -2);
    size_t dir_len = strlen(app->dir);
    if (strncmp(path, app->dir, dir_len) == 0 && path[dir_len] == '/')
        add_file(app, path);
    if (luaL_loadfile(L, path) != 0)
        return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", name, path, lua_tostring(L, -1));
    return 1;
}

/*
 * require: preload, then the framework's modules built into the binary (the
 * names "moontide" and "moontide.*" are the framework's, so an app file
 * called moontide.lua cannot hide it), then the app's directory
 * (package.path starts there), then LuaJIT's usual places.
 */
static void setup_require(mt_app_t *app)
{
    lua_State *L = app->L;
    lua_getglobal(L, "package");
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;", app->dir, app->dir);
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
    lua_pushlightuserdata(L, app);
    lua_pushcclosure(L, app_file_searcher, 1);
    lua_rawseti(L, -2, 3);
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

static char *get_string_field(lua_State *L, int table, const char *name)
{
    lua_getfield(L, table, name);
    const char *s = lua_tostring(L, -1);
    char *copy = s != NULL ? strdup(s) : NULL;
    lua_pop(L, 1);
    return copy;
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

/*
 * Finds the handler's annotation block (the one standing above the line of
 * its `function` keyword), lets the route's opts (at `entry`) add to it or
 * replace it, and plans the handler's arguments. The handler is on top of
 * the stack.
 */
static void attach_annotations(mt_app_t *app, mt_route_t *route, int entry)
{
    lua_State *L = app->L;
    lua_Debug ar;
    lua_pushvalue(L, -1);
    if (lua_getinfo(L, ">S", &ar) && ar.source[0] == '@') /* not a C function or code from a string */
        route->doc = mt_schema_find_doc(app->schema, ar.source + 1, ar.linedefined);
    const char *file = route->doc != NULL ? route->doc->file : ar.source + (ar.source[0] == '@');
    int line = route->doc != NULL ? route->doc->line : ar.linedefined;
    lua_getfield(L, entry, "opts");
    if (lua_istable(L, -1)) {
        /* problems with opts point at the registration, "file:line" */
        const char *colon = strrchr(route->where, ':');
        char *where_file = colon ? strndup(route->where, (size_t)(colon - route->where)) : strdup(route->where);
        route->doc = mt_route_opts_doc(app->schema, L, lua_gettop(L), route->doc, where_file,
                                       colon ? atoi(colon + 1) : 0);
        free(where_file);
    }
    lua_pop(L, 1);
    if (route->doc == NULL)
        return;
    const char *fn_params[64];
    size_t num_fn_params = 0;
    const char *name;
    while (num_fn_params < 64 && (name = lua_getlocal(L, NULL, (int)num_fn_params + 1)) != NULL)
        fn_params[num_fn_params++] = mt_arena_strndup(&app->schema->arena, name, strlen(name));
    route->binding = mt_binding_plan(app->schema, route->doc, fn_params, num_fn_params, route->param_names,
                                     route->num_params, file, line, 0);
}

/* Puts a route (method and pattern set) into the router and keeps its parameter names. Returns 0, or -1 with *err. */
static int register_route(mt_app_t *app, mt_route_t *route, const char **err)
{
    mt_slice_t names[MT_ROUTER_MAX_PARAMS];
    int num_params = mt_router_pattern_params(route->pattern, names, MT_ROUTER_MAX_PARAMS, err);
    if (num_params < 0 || mt_router_add(app->router, route->method, route->pattern, route, err) != 0)
        return -1;
    route->param_names = calloc((size_t)num_params + 1, sizeof(char *));
    for (int i = 0; route->param_names != NULL && i < num_params; i++)
        route->param_names[route->num_params++] = strndup(names[i].base, names[i].len);
    return 0;
}

/* Copies one entry of app._routes (on top of the stack) into C and the router. */
static void add_route(mt_app_t *app)
{
    lua_State *L = app->L;
    int entry = lua_gettop(L);
    const char *err = NULL;
    mt_route_t *route = calloc(1, sizeof(*route));
    char *method = get_string_field(L, entry, "method");
    mt_route_t **grown = realloc(app->routes, (app->num_routes + 1) * sizeof(*grown));
    if (grown != NULL)
        app->routes = grown;
    if (route == NULL || grown == NULL || method == NULL || (route->where = get_string_field(L, entry, "where")) == NULL ||
        (route->pattern = get_string_field(L, entry, "path")) == NULL) {
        mt_schema_problem_line(app->schema, "%s: a malformed route entry", app->path);
        goto fail;
    }
    if ((route->method = mt_method_parse(method, strlen(method))) < 0) {
        mt_schema_problem_line(app->schema, "%s: unsupported HTTP method '%s'", route->where, method);
        goto fail;
    }
    if (register_route(app, route, &err) != 0) {
        mt_schema_problem_line(app->schema, "%s: %s %s: %s", route->where, method, route->pattern, err);
        goto fail;
    }
    route->kind = MT_ROUTE_HANDLER;
    route->in_schema = 1;
    lua_getfield(L, entry, "opts");
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "include_in_schema");
        route->in_schema = lua_isnil(L, -1) || lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_getfield(L, entry, "reads_request");
    route->reads_request = lua_toboolean(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, entry, "handler");
    attach_annotations(app, route, entry);
    route->handler_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    mt_providers_attach(app, route);
    route->index = app->num_routes;
    app->routes[app->num_routes++] = route;
    free(method);
    return;
fail:
    free(method);
    if (route != NULL)
        route_free(route);
}

/*
 * A route the server answers itself (the docs). Its path must be free: an
 * app route there is a load error saying how to move the docs or turn them
 * off.
 */
static void add_docs_route(mt_app_t *app, mt_route_kind_t kind, const char *pattern, const char *setting)
{
    const char *err = NULL;
    mt_route_t *route = calloc(1, sizeof(*route));
    mt_route_t **grown = realloc(app->routes, (app->num_routes + 1) * sizeof(*grown));
    if (grown != NULL)
        app->routes = grown;
    if (route == NULL || grown == NULL || (route->pattern = strdup(pattern)) == NULL ||
        (route->where = strdup(setting)) == NULL) {
        mt_schema_problem_line(app->schema, "out of memory");
        goto fail;
    }
    route->kind = kind;
    route->method = mt_method_parse("GET", 3);
    route->handler_ref = LUA_NOREF;
    if (register_route(app, route, &err) != 0) {
        if (kind == MT_ROUTE_ASSET)
            mt_schema_problem_line(app->schema, "%s: GET %s: %s (the docs' assets are served there)", app->path,
                                   pattern, err);
        else
            mt_schema_problem_line(app->schema,
                                   "%s: GET %s: %s (moontide serves its docs there: move them with "
                                   "moontide.app{ %s = \"/other\" } or turn them off with %s = false)",
                                   app->path, pattern, err, setting, setting);
        goto fail;
    }
    route->index = app->num_routes;
    app->routes[app->num_routes++] = route;
    return;
fail:
    if (route != NULL)
        route_free(route);
}

/* A docs path: nil gives the default, false turns it off, a string starting with '/' moves it. */
static char *docs_url(mt_app_t *app, int table, const char *name, const char *fallback)
{
    lua_getfield(app->L, table, name);
    char *url = NULL;
    if (lua_isnil(app->L, -1))
        url = strdup(fallback);
    else if (lua_type(app->L, -1) == LUA_TSTRING && lua_tostring(app->L, -1)[0] == '/')
        url = strdup(lua_tostring(app->L, -1));
    else if (!(lua_type(app->L, -1) == LUA_TBOOLEAN && !lua_toboolean(app->L, -1)))
        mt_schema_problem_line(app->schema, "%s: moontide.app{ %s = ... } must be a path starting with '/', or false",
                               app->path, name);
    lua_pop(app->L, 1);
    return url;
}

/* What moontide.app{...} said (the app table is at `table`). */
static void read_info(mt_app_t *app, int table)
{
    lua_State *L = app->L;
    mt_app_info_t *info = &app->info;
    info->title = get_string_field(L, table, "title");
    info->version = get_string_field(L, table, "version");
    info->description = get_string_field(L, table, "description");
    lua_getfield(L, table, "tags");
    size_t n = lua_istable(L, -1) ? lua_objlen(L, -1) : 0;
    info->tags = n != 0 ? calloc(n, sizeof(*info->tags)) : NULL;
    for (size_t i = 1; info->tags != NULL && i <= n; i++) {
        lua_rawgeti(L, -1, (int)i);
        if (lua_istable(L, -1) && (info->tags[info->num_tags].name = get_string_field(L, lua_gettop(L), "name")) != NULL)
            info->tags[info->num_tags++].description = get_string_field(L, lua_gettop(L), "description");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    info->openapi_url = docs_url(app, table, "openapi_url", "/openapi.json");
    info->docs_url = docs_url(app, table, "docs_url", "/docs");
    info->redoc_url = docs_url(app, table, "redoc_url", "/redoc");
    if (info->openapi_url == NULL) { /* the pages show the document: without it there is nothing to show */
        free(info->docs_url);
        free(info->redoc_url);
        info->docs_url = info->redoc_url = NULL;
    }
    if (info->title == NULL || info->version == NULL)
        mt_schema_problem_line(app->schema, "%s: moontide.app{}: title and version must be strings", app->path);
}

static void add_docs_routes(mt_app_t *app)
{
    const mt_app_info_t *info = &app->info;
    if (info->openapi_url != NULL)
        add_docs_route(app, MT_ROUTE_OPENAPI, info->openapi_url, "openapi_url");
    if (info->docs_url != NULL)
        add_docs_route(app, MT_ROUTE_SWAGGER, info->docs_url, "docs_url");
    if (info->redoc_url != NULL)
        add_docs_route(app, MT_ROUTE_REDOC, info->redoc_url, "redoc_url");
    if (info->docs_url != NULL || info->redoc_url != NULL)
        add_docs_route(app, MT_ROUTE_ASSET, MT_DOCS_ASSETS_PREFIX "{file}", "docs_url");
}

/* The value at `index` is an app made by moontide.app{}. */
static int is_app(lua_State *L, int index)
{
    int yes = 0;
    if (lua_getmetatable(L, index)) {
        lua_getfield(L, -1, "__name");
        yes = lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), "moontide.App") == 0;
        lua_pop(L, 2);
    }
    return yes;
}

/* The value on top of the stack is what the app file returned. */
static void collect_routes(mt_app_t *app)
{
    lua_State *L = app->L;
    int app_index = lua_gettop(L);
    if (!is_app(L, app_index)) {
        mt_schema_problem_line(app->schema,
                               "%s: the app file must end with 'return app' (an app from moontide.app{}), but it returned %s",
                               app->path, luaL_typename(L, app_index));
        return;
    }
    read_info(app, app_index);
    mt_lifecycle_collect(app, app_index);
    mt_cors_configure(app, app_index);
    mt_compress_configure(app, app_index);
    mt_static_configure(app, app_index);
    lua_getfield(L, app_index, "_routes");
    int routes = lua_gettop(L);
    size_t n = lua_objlen(L, routes);
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, routes, (int)i);
        add_route(app);
        lua_settop(L, routes);
    }
    lua_settop(L, app_index - 1);
    add_docs_routes(app);
}

/*
 * Reads the annotations of every file of the app, then resolves the names
 * they use: classes, aliases and, when the app file returned an app (at
 * `app_index`, 0 when it failed), the names its providers give.
 */
static void read_annotations(mt_app_t *app, int app_index)
{
    for (size_t i = 0; i != app->num_files; i++) {
        size_t len;
        char *text = read_file(app->files[i], &len);
        if (text == NULL) {
            mt_schema_problem_line(app->schema, "%s: cannot read the file for its annotations", app->files[i]);
            continue;
        }
        mt_annotation_scan(app->schema, app->files[i], text, len);
        free(text);
    }
    if (app_index != 0 && is_app(app->L, app_index))
        mt_providers_declare(app, app_index);
    mt_schema_resolve(app->schema);
}

static int resolve_paths(mt_app_t *app, const char *app_path)
{
    struct stat st;
    char resolved[PATH_MAX];
    if (mt_bundle != NULL) { /* a built app: its main file, under the path it had when built */
        const char *main_file = mt_bundle->files[0].name, *slash = strrchr(main_file, '/');
        app->path = strdup(main_file);
        app->dir = slash == NULL ? strdup(".") : strndup(main_file, (size_t)(slash - main_file) + (slash == main_file));
        return 0;
    }
    if (stat(app_path, &st) != 0) {
        mt_schema_problem_line(app->schema, "%s: %s", app_path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(resolved, sizeof(resolved), "%s/app.lua", app_path);
        if (stat(resolved, &st) != 0) {
            mt_schema_problem_line(app->schema, "%s: no app.lua in this directory", app_path);
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

static void take_problems(mt_app_t *app, mt_problems_t *problems)
{
    problems->lines = app->schema->problems;
    problems->count = app->schema->num_problems;
    app->schema->problems = NULL;
    app->schema->num_problems = 0;
}

mt_app_t *mt_app_load(const char *app_path, mt_problems_t *problems)
{
    *problems = (mt_problems_t){NULL, 0};
    mt_app_t *app = calloc(1, sizeof(*app));
    if (app == NULL || (app->schema = mt_schema_new()) == NULL ||
        (app->idle_threads = calloc(MT_APP_MAX_IDLE_THREADS, sizeof(*app->idle_threads))) == NULL) {
        if (app != NULL)
            mt_schema_free(app->schema);
        free(app);
        static char *oom[] = {"out of memory"};
        problems->lines = oom;
        return NULL;
    }
    app->startup_ref = app->shutdown_ref = LUA_NOREF;
    if (resolve_paths(app, app_path) != 0)
        goto fail;
    if ((app->L = mt_lua_memory_newstate(&app->memory)) == NULL || (app->router = mt_router_new()) == NULL) {
        mt_schema_problem_line(app->schema, "out of memory");
        goto fail;
    }
    lua_State *L = app->L;
    luaL_openlibs(L);
    mt_lua_api_open(L);
    mt_request_open(app);
    setup_require(app);
    add_file(app, app->path);

    lua_pushcfunction(L, traceback_handler);
    if (load_app_file(L, app->path) != 0 || lua_pcall(L, 0, 1, -2) != 0) {
        const char *msg = lua_tostring(L, -1);
        mt_schema_problem_line(app->schema, "%.*s", (int)strcspn(msg, "\n"), msg);
        /* still read what annotations there are, so `check` reports them too */
        read_annotations(app, 0);
        goto fail;
    }
    read_annotations(app, lua_gettop(L));
    collect_routes(app);
    if (app->schema->num_problems != 0)
        goto fail;
    const char *docs_error;
    if (mt_docs_prepare(app, &docs_error) != 0) {
        mt_schema_problem_line(app->schema, "%s: cannot build the OpenAPI document: %s", app->path, docs_error);
        goto fail;
    }
    lua_settop(L, 0);
    lua_gc(L, LUA_GCCOLLECT, 0);
    /* A cycle starts when the heap is 4 × what the last one kept, not 2 ×:
     * requests make short-lived garbage over a small live set, so this halves
     * the collector's work per request for a few hundred KB more heap. */
    lua_gc(L, LUA_GCSETPAUSE, 400);
    return app;
fail:
    take_problems(app, problems);
    mt_app_free(app);
    return NULL;
}

void mt_problems_free(mt_problems_t *problems)
{
    if (problems->lines == NULL || problems->count == 0)
        return;
    for (size_t i = 0; i != problems->count; i++)
        free(problems->lines[i]);
    free(problems->lines);
    *problems = (mt_problems_t){NULL, 0};
}

void mt_app_free(mt_app_t *app)
{
    if (app == NULL)
        return;
    mt_lifecycle_shutdown(app); /* a generation moontide dev retired: its last request is done */
    for (size_t i = 0; i != app->num_routes; i++)
        route_free(app->routes[i]);
    free(app->routes);
    mt_router_free(app->router);
    if (app->L != NULL)
        mt_lua_memory_close(app->L, &app->memory);
    for (size_t i = 0; i != app->num_files; i++)
        free(app->files[i]);
    free(app->files);
    mt_schema_free(app->schema);
    free(app->idle_threads);
    free(app->info.title);
    free(app->info.version);
    free(app->info.description);
    for (size_t i = 0; i != app->info.num_tags; i++) {
        free(app->info.tags[i].name);
        free(app->info.tags[i].description);
    }
    free(app->info.tags);
    free(app->info.openapi_url);
    free(app->info.docs_url);
    free(app->info.redoc_url);
    mt_buf_free(&app->openapi);
    mt_buf_free(&app->swagger_page);
    mt_buf_free(&app->redoc_page);
    mt_cors_free(app->cors);
    mt_static_free(app);
    free(app->path);
    free(app->dir);
    free(app);
}

/*
 * An app generation: one loaded app with its own Lua state, its routes and
 * the router over them. Everything here is owned by the generation and freed
 * with it, so a later reload can retire a generation as a whole.
 */
#ifndef MT_APP_H
#define MT_APP_H

#include <stddef.h>
#include <lua.h>
#include "router.h"

typedef struct st_mt_route_t {
    size_t index;        /* position in app->routes */
    int method;
    char *pattern;       /* "/items/{id}" */
    char **param_names;  /* in path order, matching the router's param slices */
    size_t num_params;
    int handler_ref;     /* registry reference of the handler function */
    char *where;         /* "app.lua:12", where the route was registered */
    void *schema;        /* compiled annotations (binding, validation); NULL when none */
} mt_route_t;

typedef struct st_mt_app_t {
    lua_State *L;
    mt_router_t *router;
    mt_route_t **routes;
    size_t num_routes;
    char *path; /* the app's main file */
    char *dir;  /* its directory: require looks here first */
} mt_app_t;

/*
 * Loads APP (a .lua file, or a directory holding app.lua). Returns NULL with
 * a one-line "FILE:LINE: message" (or a plain reason) in errbuf on failure.
 */
mt_app_t *mt_app_load(const char *app_path, char *errbuf, size_t errsize);
void mt_app_free(mt_app_t *app);

#endif

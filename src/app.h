/*
 * An app generation: one loaded app with its own Lua state, its routes, the
 * router over them and the schema model of its annotations. Everything here
 * is owned by the generation and freed with it, so a later reload can retire
 * a generation as a whole.
 */
#ifndef MT_APP_H
#define MT_APP_H

#include <stddef.h>
#include <lua.h>
#include "annotation.h"
#include "binding.h"
#include "router.h"

typedef struct st_mt_route_t {
    size_t index;        /* position in app->routes */
    int method;
    char *pattern;       /* "/items/{id}" */
    char **param_names;  /* in path order, matching the router's param slices */
    size_t num_params;
    int handler_ref;     /* registry reference of the handler function */
    char *where;         /* "app.lua:12", where the route was registered */
    const mt_handler_doc_t *doc; /* the handler's annotations; NULL when none */
    mt_binding_t *binding;       /* where its arguments come from; NULL: it takes the request object */
} mt_route_t;

typedef struct st_mt_app_t {
    lua_State *L;
    mt_router_t *router;
    mt_route_t **routes;
    size_t num_routes;
    char *path;    /* the app's main file */
    char *dir;     /* its directory: require looks here first */
    char **files;  /* the app's Lua files: the main file and the modules it required from dir */
    size_t num_files;
    mt_schema_t *schema;
    int *idle_threads; /* registry references of coroutines that finished and can run the next request */
    size_t num_idle_threads;
} mt_app_t;

#define MT_APP_MAX_IDLE_THREADS 256

typedef struct st_mt_problems_t {
    char **lines; /* "FILE:LINE: message" */
    size_t count;
} mt_problems_t;

/*
 * Loads APP (a .lua file, or a directory holding app.lua) and checks its
 * annotations. Returns NULL when anything is wrong, with every problem found
 * in *problems (free them with mt_problems_free).
 */
mt_app_t *mt_app_load(const char *app_path, mt_problems_t *problems);
void mt_app_free(mt_app_t *app);
void mt_problems_free(mt_problems_t *problems);

#endif

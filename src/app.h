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
#include "buf.h"
#include "router.h"
#include "lua_memory.h"

typedef enum {
    MT_ROUTE_HANDLER,  /* a Lua handler */
    MT_ROUTE_OPENAPI,  /* the OpenAPI document */
    MT_ROUTE_SWAGGER,  /* the Swagger UI page */
    MT_ROUTE_REDOC,    /* the ReDoc page */
    MT_ROUTE_ASSET,    /* a file of those pages, from the binary */
} mt_route_kind_t;

typedef struct st_mt_route_t {
    size_t index;        /* position in app->routes */
    mt_route_kind_t kind;
    int in_schema;       /* listed in the OpenAPI document */
    int method;
    char *pattern;       /* "/items/{id}" */
    char **param_names;  /* in path order, matching the router's param slices */
    size_t num_params;
    int handler_ref;     /* registry reference of the handler function */
    char *where;         /* "app.lua:12", where the route was registered */
    const mt_handler_doc_t *doc; /* the handler's annotations; NULL when none */
    mt_binding_t *binding;       /* where its arguments come from; NULL: it takes the request object */
    int reads_request;           /* without a binding: its bytecode reads that first parameter (moontide.lua) */
    struct st_mt_step_t *steps;  /* the providers it needs, in the order they run (providers.c) */
    size_t num_steps;
    int steps_ref;               /* with providers: the steps as the Lua runner reads them */
    const mt_binding_t *inputs;  /* what the request must carry, its providers' included (for the docs) */
} mt_route_t;

/* A type name given to app:provide, and the function that makes its values. */
typedef struct st_mt_provider_t {
    const char *name;
    const char *where; /* "app.lua:12", the app:provide call */
    int fn_ref;
    const mt_handler_doc_t *doc; /* the provider function's annotations; NULL when none */
    const char **fn_params;      /* its parameter names (in the schema's arena) */
    size_t num_fn_params;
    const char *file; /* where its plan's problems point */
    int line;
    /* moontide.security.*: what OpenAPI's securitySchemes says of it (scheme NULL: an ordinary provider) */
    struct {
        const char *scheme; /* "apiKey", or "http" for bearer tokens */
        const char *name;   /* the header, query parameter or cookie carrying the credential */
        const char *in;
        const char *format; /* bearerFormat */
        const char *description;
    } security;
    struct st_mt_binding_t *credential_plan; /* a security provider's one input, made at load */
} mt_provider_t;

typedef struct st_mt_tag_t {
    char *name;
    char *description;
} mt_tag_t;

/* What moontide.app{...} says about the app's docs. */
typedef struct st_mt_app_info_t {
    char *title;
    char *version;
    char *description;
    mt_tag_t *tags; /* tags = { { name =, description = } } */
    size_t num_tags;
    char *openapi_url; /* NULL: turned off */
    char *docs_url;
    char *redoc_url;
} mt_app_info_t;

struct st_mt_cors_t;
struct st_mt_static_mount_t;

/* app:gzip{...}: compress responses of compressible types from minimum_size bytes (enabled 0: off). */
typedef struct st_mt_gzip_t {
    int enabled;
    size_t minimum_size;
    int level;
} mt_gzip_t;

typedef struct st_mt_app_t {
    lua_State *L;
    mt_lua_memory_t memory; /* its allocator's count and cap (--max-lua-memory) */
    mt_app_info_t info;
    mt_router_t *router;
    mt_route_t **routes;
    size_t num_routes;
    char *path;    /* the app's main file */
    char *dir;     /* its directory: require looks here first */
    char **files;  /* the app's Lua files: the main file and the modules it required from dir */
    size_t num_files;
    mt_schema_t *schema;
    mt_provider_t *providers;
    size_t num_providers;
    int request_mt_ref;      /* the request object's metatable (request.c) */
    int request_anchors_ref; /* table: coroutine ref -> request object of the call running in it */
    /* coroutines that finished and can run the next request, kept alive by their registry references */
    struct st_mt_idle_thread_t {
        lua_State *co;
        int ref;
    } *idle_threads;
    size_t num_idle_threads;
    int startup_ref, shutdown_ref; /* app:on_startup / app:on_shutdown functions (lifecycle.c) */
    int started;                   /* this process ran its startup functions: shutdown ones are due */
    int refs;    /* requests in flight on this generation */
    int retired; /* a reload replaced it: freed when its last request is done */
    mt_buf_t openapi;      /* the OpenAPI document, built once */
    mt_buf_t swagger_page; /* the HTML of the docs pages */
    mt_buf_t redoc_page;
    struct st_mt_cors_t *cors;              /* app:cors{...}; NULL when not called (cors.c) */
    mt_gzip_t gzip;                         /* app:gzip{...} (compress.c) */
    struct st_mt_static_mount_t *statics;   /* app:static(prefix, dir), in call order (static_files.c) */
    size_t num_statics;
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

/* Reads a whole file into a malloc'd buffer; NULL (errno set) when it cannot. */
char *mt_read_file(const char *path, size_t *len);
void mt_problems_free(mt_problems_t *problems);

#endif

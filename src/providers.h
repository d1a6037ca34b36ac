/*
 * Dependencies (SPEC §7): app:provide("TypeName", fn). A handler or provider
 * parameter annotated with a provided type gets what that provider returns,
 * made once per request. When the app loads, each route gets its steps: the
 * providers it needs, in an order where each runs after those it takes.
 * Their request inputs are bound and validated in C with the handler's (one
 * 422 for all); a small Lua runner then calls the providers and the handler
 * in the request's coroutine, so a provider may wait or raise like a handler.
 */
#ifndef MT_PROVIDERS_H
#define MT_PROVIDERS_H

#include "app.h"
#include "binding.h"
#include "request.h"

typedef struct st_mt_step_t {
    size_t provider;    /* index into app->providers */
    mt_binding_t *plan; /* its arguments for this route; NULL: it takes the request object */
} mt_step_t;

/* Loads the runner into the registry; called once per Lua state. */
void mt_providers_open(lua_State *L);

/*
 * Reads app._providers (the app table is at `app_index`) into app->providers
 * with each function's annotations, and declares each name as a type: after
 * the annotations are scanned, before their names are resolved.
 */
void mt_providers_declare(mt_app_t *app, int app_index);

/*
 * Plans the steps of a route whose binding is made (a cycle among providers
 * is a problem recorded in the schema) and sets route->inputs.
 */
void mt_providers_attach(mt_app_t *app, mt_route_t *route);

/* Pushes the runner and the route's steps: the coroutine's function and its first argument. */
void mt_providers_push_runner(lua_State *co, const mt_route_t *route);

/* Runs the cleanups the call's providers returned, last first; errors are logged. */
void mt_providers_cleanup(mt_call_t *call);

#endif

/*
 * Providers: declaring their type names, planning each route's steps, and
 * the runner that calls them in the request's coroutine. See providers.h.
 */
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>
#include "handler.h"
#include "log.h"
#include "lua_api.h"
#include "providers.h"

#define RUNNER_KEY "moontide.providers.run"

/*
 * run(steps, ...): the coroutine's function for a route with providers. `...`
 * holds each step's bound arguments in turn, a provider's value standing as
 * nil where `from` names the provider that makes it. The last step is the
 * handler. A provider's second result, when not nil, is its cleanup.
 */
static const char RUNNER[] = "local defer, unpack = ...\n"
                             "return function(steps, ...)\n"
                             "  local values, made, at, last = { ... }, {}, 0, #steps\n"
                             "  for s = 1, last do\n"
                             "    local step = steps[s]\n"
                             "    local n, from, args = step.n, step.from, {}\n"
                             "    for i = 1, n do\n"
                             "      local id = from[i]\n"
                             "      if id ~= nil then args[i] = made[id] else args[i] = values[at + i] end\n"
                             "    end\n"
                             "    at = at + n\n"
                             "    if s == last then return step.fn(unpack(args, 1, n)) end\n"
                             "    local value, cleanup = step.fn(unpack(args, 1, n))\n"
                             "    if cleanup ~= nil then defer(cleanup, step.name) end\n"
                             "    made[step.id] = value\n"
                             "  end\n"
                             "end\n";

/* defer(cleanup, provider name): keeps the cleanup with the call, to run once the response is out. */
static int runner_defer(lua_State *L)
{
    mt_call_t *call = mt_call_current(L);
    if (lua_type(L, 1) != LUA_TFUNCTION)
        return luaL_error(L, "provider '%s' returned a cleanup that is not a function (a %s)", lua_tostring(L, 2),
                          luaL_typename(L, 1));
    if (call == NULL)
        return luaL_error(L, "provider '%s' ran outside a request", lua_tostring(L, 2));
    if (call->cleanups_ref == LUA_NOREF) {
        lua_newtable(L);
        call->cleanups_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, call->cleanups_ref);
    int n = (int)lua_objlen(L, -1);
    lua_pushvalue(L, 1);
    lua_rawseti(L, -2, n + 1);
    lua_pushvalue(L, 2);
    lua_rawseti(L, -2, n + 2);
    return 0;
}

void mt_providers_open(lua_State *L)
{
    if (luaL_loadbuffer(L, RUNNER, sizeof(RUNNER) - 1, "=moontide.providers") != 0)
        lua_error(L);
    lua_pushcfunction(L, runner_defer);
    lua_getglobal(L, "unpack");
    lua_call(L, 2, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, RUNNER_KEY);
}

static const char *arena_string_field(mt_app_t *app, int table, const char *name)
{
    lua_getfield(app->L, table, name);
    size_t len;
    const char *s = lua_tolstring(app->L, -1, &len);
    const char *copy = mt_arena_strndup(&app->schema->arena, s != NULL ? s : "?", s != NULL ? len : 1);
    lua_pop(app->L, 1);
    return copy;
}

/* The provider function is on top of the stack: finds its annotations and parameter names. */
static void read_function(mt_app_t *app, mt_provider_t *p)
{
    lua_State *L = app->L;
    lua_Debug ar;
    lua_pushvalue(L, -1);
    lua_getinfo(L, ">S", &ar);
    int from_file = ar.source[0] == '@';
    p->doc = from_file ? mt_schema_find_doc(app->schema, ar.source + 1, ar.linedefined) : NULL;
    p->file = p->doc != NULL ? p->doc->file : mt_arena_strndup(&app->schema->arena, ar.source + from_file,
                                                                  strlen(ar.source + from_file));
    p->line = p->doc != NULL ? p->doc->line : ar.linedefined;
    p->fn_params = mt_arena_alloc(&app->schema->arena, 64 * sizeof(char *));
    const char *name;
    while (p->num_fn_params < 64 && (name = lua_getlocal(L, NULL, (int)p->num_fn_params + 1)) != NULL)
        p->fn_params[p->num_fn_params++] = mt_arena_strndup(&app->schema->arena, name, strlen(name));
}

/* A string field of the table on top of the stack, in the arena; NULL when absent. */
static const char *optional_string(mt_app_t *app, const char *name)
{
    lua_getfield(app->L, -1, name);
    size_t len;
    const char *s = lua_tolstring(app->L, -1, &len);
    const char *copy = s != NULL ? mt_arena_strndup(&app->schema->arena, s, len) : NULL;
    lua_pop(app->L, 1);
    return copy;
}

/*
 * A moontide.security.* provider (its description table on top of the
 * stack): the credential is its one input, an optional string read from its
 * header, query parameter or cookie, so a request without it reaches the
 * provider (which answers 401) instead of failing validation with 422.
 */
static void read_security(mt_app_t *app, mt_provider_t *p)
{
    mt_arena_t *arena = &app->schema->arena;
    p->security.scheme = optional_string(app, "scheme");
    p->security.name = optional_string(app, "name");
    p->security.in = optional_string(app, "in");
    p->security.format = optional_string(app, "format");
    p->security.description = optional_string(app, "description");
    if (p->security.scheme == NULL || p->security.name == NULL || p->security.in == NULL) {
        p->security.scheme = NULL;
        return;
    }
    mt_type_t *string = mt_arena_alloc(arena, sizeof(*string));
    string->kind = MT_TYPE_STRING;
    mt_param_doc_t *doc = mt_arena_alloc(arena, sizeof(*doc));
    *doc = (mt_param_doc_t){.name = "credential", .optional = 1, .type = string, .line = p->line};
    mt_binding_t *plan = mt_arena_alloc(arena, sizeof(*plan));
    plan->args = mt_arena_alloc(arena, sizeof(*plan->args));
    plan->num_args = 1;
    plan->body_arg = -1;
    mt_binding_arg_t *arg = plan->args;
    *arg = (mt_binding_arg_t){.name = "credential", .wire_name = p->security.name, .optional = 1, .type = string,
                              .doc = doc, .credential = 1};
    if (strcmp(p->security.in, "query") == 0) {
        arg->source = MT_FROM_QUERY;
    } else if (strcmp(p->security.in, "cookie") == 0) {
        arg->source = MT_FROM_COOKIE;
    } else {
        char *lower = mt_arena_strndup(arena, p->security.name, strlen(p->security.name));
        for (char *c = lower; *c != '\0'; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
        arg->source = MT_FROM_HEADER;
        arg->wire_name = lower;
    }
    p->credential_plan = plan;
}

void mt_providers_declare(mt_app_t *app, int app_index)
{
    lua_State *L = app->L;
    lua_getfield(L, app_index, "_providers");
    int list = lua_gettop(L);
    size_t n = lua_istable(L, list) ? lua_objlen(L, list) : 0;
    app->providers = mt_arena_alloc(&app->schema->arena, (n ? n : 1) * sizeof(*app->providers));
    for (size_t i = 0; i != n; i++) {
        lua_rawgeti(L, list, (int)i + 1);
        int entry = lua_gettop(L);
        mt_provider_t *p = app->providers + app->num_providers++;
        p->name = arena_string_field(app, entry, "name");
        p->where = arena_string_field(app, entry, "where");
        lua_getfield(L, entry, "fn");
        read_function(app, p);
        p->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        lua_getfield(L, entry, "security");
        if (lua_istable(L, -1))
            read_security(app, p);
        lua_settop(L, list);

        mt_type_t *type = mt_arena_alloc(&app->schema->arena, sizeof(*type));
        type->kind = MT_TYPE_PROVIDED;
        type->u.provided.name = p->name;
        type->u.provided.index = i;
        const char *colon = strrchr(p->where, ':');
        type->file = colon != NULL ? mt_arena_strndup(&app->schema->arena, p->where, (size_t)(colon - p->where)) : p->where;
        type->line = colon != NULL ? atoi(colon + 1) : 0;
        mt_schema_add_type(app->schema, p->name, type, 0, type->file, type->line);
    }
    lua_settop(L, list - 1);
}

typedef struct st_planner_t {
    mt_app_t *app;
    mt_route_t *route;
    char *state;    /* per provider: 0 not met, 1 being planned (on the chain), 2 planned */
    size_t *chain;  /* the providers being planned, outermost first */
    size_t depth;
} planner_t;

static void plan_provider(planner_t *pl, size_t index);

static void plan_dependencies(planner_t *pl, const mt_binding_t *plan)
{
    for (size_t i = 0; plan != NULL && i != plan->num_args; i++)
        if (plan->args[i].doc != NULL && plan->args[i].source == MT_FROM_PROVIDER)
            plan_provider(pl, plan->args[i].provider);
}

static void report_cycle(planner_t *pl, size_t index)
{
    char text[1024];
    size_t len = 0, start = 0;
    while (pl->chain[start] != index)
        start++;
    for (size_t i = start; i <= pl->depth && len < sizeof(text); i++) {
        const char *name = pl->app->providers[i < pl->depth ? pl->chain[i] : index].name;
        len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s", i > start ? " -> " : "", name);
    }
    const mt_provider_t *p = pl->app->providers + index;
    mt_schema_problem(pl->app->schema, p->file, p->line, "providers depend on each other in a cycle: %s", text);
}

/* Plans a provider after those it takes (depth first), then appends it to the route's steps. */
static void plan_provider(planner_t *pl, size_t index)
{
    if (pl->state[index] == 2)
        return;
    if (pl->state[index] == 1) {
        report_cycle(pl, index);
        return;
    }
    mt_app_t *app = pl->app;
    mt_route_t *route = pl->route;
    const mt_provider_t *p = app->providers + index;
    pl->state[index] = 1;
    pl->chain[pl->depth++] = index;
    mt_binding_t *plan = p->credential_plan;
    if (plan == NULL && p->doc != NULL && p->doc->num_params != 0)
        plan = mt_binding_plan(app->schema, p->doc, p->fn_params, p->num_fn_params, route->param_names,
                               route->num_params, p->file, p->line, 1);
    plan_dependencies(pl, plan);
    pl->depth--;
    pl->state[index] = 2;
    route->steps[route->num_steps++] = (mt_step_t){index, plan};
}

static int takes_input(const mt_binding_arg_t *arg)
{
    return arg->doc != NULL && arg->source != MT_FROM_REQUEST && arg->source != MT_FROM_PROVIDER;
}

/* The handler's arguments, then what its providers read that it does not: the operation's inputs. */
static const mt_binding_t *merged_inputs(mt_app_t *app, const mt_route_t *route)
{
    size_t most = route->binding->num_args;
    for (size_t s = 0; s != route->num_steps; s++)
        most += route->steps[s].plan != NULL ? route->steps[s].plan->num_args : 0;
    mt_binding_t *inputs = mt_arena_alloc(&app->schema->arena, sizeof(*inputs));
    inputs->args = mt_arena_alloc(&app->schema->arena, (most ? most : 1) * sizeof(*inputs->args));
    inputs->body_arg = route->binding->body_arg;
    memcpy(inputs->args, route->binding->args, route->binding->num_args * sizeof(*inputs->args));
    inputs->num_args = route->binding->num_args;
    for (size_t s = 0; s != route->num_steps; s++) {
        const mt_binding_t *plan = route->steps[s].plan;
        for (size_t i = 0; plan != NULL && i != plan->num_args; i++) {
            const mt_binding_arg_t *arg = plan->args + i;
            int seen = !takes_input(arg);
            for (size_t j = 0; !seen && j != inputs->num_args; j++)
                seen = takes_input(inputs->args + j) && inputs->args[j].source == arg->source &&
                       strcmp(inputs->args[j].wire_name, arg->wire_name) == 0;
            if (!seen)
                inputs->args[inputs->num_args++] = *arg;
        }
    }
    return inputs;
}

/* Pushes {[position] = provider id} for the arguments a provider makes. */
static void push_from(lua_State *L, const mt_binding_t *plan)
{
    lua_newtable(L);
    for (size_t i = 0; plan != NULL && i != plan->num_args; i++) {
        if (plan->args[i].doc != NULL && plan->args[i].source == MT_FROM_PROVIDER) {
            lua_pushinteger(L, (lua_Integer)plan->args[i].provider + 1);
            lua_rawseti(L, -2, (int)i + 1);
        }
    }
}

static void push_step(lua_State *L, int fn_ref, const mt_binding_t *plan, size_t id, const char *name)
{
    lua_createtable(L, 0, 5);
    lua_rawgeti(L, LUA_REGISTRYINDEX, fn_ref);
    lua_setfield(L, -2, "fn");
    lua_pushinteger(L, plan != NULL ? (lua_Integer)plan->num_args : 1); /* no plan: the request object */
    lua_setfield(L, -2, "n");
    push_from(L, plan);
    lua_setfield(L, -2, "from");
    lua_pushinteger(L, (lua_Integer)id);
    lua_setfield(L, -2, "id");
    lua_pushstring(L, name);
    lua_setfield(L, -2, "name");
}

void mt_providers_attach(mt_app_t *app, mt_route_t *route)
{
    route->inputs = route->binding;
    route->steps_ref = LUA_NOREF;
    if (route->binding == NULL || app->num_providers == 0)
        return;
    planner_t pl = {app, route, calloc(app->num_providers, 1), calloc(app->num_providers, sizeof(size_t)), 0};
    route->steps = mt_arena_alloc(&app->schema->arena, app->num_providers * sizeof(*route->steps));
    if (pl.state == NULL || pl.chain == NULL) {
        mt_schema_problem_line(app->schema, "out of memory");
    } else {
        plan_dependencies(&pl, route->binding);
    }
    free(pl.state);
    free(pl.chain);
    if (route->num_steps == 0)
        return;
    route->inputs = merged_inputs(app, route);

    lua_State *L = app->L;
    lua_createtable(L, (int)route->num_steps + 1, 0);
    for (size_t s = 0; s != route->num_steps; s++) {
        const mt_provider_t *p = app->providers + route->steps[s].provider;
        push_step(L, p->fn_ref, route->steps[s].plan, route->steps[s].provider + 1, p->name);
        lua_rawseti(L, -2, (int)s + 1);
    }
    push_step(L, route->handler_ref, route->binding, 0, "handler");
    lua_rawseti(L, -2, (int)route->num_steps + 1);
    route->steps_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

void mt_providers_push_runner(lua_State *co, const mt_route_t *route)
{
    lua_getfield(co, LUA_REGISTRYINDEX, RUNNER_KEY);
    lua_rawgeti(co, LUA_REGISTRYINDEX, route->steps_ref);
}

void mt_providers_cleanup(mt_call_t *call)
{
    if (call->cleanups_ref == LUA_NOREF)
        return;
    lua_State *L = call->app->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, call->cleanups_ref);
    int list = lua_gettop(L);
    for (int i = (int)lua_objlen(L, list) - 1; i >= 1; i -= 2) { /* the last provider's first */
        lua_pushcfunction(L, mt_lua_traceback);
        lua_rawgeti(L, list, i);
        if (lua_pcall(L, 0, 0, -2) != 0) {
            lua_rawgeti(L, list, i + 1);
            mt_log_error("the cleanup of provider '%s' (for %s %s, %s) failed: %s", lua_tostring(L, -1),
                         mt_method_name(call->route->method), call->route->pattern, call->route->where,
                         lua_tostring(L, -2));
            lua_pop(L, 2);
        }
        lua_pop(L, 1);
    }
    lua_settop(L, list - 1);
    luaL_unref(L, LUA_REGISTRYINDEX, call->cleanups_ref);
    call->cleanups_ref = LUA_NOREF;
}

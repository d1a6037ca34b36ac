/*
 * Request dispatch. Routing and the 404/405 answers happen in C; a matched
 * request gets a call (in the request's pool) and a fresh coroutine that runs
 * the handler with its arguments. What the coroutine returns or raises goes
 * to response.c. A call answered at once is released at once; any other is
 * released by a dispose callback on the request's pool, so a request torn
 * down early (client gone) unwinds the same way as one that finished.
 */
#include <lauxlib.h>
#include <signal.h>
#include <time.h>
#include "arguments.h"
#include "cors.h"
#include "docs.h"
#include "filters.h"
#include "handler.h"
#include "json.h"
#include "log.h"
#include "lua_api.h"
#include "providers.h"
#include "request_id.h"
#include "response.h"
#include "static_files.h"
#include "stream.h"

uint64_t mt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static mt_call_t *current_call; /* the call whose coroutine is running, while it runs */
static volatile sig_atomic_t interrupt_armed; /* the --timeout hook is set */

mt_call_t *mt_call_current(lua_State *L)
{
    return current_call != NULL && current_call->co == L ? current_call : NULL;
}

/* Stops whatever the call waits for; it will not be resumed. */
static void stop_waiting(mt_call_t *call)
{
    if (call->cancel != NULL) {
        call->cancel(call);
        call->cancel = NULL;
    }
    mt_timer_stop(&call->deadline);
}

static void release_call(mt_call_t *call)
{
    stop_waiting(call); /* the client went away while the handler waited */
    mt_stream_dispose(call);
    mt_app_t *app = call->app;
    if (app == NULL)
        return;
    mt_providers_cleanup(call); /* the response is out (or the client gone) */
    mt_request_release(call);
    if (--app->refs == 0 && app->retired)
        mt_app_free(app);
}

static void on_call_dispose(void *hook)
{
    release_call(*(mt_call_t **)hook);
}

void mt_handler_set_app(mt_handler_t *self, mt_app_t *app)
{
    mt_app_t *old = self->app;
    self->app = app;
    old->retired = 1;
    if (old->refs == 0)
        mt_app_free(old);
}

static void send_internal_error(mt_call_t *call)
{
    mt_response_send_detail(call->req, 500, "Internal Server Error");
}

/* The client asks for HTML first (a browser): it gets the traceback as a page, anyone else as JSON. */
static int wants_html(h2o_req_t *req)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_ACCEPT, -1);
    return i >= 0 && h2o_strstr(req->headers.entries[i].value.base, req->headers.entries[i].value.len,
                                H2O_STRLIT("text/html")) != SIZE_MAX;
}

#define APPEND_LITERAL(buf, lit) mt_buf_append((buf), (lit), sizeof(lit) - 1)

/* moontide dev's 500: the error and its traceback, for the person at the other end. */
static void send_traceback(mt_call_t *call, const char *trace, size_t len)
{
    mt_buf_t body = {0};
    int rc, html = wants_html(call->req);
    if (html) {
        rc = APPEND_LITERAL(&body, "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">"
                                   "<title>500 Internal Server Error</title></head>\n<body>\n"
                                   "<h1>500 Internal Server Error</h1>\n<p>moontide dev: the handler failed.</p>\n<pre>");
        for (size_t i = 0; rc == 0 && i != len; i++) {
            switch (trace[i]) {
            case '&': rc = mt_buf_append(&body, "&amp;", 5); break;
            case '<': rc = mt_buf_append(&body, "&lt;", 4); break;
            case '>': rc = mt_buf_append(&body, "&gt;", 4); break;
            default: rc = mt_buf_append(&body, trace + i, 1); break;
            }
        }
        rc |= APPEND_LITERAL(&body, "</pre>\n</body>\n</html>\n");
    } else {
        rc = APPEND_LITERAL(&body, "{\"detail\":\"Internal Server Error\",\"traceback\":") |
             mt_json_encode_string(&body, trace, len) | APPEND_LITERAL(&body, "}");
    }
    if (rc == 0)
        mt_response_send(call->req, 500, html ? "text/html; charset=utf-8" : "application/json", body.data, body.len);
    else
        send_internal_error(call);
    mt_buf_free(&body);
}

/* A Lua error that is not moontide.raise: log the traceback, answer 500. */
static void fail_with_traceback(mt_call_t *call, lua_State *co)
{
    lua_State *L = call->app->L;
    const char *msg = lua_tostring(co, -1);
    if (msg == NULL)
        msg = lua_pushfstring(co, "(error object is a %s value)", luaL_typename(co, -1));
    luaL_traceback(L, co, msg, 0);
    mt_log_error("handler for %s %s (%s) [request %.*s] failed: %s", mt_method_name(call->route->method),
                 call->route->pattern, call->route->where, MT_CALL_ID_ARGS(call), lua_tostring(L, -1));
    if (call->handler->dev) { /* moontide dev: the traceback in the answer too */
        size_t len;
        const char *trace = lua_tolstring(L, -1, &len);
        send_traceback(call, trace, len);
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    send_internal_error(call);
}

static void resume_call(mt_call_t *call, int nargs, uint64_t now_ms);

/* Sends the outcome of a coroutine that finished (status 0) or failed. */
static void finish_call(mt_handler_t *self, mt_call_t *call, int status)
{
    lua_State *co = call->co;
    char err[512];
    mt_route_t *route = call->route;
    switch (status) {
    case 0: {
        int nresults = lua_gettop(co), plain = nresults == 0 || mt_lua_is_plain(co, 1);
        if (!plain && mt_lua_has_mt(co, 1, MT_STREAM_MT)) {
            /* the response starts now; the stream's producer then runs in this coroutine */
            int nargs = mt_stream_start(call, co, 1, err, sizeof(err));
            if (nargs < 0) {
                mt_log_error("handler for %s %s (%s) [request %.*s] returned a bad stream: %s",
                             mt_method_name(route->method), route->pattern, route->where, MT_CALL_ID_ARGS(call), err);
                send_internal_error(call);
                break;
            }
            if (nargs == 0) /* HEAD: the response is whole, the producer does not run */
                break;
            call->answered = 0;
            call->co_finished = 0;
            resume_call(call, nargs, mt_now_ms());
            break;
        }
        if (mt_response_send_results(call, co, nresults, plain, &self->scratch, err, sizeof(err)) != 0) {
            mt_log_error("handler for %s %s (%s) [request %.*s] returned a bad response: %s",
                         mt_method_name(route->method), route->pattern, route->where, MT_CALL_ID_ARGS(call),
                         err);
            send_internal_error(call);
        }
        break;
    }
    case LUA_YIELD:
        mt_log_error("handler for %s %s (%s) [request %.*s] yielded outside a moontide call; coroutine.yield is not a "
                     "way to respond",
                     mt_method_name(route->method), route->pattern, route->where, MT_CALL_ID_ARGS(call));
        send_internal_error(call);
        break;
    default:
        if (!mt_lua_has_mt(co, -1, MT_HTTP_ERROR_MT)) {
            fail_with_traceback(call, co);
        } else if (mt_response_send_http_error(call, co, lua_gettop(co), &self->scratch, err, sizeof(err)) != 0) {
            mt_log_error("handler for %s %s (%s) [request %.*s] raised a bad error: %s", mt_method_name(route->method),
                         route->pattern, route->where, MT_CALL_ID_ARGS(call), err);
            send_internal_error(call);
        }
        break;
    }
}

/* A handler still waiting at its deadline: what it waits for is stopped, the client gets 504. */
static void on_deadline(mt_timer_t *timer)
{
    mt_call_t *call = H2O_STRUCT_FROM_MEMBER(mt_call_t, deadline, timer);
    stop_waiting(call);
    call->answered = 1;
    call->co_finished = 0; /* suspended mid-way: never reused */
    mt_log_warn("handler for %s %s (%s) [request %.*s] was still waiting after --timeout %.3g s: 504",
                mt_method_name(call->route->method), call->route->pattern, call->route->where, MT_CALL_ID_ARGS(call),
                (double)call->handler->timeout_ms / 1000);
    mt_response_send_detail(call->req, 504, "Gateway Timeout");
}

/* The hook the master's SIGUSR1 sets: the handler has held the CPU past --timeout and runs interpreted code. */
static void on_timeout_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    interrupt_armed = 0;
    mt_call_t *call = current_call;
    if (call != NULL)
        mt_log_warn("handler for %s %s (%s) [request %.*s] held the CPU past --timeout %.3g s: stopped, 504",
                    mt_method_name(call->route->method), call->route->pattern, call->route->where,
                    MT_CALL_ID_ARGS(call), (double)call->handler->timeout_ms / 1000);
    lua_pushliteral(L, "Gateway Timeout");
    mt_lua_raise_detail(L, 504);
}

void mt_handler_interrupt(mt_handler_t *self)
{
    /* from a signal handler: only the running handler's own deadline counts (the signal may arrive late) */
    mt_call_t *call = current_call;
    if (call == NULL || self->timeout_ms == 0 || mt_now_ms() - call->started_ms < self->timeout_ms)
        return;
    interrupt_armed = 1;
    lua_sethook(call->co, on_timeout_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1000);
}

/*
 * Runs the call's coroutine until it returns, fails, or waits (it set
 * call->cancel and yielded). now_ms is the clock as the caller read it: a
 * new request's start time serves for its first run.
 */
static void resume_call(mt_call_t *call, int nargs, uint64_t now_ms)
{
    mt_handler_t *self = call->handler;
    if (self->busy != NULL) {
        self->busy->route = (int32_t)call->route->index;
        self->busy->since_ms = now_ms;
    }
    current_call = call;
    mt_lua_memory_enforce(&call->app->memory, 1);
    int status = lua_resume(call->co, nargs);
    mt_lua_memory_enforce(&call->app->memory, 0);
    current_call = NULL;
    if (H2O_UNLIKELY(interrupt_armed)) { /* it returned or waited before the hook fired */
        lua_sethook(call->co, NULL, 0, 0);
        interrupt_armed = 0;
    }
    if (self->busy != NULL)
        self->busy->since_ms = 0;
    if (status == LUA_YIELD && call->cancel != NULL) {
        if (call->stream != NULL)
            mt_stream_flush(call);
        /* the deadline covers the handler until its response starts; a stream may then run as long as it likes */
        if (call->stream == NULL && !mt_timer_is_armed(&call->deadline) && self->timeout_ms != 0) {
            uint64_t spent = mt_now_ms() - call->started_ms;
            mt_timer_start(&call->deadline, spent < self->timeout_ms ? self->timeout_ms - spent : 0, on_deadline);
        }
        return;
    }
    mt_timer_stop(&call->deadline);
    call->answered = 1;
    call->co_finished = status == 0;
    if (call->stream != NULL)
        mt_stream_finished(call, status);
    else
        finish_call(self, call, status);
    if (status != 0 && mt_lua_memory_refused(&call->app->memory)) {
        /* it failed at the cap: give back what it held before the next handler runs */
        lua_settop(call->co, 0);
        lua_gc(call->app->L, LUA_GCCOLLECT, 0);
        mt_log_warn("Lua memory cap (--max-lua-memory) reached; %zu bytes held after a full collection",
                    call->app->memory.used);
    }
}

void mt_call_resume(mt_call_t *call, int nargs)
{
    call->cancel = NULL;
    if (!call->answered)
        resume_call(call, nargs, mt_now_ms());
}

static void run_call(mt_handler_t *self, mt_call_t *call)
{
    mt_app_t *app = self->app;
    lua_State *L = app->L;
    if (app->num_idle_threads != 0) { /* reuse a coroutine an earlier request finished with */
        const struct st_mt_idle_thread_t *idle = &app->idle_threads[--app->num_idle_threads];
        call->co = idle->co;
        call->co_ref = idle->ref;
    } else {
        call->co = lua_newthread(L);
        call->co_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    const mt_route_t *route = call->route;
    int with_providers = route->num_steps != 0;
    if (with_providers)
        mt_providers_push_runner(call->co, route); /* run(steps, args...): providers first, then the handler */
    else
        lua_rawgeti(call->co, LUA_REGISTRYINDEX, route->handler_ref);
    int nargs = 1;
    if (route->binding == NULL) {
        if (route->reads_request || with_providers)
            mt_request_push(call->co, call);
        else
            nargs = 0; /* a handler that never reads it gets no request object: one userdata less a request */
    } else if ((nargs = mt_arguments_push(call, call->co, &self->scratch)) < 0) {
        /* invalid input answers 422 before the handler runs; the unused coroutine stays reusable */
        call->co_finished = 1;
        call->answered = 1;
        mt_response_send(call->req, 422, "application/json", self->scratch.data, self->scratch.len);
        return;
    }
    resume_call(call, nargs + with_providers, call->started_ms);
}

/* A request over the URL or header limits is answered 414 or 431 before routing; returns 1 when it was. */
static int refuse_oversized(const mt_handler_t *self, h2o_req_t *req)
{
    const mt_request_limits_t *limits = &self->limits;
    size_t header_bytes = 0;
    for (size_t i = 0; i != req->headers.size; i++)
        header_bytes += req->headers.entries[i].name->len + req->headers.entries[i].value.len;
    int status;
    char why[128];
    if (req->path.len > limits->max_url) {
        status = 414;
        snprintf(why, sizeof(why), "a %zu-byte request target (--max-url %zu)", req->path.len, limits->max_url);
    } else if (req->headers.size > limits->max_headers) {
        status = 431;
        snprintf(why, sizeof(why), "%zu header fields (--max-headers %zu)", req->headers.size, limits->max_headers);
    } else if (header_bytes > limits->max_header_size) {
        status = 431;
        snprintf(why, sizeof(why), "%zu bytes of header fields (--max-header-size %zu)", header_bytes,
                 limits->max_header_size);
    } else {
        return 0;
    }
    char client[64];
    const char *address = mt_request_client_address(req, client, sizeof(client));
    mt_log_info("refused %.*s %.*s%s from %s: %s: %d", (int)(req->method.len < 16 ? req->method.len : 16),
                req->method.base, (int)(req->path.len < 80 ? req->path.len : 80), req->path.base,
                req->path.len > 80 ? "..." : "",
                address != NULL ? address : "?", why, status);
    mt_response_send_detail(req, status, mt_status_reason(status));
    return 1;
}

static int on_req(h2o_handler_t *super, h2o_req_t *req)
{
    mt_handler_t *self = (mt_handler_t *)super;
    size_t path_len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    int method = mt_method_parse(req->method.base, req->method.len);
    mt_router_match_t match;
    if (H2O_UNLIKELY(refuse_oversized(self, req)))
        return 0;
    if (self->app->cors != NULL && mt_cors_preflight(req, self->app->cors))
        return 0;

    switch (mt_router_lookup(self->app->router, method, req->path.base, path_len, &match)) {
    case MT_ROUTE_NOT_FOUND:
        if (!mt_static_serve(req, self->app, req->path.base, path_len))
            mt_response_send_detail(req, 404, "Not Found");
        return 0;
    case MT_ROUTE_METHOD_NOT_ALLOWED: {
        char allow[128];
        size_t len = mt_router_format_allowed(match.allowed, allow, sizeof(allow));
        h2o_iovec_t value = h2o_strdup(&req->pool, allow, len);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, value.base, value.len);
        mt_response_send_detail(req, 405, "Method Not Allowed");
        return 0;
    }
    }

    const mt_route_t *route = match.value;
    if (H2O_UNLIKELY(route->kind != MT_ROUTE_HANDLER)) {
        mt_docs_serve(req, self->app, route, match.params);
        return 0;
    }

    mt_call_t *call = h2o_mem_alloc_pool(&req->pool, sizeof(*call));
    self->app->refs++;
    *call = (mt_call_t){.req = req, .handler = self, .app = self->app, .route = match.value,
                        .num_params = match.num_params, .co_ref = LUA_NOREF,
                        .cache_ref = LUA_NOREF, .cleanups_ref = LUA_NOREF, .started_ms = mt_now_ms()};
    if (match.num_params != 0) {
        call->params = h2o_mem_alloc_pool(&req->pool, sizeof(mt_slice_t) * match.num_params);
        memcpy(call->params, match.params, sizeof(mt_slice_t) * match.num_params);
    }
    run_call(self, call);
    /*
     * Most calls are over here: answered, no stream, no cleanups waiting for
     * the response to go out. Their Lua side is released now. Any other call
     * lives on in the request's pool: a one-pointer chunk linked to the pool
     * releases it when h2o clears the pool (the client gone, the stream over),
     * which it does before freeing the pool's memory.
     */
    if (call->answered && call->stream == NULL && call->cleanups_ref == LUA_NOREF) {
        release_call(call);
    } else {
        mt_call_t **hook = h2o_mem_alloc_shared(&req->pool, sizeof(*hook), on_call_dispose);
        *hook = call;
    }
    return 0;
}

mt_handler_t *mt_handler_register(h2o_pathconf_t *pathconf, mt_app_t *app, mt_busy_t *busy, uint64_t timeout_ms,
                                  int dev, const mt_request_limits_t *limits)
{
    mt_handler_t *self = (mt_handler_t *)h2o_create_handler(pathconf, sizeof(*self));
    self->super.on_req = on_req;
    self->app = app;
    self->busy = busy;
    self->timeout_ms = timeout_ms;
    self->dev = dev;
    self->limits = *limits;
    self->scratch = (mt_buf_t){0};
    mt_filters_register(pathconf, self);
    return self;
}

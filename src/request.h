/*
 * One request's trip through Lua (a "call"), and the request object handlers
 * see. The call lives in the h2o request's pool; releasing it drops every
 * Lua reference it holds: at once for a call answered without waiting, else
 * from a dispose callback on that pool, whichever way the request ends.
 */
#ifndef MT_REQUEST_H
#define MT_REQUEST_H

#define H2O_USE_LIBUV 0
#include <h2o.h>
#include <lua.h>
#include "app.h"
#include "request_id.h"
#include "timers.h"

struct st_mt_handler_t;

typedef struct st_mt_call_t {
    h2o_req_t *req;
    struct st_mt_handler_t *handler;
    mt_app_t *app;
    mt_route_t *route;
    size_t num_params;
    mt_slice_t *params;     /* raw path segments, in req->pool */
    lua_State *co;          /* the coroutine running the handler */
    int co_ref;             /* registry references keeping Lua objects alive */
    int co_finished;        /* the coroutine returned normally (or never ran): it can run another request */
    int cache_ref;          /* table of request fields already built */
    int cleanups_ref;       /* what providers asked to run after the response (LUA_NOREF: nothing) */
    struct st_mt_request_ud_t *ud;
    /* while the handler waits (moontide.sleep, ...): how to stop what it waits for, NULL when it runs */
    void (*cancel)(struct st_mt_call_t *call);
    void *waiting_on;      /* what cancel stops, for waits that need it (a Redis command) */
    mt_timer_t wait_timer; /* moontide.sleep */
    mt_timer_t deadline;   /* --timeout for a handler that waits, until its response starts */
    int answered;          /* the response is out (or a 504 replaced it): the coroutine never runs again */
    struct st_mt_stream_t *stream; /* the handler returned moontide.stream/sse: its producer runs in co */
    uint64_t started_ms;
    h2o_iovec_t id;        /* the request ID once something asked for it: use mt_call_id() */
} mt_call_t;

/* The request's ID (request_id.c), made on first use: most requests never need one. */
static inline h2o_iovec_t mt_call_id(mt_call_t *call)
{
    if (call->id.base == NULL)
        call->id = mt_request_id_assign(call->req);
    return call->id;
}

/* printf arguments for the "%.*s" of "[request %.*s]" in a log line about a call */
#define MT_CALL_ID_ARGS(call) (int)mt_call_id(call).len, mt_call_id(call).base

/* Creates the request object's metatable and anchor table in app->L; called once per app. */
void mt_request_open(mt_app_t *app);

/* Pushes the request object for `call` onto L: made on first use, the same one after that. */
void mt_request_push(lua_State *L, mt_call_t *call);

/* The peer's address as text ("127.0.0.1") in `text`, or NULL when it has none. */
const char *mt_request_client_address(h2o_req_t *req, char *text, size_t size);

/* Detaches the request object (later use raises an error) and drops the call's references. */
void mt_request_release(mt_call_t *call);

/* One decoded key=value of the query string, in the request's pool. */
typedef struct st_mt_query_pair_t {
    char *key, *value;
    size_t key_len, value_len;
} mt_query_pair_t;

/* Splits and decodes the query string; returns the number of pairs (*pairs in req->pool). */
size_t mt_query_parse(h2o_req_t *req, mt_query_pair_t **pairs);

/* Percent-decodes in place (also '+' to space when `plus` is set); returns the new length. */
size_t mt_url_decode(char *s, size_t len, int plus);

/*
 * Reads the next name=value pair of a Cookie header's value ("a=1; b=2")
 * from *cursor on, up to `end`, and moves *cursor past it. Returns 1 with
 * *name and *value pointing into the header (neither decoded nor trimmed
 * but for the spaces and ';' before a pair), or 0 at the end. A piece
 * without '=' is no pair and is skipped.
 */
int mt_cookie_next(const char **cursor, const char *end, mt_slice_t *name, mt_slice_t *value);

#endif

/*
 * The h2o handler that serves an app: routing, then one coroutine per
 * request running the route's Lua handler, then the response.
 */
#ifndef MT_HANDLER_H
#define MT_HANDLER_H

#include <stdint.h>
#include "app.h"
#include "buf.h"
#include "request.h"

/*
 * What a worker is running right now, in memory shared with the master: a
 * handler that holds the CPU past the deadline (a JIT-compiled loop cannot
 * be interrupted) is stopped by the master killing its worker.
 */
typedef struct st_mt_busy_t {
    volatile uint64_t since_ms; /* monotonic ms when Lua was entered; 0 when idle */
    volatile int32_t route;     /* index into app->routes */
} mt_busy_t;

/* What a request may carry before routing refuses it (h2o itself refuses past 100 fields or ~400 KB). */
typedef struct st_mt_request_limits_t {
    size_t max_url;         /* path and query: longer gets 414 */
    size_t max_headers;     /* header fields: more gets 431 */
    size_t max_header_size; /* names and values together: more gets 431 */
} mt_request_limits_t;

typedef struct st_mt_handler_t {
    h2o_handler_t super;
    mt_app_t *app;
    mt_buf_t scratch; /* response bodies are encoded here, reused across requests */
    mt_busy_t *busy;  /* NULL when no master watches */
    uint64_t timeout_ms; /* --timeout: a handler still waiting then gets 504 (0: none) */
    int dev;             /* moontide dev: tracebacks in 500 answers */
    mt_request_limits_t limits;
} mt_handler_t;

mt_handler_t *mt_handler_register(h2o_pathconf_t *pathconf, mt_app_t *app, mt_busy_t *busy, uint64_t timeout_ms,
                                  int dev, const mt_request_limits_t *limits);

/*
 * Called from the worker's SIGUSR1 handler (the master sends it when a
 * handler has held the CPU past --timeout): sets a hook that stops the
 * handler with a 504 if it runs interpreted code. A JIT-compiled loop never
 * calls hooks; the master then replaces the worker a second later.
 */
void mt_handler_interrupt(mt_handler_t *self);

/*
 * Serves new requests with `app` (a reload): requests in flight finish on the
 * generation they started with, which is freed after the last of them.
 */
void mt_handler_set_app(mt_handler_t *self, mt_app_t *app);

/*
 * Suspending a handler (moontide.sleep, ...): a C function called by the
 * handler finds its call with mt_call_current(L) (NULL outside a handler's
 * own coroutine), arranges to be woken, sets call->cancel and returns
 * lua_yield(L, 0). When what it waited for is there it pushes the results
 * onto call->co and calls mt_call_resume(call, nresults).
 */
mt_call_t *mt_call_current(lua_State *L);
void mt_call_resume(mt_call_t *call, int nargs);

uint64_t mt_now_ms(void);

#endif

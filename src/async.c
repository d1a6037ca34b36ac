/*
 * moontide.sleep: a timer in the worker's heap (timers.c) wakes the
 * handler's coroutine. A handler that is gone by then (client closed, 504)
 * has had its timer stopped by handler.c, so a wake-up never finds a freed
 * call.
 */
#include <lauxlib.h>
#include <math.h>
#include "async.h"
#include "handler.h"
#include "http_client.h"

static void on_sleep_done(mt_timer_t *timer)
{
    mt_call_t *call = H2O_STRUCT_FROM_MEMBER(mt_call_t, wait_timer, timer);
    mt_call_resume(call, 0);
}

static void cancel_sleep(mt_call_t *call)
{
    mt_timer_stop(&call->wait_timer);
}

/* sleep(seconds) */
static int core_sleep(lua_State *L)
{
    lua_Number seconds = luaL_checknumber(L, 1);
    if (!(seconds >= 0) || seconds > 1e9)
        return luaL_error(L, "moontide.sleep: seconds must be a number from 0 to 1e9, got %f", seconds);
    mt_call_t *call = mt_call_current(L);
    if (call == NULL)
        return luaL_error(L, "moontide.sleep: call it from a handler, not while the app loads or from a coroutine "
                             "of your own");
    mt_timer_start(&call->wait_timer, (uint64_t)llround(seconds * 1000), on_sleep_done);
    call->cancel = cancel_sleep;
    return lua_yield(L, 0);
}

void mt_async_register(lua_State *L)
{
    lua_pushcfunction(L, core_sleep);
    lua_setfield(L, -2, "sleep");
    mt_http_client_register(L);
}

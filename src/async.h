/*
 * What a handler can wait for without holding the worker (SPEC §7): each
 * function suspends only the calling request's coroutine and the worker
 * serves others meanwhile (handler.h says how a wait is set up).
 */
#ifndef MT_ASYNC_H
#define MT_ASYNC_H

#include <lua.h>

/* Adds sleep (and the other waits) to the moontide.core table on top of the stack. */
void mt_async_register(lua_State *L);

#endif

/*
 * moontide.http.request: outbound HTTP/1.1 and HTTPS from a handler, run by
 * the worker's event loop while only the calling handler waits (SPEC §7).
 */
#ifndef MT_HTTP_CLIENT_H
#define MT_HTTP_CLIENT_H

#include <lua.h>

/* Adds http_request to the moontide.core table on top of the stack. */
void mt_http_client_register(lua_State *L);

#endif

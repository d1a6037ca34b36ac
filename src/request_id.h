/*
 * Request IDs: every request carries one, in its X-Request-ID header (made
 * when the client sent none, on first use), readable in Lua as req.id,
 * written in the access log and in the server's error lines about the
 * request; sent back when the client sent it and on error answers.
 */
#ifndef MT_REQUEST_ID_H
#define MT_REQUEST_ID_H

#define H2O_USE_LIBUV 0
#include <h2o.h>

#define MT_REQUEST_ID_MAX 128

/*
 * The request's ID: the client's X-Request-ID when it is sane (1 to
 * MT_REQUEST_ID_MAX visible ASCII characters), else 32 random hex digits,
 * which then replace the client's header or are added as one. The same ID
 * on every call for one request.
 */
h2o_iovec_t mt_request_id_assign(h2o_req_t *req);

/* Adds the X-Request-ID response header when the client sent the ID or the status is an error (>= 400). */
void mt_request_id_echo(h2o_req_t *req);

#endif

/*
 * Request IDs: every request carries one, sent back as the X-Request-ID
 * response header, readable in Lua as req.id, written in the access log and
 * in the server's error lines about the request.
 */
#ifndef MT_REQUEST_ID_H
#define MT_REQUEST_ID_H

#define H2O_USE_LIBUV 0
#include <h2o.h>

#define MT_REQUEST_ID_MAX 128

/*
 * The request's ID: the client's X-Request-ID when it is sane (1 to
 * MT_REQUEST_ID_MAX visible ASCII characters), else 32 random hex digits.
 * Adds the response header; call it once per request.
 */
h2o_iovec_t mt_request_id_assign(h2o_req_t *req);

/* The ID already assigned (found in the response headers), or assigns one: for responses h2o started itself. */
h2o_iovec_t mt_request_id_of(h2o_req_t *req);

#endif

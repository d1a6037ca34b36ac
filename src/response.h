/*
 * Turning what a handler returned (or raised) into an HTTP response. Every
 * check happens before the first byte is handed to h2o, so a response is
 * either sent whole or replaced by a 500: never partly written.
 */
#ifndef MT_RESPONSE_H
#define MT_RESPONSE_H

#include "buf.h"
#include "request.h"

const char *mt_status_reason(int status);

/* Sends `len` bytes as the whole body (copied); content_type may be NULL when a header already says it. */
void mt_response_send(h2o_req_t *req, int status, const char *content_type, const char *body, size_t len);

/* Sends {"detail": detail} with a fixed detail text (404, 405, 500, ...). */
void mt_response_send_detail(h2o_req_t *req, int status, const char *detail);

/*
 * Reads the headers table at `index` of L into `out` (lower-case names,
 * values checked for CR/LF/NUL, framing headers left to h2o). Sets
 * *has_content_type when the table names one. Returns 0, or -1 with err set.
 */
int mt_response_collect_headers(h2o_req_t *req, lua_State *L, int index, h2o_headers_t *out, int *has_content_type,
                                char *err, size_t errsize);

/*
 * Sends the handler's results: the `nresults` values on top of co's stack are
 * body[, status[, headers]], or one moontide.response{} table. `plain` says
 * the first has no metatable (the caller looked), so it is not the latter.
 * Returns 0 when sent, or -1 with a reason in err (nothing sent).
 */
int mt_response_send_results(mt_call_t *call, lua_State *co, int nresults, int plain, mt_buf_t *scratch, char *err,
                             size_t errsize);

/* Sends a raised moontide.raise error (the value at `index`). Same contract. */
int mt_response_send_http_error(mt_call_t *call, lua_State *co, int index, mt_buf_t *scratch, char *err, size_t errsize);

#endif

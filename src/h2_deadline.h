/*
 * HTTP/2 requests that do not arrive within --client-timeout. h2o 2.2.5
 * times an HTTP/2 connection out only while it has no open stream, so a
 * client trickling a request's headers or body holds that stream (and what
 * is buffered for it) for as long as it likes. Once a second the worker
 * looks at the HTTP/2 streams still receiving their request; one that has
 * been at it for longer than the timeout is reset (RST_STREAM, CANCEL).
 */
#ifndef MT_H2_DEADLINE_H
#define MT_H2_DEADLINE_H

#include <h2o.h>

/* Starts the sweep on the worker's context; `timeout_ms` is --client-timeout. */
void mt_h2_deadline_start(h2o_context_t *ctx, uint64_t timeout_ms);

/* Stops it (the worker is shutting down). */
void mt_h2_deadline_stop(void);

#endif

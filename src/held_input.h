/*
 * Giving back the input buffer of an HTTP/1.1 request held open.
 *
 * h2o 2.2.5 reads each HTTP/1.1 request into an 8 KB buffer and keeps it
 * until the response ends: the request's method, path and headers point
 * into it. For a request answered at once that is nothing; for a stream
 * held open for minutes it is a page of memory per connection, most of an
 * idle SSE client's cost. mt_held_input_compact() copies the request's
 * bytes into a buffer of their own size and moves every pointer into the
 * old buffer (h2o's request fields and the call's own), then frees it.
 * h2o still finds in sock->input the same bytes, so it consumes them at the
 * end as before.
 */
#ifndef MT_HELD_INPUT_H
#define MT_HELD_INPUT_H

#include "request.h"

/* Compacts the input of call's request when it is an HTTP/1.x request without a body; else does nothing. */
void mt_held_input_compact(mt_call_t *call);

#endif

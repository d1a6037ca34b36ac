/*
 * Requests h2o answers itself, before any moontide code runs: 400 for a
 * malformed body (bad chunked encoding), 413 for a body over --max-body, 417
 * for an unknown Expect. h2o logs nothing for them; it counts them per
 * context. Once a second the worker logs how many of each it refused since
 * the last look. (A request head h2o cannot parse gets a 400 written
 * straight to the socket: that one is not counted.)
 */
#ifndef MT_REFUSALS_H
#define MT_REFUSALS_H

#include <h2o.h>

void mt_refusals_start(h2o_context_t *ctx);
void mt_refusals_stop(void);

#endif

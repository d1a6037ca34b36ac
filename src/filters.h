/*
 * The filter every response of the app passes through on its way out,
 * whoever made it (a handler, a raise, a 404, the docs, a static file, a
 * stream): it adds the request's X-Request-ID, the CORS headers, and the
 * gzip encoder when they apply.
 */
#ifndef MT_FILTERS_H
#define MT_FILTERS_H

#include "handler.h"

void mt_filters_register(h2o_pathconf_t *pathconf, mt_handler_t *handler);

#endif

/*
 * The docs the server answers itself (SPEC §6): the OpenAPI document, the
 * Swagger UI and ReDoc pages, and their assets, which come from the binary
 * (docs_assets.c) so the pages work with no network. Everything is made once
 * when the app loads.
 */
#ifndef MT_DOCS_H
#define MT_DOCS_H

#include <h2o.h>
#include "app.h"

/* Where the pages' scripts and styles are served (a route "PREFIX{file}"). */
#define MT_DOCS_ASSETS_PREFIX "/_moontide/docs/"

/* Builds the OpenAPI document and the pages for the app's settings. Returns 0, or -1 with *error set (static). */
int mt_docs_prepare(mt_app_t *app, const char **error);

/* Answers a request for one of the docs routes (route->kind is not MT_ROUTE_HANDLER). */
void mt_docs_serve(h2o_req_t *req, const mt_app_t *app, const mt_route_t *route, const mt_slice_t *params);

#endif

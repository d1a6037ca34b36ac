/*
 * CORS (app:cors{...}), with Starlette's CORSMiddleware semantics. The
 * configuration is read into C once when the app loads; requests run no Lua
 * for it.
 */
#ifndef MT_CORS_H
#define MT_CORS_H

#define H2O_USE_LIBUV 0
#include <h2o.h>
#include "app.h"

typedef struct st_mt_cors_t mt_cors_t;

/* Reads app:cors's settings from the app table at `app_index` (problems go to app->schema). */
void mt_cors_configure(mt_app_t *app, int app_index);
void mt_cors_free(mt_cors_t *cors);

/* Answers a preflight (OPTIONS with Origin and Access-Control-Request-Method) and returns 1; 0 for any other request. */
int mt_cors_preflight(h2o_req_t *req, mt_cors_t *cors);

/* Adds the Access-Control-* headers (and Vary) an actual request from an Origin gets; nothing without Origin. */
void mt_cors_add_headers(h2o_req_t *req, mt_cors_t *cors);

#endif

/*
 * The OpenAPI 3.1 document of an app (SPEC §6), built in C from the same
 * schema model that binds and validates requests: what the docs say is what
 * the server enforces. Built once when the app loads; `moontide openapi`
 * prints the very bytes that GET /openapi.json serves.
 */
#ifndef MT_OPENAPI_H
#define MT_OPENAPI_H

#include "app.h"
#include "buf.h"

/*
 * Appends the app's document (compact JSON and a final newline) to `out`.
 * Returns 0, or -1 with *error saying why (a static string).
 */
int mt_openapi_build(const mt_app_t *app, mt_buf_t *out, const char **error);

#endif

/*
 * gzip for compressible responses (app:gzip{...}), streams included: each
 * write of a stream is compressed and flushed on its own, so it still
 * reaches the client at once.
 */
#ifndef MT_COMPRESS_H
#define MT_COMPRESS_H

#define H2O_USE_LIBUV 0
#include <h2o.h>
#include "app.h"

/* Reads app:gzip's settings from the app table at `app_index` into app->gzip. */
void mt_compress_configure(mt_app_t *app, int app_index);

/* Adds the gzip encoder in front of *slot when the response and the client call for it; returns the slot to go on with. */
h2o_ostream_t **mt_compress_setup(h2o_req_t *req, const mt_gzip_t *gzip, h2o_ostream_t **slot);

/* The type (a Content-Type value) is one gzip helps: text, JSON, JavaScript, XML, SVG... (never event streams). */
int mt_compress_is_compressible(const char *type, size_t len);

#endif

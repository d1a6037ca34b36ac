/*
 * Response headers for every response, in one h2o filter. It reads the
 * settings of the app generation serving new requests (a reload applies
 * them to responses from then on). Responses h2o makes before any handler
 * runs (a malformed request's 400, HTTP/1's 413) are bound to another path
 * configuration and do not pass here.
 */
#include "compress.h"
#include "cors.h"
#include "filters.h"
#include "request_id.h"

typedef struct st_mt_filter_t {
    h2o_filter_t super;
    mt_handler_t *handler;
} mt_filter_t;

static void on_setup_ostream(h2o_filter_t *super, h2o_req_t *req, h2o_ostream_t **slot)
{
    mt_filter_t *self = (mt_filter_t *)super;
    mt_app_t *app = self->handler->app;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_SERVER, NULL, H2O_STRLIT("moontide"));
    mt_request_id_echo(req);
    if (app->cors != NULL)
        mt_cors_add_headers(req, app->cors);
    if (app->gzip.enabled)
        slot = mt_compress_setup(req, &app->gzip, slot);
    h2o_setup_next_ostream(req, slot);
}

void mt_filters_register(h2o_pathconf_t *pathconf, mt_handler_t *handler)
{
    mt_filter_t *self = (mt_filter_t *)h2o_create_filter(pathconf, sizeof(*self));
    self->super.on_setup_ostream = on_setup_ostream;
    self->handler = handler;
}

/*
 * The docs pages. Both are the pages FastAPI serves, with every script and
 * style sheet taken from the binary instead of a CDN, and Swagger UI's online
 * validator badge turned off (it would send the document to
 * validator.swagger.io). The pages' Content-Security-Policy keeps images on
 * this server: ReDoc 2's footer would load its logo from cdn.redoc.ly.
 */
#include <string.h>
#include "docs.h"
#include "docs_assets.h"
#include "json.h"
#include "openapi.h"
#include "response.h"

#define APPEND(out, lit) mt_buf_append((out), (lit), sizeof(lit) - 1)

/* Text for HTML (element content or a quoted attribute). */
static int append_html(mt_buf_t *out, const char *text)
{
    for (const char *p = text; *p != '\0'; p++) {
        int rc;
        switch (*p) {
        case '&': rc = APPEND(out, "&amp;"); break;
        case '<': rc = APPEND(out, "&lt;"); break;
        case '>': rc = APPEND(out, "&gt;"); break;
        case '"': rc = APPEND(out, "&quot;"); break;
        case '\'': rc = APPEND(out, "&#39;"); break;
        default: rc = mt_buf_append(out, p, 1); break;
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* A JavaScript string literal that cannot end the <script> element it stands in. */
static int append_js_string(mt_buf_t *out, const char *text)
{
    mt_buf_t json = {0};
    int rc = mt_json_encode_string(&json, text, strlen(text));
    for (size_t i = 0; rc == 0 && i != json.len; i++)
        rc = json.data[i] == '<' ? APPEND(out, "\\u003c") : mt_buf_append(out, json.data + i, 1);
    mt_buf_free(&json);
    return rc;
}

static int page_head(mt_buf_t *out, const mt_app_t *app, const char *suffix)
{
    int rc = APPEND(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    rc |= append_html(out, app->info.title);
    rc |= mt_buf_append(out, suffix, strlen(suffix));
    rc |= APPEND(out, "</title>\n<link rel=\"icon\" type=\"image/png\" href=\"" MT_DOCS_ASSETS_PREFIX
                      "favicon-32x32.png\">\n");
    return rc;
}

static int swagger_page(mt_buf_t *out, const mt_app_t *app)
{
    int rc = page_head(out, app, " - Swagger UI");
    rc |= APPEND(out, "<link rel=\"stylesheet\" href=\"" MT_DOCS_ASSETS_PREFIX "swagger-ui.css\">\n</head>\n<body>\n"
                      "<div id=\"swagger-ui\"></div>\n<script src=\"" MT_DOCS_ASSETS_PREFIX
                      "swagger-ui-bundle.js\"></script>\n<script>\nwindow.ui = SwaggerUIBundle({\n  url: ");
    rc |= append_js_string(out, app->info.openapi_url);
    rc |= APPEND(out, ",\n  dom_id: \"#swagger-ui\",\n  layout: \"BaseLayout\",\n  deepLinking: true,\n"
                      "  showExtensions: true,\n  showCommonExtensions: true,\n  validatorUrl: null,\n"
                      "  presets: [SwaggerUIBundle.presets.apis]\n});\n"
                      "</script>\n</body>\n</html>\n");
    return rc;
}

static int redoc_page(mt_buf_t *out, const mt_app_t *app)
{
    int rc = page_head(out, app, " - ReDoc");
    rc |= APPEND(out, "<style>body { margin: 0; padding: 0; }</style>\n</head>\n<body>\n<redoc spec-url=\"");
    rc |= append_html(out, app->info.openapi_url);
    rc |= APPEND(out, "\"></redoc>\n<script src=\"" MT_DOCS_ASSETS_PREFIX "redoc.standalone.js\"></script>\n"
                      "</body>\n</html>\n");
    return rc;
}

int mt_docs_prepare(mt_app_t *app, const char **error)
{
    if (mt_openapi_build(app, &app->openapi, error) != 0)
        return -1;
    *error = "out of memory";
    if (app->info.docs_url != NULL && swagger_page(&app->swagger_page, app) != 0)
        return -1;
    if (app->info.redoc_url != NULL && redoc_page(&app->redoc_page, app) != 0)
        return -1;
    *error = NULL;
    return 0;
}

static const char page_policy[] = "img-src 'self' data:";

static void send_static(h2o_req_t *req, const char *content_type, const void *data, size_t len, int cache)
{
    static h2o_generator_t generator = {NULL, NULL};
    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type, strlen(content_type));
    if (cache) /* the assets change only with the binary */
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("public, max-age=86400"));
    h2o_start_response(req, &generator);
    h2o_iovec_t body = h2o_iovec_init(data, len);
    h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
}

void mt_docs_serve(h2o_req_t *req, const mt_app_t *app, const mt_route_t *route, const mt_slice_t *params)
{
    switch (route->kind) {
    case MT_ROUTE_OPENAPI:
        send_static(req, "application/json", app->openapi.data, app->openapi.len, 0);
        return;
    case MT_ROUTE_SWAGGER:
    case MT_ROUTE_REDOC: {
        const mt_buf_t *page = route->kind == MT_ROUTE_SWAGGER ? &app->swagger_page : &app->redoc_page;
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("content-security-policy"), 0, NULL,
                              page_policy, sizeof(page_policy) - 1);
        send_static(req, "text/html; charset=utf-8", page->data, page->len, 0);
        return;
    }
    case MT_ROUTE_ASSET: {
        const mt_docs_asset_t *asset = mt_docs_asset_find(params[0].base, params[0].len);
        if (asset == NULL) {
            mt_response_send_detail(req, 404, "Not Found");
            return;
        }
        send_static(req, asset->content_type, asset->data, asset->len, 1);
        return;
    }
    default:
        mt_response_send_detail(req, 500, "Internal Server Error");
        return;
    }
}

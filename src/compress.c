/*
 * Response compression. The decision is ours, the compressor is h2o's
 * (h2o_compress_gzip_open): it deflates what each h2o_send hands it and
 * ends every write that is not the last with Z_SYNC_FLUSH, so a streamed
 * response is never held back in the compressor; a stream's write goes out
 * compressed as soon as it is made. Server-Sent Events are not compressed at
 * all: their events are small, their connections are long, and a
 * compressor holds about 256 KiB for as long as its response lasts.
 *
 * A response is compressed when app:gzip{} was called, the request is not
 * HEAD, the status has a body and is not 206, the body is at least
 * minimum_size bytes (a streamed one's length is unknown: it qualifies),
 * its Content-Type is compressible, it has no Content-Encoding and no
 * Cache-Control: no-transform, and the client's Accept-Encoding allows gzip
 * (q=0 refuses it). Such responses get Vary: Accept-Encoding whether the
 * client took gzip or not; a strong ETag becomes weak when the body is
 * compressed, since the bytes differ. A small response takes none of these
 * steps past the size check.
 */
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>
#include "compress.h"

typedef struct st_gzip_encoder_t {
    h2o_ostream_t super;
    h2o_compress_context_t *compressor;
} gzip_encoder_t;

void mt_compress_configure(mt_app_t *app, int app_index)
{
    lua_State *L = app->L;
    lua_getfield(L, app_index, "_gzip");
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "minimum_size");
        lua_getfield(L, -2, "level");
        app->gzip = (mt_gzip_t){.enabled = 1, .minimum_size = (size_t)lua_tonumber(L, -2), .level = (int)lua_tointeger(L, -1)};
        lua_pop(L, 2);
    }
    lua_pop(L, 1);
}

static int has_prefix(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && strncasecmp(s, prefix, n) == 0;
}

static int has_suffix(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && strncasecmp(s + len - n, suffix, n) == 0;
}

int mt_compress_is_compressible(const char *type, size_t len)
{
    const char *semi = memchr(type, ';', len);
    if (semi != NULL)
        len = (size_t)(semi - type);
    while (len != 0 && (type[len - 1] == ' ' || type[len - 1] == '\t'))
        len--;
    if (has_prefix(type, len, "text/"))
        return !(len == 17 && strncasecmp(type, "text/event-stream", 17) == 0);
    if (has_suffix(type, len, "+json") || has_suffix(type, len, "+xml"))
        return 1; /* application/problem+json, image/svg+xml, application/rss+xml, ... */
    static const char *const types[] = {"application/json", "application/javascript", "application/x-javascript",
                                        "application/ecmascript", "application/xml", "application/x-ndjson",
                                        "application/wasm", "application/x-yaml", "application/yaml"};
    for (size_t i = 0; i != sizeof(types) / sizeof(types[0]); i++)
        if (strlen(types[i]) == len && strncasecmp(type, types[i], len) == 0)
            return 1;
    return 0;
}

/* Accept-Encoding lists gzip (or *) with a q above 0. */
static int accepts_gzip(h2o_req_t *req)
{
    int gzip = -1, star = -1; /* -1: not named; 0: q=0; 1: accepted */
    for (ssize_t i = -1; (i = h2o_find_header(&req->headers, H2O_TOKEN_ACCEPT_ENCODING, i)) != -1;) {
        const char *p = req->headers.entries[i].value.base, *end = p + req->headers.entries[i].value.len;
        while (p < end) {
            const char *comma = memchr(p, ',', (size_t)(end - p)), *stop = comma != NULL ? comma : end;
            while (p < stop && (*p == ' ' || *p == '\t'))
                p++;
            const char *name = p;
            while (p < stop && *p != ';' && *p != ' ' && *p != '\t')
                p++;
            size_t name_len = (size_t)(p - name);
            int accepted = 1;
            const char *q = p;
            while (q + 1 < stop && !((q[0] == 'q' || q[0] == 'Q') && q[1] == '='))
                q++;
            if (q + 1 < stop) { /* q=0, q=0.0, q=0.000 refuse; any other value accepts */
                q += 2;
                accepted = 0;
                for (; q < stop && *q != ' ' && *q != ';'; q++)
                    if (*q >= '1' && *q <= '9')
                        accepted = 1;
            }
            if (name_len == 4 && strncasecmp(name, "gzip", 4) == 0)
                gzip = accepted;
            else if (name_len == 1 && *name == '*')
                star = accepted;
            p = stop + 1;
        }
    }
    return gzip == 1 || (gzip == -1 && star == 1);
}

static void gzip_send(h2o_ostream_t *super, h2o_req_t *req, h2o_iovec_t *bufs, size_t n, h2o_send_state_t state)
{
    gzip_encoder_t *self = (gzip_encoder_t *)super;
    h2o_iovec_t *out;
    size_t num_out;
    self->compressor->transform(self->compressor, bufs, n, state, &out, &num_out);
    h2o_ostream_send_next(&self->super, req, out, num_out, state);
}

h2o_ostream_t **mt_compress_setup(h2o_req_t *req, const mt_gzip_t *gzip, h2o_ostream_t **slot)
{
    int status = req->res.status;
    if (!gzip->enabled || status < 200 || status == 204 || status == 206 || status == 304)
        return slot;
    if (req->res.content_length != SIZE_MAX && req->res.content_length < gzip->minimum_size)
        return slot; /* small: no compression path at all */
    if (h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD")))
        return slot;
    ssize_t i = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
    if (i < 0 || !mt_compress_is_compressible(req->res.headers.entries[i].value.base, req->res.headers.entries[i].value.len))
        return slot;
    if (h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_ENCODING, -1) >= 0)
        return slot;
    for (i = -1; (i = h2o_find_header(&req->res.headers, H2O_TOKEN_CACHE_CONTROL, i)) != -1;)
        if (h2o_contains_token(req->res.headers.entries[i].value.base, req->res.headers.entries[i].value.len,
                               H2O_STRLIT("no-transform"), ','))
            return slot;
    h2o_set_header_token(&req->pool, &req->res.headers, H2O_TOKEN_VARY, H2O_STRLIT("Accept-Encoding"));
    if (!accepts_gzip(req))
        return slot;

    gzip_encoder_t *encoder = (gzip_encoder_t *)h2o_add_ostream(req, sizeof(*encoder), slot);
    encoder->super.do_send = gzip_send;
    encoder->compressor = h2o_compress_gzip_open(&req->pool, gzip->level);
    req->res.content_length = SIZE_MAX;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_ENCODING, NULL, H2O_STRLIT("gzip"));
    for (i = -1; (i = h2o_find_header(&req->res.headers, H2O_TOKEN_ACCEPT_RANGES, i)) != -1;)
        req->res.headers.entries[i].value = h2o_iovec_init(H2O_STRLIT("none"));
    if ((i = h2o_find_header(&req->res.headers, H2O_TOKEN_ETAG, -1)) >= 0 && req->res.headers.entries[i].value.len >= 1 &&
        req->res.headers.entries[i].value.base[0] == '"')
        req->res.headers.entries[i].value = h2o_concat(&req->pool, h2o_iovec_init(H2O_STRLIT("W/")),
                                                       req->res.headers.entries[i].value);
    return &encoder->super.next;
}

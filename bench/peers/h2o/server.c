/*
 * bench/peers/h2o/server.c: the "bare h2o" peer of moontide's benchmarks.
 *
 * A minimal C program on Debian's libh2o-evloop 2.2.5 that answers the four
 * benchmark routes of shared/BENCH.md by hand, the ceiling of moontide's own
 * stack (h2o without Lua). One thread, one event loop, no access log. One
 * listener on 127.0.0.1:PORT serves HTTP/1.1 and cleartext HTTP/2 with prior
 * knowledge (h2o_accept detects the HTTP/2 preface).
 *
 *   W1 GET  /hello          {"message":"Hello, World!"}
 *   W2 GET  /items/{id}?q=  {"id":<int>,"q":<string or null>}, 422 if invalid
 *   W3 POST /items          the validated item echoed (cJSON), 422 if invalid
 *   W4 GET  /stream?n=100   text/event-stream, n events data: {"i":k}, k=1..n,
 *                           one h2o_send per event, the next one produced when
 *                           the core calls proceed (i.e. each event flushed)
 *
 * Build (bench/run does this):
 *   cc -O2 -DH2O_USE_LIBUV=0 -o h2o-peer server.c \
 *      $(pkg-config --cflags --libs libh2o-evloop libcjson)
 * Run: h2o-peer PORT
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cJSON.h>
#include "h2o.h"

static h2o_globalconf_t config;
static h2o_context_t ctx;
static h2o_accept_ctx_t accept_ctx;

/* ---- small helpers ---------------------------------------------------- */

static void send_json(h2o_req_t *req, int status, const char *reason, const char *body, size_t len)
{
    req->res.status = status;
    req->res.reason = reason;
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
    h2o_send_inline(req, body, len);
}

static int send_422(h2o_req_t *req, const char *what)
{
    char buf[256];
    int len = snprintf(buf, sizeof(buf), "{\"detail\":\"%s\"}", what);
    send_json(req, 422, "Unprocessable Entity", buf, (size_t)len);
    return 0;
}

static int send_404(h2o_req_t *req)
{
    send_json(req, 404, "Not Found", H2O_STRLIT("{\"detail\":\"Not Found\"}"));
    return 0;
}

/* number of UTF-8 code points in s[0..len) (continuation bytes not counted) */
static size_t utf8_length(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i != len; ++i)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            ++n;
    return n;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* decodes a query component (%XX and '+') into dst, returns its length */
static size_t url_decode(char *dst, const char *src, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len; ++i) {
        int hi, lo;
        if (src[i] == '+') {
            dst[o++] = ' ';
        } else if (src[i] == '%' && i + 2 < len && (hi = hexval(src[i + 1])) >= 0 && (lo = hexval(src[i + 2])) >= 0) {
            dst[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            dst[o++] = src[i];
        }
    }
    return o;
}

/* finds the value of query parameter `name` in the request's query string */
static int find_query_param(h2o_req_t *req, const char *name, h2o_iovec_t *value)
{
    if (req->query_at == SIZE_MAX)
        return 0;
    const char *p = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
    size_t name_len = strlen(name);
    while (p < end) {
        const char *amp = memchr(p, '&', end - p);
        if (amp == NULL)
            amp = end;
        const char *eq = memchr(p, '=', amp - p);
        const char *key_end = eq != NULL ? eq : amp;
        if ((size_t)(key_end - p) == name_len && memcmp(p, name, name_len) == 0) {
            *value = eq != NULL ? h2o_iovec_init(eq + 1, amp - eq - 1) : h2o_iovec_init(amp, 0);
            return 1;
        }
        p = amp + 1;
    }
    return 0;
}

/* appends s as a JSON string literal to dst (at least 6*len+2 bytes free) */
static size_t json_quote(char *dst, const char *s, size_t len)
{
    size_t o = 0;
    dst[o++] = '"';
    for (size_t i = 0; i != len; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            dst[o++] = '\\';
            dst[o++] = c;
        } else if (c < 0x20) {
            o += sprintf(dst + o, "\\u%04x", c);
        } else {
            dst[o++] = c;
        }
    }
    dst[o++] = '"';
    return o;
}

/* strict decimal integer: -?[0-9]+, at most 18 digits (fits int64) */
static int parse_int(const char *s, size_t len, long long *out)
{
    size_t i = 0;
    int neg = 0;
    if (len != 0 && s[0] == '-')
        neg = 1, i = 1;
    if (i == len || len - i > 18)
        return 0;
    long long v = 0;
    for (; i != len; ++i) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = neg ? -v : v;
    return 1;
}

/* ---- W1 --------------------------------------------------------------- */

static int on_hello(h2o_req_t *req)
{
    send_json(req, 200, "OK", H2O_STRLIT("{\"message\":\"Hello, World!\"}"));
    return 0;
}

/* ---- W2 --------------------------------------------------------------- */

static int on_item_get(h2o_req_t *req, const char *id, size_t id_len)
{
    long long idv;
    if (!parse_int(id, id_len, &idv))
        return send_422(req, "id: Input should be a valid integer");

    h2o_iovec_t raw;
    char *q = NULL;
    size_t q_len = 0;
    if (find_query_param(req, "q", &raw)) {
        q = h2o_mem_alloc_pool(&req->pool, raw.len + 1);
        q_len = url_decode(q, raw.base, raw.len);
        if (utf8_length(q, q_len) > 50)
            return send_422(req, "q: String should have at most 50 characters");
    }

    char *buf = h2o_mem_alloc_pool(&req->pool, 64 + q_len * 6);
    size_t len = (size_t)sprintf(buf, "{\"id\":%lld,\"q\":", idv);
    if (q != NULL) {
        len += json_quote(buf + len, q, q_len);
    } else {
        memcpy(buf + len, "null", 4);
        len += 4;
    }
    buf[len++] = '}';
    send_json(req, 200, "OK", buf, len);
    return 0;
}

/* ---- W3 --------------------------------------------------------------- */

static int is_number(const cJSON *v)
{
    return cJSON_IsNumber(v);
}

/* checks the item against the schema; returns NULL when valid, else why not */
static const char *validate_item(const cJSON *item)
{
    if (!cJSON_IsObject(item))
        return "body: Input should be an object";

    const cJSON *name = cJSON_GetObjectItemCaseSensitive(item, "name");
    if (!cJSON_IsString(name))
        return "name: a string is required";
    size_t name_len = utf8_length(name->valuestring, strlen(name->valuestring));
    if (name_len < 1 || name_len > 100)
        return "name: length must be 1-100";

    const cJSON *price = cJSON_GetObjectItemCaseSensitive(item, "price");
    if (!is_number(price) || !(price->valuedouble > 0))
        return "price: a number greater than 0 is required";

    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(item, "tags");
    if (tags != NULL && !cJSON_IsNull(tags)) {
        if (!cJSON_IsArray(tags))
            return "tags: Input should be a valid list";
        int n = 0;
        const cJSON *t;
        cJSON_ArrayForEach(t, tags) {
            if (!cJSON_IsString(t))
                return "tags: items should be strings";
            ++n;
        }
        if (n > 10)
            return "tags: at most 10 items";
    }

    const cJSON *status = cJSON_GetObjectItemCaseSensitive(item, "status");
    if (!cJSON_IsString(status) || (strcmp(status->valuestring, "draft") != 0 && strcmp(status->valuestring, "published") != 0))
        return "status: Input should be 'draft' or 'published'";

    const cJSON *dims = cJSON_GetObjectItemCaseSensitive(item, "dims");
    if (dims != NULL && !cJSON_IsNull(dims)) {
        if (!cJSON_IsObject(dims))
            return "dims: Input should be an object";
        if (!is_number(cJSON_GetObjectItemCaseSensitive(dims, "w")) || !is_number(cJSON_GetObjectItemCaseSensitive(dims, "h")))
            return "dims: w and h numbers are required";
    }
    return NULL;
}

/* moves field `name` of `from` into `to` (null when absent) */
static void move_field(cJSON *to, cJSON *from, const char *name)
{
    cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(from, name);
    cJSON_AddItemToObject(to, name, v != NULL ? v : cJSON_CreateNull());
}

static int on_item_post(h2o_req_t *req)
{
    const char *end = NULL;
    cJSON *item = cJSON_ParseWithLengthOpts(req->entity.base, req->entity.len, &end, 0);
    if (item == NULL)
        return send_422(req, "body: JSON decode error");
    /* cJSON stops at the end of the value: anything but whitespace after it is invalid */
    for (; end < req->entity.base + req->entity.len; ++end) {
        if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n') {
            cJSON_Delete(item);
            return send_422(req, "body: JSON decode error");
        }
    }
    const char *err = validate_item(item);
    if (err != NULL) {
        cJSON_Delete(item);
        return send_422(req, err);
    }

    /* echo the validated fields in schema order, dropping unknown ones */
    cJSON *out = cJSON_CreateObject();
    move_field(out, item, "name");
    move_field(out, item, "price");
    move_field(out, item, "tags");
    move_field(out, item, "status");
    cJSON *dims = cJSON_DetachItemFromObjectCaseSensitive(item, "dims");
    if (dims != NULL && cJSON_IsObject(dims)) {
        cJSON *d = cJSON_CreateObject();
        move_field(d, dims, "w");
        move_field(d, dims, "h");
        cJSON_AddItemToObject(out, "dims", d);
        cJSON_Delete(dims);
    } else {
        cJSON_AddItemToObject(out, "dims", dims != NULL ? dims : cJSON_CreateNull());
    }
    cJSON_Delete(item);

    char *json = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    size_t len = strlen(json);
    char *body = h2o_mem_alloc_pool(&req->pool, len);
    memcpy(body, json, len);
    cJSON_free(json);
    send_json(req, 200, "OK", body, len);
    return 0;
}

/* ---- W4 --------------------------------------------------------------- */

struct st_sse_t {
    h2o_generator_t super;
    int i, n;
    char buf[48]; /* the event in flight: valid until proceed is called */
};

static void sse_proceed(h2o_generator_t *_self, h2o_req_t *req)
{
    struct st_sse_t *self = (void *)_self;
    ++self->i;
    h2o_iovec_t buf = h2o_iovec_init(self->buf, (size_t)sprintf(self->buf, "data: {\"i\":%d}\n\n", self->i));
    h2o_send(req, &buf, 1, self->i < self->n ? H2O_SEND_STATE_IN_PROGRESS : H2O_SEND_STATE_FINAL);
}

static void sse_stop(h2o_generator_t *_self, h2o_req_t *req)
{
    /* nothing to release: the generator lives in the request's pool */
}

static int on_stream(h2o_req_t *req)
{
    long long n = 100;
    h2o_iovec_t raw;
    if (find_query_param(req, "n", &raw) && (!parse_int(raw.base, raw.len, &n) || n < 0 || n > 100000))
        return send_422(req, "n: Input should be an integer 0-100000");

    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("text/event-stream"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-cache"));
    struct st_sse_t *self = h2o_mem_alloc_pool(&req->pool, sizeof(*self));
    self->super.proceed = sse_proceed;
    self->super.stop = sse_stop;
    self->i = 0;
    self->n = (int)n;
    h2o_start_response(req, &self->super);
    if (n == 0)
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
    else
        sse_proceed(&self->super, req);
    return 0;
}

/* ---- routing ---------------------------------------------------------- */

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    h2o_iovec_t path = req->path_normalized;
    int is_get = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"));
    int is_post = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"));

    if (is_get && h2o_memis(path.base, path.len, H2O_STRLIT("/hello")))
        return on_hello(req);
    if (is_post && h2o_memis(path.base, path.len, H2O_STRLIT("/items")))
        return on_item_post(req);
    if (is_get && path.len > 7 && memcmp(path.base, "/items/", 7) == 0 && memchr(path.base + 7, '/', path.len - 7) == NULL)
        return on_item_get(req, path.base + 7, path.len - 7);
    if (is_get && h2o_memis(path.base, path.len, H2O_STRLIT("/stream")))
        return on_stream(req);
    return send_404(req);
}

/* ---- listener and main ------------------------------------------------ */

static void on_accept(h2o_socket_t *listener, const char *err)
{
    h2o_socket_t *sock;
    if (err != NULL)
        return;
    if ((sock = h2o_evloop_socket_accept(listener)) == NULL)
        return;
    h2o_accept(&accept_ctx, sock);
}

static int create_listener(int port)
{
    struct sockaddr_in addr;
    int fd, on = 1;

    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, SOMAXCONN) != 0)
        return -1;
    h2o_socket_t *sock = h2o_evloop_socket_create(ctx.loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    h2o_socket_read_start(sock, on_accept);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    signal(SIGPIPE, SIG_IGN);

    h2o_config_init(&config);
    h2o_hostconf_t *hostconf = h2o_config_register_host(&config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pathconf = h2o_config_register_path(hostconf, "/", 0);
    h2o_handler_t *handler = h2o_create_handler(pathconf, sizeof(*handler));
    handler->on_req = on_req;

    h2o_context_init(&ctx, h2o_evloop_create(), &config);
    accept_ctx.ctx = &ctx;
    accept_ctx.hosts = config.hosts;

    if (create_listener(port) != 0) {
        perror("h2o-peer: failed to listen");
        return 1;
    }
    fprintf(stderr, "h2o-peer: listening on 127.0.0.1:%d\n", port);
    while (h2o_evloop_run(ctx.loop, INT32_MAX) == 0)
        ;
    return 1;
}

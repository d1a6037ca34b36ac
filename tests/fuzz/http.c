/*
 * libFuzzer target for a whole request's trip: the input is the raw bytes a
 * client sends on one HTTP/1.1 connection (request line, header fields,
 * body; several requests when it holds several), served by the real server
 * code in-process. LLVMFuzzerInitialize loads http_app.lua and sets up one
 * worker as a served process does (mt_options_parse, mt_app_load,
 * mt_worker_setup, mt_lifecycle_startup), kept for every input. Each input
 * then goes through a socketpair: one end is handed to h2o as an accepted
 * connection, the other is the client, which writes the input, shuts its
 * side down and reads until h2o closes the connection, while the worker's
 * loop runs (handlers that sleep are woken by its timers).
 *
 * What comes back must be well-formed HTTP/1.1: status lines, header fields,
 * and framing (Content-Length or chunked, whole; close-delimited only with
 * "Connection: close"), nothing after a response that closes. Each response
 * is paired with the request it answers (the requests are split as h2o's own
 * parser splits them, as long as that is unambiguous), so a HEAD response
 * has no body and one to a route of the app that answers JSON is JSON: its
 * status one moontide or h2o answers with, its body JSON text (after gzip,
 * when it is gzipped), an object with "detail" for an error. After each
 * input no request is alive, no timer is armed, the connection is gone, and
 * after a full collection the app's Lua heap is bounded.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <lauxlib.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>
#include "buf.h"
#include "lifecycle.h"
#include "log.h"
#include "lua_memory.h"
#include "options.h"
#include "timers.h"
#include "worker.h"

/* picohttpparser, which libh2o carries and h2o's headers do not declare: the requests split as h2o splits them */
struct phr_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};
int phr_parse_request(const char *buf, size_t len, const char **method, size_t *method_len, const char **path,
                      size_t *path_len, int *minor_version, struct phr_header *headers, size_t *num_headers,
                      size_t last_len);

/*
 * Under ASan the app's Lua state allocates with malloc (lua_memory.c), but
 * LSan cannot judge that heap: LuaJIT keeps some blocks only through
 * pointers that are tagged (GC64 values) or biased (the JIT's IR buffer
 * points before its block), so live blocks look leaked. The collector owns
 * that memory; its growth is checked instead (MAX_LUA_KB). The pattern is
 * the allocator's source file: its malloc calls sit in helpers that
 * lua_alloc reaches by tail calls, so lua_alloc itself is not on the stack.
 */
const char *__lsan_default_suppressions(void)
{
    return "leak:lua_memory.c\n";
}

/* The app's heap after a full collection: far above what it holds (about a megabyte), far below what a leak per input reaches. */
#define MAX_LUA_KB (64 * 1024)

/* Limits far below the defaults, so that 413, 414 and 431 are in reach of a small input. */
static char *arguments[] = {"moontide", "run", MT_FUZZ_APP, "--max-body", "2k", "--max-url", "512",
                            "--max-headers", "16", "--max-header-size", "1k"};

static mt_options_t opts;
static mt_app_t *app;
static mt_worker_t worker;
static int lua_top; /* the app state's stack height between requests */

static h2o_iovec_t answer; /* what the client read, shown when a check fails */

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_http: %s\n", what);
        if (answer.len != 0) {
            fprintf(stderr, "fuzz_http: the response (%zu bytes):\n", answer.len);
            fwrite(answer.base, 1, answer.len < 8192 ? answer.len : 8192, stderr);
            fputc('\n', stderr);
        }
        abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char err[512];
    signal(SIGPIPE, SIG_IGN);
    if (mt_options_parse(&opts, sizeof(arguments) / sizeof(arguments[0]), arguments, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_http: %s\n", err);
        abort();
    }
    mt_log_level = MT_LOG_ERROR + 1; /* quiet: a handler that raises would log every time */
    mt_lua_memory_set_cap(opts.max_lua_memory);
    mt_problems_t problems;
    app = mt_app_load(opts.app_path, &problems);
    if (app == NULL) {
        for (size_t i = 0; i != problems.count; i++)
            fprintf(stderr, "fuzz_http: %s\n", problems.lines[i]);
        abort();
    }
    mt_worker_config_t config = {.opts = &opts, .app = app, .listen_fd = -1, .access_log_fd = -1};
    check(mt_worker_setup(&worker, &config) == 0, "the worker cannot be set up");
    check(mt_lifecycle_startup(app) == 0, "the app's on_startup failed");
    lua_top = lua_gettop(app->L);
    return 0;
}

/* The requests in the input */

typedef struct {
    h2o_iovec_t method, path;
    int complete; /* its body is all there: h2o answers it, unless an earlier answer closed the connection */
} request_t;

static int header_is(const struct phr_header *h, const char *name)
{
    return h->name_len == strlen(name) && h2o_lcstris(h->name, h->name_len, name, h->name_len);
}

/*
 * The requests h2o reads from the input, in order, as far as they can be
 * told apart: after one whose body is not a plain Content-Length, or that
 * asks to upgrade or expects, or is not HTTP/1.1, or is cut short, which
 * bytes h2o takes for the next one is its own business.
 */
static size_t split_requests(const char *data, size_t size, request_t *requests, size_t max)
{
    size_t n = 0, at = 0;
    while (n < max && at < size) {
        const char *method, *path;
        size_t method_len, path_len, num_headers = H2O_MAX_HEADERS;
        struct phr_header headers[H2O_MAX_HEADERS];
        int minor, len = phr_parse_request(data + at, size - at < H2O_MAX_REQLEN ? size - at : H2O_MAX_REQLEN, &method,
                                           &method_len, &path, &path_len, &minor, headers, &num_headers, 0);
        if (len <= 0)
            break;
        request_t *req = requests + n++;
        *req = (request_t){h2o_iovec_init(method, method_len), h2o_iovec_init(path, path_len), 0};
        int plain = minor == 1, lengths = 0;
        size_t body = 0;
        for (size_t i = 0; i != num_headers && plain; i++) {
            const struct phr_header *h = headers + i;
            if (h->name == NULL || header_is(h, "transfer-encoding") || header_is(h, "expect") ||
                header_is(h, "upgrade") || header_is(h, "connection") || header_is(h, "http2-settings")) {
                plain = 0; /* a folded line, or a header that changes how h2o reads on */
            } else if (header_is(h, "content-length")) {
                plain = ++lengths == 1 && h->value_len != 0 && h->value_len <= 9;
                for (size_t c = 0; c != h->value_len && plain; c++) {
                    plain = h->value[c] >= '0' && h->value[c] <= '9';
                    body = body * 10 + (size_t)(h->value[c] - '0');
                }
            }
        }
        if (!plain || body > opts.max_body || body > size - at - (size_t)len)
            break;
        req->complete = 1;
        at += (size_t)len + body;
    }
    return n;
}

/* The responses */

typedef struct {
    int status;
    int close;         /* Connection: close */
    int chunked;
    long content_length; /* -1: none */
    h2o_iovec_t content_type, content_encoding;
    int request_id;    /* it went through moontide's handler (x-request-id) */
} response_t;

static int is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_field_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int lcequal(h2o_iovec_t s, const char *lit)
{
    return s.len == strlen(lit) && h2o_lcstris(s.base, s.len, lit, s.len);
}

/* Methods are case-sensitive (RFC 9110 9.1): "hEAD" is some other method, with a body. */
static int is_method(const request_t *req, const char *name)
{
    return h2o_memis(req->method.base, req->method.len, name, strlen(name));
}

/* Reads a status line and header fields at *at; returns 0, or -1 when they are not RFC 9112's. */
static int parse_head(const char *buf, size_t len, size_t *at, response_t *r)
{
    const char *p = buf + *at, *end = buf + len;
    *r = (response_t){.content_length = -1};
    if (end - p < 14 || memcmp(p, "HTTP/1.1 ", 9) != 0)
        return -1;
    for (int i = 9; i != 12; i++)
        if (p[i] < '0' || p[i] > '9')
            return -1;
    r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    if (r->status < 100 || p[12] != ' ')
        return -1;
    for (p += 13; p < end && *p != '\r'; p++)
        if (!is_field_char((unsigned char)*p) || *p == '\n')
            return -1;
    if (end - p < 2 || memcmp(p, "\r\n", 2) != 0)
        return -1;
    int connection = 0;
    for (p += 2;;) {
        if (end - p >= 2 && memcmp(p, "\r\n", 2) == 0)
            break;
        const char *name = p;
        while (p < end && is_tchar(*p))
            p++;
        if (p == name || p == end || *p != ':')
            return -1;
        h2o_iovec_t n = h2o_iovec_init(name, (size_t)(p - name));
        for (p++; p < end && (*p == ' ' || *p == '\t'); p++)
            ;
        const char *value = p;
        while (p < end && *p != '\r' && is_field_char((unsigned char)*p))
            p++;
        if (end - p < 2 || memcmp(p, "\r\n", 2) != 0)
            return -1;
        h2o_iovec_t v = h2o_iovec_init(value, (size_t)(p - value));
        p += 2;
        if (lcequal(n, "connection")) {
            connection++;
            r->close = lcequal(v, "close");
            if (!r->close && !lcequal(v, "keep-alive") && !lcequal(v, "upgrade"))
                return -1;
        } else if (lcequal(n, "content-length")) {
            if (r->content_length != -1 || v.len == 0 || v.len > 12)
                return -1;
            r->content_length = 0;
            for (size_t i = 0; i != v.len; i++) {
                if (v.base[i] < '0' || v.base[i] > '9')
                    return -1;
                r->content_length = r->content_length * 10 + (v.base[i] - '0');
            }
        } else if (lcequal(n, "transfer-encoding")) {
            if (!lcequal(v, "chunked") || r->chunked)
                return -1;
            r->chunked = 1;
        } else if (lcequal(n, "content-type")) {
            r->content_type = v;
        } else if (lcequal(n, "content-encoding")) {
            r->content_encoding = v;
        } else if (lcequal(n, "x-request-id")) {
            r->request_id = 1;
        }
    }
    /* h2o writes Connection on every response but 100 Continue */
    if ((connection != 1 && r->status != 100) || (r->chunked && r->content_length != -1))
        return -1;
    *at = (size_t)(p + 2 - buf);
    return 0;
}

/* Reads a chunked body at *at into `out`; returns 0, or -1 when it is malformed or cut short. */
static int read_chunked(const char *buf, size_t len, size_t *at, mt_buf_t *out)
{
    const char *p = buf + *at, *end = buf + len;
    for (;;) {
        size_t size = 0, digits = 0;
        for (; p < end && isxdigit((unsigned char)*p); p++, digits++) {
            if (digits == 12)
                return -1;
            size = size * 16 + (size_t)(*p <= '9' ? *p - '0' : (*p | 0x20) - 'a' + 10);
        }
        if (digits == 0 || end - p < 2 || memcmp(p, "\r\n", 2) != 0)
            return -1;
        p += 2;
        if (size == 0)
            break;
        if ((size_t)(end - p) < size + 2 || memcmp(p + size, "\r\n", 2) != 0)
            return -1;
        mt_buf_append(out, p, size);
        p += size + 2;
    }
    if (end - p < 2 || memcmp(p, "\r\n", 2) != 0) /* no trailer fields */
        return -1;
    *at = (size_t)(p + 2 - buf);
    return 0;
}

static int gunzip(const mt_buf_t *in, mt_buf_t *out)
{
    z_stream z = {0};
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        return -1;
    z.next_in = (Bytef *)in->data;
    z.avail_in = (uInt)in->len;
    char chunk[4096];
    int rc;
    do {
        z.next_out = (Bytef *)chunk;
        z.avail_out = sizeof(chunk);
        rc = inflate(&z, Z_NO_FLUSH);
        mt_buf_append(out, chunk, sizeof(chunk) - z.avail_out);
    } while (rc == Z_OK);
    inflateEnd(&z);
    return rc == Z_STREAM_END && z.avail_in == 0 ? 0 : -1;
}

/* What the app answers with something other than JSON. */
static int answers_other_than_json(const request_t *req)
{
    static const char *const prefixes[] = {"/stream/", "/events", "/docs", "/redoc", "/_moontide/"};
    for (size_t i = 0; i != sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (req->path.len >= strlen(prefixes[i]) && memcmp(req->path.base, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    return is_method(req, "OPTIONS"); /* a CORS preflight: "OK" as text */
}

/* The statuses a response of moontide's handler or of h2o itself may have (a raised one aside). */
static int expected_status(int status)
{
    static const int statuses[] = {100, 101, 200, 201, 204, 400, 401, 404, 405, 413, 414, 417, 422, 431, 500};
    for (size_t i = 0; i != sizeof(statuses) / sizeof(statuses[0]); i++)
        if (statuses[i] == status)
            return 1;
    return 0;
}

static void check_json(const response_t *r, const mt_buf_t *body)
{
    mt_buf_t plain = {0};
    const mt_buf_t *text = body;
    if (r->content_encoding.base != NULL) {
        check(lcequal(r->content_encoding, "gzip"), "a content-encoding other than gzip");
        check(gunzip(body, &plain) == 0, "a gzipped body that does not inflate");
        text = &plain;
    }
    const char *end = NULL;
    cJSON *json = text->len != 0 ? cJSON_ParseWithLengthOpts(text->data, text->len, &end, 0) : NULL;
    while (json != NULL && end < text->data + text->len && strchr(" \t\r\n", *end) != NULL && *end != '\0')
        end++; /* whitespace after the value is JSON text's too (the OpenAPI document ends with a newline) */
    check(json != NULL && end == text->data + text->len, "a JSON response whose body is not JSON text");
    if (r->status >= 400)
        check(cJSON_IsObject(json) && cJSON_GetObjectItemCaseSensitive(json, "detail") != NULL,
              "an error response without \"detail\"");
    cJSON_Delete(json);
    mt_buf_free(&plain);
}

static void check_responses(const char *data, size_t size, const char *out, size_t len)
{
    if (size >= 12 && memcmp(data, "PRI * HTTP/2", 12) == 0)
        return; /* HTTP/2 with prior knowledge: h2o answers with frames */
    request_t requests[64];
    size_t num_requests = split_requests(data, size, requests, sizeof(requests) / sizeof(requests[0]));
    size_t at = 0, answered = 0, complete = 0;
    int closed = 0;
    for (size_t i = 0; i != num_requests; i++)
        complete += requests[i].complete;
    while (at < len) {
        response_t r;
        check(parse_head(out, len, &at, &r) == 0, "a malformed status line or header field");
        if (r.status == 101)
            return; /* h2c: HTTP/2 from here on */
        const request_t *req = answered < num_requests ? requests + answered : NULL;
        check(expected_status(r.status) || (r.request_id && r.status >= 400 && r.status <= 599),
              "a status moontide and h2o do not answer with");
        if (r.status == 100)
            continue;
        if (req == NULL)
            return; /* which request this answers (and whether it was HEAD) is h2o's guess */
        answered++;
        mt_buf_t body = {0};
        int bodiless = r.status == 204 || r.status == 304 || is_method(req, "HEAD");
        if (r.chunked) {
            check(!bodiless, "a chunked body where there is none");
            check(read_chunked(out, len, &at, &body) == 0, "a malformed or cut-short chunked body");
        } else if (r.content_length >= 0) {
            if (!bodiless) {
                check(len - at >= (size_t)r.content_length, "a body shorter than its Content-Length");
                mt_buf_append(&body, out + at, (size_t)r.content_length);
                at += (size_t)r.content_length;
            }
        } else if (!bodiless) {
            check(r.close, "a body without length on a connection that stays open");
            mt_buf_append(&body, out + at, len - at);
            at = len;
        }
        check(!r.close || at == len, "bytes after a response that closed the connection");
        closed |= r.close;
        if (r.request_id && !bodiless && !answers_other_than_json(req)) {
            check(r.content_type.len >= 16 && memcmp(r.content_type.base, "application/json", 16) == 0,
                  "a response of the app that is not application/json");
            check_json(&r, &body);
        }
        mt_buf_free(&body);
    }
    check(closed || answered >= complete, "a whole request got no answer");
}

/* One connection */

static void on_close(void *data)
{
    *(int *)data = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    h2o_evloop_t *loop = worker.ctx.loop;
    int fds[2];
    check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0, "no socketpair");
    int closed = 0;
    h2o_socket_t *sock = h2o_evloop_socket_create(loop, fds[0], 0);
    sock->on_close.cb = on_close;
    sock->on_close.data = &closed;
    h2o_accept(&worker.accept_ctx, sock);

    /* the client: writes what it can, shuts its side once all is written, reads until h2o closes */
    mt_buf_t out = {0};
    size_t written = 0;
    int shut = 0, eof = 0;
    while (!eof) {
        if (written < size) {
            ssize_t n = write(fds[1], data + written, size - written);
            if (n > 0)
                written += (size_t)n;
            else if (errno == EPIPE || errno == ECONNRESET)
                written = size; /* h2o closed before reading it all (after a 400, say) */
            else
                check(errno == EAGAIN, "writing the request failed");
        }
        if (written == size && !shut) {
            shutdown(fds[1], SHUT_WR);
            shut = 1;
        }
        h2o_evloop_run(loop, 10);
        for (;;) {
            char chunk[16384];
            ssize_t n = read(fds[1], chunk, sizeof(chunk));
            if (n > 0) {
                mt_buf_append(&out, chunk, (size_t)n);
                continue;
            }
            if (n == 0 || errno == ECONNRESET)
                eof = 1;
            else
                check(errno == EAGAIN, "reading the response failed");
            break;
        }
    }
    close(fds[1]);
    check(closed, "the connection's socket was not closed");
    check(h2o_linklist_is_empty(&worker.ctx.http1._conns) && h2o_linklist_is_empty(&worker.ctx.http2._conns),
          "a connection outlived its socket");
    check(app->refs == 0, "a request is still alive after its connection closed");
    check(mt_timers_armed() == 0, "a timer is still armed after the connection closed");
    check(lua_gettop(app->L) == lua_top, "the app's Lua stack is not as it was before the input");

    answer = h2o_iovec_init(out.data, out.len);
    check_responses((const char *)data, size, out.data, out.len);
    answer = h2o_iovec_init(NULL, 0);
    mt_buf_free(&out);
    lua_gc(app->L, LUA_GCCOLLECT, 0);
    check(lua_gc(app->L, LUA_GCCOUNT, 0) < MAX_LUA_KB, "the app's Lua heap keeps growing");
    return 0;
}

/*
 * moontide.http.request: a handler's outbound HTTP/1.1 request, http or
 * https, run by the worker's event loop with h2o's HTTP/1 client while only
 * the calling handler's coroutine waits (handler.h says how a wait is set
 * up). The result is {status=, headers=, body=}; with stream=true the head
 * comes back at once and the body is read chunk by chunk, each read waiting
 * the same way.
 *
 * One request is a "fetch", malloc'd, with one way out: fetch_close, which
 * ends the exchange and frees it. Besides the fetch finishing, three things
 * can close it early: handler.c cancelling a wait (client gone, --timeout),
 * the end of the request that made it (a hook in the request's pool, for a
 * streamed body left unread), and the Lua collector taking a streamed body's
 * handle. h2o's callbacks only record what happened (building the result
 * on the app's Lua state); a waiting handler is resumed afterwards, from the
 * loop (on_ready), so no handler code runs inside the client, and a
 * connection the response finished is back in the pool when the handler
 * makes its next request.
 *
 * Connections are kept per upstream (scheme, host, port, and whether the
 * certificate is verified) in an h2o socket pool that lives as long as the
 * worker; workers are processes, so the statics below are each worker's own.
 * Every https upstream has its own SSL_CTX whose verify parameters name the
 * host, so OpenSSL checks the name on every connection: h2o 2.2.5's own check
 * is skipped when a TLS 1.3 handshake ends with output still to send. Host
 * names are resolved by h2o's resolver thread, whose answers reach the loop
 * through the context's getaddr receiver.
 *
 * Timeouts are the worker's timers (timers.h), armed while a handler waits:
 * for the connection, then for the head, then between reads of the body. A
 * streamed body that the handler takes more slowly than it comes stops the
 * reading (backpressure h2o's client lacks) until the handler catches up.
 */
#include <arpa/inet.h>
#include <lauxlib.h>
#include <math.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include "buf.h"
#include "handler.h"
#include "http_client.h"

#define FNAME "moontide.http.request"
#define BODY_MT "moontide.http.Body"
#define MAX_BODY_MIB 64 /* a body read whole; stream=true reads any size */
#define DEFAULT_TIMEOUT 30.0
#define MAX_TIMEOUT 3600.0
#define RESOLVER_THREADS 4 /* per worker, for getaddrinfo */
#define POOL_IDLE_MS 2000 /* an idle pooled connection is closed after this, as h2o's proxy does */
#define STREAM_HIGH_WATER (256 * 1024) /* stream=true: reading stops while the handler has this much to take */

typedef struct st_upstream_t {
    struct st_upstream_t *next;
    h2o_iovec_t host; /* lower-cased */
    uint16_t port;
    int is_ssl, verify;
    h2o_socketpool_t sockpool;
    h2o_http1client_ctx_t client_ctx; /* with this upstream's SSL_CTX */
} upstream_t;

typedef struct st_fetch_t fetch_t;

/* A streamed body as Lua holds it (a userdata). */
typedef struct st_body_handle_t {
    fetch_t *fetch; /* NULL once the fetch is closed */
} body_handle_t;

/* In the request's pool: its dispose callback closes a streamed fetch the handler left. */
typedef struct st_request_hook_t {
    fetch_t *fetch;
} request_hook_t;

struct st_fetch_t {
    h2o_http1client_t *client; /* NULL once h2o has let go of the exchange */
    mt_call_t *call;           /* the handler's call that made it */
    lua_State *L;              /* its app's state: results are built there */
    request_hook_t *hook;      /* stream=true */
    body_handle_t *handle;     /* stream=true, once the head is in */
    mt_timer_t timer;          /* the timeout, while a handler waits */
    h2o_timeout_entry_t ready; /* news for a waiting handler: on_ready, at the end of this loop turn */
    uint64_t timeout_ms;
    const char *phase;         /* what a timeout interrupts */
    int result_ref;            /* the result table, from the head until the handler has it */
    mt_buf_t chunks;           /* stream=true: body bytes the handler has not taken yet */
    h2o_socket_cb paused;      /* stream=true: h2o's reader, while reading is stopped */
    char *error;               /* the message, once it failed */
    unsigned stream : 1, is_head : 1, waiting : 1, result_sent : 1, eos : 1;
    h2o_iovec_t reqbufs[2];    /* head, body */
    int what_len;
    char text[];               /* "METHOD URL" (for messages), the request head, the body */
};

static struct {
    h2o_loop_t *loop; /* NULL until the worker's first fetch */
    h2o_timeout_t *zero_timeout;
    h2o_multithread_receiver_t *getaddr_receiver;
    h2o_timeout_t io_timeout; /* h2o's own I/O limit, beyond any fetch's timeout */
    X509_STORE *ca_store;
    upstream_t *upstreams;
    int verify_error; /* OpenSSL's last certificate error, until on_connect reads it */
    mt_buf_t scratch; /* a request head being built */
} worker;

/* The worker's first fetch: what it needs from the worker's h2o context. */
static void worker_init(h2o_context_t *ctx)
{
    worker.loop = ctx->loop;
    worker.zero_timeout = &ctx->zero_timeout;
    worker.getaddr_receiver = &ctx->receivers.hostinfo_getaddr;
    h2o_timeout_init(worker.loop, &worker.io_timeout, (uint64_t)(MAX_TIMEOUT + 60) * 1000);
    /* threads start on demand; h2o's default, 1, makes every lookup wait for the one before */
    h2o_hostinfo_max_threads = RESOLVER_THREADS;
}

/* --- calls waiting on a fetch ------------------------------------------------------------------------------------
 * handler.c's cancel receives only the call, so the fetch a call waits on is found here, by the call's address (a
 * small open-addressing table; a call waits on one thing at a time). */

typedef struct st_wait_slot_t {
    mt_call_t *call;
    fetch_t *fetch;
} wait_slot_t;

static struct {
    wait_slot_t *slots;
    size_t cap, count; /* cap is 0 or a power of 2 */
} waits;

static size_t wait_home(const mt_call_t *call)
{
    uint64_t h = (uint64_t)(uintptr_t)call * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & (waits.cap - 1);
}

static void waits_insert(wait_slot_t slot)
{
    size_t i = wait_home(slot.call);
    while (waits.slots[i].call != NULL)
        i = (i + 1) & (waits.cap - 1);
    waits.slots[i] = slot;
    ++waits.count;
}

static void waits_put(mt_call_t *call, fetch_t *fetch)
{
    if ((waits.count + 1) * 2 > waits.cap) {
        wait_slot_t *old = waits.slots;
        size_t old_cap = waits.cap;
        waits.cap = old_cap != 0 ? old_cap * 2 : 64;
        waits.slots = h2o_mem_alloc(waits.cap * sizeof(*waits.slots));
        memset(waits.slots, 0, waits.cap * sizeof(*waits.slots));
        waits.count = 0;
        for (size_t i = 0; i != old_cap; ++i)
            if (old[i].call != NULL)
                waits_insert(old[i]);
        free(old);
    }
    waits_insert((wait_slot_t){call, fetch});
}

/* Removes the call's entry; returns its fetch, or NULL when the call waits on none. */
static fetch_t *waits_take(mt_call_t *call)
{
    if (waits.cap == 0)
        return NULL;
    size_t mask = waits.cap - 1, i = wait_home(call);
    while (waits.slots[i].call != call) {
        if (waits.slots[i].call == NULL)
            return NULL;
        i = (i + 1) & mask;
    }
    fetch_t *fetch = waits.slots[i].fetch;
    /* backward-shift deletion: move later entries of the run into the hole when their home allows it */
    for (size_t j = (i + 1) & mask; waits.slots[j].call != NULL; j = (j + 1) & mask) {
        if (((j - wait_home(waits.slots[j].call)) & mask) >= ((j - i) & mask)) {
            waits.slots[i] = waits.slots[j];
            i = j;
        }
    }
    waits.slots[i] = (wait_slot_t){NULL, NULL};
    --waits.count;
    return fetch;
}

/* --- upstreams: a socket pool and a TLS context per scheme, host, port and verify --------------------------------- */

static int on_verify(int ok, X509_STORE_CTX *store)
{
    if (!ok)
        worker.verify_error = X509_STORE_CTX_get_error(store);
    return ok;
}

static SSL_CTX *new_ssl_ctx(h2o_iovec_t host, int verify, const char **err)
{
    static const unsigned char alpn[] = "\x08http/1.1";
    char name[256];
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        goto Fail;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1);
    if (!verify) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        return ctx;
    }
    if (worker.ca_store == NULL) { /* the system's CAs (or SSL_CERT_FILE / SSL_CERT_DIR), loaded once per worker */
        X509_STORE *store = X509_STORE_new();
        if (store == NULL || X509_STORE_set_default_paths(store) != 1) {
            X509_STORE_free(store);
            goto Fail;
        }
        worker.ca_store = store;
    }
    SSL_CTX_set1_cert_store(ctx, worker.ca_store);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, on_verify);
    /* SSL_new copies these parameters into every connection */
    X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (host.len >= sizeof(name))
        goto Fail;
    memcpy(name, host.base, host.len);
    name[host.len] = '\0';
    unsigned char addr[16];
    int is_ip = inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;
    if ((is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name) : X509_VERIFY_PARAM_set1_host(param, name, host.len)) != 1)
        goto Fail;
    return ctx;
Fail:
    *err = ERR_reason_error_string(ERR_peek_last_error());
    if (*err == NULL)
        *err = "cannot set up TLS";
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return NULL;
}

static upstream_t *get_upstream(const h2o_url_t *url, int verify, const char **err)
{
    int is_ssl = url->scheme == &H2O_URL_SCHEME_HTTPS;
    uint16_t port = h2o_url_get_port(url);
    verify = is_ssl && verify;
    for (upstream_t *up = worker.upstreams; up != NULL; up = up->next)
        if (up->port == port && up->is_ssl == is_ssl && up->verify == verify &&
            h2o_lcstris(url->host.base, url->host.len, up->host.base, up->host.len))
            return up;

    SSL_CTX *ssl_ctx = NULL;
    if (is_ssl && (ssl_ctx = new_ssl_ctx(url->host, verify, err)) == NULL)
        return NULL;
    upstream_t *up = h2o_mem_alloc(sizeof(*up));
    *up = (upstream_t){.next = worker.upstreams, .port = port, .is_ssl = is_ssl, .verify = verify};
    up->host = h2o_strdup(NULL, url->host.base, url->host.len);
    h2o_strtolower(up->host.base, up->host.len);
    h2o_socketpool_init_by_hostport(&up->sockpool, up->host, port, is_ssl, SIZE_MAX);
    /* without a timeout, h2o 2.2.5's pool crashes on its first pooled connect */
    h2o_socketpool_set_timeout(&up->sockpool, worker.loop, POOL_IDLE_MS);
    up->client_ctx = (h2o_http1client_ctx_t){.loop = worker.loop, .getaddr_receiver = worker.getaddr_receiver,
                                             .io_timeout = &worker.io_timeout, .ssl_ctx = ssl_ctx};
    worker.upstreams = up;
    return up;
}

/* --- a fetch's life ----------------------------------------------------------------------------------------------- */

static void on_timeout(mt_timer_t *timer);
static void on_ready(h2o_timeout_entry_t *entry);

static void fetch_free(fetch_t *f)
{
    if (f->result_ref != LUA_NOREF)
        luaL_unref(f->L, LUA_REGISTRYINDEX, f->result_ref);
    mt_buf_free(&f->chunks);
    free(f->error);
    free(f);
}

/* The Lua side is done with f: no one waits on it any more, the exchange ends, f is freed. */
static void fetch_close(fetch_t *f)
{
    if (f->waiting) {
        f->waiting = 0;
        waits_take(f->call);
    }
    mt_timer_stop(&f->timer);
    if (h2o_timeout_is_linked(&f->ready))
        h2o_timeout_unlink(&f->ready);
    if (f->hook != NULL)
        f->hook->fetch = NULL;
    if (f->handle != NULL)
        f->handle->fetch = NULL;
    /*
     * Never reached from inside one of this client's own callbacks: they run no handler code, and the collector
     * cannot take this fetch's handle then (a body is only appended to it in C; the handle is made in on_head).
     */
    if (f->client != NULL)
        h2o_http1client_cancel(f->client);
    fetch_free(f);
}

static void cancel_fetch(mt_call_t *call)
{
    fetch_t *f = waits_take(call);
    if (f != NULL) {
        f->waiting = 0;
        fetch_close(f);
    }
}

static void on_request_gone(void *p)
{
    request_hook_t *hook = p;
    if (hook->fetch != NULL)
        fetch_close(hook->fetch);
}

static void set_error(fetch_t *f, const char *fmt, ...)
{
    if (f->error != NULL)
        return;
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    size_t size = sizeof(FNAME ": : ") + (size_t)f->what_len + strlen(reason);
    f->error = h2o_mem_alloc(size);
    snprintf(f->error, size, FNAME ": %.*s: %s", f->what_len, f->text, reason);
}

/* Whether a handler waiting on f has something to get: the result, a piece of the body, its end, or an error. */
static int has_news(const fetch_t *f)
{
    if (f->error != NULL || f->eos)
        return 1;
    if (!f->result_sent)
        return f->stream && f->result_ref != LUA_NOREF;
    return f->chunks.len != 0;
}

/*
 * Called whenever the exchange moved on. A waiting handler with news is resumed by on_ready, after h2o's callback has
 * returned (h2o puts a finished connection back in the pool then, for the handler's next request to take); without
 * news, the timeout starts again.
 */
static void progress(fetch_t *f, const char *phase)
{
    f->phase = phase;
    if (!f->waiting)
        return;
    if (has_news(f)) {
        mt_timer_stop(&f->timer);
        if (!h2o_timeout_is_linked(&f->ready))
            h2o_timeout_link(worker.loop, worker.zero_timeout, &f->ready);
    } else {
        mt_timer_start(&f->timer, f->timeout_ms, on_timeout);
    }
}

static void wait_on(fetch_t *f, mt_call_t *call, const char *phase)
{
    f->waiting = 1;
    waits_put(call, f);
    call->cancel = cancel_fetch;
    progress(f, phase);
}

/*
 * The news for f onto L (the handler's own coroutine, or the app's state when it is suspended): the result table, a
 * chunk, or (nil, message); nothing at the end of a streamed body. Closes f when no one can ask it again.
 */
static int take_news(lua_State *L, fetch_t *f)
{
    int n;
    lua_checkstack(L, 2);
    if (!f->result_sent && f->result_ref != LUA_NOREF && (f->stream || f->eos)) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, f->result_ref);
        luaL_unref(L, LUA_REGISTRYINDEX, f->result_ref);
        f->result_ref = LUA_NOREF;
        f->result_sent = 1;
        n = 1;
    } else if (f->result_sent && f->chunks.len != 0) {
        lua_pushlstring(L, f->chunks.data, f->chunks.len);
        f->chunks.len = 0;
        if (f->paused != NULL && f->client != NULL)
            h2o_socket_read_start(f->client->sock, f->paused);
        f->paused = NULL;
        n = 1;
    } else if (f->error != NULL) {
        lua_pushnil(L);
        lua_pushstring(L, f->error);
        n = 2;
    } else {
        n = 0; /* a streamed body's end */
    }
    if (f->handle == NULL || n == 0)
        fetch_close(f);
    return n;
}

static void on_ready(h2o_timeout_entry_t *entry)
{
    fetch_t *f = H2O_STRUCT_FROM_MEMBER(fetch_t, ready, entry);
    mt_call_t *call = f->call;
    f->waiting = 0;
    waits_take(call);
    /* built on the app's state, not on the suspended coroutine, which is only handed the values */
    int n = take_news(f->L, f); /* f may be gone now */
    lua_checkstack(call->co, n);
    lua_xmove(call->app->L, call->co, n);
    mt_call_resume(call, n);
}

static void on_timeout(mt_timer_t *timer)
{
    fetch_t *f = H2O_STRUCT_FROM_MEMBER(fetch_t, timer, timer);
    if (f->client != NULL) {
        h2o_http1client_cancel(f->client);
        f->client = NULL;
    }
    set_error(f, "timed out after %g s %s", (double)f->timeout_ms / 1000, f->phase);
    on_ready(&f->ready);
}

/* --- h2o's callbacks: they record what happened and call progress; the handler runs later, in on_ready ------------ */

/* {status=, headers=} onto L: header names come lower-case from h2o; a repeated header is joined with ", ". */
static void push_head(lua_State *L, int status, const h2o_header_t *headers, size_t num_headers)
{
    lua_checkstack(L, 8);
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, status);
    lua_setfield(L, -2, "status");
    lua_createtable(L, 0, (int)num_headers);
    for (size_t i = 0; i != num_headers; ++i) {
        lua_pushlstring(L, headers[i].name->base, headers[i].name->len);
        lua_pushvalue(L, -1);
        lua_rawget(L, -3);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_pushlstring(L, headers[i].value.base, headers[i].value.len);
        } else {
            lua_pushliteral(L, ", ");
            lua_pushlstring(L, headers[i].value.base, headers[i].value.len);
            lua_concat(L, 3);
        }
        lua_rawset(L, -3);
    }
    lua_setfield(L, -2, "headers");
}

static int on_body(h2o_http1client_t *client, const char *errstr)
{
    fetch_t *f = client->data;
    h2o_buffer_t **input = &client->sock->input;
    int eos = errstr == h2o_http1client_error_is_eos, stop = 0;
    if (errstr != NULL)
        f->client = NULL; /* h2o closes it when we return */

    if (errstr != NULL && !eos) {
        set_error(f, "%s", errstr);
    } else if (f->stream) {
        if (mt_buf_append(&f->chunks, (*input)->bytes, (*input)->size) != 0) {
            set_error(f, "out of memory");
            stop = 1;
        }
        h2o_buffer_consume(input, (*input)->size);
        f->eos = eos;
        /*
         * Backpressure, which h2o 2.2.5's client lacks: while the handler is behind, stop reading the socket, so
         * that a fast upstream waits for a slow consumer (TCP holds the rest). The client has no call to pause, so
         * its reader is kept to be put back (take_news) when the handler takes the chunks.
         */
        if (errstr == NULL && !stop && f->chunks.len >= STREAM_HIGH_WATER) {
            f->paused = client->sock->_cb.read;
            h2o_socket_read_stop(client->sock);
        }
    } else if ((*input)->size > (size_t)MAX_BODY_MIB << 20) {
        set_error(f, "the response body is larger than %d MiB (stream=true reads it in pieces)", MAX_BODY_MIB);
        stop = 1;
    } else if (eos) {
        /* h2o leaves the decoded body in the socket's input buffer */
        lua_rawgeti(f->L, LUA_REGISTRYINDEX, f->result_ref);
        lua_pushlstring(f->L, (*input)->bytes, (*input)->size);
        lua_setfield(f->L, -2, "body");
        lua_pop(f->L, 1);
        f->eos = 1;
    }
    if (stop)
        f->client = NULL; /* h2o closes it on our answer */
    progress(f, "reading the body");
    return stop ? -1 : 0;
}

static h2o_http1client_body_cb on_head(h2o_http1client_t *client, const char *errstr, int minor_version, int status,
                                       h2o_iovec_t msg, h2o_header_t *headers, size_t num_headers, int rlen)
{
    (void)minor_version, (void)msg, (void)rlen;
    fetch_t *f = client->data;
    int eos = errstr == h2o_http1client_error_is_eos;
    if (errstr != NULL)
        f->client = NULL; /* h2o closes it when we return */

    if (errstr != NULL && !eos) {
        set_error(f, "%s", errstr);
    } else {
        lua_State *L = f->L;
        push_head(L, status, headers, num_headers);
        if (f->stream) {
            body_handle_t *handle = lua_newuserdata(L, sizeof(*handle));
            handle->fetch = f;
            luaL_getmetatable(L, BODY_MT);
            lua_setmetatable(L, -2);
            f->handle = handle;
        } else {
            lua_pushliteral(L, ""); /* the body, unless one comes */
        }
        lua_setfield(L, -2, "body");
        f->result_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        f->eos = eos; /* HEAD, 204, 304 */
    }
    progress(f, "reading the body");
    return on_body;
}

static h2o_http1client_head_cb on_connect(h2o_http1client_t *client, const char *errstr, h2o_iovec_t **reqbufs,
                                          size_t *reqbufcnt, int *method_is_head)
{
    fetch_t *f = client->data;
    int verify_error = worker.verify_error; /* set, if at all, by this connection's handshake just now */
    worker.verify_error = 0;
    if (errstr != NULL) {
        f->client = NULL; /* h2o frees it when we return */
        if (verify_error != 0)
            set_error(f, "certificate verify failed: %s", X509_verify_cert_error_string(verify_error));
        else
            set_error(f, "%s", errstr);
        progress(f, "connecting");
        return NULL;
    }
    *reqbufs = f->reqbufs;
    *reqbufcnt = f->reqbufs[1].len != 0 ? 2 : 1;
    *method_is_head = f->is_head;
    progress(f, "waiting for the response");
    return on_head;
}

/* --- Lua ---------------------------------------------------------------------------------------------------------- */

/* (nil, message): the Lua wrapper raises it from where the handler called. */
static int soft_error(lua_State *L, const char *fmt, ...)
{
    va_list ap;
    lua_pushnil(L);
    lua_pushliteral(L, FNAME ": ");
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    lua_concat(L, 2);
    return 2;
}

static int is_token(const char *s, size_t len)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    if (len == 0)
        return 0;
    for (size_t i = 0; i != len; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (!(('0' <= c && c <= '9') || ('a' <= (c | 0x20) && (c | 0x20) <= 'z') || (c != '\0' && strchr(extra, c))))
            return 0;
    }
    return 1;
}

/* Bytes a URL must not hold unencoded (they would split or bend the request line). */
static int has_space_or_control(const char *s, size_t len)
{
    for (size_t i = 0; i != len; ++i)
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
            return 1;
    return 0;
}

static const char *const STANDARD_METHODS[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", NULL};
static const char *const OPTION_NAMES[] = {"url", "method", "headers", "body", "timeout", "stream", "verify", NULL};

typedef struct st_options_t {
    const char *method, *url, *body;
    size_t method_len, url_len, body_len;
    int has_body, stream, verify;
    double timeout;
    h2o_url_t parsed;
} options_t;

/* Reads the options table at index 1; returns 0, or pushes (nil, message) and returns 2. */
static int read_options(lua_State *L, options_t *o)
{
    if (!lua_istable(L, 1))
        return soft_error(L, "expected a table {url=, method=, headers=, body=, timeout=, stream=, verify=}, got %s",
                          luaL_typename(L, 1));
    for (lua_pushnil(L); lua_next(L, 1); lua_pop(L, 1)) {
        const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        size_t i = 0;
        while (OPTION_NAMES[i] != NULL && (key == NULL || strcmp(OPTION_NAMES[i], key) != 0))
            ++i;
        if (key == NULL)
            return soft_error(L, "options are named (url=, method=, ...), got a %s key", luaL_typename(L, -2));
        if (OPTION_NAMES[i] == NULL)
            return soft_error(L, "unknown option '%s'", key);
    }
    lua_getfield(L, 1, "url");
    if (lua_type(L, -1) != LUA_TSTRING)
        return soft_error(L, "url must be a string, got %s", luaL_typename(L, -1));
    o->url = lua_tolstring(L, -1, &o->url_len);
    lua_getfield(L, 1, "method");
    if (lua_isnil(L, -1)) {
        o->method = "GET", o->method_len = 3;
    } else if (lua_type(L, -1) != LUA_TSTRING) {
        return soft_error(L, "method must be a string such as \"POST\", got %s", luaL_typename(L, -1));
    } else if (o->method = lua_tolstring(L, -1, &o->method_len), !is_token(o->method, o->method_len)) {
        return soft_error(L, "method '%s' is not an HTTP token", o->method);
    }
    for (const char *const *m = STANDARD_METHODS; *m != NULL; ++m) /* "post" is sent as POST, as fetch() does */
        if (o->method_len == strlen(*m) && strncasecmp(o->method, *m, o->method_len) == 0)
            o->method = *m;
    lua_getfield(L, 1, "body");
    if ((o->has_body = !lua_isnil(L, -1)) && lua_type(L, -1) != LUA_TSTRING)
        return soft_error(L, "body must be a string, got %s", luaL_typename(L, -1));
    o->body = o->has_body ? lua_tolstring(L, -1, &o->body_len) : "";
    if (!o->has_body)
        o->body_len = 0;
    lua_getfield(L, 1, "timeout");
    o->timeout = DEFAULT_TIMEOUT;
    if (!lua_isnil(L, -1) && (lua_type(L, -1) != LUA_TNUMBER || !((o->timeout = lua_tonumber(L, -1)) > 0) ||
                              o->timeout > MAX_TIMEOUT))
        return soft_error(L, "timeout must be a number of seconds above 0 and at most %d", (int)MAX_TIMEOUT);
    lua_getfield(L, 1, "stream");
    lua_getfield(L, 1, "verify");
    if (!lua_isnil(L, -2) && !lua_isboolean(L, -2))
        return soft_error(L, "stream must be a boolean, got %s", luaL_typename(L, -2));
    if (!lua_isnil(L, -1) && !lua_isboolean(L, -1))
        return soft_error(L, "verify must be a boolean, got %s", luaL_typename(L, -1));
    o->stream = lua_toboolean(L, -2);
    o->verify = lua_isnil(L, -1) || lua_toboolean(L, -1);
    lua_pop(L, 2);

    /* the URL; a fragment is never sent */
    const char *hash = memchr(o->url, '#', o->url_len);
    if (hash != NULL)
        o->url_len = (size_t)(hash - o->url);
    int http = o->url_len >= 7 && memcmp(o->url, "http://", 7) == 0;
    int https = o->url_len >= 8 && memcmp(o->url, "https://", 8) == 0;
    if (!http && !https)
        return soft_error(L, "only http:// and https:// URLs are supported, got '%s'", o->url);
    if (h2o_url_parse(o->url, o->url_len, &o->parsed) != 0 || h2o_url_host_is_unix_path(o->parsed.host) ||
        o->parsed._port == 0)
        return soft_error(L, "invalid URL '%s'", o->url);
    if (has_space_or_control(o->url, o->url_len))
        return soft_error(L, "invalid URL '%s': spaces and control characters must be percent-encoded", o->url);
    return 0;
}

/* The request head into worker.scratch; returns 0, or pushes (nil, message) and returns 2. */
static int build_head(lua_State *L, const options_t *o)
{
    mt_buf_t *b = &worker.scratch;
    int has_host = 0, oom = 0;
    b->len = 0;
    oom |= mt_buf_append(b, o->method, o->method_len);
    oom |= mt_buf_append(b, " ", 1);
    oom |= mt_buf_append(b, o->parsed.path.base, o->parsed.path.len);
    oom |= mt_buf_append(b, " HTTP/1.1\r\n", 11);

    lua_getfield(L, 1, "headers");
    if (!lua_isnil(L, -1) && !lua_istable(L, -1))
        return soft_error(L, "headers must be a table of name = value, got %s", luaL_typename(L, -1));
    if (lua_istable(L, -1)) {
        int t = lua_gettop(L);
        for (lua_pushnil(L); lua_next(L, t); lua_pop(L, 1)) {
            size_t name_len, value_len;
            if (lua_type(L, -2) != LUA_TSTRING)
                return soft_error(L, "header names must be strings, got %s", luaL_typename(L, -2));
            const char *name = lua_tolstring(L, -2, &name_len);
            if (!is_token(name, name_len))
                return soft_error(L, "header name '%s' is not an HTTP token", name);
            if (h2o_lcstris(name, name_len, H2O_STRLIT("content-length")) ||
                h2o_lcstris(name, name_len, H2O_STRLIT("transfer-encoding")))
                return soft_error(L, "header '%s' is set from body, not by hand", name);
            int type = lua_type(L, -1);
            if (type != LUA_TSTRING && type != LUA_TNUMBER)
                return soft_error(L, "header '%s' must be a string or a number, got %s", name, luaL_typename(L, -1));
            const char *value = lua_tolstring(L, -1, &value_len); /* a number value becomes a string in place */
            for (size_t i = 0; i != value_len; ++i)
                if (value[i] == '\r' || value[i] == '\n' || value[i] == '\0')
                    return soft_error(L, "header '%s' holds CR, LF or NUL", name);
            has_host |= h2o_lcstris(name, name_len, H2O_STRLIT("host"));
            oom |= mt_buf_append(b, name, name_len);
            oom |= mt_buf_append(b, ": ", 2);
            oom |= mt_buf_append(b, value, value_len);
            oom |= mt_buf_append(b, "\r\n", 2);
        }
    }
    lua_pop(L, 1);
    if (!has_host) {
        oom |= mt_buf_append(b, "host: ", 6);
        oom |= mt_buf_append(b, o->parsed.authority.base, o->parsed.authority.len);
        oom |= mt_buf_append(b, "\r\n", 2);
    }
    static const char *const WITH_BODY[] = {"POST", "PUT", "PATCH", NULL};
    int wants_length = o->has_body;
    for (size_t i = 0; WITH_BODY[i] != NULL; ++i)
        wants_length |= o->method_len == strlen(WITH_BODY[i]) && memcmp(o->method, WITH_BODY[i], o->method_len) == 0;
    if (wants_length) {
        char line[48];
        oom |= mt_buf_append(b, line, (size_t)snprintf(line, sizeof(line), "content-length: %zu\r\n", o->body_len));
    }
    oom |= mt_buf_append(b, "\r\n", 2);
    return oom ? soft_error(L, "out of memory") : 0;
}

/* raw_request(opts): the result table once the head (stream=true) or the whole response is in; or (nil, message). */
static int raw_request(lua_State *L)
{
    mt_call_t *call = mt_call_current(L);
    if (call == NULL)
        return soft_error(L, "call it from a handler, not while the app loads or from a coroutine of your own");
    options_t o;
    int ret;
    if ((ret = read_options(L, &o)) != 0 || (ret = build_head(L, &o)) != 0)
        return ret;

    if (worker.loop == NULL)
        worker_init(call->req->conn->ctx);
    const char *err = NULL;
    upstream_t *up = get_upstream(&o.parsed, o.verify, &err);
    if (up == NULL)
        return soft_error(L, "%s %s: %s", o.method, o.url, err);

    size_t what_len = o.method_len + 1 + o.url_len, head_len = worker.scratch.len;
    fetch_t *f = malloc(sizeof(*f) + what_len + head_len + o.body_len);
    if (f == NULL)
        return soft_error(L, "out of memory");
    *f = (fetch_t){.call = call, .L = call->app->L, .timeout_ms = (uint64_t)llround(o.timeout * 1000),
                   .phase = "connecting", .result_ref = LUA_NOREF, .stream = o.stream, .what_len = (int)what_len,
                   .is_head = o.method_len == 4 && memcmp(o.method, "HEAD", 4) == 0, .ready = {.cb = on_ready}};
    char *p = f->text;
    memcpy(p, o.method, o.method_len);
    p[o.method_len] = ' ';
    memcpy(p + o.method_len + 1, o.url, o.url_len);
    p += what_len;
    f->reqbufs[0] = h2o_iovec_init(memcpy(p, worker.scratch.data, head_len), head_len);
    f->reqbufs[1] = h2o_iovec_init(memcpy(p + head_len, o.body, o.body_len), o.body_len);
    if (o.stream) {
        f->hook = h2o_mem_alloc_shared(&call->req->pool, sizeof(*f->hook), on_request_gone);
        f->hook->fetch = f;
    }

    /* a pooled connection, or a connect failing at once, calls on_connect before this returns */
    h2o_http1client_connect_with_pool(&f->client, f, &up->client_ctx, &up->sockpool, on_connect);
    if (f->error != NULL) {
        lua_pushnil(L);
        lua_pushstring(L, f->error);
        fetch_close(f);
        return 2;
    }
    wait_on(f, call, f->phase);
    return lua_yield(L, 0);
}

/* raw_read(handle): the next piece of a streamed body, nothing at its end, or (nil, message). */
static int raw_read(lua_State *L)
{
    body_handle_t *handle = luaL_checkudata(L, 1, BODY_MT);
    fetch_t *f = handle->fetch;
    if (f == NULL) /* ended, or its request did */
        return 0;
    if (has_news(f))
        return take_news(L, f);
    mt_call_t *call = mt_call_current(L);
    if (call != f->call)
        return soft_error(L, "read a streamed body from the handler that made the request");
    wait_on(f, call, "reading the body");
    return lua_yield(L, 0);
}

static int body_gc(lua_State *L)
{
    body_handle_t *handle = lua_touserdata(L, 1);
    if (handle->fetch != NULL)
        fetch_close(handle->fetch);
    return 0;
}

/* The public function, in Lua: a failure is raised from the handler's line (a resumed C function cannot raise). */
static const char WRAPPER[] = "local request, read = ...\n"
                              "local function reader(handle)\n"
                              "  return function()\n"
                              "    local chunk, err = read(handle)\n"
                              "    if err then error(err, 2) end\n"
                              "    return chunk\n"
                              "  end\n"
                              "end\n"
                              "return function(opts)\n"
                              "  local res, err = request(opts)\n"
                              "  if res == nil then error(err, 2) end\n"
                              "  if type(res.body) == 'userdata' then res.body = reader(res.body) end\n"
                              "  return res\n"
                              "end\n";

void mt_http_client_register(lua_State *L)
{
    luaL_newmetatable(L, BODY_MT);
    lua_pushcfunction(L, body_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    if (luaL_loadbuffer(L, WRAPPER, sizeof(WRAPPER) - 1, "=moontide.http") != 0)
        lua_error(L);
    lua_pushcfunction(L, raw_request);
    lua_pushcfunction(L, raw_read);
    lua_call(L, 2, 1);
    lua_setfield(L, -2, "http_request");
}

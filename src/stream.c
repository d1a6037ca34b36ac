/*
 * One write is in flight per stream at a time (h2o's generator contract:
 * h2o_send, then wait for proceed). What the producer sends collects in
 * `pending` and leaves when the producer lets the worker go (it waits or
 * returns: mt_stream_flush) or once FLUSH_AT bytes are waiting, in one write,
 * and what it sends while a write is in flight goes out at the next proceed:
 * a fast producer makes few, full writes, and a stream of 100 small events
 * made in one go is one write. Past HIGH_WATER bytes waiting, send suspends
 * the producer until the client has taken the data (backpressure): a
 * producer faster than its reader holds at most that much.
 *
 * The client going away (h2o calls stop) makes every later send return
 * false; a producer suspended in send is woken with false at once, so it can
 * clean up. A Lua error after the response started cannot become a 500: the
 * stream is cut (HTTP/2 RST_STREAM, HTTP/1.1 closed without the last chunk)
 * and the error logged. A HEAD request gets the headers alone: its producer
 * never runs.
 */
#include <lauxlib.h>
#include <string.h>
#include "handler.h"
#include "held_input.h"
#include "json.h"
#include "log.h"
#include "response.h"
#include "stream.h"

#define FLUSH_AT (16 * 1024)
#define HIGH_WATER (64 * 1024)

/* What send/emit hold: it outlives the request when Lua keeps the function. */
typedef struct st_stream_handle_t {
    mt_stream_t *stream; /* NULL once the request is gone */
} stream_handle_t;

struct st_mt_stream_t {
    h2o_generator_t generator;
    mt_call_t *call;
    stream_handle_t *handle;
    int handle_ref; /* keeps `handle` alive until the request is gone, whatever Lua drops */
    mt_buf_t pending;  /* sent by the producer, not yet handed to h2o */
    mt_buf_t in_flight; /* handed to h2o, until proceed */
    int writing;  /* a write is in flight */
    int in_send;  /* inside h2o_send: a proceed now only records itself */
    int closed;   /* the client is gone */
    int done;     /* the producer finished; its last data goes out with FINAL */
    int failed;   /* ... by an error: the stream ends abruptly */
    int waiting;  /* the producer waits in send for `pending` to drain */
    int sse;
    uint64_t keepalive_ms; /* SSE: a comment after this long without a write (0: none) */
    uint64_t last_write_ms;
    mt_timer_t keepalive;
};

static void after_write(mt_stream_t *s);

/* Hands `pending` to h2o. After FINAL or ERROR the request may be gone: nothing touches s then. */
static void flush(mt_stream_t *s)
{
    h2o_send_state_t state = !s->done ? H2O_SEND_STATE_IN_PROGRESS : s->failed ? H2O_SEND_STATE_ERROR
                                                                                  : H2O_SEND_STATE_FINAL;
    if (s->pending.len == 0 && state == H2O_SEND_STATE_IN_PROGRESS)
        return;
    mt_buf_t swap = s->in_flight;
    s->in_flight = s->pending;
    s->pending = swap;
    s->pending.len = 0;
    s->writing = 1;
    s->last_write_ms = mt_now_ms();
    h2o_iovec_t buf = h2o_iovec_init(s->in_flight.data, s->in_flight.len);
    if (state != H2O_SEND_STATE_IN_PROGRESS) {
        mt_timer_stop(&s->keepalive);
        h2o_send(s->call->req, &buf, buf.len != 0, state);
        return;
    }
    s->in_send = 1;
    h2o_send(s->call->req, &buf, buf.len != 0, state);
    s->in_send = 0;
    if (!s->writing) /* h2o took it at once */
        after_write(s);
}

/* The last write is done: send what collected meanwhile, or wake a producer waiting for room. */
static void after_write(mt_stream_t *s)
{
    if (s->closed)
        return;
    if (s->pending.len != 0 || s->done) {
        flush(s);
        return; /* the producer waits until this write is done too */
    }
    if (s->waiting) {
        s->waiting = 0;
        lua_pushboolean(s->call->co, 1);
        mt_call_resume(s->call, 1);
    }
}

static void on_proceed(h2o_generator_t *generator, h2o_req_t *req)
{
    mt_stream_t *s = H2O_STRUCT_FROM_MEMBER(mt_stream_t, generator, generator);
    (void)req;
    s->writing = 0;
    /* a held-open stream mostly waits: it keeps no buffer while nothing is queued */
    mt_buf_free(&s->in_flight);
    if (s->pending.len == 0)
        mt_buf_free(&s->pending);
    if (!s->in_send)
        after_write(s);
}

/*
 * The client is gone, and the request with it once this returns: the
 * producer runs now until it finishes or waits again, so that it can see
 * send return false and clean up. A send it waits in returns false; any
 * other wait (moontide.sleep) ends at once.
 */
static void on_stop(h2o_generator_t *generator, h2o_req_t *req)
{
    mt_stream_t *s = H2O_STRUCT_FROM_MEMBER(mt_stream_t, generator, generator);
    mt_call_t *call = s->call;
    (void)req;
    s->closed = 1;
    mt_timer_stop(&s->keepalive);
    if (call->cancel == NULL)
        return; /* running (stop from inside send), or finished */
    int waited_in_send = s->waiting;
    call->cancel(call);
    if (waited_in_send)
        lua_pushboolean(call->co, 0);
    mt_call_resume(call, waited_in_send);
}

static void cancel_send_wait(mt_call_t *call)
{
    call->stream->waiting = 0;
}

static void on_keepalive(mt_timer_t *timer)
{
    mt_stream_t *s = H2O_STRUCT_FROM_MEMBER(mt_stream_t, keepalive, timer);
    uint64_t idle = mt_now_ms() - s->last_write_ms;
    if (idle >= s->keepalive_ms && !s->writing && s->pending.len == 0) {
        /* a comment line: clients ignore it, and a write is how HTTP/1 finds out the client left */
        mt_buf_append(&s->pending, ":\n\n", 3);
        flush(s);
        idle = 0;
    }
    if (!s->closed && !s->done)
        mt_timer_start(&s->keepalive, idle < s->keepalive_ms ? s->keepalive_ms - idle : s->keepalive_ms, on_keepalive);
}

/* send and emit are Lua closures over one C function each, which gets the handle first (see BINDER). */
static mt_stream_t *check_stream(lua_State *L)
{
    stream_handle_t *handle = lua_touserdata(L, 1);
    return handle->stream;
}

/*
 * The tail of send and emit: `pending` holds the new data. Returns true at
 * once while the buffer has room, else suspends the producer until it has.
 */
static int queued(lua_State *L, mt_stream_t *s)
{
    mt_call_t *call = mt_call_current(L);
    int producer = call != NULL && call == s->call;
    if (!s->writing && (!producer || s->pending.len >= FLUSH_AT))
        flush(s);
    if (s->pending.len < HIGH_WATER || !producer) { /* from elsewhere than the producer: never waits */
        lua_pushboolean(L, 1);
        return 1;
    }
    s->waiting = 1;
    call->cancel = cancel_send_wait;
    return lua_yield(L, 0);
}

/* send(chunk) -> true, or false once the client is gone */
static int stream_send(lua_State *L)
{
    size_t len;
    const char *chunk = luaL_checklstring(L, 2, &len);
    mt_stream_t *s = check_stream(L);
    if (s == NULL || s->closed || s->done) {
        lua_pushboolean(L, 0);
        return 1;
    }
    if (mt_buf_append(&s->pending, chunk, len) != 0)
        return luaL_error(L, "send: out of memory");
    return queued(L, s);
}

/* Appends one SSE field whose value must be a single line; returns -1 (nothing written) when it is not one. */
static int sse_line_field(lua_State *L, mt_buf_t *out, const char *name, int index)
{
    size_t len;
    const char *value = lua_type(L, index) == LUA_TSTRING || lua_type(L, index) == LUA_TNUMBER
                            ? lua_tolstring(L, index, &len)
                            : NULL;
    if (value == NULL || memchr(value, '\r', len) != NULL || memchr(value, '\n', len) != NULL ||
        memchr(value, '\0', len) != NULL)
        return -1;
    mt_buf_append(out, name, strlen(name));
    mt_buf_append(out, ": ", 2);
    mt_buf_append(out, value, len);
    mt_buf_append(out, "\n", 1);
    return 0;
}

/* Appends `text` as one `prefix` line per line of it (CRLF, CR and LF all end a line). */
static void sse_lines(mt_buf_t *out, const char *prefix, size_t prefix_len, const char *text, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && text[i] != '\r' && text[i] != '\n')
            continue;
        mt_buf_append(out, prefix, prefix_len);
        mt_buf_append(out, text + start, i - start);
        mt_buf_append(out, "\n", 1);
        if (i + 1 < len && text[i] == '\r' && text[i + 1] == '\n')
            i++;
        start = i + 1;
    }
}

/* The fields of an event, in the order they are written. */
enum { COMMENT, EVENT, ID, RETRY, DATA, NUM_FIELDS };
static const char *const event_fields[] = {"comment", "event", "id", "retry", "data"};

static int event_field(const char *key)
{
    static const char firsts[] = "ceird";
    const char *at = key[0] != '\0' ? strchr(firsts, key[0]) : NULL;
    return at != NULL && strcmp(key, event_fields[at - firsts]) == 0 ? (int)(at - firsts) : -1;
}

/*
 * emit{event=, data=, id=, retry=, comment=} or emit(data) -> true, or false
 * once the client is gone. The event is written straight into the stream's
 * buffer; a failure part-way drops what it wrote.
 */
static int stream_emit(lua_State *L)
{
    mt_stream_t *s = check_stream(L);
    if (s == NULL || s->closed || s->done) {
        lua_pushboolean(L, 0);
        return 1;
    }
    int at[NUM_FIELDS] = {0}; /* where each field's value is on the stack; 0: absent */
    lua_settop(L, 2);
    if (lua_type(L, 2) != LUA_TTABLE) { /* emit(data) */
        at[DATA] = 2;
    } else {
        lua_pushnil(L);
        while (lua_next(L, 2) != 0) {
            const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
            int field = event_field(key);
            if (field < 0)
                return luaL_error(L, "emit: unknown field '%s' (comment, event, id, retry, data)", key);
            at[field] = lua_gettop(L); /* the value stays; the key goes on top again for lua_next */
            lua_pushvalue(L, -2);
        }
    }
    mt_buf_t *out = &s->pending;
    size_t mark = out->len;
    if (at[COMMENT] != 0) {
        size_t len;
        const char *comment = lua_type(L, at[COMMENT]) == LUA_TSTRING ? lua_tolstring(L, at[COMMENT], &len) : NULL;
        if (comment == NULL)
            return luaL_error(L, "emit: comment must be a string");
        sse_lines(out, ": ", 2, comment, len);
    }
    for (int field = EVENT; field <= RETRY; field++) {
        if (at[field] == 0)
            continue;
        lua_Number n = lua_tonumber(L, at[field]);
        int bad_retry = field == RETRY && (lua_type(L, at[field]) != LUA_TNUMBER || n < 0 || n != (lua_Number)(long long)n);
        if (bad_retry || sse_line_field(L, out, event_fields[field], at[field]) != 0) {
            out->len = mark;
            return luaL_error(L, field == RETRY ? "emit: retry must be a whole number of milliseconds"
                                                : "emit: %s must be a string or a number without CR, LF or NUL",
                              event_fields[field]);
        }
    }
    int data_type = at[DATA] != 0 ? lua_type(L, at[DATA]) : LUA_TNIL;
    if (data_type == LUA_TSTRING) {
        size_t len;
        const char *data = lua_tolstring(L, at[DATA], &len);
        sse_lines(out, "data: ", 6, data, len);
    } else if (data_type != LUA_TNIL) { /* a table, number or boolean: JSON, which holds no line break */
        const char *err;
        mt_buf_append(out, "data: ", 6);
        if (mt_json_encode(L, at[DATA], out, &err) != 0) {
            out->len = mark;
            return luaL_error(L, "emit: data cannot be encoded as JSON: %s", err);
        }
        mt_buf_append(out, "\n", 1);
    }
    if (mt_buf_append(out, "\n", 1) != 0) {
        out->len = mark;
        return luaL_error(L, "emit: out of memory");
    }
    return queued(L, s);
}

/* stream(fn[, opts]) and sse(fn[, opts]): the description a handler returns */
static int make_stream(lua_State *L, int sse)
{
    const char *fname = sse ? "moontide.sse" : "moontide.stream";
    luaL_checktype(L, 1, LUA_TFUNCTION);
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    lua_createtable(L, 0, 6);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "fn");
    lua_pushboolean(L, sse);
    lua_setfield(L, -2, "sse");
    if (lua_istable(L, 2)) {
        static const char *const keys[] = {"status", "headers", "content_type", "keepalive", NULL};
        for (const char *const *k = keys; *k != NULL; k++) {
            lua_getfield(L, 2, *k);
            lua_setfield(L, -2, *k);
        }
        lua_getfield(L, -1, "keepalive");
        if (!lua_isnil(L, -1) && !(lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) >= 0))
            return luaL_error(L, "%s: keepalive must be a number of seconds >= 0", fname);
        lua_pop(L, 1);
        lua_getfield(L, -1, "content_type");
        if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
            return luaL_error(L, "%s: content_type must be a string", fname);
        lua_pop(L, 1);
    }
    lua_getfield(L, LUA_REGISTRYINDEX, MT_STREAM_MT);
    lua_setmetatable(L, -2);
    return 1;
}

static int core_stream(lua_State *L)
{
    return make_stream(L, 0);
}

static int core_sse(lua_State *L)
{
    return make_stream(L, 1);
}

/*
 * send and emit are made per stream, so each is a new function. LuaJIT
 * compiles a call to a C closure for that closure's identity: a producer's
 * loop compiled for one stream's emit failed its guard on every later
 * stream and made the JIT trace again, request after request. Lua closures
 * of one prototype are compiled for the prototype once there are a few of
 * them, and the C functions they call are the same for every stream.
 */
static const char BINDER[] = "local emit, send = ...\n"
                             "return function(handle, sse)\n"
                             "  if sse then return function(event) return emit(handle, event) end end\n"
                             "  return function(chunk) return send(handle, chunk) end\n"
                             "end\n";
#define BINDER_KEY "moontide.stream.bind"

void mt_stream_register(lua_State *L)
{
    if (luaL_loadbuffer(L, BINDER, sizeof(BINDER) - 1, "=moontide.stream") != 0)
        lua_error(L);
    lua_pushcfunction(L, stream_emit);
    lua_pushcfunction(L, stream_send);
    lua_call(L, 2, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, BINDER_KEY);

    lua_newtable(L);
    lua_pushliteral(L, MT_STREAM_MT);
    lua_setfield(L, -2, "__name");
    lua_setfield(L, LUA_REGISTRYINDEX, MT_STREAM_MT);
    lua_pushcfunction(L, core_stream);
    lua_setfield(L, -2, "stream");
    lua_pushcfunction(L, core_sse);
    lua_setfield(L, -2, "sse");
}

int mt_stream_start(mt_call_t *call, lua_State *co, int index, char *err, size_t errsize)
{
    h2o_req_t *req = call->req;
    lua_getfield(co, index, "fn");
    lua_getfield(co, index, "status");
    lua_getfield(co, index, "headers");
    lua_getfield(co, index, "content_type");
    lua_getfield(co, index, "keepalive");
    lua_getfield(co, index, "sse");
    int top = lua_gettop(co), sse = lua_toboolean(co, top);
    int status = 200;
    if (!lua_isnil(co, top - 4)) {
        lua_Number n = lua_tonumber(co, top - 4);
        if (lua_type(co, top - 4) != LUA_TNUMBER || n != (int)n || n < 200 || n > 599 || n == 204 || n == 304) {
            snprintf(err, errsize, "a stream's status must be an integer from 200 to 599 with a body");
            return -1;
        }
        status = (int)n;
    }
    size_t headers_before = req->res.headers.size;
    int has_content_type = 0;
    if (mt_response_collect_headers(req, co, top - 3, &req->res.headers, &has_content_type, err, errsize) != 0) {
        req->res.headers.size = headers_before;
        return -1;
    }
    mt_stream_t *s = h2o_mem_alloc_pool(&req->pool, sizeof(*s));
    *s = (mt_stream_t){.generator = {on_proceed, on_stop}, .call = call, .sse = sse, .last_write_ms = mt_now_ms()};
    double keepalive = lua_isnil(co, top - 1) ? (sse ? 15 : 0) : lua_tonumber(co, top - 1);
    s->keepalive_ms = (uint64_t)(keepalive * 1000);
    if (!has_content_type) {
        const char *type = lua_isstring(co, top - 2) ? lua_tostring(co, top - 2)
                           : sse                     ? "text/event-stream; charset=utf-8"
                                                     : "text/plain; charset=utf-8";
        h2o_iovec_t value = h2o_strdup(&req->pool, type, strlen(type));
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, value.base, value.len);
    }
    if (sse)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-cache"));
    req->res.status = status;
    req->res.reason = mt_status_reason(status);
    call->stream = s;
    h2o_start_response(req, &s->generator);
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))) {
        /* h2o leaves HEAD to the generator: what the producer sent would go out raw, with no framing */
        s->done = 1;
        flush(s);
        return 0;
    }

    mt_held_input_compact(call); /* a stream may be held open for long: its HTTP/1.1 request buffer goes */

    /* the producer: fn(send) or fn(emit, last_event_id), in the same coroutine */
    lua_pushvalue(co, top - 5);
    lua_getfield(co, LUA_REGISTRYINDEX, BINDER_KEY);
    s->handle = lua_newuserdata(co, sizeof(*s->handle));
    s->handle->stream = s;
    lua_pushvalue(co, -1);
    s->handle_ref = luaL_ref(co, LUA_REGISTRYINDEX);
    lua_pushboolean(co, sse);
    lua_call(co, 2, 1);
    int nargs = 1;
    if (sse) {
        ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("last-event-id"), -1);
        if (i >= 0)
            lua_pushlstring(co, req->headers.entries[i].value.base, req->headers.entries[i].value.len);
        else
            lua_pushnil(co);
        nargs = 2;
    }
    int first = lua_gettop(co) - nargs; /* fn: move it and its arguments to the bottom of the stack */
    for (int i = 0; i <= nargs; i++) {
        lua_pushvalue(co, first + i);
        lua_replace(co, 1 + i);
    }
    lua_settop(co, nargs + 1);
    if (s->keepalive_ms != 0)
        mt_timer_start(&s->keepalive, s->keepalive_ms, on_keepalive);
    return nargs;
}

void mt_stream_flush(mt_call_t *call)
{
    mt_stream_t *s = call->stream;
    if (!s->writing && !s->closed && !s->done)
        flush(s);
}

void mt_stream_finished(mt_call_t *call, int status)
{
    mt_stream_t *s = call->stream;
    if (status != 0) {
        lua_State *co = call->co;
        const char *msg = lua_tostring(co, -1);
        luaL_traceback(call->app->L, co, msg != NULL ? msg : "(error object is not a string)", 0);
        mt_log_error("stream producer for %s %s (%s) [request %.*s] failed; the stream is cut: %s",
                     mt_method_name(call->route->method), call->route->pattern, call->route->where,
                     MT_CALL_ID_ARGS(call), lua_tostring(call->app->L, -1));
        lua_pop(call->app->L, 1);
    }
    if (s->closed || s->done)
        return;
    s->done = 1;
    s->failed = status != 0;
    mt_timer_stop(&s->keepalive);
    if (!s->writing)
        flush(s); /* FINAL (or ERROR) with whatever is still pending */
}

void mt_stream_dispose(mt_call_t *call)
{
    mt_stream_t *s = call->stream;
    if (s == NULL)
        return;
    mt_timer_stop(&s->keepalive);
    if (s->handle != NULL) { /* none when the producer never ran (HEAD): no reference either */
        s->handle->stream = NULL;
        luaL_unref(call->app->L, LUA_REGISTRYINDEX, s->handle_ref);
    }
    mt_buf_free(&s->pending);
    mt_buf_free(&s->in_flight);
    call->stream = NULL;
}

/*
 * Responses from Lua values. Bodies are encoded into a scratch buffer that
 * the worker reuses, then copied once into the request's pool. Headers set by
 * a handler are checked (token names, no CR/LF/NUL in values) before any of
 * them is added, which is what keeps a bad header from producing a split or
 * half-built response.
 */
#include <ctype.h>
#include <lauxlib.h>
#include <stdio.h>
#include "json.h"
#include "lua_api.h"
#include "response.h"
#include "serialize.h"

const char *mt_status_reason(int status)
{
    if (status == 200) /* most responses: no jump through the switch's table */
        return "OK";
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default:
        return status < 200 ? "Informational" : status < 300 ? "OK" : status < 400 ? "Redirection"
                            : status < 500 ? "Client Error" : "Server Error";
    }
}

static const char content_type_json[] = "application/json";
static const char content_type_text[] = "text/plain; charset=utf-8";

/* Starts the response and sends `len` bytes (copied into the pool). */
void mt_response_send(h2o_req_t *req, int status, const char *content_type, const char *body, size_t len)
{
    req->res.status = status;
    req->res.reason = mt_status_reason(status);
    req->res.content_length = len;
    if (content_type != NULL)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type, strlen(content_type));
    h2o_send_inline(req, body, len);
}

void mt_response_send_detail(h2o_req_t *req, int status, const char *detail)
{
    mt_buf_t buf = {0};
    if (mt_buf_append(&buf, "{\"detail\":", 10) == 0 && mt_json_encode_string(&buf, detail, strlen(detail)) == 0 &&
        mt_buf_append(&buf, "}", 1) == 0)
        mt_response_send(req, status, content_type_json, buf.data, buf.len);
    else
        mt_response_send(req, 500, content_type_text, "out of memory", 13);
    mt_buf_free(&buf);
}

static int is_token_char(unsigned char c)
{
    return isalnum(c) || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/*
 * Headers the server computes itself (h2o the framing, request_id.c the
 * request's ID); a handler's value would duplicate or contradict them.
 */
static int is_framing_header(const char *name, size_t len)
{
    return (len == 14 && memcmp(name, "content-length", 14) == 0) ||
           (len == 17 && memcmp(name, "transfer-encoding", 17) == 0) || (len == 10 && memcmp(name, "connection", 10) == 0) ||
           (len == 12 && memcmp(name, "x-request-id", 12) == 0);
}

/* Checks one value (on top of L) and appends it to the pending header list. */
static int add_header_value(h2o_req_t *req, h2o_headers_t *out, lua_State *L, h2o_iovec_t name, char *err, size_t errsize)
{
    size_t len;
    if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER) {
        snprintf(err, errsize, "header '%s' must be a string, a number or a list of them, got %s", name.base,
                 luaL_typename(L, -1));
        return -1;
    }
    const char *value = lua_tolstring(L, -1, &len);
    for (size_t i = 0; i != len; i++) {
        if (value[i] == '\r' || value[i] == '\n' || value[i] == '\0') {
            snprintf(err, errsize, "header '%s' has a value with CR, LF or NUL in it", name.base);
            return -1;
        }
    }
    h2o_iovec_t copy = h2o_strdup(&req->pool, value, len);
    h2o_add_header_by_str(&req->pool, out, name.base, name.len, 1, NULL, copy.base, copy.len);
    return 0;
}

int mt_response_collect_headers(h2o_req_t *req, lua_State *L, int index, h2o_headers_t *out, int *has_content_type,
                                char *err, size_t errsize)
{
    if (lua_isnoneornil(L, index))
        return 0;
    if (!lua_istable(L, index)) {
        snprintf(err, errsize, "headers must be a table, got %s", luaL_typename(L, index));
        return -1;
    }
    lua_pushnil(L);
    while (lua_next(L, index) != 0) {
        size_t len;
        if (lua_type(L, -2) != LUA_TSTRING) {
            snprintf(err, errsize, "header names must be strings, got %s", luaL_typename(L, -2));
            return -1;
        }
        const char *raw = lua_tolstring(L, -2, &len);
        h2o_iovec_t name = h2o_strdup(&req->pool, raw, len);
        for (size_t i = 0; i != len; i++) {
            if (!is_token_char((unsigned char)name.base[i])) {
                snprintf(err, errsize, "'%s' is not a valid header name", name.base);
                return -1;
            }
            name.base[i] = (char)tolower((unsigned char)name.base[i]);
        }
        if (len == 0) {
            snprintf(err, errsize, "a header name is empty");
            return -1;
        }
        if (is_framing_header(name.base, len)) {
            lua_pop(L, 1);
            continue;
        }
        if (len == 12 && memcmp(name.base, "content-type", 12) == 0)
            *has_content_type = 1;
        if (lua_istable(L, -1)) {
            size_t n = lua_objlen(L, -1);
            for (size_t i = 1; i <= n; i++) {
                lua_rawgeti(L, -1, (int)i);
                if (add_header_value(req, out, L, name, err, errsize) != 0)
                    return -1;
                lua_pop(L, 1);
            }
        } else if (add_header_value(req, out, L, name, err, errsize) != 0) {
            return -1;
        }
        lua_pop(L, 1);
    }
    return 0;
}

typedef enum {
    BODY_RETURNED, /* returned by a handler: nil is JSON null */
    BODY_RAW,      /* from moontide.response{}: nil is an empty body */
    BODY_DETAIL,   /* from moontide.raise: sent as {"detail": value} */
} body_kind_t;

/*
 * The shared tail: the body value at `body`, the status, the headers table at
 * `headers` (0 for none).
 */
static int send_lua(mt_call_t *call, lua_State *L, int body, int status, int headers, body_kind_t kind, mt_buf_t *scratch,
                    char *err, size_t errsize)
{
    h2o_req_t *req = call->req;
    size_t headers_before = req->res.headers.size; /* rolled back to on failure */
    int has_content_type = 0;
    const char *content_type = NULL, *json_err = NULL;
    if (headers != 0 && mt_response_collect_headers(req, L, headers, &req->res.headers, &has_content_type, err, errsize) != 0)
        goto fail;

    scratch->len = 0;
    int type = lua_type(L, body);
    int bodiless = status == 204 || status == 304 || status < 200;
    if (kind == BODY_DETAIL) {
        if (mt_buf_append(scratch, "{\"detail\":", 10) != 0 || mt_json_encode(L, body, scratch, &json_err) != 0 ||
            mt_buf_append(scratch, "}", 1) != 0)
            goto json_error;
        content_type = content_type_json;
    } else if (bodiless || (type == LUA_TNIL && kind == BODY_RAW)) {
        /* no body */
    } else if (type == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, body, &len);
        if (mt_buf_append(scratch, s, len) != 0)
            goto json_error;
        content_type = content_type_text;
    } else if (type == LUA_TFUNCTION || type == LUA_TTHREAD || type == LUA_TUSERDATA) {
        snprintf(err, errsize, "cannot send a %s as a response body", lua_typename(L, type));
        goto fail;
    } else if (kind == BODY_RETURNED && call->route->doc != NULL && call->route->doc->returns != NULL) {
        /* the response model: validated and written by the ---@return type */
        char where[384], name[128];
        if (mt_serialize(L, body, call->route->doc->returns, scratch, where, sizeof(where)) != 0) {
            snprintf(err, errsize, "the response does not fit its ---@return %s: %s",
                     mt_type_describe(call->route->doc->returns, name, sizeof(name)), where);
            goto fail;
        }
        content_type = content_type_json;
    } else {
        if (mt_json_encode(L, body, scratch, &json_err) != 0)
            goto json_error;
        content_type = content_type_json;
    }

    mt_response_send(req, status, has_content_type ? NULL : content_type, scratch->data, scratch->len);
    return 0;

json_error:
    snprintf(err, errsize, "the response body cannot be encoded: %s", json_err != NULL ? json_err : "out of memory");
fail:
    req->res.headers.size = headers_before;
    return -1;
}

static int read_status(lua_State *L, int index, int fallback, char *err, size_t errsize)
{
    if (lua_isnoneornil(L, index))
        return fallback;
    lua_Number n = lua_tonumber(L, index);
    if (lua_type(L, index) != LUA_TNUMBER || n != (int)n || n < 100 || n > 599) {
        snprintf(err, errsize, "the status must be an integer from 100 to 599, got %s", luaL_typename(L, index));
        return -1;
    }
    return (int)n;
}

/* Sends a moontide.response{} or moontide.raise table: its body (or detail), status and headers fields. */
static int send_fields(mt_call_t *call, lua_State *co, int index, body_kind_t kind, mt_buf_t *scratch, char *err,
                       size_t errsize)
{
    lua_getfield(co, index, kind == BODY_DETAIL ? "detail" : "body");
    lua_getfield(co, index, "status");
    lua_getfield(co, index, "headers");
    int top = lua_gettop(co);
    int status = read_status(co, top - 1, kind == BODY_DETAIL ? 500 : 200, err, errsize);
    return status < 0 ? -1 : send_lua(call, co, top - 2, status, top, kind, scratch, err, errsize);
}

int mt_response_send_results(mt_call_t *call, lua_State *co, int nresults, int plain, mt_buf_t *scratch, char *err,
                             size_t errsize)
{
    if (nresults == 0) {
        lua_pushnil(co);
        nresults = 1;
    }
    int base = lua_gettop(co) - nresults + 1;
    if (!plain && mt_lua_has_mt(co, base, MT_RESPONSE_MT))
        return send_fields(call, co, base, BODY_RAW, scratch, err, errsize);
    const mt_handler_doc_t *doc = call->route->doc;
    int success = doc != NULL && doc->status != 0 ? doc->status : 200; /* ---@status */
    int status = nresults >= 2 ? read_status(co, base + 1, success, err, errsize) : success;
    if (status < 0)
        return -1;
    return send_lua(call, co, base, status, nresults >= 3 ? base + 2 : 0, BODY_RETURNED, scratch, err, errsize);
}

int mt_response_send_http_error(mt_call_t *call, lua_State *co, int index, mt_buf_t *scratch, char *err, size_t errsize)
{
    return send_fields(call, co, index, BODY_DETAIL, scratch, err, errsize);
}

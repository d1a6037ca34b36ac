/*
 * CORS, the way Starlette's CORSMiddleware does it, in C. app:cors{...}
 * leaves its options in the app table; mt_cors_configure turns them into
 * ready header values once per load. A preflight is answered before
 * routing, 200 "OK" or 400 "Disallowed CORS origin, method, headers" (each
 * failing part named), with the preflight headers either way; every other
 * response to a request carrying Origin gets the simple headers in the
 * response filter (filters.c), so errors, 404s, docs, static files and
 * streams get them too.
 *
 * One difference from Starlette: with allow_origins = {"*"} and
 * allow_credentials, the request's origin is echoed (with Vary: Origin) on
 * every response, not only on those to requests carrying a Cookie, since
 * browsers refuse "*" for any credentialed request (an Authorization header
 * too).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <lauxlib.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "cors.h"

struct st_mt_cors_t {
    char **origins;
    size_t num_origins;
    char **methods; /* compared case-sensitively, as Starlette does */
    size_t num_methods;
    char **headers; /* lower-case; the CORS-safelisted ones included */
    size_t num_headers;
    int allow_all_origins, allow_all_headers, allow_credentials;
    int explicit_origin; /* echo the origin rather than "*": credentials allowed or not every origin is */
    pcre2_code *origin_regex;
    pcre2_match_data *match;
    char *methods_value, *headers_value, *expose_value, *max_age_value;
};

static const char *const all_methods[] = {"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"};
static const char *const safelisted_headers[] = {"accept", "accept-language", "content-language", "content-type"};

static void free_list(char **list, size_t n)
{
    for (size_t i = 0; i != n; i++)
        free(list[i]);
    free(list);
}

void mt_cors_free(mt_cors_t *cors)
{
    if (cors == NULL)
        return;
    free_list(cors->origins, cors->num_origins);
    free_list(cors->methods, cors->num_methods);
    free_list(cors->headers, cors->num_headers);
    pcre2_match_data_free(cors->match);
    pcre2_code_free(cors->origin_regex);
    free(cors->methods_value);
    free(cors->headers_value);
    free(cors->expose_value);
    free(cors->max_age_value);
    free(cors);
}

static int in_list(char **list, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i != n; i++)
        if (strlen(list[i]) == len && memcmp(list[i], s, len) == 0)
            return 1;
    return 0;
}

static void add_unique(char ***list, size_t *n, const char *s)
{
    if (in_list(*list, *n, s, strlen(s)))
        return;
    char **grown = realloc(*list, (*n + 1) * sizeof(char *));
    if (grown == NULL)
        return;
    *list = grown;
    if ((grown[*n] = strdup(s)) != NULL)
        (*n)++;
}

/* The strings of the list in field `name` of the table at `t` (the Lua side checked their types). */
static void read_list(lua_State *L, int t, const char *name, char ***list, size_t *n, int lower, int *has_star)
{
    lua_getfield(L, t, name);
    size_t len = lua_istable(L, -1) ? lua_objlen(L, -1) : 0;
    for (size_t i = 1; i <= len; i++) {
        lua_rawgeti(L, -1, (int)i);
        char *s = strdup(lua_tostring(L, -1));
        for (char *p = s; lower && s != NULL && *p != '\0'; p++)
            *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        if (s != NULL && strcmp(s, "*") == 0 && has_star != NULL)
            *has_star = 1;
        else if (s != NULL)
            add_unique(list, n, s);
        free(s);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join(char **list, size_t n)
{
    mt_buf_t out = {0};
    for (size_t i = 0; i != n; i++) {
        if (i != 0)
            mt_buf_append(&out, ", ", 2);
        mt_buf_append(&out, list[i], strlen(list[i]));
    }
    mt_buf_append(&out, "", 1);
    return out.data;
}

void mt_cors_configure(mt_app_t *app, int app_index)
{
    lua_State *L = app->L;
    lua_getfield(L, app_index, "_cors");
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    int t = lua_gettop(L);
    mt_cors_t *cors = calloc(1, sizeof(*cors));
    if (cors == NULL) {
        mt_schema_problem_line(app->schema, "out of memory");
        lua_pop(L, 1);
        return;
    }
    lua_getfield(L, t, "where");
    const char *where = lua_tostring(L, -1);
    lua_pop(L, 1); /* the string stays reachable from the table while we use it */

    read_list(L, t, "allow_origins", &cors->origins, &cors->num_origins, 0, &cors->allow_all_origins);
    int all_methods_wanted = 0;
    lua_getfield(L, t, "allow_methods");
    int methods_given = !lua_isnil(L, -1);
    lua_pop(L, 1);
    read_list(L, t, "allow_methods", &cors->methods, &cors->num_methods, 0, &all_methods_wanted);
    if (all_methods_wanted) {
        free_list(cors->methods, cors->num_methods);
        cors->methods = NULL;
        cors->num_methods = 0;
        for (size_t i = 0; i != sizeof(all_methods) / sizeof(all_methods[0]); i++)
            add_unique(&cors->methods, &cors->num_methods, all_methods[i]);
    } else if (!methods_given) {
        add_unique(&cors->methods, &cors->num_methods, "GET"); /* Starlette's default */
    }
    read_list(L, t, "allow_headers", &cors->headers, &cors->num_headers, 1, &cors->allow_all_headers);
    for (size_t i = 0; i != sizeof(safelisted_headers) / sizeof(safelisted_headers[0]); i++)
        add_unique(&cors->headers, &cors->num_headers, safelisted_headers[i]);
    qsort(cors->headers, cors->num_headers, sizeof(char *), cmp_str);
    char **expose = NULL;
    size_t num_expose = 0;
    read_list(L, t, "expose_headers", &expose, &num_expose, 0, NULL);
    if (num_expose != 0)
        cors->expose_value = join(expose, num_expose);
    free_list(expose, num_expose);

    lua_getfield(L, t, "allow_credentials");
    cors->allow_credentials = lua_toboolean(L, -1);
    lua_getfield(L, t, "max_age");
    char max_age[32];
    snprintf(max_age, sizeof(max_age), "%.0f", lua_isnil(L, -1) ? 600.0 : lua_tonumber(L, -1));
    lua_pop(L, 2);
    cors->max_age_value = strdup(max_age);
    cors->methods_value = join(cors->methods, cors->num_methods);
    cors->headers_value = join(cors->headers, cors->num_headers);
    cors->explicit_origin = !cors->allow_all_origins || cors->allow_credentials;

    lua_getfield(L, t, "allow_origin_regex");
    if (lua_isstring(L, -1)) {
        int code;
        PCRE2_SIZE offset;
        /* Starlette uses re.fullmatch: the whole origin must match */
        cors->origin_regex = pcre2_compile((PCRE2_SPTR)lua_tostring(L, -1), PCRE2_ZERO_TERMINATED,
                                           PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_UTF, &code, &offset, NULL);
        if (cors->origin_regex == NULL) {
            PCRE2_UCHAR message[256];
            pcre2_get_error_message(code, message, sizeof(message));
            mt_schema_problem_line(app->schema, "%s: cors: allow_origin_regex does not compile at offset %zu: %s",
                                   where != NULL ? where : app->path, (size_t)offset, (const char *)message);
        } else {
            pcre2_jit_compile(cors->origin_regex, PCRE2_JIT_COMPLETE);
            cors->match = pcre2_match_data_create_from_pattern(cors->origin_regex, NULL);
        }
    }
    lua_pop(L, 2);
    if (cors->methods_value == NULL || cors->headers_value == NULL || cors->max_age_value == NULL)
        mt_schema_problem_line(app->schema, "out of memory");
    app->cors = cors;
}

static int origin_allowed(mt_cors_t *cors, h2o_iovec_t origin)
{
    if (cors->allow_all_origins)
        return 1;
    if (cors->origin_regex != NULL &&
        pcre2_match(cors->origin_regex, (PCRE2_SPTR)origin.base, origin.len, 0, 0, cors->match, NULL) >= 0)
        return 1;
    return in_list(cors->origins, cors->num_origins, origin.base, origin.len);
}

static void add(h2o_req_t *req, const char *name, size_t name_len, const char *value, size_t len)
{
    h2o_add_header_by_str(&req->pool, &req->res.headers, name, name_len, 0, NULL, value, len);
}

#define ADD(req, lit, value) add((req), H2O_STRLIT(lit), (value), strlen(value))

/* Every requested header (comma-separated, any case) is allowed. */
static int headers_allowed(mt_cors_t *cors, h2o_iovec_t requested)
{
    const char *p = requested.base, *end = p + requested.len;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma != NULL ? comma : end, *s = p, *e = stop;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        char name[256];
        size_t len = (size_t)(e - s);
        if (len != 0) {
            if (len >= sizeof(name))
                return 0;
            for (size_t i = 0; i != len; i++)
                name[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
            if (!in_list(cors->headers, cors->num_headers, name, len))
                return 0;
        }
        p = stop + 1;
    }
    return 1;
}

int mt_cors_preflight(h2o_req_t *req, mt_cors_t *cors)
{
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("OPTIONS")))
        return 0;
    ssize_t o = h2o_find_header_by_str(&req->headers, H2O_STRLIT("origin"), -1);
    ssize_t m = h2o_find_header_by_str(&req->headers, H2O_STRLIT("access-control-request-method"), -1);
    if (o < 0 || m < 0)
        return 0;
    h2o_iovec_t origin = req->headers.entries[o].value, method = req->headers.entries[m].value;
    ssize_t h = h2o_find_header_by_str(&req->headers, H2O_STRLIT("access-control-request-headers"), -1);

    const char *failures[3];
    size_t num_failures = 0;
    if (!origin_allowed(cors, origin))
        failures[num_failures++] = "origin";
    else if (cors->explicit_origin)
        add(req, H2O_STRLIT("access-control-allow-origin"), origin.base, origin.len);
    if (!cors->explicit_origin)
        ADD(req, "access-control-allow-origin", "*");
    else
        h2o_set_header_token(&req->pool, &req->res.headers, H2O_TOKEN_VARY, H2O_STRLIT("Origin"));
    if (!in_list(cors->methods, cors->num_methods, method.base, method.len))
        failures[num_failures++] = "method";
    ADD(req, "access-control-allow-methods", cors->methods_value);
    ADD(req, "access-control-max-age", cors->max_age_value);
    if (cors->allow_all_headers) {
        if (h >= 0) /* everything allowed: the requested headers are mirrored */
            add(req, H2O_STRLIT("access-control-allow-headers"), req->headers.entries[h].value.base,
                req->headers.entries[h].value.len);
    } else {
        ADD(req, "access-control-allow-headers", cors->headers_value);
        if (h >= 0 && !headers_allowed(cors, req->headers.entries[h].value))
            failures[num_failures++] = "headers";
    }
    if (cors->allow_credentials)
        ADD(req, "access-control-allow-credentials", "true");

    char body[64] = "OK";
    if (num_failures != 0) {
        strcpy(body, "Disallowed CORS ");
        for (size_t i = 0; i != num_failures; i++) {
            if (i != 0)
                strcat(body, ", ");
            strcat(body, failures[i]);
        }
    }
    req->res.status = num_failures != 0 ? 400 : 200;
    req->res.reason = num_failures != 0 ? "Bad Request" : "OK";
    req->res.content_length = strlen(body);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("text/plain; charset=utf-8"));
    h2o_send_inline(req, body, strlen(body));
    return 1;
}

void mt_cors_add_headers(h2o_req_t *req, mt_cors_t *cors)
{
    ssize_t o = h2o_find_header_by_str(&req->headers, H2O_STRLIT("origin"), -1);
    if (o < 0)
        return;
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("OPTIONS")) &&
        h2o_find_header_by_str(&req->headers, H2O_STRLIT("access-control-request-method"), -1) >= 0)
        return; /* a preflight: answered with its own headers */
    h2o_iovec_t origin = req->headers.entries[o].value;
    if (cors->explicit_origin) {
        if (origin_allowed(cors, origin))
            add(req, H2O_STRLIT("access-control-allow-origin"), origin.base, origin.len);
        h2o_set_header_token(&req->pool, &req->res.headers, H2O_TOKEN_VARY, H2O_STRLIT("Origin"));
    } else {
        ADD(req, "access-control-allow-origin", "*");
    }
    if (cors->allow_credentials)
        ADD(req, "access-control-allow-credentials", "true");
    if (cors->expose_value != NULL)
        ADD(req, "access-control-expose-headers", cors->expose_value);
}

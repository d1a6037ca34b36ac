/*
 * libFuzzer target for the router (router.c). The input is lines:
 *   +METHOD TEMPLATE   adds a route ("+GET /items/{id}");
 *   ?METHOD PATH       looks a path up ("?PUT /items/42");
 * anything else is ignored. A method the router does not know stands as -1:
 * refused by mt_router_add, the "unknown method" of mt_router_lookup.
 *
 * Beside the router, the target keeps a model of its own: the routes added,
 * each split into segments. Every template is checked against the grammar
 * (mt_router_add and mt_router_pattern_params accept exactly the templates
 * the model does, and refuse the same method on the same shape twice); every
 * lookup against the model's answer, found by brute force over the routes: a
 * literal segment wins over a parameter, the first segment first; HEAD falls
 * back to GET; a path that no route of its method matches is 405 with every
 * method of the routes that match it, or 404. A match's parameters are the
 * path's own segments. At the end each route is looked up with a path made
 * from its template, which must be found, and each Allow text written into
 * buffers of every size must fit and name only (and, when it fits, all) the
 * allowed methods, in order.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "router.h"

#define MAX_ROUTES 64
#define MAX_SEGMENTS 128 /* router.c's own limit */
#define MAX_LINE 1024

typedef struct {
    const char *text; /* into the route's template; a parameter's name */
    size_t len;
    int is_param;
} segment_t;

typedef struct {
    int method;
    char *pattern;
    segment_t segments[MAX_SEGMENTS];
    size_t num_segments, num_params;
} route_t;

static route_t routes[MAX_ROUTES];
static size_t num_routes;

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_router: %s\n", what);
        abort();
    }
}

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* The template grammar, written again from its description in router.h and router.c. */
static int model_parse(const char *pattern, route_t *route)
{
    size_t len = strlen(pattern), n = 0, params = 0;
    if (len == 0 || pattern[0] != '/')
        return -1;
    if (len == 1) {
        route->num_segments = route->num_params = 0;
        return 0;
    }
    for (size_t start = 1; start <= len;) {
        const char *seg = pattern + start, *slash = memchr(seg, '/', len - start);
        size_t seg_len = slash != NULL ? (size_t)(slash - seg) : len - start;
        if (seg_len == 0 || n == MAX_SEGMENTS)
            return -1;
        int param = seg[0] == '{';
        if (param) {
            if (seg_len < 3 || seg[seg_len - 1] != '}')
                return -1;
            for (size_t i = 1; i + 1 < seg_len; i++)
                if (!is_name_char(seg[i]))
                    return -1;
            for (size_t i = 0; i != n; i++)
                if (route->segments[i].is_param && route->segments[i].len == seg_len - 2 &&
                    memcmp(route->segments[i].text, seg + 1, seg_len - 2) == 0)
                    return -1; /* a name twice */
            if (++params > MT_ROUTER_MAX_PARAMS)
                return -1;
            route->segments[n++] = (segment_t){seg + 1, seg_len - 2, 1};
        } else {
            if (memchr(seg, '{', seg_len) != NULL || memchr(seg, '}', seg_len) != NULL)
                return -1;
            route->segments[n++] = (segment_t){seg, seg_len, 0};
        }
        start += seg_len + 1;
        if (slash != NULL && start == len)
            return -1; /* ends with '/' */
    }
    route->num_segments = n;
    route->num_params = params;
    return 0;
}

/* The same node of the tree: literal texts and parameter places alike. */
static int same_shape(const route_t *a, const route_t *b)
{
    if (a->num_segments != b->num_segments)
        return 0;
    for (size_t i = 0; i != a->num_segments; i++) {
        const segment_t *x = a->segments + i, *y = b->segments + i;
        if (x->is_param != y->is_param || (!x->is_param && (x->len != y->len || memcmp(x->text, y->text, x->len) != 0)))
            return 0;
    }
    return 1;
}

/* The path's segments, or -1 when no route can match it (not from '/', an empty segment). */
static long split_path(const char *path, size_t len, segment_t *segments)
{
    if (len == 0 || path[0] != '/')
        return -1;
    if (len == 1)
        return 0;
    size_t n = 0;
    for (size_t start = 1; start <= len;) {
        const char *seg = path + start, *slash = memchr(seg, '/', len - start);
        size_t seg_len = slash != NULL ? (size_t)(slash - seg) : len - start;
        if (seg_len == 0 || n == MAX_SEGMENTS)
            return -1; /* more segments than any route has matches none */
        segments[n++] = (segment_t){seg, seg_len, 0};
        start += seg_len + 1;
        if (slash != NULL && start == len)
            return -1;
    }
    return (long)n;
}

static int route_matches(const route_t *route, const segment_t *segments, size_t n)
{
    if (route->num_segments != n)
        return 0;
    for (size_t i = 0; i != n; i++) {
        const segment_t *s = route->segments + i;
        if (!s->is_param && (s->len != segments[i].len || memcmp(s->text, segments[i].text, s->len) != 0))
            return 0;
    }
    return 1;
}

/* The route registered for `method` on route r's node (HEAD falls back to GET), or NULL. */
static const route_t *node_route(const route_t *r, int method)
{
    const route_t *get = NULL;
    for (size_t i = 0; i != num_routes; i++) {
        if (!same_shape(routes + i, r))
            continue;
        if (routes[i].method == method)
            return routes + i;
        if (routes[i].method == MT_METHOD_GET)
            get = routes + i;
    }
    return method == MT_METHOD_HEAD ? get : NULL;
}

/* Literal before parameter, segment by segment from the first: which of two matching routes the router prefers. */
static int precedes(const route_t *a, const route_t *b)
{
    for (size_t i = 0; i != a->num_segments; i++)
        if (a->segments[i].is_param != b->segments[i].is_param)
            return !a->segments[i].is_param;
    return 0;
}

/* The model's answer: the status, *found (the route) and *allowed. */
static int model_lookup(int method, const char *path, size_t len, const route_t **found, unsigned *allowed)
{
    static segment_t segments[MAX_SEGMENTS];
    long n = split_path(path, len, segments);
    *found = NULL;
    *allowed = 0;
    if (n < 0)
        return MT_ROUTE_NOT_FOUND;
    for (size_t i = 0; i != num_routes; i++) {
        const route_t *r = routes + i;
        if (!route_matches(r, segments, (size_t)n))
            continue;
        *allowed |= 1u << r->method;
        if (r->method == MT_METHOD_GET)
            *allowed |= 1u << MT_METHOD_HEAD;
        const route_t *answer = method >= 0 ? node_route(r, method) : NULL;
        if (answer != NULL && (*found == NULL || precedes(answer, *found)))
            *found = answer;
    }
    if (*found != NULL)
        return MT_ROUTE_FOUND;
    return *allowed != 0 ? MT_ROUTE_METHOD_NOT_ALLOWED : MT_ROUTE_NOT_FOUND;
}

/* Allow text of every length up to the whole: a prefix of whole names of `allowed`, in method order. */
static void check_allowed_text(unsigned allowed)
{
    char whole[128];
    size_t whole_len = mt_router_format_allowed(allowed, whole, sizeof(whole));
    check(whole_len == strlen(whole), "mt_router_format_allowed returned another length than it wrote");
    /* the whole list, exactly: the names of the mask's methods, in order, joined by ", " */
    char want[128] = "";
    for (int m = 0; m < MT_METHOD_COUNT; m++) {
        if (allowed & (1u << m)) {
            if (want[0] != '\0')
                strcat(want, ", ");
            strcat(want, mt_method_name(m));
        }
    }
    check(strcmp(whole, want) == 0, "the Allow text is not the allowed methods in order");
    char none = 'X';
    check(mt_router_format_allowed(allowed, &none, 0) == 0 && none == 'X', "mt_router_format_allowed wrote into no room");
    for (size_t size = 1; size <= whole_len + 1; size++) {
        char *buf = malloc(size); /* exactly `size` bytes: ASan sees a write past them */
        check(buf != NULL, "out of memory");
        size_t len = mt_router_format_allowed(allowed, buf, size);
        check(len < size && strlen(buf) == len, "mt_router_format_allowed overran its buffer");
        /* a prefix of the whole list that ends at a name's end */
        check(memcmp(buf, whole, len) == 0 && (len == 0 || whole[len] == '\0' || whole[len] == ','),
              "a short Allow text is not whole names from the start of the list");
        free(buf);
    }
}

static void check_lookup(const mt_router_t *router, int method, const char *path, size_t len)
{
    mt_router_match_t match;
    const route_t *found;
    unsigned allowed;
    int rc = mt_router_lookup(router, method, path, len, &match);
    int want = model_lookup(method, path, len, &found, &allowed);
    check(rc == want, "the lookup's status is not the model's");
    if (rc != MT_ROUTE_FOUND) {
        check(match.value == NULL && match.num_params == 0, "a lookup that found nothing left a value or parameters");
        check(match.allowed == allowed, "the allowed methods are not those of every route matching the path");
        if (rc == MT_ROUTE_METHOD_NOT_ALLOWED)
            check_allowed_text(match.allowed);
        return;
    }
    check(match.value == found, "the lookup found another route than the model");
    check(match.num_params == found->num_params, "a match with another number of parameters than its template");
    static segment_t segments[MAX_SEGMENTS];
    long n = split_path(path, len, segments);
    check(n == (long)found->num_segments, "a match with another number of segments than its template");
    size_t p = 0;
    for (size_t i = 0; i != (size_t)n; i++) {
        if (!found->segments[i].is_param)
            continue;
        const mt_slice_t *param = match.params + p++;
        check(param->base >= path && param->len <= len && param->base + param->len <= path + len,
              "a parameter outside the looked-up path");
        check(param->base == segments[i].text && param->len == segments[i].len,
              "a parameter is not the path's segment at its place");
    }
}

static void add(mt_router_t *router, int method, const char *text, size_t len)
{
    if (num_routes == MAX_ROUTES)
        return;
    route_t *route = routes + num_routes;
    route->method = method;
    route->pattern = strndup(text, len); /* up to a NUL byte, as a C string */
    check(route->pattern != NULL, "out of memory");
    int valid = model_parse(route->pattern, route) == 0;

    mt_slice_t names[MT_ROUTER_MAX_PARAMS];
    const char *err = NULL;
    int count = mt_router_pattern_params(route->pattern, names, MT_ROUTER_MAX_PARAMS, &err);
    check((count >= 0) == valid, valid ? "a template of the grammar is refused" : "a template outside the grammar is taken");
    check(count >= 0 || err != NULL, "a refused template without a message");
    if (valid) {
        check((size_t)count == route->num_params, "mt_router_pattern_params counts other parameters");
        size_t p = 0, pattern_len = strlen(route->pattern);
        for (size_t i = 0; i != route->num_segments; i++) {
            if (!route->segments[i].is_param)
                continue;
            check(names[p].base > route->pattern && names[p].base + names[p].len < route->pattern + pattern_len,
                  "a parameter name outside its template");
            check(names[p].base == route->segments[i].text && names[p].len == route->segments[i].len,
                  "parameter names out of path order");
            p++;
        }
        if (count != 0) {
            err = NULL;
            int fewer = mt_router_pattern_params(route->pattern, names, (size_t)count - 1, &err);
            check(fewer < 0 && err != NULL, "more parameters than max_names are not refused");
        }
    }

    int taken = 0;
    for (size_t i = 0; valid && i != num_routes; i++) /* an invalid template's segments are half-made */
        taken |= routes[i].method == method && same_shape(routes + i, route);
    err = NULL;
    int rc = mt_router_add(router, method, route->pattern, route, &err);
    int want = method >= 0 && valid && !taken;
    check((rc == 0) == want, want ? "mt_router_add refused a route" : "mt_router_add took a route it should refuse");
    check(rc == 0 || err != NULL, "mt_router_add refused without a message");
    if (rc == 0)
        num_routes++;
    else
        free(route->pattern);
}

/* A path made from a template (each parameter stands as its own name) finds that route, or one the model prefers. */
static void look_up_every_route(const mt_router_t *router)
{
    for (size_t r = 0; r != num_routes; r++) {
        const route_t *route = routes + r;
        char *path = malloc(strlen(route->pattern) + 1); /* no longer than the template: braces dropped */
        check(path != NULL, "out of memory");
        size_t len = 0;
        for (size_t i = 0; i != route->num_segments; i++) {
            path[len++] = '/';
            memcpy(path + len, route->segments[i].text, route->segments[i].len);
            len += route->segments[i].len;
        }
        if (len == 0)
            path[len++] = '/';
        mt_router_match_t match;
        check(mt_router_lookup(router, route->method, path, len, &match) == MT_ROUTE_FOUND,
              "a route is not found by a path made from its template");
        for (int m = -1; m < MT_METHOD_COUNT; m++)
            check_lookup(router, m, path, len);
        free(path);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int m = 0; m < MT_METHOD_COUNT; m++) {
        const char *name = mt_method_name(m);
        check(mt_method_parse(name, strlen(name)) == m, "a method name does not parse back to its method");
    }
    mt_router_t *router = mt_router_new();
    check(router != NULL, "out of memory");
    num_routes = 0;
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL)
            eol = end;
        /* "+GET /x" or "?GET /x": the method is the word after the mark */
        const char *space = eol - p > 1 ? memchr(p + 1, ' ', (size_t)(eol - p - 1)) : NULL;
        if (space != NULL && (*p == '+' || *p == '?')) {
            int method = mt_method_parse(p + 1, (size_t)(space - p - 1));
            const char *text = space + 1;
            size_t len = (size_t)(eol - text);
            if (*p == '+')
                add(router, method, text, len);
            else
                check_lookup(router, method, text, len);
        }
        p = eol + 1;
    }
    look_up_every_route(router);
    mt_router_free(router);
    for (size_t i = 0; i != num_routes; i++)
        free(routes[i].pattern);
    return 0;
}

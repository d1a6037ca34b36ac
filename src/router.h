/*
 * Routing: maps (method, path) to the value registered for a path template
 * such as "/items/{id}/tags". Templates are stored in a tree with one level
 * per path segment, so a lookup walks as many nodes as the path has segments,
 * however many routes there are.
 */
#ifndef MT_ROUTER_H
#define MT_ROUTER_H

#include <stddef.h>

enum {
    MT_METHOD_GET,
    MT_METHOD_HEAD,
    MT_METHOD_POST,
    MT_METHOD_PUT,
    MT_METHOD_PATCH,
    MT_METHOD_DELETE,
    MT_METHOD_OPTIONS,
    MT_METHOD_COUNT
};

enum { MT_ROUTE_FOUND, MT_ROUTE_NOT_FOUND, MT_ROUTE_METHOD_NOT_ALLOWED };

#define MT_ROUTER_MAX_PARAMS 32

typedef struct st_mt_slice_t {
    const char *base;
    size_t len;
} mt_slice_t;

typedef struct st_mt_router_t mt_router_t;

typedef struct st_mt_router_match_t {
    void *value;
    unsigned allowed; /* bit (1 << method) for each method the path answers */
    size_t num_params;
    mt_slice_t params[MT_ROUTER_MAX_PARAMS]; /* raw (still percent-encoded) segments */
} mt_router_match_t;

/* Returns the method's index, or -1 for a method no route can have. */
int mt_method_parse(const char *name, size_t len);
const char *mt_method_name(int method);

mt_router_t *mt_router_new(void);
void mt_router_free(mt_router_t *router);

/*
 * Adds a route. Returns 0, or -1 with *err pointing to a static message when
 * the template is malformed or the same method and template shape exist.
 * The router does not own `value`.
 */
int mt_router_add(mt_router_t *router, int method, const char *pattern, void *value, const char **err);

/*
 * Parses the parameter names of a template into `names` (in path order).
 * Returns their number, or -1 with *err set when the template is malformed.
 */
int mt_router_pattern_params(const char *pattern, mt_slice_t *names, size_t max_names, const char **err);

/*
 * HEAD falls back to the GET route of the same path. A path that has routes,
 * none for `method` (or method -1, an unknown one), is "method not allowed"
 * with the methods of every route matching it in match->allowed.
 */
int mt_router_lookup(const mt_router_t *router, int method, const char *path, size_t len, mt_router_match_t *match);

/*
 * Writes "GET, HEAD, POST" for a mask from a match into buf, NUL-terminated,
 * as many whole names as fit in `size` bytes; returns the length.
 */
size_t mt_router_format_allowed(unsigned allowed, char *buf, size_t size);

#endif

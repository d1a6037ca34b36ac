/*
 * Routing tree. Each node is one path segment: literal children are kept
 * sorted for binary search, and at most one parameter child matches any
 * non-empty segment. A lookup prefers literal segments and backtracks into
 * the parameter child, so "/items/new" and "/items/{id}" coexist. A node holds
 * one value per method; a path that matches nodes without the requested
 * method yields "method not allowed" with the union of their methods.
 *
 * Templates without parameters are also kept in a hash table by their whole
 * text: a path that is one of them, asked with a method it has, is found
 * there with one hash and one comparison. That is the answer the walk would
 * give (it tries literal segments first); any other path takes the walk.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "router.h"

typedef struct st_mt_router_node_t mt_router_node_t;

struct st_mt_router_node_t {
    char *segment; /* literal text; NULL for the parameter child */
    size_t segment_len;
    mt_router_node_t **literals; /* sorted by (length, bytes) */
    size_t num_literals;
    mt_router_node_t *param;
    void *values[MT_METHOD_COUNT];
    unsigned methods; /* bit per method with a value; HEAD's too when GET has one */
};

typedef struct st_static_slot_t {
    char *path; /* the template's text, NULL for a free slot */
    size_t len;
    uint64_t hash;
    const mt_router_node_t *node;
} static_slot_t;

struct st_mt_router_t {
    mt_router_node_t root;
    static_slot_t *statics; /* open addressing; a power of two of slots, at most half of them used */
    size_t statics_size, num_statics;
};

static const char *method_names[MT_METHOD_COUNT] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};

int mt_method_parse(const char *name, size_t len)
{
    for (int i = 0; i < MT_METHOD_COUNT; i++)
        if (strlen(method_names[i]) == len && memcmp(method_names[i], name, len) == 0)
            return i;
    return -1;
}

const char *mt_method_name(int method)
{
    return method >= 0 && method < MT_METHOD_COUNT ? method_names[method] : "?";
}

mt_router_t *mt_router_new(void)
{
    return calloc(1, sizeof(mt_router_t));
}

static void node_dispose(mt_router_node_t *node)
{
    for (size_t i = 0; i != node->num_literals; i++) {
        node_dispose(node->literals[i]);
        free(node->literals[i]);
    }
    free(node->literals);
    if (node->param != NULL) {
        node_dispose(node->param);
        free(node->param);
    }
    free(node->segment);
}

void mt_router_free(mt_router_t *router)
{
    if (router == NULL)
        return;
    node_dispose(&router->root);
    for (size_t i = 0; i != router->statics_size; i++)
        free(router->statics[i].path);
    free(router->statics);
    free(router);
}

/* 8 bytes a step; a tail of 4 to 7 bytes as two 4-byte loads that may overlap */
static uint64_t hash_path(const char *path, size_t len)
{
    const uint64_t mul = 0xff51afd7ed558ccdull;
    uint64_t h = len * 0x9e3779b97f4a7c15ull, tail = 0;
    size_t i = 0;
    for (uint64_t w; i + 8 <= len; i += 8) {
        memcpy(&w, path + i, 8);
        h = (h ^ w) * mul;
        h ^= h >> 32;
    }
    if (len - i >= 4) {
        uint32_t head4, tail4;
        memcpy(&head4, path + i, 4);
        memcpy(&tail4, path + len - 4, 4);
        tail = (uint64_t)head4 << 32 | tail4;
    } else {
        for (; i != len; i++)
            tail = (tail << 8) | (unsigned char)path[i];
    }
    h = (h ^ tail) * mul;
    return h ^ (h >> 29);
}

static static_slot_t *static_slot(static_slot_t *slots, size_t size, const char *path, size_t len, uint64_t hash)
{
    for (size_t i = hash & (size - 1);; i = (i + 1) & (size - 1)) {
        static_slot_t *slot = &slots[i];
        if (slot->path == NULL || (slot->hash == hash && slot->len == len && memcmp(slot->path, path, len) == 0))
            return slot;
    }
}

static int add_static(mt_router_t *router, const char *pattern, const mt_router_node_t *node)
{
    size_t len = strlen(pattern);
    uint64_t hash = hash_path(pattern, len);
    if ((router->num_statics + 1) * 2 > router->statics_size) {
        size_t size = router->statics_size != 0 ? router->statics_size * 2 : 16;
        static_slot_t *grown = calloc(size, sizeof(*grown));
        if (grown == NULL)
            return -1;
        for (size_t i = 0; i != router->statics_size; i++) {
            static_slot_t *old = &router->statics[i];
            if (old->path != NULL)
                *static_slot(grown, size, old->path, old->len, old->hash) = *old;
        }
        free(router->statics);
        router->statics = grown;
        router->statics_size = size;
    }
    static_slot_t *slot = static_slot(router->statics, router->statics_size, pattern, len, hash);
    if (slot->path != NULL)
        return 0; /* another method of the same template */
    if ((slot->path = strdup(pattern)) == NULL)
        return -1;
    slot->len = len;
    slot->hash = hash;
    slot->node = node;
    router->num_statics++;
    return 0;
}

static int compare_segment(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return alen < blen ? -1 : 1;
    for (size_t i = 0; i != alen; i++) /* memcmp's order; segments are short, so no call */
        if (a[i] != b[i])
            return (unsigned char)a[i] < (unsigned char)b[i] ? -1 : 1;
    return 0;
}

/* Binary search; returns the index of the match, or -(insertion point) - 1. */
static long find_literal(const mt_router_node_t *node, const char *seg, size_t len)
{
    size_t lo = 0, hi = node->num_literals;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const mt_router_node_t *c = node->literals[mid];
        int cmp = compare_segment(c->segment, c->segment_len, seg, len);
        if (cmp == 0)
            return (long)mid;
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/*
 * Splits a template into segments, marking which are parameters (their slice
 * is the name between the braces). Shared by add and pattern_params so both
 * accept exactly the same templates.
 */
static int parse_pattern(const char *pattern, mt_slice_t *segments, int *is_param, size_t max, const char **err)
{
    if (pattern[0] != '/') {
        *err = "a route path must start with '/'";
        return -1;
    }
    size_t n = 0;
    const char *p = pattern + 1;
    if (*p == '\0')
        return 0;
    for (;;) {
        const char *end = strchr(p, '/');
        if (end == NULL)
            end = p + strlen(p);
        if (end == p) {
            *err = "a route path may not contain an empty segment";
            return -1;
        }
        if (n == max) {
            *err = "a route path has too many segments";
            return -1;
        }
        if (*p == '{') {
            if (end[-1] != '}' || end - p < 3) {
                *err = "a path parameter must be written {name}";
                return -1;
            }
            for (const char *c = p + 1; c < end - 1; c++) {
                if (!is_name_char(*c)) {
                    *err = "a path parameter name may hold only letters, digits and '_'";
                    return -1;
                }
            }
            segments[n] = (mt_slice_t){p + 1, (size_t)(end - p) - 2};
            is_param[n] = 1;
        } else {
            for (const char *c = p; c < end; c++) {
                if (*c == '{' || *c == '}') {
                    *err = "a path parameter must fill a whole segment: /{name}/";
                    return -1;
                }
            }
            segments[n] = (mt_slice_t){p, (size_t)(end - p)};
            is_param[n] = 0;
        }
        n++;
        if (*end == '\0')
            return (int)n;
        p = end + 1;
        if (*p == '\0') {
            *err = "a route path may not end with '/'";
            return -1;
        }
    }
}

#define MAX_SEGMENTS 128

int mt_router_pattern_params(const char *pattern, mt_slice_t *names, size_t max_names, const char **err)
{
    mt_slice_t segments[MAX_SEGMENTS];
    int is_param[MAX_SEGMENTS];
    int n = parse_pattern(pattern, segments, is_param, MAX_SEGMENTS, err);
    if (n < 0)
        return -1;
    size_t count = 0;
    for (int i = 0; i < n; i++) {
        if (!is_param[i])
            continue;
        for (size_t j = 0; j != count; j++) {
            if (names[j].len == segments[i].len && memcmp(names[j].base, segments[i].base, names[j].len) == 0) {
                *err = "a path parameter name appears twice";
                return -1;
            }
        }
        if (count == max_names) {
            *err = "a route path has too many parameters";
            return -1;
        }
        names[count++] = segments[i];
    }
    return (int)count;
}

static mt_router_node_t *add_literal(mt_router_node_t *node, const char *seg, size_t len)
{
    long at = find_literal(node, seg, len);
    if (at >= 0)
        return node->literals[at];
    size_t insert = (size_t)(-at - 1);
    mt_router_node_t **grown = realloc(node->literals, (node->num_literals + 1) * sizeof(*grown));
    mt_router_node_t *child = calloc(1, sizeof(*child));
    char *copy = malloc(len + 1);
    if (grown == NULL || child == NULL || copy == NULL) {
        free(child);
        free(copy);
        if (grown != NULL)
            node->literals = grown;
        return NULL;
    }
    memcpy(copy, seg, len);
    copy[len] = '\0';
    child->segment = copy;
    child->segment_len = len;
    memmove(grown + insert + 1, grown + insert, (node->num_literals - insert) * sizeof(*grown));
    grown[insert] = child;
    node->literals = grown;
    node->num_literals++;
    return child;
}

int mt_router_add(mt_router_t *router, int method, const char *pattern, void *value, const char **err)
{
    mt_slice_t segments[MAX_SEGMENTS], names[MT_ROUTER_MAX_PARAMS];
    int is_param[MAX_SEGMENTS];
    if (method < 0 || method >= MT_METHOD_COUNT) {
        *err = "unknown HTTP method";
        return -1;
    }
    int num_params = mt_router_pattern_params(pattern, names, MT_ROUTER_MAX_PARAMS, err);
    if (num_params < 0)
        return -1;
    int n = parse_pattern(pattern, segments, is_param, MAX_SEGMENTS, err);
    mt_router_node_t *node = &router->root;
    for (int i = 0; i < n; i++) {
        if (is_param[i]) {
            if (node->param == NULL && (node->param = calloc(1, sizeof(*node->param))) == NULL)
                goto no_memory;
            node = node->param;
        } else if ((node = add_literal(node, segments[i].base, segments[i].len)) == NULL) {
            goto no_memory;
        }
    }
    if (node->values[method] != NULL) {
        *err = "a route for this method and path already exists";
        return -1;
    }
    if (num_params == 0 && add_static(router, pattern, node) != 0)
        goto no_memory;
    node->values[method] = value;
    node->methods |= 1u << method;
    if (method == MT_METHOD_GET)
        node->methods |= 1u << MT_METHOD_HEAD;
    return 0;
no_memory:
    *err = "out of memory";
    return -1;
}

static void *node_value(const mt_router_node_t *node, int method)
{
    if (node->values[method] == NULL && method == MT_METHOD_HEAD)
        return node->values[MT_METHOD_GET];
    return node->values[method];
}

/*
 * Depth-first match of the segments from `p` on; returns 1 when `method` was
 * found. Method -1 (one no route has) finds nothing: the walk then visits
 * every node matching the path and gathers all their methods.
 */
static int match_from(const mt_router_node_t *node, int method, const char *p, const char *end, mt_router_match_t *m)
{
    if (p == end) {
        m->allowed |= node->methods;
        return node->methods != 0 && method >= 0 && (m->value = node_value(node, method)) != NULL;
    }
    /* p points at a '/' */
    const char *seg = p + 1, *seg_end = memchr(seg, '/', (size_t)(end - seg));
    if (seg_end == NULL)
        seg_end = end;
    size_t len = (size_t)(seg_end - seg);
    if (len == 0)
        return 0;
    long at = find_literal(node, seg, len);
    if (at >= 0 && match_from(node->literals[at], method, seg_end, end, m))
        return 1;
    if (node->param != NULL && m->num_params < MT_ROUTER_MAX_PARAMS) {
        m->params[m->num_params++] = (mt_slice_t){seg, len};
        if (match_from(node->param, method, seg_end, end, m))
            return 1;
        m->num_params--;
    }
    return 0;
}

int mt_router_lookup(const mt_router_t *router, int method, const char *path, size_t len, mt_router_match_t *match)
{
    match->value = NULL;
    match->allowed = 0;
    match->num_params = 0;
    if (len == 0 || path[0] != '/')
        return MT_ROUTE_NOT_FOUND;
    if (router->num_statics != 0 && method >= 0) {
        const static_slot_t *slot =
            static_slot(router->statics, router->statics_size, path, len, hash_path(path, len));
        if (slot->path != NULL && (match->value = node_value(slot->node, method)) != NULL) {
            match->allowed = slot->node->methods;
            return MT_ROUTE_FOUND;
        }
    }
    if (len == 1) /* "/" is the root node itself */
        len = 0;
    if (match_from(&router->root, method, path, path + len, match))
        return MT_ROUTE_FOUND;
    match->num_params = 0;
    match->value = NULL;
    return match->allowed != 0 ? MT_ROUTE_METHOD_NOT_ALLOWED : MT_ROUTE_NOT_FOUND;
}

size_t mt_router_format_allowed(unsigned allowed, char *buf, size_t size)
{
    size_t len = 0;
    if (size == 0)
        return 0;
    buf[0] = '\0';
    for (int m = 0; m < MT_METHOD_COUNT; m++) {
        if (!(allowed & (1u << m)))
            continue;
        const char *name = method_names[m];
        size_t need = strlen(name) + (len != 0 ? 2 : 0);
        if (len + need + 1 > size)
            break;
        if (len != 0) {
            memcpy(buf + len, ", ", 2);
            len += 2;
        }
        memcpy(buf + len, name, strlen(name));
        len += strlen(name);
        buf[len] = '\0';
    }
    return len;
}

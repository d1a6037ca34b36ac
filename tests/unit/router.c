/* Unit tests for src/router.c: templates, matching, precedence, 404/405, scale. */
#include <stdio.h>
#include <string.h>
#include "router.h"
#include "tap.h"

static int value_a, value_b, value_c, value_d, value_e;

static int lookup(mt_router_t *r, int method, const char *path, mt_router_match_t *m)
{
    return mt_router_lookup(r, method, path, strlen(path), m);
}

static int param_is(mt_router_match_t *m, size_t i, const char *want)
{
    return i < m->num_params && m->params[i].len == strlen(want) && memcmp(m->params[i].base, want, m->params[i].len) == 0;
}

static void test_templates(void)
{
    const char *err = NULL;
    mt_slice_t names[8];
    ok(mt_router_pattern_params("/items/{id}/tags/{tag}", names, 8, &err) == 2 && names[0].len == 2 &&
           memcmp(names[1].base, "tag", 3) == 0,
       "parameter names come out in path order");
    ok(mt_router_pattern_params("/", names, 8, &err) == 0, "the root has no parameters");
    static const char *bad[] = {"items", "/a//b", "/a/", "/{}", "/{a-b}", "/x{id}", "/{id}x", "/{id}/{id}", "/{id"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = NULL;
        int refused = mt_router_pattern_params(bad[i], names, 8, &err) < 0;
        ok(refused && err != NULL, "template '%s' is refused: %s", bad[i], err ? err : "(no message)");
    }
}

static void test_matching(void)
{
    mt_router_t *r = mt_router_new();
    const char *err;
    mt_router_match_t m;
    ok(mt_router_add(r, MT_METHOD_GET, "/", &value_a, &err) == 0, "add GET /");
    ok(mt_router_add(r, MT_METHOD_GET, "/items/{id}", &value_b, &err) == 0, "add GET /items/{id}");
    ok(mt_router_add(r, MT_METHOD_GET, "/items/new", &value_c, &err) == 0, "add GET /items/new");
    ok(mt_router_add(r, MT_METHOD_POST, "/items/{item_id}/tags", &value_d, &err) == 0, "add POST /items/{item_id}/tags");
    ok(mt_router_add(r, MT_METHOD_DELETE, "/items/{x}", &value_e, &err) == 0, "a second method on the same shape");
    err = NULL; /* set by the call below: argument order is unspecified, so it cannot be one of ok()'s */
    int conflict = mt_router_add(r, MT_METHOD_GET, "/items/{other}", &value_e, &err) != 0;
    ok(conflict && err != NULL, "same method and shape is a conflict: %s", err ? err : "(no message)");

    ok(lookup(r, MT_METHOD_GET, "/", &m) == MT_ROUTE_FOUND && m.value == &value_a, "/ matches the root");
    ok(lookup(r, MT_METHOD_GET, "/items/42", &m) == MT_ROUTE_FOUND && m.value == &value_b && param_is(&m, 0, "42"),
       "a parameter captures its segment");
    ok(lookup(r, MT_METHOD_GET, "/items/new", &m) == MT_ROUTE_FOUND && m.value == &value_c && m.num_params == 0,
       "a literal segment wins over a parameter");
    ok(lookup(r, MT_METHOD_DELETE, "/items/new", &m) == MT_ROUTE_FOUND && m.value == &value_e && param_is(&m, 0, "new"),
       "a literal path without the method falls back to the parameter route that has it");
    ok(lookup(r, MT_METHOD_HEAD, "/items/new", &m) == MT_ROUTE_FOUND && m.value == &value_c && m.num_params == 0,
       "HEAD on a literal path falls back to its GET");
    ok(lookup(r, MT_METHOD_POST, "/items/new/tags", &m) == MT_ROUTE_FOUND && m.value == &value_d && param_is(&m, 0, "new"),
       "backtracks from a literal into the parameter branch");
    ok(lookup(r, MT_METHOD_GET, "/items", &m) == MT_ROUTE_NOT_FOUND, "a prefix of a route is not found");
    ok(lookup(r, MT_METHOD_GET, "/items/42/", &m) == MT_ROUTE_NOT_FOUND, "a trailing slash is another path");
    ok(lookup(r, MT_METHOD_GET, "/items//tags", &m) == MT_ROUTE_NOT_FOUND, "an empty segment matches no parameter");
    ok(lookup(r, MT_METHOD_GET, "", &m) == MT_ROUTE_NOT_FOUND, "an empty path is not found");

    ok(lookup(r, MT_METHOD_HEAD, "/items/7", &m) == MT_ROUTE_FOUND && m.value == &value_b, "HEAD falls back to GET");
    int rc = lookup(r, MT_METHOD_PUT, "/items/7", &m);
    ok(rc == MT_ROUTE_METHOD_NOT_ALLOWED, "a known path with another method is not allowed");
    ok(m.allowed == ((1u << MT_METHOD_GET) | (1u << MT_METHOD_HEAD) | (1u << MT_METHOD_DELETE)),
       "allowed lists GET, HEAD (from GET) and DELETE");
    char allow[64];
    mt_router_format_allowed(m.allowed, allow, sizeof(allow));
    ok(strcmp(allow, "GET, HEAD, DELETE") == 0, "Allow header text: %s", allow);
    ok(lookup(r, MT_METHOD_GET, "/items/7/tags", &m) == MT_ROUTE_METHOD_NOT_ALLOWED &&
           m.allowed == (1u << MT_METHOD_POST),
       "405 for /items/7/tags lists POST only");
    ok(lookup(r, -1, "/items/7", &m) == MT_ROUTE_METHOD_NOT_ALLOWED, "an unknown method on a known path is 405");
    /* found by tests/fuzz (regressions/router): the walk for an unknown method stopped at the first GET route */
    rc = lookup(r, -1, "/items/new", &m);
    ok(rc == MT_ROUTE_METHOD_NOT_ALLOWED &&
           m.allowed == ((1u << MT_METHOD_GET) | (1u << MT_METHOD_HEAD) | (1u << MT_METHOD_DELETE)),
       "an unknown method's 405 lists the methods of a literal and a parameter route alike (DELETE from /items/{x})");
    unsigned unknown_allowed = m.allowed;
    ok(lookup(r, MT_METHOD_PUT, "/items/new", &m) == MT_ROUTE_METHOD_NOT_ALLOWED && m.allowed == unknown_allowed,
       "PUT on the same path lists the same methods");
    ok(lookup(r, -1, "/nowhere", &m) == MT_ROUTE_NOT_FOUND && m.allowed == 0, "an unknown method on no route is 404");
    mt_router_free(r);
}

static void test_allow_text(void)
{
    unsigned all = (1u << MT_METHOD_COUNT) - 1;
    char buf[64], none = 'X';
    ok(mt_router_format_allowed(all, buf, sizeof(buf)) == 44 &&
           strcmp(buf, "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS") == 0, "every method: %s", buf);
    ok(mt_router_format_allowed(all, buf, 16) == 15 && strcmp(buf, "GET, HEAD, POST") == 0,
       "a short buffer holds whole names only: %s", buf);
    ok(mt_router_format_allowed(all, buf, 3) == 0 && buf[0] == '\0', "no name fits: empty text");
    ok(mt_router_format_allowed(all, &none, 0) == 0 && none == 'X', "a zero-size buffer is not written");
}

static void test_many_routes(void)
{
    mt_router_t *r = mt_router_new();
    static int values[2000];
    char path[64];
    const char *err;
    int added = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(path, sizeof(path), "/r%d/{id}/sub%d", i, i % 7);
        added += mt_router_add(r, MT_METHOD_GET, path, values + i, &err) == 0;
        snprintf(path, sizeof(path), "/static/r%d", i);
        added += mt_router_add(r, MT_METHOD_POST, path, values + 1000 + i, &err) == 0;
    }
    ok(added == 2000, "2000 routes added");
    int found = 0;
    mt_router_match_t m;
    for (int i = 0; i < 1000; i++) {
        snprintf(path, sizeof(path), "/r%d/x%d/sub%d", i, i, i % 7);
        found += lookup(r, MT_METHOD_GET, path, &m) == MT_ROUTE_FOUND && m.value == values + i;
        snprintf(path, sizeof(path), "/static/r%d", i);
        found += lookup(r, MT_METHOD_POST, path, &m) == MT_ROUTE_FOUND && m.value == values + 1000 + i;
    }
    ok(found == 2000, "every one of them is found with its own value (%d)", found);
    ok(lookup(r, MT_METHOD_GET, "/r5/x/sub6", &m) == MT_ROUTE_NOT_FOUND, "a near miss is not found");
    mt_router_free(r);
}

int main(void)
{
    test_templates();
    test_matching();
    test_allow_text();
    test_many_routes();
    return tap_done();
}

/* Unit tests for src/docs_assets.c: the four embedded docs files, by exact name only. */
#define _GNU_SOURCE /* memmem */
#include <string.h>
#include "docs_assets.h"
#include "tap.h"

static const mt_docs_asset_t *find(const char *name)
{
    return mt_docs_asset_find(name, strlen(name));
}

static int contains(const mt_docs_asset_t *asset, const char *text)
{
    return asset != NULL && memmem(asset->data, asset->len, text, strlen(text)) != NULL;
}

static void test_assets(void)
{
    static const struct {
        const char *name, *content_type, *marker;
        size_t min_len;
    } want[] = {
        {"swagger-ui-bundle.js", "text/javascript; charset=utf-8", "SwaggerUIBundle", 500000},
        {"swagger-ui.css", "text/css; charset=utf-8", ".swagger-ui", 50000},
        {"favicon-32x32.png", "image/png", "IHDR", 100},
        {"redoc.standalone.js", "text/javascript; charset=utf-8", "Redoc", 500000},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const mt_docs_asset_t *asset = find(want[i].name);
        ok(asset != NULL && strcmp(asset->name, want[i].name) == 0, "%s is embedded", want[i].name);
        ok(asset != NULL && asset->len > want[i].min_len, "%s has %zu bytes (more than %zu)", want[i].name,
           asset ? asset->len : 0, want[i].min_len);
        ok(asset != NULL && strcmp(asset->content_type, want[i].content_type) == 0, "%s is served as %s", want[i].name,
           want[i].content_type);
        ok(contains(asset, want[i].marker), "%s contains \"%s\"", want[i].name, want[i].marker);
    }

    const mt_docs_asset_t *png = find("favicon-32x32.png");
    ok(png != NULL && png->len > 8 && memcmp(png->data, "\x89PNG\r\n\x1a\n", 8) == 0, "the icon starts with the PNG signature");
    ok(png != NULL && png->data[png->len] == '\0', "the bytes are followed by a NUL the length does not count");
    const mt_docs_asset_t *css = find("swagger-ui.css");
    ok(css != NULL && memchr(css->data, '\0', css->len) == NULL, "text is embedded without stray NULs");
    /* the UMD wrapper's export: the globals docs.c's pages use */
    ok(contains(find("swagger-ui-bundle.js"), "exports.SwaggerUIBundle="), "the bundle defines SwaggerUIBundle");
    ok(contains(find("redoc.standalone.js"), "exports.Redoc="), "ReDoc's bundle defines Redoc");
    ok(contains(find("redoc.standalone.js"), "spec-url"), "ReDoc reads the spec-url attribute docs.c sets");
}

static void test_unknown_names(void)
{
    static const char *unknown[] = {"", "swagger-ui", "swagger-ui.css.map", "swagger-ui-bundle.js.map", "wagger-ui.css",
                                    "Swagger-UI.css", "redoc.standalone.js/", "/redoc.standalone.js", "index.html",
                                    "package.json", "LICENSE", "../favicon-32x32.png"};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
        ok(find(unknown[i]) == NULL, "'%s' is not an asset", unknown[i]);
    ok(mt_docs_asset_find("swagger-ui.css", 10) == NULL, "a prefix given by length is not an asset");
    ok(mt_docs_asset_find("swagger-ui.cssX", 14) != NULL, "the name is compared by length, not up to a NUL");
}

int main(void)
{
    test_assets();
    test_unknown_names();
    return tap_done();
}

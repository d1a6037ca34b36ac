/*
 * Unit tests for src/docs_assets.c: the four embedded docs files and the
 * third-party notices that ship with them, by exact name only.
 */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
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

/*
 * third-party-notices.txt, written by src/assets/fetch: the licenses the
 * embedded files' packages require to travel with them.
 */
static void test_notices(void)
{
    const mt_docs_asset_t *notices = find("third-party-notices.txt");
    ok(notices != NULL, "third-party-notices.txt is embedded");
    ok(notices != NULL && strcmp(notices->content_type, "text/plain; charset=utf-8") == 0,
       "the notices are served as text/plain; charset=utf-8");
    ok(notices != NULL && memchr(notices->data, '\0', notices->len) == NULL, "the notices are text");
    static const struct {
        const char *text, *why;
    } want[] = {
        {"swagger-ui-dist/LICENSE\n", "a header naming swagger-ui-dist's LICENSE"},
        {"Apache License\n                           Version 2.0, January 2004", "swagger-ui-dist's Apache-2.0 text"},
        {"swagger-ui-dist/NOTICE\n", "a header naming swagger-ui-dist's NOTICE"},
        {"\nswagger-ui\nCopyright ", "the NOTICE's text (Apache-2.0 4(d))"},
        {"SmartBear Software", "the NOTICE's copyright holder"},
        {"swagger-ui-dist/swagger-ui-bundle.js.LICENSE.txt\n", "the bundle's third-party licenses"},
        {"redoc/LICENSE\n", "a header naming redoc's LICENSE"},
        {"The MIT License", "redoc's license"},
        {"Copyright (c) 2015-present, Rebilly, Inc.", "redoc's copyright notice"},
        {"Permission is hereby granted, free of charge", "the MIT permission notice"},
        {"redoc/bundles/redoc.standalone.js.LICENSE.txt\n", "ReDoc's bundle's third-party licenses"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        ok(contains(notices, want[i].text), "the notices contain %s", want[i].why);

    /* every license file a bundle's comment points at, whatever it is called
     * (ReDoc's inlined worker has one with a hash in its name) */
    static const char *bundles[] = {"swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"};
    static const char pointer[] = "For license information please see ";
    int pointers = 0;
    for (size_t i = 0; i < sizeof(bundles) / sizeof(bundles[0]); i++) {
        const mt_docs_asset_t *bundle = find(bundles[i]);
        const char *at = bundle ? (const char *)bundle->data : NULL, *end = at ? at + bundle->len : NULL;
        while (at != NULL && (at = memmem(at, end - at, pointer, sizeof(pointer) - 1)) != NULL) {
            at += sizeof(pointer) - 1;
            size_t n = strspn(at, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");
            char header[256];
            snprintf(header, sizeof(header), "/%.*s\n====", (int)n, at);
            ok(n > 0 && contains(notices, header), "%s's pointer to %.*s leads to a section of the notices", bundles[i],
               (int)n, at);
            pointers++;
        }
    }
    ok(pointers >= 3, "the bundles point at %d license files (at least 3: Swagger UI's, ReDoc's, its worker's)",
       pointers);
}

static void test_unknown_names(void)
{
    static const char *unknown[] = {"", "swagger-ui", "swagger-ui.css.map", "swagger-ui-bundle.js.map", "wagger-ui.css",
                                    "Swagger-UI.css", "redoc.standalone.js/", "/redoc.standalone.js", "index.html",
                                    "package.json", "LICENSE", "NOTICE", "third-party-notices",
                                    "third-party-notices.txt.tmp", "swagger-ui-bundle.js.LICENSE.txt",
                                    "../favicon-32x32.png"};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
        ok(find(unknown[i]) == NULL, "'%s' is not an asset", unknown[i]);
    ok(mt_docs_asset_find("swagger-ui.css", 10) == NULL, "a prefix given by length is not an asset");
    ok(mt_docs_asset_find("swagger-ui.cssX", 14) != NULL, "the name is compared by length, not up to a NUL");
}

int main(void)
{
    test_assets();
    test_notices();
    test_unknown_names();
    return tap_done();
}

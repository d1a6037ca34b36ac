/*
 * The files the docs pages load (Swagger UI's and ReDoc's scripts, style
 * sheet and icon), compiled into the binary so the pages work with no
 * network, and third-party-notices.txt, the licenses that ship with them.
 * The versions are pinned in src/assets/package.json; the build fetches them
 * with npm and src/tools/embed.c writes the table.
 */
#ifndef MT_DOCS_ASSETS_H
#define MT_DOCS_ASSETS_H

#include <stddef.h>

typedef struct st_mt_docs_asset_t {
    const char *name;         /* "swagger-ui-bundle.js" */
    const char *content_type; /* "text/javascript; charset=utf-8" */
    const unsigned char *data;
    size_t len;
} mt_docs_asset_t;

/* Every asset, generated at build time; the table ends with an entry whose name is NULL. */
extern const mt_docs_asset_t mt_docs_assets[];

/* The embedded asset called `name` (`len` bytes, not NUL-terminated), or NULL. */
const mt_docs_asset_t *mt_docs_asset_find(const char *name, size_t len);

#endif

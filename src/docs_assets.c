/*
 * Looks up the docs assets by name. The table itself (mt_docs_assets) is
 * generated at build time from the pinned npm packages (src/assets); a
 * handful of entries makes a linear scan the right search.
 */
#include <string.h>
#include "docs_assets.h"

const mt_docs_asset_t *mt_docs_asset_find(const char *name, size_t len)
{
    for (const mt_docs_asset_t *asset = mt_docs_assets; asset->name != NULL; asset++)
        if (strlen(asset->name) == len && memcmp(asset->name, name, len) == 0)
            return asset;
    return NULL;
}

/*
 * cJSON's allocator in the server: request bodies are parsed into trees that
 * live only while one request is bound, so their nodes come from a bump
 * region that is rewound whenever every piece handed out has been freed
 * again. A piece that does not fit (a large body) falls back to malloc, so
 * the region bounds memory, not body size. One region per process: workers
 * are single-threaded.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include "json.h"

#define REGION_SIZE (256 * 1024)
#define ALIGN 16

static char *region;
static size_t region_used;
static size_t region_live; /* pieces from the region not yet freed */
static size_t region_misses; /* pieces that did not fit and came from malloc, ever */

/* The last tree mt_json_parse made wholly in the region and its number of pieces: mt_json_delete drops them at once. */
static struct {
    const cJSON *root;
    size_t pieces;
} whole_tree;

static void *region_alloc(size_t size)
{
    size = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (region != NULL && size <= REGION_SIZE - region_used) {
        void *p = region + region_used;
        region_used += size;
        region_live++;
        return p;
    }
    region_misses++;
    return malloc(size);
}

static void region_free(void *p)
{
    if (p == NULL)
        return;
    if ((char *)p >= region && (char *)p < region + REGION_SIZE) {
        if (--region_live == 0)
            region_used = 0; /* everything handed out is back: start over */
        return;
    }
    free(p);
}

void mt_json_use_region(void)
{
    if (region == NULL && (region = aligned_alloc(ALIGN, REGION_SIZE)) == NULL)
        return; /* plain malloc stays in use */
    cJSON_Hooks hooks = {.malloc_fn = region_alloc, .free_fn = region_free};
    cJSON_InitHooks(&hooks);
}

mt_json_region_mark_t mt_json_region_mark(void)
{
    whole_tree.root = NULL;
    return (mt_json_region_mark_t){region_live, region_misses};
}

void mt_json_region_parsed(const cJSON *root, mt_json_region_mark_t mark)
{
    if (root != NULL && region != NULL && region_misses == mark.misses) {
        whole_tree.root = root;
        whole_tree.pieces = region_live - mark.live;
    }
}

void mt_json_delete(cJSON *root)
{
    if (root == NULL || root != whole_tree.root) {
        cJSON_Delete(root);
        return;
    }
    whole_tree.root = NULL;
    region_live -= whole_tree.pieces; /* the tree's nodes and strings, none freed on its own */
    if (region_live == 0)
        region_used = 0;
}

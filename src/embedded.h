/*
 * Files compiled into the binary by src/tools/embed.c: the framework's Lua
 * modules. A table ends with an entry whose name is NULL.
 */
#ifndef MT_EMBEDDED_H
#define MT_EMBEDDED_H

#include <stddef.h>

typedef struct st_mt_embedded_t {
    const char *name;
    const char *data;
    size_t len;
} mt_embedded_t;

extern const mt_embedded_t mt_embedded_lua[];

const mt_embedded_t *mt_embedded_find(const mt_embedded_t *table, const char *name);

#endif

/*
 * An arena: many small allocations freed together. The schema model of an
 * app (types, fields, names, descriptions) lives in one, owned by the app
 * generation, so retiring a generation frees it in one call.
 */
#ifndef MT_ARENA_H
#define MT_ARENA_H

#include <stddef.h>

typedef struct st_mt_arena_chunk_t mt_arena_chunk_t;

typedef struct st_mt_arena_t {
    mt_arena_chunk_t *chunks;
    size_t used; /* bytes used in the first chunk */
} mt_arena_t;

/* Zeroed memory; aborts only when the process is out of memory. */
void *mt_arena_alloc(mt_arena_t *arena, size_t size);
char *mt_arena_strndup(mt_arena_t *arena, const char *s, size_t len);
void mt_arena_free(mt_arena_t *arena);

#endif

/*
 * Arena allocator: chunks of 16 KiB (or one chunk per request larger than
 * that), handed out in 16-byte aligned pieces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "arena.h"

#define CHUNK_SIZE 16384
#define ALIGN 16

struct st_mt_arena_chunk_t {
    mt_arena_chunk_t *next;
    size_t size;
    _Alignas(ALIGN) char bytes[];
};

void *mt_arena_alloc(mt_arena_t *arena, size_t size)
{
    size = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    mt_arena_chunk_t *chunk = arena->chunks;
    if (chunk == NULL || arena->used + size > chunk->size) {
        size_t chunk_size = size > CHUNK_SIZE ? size : CHUNK_SIZE;
        if ((chunk = malloc(sizeof(*chunk) + chunk_size)) == NULL) {
            fprintf(stderr, "moontide: out of memory\n");
            abort();
        }
        chunk->size = chunk_size;
        if (size > CHUNK_SIZE && arena->chunks != NULL) {
            /* a big piece gets its own chunk, behind the current one */
            chunk->next = arena->chunks->next;
            arena->chunks->next = chunk;
            memset(chunk->bytes, 0, size);
            return chunk->bytes;
        }
        chunk->next = arena->chunks;
        arena->chunks = chunk;
        arena->used = 0;
    }
    void *p = chunk->bytes + arena->used;
    arena->used += size;
    memset(p, 0, size);
    return p;
}

char *mt_arena_strndup(mt_arena_t *arena, const char *s, size_t len)
{
    char *copy = mt_arena_alloc(arena, len + 1);
    memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}

void mt_arena_free(mt_arena_t *arena)
{
    mt_arena_chunk_t *chunk = arena->chunks;
    while (chunk != NULL) {
        mt_arena_chunk_t *next = chunk->next;
        free(chunk);
        chunk = next;
    }
    arena->chunks = NULL;
    arena->used = 0;
}

/*
 * A growable byte buffer, used to build response bodies before they are
 * handed to h2o. Reused across requests, so it only grows.
 */
#ifndef MT_BUF_H
#define MT_BUF_H

#include <stdlib.h>
#include <string.h>

typedef struct st_mt_buf_t {
    char *data;
    size_t len;
    size_t cap;
} mt_buf_t;

/* Makes room for `extra` more bytes; returns 0, or -1 when out of memory. */
static inline int mt_buf_reserve(mt_buf_t *buf, size_t extra)
{
    if (buf->len + extra <= buf->cap)
        return 0;
    size_t cap = buf->cap != 0 ? buf->cap : 256;
    while (cap < buf->len + extra)
        cap *= 2;
    char *data = realloc(buf->data, cap);
    if (data == NULL)
        return -1;
    buf->data = data;
    buf->cap = cap;
    return 0;
}

static inline int mt_buf_append(mt_buf_t *buf, const void *bytes, size_t len)
{
    if (len == 0)
        return 0;
    if (mt_buf_reserve(buf, len) != 0)
        return -1;
    memcpy(buf->data + buf->len, bytes, len);
    buf->len += len;
    return 0;
}

static inline void mt_buf_free(mt_buf_t *buf)
{
    free(buf->data);
    *buf = (mt_buf_t){NULL, 0, 0};
}

#endif

/*
 * Compacting a held request's input buffer. See held_input.h.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "held_input.h"

/* A request this long or longer keeps its buffer: compacting it would save little. */
#define COMPACT_BELOW 2048

typedef struct st_move_t {
    const char *from, *end; /* the old buffer's bytes */
    char *to;
} move_t;

static void move_ptr(const move_t *m, const char **p)
{
    if (*p != NULL && *p >= m->from && *p < m->end)
        *p = m->to + (*p - m->from);
}

static void move_iovec(const move_t *m, h2o_iovec_t *v)
{
    move_ptr(m, (const char **)&v->base);
}

static void move_headers(const move_t *m, h2o_headers_t *headers)
{
    for (size_t i = 0; i != headers->size; i++) {
        h2o_header_t *header = headers->entries + i;
        if (!h2o_iovec_is_token(header->name))
            move_iovec(m, header->name); /* h2o made this one in the pool; its bytes may be the request's */
        move_iovec(m, &header->value);
        move_ptr(m, &header->orig_name);
    }
}

void mt_held_input_compact(mt_call_t *call)
{
    h2o_req_t *req = call->req;
    if (req->version >= 0x200 || req->entity.base != NULL || req->conn->callbacks->get_socket == NULL)
        return;
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    h2o_buffer_t *old = sock != NULL ? sock->input : NULL;
    if (old == NULL || old->bytes == NULL || old->size == 0 || old->size >= COMPACT_BELOW ||
        old->size == old->_prototype->_initial_buf.capacity)
        return; /* (a buffer of the prototype's capacity would go back to h2o's recycling list when freed) */
    h2o_buffer_t *copy = malloc(offsetof(h2o_buffer_t, _buf) + old->size);
    if (copy == NULL)
        return; /* the request keeps the buffer it has */
    memcpy(copy->_buf, old->bytes, old->size);
    copy->capacity = old->size;
    copy->size = old->size;
    copy->bytes = copy->_buf;
    copy->_prototype = old->_prototype;
    copy->_fd = -1;

    move_t m = {old->bytes, old->bytes + old->size, copy->_buf};
    move_iovec(&m, &req->input.authority);
    move_iovec(&m, &req->input.method);
    move_iovec(&m, &req->input.path);
    move_iovec(&m, &req->authority);
    move_iovec(&m, &req->method);
    move_iovec(&m, &req->path);
    move_iovec(&m, &req->path_normalized);
    move_iovec(&m, &req->upgrade);
    move_headers(&m, &req->headers);
    move_headers(&m, &req->res.headers); /* echoes of request headers (X-Request-ID, CORS origin) */
    for (size_t i = 0; i != call->num_params; i++)
        move_ptr(&m, &call->params[i].base);
    move_iovec(&m, &call->id);

    sock->input = copy;
    h2o_buffer_dispose(&old);
}

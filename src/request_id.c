/*
 * Request IDs. A client (or a proxy in front) that sends X-Request-ID keeps
 * its ID, so one ID follows a request across services; anything else gets
 * 32 hex digits from OpenSSL's CSPRNG. The random bytes are taken 512 at a
 * time (32 IDs per call) into a per-process buffer that a fork empties, so
 * two workers never hand out the same bytes. Only visible ASCII is accepted
 * from the client (no spaces, no controls): the ID goes into log lines as
 * it is.
 */
#include <openssl/rand.h>
#include <pthread.h>
#include "request_id.h"

#define ID_BYTES 16

static unsigned char random_bytes[512];
static size_t random_left;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void forget_random(void)
{
    random_left = 0; /* a forked child must not reuse its parent's bytes */
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, forget_random);
}

static int is_sane(h2o_iovec_t id)
{
    if (id.len == 0 || id.len > MT_REQUEST_ID_MAX)
        return 0;
    for (size_t i = 0; i != id.len; i++)
        if ((unsigned char)id.base[i] < 0x21 || (unsigned char)id.base[i] > 0x7e)
            return 0;
    return 1;
}

static h2o_iovec_t generate(h2o_mem_pool_t *pool)
{
    static const char hex[] = "0123456789abcdef";
    pthread_once(&atfork_once, register_atfork);
    if (random_left < ID_BYTES) {
        if (RAND_bytes(random_bytes, sizeof(random_bytes)) != 1)
            abort(); /* no randomness from OpenSSL: nothing sensible to hand out */
        random_left = sizeof(random_bytes);
    }
    const unsigned char *r = random_bytes + (random_left -= ID_BYTES);
    char *out = h2o_mem_alloc_pool(pool, ID_BYTES * 2);
    for (size_t i = 0; i != ID_BYTES; i++) {
        out[2 * i] = hex[r[i] >> 4];
        out[2 * i + 1] = hex[r[i] & 15];
    }
    return h2o_iovec_init(out, ID_BYTES * 2);
}

h2o_iovec_t mt_request_id_assign(h2o_req_t *req)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-request-id"), -1);
    h2o_iovec_t id = i >= 0 && is_sane(req->headers.entries[i].value) ? req->headers.entries[i].value : generate(&req->pool);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, NULL, id.base, id.len);
    return id;
}

h2o_iovec_t mt_request_id_of(h2o_req_t *req)
{
    ssize_t i = h2o_find_header_by_str(&req->res.headers, H2O_STRLIT("x-request-id"), -1);
    return i >= 0 ? req->res.headers.entries[i].value : mt_request_id_assign(req);
}

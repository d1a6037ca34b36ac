/*
 * Request IDs. A client (or a proxy in front) that sends X-Request-ID keeps
 * its ID, so one ID follows a request across services; anything else gets
 * 32 hex digits: 64 random bits drawn from OpenSSL's CSPRNG once per process
 * (a fork draws again, so workers differ), then 64 bits that are a counter
 * scrambled by splitmix64's finalizer, a bijection, so that one process never
 * hands out the same ID twice and IDs do not look sequential. IDs name
 * requests in logs; they are not secrets, so a CSPRNG draw per request would
 * be work they do not need. Only visible ASCII
 * is accepted from the client (no spaces, no controls): the ID goes into log
 * lines as it is.
 *
 * The ID lives in the request's headers (a generated one is added there, as
 * a proxy in front would), which is where the access log reads it. It goes
 * back in the response when the client sent it, and on every error answer
 * (4xx, 5xx) so that a failure can be found in the log. Not on every
 * response: h2o 2.2.5's HPACK encoder adds each new value of a header it has
 * no token for to the connection's table and searches that table linearly
 * for every header it sends, so a unique value per response cost HTTP/2 a
 * third of a small request's instructions.
 *
 * An ID is made when something first needs it (an error line, the access
 * log, an error answer, the handler reading req.id or the headers), not for
 * every request: a success nobody logs never needs one.
 */
#include <openssl/rand.h>
#include <pthread.h>
#include <stdint.h>
#include "request_id.h"

#define ID_BYTES 16

static uint64_t process_bits, counter;
static int seeded;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void forget_seed(void)
{
    seeded = 0; /* a forked child draws its own bits */
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, forget_seed);
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

static uint64_t scramble(uint64_t x)
{
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

static void write_hex(char *out, uint64_t v)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--, v >>= 4)
        out[i] = hex[v & 15];
}

static h2o_iovec_t generate(h2o_mem_pool_t *pool)
{
    if (!seeded) {
        pthread_once(&atfork_once, register_atfork);
        if (RAND_bytes((unsigned char *)&process_bits, sizeof(process_bits)) != 1 ||
            RAND_bytes((unsigned char *)&counter, sizeof(counter)) != 1)
            abort(); /* no randomness from OpenSSL: nothing sensible to hand out */
        seeded = 1;
    }
    char *out = h2o_mem_alloc_pool(pool, ID_BYTES * 2);
    write_hex(out, process_bits);
    write_hex(out + 16, scramble(counter++));
    return h2o_iovec_init(out, ID_BYTES * 2);
}

/* The orig_name of an X-Request-ID request header we put there: its address tells our IDs from the client's. */
static const char generated_mark[] = "x-request-id";

/* The index of the request's ID in req->headers, made first when the client sent none, or no sane one. */
static size_t id_index(h2o_req_t *req)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-request-id"), -1);
    if (i >= 0 && (req->headers.entries[i].orig_name == generated_mark || is_sane(req->headers.entries[i].value)))
        return (size_t)i;
    h2o_iovec_t id = generate(&req->pool);
    if (i >= 0) {
        req->headers.entries[i].value = id;
    } else {
        h2o_add_header_by_str(&req->pool, &req->headers, H2O_STRLIT("x-request-id"), 0, NULL, id.base, id.len);
        i = (ssize_t)req->headers.size - 1;
    }
    req->headers.entries[i].orig_name = generated_mark;
    return (size_t)i;
}

h2o_iovec_t mt_request_id_assign(h2o_req_t *req)
{
    size_t i = id_index(req); /* first: it may move the entries */
    return req->headers.entries[i].value;
}

void mt_request_id_echo(h2o_req_t *req)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-request-id"), -1);
    int sent_by_client = i >= 0 && req->headers.entries[i].orig_name != generated_mark &&
                         is_sane(req->headers.entries[i].value);
    if (!sent_by_client && req->res.status < 400)
        return; /* a success keeps a made-up ID to itself (and need not make one) */
    h2o_iovec_t id = mt_request_id_assign(req);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, NULL, id.base, id.len);
}

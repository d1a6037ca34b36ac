/*
 * libFuzzer target for what moontide reads out of a URL and a Cookie header
 * (request.c): the input is at once a query string (mt_query_parse, on a
 * request whose target is "/q?" and the input), a string to percent-decode
 * (mt_url_decode, with '+' as space and without) and a Cookie header's value
 * (mt_cookie_next, which binding reads cookies with).
 *
 * Each is checked against a decoder written again here from its description:
 * a '%' before two hex digits is that byte, anything else is itself; pairs
 * are split at '&', then at their first '='. Nothing decodes longer than it
 * was, every pair lies inside what it was read from, and what is written
 * back (pairs percent-encoded and joined with '&'; cookies joined with "; ")
 * reads back to the same pairs. Query pairs live in the request's pool,
 * whose chunks ASan sees as one block: comparing each byte with the model is
 * what shows an overrun there.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "request.h"

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_query: %s\n", what);
        abort();
    }
}

static int hex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The model of mt_url_decode, into `out` (as long as the input at least). */
static size_t model_decode(const char *s, size_t len, int plus, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%' && len - i >= 3 && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
            out[n++] = (char)(hex(s[i + 1]) * 16 + hex(s[i + 2]));
            i += 2;
        } else {
            out[n++] = s[i] == '+' && plus ? ' ' : s[i];
        }
    }
    return n;
}

/* Percent-encodes all but RFC 3986's unreserved characters (a space as '+' when `plus`); returns the length. */
static size_t encode(const char *s, size_t len, int plus, char *out)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t n = 0;
    for (size_t i = 0; i != len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
            c == '_' || c == '~') {
            out[n++] = (char)c;
        } else if (c == ' ' && plus) {
            out[n++] = '+';
        } else {
            out[n++] = '%';
            out[n++] = digits[c >> 4];
            out[n++] = digits[c & 15];
        }
    }
    return n;
}

static int same(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static void fuzz_decode(const char *data, size_t size, int plus)
{
    char *text = malloc(size + 1), *want = malloc(size + 1), *encoded = malloc(size * 3 + 1);
    check(text != NULL && want != NULL && encoded != NULL, "out of memory");
    if (size != 0)
        memcpy(text, data, size);
    size_t len = mt_url_decode(text, size, plus);
    check(len <= size, "mt_url_decode made its input longer");
    check(same(text, len, want, model_decode(data, size, plus, want)), "mt_url_decode differs from the model");
    if (memchr(data, '%', size) == NULL && (!plus || memchr(data, '+', size) == NULL))
        check(same(text, len, data, size), "text without '%' (or '+') does not decode to itself");
    /* encoding what was decoded, then decoding it, gives it back */
    size_t encoded_len = encode(text, len, plus, encoded);
    check(same(text, len, encoded, mt_url_decode(encoded, encoded_len, plus)), "decoding does not undo encoding");
    free(text);
    free(want);
    free(encoded);
}

/* Parses `query` as the query string of a request; *pairs live in *pool. */
static size_t parse(h2o_req_t *req, const char *query, size_t len, int with_query, mt_query_pair_t **pairs)
{
    char *target = malloc(3 + len); /* exactly the target: ASan sees a read past it */
    check(target != NULL, "out of memory");
    memcpy(target, "/q?", 3);
    if (len != 0)
        memcpy(target + 3, query, len);
    req->path = h2o_iovec_init(target, with_query ? 3 + len : 2);
    req->query_at = with_query ? 2 : SIZE_MAX;
    return mt_query_parse(req, pairs);
}

/* The query's pairs as the model splits them, each compared with what mt_query_parse made. */
static void check_pairs(const char *query, size_t len, const mt_query_pair_t *pairs, size_t n)
{
    char *key = malloc(len + 1), *value = malloc(len + 1);
    check(key != NULL && value != NULL, "out of memory");
    size_t i = 0;
    for (const char *p = query, *end = query + len; p <= end; p++) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        if (amp == NULL)
            amp = end;
        if (amp != p) {
            const char *eq = memchr(p, '=', (size_t)(amp - p));
            const char *key_end = eq != NULL ? eq : amp, *value_at = eq != NULL ? eq + 1 : amp;
            check(i < n, "mt_query_parse made fewer pairs than the query has");
            check(pairs[i].key_len <= (size_t)(key_end - p) && pairs[i].value_len <= (size_t)(amp - value_at),
                  "a pair decoded longer than its text");
            check(same(pairs[i].key, pairs[i].key_len, key, model_decode(p, (size_t)(key_end - p), 1, key)),
                  "a key differs from the model");
            check(same(pairs[i].value, pairs[i].value_len, value, model_decode(value_at, (size_t)(amp - value_at), 1, value)),
                  "a value differs from the model");
            i++;
        }
        p = amp;
    }
    check(i == n, "mt_query_parse made more pairs than the query has");
    free(key);
    free(value);
}

static void fuzz_query(const char *data, size_t size)
{
    h2o_req_t req;
    memset(&req, 0, sizeof(req));
    h2o_mem_init_pool(&req.pool);
    mt_query_pair_t *pairs;

    check(parse(&req, data, size, 0, &pairs) == 0 && pairs == NULL, "a target without '?' has query pairs");
    free(req.path.base);

    size_t n = parse(&req, data, size, 1, &pairs), amps = 0;
    for (size_t i = 0; i != size; i++)
        amps += data[i] == '&';
    check(n <= amps + 1, "more pairs than pieces between '&'");
    check_pairs(data, size, pairs, n);
    free(req.path.base);

    /* written back, encoded, it reads back to the same pairs */
    size_t cap = 1;
    for (size_t i = 0; i != n; i++)
        cap += (pairs[i].key_len + pairs[i].value_len) * 3 + 2;
    char *query = malloc(cap);
    check(query != NULL, "out of memory");
    size_t len = 0;
    for (size_t i = 0; i != n; i++) {
        if (i != 0)
            query[len++] = '&';
        len += encode(pairs[i].key, pairs[i].key_len, i % 2, query + len);
        query[len++] = '=';
        len += encode(pairs[i].value, pairs[i].value_len, i % 2, query + len);
    }
    mt_query_pair_t *again;
    size_t m = parse(&req, query, len, 1, &again);
    check(m == n, "written back, the query has another number of pairs");
    for (size_t i = 0; i != n; i++)
        check(same(again[i].key, again[i].key_len, pairs[i].key, pairs[i].key_len) &&
                  same(again[i].value, again[i].value_len, pairs[i].value, pairs[i].value_len),
              "written back, a pair reads back otherwise");
    free(req.path.base);
    free(query);
    h2o_mem_clear_pool(&req.pool);
}

static void fuzz_cookies(const char *data, size_t size)
{
    /* a cookie takes one byte at least (its '=') */
    mt_slice_t *names = malloc((size + 1) * sizeof(*names)), *values = malloc((size + 1) * sizeof(*values));
    check(names != NULL && values != NULL, "out of memory");
    const char *end = data + size, *cursor = data, *last = data;
    size_t n = 0;
    while (mt_cookie_next(&cursor, end, names + n, values + n)) {
        const mt_slice_t *name = names + n, *value = values + n;
        check(n < size, "more cookies than the header has bytes");
        check(name->base >= last && value->base == name->base + name->len + 1 && value->base + value->len <= end,
              "a cookie outside its header, or out of order");
        check(cursor == value->base + value->len && cursor >= last && cursor <= end,
              "the cursor is not just past the cookie");
        check(memchr(name->base, '=', name->len) == NULL && memchr(name->base, ';', name->len) == NULL &&
                  memchr(value->base, ';', value->len) == NULL && value->base[-1] == '=',
              "a cookie's name holds '=' or ';', or its value ';'");
        check(name->len == 0 || (name->base[0] != ' ' && name->base[0] != ';'), "a cookie name starts with a separator");
        last = cursor;
        n++;
    }
    check(cursor == end, "the cursor is not at the end after the last cookie");

    /* joined with "; ", the cookies read back the same */
    size_t cap = 1;
    for (size_t i = 0; i != n; i++)
        cap += names[i].len + values[i].len + 3;
    char *header = malloc(cap);
    check(header != NULL, "out of memory");
    size_t len = 0;
    for (size_t i = 0; i != n; i++) {
        if (i != 0)
            memcpy(header + len, "; ", 2), len += 2;
        memcpy(header + len, names[i].base, names[i].len), len += names[i].len;
        header[len++] = '=';
        memcpy(header + len, values[i].base, values[i].len), len += values[i].len;
    }
    const char *p = header;
    mt_slice_t name, value;
    for (size_t i = 0; i != n; i++) {
        check(mt_cookie_next(&p, header + len, &name, &value), "written back, a cookie is missing");
        check(same(name.base, name.len, names[i].base, names[i].len) && same(value.base, value.len, values[i].base, values[i].len),
              "written back, a cookie reads back otherwise");
    }
    check(!mt_cookie_next(&p, header + len, &name, &value), "written back, the header has a cookie more");
    free(header);
    free(names);
    free(values);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    fuzz_decode(text, size, 0);
    fuzz_decode(text, size, 1);
    fuzz_query(text, size);
    fuzz_cookies(text, size);
    return 0;
}

/*
 * Lua values to JSON text, written straight into a byte buffer (no cJSON tree
 * on the response path). See json.h for how tables map to arrays and objects.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <lauxlib.h>
#include "json.h"

typedef struct st_encoder_t {
    lua_State *L;
    mt_buf_t *out;
    int top; /* the stack's top as the encoder keeps it: each level's key and value slots are known, not asked for */
    const void *path[MT_JSON_MAX_DEPTH]; /* tables being encoded, for cycles (from CYCLE_WATCH_DEPTH on) */
    int depth;
    const char *err;
} encoder_t;

static const char array_mt_key; /* its address keys the metatable in the registry */

void mt_json_init(lua_State *L)
{
    lua_pushlightuserdata(L, (void *)&array_mt_key);
    lua_newtable(L);
    lua_pushliteral(L, "array");
    lua_setfield(L, -2, "__name");
    lua_rawset(L, LUA_REGISTRYINDEX);
}

void mt_json_push_array_mt(lua_State *L)
{
    lua_pushlightuserdata(L, (void *)&array_mt_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
}

#define APPEND_LITERAL(out, lit) mt_buf_append((out), (lit), sizeof(lit) - 1)

size_t mt_utf8_sequence(const unsigned char *s, size_t left)
{
    unsigned c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    if (n > left)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    /* overlong forms, surrogates and values past U+10FFFF */
    if ((n == 3 && cp < 0x800) || (cp >= 0xd800 && cp <= 0xdfff) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

/* 1: an ASCII byte written as it is (not a control, '"' or '\\'); one load per byte on the common path. */
static const unsigned char plain_ascii[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/*
 * Whether 8 bytes are all plain ASCII (as plain_ascii says), at once: a byte
 * at or over 0x80 shows in its top bit; one under 0x20, or one equal to '"'
 * or '\\' after the XOR, borrows when subtracted from and sets it.
 */
static inline int plain_word(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, tops = 0x8080808080808080ull;
    uint64_t quote = w ^ (ones * '"'), backslash = w ^ (ones * '\\');
    return ((w | (w - ones * 0x20) | (quote - ones) | (backslash - ones)) & tops) == 0;
}

/*
 * Copies to `to` a prefix of s that needs no escaping and returns its
 * length: all of s when no byte of it does (most keys and values), else a
 * prefix that ends at or before the first byte that does. 8 bytes are
 * checked at once, the last 8 by a word that may overlap the one before,
 * a string of 4 to 7 bytes by two 4-byte halves that may overlap.
 */
static size_t copy_plain(const unsigned char *s, size_t len, char *to)
{
    uint64_t w;
    if (len < 8) {
        if (len < 4) {
            size_t plain = 0;
            while (plain < len && plain_ascii[s[plain]])
                to[plain] = (char)s[plain], plain++;
            return plain;
        }
        uint32_t head, tail;
        memcpy(&head, s, 4);
        memcpy(&tail, s + len - 4, 4);
        if (!plain_word((uint64_t)tail << 32 | head))
            return 0;
        memcpy(to, &head, 4);
        memcpy(to + len - 4, &tail, 4);
        return len;
    }
    size_t plain = 0;
    for (; plain + 8 <= len; plain += 8) {
        memcpy(&w, s + plain, 8);
        if (!plain_word(w))
            return plain;
        memcpy(to + plain, &w, 8);
    }
    if (plain == len)
        return len;
    memcpy(&w, s + len - 8, 8);
    if (!plain_word(w))
        return plain;
    memcpy(to + len - 8, &w, 8);
    return len;
}

/*
 * The rest of a string from `plain` on, escaped where it must be (reserve
 * was made for the string as it is). Invalid UTF-8 is written as U+FFFD so
 * the output is always valid JSON. Kept out of line: the plain string's
 * path in mt_json_encode_string then saves no registers it does not use.
 */
__attribute__((noinline)) static int encode_escaped(mt_buf_t *out, const char *str, size_t len, size_t plain)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    out->data[out->len++] = '"';
    size_t run = 0; /* start of bytes that need no escaping */
    for (size_t i = plain; i < len;) {
        unsigned char c = s[i];
        if (plain_ascii[c]) {
            i++;
            continue;
        }
        size_t seq = c >= 0x80 ? mt_utf8_sequence(s + i, len - i) : 0;
        if (seq != 0) {
            i += seq;
            continue;
        }
        if (mt_buf_append(out, str + run, i - run) != 0)
            return -1;
        char esc[6] = {'\\', 0};
        size_t esc_len = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            if (c < 0x20) {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                esc_len = 6;
            } else {
                memcpy(esc, "\\ufffd", 6);
                esc_len = 6;
            }
        }
        if (mt_buf_append(out, esc, esc_len) != 0)
            return -1;
        run = ++i;
    }
    if (mt_buf_append(out, str + run, len - run) != 0 || mt_buf_append(out, "\"", 1) != 0)
        return -1;
    return 0;
}

int mt_json_encode_string(mt_buf_t *out, const char *str, size_t len)
{
    if (mt_buf_reserve(out, len + 2) != 0)
        return -1;
    char *at = out->data + out->len;
    size_t plain = copy_plain((const unsigned char *)str, len, at + 1);
    if (plain != len)
        return encode_escaped(out, str, len, plain);
    at[0] = '"';
    at[len + 1] = '"';
    out->len += len + 2;
    return 0;
}

/* Writes the digits of v (backwards from `end`); returns where they start. */
static char *write_digits(char *end, unsigned long long v)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return end;
}

size_t mt_json_format_number(double n, char *text)
{
    static const double powers[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
    char digits[24], *end = digits + sizeof(digits);
    if (n >= 0 && n < 4294967296.0 && n == (double)(uint32_t)n) { /* counts, ids, indexes: the usual number */
        char *start = write_digits(end, (uint32_t)n);
        memcpy(text, start, (size_t)(end - start));
        return (size_t)(end - start);
    }
    if (n == floor(n) && fabs(n) < 9223372036854775808.0) { /* 2^63: an integral double prints exactly */
        char *start = write_digits(end, (unsigned long long)fabs(n));
        size_t len = 0;
        if (n < 0)
            text[len++] = '-';
        memcpy(text + len, start, (size_t)(end - start));
        return len + (size_t)(end - start);
    }
    /*
     * Few decimals (prices, measures): n * 10^k is a whole number and dividing
     * it back gives n exactly, so "whole.fraction" reads back as n. This
     * avoids printf and strtod on the hot path.
     */
    for (int k = 1; k <= 6; k++) {
        double scaled = n * powers[k];
        if (scaled != floor(scaled) || fabs(scaled) >= 9007199254740992.0 || scaled / powers[k] != n)
            continue;
        unsigned long long v = (unsigned long long)fabs(scaled);
        /* 0.07 * 100 is not whole in binary but 0.07 * 1000 is: drop the zeros that leaves */
        while (v % 10 == 0 && k > 1)
            v /= 10, k--;
        char *start = write_digits(end, v);
        int ndigits = (int)(end - start);
        size_t len = 0;
        if (n < 0)
            text[len++] = '-';
        if (ndigits <= k) { /* 0.00ddd */
            text[len++] = '0';
            text[len++] = '.';
            for (int z = 0; z < k - ndigits; z++)
                text[len++] = '0';
            memcpy(text + len, start, (size_t)ndigits);
            return len + (size_t)ndigits;
        }
        memcpy(text + len, start, (size_t)(ndigits - k));
        len += (size_t)(ndigits - k);
        text[len++] = '.';
        memcpy(text + len, start + ndigits - k, (size_t)k);
        return len + (size_t)k;
    }
    /* otherwise the shortest %g form that reads back as the same double */
    int len = 0;
    for (int precision = 15; precision <= 17; precision++) {
        len = snprintf(text, 32, "%.*g", precision, n);
        if (strtod(text, NULL) == n)
            break;
    }
    return (size_t)len;
}

static int encode_number(encoder_t *e, lua_Number n)
{
    if (!isfinite(n)) {
        e->err = "cannot encode a non-finite number (inf or nan) as JSON";
        return -1;
    }
    if (mt_buf_reserve(e->out, 32) != 0)
        return -1;
    e->out->len += mt_json_format_number(n, e->out->data + e->out->len);
    return 0;
}

static int encode_value(encoder_t *e, int index, int type);

static inline int put_char(mt_buf_t *out, char c)
{
    if (out->len == out->cap && mt_buf_reserve(out, 1) != 0)
        return -1;
    out->data[out->len++] = c;
    return 0;
}

/* Returns the array length when the table's keys are exactly 1..n, else -1. */
static long array_length(lua_State *L, int index)
{
    long count = 0;
    double max = 0;
    lua_pushnil(L);
    while (lua_next(L, index) != 0) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TNUMBER) {
            lua_pop(L, 1);
            return -1;
        }
        double k = lua_tonumber(L, -1);
        if (k < 1 || k != floor(k)) {
            lua_pop(L, 1);
            return -1;
        }
        if (k > max)
            max = k;
        count++;
    }
    return max == (double)count ? count : -1;
}

static int encode_array(encoder_t *e, int index, size_t len)
{
    lua_State *L = e->L;
    if (put_char(e->out, '[') != 0)
        return -1;
    int item = ++e->top;
    for (size_t i = 1; i <= len; i++) {
        if (i > 1 && put_char(e->out, ',') != 0)
            return -1;
        lua_rawgeti(L, index, (int)i);
        if (encode_value(e, item, lua_type(L, item)) != 0)
            return -1;
        lua_settop(L, item - 1);
    }
    e->top--;
    return put_char(e->out, ']');
}

/*
 * Writes the table at `index` as an object. lua_next has begun: its first
 * key, of type `key_type`, and value are the top two slots.
 */
static int encode_members(encoder_t *e, int index, int key_type)
{
    lua_State *L = e->L;
    e->top += 2;
    int value = e->top;
    char separator = '{';
    for (;;) {
        if (put_char(e->out, separator) != 0)
            return -1;
        separator = ',';
        size_t len;
        const char *key;
        if (key_type == LUA_TSTRING) {
            key = lua_tolstring(L, value - 1, &len);
        } else if (key_type == LUA_TNUMBER) {
            lua_pushvalue(L, value - 1); /* converted in a copy: lua_tolstring on the key would confuse lua_next */
            key = lua_tolstring(L, -1, &len);
        } else {
            e->err = "cannot encode a table key that is not a string or a number as JSON";
            return -1;
        }
        if (mt_json_encode_string(e->out, key, len) != 0 || put_char(e->out, ':') != 0)
            return -1;
        if (key_type == LUA_TNUMBER)
            lua_settop(L, value);
        if (encode_value(e, value, lua_type(L, value)) != 0)
            return -1; /* mt_json_encode resets the stack */
        lua_settop(L, value - 1);
        if (lua_next(L, index) == 0)
            break;
        key_type = lua_type(L, value - 1);
    }
    e->top -= 2;
    return put_char(e->out, '}');
}

/*
 * Tables are remembered for the cycle check only from this depth on: a cycle
 * repeats, so it still shows there, and the usual shallow value is spared a
 * lookup per table.
 */
#define CYCLE_WATCH_DEPTH 16

static int encode_table(encoder_t *e, int index)
{
    lua_State *L = e->L;
    if (e->depth >= CYCLE_WATCH_DEPTH) {
        const void *table = lua_topointer(L, index);
        for (int i = CYCLE_WATCH_DEPTH; i < e->depth; i++) {
            if (e->path[i] == table) {
                e->err = "cannot encode a table that contains itself (a cycle) as JSON";
                return -1;
            }
        }
        if (e->depth == MT_JSON_MAX_DEPTH) {
            e->err = "cannot encode tables nested this deeply as JSON";
            return -1;
        }
        e->path[e->depth] = table;
    }
    if ((e->depth & 3) == 0 && !lua_checkstack(L, 32)) { /* a level takes 4 slots at most: room for 4 levels */
        e->err = "out of Lua stack while encoding JSON";
        return -1;
    }
    e->depth++;
    int rc, is_array = 0;
    if (lua_getmetatable(L, index)) { /* most tables have none: the array mark is looked up only then */
        mt_json_push_array_mt(L);
        is_array = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
    }
    if (is_array) {
        rc = encode_array(e, index, lua_objlen(L, index));
        e->depth--;
        return rc;
    }
    lua_pushnil(L);
    if (lua_next(L, index) == 0) {
        rc = mt_buf_append(e->out, "{}", 2); /* an empty table is an object */
    } else if (lua_type(L, -2) == LUA_TSTRING) {
        rc = encode_members(e, index, LUA_TSTRING); /* a string key makes it an object: no need to look further */
    } else {
        lua_pop(L, 2);
        long len = array_length(L, index);
        if (len >= 0) {
            rc = encode_array(e, index, (size_t)len);
        } else {
            lua_pushnil(L);
            lua_next(L, index);
            rc = encode_members(e, index, lua_type(L, -2));
        }
    }
    e->depth--;
    return rc;
}

/* Writes the value at `index`, of type `type`. */
static int encode_value(encoder_t *e, int index, int type)
{
    lua_State *L = e->L;
    switch (type) {
    case LUA_TSTRING: {
        size_t len;
        const char *str = lua_tolstring(L, index, &len);
        return mt_json_encode_string(e->out, str, len);
    }
    case LUA_TTABLE:
        return encode_table(e, index);
    case LUA_TNUMBER:
        return encode_number(e, lua_tonumber(L, index));
    case LUA_TBOOLEAN:
        return lua_toboolean(L, index) ? APPEND_LITERAL(e->out, "true") : APPEND_LITERAL(e->out, "false");
    case LUA_TNIL:
        return APPEND_LITERAL(e->out, "null");
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, index) == NULL)
            return APPEND_LITERAL(e->out, "null");
        /* fallthrough */
    default:
        e->err = type == LUA_TFUNCTION ? "cannot encode a function as JSON"
                                        : "cannot encode a userdata, thread or light userdata as JSON";
        return -1;
    }
}

int mt_json_encode(lua_State *L, int index, mt_buf_t *out, const char **err)
{
    encoder_t e; /* not zeroed as a whole: path is 8 KB and only its entries from CYCLE_WATCH_DEPTH to `depth` are read */
    e.L = L;
    e.out = out;
    e.top = lua_gettop(L);
    e.depth = 0;
    e.err = NULL;
    if (index < 0)
        index = e.top + index + 1;
    int base = e.top;
    if (encode_value(&e, index, lua_type(L, index)) == 0)
        return 0; /* each level left the stack as it found it */
    *err = e.err != NULL ? e.err : "out of memory";
    lua_settop(L, base); /* drops what the failed encode left */
    return -1;
}

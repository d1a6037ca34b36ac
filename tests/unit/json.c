/* Unit tests for src/json_encode.c and src/json_decode.c, through a real Lua state. */
#include <cjson/cJSON.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "tap.h"

static lua_State *L;

/* Encodes the value of a Lua expression; returns the JSON or "ERROR: message". */
static const char *encode(const char *expr)
{
    static mt_buf_t buf;
    static char result[1024];
    char chunk[512];
    snprintf(chunk, sizeof(chunk), "local array = ... return %s", expr);
    if (luaL_loadstring(L, chunk) != 0) {
        snprintf(result, sizeof(result), "LUA: %s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return result;
    }
    mt_json_push_array_mt(L);
    lua_call(L, 1, 1);
    const char *err;
    buf.len = 0;
    int top = lua_gettop(L);
    if (mt_json_encode(L, -1, &buf, &err) != 0)
        snprintf(result, sizeof(result), "ERROR: %s", err);
    else
        snprintf(result, sizeof(result), "%.*s", (int)buf.len, buf.data);
    ok(lua_gettop(L) == top, "the stack is balanced after encoding %s", expr);
    lua_settop(L, 0);
    return result;
}

static void expect(const char *expr, const char *want)
{
    const char *got = encode(expr);
    ok(strcmp(got, want) == 0, "%s encodes as %s (got %s)", expr, want, got);
}

static void expect_error(const char *expr, const char *fragment)
{
    const char *got = encode(expr);
    ok(strncmp(got, "ERROR: ", 7) == 0 && strstr(got, fragment) != NULL, "%s is refused with '%s' (got %s)", expr, fragment,
       got);
}

static void test_encode(void)
{
    expect("nil", "null");
    expect("true", "true");
    expect("42", "42");
    expect("-7", "-7");
    expect("3.0", "3");
    expect("0", "0");
    expect("-0.0", "0");
    expect("4294967295", "4294967295"); /* the largest of the 32-bit fast path */
    expect("4294967296", "4294967296"); /* the first past it */
    expect("4294967295.5", "4294967295.5");
    expect("0.1", "0.1");
    expect("1/3", "0.3333333333333333");
    expect("12.5", "12.5");
    expect("0.05", "0.05");
    expect("-0.001", "-0.001");
    expect("-0.5", "-0.5");
    expect("1234567.125", "1234567.125");
    expect("0.1 + 0.2", "0.30000000000000004");
    expect("1e-7", "1e-07");
    expect("123456.000001", "123456.000001");
    expect("-1e15 - 0.5", "-1000000000000000.5");
    expect("2^53", "9007199254740992");
    expect("-2^60", "-1152921504606846976");
    expect("1e300", "1e+300");
    expect("2^63", "9.223372036854776e+18");
    expect("'plain'", "\"plain\"");
    expect("''", "\"\"");
    expect("'a\"b\\\\c\\n\\t\\1'", "\"a\\\"b\\\\c\\n\\t\\u0001\"");
    expect("'caf\\195\\169'", "\"caf\xc3\xa9\"");
    expect("'bad\\255x'", "\"bad\\ufffdx\"");
    expect("'\\237\\160\\128'", "\"\\ufffd\\ufffd\\ufffd\""); /* an encoded surrogate is not UTF-8 */
    expect("{}", "{}");
    expect("{1, 2, 3}", "[1,2,3]");
    expect("{[1]='a', [2]='b'}", "[\"a\",\"b\"]");
    expect("{[2]='b'}", "{\"2\":\"b\"}");
    expect("{1, nil, 3}", "{\"1\":1,\"3\":3}");
    expect("setmetatable({}, array)", "[]");
    expect("setmetatable({1, 2}, array)", "[1,2]");
    expect("{a = {b = {c = {}}}}", "{\"a\":{\"b\":{\"c\":{}}}}");
    expect("{x = nil}", "{}");
    expect("{[1.5] = true}", "{\"1.5\":true}");
    expect_error("1/0", "non-finite");
    expect_error("0/0", "non-finite");
    expect_error("{f = print}", "function");
    expect_error("(function() local t = {} t.self = t return t end)()", "cycle");
    expect_error("(function() local t = {} local u = {t} t[1] = u return {t} end)()", "cycle");
    expect_error("{[true] = 1}", "key");
    expect_error("coroutine.create(print)", "thread");
    expect("(function() local t = {} return {t, t} end)()", "[{},{}]"); /* shared, not a cycle */
    expect_error("(function() local t = {} for i = 1, 1100 do t = {t} end return t end)()", "deeply");
    /* tables are watched for cycles from depth 16 on: one that begins deeper is caught too */
    expect_error("(function() local t = {} local d = t for i = 1, 20 do d.n = {} d = d.n end "
                 "local a, b = {}, {} d.n = a a.x = b b.y = a return t end)()", "cycle");
    char nested[1024];
    memset(nested, '[', 400);
    memset(nested + 400, ']', 400);
    nested[800] = '\0';
    nested[399] = '{', nested[400] = '}'; /* the innermost table is empty: an object */
    expect("(function() local t = {} for i = 1, 399 do t = {t} end return t end)()", nested);
    expect("{[1.5] = {a = {1, 2}}}", "{\"1.5\":{\"a\":[1,2]}}");
    expect("{{a = 1}, {b = 'x'}, setmetatable({}, array)}", "[{\"a\":1},{\"b\":\"x\"},[]]");
    expect("{a = {1, {b = {c = 'deep'}}, 3}}", "{\"a\":[1,{\"b\":{\"c\":\"deep\"}},3]}");
}

static void expect_decode(const char *json, const char *reencoded)
{
    mt_json_error_t err;
    mt_buf_t buf = {0};
    const char *encode_err;
    int same = mt_json_decode(L, json, strlen(json), &err) == 0 && mt_json_encode(L, -1, &buf, &encode_err) == 0 &&
               buf.len == strlen(reencoded) && memcmp(buf.data, reencoded, buf.len) == 0;
    ok(same, "%s decodes and encodes back as %s (got %.*s)", json, reencoded, (int)buf.len, buf.data ? buf.data : "");
    mt_buf_free(&buf);
    lua_settop(L, 0);
}

static void expect_invalid(const char *json, size_t offset)
{
    mt_json_error_t err = {0, NULL};
    int rc = mt_json_decode(L, json, strlen(json), &err);
    ok(rc != 0 && err.offset == offset && err.reason != NULL && lua_gettop(L) == 0,
       "'%s' is invalid at byte %zu (got %zu: %s)", json, offset, err.offset, err.reason ? err.reason : "");
    lua_settop(L, 0);
}

static void test_decode(void)
{
    expect_decode("{\"a\":1}", "{\"a\":1}");
    expect_decode("[]", "[]");
    expect_decode("{\"a\":[]}", "{\"a\":[]}");
    expect_decode("[1,null,3]", "[1,null,3]");
    expect_decode("{\"a\":null}", "{}");
    expect_decode("  \"x\"  \t", "\"x\"");
    expect_decode("12.5", "12.5");
    expect_decode("{\"s\":\"\\u00e9\\n\"}", "{\"s\":\"\xc3\xa9\\n\"}");
    expect_invalid("", 0);
    expect_invalid("{\"a\":1} x", 8);
    expect_invalid("{\"a\":", 5);
    expect_invalid("{'a':1}", 1);
    expect_invalid("[1,]", 3);
    /* stricter than cJSON alone: RFC 8259 numbers, no control characters in strings, valid UTF-8, no NUL */
    expect_invalid("01", 1);
    expect_invalid("-.5", 1);
    expect_invalid("1.", 2);
    expect_invalid("1.e3", 2);
    expect_invalid("[\"a\tb\"]", 3);
    expect_invalid("[\"a\001b\"]", 3);
    expect_invalid("\f[1]", 0);
    expect_invalid("[\"\\u0000\"]", 2);
    expect_invalid("[\"x\\q\"]", 3);
    expect_invalid("[\"\\u12\"]", 2);
    expect_invalid("[\"\xff\"]", 2);
    expect_invalid("[\"\xc3\"]", 2);
    expect_invalid("[\"\xed\xa0\x80\"]", 2);
    expect_invalid("[\"a\"", 4);
    expect_decode("[\"\\u00e9\\ud83d\\ude00\", -0.5e-3, 1E+2, true, false, null]",
                  "[\"\xc3\xa9\xf0\x9f\x98\x80\",-0.0005,100,true,false,null]");

    expect_decode("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", "[\"\\\"\\\\/\\b\\f\\n\\r\\t\"]");
    expect_invalid("[\"\\udc00\"]", 2);       /* a lone low surrogate */
    expect_invalid("[\"\\ud83d\"]", 2);       /* a high surrogate alone */
    expect_invalid("[\"\\ud83d\\u0041\"]", 2); /* ... or followed by no low half */
    expect_invalid("[1 2]", 3);
    expect_invalid("tru", 0);
    expect_invalid("1e", 2);
    expect_invalid("1e+", 3);

    /* nesting: cJSON refuses past its limit without recursing the C stack away */
    static char deep[200001];
    memset(deep, '[', 100000);
    memset(deep + 100000, ']', 100000);
    mt_json_error_t err;
    ok(mt_json_decode(L, deep, 200000, &err) != 0 && lua_gettop(L) == 0, "100000 nested arrays are refused");
    lua_settop(L, 0);
}

/* Decimals print in their shortest round-trip form: what the shortest %.Ng that reads back gives. */
static void test_number_format(void)
{
    size_t checked = 0, same = 0;
    for (int scale = 10; scale <= 1000000; scale *= 10) {
        for (long i = 1; i <= 30000; i += i < 2000 ? 1 : 7) {
            double n = (double)i / scale * (i % 3 == 0 ? -1 : 1);
            char ours[32], shortest[40];
            size_t len = mt_json_format_number(n, ours);
            ours[len] = '\0';
            for (int precision = 1; precision <= 17; precision++) {
                snprintf(shortest, sizeof(shortest), "%.*g", precision, n);
                if (strtod(shortest, NULL) == n)
                    break;
            }
            checked++;
            if (strchr(shortest, 'e') != NULL || strcmp(ours, shortest) == 0)
                same++;
            else if (checked - same <= 5)
                ok(0, "%.17g prints as %s, shortest is %s", n, ours, shortest);
        }
    }
    ok(same == checked, "%zu of %zu decimals print in their shortest form", same, checked);
    char text[32];
    text[mt_json_format_number(0.07, text)] = '\0';
    ok(strcmp(text, "0.07") == 0, "0.07 prints as 0.07 (got %s)", text);
    text[mt_json_format_number(19.99, text)] = '\0';
    ok(strcmp(text, "19.99") == 0, "19.99 prints as 19.99 (got %s)", text);
}

/* Every number reads as the double strtod gives, on the fast path and off it. */
static void test_numbers(void)
{
    static const char *const edges[] = {
        "0", "-0", "1", "9007199254740992", "9007199254740993", "18446744073709551615", "1e22", "1e23", "1e-22",
        "1e-23", "0.1", "0.30000000000000004", "123456789012345678901234567890", "1.7976931348623157e308",
        "1e309", "-1e309", "4.9e-324", "1e-400", "0.000000000000000000000000001", "2.2250738585072014e-308",
        "12.5", "3.14159265358979323846264338327950288", "100000000000000000000000e-10", "5e-1", "0.0e0",
        "1234567890123456789", "9999999999999999999", "0.00001234", "1E+2", "-12.5E-3",
    };
    uint64_t seed = 42;
    size_t checked = 0, agree = 0;
    char text[96];
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]) + 20000; i++) {
        const char *json = text;
        if (i < sizeof(edges) / sizeof(edges[0])) {
            json = edges[i];
        } else { /* random: up to 25 digits, a fraction point somewhere, an exponent sometimes */
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            int ndigits = 1 + (int)(seed >> 59) % 25, point = (int)(seed >> 40) % (ndigits + 1);
            size_t n = 0;
            if (seed & 1)
                text[n++] = '-';
            for (int d = 0; d < ndigits; d++) {
                seed = seed * 6364136223846793005u + 1442695040888963407u;
                text[n++] = (char)('0' + (d == 0 ? 1 + (seed >> 60) % 9 : (seed >> 60) % 10));
                if (d + 1 == point && d + 1 < ndigits)
                    text[n++] = '.';
            }
            if (seed & 2)
                n += (size_t)snprintf(text + n, sizeof(text) - n, "e%d", (int)((seed >> 20) % 700) - 350);
            text[n] = '\0';
        }
        mt_json_error_t err;
        cJSON *node = mt_json_parse(json, strlen(json), &err);
        double want = strtod(json, NULL);
        checked++;
        if (node != NULL && cJSON_IsNumber(node) && memcmp(&node->valuedouble, &want, sizeof(want)) == 0)
            agree++;
        else if (checked - agree <= 5)
            ok(0, "%s reads as %.17g, strtod says %.17g", json, node ? node->valuedouble : 0.0, want);
        cJSON_Delete(node);
    }
    ok(agree == checked, "%zu of %zu numbers read exactly as strtod reads them", agree, checked);
}

/* One byte as the encoder must write it when it stands alone among plain letters. */
static void expected_byte(unsigned char c, mt_buf_t *want)
{
    char esc[8];
    switch (c) {
    case '"': mt_buf_append(want, "\\\"", 2); return;
    case '\\': mt_buf_append(want, "\\\\", 2); return;
    case '\n': mt_buf_append(want, "\\n", 2); return;
    case '\r': mt_buf_append(want, "\\r", 2); return;
    case '\t': mt_buf_append(want, "\\t", 2); return;
    case '\b': mt_buf_append(want, "\\b", 2); return;
    case '\f': mt_buf_append(want, "\\f", 2); return;
    }
    if (c < 0x20)
        mt_buf_append(want, esc, (size_t)snprintf(esc, sizeof(esc), "\\u%04x", c));
    else if (c >= 0x80) /* alone, never valid UTF-8 */
        mt_buf_append(want, "\\ufffd", 6);
    else
        mt_buf_append(want, (const char *)&c, 1);
}

/* Every byte value at every position of strings up to 20 bytes: the 8-byte fast path and the byte loop agree. */
static void test_string_bytes(void)
{
    size_t checked = 0, same = 0;
    for (size_t len = 1; len <= 20; len++) {
        for (size_t at = 0; at < len; at++) {
            for (int c = 0; c < 256; c++) {
                char text[20];
                memset(text, 'a', len);
                text[at] = (char)c;
                mt_buf_t got = {0}, want = {0};
                mt_json_encode_string(&got, text, len);
                mt_buf_append(&want, "\"", 1);
                mt_buf_append(&want, text, at);
                expected_byte((unsigned char)c, &want);
                mt_buf_append(&want, text + at + 1, len - at - 1);
                mt_buf_append(&want, "\"", 1);
                checked++;
                same += got.len == want.len && memcmp(got.data, want.data, got.len) == 0;
                mt_buf_free(&got);
                mt_buf_free(&want);
            }
        }
    }
    ok(same == checked, "%zu of %zu strings with one byte of each value at each place encode as expected", same,
       checked);
}

/* Looks up `names` in order in `json`, one field after another; returns each member's value as a digit string ("-" for none). */
static void members_found(const char *json, const char *const *names, size_t num_names, char *found)
{
    mt_json_error_t err;
    cJSON *object = mt_json_parse(json, strlen(json), &err);
    mt_json_members_t members;
    mt_json_members_init(&members, object);
    for (size_t i = 0; i != num_names; i++) {
        const cJSON *member = mt_json_members_find(&members, names[i]);
        ok(member == mt_json_member(object, names[i]), "in %s, '%s' is the member mt_json_member finds", json, names[i]);
        found[i] = member != NULL ? (char)('0' + (int)member->valuedouble) : '-';
    }
    found[num_names] = '\0';
    cJSON_Delete(object);
}

static void test_members_in_order(void)
{
    static const char *const abc[] = {"a", "b", "c"};
    char found[8];
    members_found("{\"a\":1,\"b\":2,\"c\":3}", abc, 3, found);
    ok(strcmp(found, "123") == 0, "members sent in field order are found (got %s)", found);
    members_found("{\"c\":3,\"a\":1,\"b\":2}", abc, 3, found);
    ok(strcmp(found, "123") == 0, "members sent in another order are found (got %s)", found);
    members_found("{\"a\":1,\"c\":3}", abc, 3, found);
    ok(strcmp(found, "1-3") == 0, "an absent member is none, the next is still found (got %s)", found);
    members_found("{\"a\":1,\"b\":2,\"a\":7,\"c\":3}", abc, 3, found);
    ok(strcmp(found, "123") == 0, "a repeated key gives its first member, as mt_json_member does (got %s)", found);
    members_found("{\"b\":2,\"a\":1,\"c\":3,\"b\":8}", abc, 3, found);
    ok(strcmp(found, "123") == 0, "out of order, a repeated key still gives its first member (got %s)", found);
}

static cJSON *parse(const char *json)
{
    mt_json_error_t err;
    return mt_json_parse(json, strlen(json), &err);
}

/* Trees parsed into the region and freed at once leave it as cJSON_Delete would: rewound when nothing is left. */
static void test_region_trees(void)
{
    static const char item[] = "{\"name\":\"Widget\",\"tags\":[\"a\",\"b\"],\"dims\":{\"w\":1.5}}";
    mt_json_use_region();
    cJSON *first = parse(item);
    mt_json_delete(first);
    cJSON *again = parse(item);
    ok(again == first, "a tree freed at once leaves the region empty: the next parse starts where the first did");
    cJSON *second = parse("[1,2,3]");
    mt_json_delete(again); /* no longer the last tree parsed: freed piece by piece */
    cJSON *third = parse("{\"x\":\"kept apart\"}");
    ok(third != first, "while a tree is live the region is not rewound under it");
    ok(cJSON_GetArraySize(second) == 3 && second->child->next->next->valuedouble == 3.0, "a live tree is intact");
    mt_json_delete(third);
    mt_json_delete(second);
    cJSON *last = parse(item);
    ok(last == first, "once every tree is freed, either way, the region is rewound");
    cJSON *malformed = parse("{\"a\":[1,2,}");
    ok(malformed == NULL, "a malformed text gives no tree");
    mt_json_delete(last);
    ok(parse("1") == first, "a failed parse leaves nothing behind in the region");
}

int main(void)
{
    L = luaL_newstate();
    luaL_openlibs(L);
    mt_json_init(L);
    test_encode();
    test_decode();
    test_numbers();
    test_number_format();
    test_members_in_order();
    test_string_bytes();
    test_region_trees();
    lua_close(L);
    return tap_done();
}

/*
 * JSON text to Lua values, through a cJSON tree built by our own parser. The
 * tree is what the validator (next stage) walks before any Lua table is
 * built; here it is turned into tables in one pass. See json.h for how null
 * maps.
 */
#include <cjson/cJSON.h>
#include <lauxlib.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"

static int push_item(lua_State *L, const cJSON *item, int depth);

static int push_children(lua_State *L, const cJSON *item, int depth)
{
    int is_array = MT_JSON_IS(item, cJSON_Array);
    lua_createtable(L, is_array ? cJSON_GetArraySize(item) : 0, is_array ? 0 : cJSON_GetArraySize(item));
    int table = lua_gettop(L), n = 0;
    for (const cJSON *child = item->child; child != NULL; child = child->next) {
        if (is_array) {
            if (MT_JSON_IS(child, cJSON_NULL))
                lua_pushlightuserdata(L, NULL);
            else if (push_item(L, child, depth + 1) != 0)
                return -1;
            lua_rawseti(L, table, ++n);
        } else if (!MT_JSON_IS(child, cJSON_NULL)) {
            lua_pushstring(L, child->string);
            if (push_item(L, child, depth + 1) != 0)
                return -1;
            lua_rawset(L, table);
        }
    }
    if (is_array) {
        mt_json_push_array_mt(L);
        lua_setmetatable(L, table);
    }
    return 0;
}

static int push_item(lua_State *L, const cJSON *item, int depth)
{
    if (depth > MT_JSON_MAX_DEPTH || !lua_checkstack(L, 4))
        return -1;
    switch (item->type & 0xff) {
    case cJSON_False:
        lua_pushboolean(L, 0);
        return 0;
    case cJSON_True:
        lua_pushboolean(L, 1);
        return 0;
    case cJSON_NULL:
        lua_pushnil(L);
        return 0;
    case cJSON_Number:
        lua_pushnumber(L, item->valuedouble);
        return 0;
    case cJSON_String:
        lua_pushstring(L, item->valuestring);
        return 0;
    case cJSON_Array:
    case cJSON_Object:
        return push_children(L, item, depth);
    default:
        return -1;
    }
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * JSON text to a cJSON tree in one pass, strict to RFC 8259 (cJSON's own
 * parser takes 01, -.5, 1. and raw control characters in strings, and its
 * number parsing goes through localeconv and strtod for every number).
 * Strings must be valid UTF-8 and cannot hold U+0000: the tree's strings are
 * C strings. Nodes come from cJSON_malloc, so cJSON_Delete frees the tree and
 * the server's region allocator serves it (json_alloc.c).
 */
typedef struct st_parser_t {
    const unsigned char *p, *end;
    const char *reason;
    int depth;
} parser_t;

static cJSON *parse_value(parser_t *s);

static void skip_space(parser_t *s)
{
    while (s->p < s->end && is_space((char)*s->p))
        s->p++;
}

static void *fail(parser_t *s, const char *reason)
{
    s->reason = reason;
    return NULL;
}

static cJSON *new_node(parser_t *s, int type)
{
    cJSON *node = cJSON_malloc(sizeof(*node));
    if (node == NULL)
        return fail(s, "Out of memory");
    memset(node, 0, sizeof(*node));
    node->type = type;
    return node;
}

static int hex4(const unsigned char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int c = p[i], d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v << 4 | (unsigned)d;
    }
    *out = v;
    return 0;
}

/* Reads \uXXXX (and the low half of a surrogate pair) at s->p; returns the code point, or 0 after fail(). */
static unsigned read_escape_u(parser_t *s)
{
    const unsigned char *escape = s->p;
    unsigned cp, low;
    if (s->end - s->p < 6 || hex4(s->p + 2, &cp) != 0)
        return fail(s, "Invalid \\uXXXX escape"), 0;
    if (cp == 0)
        return fail(s, "\\u0000 (NUL) in strings is not supported"), 0;
    s->p += 6;
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return s->p = escape, fail(s, "Invalid \\uXXXX escape: a lone low surrogate"), 0;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u' || hex4(s->p + 2, &low) != 0 || low < 0xdc00 ||
            low > 0xdfff)
            return s->p = escape, fail(s, "Invalid \\uXXXX escape: a high surrogate without its low half"), 0;
        s->p += 6;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
    }
    return cp;
}

static size_t put_utf8(unsigned char *out, unsigned cp)
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xc0 | cp >> 6);
        out[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xe0 | cp >> 12);
        out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (unsigned char)(0xf0 | cp >> 18);
    out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/*
 * Reads the string at s->p (on its opening quote) into a new C string. The
 * first pass checks it and finds its end; an escaped string is decoded in a
 * second pass (decoding never makes it longer), any other copied as it is.
 */
static char *parse_string(parser_t *s)
{
    const unsigned char *start = ++s->p;
    int escaped = 0;
    for (;;) {
        if (s->p >= s->end)
            return fail(s, "Unterminated string");
        unsigned c = *s->p;
        if (c == '"')
            break;
        if (c < 0x20)
            return fail(s, "Invalid control character in a string");
        if (c == '\\') {
            if (s->end - s->p < 2)
                return fail(s, "Unterminated string");
            unsigned char e = s->p[1];
            if (e == 'u') {
                if (read_escape_u(s) == 0)
                    return NULL;
            } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
                s->p += 2;
            } else {
                return fail(s, "Invalid escape in a string");
            }
            escaped = 1;
        } else if (c < 0x80) {
            s->p++;
        } else {
            size_t n = mt_utf8_sequence(s->p, (size_t)(s->end - s->p));
            if (n == 0)
                return fail(s, "Invalid UTF-8 in a string");
            s->p += n;
        }
    }
    size_t raw_len = (size_t)(s->p - start);
    s->p++; /* the closing quote */
    unsigned char *out = cJSON_malloc(raw_len + 1);
    if (out == NULL)
        return fail(s, "Out of memory");
    if (!escaped) {
        memcpy(out, start, raw_len);
        out[raw_len] = '\0';
        return (char *)out;
    }
    parser_t again = {start, start + raw_len, NULL, 0};
    size_t len = 0;
    while (again.p < again.end) {
        if (*again.p != '\\') {
            out[len++] = *again.p++;
            continue;
        }
        switch (again.p[1]) {
        case 'u':
            len += put_utf8(out + len, read_escape_u(&again));
            continue;
        case 'b': out[len++] = '\b'; break;
        case 'f': out[len++] = '\f'; break;
        case 'n': out[len++] = '\n'; break;
        case 'r': out[len++] = '\r'; break;
        case 't': out[len++] = '\t'; break;
        default: out[len++] = again.p[1]; break; /* " \ / */
        }
        again.p += 2;
    }
    out[len] = '\0';
    return (char *)out;
}

static const double exact_powers_of_ten[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                             1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/*
 * Numbers whose digits fit a double exactly and whose power of ten is at
 * most 22 are one multiplication or division, correctly rounded (Clinger's
 * fast path); the rest go to strtod on a NUL-terminated copy.
 */
static cJSON *parse_number(parser_t *s)
{
    const unsigned char *start = s->p;
    uint64_t mantissa = 0;
    int negative = 0, digits = 0, exponent = 0, exact = 1;
    if (*s->p == '-')
        negative = 1, s->p++;
    if (s->p < s->end && *s->p == '0') {
        s->p++; /* a leading zero stands alone */
    } else if (s->p < s->end && *s->p >= '1' && *s->p <= '9') {
        for (; s->p < s->end && *s->p >= '0' && *s->p <= '9'; s->p++) {
            if (digits < 19)
                mantissa = mantissa * 10 + (unsigned)(*s->p - '0'), digits++;
            else
                exponent++, exact = 0;
        }
    } else {
        return fail(s, "Invalid number");
    }
    if (s->p < s->end && *s->p == '.') {
        const unsigned char *fraction = ++s->p;
        for (; s->p < s->end && *s->p >= '0' && *s->p <= '9'; s->p++) {
            if (digits < 19)
                mantissa = mantissa * 10 + (unsigned)(*s->p - '0'), digits += mantissa != 0, exponent--;
            else
                exact = 0;
        }
        if (s->p == fraction)
            return fail(s, "Invalid number");
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        int sign = 1, value = 0;
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            sign = *s->p++ == '-' ? -1 : 1;
        const unsigned char *digits_start = s->p;
        for (; s->p < s->end && *s->p >= '0' && *s->p <= '9'; s->p++)
            value = value < 100000 ? value * 10 + (*s->p - '0') : value;
        if (s->p == digits_start)
            return fail(s, "Invalid number");
        exponent += sign * value;
    }
    double value;
    if (exact && mantissa <= (UINT64_C(1) << 53) && exponent >= -22 && exponent <= 22) {
        value = (double)mantissa;
        value = exponent >= 0 ? value * exact_powers_of_ten[exponent] : value / exact_powers_of_ten[-exponent];
        if (negative)
            value = -value;
    } else {
        char local[64], *text = local;
        size_t len = (size_t)(s->p - start);
        if (len >= sizeof(local) && (text = malloc(len + 1)) == NULL)
            return fail(s, "Out of memory");
        memcpy(text, start, len);
        text[len] = '\0';
        value = strtod(text, NULL); /* the C locale: workers never call setlocale */
        if (text != local)
            free(text);
    }
    cJSON *node = new_node(s, cJSON_Number);
    if (node == NULL)
        return NULL;
    node->valuedouble = value;
    node->valueint = value >= INT_MAX ? INT_MAX : value <= (double)INT_MIN ? INT_MIN : (int)value;
    return node;
}

static cJSON *parse_literal(parser_t *s, const char *word, int type)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return fail(s, "Expecting value");
    s->p += n;
    return new_node(s, type);
}

static cJSON *parse_container(parser_t *s, unsigned char close)
{
    if (++s->depth > MT_JSON_MAX_DEPTH)
        return fail(s, "JSON nested too deeply");
    cJSON *container = new_node(s, close == '}' ? cJSON_Object : cJSON_Array), *last = NULL;
    if (container == NULL)
        return NULL;
    s->p++;
    skip_space(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        s->depth--;
        return container;
    }
    for (;;) {
        char *key = NULL;
        skip_space(s);
        if (close == '}') {
            if (s->p >= s->end || *s->p != '"')
                return fail(s, "Expecting property name enclosed in double quotes"), cJSON_Delete(container), NULL;
            if ((key = parse_string(s)) == NULL)
                return cJSON_Delete(container), NULL;
            skip_space(s);
            if (s->p >= s->end || *s->p != ':')
                return fail(s, "Expecting ':' delimiter"), cJSON_free(key), cJSON_Delete(container), NULL;
            s->p++;
        }
        cJSON *child = parse_value(s);
        if (child == NULL)
            return cJSON_free(key), cJSON_Delete(container), NULL;
        child->string = key;
        /* cJSON's list: prev links back, and the first child's prev is the last one */
        if (last == NULL) {
            container->child = child;
        } else {
            last->next = child;
            child->prev = last;
        }
        last = child;
        container->child->prev = last;
        skip_space(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == close) {
            s->p++;
            s->depth--;
            return container;
        }
        fail(s, close == '}' ? "Expecting ',' delimiter or '}'" : "Expecting ',' delimiter or ']'");
        return cJSON_Delete(container), NULL;
    }
}

static cJSON *parse_value(parser_t *s)
{
    skip_space(s);
    if (s->p >= s->end)
        return fail(s, "Expecting value: unexpected end of input");
    switch (*s->p) {
    case '{': return parse_container(s, '}');
    case '[': return parse_container(s, ']');
    case 't': return parse_literal(s, "true", cJSON_True);
    case 'f': return parse_literal(s, "false", cJSON_False);
    case 'n': return parse_literal(s, "null", cJSON_NULL);
    case '"': {
        char *str = parse_string(s);
        cJSON *node = str != NULL ? new_node(s, cJSON_String) : NULL;
        if (node == NULL)
            return cJSON_free(str), NULL;
        node->valuestring = str;
        return node;
    }
    default:
        if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
            return parse_number(s);
        return fail(s, "Expecting value");
    }
}

cJSON *mt_json_parse(const char *json, size_t len, mt_json_error_t *err)
{
    parser_t parser = {(const unsigned char *)json, (const unsigned char *)json + len, NULL, 0};
    mt_json_region_mark_t mark = mt_json_region_mark();
    cJSON *root = parse_value(&parser);
    if (root != NULL) {
        skip_space(&parser);
        if (parser.p != parser.end) {
            cJSON_Delete(root);
            root = fail(&parser, "Extra data after the JSON value");
        }
    }
    if (root == NULL) {
        err->offset = (size_t)((const char *)parser.p - json);
        err->reason = parser.reason;
    }
    mt_json_region_parsed(root, mark);
    return root;
}

const cJSON *mt_json_member(const cJSON *object, const char *name)
{
    for (const cJSON *child = object->child; child != NULL; child = child->next)
        if (child->string != NULL && child->string[0] == name[0] && strcmp(child->string, name) == 0)
            return child;
    return NULL;
}

void mt_json_members_init(mt_json_members_t *members, const cJSON *object)
{
    members->object = object;
    members->next = object->child;
    members->in_order = 1;
}

const cJSON *mt_json_members_find(mt_json_members_t *members, const char *name)
{
    const cJSON *next = members->next;
    if (members->in_order && next != NULL && next->string != NULL && strcmp(next->string, name) == 0) {
        members->next = next->next;
        return next;
    }
    const cJSON *found = mt_json_member(members->object, name);
    if (found != NULL) /* found out of order: members before `next` may now repeat a name */
        members->in_order = 0;
    return found;
}

int mt_json_push(lua_State *L, const cJSON *item)
{
    int top = lua_gettop(L);
    if (push_item(L, item, 0) != 0) {
        lua_settop(L, top);
        return -1;
    }
    return 0;
}

int mt_json_decode(lua_State *L, const char *json, size_t len, mt_json_error_t *err)
{
    cJSON *root = mt_json_parse(json, len, err);
    if (root == NULL)
        return -1;
    int rc = mt_json_push(L, root);
    mt_json_delete(root);
    if (rc != 0) {
        err->offset = 0;
        err->reason = "JSON nested too deeply";
        return -1;
    }
    return 0;
}

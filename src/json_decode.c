/*
 * JSON text to Lua values, through a cJSON tree. The tree is what the
 * validator (next stage) walks before any Lua table is built; here it is
 * turned into tables in one pass. See json.h for how null maps.
 */
#include <cjson/cJSON.h>
#include <lauxlib.h>
#include "json.h"

static int push_item(lua_State *L, const cJSON *item, int depth);

static int push_children(lua_State *L, const cJSON *item, int depth)
{
    int is_array = cJSON_IsArray(item);
    lua_createtable(L, is_array ? cJSON_GetArraySize(item) : 0, is_array ? 0 : cJSON_GetArraySize(item));
    int table = lua_gettop(L), n = 0;
    for (const cJSON *child = item->child; child != NULL; child = child->next) {
        if (is_array) {
            if (cJSON_IsNull(child))
                lua_pushlightuserdata(L, NULL);
            else if (push_item(L, child, depth + 1) != 0)
                return -1;
            lua_rawseti(L, table, ++n);
        } else if (!cJSON_IsNull(child)) {
            lua_pushstring(L, child->string);
            if (push_item(L, child, depth + 1) != 0)
                return -1;
            lua_rawset(L, table);
        }
    }
    if (is_array) {
        lua_getfield(L, LUA_REGISTRYINDEX, MT_JSON_ARRAY_MT);
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
 * A strict RFC 8259 syntax check before cJSON, which is lenient (it takes
 * 01, -.5, 1., raw control characters in strings) and cannot hold a NUL in
 * a string (it would cut the string there, so \u0000 is refused). Strings
 * must be valid UTF-8. One pass, no allocation.
 */
typedef struct st_syntax_t {
    const unsigned char *p, *end;
    const char *reason;
    int depth;
} syntax_t;

static int syntax_value(syntax_t *s);

static void syntax_space(syntax_t *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int syntax_fail(syntax_t *s, const char *reason)
{
    s->reason = reason;
    return -1;
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

static int syntax_string(syntax_t *s)
{
    s->p++; /* '"' */
    while (s->p < s->end) {
        unsigned c = *s->p;
        if (c == '"') {
            s->p++;
            return 0;
        }
        if (c < 0x20)
            return syntax_fail(s, "Invalid control character in a string");
        if (c == '\\') {
            if (s->end - s->p < 2)
                break;
            unsigned char e = s->p[1];
            if (e == 'u') {
                unsigned cp;
                if (s->end - s->p < 6 || hex4(s->p + 2, &cp) != 0)
                    return syntax_fail(s, "Invalid \\uXXXX escape");
                if (cp == 0)
                    return syntax_fail(s, "\\u0000 (NUL) in strings is not supported");
                s->p += 6;
            } else if (strchr("\"\\/bfnrt", e) != NULL && e != 0) {
                s->p += 2;
            } else {
                return syntax_fail(s, "Invalid escape in a string");
            }
            continue;
        }
        if (c < 0x80) {
            s->p++;
            continue;
        }
        size_t n = mt_utf8_sequence(s->p, (size_t)(s->end - s->p));
        if (n == 0)
            return syntax_fail(s, "Invalid UTF-8 in a string");
        s->p += n;
    }
    return syntax_fail(s, "Unterminated string");
}

static int syntax_digits(syntax_t *s)
{
    const unsigned char *start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > start ? 0 : syntax_fail(s, "Invalid number");
}

static int syntax_number(syntax_t *s)
{
    if (*s->p == '-')
        s->p++;
    if (s->p < s->end && *s->p == '0')
        s->p++; /* a leading zero stands alone */
    else if (syntax_digits(s) != 0)
        return -1;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (syntax_digits(s) != 0)
            return -1;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (syntax_digits(s) != 0)
            return -1;
    }
    return 0;
}

static int syntax_literal(syntax_t *s, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return syntax_fail(s, "Expecting value");
    s->p += n;
    return 0;
}

static int syntax_container(syntax_t *s, unsigned char close)
{
    if (++s->depth > MT_JSON_MAX_DEPTH)
        return syntax_fail(s, "JSON nested too deeply");
    s->p++;
    syntax_space(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        s->depth--;
        return 0;
    }
    for (;;) {
        syntax_space(s);
        if (close == '}') {
            if (s->p >= s->end || *s->p != '"')
                return syntax_fail(s, "Expecting property name enclosed in double quotes");
            if (syntax_string(s) != 0)
                return -1;
            syntax_space(s);
            if (s->p >= s->end || *s->p != ':')
                return syntax_fail(s, "Expecting ':' delimiter");
            s->p++;
        }
        if (syntax_value(s) != 0)
            return -1;
        syntax_space(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == close) {
            s->p++;
            s->depth--;
            return 0;
        }
        return syntax_fail(s, close == '}' ? "Expecting ',' delimiter or '}'" : "Expecting ',' delimiter or ']'");
    }
}

static int syntax_value(syntax_t *s)
{
    syntax_space(s);
    if (s->p >= s->end)
        return syntax_fail(s, "Expecting value: unexpected end of input");
    switch (*s->p) {
    case '{': return syntax_container(s, '}');
    case '[': return syntax_container(s, ']');
    case '"': return syntax_string(s);
    case 't': return syntax_literal(s, "true");
    case 'f': return syntax_literal(s, "false");
    case 'n': return syntax_literal(s, "null");
    default:
        if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
            return syntax_number(s);
        return syntax_fail(s, "Expecting value");
    }
}

cJSON *mt_json_parse(const char *json, size_t len, mt_json_error_t *err)
{
    syntax_t syntax = {(const unsigned char *)json, (const unsigned char *)json + len, NULL, 0};
    if (syntax_value(&syntax) == 0) {
        syntax_space(&syntax);
        if (syntax.p != syntax.end)
            syntax.reason = "Extra data after the JSON value";
    }
    if (syntax.reason != NULL) {
        err->offset = (size_t)((const char *)syntax.p - json);
        err->reason = syntax.reason;
        return NULL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (root == NULL) {
        err->offset = end != NULL && end >= json ? (size_t)(end - json) : 0;
        err->reason = len == 0 || err->offset + 1 >= len ? "Expecting value: unexpected end of input"
                                                         : "Invalid JSON at this position";
        return NULL;
    }
    /* cJSON stops after the first value: anything but space after it is an error */
    while (end < json + len && is_space(*end))
        end++;
    if (end != json + len) {
        cJSON_Delete(root);
        err->offset = (size_t)(end - json);
        err->reason = "Extra data after the JSON value";
        return NULL;
    }
    return root;
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
    cJSON_Delete(root);
    if (rc != 0) {
        err->offset = 0;
        err->reason = "JSON nested too deeply";
        return -1;
    }
    return 0;
}

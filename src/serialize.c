/*
 * Typed serialization. The walk mirrors the validator's, over Lua values
 * instead of cJSON: strict types (a number is no string), integers checked
 * to be integral, literals compared, unions tried in order (each try writes
 * into the same buffer and is rolled back on failure). Types that say
 * nothing about their content (any, table) fall back to the plain encoder.
 */
#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "arguments.h"
#include "binding.h"
#include "json.h"
#include "serialize.h"
#include "validate.h"

#define MAX_DEPTH 128

typedef struct st_serializer_t {
    lua_State *L;
    mt_buf_t *out;
    char *err;
    size_t errsize;
    struct {
        const char *key; /* NULL: an array index */
        long index;
    } path[MAX_DEPTH + 1]; /* where we are, spelled out only for an error */
    size_t depth;
} serializer_t;

static int mismatch(serializer_t *s, const char *fmt, const char *detail)
{
    if (s->err[0] != '\0')
        return -1;
    char where[512], message[256];
    size_t len = 0;
    where[0] = '\0';
    for (size_t i = 0; i < s->depth && i <= MAX_DEPTH && len < sizeof(where); i++) {
        int n = s->path[i].key != NULL ? snprintf(where + len, sizeof(where) - len, "%s%s", i ? "." : "", s->path[i].key)
                                       : snprintf(where + len, sizeof(where) - len, "[%ld]", s->path[i].index);
        len += n > 0 ? (size_t)n : 0;
    }
    snprintf(message, sizeof(message), fmt, detail);
    snprintf(s->err, s->errsize, "%s: %s", s->depth ? where : "(the value)", message);
    return -1;
}

static size_t path_push(serializer_t *s, const char *key, long index)
{
    if (s->depth <= MAX_DEPTH) {
        s->path[s->depth].key = key;
        s->path[s->depth].index = index;
    }
    return s->depth++;
}

static void path_pop(serializer_t *s, size_t saved)
{
    s->depth = saved;
}

/* nil or moontide.null, given the value's Lua type */
static int is_null(lua_State *L, int index, int ltype)
{
    return ltype == LUA_TNIL || (ltype == LUA_TLIGHTUSERDATA && lua_touserdata(L, index) == NULL);
}

static int write_value(serializer_t *s, int index, int ltype, const mt_type_t *type, int depth);

static int write_plain(serializer_t *s, int index)
{
    const char *err;
    if (mt_json_encode(s->L, index, s->out, &err) != 0)
        return mismatch(s, "%s", err);
    return 0;
}

static int write_number(serializer_t *s, lua_Number n)
{
    char text[32];
    if (!isfinite(n))
        return mismatch(s, "%s", "inf or nan is not a JSON number");
    return mt_buf_append(s->out, text, mt_json_format_number(n, text));
}

/* A field's name on the wire and a colon: made when the schema resolved, or now. */
static int write_key(serializer_t *s, const mt_field_t *field)
{
    if (field->wire_json != NULL)
        return mt_buf_append(s->out, field->wire_json, field->wire_json_len);
    const char *wire = MT_FIELD_WIRE_NAME(field);
    mt_json_encode_string(s->out, wire, strlen(wire));
    return mt_buf_append(s->out, ":", 1);
}

/*
 * Fields are read by their Lua name (through __index when the table has a
 * metatable, like any Lua code would) and written by their wire name.
 */
static int write_object(serializer_t *s, int index, int ltype, const mt_type_t *type, int depth)
{
    lua_State *L = s->L;
    if (ltype != LUA_TTABLE)
        return mismatch(s, "expected an object (%s), got a Lua value of another type",
                        type->u.object.name ? type->u.object.name : "a table");
    if (!lua_checkstack(L, 8))
        return mismatch(s, "%s", "nested too deeply");
    int with_metatable = lua_getmetatable(L, index); /* most tables have none: their fields are read raw */
    if (with_metatable)
        lua_pop(L, 1);
    mt_buf_append(s->out, "{", 1);
    for (size_t i = 0; i != type->u.object.num_fields; i++) {
        const mt_field_t *field = type->u.object.fields + i;
        mt_field_push_name(L, field);
        if (with_metatable)
            lua_gettable(L, index);
        else
            lua_rawget(L, index);
        int value = lua_gettop(L), value_type = lua_type(L, value);
        size_t saved = path_push(s, field->name, 0);
        if (i != 0)
            mt_buf_append(s->out, ",", 1);
        write_key(s, field);
        const char *default_json = field->type->constraints ? field->type->constraints->default_json : NULL;
        int rc;
        if (value_type == LUA_TNIL && default_json != NULL) /* absent: its default, as a model would fill it in */
            rc = mt_buf_append(s->out, default_json, strlen(default_json));
        else if (is_null(L, value, value_type))
            rc = field->optional || field->type->nullable ? mt_buf_append(s->out, "null", 4)
                                                          : mismatch(s, "%s", "a required field is missing (nil)");
        else
            rc = write_value(s, value, value_type, field->type, depth + 1);
        path_pop(s, saved);
        lua_settop(L, value - 1);
        if (rc != 0)
            return -1;
    }
    return mt_buf_append(s->out, "}", 1);
}

static int write_array(serializer_t *s, int index, int ltype, const mt_type_t *type, int depth)
{
    lua_State *L = s->L;
    if (ltype != LUA_TTABLE)
        return mismatch(s, "%s", "expected an array (a Lua list)");
    if (!lua_checkstack(L, 8))
        return mismatch(s, "%s", "nested too deeply");
    size_t n = lua_objlen(L, index), count = 0;
    lua_pushnil(L);
    while (lua_next(L, index) != 0) {
        lua_pop(L, 1);
        count++;
    }
    if (count != n)
        return mismatch(s, "%s", "expected an array, got a table with keys other than 1..n");
    mt_buf_append(s->out, "[", 1);
    for (size_t i = 1; i <= n; i++) {
        if (i > 1)
            mt_buf_append(s->out, ",", 1);
        lua_rawgeti(L, index, (int)i);
        int item_type = lua_type(L, -1);
        size_t saved = path_push(s, NULL, (long)i - 1);
        int rc = is_null(L, -1, item_type) && type->u.items->nullable
                     ? mt_buf_append(s->out, "null", 4)
                     : write_value(s, lua_gettop(L), item_type, type->u.items, depth + 1);
        path_pop(s, saved);
        lua_pop(L, 1);
        if (rc != 0)
            return -1;
    }
    return mt_buf_append(s->out, "]", 1);
}

static int write_map(serializer_t *s, int index, int ltype, const mt_type_t *type, int depth)
{
    lua_State *L = s->L;
    if (ltype != LUA_TTABLE)
        return mismatch(s, "%s", "expected an object (a Lua table)");
    if (!lua_checkstack(L, 8))
        return mismatch(s, "%s", "nested too deeply");
    mt_buf_append(s->out, "{", 1);
    int first = 1;
    lua_pushnil(L);
    while (lua_next(L, index) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING)
            return mismatch(s, "%s", "a map's keys must be strings");
        size_t len;
        const char *key = lua_tolstring(L, -2, &len);
        if (!first)
            mt_buf_append(s->out, ",", 1);
        first = 0;
        mt_json_encode_string(s->out, key, len);
        mt_buf_append(s->out, ":", 1);
        size_t saved = path_push(s, key, 0);
        int rc = write_value(s, lua_gettop(L), lua_type(L, -1), type->u.items, depth + 1);
        path_pop(s, saved);
        if (rc != 0)
            return -1;
        lua_pop(L, 1);
    }
    return mt_buf_append(s->out, "}", 1);
}

static int write_typed(serializer_t *s, int index, int ltype, const mt_type_t *type, int depth);

/*
 * Writes a value, then holds what was written to the type's constraints: the
 * fragment is parsed back and validated, which costs something only for
 * constrained types.
 */
static int write_value(serializer_t *s, int index, int ltype, const mt_type_t *type, int depth)
{
    size_t mark = s->out->len;
    if (write_typed(s, index, ltype, type, depth) != 0)
        return -1;
    if (type->constraints == NULL || (type->constraints->has == 0))
        return 0;
    const mt_constraints_t *c = type->constraints;
    if (ltype == LUA_TTABLE && !(c->has & ~(unsigned)(MT_HAS_MIN_ITEMS | MT_HAS_MAX_ITEMS))) {
        /* a list within its item counts needs no more; one outside them is reported by the path below */
        size_t n = lua_objlen(s->L, index);
        if ((!(c->has & MT_HAS_MIN_ITEMS) || n >= c->min_items) && (!(c->has & MT_HAS_MAX_ITEMS) || n <= c->max_items))
            return 0;
    }
    /* scalars are checked as they are (a cJSON node on the stack); anything else is parsed back */
    cJSON scalar = {0}, *written = NULL;
    if (ltype == LUA_TSTRING) {
        scalar.type = cJSON_String;
        scalar.valuestring = (char *)lua_tostring(s->L, index);
    } else if (ltype == LUA_TNUMBER) {
        scalar.type = cJSON_Number;
        scalar.valuedouble = lua_tonumber(s->L, index);
    } else {
        written = cJSON_ParseWithLength(s->out->data + mark, s->out->len - mark);
    }
    mt_buf_t errors_json = {0};
    mt_verrors_t errors;
    mt_verrors_init(&errors, &errors_json, "response");
    const cJSON *value = written != NULL ? written : scalar.type != 0 ? &scalar : NULL;
    size_t failed = value != NULL ? mt_validate_json(type, value, &errors) : 1;
    cJSON_Delete(written);
    if (failed != 0) {
        /* the first error's message: {"type":...,"loc":[...],"msg":"...", */
        cJSON *parsed = cJSON_ParseWithLength(errors_json.data, errors_json.len);
        cJSON *msg = cJSON_GetObjectItemCaseSensitive(parsed, "msg");
        mismatch(s, "%s", cJSON_IsString(msg) ? msg->valuestring : "does not fit its constraints");
        cJSON_Delete(parsed);
    }
    mt_buf_free(&errors_json);
    return failed != 0 ? -1 : 0;
}

static int write_typed(serializer_t *s, int index, int ltype, const mt_type_t *type, int depth)
{
    lua_State *L = s->L;
    if (depth > MAX_DEPTH) /* containers check the Lua stack; scalars push nothing */
        return mismatch(s, "%s", "nested too deeply");
    if (is_null(L, index, ltype)) {
        if (type->nullable || type->kind == MT_TYPE_ANY)
            return mt_buf_append(s->out, "null", 4);
        return mismatch(s, "%s", "nil where a value is required");
    }
    switch (type->kind) {
    case MT_TYPE_ANY:
        return write_plain(s, index);
    case MT_TYPE_TABLE:
        if (ltype != LUA_TTABLE)
            return mismatch(s, "%s", "expected a table");
        return write_plain(s, index);
    case MT_TYPE_NIL:
        return mismatch(s, "%s", "expected nil");
    case MT_TYPE_STRING: {
        if (ltype != LUA_TSTRING)
            return mismatch(s, "expected a string, got a %s", lua_typename(L, ltype));
        size_t len;
        const char *str = lua_tolstring(L, index, &len);
        return mt_json_encode_string(s->out, str, len);
    }
    case MT_TYPE_NUMBER:
        if (ltype != LUA_TNUMBER)
            return mismatch(s, "expected a number, got a %s", lua_typename(L, ltype));
        return write_number(s, lua_tonumber(L, index));
    case MT_TYPE_INTEGER: {
        lua_Number n = lua_tonumber(L, index);
        if (ltype != LUA_TNUMBER || n != floor(n))
            return mismatch(s, "expected an integer, got %s", ltype == LUA_TNUMBER ? "a fraction" : lua_typename(L, ltype));
        return write_number(s, n);
    }
    case MT_TYPE_BOOLEAN:
        if (ltype != LUA_TBOOLEAN)
            return mismatch(s, "expected a boolean, got a %s", lua_typename(L, ltype));
        return mt_buf_append(s->out, lua_toboolean(L, index) ? "true" : "false", lua_toboolean(L, index) ? 4 : 5);
    case MT_TYPE_LITERAL:
        if (type->u.literal.is_string) {
            if (ltype != LUA_TSTRING || strcmp(lua_tostring(L, index), type->u.literal.string) != 0)
                return mismatch(s, "expected \"%s\"", type->u.literal.string);
            return mt_json_encode_string(s->out, type->u.literal.string, strlen(type->u.literal.string));
        }
        if (ltype != LUA_TNUMBER || lua_tonumber(L, index) != (lua_Number)type->u.literal.integer)
            return mismatch(s, "%s", "expected another integer literal");
        return write_number(s, lua_tonumber(L, index));
    case MT_TYPE_OBJECT:
        return write_object(s, index, ltype, type, depth);
    case MT_TYPE_ARRAY:
        return write_array(s, index, ltype, type, depth);
    case MT_TYPE_MAP:
        return write_map(s, index, ltype, type, depth);
    case MT_TYPE_UNION: {
        size_t mark = s->out->len;
        for (size_t i = 0; i != type->u.any_of.num_members; i++) {
            s->err[0] = '\0';
            if (write_value(s, index, ltype, type->u.any_of.members[i], depth + 1) == 0)
                return 0;
            s->out->len = mark;
        }
        char name[256];
        s->err[0] = '\0';
        return mismatch(s, "fits none of %s", mt_type_describe(type, name, sizeof(name)));
    }
    case MT_TYPE_NAME:
        if (type->u.ref.target == NULL)
            return mismatch(s, "%s", "unresolved type");
        return write_value(s, index, ltype, type->u.ref.target, depth + 1);
    case MT_TYPE_REQUEST:
        return mismatch(s, "%s", "a request object cannot be a response");
    case MT_TYPE_PROVIDED:
        return mismatch(s, "%s", "a provided value cannot be a response");
    }
    return -1;
}

int mt_serialize(lua_State *L, int index, const mt_type_t *type, mt_buf_t *out, char *err, size_t errsize)
{
    serializer_t s; /* not zeroed as a whole: the path is 2 KB, written before it is read */
    s.L = L;
    s.out = out;
    s.err = err;
    s.errsize = errsize;
    s.depth = 0;
    err[0] = '\0';
    index = index < 0 ? lua_gettop(L) + index + 1 : index;
    int top = lua_gettop(L);
    int rc = write_value(&s, index, lua_type(L, index), type, 0);
    lua_settop(L, top);
    return rc;
}

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

cJSON *mt_json_parse(const char *json, size_t len, mt_json_error_t *err)
{
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

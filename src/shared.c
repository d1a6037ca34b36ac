/*
 * moontide.shared: the Lua face of shared_dict.c. `moontide.shared.dict(name
 * [, {size=}])` opens a dict in this process's zone and returns a handle
 * whose methods (get, set, add, incr, delete) take the dict's lock for one
 * operation each. No Lua function runs and no Lua memory is allocated while a
 * lock is held: a string read is copied out first and pushed after, so a Lua
 * error can never leave a dict locked. The rate limiter's step
 * (moontide.ratelimit, in lua/moontide.lua) is here too, as one atomic
 * operation on a dict.
 */
#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "shared.h"
#include "shared_dict.h"
#include "shared_redis.h"

#define DICT_MT "moontide.SharedDict"

static mt_shared_zone_t *zone; /* this process's: main maps it before the app loads and the workers fork */
static mt_buf_t copy;          /* strings read from a dict land here before Lua gets them */

void mt_shared_use_zone(mt_shared_zone_t *z)
{
    zone = z;
}

/* "64k", "1m", "1g" or a number of bytes; 0 when it is neither. */
static size_t parse_size(lua_State *L, int index)
{
    if (lua_type(L, index) == LUA_TNUMBER) {
        lua_Number n = lua_tonumber(L, index);
        return n >= 1 && n < 1e15 ? (size_t)n : 0;
    }
    if (lua_type(L, index) != LUA_TSTRING)
        return 0;
    const char *s = lua_tostring(L, index);
    char *end;
    unsigned long long n = strtoull(s, &end, 10);
    if (end == s || s[0] == '-')
        return 0;
    unsigned long long unit = *end == 'k' || *end == 'K' ? 1024 : *end == 'm' || *end == 'M' ? 1024 * 1024
                            : *end == 'g' || *end == 'G' ? 1024ULL * 1024 * 1024 : 1;
    if (unit != 1)
        end++;
    return *end == '\0' && n < (1ULL << 40) ? (size_t)(n * unit) : 0;
}

/* dict(name[, {size = BYTES or "64k"/"1m", backend = "local" or "redis"}]) */
static int shared_dict(lua_State *L)
{
    size_t name_len;
    const char *name = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &name_len) : NULL;
    if (name == NULL || name_len == 0 || name_len > MT_SHARED_NAME_MAX || strlen(name) != name_len)
        return luaL_error(L, "moontide.shared.dict: the name must be a string of 1 to %d bytes, got %s",
                          MT_SHARED_NAME_MAX, name != NULL ? "a longer or empty one" : luaL_typename(L, 1));
    size_t size = MT_SHARED_DICT_DEFAULT;
    int on_redis = 0;
    if (!lua_isnoneornil(L, 2)) {
        if (!lua_istable(L, 2))
            return luaL_error(L, "moontide.shared.dict: options must be a table ({size = \"1m\"}), got %s",
                              luaL_typename(L, 2));
        lua_pushnil(L);
        while (lua_next(L, 2) != 0) {
            const char *option = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
            if (option != NULL && strcmp(option, "backend") == 0) {
                const char *backend = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
                if (strcmp(backend, "redis") != 0 && strcmp(backend, "local") != 0)
                    return luaL_error(L, "moontide.shared.dict: backend must be \"local\" or \"redis\", got %s",
                                      lua_type(L, -1) == LUA_TSTRING ? backend : luaL_typename(L, -1));
                on_redis = strcmp(backend, "redis") == 0;
            } else if (option == NULL || strcmp(option, "size") != 0) {
                return luaL_error(L, "moontide.shared.dict: unknown option '%s' (there are size and backend)",
                                  option != NULL ? option : luaL_typename(L, -2));
            } else if ((size = parse_size(L, -1)) == 0) {
                return luaL_error(L, "moontide.shared.dict: size must be a number of bytes or a string like "
                                     "\"64k\" or \"1m\", got %s", luaL_typename(L, -1));
            }
            lua_pop(L, 1);
        }
    }
    if (on_redis) { /* its entries live in Redis: nothing to carve from the zone */
        mt_shared_redis_push_dict(L, name, name_len);
        return 1;
    }
    if (zone == NULL)
        return luaL_error(L, "moontide.shared.dict: no shared memory zone in this process");
    char err[256];
    mt_shared_dict_t *dict = mt_shared_dict_open(zone, name, size, err, sizeof(err));
    if (dict == NULL)
        return luaL_error(L, "moontide.shared.dict: %s", err);
    mt_shared_dict_t **ud = lua_newuserdata(L, sizeof(*ud));
    *ud = dict;
    luaL_getmetatable(L, DICT_MT);
    lua_setmetatable(L, -2);
    return 1;
}

static mt_shared_dict_t *check_dict(lua_State *L, const char *method)
{
    mt_shared_dict_t **ud = lua_touserdata(L, 1);
    int ok = ud != NULL && lua_getmetatable(L, 1);
    if (ok) {
        luaL_getmetatable(L, DICT_MT);
        ok = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
    }
    if (!ok)
        luaL_error(L, "dict:%s: call it with ':' on a moontide.shared.dict (dict:%s(...)), got %s", method, method,
                   luaL_typename(L, 1));
    return *ud;
}

static const char *check_key(lua_State *L, const char *method, size_t *len)
{
    if (lua_type(L, 2) != LUA_TSTRING)
        luaL_error(L, "dict:%s: the key must be a string, got %s", method, luaL_typename(L, 2));
    const char *key = lua_tolstring(L, 2, len);
    if (*len == 0 || *len > MT_SHARED_KEY_MAX)
        luaL_error(L, "dict:%s: the key must have 1 to %d bytes, got %d", method, MT_SHARED_KEY_MAX, (int)*len);
    return key;
}

static mt_shared_value_t check_value(lua_State *L, int index, const char *method)
{
    mt_shared_value_t value = {0};
    switch (lua_type(L, index)) {
    case LUA_TSTRING: value.type = MT_SHARED_STRING; value.str = lua_tolstring(L, index, &value.len); break;
    case LUA_TNUMBER: value.type = MT_SHARED_NUMBER; value.number = lua_tonumber(L, index); break;
    case LUA_TBOOLEAN: value.type = MT_SHARED_BOOLEAN; value.number = lua_toboolean(L, index); break;
    default:
        luaL_error(L, "dict:%s: the value must be a string, a number or a boolean, got %s", method,
                   luaL_typename(L, index));
    }
    return value;
}

static double check_ttl(lua_State *L, int index, const char *method)
{
    if (lua_isnoneornil(L, index))
        return 0;
    lua_Number ttl = lua_tonumber(L, index);
    if (lua_type(L, index) != LUA_TNUMBER || !(ttl >= 0) || ttl > 1e9)
        luaL_error(L, "dict:%s: the ttl must be a number of seconds from 0 (none) to 1e9, got %s", method,
                   lua_type(L, index) == LUA_TNUMBER ? lua_tostring(L, index) : luaL_typename(L, index));
    return ttl;
}

/* A failure as Lua results: false (nil for incr) and why; a broken lock is an error. */
static int push_failure(lua_State *L, mt_shared_status_t status, int nil_first)
{
    static const char *const reasons[] = {
        [MT_SHARED_NOT_FOUND] = "not found", [MT_SHARED_EXISTS] = "exists", [MT_SHARED_NO_MEMORY] = "no memory",
        [MT_SHARED_NOT_A_NUMBER] = "not a number",
    };
    if (status == MT_SHARED_BROKEN)
        return luaL_error(L, "moontide.shared: a dict's lock cannot be taken (see the log)");
    if (nil_first)
        lua_pushnil(L);
    else
        lua_pushboolean(L, 0);
    lua_pushstring(L, reasons[status]);
    return 2;
}

/* dict:get(key) -> value or nil */
static int dict_get(lua_State *L)
{
    mt_shared_dict_t *dict = check_dict(L, "get");
    size_t klen;
    const char *key = check_key(L, "get", &klen);
    mt_shared_value_t value;
    mt_shared_status_t status = mt_shared_dict_get(dict, key, klen, &value, &copy);
    if (status == MT_SHARED_NOT_FOUND) {
        lua_pushnil(L);
        return 1;
    }
    if (status != MT_SHARED_OK)
        return status == MT_SHARED_NO_MEMORY ? luaL_error(L, "dict:get: out of memory") : push_failure(L, status, 1);
    switch (value.type) {
    case MT_SHARED_STRING: lua_pushlstring(L, value.str, value.len); break;
    case MT_SHARED_NUMBER: lua_pushnumber(L, value.number); break;
    case MT_SHARED_BOOLEAN: lua_pushboolean(L, value.number != 0); break;
    }
    return 1;
}

static int set_or_add(lua_State *L, const char *method, int only_if_absent)
{
    mt_shared_dict_t *dict = check_dict(L, method);
    size_t klen;
    const char *key = check_key(L, method, &klen);
    if (lua_isnoneornil(L, 3) && !only_if_absent) { /* set(key, nil) deletes, as in nginx */
        mt_shared_status_t status = mt_shared_dict_delete(dict, key, klen);
        if (status == MT_SHARED_BROKEN)
            return push_failure(L, status, 0);
        lua_pushboolean(L, 1);
        return 1;
    }
    mt_shared_value_t value = check_value(L, 3, method);
    double ttl = check_ttl(L, 4, method);
    mt_shared_status_t status = mt_shared_dict_set(dict, key, klen, &value, ttl, only_if_absent);
    if (status != MT_SHARED_OK)
        return push_failure(L, status, 0);
    lua_pushboolean(L, 1);
    return 1;
}

/* dict:set(key, value[, ttl]) -> true, or false and "no memory" */
static int dict_set(lua_State *L)
{
    return set_or_add(L, "set", 0);
}

/* dict:add(key, value[, ttl]) -> true, or false and "exists" / "no memory" */
static int dict_add(lua_State *L)
{
    return set_or_add(L, "add", 1);
}

/* dict:incr(key, by[, init[, init_ttl]]) -> the new number, or nil and "not found" / "not a number" / "no memory" */
static int dict_incr(lua_State *L)
{
    mt_shared_dict_t *dict = check_dict(L, "incr");
    size_t klen;
    const char *key = check_key(L, "incr", &klen);
    if (lua_type(L, 3) != LUA_TNUMBER)
        return luaL_error(L, "dict:incr: by must be a number, got %s", luaL_typename(L, 3));
    double by = lua_tonumber(L, 3), init = 0, result = 0;
    if (!lua_isnoneornil(L, 4)) {
        if (lua_type(L, 4) != LUA_TNUMBER)
            return luaL_error(L, "dict:incr: init must be a number, got %s", luaL_typename(L, 4));
        init = lua_tonumber(L, 4);
    }
    double init_ttl = check_ttl(L, 5, "incr");
    mt_shared_status_t status = mt_shared_dict_incr(dict, key, klen, by, lua_isnoneornil(L, 4) ? NULL : &init,
                                                    init_ttl, &result);
    if (status != MT_SHARED_OK)
        return push_failure(L, status, 1);
    lua_pushnumber(L, result);
    return 1;
}

/* dict:delete(key) -> whether there was an entry */
static int dict_delete(lua_State *L)
{
    mt_shared_dict_t *dict = check_dict(L, "delete");
    size_t klen;
    const char *key = check_key(L, "delete", &klen);
    mt_shared_status_t status = mt_shared_dict_delete(dict, key, klen);
    if (status == MT_SHARED_BROKEN)
        return push_failure(L, status, 0);
    lua_pushboolean(L, status == MT_SHARED_OK);
    return 1;
}

/*
 * shared_limit(dict, key, interval_seconds, capacity) -> allowed, remaining,
 * reset, retry_after (whole seconds, rounded up). A dict too full to take the
 * key lets the request through (and says so in the log): the limiter never
 * turns a memory shortage into refusals.
 */
static int core_shared_limit(lua_State *L)
{
    mt_shared_dict_t *dict = check_dict(L, "limit");
    size_t klen;
    const char *key = check_key(L, "limit", &klen);
    int64_t interval_us, capacity;
    mt_shared_check_limit(L, 3, &interval_us, &capacity);
    mt_shared_limit_t out;
    mt_shared_status_t status = mt_shared_dict_limit(dict, key, klen, interval_us, capacity, &out);
    if (status == MT_SHARED_NO_MEMORY) {
        mt_log_warn("moontide.ratelimit: its shared dict is full; a request was let through unlimited");
        out = (mt_shared_limit_t){.allowed = 1, .remaining = (double)(capacity - 1), .reset_ms = interval_us / 1e3};
    } else if (status != MT_SHARED_OK) {
        return push_failure(L, status, 0);
    }
    return mt_shared_push_limit(L, &out);
}

void mt_shared_check_limit(lua_State *L, int idx, int64_t *interval_us, int64_t *capacity)
{
    double interval = luaL_checknumber(L, idx) * 1e6, requests = luaL_checknumber(L, idx + 1);
    interval = interval >= 1 ? fmin(round(interval), MT_SHARED_EXACT_US) : 1;
    requests = requests >= 1 ? fmin(floor(requests), floor(MT_SHARED_EXACT_US / interval)) : 1;
    *interval_us = (int64_t)interval;
    *capacity = (int64_t)requests;
}

int mt_shared_push_limit(lua_State *L, const mt_shared_limit_t *out)
{
    lua_pushboolean(L, out->allowed);
    lua_pushnumber(L, out->remaining < 0 ? 0 : out->remaining);
    lua_pushnumber(L, ceil(out->reset_ms / 1e3));
    lua_pushnumber(L, out->allowed ? 0 : fmax(1, ceil(out->retry_after_ms / 1e3)));
    return 4;
}

static const luaL_Reg dict_methods[] = {
    {"get", dict_get},
    {"set", dict_set},
    {"add", dict_add},
    {"incr", dict_incr},
    {"delete", dict_delete},
    {NULL, NULL},
};

void mt_shared_register(lua_State *L)
{
    luaL_newmetatable(L, DICT_MT);
    lua_pushliteral(L, DICT_MT);
    lua_setfield(L, -2, "__name");
    lua_newtable(L);
    luaL_register(L, NULL, dict_methods);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "the metatable of a shared dict is not yours to change");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
    lua_pushcfunction(L, shared_dict);
    lua_setfield(L, -2, "shared_dict");
    lua_pushcfunction(L, core_shared_limit);
    lua_setfield(L, -2, "shared_limit");
    mt_shared_redis_register(L);
}

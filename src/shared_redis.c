/*
 * moontide.shared dicts and the rate limiter's step on Redis (--redis), for
 * several instances behind one load balancer. A dict opened with
 * {backend = "redis"} keeps its entries in Redis under moontide:DICT:KEY;
 * each method is one command on the worker's connection (redis.c) while the
 * calling handler's coroutine waits, as it does for moontide.http.request.
 *
 * Values keep their Lua type: a string is stored as "s" and its bytes, a
 * boolean as "b1" or "b0", a number as its shortest exact decimal text (so
 * Redis and redis-cli read it as a number). incr and the limiter are Lua
 * scripts run atomically in Redis; incr computes in doubles as the local
 * dict does, and the limiter is the GCRA step of shared_dict.c on Redis's
 * clock (TIME), since the instances' monotonic clocks have nothing in common.
 *
 * A method resumes its caller with (true, results...) or (false, message);
 * the Lua wrappers below raise the message from the caller's line (a C
 * function that yielded cannot raise when resumed), as they do with the
 * position-less errors the methods raise for bad arguments.
 */
#include <lauxlib.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handler.h"
#include "log.h"
#include "redis.h"
#include "shared.h"
#include "shared_redis.h"

#define RDICT_MT "moontide.RedisDict"
#define KEY_PREFIX "moontide:"
#define FAIL_OPEN_LOG_MS 10000 /* the limiter's fail-open warning, at most this often per worker */

typedef struct st_rdict_t {
    size_t name_len;
    char name[MT_SHARED_NAME_MAX + 1];
} rdict_t;

/* incr: KEYS[1]; ARGV: by, init ("" for none), init_ttl_ms. Returns {0} not found, {2} not a number, {1, value}. */
static mt_redis_script_t incr_script = {
    .source = "local v = redis.call('GET', KEYS[1])\n"
              "local function text(n)\n"
              "  local s = string.format('%.15g', n)\n"
              "  if tonumber(s) ~= n then s = string.format('%.17g', n) end\n"
              "  return s\n"
              "end\n"
              "if not v then\n"
              "  if ARGV[2] == '' then return {0} end\n"
              "  local s = text(tonumber(ARGV[2]) + tonumber(ARGV[1]))\n"
              "  if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[1], s, 'PX', ARGV[3])\n"
              "  else redis.call('SET', KEYS[1], s) end\n"
              "  return {1, s}\n"
              "end\n"
              "local n = tonumber(v)\n"
              "local c = string.byte(v, 1)\n"
              "if n == nil or c == 115 or c == 98 then return {2} end\n"
              "local s = text(n + tonumber(ARGV[1]))\n"
              "redis.call('SET', KEYS[1], s, 'KEEPTTL')\n"
              "return {1, s}\n",
};

/*
 * The GCRA step of mt_shared_gcra_step on Redis's clock, in whole microseconds (exact in Lua's doubles): KEYS[1]
 * holds the theoretical arrival time; ARGV: interval_us, capacity. Returns {allowed, remaining, reset_ms,
 * retry_after_ms} as strings (Redis would truncate Lua numbers to integers).
 */
static mt_redis_script_t limit_script = {
    .source = "local t = redis.call('TIME')\n"
              "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
              "local interval, capacity = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
              "local tat = tonumber(redis.call('GET', KEYS[1]) or '')\n"
              "if tat == nil or tat < now then tat = now end\n"
              "local next_tat = tat + interval\n"
              "local allow_at = next_tat - capacity * interval\n"
              "if now < allow_at then\n"
              "  return {'0', '0', string.format('%.17g', (tat - now) / 1000),\n"
              "          string.format('%.17g', (allow_at - now) / 1000)}\n"
              "end\n"
              "redis.call('SET', KEYS[1], string.format('%.17g', next_tat), 'PX', math.ceil((next_tat - now) / 1000))\n"
              "return {'1', string.format('%.17g', math.floor((now - allow_at) / interval)),\n"
              "        string.format('%.17g', (next_tat - now) / 1000), '0'}\n",
};

/* --- values ---------------------------------------------------------------------------------------------------- */

size_t mt_shared_redis_encode_number(double n, char *out, size_t size)
{
    int len = snprintf(out, size, "%.15g", n);
    if (strtod(out, NULL) != n && n == n)
        len = snprintf(out, size, "%.17g", n);
    return (size_t)len;
}

int mt_shared_redis_decode(const char *s, size_t len, mt_shared_value_t *value)
{
    if (len >= 1 && s[0] == 's') {
        *value = (mt_shared_value_t){.type = MT_SHARED_STRING, .str = s + 1, .len = len - 1};
        return 0;
    }
    if (len == 2 && s[0] == 'b' && (s[1] == '0' || s[1] == '1')) {
        *value = (mt_shared_value_t){.type = MT_SHARED_BOOLEAN, .number = s[1] == '1'};
        return 0;
    }
    char text[64], *end;
    if (len == 0 || len >= sizeof(text))
        return -1;
    memcpy(text, s, len);
    text[len] = '\0';
    double n = strtod(text, &end);
    if (*end != '\0')
        return -1;
    *value = (mt_shared_value_t){.type = MT_SHARED_NUMBER, .number = n};
    return 0;
}

/* An error without a position: the method's wrapper raises it again from the caller's line. */
static int arg_error(lua_State *L, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    return lua_error(L);
}

/* --- waiting ----------------------------------------------------------------------------------------------------- */

static void cancel_wait(mt_call_t *call)
{
    mt_redis_cancel(call->waiting_on);
    call->waiting_on = NULL;
}

/* Sends the command for the running handler and suspends it; its reply goes to cb. */
static int send_and_wait(lua_State *L, const char *what, mt_redis_script_t *script, int argc, const char **argv,
                         const size_t *lens, mt_redis_cb cb)
{
    mt_call_t *call = mt_call_current(L);
    if (call == NULL)
        return arg_error(L, "%s: a Redis dict waits for Redis, so use it from a handler or a provider, not while the "
                             "app loads, in on_startup/on_shutdown or from a coroutine of your own", what);
    const char *err;
    mt_redis_cmd_t *cmd = mt_redis_command(script, argc, argv, lens, cb, call, &err);
    if (cmd == NULL) {
        lua_pushboolean(L, 0);
        lua_pushfstring(L, "moontide.shared: %s", err);
        return 2;
    }
    /* cancelled (the reply dropped) if the request ends first: client gone, --timeout */
    call->waiting_on = cmd;
    call->cancel = cancel_wait;
    return lua_yield(L, 0);
}

/* The coroutine waiting on a reply, with (false, message) pushed when there is none or it is an error. */
static lua_State *resume_target(mt_call_t *call, redisReply *reply, const char *err, int *failed)
{
    lua_State *co = call->co;
    call->waiting_on = NULL;
    lua_checkstack(co, 4);
    *failed = 1;
    if (reply == NULL) {
        lua_pushboolean(co, 0);
        lua_pushfstring(co, "moontide.shared: %s", err);
    } else if (reply->type == REDIS_REPLY_ERROR) {
        lua_pushboolean(co, 0);
        lua_pushfstring(co, "moontide.shared: Redis answered: %s", reply->str);
    } else {
        *failed = 0;
    }
    return co;
}

static int is_oom(const redisReply *reply)
{
    return reply != NULL && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "OOM", 3) == 0;
}

static void on_get(void *data, redisReply *reply, const char *err)
{
    mt_call_t *call = data;
    int failed;
    lua_State *co = resume_target(call, reply, err, &failed);
    mt_shared_value_t value;
    if (failed) {
    } else if (reply->type == REDIS_REPLY_NIL) {
        lua_pushboolean(co, 1);
        lua_pushnil(co);
    } else if (reply->type != REDIS_REPLY_STRING || mt_shared_redis_decode(reply->str, reply->len, &value) != 0) {
        lua_pushboolean(co, 0);
        lua_pushliteral(co, "moontide.shared: dict:get: the value in Redis was not written by moontide");
    } else {
        lua_pushboolean(co, 1);
        switch (value.type) {
        case MT_SHARED_STRING: lua_pushlstring(co, value.str, value.len); break;
        case MT_SHARED_NUMBER: lua_pushnumber(co, value.number); break;
        case MT_SHARED_BOOLEAN: lua_pushboolean(co, value.number != 0); break;
        }
    }
    mt_call_resume(call, 2);
}

/* set, add: +OK, or nil when add found the key; OOM is (false, "no memory") as the local dict says. */
static void on_store(void *data, redisReply *reply, const char *err)
{
    mt_call_t *call = data;
    if (is_oom(reply)) {
        lua_checkstack(call->co, 3);
        call->waiting_on = NULL;
        lua_pushboolean(call->co, 1);
        lua_pushboolean(call->co, 0);
        lua_pushliteral(call->co, "no memory");
        mt_call_resume(call, 3);
        return;
    }
    int failed;
    lua_State *co = resume_target(call, reply, err, &failed);
    if (failed) {
        mt_call_resume(call, 2);
        return;
    }
    lua_pushboolean(co, 1);
    if (reply->type == REDIS_REPLY_NIL) {
        lua_pushboolean(co, 0);
        lua_pushliteral(co, "exists");
        mt_call_resume(call, 3);
        return;
    }
    lua_pushboolean(co, 1);
    mt_call_resume(call, 2);
}

static void on_delete(void *data, redisReply *reply, const char *err)
{
    mt_call_t *call = data;
    int failed;
    lua_State *co = resume_target(call, reply, err, &failed);
    if (!failed) {
        lua_pushboolean(co, 1);
        lua_pushboolean(co, reply->type == REDIS_REPLY_INTEGER && reply->integer > 0);
    }
    mt_call_resume(call, 2);
}

static void on_incr(void *data, redisReply *reply, const char *err)
{
    mt_call_t *call = data;
    if (is_oom(reply)) {
        lua_checkstack(call->co, 3);
        call->waiting_on = NULL;
        lua_pushboolean(call->co, 1);
        lua_pushnil(call->co);
        lua_pushliteral(call->co, "no memory");
        mt_call_resume(call, 3);
        return;
    }
    int failed;
    lua_State *co = resume_target(call, reply, err, &failed);
    if (failed) {
        mt_call_resume(call, 2);
        return;
    }
    long long status = reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 ? reply->element[0]->integer : -1;
    lua_pushboolean(co, 1);
    if (status == 1 && reply->elements == 2 && reply->element[1]->type == REDIS_REPLY_STRING) {
        lua_pushnumber(co, strtod(reply->element[1]->str, NULL));
        mt_call_resume(call, 2);
    } else {
        lua_pushnil(co);
        lua_pushstring(co, status == 0 ? "not found" : "not a number");
        mt_call_resume(call, 3);
    }
}

/* --- the dict's methods ------------------------------------------------------------------------------------------- */

static rdict_t *check_rdict(lua_State *L, const char *method)
{
    rdict_t *d = lua_touserdata(L, 1);
    int ok = d != NULL && lua_getmetatable(L, 1);
    if (ok) {
        luaL_getmetatable(L, RDICT_MT);
        ok = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
    }
    if (!ok)
        arg_error(L, "dict:%s: call it with ':' on a moontide.shared.dict (dict:%s(...)), got %s", method, method,
                   luaL_typename(L, 1));
    return d;
}

/* moontide:DICT:KEY onto the stack (kept there while the command is formatted). */
static const char *push_key(lua_State *L, rdict_t *d, const char *method, size_t *len)
{
    if (lua_type(L, 2) != LUA_TSTRING)
        arg_error(L, "dict:%s: the key must be a string, got %s", method, luaL_typename(L, 2));
    size_t klen;
    lua_tolstring(L, 2, &klen);
    if (klen == 0 || klen > MT_SHARED_KEY_MAX)
        arg_error(L, "dict:%s: the key must have 1 to %d bytes, got %d", method, MT_SHARED_KEY_MAX, (int)klen);
    lua_pushliteral(L, KEY_PREFIX);
    lua_pushlstring(L, d->name, d->name_len);
    lua_pushliteral(L, ":");
    lua_pushvalue(L, 2);
    lua_concat(L, 4);
    return lua_tolstring(L, -1, len);
}

/* The encoded value of index onto the stack. */
static const char *push_value(lua_State *L, int index, const char *method, size_t *len)
{
    char number[32];
    switch (lua_type(L, index)) {
    case LUA_TSTRING:
        lua_pushliteral(L, "s");
        lua_pushvalue(L, index);
        lua_concat(L, 2);
        break;
    case LUA_TNUMBER:
        lua_pushlstring(L, number, mt_shared_redis_encode_number(lua_tonumber(L, index), number, sizeof(number)));
        break;
    case LUA_TBOOLEAN: lua_pushstring(L, lua_toboolean(L, index) ? "b1" : "b0"); break;
    default:
        arg_error(L, "dict:%s: the value must be a string, a number or a boolean, got %s", method,
                   luaL_typename(L, index));
    }
    return lua_tolstring(L, -1, len);
}

/* A ttl in seconds as whole milliseconds for PX (at least 1); 0 for none. */
static long long check_ttl_ms(lua_State *L, int index, const char *method)
{
    if (lua_isnoneornil(L, index))
        return 0;
    lua_Number ttl = lua_tonumber(L, index);
    if (lua_type(L, index) != LUA_TNUMBER || !(ttl >= 0) || ttl > 1e9)
        arg_error(L, "dict:%s: the ttl must be a number of seconds from 0 (none) to 1e9, got %s", method,
                   lua_type(L, index) == LUA_TNUMBER ? lua_tostring(L, index) : luaL_typename(L, index));
    return ttl == 0 ? 0 : (long long)fmax(1, ceil(ttl * 1000));
}

static int rdict_get(lua_State *L)
{
    lua_settop(L, 2); /* the key is built on top */
    rdict_t *d = check_rdict(L, "get");
    size_t klen;
    const char *key = push_key(L, d, "get", &klen);
    return send_and_wait(L, "dict:get", NULL, 2, (const char *[]){"GET", key}, (const size_t[]){3, klen}, on_get);
}

static int store(lua_State *L, const char *method, int only_if_absent)
{
    lua_settop(L, 4);
    rdict_t *d = check_rdict(L, method);
    size_t klen, vlen;
    const char *key = push_key(L, d, method, &klen);
    if (lua_isnoneornil(L, 3) && !only_if_absent) /* set(key, nil) deletes, as in the local dict */
        return send_and_wait(L, "dict:set", NULL, 2, (const char *[]){"DEL", key}, (const size_t[]){3, klen},
                             on_store);
    const char *value = push_value(L, 3, method, &vlen);
    long long ttl_ms = check_ttl_ms(L, 4, method);
    char ttl[24];
    const char *argv[6] = {"SET", key, value};
    size_t lens[6] = {3, klen, vlen};
    int argc = 3;
    if (only_if_absent)
        argv[argc] = "NX", lens[argc++] = 2;
    if (ttl_ms != 0) {
        argv[argc] = "PX", lens[argc++] = 2;
        lens[argc] = (size_t)snprintf(ttl, sizeof(ttl), "%lld", ttl_ms);
        argv[argc++] = ttl;
    }
    return send_and_wait(L, only_if_absent ? "dict:add" : "dict:set", NULL, argc, argv, lens, on_store);
}

static int rdict_set(lua_State *L)
{
    return store(L, "set", 0);
}

static int rdict_add(lua_State *L)
{
    return store(L, "add", 1);
}

static int rdict_incr(lua_State *L)
{
    lua_settop(L, 5);
    rdict_t *d = check_rdict(L, "incr");
    size_t klen;
    const char *key = push_key(L, d, "incr", &klen);
    if (lua_type(L, 3) != LUA_TNUMBER)
        return arg_error(L, "dict:incr: by must be a number, got %s", luaL_typename(L, 3));
    if (!lua_isnoneornil(L, 4) && lua_type(L, 4) != LUA_TNUMBER)
        return arg_error(L, "dict:incr: init must be a number, got %s", luaL_typename(L, 4));
    long long ttl_ms = check_ttl_ms(L, 5, "incr");
    char by[32], init[32], ttl[24];
    size_t lens[] = {1, klen, mt_shared_redis_encode_number(lua_tonumber(L, 3), by, sizeof(by)),
                     lua_isnoneornil(L, 4) ? 0 : mt_shared_redis_encode_number(lua_tonumber(L, 4), init, sizeof(init)),
                     (size_t)snprintf(ttl, sizeof(ttl), "%lld", ttl_ms)};
    return send_and_wait(L, "dict:incr", &incr_script, 5, (const char *[]){"1", key, by, init, ttl}, lens, on_incr);
}

static int rdict_delete(lua_State *L)
{
    lua_settop(L, 2);
    rdict_t *d = check_rdict(L, "delete");
    size_t klen;
    const char *key = push_key(L, d, "delete", &klen);
    return send_and_wait(L, "dict:delete", NULL, 2, (const char *[]){"DEL", key}, (const size_t[]){3, klen},
                         on_delete);
}

static const luaL_Reg rdict_methods[] = {
    {"get", rdict_get},
    {"set", rdict_set},
    {"add", rdict_add},
    {"incr", rdict_incr},
    {"delete", rdict_delete},
    {NULL, NULL},
};

void mt_shared_redis_push_dict(lua_State *L, const char *name, size_t len)
{
    rdict_t *d = lua_newuserdata(L, sizeof(*d));
    d->name_len = len;
    memcpy(d->name, name, len);
    d->name[len] = '\0';
    luaL_getmetatable(L, RDICT_MT);
    lua_setmetatable(L, -2);
}

/* --- the rate limiter --------------------------------------------------------------------------------------------- */

/* The limiter's results onto co (see shared_limit), or nil when there is no usable reply (logged). */
static int push_limit(lua_State *co, redisReply *reply, const char *err)
{
    lua_checkstack(co, 4);
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 4) {
        /* fail-open: the Lua side lets the request through; said in the log, not for every request */
        static uint64_t logged_ms;
        uint64_t now = mt_now_ms();
        if (logged_ms == 0 || now - logged_ms >= FAIL_OPEN_LOG_MS) {
            logged_ms = now;
            mt_log_warn("moontide.ratelimit: %s; requests are let through unlimited while it lasts",
                        reply == NULL ? err : reply->type == REDIS_REPLY_ERROR ? reply->str : "an unexpected reply");
        }
        lua_pushnil(co);
        return 1;
    }
    double v[4];
    for (int i = 0; i != 4; ++i)
        v[i] = reply->element[i]->type == REDIS_REPLY_STRING ? strtod(reply->element[i]->str, NULL) : 0;
    mt_shared_limit_t out = {.allowed = v[0] != 0, .remaining = v[1], .reset_ms = v[2], .retry_after_ms = v[3]};
    return mt_shared_push_limit(co, &out);
}

static void on_limit(void *data, redisReply *reply, const char *err)
{
    mt_call_t *call = data;
    call->waiting_on = NULL;
    mt_call_resume(call, push_limit(call->co, reply, err));
}

/*
 * redis_limit(key, interval_seconds, capacity) -> allowed, remaining, reset, retry_after as shared_limit, or nil
 * when Redis did not answer (logged): the limiter then lets the request through.
 */
static int core_redis_limit(lua_State *L)
{
    size_t klen;
    const char *key = luaL_checklstring(L, 1, &klen);
    int64_t interval_us, requests;
    mt_shared_check_limit(L, 2, &interval_us, &requests);
    char interval[32], capacity[32];
    size_t ilen = mt_shared_redis_encode_number((double)interval_us, interval, sizeof(interval));
    size_t clen = mt_shared_redis_encode_number((double)requests, capacity, sizeof(capacity));
    mt_call_t *call = mt_call_current(L);
    if (call == NULL)
        return luaL_error(L, "moontide.ratelimit: call the provider from a request");
    const char *err;
    mt_redis_cmd_t *cmd = mt_redis_command(&limit_script, 4, (const char *[]){"1", key, interval, capacity},
                                           (const size_t[]){1, klen, ilen, clen}, on_limit, call, &err);
    if (cmd == NULL)
        return push_limit(L, NULL, err);
    call->waiting_on = cmd;
    call->cancel = cancel_wait;
    return lua_yield(L, 0);
}

static int core_redis_enabled(lua_State *L)
{
    lua_pushboolean(L, mt_redis_enabled());
    return 1;
}

/* Methods that raise a failure from the caller's line, around the C ones that yield. */
static const char WRAPPER[] = "local raw = ...\n"
                              "local methods = {}\n"
                              "for name, f in pairs(raw) do\n"
                              "  methods[name] = function(self, ...)\n"
                              "    local done, ok, a, b = pcall(f, self, ...)\n"
                              "    if not done then error(ok, 2) end\n"
                              "    if not ok then error(a, 2) end\n"
                              "    if b == nil then return a end\n"
                              "    return a, b\n"
                              "  end\n"
                              "end\n"
                              "return methods\n";

void mt_shared_redis_register(lua_State *L)
{
    luaL_newmetatable(L, RDICT_MT);
    lua_pushliteral(L, RDICT_MT);
    lua_setfield(L, -2, "__name");
    if (luaL_loadbuffer(L, WRAPPER, sizeof(WRAPPER) - 1, "=moontide.shared") != 0)
        lua_error(L);
    lua_newtable(L);
    luaL_register(L, NULL, rdict_methods);
    lua_call(L, 1, 1);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "the metatable of a shared dict is not yours to change");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
    lua_pushcfunction(L, core_redis_limit);
    lua_setfield(L, -2, "redis_limit");
    lua_pushcfunction(L, core_redis_enabled);
    lua_setfield(L, -2, "redis_enabled");
}

/*
 * moontide.shared dicts with {backend = "redis"} and the rate limiter's step
 * on Redis (shared_redis.c), over the worker's connection (redis.c).
 */
#ifndef MT_SHARED_REDIS_H
#define MT_SHARED_REDIS_H

#include <lua.h>
#include <stddef.h>
#include "shared_dict.h"

/* Adds redis_limit and redis_enabled to the moontide.core table on top of the stack; makes the dict metatable. */
void mt_shared_redis_register(lua_State *L);

/* Pushes a handle on the Redis dict `name` (keys moontide:NAME:KEY). */
void mt_shared_redis_push_dict(lua_State *L, const char *name, size_t len);

/* A number as Redis stores it: the shortest of %.15g and %.17g that reads back exactly. Returns the length. */
size_t mt_shared_redis_encode_number(double n, char *out, size_t size);

/* A stored value back to its type ("s" + bytes, "b0"/"b1", a number); -1 when it is none of them. */
int mt_shared_redis_decode(const char *s, size_t len, mt_shared_value_t *value);

#endif

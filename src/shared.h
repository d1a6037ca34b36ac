/*
 * moontide.shared: shared dicts for Lua (shared.c) over shared_dict.c, and
 * the rate limiter's atomic step.
 */
#ifndef MT_SHARED_H
#define MT_SHARED_H

#include <lua.h>
#include "shared_dict.h"

#define MT_SHARED_ZONE_DEFAULT (64 * 1024 * 1024) /* --shared-memory */
#define MT_SHARED_DICT_DEFAULT (1024 * 1024)      /* moontide.shared.dict(name) without a size */

/* The zone this process's dicts live in: main maps it before the workers fork. */
void mt_shared_use_zone(mt_shared_zone_t *zone);

/*
 * The limiter's interval (seconds, at index idx) and capacity (at idx + 1) as
 * whole microseconds and requests, the window capped at MT_SHARED_EXACT_US
 * so the step's sums stay exact.
 */
void mt_shared_check_limit(lua_State *L, int idx, int64_t *interval_us, int64_t *capacity);

/* The rate limiter's step as Lua results (allowed, remaining, reset, retry_after): returns 4. */
int mt_shared_push_limit(lua_State *L, const mt_shared_limit_t *out);

/* Adds shared_dict and shared_limit to the moontide.core table on top of the stack. */
void mt_shared_register(lua_State *L);

#endif

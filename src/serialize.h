/*
 * Response models: a handler's return value written as JSON by its
 * ---@return type, in C. Fields the type does not name are dropped, fields
 * come out in declaration order, and a value that does not fit is an error
 * naming the first mismatch (the caller answers 500, never a partial body).
 */
#ifndef MT_SERIALIZE_H
#define MT_SERIALIZE_H

#include <lua.h>
#include "buf.h"
#include "schema.h"

/* Appends the value at `index` as `type`. Returns 0, or -1 with "loc: message" in err. */
int mt_serialize(lua_State *L, int index, const mt_type_t *type, mt_buf_t *out, char *err, size_t errsize);

#endif

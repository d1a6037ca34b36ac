/*
 * A request's arguments for an annotated handler, following its binding plan
 * (binding.h): each is read from the path, the query, a header, a cookie or
 * the JSON body, converted and validated in C, and only then pushed to Lua.
 */
#ifndef MT_ARGUMENTS_H
#define MT_ARGUMENTS_H

#include "buf.h"
#include "request.h"
#include "schema.h"

/*
 * Pushes the handler's arguments onto co. Returns how many, or -1 when the
 * request does not validate: `detail` then holds the whole 422 body,
 * {"detail":[...]} with every error of the request.
 */
int mt_arguments_push(mt_call_t *call, lua_State *co, mt_buf_t *detail);

/*
 * Pushes a field's Lua name (never its alias). The string is interned once
 * per process and kept in the registry, so binding and serialization index
 * tables without hashing the name again.
 */
void mt_field_push_name(lua_State *L, const mt_field_t *field);

#endif

/*
 * The other door into the schema model: a route's `opts` table, for routes
 * built in code (SPEC §2). What an annotation block says can be said here
 * with Lua values, and it becomes the same mt_handler_doc_t.
 */
#ifndef MT_ROUTE_OPTS_H
#define MT_ROUTE_OPTS_H

#include <lua.h>
#include "annotation.h"

/*
 * Builds a handler doc from the opts table at `index`, starting from the
 * annotation doc `base` (may be NULL) so opts override it field by field.
 * Returns `base` when opts say nothing a doc holds. Problems are recorded at
 * `file`:`line` (where the route was registered).
 */
const mt_handler_doc_t *mt_route_opts_doc(mt_schema_t *schema, lua_State *L, int index, const mt_handler_doc_t *base,
                                          const char *file, int line);

#endif

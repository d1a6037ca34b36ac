/*
 * Binding: where each argument of an annotated handler comes from (SPEC §4).
 * The plan is made once per route when the app loads, from the handler's
 * ---@param lines and its function's parameter names; requests only follow it.
 */
#ifndef MT_BINDING_H
#define MT_BINDING_H

#include "annotation.h"

typedef enum {
    MT_FROM_REQUEST, /* moontide.Request: the request object */
    MT_FROM_PATH,
    MT_FROM_QUERY,
    MT_FROM_HEADER,
    MT_FROM_COOKIE,
    MT_FROM_BODY,    /* the whole JSON body */
    MT_FROM_PROVIDER, /* a type given to app:provide: the provider's value (providers.c) */
} mt_source_t;

typedef struct st_mt_binding_arg_t {
    const char *name;      /* the Lua parameter */
    const char *wire_name; /* the query key, header name (lower case), cookie or path parameter name */
    mt_source_t source;
    size_t path_index;     /* MT_FROM_PATH: position among the template's parameters */
    size_t provider;       /* MT_FROM_PROVIDER: index into the app's providers */
    int credential;        /* a security provider's input: documented in securitySchemes, not as a parameter */
    int optional;
    const mt_type_t *type;
    const mt_param_doc_t *doc;
} mt_binding_arg_t;

typedef struct st_mt_binding_t {
    mt_binding_arg_t *args; /* in the function's parameter order */
    size_t num_args;
    int body_arg;           /* index into args, or -1 */
} mt_binding_t;

/*
 * Plans a route's arguments. `fn_params` are the handler function's parameter
 * names; `path_params` the template's. Returns NULL when the handler has no
 * ---@param (it takes the request object) or when the plan has problems
 * (recorded in the schema at `file`:`line` or at the ---@param line). A
 * provider's plan (`for_provider`) need not bind every path parameter and
 * cannot take the body.
 */
mt_binding_t *mt_binding_plan(mt_schema_t *schema, const mt_handler_doc_t *doc, const char *const *fn_params,
                              size_t num_fn_params, char *const *path_params, size_t num_path_params, const char *file,
                              int line, int for_provider);

/* A type with its names followed to what they stand for. */
const mt_type_t *mt_type_resolved(const mt_type_t *type);

#endif

/*
 * Binding plans. Each ---@param is matched to the handler function's
 * parameter of the same name, then given a source, in SPEC §4's order: the
 * request type, a name from the path template, an object-like type (the JSON
 * body), otherwise the query string — unless {in=...} says where it is.
 */
#include <ctype.h>
#include <string.h>
#include "binding.h"

const mt_type_t *mt_type_resolved(const mt_type_t *type)
{
    for (int hops = 0; type != NULL && type->kind == MT_TYPE_NAME && hops < 64; hops++)
        type = type->u.ref.target;
    return type;
}

/* Objects, maps, and arrays of them are read from a JSON body. */
static int is_body_type(const mt_type_t *type, int depth)
{
    type = mt_type_resolved(type);
    if (type == NULL || depth > 16)
        return 0;
    switch (type->kind) {
    case MT_TYPE_OBJECT:
    case MT_TYPE_MAP:
    case MT_TYPE_TABLE:
        return 1;
    case MT_TYPE_ARRAY:
        return is_body_type(type->u.items, depth + 1);
    case MT_TYPE_UNION:
        for (size_t i = 0; i != type->u.any_of.num_members; i++)
            if (!is_body_type(type->u.any_of.members[i], depth + 1))
                return 0;
        return type->u.any_of.num_members != 0;
    default:
        return 0;
    }
}

/* x_api_key -> x-api-key */
static const char *header_name(mt_schema_t *schema, const char *name)
{
    char *wire = mt_arena_strndup(&schema->arena, name, strlen(name));
    for (char *c = wire; *c != '\0'; c++)
        *c = *c == '_' ? '-' : (char)tolower((unsigned char)*c);
    return wire;
}

static mt_source_t source_of(const mt_param_doc_t *param, char *const *path_params, size_t num_path_params,
                             size_t *path_index)
{
    const mt_constraints_t *c = param->type->constraints;
    const mt_type_t *resolved = mt_type_resolved(param->type);
    if (resolved != NULL && resolved->kind == MT_TYPE_REQUEST)
        return MT_FROM_REQUEST;
    if (resolved != NULL && resolved->kind == MT_TYPE_PROVIDED)
        return MT_FROM_PROVIDER;
    for (size_t i = 0; i != num_path_params; i++) {
        if (strcmp(path_params[i], c && c->alias ? c->alias : param->name) == 0) {
            *path_index = i;
            if (c == NULL || c->in == NULL || strcmp(c->in, "path") == 0)
                return MT_FROM_PATH;
        }
    }
    if (c != NULL && c->in != NULL) {
        if (strcmp(c->in, "query") == 0)
            return MT_FROM_QUERY;
        if (strcmp(c->in, "header") == 0)
            return MT_FROM_HEADER;
        if (strcmp(c->in, "cookie") == 0)
            return MT_FROM_COOKIE;
        if (strcmp(c->in, "body") == 0)
            return MT_FROM_BODY;
        return MT_FROM_PATH; /* in="path" naming no template parameter: reported by the caller */
    }
    return is_body_type(param->type, 0) ? MT_FROM_BODY : MT_FROM_QUERY;
}

mt_binding_t *mt_binding_plan(mt_schema_t *schema, const mt_handler_doc_t *doc, const char *const *fn_params,
                              size_t num_fn_params, char *const *path_params, size_t num_path_params, const char *file,
                              int line, int for_provider)
{
    if (doc == NULL || doc->num_params == 0)
        return NULL;
    size_t problems_before = schema->num_problems;
    mt_binding_t *plan = mt_arena_alloc(&schema->arena, sizeof(*plan));
    plan->body_arg = -1;
    plan->num_args = num_fn_params;
    plan->args = mt_arena_alloc(&schema->arena, (num_fn_params ? num_fn_params : 1) * sizeof(*plan->args));
    for (size_t i = 0; i != num_fn_params; i++)
        plan->args[i].name = fn_params[i];

    for (size_t p = 0; p != doc->num_params; p++) {
        const mt_param_doc_t *param = doc->params + p;
        size_t at = num_fn_params;
        for (size_t i = 0; i != num_fn_params; i++)
            if (strcmp(fn_params[i], param->name) == 0)
                at = i;
        if (at == num_fn_params) {
            mt_schema_problem(schema, doc->file, param->line, "---@param %s names no argument of the function", param->name);
            continue;
        }
        mt_binding_arg_t *arg = plan->args + at;
        const mt_constraints_t *c = param->type->constraints;
        arg->doc = param;
        arg->type = param->type;
        arg->optional = param->optional || param->type->nullable || (c != NULL && c->default_json != NULL);
        arg->source = source_of(param, path_params, num_path_params, &arg->path_index);
        if (arg->source == MT_FROM_PROVIDER)
            arg->provider = mt_type_resolved(param->type)->u.provided.index;
        arg->wire_name = c != NULL && c->alias != NULL ? c->alias : param->name;
        if (arg->source == MT_FROM_HEADER && (c == NULL || c->alias == NULL))
            arg->wire_name = header_name(schema, param->name);
        if (arg->source == MT_FROM_PATH) {
            int known = 0;
            for (size_t i = 0; i != num_path_params; i++)
                known |= strcmp(path_params[i], arg->wire_name) == 0;
            if (!known)
                mt_schema_problem(schema, doc->file, param->line,
                                  "---@param %s is {in=\"path\"} but the route's path has no {%s}", param->name,
                                  arg->wire_name);
            else if (arg->optional)
                mt_schema_problem(schema, doc->file, param->line, "path parameter %s cannot be optional", param->name);
        }
        if (arg->source == MT_FROM_BODY) {
            if (for_provider)
                mt_schema_problem(schema, doc->file, param->line,
                                  "---@param %s: a provider cannot take the JSON body (give it to the handler)",
                                  param->name);
            else if (plan->body_arg >= 0)
                mt_schema_problem(schema, doc->file, param->line,
                                  "two body parameters (%s and %s): a handler takes the JSON body as one parameter",
                                  plan->args[plan->body_arg].name, param->name);
            else
                plan->body_arg = (int)at;
        }
    }
    for (size_t i = 0; !for_provider && i != num_path_params; i++) {
        int bound = 0;
        for (size_t a = 0; a != num_fn_params; a++)
            bound |= plan->args[a].doc != NULL && plan->args[a].source == MT_FROM_PATH && plan->args[a].path_index == i;
        if (!bound)
            mt_schema_problem(schema, file, line, "path parameter {%s} has no ---@param %s line", path_params[i],
                              path_params[i]);
    }
    return schema->num_problems == problems_before ? plan : NULL;
}

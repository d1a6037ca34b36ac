/*
 * The OpenAPI 3.1 document, written straight from the schema model (no
 * intermediate tree): schemas follow JSON Schema 2020-12 the way Pydantic v2
 * spells them (T? is anyOf [T, null], literal unions are enums, classes are
 * components reached by $ref), operations follow FastAPI's layout (422 with
 * HTTPValidationError whenever a route takes arguments). Everything comes out
 * in declaration order, so the same app always gives the same bytes.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "openapi.h"
#include "providers.h"
#include "response.h"

#define MAX_NESTING 1024 /* JSON levels */
#define MAX_TYPE_DEPTH 128 /* types within types; each takes a few JSON levels */

typedef struct st_writer_t {
    mt_buf_t *out;
    int count[MAX_NESTING]; /* members written so far at each open level */
    int depth;
    int after_key; /* the next value completes a "key": pair */
    const char *error;
    const mt_type_t **classes; /* classes referenced so far: each becomes a component */
    size_t num_classes, cap_classes;
} writer_t;

/* --- a small JSON writer: it places the commas ---------------------------- */

static void raw(writer_t *w, const char *text, size_t len)
{
    if (w->error == NULL && mt_buf_append(w->out, text, len) != 0)
        w->error = "out of memory";
}

#define RAW(w, lit) raw((w), (lit), sizeof(lit) - 1)

/* Before a value: a comma unless it is the first of its level or follows its key. */
static void value_start(writer_t *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (w->depth >= 0 && w->depth < MAX_NESTING && w->count[w->depth]++ != 0)
        RAW(w, ",");
}

static void begin(writer_t *w, char bracket)
{
    value_start(w);
    raw(w, &bracket, 1);
    if (++w->depth < MAX_NESTING)
        w->count[w->depth] = 0;
    else
        w->error = "the document nests too deeply";
}

static void end(writer_t *w, char bracket)
{
    raw(w, &bracket, 1);
    w->depth--;
}

static void string(writer_t *w, const char *s)
{
    value_start(w);
    if (mt_json_encode_string(w->out, s, strlen(s)) != 0)
        w->error = "out of memory";
}

static void key(writer_t *w, const char *name)
{
    string(w, name);
    RAW(w, ":");
    w->after_key = 1;
}

static void key_string(writer_t *w, const char *name, const char *value)
{
    key(w, name);
    string(w, value);
}

static void number(writer_t *w, double n)
{
    char text[32];
    value_start(w);
    raw(w, text, mt_json_format_number(n, text));
}

static void key_number(writer_t *w, const char *name, double n)
{
    key(w, name);
    number(w, n);
}

static void key_true(writer_t *w, const char *name)
{
    key(w, name);
    value_start(w);
    RAW(w, "true");
}

/* A value that is JSON text already (a constraint's default or example). */
static void key_json(writer_t *w, const char *name, const char *json)
{
    key(w, name);
    value_start(w);
    raw(w, json, strlen(json));
}

/* --- schemas -------------------------------------------------------------- */

static void schema(writer_t *w, const mt_type_t *type, const char *description, int depth);
static void keys_maybe_null(writer_t *w, const mt_type_t *type, int nullable, int depth);
static void nullable_schema(writer_t *w, const mt_type_t *type, int nullable, const char *description, int depth);

/* A component's name: the class name with anything OpenAPI does not allow in one made '_'. */
static void component_name(const char *class_name, char *name, size_t size)
{
    size_t n = 0;
    for (const char *c = class_name; *c != '\0' && n + 1 < size; c++)
        name[n++] = isalnum((unsigned char)*c) || *c == '.' || *c == '-' || *c == '_' ? *c : '_';
    name[n] = '\0';
}

static void component_ref(writer_t *w, const char *class_name)
{
    char ref[512];
    size_t n = (size_t)snprintf(ref, sizeof(ref), "#/components/schemas/");
    component_name(class_name, ref + n, sizeof(ref) - n);
    key_string(w, "$ref", ref);
}

static void use_class(writer_t *w, const mt_type_t *cls)
{
    for (size_t i = 0; i != w->num_classes; i++)
        if (w->classes[i] == cls)
            return;
    if (w->num_classes == w->cap_classes) {
        size_t cap = w->cap_classes ? w->cap_classes * 2 : 16;
        const mt_type_t **grown = realloc(w->classes, cap * sizeof(*grown));
        if (grown == NULL) {
            w->error = "out of memory";
            return;
        }
        w->classes = grown;
        w->cap_classes = cap;
    }
    w->classes[w->num_classes++] = cls;
}

static void constraint_keys(writer_t *w, const mt_constraints_t *c)
{
    static const char *const formats[] = {
        [MT_FORMAT_EMAIL] = "email", [MT_FORMAT_UUID] = "uuid", [MT_FORMAT_DATE] = "date",
        [MT_FORMAT_DATE_TIME] = "date-time", [MT_FORMAT_URI] = "uri", [MT_FORMAT_IPV4] = "ipv4",
        [MT_FORMAT_IPV6] = "ipv6",
    };
    if (c == NULL)
        return;
    if (c->has & MT_HAS_MINIMUM)
        key_number(w, "minimum", c->minimum);
    if (c->has & MT_HAS_MAXIMUM)
        key_number(w, "maximum", c->maximum);
    if (c->has & MT_HAS_EXCLUSIVE_MINIMUM)
        key_number(w, "exclusiveMinimum", c->exclusive_minimum);
    if (c->has & MT_HAS_EXCLUSIVE_MAXIMUM)
        key_number(w, "exclusiveMaximum", c->exclusive_maximum);
    if (c->has & MT_HAS_MULTIPLE_OF)
        key_number(w, "multipleOf", c->multiple_of);
    if (c->has & MT_HAS_MIN_LENGTH)
        key_number(w, "minLength", (double)c->min_length);
    if (c->has & MT_HAS_MAX_LENGTH)
        key_number(w, "maxLength", (double)c->max_length);
    if (c->has & MT_HAS_PATTERN)
        key_string(w, "pattern", c->pattern);
    if ((c->has & MT_HAS_FORMAT) && c->format != MT_FORMAT_NONE)
        key_string(w, "format", formats[c->format]);
    if (c->has & MT_HAS_MIN_ITEMS)
        key_number(w, "minItems", (double)c->min_items);
    if (c->has & MT_HAS_MAX_ITEMS)
        key_number(w, "maxItems", (double)c->max_items);
    if ((c->has & MT_HAS_UNIQUE_ITEMS) && c->unique_items)
        key_true(w, "uniqueItems");
}

/* A union whose members are all string literals, or all integer literals, is an enum. */
static int literal_union_kind(const mt_type_t *type)
{
    int kind = 0; /* 1: strings, 2: integers */
    for (size_t i = 0; i != type->u.any_of.num_members; i++) {
        const mt_type_t *m = mt_type_resolved(type->u.any_of.members[i]);
        if (m == NULL || m->kind != MT_TYPE_LITERAL || m->nullable || m->constraints != NULL)
            return 0;
        int k = m->u.literal.is_string ? 1 : 2;
        if (kind != 0 && kind != k)
            return 0;
        kind = k;
    }
    return kind;
}

static void literal_value(writer_t *w, const mt_type_t *literal)
{
    if (literal->u.literal.is_string)
        string(w, literal->u.literal.string);
    else
        number(w, (double)literal->u.literal.integer);
}

static void object_keys(writer_t *w, const mt_type_t *type, int depth)
{
    key_string(w, "type", "object");
    if (type->u.object.num_fields == 0)
        return;
    key(w, "properties");
    begin(w, '{');
    int required = 0;
    for (size_t i = 0; i != type->u.object.num_fields; i++) {
        const mt_field_t *field = type->u.object.fields + i;
        key(w, MT_FIELD_WIRE_NAME(field));
        /* an optional field may be null on the way in, and is written as null when absent */
        nullable_schema(w, field->type, field->optional, field->description, depth + 1);
        const mt_constraints_t *c = field->type->constraints;
        required += !field->optional && !field->type->nullable && !(c != NULL && c->default_json != NULL);
    }
    end(w, '}');
    if (required == 0)
        return;
    key(w, "required");
    begin(w, '[');
    for (size_t i = 0; i != type->u.object.num_fields; i++) {
        const mt_field_t *field = type->u.object.fields + i;
        const mt_constraints_t *c = field->type->constraints;
        if (!field->optional && !field->type->nullable && !(c != NULL && c->default_json != NULL))
            string(w, MT_FIELD_WIRE_NAME(field));
    }
    end(w, ']');
}

/* The keys that say what a value is, written into an object already open. */
static void type_keys(writer_t *w, const mt_type_t *type, int depth)
{
    if (depth > MAX_TYPE_DEPTH) {
        w->error = "a type nests more than 128 levels deep (an alias that contains itself?)";
        return;
    }
    static const char *const scalar_types[] = {
        [MT_TYPE_NIL] = "null",       [MT_TYPE_STRING] = "string",   [MT_TYPE_NUMBER] = "number",
        [MT_TYPE_INTEGER] = "integer", [MT_TYPE_BOOLEAN] = "boolean", [MT_TYPE_TABLE] = "object",
    };
    switch (type->kind) {
    case MT_TYPE_ANY:
    case MT_TYPE_REQUEST:
    case MT_TYPE_PROVIDED:
        break;
    case MT_TYPE_NIL:
    case MT_TYPE_STRING:
    case MT_TYPE_NUMBER:
    case MT_TYPE_INTEGER:
    case MT_TYPE_BOOLEAN:
    case MT_TYPE_TABLE:
        key_string(w, "type", scalar_types[type->kind]);
        break;
    case MT_TYPE_ARRAY:
        key_string(w, "type", "array");
        key(w, "items");
        schema(w, type->u.items, NULL, depth + 1);
        break;
    case MT_TYPE_MAP:
        key_string(w, "type", "object");
        key(w, "additionalProperties");
        schema(w, type->u.items, NULL, depth + 1);
        break;
    case MT_TYPE_OBJECT:
        if (type->u.object.name != NULL) {
            use_class(w, type);
            component_ref(w, type->u.object.name);
        } else {
            object_keys(w, type, depth);
        }
        break;
    case MT_TYPE_LITERAL:
        key_string(w, "type", type->u.literal.is_string ? "string" : "integer");
        key(w, "enum");
        begin(w, '[');
        literal_value(w, type);
        end(w, ']');
        break;
    case MT_TYPE_UNION: {
        int kind = literal_union_kind(type);
        if (kind != 0) {
            key_string(w, "type", kind == 1 ? "string" : "integer");
            key(w, "enum");
            begin(w, '[');
            for (size_t i = 0; i != type->u.any_of.num_members; i++)
                literal_value(w, mt_type_resolved(type->u.any_of.members[i]));
            end(w, ']');
            break;
        }
        key(w, "anyOf");
        begin(w, '[');
        for (size_t i = 0; i != type->u.any_of.num_members; i++)
            schema(w, type->u.any_of.members[i], NULL, depth + 1);
        end(w, ']');
        break;
    }
    case MT_TYPE_NAME: {
        if (type->u.ref.target != NULL) /* an alias, written out; it may be of an optional type */
            keys_maybe_null(w, type->u.ref.target, 0, depth + 1);
        break;
    }
    }
}

/* A type's keys and constraints; when it may also be null: anyOf [those, {"type": "null"}]. */
static void keys_maybe_null(writer_t *w, const mt_type_t *type, int nullable, int depth)
{
    if (!(nullable || type->nullable) || type->kind == MT_TYPE_NIL || type->kind == MT_TYPE_ANY) {
        type_keys(w, type, depth);
        constraint_keys(w, type->constraints);
        return;
    }
    key(w, "anyOf");
    begin(w, '[');
    begin(w, '{');
    type_keys(w, type, depth);
    constraint_keys(w, type->constraints);
    end(w, '}');
    begin(w, '{');
    key_string(w, "type", "null");
    end(w, '}');
    end(w, ']');
}

/* One schema object: what the value is, its constraints, then what documents it. */
static void schema(writer_t *w, const mt_type_t *type, const char *description, int depth)
{
    nullable_schema(w, type, 0, description, depth);
}

/* The same, allowing null too when `nullable` (T? is nullable by itself). */
static void nullable_schema(writer_t *w, const mt_type_t *type, int nullable, const char *description, int depth)
{
    begin(w, '{');
    if (type != NULL)
        keys_maybe_null(w, type, nullable, depth);
    if (description != NULL && description[0] != '\0')
        key_string(w, "description", description);
    const mt_constraints_t *c = type != NULL ? type->constraints : NULL;
    if (c != NULL && c->default_json != NULL)
        key_json(w, "default", c->default_json);
    if (c != NULL && c->example_json != NULL) {
        key(w, "examples");
        begin(w, '[');
        value_start(w);
        raw(w, c->example_json, strlen(c->example_json));
        end(w, ']');
    }
    if (c != NULL && c->deprecated)
        key_true(w, "deprecated");
    end(w, '}');
}

/* --- operations ----------------------------------------------------------- */

static const char *source_in(mt_source_t source)
{
    switch (source) {
    case MT_FROM_PATH: return "path";
    case MT_FROM_QUERY: return "query";
    case MT_FROM_HEADER: return "header";
    case MT_FROM_COOKIE: return "cookie";
    default: return NULL;
    }
}

/* The request carries something to validate (else no 422 can happen). */
static int takes_input(const mt_binding_t *inputs)
{
    for (size_t i = 0; inputs != NULL && i != inputs->num_args; i++)
        if (inputs->args[i].doc != NULL && inputs->args[i].source != MT_FROM_REQUEST &&
            inputs->args[i].source != MT_FROM_PROVIDER && !inputs->args[i].credential)
            return 1;
    return 0;
}

/* A parameter of the operation (a credential is described by its security scheme instead). */
static const char *parameter_in(const mt_binding_arg_t *arg)
{
    return arg->credential ? NULL : source_in(arg->source);
}

/* "security": every moontide.security provider the route runs, all required. */
static void security_requirement(writer_t *w, const mt_app_t *app, const mt_route_t *route)
{
    int any = 0;
    for (size_t s = 0; s != route->num_steps; s++)
        any |= app->providers[route->steps[s].provider].security.scheme != NULL;
    if (!any)
        return;
    key(w, "security");
    begin(w, '[');
    begin(w, '{');
    for (size_t s = 0; s != route->num_steps; s++) {
        const mt_provider_t *p = app->providers + route->steps[s].provider;
        if (p->security.scheme == NULL)
            continue;
        key(w, p->name);
        begin(w, '[');
        end(w, ']');
    }
    end(w, '}');
    end(w, ']');
}

static int used_in_schema(const mt_app_t *app, size_t provider)
{
    for (size_t i = 0; i != app->num_routes; i++)
        for (size_t s = 0; app->routes[i]->in_schema && s != app->routes[i]->num_steps; s++)
            if (app->routes[i]->steps[s].provider == provider)
                return 1;
    return 0;
}

/* components.securitySchemes, named as the providers are: Swagger UI's Authorize dialog lists them. */
static void security_schemes(writer_t *w, const mt_app_t *app)
{
    int any = 0;
    for (size_t i = 0; i != app->num_providers; i++) {
        const mt_provider_t *p = app->providers + i;
        if (p->security.scheme == NULL || !used_in_schema(app, i))
            continue;
        if (!any) {
            key(w, "securitySchemes");
            begin(w, '{');
            any = 1;
        }
        key(w, p->name);
        begin(w, '{');
        key_string(w, "type", p->security.scheme);
        if (strcmp(p->security.scheme, "apiKey") == 0) {
            key_string(w, "name", p->security.name);
            key_string(w, "in", p->security.in);
        } else {
            key_string(w, "scheme", "bearer");
            if (p->security.format != NULL)
                key_string(w, "bearerFormat", p->security.format);
        }
        if (p->security.description != NULL)
            key_string(w, "description", p->security.description);
        end(w, '}');
    }
    if (any)
        end(w, '}');
}

static int has_security_schemes(const mt_app_t *app)
{
    for (size_t i = 0; i != app->num_providers; i++)
        if (app->providers[i].security.scheme != NULL && used_in_schema(app, i))
            return 1;
    return 0;
}

static void parameters(writer_t *w, const mt_binding_t *binding)
{
    int any = 0;
    for (size_t i = 0; i != binding->num_args; i++)
        any |= parameter_in(binding->args + i) != NULL;
    if (!any)
        return;
    key(w, "parameters");
    begin(w, '[');
    for (size_t i = 0; i != binding->num_args; i++) {
        const mt_binding_arg_t *arg = binding->args + i;
        const char *in = parameter_in(arg);
        if (in == NULL)
            continue;
        begin(w, '{');
        key_string(w, "name", arg->wire_name);
        key_string(w, "in", in);
        key(w, "required");
        value_start(w);
        if (arg->source == MT_FROM_PATH || !arg->optional)
            RAW(w, "true");
        else
            RAW(w, "false");
        const char *description = arg->doc != NULL ? arg->doc->description : NULL;
        if (description != NULL && description[0] != '\0')
            key_string(w, "description", description);
        const mt_constraints_t *c = arg->type->constraints;
        if (c != NULL && c->deprecated)
            key_true(w, "deprecated");
        if (c != NULL && c->example_json != NULL) /* Swagger UI fills Try it out from the parameter's example */
            key_json(w, "example", c->example_json);
        key(w, "schema");
        schema(w, arg->type, NULL, 0);
        end(w, '}');
    }
    end(w, ']');
}

static void request_body(writer_t *w, const mt_binding_arg_t *arg)
{
    key(w, "requestBody");
    begin(w, '{');
    const char *description = arg->doc != NULL ? arg->doc->description : NULL;
    if (description != NULL && description[0] != '\0')
        key_string(w, "description", description);
    key(w, "required");
    value_start(w);
    if (arg->optional)
        RAW(w, "false");
    else
        RAW(w, "true");
    key(w, "content");
    begin(w, '{');
    key(w, "application/json");
    begin(w, '{');
    key(w, "schema");
    nullable_schema(w, arg->type, arg->optional, NULL, 0); /* an optional body may be null */
    end(w, '}');
    end(w, '}');
    end(w, '}');
}

/* A response: its description and, when it has a body, that body's schema ({} when unknown). */
static void response(writer_t *w, int status, const char *description, const mt_type_t *type, int has_body)
{
    char code[16];
    snprintf(code, sizeof(code), "%d", status);
    key(w, code);
    begin(w, '{');
    key_string(w, "description", description);
    if (has_body && status != 204 && status != 304) {
        key(w, "content");
        begin(w, '{');
        key(w, "application/json");
        begin(w, '{');
        key(w, "schema");
        schema(w, type, NULL, 0);
        end(w, '}');
        end(w, '}');
    }
    end(w, '}');
}

static void responses(writer_t *w, const mt_route_t *route)
{
    const mt_handler_doc_t *doc = route->doc;
    int success = doc != NULL && doc->status != 0 ? doc->status : 200;
    int written[64], num_written = 0;
    key(w, "responses");
    begin(w, '{');
    const char *success_description =
        doc != NULL && doc->returns_description != NULL && doc->returns_description[0] != '\0' ? doc->returns_description
                                                                                              : "Successful Response";
    /* HEAD answers carry no body */
    response(w, success, success_description, doc != NULL ? doc->returns : NULL, route->method != mt_method_parse("HEAD", 4));
    written[num_written++] = success;
    for (size_t i = 0; doc != NULL && i != doc->num_responses && num_written < 63; i++) {
        const mt_response_doc_t *r = doc->responses + i;
        int seen = 0;
        for (int j = 0; j != num_written; j++)
            seen |= written[j] == r->status;
        if (seen)
            continue;
        const char *description = r->description != NULL && r->description[0] != '\0' ? r->description
                                                                                       : mt_status_reason(r->status);
        response(w, r->status, description, r->type, r->type != NULL);
        written[num_written++] = r->status;
    }
    int takes_arguments = takes_input(route->inputs);
    int seen_422 = 0;
    for (int j = 0; j != num_written; j++)
        seen_422 |= written[j] == 422;
    if (takes_arguments && !seen_422) {
        key(w, "422");
        begin(w, '{');
        key_string(w, "description", "Validation Error");
        key(w, "content");
        begin(w, '{');
        key(w, "application/json");
        begin(w, '{');
        key(w, "schema");
        begin(w, '{');
        key_string(w, "$ref", "#/components/schemas/HTTPValidationError");
        end(w, '}');
        end(w, '}');
        end(w, '}');
        end(w, '}');
    }
    end(w, '}');
}

/* "get_items_id" for GET /items/{id}: the method and the path's letters and digits, '_' for the rest. */
static void base_operation_id(const mt_route_t *route, char *id, size_t size)
{
    size_t n = 0;
    for (const char *m = mt_method_name(route->method); *m != '\0' && n + 1 < size; m++)
        id[n++] = (char)tolower((unsigned char)*m);
    for (const char *p = route->pattern; *p != '\0' && n + 1 < size; p++) {
        char c = isalnum((unsigned char)*p) ? *p : '_';
        if (c != '_' || id[n - 1] != '_')
            id[n++] = c;
    }
    while (n > 1 && id[n - 1] == '_')
        n--;
    id[n] = '\0';
}

/* Every documented route's operationId, unique: a later route that would repeat one gets _2, _3... */
static char **operation_ids(const mt_app_t *app)
{
    char **ids = calloc(app->num_routes + 1, sizeof(*ids));
    for (size_t i = 0; ids != NULL && i != app->num_routes; i++) {
        char base[256], id[280];
        base_operation_id(app->routes[i], base, sizeof(base));
        snprintf(id, sizeof(id), "%s", base);
        for (int suffix = 2;; suffix++) {
            int taken = 0;
            for (size_t j = 0; j != i; j++)
                taken |= ids[j] != NULL && strcmp(ids[j], id) == 0;
            if (!taken)
                break;
            snprintf(id, sizeof(id), "%s_%d", base, suffix);
        }
        if (app->routes[i]->in_schema)
            ids[i] = strdup(id);
    }
    return ids;
}

static void operation(writer_t *w, const mt_app_t *app, const mt_route_t *route, const char *id)
{
    const mt_handler_doc_t *doc = route->doc;
    char method[16];
    size_t n = 0;
    for (const char *m = mt_method_name(route->method); *m != '\0' && n + 1 < sizeof(method); m++)
        method[n++] = (char)tolower((unsigned char)*m);
    method[n] = '\0';
    key(w, method);
    begin(w, '{');
    if (doc != NULL && doc->num_tags != 0) {
        key(w, "tags");
        begin(w, '[');
        for (size_t i = 0; i != doc->num_tags; i++)
            string(w, doc->tags[i]);
        end(w, ']');
    }
    if (doc != NULL && doc->summary != NULL && doc->summary[0] != '\0') {
        key_string(w, "summary", doc->summary);
    } else {
        char summary[512];
        snprintf(summary, sizeof(summary), "%s %s", mt_method_name(route->method), route->pattern);
        key_string(w, "summary", summary);
    }
    if (doc != NULL && doc->description != NULL && doc->description[0] != '\0')
        key_string(w, "description", doc->description);
    if (id != NULL)
        key_string(w, "operationId", id);
    else
        w->error = "out of memory";
    if (doc != NULL && doc->deprecated)
        key_true(w, "deprecated");
    security_requirement(w, app, route);
    if (route->inputs != NULL) {
        parameters(w, route->inputs);
        if (route->inputs->body_arg >= 0)
            request_body(w, route->inputs->args + route->inputs->body_arg);
    } else if (route->num_params != 0) {
        /* a handler reading req.params: its path parameters are strings, as the template names them */
        key(w, "parameters");
        begin(w, '[');
        for (size_t i = 0; i != route->num_params; i++) {
            begin(w, '{');
            key_string(w, "name", route->param_names[i]);
            key_string(w, "in", "path");
            key_true(w, "required");
            key(w, "schema");
            begin(w, '{');
            key_string(w, "type", "string");
            end(w, '}');
            end(w, '}');
        }
        end(w, ']');
    }
    responses(w, route);
    end(w, '}');
}

static void paths(writer_t *w, const mt_app_t *app, char **ids)
{
    key(w, "paths");
    begin(w, '{');
    for (size_t i = 0; i != app->num_routes; i++) {
        const mt_route_t *route = app->routes[i];
        int seen = 0;
        for (size_t j = 0; j != i; j++)
            seen |= app->routes[j]->in_schema && strcmp(app->routes[j]->pattern, route->pattern) == 0;
        if (seen || !route->in_schema)
            continue; /* written with the first route of its path */
        key(w, route->pattern);
        begin(w, '{');
        for (size_t j = i; j != app->num_routes; j++)
            if (app->routes[j]->in_schema && strcmp(app->routes[j]->pattern, route->pattern) == 0)
                operation(w, app, app->routes[j], ids != NULL ? ids[j] : NULL);
        end(w, '}');
    }
    end(w, '}');
}

/* Tags in the order operations first use them, with the descriptions moontide.app{ tags = ... } gave. */
static void tags(writer_t *w, const mt_app_t *app)
{
    const char *names[256];
    size_t n = 0;
    for (size_t i = 0; i != app->info.num_tags && n < 256; i++)
        names[n++] = app->info.tags[i].name;
    for (size_t i = 0; i != app->num_routes; i++) {
        const mt_handler_doc_t *doc = app->routes[i]->doc;
        for (size_t t = 0; app->routes[i]->in_schema && doc != NULL && t != doc->num_tags && n < 256; t++) {
            int seen = 0;
            for (size_t j = 0; j != n; j++)
                seen |= strcmp(names[j], doc->tags[t]) == 0;
            if (!seen)
                names[n++] = doc->tags[t];
        }
    }
    if (n == 0)
        return;
    key(w, "tags");
    begin(w, '[');
    for (size_t i = 0; i != n; i++) {
        begin(w, '{');
        key_string(w, "name", names[i]);
        if (i < app->info.num_tags && app->info.tags[i].description != NULL)
            key_string(w, "description", app->info.tags[i].description);
        end(w, '}');
    }
    end(w, ']');
}

/* FastAPI's shapes, plus the input and ctx members moontide's errors carry. */
static const char validation_schemas[] =
    "\"HTTPValidationError\":{\"type\":\"object\",\"title\":\"HTTPValidationError\",\"properties\":{\"detail\":"
    "{\"type\":\"array\",\"title\":\"Detail\",\"items\":{\"$ref\":\"#/components/schemas/ValidationError\"}}}},"
    "\"ValidationError\":{\"type\":\"object\",\"title\":\"ValidationError\",\"properties\":{\"loc\":{\"type\":"
    "\"array\",\"title\":\"Location\",\"items\":{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"}]}},"
    "\"msg\":{\"type\":\"string\",\"title\":\"Message\"},\"type\":{\"type\":\"string\",\"title\":\"Error Type\"},"
    "\"input\":{\"title\":\"Input\"},\"ctx\":{\"type\":\"object\",\"title\":\"Context\"}},"
    "\"required\":[\"loc\",\"msg\",\"type\"]}";

static void components(writer_t *w, const mt_app_t *app)
{
    int validation = 0;
    for (size_t i = 0; i != app->num_routes; i++)
        validation |= app->routes[i]->in_schema && takes_input(app->routes[i]->inputs);
    int security = has_security_schemes(app);
    if (w->num_classes == 0 && !validation && !security)
        return;
    key(w, "components");
    begin(w, '{');
    key(w, "schemas");
    begin(w, '{');
    /* writing a class may reference more classes: the list grows while it is walked */
    for (size_t i = 0; i < w->num_classes; i++) {
        const mt_type_t *cls = w->classes[i];
        char name[512];
        component_name(cls->u.object.name, name, sizeof(name));
        key(w, name);
        begin(w, '{');
        object_keys(w, cls, 0);
        key_string(w, "title", cls->u.object.name);
        if (cls->u.object.description != NULL && cls->u.object.description[0] != '\0')
            key_string(w, "description", cls->u.object.description);
        end(w, '}');
    }
    if (validation) {
        value_start(w);
        RAW(w, validation_schemas);
    }
    end(w, '}');
    security_schemes(w, app);
    end(w, '}');
}

int mt_openapi_build(const mt_app_t *app, mt_buf_t *out, const char **error)
{
    writer_t w = {.out = out};
    begin(&w, '{');
    key_string(&w, "openapi", "3.1.0");
    key(&w, "info");
    begin(&w, '{');
    key_string(&w, "title", app->info.title);
    key_string(&w, "version", app->info.version);
    if (app->info.description != NULL)
        key_string(&w, "description", app->info.description);
    end(&w, '}');
    tags(&w, app);
    char **ids = operation_ids(app);
    paths(&w, app, ids);
    components(&w, app);
    end(&w, '}');
    RAW(&w, "\n");
    for (size_t i = 0; ids != NULL && i != app->num_routes; i++)
        free(ids[i]);
    free(ids);
    free(w.classes);
    *error = w.error;
    return w.error != NULL ? -1 : 0;
}

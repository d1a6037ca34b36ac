/*
 * The validator. It walks a type and a cJSON value together; each check
 * that fails writes one error object straight into the response buffer, in
 * the order Pydantic would report them (fields in declaration order). The
 * location is a stack of keys and indexes pushed on the way down. Nothing
 * here allocates per check except on the error path (printing `input`).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "binding.h"
#include "json.h"
#include "formats.h"
#include "validate.h"

#define MAX_DEPTH 128

void mt_verrors_init(mt_verrors_t *errors, mt_buf_t *out, const char *root)
{
    errors->out = out;
    errors->count = 0;
    errors->depth = 0;
    errors->input_text = NULL;
    mt_verrors_push_key(errors, root, strlen(root));
}

void mt_verrors_push_key(mt_verrors_t *errors, const char *key, size_t len)
{
    if (errors->depth < MT_LOC_MAX)
        errors->loc[errors->depth] = (mt_loc_t){key, len, 0};
    errors->depth++;
}

void mt_verrors_push_index(mt_verrors_t *errors, long index)
{
    if (errors->depth < MT_LOC_MAX)
        errors->loc[errors->depth] = (mt_loc_t){NULL, 0, index};
    errors->depth++;
}

void mt_verrors_pop(mt_verrors_t *errors)
{
    errors->depth--;
}

#define APPEND(buf, lit) mt_buf_append((buf), (lit), sizeof(lit) - 1)

void mt_verrors_add(mt_verrors_t *errors, const char *type, const char *msg, const char *input_json, const char *ctx_json)
{
    mt_buf_t *out = errors->out;
    char index[32];
    if (errors->count++ != 0)
        APPEND(out, ",");
    APPEND(out, "{\"type\":");
    mt_json_encode_string(out, type, strlen(type));
    APPEND(out, ",\"loc\":[");
    for (int i = 0; i < errors->depth && i < MT_LOC_MAX; i++) {
        if (i != 0)
            APPEND(out, ",");
        if (errors->loc[i].key != NULL) {
            mt_json_encode_string(out, errors->loc[i].key, errors->loc[i].key_len);
        } else {
            int n = snprintf(index, sizeof(index), "%ld", errors->loc[i].index);
            mt_buf_append(out, index, (size_t)n);
        }
    }
    APPEND(out, "],\"msg\":");
    mt_json_encode_string(out, msg, strlen(msg));
    APPEND(out, ",\"input\":");
    if (errors->input_text != NULL)
        mt_json_encode_string(out, errors->input_text, errors->input_len);
    else if (input_json != NULL)
        mt_buf_append(out, input_json, strlen(input_json));
    else
        APPEND(out, "null");
    if (ctx_json != NULL) {
        APPEND(out, ",\"ctx\":{");
        mt_buf_append(out, ctx_json, strlen(ctx_json));
        APPEND(out, "}");
    }
    APPEND(out, "}");
}

/* Records an error whose input is a cJSON value (NULL: the input was absent). */
static void add_error(mt_verrors_t *errors, const char *type, const char *msg, const cJSON *input, const char *ctx)
{
    char *input_json = input != NULL && errors->input_text == NULL ? cJSON_PrintUnformatted(input) : NULL;
    mt_verrors_add(errors, type, msg, input_json, ctx);
    cJSON_free(input_json);
}

/* The number as JSON writes it, NUL-terminated (buf holds at least 33 bytes). */
static const char *format_number(double n, char *buf)
{
    buf[mt_json_format_number(n, buf)] = '\0';
    return buf;
}

static size_t utf8_length(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static void format_error(mt_verrors_t *errors, const cJSON *value, const char *type, const char *prefix,
                         const char *ctx_key, const char *reason)
{
    char msg[512];
    mt_buf_t ctx = {0};
    snprintf(msg, sizeof(msg), "%s%s", prefix, reason);
    mt_buf_append(&ctx, "\"", 1);
    mt_buf_append(&ctx, ctx_key, strlen(ctx_key));
    mt_buf_append(&ctx, "\":", 2);
    mt_json_encode_string(&ctx, reason, strlen(reason));
    mt_buf_append(&ctx, "", 1);
    add_error(errors, type, msg, value, ctx.data);
    mt_buf_free(&ctx);
}

static void check_format(const mt_constraints_t *c, const cJSON *value, mt_verrors_t *errors)
{
    const char *s = value->valuestring, *reason;
    switch (c->format) {
    case MT_FORMAT_EMAIL:
        if ((reason = mt_format_email_error(s)) != NULL)
            format_error(errors, value, "value_error", "value is not a valid email address: ", "reason", reason);
        break;
    case MT_FORMAT_UUID:
        if ((reason = mt_format_uuid_error(s)) != NULL)
            format_error(errors, value, "uuid_parsing", "Input should be a valid UUID, ", "error", reason);
        break;
    case MT_FORMAT_DATE:
        if ((reason = mt_format_date_error(s)) != NULL)
            format_error(errors, value, "date_parsing", "Input should be a valid date in the format YYYY-MM-DD, ",
                         "error", reason);
        break;
    case MT_FORMAT_DATE_TIME:
        if ((reason = mt_format_date_time_error(s)) != NULL)
            format_error(errors, value, "datetime_parsing", "Input should be a valid datetime, ", "error", reason);
        break;
    case MT_FORMAT_URI:
        if ((reason = mt_format_uri_error(s)) != NULL)
            format_error(errors, value, "url_parsing", "Input should be a valid URL, ", "error", reason);
        break;
    case MT_FORMAT_IPV4:
        if (!mt_format_is_ipv4(s, strlen(s)))
            add_error(errors, "ip_v4_address", "Input is not a valid IPv4 address", value, NULL);
        break;
    case MT_FORMAT_IPV6:
        if (!mt_format_is_ipv6(s, strlen(s)))
            add_error(errors, "ip_v6_address", "Input is not a valid IPv6 address", value, NULL);
        break;
    case MT_FORMAT_NONE:
        break;
    }
}

static void check_string(const mt_constraints_t *c, const cJSON *value, mt_verrors_t *errors)
{
    char msg[256], ctx[128];
    const char *s = value->valuestring;
    size_t len = (c->has & (MT_HAS_MIN_LENGTH | MT_HAS_MAX_LENGTH)) ? utf8_length(s) : 0;
    if ((c->has & MT_HAS_MIN_LENGTH) && len < c->min_length) {
        snprintf(msg, sizeof(msg), "String should have at least %zu character%s", c->min_length,
                 c->min_length == 1 ? "" : "s");
        snprintf(ctx, sizeof(ctx), "\"min_length\":%zu", c->min_length);
        add_error(errors, "string_too_short", msg, value, ctx);
    }
    if ((c->has & MT_HAS_MAX_LENGTH) && len > c->max_length) {
        snprintf(msg, sizeof(msg), "String should have at most %zu character%s", c->max_length,
                 c->max_length == 1 ? "" : "s");
        snprintf(ctx, sizeof(ctx), "\"max_length\":%zu", c->max_length);
        add_error(errors, "string_too_long", msg, value, ctx);
    }
    if ((c->has & MT_HAS_PATTERN) && c->pattern_code != NULL) {
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(c->pattern_code, NULL);
        int rc = pcre2_match(c->pattern_code, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL);
        pcre2_match_data_free(md);
        if (rc < 0) {
            mt_buf_t buf = {0};
            snprintf(msg, sizeof(msg), "String should match pattern '%s'", c->pattern);
            APPEND(&buf, "\"pattern\":");
            mt_json_encode_string(&buf, c->pattern, strlen(c->pattern));
            mt_buf_append(&buf, "", 1);
            add_error(errors, "string_pattern_mismatch", msg, value, buf.data);
            mt_buf_free(&buf);
        }
    }
    if (c->has & MT_HAS_FORMAT)
        check_format(c, value, errors);
}

static void check_number(const mt_constraints_t *c, const cJSON *value, mt_verrors_t *errors)
{
    double n = value->valuedouble;
    char num[64], msg[256], ctx[128];
#define BOUND(flag, field, fails, type, words, key)                                                                         \
    if ((c->has & flag) && (fails)) {                                                                                      \
        format_number(c->field, num);                                                                         \
        snprintf(msg, sizeof(msg), "Input should be " words " %s", num);                                                   \
        snprintf(ctx, sizeof(ctx), "\"" key "\":%s", num);                                                                 \
        add_error(errors, type, msg, value, ctx);                                                                          \
    }
    BOUND(MT_HAS_EXCLUSIVE_MINIMUM, exclusive_minimum, !(n > c->exclusive_minimum), "greater_than", "greater than", "gt")
    BOUND(MT_HAS_MINIMUM, minimum, !(n >= c->minimum), "greater_than_equal", "greater than or equal to", "ge")
    BOUND(MT_HAS_EXCLUSIVE_MAXIMUM, exclusive_maximum, !(n < c->exclusive_maximum), "less_than", "less than", "lt")
    BOUND(MT_HAS_MAXIMUM, maximum, !(n <= c->maximum), "less_than_equal", "less than or equal to", "le")
#undef BOUND
    if (c->has & MT_HAS_MULTIPLE_OF) {
        /* a small absolute slack forgives binary fractions (0.3 / 0.1); past 2^53 no remainder is visible */
        double q = n / c->multiple_of;
        int multiple = fabs(q) >= 9007199254740992.0 || fabs(q - round(q)) < 1e-9;
        if (!isfinite(q) || !multiple) {
            format_number(c->multiple_of, num);
            snprintf(msg, sizeof(msg), "Input should be a multiple of %s", num);
            snprintf(ctx, sizeof(ctx), "\"multiple_of\":%s", num);
            add_error(errors, "multiple_of", msg, value, ctx);
        }
    }
}

static int json_equal(const cJSON *a, const cJSON *b)
{
    return cJSON_Compare(a, b, 1);
}

static void check_array(const mt_constraints_t *c, const cJSON *value, mt_verrors_t *errors)
{
    size_t n = (size_t)cJSON_GetArraySize(value);
    char msg[256], ctx[160];
    if ((c->has & MT_HAS_MIN_ITEMS) && n < c->min_items) {
        snprintf(msg, sizeof(msg), "List should have at least %zu item%s after validation, not %zu", c->min_items,
                 c->min_items == 1 ? "" : "s", n);
        snprintf(ctx, sizeof(ctx), "\"field_type\":\"List\",\"min_length\":%zu,\"actual_length\":%zu", c->min_items, n);
        add_error(errors, "too_short", msg, value, ctx);
    }
    if ((c->has & MT_HAS_MAX_ITEMS) && n > c->max_items) {
        snprintf(msg, sizeof(msg), "List should have at most %zu item%s after validation, not %zu", c->max_items,
                 c->max_items == 1 ? "" : "s", n);
        snprintf(ctx, sizeof(ctx), "\"field_type\":\"List\",\"max_length\":%zu,\"actual_length\":%zu", c->max_items, n);
        add_error(errors, "too_long", msg, value, ctx);
    }
    if ((c->has & MT_HAS_UNIQUE_ITEMS) && c->unique_items) {
        for (const cJSON *a = value->child; a != NULL; a = a->next) {
            for (const cJSON *b = a->next; b != NULL; b = b->next) {
                if (json_equal(a, b)) {
                    add_error(errors, "unique_items", "List should have unique items", value, NULL);
                    return;
                }
            }
        }
    }
}

static void check_constraints(const mt_constraints_t *c, const cJSON *value, mt_verrors_t *errors)
{
    if (c == NULL)
        return;
    if (MT_JSON_IS(value, cJSON_String))
        check_string(c, value, errors);
    else if (MT_JSON_IS(value, cJSON_Number))
        check_number(c, value, errors);
    else if (MT_JSON_IS(value, cJSON_Array))
        check_array(c, value, errors);
}

/* "'draft' or 'published'", "'a', 'b' or 'c'" */
static void describe_literals(const mt_type_t *type, mt_buf_t *out)
{
    const mt_type_t *const *members = type->kind == MT_TYPE_UNION ? (const mt_type_t *const *)type->u.any_of.members : &type;
    size_t n = type->kind == MT_TYPE_UNION ? type->u.any_of.num_members : 1;
    for (size_t i = 0; i != n; i++) {
        const mt_type_t *m = mt_type_resolved(members[i]);
        if (i != 0)
            mt_buf_append(out, i + 1 == n ? " or " : ", ", i + 1 == n ? 4 : 2);
        if (m->u.literal.is_string) {
            mt_buf_append(out, "'", 1);
            mt_buf_append(out, m->u.literal.string, strlen(m->u.literal.string));
            mt_buf_append(out, "'", 1);
        } else {
            char num[32];
            int len = snprintf(num, sizeof(num), "%lld", m->u.literal.integer);
            mt_buf_append(out, num, (size_t)len);
        }
    }
}

static int literal_matches(const mt_type_t *type, const cJSON *value)
{
    if (type->u.literal.is_string)
        return MT_JSON_IS(value, cJSON_String) && strcmp(value->valuestring, type->u.literal.string) == 0;
    return MT_JSON_IS(value, cJSON_Number) && value->valuedouble == (double)type->u.literal.integer;
}

static int all_literals(const mt_type_t *type)
{
    for (size_t i = 0; i != type->u.any_of.num_members; i++) {
        const mt_type_t *m = mt_type_resolved(type->u.any_of.members[i]);
        if (m == NULL || m->kind != MT_TYPE_LITERAL)
            return 0;
    }
    return 1;
}

static void literal_error(const mt_type_t *type, const cJSON *value, mt_verrors_t *errors)
{
    mt_buf_t expected = {0}, msg = {0}, ctx = {0};
    describe_literals(type, &expected);
    mt_buf_append(&expected, "", 1);
    APPEND(&msg, "Input should be ");
    mt_buf_append(&msg, expected.data, expected.len);
    APPEND(&ctx, "\"expected\":");
    mt_json_encode_string(&ctx, expected.data, expected.len - 1);
    mt_buf_append(&ctx, "", 1);
    add_error(errors, "literal_error", msg.data, value, ctx.data);
    mt_buf_free(&expected);
    mt_buf_free(&msg);
    mt_buf_free(&ctx);
}

static size_t validate(const mt_type_t *type, const cJSON *value, mt_verrors_t *errors, int depth);

static void validate_object(const mt_type_t *type, const cJSON *value, mt_verrors_t *errors, int depth)
{
    char msg[256], ctx[256];
    if (!MT_JSON_IS(value, cJSON_Object)) {
        if (type->u.object.name != NULL) {
            snprintf(msg, sizeof(msg), "Input should be a valid dictionary or instance of %s", type->u.object.name);
            snprintf(ctx, sizeof(ctx), "\"class_name\":\"%s\"", type->u.object.name);
            add_error(errors, "model_type", msg, value, ctx);
        } else {
            add_error(errors, "dict_type", "Input should be a valid dictionary", value, NULL);
        }
        return;
    }
    mt_json_members_t members;
    mt_json_members_init(&members, value);
    for (size_t i = 0; i != type->u.object.num_fields; i++) {
        const mt_field_t *field = type->u.object.fields + i;
        const char *wire = MT_FIELD_WIRE_NAME(field);
        const cJSON *item = mt_json_members_find(&members, wire);
        mt_verrors_push_key(errors, wire, strlen(wire));
        if (item == NULL) {
            if (!field->optional && !field->type->nullable &&
                !(field->type->constraints && field->type->constraints->default_json))
                add_error(errors, "missing", "Field required", value, NULL);
        } else if (!(MT_JSON_IS(item, cJSON_NULL) && (field->optional || field->type->nullable))) {
            validate(field->type, item, errors, depth + 1);
        }
        mt_verrors_pop(errors);
    }
}

static size_t validate(const mt_type_t *type, const cJSON *value, mt_verrors_t *errors, int depth)
{
    size_t before = errors->count;
    if (depth > MAX_DEPTH) {
        add_error(errors, "recursion_loop", "Recursion error - cyclic reference detected", NULL, NULL);
        return 1;
    }
    if (MT_JSON_IS(value, cJSON_NULL) && type->nullable)
        return 0;
    switch (type->kind) {
    case MT_TYPE_ANY:
        break;
    case MT_TYPE_NIL:
        if (!MT_JSON_IS(value, cJSON_NULL))
            add_error(errors, "none_required", "Input should be None", value, NULL);
        break;
    case MT_TYPE_STRING:
        if (!MT_JSON_IS(value, cJSON_String))
            add_error(errors, "string_type", "Input should be a valid string", value, NULL);
        break;
    case MT_TYPE_NUMBER:
        if (!MT_JSON_IS(value, cJSON_Number))
            add_error(errors, "float_type", "Input should be a valid number", value, NULL);
        break;
    case MT_TYPE_INTEGER:
        if (!MT_JSON_IS(value, cJSON_Number))
            add_error(errors, "int_type", "Input should be a valid integer", value, NULL);
        else if (value->valuedouble != floor(value->valuedouble))
            add_error(errors, "int_from_float", "Input should be a valid integer, got a number with a fractional part",
                      value, NULL);
        else if (fabs(value->valuedouble) > 9007199254740992.0) /* 2^53: past it a double is no exact integer */
            add_error(errors, "int_parsing_size", "Unable to parse input string as an integer, exceeded maximum size",
                      value, NULL);
        break;
    case MT_TYPE_BOOLEAN:
        if (!cJSON_IsBool(value))
            add_error(errors, "bool_type", "Input should be a valid boolean", value, NULL);
        break;
    case MT_TYPE_TABLE:
        if (!MT_JSON_IS(value, cJSON_Object))
            add_error(errors, "dict_type", "Input should be a valid dictionary", value, NULL);
        break;
    case MT_TYPE_MAP:
        if (!MT_JSON_IS(value, cJSON_Object)) {
            add_error(errors, "dict_type", "Input should be a valid dictionary", value, NULL);
            break;
        }
        for (const cJSON *item = value->child; item != NULL; item = item->next) {
            mt_verrors_push_key(errors, item->string, strlen(item->string));
            validate(type->u.items, item, errors, depth + 1);
            mt_verrors_pop(errors);
        }
        break;
    case MT_TYPE_ARRAY: {
        if (!MT_JSON_IS(value, cJSON_Array)) {
            add_error(errors, "list_type", "Input should be a valid list", value, NULL);
            break;
        }
        long index = 0;
        for (const cJSON *item = value->child; item != NULL; item = item->next, index++) {
            mt_verrors_push_index(errors, index);
            validate(type->u.items, item, errors, depth + 1);
            mt_verrors_pop(errors);
        }
        break;
    }
    case MT_TYPE_OBJECT:
        validate_object(type, value, errors, depth);
        break;
    case MT_TYPE_LITERAL:
        if (!literal_matches(type, value))
            literal_error(type, value, errors);
        break;
    case MT_TYPE_UNION: {
        if (all_literals(type)) {
            int matched = 0;
            for (size_t i = 0; i != type->u.any_of.num_members && !matched; i++)
                matched = literal_matches(mt_type_resolved(type->u.any_of.members[i]), value);
            if (!matched)
                literal_error(type, value, errors);
            break;
        }
        /* the first member that takes the value wins; otherwise every member's errors, tagged with it (as Pydantic does) */
        mt_buf_t scratch = {0};
        mt_verrors_t trial = *errors;
        trial.out = &scratch;
        trial.count = 0;
        for (size_t i = 0; i != type->u.any_of.num_members; i++) {
            char name[128];
            mt_type_describe(type->u.any_of.members[i], name, sizeof(name));
            mt_verrors_push_key(&trial, name, strlen(name));
            size_t added = validate(type->u.any_of.members[i], value, &trial, depth + 1);
            mt_verrors_pop(&trial);
            if (added == 0) { /* this member takes it: the others' errors do not count */
                scratch.len = 0;
                trial.count = 0;
                break;
            }
        }
        if (trial.count != 0) { /* every member failed: all their errors count */
            if (errors->count != 0)
                APPEND(errors->out, ",");
            mt_buf_append(errors->out, scratch.data, scratch.len);
            errors->count += trial.count;
        }
        mt_buf_free(&scratch);
        break;
    }
    case MT_TYPE_NAME:
        if (type->u.ref.target != NULL)
            validate(type->u.ref.target, value, errors, depth + 1);
        break;
    case MT_TYPE_REQUEST:
    case MT_TYPE_PROVIDED:
        break;
    }
    if (errors->count == before)
        check_constraints(type->constraints, value, errors);
    return errors->count - before;
}

size_t mt_validate_json(const mt_type_t *type, const cJSON *value, mt_verrors_t *errors)
{
    if (value == NULL) {
        mt_verrors_add(errors, "missing", "Field required", NULL, NULL);
        return 1;
    }
    return validate(type, value, errors, 0);
}

static cJSON *convert(const mt_type_t *type, const char *text, size_t len, mt_verrors_t *errors, int depth);

static cJSON *create_string(const char *text, size_t len)
{
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, text, len);
    copy[len] = '\0';
    cJSON *value = cJSON_CreateString(copy);
    free(copy);
    return value;
}

static cJSON *string_error(mt_verrors_t *errors, const char *type, const char *msg, const char *text, size_t len)
{
    mt_buf_t input = {0};
    mt_json_encode_string(&input, text, len);
    mt_buf_append(&input, "", 1);
    mt_verrors_add(errors, type, msg, input.data, NULL);
    mt_buf_free(&input);
    return NULL;
}

/* Decimal digits only, in range: not 1.5, 1e3, 0x10 or " 1". Returns 1 with *n set. */
static int integer_text(const char *text, size_t len, double *n)
{
    size_t i = len != 0 && (text[0] == '-' || text[0] == '+') ? 1 : 0;
    if (len <= i || len - i > 16)
        return 0;
    long long value = 0;
    for (size_t j = i; j < len; j++) {
        if (!isdigit((unsigned char)text[j]))
            return 0;
        value = value * 10 + (text[j] - '0'); /* 16 digits fit: no overflow */
    }
    if (value > 9007199254740992LL) /* 2^53: past it a double is no exact integer */
        return 0;
    *n = (double)(text[0] == '-' ? -value : value);
    return 1;
}

static cJSON *convert(const mt_type_t *type, const char *text, size_t len, mt_verrors_t *errors, int depth)
{
    const mt_type_t *t = mt_type_resolved(type);
    if (t == NULL || depth > 16)
        return create_string(text, len);
    switch (t->kind) {
    case MT_TYPE_INTEGER: {
        double n;
        if (integer_text(text, len, &n))
            return cJSON_CreateNumber(n);
        return string_error(errors, "int_parsing", "Input should be a valid integer, unable to parse string as an integer",
                            text, len);
    }
    case MT_TYPE_NUMBER: {
        /* a decimal or exponent form, the whole text (a NUL inside is not the end) */
        char *copy = len != 0 && !isspace((unsigned char)text[0]) && len < 4096 ? malloc(len + 1) : NULL;
        if (copy != NULL) {
            memcpy(copy, text, len);
            copy[len] = '\0';
            char *end;
            errno = 0;
            double n = strtod(copy, &end);
            int hex = strpbrk(copy, "xXnN") != NULL; /* no hex, inf or nan */
            int whole = end == copy + len;
            free(copy);
            if (whole && !hex && isfinite(n) && (errno == 0 || fabs(n) < 1)) /* underflow to 0 is a number */
                return cJSON_CreateNumber(n);
        }
        return string_error(errors, "float_parsing", "Input should be a valid number, unable to parse string as a number",
                            text, len);
    }
    case MT_TYPE_BOOLEAN: {
        static const char *truthy[] = {"true", "1", "yes", "on"}, *falsy[] = {"false", "0", "no", "off"};
        for (size_t i = 0; i < 4; i++) {
            if (strlen(truthy[i]) == len && strncasecmp(text, truthy[i], len) == 0)
                return cJSON_CreateTrue();
            if (strlen(falsy[i]) == len && strncasecmp(text, falsy[i], len) == 0)
                return cJSON_CreateFalse();
        }
        return string_error(errors, "bool_parsing", "Input should be a valid boolean, unable to interpret input", text,
                            len);
    }
    case MT_TYPE_LITERAL:
        if (!t->u.literal.is_string) {
            mt_type_t integer = {.kind = MT_TYPE_INTEGER};
            return convert(&integer, text, len, errors, depth + 1);
        }
        break;
    case MT_TYPE_UNION: {
        if (all_literals(t)) { /* "1"|2: the text as an integer when it is one, else as it is; the literal check follows */
            mt_buf_t ignored = {0};
            mt_verrors_t quiet = *errors;
            quiet.out = &ignored;
            mt_type_t integer = {.kind = MT_TYPE_INTEGER};
            cJSON *number = convert(&integer, text, len, &quiet, depth + 1);
            mt_buf_free(&ignored);
            int has_integer_literal = 0;
            for (size_t i = 0; i != t->u.any_of.num_members; i++)
                has_integer_literal |= !mt_type_resolved(t->u.any_of.members[i])->u.literal.is_string;
            if (number != NULL && has_integer_literal)
                return number;
            cJSON_Delete(number);
            return create_string(text, len);
        }
        /* the first member the text converts to, strings last so "5" is 5 for integer|string; when none
           does, every member's error counts, tagged with the member as Pydantic does */
        mt_buf_t scratch = {0};
        mt_verrors_t trial = *errors;
        trial.out = &scratch;
        trial.count = 0;
        for (int pass = 0; pass < 2; pass++) {
            for (size_t i = 0; i != t->u.any_of.num_members; i++) {
                const mt_type_t *m = mt_type_resolved(t->u.any_of.members[i]);
                int stringy = m->kind == MT_TYPE_STRING || m->kind == MT_TYPE_ANY ||
                              (m->kind == MT_TYPE_LITERAL && m->u.literal.is_string);
                if (stringy != pass)
                    continue;
                char name[128];
                mt_type_describe(t->u.any_of.members[i], name, sizeof(name));
                mt_verrors_push_key(&trial, name, strlen(name));
                cJSON *value = convert(m, text, len, &trial, depth + 1);
                mt_verrors_pop(&trial);
                if (value != NULL) {
                    mt_buf_free(&scratch);
                    return value;
                }
            }
        }
        if (trial.count != 0) {
            if (errors->count != 0)
                APPEND(errors->out, ",");
            mt_buf_append(errors->out, scratch.data, scratch.len);
            errors->count += trial.count;
        }
        mt_buf_free(&scratch);
        return NULL;
    }
    default:
        break;
    }
    if (memchr(text, '\0', len) != NULL) /* a decoded %00: a string here cannot carry a NUL, as in bodies */
        return string_error(errors, "string_type", "Input should be a valid string, NUL characters are not supported",
                            text, len);
    return create_string(text, len); /* strings, string literals, any: the text itself, checked by the validator */
}

/* Validates a value converted from `text`; its errors report the text as sent, as Pydantic does. 1: it fits. */
static int validate_converted(const mt_type_t *type, const cJSON *value, const char *text, size_t len,
                              mt_verrors_t *errors)
{
    size_t before = errors->count;
    const char *saved = errors->input_text;
    size_t saved_len = errors->input_len;
    errors->input_text = text;
    errors->input_len = len;
    size_t failed = mt_validate_json(type, value, errors);
    errors->input_text = saved;
    errors->input_len = saved_len;
    return failed == 0 && errors->count == before;
}

cJSON *mt_validate_string(const mt_type_t *type, const char *text, size_t len, mt_verrors_t *errors)
{
    cJSON *value = convert(type, text, len, errors, 0);
    if (value == NULL || validate_converted(type, value, text, len, errors))
        return value;
    cJSON_Delete(value);
    return NULL;
}

int mt_validate_scalar(const mt_type_t *type, const char *text, size_t len, mt_verrors_t *errors, cJSON *node,
                       char *copy, size_t copy_size)
{
    const mt_type_t *t = mt_type_resolved(type);
    if (t == NULL)
        return -1;
    *node = (cJSON){0};
    switch (t->kind) {
    case MT_TYPE_STRING:
        if (len >= copy_size || memchr(text, '\0', len) != NULL)
            return -1;
        memcpy(copy, text, len);
        copy[len] = '\0';
        node->type = cJSON_String;
        node->valuestring = copy;
        break;
    case MT_TYPE_INTEGER:
        if (!integer_text(text, len, &node->valuedouble))
            return -1; /* the error is convert's */
        node->type = cJSON_Number;
        break;
    default:
        return -1;
    }
    return validate_converted(type, node, text, len, errors);
}

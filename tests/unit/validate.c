/*
 * Unit tests for src/validate.c: every type and constraint keyword at its
 * boundaries, each failure compared with the exact error object Pydantic v2
 * writes (type, loc, msg, input, ctx), and the strict conversion of URL and
 * header strings. Types come from annotation text, as an app's do.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>
#include "annotation.h"
#include "validate.h"
#include "tap.h"

static mt_schema_t *schema; /* the schema of the last load(), freed by the next */

/* Expected errors are written as JSON with ` for " to stay readable. */
static cJSON *parse_ticked(const char *text)
{
    char *copy = strdup(text);
    for (char *c = copy; *c != '\0'; c++)
        if (*c == '`')
            *c = '"';
    cJSON *value = cJSON_Parse(copy);
    free(copy);
    return value;
}

/*
 * The type of `---@param x TYPE` after the classes and aliases in `decls`;
 * NULL, and a failed check, when it does not load.
 */
static const mt_type_t *load(const char *decls, const char *type)
{
    char text[4096];
    snprintf(text, sizeof(text), "%s\n---@param x %s\nfunction f(x) end\n", decls ? decls : "", type);
    int line = 1;
    for (const char *c = text; *c != '\0'; c++)
        line += *c == '\n';
    mt_schema_free(schema);
    schema = mt_schema_new();
    mt_annotation_scan(schema, "t.lua", text, strlen(text));
    mt_schema_resolve(schema);
    const mt_handler_doc_t *doc = mt_schema_find_doc(schema, "t.lua", line - 1);
    if (schema->num_problems != 0 || doc == NULL || doc->num_params != 1) {
        ok(0, "'%s' loads (%s)", type, schema->num_problems ? schema->problems[0] : "no doc");
        return NULL;
    }
    return doc->params[0].type;
}

/* Validates `input` (JSON text, NULL: absent); returns the errors as a cJSON array, or NULL when they are not JSON. */
static cJSON *validate_text(const mt_type_t *type, const char *input, char *shown, size_t size)
{
    mt_buf_t out = {0};
    mt_verrors_t errors;
    mt_verrors_init(&errors, &out, "body");
    cJSON *value = input != NULL ? cJSON_Parse(input) : NULL;
    if (input != NULL && value == NULL) {
        snprintf(shown, size, "(test input %s is not JSON)", input);
        return NULL;
    }
    size_t count = mt_validate_json(type, value, &errors);
    cJSON_Delete(value);
    snprintf(shown, size, "[%.*s]", (int)out.len, out.data ? out.data : "");
    cJSON *got = cJSON_Parse(shown);
    if (got != NULL && (size_t)cJSON_GetArraySize(got) != count) {
        snprintf(shown + strlen(shown), size - strlen(shown), " (but %zu returned)", count);
        cJSON_Delete(got);
        got = NULL;
    }
    mt_buf_free(&out);
    return got;
}

/* Validating `input` against TYPE (after `decls`) gives exactly the errors `want` (a ticked JSON array). */
static void expect_errors(const char *decls, const char *type_text, const char *input, const char *want_text)
{
    char shown[4096];
    const mt_type_t *type = load(decls, type_text);
    if (type == NULL)
        return;
    cJSON *got = validate_text(type, input, shown, sizeof(shown));
    cJSON *want = parse_ticked(want_text);
    int pass = want != NULL && got != NULL && cJSON_Compare(got, want, 1);
    ok(pass, "%s: %s gives %s%s%s%s", type_text, input ? input : "(absent)", want_text, pass ? "" : " (got ",
       pass ? "" : shown, pass ? "" : ")");
    cJSON_Delete(got);
    cJSON_Delete(want);
}

static void valid(const char *type_text, const char *input)
{
    expect_errors(NULL, type_text, input, "[]");
}

/* One error at loc ["body"] whose input is the input; ctx is ticked JSON or NULL for none. */
static void invalid(const char *type_text, const char *input, const char *etype, const char *msg, const char *ctx)
{
    cJSON *error = cJSON_CreateObject();
    cJSON_AddStringToObject(error, "type", etype);
    cJSON *loc = cJSON_AddArrayToObject(error, "loc");
    cJSON_AddItemToArray(loc, cJSON_CreateString("body"));
    cJSON_AddStringToObject(error, "msg", msg);
    cJSON_AddItemToObject(error, "input", cJSON_Parse(input));
    if (ctx != NULL)
        cJSON_AddItemToObject(error, "ctx", parse_ticked(ctx));
    cJSON *array = cJSON_CreateArray();
    cJSON_AddItemToArray(array, error);
    char *want = cJSON_PrintUnformatted(array);
    for (char *c = want; *c != '\0'; c++)
        if (*c == '`')
            *c = '\''; /* never in these tests; keeps parse_ticked from changing the text */
    expect_errors(NULL, type_text, input, want);
    free(want);
    cJSON_Delete(array);
}

static void test_scalar_types(void)
{
    valid("string", "\"\"");
    valid("string", "\"héllo\"");
    invalid("string", "1", "string_type", "Input should be a valid string", NULL);
    invalid("string", "true", "string_type", "Input should be a valid string", NULL);
    invalid("string", "null", "string_type", "Input should be a valid string", NULL);
    invalid("string", "[\"a\"]", "string_type", "Input should be a valid string", NULL);

    valid("number", "0");
    valid("number", "-1.5");
    valid("number", "1e308");
    invalid("number", "\"1\"", "float_type", "Input should be a valid number", NULL);
    invalid("number", "false", "float_type", "Input should be a valid number", NULL);
    invalid("number", "null", "float_type", "Input should be a valid number", NULL);

    valid("integer", "0");
    valid("integer", "-42");
    valid("integer", "1.0");
    valid("integer", "9007199254740992");
    valid("integer", "-9007199254740992");
    invalid("integer", "1.5", "int_from_float", "Input should be a valid integer, got a number with a fractional part",
            NULL);
    invalid("integer", "-0.000001", "int_from_float",
            "Input should be a valid integer, got a number with a fractional part", NULL);
    invalid("integer", "\"1\"", "int_type", "Input should be a valid integer", NULL);
    invalid("integer", "true", "int_type", "Input should be a valid integer", NULL);
    invalid("integer", "{}", "int_type", "Input should be a valid integer", NULL);
    /* integral but out of range: Pydantic's float_as_int answers int_parsing_size, there is no fraction to speak of */
    invalid("integer", "1e20", "int_parsing_size", "Unable to parse input string as an integer, exceeded maximum size",
            NULL);

    valid("boolean", "true");
    valid("boolean", "false");
    invalid("boolean", "1", "bool_type", "Input should be a valid boolean", NULL);
    invalid("boolean", "\"true\"", "bool_type", "Input should be a valid boolean", NULL);
    invalid("boolean", "null", "bool_type", "Input should be a valid boolean", NULL);

    valid("any", "null");
    valid("any", "[1, {\"a\": null}]");
    valid("any", "\"x\"");
    expect_errors(NULL, "any", NULL, "[{`type`:`missing`,`loc`:[`body`],`msg`:`Field required`,`input`:null}]");
    expect_errors(NULL, "string?", NULL, "[{`type`:`missing`,`loc`:[`body`],`msg`:`Field required`,`input`:null}]");
}

static void test_container_types(void)
{
    valid("table", "{}");
    valid("table", "{\"a\": [1]}");
    invalid("table", "[]", "dict_type", "Input should be a valid dictionary", NULL);
    invalid("table", "\"{}\"", "dict_type", "Input should be a valid dictionary", NULL);

    valid("integer[]", "[]");
    valid("integer[]", "[1, 2, 3]");
    invalid("integer[]", "{}", "list_type", "Input should be a valid list", NULL);
    invalid("integer[]", "\"1,2\"", "list_type", "Input should be a valid list", NULL);
    expect_errors(NULL, "integer[]", "[1, \"a\", 2.5, 3]",
                  "[{`type`:`int_type`,`loc`:[`body`,1],`msg`:`Input should be a valid integer`,`input`:`a`},"
                  "{`type`:`int_from_float`,`loc`:[`body`,2],`msg`:`Input should be a valid integer, got a number with "
                  "a fractional part`,`input`:2.5}]");
    expect_errors(NULL, "integer[][]", "[[1], [2, null]]",
                  "[{`type`:`int_type`,`loc`:[`body`,1,1],`msg`:`Input should be a valid integer`,`input`:null}]");
    valid("integer?[]", "[1, null]");

    valid("table<string, integer>", "{}");
    valid("table<string, integer>", "{\"a\": 1, \"b\": 2}");
    invalid("table<string, integer>", "[1]", "dict_type", "Input should be a valid dictionary", NULL);
    expect_errors(NULL, "table<string, integer>", "{\"a\": 1, \"b c\": \"x\", \"d\": false}",
                  "[{`type`:`int_type`,`loc`:[`body`,`b c`],`msg`:`Input should be a valid integer`,`input`:`x`},"
                  "{`type`:`int_type`,`loc`:[`body`,`d`],`msg`:`Input should be a valid integer`,`input`:false}]");
    expect_errors(NULL, "table<string, string[]>", "{\"k\\\"ey\": [\"a\", 1]}",
                  "[{`type`:`string_type`,`loc`:[`body`,`k\\`ey`,1],`msg`:`Input should be a valid string`,`input`:1}]");
}

static const char item_decls[] = "---@class Item\n"
                                 "---@field name string {minLength=1}\n"
                                 "---@field price number {exclusiveMinimum=0}\n"
                                 "---@field tags? string[] {maxItems=2}\n"
                                 "---@field status? \"draft\"|\"published\"\n"
                                 "\n"
                                 "---@class Order\n"
                                 "---@field id integer\n"
                                 "---@field items Item[] {minItems=1}\n"
                                 "---@field counts? table<string, integer[]>\n"
                                 "\n"
                                 "---@class Base\n"
                                 "---@field id integer\n"
                                 "---@class Child: Base\n"
                                 "---@field name string\n";

static void test_objects(void)
{
    expect_errors(item_decls, "Item", "{\"name\": \"a\", \"price\": 1}", "[]");
    expect_errors(item_decls, "Item", "{\"name\": \"a\", \"price\": 1, \"tags\": null, \"status\": null}", "[]");
    expect_errors(item_decls, "Item", "{\"name\": \"a\", \"price\": 1, \"unknown\": [1, 2]}", "[]");
    expect_errors(item_decls, "Item", "[]",
                  "[{`type`:`model_type`,`loc`:[`body`],`msg`:`Input should be a valid dictionary or instance of Item`,"
                  "`input`:[],`ctx`:{`class_name`:`Item`}}]");
    expect_errors(item_decls, "Item", "null",
                  "[{`type`:`model_type`,`loc`:[`body`],`msg`:`Input should be a valid dictionary or instance of Item`,"
                  "`input`:null,`ctx`:{`class_name`:`Item`}}]");
    /* every missing field, in declaration order, with the whole object as input */
    expect_errors(item_decls, "Item", "{\"tags\": []}",
                  "[{`type`:`missing`,`loc`:[`body`,`name`],`msg`:`Field required`,`input`:{`tags`:[]}},"
                  "{`type`:`missing`,`loc`:[`body`,`price`],`msg`:`Field required`,`input`:{`tags`:[]}}]");
    expect_errors(item_decls, "Item", "{\"name\": null, \"price\": 0, \"tags\": [\"a\", \"b\", \"c\"], \"status\": \"x\"}",
                  "[{`type`:`string_type`,`loc`:[`body`,`name`],`msg`:`Input should be a valid string`,`input`:null},"
                  "{`type`:`greater_than`,`loc`:[`body`,`price`],`msg`:`Input should be greater than 0`,`input`:0,"
                  "`ctx`:{`gt`:0}},"
                  "{`type`:`too_long`,`loc`:[`body`,`tags`],`msg`:`List should have at most 2 items after validation, "
                  "not 3`,`input`:[`a`,`b`,`c`],`ctx`:{`field_type`:`List`,`max_length`:2,`actual_length`:3}},"
                  "{`type`:`literal_error`,`loc`:[`body`,`status`],`msg`:`Input should be 'draft' or 'published'`,"
                  "`input`:`x`,`ctx`:{`expected`:`'draft' or 'published'`}}]");
    /* nested: a class in an array in a class, and a map of arrays */
    expect_errors(item_decls, "Order", "{\"id\": 1, \"items\": [{\"name\": \"a\", \"price\": 2}]}", "[]");
    expect_errors(item_decls, "Order",
                  "{\"id\": 1, \"items\": [{\"name\": \"a\", \"price\": 2}, {\"name\": \"\", \"price\": -1}], "
                  "\"counts\": {\"x\": [1, \"2\"]}}",
                  "[{`type`:`string_too_short`,`loc`:[`body`,`items`,1,`name`],`msg`:`String should have at least 1 "
                  "character`,`input`:``,`ctx`:{`min_length`:1}},"
                  "{`type`:`greater_than`,`loc`:[`body`,`items`,1,`price`],`msg`:`Input should be greater than 0`,"
                  "`input`:-1,`ctx`:{`gt`:0}},"
                  "{`type`:`int_type`,`loc`:[`body`,`counts`,`x`,1],`msg`:`Input should be a valid integer`,`input`:`2`}]");
    expect_errors(item_decls, "Order", "{\"id\": 1, \"items\": []}",
                  "[{`type`:`too_short`,`loc`:[`body`,`items`],`msg`:`List should have at least 1 item after "
                  "validation, not 0`,`input`:[],`ctx`:{`field_type`:`List`,`min_length`:1,`actual_length`:0}}]");
    expect_errors(item_decls, "Order", "{\"id\": 1, \"items\": [7]}",
                  "[{`type`:`model_type`,`loc`:[`body`,`items`,0],`msg`:`Input should be a valid dictionary or "
                  "instance of Item`,`input`:7,`ctx`:{`class_name`:`Item`}}]");
    /* a parent's fields come first */
    expect_errors(item_decls, "Child", "{}",
                  "[{`type`:`missing`,`loc`:[`body`,`id`],`msg`:`Field required`,`input`:{}},"
                  "{`type`:`missing`,`loc`:[`body`,`name`],`msg`:`Field required`,`input`:{}}]");
    expect_errors(item_decls, "Child[]", "[{\"id\": 1, \"name\": \"a\"}, {\"id\": \"1\", \"name\": \"b\"}]",
                  "[{`type`:`int_type`,`loc`:[`body`,1,`id`],`msg`:`Input should be a valid integer`,`input`:`1`}]");

    /* inline tables: dict_type, no class name */
    valid("{ x: number, y?: string }", "{\"x\": 1}");
    valid("{ x: number, y?: string }", "{\"x\": 1, \"y\": null}");
    invalid("{ x: number, y?: string }", "\"x\"", "dict_type", "Input should be a valid dictionary", NULL);
    expect_errors(NULL, "{ x: number, y?: string }", "{\"y\": 2}",
                  "[{`type`:`missing`,`loc`:[`body`,`x`],`msg`:`Field required`,`input`:{`y`:2}},"
                  "{`type`:`string_type`,`loc`:[`body`,`y`],`msg`:`Input should be a valid string`,`input`:2}]");
    expect_errors(NULL, "{ p: { q: integer[] } }", "{\"p\": {\"q\": [1, 1.5]}}",
                  "[{`type`:`int_from_float`,`loc`:[`body`,`p`,`q`,1],`msg`:`Input should be a valid integer, got a "
                  "number with a fractional part`,`input`:1.5}]");

    /* a required field takes null only when its type is nullable */
    expect_errors("---@class N\n---@field a string?\n---@field b string\n", "N", "{\"a\": null, \"b\": null}",
                  "[{`type`:`string_type`,`loc`:[`body`,`b`],`msg`:`Input should be a valid string`,`input`:null}]");
    /* SPEC §3: `T?` "accepts an absent value and JSON null alike", for a field as for a parameter */
    expect_errors("---@class N\n---@field a string?\n", "N", "{}", "[]");
    expect_errors("---@class N\n---@field a string|nil\n", "N", "{}", "[]");
    /* a field with a default may be absent */
    expect_errors("---@class D\n---@field n integer {default=1}\n", "D", "{}", "[]");
    /* alias is the field's name on the wire (SPEC §3), so the body is read by it */
    expect_errors("---@class A\n---@field user_id integer {alias=\"userId\"}\n", "A", "{\"userId\": 1}", "[]");
    expect_errors("---@class A\n---@field user_id integer {alias=\"userId\"}\n", "A", "{}",
                  "[{`type`:`missing`,`loc`:[`body`,`userId`],`msg`:`Field required`,`input`:{}}]");
}

static void test_unions_and_literals(void)
{
    valid("integer|string", "1");
    valid("integer|string", "\"a\"");
    /* every member's errors, each tagged with the member */
    expect_errors(NULL, "integer|string", "true",
                  "[{`type`:`int_type`,`loc`:[`body`,`integer`],`msg`:`Input should be a valid integer`,`input`:true},"
                  "{`type`:`string_type`,`loc`:[`body`,`string`],`msg`:`Input should be a valid string`,`input`:true}]");
    expect_errors(NULL, "integer|string", "1.5",
                  "[{`type`:`int_from_float`,`loc`:[`body`,`integer`],`msg`:`Input should be a valid integer, got a "
                  "number with a fractional part`,`input`:1.5},"
                  "{`type`:`string_type`,`loc`:[`body`,`string`],`msg`:`Input should be a valid string`,`input`:1.5}]");
    expect_errors(item_decls, "Base|string[]", "{\"id\": \"x\"}",
                  "[{`type`:`int_type`,`loc`:[`body`,`Base`,`id`],`msg`:`Input should be a valid integer`,`input`:`x`},"
                  "{`type`:`list_type`,`loc`:[`body`,`string[]`],`msg`:`Input should be a valid list`,"
                  "`input`:{`id`:`x`}}]");
    expect_errors(NULL, "(integer|boolean)[]", "[1, true, \"x\"]",
                  "[{`type`:`int_type`,`loc`:[`body`,2,`integer`],`msg`:`Input should be a valid integer`,`input`:`x`},"
                  "{`type`:`bool_type`,`loc`:[`body`,2,`boolean`],`msg`:`Input should be a valid boolean`,`input`:`x`}]");
    valid("integer|string?", "null");
    valid("(integer|string)?", "null");
    /* constraints after a union apply to the value the union accepted */
    invalid("integer|string {minimum=1}", "0", "greater_than_equal", "Input should be greater than or equal to 1",
            "{`ge`:1}");
    invalid("integer|string {maxLength=2}", "\"abc\"", "string_too_long", "String should have at most 2 characters",
            "{`max_length`:2}");
    valid("integer|string {minimum=1, maxLength=2}", "\"ab\"");
    valid("integer|string {minimum=1, maxLength=2}", "5");

    valid("\"draft\"|\"published\"", "\"draft\"");
    valid("\"draft\"|\"published\"", "\"published\"");
    invalid("\"draft\"|\"published\"", "\"Draft\"", "literal_error", "Input should be 'draft' or 'published'",
            "{`expected`:`'draft' or 'published'`}");
    invalid("\"draft\"|\"published\"", "1", "literal_error", "Input should be 'draft' or 'published'",
            "{`expected`:`'draft' or 'published'`}");
    invalid("\"a\"|\"b\"|\"c\"", "null", "literal_error", "Input should be 'a', 'b' or 'c'",
            "{`expected`:`'a', 'b' or 'c'`}");
    invalid("\"only\"", "\"other\"", "literal_error", "Input should be 'only'", "{`expected`:`'only'`}");
    valid("1|2|-3", "-3");
    valid("1|2|-3", "2.0");
    invalid("1|2|-3", "3", "literal_error", "Input should be 1, 2 or -3", "{`expected`:`1, 2 or -3`}");
    invalid("1|2|-3", "\"1\"", "literal_error", "Input should be 1, 2 or -3", "{`expected`:`1, 2 or -3`}");
    invalid("1|2|-3", "true", "literal_error", "Input should be 1, 2 or -3", "{`expected`:`1, 2 or -3`}");
    invalid("1|2|-3", "1.5", "literal_error", "Input should be 1, 2 or -3", "{`expected`:`1, 2 or -3`}");
    invalid("0", "false", "literal_error", "Input should be 0", "{`expected`:`0`}");
    valid("(\"a\"|\"b\")?", "null");
    expect_errors(NULL, "(\"a\"|\"b\")[]", "[\"a\", \"c\"]",
                  "[{`type`:`literal_error`,`loc`:[`body`,1],`msg`:`Input should be 'a' or 'b'`,`input`:`c`,"
                  "`ctx`:{`expected`:`'a' or 'b'`}}]");
    /* through an alias */
    expect_errors("---@alias Status \"on\"|\"off\"\n", "Status", "\"on\"", "[]");
    expect_errors("---@alias Status\n---| \"on\"\n---| \"off\"\n", "Status", "\"dim\"",
                  "[{`type`:`literal_error`,`loc`:[`body`],`msg`:`Input should be 'on' or 'off'`,`input`:`dim`,"
                  "`ctx`:{`expected`:`'on' or 'off'`}}]");
}

static void test_numeric_constraints(void)
{
    valid("integer {minimum=1}", "1");
    valid("integer {minimum=1}", "2");
    invalid("integer {minimum=1}", "0", "greater_than_equal", "Input should be greater than or equal to 1", "{`ge`:1}");
    valid("number {minimum=-2.5}", "-2.5");
    invalid("number {minimum=-2.5}", "-2.5000001", "greater_than_equal",
            "Input should be greater than or equal to -2.5", "{`ge`:-2.5}");
    valid("integer {maximum=10}", "10");
    invalid("integer {maximum=10}", "11", "less_than_equal", "Input should be less than or equal to 10", "{`le`:10}");
    invalid("number {maximum=1e20}", "1e21", "less_than_equal", "Input should be less than or equal to 1e+20",
            "{`le`:1e20}");
    valid("number {exclusiveMinimum=0}", "0.0001");
    invalid("number {exclusiveMinimum=0}", "0", "greater_than", "Input should be greater than 0", "{`gt`:0}");
    invalid("number {exclusiveMinimum=0}", "-0.0", "greater_than", "Input should be greater than 0", "{`gt`:0}");
    valid("number {exclusiveMaximum=1.5}", "1.4999");
    invalid("number {exclusiveMaximum=1.5}", "1.5", "less_than", "Input should be less than 1.5", "{`lt`:1.5}");
    valid("number {minimum=0, maximum=0}", "0");
    valid("number {exclusiveMinimum=0.1, exclusiveMaximum=0.3}", "0.2");
    invalid("number {exclusiveMinimum=0.1, exclusiveMaximum=0.3}", "0.3", "less_than", "Input should be less than 0.3",
            "{`lt`:0.3}");
    /* a type error stops there: no constraint speaks about a value of the wrong type */
    invalid("integer {minimum=5}", "1.5", "int_from_float",
            "Input should be a valid integer, got a number with a fractional part", NULL);
    invalid("integer {minimum=5}", "\"1\"", "int_type", "Input should be a valid integer", NULL);

    valid("integer {multipleOf=3}", "0");
    valid("integer {multipleOf=3}", "-9");
    invalid("integer {multipleOf=3}", "10", "multiple_of", "Input should be a multiple of 3", "{`multiple_of`:3}");
    /* binary fractions: 0.3 / 0.1 is 2.9999999999999996 */
    valid("number {multipleOf=0.1}", "0.3");
    valid("number {multipleOf=0.1}", "0.7");
    valid("number {multipleOf=0.1}", "-1.1");
    valid("number {multipleOf=0.1}", "123456.7");
    invalid("number {multipleOf=0.1}", "0.35", "multiple_of", "Input should be a multiple of 0.1",
            "{`multiple_of`:0.1}");
    valid("number {multipleOf=0.01}", "19.99");
    invalid("number {multipleOf=0.01}", "0.015", "multiple_of", "Input should be a multiple of 0.01",
            "{`multiple_of`:0.01}");
    valid("number {multipleOf=1.5}", "4.5");
    invalid("number {multipleOf=1.5}", "35", "multiple_of", "Input should be a multiple of 1.5", "{`multiple_of`:1.5}");
    invalid("number {multipleOf=1}", "10.5", "multiple_of", "Input should be a multiple of 1", "{`multiple_of`:1}");
    valid("number {multipleOf=0.0001}", "0.0075");
    invalid("number {multipleOf=0.0001}", "0.00751", "multiple_of", "Input should be a multiple of 0.0001",
            "{`multiple_of`:0.0001}");
    invalid("number {multipleOf=0.123456789}", "1e308", "multiple_of", "Input should be a multiple of 0.123456789",
            "{`multiple_of`:0.123456789}");
}

static void test_string_constraints(void)
{
    /* lengths count code points: "é" is 2 bytes, "😀" 4, each one character */
    valid("string {minLength=2}", "\"ab\"");
    valid("string {minLength=2}", "\"éé\"");
    invalid("string {minLength=2}", "\"é\"", "string_too_short", "String should have at least 2 characters",
            "{`min_length`:2}");
    invalid("string {minLength=1}", "\"\"", "string_too_short", "String should have at least 1 character",
            "{`min_length`:1}");
    valid("string {minLength=0}", "\"\"");
    valid("string {maxLength=1}", "\"é\"");
    valid("string {maxLength=1}", "\"\\ud83d\\ude00\"");
    valid("string {maxLength=3}", "\"日本語\"");
    invalid("string {maxLength=1}", "\"ab\"", "string_too_long", "String should have at most 1 character",
            "{`max_length`:1}");
    invalid("string {maxLength=2}", "\"日本語\"", "string_too_long", "String should have at most 2 characters",
            "{`max_length`:2}");
    valid("string {minLength=2, maxLength=2}", "\"\\u00e9\\u00e8\"");
    invalid("string {maxLength=0}", "\"a\"", "string_too_long", "String should have at most 0 characters",
            "{`max_length`:0}");
    /* constraints do not touch null on a nullable type */
    valid("string? {minLength=2}", "null");

    /* pattern: a search, as JSON Schema says, not a full match */
    valid("string {pattern=\"b\"}", "\"abc\"");
    invalid("string {pattern=\"b\"}", "\"xyz\"", "string_pattern_mismatch", "String should match pattern 'b'",
            "{`pattern`:`b`}");
    valid("string {pattern=\"^a+$\"}", "\"aaa\"");
    invalid("string {pattern=\"^a+$\"}", "\"aab\"", "string_pattern_mismatch", "String should match pattern '^a+$'",
            "{`pattern`:`^a+$`}");
    invalid("string {pattern=\"^a+$\"}", "\"\"", "string_pattern_mismatch", "String should match pattern '^a+$'",
            "{`pattern`:`^a+$`}");
    valid("string {pattern=\"^a\\\\.b$\"}", "\"a.b\"");
    invalid("string {pattern=\"^a\\\\.b$\"}", "\"axb\"", "string_pattern_mismatch",
            "String should match pattern '^a\\.b$'", "{`pattern`:`^a\\\\.b$`}");
    valid("string {pattern=[[^[a-z]{2}-\\d+$]]}", "\"ab-12\"");
    /* UTF-8 aware: one character, not one byte */
    valid("string {pattern=\"^.$\"}", "\"é\"");
    valid("string {pattern=\"^\\\\p{L}+$\"}", "\"Ωé\"");
    /* ECMA-262's $ (no m flag) is the end of the input: no newline may hide after it */
    invalid("string {pattern=\"^[a-z]+$\"}", "\"abc\\n\"", "string_pattern_mismatch",
            "String should match pattern '^[a-z]+$'", "{`pattern`:`^[a-z]+$`}");
    /* ECMA-262's \d is [0-9], with or without the u flag: Arabic-Indic digits are not digits to it */
    invalid("string {pattern=[[^\\d+$]]}", "\"١٢٣\"", "string_pattern_mismatch", "String should match pattern '^\\d+$'",
            "{`pattern`:`^\\\\d+$`}");
    /* a pattern ignores other types when the type lets them in */
    valid("any {pattern=\"^a$\"}", "5");
    valid("(string|integer) {pattern=\"^a$\"}", "5");
}

/* Validating `input` with {format=FORMAT} gives no error, or one error of type `etype`. */
static void format_check(const char *format, const char *input, int expect_valid, const char *etype)
{
    char type_text[64], shown[2048];
    snprintf(type_text, sizeof(type_text), "string {format='%s'}", format);
    const mt_type_t *type = load(NULL, type_text);
    if (type == NULL)
        return;
    cJSON *got = validate_text(type, input, shown, sizeof(shown));
    const cJSON *first = cJSON_GetArrayItem(got, 0);
    const char *got_type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(first, "type"));
    if (expect_valid)
        ok(got != NULL && cJSON_GetArraySize(got) == 0, "format %s: %s is valid (got %s)", format, input, shown);
    else
        ok(cJSON_GetArraySize(got) == 1 && got_type != NULL && strcmp(got_type, etype) == 0,
           "format %s: %s is refused with %s (got %s)", format, input, etype, shown);
    cJSON_Delete(got);
}

/*
 * Pydantic's parsing errors for these types are templates: the message ends
 * with the reason, which ctx carries ("Input should be a valid UUID, {error}").
 */
static void format_template(const char *format, const char *input, const char *etype, const char *prefix,
                            const char *ctx_key)
{
    char type_text[64], shown[2048];
    snprintf(type_text, sizeof(type_text), "string {format='%s'}", format);
    const mt_type_t *type = load(NULL, type_text);
    if (type == NULL)
        return;
    cJSON *got = validate_text(type, input, shown, sizeof(shown));
    const cJSON *error = cJSON_GetArrayItem(got, 0);
    cJSON *want_input = cJSON_Parse(input), *want_loc = cJSON_Parse("[\"body\"]");
    const char *type_name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(error, "type"));
    const char *msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(error, "msg"));
    const char *reason =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(error, "ctx"), ctx_key));
    ok(cJSON_GetArraySize(got) == 1 && type_name && strcmp(type_name, etype) == 0 &&
           cJSON_Compare(cJSON_GetObjectItemCaseSensitive(error, "loc"), want_loc, 1) &&
           cJSON_Compare(cJSON_GetObjectItemCaseSensitive(error, "input"), want_input, 1) && reason && reason[0] &&
           msg && strncmp(msg, prefix, strlen(prefix)) == 0 && strcmp(msg + strlen(prefix), reason) == 0,
       "format %s: %s gives %s with msg '%s{%s}' and ctx.%s (got %s)", format, input, etype, prefix, ctx_key, ctx_key,
       shown);
    cJSON_Delete(want_input);
    cJSON_Delete(want_loc);
    cJSON_Delete(got);
}

static void test_formats(void)
{
    static const struct {
        const char *format, *input;
        int valid;
    } cases[] = {
        {"email", "\"user@example.com\"", 1},
        {"email", "\"first.last+tag@sub.example.org\"", 1},
        {"email", "\"userexample.com\"", 0},
        {"email", "\"@example.com\"", 0},
        {"email", "\"a@@example.com\"", 0},
        {"email", "\"a b@example.com\"", 0},
        {"email", "\"a@example\"", 0},
        {"email", "\"a@.example.com\"", 0},
        {"email", "\"a@example..com\"", 0},
        {"email", "\"a@example.com.\"", 0},

        {"uuid", "\"123e4567-e89b-12d3-a456-426614174000\"", 1},
        {"uuid", "\"123E4567-E89B-12D3-A456-426614174000\"", 1},
        {"uuid", "\"00000000-0000-0000-0000-000000000000\"", 1},
        {"uuid", "\"123e4567-e89b-12d3-a456-42661417400g\"", 0},
        {"uuid", "\"123e4567-e89b-12d3-a456-4266141740000\"", 0},
        {"uuid", "\"123e4567e89b-12d3-a456-4266141740000\"", 0},
        {"uuid", "\"{123e4567-e89b-12d3-a456-426614174000}\"", 0},
        {"uuid", "\"\"", 0},

        /* leap years: divisible by 4, not by 100 unless by 400 */
        {"date", "\"2024-02-29\"", 1},
        {"date", "\"2000-02-29\"", 1},
        {"date", "\"2023-02-29\"", 0},
        {"date", "\"1900-02-29\"", 0},
        {"date", "\"2023-02-28\"", 1},
        {"date", "\"2023-12-31\"", 1},
        {"date", "\"2023-04-31\"", 0},
        {"date", "\"2023-13-01\"", 0},
        {"date", "\"2023-00-10\"", 0},
        {"date", "\"2023-01-00\"", 0},
        {"date", "\"2023-1-01\"", 0},
        {"date", "\"20230101\"", 0},
        {"date", "\"2023-01-01T00:00:00Z\"", 0},
        {"date", "\"2023-01-01 \"", 0},

        {"date-time", "\"2024-02-29T12:30:00Z\"", 1},
        {"date-time", "\"2024-01-31T23:59:59.123456+05:30\"", 1},
        {"date-time", "\"2024-01-31t00:00:00z\"", 1},
        {"date-time", "\"2024-01-31T00:00:00-00:00\"", 1},
        {"date-time", "\"2023-02-29T12:30:00Z\"", 0},
        {"date-time", "\"2024-01-31T24:00:00Z\"", 0},
        {"date-time", "\"2024-01-31T12:60:00Z\"", 0},
        {"date-time", "\"2024-01-31T12:30:00\"", 0},
        {"date-time", "\"2024-01-31T12:30:00+0530\"", 0},
        {"date-time", "\"2024-01-31T12:30:00+24:00\"", 0},
        {"date-time", "\"2024-01-31T12:30:00.Z\"", 0},
        {"date-time", "\"2024-01-31\"", 0},

        {"uri", "\"https://example.com/a?b=c#d\"", 1},
        {"uri", "\"urn:isbn:0451450523\"", 1},
        {"uri", "\"mailto:someone@example.com\"", 1},
        {"uri", "\"/relative/path\"", 0},
        {"uri", "\"//example.com/a\"", 0},
        {"uri", "\"http://exa mple.com\"", 0},
        {"uri", "\"1http://example.com\"", 0},
        {"uri", "\"example.com\"", 0},

        {"ipv4", "\"192.168.0.1\"", 1},
        {"ipv4", "\"0.0.0.0\"", 1},
        {"ipv4", "\"255.255.255.255\"", 1},
        {"ipv4", "\"256.0.0.1\"", 0},
        {"ipv4", "\"01.2.3.4\"", 0},
        {"ipv4", "\"1.2.3.04\"", 0},
        {"ipv4", "\"1.2.3.00\"", 0},
        {"ipv4", "\"1.2.3\"", 0},
        {"ipv4", "\"1.2.3.4.5\"", 0},
        {"ipv4", "\"1.2.3.4 \"", 0},
        {"ipv4", "\"1..3.4\"", 0},
        {"ipv4", "\"0x7f.0.0.1\"", 0},

        {"ipv6", "\"::\"", 1},
        {"ipv6", "\"::1\"", 1},
        {"ipv6", "\"1::\"", 1},
        {"ipv6", "\"2001:db8::8a2e:370:7334\"", 1},
        {"ipv6", "\"1:2:3:4:5:6:7:8\"", 1},
        {"ipv6", "\"1:2:3:4:5:6:7::\"", 1},
        {"ipv6", "\"::2:3:4:5:6:7:8\"", 1},
        {"ipv6", "\"::ffff:192.0.2.1\"", 1},
        {"ipv6", "\"1:2:3:4:5:6:1.2.3.4\"", 1},
        {"ipv6", "\"FE80::ABCD\"", 1},
        {"ipv6", "\":::\"", 0},
        {"ipv6", "\"1:::2\"", 0},
        {"ipv6", "\"1::2::3\"", 0},
        {"ipv6", "\":1::\"", 0},
        {"ipv6", "\"::1:\"", 0},
        {"ipv6", "\"1:2:3:4:5:6:7\"", 0},
        {"ipv6", "\"1:2:3:4:5:6:7:8:9\"", 0},
        {"ipv6", "\"1::2:3:4:5:6:7:8\"", 0},
        {"ipv6", "\"12345::\"", 0},
        {"ipv6", "\"g::1\"", 0},
        {"ipv6", "\"fe80::1%eth0\"", 0},
        {"ipv6", "\"::ffff:01.2.3.4\"", 0},
        {"ipv6", "\"1:2:3:4:5:6:7:1.2.3.4\"", 0},
        {"ipv6", "\"1.2.3.4\"", 0},
        {"ipv6", "\"\"", 0},
    };
    static const struct {
        const char *format, *etype;
    } types[] = {
        {"email", "value_error"}, {"uuid", "uuid_parsing"}, {"date", "date_parsing"}, {"date-time", "datetime_parsing"},
        {"uri", "url_parsing"},   {"ipv4", "ip_v4_address"}, {"ipv6", "ip_v6_address"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *etype = "?";
        for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
            if (strcmp(types[t].format, cases[i].format) == 0)
                etype = types[t].etype;
        format_check(cases[i].format, cases[i].input, cases[i].valid, etype);
    }
    /* the error objects: ipv4 and ipv6 have fixed messages, the others Pydantic's templates */
    invalid("string {format='ipv4'}", "\"1.2.3\"", "ip_v4_address", "Input is not a valid IPv4 address", NULL);
    invalid("string {format='ipv6'}", "\"1::2::3\"", "ip_v6_address", "Input is not a valid IPv6 address", NULL);
    format_template("email", "\"userexample.com\"", "value_error", "value is not a valid email address: ", "reason");
    format_template("uuid", "\"not-a-uuid\"", "uuid_parsing", "Input should be a valid UUID, ", "error");
    format_template("date", "\"2023-02-29\"", "date_parsing", "Input should be a valid date in the format YYYY-MM-DD, ",
                    "error");
    format_template("date-time", "\"2024-01-31\"", "datetime_parsing", "Input should be a valid datetime, ", "error");
    format_template("uri", "\"/relative\"", "url_parsing", "Input should be a valid URL, ", "error");
    /* a format ignores other types when the type lets them in */
    valid("any {format='email'}", "5");
    valid("(string|integer) {format='uuid'}", "5");
    valid("string? {format='date'}", "null");
}

static void test_array_constraints(void)
{
    valid("integer[] {minItems=2}", "[1, 2]");
    invalid("integer[] {minItems=2}", "[1]", "too_short", "List should have at least 2 items after validation, not 1",
            "{`field_type`:`List`,`min_length`:2,`actual_length`:1}");
    invalid("integer[] {minItems=1}", "[]", "too_short", "List should have at least 1 item after validation, not 0",
            "{`field_type`:`List`,`min_length`:1,`actual_length`:0}");
    valid("integer[] {maxItems=2}", "[1, 2]");
    valid("integer[] {maxItems=0}", "[]");
    invalid("integer[] {maxItems=2}", "[1, 2, 3]", "too_long", "List should have at most 2 items after validation, not 3",
            "{`field_type`:`List`,`max_length`:2,`actual_length`:3}");
    invalid("integer[] {maxItems=1}", "[1, 2]", "too_long", "List should have at most 1 item after validation, not 2",
            "{`field_type`:`List`,`max_length`:1,`actual_length`:2}");
    /* item errors come first, and the list's own constraints only when its items are fine */
    expect_errors(NULL, "integer[] {maxItems=1}", "[1, \"a\"]",
                  "[{`type`:`int_type`,`loc`:[`body`,1],`msg`:`Input should be a valid integer`,`input`:`a`}]");
    /* constraints on the items through an alias */
    expect_errors("---@alias Digit integer {minimum=0, maximum=9}\n", "Digit[] {maxItems=3}", "[0, 9, 10]",
                  "[{`type`:`less_than_equal`,`loc`:[`body`,2],`msg`:`Input should be less than or equal to 9`,"
                  "`input`:10,`ctx`:{`le`:9}}]");
    expect_errors("---@alias Digit integer {minimum=0, maximum=9}\n", "Digit[] {maxItems=3}", "[0, 1, 2, 3]",
                  "[{`type`:`too_long`,`loc`:[`body`],`msg`:`List should have at most 3 items after validation, not 4`,"
                  "`input`:[0,1,2,3],`ctx`:{`field_type`:`List`,`max_length`:3,`actual_length`:4}}]");

    valid("any[] {uniqueItems=true}", "[]");
    valid("any[] {uniqueItems=true}", "[1, \"1\", true, null, [1], {\"a\": 1}]");
    valid("any[] {uniqueItems=true}", "[0, false]");
    valid("any[] {uniqueItems=true}", "[{\"a\": 1}, {\"a\": 1, \"b\": 2}]");
    valid("any[] {uniqueItems=true}", "[[1, 2], [2, 1]]");
    invalid("integer[] {uniqueItems=true}", "[1, 2, 1]", "unique_items", "List should have unique items", NULL);
    invalid("number[] {uniqueItems=true}", "[1, 1.0]", "unique_items", "List should have unique items", NULL);
    invalid("any[] {uniqueItems=true}", "[{\"a\": 1, \"b\": 2}, {\"b\": 2, \"a\": 1}]", "unique_items",
            "List should have unique items", NULL);
    invalid("any[] {uniqueItems=true}", "[[\"x\"], [\"x\"]]", "unique_items", "List should have unique items", NULL);
    invalid("any[] {uniqueItems=true}", "[null, null]", "unique_items", "List should have unique items", NULL);
    invalid("string[] {uniqueItems=true}", "[\"é\", \"e\", \"é\"]", "unique_items", "List should have unique items",
            NULL);
    valid("integer[] {uniqueItems=false}", "[1, 1]");
}

/* ---- mt_validate_string: strings from the path, the query, headers and cookies ---- */

/* Converts `len` bytes of `text`; returns the value's JSON (or "NULL") and the errors in `shown`. */
static char *convert(const mt_type_t *type, const char *text, size_t len, char *shown, size_t size, size_t *count)
{
    mt_buf_t out = {0};
    mt_verrors_t errors;
    mt_verrors_init(&errors, &out, "query");
    cJSON *value = mt_validate_string(type, text, len, &errors);
    char *json = value != NULL ? cJSON_PrintUnformatted(value) : strdup("NULL");
    cJSON_Delete(value);
    snprintf(shown, size, "[%.*s]", (int)out.len, out.data ? out.data : "");
    *count = errors.count;
    mt_buf_free(&out);
    return json;
}

/* `text` converts for TYPE to the JSON value `want`, without errors. */
static void converts(const char *type_text, const char *text, const char *want)
{
    char shown[2048];
    size_t count;
    const mt_type_t *type = load(NULL, type_text);
    if (type == NULL)
        return;
    char *got = convert(type, text, strlen(text), shown, sizeof(shown), &count);
    cJSON *got_value = cJSON_Parse(got), *want_value = cJSON_Parse(want);
    int pass = count == 0 && got_value != NULL && want_value != NULL && cJSON_Compare(got_value, want_value, 1);
    ok(pass, "%s: '%s' converts to %s%s%s%s%s%s", type_text, text, want, pass ? "" : " (got ", pass ? "" : got,
       pass ? "" : ", errors ", pass ? "" : shown, pass ? "" : ")");
    cJSON_Delete(got_value);
    cJSON_Delete(want_value);
    free(got);
}

/* `len` bytes of `text` are refused for TYPE with exactly the errors `want` (ticked JSON). */
static void refuses_with(const char *type_text, const char *text, size_t len, const char *want_text)
{
    char shown[2048];
    size_t count;
    const mt_type_t *type = load(NULL, type_text);
    if (type == NULL)
        return;
    char *got = convert(type, text, len, shown, sizeof(shown), &count);
    cJSON *errors = cJSON_Parse(shown), *want = parse_ticked(want_text);
    int pass = strcmp(got, "NULL") == 0 && errors != NULL && want != NULL && cJSON_Compare(errors, want, 1) &&
               (size_t)cJSON_GetArraySize(errors) == count;
    char printable[256];
    size_t n = 0;
    for (size_t i = 0; i < len && n + 3 < sizeof(printable); i++) {
        if (text[i] == '\0')
            printable[n++] = '\\', printable[n++] = '0';
        else
            printable[n++] = text[i];
    }
    printable[n] = '\0';
    ok(pass, "%s: '%s' is refused with %s%s%s%s%s%s", type_text, printable, want_text, pass ? "" : " (got value ",
       pass ? "" : got, pass ? "" : ", errors ", pass ? "" : shown, pass ? "" : ")");
    cJSON_Delete(errors);
    cJSON_Delete(want);
    free(got);
}

/* One error at loc ["query"] whose input is the text as a string. */
static void refuses(const char *type_text, const char *text, const char *etype, const char *msg)
{
    cJSON *error = cJSON_CreateObject();
    cJSON_AddStringToObject(error, "type", etype);
    cJSON *loc = cJSON_AddArrayToObject(error, "loc");
    cJSON_AddItemToArray(loc, cJSON_CreateString("query"));
    cJSON_AddStringToObject(error, "msg", msg);
    cJSON_AddStringToObject(error, "input", text);
    cJSON *array = cJSON_CreateArray();
    cJSON_AddItemToArray(array, error);
    char *want = cJSON_PrintUnformatted(array);
    refuses_with(type_text, text, strlen(text), want);
    free(want);
    cJSON_Delete(array);
}

#define INT_PARSING "Input should be a valid integer, unable to parse string as an integer"
#define FLOAT_PARSING "Input should be a valid number, unable to parse string as a number"
#define BOOL_PARSING "Input should be a valid boolean, unable to interpret input"

static void test_strings_integer(void)
{
    converts("integer", "42", "42");
    converts("integer", "0", "0");
    converts("integer", "-7", "-7");
    converts("integer", "+1", "1");
    converts("integer", "007", "7");
    converts("integer", "9007199254740992", "9007199254740992");
    converts("integer", "-9007199254740992", "-9007199254740992");
    static const char *not_integers[] = {
        "1.5", "1.0", "1e3", "abc", "12x", "", " 1", "1 ", "0x10", "1_000", "--1", "+", "-", "١",
        "9007199254740993", "99999999999999999999", "-9223372036854775809", "12345678901234567890123",
    };
    for (size_t i = 0; i < sizeof(not_integers) / sizeof(not_integers[0]); i++)
        refuses("integer", not_integers[i], "int_parsing", INT_PARSING);
    /* the converted value is validated too */
    refuses_with("integer {minimum=1}", "0", 1,
                 "[{`type`:`greater_than_equal`,`loc`:[`query`],`msg`:`Input should be greater than or equal to 1`,"
                 "`input`:`0`,`ctx`:{`ge`:1}}]");
    refuses_with("integer {maximum=9}", "10", 2,
                 "[{`type`:`less_than_equal`,`loc`:[`query`],`msg`:`Input should be less than or equal to 9`,"
                 "`input`:`10`,`ctx`:{`le`:9}}]");
    /* the bytes given, not up to a NUL */
    refuses_with("integer", "12\0003", 4,
                 "[{`type`:`int_parsing`,`loc`:[`query`],`msg`:`" INT_PARSING "`,`input`:`12\\u00003`}]");
}

static void test_strings_number(void)
{
    converts("number", "1.5", "1.5");
    converts("number", "-0.25", "-0.25");
    converts("number", "1e3", "1000");
    converts("number", "2E-2", "0.02");
    converts("number", "42", "42");
    converts("number", ".5", "0.5");
    /* long, or rounding to zero, but still numbers */
    converts("number", "3.141592653589793238462643383279502884197169399375105820974944592307816406286",
             "3.141592653589793");
    converts("number", "1e-400", "0");
    static const char *not_numbers[] = {
        "abc", "", " 1", "1 ", "0x10", "1,5", "nan", "NaN", "inf", "-Infinity", "1e400", "1.2.3", "--1", "e5",
    };
    for (size_t i = 0; i < sizeof(not_numbers) / sizeof(not_numbers[0]); i++)
        refuses("number", not_numbers[i], "float_parsing", FLOAT_PARSING);
    refuses_with("number", "1\0abc", 5,
                 "[{`type`:`float_parsing`,`loc`:[`query`],`msg`:`" FLOAT_PARSING "`,`input`:`1\\u0000abc`}]");
    refuses_with("number {exclusiveMaximum=1}", "1", 1,
                 "[{`type`:`less_than`,`loc`:[`query`],`msg`:`Input should be less than 1`,`input`:`1`,`ctx`:{`lt`:1}}]");
}

static void test_strings_boolean(void)
{
    static const char *truthy[] = {"true", "1", "yes", "on", "TRUE", "True", "YES", "On", "oN"};
    static const char *falsy[] = {"false", "0", "no", "off", "FALSE", "No", "OFF", "oFf"};
    for (size_t i = 0; i < sizeof(truthy) / sizeof(truthy[0]); i++)
        converts("boolean", truthy[i], "true");
    for (size_t i = 0; i < sizeof(falsy) / sizeof(falsy[0]); i++)
        converts("boolean", falsy[i], "false");
    static const char *neither[] = {"", "2", "-1", "truee", "tru", " true", "true ", "nope", "00", "enabled"};
    for (size_t i = 0; i < sizeof(neither) / sizeof(neither[0]); i++)
        refuses("boolean", neither[i], "bool_parsing", BOOL_PARSING);
}

static void test_strings_other(void)
{
    converts("string", "", "\"\"");
    converts("string", "42", "\"42\"");
    converts("string", " a b ", "\" a b \"");
    converts("any", "42", "\"42\"");
    refuses_with("string {maxLength=3}", "abcd", 4,
                 "[{`type`:`string_too_long`,`loc`:[`query`],`msg`:`String should have at most 3 characters`,"
                 "`input`:`abcd`,`ctx`:{`max_length`:3}}]");
    refuses_with("string {pattern='^[0-9]+$'}", "12a", 3,
                 "[{`type`:`string_pattern_mismatch`,`loc`:[`query`],`msg`:`String should match pattern '^[0-9]+$'`,"
                 "`input`:`12a`,`ctx`:{`pattern`:`^[0-9]+$`}}]");
    refuses_with("string {format='uuid'}", "x", 1,
                 "[{`type`:`uuid_parsing`,`loc`:[`query`],`msg`:`Input should be a valid UUID, invalid length: expected 36 "
                 "characters`,`input`:`x`,`ctx`:{`error`:`invalid length: expected 36 characters`}}]");
    converts("integer?", "5", "5");
    refuses("integer?", "", "int_parsing", INT_PARSING);

    /* unions of scalars: the first member the text converts to, strings last */
    converts("integer|string", "5", "5");
    converts("string|integer", "5", "5");
    converts("integer|string", "abc", "\"abc\"");
    converts("integer|string", "5.5", "\"5.5\"");
    converts("integer|number", "5.5", "5.5");
    converts("number|boolean", "1", "1");
    converts("boolean|integer", "1", "true");
    converts("integer|boolean", "yes", "true");
    /* Pydantic reports the parsing error of each member, tagged with it */
    refuses_with("integer|boolean", "x", 1,
                 "[{`type`:`int_parsing`,`loc`:[`query`,`integer`],`msg`:`" INT_PARSING "`,`input`:`x`},"
                 "{`type`:`bool_parsing`,`loc`:[`query`,`boolean`],`msg`:`" BOOL_PARSING "`,`input`:`x`}]");

    /* literals */
    converts("\"asc\"|\"desc\"", "desc", "\"desc\"");
    refuses_with("\"asc\"|\"desc\"", "up", 2,
                 "[{`type`:`literal_error`,`loc`:[`query`],`msg`:`Input should be 'asc' or 'desc'`,`input`:`up`,"
                 "`ctx`:{`expected`:`'asc' or 'desc'`}}]");
    converts("1|2", "2", "2");
    converts("1|\"a\"", "1", "1");
    converts("1|\"a\"", "a", "\"a\"");
    refuses_with("1|2", "x", 1,
                 "[{`type`:`literal_error`,`loc`:[`query`],`msg`:`Input should be 1 or 2`,`input`:`x`,"
                 "`ctx`:{`expected`:`1 or 2`}}]");
    /* the input of an error is what was sent: the string "3" */
    refuses_with("1|2", "3", 1,
                 "[{`type`:`literal_error`,`loc`:[`query`],`msg`:`Input should be 1 or 2`,`input`:`3`,"
                 "`ctx`:{`expected`:`1 or 2`}}]");
}

static void test_collector(void)
{
    mt_buf_t out = {0};
    mt_verrors_t errors;
    mt_verrors_init(&errors, &out, "header");
    mt_verrors_push_key(&errors, "x-\"q\"", 5);
    mt_verrors_push_index(&errors, 3);
    mt_verrors_add(&errors, "t", "m \"quoted\"\n", "[1]", "\"k\":true");
    mt_verrors_pop(&errors);
    mt_verrors_add(&errors, "u", "n", NULL, NULL);
    mt_verrors_pop(&errors);
    mt_verrors_add(&errors, "v", "o", "1", NULL);
    char text[1024];
    snprintf(text, sizeof(text), "[%.*s]", (int)out.len, out.data);
    cJSON *got = cJSON_Parse(text);
    cJSON *want = parse_ticked("[{`type`:`t`,`loc`:[`header`,`x-\\`q\\``,3],`msg`:`m \\`quoted\\`\\n`,`input`:[1],"
                               "`ctx`:{`k`:true}},"
                               "{`type`:`u`,`loc`:[`header`,`x-\\`q\\``],`msg`:`n`,`input`:null},"
                               "{`type`:`v`,`loc`:[`header`],`msg`:`o`,`input`:1}]");
    ok(got && want && cJSON_Compare(got, want, 1) && errors.count == 3,
       "the collector writes loc, msg, input and ctx as JSON (got %s)", text);
    cJSON_Delete(got);
    cJSON_Delete(want);
    mt_buf_free(&out);

    /* a loc deeper than MT_LOC_MAX is cut, never overrun */
    mt_verrors_init(&errors, &out, "body");
    for (int i = 0; i < MT_LOC_MAX + 10; i++)
        mt_verrors_push_index(&errors, i);
    mt_verrors_add(&errors, "deep", "d", NULL, NULL);
    snprintf(text, sizeof(text), "[%.*s]", (int)out.len, out.data);
    got = cJSON_Parse(text);
    ok(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(got, 0), "loc")) == MT_LOC_MAX,
       "a loc deeper than %d keeps its first %d steps", MT_LOC_MAX, MT_LOC_MAX);
    cJSON_Delete(got);
    mt_buf_free(&out);
}

int main(void)
{
    test_scalar_types();
    test_container_types();
    test_objects();
    test_unions_and_literals();
    test_numeric_constraints();
    test_string_constraints();
    test_formats();
    test_array_constraints();
    test_strings_integer();
    test_strings_number();
    test_strings_boolean();
    test_strings_other();
    test_collector();
    mt_schema_free(schema);
    return tap_done();
}

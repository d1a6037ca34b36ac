/* Unit tests for src/annotation.c, src/type_parser.c and src/schema.c: every grammar form and every error. */
#include <string.h>
#include "annotation.h"
#include "tap.h"

static mt_schema_t *scan(const char *text)
{
    mt_schema_t *schema = mt_schema_new();
    mt_annotation_scan(schema, "t.lua", text, strlen(text));
    mt_schema_resolve(schema);
    return schema;
}

static const char *describe(const mt_type_t *type)
{
    static char buf[256];
    return type ? mt_type_describe(type, buf, sizeof(buf)) : "(null)";
}

/* The type of `---@param x TYPE` as the parser reads it back. */
static void expect_type(const char *annotation, const char *want)
{
    char text[512];
    snprintf(text, sizeof(text), "---@param x %s\nfunction f(x) end\n", annotation);
    mt_schema_t *schema = scan(text);
    const mt_handler_doc_t *doc = mt_schema_find_doc(schema, "t.lua", 2);
    const char *got = doc && doc->num_params == 1 ? describe(doc->params[0].type) : "(no param)";
    ok(schema->num_problems == 0 && strcmp(got, want) == 0, "type '%s' reads as %s (got %s%s%s)", annotation, want, got,
       schema->num_problems ? "; " : "", schema->num_problems ? schema->problems[0] : "");
    mt_schema_free(schema);
}

/* Scanning `text` records a problem containing `fragment` at t.lua:LINE. */
static void expect_problem(const char *text, int line, const char *fragment)
{
    mt_schema_t *schema = scan(text);
    char where[32];
    snprintf(where, sizeof(where), "t.lua:%d: ", line);
    int found = 0;
    for (size_t i = 0; i != schema->num_problems; i++)
        found |= strncmp(schema->problems[i], where, strlen(where)) == 0 && strstr(schema->problems[i], fragment) != NULL;
    ok(found, "problem '%s' at line %d (got %s)", fragment, line, schema->num_problems ? schema->problems[0] : "none");
    mt_schema_free(schema);
}

static void test_types(void)
{
    expect_type("string", "string");
    expect_type("number", "number");
    expect_type("integer", "integer");
    expect_type("boolean", "boolean");
    expect_type("any", "any");
    expect_type("table", "table");
    expect_type("string[]", "string[]");
    expect_type("integer[][]", "integer[][]");
    expect_type("string?", "string?");
    expect_type("string|integer", "string|integer");
    expect_type("string | integer", "string|integer");
    expect_type("\"draft\"|\"published\"", "\"draft\"|\"published\"");
    expect_type("'a'|'b'", "\"a\"|\"b\"");
    expect_type("1|2|-3", "1|2|-3");
    expect_type("table<string, number>", "table<string, number>");
    expect_type("table<string,integer[]>", "table<string, integer[]>");
    expect_type("{ x: number, y?: string }", "{...}");
    expect_type("(\"a\"|\"b\")[]", "\"a\"|\"b\"[]");
    expect_type("moontide.Request", "moontide.Request");
    expect_type("string|nil", "string?");
    expect_type("nil|string", "string?");
    expect_type("nil|string|integer", "string|integer?");

    mt_schema_t *schema = scan("---@param p { x: number, y?: string[] } {minItems=0}\nfunction f(p) end\n");
    const mt_handler_doc_t *doc = mt_schema_find_doc(schema, "t.lua", 2);
    ok(schema->num_problems == 1, "constraints after an inline table apply to it (minItems does not fit an object)");
    const mt_type_t *t = doc ? doc->params[0].type : NULL;
    ok(t && t->kind == MT_TYPE_OBJECT && t->u.object.num_fields == 2 && !t->u.object.fields[0].optional &&
           t->u.object.fields[1].optional && t->u.object.fields[1].type->kind == MT_TYPE_ARRAY,
       "inline table fields: x required, y optional string[]");
    mt_schema_free(schema);

    schema = scan("---@param q? string? {maxLength=3}\nfunction f(q) end\n");
    doc = mt_schema_find_doc(schema, "t.lua", 2);
    ok(doc && doc->params[0].optional && doc->params[0].type->nullable, "name? and T? are both recorded");
    mt_schema_free(schema);
}

static void test_constraints(void)
{
    mt_schema_t *schema = scan(
        "---@param name string {minLength=1, maxLength=100, pattern=\"^[a-z]+$\", example='abc'} Display name.\n"
        "---@param n number {minimum=-1.5, maximum=1e3, exclusiveMinimum=-2, exclusiveMaximum=1001, multipleOf=0.5}\n"
        "---@param tags string[] {minItems=1, maxItems=10, uniqueItems=true, default={\"a\",\"b\"}}\n"
        "---@param key string {in=\"header\", alias=\"x-api-key\", deprecated=true}\n"
        "---@param re string {pattern=[[^\\d{3}$]]} # Three digits.\n"
        "---@param d string {format=\"date-time\", default=nil}\n"
        "function f(name, n, tags, key, re, d) end\n");
    const mt_handler_doc_t *doc = mt_schema_find_doc(schema, "t.lua", 7);
    ok(schema->num_problems == 0, "a full set of constraints parses (%s)", schema->num_problems ? schema->problems[0] : "");
    if (doc == NULL || doc->num_params != 6) {
        ok(0, "six params");
        mt_schema_free(schema);
        return;
    }
    const mt_constraints_t *c = doc->params[0].type->constraints;
    ok(c && c->min_length == 1 && c->max_length == 100 && strcmp(c->pattern, "^[a-z]+$") == 0 && c->pattern_code &&
           strcmp(c->example_json, "\"abc\"") == 0,
       "string constraints, compiled pattern, example as JSON");
    ok(doc->params[0].description && strcmp(doc->params[0].description, "Display name.") == 0, "description after constraints");
    c = doc->params[1].type->constraints;
    ok(c && c->minimum == -1.5 && c->maximum == 1000 && c->exclusive_minimum == -2 && c->exclusive_maximum == 1001 &&
           c->multiple_of == 0.5 && (c->has & MT_HAS_EXCLUSIVE_MAXIMUM),
       "numeric constraints");
    c = doc->params[2].type->constraints;
    ok(c && c->min_items == 1 && c->max_items == 10 && c->unique_items && strcmp(c->default_json, "[\"a\",\"b\"]") == 0,
       "array constraints and a table default as JSON");
    c = doc->params[3].type->constraints;
    ok(c && strcmp(c->in, "header") == 0 && strcmp(c->alias, "x-api-key") == 0 && c->deprecated, "in, alias, deprecated");
    c = doc->params[4].type->constraints;
    ok(c && strcmp(c->pattern, "^\\d{3}$") == 0 && c->pattern_code, "a long-bracket pattern keeps its backslashes");
    ok(doc->params[4].description && strcmp(doc->params[4].description, "Three digits.") == 0, "'#' before a description");
    c = doc->params[5].type->constraints;
    ok(c && c->format == MT_FORMAT_DATE_TIME && strcmp(c->default_json, "null") == 0, "format and default=nil");
    mt_schema_free(schema);
}

static void test_classes_and_aliases(void)
{
    mt_schema_t *schema = scan("---A thing for sale.\n"
                               "---@class Item\n"
                               "---@field name string {minLength=1} Display name.\n"
                               "---@field price number\n"
                               "---@field tags? string[]\n"
                               "---@field status Status\n"
                               "\n"
                               "---@class Book: Item\n"
                               "---@field isbn string\n"
                               "---@field name string {maxLength=5}\n"
                               "\n"
                               "---@alias Status\n"
                               "---| \"draft\" # Not visible yet.\n"
                               "---| \"published\"\n"
                               "\n"
                               "---@alias Price number\n"
                               "local x = 1\n");
    ok(schema->num_problems == 0, "classes and aliases parse (%s)", schema->num_problems ? schema->problems[0] : "");
    const mt_named_type_t *item = mt_schema_find_type(schema, "Item"), *book = mt_schema_find_type(schema, "Book");
    const mt_named_type_t *status = mt_schema_find_type(schema, "Status"), *price = mt_schema_find_type(schema, "Price");
    ok(item && item->is_class && item->type->u.object.num_fields == 4 && item->line == 2, "Item has 4 fields, at line 2");
    ok(item && strcmp(item->type->u.object.description, "A thing for sale.") == 0, "plain lines describe the class");
    ok(item && item->type->u.object.fields[2].optional && !item->type->u.object.fields[0].optional, "optional fields");
    ok(item && item->type->u.object.fields[3].type->u.ref.target == status->type, "Status resolves to the alias");
    ok(book && book->type->u.object.num_fields == 5, "Book inherits Item's fields (4 + isbn, name overridden)");
    int overridden = 0;
    for (size_t i = 0; book && i != book->type->u.object.num_fields; i++)
        if (strcmp(book->type->u.object.fields[i].name, "name") == 0)
            overridden = book->type->u.object.fields[i].type->constraints->max_length == 5;
    ok(overridden, "a child's field replaces the parent's of the same name");
    ok(status && status->type->kind == MT_TYPE_UNION && status->type->u.any_of.num_members == 2, "---| members");
    ok(price && !price->is_class && price->type->kind == MT_TYPE_NUMBER, "one-line alias");
    mt_schema_free(schema);

    /* classes are shared across files */
    schema = mt_schema_new();
    const char *models = "---@class Pet\n---@field name string\n";
    const char *app = "---@param pet Pet\n---@return Pet\nfunction f(pet) end\n";
    mt_annotation_scan(schema, "models.lua", models, strlen(models));
    mt_annotation_scan(schema, "app.lua", app, strlen(app));
    ok(mt_schema_resolve(schema) == 0, "a class from another file resolves");
    const mt_handler_doc_t *doc = mt_schema_find_doc(schema, "app.lua", 3);
    ok(doc && doc->params[0].type->u.ref.target == mt_schema_find_type(schema, "Pet")->type && doc->returns,
       "the handler's param and return point at the class");
    mt_schema_free(schema);
}

static void test_handler_docs(void)
{
    mt_schema_t *schema = scan("local app = {}\n"
                               "---Read one item.\n"
                               "---Longer **markdown**\n"
                               "---on two lines.\n"
                               "---@param id integer {minimum=1}\n"
                               "---@return Item # The item.\n"
                               "---@status 201\n"
                               "---@response 404 # Item not found\n"
                               "---@response 409 Conflict Already there.\n"
                               "---@tag items\n"
                               "---@tag admin\n"
                               "---@deprecated\n"
                               "---@see something else\n"
                               "app.get('/items/{id}', function(id) end)\n"
                               "---@class Item\n"
                               "---@class Conflict\n");
    const mt_handler_doc_t *doc = mt_schema_find_doc(schema, "t.lua", 14);
    ok(doc != NULL && doc->first_line == 2, "the block stands above line 14 and starts at line 2");
    if (doc == NULL) {
        mt_schema_free(schema);
        return;
    }
    ok(strcmp(doc->summary, "Read one item.") == 0, "summary: %s", doc->summary);
    ok(strcmp(doc->description, "Longer **markdown**\non two lines.") == 0, "description: the lines after the summary");
    ok(doc->returns && strcmp(describe(doc->returns), "Item") == 0 && strcmp(doc->returns_description, "The item.") == 0,
       "return type and description");
    ok(doc->status == 201, "status");
    ok(doc->num_responses == 2 && doc->responses[0].status == 404 && doc->responses[0].type == NULL &&
           strcmp(doc->responses[0].description, "Item not found") == 0,
       "---@response 404 # description");
    ok(doc->num_responses == 2 && doc->responses[1].type && strcmp(describe(doc->responses[1].type), "Conflict") == 0 &&
           strcmp(doc->responses[1].description, "Already there.") == 0,
       "---@response 409 TYPE description");
    ok(doc->num_tags == 2 && strcmp(doc->tags[1], "admin") == 0, "tags");
    ok(doc->deprecated, "deprecated");
    ok(schema->num_problems == 0, "other LuaLS tags are ignored (%s)", schema->num_problems ? schema->problems[0] : "");
    ok(mt_schema_find_doc(schema, "t.lua", 15) == NULL, "a class block is no handler doc");
    mt_schema_free(schema);

    schema = scan("---@param x integer\n\nfunction f(x) end\n");
    ok(mt_schema_find_doc(schema, "t.lua", 3) == NULL, "a blank line detaches a block from the function");
    mt_schema_free(schema);
    schema = scan("---------------\nfunction f() end\n");
    ok(schema->num_docs == 0, "a ---- separator line is not a doc comment");
    mt_schema_free(schema);
}

static void test_errors(void)
{
    expect_problem("---@param x strin\nfunction f(x) end\n", 1, "unknown type 'strin'");
    expect_problem("---@param x string[\nfunction f(x) end\n", 1, "x: ");
    expect_problem("---@param x table<number, string>\nfunction f(x) end\n", 1, "a map's keys must be strings");
    expect_problem("---@param x table<string, number\n", 1, "expected '>'");
    expect_problem("---@param x (string\n", 1, "expected ')'");
    expect_problem("---@param x { a number }\n", 1, "expected ':' after field 'a'");
    expect_problem("---@param x { a: number, a: string }\n", 1, "field 'a' appears twice");
    expect_problem("---@param x 1.5\n", 1, "a literal type must be a string or an integer");
    expect_problem("---@param x \"open\n", 1, "unfinished string");
    expect_problem("---@param x nil\n", 1, "nil alone");
    expect_problem("---@param\n", 1, "---@param needs a name");
    expect_problem("---@param x\n", 1, "a type is missing");
    expect_problem("---@param x integer\n---@param x string\n", 2, "two ---@param lines name 'x'");
    expect_problem("---@param x integer {minLength=1}\n", 1, "constraint 'minLength' does not fit type integer");
    expect_problem("---@param x string {minimum=1}\n", 1, "constraint 'minimum' does not fit type string");
    expect_problem("---@param x string {maxItems=1}\n", 1, "constraint 'maxItems' does not fit type string");
    expect_problem("---@param x string {minLength=5, maxLength=2}\n", 1, "minLength 5 is greater than maxLength 2");
    expect_problem("---@param x string {minLength=-1}\n", 1, "must be a whole number");
    expect_problem("---@param x string {minLength=1.5}\n", 1, "must be a whole number");
    expect_problem("---@param x number {multipleOf=0}\n", 1, "must be greater than 0");
    expect_problem("---@param x number {minimum=\"1\"}\n", 1, "constraint 'minimum' must be a number");
    expect_problem("---@param x string {pattern=\"(\"}\n", 1, "is not a valid regular expression");
    expect_problem("---@param x string {pattern=\"\\d\"}\n", 1, "unknown escape \\d");
    expect_problem("---@param x string {format=\"phone\"}\n", 1, "unknown format 'phone'");
    expect_problem("---@param x string {in=\"body2\"}\n", 1, "'in' must be");
    expect_problem("---@param x string {colour=1}\n", 1, "unknown constraint 'colour'");
    expect_problem("---@param x string {uniqueItems=1}\n", 1, "must be true or false");
    expect_problem("---@param x string {minLength=1, minLength=2}\n", 1, "key 'minLength' appears twice");
    expect_problem("---@param x string {minLength=1\n", 1, "expected ',' or '}'");
    expect_problem("---@param x string {1, 2}\n", 1, "constraints are written {name=value, ...}");
    expect_problem("---@field x string\n", 1, "---@field outside a class");
    expect_problem("---@class\n", 1, "---@class needs a name");
    expect_problem("---@class A\n---@field x string\n---@field x number\n", 3, "two fields named 'x'");
    expect_problem("---@class A: Missing\n", 1, "parent 'Missing' is not a known class");
    expect_problem("---@class A: B\n\n---@class B: A\n", 1, "inherits from itself");
    expect_problem("---@class A\n\n---@class A\n", 3, "type 'A' is already defined at t.lua:1");
    expect_problem("---@alias S\n", 1, "alias S has no members");
    expect_problem("---| \"x\"\n", 1, "a ---| line must follow");
    expect_problem("---@alias Loop Loop\n", 1, "alias Loop refers to itself");
    expect_problem("---@status 99\n", 1, "---@status needs an HTTP status code");
    expect_problem("---@response abc\n", 1, "---@response needs an HTTP status code");
    expect_problem("---@return Missing\n", 1, "unknown type 'Missing'");
    expect_problem("---@return string\n---@return number\n", 2, "one ---@return");
    expect_problem("---@tag\n", 1, "---@tag needs a name");
    static char deep[4096];
    strcpy(deep, "---@param x string");
    for (int i = 0; i < 1000; i++)
        strcat(deep, "[]");
    strcat(deep, "\n");
    expect_problem(deep, 1, "type nested too deeply");
    expect_problem("---@class B\n\n---@class A: B\n---@field x string {minimum=1}\n", 4, "does not fit"); /* a parent with no fields */
}

int main(void)
{
    test_types();
    test_constraints();
    test_classes_and_aliases();
    test_handler_docs();
    test_errors();
    return tap_done();
}

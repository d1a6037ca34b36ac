/*
 * Annotations: the `---` comment blocks of an app's Lua files, read into the
 * schema model. Classes and aliases go into one namespace shared by all the
 * app's files; every other block is kept as the doc of the line right after
 * it, which is where a handler's `function` keyword stands.
 */
#ifndef MT_ANNOTATION_H
#define MT_ANNOTATION_H

#include "schema.h"

typedef struct st_mt_param_doc_t {
    const char *name;
    int optional;
    mt_type_t *type;
    const char *description;
    int line;
} mt_param_doc_t;

typedef struct st_mt_response_doc_t {
    int status;
    mt_type_t *type; /* NULL when the response has no body model */
    const char *description;
    int line;
} mt_response_doc_t;

typedef struct st_mt_handler_doc_t {
    const char *file;
    int line;       /* the line the block stands above */
    int first_line; /* the block's first line */
    const char *summary;
    const char *description;
    mt_param_doc_t *params;
    size_t num_params;
    mt_type_t *returns; /* NULL without ---@return */
    const char *returns_description;
    int returns_line;
    int status; /* 0 when not given */
    mt_response_doc_t *responses;
    size_t num_responses;
    const char **tags;
    size_t num_tags;
    int deprecated;
} mt_handler_doc_t;

typedef struct st_mt_named_type_t {
    const char *name;
    mt_type_t *type;
    int is_class;
    const char *file;
    int line;
} mt_named_type_t;

typedef struct st_mt_schema_t {
    mt_arena_t arena;
    mt_named_type_t *types; /* classes and aliases */
    size_t num_types;
    mt_handler_doc_t *docs;
    size_t num_docs;
    char **problems; /* "FILE:LINE: message", in the order found */
    size_t num_problems;
    void **patterns; /* compiled regular expressions (pcre2_code *), freed with the schema */
    size_t num_patterns;
} mt_schema_t;

mt_schema_t *mt_schema_new(void);
void mt_schema_free(mt_schema_t *schema);

/* Records a problem ("FILE:LINE: message"). */
void mt_schema_problem(mt_schema_t *schema, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Records a problem given as a whole line (a Lua error message already says FILE:LINE). */
void mt_schema_problem_line(mt_schema_t *schema, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reads the annotations of one file (its text, `len` bytes) into the schema; problems are recorded. */
void mt_annotation_scan(mt_schema_t *schema, const char *file, const char *text, size_t len);

/* The doc of the block standing right above `line` of `file`, or NULL. */
const mt_handler_doc_t *mt_schema_find_doc(const mt_schema_t *schema, const char *file, int line);

const mt_named_type_t *mt_schema_find_type(const mt_schema_t *schema, const char *name);

/* Adds a named type (a class, an alias, or a name given to app:provide); a second one of a name is reported when names resolve. */
void mt_schema_add_type(mt_schema_t *schema, const char *name, mt_type_t *type, int is_class, const char *file,
                        int line);

/*
 * After every file is scanned: resolves type names, merges parent classes,
 * checks that each constraint fits its type and compiles patterns. Problems
 * are recorded; returns how many were added.
 */
size_t mt_schema_resolve(mt_schema_t *schema);

/* Resolves the types of one handler doc made after mt_schema_resolve (a route's opts). */
void mt_schema_resolve_doc(mt_schema_t *schema, mt_handler_doc_t *doc);

/* Writes a type as an annotation would spell it ("string[]", "Item?") into buf. */
const char *mt_type_describe(const mt_type_t *type, char *buf, size_t size);

#endif

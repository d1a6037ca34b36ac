/*
 * A built app (`moontide build APP -o OUT`): OUT is this executable with the
 * app appended, each of its Lua files as bytecode (with line information,
 * so errors keep FILE:LINE) and as its annotation lines (the `---` lines,
 * every other line blanked, so line numbers hold), and the files of its
 * app:static directories. OUT loads the app from there and reads no Lua
 * file from disk.
 */
#ifndef MT_BUNDLE_H
#define MT_BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include "app.h"

typedef struct st_mt_bundle_file_t {
    const char *name; /* the path it had when built: "examples/items/app.lua" */
    const char *bytecode;
    size_t bytecode_len;
    const char *annotations;
    size_t annotations_len;
} mt_bundle_file_t;

/* A file of an app:static directory: its bytes, and the modification time it had when built. */
typedef struct st_mt_bundle_static_t {
    const char *name; /* "<the mount's directory>/<path below it>" */
    const char *data;
    size_t len;
    int64_t mtime;
} mt_bundle_static_t;

typedef struct st_mt_bundle_t {
    char *payload;
    mt_bundle_file_t *files; /* the first is the app's main file */
    size_t num_files;
    mt_bundle_static_t *statics; /* sorted by name */
    size_t num_statics;
} mt_bundle_t;

/* The app this executable carries, or NULL when it is plain moontide (set by mt_bundle_open_self). */
extern const mt_bundle_t *mt_bundle;

/* Looks for an app appended to this executable. Returns 0 (mt_bundle set, or NULL when none) or -1 with err set. */
int mt_bundle_open_self(char *err, size_t errsize);

/* Frees what mt_bundle_open_self read. */
void mt_bundle_close(void);

/* The bundled file called `name`, or NULL. */
const mt_bundle_file_t *mt_bundle_find(const char *name);

/* The embedded static file called `name`, or NULL. */
const mt_bundle_static_t *mt_bundle_find_static(const char *name);

/* Writes OUT: this executable, then `app`'s files (*num_static: how many static files). Returns 0, or -1 with err set. */
int mt_bundle_write(const mt_app_t *app, const char *out_path, size_t *num_static, char *err, size_t errsize);

#endif

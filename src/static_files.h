/*
 * Static files (app:static(prefix, dir)): GET and HEAD of the files under a
 * directory, with ETag / Last-Modified validators and single byte ranges.
 * From disk under run and dev; from the executable in a built app.
 */
#ifndef MT_STATIC_FILES_H
#define MT_STATIC_FILES_H

#define H2O_USE_LIBUV 0
#include <h2o.h>
#include <sys/stat.h>
#include "app.h"

typedef struct st_mt_static_mount_t {
    char *prefix;      /* "/assets", "" for "/" */
    size_t prefix_len;
    char *dir;         /* the directory as the app names it, joined to the app's directory: names files in a bundle */
    char *real_dir;    /* realpath of dir (on disk only) */
    int dirfd;         /* open on dir; -1 in a built app */
    char *where;       /* "app.lua:12" */
} mt_static_mount_t;

/* Reads the app:static calls from the app table at `app_index` (problems go to app->schema). */
void mt_static_configure(mt_app_t *app, int app_index);
void mt_static_free(mt_app_t *app);

/* Serves the request when a mount covers `path` (not decoded, no query) and returns 1; 0 when none does. */
int mt_static_serve(h2o_req_t *req, const mt_app_t *app, const char *path, size_t len);

/* moontide build: calls `visit` with each file a mount would serve (its bundle name, an open fd, its stat). */
typedef int (*mt_static_visit_t)(void *ud, const char *name, int fd, const struct stat *st);
int mt_static_walk(const mt_app_t *app, mt_static_visit_t visit, void *ud, char *err, size_t errsize);

#endif

/*
 * app:on_startup(fn) and app:on_shutdown(fn) (SPEC §7). The functions are
 * kept when the app loads; a worker runs the startup ones before it serves
 * the app's first request, and the shutdown ones once it stops serving it
 * (the worker stops, or `moontide dev` retired that generation and its last
 * request is done). The master never runs them.
 */
#ifndef MT_LIFECYCLE_H
#define MT_LIFECYCLE_H

#include "app.h"

/* A worker whose on_startup failed exits with this status; the master then stops the server. */
#define MT_EXIT_STARTUP_FAILED 3

/* Keeps the app's hook lists (the app table is at `app_index`). */
void mt_lifecycle_collect(mt_app_t *app, int app_index);

/* Runs the on_startup functions in order; the first error is logged and stops them: returns -1. */
int mt_lifecycle_startup(mt_app_t *app);

/* Runs the on_shutdown functions in order, once, when startup ran; errors are logged and the rest still run. */
void mt_lifecycle_shutdown(mt_app_t *app);

#endif

/*
 * A worker process: one event loop, one h2o context and the app's Lua state
 * (inherited from the master at fork), accepting on the shared listener.
 */
#ifndef MT_WORKER_H
#define MT_WORKER_H

#define H2O_USE_LIBUV 0
#include <h2o.h>
#include "app.h"
#include "handler.h"
#include "options.h"

typedef struct st_mt_worker_config_t {
    const mt_options_t *opts;
    mt_app_t *app;
    int listen_fd;
    SSL_CTX *ssl_ctx;                         /* NULL for cleartext */
    int access_log_fd;                        /* -1 for none */
    mt_busy_t *busy;                          /* shared with the master */
} mt_worker_config_t;

/* Serves until SIGTERM/SIGINT, then drains; returns the process exit code. */
int mt_worker_run(const mt_worker_config_t *config);

#endif

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

/* What one worker serves with: h2o's configuration and context on the worker's loop, and the app's handler. */
typedef struct st_mt_worker_t {
    h2o_globalconf_t globalconf;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx; /* what h2o_accept takes for each connection */
    mt_handler_t *handler;
} mt_worker_t;

/*
 * Sets up `worker` from the options (limits, timeouts), the app's handler on
 * "/", the access log, a new event loop with the worker's timers on it. Once
 * per process: the loop's timers are the process's. Returns 0, or -1 with
 * errno set.
 */
int mt_worker_setup(mt_worker_t *worker, const mt_worker_config_t *config);

/* Serves until SIGTERM/SIGINT, then drains; returns the process exit code. */
int mt_worker_run(const mt_worker_config_t *config);

#endif

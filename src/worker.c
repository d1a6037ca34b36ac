/*
 * The worker's event loop. It accepts connections on the listener it shares
 * with its siblings, hands them to h2o (which speaks HTTP/1.1, h2c with prior
 * knowledge, and TLS with ALPN on the same socket), and dispatches requests
 * to the app's handler. On SIGTERM or SIGINT it stops accepting, asks h2o to
 * wind connections down, and waits for in-flight responses up to the grace
 * period. On SIGHUP (moontide dev's master sends it when a file changed) it
 * loads the app again: new requests run the new code, requests in flight
 * finish on the old, and connections stay open.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include "access_log.h"
#include "h2_deadline.h"
#include "json.h"
#include "lifecycle.h"
#include "log.h"
#include "refusals.h"
#include "redis.h"
#include "timers.h"
#include "worker.h"

static volatile sig_atomic_t stop_requested, reload_requested;
static mt_handler_t *serving; /* for the SIGUSR1 handler */
static mt_worker_t worker;    /* this process's */

/* --max-connections: past it the listener rests until a connection closes (the kernel's backlog holds the rest) */
static struct {
    h2o_socket_t *listener;
    size_t open, max;
    int resting;
} connections;

static void on_stop_signal(int signo)
{
    (void)signo;
    stop_requested = 1;
}

static void on_reload_signal(int signo)
{
    (void)signo;
    reload_requested = 1;
}

/* The master: the running handler is past --timeout */
static void on_interrupt_signal(int signo)
{
    (void)signo;
    if (serving != NULL)
        mt_handler_interrupt(serving);
}

/* A new generation of the app for new requests; one that fails to load leaves the old one serving. */
static void reload(mt_handler_t *handler, const mt_options_t *opts)
{
    reload_requested = 0;
    mt_problems_t problems;
    mt_app_t *app = mt_app_load(opts->app_path, &problems);
    if (app == NULL) {
        for (size_t i = 0; i != problems.count; i++)
            mt_log_error("reload failed, the previous code keeps serving: %s", problems.lines[i]);
        mt_problems_free(&problems);
        return;
    }
    if (mt_lifecycle_startup(app) != 0) {
        mt_log_error("reload failed (on_startup), the previous code keeps serving");
        mt_app_free(app); /* runs its on_shutdown functions: they may undo what startup did */
        return;
    }
    mt_handler_set_app(handler, app);
    mt_log_debug("reloaded %s", app->path);
}

static void on_accept(h2o_socket_t *listener, const char *err);

static void on_connection_closed(void *data)
{
    (void)data;
    connections.open--;
    if (connections.resting && !stop_requested && connections.listener != NULL) {
        connections.resting = 0;
        h2o_socket_read_start(connections.listener, on_accept);
        mt_log_info("%zu connection(s) open: accepting again", connections.open);
    }
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    if (err != NULL)
        return;
    /* one connection per wake-up leaves the next to a sibling that is idle */
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (sock == NULL)
        return;
    connections.open++;
    sock->on_close.cb = on_connection_closed;
    h2o_accept(&worker.accept_ctx, sock);
    if (connections.open >= connections.max && !connections.resting) {
        connections.resting = 1;
        h2o_socket_read_stop(listener);
        mt_log_warn("%zu connections open (--max-connections): not accepting more until one closes",
                    connections.open);
    }
}

static int has_connections(h2o_context_t *ctx)
{
    return !h2o_linklist_is_empty(&ctx->http1._conns) || !h2o_linklist_is_empty(&ctx->http2._conns);
}

int mt_worker_setup(mt_worker_t *w, const mt_worker_config_t *config)
{
    const mt_options_t *opts = config->opts;
    mt_json_use_region();
    h2o_config_init(&w->globalconf);
    /* h2o 2.2.5 writes its Server header with a second sprintf per HTTP/1.1 response; filters.c adds ours as a header */
    w->globalconf.server_name = h2o_iovec_init(H2O_STRLIT(""));
    w->globalconf.max_request_entity_size = opts->max_body;
    /* slow clients: HTTP/1 has this long for a whole request (head and body) and to idle between requests */
    w->globalconf.http1.req_timeout = (uint64_t)(opts->client_timeout * 1000);
    w->globalconf.http2.idle_timeout = (uint64_t)(opts->client_timeout * 1000);
    h2o_hostconf_t *hostconf = h2o_config_register_host(&w->globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pathconf = h2o_config_register_path(hostconf, "/", 0);
    mt_request_limits_t limits = {opts->max_url, (size_t)opts->max_headers, opts->max_header_size};
    w->handler = mt_handler_register(pathconf, config->app, config->busy, (uint64_t)(opts->timeout * 1000), opts->dev,
                                     &limits);
    if (config->access_log_fd >= 0)
        mt_access_log_register(pathconf, config->access_log_fd);

    h2o_evloop_t *loop = h2o_evloop_create();
    h2o_context_init(&w->ctx, loop, &w->globalconf);
    w->accept_ctx = (h2o_accept_ctx_t){.ctx = &w->ctx, .hosts = w->globalconf.hosts, .ssl_ctx = config->ssl_ctx};
    return mt_timers_init(loop);
}

int mt_worker_run(const mt_worker_config_t *config)
{
    const mt_options_t *opts = config->opts;

    struct sigaction sa = {.sa_handler = on_stop_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    struct sigaction reload_sa = {.sa_handler = on_reload_signal};
    sigemptyset(&reload_sa.sa_mask);
    sigaction(SIGHUP, &reload_sa, NULL);
    struct sigaction interrupt_sa = {.sa_handler = on_interrupt_signal};
    sigemptyset(&interrupt_sa.sa_mask);
    sigaction(SIGUSR1, &interrupt_sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (mt_worker_setup(&worker, config) != 0) {
        mt_log_error("cannot create the worker's timer: %s", strerror(errno));
        return 1;
    }
    mt_handler_t *handler = worker.handler;
    h2o_context_t *ctx = &worker.ctx;
    h2o_evloop_t *loop = ctx->loop;
    serving = handler;
    mt_redis_worker_start(loop); /* --redis: this worker's connection */
    /* the app's on_startup functions run before this worker takes its first connection */
    if (mt_lifecycle_startup(config->app) != 0) {
        mt_log_error("on_startup failed: this worker stops, and the server with it");
        mt_lifecycle_shutdown(config->app);
        return MT_EXIT_STARTUP_FAILED;
    }
    h2o_socket_t *listener = h2o_evloop_socket_create(loop, config->listen_fd, H2O_SOCKET_FLAG_DONT_READ);
    mt_h2_deadline_start(ctx, (uint64_t)(opts->client_timeout * 1000));
    mt_refusals_start(ctx);
    connections.listener = listener;
    connections.max = (size_t)opts->max_connections;
    h2o_socket_read_start(listener, on_accept);

    /* a signal interrupts the wait; the bound only covers one arriving just before it */
    while (!stop_requested) {
        h2o_evloop_run(loop, 1000);
        if (reload_requested)
            reload(handler, opts);
    }

    h2o_socket_read_stop(listener);
    h2o_socket_close(listener);
    connections.listener = NULL;
    mt_h2_deadline_stop();
    mt_refusals_stop();
    h2o_context_request_shutdown(ctx);
    /* h2o 2.2.5 has no shutdown hook for HTTP/1: let idle keep-alive connections time out now */
    ctx->http1.req_timeout.timeout = 100;
    uint64_t deadline = mt_now_ms() + (uint64_t)(opts->grace * 1000);
    while (has_connections(ctx) && mt_now_ms() < deadline)
        h2o_evloop_run(loop, 100);
    if (has_connections(ctx))
        mt_log_warn("grace period over; closing connections still open");
    mt_lifecycle_shutdown(handler->app);
    return 0;
}

/*
 * moontide's entry point: parse the command line, load the app (so a broken
 * app fails before anything listens), open the listener, then hand over to
 * the master, which forks the workers.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "access_log.h"
#include "listener.h"
#include "log.h"
#include "master.h"
#include "options.h"

static int fail(const char *reason)
{
    fprintf(stderr, "moontide: error: %s\n", reason);
    return 1;
}

static int run(const mt_options_t *opts)
{
    char err[1024];
    int status = 1;
    mt_worker_config_t config = {.opts = opts, .listen_fd = -1, .access_log_fd = -1};

    if ((config.app = mt_app_load(opts->app_path, err, sizeof(err))) == NULL)
        goto fail;
    if (opts->tls_cert != NULL && (config.ssl_ctx = mt_listener_tls(opts->tls_cert, opts->tls_key, err, sizeof(err))) == NULL)
        goto fail;
    if (opts->access_log != NULL && (config.access_log_fd = mt_access_log_open(opts->access_log, err, sizeof(err))) < 0)
        goto fail;
    if ((config.listen_fd = mt_listener_open(opts->host, opts->port, err, sizeof(err))) < 0)
        goto fail;

    int port = mt_listener_port(config.listen_fd);
    int ipv6 = strchr(opts->host, ':') != NULL;
    mt_log_info("serving %s on %s://%s%s%s:%d with %d worker(s)", config.app->path, config.ssl_ctx ? "https" : "http",
                ipv6 ? "[" : "", opts->host, ipv6 ? "]" : "", port, opts->workers);
    status = mt_master_run(&config);
    goto cleanup;

fail:
    fprintf(stderr, "moontide: error: %s\n", err);
cleanup:
    if (config.listen_fd >= 0)
        close(config.listen_fd);
    if (config.access_log_fd > STDERR_FILENO)
        close(config.access_log_fd);
    SSL_CTX_free(config.ssl_ctx);
    mt_app_free(config.app);
    return status;
}

int main(int argc, char **argv)
{
    mt_options_t opts;
    char err[512];
    signal(SIGPIPE, SIG_IGN);
    if (mt_options_parse(&opts, argc, argv, err, sizeof(err)) != 0)
        return fail(err);
    if (opts.show_help) {
        mt_options_usage(stdout);
        return 0;
    }
    if (opts.show_version) {
        printf("moontide %s\n", MT_VERSION);
        return 0;
    }
    mt_log_level = opts.log_level;
    return run(&opts);
}

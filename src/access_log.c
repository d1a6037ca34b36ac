/*
 * Access log writer. h2o's own access-log handler can only open paths, which
 * loses the shared offset of an inherited stdout; this one writes to any
 * descriptor the master opened.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "access_log.h"
#include "request_id.h"

#define ACCESS_LOG_FORMAT "%{%Y-%m-%dT%H:%M:%S%z}t %h %m %U%q %H %s %b %{duration}x %{x-request-id}i"

typedef struct st_mt_access_logger_t {
    h2o_logger_t super;
    h2o_logconf_t *logconf;
    int fd;
} mt_access_logger_t;

int mt_access_log_open(const char *target, char *err, size_t errsize)
{
    if (strcmp(target, "-") == 0)
        return STDOUT_FILENO;
    int fd = open(target, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        snprintf(err, errsize, "--access-log: cannot open %s: %s", target, strerror(errno));
    return fd;
}

static void log_access(h2o_logger_t *super, h2o_req_t *req)
{
    mt_access_logger_t *self = (mt_access_logger_t *)super;
    char stack[4096];
    size_t len = sizeof(stack);
    mt_request_id_assign(req); /* the line names it: made now if nothing needed it before */
    char *line = h2o_log_request(self->logconf, req, &len, stack); /* ends with '\n' */
    ssize_t ignored = write(self->fd, line, len);
    (void)ignored;
    if (line != stack)
        free(line);
}

void mt_access_log_register(h2o_pathconf_t *pathconf, int fd)
{
    char errbuf[256];
    mt_access_logger_t *self = (mt_access_logger_t *)h2o_create_logger(pathconf, sizeof(*self));
    self->super.log_access = log_access;
    self->logconf = h2o_logconf_compile(ACCESS_LOG_FORMAT, H2O_LOGCONF_ESCAPE_APACHE, errbuf);
    self->fd = fd;
}

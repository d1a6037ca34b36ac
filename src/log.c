/*
 * Server log. Lines are written with one write(2) each so that lines from
 * several worker processes sharing stderr never interleave.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "log.h"

int mt_log_level = MT_LOG_INFO;
static const char *log_role = "master";
static const char *level_names[] = {"debug", "info", "warn", "error"};

int mt_log_parse_level(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

void mt_log_set_role(const char *role)
{
    log_role = role;
}

void mt_log(int level, const char *fmt, ...)
{
    if (level < mt_log_level)
        return;
    char line[4096];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    size_t len = strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S ", &tm);
    len += snprintf(line + len, sizeof(line) - len, "[%s %d] %s: ", log_role, (int)getpid(), level_names[level]);
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(line + len, sizeof(line) - len, fmt, args);
    va_end(args);
    len = n < 0 ? len : len + (size_t)n;
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    ssize_t ignored = write(STDERR_FILENO, line, len);
    (void)ignored;
}

/*
 * Server log: one line per event on stderr, prefixed with the process role
 * and pid so that lines from the master and its workers can be told apart.
 */
#ifndef MT_LOG_H
#define MT_LOG_H

enum { MT_LOG_DEBUG, MT_LOG_INFO, MT_LOG_WARN, MT_LOG_ERROR };

extern int mt_log_level;

int mt_log_parse_level(const char *name);
void mt_log_set_role(const char *role);
void mt_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define mt_log_debug(...) (mt_log_level <= MT_LOG_DEBUG ? mt_log(MT_LOG_DEBUG, __VA_ARGS__) : (void)0)
#define mt_log_info(...) mt_log(MT_LOG_INFO, __VA_ARGS__)
#define mt_log_warn(...) mt_log(MT_LOG_WARN, __VA_ARGS__)
#define mt_log_error(...) mt_log(MT_LOG_ERROR, __VA_ARGS__)

#endif

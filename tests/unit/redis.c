/*
 * Unit tests for src/redis.c's pure parts: --redis URLs, and turning an
 * EVALSHA command into the EVAL sent after a NOSCRIPT answer.
 */
#include <string.h>
#include "redis.h"
#include "tap.h"

static void test_urls(void)
{
    mt_redis_url_t u;
    char err[512];
    ok(mt_redis_parse_url("redis://127.0.0.1", &u, err, sizeof(err)) == 0 && strcmp(u.host, "127.0.0.1") == 0 &&
           u.port == 6379 && u.db == 0 && u.password[0] == '\0',
       "host alone: port 6379, db 0, no password");
    ok(mt_redis_parse_url("redis://cache.internal:6380/3", &u, err, sizeof(err)) == 0 &&
           strcmp(u.host, "cache.internal") == 0 && u.port == 6380 && u.db == 3,
       "host, port and db");
    ok(mt_redis_parse_url("redis://:s%40cret@h:1/", &u, err, sizeof(err)) == 0 && strcmp(u.password, "s@cret") == 0 &&
           u.user[0] == '\0' && strcmp(u.host, "h") == 0 && u.port == 1 && u.db == 0,
       "a %%-encoded password, a trailing slash");
    ok(mt_redis_parse_url("redis://app:pw@h", &u, err, sizeof(err)) == 0 && strcmp(u.user, "app") == 0 &&
           strcmp(u.password, "pw") == 0,
       "an ACL user and password");
    ok(mt_redis_parse_url("redis://[::1]:7000", &u, err, sizeof(err)) == 0 && strcmp(u.host, "::1") == 0 &&
           u.port == 7000,
       "an IPv6 host in brackets");
    static const char *const bad[] = {
        "http://h", "redis://", "redis://h:0", "redis://h:99999", "redis://h:x", "redis://h/db", "redis://h?x=1",
        "redis://pw@h", "redis://[::1", "redis://:%zz@h",
    };
    for (size_t i = 0; i != sizeof(bad) / sizeof(bad[0]); ++i) {
        err[0] = '\0';
        ok(mt_redis_parse_url(bad[i], &u, err, sizeof(err)) != 0 && strstr(err, bad[i]) != NULL, "refused: %s (%s)",
           bad[i], err);
    }
}

static void test_evalsha_to_eval(void)
{
    static const char sha[] = "0123456789012345678901234567890123456789";
    const char *argv[] = {"EVALSHA", sha, "1", "k", "a\r\nb"};
    char *cmd;
    int len = redisFormatCommandArgv(&cmd, 5, argv, NULL);
    mt_buf_t out = {0};
    ok(mt_redis_evalsha_to_eval(cmd, (size_t)len, "return 1", &out) == 0, "an EVALSHA converts");
    const char *want_argv[] = {"EVAL", "return 1", "1", "k", "a\r\nb"};
    char *want;
    int want_len = redisFormatCommandArgv(&want, 5, want_argv, NULL);
    ok(out.len == (size_t)want_len && memcmp(out.data, want, out.len) == 0,
       "into what hiredis formats for EVAL with the script");
    redisFreeCommand(cmd);
    redisFreeCommand(want);
    const char *get_argv[] = {"GET", "k"};
    len = redisFormatCommandArgv(&cmd, 2, get_argv, NULL);
    ok(mt_redis_evalsha_to_eval(cmd, (size_t)len, "return 1", &out) != 0, "anything else is refused");
    redisFreeCommand(cmd);
    mt_buf_free(&out);
}

int main(void)
{
    test_urls();
    test_evalsha_to_eval();
    return tap_done();
}

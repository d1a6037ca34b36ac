/*
 * A Redis client on the worker's event loop (--redis URL): one pipelined
 * connection per worker, hiredis for the protocol, h2o's sockets for the I/O.
 * shared_redis.c builds moontide.shared dicts and the rate limiter on it.
 */
#ifndef MT_REDIS_H
#define MT_REDIS_H

#include <stddef.h>
#include <stdint.h>
#include <h2o.h>
#include <hiredis/hiredis.h>
#include "buf.h"

#define MT_REDIS_TIMEOUT_MS 1000 /* a command (or a connect) without an answer by then drops the connection */

typedef struct st_mt_redis_url_t {
    char host[256];
    uint16_t port;
    int db;
    char user[128], password[256]; /* empty: none (AUTH password, or AUTH user password with a user) */
} mt_redis_url_t;

/* redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]; 0, or -1 with a one-line reason in err. */
int mt_redis_parse_url(const char *text, mt_redis_url_t *url, char *err, size_t errsize);

/* Parses the URL and resolves its host (before the workers fork). 0, or -1 with a reason in err. */
int mt_redis_configure(const char *text, char *err, size_t errsize);
/* Whether --redis was given. */
int mt_redis_enabled(void);
/* "HOST:PORT", for messages. */
const char *mt_redis_address(void);

/* Starts this worker's connection on its loop (timers.c must be set up). */
void mt_redis_worker_start(h2o_loop_t *loop);

/*
 * A command waiting for its reply. cb gets the reply (freed after cb returns; an error reply is a reply) or, when
 * there is none (connection lost, timed out), NULL and a message; it is never called before mt_redis_command returns.
 */
typedef void (*mt_redis_cb)(void *data, redisReply *reply, const char *err);
typedef struct st_mt_redis_cmd_t mt_redis_cmd_t;

/* A script run with EVALSHA; loaded once per connection, sent again with EVAL when Redis answers NOSCRIPT. */
typedef struct st_mt_redis_script_t {
    const char *source;
    char sha1[41];      /* computed on first use */
    uint64_t loaded_on; /* the connection it was last loaded on */
} mt_redis_script_t;

/*
 * Sends a command (script: EVALSHA sha1 argv...; argv then starts with numkeys). Returns it, or NULL with *err set
 * when Redis is down (fail fast: no waiting for a reconnect).
 */
mt_redis_cmd_t *mt_redis_command(mt_redis_script_t *script, int argc, const char **argv, const size_t *lens,
                                 mt_redis_cb cb, void *data, const char **err);

/* cb will not be called; the reply, when it comes, is dropped. */
void mt_redis_cancel(mt_redis_cmd_t *cmd);

/*
 * The EVAL form of a formatted EVALSHA command (the same arguments after the SHA1) into out. 0, or -1 when cmd is
 * not an EVALSHA or out of memory.
 */
int mt_redis_evalsha_to_eval(const char *cmd, size_t len, const char *source, mt_buf_t *out);

#endif

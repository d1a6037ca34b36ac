/*
 * The worker's Redis connection (--redis URL). Each worker process keeps one
 * TCP connection to Redis on its own event loop and pipelines every command
 * its handlers send over it: replies come back in the order the commands
 * went out, so the commands waiting for a reply are a FIFO whose head the
 * next reply belongs to. hiredis formats the commands and parses the
 * replies (redisFormatCommandArgv, a redisReader); the I/O is h2o's, since
 * h2o's evloop reads a socket itself before it calls the read callback,
 * which rules out hiredis's own async adapters.
 *
 * The connection is opened when the worker starts. While it connects,
 * commands queue behind the setup (AUTH, SELECT). When it fails — refused,
 * closed, or a command (or the connect) unanswered for MT_REDIS_TIMEOUT_MS —
 * every waiting command gets an error, and the connection is tried again
 * after a backoff (100 ms doubling to 2 s); meanwhile a new command fails at
 * once instead of waiting for Redis to come back. A caller that stops
 * waiting (its request is gone) cancels its command: the reply is still read,
 * to keep the FIFO in step, and dropped.
 *
 * Scripts run with EVALSHA: each is sent with SCRIPT LOAD the first time it
 * is used on a connection, pipelined just before, and a NOSCRIPT answer
 * (someone ran SCRIPT FLUSH) sends the same command again as EVAL.
 */
#define _GNU_SOURCE /* memrchr */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "handler.h"
#include "log.h"
#include "redis.h"
#include "timers.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000

struct st_mt_redis_cmd_t {
    mt_redis_cmd_t *next;
    mt_redis_cb cb; /* NULL once cancelled */
    void *data;
    uint64_t sent_ms;
    mt_redis_script_t *script; /* an EVALSHA: its formatted command is kept for a NOSCRIPT retry */
    char *evalsha;
    size_t evalsha_len;
};

enum { DOWN, CONNECTING, UP };

/* Each worker's own (workers are processes). */
static struct {
    int configured;
    mt_redis_url_t url;
    char address[300]; /* HOST:PORT */
    struct sockaddr_storage addr;
    socklen_t addrlen;

    h2o_loop_t *loop;
    int state;
    uint64_t conn_id; /* counts connections: scripts remember which one they were loaded on */
    h2o_socket_t *sock;
    redisReader *reader;
    mt_redis_cmd_t *head, **tail; /* waiting for a reply, in the order sent */
    mt_buf_t out, writing;        /* to write next; being written (h2o allows one write at a time) */
    mt_timer_t timer;             /* DOWN: the reconnect; CONNECTING: the connect's timeout; UP: the head's */
    uint64_t backoff_ms;
    char error[640];              /* why it is down */
    int failed;                   /* the last attempt failed (logged once until it works again) */
} redis = {.tail = &redis.head};

/* --- configuration -------------------------------------------------------------------------------------------- */

static int pct_decode(const char *s, size_t len, char *out, size_t outsize)
{
    size_t n = 0;
    for (size_t i = 0; i < len; ++i) {
        char c = s[i];
        if (c == '%') {
            unsigned v;
            if (i + 2 >= len || !isxdigit((unsigned char)s[i + 1]) || !isxdigit((unsigned char)s[i + 2]) ||
                sscanf(s + i + 1, "%2x", &v) != 1)
                return -1;
            c = (char)v, i += 2;
        }
        if (n + 1 >= outsize)
            return -1;
        out[n++] = c;
    }
    out[n] = '\0';
    return 0;
}

int mt_redis_parse_url(const char *text, mt_redis_url_t *url, char *err, size_t errsize)
{
    *url = (mt_redis_url_t){.port = 6379};
    if (strncmp(text, "redis://", 8) != 0)
        return snprintf(err, errsize, "'%s' is not a redis://HOST[:PORT][/DB] URL", text), -1;
    const char *p = text + 8, *end = p + strcspn(p, "/?#");
    const char *at = memrchr(p, '@', (size_t)(end - p));
    if (at != NULL) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon == NULL)
            return snprintf(err, errsize, "'%s': write the password as redis://:PASSWORD@HOST", text), -1;
        if (pct_decode(p, (size_t)(colon - p), url->user, sizeof(url->user)) != 0 ||
            pct_decode(colon + 1, (size_t)(at - colon - 1), url->password, sizeof(url->password)) != 0)
            return snprintf(err, errsize, "'%s': the user or password is too long or badly %%-encoded", text), -1;
        p = at + 1;
    }
    const char *host_end = end;
    if (*p == '[') { /* [IPv6] */
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (close == NULL)
            return snprintf(err, errsize, "'%s': unclosed '[' in the host", text), -1;
        if ((size_t)(close - p - 1) >= sizeof(url->host))
            return snprintf(err, errsize, "'%s': the host is too long", text), -1;
        memcpy(url->host, p + 1, (size_t)(close - p - 1));
        url->host[close - p - 1] = '\0';
        host_end = close + 1;
        if (host_end != end && *host_end != ':')
            return snprintf(err, errsize, "'%s': expected ':PORT' after the host", text), -1;
    } else {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        if (colon != NULL)
            host_end = colon;
        if ((size_t)(host_end - p) >= sizeof(url->host))
            return snprintf(err, errsize, "'%s': the host is too long", text), -1;
        memcpy(url->host, p, (size_t)(host_end - p));
        url->host[host_end - p] = '\0';
    }
    if (url->host[0] == '\0')
        return snprintf(err, errsize, "'%s' names no host", text), -1;
    if (host_end != end) { /* :PORT */
        char *stop;
        long port = strtol(host_end + 1, &stop, 10);
        if (stop == host_end + 1 || stop != end || port < 1 || port > 65535)
            return snprintf(err, errsize, "'%s': the port must be a number from 1 to 65535", text), -1;
        url->port = (uint16_t)port;
    }
    if (*end == '/' && end[1] != '\0') {
        char *stop;
        long db = strtol(end + 1, &stop, 10);
        if (stop == end + 1 || *stop != '\0' || db < 0 || db > 1000000)
            return snprintf(err, errsize, "'%s': the database must be a number (redis://HOST:PORT/0)", text), -1;
        url->db = (int)db;
    } else if (*end != '\0' && strcmp(end, "/") != 0) {
        return snprintf(err, errsize, "'%s': query strings and fragments are not supported", text), -1;
    }
    return 0;
}

int mt_redis_configure(const char *text, char *err, size_t errsize)
{
    char reason[256];
    if (mt_redis_parse_url(text, &redis.url, reason, sizeof(reason)) != 0)
        return snprintf(err, errsize, "--redis: %s", reason), -1;
    char port[8];
    snprintf(port, sizeof(port), "%u", redis.url.port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    int rc = getaddrinfo(redis.url.host, port, &hints, &res);
    if (rc != 0)
        return snprintf(err, errsize, "--redis: cannot resolve '%s': %s", redis.url.host, gai_strerror(rc)), -1;
    memcpy(&redis.addr, res->ai_addr, res->ai_addrlen);
    redis.addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    snprintf(redis.address, sizeof(redis.address), strchr(redis.url.host, ':') ? "[%s]:%u" : "%s:%u", redis.url.host,
             redis.url.port);
    redis.configured = 1;
    return 0;
}

int mt_redis_enabled(void)
{
    return redis.configured;
}

const char *mt_redis_address(void)
{
    return redis.address;
}

/* --- the connection ----------------------------------------------------------------------------------------------- */

static void connect_now(void);
static void connection_lost(const char *reason);
static void flush(void);

static void cmd_free(mt_redis_cmd_t *cmd)
{
    free(cmd->evalsha);
    free(cmd);
}

static void on_timer(mt_timer_t *timer)
{
    (void)timer;
    switch (redis.state) {
    case DOWN: connect_now(); break;
    case CONNECTING: /* fall through: either way the connection is given up */
    case UP: {
        char reason[64];
        snprintf(reason, sizeof(reason), "no answer within %g s", MT_REDIS_TIMEOUT_MS / 1000.0);
        connection_lost(reason);
        break;
    }
    }
}

/* The timeout of the oldest command still waiting (or of the connect). */
static void arm_timeout(void)
{
    uint64_t since = redis.head != NULL ? redis.head->sent_ms : 0;
    if (redis.state == UP && redis.head == NULL) {
        mt_timer_stop(&redis.timer);
        return;
    }
    if (redis.state == CONNECTING && redis.head == NULL)
        return; /* the connect's own timeout is armed */
    uint64_t now = mt_now_ms(), due = since + MT_REDIS_TIMEOUT_MS;
    mt_timer_start(&redis.timer, due > now ? due - now : 0, on_timer);
}

/* Every waiting command fails with `reason`; the connection is closed and tried again after the backoff. */
static void connection_lost(const char *reason)
{
    if (redis.sock != NULL) {
        h2o_socket_close(redis.sock); /* a write in flight is dropped with it */
        redis.sock = NULL;
    }
    if (redis.reader != NULL) {
        redisReaderFree(redis.reader);
        redis.reader = NULL;
    }
    redis.state = DOWN;
    redis.out.len = redis.writing.len = 0;
    snprintf(redis.error, sizeof(redis.error), "Redis at %s is unavailable (%s)", redis.address, reason);
    if (!redis.failed)
        mt_log_warn("redis: %s; trying again from time to time (%d ms to %d ms apart)", redis.error, BACKOFF_MIN_MS,
                    BACKOFF_MAX_MS);
    redis.failed = 1;
    redis.backoff_ms = redis.backoff_ms == 0 ? BACKOFF_MIN_MS
                                             : redis.backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : redis.backoff_ms * 2;
    mt_timer_start(&redis.timer, redis.backoff_ms, on_timer);
    /* taken off the connection first: a callback may send a new command (which fails at once now) */
    mt_redis_cmd_t *cmd = redis.head;
    redis.head = NULL;
    redis.tail = &redis.head;
    while (cmd != NULL) {
        mt_redis_cmd_t *next = cmd->next;
        if (cmd->cb != NULL)
            cmd->cb(cmd->data, NULL, redis.error);
        cmd_free(cmd);
        cmd = next;
    }
}

static void on_write(h2o_socket_t *sock, const char *err)
{
    (void)sock;
    redis.writing.len = 0;
    if (err != NULL) {
        connection_lost(err);
        return;
    }
    flush();
}

static void flush(void)
{
    if (redis.state != UP || redis.writing.len != 0 || redis.out.len == 0)
        return;
    mt_buf_t tmp = redis.writing;
    redis.writing = redis.out;
    redis.out = tmp;
    h2o_iovec_t buf = h2o_iovec_init(redis.writing.data, redis.writing.len);
    h2o_socket_write(redis.sock, &buf, 1, on_write);
}

/* Queues a formatted command (the caller's bytes are copied). */
static int enqueue(mt_redis_cmd_t *cmd, const char *bytes, size_t len)
{
    if (mt_buf_append(&redis.out, bytes, len) != 0)
        return -1;
    cmd->next = NULL;
    cmd->sent_ms = mt_now_ms();
    *redis.tail = cmd;
    redis.tail = &cmd->next;
    if (redis.head == cmd)
        arm_timeout();
    flush();
    return 0;
}

static void on_setup_reply(void *data, redisReply *reply, const char *err)
{
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
        mt_log_error("redis: %s at %s failed: %s", (const char *)data, redis.address, reply->str);
    (void)err;
}

/* An internal command whose reply only matters when it is an error (logged). */
static void send_setup(const char *what, int argc, const char **argv)
{
    char *formatted;
    int len = redisFormatCommandArgv(&formatted, argc, argv, NULL);
    mt_redis_cmd_t *cmd = calloc(1, sizeof(*cmd));
    if (len < 0 || cmd == NULL || (*cmd = (mt_redis_cmd_t){.cb = on_setup_reply, .data = (void *)what},
                                   enqueue(cmd, formatted, (size_t)len) != 0))
        free(cmd);
    if (len >= 0)
        redisFreeCommand(formatted);
}

static void on_read(h2o_socket_t *sock, const char *err)
{
    if (err != NULL) {
        connection_lost(err == h2o_socket_error_closed ? "it closed the connection" : err);
        return;
    }
    if (redisReaderFeed(redis.reader, sock->input->bytes, sock->input->size) != REDIS_OK) {
        connection_lost("out of memory");
        return;
    }
    h2o_buffer_consume(&sock->input, sock->input->size);
    uint64_t conn_id = redis.conn_id;
    for (;;) {
        void *reply;
        if (redisReaderGetReply(redis.reader, &reply) != REDIS_OK) {
            char reason[160];
            snprintf(reason, sizeof(reason), "bad reply: %s", redis.reader->errstr);
            connection_lost(reason);
            return;
        }
        if (reply == NULL)
            break;
        mt_redis_cmd_t *cmd = redis.head;
        if (cmd == NULL) {
            freeReplyObject(reply);
            connection_lost("a reply to no command");
            return;
        }
        if ((redis.head = cmd->next) == NULL)
            redis.tail = &redis.head;
        redisReply *r = reply;
        mt_buf_t eval = {0};
        if (r->type == REDIS_REPLY_ERROR && cmd->script != NULL && strncmp(r->str, "NOSCRIPT", 8) == 0 &&
            mt_redis_evalsha_to_eval(cmd->evalsha, cmd->evalsha_len, cmd->script->source, &eval) == 0) {
            /* the script cache was flushed: the same command once more, with the script's text */
            free(cmd->evalsha);
            cmd->evalsha = NULL;
            cmd->script = NULL;
            int rc = enqueue(cmd, eval.data, eval.len);
            mt_buf_free(&eval);
            freeReplyObject(reply);
            if (rc == 0)
                continue;
            cmd->next = NULL;
            if (cmd->cb != NULL)
                cmd->cb(cmd->data, NULL, "out of memory");
            cmd_free(cmd);
        } else {
            mt_buf_free(&eval);
            if (cmd->cb != NULL)
                cmd->cb(cmd->data, r, NULL); /* may send commands, or resume a handler that does */
            freeReplyObject(reply);
            cmd_free(cmd);
        }
        if (redis.conn_id != conn_id || redis.state != UP)
            return; /* a callback's doing ended this connection */
        arm_timeout();
    }
}

static void on_connect(h2o_socket_t *sock, const char *err)
{
    if (err != NULL) {
        connection_lost(err == h2o_socket_error_conn_fail ? "connection refused or unreachable" : err);
        return;
    }
    if ((redis.reader = redisReaderCreate()) == NULL) {
        connection_lost("out of memory");
        return;
    }
    redis.state = UP;
    redis.backoff_ms = 0;
    if (redis.failed)
        mt_log_info("redis: connected to %s again", redis.address);
    redis.failed = 0;
    h2o_socket_read_start(sock, on_read);
    arm_timeout();
    flush();
}

static void connect_now(void)
{
    int fd = socket(redis.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;
    if (fd < 0 || (connect(fd, (struct sockaddr *)&redis.addr, redis.addrlen) != 0 && errno != EINPROGRESS)) {
        char reason[128];
        snprintf(reason, sizeof(reason), "connect: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        connection_lost(reason);
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* small commands, each awaited */
    redis.sock = h2o_evloop_socket_create(redis.loop, fd, H2O_SOCKET_FLAG_IS_CONNECTING);
    redis.state = CONNECTING;
    ++redis.conn_id;
    h2o_socket_notify_write(redis.sock, on_connect);
    mt_timer_start(&redis.timer, MT_REDIS_TIMEOUT_MS, on_timer);
    /* pipelined ahead of anything a handler sends */
    if (redis.url.password[0] != '\0') {
        if (redis.url.user[0] != '\0')
            send_setup("AUTH", 3, (const char *[]){"AUTH", redis.url.user, redis.url.password});
        else
            send_setup("AUTH", 2, (const char *[]){"AUTH", redis.url.password});
    }
    if (redis.url.db != 0) {
        char db[16];
        snprintf(db, sizeof(db), "%d", redis.url.db);
        send_setup("SELECT", 2, (const char *[]){"SELECT", db});
    }
}

void mt_redis_worker_start(h2o_loop_t *loop)
{
    if (!redis.configured)
        return;
    redis.loop = loop;
    connect_now();
}

/* --- commands ----------------------------------------------------------------------------------------------------- */

static void script_sha1(mt_redis_script_t *script)
{
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)script->source, strlen(script->source), md);
    for (int i = 0; i != SHA_DIGEST_LENGTH; ++i)
        snprintf(script->sha1 + i * 2, 3, "%02x", md[i]);
}

mt_redis_cmd_t *mt_redis_command(mt_redis_script_t *script, int argc, const char **argv, const size_t *lens,
                                 mt_redis_cb cb, void *data, const char **err)
{
    if (!redis.configured || redis.loop == NULL) {
        *err = "the server was started without --redis";
        return NULL;
    }
    if (redis.state == DOWN) {
        *err = redis.error;
        return NULL;
    }
    if (script != NULL && script->loaded_on != redis.conn_id) {
        if (script->sha1[0] == '\0')
            script_sha1(script);
        send_setup("SCRIPT LOAD", 3, (const char *[]){"SCRIPT", "LOAD", script->source});
        script->loaded_on = redis.conn_id;
    }
    /* EVALSHA sha1 goes in front of the caller's arguments */
    const char *all_argv[argc + 2];
    size_t all_lens[argc + 2];
    int n = 0;
    if (script != NULL) {
        all_argv[n] = "EVALSHA", all_lens[n++] = 7;
        all_argv[n] = script->sha1, all_lens[n++] = 40;
    }
    for (int i = 0; i != argc; ++i)
        all_argv[n] = argv[i], all_lens[n++] = lens[i];
    char *formatted;
    int len = redisFormatCommandArgv(&formatted, n, all_argv, all_lens);
    mt_redis_cmd_t *cmd = calloc(1, sizeof(*cmd));
    if (len < 0 || cmd == NULL) {
        free(cmd);
        if (len >= 0)
            redisFreeCommand(formatted);
        *err = "out of memory";
        return NULL;
    }
    *cmd = (mt_redis_cmd_t){.cb = cb, .data = data, .script = script};
    if (enqueue(cmd, formatted, (size_t)len) != 0) {
        cmd_free(cmd);
        redisFreeCommand(formatted);
        *err = "out of memory";
        return NULL;
    }
    if (script != NULL) { /* kept for a NOSCRIPT retry (hiredis formats with malloc) */
        cmd->evalsha = formatted;
        cmd->evalsha_len = (size_t)len;
    } else {
        redisFreeCommand(formatted);
    }
    return cmd;
}

void mt_redis_cancel(mt_redis_cmd_t *cmd)
{
    cmd->cb = NULL;
}

int mt_redis_evalsha_to_eval(const char *cmd, size_t len, const char *source, mt_buf_t *out)
{
    static const char evalsha[] = "$7\r\nEVALSHA\r\n$40\r\n";
    const char *nl = memchr(cmd, '\n', len);
    if (cmd[0] != '*' || nl == NULL)
        return -1;
    size_t count_len = (size_t)(nl + 1 - cmd), rest = count_len + sizeof(evalsha) - 1 + 40 + 2;
    if (len < rest || memcmp(nl + 1, evalsha, sizeof(evalsha) - 1) != 0)
        return -1;
    char head[32];
    size_t source_len = strlen(source);
    int head_len = snprintf(head, sizeof(head), "$4\r\nEVAL\r\n$%zu\r\n", source_len);
    out->len = 0;
    return mt_buf_append(out, cmd, count_len) | mt_buf_append(out, head, (size_t)head_len) |
                   mt_buf_append(out, source, source_len) | mt_buf_append(out, "\r\n", 2) |
                   mt_buf_append(out, cmd + rest, len - rest)
               ? -1
               : 0;
}

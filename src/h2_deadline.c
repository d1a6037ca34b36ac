/*
 * The HTTP/2 request deadline: a once-a-second sweep. See h2_deadline.h.
 *
 * h2o leaves an HTTP/2 stream's request_begin_at unset (2.2.5 sets it for
 * HTTP/1 only); the sweep sets it the first time it sees a stream still
 * receiving, which is when it starts counting (so a stream gets between the
 * timeout and the timeout plus one sweep).
 */
#include "h2_deadline.h"
#include "log.h"

#ifdef MT_HAVE_H2O_INTERNALS
#include <sys/time.h>
#include <h2o/http2.h>
#include <h2o/http2_internal.h>
#include "timers.h"

#define SWEEP_MS 1000
#define MAX_RESETS_PER_CONN 128 /* more waits for the next sweep */

static struct {
    h2o_context_t *ctx;
    uint64_t timeout_ms;
    mt_timer_t timer;
    int running;
} sweeper;

static int receiving(const h2o_http2_stream_t *stream)
{
    return stream->state == H2O_HTTP2_STREAM_STATE_RECV_HEADERS || stream->state == H2O_HTTP2_STREAM_STATE_RECV_BODY;
}

static int overdue(h2o_http2_stream_t *stream, const struct timeval *now)
{
    struct timeval *began = &stream->req.timestamps.request_begin_at;
    if (began->tv_sec == 0 && began->tv_usec == 0) {
        *began = *now;
        return 0;
    }
    int64_t ms = (int64_t)(now->tv_sec - began->tv_sec) * 1000 + (now->tv_usec - began->tv_usec) / 1000;
    return ms >= (int64_t)sweeper.timeout_ms;
}

static void sweep_conn(h2o_http2_conn_t *conn, const struct timeval *now)
{
    /* collected first: resetting a stream removes it from the table being walked */
    h2o_http2_stream_t *late[MAX_RESETS_PER_CONN], *stream;
    size_t n = 0;
    kh_foreach_value(conn->streams, stream, {
        if (n < MAX_RESETS_PER_CONN && receiving(stream) && overdue(stream, now))
            late[n++] = stream;
    });
    for (size_t i = 0; i != n; i++) {
        mt_log_info("reset HTTP/2 stream %u: its request took longer than --client-timeout %.3g s to arrive",
                    (unsigned)late[i]->stream_id, (double)sweeper.timeout_ms / 1000);
        h2o_http2_encode_rst_stream_frame(&conn->_write.buf, late[i]->stream_id, -H2O_HTTP2_ERROR_CANCEL);
        h2o_http2_stream_reset(conn, late[i]);
    }
    if (n != 0)
        h2o_http2_conn_request_write(conn);
}

static void on_sweep(mt_timer_t *timer)
{
    struct timeval now;
    gettimeofday(&now, NULL);
    h2o_linklist_t *conns = &sweeper.ctx->http2._conns;
    for (h2o_linklist_t *node = conns->next; node != conns; node = node->next) {
        h2o_http2_conn_t *conn = H2O_STRUCT_FROM_MEMBER(h2o_http2_conn_t, _conns, node);
        /* only open connections: one winding down closes itself when its last stream goes */
        if (conn->state == H2O_HTTP2_CONN_STATE_OPEN && kh_size(conn->streams) != 0)
            sweep_conn(conn, &now);
    }
    if (sweeper.running)
        mt_timer_start(timer, SWEEP_MS, on_sweep);
}

void mt_h2_deadline_start(h2o_context_t *ctx, uint64_t timeout_ms)
{
    sweeper.ctx = ctx;
    sweeper.timeout_ms = timeout_ms;
    sweeper.running = 1;
    mt_timer_start(&sweeper.timer, SWEEP_MS, on_sweep);
}

void mt_h2_deadline_stop(void)
{
    sweeper.running = 0;
    mt_timer_stop(&sweeper.timer);
}

#else /* built without static_deps: no khash.h for h2o's internal headers */

void mt_h2_deadline_start(h2o_context_t *ctx, uint64_t timeout_ms)
{
    (void)ctx;
    (void)timeout_ms;
    mt_log_debug("this build has no HTTP/2 request deadline (it needs the static_deps build option)");
}

void mt_h2_deadline_stop(void)
{
}

#endif

/*
 * A binary min-heap of armed timers, ordered by due time, and a timerfd set
 * to the earliest. The loop reads the timerfd when it fires; every timer due
 * by then runs, each removed from the heap before its callback, so a
 * callback may arm or stop any timer, itself included.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include "handler.h"
#include "log.h"
#include "timers.h"

static struct {
    mt_timer_t **heap;
    size_t count, capacity;
    int fd;
    h2o_socket_t *sock;
    uint64_t armed_for; /* the due time the timerfd is set to; 0: disarmed */
} timers = {.fd = -1};

static void place(size_t i, mt_timer_t *timer)
{
    timers.heap[i] = timer;
    timer->slot = i + 1;
}

static void sift_up(size_t i)
{
    mt_timer_t *timer = timers.heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (timers.heap[parent]->due_ms <= timer->due_ms)
            break;
        place(i, timers.heap[parent]);
        i = parent;
    }
    place(i, timer);
}

static void sift_down(size_t i)
{
    mt_timer_t *timer = timers.heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= timers.count)
            break;
        if (child + 1 < timers.count && timers.heap[child + 1]->due_ms < timers.heap[child]->due_ms)
            child++;
        if (timer->due_ms <= timers.heap[child]->due_ms)
            break;
        place(i, timers.heap[child]);
        i = child;
    }
    place(i, timer);
}

/* Points the timerfd at the earliest due time (or disarms it). */
static void rearm(void)
{
    uint64_t due = timers.count != 0 ? timers.heap[0]->due_ms : 0;
    if (due == timers.armed_for || timers.fd < 0)
        return;
    struct itimerspec spec = {{0, 0}, {0, 0}};
    if (due != 0) {
        spec.it_value.tv_sec = (time_t)(due / 1000);
        spec.it_value.tv_nsec = (long)(due % 1000) * 1000000;
    }
    if (timerfd_settime(timers.fd, TFD_TIMER_ABSTIME, &spec, NULL) != 0)
        mt_log_error("timerfd_settime: %s", strerror(errno));
    timers.armed_for = due;
}

static void heap_remove(mt_timer_t *timer)
{
    size_t i = timer->slot - 1;
    timer->slot = 0;
    mt_timer_t *last = timers.heap[--timers.count];
    if (i == timers.count)
        return;
    place(i, last);
    if (i > 0 && timers.heap[(i - 1) / 2]->due_ms > last->due_ms)
        sift_up(i);
    else
        sift_down(i);
}

void mt_timer_stop(mt_timer_t *timer)
{
    if (timer->slot == 0)
        return;
    heap_remove(timer);
    rearm();
}

void mt_timer_start(mt_timer_t *timer, uint64_t ms, mt_timer_cb cb)
{
    if (timer->slot != 0)
        heap_remove(timer);
    if (timers.count == timers.capacity) {
        size_t capacity = timers.capacity ? timers.capacity * 2 : 64;
        mt_timer_t **grown = realloc(timers.heap, capacity * sizeof(*grown));
        if (grown == NULL)
            h2o_fatal("out of memory growing the timer heap");
        timers.heap = grown;
        timers.capacity = capacity;
    }
    timer->cb = cb;
    timer->due_ms = mt_now_ms() + ms;
    timers.heap[timers.count] = timer;
    sift_up(timers.count++);
    rearm();
}

size_t mt_timers_armed(void)
{
    return timers.count;
}

static void on_timerfd(h2o_socket_t *sock, const char *err)
{
    if (err != NULL) {
        mt_log_error("the timer descriptor failed: %s", err);
        return;
    }
    h2o_buffer_consume(&sock->input, sock->input->size); /* the expiration count: not needed */
    timers.armed_for = 0;
    uint64_t now = mt_now_ms();
    while (timers.count != 0 && timers.heap[0]->due_ms <= now) {
        mt_timer_t *timer = timers.heap[0];
        heap_remove(timer);
        timer->cb(timer);
    }
    rearm();
}

int mt_timers_init(h2o_loop_t *loop)
{
    timers.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (timers.fd < 0)
        return -1;
    timers.sock = h2o_evloop_socket_create(loop, timers.fd, H2O_SOCKET_FLAG_DONT_READ);
    h2o_socket_read_start(timers.sock, on_timerfd);
    timers.armed_for = 0;
    rearm();
    return 0;
}

/*
 * Timers of any duration for one worker's event loop. h2o 2.2.5's timeouts
 * each have one fixed duration (an h2o_timeout_t per distinct value), which
 * does not fit moontide.sleep(seconds) or per-request deadlines; so the
 * worker keeps its own min-heap of deadlines and arms one timerfd, watched
 * by the loop like any socket, for the earliest.
 */
#ifndef MT_TIMERS_H
#define MT_TIMERS_H

#include <stddef.h>
#include <stdint.h>
#include <h2o.h>

typedef struct st_mt_timer_t mt_timer_t;
typedef void (*mt_timer_cb)(mt_timer_t *timer);

struct st_mt_timer_t {
    uint64_t due_ms; /* monotonic */
    size_t slot;     /* index in the heap + 1; 0 when not armed */
    mt_timer_cb cb;
};

/* Sets up the worker's timers on its loop. Returns 0, or -1 (errno set). */
int mt_timers_init(h2o_loop_t *loop);

/* Arms `timer` to call `cb` in `ms` milliseconds (re-arming one already armed). */
void mt_timer_start(mt_timer_t *timer, uint64_t ms, mt_timer_cb cb);

/* Disarms `timer`; harmless when it is not armed. */
void mt_timer_stop(mt_timer_t *timer);

static inline int mt_timer_is_armed(const mt_timer_t *timer)
{
    return timer->slot != 0;
}

/* Timers armed now (for tests and leak checks). */
size_t mt_timers_armed(void);

#endif

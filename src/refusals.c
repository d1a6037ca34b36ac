/*
 * Logging h2o's own refusals. See refusals.h.
 */
#include "log.h"
#include "refusals.h"
#include "timers.h"

#define LOOK_MS 1000

static const struct {
    int index;
    int status;
    const char *why;
} kinds[] = {
    {H2O_STATUS_ERROR_400, 400, "a malformed request body"},
    {H2O_STATUS_ERROR_413, 413, "a body over --max-body"},
    {H2O_STATUS_ERROR_417, 417, "an Expect header other than 100-continue"},
};

static struct {
    h2o_context_t *ctx;
    uint64_t seen[sizeof(kinds) / sizeof(kinds[0])];
    mt_timer_t timer;
    int running;
} refusals;

static void look(mt_timer_t *timer)
{
    for (size_t i = 0; i != sizeof(kinds) / sizeof(kinds[0]); i++) {
        uint64_t now = refusals.ctx->emitted_error_status[kinds[i].index];
        if (now != refusals.seen[i])
            mt_log_info("refused %llu request(s) with %d (%s)", (unsigned long long)(now - refusals.seen[i]),
                        kinds[i].status, kinds[i].why);
        refusals.seen[i] = now;
    }
    if (refusals.running)
        mt_timer_start(timer, LOOK_MS, look);
}

void mt_refusals_start(h2o_context_t *ctx)
{
    refusals.ctx = ctx;
    for (size_t i = 0; i != sizeof(kinds) / sizeof(kinds[0]); i++)
        refusals.seen[i] = ctx->emitted_error_status[kinds[i].index];
    refusals.running = 1;
    mt_timer_start(&refusals.timer, LOOK_MS, look);
}

void mt_refusals_stop(void)
{
    refusals.running = 0;
    look(&refusals.timer); /* what came in since the last look */
    mt_timer_stop(&refusals.timer);
}

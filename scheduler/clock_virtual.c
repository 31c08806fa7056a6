/* clock_virtual.c -- time is a number that jumps to the next timer.
 *
 * Nothing here sleeps or reads a real clock, so a run is a pure function of
 * its inputs: a simulated hour takes as long as its events take to process. */
#include "loop_internal.h"

static int virtual_init(rc_loop *loop)
{
    (void)loop;
    return 0;
}

static void virtual_fini(rc_loop *loop)
{
    (void)loop;
}

static void virtual_update(rc_loop *loop)
{
    (void)loop; /* time only moves in wait() */
}

static int virtual_wait(rc_loop *loop, rc_time deadline)
{
    /* With no timer nothing can ever happen on this clock: say so rather
     * than block, so a stuck simulation ends instead of hanging. */
    if (deadline == RC_TIME_NEVER) return 0;
    if (deadline > loop->now) loop->now = deadline;
    return 1;
}

static void virtual_wake(rc_loop *loop)
{
    (void)loop; /* never waits */
}

const rc_clock_backend rc_clock_virtual_backend = {
    "virtual", virtual_init, virtual_fini, virtual_update, virtual_wait, virtual_wake, NULL,
};

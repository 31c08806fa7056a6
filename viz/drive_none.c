/* drive_none.c -- a build without the simulator: the views only watch, so
 * there is never a simulation to step (live_opts.driver is NULL). */
#include <time.h>

#include "live.h"

double live_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void live_driver_init(live_driver *d, sim *s, double speed)
{
    (void)s;
    *d = (live_driver){.speed = speed};
}

int live_drive(live_driver *d)
{
    (void)d;
    return 0;
}

int live_step(live_driver *d)
{
    (void)d;
    return 0;
}

void live_pause(live_driver *d, bool paused)
{
    (void)d;
    (void)paused;
}

void live_set_speed(live_driver *d, double speed)
{
    (void)d;
    (void)speed;
}

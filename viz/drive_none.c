/* drive_none.c -- a build without the simulator: the views only watch, so
 * there is never a simulation to step (live_opts.driver is NULL). */
#include "live.h"

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

double live_wait_s(const live_driver *d)
{
    (void)d;
    return 0;
}

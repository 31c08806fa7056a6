/* drive.c -- stepping a simulation for a live view.  See live.h. */
#include "live.h"
#include "sim.h"

void live_driver_init(live_driver *d, sim *s, double speed)
{
    *d = (live_driver){.s = s, .speed = speed > 0 ? speed : 1};
    d->wall_anchor = live_wall();
    d->virt_anchor = s ? rc_to_seconds(rc_loop_now(sim_loop(s))) : 0;
}

static void finish(live_driver *d)
{
    d->over = true;
    d->outcome = sim_finish(d->s);
}

static void reanchor(live_driver *d)
{
    d->wall_anchor = live_wall();
    d->virt_anchor = rc_to_seconds(rc_loop_now(sim_loop(d->s)));
}

/* Run instant by instant while the next one is due by `limit` (only the
 * next one if `one`), so the clock never runs past the last thing that
 * happens: the time shown is that of the last event.  Then publish.  Returns
 * 0, or a negative RC_E* code. */
static int advance(live_driver *d, rc_time limit, bool one)
{
    rc_loop *loop = sim_loop(d->s);
    int rc;
    for (;;) {
        rc = sim_run_until(d->s, rc_loop_now(loop)); /* settle this instant */
        if (rc <= 0) break;
        rc_time next = rc_loop_next_timer(loop);
        if (next == RC_TIME_NEVER) {
            rc = 0;
            break;
        }
        if (next > limit) break;
        rc = sim_run_until(d->s, next);
        if (rc <= 0 || one) break;
    }
    if (rc < 0) return rc;
    if (rc == 0) finish(d);
    rc_shm_update(rc_shm_writer_of(sim_cue(d->s)));
    return 0;
}

int live_drive(live_driver *d)
{
    if (!d->s || d->over || d->paused) return 0;
    return advance(d, rc_seconds(d->virt_anchor + (live_wall() - d->wall_anchor) * d->speed),
                   false);
}

int live_step(live_driver *d)
{
    if (!d->s || d->over) return 0;
    int rc = advance(d, RC_TIME_NEVER, true);
    if (rc == 0) reanchor(d);
    return rc;
}

double live_wait_s(const live_driver *d)
{
    if (!d->s || d->over || d->paused) return 0;
    rc_time next = rc_loop_next_timer(sim_loop(d->s));
    if (next == RC_TIME_NEVER) return 0;
    double due = d->wall_anchor + (rc_to_seconds(next) - d->virt_anchor) / d->speed;
    double left = due - live_wall();
    return left > 0 ? left : 0;
}

void live_pause(live_driver *d, bool paused)
{
    if (!d->s || d->paused == paused) return;
    d->paused = paused;
    /* Virtual time stands still; the cue itself is not paused, so the run
     * stays the one the seed gives. */
    reanchor(d);
    rc_shm_set_flags(rc_shm_writer_of(sim_cue(d->s)), paused ? RC_SHM_PAUSED : 0,
                     paused ? 0 : RC_SHM_PAUSED);
}

void live_set_speed(live_driver *d, double speed)
{
    if (!d->s || speed <= 0) return;
    reanchor(d);
    d->speed = speed;
}

/* pace.c -- a simulation paced to the wall clock.  See pace.h. */
#include "pace.h"

static double wall_s(void)
{
    return rc_to_seconds(rc_monotonic_now());
}

void sim_pacer_init(sim_pacer *p, sim *s, double speed)
{
    *p = (sim_pacer){.s = s, .speed = speed > 0 ? speed : 1};
    p->wall_anchor = wall_s();
    p->virt_anchor = rc_to_seconds(rc_loop_now(sim_loop(s)));
}

static void reanchor(sim_pacer *p)
{
    p->wall_anchor = wall_s();
    p->virt_anchor = rc_to_seconds(rc_loop_now(sim_loop(p->s)));
}

/* Run instant by instant while the next one is due by `limit` (only the
 * next one if `one`), so the clock never runs past the last thing that
 * happens: the time shown is that of the last event.  Then publish.  Returns
 * 0, or a negative RC_E* code. */
static int advance(sim_pacer *p, rc_time limit, bool one)
{
    rc_loop *loop = sim_loop(p->s);
    int rc;
    for (;;) {
        rc = sim_run_until(p->s, rc_loop_now(loop)); /* settle this instant */
        if (rc <= 0) break;
        rc_time next = rc_loop_next_timer(loop);
        if (next == RC_TIME_NEVER) {
            rc = 0;
            break;
        }
        if (next > limit) break;
        rc = sim_run_until(p->s, next);
        if (rc <= 0 || one) break;
    }
    if (rc < 0) return rc;
    if (rc == 0) {
        p->over = true;
        p->outcome = sim_finish(p->s);
    }
    rc_shm_update(sim_shm(p->s));
    return 0;
}

int sim_pacer_drive(sim_pacer *p)
{
    if (p->over || p->paused) return 0;
    return advance(p, rc_seconds(p->virt_anchor + (wall_s() - p->wall_anchor) * p->speed), false);
}

int sim_pacer_step(sim_pacer *p)
{
    if (p->over) return 0;
    int rc = advance(p, RC_TIME_NEVER, true);
    if (rc == 0) reanchor(p);
    return rc;
}

double sim_pacer_wait_s(const sim_pacer *p)
{
    if (p->over || p->paused) return 0;
    rc_time next = rc_loop_next_timer(sim_loop(p->s));
    if (next == RC_TIME_NEVER) return 0;
    double due = p->wall_anchor + (rc_to_seconds(next) - p->virt_anchor) / p->speed;
    double left = due - wall_s();
    return left > 0 ? left : 0;
}

void sim_pacer_pause(sim_pacer *p, bool paused)
{
    if (p->paused == paused) return;
    p->paused = paused;
    reanchor(p);
    rc_shm_set_flags(sim_shm(p->s), paused ? RC_SHM_PAUSED : 0, paused ? 0 : RC_SHM_PAUSED);
}

void sim_pacer_set_speed(sim_pacer *p, double speed)
{
    if (speed <= 0) return;
    reanchor(p);
    p->speed = speed;
}

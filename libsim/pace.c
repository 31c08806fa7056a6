/* pace.c -- a simulation paced to the wall clock.  See pace.h. */
#include "pace.h"

static double wall_s(void)
{
    return rc_to_seconds(rc_monotonic_now());
}

static void reanchor(sim_pacer *p)
{
    p->wall_anchor = wall_s();
    p->virt_anchor = rc_to_seconds(p->r.now(p->r.run));
}

void sim_pacer_init_run(sim_pacer *p, const sim_pace_run *run, double speed)
{
    *p = (sim_pacer){.r = *run, .speed = speed > 0 ? speed : 1};
    reanchor(p);
}

/* ---- a sim ---- */

static rc_time sim_now(void *s)
{
    return rc_loop_now(sim_loop(s));
}

static rc_time sim_next(void *s)
{
    return rc_loop_next_timer(sim_loop(s));
}

/* Run instant by instant while the next one is due by `limit` (only the
 * next one if `one`), so the clock never runs past the last thing that
 * happens: the time shown is that of the last event.  Then publish. */
static int sim_advance(void *run, rc_time limit, bool one, int *outcome)
{
    sim *s = run;
    rc_loop *loop = sim_loop(s);
    int rc;
    for (;;) {
        rc = sim_run_until(s, rc_loop_now(loop)); /* settle this instant */
        if (rc <= 0) break;
        rc_time next = rc_loop_next_timer(loop);
        if (next == RC_TIME_NEVER) {
            rc = 0;
            break;
        }
        if (next > limit) break;
        rc = sim_run_until(s, next);
        if (rc <= 0 || one) break;
    }
    if (rc < 0) return rc;
    if (rc == 0) *outcome = sim_finish(s);
    rc_shm_update(sim_shm(s));
    return rc;
}

static rc_shm_writer *sim_writer(void *s)
{
    return sim_shm(s);
}

void sim_pacer_init(sim_pacer *p, sim *s, double speed)
{
    sim_pacer_init_run(p, &(sim_pace_run){s, sim_now, sim_next, sim_advance, sim_writer}, speed);
}

/* ---- pacing ---- */

static int advance(sim_pacer *p, rc_time limit, bool one)
{
    int rc = p->r.advance(p->r.run, limit, one, &p->outcome);
    if (rc < 0) return rc;
    if (rc == 0) p->over = true;
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
    rc_time next = p->r.next(p->r.run);
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
    rc_shm_set_flags(p->r.shm(p->r.run), paused ? RC_SHM_PAUSED : 0, paused ? 0 : RC_SHM_PAUSED);
}

void sim_pacer_set_speed(sim_pacer *p, double speed)
{
    if (speed <= 0) return;
    reanchor(p);
    p->speed = speed;
}

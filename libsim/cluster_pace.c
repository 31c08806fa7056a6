/* cluster_pace.c -- a cluster run paced to the wall clock.  See
 * cluster_pace.h. */
#include "cluster_pace.h"

#include <math.h>
#include <stdint.h>

#include "runcue.h"

static double wall_s(void)
{
    return rc_to_seconds(rc_monotonic_now());
}

static void reanchor(cluster_pacer *p)
{
    p->wall_anchor = wall_s();
    p->virt_anchor = (double)cluster_now_us(p->c) / 1e6;
}

void cluster_pacer_init(cluster_pacer *p, cluster *c, double speed)
{
    *p = (cluster_pacer){.c = c, .speed = speed > 0 ? speed : 1};
    cluster_start(c);
    reanchor(p);
}

static int advance(cluster_pacer *p, int64_t until_us, bool one)
{
    if (cluster_advance(p->c, until_us, one)) {
        p->over = true;
        p->outcome = cluster_outcome_of(p->c);
    }
    return p->over && p->outcome == CLUSTER_ERROR ? -1 : 0;
}

int cluster_pacer_drive(cluster_pacer *p)
{
    if (p->over || p->paused) return 0;
    double virt = p->virt_anchor + (wall_s() - p->wall_anchor) * p->speed;
    return advance(p, virt >= 9e12 ? INT64_MAX : (int64_t)floor(virt * 1e6), false);
}

int cluster_pacer_step(cluster_pacer *p)
{
    if (p->over) return 0;
    int rc = advance(p, INT64_MAX, true);
    reanchor(p);
    return rc;
}

double cluster_pacer_wait_s(const cluster_pacer *p)
{
    if (p->over || p->paused) return 0;
    int64_t next = cluster_next_us(p->c);
    if (next == INT64_MAX) return 0;
    double due = p->wall_anchor + ((double)next / 1e6 - p->virt_anchor) / p->speed;
    double left = due - wall_s();
    return left > 0 ? left : 0;
}

void cluster_pacer_pause(cluster_pacer *p, bool paused)
{
    if (p->paused == paused) return;
    p->paused = paused;
    reanchor(p);
    rc_shm_set_flags(cluster_shm(p->c), paused ? RC_SHM_PAUSED : 0, paused ? 0 : RC_SHM_PAUSED);
}

void cluster_pacer_set_speed(cluster_pacer *p, double speed)
{
    if (speed <= 0) return;
    reanchor(p);
    p->speed = speed;
}

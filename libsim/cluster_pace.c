/* cluster_pace.c -- a cluster run under libsim's pacer.  See
 * cluster_pace.h. */
#include "cluster_pace.h"

#include <stdint.h>

static rc_time to_rc(int64_t t_us)
{
    return t_us >= INT64_MAX / 1000 ? RC_TIME_NEVER : t_us * 1000;
}

static rc_time now_of(void *c)
{
    return to_rc(cluster_now_us(c));
}

static rc_time next_of(void *c)
{
    return to_rc(cluster_next_us(c));
}

static int advance(void *c, rc_time limit, bool one, int *outcome)
{
    if (!cluster_advance(c, limit == RC_TIME_NEVER ? INT64_MAX : limit / 1000, one)) return 1;
    *outcome = cluster_outcome_of(c);
    return *outcome == CLUSTER_ERROR ? -1 : 0;
}

static rc_shm_writer *shm_of(void *c)
{
    return cluster_shm(c);
}

void cluster_pacer_init(sim_pacer *p, cluster *c, double speed)
{
    cluster_start(c);
    sim_pacer_init_run(p, &(sim_pace_run){c, now_of, next_of, advance, shm_of}, speed);
}

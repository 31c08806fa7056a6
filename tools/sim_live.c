/* sim_live.c -- see sim_live.h. */
#include "sim_live.h"

#include <time.h>

static int op_drive(void *p)
{
    return sim_pacer_drive(p);
}

static int op_step(void *p)
{
    return sim_pacer_step(p);
}

static void op_pause(void *p, bool paused)
{
    sim_pacer_pause(p, paused);
}

static bool op_paused(void *p)
{
    return ((sim_pacer *)p)->paused;
}

static void op_set_speed(void *p, double speed)
{
    sim_pacer_set_speed(p, speed);
}

static double op_speed(void *p)
{
    return ((sim_pacer *)p)->speed;
}

static bool op_over(void *p)
{
    return ((sim_pacer *)p)->over;
}

const live_driver_ops sim_live_pacer_ops = {op_drive,     op_step,  op_pause, op_paused,
                                            op_set_speed, op_speed, op_over};

int sim_live_realtime(sim_pacer *p, void (*tick)(void *ud), void *ud)
{
    for (;;) {
        int rc = sim_pacer_drive(p);
        if (rc < 0) return rc;
        if (p->over) return p->outcome;
        double nap = sim_pacer_wait_s(p);
        if (nap > 0.1) nap = 0.1;
        struct timespec ts = {(time_t)nap, (long)((nap - (double)(time_t)nap) * 1e9)};
        nanosleep(&ts, NULL);
        if (tick) tick(ud);
    }
}

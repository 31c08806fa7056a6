/* sim_cluster.c -- runcue-sim's cluster mode: the built-in `cluster`
 * scenario on the simulated cluster (libsim/cluster.h). */
#include "sim_cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef RC_HAVE_CLUSTER
#include <unistd.h>

#include "cluster.h"
#include "cluster_pace.h"
#include "live_load.h"
#include "sim_live.h"
#include "shm_cleanup.h"

const bool sim_cluster_available = true;

static int usage_error(const char *opt, const char *msg)
{
    fprintf(stderr, "runcue-sim: %s: %s (see --help)\n", opt, msg);
    return 2;
}

/* The shape and faults into cc; the failing option's name, or NULL. */
static const char *shape_and_faults(const sim_cluster_opts *co, cluster_config *cc, char *err,
                                    size_t errlen)
{
    cluster_config_defaults(cc);
    if (co->shape && cluster_parse_shape(cc, co->shape, err, errlen)) return "--cluster";
    if (co->faults && cluster_parse_faults(cc, co->faults, err, errlen)) return "--faults";
    return NULL;
}

int sim_cluster_check(const sim_cluster_opts *co, const char **opt, char *err, size_t errlen)
{
    cluster_config cc;
    *opt = shape_and_faults(co, &cc, err, errlen);
    return *opt ? -1 : 0;
}

/* The built-in cluster scenario: one service with the run's limits and
 * latency profile. */
static void builtin_scenario(const sim_cluster_opts *co, const sim_config *cfg, cluster_config *cc)
{
    if (co->slots) cc->slots = co->slots;
    if (co->link_ms >= 0) cc->link_latency_ms = co->link_ms;
    cc->count = cfg->count;
    cluster_service *s = &cc->services[0];
    snprintf(s->name, sizeof s->name, "api");
    s->concurrent = cfg->concurrent;
    s->rate_count = cfg->rate_count;
    s->rate_window_s = cfg->rate_window_s;
    s->lease_s = co->lease_s > 0 ? co->lease_s : 2;
    s->max_deliveries = 10;
    s->latency_ms = cfg->latency_ms;
    s->jitter = cfg->jitter;
    s->error_rate = cfg->error_rate;
    cc->n_services = 1;
}

/* Publish (--shm, or a name of its own for a view).  0 or an exit status. */
static int publish(const sim_cluster_opts *co, cluster *c)
{
    char auto_name[RC_SHM_NAME_MAX + 1], err[512];
    const char *name = co->shm_name;
    if (!name && co->view == SIM_CLUSTER_NO_VIEW) return 0;
    if (!name) {
        snprintf(auto_name, sizeof auto_name, "sim-%d", (int)getpid());
        name = auto_name;
    }
    int rc = cluster_publish(c, name, co->title, err, sizeof err);
    if (rc) {
        fprintf(stderr, "runcue-sim: --shm: %s\n", err);
        return rc == RC_EINVAL || rc == RC_EEXIST ? 2 : 1;
    }
    shm_cleanup_on_signals(cluster_shm(c));
    return 0;
}

/* Run paced: in a view, or --realtime.  The outcome, CLUSTER_ERROR, or 130
 * when the view was quit early. */
static int run_live(const sim_cluster_opts *co, cluster *c)
{
    sim_pacer p;
    cluster_pacer_init(&p, c, co->speed);
    if (co->view != SIM_CLUSTER_NO_VIEW) {
        live_driver drv = {&sim_live_pacer_ops, &p};
        live_opts lo = {.prog = "runcue-sim",
                        .shm_name = co->shm_name,
                        .driver = &drv,
                        .exit_at_end = co->exit_at_end,
                        .screenshot = co->screenshot,
                        .attach_timeout = 1};
        char auto_name[RC_SHM_NAME_MAX + 1];
        if (!lo.shm_name) {
            snprintf(auto_name, sizeof auto_name, "sim-%d", (int)getpid());
            lo.shm_name = auto_name;
        }
        int rc = live_view_run(co->view == SIM_CLUSTER_TUI ? LIVE_VIEW_TUI : LIVE_VIEW_SDL, &lo);
        if (rc == 130) return 130;
        if (rc) return CLUSTER_ERROR;
        return p.over ? p.outcome : CLUSTER_CUT;
    }
    int rc = sim_live_realtime(&p, NULL, NULL);
    return rc < 0 ? CLUSTER_ERROR : rc;
}

int sim_cluster_main(const sim_cluster_opts *co, const sim_config *cfg, sim_eventlog *log,
                     bool report_json)
{
    cluster_config cc;
    char err[512];
    if (co->preset) {
        /* A scenario file's cluster: the run's seed and duration. */
        cc = *co->preset;
    } else {
        const char *bad_opt = shape_and_faults(co, &cc, err, sizeof err);
        if (bad_opt) return usage_error(bad_opt, err);
        builtin_scenario(co, cfg, &cc);
    }
    cc.seed = cfg->seed;
    cc.duration_s = cfg->duration_s;

    size_t len;
    char *lua = cluster_load_functions(&len, err, sizeof err);
    if (!lua) {
        fprintf(stderr, "runcue-sim: %s\n", err);
        return 1;
    }
    cluster *c;
    int rc = cluster_new(&c, &cc, lua, len, err, sizeof err);
    free(lua);
    if (rc) {
        fprintf(stderr, "runcue-sim: cluster: %s\n", err);
        return 2;
    }
    FILE *rec = NULL;
    if (co->record) {
        rec = fopen(co->record, "w");
        if (!rec) {
            cluster_free(c);
            return usage_error("--record-engine", "cannot open the file");
        }
        cluster_record(c, rec);
    }
    cluster_set_log(c, log);
    int status = publish(co, c);
    if (status) {
        if (rec) fclose(rec);
        cluster_free(c);
        return status;
    }
    bool live = co->view != SIM_CLUSTER_NO_VIEW || co->realtime;
    int outcome = live ? run_live(co, c) : cluster_run(c);
    if (outcome == 130) {
        cluster_print_summary(c, stdout);
        if (rec) fclose(rec);
        cluster_free(c);
        return 130;
    }
    if (outcome == CLUSTER_ERROR) {
        fprintf(stderr, "runcue-sim: cluster: %s\n", cluster_errmsg(c));
        status = 1;
    } else {
        if (report_json)
            cluster_print_report_json(c, stdout, co->file ? co->file : "cluster");
        else
            cluster_print_summary(c, stdout);
        if (cluster_check_invariants(c, stderr))
            status = 1;
        else if (outcome == CLUSTER_STALLED)
            status = 3;
    }
    if (rec && fclose(rec) != 0) status = 1;
    cluster_free(c);
    return status;
}
#else
const bool sim_cluster_available = false;

int sim_cluster_check(const sim_cluster_opts *co, const char **opt, char *err, size_t errlen)
{
    *opt = "--cluster";
    snprintf(err, errlen, "this build has no cluster simulation");
    return -1;
}

int sim_cluster_main(const sim_cluster_opts *co, const sim_config *cfg, sim_eventlog *log,
                     bool report_json)
{
    fprintf(stderr, "runcue-sim: --cluster: this build has no cluster simulation "
                    "(configured without Lua 5.1)\n");
    return 2;
}
#endif

/* cluster_view.c -- the cluster simulation published live for runcue-top
 * and runcue-viz (cluster_publish in cluster.h): a fed segment whose rows
 * are the agents, the schedulers and the services, and whose events are the
 * log's. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cluster_internal.h"

static rc_time ns(int64_t t_us)
{
    return (rc_time)t_us * 1000;
}

int cluster_publish(cluster *c, const char *name, const char *title, char *err, size_t errlen)
{
    if (c->shm) {
        snprintf(err, errlen, "already published");
        return RC_EINVAL;
    }
    int rc = rc_shm_publish_fed(&c->shm, name, title, RC_CLOCK_VIRTUAL, ns(c->now), err, errlen);
    if (!rc) cl_view_publish(c);
    return rc;
}

rc_shm_writer *cluster_shm(const cluster *c)
{
    return c->shm;
}

/* The log's events as the segment's kinds; -1: not shown. */
static int kind_of(const char *event)
{
    static const struct {
        const char *name;
        int kind;
    } map[] = {
        {"queued", RC_EV_QUEUED},      {"attached", RC_EV_QUEUED},
        {"started", RC_EV_STARTED},    {"completed", RC_EV_COMPLETED},
        {"failed", RC_EV_FAILED},      {"retry", RC_EV_RETRY},
        {"lease_lost", RC_EV_RETRY},   {"stale_finish", RC_EV_STALE_FINISH},
        {"fault", RC_SHM_EV_MARK},     {"fault_end", RC_SHM_EV_MARK},
        {"restarted", RC_SHM_EV_MARK},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].name, event) == 0) return map[i].kind;
    return -1;
}

/* Events an agent does name it first in their detail: its lane. */
static bool on_agent_lane(const char *event)
{
    return strcmp(event, "started") == 0 || strcmp(event, "completed") == 0 ||
           strcmp(event, "lease_lost") == 0 || strcmp(event, "stale_finish") == 0;
}

void cl_view_event(cluster *c, const char *event, const char *svc, uint64_t item,
                   const char *detail)
{
    int kind = kind_of(event);
    if (kind < 0) return;
    rc_shm_event e = {.time = ns(c->now), .kind = (uint32_t)kind, .progress = -1};
    if (kind == RC_SHM_EV_MARK) {
        /* "crash:agent2@5s", "end pause:agent1@8s+4s", "restarted agent2" */
        snprintf(e.detail, sizeof e.detail, "%s%s",
                 strcmp(event, "fault") == 0       ? ""
                 : strcmp(event, "fault_end") == 0 ? "end "
                                                   : "restarted ",
                 detail);
        rc_shm_feed_event(c->shm, &e);
        return;
    }
    if (item != UINT64_MAX) {
        e.work_id = item + 1; /* 0 is cue-wide */
        snprintf(e.label, sizeof e.label, "w%" PRIu64, item);
        e.attempt = item < c->cfg.count ? c->executions[item] : 0;
    }
    snprintf(e.task, sizeof e.task, "work");
    size_t lane = on_agent_lane(event) ? strcspn(detail, " ") : 0;
    if (lane)
        snprintf(e.service, sizeof e.service, "%.*s", (int)(lane < 31 ? lane : 31), detail);
    else
        snprintf(e.service, sizeof e.service, "%s", svc ? svc : "");
    snprintf(e.detail, sizeof e.detail, "%s%s%s",
             strcmp(event, "lease_lost") == 0 ? "lease lost: " : "", svc && lane ? svc : "",
             svc && lane ? " " : "");
    size_t used = strlen(e.detail);
    snprintf(e.detail + used, sizeof e.detail - used, "%s", detail);
    rc_shm_feed_event(c->shm, &e);
}

void cl_view_job_ended(cluster *c, const cl_job *j)
{
    const cl_actor *a = &c->actors[j->agent];
    rc_shm_event e = {.time = ns(c->now),
                      .kind = RC_EV_RETRY,
                      .progress = -1,
                      .work_id = j->item + 1,
                      .attempt = j->delivery};
    snprintf(e.task, sizeof e.task, "work");
    snprintf(e.label, sizeof e.label, "w%" PRIu64, j->item);
    snprintf(e.service, sizeof e.service, "%s", a->name);
    snprintf(e.detail, sizeof e.detail, "%s: execution ended %s", a->name,
             a->down ? "(crashed)" : "without its finish");
    rc_shm_feed_event(c->shm, &e);
}

/* A row per agent: its slots as the limit, its work as running. */
static void agent_row(const cluster *c, size_t i, rc_shm_service *r)
{
    const cl_actor *a = &c->actors[i];
    const cl_agent *ag = &c->agents[a->idx];
    snprintf(r->name, sizeof r->name, "%s", a->name);
    r->concurrent = (int32_t)c->cfg.slots;
    r->running = a->down ? 0 : ag->busy;
    r->peak_running = c->cfg.slots;
    r->started = ag->started;
    r->completed = ag->completed;
    /* Faulted: its slots count as blocked while it is down, paused or cut. */
    r->blocked = a->down || a->paused || a->cut ? c->cfg.slots : 0;
}

/* A row per scheduler: what it has queued and in flight. */
static void sched_row(const cluster *c, size_t i, rc_shm_service *r)
{
    const cl_actor *a = &c->actors[i];
    const cl_sched *s = &c->scheds[a->idx];
    snprintf(r->name, sizeof r->name, "%s", a->name);
    r->concurrent = RC_NO_LIMIT;
    r->queued = s->q_n;
    r->running = s->inflight_calls;
    r->blocked = a->down || a->cut ? s->q_n : 0;
}

/* A row per service: its global limits, the leases held across the
 * cluster, and the starts in the rate window ending now. */
static void service_row(const cluster *c, size_t i, rc_shm_service *r)
{
    const cluster_service *cs = &c->cfg.services[i];
    const cl_svcstate *s = &c->svc[i];
    snprintf(r->name, sizeof r->name, "%s", cs->name);
    r->concurrent = cs->concurrent >= 0 ? cs->concurrent : RC_NO_LIMIT;
    r->rate_count = cs->rate_count;
    r->rate_window_s = cs->rate_window_s;
    uint64_t live = 0;
    for (size_t h = 0; h < s->n_holding; h++)
        if (s->holding[h]->engine_lease_end > c->now) live++;
    r->running = live;
    r->peak_running = s->peak_holding;
    if (cs->rate_count) {
        int64_t w = (int64_t)llround(cs->rate_window_s * 1e6);
        for (unsigned k = 0; k < s->ring_n; k++)
            if (c->now - s->ring[k] < w) r->starts_in_window++;
    }
    r->started = s->starts;
    r->completed = s->completed;
}

void cl_view_publish(cluster *c)
{
    if (!c->shm) return;
    rc_shm_state st = {.now = ns(c->now)};
    uint64_t running = 0;
    size_t n = 0;
    for (size_t i = 0; i < c->cfg.n_services && n < RC_SHM_MAX_SERVICES; i++)
        service_row(c, i, &st.services[n++]);
    for (size_t i = 0; i < c->n_actors && n < RC_SHM_MAX_SERVICES; i++) {
        if (c->actors[i].scheduler) {
            sched_row(c, i, &st.services[n++]);
        } else {
            agent_row(c, i, &st.services[n]);
            running += st.services[n++].running;
        }
    }
    st.n_services = (uint32_t)n;
    uint64_t count = c->cfg.count;
    st.counters = (rc_shm_counters){
        .submitted = count,
        .completed = c->resolved - c->failed,
        .failed = c->failed,
        .retries = c->redeliveries,
        .pending = count - c->resolved,
        .running = running,
        .stale_finishes = c->stale_finishes,
        .last_progress = ns(c->last_progress),
    };
    rc_shm_feed_state(c->shm, &st);
    if (c->over) rc_shm_set_flags(c->shm, RC_SHM_FINISHED, 0);
}

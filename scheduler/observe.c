/* observe.c -- events out of the cue.
 *
 * The core names none of its observers: the live segment, the simulator's
 * event log and a user's metrics all subscribe the same way.  Observers see
 * an event before hooks.on_event does, in the order they were added.  Their
 * on_settled runs as one deferred call per iteration, and only once the cue
 * has no dispatch pass pending, so what it reads is the state that instant
 * settled into. */
#include <stdarg.h>
#include <stdio.h>

#include "observe.h"

static void settle_cb(rc_loop *loop, void *arg)
{
    (void)loop;
    rc_cue *cue = arg;
    /* The pass still to run will call rc_observe_changed when it ends. */
    if (rc_defer_pending(&cue->pass)) return;
    for (rc_observer *o = cue->observers, *next; o; o = next) {
        next = o->next_;
        if (o->on_settled) o->on_settled(cue, o->ud);
    }
}

void rc_observe_init(rc_cue *cue)
{
    cue->observers = NULL;
    cue->n_settle = 0;
    rc_defer_init(&cue->settle, settle_cb, cue);
    for (int k = 0; k < RC_EV__COUNT; k++) cue->last_event_at[k] = -1;
}

rc_time rc_cue_last_event(const rc_cue *cue, uint32_t kinds)
{
    rc_time t = -1;
    for (int k = 0; cue && k < RC_EV__COUNT; k++)
        if ((!kinds || (kinds >> k & 1u)) && cue->last_event_at[k] > t) t = cue->last_event_at[k];
    return t;
}

void rc_observe_fini(rc_cue *cue)
{
    rc_defer_cancel(cue->loop, &cue->settle);
    while (cue->observers) {
        rc_observer *o = cue->observers;
        cue->observers = o->next_;
        o->next_ = NULL;
        o->cue_ = NULL;
        if (o->on_cue_free) o->on_cue_free(cue, o->ud);
    }
    cue->n_settle = 0;
}

int rc_cue_observe(rc_cue *cue, rc_observer *obs)
{
    if (!cue || !obs) return RC_EINVAL;
    if (obs->cue_) {
        rc_cue_set_error(cue, "the observer already observes a cue");
        return RC_ESTATE;
    }
    rc_observer **tail = &cue->observers;
    while (*tail) tail = &(*tail)->next_;
    obs->next_ = NULL;
    obs->cue_ = cue;
    *tail = obs;
    if (obs->on_settled) cue->n_settle++;
    return 0;
}

int rc_cue_unobserve(rc_cue *cue, rc_observer *obs)
{
    if (!cue || !obs) return RC_EINVAL;
    if (obs->cue_ != cue) {
        rc_cue_set_error(cue, "unobserve: the observer does not observe this cue");
        return RC_ENOENT;
    }
    for (rc_observer **p = &cue->observers; *p; p = &(*p)->next_) {
        if (*p != obs) continue;
        *p = obs->next_;
        break;
    }
    if (obs->on_settled) cue->n_settle--;
    obs->next_ = NULL;
    obs->cue_ = NULL;
    return 0;
}

void rc_observe_changed(rc_cue *cue)
{
    if (cue->n_settle) rc_defer_request(cue->loop, &cue->settle);
}

void rc_emit(rc_cue *cue, rc_event_kind kind, const rc_work *w, const char *detail,
             double duration, size_t pending)
{
    if (!cue->hooks.on_event && !cue->observers) return;
    rc_event ev = {kind, rc_loop_now(cue->loop), w, detail ? detail : "", duration, pending, 0};
    rc_emit_event(cue, &ev);
}

void rc_emit_progress(rc_cue *cue, const rc_work *w, double fraction, const char *message)
{
    if (!cue->hooks.on_event && !cue->observers) return;
    rc_event ev = {RC_EV_PROGRESS, rc_loop_now(cue->loop), w, message ? message : "", 0, 0,
                   fraction};
    rc_emit_event(cue, &ev);
}

void rc_emit_event(rc_cue *cue, const rc_event *event)
{
    const unsigned kind = (unsigned)event->kind;
    if (kind < RC_EV__COUNT) cue->last_event_at[kind] = event->time;
    for (rc_observer *o = cue->observers, *next; o; o = next) {
        next = o->next_;
        if (o->on_event && (!o->kinds || (kind < 32 && (o->kinds >> kind & 1u))))
            o->on_event(cue, event, o->ud);
    }
    if (cue->hooks.on_event) cue->hooks.on_event(cue, event, cue->hooks.ud);
    rc_observe_changed(cue);
}

void rc_cue_set_error(rc_cue *cue, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cue->errmsg, sizeof cue->errmsg, fmt, ap);
    va_end(ap);
}

const char *rc_cue_errmsg(const rc_cue *cue)
{
    return cue ? cue->errmsg : "";
}

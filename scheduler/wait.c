/* wait.c -- rc_wait, rc_wait_all and rc_waiter: waiting for work to finish,
 * by driving the loop or by a callback.  Built on the public API (an
 * observer of the cue and the loop's timers) and the cue's error message
 * (observe.h), above every other module. */
#include <stdlib.h>

#include "runcue.h"
#include "observe.h"

static bool finished_kind(rc_event_kind k)
{
    return k == RC_EV_COMPLETED || k == RC_EV_FAILED || k == RC_EV_SKIPPED ||
           k == RC_EV_CANCELLED || k == RC_EV_TIMEOUT;
}

static bool is_finished(const rc_work *w)
{
    rc_state s = rc_work_state(w);
    return s != RC_PENDING && s != RC_RUNNING;
}

static int cmp_id(const void *a, const void *b)
{
    rc_work_id x = *(const rc_work_id *)a, y = *(const rc_work_id *)b;
    return x < y ? -1 : x > y;
}

static bool listed(const rc_waiter *wt, rc_work_id id)
{
    if (wt->sorted_) return bsearch(&id, wt->ids_, wt->n_, sizeof id, cmp_id) != NULL;
    for (size_t i = 0; i < wt->n_; i++)
        if (wt->ids_[i] == id) return true;
    return false;
}

static void stop_waiting(rc_waiter *wt)
{
    rc_cue *cue = wt->cue_;
    if (!cue) return;
    rc_defer_cancel(rc_cue_loop(cue), &wt->defer_);
    if (wt->obs_.cue_) rc_cue_unobserve(cue, &wt->obs_);
    wt->cue_ = NULL;
}

static void fire(rc_waiter *wt)
{
    rc_cue *cue = wt->cue_;
    stop_waiting(wt);
    wt->done_(cue, wt->ud_);
}

static void on_event(rc_cue *cue, const rc_event *ev, void *ud)
{
    (void)cue;
    rc_waiter *wt = ud;
    if (!ev->work || !finished_kind(ev->kind) || !listed(wt, rc_work_get_id(ev->work))) return;
    if (wt->left_ && --wt->left_ == 0) fire(wt);
}

static void on_cue_free(rc_cue *cue, void *ud)
{
    (void)cue;
    rc_waiter *wt = ud;
    rc_defer_cancel(rc_cue_loop(wt->cue_), &wt->defer_);
    wt->cue_ = NULL;
}

static void deferred_done(rc_loop *loop, void *arg)
{
    (void)loop;
    fire(arg);
}

int rc_waiter_start(rc_waiter *wt, rc_cue *cue, const rc_work_id *ids, size_t n, rc_waiter_fn done,
                    void *ud)
{
    if (!wt || !cue || !done || (n && !ids)) return RC_EINVAL;
    if (wt->cue_) {
        rc_cue_set_error(cue, "wait: the waiter is already waiting");
        return RC_ESTATE;
    }
    size_t left = 0;
    bool sorted = true;
    for (size_t i = 0; i < n; i++) {
        const rc_work *w = rc_get(cue, ids[i]);
        if (!w) { /* unknown, or forgotten long after it finished */
            rc_cue_set_error(cue,
                             "wait: no work %llu in this cue (never submitted to it, or "
                             "forgotten after it finished)",
                             (unsigned long long)ids[i]);
            return RC_ENOENT;
        }
        if (!is_finished(w)) left++;
        if (i && ids[i] <= ids[i - 1]) sorted = false;
    }
    *wt = (rc_waiter){.cue_ = cue,
                      .ids_ = ids,
                      .n_ = n,
                      .left_ = left,
                      .sorted_ = sorted,
                      .done_ = done,
                      .ud_ = ud};
    rc_defer_init(&wt->defer_, deferred_done, wt);
    if (!left) {
        rc_defer_request(rc_cue_loop(cue), &wt->defer_);
        return 0;
    }
    wt->obs_ = (rc_observer){.on_event = on_event, .on_cue_free = on_cue_free, .ud = wt};
    return rc_cue_observe(cue, &wt->obs_);
}

void rc_waiter_cancel(rc_waiter *wt)
{
    if (wt) stop_waiting(wt);
}

/* ---- driving the loop ---- */

typedef struct wait_state {
    bool done, timed_out;
    rc_loop *loop;
} wait_state;

static void wait_done(rc_cue *cue, void *ud)
{
    (void)cue;
    wait_state *ws = ud;
    ws->done = true;
    rc_loop_stop(ws->loop);
}

static void wait_timeout(rc_loop *loop, rc_timer *t, void *arg)
{
    (void)t;
    wait_state *ws = arg;
    ws->timed_out = true;
    rc_loop_stop(loop);
}

int rc_wait_all(rc_cue *cue, const rc_work_id *ids, size_t n, double timeout_s)
{
    if (!cue || (n && !ids)) return RC_EINVAL;
    rc_loop *loop = rc_cue_loop(cue);
    wait_state ws = {.loop = loop};
    rc_waiter wt = {0};
    int rc = rc_waiter_start(&wt, cue, ids, n, wait_done, &ws);
    if (rc) return rc;
    /* The deadline neither keeps the loop alive nor moves virtual time when
     * nothing else would: an idle loop is reported as blocked. */
    rc_timer deadline;
    rc_timer_init(&deadline, wait_timeout, &ws);
    rc_timer_set_ref(&deadline, false);
    rc_time now = rc_loop_now(loop), span = rc_seconds(timeout_s);
    /* A deadline past the end of the clock is none (and must not wrap). */
    if (timeout_s >= 0 && !(now > 0 && span > RC_TIME_NEVER - now))
        rc_timer_start(loop, &deadline, now + span);
    rc = rc_loop_run(loop, RC_RUN_DEFAULT);
    rc_timer_stop(loop, &deadline);
    const size_t left = wt.left_;
    rc_waiter_cancel(&wt);
    if (ws.done) return 0;
    if (ws.timed_out) {
        rc_cue_set_error(cue, "wait: %zu of %zu work not finished after %g s", left, n, timeout_s);
        return RC_ETIMEDOUT;
    }
    if (rc < 0) return rc;
    /* Idle, or on the virtual clock alive with nothing that can happen. */
    if (rc == 0 || rc_loop_clock(loop) == RC_CLOCK_VIRTUAL) {
        rc_cue_set_error(cue,
                         "wait: %zu of %zu work can never finish: nothing is left to "
                         "happen (rc_diagnose says why)",
                         left, n);
        return RC_EBLOCKED;
    }
    rc_cue_set_error(cue, "wait: the loop was stopped with %zu of %zu work not finished", left, n);
    return RC_ESTATE;
}

int rc_wait(rc_cue *cue, rc_work_id id, double timeout_s)
{
    return rc_wait_all(cue, &id, 1, timeout_s);
}

/* recorder.c -- the recording hooks of recorder.h. */
#include "recorder.h"

static rc_time now_of(rc_cue *cue)
{
    return rc_loop_now(rc_cue_loop(cue));
}

/* ---- tu_rec, and what a tu_xrec adds to each notification ---- */

void tu_rec_on_start(rc_cue *cue, const rc_work *w, void *ud)
{
    tu_rec *r = ud;
    if (r->n_starts < TU_MAX_LOG) {
        r->start_id[r->n_starts] = rc_work_get_id(w);
        r->start_time[r->n_starts] = now_of(cue);
        r->n_starts++;
    }
    r->start_state = rc_work_state(w);
    r->start_attempt = rc_work_attempt(w);
    r->starts++;
}

void tu_rec_on_complete(rc_cue *cue, const rc_work *w, const cJSON *result, double duration_s,
                        void *ud)
{
    tu_rec *r = ud;
    size_t i = r->n_completes;
    if (i < TU_MAX_LOG) {
        r->complete_id[i] = rc_work_get_id(w);
        r->complete_duration[i] = duration_s;
        r->n_completes++;
        if (r->ext) {
            r->ext->complete_time[i] = rc_loop_now(r->ext->loop);
            r->ext->complete_attempt[i] = rc_work_attempt(w);
        }
    }
    r->last_result[0] = '\0';
    if (result) {
        char *s = cJSON_PrintUnformatted(result);
        if (s) {
            snprintf(r->last_result, sizeof r->last_result, "%s", s);
            cJSON_free(s);
        }
    }
    r->complete_state = rc_work_state(w);
    r->completes++;
}

void tu_rec_on_failure(rc_cue *cue, const rc_work *w, rc_fail_kind kind, const char *error,
                       void *ud)
{
    (void)cue;
    tu_rec *r = ud;
    const char *text = error ? error : "(null)";
    if (r->failures < TU_MAX_LOG) r->fail_id[r->failures] = rc_work_get_id(w);
    r->last_fail_kind = kind;
    snprintf(r->last_error, sizeof r->last_error, "%s", text);
    r->failure_state = rc_work_state(w);
    r->failures++;

    tu_xrec *x = r->ext;
    if (!x || x->n_fail >= TU_MAX_LOG) return;
    tu_failure *f = &x->fail[x->n_fail++];
    f->id = rc_work_get_id(w);
    f->kind = kind;
    f->time = rc_loop_now(x->loop);
    f->attempt = rc_work_attempt(w);
    snprintf(f->error, sizeof f->error, "%s", text);
}

void tu_rec_on_skip(rc_cue *cue, const rc_work *w, void *ud)
{
    (void)cue;
    tu_rec *r = ud;
    if (r->skips < TU_MAX_LOG) r->skip_id[r->skips] = rc_work_get_id(w);
    r->skip_state = rc_work_state(w);
    r->skip_flag = rc_work_skipped(w);
    r->skips++;
}

void tu_rec_on_event(rc_cue *cue, const rc_event *ev, void *ud)
{
    (void)cue;
    tu_rec *r = ud;
    size_t i = r->n_events;
    if (!ev->detail) r->ev_detail_null = true;
    r->events++;
    if (i >= TU_MAX_LOG) return;
    r->ev_kind[i] = ev->kind;
    r->ev_id[i] = ev->work ? rc_work_get_id(ev->work) : 0;
    r->ev_time[i] = ev->time;
    r->ev_duration[i] = ev->duration;
    r->n_events++;
    if (r->ext) {
        tu_xrec *x = r->ext;
        x->ev_pending[i] = ev->pending;
        x->ev_attempt[i] = ev->work ? rc_work_attempt(ev->work) : 0;
        snprintf(x->ev_detail[i], sizeof x->ev_detail[i], "%s", ev->detail ? ev->detail : "(null)");
    }
}

rc_hooks tu_rec_hooks(tu_rec *r)
{
    return (rc_hooks){
        .on_start = tu_rec_on_start,
        .on_complete = tu_rec_on_complete,
        .on_failure = tu_rec_on_failure,
        .on_skip = tu_rec_on_skip,
        .on_event = tu_rec_on_event,
        .ud = r,
    };
}

tu_rec *tu_rec_new(void)
{
    tu_rec *r = calloc(1, sizeof *r);
    cr_assert_not_null(r);
    return r;
}

void tu_rec_open(rc_loop **loop, rc_cue **cue, tu_rec **rec, tu_task *task, const rc_cue_opts *opts)
{
    tu_open(loop, cue, opts);
    *rec = tu_rec_new();
    memset(task, 0, sizeof *task);
    rc_hooks h = tu_rec_hooks(*rec);
    rc_cue_set_hooks(*cue, &h);
    cr_assert_eq(rc_task(*cue, "t", NULL, tu_handler, task), RC_OK);
}

void tu_rec_close(rc_loop *loop, rc_cue *cue, tu_rec *rec)
{
    tu_close(loop, cue);
    free(rec);
}

size_t tu_rec_events_for(const tu_rec *r, rc_work_id id, rc_event_kind *kinds, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < r->n_events && k < max; i++)
        if (r->ev_id[i] == id) kinds[k++] = r->ev_kind[i];
    return k;
}

size_t tu_rec_count(const tu_rec *r, rc_event_kind kind)
{
    size_t k = 0;
    for (size_t i = 0; i < r->n_events; i++)
        if (r->ev_kind[i] == kind) k++;
    return k;
}

/* ---- tu_xrec ---- */

static void xrec_on_pending_warning(rc_cue *cue, const rc_work *w, double pending_s, void *ud)
{
    (void)cue;
    tu_xrec *x = ud;
    if (x->n_pwarn < TU_MAX_LOG)
        x->pwarn[x->n_pwarn++] =
            (tu_pending_warning){rc_work_get_id(w), pending_s, rc_loop_now(x->loop)};
}

static void xrec_on_stall_warning(rc_cue *cue, double since_s, size_t pending, void *ud)
{
    (void)cue;
    tu_xrec *x = ud;
    if (x->n_swarn < TU_MAX_LOG)
        x->swarn[x->n_swarn++] = (tu_stall_warning){since_s, pending, rc_loop_now(x->loop)};
}

rc_hooks tu_xrec_hooks(tu_xrec *x)
{
    x->rec.ext = x;
    rc_hooks h = tu_rec_hooks(&x->rec);
    h.on_pending_warning = xrec_on_pending_warning;
    h.on_stall_warning = xrec_on_stall_warning;
    return h;
}

tu_xrec *tu_xrec_new(rc_loop *loop)
{
    tu_xrec *x = calloc(1, sizeof *x);
    cr_assert_not_null(x);
    x->loop = loop;
    x->rec.ext = x;
    return x;
}

void tu_xrec_install(tu_xrec *x, rc_cue *cue,
                     int (*is_ready)(rc_cue *, const rc_work *, rc_check *, void *),
                     int (*is_stale)(rc_cue *, const rc_work *, rc_check *, void *))
{
    rc_hooks h = tu_xrec_hooks(x);
    h.is_ready = is_ready;
    h.is_stale = is_stale;
    rc_cue_set_hooks(cue, &h);
}

/* ---- queries ---- */

const tu_failure *tu_xrec_failure(const tu_xrec *x, rc_work_id id)
{
    for (size_t i = 0; i < x->n_fail; i++)
        if (x->fail[i].id == id) return &x->fail[i];
    return NULL;
}

size_t tu_xrec_failures_of(const tu_xrec *x, rc_work_id id)
{
    size_t n = 0;
    for (size_t i = 0; i < x->n_fail; i++)
        if (x->fail[i].id == id) n++;
    return n;
}

rc_time tu_xrec_complete_time(const tu_xrec *x, rc_work_id id)
{
    for (size_t i = 0; i < x->rec.n_completes && i < TU_MAX_LOG; i++)
        if (x->rec.complete_id[i] == id) return x->complete_time[i];
    return -1;
}

rc_time tu_xrec_start_time(const tu_xrec *x, rc_work_id id, size_t nth)
{
    for (size_t i = 0; i < x->rec.n_starts; i++)
        if (x->rec.start_id[i] == id && nth-- == 0) return x->rec.start_time[i];
    return -1;
}

size_t tu_xrec_count_for(const tu_xrec *x, rc_event_kind kind, rc_work_id id)
{
    size_t n = 0;
    for (size_t i = 0; i < x->rec.n_events; i++)
        if (x->rec.ev_kind[i] == kind && x->rec.ev_id[i] == id) n++;
    return n;
}

int tu_xrec_find_event(const tu_xrec *x, rc_event_kind kind, rc_work_id id)
{
    for (size_t i = 0; i < x->rec.n_events; i++)
        if (x->rec.ev_kind[i] == kind && x->rec.ev_id[i] == id) return (int)i;
    return -1;
}

/* ---- holding work ---- */

void tu_handler_hold(rc_cue *cue, const rc_work *w, rc_token tok, void *ud)
{
    (void)cue;
    tu_xrec *x = ud;
    cr_assert_lt(x->n_held, (size_t)TU_MAX_LOG);
    x->held_id[x->n_held] = rc_work_get_id(w);
    x->held[x->n_held++] = tok;
}

void tu_xrec_release_all(tu_xrec *x, rc_cue *cue)
{
    for (size_t i = 0; i < x->n_held; i++) {
        int rc = rc_complete(cue, x->held[i], NULL);
        cr_assert_eq(rc, RC_OK, "rc_complete(held %llu): %s", (unsigned long long)x->held_id[i],
                     rc_strerror(rc));
    }
    x->n_held = 0;
}

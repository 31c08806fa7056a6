/* dispatch.c -- the dispatch pass, and everything that starts or ends work.
 *
 * A pass runs at the end of a loop iteration in which something changed
 * (rc_request_pass), so many changes at one instant cost one pass.  It
 * checks the work on the dirty list, then lets each runnable service start
 * work while its limits allow.  A service that is full becomes runnable again
 * when one of its works finishes; one that is rate-limited arms a timer for
 * the instant its window next allows a start.  Nothing else is visited. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "results.h"
#include "work.h"

enum { CHECK_READY, CHECK_WAITING, CHECK_SKIPPED, CHECK_GONE };

static rc_svc *pop_runnable(rc_cue *cue)
{
    rc_svc *s = cue->runnable_head;
    if (!s) return NULL;
    cue->runnable_head = s->next_runnable;
    if (!cue->runnable_head) cue->runnable_tail = NULL;
    s->runnable = false;
    return s;
}

static void changed_entry(rc_cue *cue, rc_keyent *e);

static void announce_produces(rc_cue *cue, const rc_work *w)
{
    if (cue->opts.no_auto_notify) return;
    for (size_t i = 0; i < w->n_produces; i++) {
        rc_keyent *e = RC_KEYENT_OF(rc_declared_produces(w)[i]);
        /* Held across the observers and the wake (the work holds it too;
         * at the count's limit that hold is enough). */
        const bool hold = e->refs < UINT32_MAX;
        e->refs += hold;
        changed_entry(cue, e);
        if (hold) rc_keytab_unref(&cue->keys, &cue->small, &cue->alloc, e);
    }
}

/* A completed or skipped work's result artifact: kept, and its consumers
 * re-checked (whatever no_auto_notify says: the key is the cue's own). */
static void store_result(rc_cue *cue, const rc_work *w, const cJSON *value)
{
    if (rc_results_store(cue, w, value)) rc_recheck_waiting(cue, RC_COLD(w)->flow->result_key);
}

/* ---- checks ---- */

/* Remember key as an unmet need if it is one of the work's declared needs,
 * and say which (its index), or -1.  The search starts after the last one
 * found, so a check that names its unmet needs in order costs one pass over
 * them. */
static long mark_unmet(rc_check *check, const char *key)
{
    const rc_work *w = check->work;
    size_t n = w ? w->n_needs : 0;
    for (size_t k = 0; k < n; k++) {
        size_t i = (check->cursor + k) % n;
        /* Checks usually name the work's own strings (rc_work_needs). */
        if (w->needs[i] != key && strcmp(w->needs[i], key) != 0) continue;
        check->cursor = i + 1;
        if (n > RC_UNMET_SMALL && !check->unmet_big &&
            !(check->unmet_big = rc_calloc(&check->cue->alloc, (n + 63) / 64, sizeof(uint64_t))))
            return (long)i; /* out of memory: the diagnosis follows fewer needs */
        uint64_t *bits = n > RC_UNMET_SMALL ? check->unmet_big : &check->unmet_small;
        bits[i / 64] |= UINT64_C(1) << (i % 64);
        check->any_unmet = true;
        return (long)i;
    }
    return -1;
}

void rc_check_wait_on(rc_check *check, const char *key)
{
    if (!check || !key || !*key) return;
    const long i = mark_unmet(check, key);
    if (check->keyed) return; /* the first key files the work */
    rc_cue *cue = check->cue;
    /* A declared need's entry is the work's already; another key is looked
     * up (and kept while work waits on it). */
    rc_keyent *e = i >= 0 ? RC_KEYENT_OF(check->work->needs[i])
                          : rc_keytab_intern(&cue->keys, &cue->small, &cue->alloc, key);
    /* Out of memory (or a key held 4 billion times): filed unkeyed,
     * re-checked on any change. */
    if (!e || e->refs == UINT32_MAX) return;
    e->refs++;
    check->key = e;
    check->keyed = true;
}

/* The end of a check: its reference on the key it named goes. */
static void check_done(rc_cue *cue, rc_check *chk)
{
    if (chk->key) rc_keytab_unref(&cue->keys, &cue->small, &cue->alloc, chk->key);
    chk->key = NULL;
}

void rc_check_detail(rc_check *check, const char *fmt, ...)
{
    if (!check || !fmt) return;
    va_list ap;
    va_start(ap, fmt);
    if (vsnprintf(check->detail, sizeof check->detail, fmt, ap) < 0) check->detail[0] = 0;
    va_end(ap);
    /* The text is what reads as one: a "%c" of 0 ends it there. */
    check->detail_len = strlen(check->detail);
    check->has_detail = true;
    check->around = false;
}

void rc_check_detail_text(rc_check *check, const char *text)
{
    if (!check || !text) return;
    /* Cut as rc_check_detail's vsnprintf would. */
    size_t n = strlen(text);
    if (n >= sizeof check->detail) n = sizeof check->detail - 1;
    memcpy(check->detail, text, n);
    check->detail[n] = 0;
    check->detail_len = n;
    check->has_detail = true;
    check->around = false;
}

/* text = a + b + c, cut to size - 1 bytes; its length. */
static size_t join3(char *text, size_t size, const char *a, const char *b, const char *c)
{
    size_t n = 0;
    const char *parts[3] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        size_t k = strlen(parts[i]);
        if (k > size - 1 - n) k = size - 1 - n;
        memcpy(text + n, parts[i], k);
        n += k;
    }
    text[n] = 0;
    return n;
}

void rc_check_detail_around(rc_check *check, const char *prefix, const char *key,
                            const char *suffix)
{
    if (!check || !prefix || !key || !suffix) return;
    const size_t plen = strlen(prefix), slen = strlen(suffix);
    /* The wait key's own text (the declared need's string, as a check
     * usually names it), and room for the words: kept as words. */
    if (check->key && (key == check->key->text || strcmp(key, check->key->text) == 0) &&
        plen + slen < sizeof check->detail) {
        memcpy(check->detail, prefix, plen);
        memcpy(check->detail + plen, suffix, slen);
        check->detail[plen + slen] = 0;
        check->detail_len = plen + slen;
        check->around_plen = plen;
        check->around = true;
        check->has_detail = true;
        return;
    }
    check->detail_len = join3(check->detail, sizeof check->detail, prefix, key, suffix);
    check->has_detail = true;
    check->around = false;
}

/* The cue's frame of prefix and suffix (made if there is room for one
 * more), or NULL. */
static rc_detail_frame *frame_of(rc_cue *cue, const char *prefix, size_t plen, const char *suffix,
                                 size_t slen)
{
    for (size_t i = 0; i < cue->n_frames; i++) {
        rc_detail_frame *f = cue->frames[i];
        if (f->prefix_len == plen && f->suffix_len == slen && memcmp(f->text, prefix, plen) == 0 &&
            memcmp(f->text + plen, suffix, slen) == 0)
            return f;
    }
    if (cue->n_frames == RC_DETAIL_FRAMES) return NULL;
    rc_detail_frame *f = rc_malloc(&cue->alloc, sizeof *f + plen + slen + 1);
    if (!f) return NULL;
    f->prefix_len = plen;
    f->suffix_len = slen;
    memcpy(f->text, prefix, plen);
    memcpy(f->text + plen, suffix, slen);
    f->text[plen + slen] = 0;
    return cue->frames[cue->n_frames++] = f;
}

void rc_detail_frames_free(rc_cue *cue)
{
    for (size_t i = 0; i < cue->n_frames; i++)
        rc_free(&cue->alloc, cue->frames[i]);
    cue->n_frames = 0;
}

/* A frame the cue has that text (n bytes) is made of with key: the checks
 * of a run mostly word their details alike, and comparing with the frames
 * costs less than finding the key in the text. */
static rc_detail_frame *known_frame(const rc_cue *cue, const char *text, size_t n, const char *key,
                                    size_t klen)
{
    for (size_t i = 0; i < cue->n_frames; i++) {
        rc_detail_frame *f = cue->frames[i];
        const size_t p = f->prefix_len;
        if (p + klen + f->suffix_len == n && memcmp(text, f->text, p) == 0 &&
            memcmp(text + p, key, klen) == 0 &&
            memcmp(text + p + klen, f->text + p, f->suffix_len) == 0)
            return f;
    }
    return NULL;
}

/* Keep a check's detail (text, n bytes) on the work: as a frame when it is
 * the words around its wait key, else as a copy. */
static void keep_detail(rc_cue *cue, rc_work *w, const char *text, size_t n, const rc_keyent *key)
{
    rc_work_drop_detail(cue, w);
    if (!text) return;
    const size_t klen = key ? strlen(key->text) : 0;
    rc_detail_frame *known = key ? known_frame(cue, text, n, key->text, klen) : NULL;
    if (known) {
        w->detail = (char *)known;
        w->detail_framed = true;
        return;
    }
    const char *at = key ? memmem(text, n, key->text, klen) : NULL;
    if (at) {
        const size_t plen = (size_t)(at - text);
        rc_detail_frame *f = frame_of(cue, text, plen, at + klen, n - plen - klen);
        if (f) {
            w->detail = (char *)f;
            w->detail_framed = true;
            return;
        }
    }
    if ((w->detail = rc_small_alloc(&cue->small, &cue->alloc, n + 1)))
        memcpy(w->detail, text, n + 1);
}

/* Keep the words of an rc_check_detail_around around chk's wait key: as
 * the cue's frame of them, or (no room for another frame) as the text. */
static void keep_around(rc_cue *cue, rc_work *w, const rc_check *chk)
{
    const size_t plen = chk->around_plen;
    rc_detail_frame *f =
        frame_of(cue, chk->detail, plen, chk->detail + plen, chk->detail_len - plen);
    if (f) {
        rc_work_drop_detail(cue, w);
        w->detail = (char *)f;
        w->detail_framed = true;
        return;
    }
    char text[sizeof chk->detail], prefix[sizeof chk->detail];
    memcpy(prefix, chk->detail, plen);
    prefix[plen] = 0;
    const size_t n = join3(text, sizeof text, prefix, chk->key->text, chk->detail + plen);
    keep_detail(cue, w, text, n, chk->key);
}

static void file_waiting(rc_cue *cue, rc_work *w, rc_check *chk, int answer)
{
    char buf[64];
    rc_work_phase(cue, w, RC_PHASE_CHECKED);
    if (chk->has_detail && chk->around && chk->key)
        keep_around(cue, w, chk);
    else if (chk->has_detail)
        keep_detail(cue, w, chk->detail, chk->detail_len, chk->key);
    else if (answer < 0) {
        const int n = snprintf(buf, sizeof buf, "is_ready failed (returned %d)", answer);
        keep_detail(cue, w, buf,
                    n < 0                    ? 0
                    : (size_t)n < sizeof buf ? (size_t)n
                                             : sizeof buf - 1,
                    NULL);
    } else
        keep_detail(cue, w, NULL, 0, NULL);
    w->where = RC_W_WAITING;
    w->has_unmet = chk->any_unmet;
    w->unmet_small = (uint32_t)chk->unmet_small; /* at most RC_UNMET_SMALL bits */
    if (chk->unmet_big) {
        rc_work_cold *c = rc_work_cold_of(cue, w);
        if (c) {
            c->unmet_big = chk->unmet_big;
        } else {
            /* Out of memory: the diagnosis follows every declared need. */
            rc_free(&cue->alloc, chk->unmet_big);
            w->has_unmet = false;
        }
        chk->unmet_big = NULL;
    }
    cue->stats.waiting++;
    w->task->svc->waiting++;
    if (chk->key) {
        w->wait_key = chk->key;
        rc_ring_push_back(&chk->key->waiters, &w->link);
    } else {
        rc_dlist_push_back(&cue->waiting_any, &w->link);
    }
    rc_poll_arm(cue);
}

static void skip_work(rc_cue *cue, rc_work *w)
{
    rc_leave_pending(cue, w);
    w->state = RC_COMPLETED;
    w->skipped = true;
    cue->stats.skipped++;
    rc_to_finished(cue, w);
    rc_record_progress(cue);
    store_result(cue, w, NULL);
    announce_produces(cue, w);
    if (cue->hooks.on_skip) cue->hooks.on_skip(cue, w, cue->hooks.ud);
    rc_emit(cue, RC_EV_SKIPPED, w, "output valid", 0, 0);
}

/* Ask is_ready and is_stale.  The work is in no list while this runs. */
static int run_checks(rc_cue *cue, rc_work *w)
{
    rc_check chk;
    rc_check_init(&chk, cue, w);
    w->epoch = cue->epoch;
    cue->stats.checks++;
    const char *missing = rc_results_missing(cue, w);
    if (missing) {
        /* Result inputs come before the application's own checks. */
        rc_check_wait_on(&chk, missing);
        rc_check_detail(&chk, "result '%s' not there yet", missing);
        file_waiting(cue, w, &chk, 0);
        check_done(cue, &chk);
        return CHECK_WAITING;
    }
    int ready = 1;
    if (cue->hooks.is_ready) {
        w->where = RC_W_NONE;
        ready = cue->hooks.is_ready(cue, w, &chk, cue->hooks.ud);
    }
    bool gone = w->state != RC_PENDING || w->where != RC_W_NONE;
    if (gone || ready > 0) rc_free(&cue->alloc, chk.unmet_big);
    if (gone || ready <= 0) {
        if (!gone) file_waiting(cue, w, &chk, ready); /* takes chk.unmet_big */
        check_done(cue, &chk);
        return gone ? CHECK_GONE : CHECK_WAITING;
    }
    check_done(cue, &chk);
    if (cue->hooks.is_stale) {
        rc_check chk2;
        rc_check_init(&chk2, cue, NULL);
        int stale = cue->hooks.is_stale(cue, w, &chk2, cue->hooks.ud);
        check_done(cue, &chk2);
        if (w->state != RC_PENDING || w->where != RC_W_NONE) return CHECK_GONE;
        if (stale == 0) {
            skip_work(cue, w);
            return CHECK_SKIPPED;
        }
    }
    return CHECK_READY;
}

double rc_priority_eval(rc_cue *cue, const rc_work *w)
{
    rc_priority_ctx ctx = {
        rc_ns_to_s(rc_loop_now(cue->loop) - w->created),
        cue->stats.pending,
    };
    double p = cue->hooks.priority(cue, w, &ctx, cue->hooks.ud);
    if (isnan(p)) return 0.5;
    return p < 0 ? 0 : p > 1 ? 1 : p;
}

static double priority_of(rc_cue *cue, rc_work *w)
{
    return cue->hooks.priority ? rc_priority_eval(cue, w) : 0;
}

double rc_work_priority(rc_cue *cue, const rc_work *w)
{
    return cue && w && cue->hooks.priority ? rc_priority_eval(cue, w) : 0.5;
}

static void orphan(rc_cue *cue, rc_work *w)
{
    w->where = RC_W_ORPHAN;
    rc_dlist_push_back(&w->task->orphans, &w->link);
    cue->stats.waiting++;
    w->task->svc->waiting++;
}

static void enqueue(rc_cue *cue, rc_work *w)
{
    rc_svc *svc = w->task->svc;
    if (rc_runq_push(&cue->alloc, &svc->q, &w->q, priority_of(cue, w), w->id)) {
        /* No memory to queue it: park it unkeyed so the next change or poll
         * tries again, and say why. */
        rc_check chk;
        rc_check_init(&chk, cue, NULL);
        rc_check_detail(&chk, "out of memory while queueing; retried on the next change");
        file_waiting(cue, w, &chk, 0);
        return;
    }
    w->where = RC_W_QUEUED;
    rc_mark_runnable(cue, svc);
    rc_refresh_arm(cue);
}

static void check_work(rc_cue *cue, rc_work *w)
{
    if (!w->task->handler) {
        orphan(cue, w);
        return;
    }
    if (run_checks(cue, w) == CHECK_READY) enqueue(cue, w);
}

/* ---- starting ---- */

static void start_work(rc_cue *cue, rc_svc *s, rc_work *w)
{
    rc_time now = rc_loop_now(cue->loop);
    rc_leave_pending(cue, w);
    w->state = RC_RUNNING;
    w->where = RC_W_RUNNING;
    w->started = now;
    rc_work_phase(cue, w, RC_PHASE_RUNNING);
    /* Best effort: without memory the handler sees params without inputs. */
    (void)rc_results_fill(cue, w);
    s->running++;
    if (s->running > s->peak_running) s->peak_running = s->running;
    s->started++;
    rc_rate_record(&cue->alloc, &s->rate, now);
    cue->stats.running++;
    if (cue->running_refs++ == 0) rc_loop_ref(cue->loop);
    rc_record_progress(cue);
    if (cue->hooks.on_start) cue->hooks.on_start(cue, w, cue->hooks.ud);
    rc_emit(cue, RC_EV_STARTED, w, "", 0, 0);
    rc_token tok = {w->id, w->attempt, w};
    rc_taskdef *t = w->task;
    /* From here the handler owns the attempt; w may be finished (and even
     * forgotten) by the time it returns. */
    t->handler(cue, w, tok, t->ud);
}

/* Whether a queued work is to be checked again before it starts: an
 * announcement since its last check, and with recheck_declared_only one
 * that was cue-wide or named one of its declared keys. */
static bool needs_recheck(const rc_cue *cue, const rc_work *w)
{
    if (w->epoch == cue->epoch) return false;
    if (!cue->opts.recheck_declared_only || w->epoch < cue->epoch_all || w->has_flow) return true;
    const size_t n = (size_t)w->n_needs + w->n_produces;
    for (size_t i = 0; i < n; i++)
        if (RC_KEYENT_OF(w->needs[i])->changed > w->epoch) return true;
    return false;
}

static void dispatch_service(rc_cue *cue, rc_svc *s)
{
    rc_time now = rc_loop_now(cue->loop);
    /* paused is re-read each time: a handler or callback may pause the cue. */
    while (!cue->paused && rc_runq_len(&s->q)) {
        if (s->concurrent != RC_NO_LIMIT && s->running >= (size_t)s->concurrent) return;
        rc_time next = rc_rate_next_allowed(&s->rate);
        if (next > now) {
            if (!rc_timer_active(&s->rate_timer) || s->rate_timer.when != next)
                rc_timer_start(cue->loop, &s->rate_timer, next);
            return;
        }
        rc_work *w = RC_CONTAINER(rc_runq_pop(&s->q), rc_work, q);
        w->where = RC_W_NONE;
        /* The next one's record is asked for now: starting this one takes
         * long enough for a miss to memory to be over by then. */
        rc_qnode *upcoming = rc_runq_peek(&s->q);
        if (upcoming) {
            const char *rec = (const char *)RC_CONTAINER(upcoming, rc_work, q);
            __builtin_prefetch(rec);
            __builtin_prefetch(rec + 64);
        }
        if (!w->task->handler) {
            orphan(cue, w);
            continue;
        }
        /* Artifacts changed since it was checked: ask again before it runs. */
        if (needs_recheck(cue, w) && run_checks(cue, w) != CHECK_READY) continue;
        start_work(cue, s, w);
        /* A safe point: no callback is on the stack and no work pointer is
         * held across iterations. */
        if (rc_forget_due(cue)) rc_cue_forget_finished(cue);
    }
}

void rc_rate_timer_fire(rc_loop *loop, rc_timer *t, void *arg)
{
    (void)loop;
    (void)t;
    rc_svc *s = arg;
    rc_mark_runnable(s->cue, s);
}

/* Ask for what checking the dirty works after d will read, in stages: the
 * third one's record, the second one's needs block, the next one's key
 * entries.  Each was asked for a step earlier, so by the time a work is
 * checked its record, needs and entries have had two checks' time to
 * arrive (a check of work that needs keys picked at random from a large
 * set otherwise waits on memory once per need). */
static void prefetch_dirty(const rc_cue *cue, const rc_dnode *d)
{
    const rc_dnode *d1 = rc_dlist_next(&cue->dirty, d);
    if (!d1) return;
    /* Work with one need or none gains little: its one entry is usually
     * the one just announced, still in cache. */
    const rc_work *w1 = RC_CONTAINER(d1, rc_work, link);
    if (w1->n_needs > 1) rc_work_prefetch_keys(w1);
    const rc_dnode *d2 = rc_dlist_next(&cue->dirty, d1);
    if (!d2) return;
    const rc_work *w2 = RC_CONTAINER(d2, rc_work, link);
    if (w2->n_needs > 1) __builtin_prefetch(w2->needs);
    const rc_dnode *d3 = rc_dlist_next(&cue->dirty, d2);
    if (!d3) return;
    const char *rec = (const char *)RC_CONTAINER(d3, rc_work, link);
    __builtin_prefetch(rec);
    __builtin_prefetch(rec + 64);
}

static void run_pass(rc_cue *cue)
{
    cue->in_pass = true;
    cue->stats.passes++;
    for (;;) {
        /* Finished work is forgotten only here, never under a callback that
         * may still hold it. */
        if (rc_forget_due(cue)) rc_cue_forget_finished(cue);
        rc_dnode *d = rc_dlist_first(&cue->dirty);
        if (d) {
            rc_work *w = RC_CONTAINER(d, rc_work, link);
            prefetch_dirty(cue, d);
            rc_dlist_remove(&cue->dirty, d);
            w->where = RC_W_NONE;
            check_work(cue, w);
            continue;
        }
        rc_svc *s = pop_runnable(cue);
        if (!s) break;
        dispatch_service(cue, s);
    }
    cue->in_pass = false;
}

void rc_pass_cb(rc_loop *loop, void *arg)
{
    (void)loop;
    rc_cue *cue = arg;
    run_pass(cue);
    rc_observe_changed(cue);
}

/* ---- artifacts ---- */

static int cmp_work_id(const void *a, const void *b)
{
    rc_work_id x = (*(rc_work *const *)a)->id, y = (*(rc_work *const *)b)->id;
    return x < y ? -1 : x > y;
}

static void wake_list(rc_cue *cue, rc_dlist *list)
{
    while (list->len)
        rc_make_dirty(cue, RC_CONTAINER(rc_dlist_first(list), rc_work, link));
}

int rc_artifacts_changed(rc_cue *cue, const char *key)
{
    if (!cue) return RC_EINVAL;
    rc_emit(cue, RC_EV_ARTIFACTS_CHANGED, NULL, key ? key : "all", 0, 0);
    return rc_recheck_waiting(cue, key);
}

/* The waiters of e and the unkeyed ones become dirty. */
static void wake_entry(rc_cue *cue, rc_keyent *e)
{
    cue->epoch++;
    if (e) e->changed = cue->epoch;
    if (e && e->waiters.first) {
        while (rc_ring_many(&e->waiters))
            rc_make_dirty(cue, RC_CONTAINER(e->waiters.first, rc_work, link));
        /* The last one may free the entry. */
        rc_make_dirty(cue, RC_CONTAINER(e->waiters.first, rc_work, link));
    }
    wake_list(cue, &cue->waiting_any);
    rc_request_pass(cue);
}

/* rc_artifacts_changed for a key the caller holds an entry of. */
static void changed_entry(rc_cue *cue, rc_keyent *e)
{
    rc_emit(cue, RC_EV_ARTIFACTS_CHANGED, NULL, e->text, 0, 0);
    wake_entry(cue, e);
}

int rc_artifacts_changed_key(rc_cue *cue, rc_key *key)
{
    if (!cue || !key) return RC_EINVAL;
    changed_entry(cue, (rc_keyent *)key);
    return 0;
}

int rc_recheck_waiting(rc_cue *cue, const char *key)
{
    if (key) {
        wake_entry(cue, rc_keytab_find(&cue->keys, key));
        return 0;
    }
    cue->epoch++;
    cue->epoch_all = cue->epoch;
    /* Everything waiting: in id order, so the checks run in a stable order
     * whatever the buckets' hash order. */
    size_t n = cue->stats.waiting;
    if (n == 0) {
        rc_request_pass(cue);
        return 0;
    }
    rc_work **all = rc_malloc(&cue->alloc, n * sizeof *all);
    if (!all) {
        /* Without memory to sort, wake in list order: still deterministic. */
        rc_work *w;
        RC_FOR_EACH_WORK(cue, w)
        {
            if (w->where == RC_W_WAITING) rc_make_dirty(cue, w);
        }
        rc_request_pass(cue);
        return RC_ENOMEM;
    }
    size_t k = 0;
    for (rc_dnode *d = rc_dlist_first(&cue->waiting_any); d;
         d = rc_dlist_next(&cue->waiting_any, d))
        all[k++] = RC_CONTAINER(d, rc_work, link);
    if (k < n) {
        /* Keyed waiters: walk the work list rather than the hash table. */
        rc_work *w;
        RC_FOR_EACH_WORK(cue, w)
        {
            if (w->where == RC_W_WAITING && w->wait_key && k < n) all[k++] = w;
        }
    }
    qsort(all, k, sizeof *all, cmp_work_id);
    for (size_t i = 0; i < k; i++)
        rc_make_dirty(cue, all[i]);
    rc_free(&cue->alloc, all);
    rc_request_pass(cue);
    return 0;
}

/* ---- delays ---- */

/* ---- finishing ---- */

enum { FIN_COMPLETE, FIN_FAIL, FIN_RETRY, FIN_PROGRESS };

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static rc_time backoff(rc_taskdef *t, unsigned failed_attempt)
{
    const rc_retry_policy *p = &t->retry;
    double d = p->base_s;
    if (p->exponential)
        for (unsigned i = 1; i < failed_attempt && d < 1e9; i++)
            d *= 2;
    if (p->max_s > 0 && d > p->max_s) d = p->max_s;
    if (p->jitter > 0) {
        double u = (double)(splitmix64(&t->rng) >> 11) / 9007199254740992.0; /* [0,1) */
        d *= 1 + p->jitter * (2 * u - 1);
    }
    return rc_seconds(d < 0 ? 0 : d);
}

/* The work a token names, or NULL.  By id: a forgotten work's record (and
 * its slab) may be gone, so the token's pointer is never read. */
static rc_work *token_work(rc_cue *cue, rc_token tok)
{
    return rc_idtable_get(&cue->works, tok.work_id);
}

static int finish(rc_cue *cue, rc_token tok, int how, cJSON *result, const char *error)
{
    rc_work *w = token_work(cue, tok);
    if (!w || w->state != RC_RUNNING || w->attempt != tok.attempt) {
        cJSON_Delete(result);
        cue->stats.stale_finishes++;
        if (!w && (tok.work_id == 0 || tok.work_id >= cue->next_id)) {
            rc_cue_set_error(cue, "finish: no work with id %llu", (unsigned long long)tok.work_id);
            return RC_ENOENT;
        }
        rc_cue_set_error(cue, "finish: work %llu attempt %u is already over",
                         (unsigned long long)tok.work_id, tok.attempt);
        rc_emit(cue, RC_EV_STALE_FINISH, w, cue->errmsg, 0, 0);
        return RC_ESTALE;
    }
    rc_svc *s = w->task->svc;
    rc_time now = rc_loop_now(cue->loop);
    double ran = rc_ns_to_s(now - w->started);
    s->running--;
    cue->stats.running--;
    if (--cue->running_refs == 0) rc_loop_unref(cue->loop);
    rc_mark_runnable(cue, s);
    rc_record_progress(cue);

    rc_taskdef *t = w->task;
    w->retry_asked = how == FIN_RETRY;
    if (how == FIN_RETRY && t->has_retry && w->attempt < t->retry.max_attempts) {
        rc_time wait = backoff(t, w->attempt);
        char detail[320];
        snprintf(detail, sizeof detail, "attempt %u failed: %s; attempt %u at t=%.3fs", w->attempt,
                 error && *error ? error : "failed", w->attempt + 1, rc_ns_to_s(now + wait));
        rc_work_set_error(cue, w, error);
        w->attempt++;
        w->state = RC_PENDING;
        w->warned = false;
        cue->stats.pending++;
        cue->stats.retries++;
        rc_emit(cue, RC_EV_RETRY, w, detail, ran, 0);
        if (w->state == RC_PENDING && w->where == RC_W_RUNNING) {
            w->where = RC_W_NONE;
            rc_schedule_delay(cue, w, now + wait);
        }
        return 0;
    }
    if (how == FIN_COMPLETE) {
        w->state = RC_COMPLETED;
        rc_work_keep_result(w, result);
        s->completed++;
        cue->stats.completed++;
        rc_to_finished(cue, w);
        store_result(cue, w, result);
        announce_produces(cue, w);
        if (cue->hooks.on_complete) cue->hooks.on_complete(cue, w, result, ran, cue->hooks.ud);
        rc_emit(cue, RC_EV_COMPLETED, w, "", ran, 0);
    } else {
        s->failed++;
        rc_finish_failed(cue, w, RC_FAIL_HANDLER, error);
    }
    return 0;
}

/* ---- progress ---- */

static int progress(rc_cue *cue, rc_token tok, double fraction, const char *message)
{
    rc_work *w = token_work(cue, tok);
    if (!w) {
        rc_cue_set_error(cue, "progress: no work with id %llu", (unsigned long long)tok.work_id);
        return RC_ENOENT;
    }
    if (w->state != RC_RUNNING || w->attempt != tok.attempt) {
        rc_cue_set_error(cue, "progress: work %llu attempt %u is not running",
                         (unsigned long long)tok.work_id, tok.attempt);
        return RC_ESTALE;
    }
    char msg[RC_PROGRESS_MSG_MAX];
    snprintf(msg, sizeof msg, "%s", message ? message : "");
    w->progress = fraction;
    rc_work_cold *c = msg[0] || w->cold ? rc_work_cold_of(cue, w) : NULL;
    if (c) {
        rc_free(&cue->alloc, c->progress_msg);
        c->progress_msg = msg[0] ? rc_strdup(&cue->alloc, msg) : NULL;
    }
    rc_emit_progress(cue, w, fraction, msg);
    return 0;
}

/* ---- from any thread ---- */

/* A finish or a progress report from another thread, on its way to the
 * loop.  `text` is the error or the progress message. */
typedef struct posted_finish {
    rc_cue *cue;
    rc_token tok;
    int how;
    cJSON *result;
    double fraction;
    char text[];
} posted_finish;

static int finish_or_progress(rc_cue *cue, rc_token tok, int how, cJSON *result, double fraction,
                              const char *text)
{
    if (how == FIN_PROGRESS) return progress(cue, tok, fraction, text);
    return finish(cue, tok, how, result, text);
}

static void posted_finish_run(rc_loop *loop, void *arg)
{
    (void)loop;
    posted_finish *pf = arg;
    rc_cue *cue = pf->cue;
    finish_or_progress(cue, pf->tok, pf->how, pf->result, pf->fraction, pf->text);
    rc_free(&cue->alloc, pf);
}

static int finish_any_thread(rc_cue *cue, rc_token tok, int how, cJSON *result, double fraction,
                             const char *text)
{
    if (rc_loop_on_thread(cue->loop))
        return finish_or_progress(cue, tok, how, result, fraction, text);
    size_t n = text ? strlen(text) + 1 : 1;
    if (how == FIN_PROGRESS && n > RC_PROGRESS_MSG_MAX) n = RC_PROGRESS_MSG_MAX;
    posted_finish *pf = rc_malloc(&cue->alloc, sizeof *pf + n);
    if (!pf) {
        cJSON_Delete(result);
        return RC_ENOMEM;
    }
    pf->cue = cue;
    pf->tok = tok;
    pf->how = how;
    pf->result = result;
    pf->fraction = fraction;
    memcpy(pf->text, text ? text : "", n - 1);
    pf->text[n - 1] = 0;
    int rc = rc_loop_post(cue->loop, posted_finish_run, pf);
    if (rc) {
        cJSON_Delete(result);
        rc_free(&cue->alloc, pf);
    }
    return rc;
}

int rc_complete(rc_cue *cue, rc_token token, cJSON *result)
{
    if (!cue) {
        cJSON_Delete(result);
        return RC_EINVAL;
    }
    return finish_any_thread(cue, token, FIN_COMPLETE, result, 0, NULL);
}

int rc_fail(rc_cue *cue, rc_token token, const char *error)
{
    if (!cue) return RC_EINVAL;
    return finish_any_thread(cue, token, FIN_FAIL, NULL, 0, error);
}

int rc_retry(rc_cue *cue, rc_token token, const char *error)
{
    if (!cue) return RC_EINVAL;
    return finish_any_thread(cue, token, FIN_RETRY, NULL, 0, error);
}

int rc_progress(rc_cue *cue, rc_token token, double fraction, const char *message)
{
    if (!cue) return RC_EINVAL;
    if (!(fraction >= 0 && fraction <= 1)) {
        if (rc_loop_on_thread(cue->loop))
            rc_cue_set_error(cue, "progress: fraction %g is not between 0 and 1", fraction);
        return RC_EINVAL;
    }
    return finish_any_thread(cue, token, FIN_PROGRESS, NULL, fraction, message);
}

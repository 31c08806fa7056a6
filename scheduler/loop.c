/* loop.c -- timers, deferred calls, cross-thread posts and fds on one thread.
 *
 * An iteration: run posts from other threads, run every timer that is due,
 * then run the calls deferred to the end of the iteration (the scheduler's
 * dispatch pass is one: many completions at one instant coalesce into it).
 * Then wait -- on the virtual clock, jump -- to the next timer. */
#include "loop_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void rc_loop_set_error(rc_loop *loop, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(loop->errmsg, sizeof loop->errmsg, fmt, ap);
    va_end(ap);
}

static bool has_deferred(const rc_loop *loop);
static void defer_unlink(rc_defer *d);
static void call_defer_cb(rc_loop *loop, void *arg);

bool rc_loop_on_thread(const rc_loop *loop)
{
    /* Other threads read owner while the loop thread may (re)write it at the
     * start of a run: atomics keep that well defined. */
    if (!loop) return false;
    pthread_t owner;
    __atomic_load(&loop->owner, &owner, __ATOMIC_ACQUIRE);
    return pthread_equal(pthread_self(), owner) != 0;
}

static void call_fire(rc_loop *loop, rc_timer *timer, void *arg)
{
    (void)timer;
    rc_call_timer *c = arg;
    rc_call_fn fn = c->fn;
    void *fn_arg = c->arg;
    c->next_free = loop->free_calls;
    loop->free_calls = c;
    fn(loop, fn_arg);
}

int rc_loop_new(rc_loop **out, const rc_loop_opts *opts)
{
    if (!out) return RC_EINVAL;
    *out = NULL;
    rc_loop_opts defaults = {0};
    if (!opts) opts = &defaults;
    if (opts->clock != RC_CLOCK_VIRTUAL && opts->clock != RC_CLOCK_MONOTONIC) return RC_EINVAL;
    rc_alloc a = rc_alloc_from(opts->alloc);
    rc_loop *loop = rc_calloc(&a, 1, sizeof *loop);
    if (!loop) return RC_ENOMEM;
    loop->alloc = a;
    loop->clock = opts->clock;
    loop->backend =
        opts->clock == RC_CLOCK_VIRTUAL ? &rc_clock_virtual_backend : &rc_clock_mono_backend;
    loop->now = opts->clock == RC_CLOCK_VIRTUAL ? opts->start : 0;
    loop->owner = pthread_self();
    loop->epfd = loop->wakefd = -1;
    loop->deferred.next = loop->deferred.prev = &loop->deferred;
    loop->deferred.fn = NULL;
    if (pthread_mutex_init(&loop->post_lock, NULL) != 0) {
        rc_free(&a, loop);
        return RC_ESYS;
    }
    int rc = loop->backend->init(loop);
    if (rc) {
        pthread_mutex_destroy(&loop->post_lock);
        rc_free(&a, loop);
        return rc;
    }
    loop->backend->update(loop);
    *out = loop;
    return 0;
}

void rc_loop_free(rc_loop *loop)
{
    if (!loop) return;
    rc_alloc a = loop->alloc;
    loop->backend->fini(loop);
    for (rc_post *p = loop->posts; p;) {
        rc_post *next = p->next;
        rc_free(&a, p);
        p = next;
    }
    for (rc_call_timer *c = loop->free_calls; c;) {
        rc_call_timer *next = c->next_free;
        rc_free(&a, c);
        c = next;
    }
    /* One-shot timers of rc_loop_call_at still armed belong to the loop. */
    for (size_t i = 0; i < loop->heap_len; i++)
        if (loop->heap[i]->cb == call_fire) rc_free(&a, loop->heap[i]->arg);
    rc_free(&a, loop->heap);
    /* Caller-owned handles still pending are simply dropped; the loop's own
     * (rc_loop_defer) go back to the free list first. */
    while (has_deferred(loop)) {
        rc_defer *d = loop->deferred.next;
        defer_unlink(d);
        if (d->fn == call_defer_cb) {
            rc_call_defer *c = d->arg;
            c->next_free = loop->free_defers;
            loop->free_defers = c;
        }
    }
    for (rc_call_defer *c = loop->free_defers; c;) {
        rc_call_defer *next = c->next_free;
        rc_free(&a, c);
        c = next;
    }
    rc_free(&a, loop->fds);
    pthread_mutex_destroy(&loop->post_lock);
    rc_free(&a, loop);
}

rc_time rc_loop_now(const rc_loop *loop)
{
    return loop ? loop->now : 0;
}

rc_time rc_loop_next_timer(const rc_loop *loop)
{
    return loop && loop->heap_len ? loop->heap[0]->when : RC_TIME_NEVER;
}

rc_clock_kind rc_loop_clock(const rc_loop *loop)
{
    return loop ? loop->clock : RC_CLOCK_VIRTUAL;
}

const char *rc_loop_errmsg(const rc_loop *loop)
{
    return loop ? loop->errmsg : "";
}

void rc_loop_ref(rc_loop *loop)
{
    if (loop) loop->refs++;
}

void rc_loop_unref(rc_loop *loop)
{
    if (loop && loop->refs > 0) loop->refs--;
}

void rc_loop_stop(rc_loop *loop)
{
    if (!loop) return;
    __atomic_store_n(&loop->stop, 1, __ATOMIC_RELEASE);
    loop->backend->wake(loop);
}

/* ---- timers: a binary min-heap on (when, seq) ---- */

static bool timer_before(const rc_timer *a, const rc_timer *b)
{
    if (a->when != b->when) return a->when < b->when;
    return a->seq < b->seq;
}

static void heap_place(rc_loop *loop, size_t i, rc_timer *t)
{
    loop->heap[i] = t;
    t->heap_index = i;
}

static void heap_up(rc_loop *loop, size_t i)
{
    rc_timer *t = loop->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_before(t, loop->heap[parent])) break;
        heap_place(loop, i, loop->heap[parent]);
        i = parent;
    }
    heap_place(loop, i, t);
}

static void heap_down(rc_loop *loop, size_t i)
{
    rc_timer *t = loop->heap[i];
    for (;;) {
        size_t l = 2 * i + 1, best = i;
        rc_timer *bt = t;
        if (l < loop->heap_len && timer_before(loop->heap[l], bt)) best = l, bt = loop->heap[l];
        if (l + 1 < loop->heap_len && timer_before(loop->heap[l + 1], bt))
            best = l + 1, bt = loop->heap[l + 1];
        if (best == i) break;
        heap_place(loop, i, bt);
        i = best;
    }
    heap_place(loop, i, t);
}

void rc_timer_init(rc_timer *timer, rc_timer_fn cb, void *arg)
{
    if (!timer) return;
    memset(timer, 0, sizeof *timer);
    timer->cb = cb;
    timer->arg = arg;
}

bool rc_timer_active(const rc_timer *timer)
{
    return timer && (timer->flags & RC_TIMER_ACTIVE) != 0;
}

void rc_timer_set_ref(rc_timer *timer, bool ref)
{
    /* The flag is read when the timer is armed: an armed timer is counted
     * as it was then until it is disarmed (RC_TIMER_COUNTED). */
    if (!timer) return;
    if (ref)
        timer->flags &= ~(unsigned)RC_TIMER_UNREF;
    else
        timer->flags |= RC_TIMER_UNREF;
}

void rc_timer_stop(rc_loop *loop, rc_timer *timer)
{
    if (!loop || !rc_timer_active(timer)) return;
    size_t i = timer->heap_index;
    if (timer->flags & RC_TIMER_COUNTED) loop->refd_timers--;
    timer->flags &= ~(unsigned)(RC_TIMER_ACTIVE | RC_TIMER_COUNTED);
    loop->heap_len--;
    if (i != loop->heap_len) {
        heap_place(loop, i, loop->heap[loop->heap_len]);
        heap_down(loop, i);
        heap_up(loop, i);
    }
}

int rc_timer_start(rc_loop *loop, rc_timer *timer, rc_time when)
{
    if (!loop || !timer || !timer->cb) return RC_EINVAL;
    bool was_active = rc_timer_active(timer);
    if (!was_active &&
        rc_grow(&loop->alloc, (void **)&loop->heap, &loop->heap_cap, loop->heap_len + 1,
                sizeof *loop->heap))
        return RC_ENOMEM;
    if (was_active) rc_timer_stop(loop, timer);
    timer->when = when < loop->now ? loop->now : when;
    timer->seq = ++loop->timer_seq;
    timer->flags |= RC_TIMER_ACTIVE;
    if (!(timer->flags & RC_TIMER_UNREF)) {
        timer->flags |= RC_TIMER_COUNTED;
        loop->refd_timers++;
    }
    loop->heap[loop->heap_len++] = timer;
    heap_up(loop, loop->heap_len - 1);
    return 0;
}

int rc_loop_call_at(rc_loop *loop, rc_time when, rc_call_fn fn, void *arg)
{
    if (!loop || !fn) return RC_EINVAL;
    rc_call_timer *c = loop->free_calls;
    if (c)
        loop->free_calls = c->next_free;
    else if (!(c = rc_malloc(&loop->alloc, sizeof *c)))
        return RC_ENOMEM;
    rc_timer_init(&c->timer, call_fire, c);
    c->fn = fn;
    c->arg = arg;
    int rc = rc_timer_start(loop, &c->timer, when);
    if (rc) {
        c->next_free = loop->free_calls;
        loop->free_calls = c;
    }
    return rc;
}

/* ---- deferred calls and posts ---- */

void rc_defer_init(rc_defer *d, rc_call_fn fn, void *arg)
{
    if (!d) return;
    d->prev = d->next = NULL;
    d->fn = fn;
    d->arg = arg;
}

bool rc_defer_pending(const rc_defer *d)
{
    return d && d->next != NULL;
}

static void defer_append(rc_defer *head, rc_defer *d)
{
    d->prev = head->prev;
    d->next = head;
    head->prev->next = d;
    head->prev = d;
}

static void defer_unlink(rc_defer *d)
{
    d->prev->next = d->next;
    d->next->prev = d->prev;
    d->prev = d->next = NULL;
}

void rc_defer_request(rc_loop *loop, rc_defer *d)
{
    if (loop && d && d->fn && !rc_defer_pending(d)) defer_append(&loop->deferred, d);
}

void rc_defer_cancel(rc_loop *loop, rc_defer *d)
{
    (void)loop;
    if (rc_defer_pending(d)) defer_unlink(d);
}

static void call_defer_cb(rc_loop *loop, void *arg)
{
    rc_call_defer *c = arg;
    rc_call_fn fn = c->fn;
    void *fn_arg = c->arg;
    c->next_free = loop->free_defers;
    loop->free_defers = c;
    fn(loop, fn_arg);
}

int rc_loop_defer(rc_loop *loop, rc_call_fn fn, void *arg)
{
    if (!loop || !fn) return RC_EINVAL;
    for (rc_defer *d = loop->deferred.next; d != &loop->deferred; d = d->next) {
        if (d->fn != call_defer_cb) continue;
        const rc_call_defer *c = d->arg;
        if (c->fn == fn && c->arg == arg) return 0;
    }
    rc_call_defer *c = loop->free_defers;
    if (c)
        loop->free_defers = c->next_free;
    else if (!(c = rc_malloc(&loop->alloc, sizeof *c)))
        return RC_ENOMEM;
    c->fn = fn;
    c->arg = arg;
    rc_defer_init(&c->defer, call_defer_cb, c);
    rc_defer_request(loop, &c->defer);
    return 0;
}

int rc_loop_post(rc_loop *loop, rc_call_fn fn, void *arg)
{
    if (!loop || !fn) return RC_EINVAL;
    rc_post *p = rc_malloc(&loop->alloc, sizeof *p);
    if (!p) return RC_ENOMEM;
    p->next = NULL;
    p->fn = fn;
    p->arg = arg;
    pthread_mutex_lock(&loop->post_lock);
    if (loop->posts_tail)
        loop->posts_tail->next = p;
    else
        loop->posts = p;
    loop->posts_tail = p;
    __atomic_store_n(&loop->has_posts, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&loop->post_lock);
    loop->backend->wake(loop);
    return 0;
}

static void run_posts(rc_loop *loop)
{
    if (!__atomic_load_n(&loop->has_posts, __ATOMIC_ACQUIRE)) return;
    pthread_mutex_lock(&loop->post_lock);
    rc_post *p = loop->posts;
    loop->posts = loop->posts_tail = NULL;
    __atomic_store_n(&loop->has_posts, 0, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&loop->post_lock);
    while (p) {
        rc_post *next = p->next;
        rc_call_fn fn = p->fn;
        void *arg = p->arg;
        rc_free(&loop->alloc, p);
        fn(loop, arg);
        p = next;
    }
}

static void run_due_timers(rc_loop *loop)
{
    while (loop->heap_len && loop->heap[0]->when <= loop->now) {
        rc_timer *t = loop->heap[0];
        rc_timer_stop(loop, t);
        t->cb(loop, t, t->arg);
    }
}

static bool has_deferred(const rc_loop *loop)
{
    return loop->deferred.next != &loop->deferred;
}

static void run_deferred(rc_loop *loop)
{
    while (has_deferred(loop)) {
        /* Take the whole list, so calls deferred while it runs land in the
         * next round.  A handle cancelled meanwhile simply leaves it. */
        rc_defer run;
        run.next = loop->deferred.next;
        run.prev = loop->deferred.prev;
        run.next->prev = &run;
        run.prev->next = &run;
        loop->deferred.next = loop->deferred.prev = &loop->deferred;
        while (run.next != &run) {
            rc_defer *d = run.next;
            defer_unlink(d);
            d->fn(loop, d->arg);
        }
        /* Timers armed for "now" by those calls run before more deferred work,
         * so their effects coalesce into the next pass. */
        run_due_timers(loop);
    }
}

/* ---- fds ---- */

int rc_loop_watch_fd(rc_loop *loop, int fd, unsigned events, rc_fd_fn cb, void *arg)
{
    if (!loop) return RC_EINVAL;
    if (fd < 0 || !cb || !(events & (RC_READABLE | RC_WRITABLE))) {
        rc_loop_set_error(loop, "watch fd %d: %s", fd,
                          fd < 0 ? "not a file descriptor"
                          : !cb  ? "no callback"
                                 : "no events (RC_READABLE and/or RC_WRITABLE)");
        return RC_EINVAL;
    }
    if (!loop->backend->watch) {
        rc_loop_set_error(loop, "file descriptors can only be watched on the monotonic clock");
        return RC_ESTATE;
    }
    for (size_t i = 0; i < loop->nfds; i++) {
        if (loop->fds[i].fd == fd) {
            int rc = loop->backend->watch(loop, fd, events, false);
            if (rc) return rc;
            loop->fds[i] = (rc_fdwatch){fd, events, cb, arg};
            return 0;
        }
    }
    if (rc_grow(&loop->alloc, (void **)&loop->fds, &loop->fds_cap, loop->nfds + 1,
                sizeof *loop->fds))
        return RC_ENOMEM;
    int rc = loop->backend->watch(loop, fd, events, true);
    if (rc) return rc;
    loop->fds[loop->nfds++] = (rc_fdwatch){fd, events, cb, arg};
    return 0;
}

int rc_loop_unwatch_fd(rc_loop *loop, int fd)
{
    if (!loop) return RC_EINVAL;
    for (size_t i = 0; i < loop->nfds; i++) {
        if (loop->fds[i].fd != fd) continue;
        loop->backend->watch(loop, fd, 0, false);
        loop->fds[i] = loop->fds[--loop->nfds];
        return 0;
    }
    return RC_ENOENT;
}

void rc_loop_fd_ready(rc_loop *loop, int fd, unsigned events)
{
    for (size_t i = 0; i < loop->nfds; i++) {
        if (loop->fds[i].fd == fd) {
            rc_fdwatch w = loop->fds[i];
            w.cb(loop, fd, events, w.arg);
            return;
        }
    }
}

/* ---- running ---- */

static bool alive(const rc_loop *loop)
{
    return loop->refd_timers > 0 || loop->refs > 0 || loop->nfds > 0 || has_deferred(loop);
}

static int run(rc_loop *loop, rc_run_mode mode, rc_time until)
{
    pthread_t self = pthread_self();
    __atomic_store(&loop->owner, &self, __ATOMIC_RELEASE);
    __atomic_store_n(&loop->stop, 0, __ATOMIC_RELEASE);
    for (;;) {
        loop->backend->update(loop);
        run_posts(loop);
        run_due_timers(loop);
        run_deferred(loop);

        if (__atomic_load_n(&loop->stop, __ATOMIC_ACQUIRE)) return alive(loop) ? 1 : 0;
        if (__atomic_load_n(&loop->has_posts, __ATOMIC_ACQUIRE)) {
            if (mode == RC_RUN_DEFAULT) continue;
            return 1;
        }
        if (until != RC_TIME_NEVER && loop->now >= until) return alive(loop) ? 1 : 0;
        if (!alive(loop)) {
            /* Idle.  run_until on the virtual clock still lets unreferenced
             * timers before `until` fire, then sets the clock to `until`. */
            if (until == RC_TIME_NEVER || loop->clock != RC_CLOCK_VIRTUAL) return 0;
            if (loop->heap_len == 0 || loop->heap[0]->when > until) {
                loop->now = until;
                return 0;
            }
        }
        if (mode == RC_RUN_NOWAIT) return alive(loop) ? 1 : 0;

        rc_time deadline = loop->heap_len ? loop->heap[0]->when : RC_TIME_NEVER;
        if (until != RC_TIME_NEVER && until < deadline) deadline = until;
        int rc = loop->backend->wait(loop, deadline);
        if (rc < 0) return rc;
        if (rc == 0) return 1; /* virtual clock: alive but nothing can happen */
        if (mode == RC_RUN_ONCE) {
            loop->backend->update(loop);
            run_posts(loop);
            run_due_timers(loop);
            run_deferred(loop);
            return alive(loop) ? 1 : 0;
        }
    }
}

int rc_loop_run(rc_loop *loop, rc_run_mode mode)
{
    if (!loop) return RC_EINVAL;
    if (mode != RC_RUN_DEFAULT && mode != RC_RUN_ONCE && mode != RC_RUN_NOWAIT) {
        rc_loop_set_error(loop, "rc_loop_run: unknown mode %d", (int)mode);
        return RC_EINVAL;
    }
    return run(loop, mode, RC_TIME_NEVER);
}

int rc_loop_run_until(rc_loop *loop, rc_time until)
{
    if (!loop) return RC_EINVAL;
    return run(loop, RC_RUN_DEFAULT, until);
}

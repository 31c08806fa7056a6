/* loop_internal.h -- the event loop's insides, shared by loop.c and the two
 * clock backends.  Like Redis's ae.c: one loop, a small backend interface, a
 * backend per clock chosen when the loop is made. */
#ifndef RC_LOOP_INTERNAL_H
#define RC_LOOP_INTERNAL_H

#include <pthread.h>

#include "alloc.h"
#include "loop.h"
#include "runcue.h"

/* COUNTED: the timer was referenced when armed, so it is in refd_timers until
 * it is disarmed, whatever rc_timer_set_ref says meanwhile. */
enum { RC_TIMER_ACTIVE = 1, RC_TIMER_UNREF = 2, RC_TIMER_COUNTED = 4 };

typedef struct rc_clock_backend {
    const char *name;
    int (*init)(rc_loop *loop);
    void (*fini)(rc_loop *loop);
    /* Read the clock into loop->now. */
    void (*update)(rc_loop *loop);
    /* Wait until `deadline` (RC_TIME_NEVER: no deadline) or until woken by a
     * post or an fd event, dispatching fd events.  Returns 1 if it waited (or
     * jumped), 0 if it cannot wait for anything (virtual clock, no deadline),
     * negative on a system error. */
    int (*wait)(rc_loop *loop, rc_time deadline);
    /* Wake a waiting loop from any thread. */
    void (*wake)(rc_loop *loop);
    int (*watch)(rc_loop *loop, int fd, unsigned events, bool add);
} rc_clock_backend;

extern const rc_clock_backend rc_clock_virtual_backend;
extern const rc_clock_backend rc_clock_mono_backend;

typedef struct rc_post {
    struct rc_post *next;
    rc_call_fn fn;
    void *arg;
} rc_post;

/* rc_loop_defer's own handles, kept on a free list. */
typedef struct rc_call_defer {
    rc_defer defer;
    rc_call_fn fn;
    void *arg;
    struct rc_call_defer *next_free;
} rc_call_defer;

typedef struct rc_fdwatch {
    int fd;
    unsigned events;
    rc_fd_fn cb;
    void *arg;
} rc_fdwatch;

typedef struct rc_call_timer {
    rc_timer timer;
    rc_call_fn fn;
    void *arg;
    struct rc_call_timer *next_free;
} rc_call_timer;

struct rc_loop {
    rc_alloc alloc;
    const rc_clock_backend *backend;
    rc_clock_kind clock;
    rc_time now;
    pthread_t owner;

    rc_timer **heap;
    size_t heap_len, heap_cap;
    uint64_t timer_seq;
    size_t refd_timers;
    long refs;
    int stop;

    rc_defer deferred; /* sentinel of the circular list of pending handles */
    rc_call_defer *free_defers;

    pthread_mutex_t post_lock;
    rc_post *posts, *posts_tail;
    int has_posts; /* read without the lock as a hint only */

    rc_fdwatch *fds;
    size_t nfds, fds_cap;

    rc_call_timer *free_calls;

    /* Backend state. */
    int epfd;
    int wakefd;

    char errmsg[256];
};

/* Called by backends when an fd is ready. */
void rc_loop_fd_ready(rc_loop *loop, int fd, unsigned events);

#endif

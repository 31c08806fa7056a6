/* clock_mono.c -- CLOCK_MONOTONIC with epoll: sleep until the next timer, an
 * fd event, or a post from another thread (an eventfd wakes us). */
#include "loop_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static int mono_init(rc_loop *loop)
{
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        rc_loop_set_error(loop, "epoll_create1: %s", strerror(errno));
        return RC_ESYS;
    }
    loop->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (loop->wakefd < 0) {
        rc_loop_set_error(loop, "eventfd: %s", strerror(errno));
        close(loop->epfd);
        return RC_ESYS;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = loop->wakefd};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wakefd, &ev) < 0) {
        rc_loop_set_error(loop, "epoll_ctl: %s", strerror(errno));
        close(loop->wakefd);
        close(loop->epfd);
        return RC_ESYS;
    }
    return 0;
}

static void mono_fini(rc_loop *loop)
{
    if (loop->wakefd >= 0) close(loop->wakefd);
    if (loop->epfd >= 0) close(loop->epfd);
}

rc_time rc_monotonic_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (rc_time)ts.tv_sec * RC_NSEC_PER_SEC + ts.tv_nsec;
}

static void mono_update(rc_loop *loop)
{
    loop->now = rc_monotonic_now();
}

static int mono_wait(rc_loop *loop, rc_time deadline)
{
    int timeout_ms = -1;
    if (deadline != RC_TIME_NEVER) {
        mono_update(loop);
        rc_time left = deadline - loop->now;
        if (left <= 0)
            timeout_ms = 0;
        else {
            /* Round up: waking early would only spin. */
            rc_time ms = (left + 999999) / 1000000;
            timeout_ms = ms > 86400000 ? 86400000 : (int)ms;
        }
    }
    struct epoll_event evs[32];
    int n = epoll_wait(loop->epfd, evs, 32, timeout_ms);
    if (n < 0) {
        if (errno == EINTR) return 1;
        rc_loop_set_error(loop, "epoll_wait: %s", strerror(errno));
        return RC_ESYS;
    }
    mono_update(loop);
    for (int i = 0; i < n; i++) {
        int fd = evs[i].data.fd;
        if (fd == loop->wakefd) {
            uint64_t v;
            while (read(loop->wakefd, &v, sizeof v) > 0) {
            }
            continue;
        }
        unsigned events = 0;
        if (evs[i].events & EPOLLIN) events |= RC_READABLE;
        if (evs[i].events & EPOLLOUT) events |= RC_WRITABLE;
        if (evs[i].events & EPOLLHUP) events |= RC_HANGUP;
        if (evs[i].events & EPOLLERR) events |= RC_ERROR;
        rc_loop_fd_ready(loop, fd, events);
    }
    return 1;
}

static void mono_wake(rc_loop *loop)
{
    uint64_t one = 1;
    ssize_t w = write(loop->wakefd, &one, sizeof one);
    (void)w; /* a full counter already means "wake up" */
}

static int mono_watch(rc_loop *loop, int fd, unsigned events, bool add)
{
    struct epoll_event ev = {0};
    ev.data.fd = fd;
    if (events & RC_READABLE) ev.events |= EPOLLIN;
    if (events & RC_WRITABLE) ev.events |= EPOLLOUT;
    int op = add ? EPOLL_CTL_ADD : (events ? EPOLL_CTL_MOD : EPOLL_CTL_DEL);
    if (epoll_ctl(loop->epfd, op, fd, &ev) < 0) {
        rc_loop_set_error(loop, "epoll_ctl(fd %d): %s", fd, strerror(errno));
        return RC_ESYS;
    }
    return 0;
}

const rc_clock_backend rc_clock_mono_backend = {
    "monotonic", mono_init, mono_fini, mono_update, mono_wait, mono_wake, mono_watch,
};

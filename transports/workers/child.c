/*
 * child.c -- child processes on three pipes (see child.h).
 *
 * SIGPIPE: the library installs no signal handlers.  Writes block SIGPIPE
 * for the calling thread and consume the signal they raised, so a child that
 * dies mid-write yields EPIPE, not a dead parent.
 */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Move a child's end of a pipe off 0..2, so dup2 onto 0..2 never meets
 * itself (dup2(fd, fd) would keep O_CLOEXEC). */
static int lift_fd(int fd)
{
    if (fd > 2) return fd;
    int n = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    return n;
}

/* Close both ends of a pipe that are open. */
static void close_pair(int fds[2])
{
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0) close(fds[i]);
}

/* O_NONBLOCK on fd; false (errno set) if fcntl failed. */
static bool set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

/* posix_spawnp with the pipes on 0..2.  Returns posix_spawnp's error. */
static int spawn_on(pid_t *pid, char *const argv[], const char *cwd, int in, int out, int err)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_adddup2(&fa, in, 0);
    posix_spawn_file_actions_adddup2(&fa, out, 1);
    posix_spawn_file_actions_adddup2(&fa, err, 2);
    if (cwd) posix_spawn_file_actions_addchdir_np(&fa, cwd);
    /* The child starts with no signals blocked and SIGPIPE at its default,
     * whatever this process did with them. */
    sigset_t none, dfl;
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &dfl);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    int rc = posix_spawnp(pid, argv[0], &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return rc;
}

bool wk_child_spawn(wk_child *c, char *const argv[], const char *cwd, char *err, size_t errlen)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1};
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(er, O_CLOEXEC)) {
        snprintf(err, errlen, "pipe2: %s", strerror(errno));
        goto fail;
    }
    in[0] = lift_fd(in[0]);
    out[1] = lift_fd(out[1]);
    er[1] = lift_fd(er[1]);
    if (in[0] < 0 || out[1] < 0 || er[1] < 0 || !set_nonblocking(in[1]) ||
        !set_nonblocking(out[0]) || !set_nonblocking(er[0])) {
        snprintf(err, errlen, "fcntl: %s", strerror(errno));
        goto fail;
    }
    pid_t pid = 0;
    int rc = spawn_on(&pid, argv, cwd, in[0], out[1], er[1]);
    if (rc) {
        if (cwd)
            snprintf(err, errlen, "could not start '%s' in '%s': %s", argv[0], cwd, strerror(rc));
        else
            snprintf(err, errlen, "could not start '%s': %s", argv[0], strerror(rc));
        goto fail;
    }
    close(in[0]);
    close(out[1]);
    close(er[1]);
    *c = (wk_child){.pid = pid, .in_fd = in[1], .out_fd = out[0], .err_fd = er[0]};
    return true;

fail:
    close_pair(in);
    close_pair(out);
    close_pair(er);
    return false;
}

/*
 * Block SIGPIPE for this thread around the write, and if the write raised
 * it, take it back out of the pending set -- unless it was already pending
 * before, in which case it is not ours to take.
 */
ssize_t wk_child_write(int fd, const void *buf, size_t n)
{
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigemptyset(&pending);
    sigpending(&pending);
    bool was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    ssize_t r = write(fd, buf, n);
    int err = errno;
    if (r < 0 && err == EPIPE && !was_pending) {
        const struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = err;
    return r;
}

wk_reap wk_child_try_reap(pid_t pid, int *status)
{
    pid_t r;
    do {
        r = waitpid(pid, status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0) return WK_RUNNING;
    return r == pid ? WK_REAPED : WK_GONE;
}

bool wk_child_kill(pid_t pid, int *status)
{
    kill(pid, SIGKILL);
    for (;;) {
        pid_t r = waitpid(pid, status, 0);
        if (r == pid) return true;
        if (r < 0 && errno == EINTR) continue;
        return false;
    }
}

/* "SIGKILL" for SIGKILL, ...; NULL for a signal not listed. */
static const char *signal_name(int sig)
{
    static const struct {
        int sig;
        const char *name;
    } names[] = {
        {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},
        {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},
        {SIGKILL, "SIGKILL"}, {SIGUSR1, "SIGUSR1"}, {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
        {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"}, {SIGXCPU, "SIGXCPU"},
        {SIGXFSZ, "SIGXFSZ"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].sig == sig) return names[i].name;
    return NULL;
}

void wk_child_describe_exit(char *buf, size_t len, int status, bool have_status)
{
    if (!have_status) {
        snprintf(buf, len, "exited (status unknown: reaped elsewhere)");
    } else if (WIFEXITED(status)) {
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        const char *name = signal_name(WTERMSIG(status));
        if (name)
            snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status), name);
        else
            snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
    } else {
        snprintf(buf, len, "ended with wait status 0x%x", (unsigned)status);
    }
}

/*
 * child.h -- child processes on three pipes: spawning, kill and reap, writes
 * that cannot raise SIGPIPE, and saying how a child ended.  Nothing here
 * knows the protocol or the loop.  Private to the workers transport.
 */
#ifndef WK_CHILD_H
#define WK_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A started child and the parent's ends of its pipes (non-blocking,
 * close-on-exec); the caller owns the fds and must reap the pid. */
typedef struct wk_child {
    pid_t pid;
    int in_fd;  /* its stdin, for writing */
    int out_fd; /* its stdout, for reading */
    int err_fd; /* its stderr, for reading */
} wk_child;

/* Start argv (argv[0] looked up in PATH) in cwd (NULL: ours), with no signal
 * blocked and SIGPIPE at its default.  False with a message in err if it
 * could not be started; nothing is left open then. */
bool wk_child_spawn(wk_child *c, char *const argv[], const char *cwd, char *err, size_t errlen);

/* write(2) that cannot kill us with SIGPIPE: a closed pipe yields EPIPE. */
ssize_t wk_child_write(int fd, const void *buf, size_t n);

typedef enum wk_reap {
    WK_RUNNING, /* not exited yet */
    WK_REAPED,  /* exited; the status is filled in */
    WK_GONE,    /* reaped by someone else: the status is unknown */
} wk_reap;

/* waitpid without waiting. */
wk_reap wk_child_try_reap(pid_t pid, int *status);

/* SIGKILL and wait for it.  False if someone else reaped it. */
bool wk_child_kill(pid_t pid, int *status);

/* "exited with status 3", "killed by signal 9 (SIGKILL)", or "exited
 * (status unknown: reaped elsewhere)" without a status. */
void wk_child_describe_exit(char *buf, size_t len, int status, bool have_status);

#endif /* WK_CHILD_H */

/*
 * workers.c -- subprocess workers speaking the runqy worker protocol (see
 * runcue_transport.h): the rc_workers pool and its policy.  Child processes
 * are child.c's, the protocol's lines protocol.c's, line framing linebuf.c's.
 *
 * Built only on the public API of runcue.h.  A workers task is an rc_task
 * whose handler turns the work into one request line and puts it in a FIFO;
 * the FIFO is emptied into worker processes as they become idle and ready.
 * The cue counts the work as running from dispatch until the attempt is
 * finished here, so service limits bound the work exactly as they bound any
 * other handler.
 *
 * A worker's life:
 *
 *   STARTING --{"status":"ready"}--> IDLE <--answer-- BUSY
 *       |                             |  ---request-->  |
 *       +------ stdout EOF -----------+-----------------+--> DYING --> DEAD
 *       +------ killed by us (garbage, wrong id, timeout) ----------> DEAD
 *
 * DYING: stdout reached EOF (or its stdin broke); we poll waitpid until the
 * exit status is known, so the message can say *how* it died, and kill it if
 * it lingers.  Only then is its work (if any) retried.  A worker we judge
 * bad is killed and reaped at once.  Either way the attempt in flight is
 * taken off the worker before it is finished, and each attempt is finished
 * exactly once: by its answer, by the worker's death, or by shutdown.
 *
 * Keeping the loop honest.  A watched fd keeps the loop alive, and long-lived
 * workers would keep it alive forever, so "run until idle" would never
 * return.  The transport therefore watches its pipes only while it has
 * something to do (work queued or in flight, a worker starting or exiting,
 * a shutdown); when it goes quiet it stops watching at the end of the loop
 * iteration (after the dispatch pass, which usually brings the next work),
 * and when work arrives it watches again and first reads what the workers
 * wrote meanwhile (a ready line, a death, stderr).  An idle worker that dies
 * while nobody watches is noticed then, before any work is given to it.
 *
 * Entry points are the handler and the fd and timer callbacks, all called
 * from inside rc_loop_run.  Each frees dead procs first (no pointer to a proc
 * is held on the stack there; a dead proc has no watched fd and no armed
 * timer, so nothing else can reach it) and settles last: fill the pool, feed
 * idle workers, and request the disengage check (an rc_defer the pool owns;
 * rc_workers_free cancels it).
 */
#include "runcue_transport.h"
#include "shutdown.h"

#include "child.h"
#include "linebuf.h"
#include "protocol.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum {
    READ_ROOM = 64 * 1024,    /* free bytes made before each read(2) */
    READS_PER_EVENT = 16,     /* then let other fds have a turn */
    DEFAULT_SPAWN_BUDGET = 3, /* failed starts in a row before queued work fails */
    SPAWN_BUDGET_MAX = 1000,
    QUOTE_LEN = 4 * RUNQY_QUOTE_MAX + 8, /* a line quoted by runqy_quote */
    NOISE_LOG_MAX = 1024,                /* bytes of a skipped stdout line logged */
    ERROR_TEXT_MAX = 16384,              /* bytes of a worker's error message kept */
    MSG_LEN = 512,
};

#define RESTART_BACKOFF_S 0.1 /* after the first failed start; doubles */
#define RESTART_BACKOFF_MAX_S 5.0
#define EXIT_GRACE_S 5.0 /* from stdout EOF or stdin closed to SIGKILL */
#define DEFAULT_READY_TIMEOUT_S 10.0

/* ---- types ---- */

/* One attempt handed to the transport. */
typedef struct wk_item {
    struct wk_item *next; /* FIFO */
    rc_token tok;
    char task_id[48]; /* "<work_id>.<attempt>" */
    char *line;       /* the request, '\n'-terminated; NULL once handed to a proc */
    size_t len;
    char *prefix; /* check_prefix: the work's output prefix, or NULL */
} wk_item;

typedef enum proc_state {
    PS_STARTING,
    PS_IDLE,
    PS_BUSY,
    PS_DYING, /* stdout closed; waiting for the exit status */
    PS_DEAD,  /* reaped, fds closed, timers stopped; freed at the next entry point */
} proc_state;

typedef struct wk_proc {
    struct wk_proc *next;
    rc_workers *w;
    pid_t pid;
    int in_fd, out_fd, err_fd;
    bool out_watched, err_watched, in_watched;
    proc_state state;
    bool was_ready;
    uint64_t answered;      /* requests it answered */
    bool pooled;            /* started as a long-lived (RC_WORKERS_POOL) worker */
    bool retiring;          /* its stdin is (or will be, once flushed) closed: no more work */
    const char *dying_note; /* why it is DYING, if we have to kill it */
    wk_linebuf out, err;
    char *wbuf; /* bytes still to write to stdin */
    size_t wlen, woff;
    wk_item *item; /* the attempt in flight */
    rc_time exit_deadline;
    rc_time reap_interval;
    rc_timer ready_timer; /* STARTING: never became ready (unreferenced) */
    rc_timer task_timer;  /* BUSY: per-task timeout */
    rc_timer reap_timer;  /* DYING/retiring: poll waitpid, kill at exit_deadline */
} wk_proc;

struct rc_workers {
    rc_cue *cue;
    rc_loop *loop;
    char *task, *name, *cwd;
    char **argv;
    rc_worker_mode mode;
    unsigned processes;
    double ready_timeout_s, task_timeout_s;
    bool check_prefix;
    bool strict;
    size_t line_limit;
    unsigned spawn_budget;
    rc_worker_log_fn on_stderr;
    void *ud;

    wk_proc *procs; /* in spawn order */
    wk_item *q_head, *q_tail;
    size_t q_len;

    unsigned failures; /* failed starts in a row: since a worker last answered */
    char last_failure[MSG_LEN];
    rc_time next_spawn_at;
    rc_timer spawn_timer;   /* unreferenced: respawn after a backoff */
    rc_timer handoff_timer; /* work waits and no worker carries any: give up then */

    bool engaged;       /* output pipes are watched */
    rc_defer disengage; /* the check at the end of this loop iteration */
    bool pumping, pump_again;
    bool shutting_down, shut;
    size_t shutdown_live; /* during shutdown: procs not yet dead */

    rc_workers_stats stats;
};

/* Feed idle workers from the FIFO and start workers as needed, until nothing
 * changes (a nested call only asks the running one to go round again). */
static void pump(rc_workers *w);
static void proc_exited(wk_proc *p, int status, bool have_status, const char *note);
/* Read stdout and handle its complete lines, for at most READS_PER_EVENT
 * reads; EOF or a read error: the worker is dying. */
static void read_stdout(wk_proc *p);
static void read_stderr(wk_proc *p);
static void start_dying(wk_proc *p, const char *note);
static void give_up(wk_proc *p, const char *msg);
/* Close its stdin (once what is buffered is written): it should exit. */
static void retire(wk_proc *p);

/* ---- small helpers ---- */

/* The loop's time (the monotonic clock). */
static rc_time now_of(const rc_workers *w)
{
    return rc_loop_now(w->loop);
}

/* now + seconds, saturated at RC_TIME_NEVER (for huge or infinite values). */
static rc_time after(const rc_workers *w, double seconds)
{
    return rc_time_after(now_of(w), seconds);
}

/* "worker 'name' (pid 1234)" */
static void label(const wk_proc *p, char *buf, size_t len)
{
    snprintf(buf, len, "worker '%s' (pid %d)", p->w->name, (int)p->pid);
}

/* give_up with a message that starts with the worker's label; fmt goes on
 * from there: give_up_said(p, " timed out after %s", secs). */
__attribute__((format(printf, 2, 3))) static void give_up_said(wk_proc *p, const char *fmt, ...)
{
    char msg[MSG_LEN];
    label(p, msg, 128);
    size_t k = strlen(msg);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + k, sizeof msg - k, fmt, ap);
    va_end(ap);
    give_up(p, msg);
}

/* 2 -> "2.0s", 0.25 -> "0.25s" */
static void fmt_secs(char *buf, size_t len, double s)
{
    if (fabs(s * 10 - round(s * 10)) < 1e-9)
        snprintf(buf, len, "%.1fs", s);
    else
        snprintf(buf, len, "%gs", s);
}

/* A line for the log: a worker's stderr, or a note from the transport about
 * a worker no work can carry (one that died while idle). */
static void log_line(rc_workers *w, pid_t pid, const char *line)
{
    if (w->on_stderr)
        w->on_stderr(w, (int)pid, line, w->ud);
    else
        fprintf(stderr, "%s[%d]: %s\n", w->name, (int)pid, line);
}

/* A line the worker wrote to stderr: its control characters made harmless
 * first (the line is the caller's buffer). */
static void log_worker_line(rc_workers *w, pid_t pid, char *line)
{
    runqy_defang(line, strlen(line), false);
    log_line(w, pid, line);
}

/* ---- items and the FIFO ---- */

/* Free an attempt that is finished or never will be (NULL: nothing). */
static void item_free(wk_item *it)
{
    if (!it) return;
    free(it->line);
    free(it->prefix);
    free(it);
}

/* The only places that finish an attempt.  Each item is taken off its proc
 * or the FIFO before it gets here, and freed right after: one finish each. */
static void finish_retry(rc_workers *w, wk_item *it, const char *msg)
{
    w->stats.retried++;
    rc_retry(w->cue, it->tok, msg);
    item_free(it);
}

static void finish_fail(rc_workers *w, wk_item *it, const char *msg)
{
    w->stats.failed++;
    rc_fail(w->cue, it->tok, msg);
    item_free(it);
}

/* Append an attempt to the FIFO; the FIFO owns it. */
static void queue_push(rc_workers *w, wk_item *it)
{
    it->next = NULL;
    if (w->q_tail)
        w->q_tail->next = it;
    else
        w->q_head = it;
    w->q_tail = it;
    w->q_len++;
}

/* Put an attempt back at the head of the FIFO (it reached no worker that
 * could run it); the FIFO owns it. */
static void queue_push_front(rc_workers *w, wk_item *it)
{
    it->next = w->q_head;
    w->q_head = it;
    if (!w->q_tail) w->q_tail = it;
    w->q_len++;
}

/* Take the oldest attempt off the FIFO; the caller owns it.  NULL if empty. */
static wk_item *queue_pop(rc_workers *w)
{
    wk_item *it = w->q_head;
    if (!it) return NULL;
    w->q_head = it->next;
    if (!w->q_head) w->q_tail = NULL;
    w->q_len--;
    it->next = NULL;
    return it;
}

/* Make the attempt's request line, with runqy's fields.  False if out of
 * memory. */
static bool item_format(wk_item *it, const rc_work *work)
{
    unsigned max_attempts = rc_work_max_attempts(work);
    runqy_request req = {.task_id = it->task_id,
                         .type = rc_work_task(work),
                         .payload = rc_work_params(work),
                         .retry_count = it->tok.attempt > 0 ? it->tok.attempt - 1 : 0,
                         .max_retry = max_attempts > 0 ? max_attempts - 1 : 0,
                         .queue = rc_work_service(work)};
    it->line = runqy_format_task(&req, &it->len);
    return it->line != NULL;
}

/* The attempt and its request line; NULL if out of memory. */
static wk_item *item_new(const rc_work *work, rc_token tok, bool check_prefix)
{
    wk_item *it = calloc(1, sizeof *it);
    if (!it) return NULL;
    const char *prefix = check_prefix ? rc_prefix_of(work) : NULL;
    if (prefix && !(it->prefix = strdup(prefix))) {
        free(it);
        return NULL;
    }
    it->tok = tok;
    runqy_task_id(it->task_id, sizeof it->task_id, tok.work_id, tok.attempt);
    if (!item_format(it, work)) {
        free(it->prefix);
        free(it);
        return NULL;
    }
    return it;
}

/* ---- fds ---- */

/* Entry point: a worker's stdout is readable. */
static void on_stdout(rc_loop *loop, int fd, unsigned events, void *arg);
/* Entry point: a worker's stderr is readable (nothing to settle). */
static void on_stderr_fd(rc_loop *loop, int fd, unsigned events, void *arg);
/* Entry point: a worker's stdin has room for what is left to write. */
static void on_stdin(rc_loop *loop, int fd, unsigned events, void *arg);

/* Stop watching and close *fd, if open; it becomes -1. */
static void close_fd(rc_workers *w, int *fd, bool *watched)
{
    if (*fd < 0) return;
    if (*watched) rc_loop_unwatch_fd(w->loop, *fd);
    *watched = false;
    close(*fd);
    *fd = -1;
}

/* Watch a proc's stdout and stderr.  Returns false if the loop refused. */
static bool watch_outputs(wk_proc *p)
{
    rc_workers *w = p->w;
    if (p->out_fd >= 0 && !p->out_watched) {
        if (rc_loop_watch_fd(w->loop, p->out_fd, RC_READABLE, on_stdout, p)) return false;
        p->out_watched = true;
    }
    if (p->err_fd >= 0 && !p->err_watched) {
        if (rc_loop_watch_fd(w->loop, p->err_fd, RC_READABLE, on_stderr_fd, p)) return false;
        p->err_watched = true;
    }
    return true;
}

/* Send what is buffered for stdin; watch for room if the pipe is full. */
static void flush_stdin(wk_proc *p)
{
    rc_workers *w = p->w;
    while (p->in_fd >= 0 && p->woff < p->wlen) {
        ssize_t n = wk_child_write(p->in_fd, p->wbuf + p->woff, p->wlen - p->woff);
        if (n > 0) {
            p->woff += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!p->in_watched) {
                if (rc_loop_watch_fd(w->loop, p->in_fd, RC_WRITABLE, on_stdin, p)) {
                    give_up_said(p, " could not be written to: %s", rc_loop_errmsg(w->loop));
                    return;
                }
                p->in_watched = true;
            }
            return;
        }
        /* EPIPE (or worse): it stopped reading.  Read what it said last, then
         * let its exit status tell how it ended. */
        p->woff = p->wlen = 0;
        close_fd(w, &p->in_fd, &p->in_watched);
        read_stdout(p);
        start_dying(p, "stopped reading its stdin");
        return;
    }
    p->woff = p->wlen = 0;
    if (p->in_watched) {
        rc_loop_unwatch_fd(w->loop, p->in_fd);
        p->in_watched = false;
    }
    if (p->retiring) close_fd(w, &p->in_fd, &p->in_watched);
}

/* ---- ending a worker ---- */

/* Stop every timer of a proc. */
static void stop_timers(wk_proc *p)
{
    rc_loop *loop = p->w->loop;
    rc_timer_stop(loop, &p->ready_timer);
    rc_timer_stop(loop, &p->task_timer);
    rc_timer_stop(loop, &p->reap_timer);
}

/* Its exit is collected: deliver its last stderr, close everything. */
static void proc_bury(wk_proc *p)
{
    rc_workers *w = p->w;
    read_stderr(p);
    char *tail = wk_linebuf_take_tail(&p->err);
    if (tail) log_worker_line(w, p->pid, tail);
    stop_timers(p);
    close_fd(w, &p->in_fd, &p->in_watched);
    close_fd(w, &p->out_fd, &p->out_watched);
    close_fd(w, &p->err_fd, &p->err_watched);
    p->state = PS_DEAD;
    if (w->shutting_down && w->shutdown_live && --w->shutdown_live == 0) rc_loop_stop(w->loop);
}

/* SIGKILL and collect, for a worker we gave up on. */
static void proc_kill(wk_proc *p)
{
    if (p->state == PS_DEAD) return;
    int status = 0;
    wk_child_kill(p->pid, &status);
    proc_bury(p);
}

/* Retry every queued attempt with msg. */
static void retry_queued(rc_workers *w, const char *msg)
{
    wk_item *it;
    while ((it = queue_pop(w)))
        finish_retry(w, it, msg);
}

/* A start failed: the worker could not be started, or it died or was killed
 * before answering any request.  Back off before the next start (0.1 s
 * doubling to RESTART_BACKOFF_MAX_S), and after spawn_budget failures in a
 * row retry the queued work with msg. */
static void start_failure(rc_workers *w, const char *msg)
{
    w->failures++;
    snprintf(w->last_failure, sizeof w->last_failure, "%s", msg);
    double backoff = RESTART_BACKOFF_S;
    for (unsigned i = 1; i < w->failures && backoff < RESTART_BACKOFF_MAX_S; i++)
        backoff *= 2;
    if (backoff > RESTART_BACKOFF_MAX_S) backoff = RESTART_BACKOFF_MAX_S;
    w->next_spawn_at = after(w, backoff);
    if (w->failures >= w->spawn_budget && w->q_len) {
        char buf[MSG_LEN + 64];
        snprintf(buf, sizeof buf, "%s (%u failed starts in a row)", msg, w->failures);
        retry_queued(w, buf);
    }
}

/*
 * We judge the worker bad (garbage, wrong id, timeout, never ready): kill it,
 * then finish its work with msg.  A worker that never answered a request
 * counts toward the failed starts; one that had no work is also logged.
 */
static void give_up(wk_proc *p, const char *msg)
{
    rc_workers *w = p->w;
    if (p->state == PS_DEAD) return;
    wk_item *it = p->item;
    p->item = NULL;
    bool was_ready = p->was_ready, useful = p->answered > 0;
    pid_t pid = p->pid;
    proc_kill(p);
    if (it) finish_retry(w, it, msg);
    if (w->shutting_down) return;
    if (!it && was_ready) {
        char line[MSG_LEN + 16];
        snprintf(line, sizeof line, "runcue: %s", msg);
        log_line(w, pid, line);
    }
    if (!useful) start_failure(w, msg);
}

/* A long-lived worker that exits with status 0 after answering, unasked:
 * what a one-shot worker (runqy's run_once()) does. */
static bool looks_one_shot(const wk_proc *p, int status, bool have_status)
{
    return p->pooled && p->answered > 0 && !p->retiring && !p->w->shutting_down && have_status &&
           WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* A one-shot worker was started as a pool: say so once, give each work item
 * a process of its own from now on (at most `processes` at once), and put
 * the attempt it took but never read back at the head of the FIFO. */
static void switch_to_one_shot(rc_workers *w, const char *who, pid_t pid, wk_item *it)
{
    char msg[MSG_LEN];
    if (it) {
        /* Its line went to the dead worker's buffer: make it again. */
        free(it->line);
        it->line = NULL;
        const rc_work *work = rc_get(w->cue, it->tok.work_id);
        if (work && item_format(it, work)) {
            queue_push_front(w, it);
        } else {
            snprintf(msg, sizeof msg, "workers '%s': out of memory preparing work %llu again",
                     w->name, (unsigned long long)it->tok.work_id);
            finish_retry(w, it, msg);
        }
    }
    if (w->mode == RC_WORKERS_ONE_SHOT) return; /* said already */
    snprintf(msg, sizeof msg,
             "runcue: %s exited with status 0 after answering: it is a one-shot worker "
             "(like runqy's run_once()), not a long-lived one; running one process per work "
             "item from now on",
             who);
    log_line(w, pid, msg);
    w->mode = RC_WORKERS_ONE_SHOT;
    for (wk_proc *p = w->procs; p; p = p->next)
        if (p->state == PS_IDLE && p->answered) retire(p);
}

/* The process is gone and its status collected: say how, to its work. */
static void proc_exited(wk_proc *p, int status, bool have_status, const char *note)
{
    rc_workers *w = p->w;
    if (p->state == PS_DEAD) return;
    char who[128], how[96], msg[MSG_LEN];
    label(p, who, sizeof who);
    wk_child_describe_exit(how, sizeof how, status, have_status);
    char cause[256];
    if (note)
        snprintf(cause, sizeof cause, "%s", note);
    else if (p->dying_note)
        snprintf(cause, sizeof cause, "%s, then %s", p->dying_note, how);
    else
        snprintf(cause, sizeof cause, "%s", how);
    wk_item *it = p->item;
    p->item = NULL;
    bool was_ready = p->was_ready, retiring = p->retiring, useful = p->answered > 0;
    bool one_shot = !note && looks_one_shot(p, status, have_status);
    pid_t pid = p->pid;
    proc_bury(p);
    if (one_shot) {
        switch_to_one_shot(w, who, pid, it);
        return;
    }
    if (it) {
        w->stats.crashed++;
        snprintf(msg, sizeof msg, "%s crashed: %s while running work %llu", who, cause,
                 (unsigned long long)it->tok.work_id);
        finish_retry(w, it, msg);
        if (!useful && !w->shutting_down) start_failure(w, msg);
        return;
    }
    if (w->shutting_down) return; /* retired or killed at shutdown: expected */
    if (!was_ready) {
        w->stats.crashed++;
        snprintf(msg, sizeof msg, "%s %s before becoming ready", who, cause);
        start_failure(w, msg);
        return;
    }
    if (retiring) { /* a one-shot worker done with its work */
        if (note) {
            snprintf(msg, sizeof msg, "runcue: %s %s; killed it", who, note);
            log_line(w, pid, msg);
        }
        return;
    }
    w->stats.crashed++;
    snprintf(msg, sizeof msg, "runcue: %s crashed while idle: %s", who, cause);
    log_line(w, pid, msg);
    if (!useful) start_failure(w, msg + strlen("runcue: "));
}

/* Collect the exit status if it is there.  True if it was. */
static bool try_reap(wk_proc *p)
{
    int status = 0;
    wk_reap r = wk_child_try_reap(p->pid, &status);
    if (r == WK_RUNNING) return false;
    proc_exited(p, status, r == WK_REAPED, NULL);
    return true;
}

/* stdout reached EOF, or stdin broke: the worker is on its way out.  Poll
 * for its status (so the message can say how it died); kill it if it lingers
 * past the grace period. */
static void start_dying(wk_proc *p, const char *note)
{
    rc_workers *w = p->w;
    if (p->state == PS_DYING || p->state == PS_DEAD) return;
    close_fd(w, &p->out_fd, &p->out_watched);
    close_fd(w, &p->in_fd, &p->in_watched);
    p->state = PS_DYING;
    p->dying_note = note;
    rc_timer_stop(w->loop, &p->ready_timer);
    rc_timer_stop(w->loop, &p->task_timer);
    rc_time grace = after(w, EXIT_GRACE_S);
    if (p->exit_deadline > grace) p->exit_deadline = grace;
    if (try_reap(p)) return;
    p->reap_interval = 1000000; /* 1 ms, doubling to 64 ms */
    rc_timer_start(w->loop, &p->reap_timer, now_of(w) + p->reap_interval);
}

/* Close its stdin (once what is buffered is written): it should exit. */
static void retire(wk_proc *p)
{
    rc_workers *w = p->w;
    p->retiring = true;
    if (p->woff >= p->wlen) close_fd(w, &p->in_fd, &p->in_watched);
    if (!w->shutting_down && p->state != PS_DYING) {
        p->exit_deadline = after(w, EXIT_GRACE_S);
        rc_timer_start(w->loop, &p->reap_timer, p->exit_deadline);
    }
}

/* ---- what a worker says ---- */

/* The worker printed something that is not a message for its state (what:
 * "garbage", or why not): it is bad. */
static void printed_garbage(wk_proc *p, const char *s, size_t n, const char *what)
{
    char q[QUOTE_LEN];
    p->w->stats.garbage++;
    runqy_quote(q, sizeof q, s, n);
    if (p->item)
        give_up_said(p, " printed %s: '%s' while running work %llu", what, q,
                     (unsigned long long)p->item->tok.work_id);
    else if (!p->was_ready)
        give_up_said(p, " printed %s before becoming ready: '%s'", what, q);
    else
        give_up_said(p, " printed %s while idle: '%s'", what, q);
}

/* The worker answered a task_id it was not given: it is bad. */
static void wrong_id(wk_proc *p, const runqy_reply *r)
{
    char q[QUOTE_LEN];
    p->w->stats.wrong_id++;
    runqy_quote(q, sizeof q, r->task_id, r->task_id_len);
    if (p->item)
        give_up_said(p, " answered task_id '%s' while running '%s'", q, p->item->task_id);
    else
        give_up_said(p, " answered task_id '%s' while running nothing", q);
}

/* The ready line: the worker may take work.  Starts count as healthy again
 * only once it answers (a worker can die right after saying ready). */
static void become_ready(wk_proc *p)
{
    rc_workers *w = p->w;
    rc_timer_stop(w->loop, &p->ready_timer);
    p->state = PS_IDLE;
    p->was_ready = true;
    w->stats.ready++;
}

/* The last ERROR_TEXT_MAX bytes of a worker's error message, from the
 * start of a character, after "..." when cut; made printable in place. */
static const char *error_tail(char *error)
{
    size_t n = strlen(error);
    char *text = error;
    if (n > ERROR_TEXT_MAX) {
        text = error + n - (ERROR_TEXT_MAX - 3); /* room for "..." before it */
        for (int k = 0; k < 3 && ((unsigned char)*text & 0xc0) == 0x80; k++)
            text++; /* a UTF-8 continuation byte */
        text -= 3;
        memcpy(text, "...", 3);
        n = strlen(text);
    }
    runqy_defang(text, n, true);
    return text;
}

/* The answer to the work in flight: finish it as the worker says.  Takes
 * the result out of the reply. */
static void answer(wk_proc *p, runqy_reply *r)
{
    rc_workers *w = p->w;
    wk_item *it = p->item;
    p->item = NULL;
    p->state = PS_IDLE;
    p->answered++;
    w->failures = 0;
    rc_timer_stop(w->loop, &p->task_timer);
    if (w->mode == RC_WORKERS_ONE_SHOT || w->shutting_down) retire(p);

    char bad_output[512];
    if (!r->failed && it->prefix &&
        rc_prefix_check_outputs(it->prefix, r->result, bad_output, sizeof bad_output)) {
        r->failed = true;
        r->error = strdup(bad_output);
    }
    if (!r->failed) {
        w->stats.completed++;
        rc_complete(w->cue, it->tok, r->result);
        r->result = NULL;
        item_free(it);
        return;
    }
    /* The worker's own message after the worker's name: whole up to
     * ERROR_TEXT_MAX bytes, else its end (a Python traceback ends with the
     * line that matters), with its control characters made harmless (it
     * reaches logs and terminals).  Newlines stay: a traceback has them. */
    char who[128];
    label(p, who, sizeof who);
    const char *text = r->error ? error_tail(r->error) : "error";
    size_t n = strlen(who) + strlen(text) + 3;
    char *msg = malloc(n);
    if (msg) snprintf(msg, n, "%s: %s", who, text);
    if (r->retry)
        finish_retry(w, it, msg ? msg : text);
    else
        finish_fail(w, it, msg ? msg : text);
    free(msg);
}

/* "10 MiB", "1536 KiB" or "1000 bytes". */
static void fmt_bytes(char *buf, size_t len, size_t n)
{
    if (n >= (1u << 20) && n % (1u << 20) == 0)
        snprintf(buf, len, "%zu MiB", n >> 20);
    else if (n >= 1024 && n % 1024 == 0)
        snprintf(buf, len, "%zu KiB", n >> 10);
    else
        snprintf(buf, len, "%zu bytes", n);
}

/* A line longer than the limit: it is bad. */
static void printed_overlong(wk_proc *p, const char *s, size_t n)
{
    char what[64], size[32];
    fmt_bytes(size, sizeof size, p->w->line_limit);
    snprintf(what, sizeof what, "a line longer than %s", size);
    printed_garbage(p, s, n, what);
}

/* A stdout line that is not a protocol message (a banner, print() output, a
 * second ready line): logged as "stdout: <line>" (its first NOISE_LOG_MAX
 * bytes) and skipped, as runqy's worker host does. */
static void log_noise(wk_proc *p, const char *s, size_t n)
{
    char buf[NOISE_LOG_MAX + 64];
    size_t take = n > NOISE_LOG_MAX ? NOISE_LOG_MAX : n;
    int k = snprintf(buf, sizeof buf, "stdout: %.*s", (int)take, s);
    if (take < n && k > 0) snprintf(buf + k, sizeof buf - (size_t)k, "... (%zu bytes)", n);
    log_worker_line(p->w, p->pid, buf);
}

/* One line from stdout.  Blank lines are ignored; other lines that are not
 * messages are logged and skipped, or (strict) kill the worker. */
static void handle_line(wk_proc *p, const char *s, size_t n)
{
    runqy_reply r;
    runqy_phase phase = p->state == PS_STARTING ? RUNQY_LOADING : RUNQY_SERVING;
    runqy_trim(&s, &n);
    switch (runqy_parse_line_max(s, n, p->w->line_limit, phase, &r)) {
    case RUNQY_BLANK:
        break;
    case RUNQY_GARBAGE:
    case RUNQY_NOISE:
        if (p->w->strict)
            printed_garbage(p, s, n, "garbage");
        else
            log_noise(p, s, n);
        break;
    case RUNQY_OVERLONG:
        printed_overlong(p, s, n);
        break;
    case RUNQY_READY:
        become_ready(p);
        break;
    case RUNQY_LOAD_ERROR: /* the runqy SDK's answer to a failing @load */
        give_up_said(p, " failed to start: %s", r.error ? r.error : "error");
        break;
    case RUNQY_ANSWER:
        if (p->item && runqy_answers(&r, p->item->task_id))
            answer(p, &r);
        else
            wrong_id(p, &r);
        break;
    case RUNQY_PROGRESS: /* runcue's extension: reported, the task goes on */
        if (p->item && runqy_answers(&r, p->item->task_id))
            rc_progress(p->w->cue, p->item->tok, r.progress, r.message);
        else
            wrong_id(p, &r);
        break;
    }
    runqy_reply_clear(&r);
}

/* Handle the complete lines in p->out.  False if the worker is gone. */
static bool process_stdout(wk_proc *p)
{
    char *line;
    size_t n;
    while (wk_linebuf_next(&p->out, &line, &n)) {
        handle_line(p, line, n);
        if (p->state == PS_DEAD || p->out_fd < 0) return false;
    }
    wk_linebuf_compact(&p->out);
    if (p->out.len > p->w->line_limit) {
        printed_overlong(p, p->out.buf, p->out.len);
        return false;
    }
    return true;
}

static void read_stdout(wk_proc *p)
{
    for (int i = 0; i < READS_PER_EVENT && p->out_fd >= 0 && p->state != PS_DEAD; i++) {
        ssize_t n = wk_linebuf_read(&p->out, p->out_fd, READ_ROOM);
        if (n > 0) {
            if (!process_stdout(p)) return;
        } else if (n < 0 && errno == ENOMEM) {
            give_up_said(p, ": out of memory reading its output");
            return;
        } else if (n == 0) {
            start_dying(p, NULL);
            return;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return;
        } else if (errno != EINTR) {
            start_dying(p, NULL);
            return;
        }
    }
}

/* stderr goes to the log line by line; an overlong line in pieces. */
static void read_stderr(wk_proc *p)
{
    rc_workers *w = p->w;
    wk_linebuf *b = &p->err;
    for (int i = 0; i < READS_PER_EVENT && p->err_fd >= 0; i++) {
        ssize_t n = wk_linebuf_read(b, p->err_fd, READ_ROOM);
        if (n < 0 && errno == ENOMEM) {
            wk_linebuf_free(b); /* drop it rather than stall the worker */
            n = wk_linebuf_read(b, p->err_fd, READ_ROOM);
            if (n < 0 && errno == ENOMEM) return;
        }
        if (n > 0) {
            char *line;
            size_t len;
            while (wk_linebuf_next(b, &line, &len)) {
                if (len && line[len - 1] == '\r') len--;
                line[len] = '\0';
                log_worker_line(w, p->pid, line);
            }
            wk_linebuf_compact(b);
            if (b->len > w->line_limit) log_worker_line(w, p->pid, wk_linebuf_take_tail(b));
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        } else {
            char *tail = wk_linebuf_take_tail(b);
            if (tail) log_worker_line(w, p->pid, tail);
            close_fd(w, &p->err_fd, &p->err_watched);
            return;
        }
    }
}

/* ---- starting a worker ---- */

/* Entry point: a worker did not say it was ready in time. */
static void ready_timer_fire(rc_loop *loop, rc_timer *t, void *arg);
/* Entry point: a worker did not answer its work in time. */
static void task_timer_fire(rc_loop *loop, rc_timer *t, void *arg);
/* Entry point: look for the exit status of a dying or retiring worker;
 * SIGKILL it at its exit deadline; else poll again (backing off). */
static void reap_timer_fire(rc_loop *loop, rc_timer *t, void *arg);

/* Start one worker, appended to w->procs.  NULL with a message in err if it
 * could not be started. */
static wk_proc *spawn_one(rc_workers *w, char *err, size_t errlen)
{
    wk_proc *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    wk_child c;
    if (!wk_child_spawn(&c, w->argv, w->cwd, err, errlen)) {
        free(p);
        return NULL;
    }
    p->w = w;
    p->pid = c.pid;
    p->in_fd = c.in_fd;
    p->out_fd = c.out_fd;
    p->err_fd = c.err_fd;
    p->state = PS_STARTING;
    p->pooled = w->mode == RC_WORKERS_POOL;
    p->exit_deadline = RC_TIME_NEVER;
    rc_timer_init(&p->ready_timer, ready_timer_fire, p);
    rc_timer_set_ref(&p->ready_timer, false);
    rc_timer_init(&p->task_timer, task_timer_fire, p);
    rc_timer_init(&p->reap_timer, reap_timer_fire, p);
    wk_proc **tail = &w->procs;
    while (*tail)
        tail = &(*tail)->next;
    *tail = p;
    w->stats.spawned++;
    rc_timer_start(w->loop, &p->ready_timer, after(w, w->ready_timeout_s));
    if (w->engaged && !watch_outputs(p))
        give_up_said(p, " could not be watched: %s", rc_loop_errmsg(w->loop));
    return p;
}

/* ---- keeping the pool filled and the FIFO moving ---- */

/* Entry point: the backoff after failed starts is over. */
static void spawn_timer_fire(rc_loop *loop, rc_timer *t, void *arg);
/* Entry point: work waited a ready timeout with no worker carrying any. */
static void handoff_timer_fire(rc_loop *loop, rc_timer *t, void *arg);

/* Start workers up to what the mode wants (a pool of `processes`; one per
 * queued work for one-shot), unless backing off after failed starts. */
static void spawn_as_needed(rc_workers *w)
{
    if (w->shutting_down || w->shut) return;
    size_t live = 0, starting = 0;
    for (wk_proc *p = w->procs; p; p = p->next) {
        if (p->state == PS_DEAD) continue;
        if (w->mode == RC_WORKERS_ONE_SHOT || (!p->retiring && p->state != PS_DYING)) live++;
        if (p->state == PS_STARTING) starting++;
    }
    size_t want;
    if (w->mode == RC_WORKERS_POOL) {
        want = w->processes > live ? w->processes - live : 0;
    } else {
        want = w->q_len > starting ? w->q_len - starting : 0;
        if (w->processes) {
            size_t room = w->processes > live ? w->processes - live : 0;
            if (want > room) want = room;
        }
    }
    /* After spawn_budget failed starts in a row, start one worker at a time
     * and only for work that waits: no restart loop for a command that
     * cannot start or a worker that dies before answering. */
    if (w->failures >= w->spawn_budget) want = (w->q_len && !starting) ? 1 : 0;
    if (!want) return;
    if (now_of(w) < w->next_spawn_at) {
        if (!rc_timer_active(&w->spawn_timer) || w->spawn_timer.when != w->next_spawn_at)
            rc_timer_start(w->loop, &w->spawn_timer, w->next_spawn_at);
        return;
    }
    for (size_t i = 0; i < want; i++) {
        char err[MSG_LEN - 64], msg[MSG_LEN];
        if (spawn_one(w, err, sizeof err)) continue;
        snprintf(msg, sizeof msg, "worker '%s' %s", w->name, err);
        start_failure(w, msg);
        w->pump_again = true; /* arms the spawn timer for the backoff */
        return;
    }
}

/* Nothing queued, starting, in flight or exiting: the pipes need not be
 * watched (idle workers are looked at again when work arrives). */
static bool quiet(const rc_workers *w)
{
    if (w->q_len || w->shutting_down) return false;
    for (const wk_proc *p = w->procs; p; p = p->next) {
        if (p->state == PS_DEAD) continue;
        if (p->state != PS_IDLE || p->retiring) return false;
        if (p->woff < p->wlen) return false;
    }
    return true;
}

/* Free the dead procs (nothing refers to them any more). */
static void sweep(rc_workers *w)
{
    wk_proc **pp = &w->procs;
    while (*pp) {
        wk_proc *p = *pp;
        if (p->state != PS_DEAD) {
            pp = &p->next;
            continue;
        }
        *pp = p->next;
        wk_linebuf_free(&p->out);
        wk_linebuf_free(&p->err);
        free(p->wbuf);
        free(p);
    }
}

/* Stop watching every pipe. */
static void disengage_now(rc_workers *w)
{
    for (wk_proc *p = w->procs; p; p = p->next) {
        if (p->out_watched) rc_loop_unwatch_fd(w->loop, p->out_fd);
        if (p->err_watched) rc_loop_unwatch_fd(w->loop, p->err_fd);
        if (p->in_watched) rc_loop_unwatch_fd(w->loop, p->in_fd);
        p->out_watched = p->err_watched = p->in_watched = false;
    }
    w->engaged = false;
}

/* The deferred disengage check, at the end of the loop iteration. */
static void disengage_cb(rc_loop *loop, void *arg)
{
    (void)loop;
    rc_workers *w = arg;
    sweep(w);
    if (w->engaged && quiet(w)) disengage_now(w);
}

/* Stop watching at the end of this iteration if still quiet then: the next
 * work usually arrives in the same iteration (the dispatch pass runs first). */
static void maybe_disengage(rc_workers *w)
{
    if (w->engaged && quiet(w)) rc_defer_request(w->loop, &w->disengage);
}

/* Watch the pipes again, and first read what the workers said while nobody
 * listened: a ready line, their stderr, or their death. */
static void engage(rc_workers *w)
{
    if (w->engaged) return;
    w->engaged = true;
    for (wk_proc *p = w->procs; p; p = p->next) {
        if (p->state == PS_DEAD) continue;
        if (!watch_outputs(p)) {
            give_up_said(p, " could not be watched: %s", rc_loop_errmsg(w->loop));
            continue;
        }
        read_stderr(p);
        if (p->state == PS_STARTING || p->state == PS_IDLE) read_stdout(p);
        if (p->state != PS_DEAD && p->woff < p->wlen) flush_stdin(p);
    }
}

/* Give an attempt to an idle worker: write its request, start its timeout. */
static void send_item(wk_proc *p, wk_item *it)
{
    rc_workers *w = p->w;
    p->item = it;
    p->state = PS_BUSY;
    if (p->woff >= p->wlen) {
        free(p->wbuf);
        p->wbuf = it->line;
        p->wlen = it->len;
        p->woff = 0;
        it->line = NULL;
    } else {
        /* Leftover bytes (an answer came before its request was written). */
        char *n = realloc(p->wbuf, p->wlen + it->len);
        if (!n) {
            give_up_said(p, ": out of memory sending work %llu",
                         (unsigned long long)it->tok.work_id);
            return;
        }
        memcpy(n + p->wlen, it->line, it->len);
        p->wbuf = n;
        p->wlen += it->len;
    }
    if (w->task_timeout_s > 0) rc_timer_start(w->loop, &p->task_timer, after(w, w->task_timeout_s));
    flush_stdin(p);
}

static void pump(rc_workers *w)
{
    if (w->pumping) {
        w->pump_again = true;
        return;
    }
    w->pumping = true;
    do {
        w->pump_again = false;
        for (wk_proc *p = w->procs; p && w->q_len; p = p->next)
            if (p->state == PS_IDLE && !p->retiring) send_item(p, queue_pop(w));
        spawn_as_needed(w);
    } while (w->pump_again);
    w->pumping = false;
}

/* Work waits while no worker carries any: the handoff timer runs (and keeps
 * the loop alive); else it stops. */
static void watch_handoff(rc_workers *w)
{
    bool busy = false;
    for (const wk_proc *p = w->procs; p && !busy; p = p->next)
        busy = p->state == PS_BUSY;
    if (!w->q_len || busy || w->shutting_down || w->shut)
        rc_timer_stop(w->loop, &w->handoff_timer);
    else if (!rc_timer_active(&w->handoff_timer))
        rc_timer_start(w->loop, &w->handoff_timer, after(w, w->ready_timeout_s));
}

/* The end of every entry point: fill the pool and feed idle workers; watch
 * the pipes while anything is going on, stop once nothing is. */
static void settle(rc_workers *w)
{
    pump(w);
    if (!w->engaged && !quiet(w)) {
        engage(w); /* e.g. a respawn after a backoff, while nobody watched */
        pump(w);
    }
    watch_handoff(w);
    maybe_disengage(w);
}

/* ---- loop callbacks: the entry points (sweep first, settle last) ---- */

static void on_stdout(rc_loop *loop, int fd, unsigned events, void *arg)
{
    (void)loop, (void)fd, (void)events;
    wk_proc *p = arg;
    rc_workers *w = p->w;
    sweep(w);
    read_stdout(p);
    settle(w);
}

static void on_stderr_fd(rc_loop *loop, int fd, unsigned events, void *arg)
{
    (void)loop, (void)fd, (void)events;
    wk_proc *p = arg;
    sweep(p->w);
    read_stderr(p);
}

static void on_stdin(rc_loop *loop, int fd, unsigned events, void *arg)
{
    (void)loop, (void)fd, (void)events;
    wk_proc *p = arg;
    rc_workers *w = p->w;
    sweep(w);
    flush_stdin(p);
    settle(w);
}

static void ready_timer_fire(rc_loop *loop, rc_timer *t, void *arg)
{
    (void)loop, (void)t;
    wk_proc *p = arg;
    rc_workers *w = p->w;
    sweep(w);
    read_stdout(p); /* the ready line may be waiting unread */
    if (p->state == PS_STARTING) {
        char secs[32];
        w->stats.ready_timeouts++;
        fmt_secs(secs, sizeof secs, w->ready_timeout_s);
        give_up_said(p, " never became ready within %s", secs);
    }
    settle(w);
}

static void task_timer_fire(rc_loop *loop, rc_timer *t, void *arg)
{
    (void)loop, (void)t;
    wk_proc *p = arg;
    rc_workers *w = p->w;
    sweep(w);
    read_stdout(p); /* an answer may be waiting unread */
    if (p->state == PS_BUSY && p->item) {
        char secs[32];
        w->stats.task_timeouts++;
        fmt_secs(secs, sizeof secs, w->task_timeout_s);
        give_up_said(p, " timed out after %s on work %llu", secs,
                     (unsigned long long)p->item->tok.work_id);
    }
    settle(w);
}

static void reap_timer_fire(rc_loop *loop, rc_timer *t, void *arg)
{
    (void)t;
    wk_proc *p = arg;
    rc_workers *w = p->w;
    sweep(w);
    if (try_reap(p)) {
        settle(w);
        return;
    }
    rc_time now = rc_loop_now(loop);
    if (now >= p->exit_deadline) {
        const char *note = p->dying_note;
        if (!note)
            note = p->state == PS_DYING ? "closed its stdout but did not exit"
                                        : "did not exit after its stdin was closed";
        int status = 0;
        bool got = wk_child_kill(p->pid, &status);
        proc_exited(p, status, got, note);
        settle(w);
        return;
    }
    rc_time next = p->exit_deadline;
    if (p->state == PS_DYING) {
        next = now + p->reap_interval;
        if (p->reap_interval < 64 * 1000000) p->reap_interval *= 2;
        if (next > p->exit_deadline) next = p->exit_deadline;
    }
    rc_timer_start(loop, &p->reap_timer, next);
}

static void spawn_timer_fire(rc_loop *loop, rc_timer *t, void *arg)
{
    (void)loop, (void)t;
    rc_workers *w = arg;
    sweep(w);
    settle(w);
}

/* Entry point: work waited a whole ready timeout while no worker carried
 * any.  It is retried with the last cause rather than wait for workers that
 * may never come. */
static void handoff_timer_fire(rc_loop *loop, rc_timer *t, void *arg)
{
    (void)loop, (void)t;
    rc_workers *w = arg;
    sweep(w);
    if (w->q_len) {
        char secs[32], msg[2 * MSG_LEN];
        fmt_secs(secs, sizeof secs, w->ready_timeout_s);
        snprintf(msg, sizeof msg, "no worker '%s' took work %llu within %s: %s", w->name,
                 (unsigned long long)w->q_head->tok.work_id, secs,
                 w->last_failure[0] ? w->last_failure : "none became ready");
        retry_queued(w, msg);
    }
    settle(w);
}

/* Entry point: the task handler.  Queues the attempt (the transport owns it
 * until it finishes it) and feeds the workers. */
static void on_work(rc_cue *cue, const rc_work *work, rc_token tok, void *ud)
{
    rc_workers *w = ud;
    sweep(w);
    if (w->shut || w->shutting_down) {
        char msg[MSG_LEN];
        snprintf(msg, sizeof msg, "workers '%s' are shut down", w->name);
        w->stats.failed++;
        rc_fail(cue, tok, msg);
        return;
    }
    wk_item *it = item_new(work, tok, w->check_prefix);
    if (!it) {
        char msg[MSG_LEN];
        snprintf(msg, sizeof msg, "workers '%s': out of memory preparing work %llu", w->name,
                 (unsigned long long)tok.work_id);
        w->stats.failed++;
        rc_fail(cue, tok, msg);
        return;
    }
    queue_push(w, it);
    engage(w); /* first: an idle worker that died unwatched gets no work */
    settle(w);
}

/* ---- public API ---- */

/* Free the rc_workers and whatever it still holds; touches neither the cue
 * nor the loop. */
static void workers_destroy(rc_workers *w)
{
    if (!w) return;
    sweep(w);
    wk_item *it;
    while ((it = queue_pop(w)))
        item_free(it);
    if (w->argv)
        for (char **a = w->argv; *a; a++)
            free(*a);
    free(w->argv);
    free(w->task);
    free(w->name);
    free(w->cwd);
    free(w);
}

int rc_workers_new(rc_workers **out, rc_cue *cue, const char *task, const char *service,
                   const rc_workers_opts *opts)
{
    if (out) *out = NULL;
    if (!out || !cue || !task || !opts || !opts->argv || !opts->argv[0] || !opts->argv[0][0])
        return RC_EINVAL;
    if (opts->mode != RC_WORKERS_POOL && opts->mode != RC_WORKERS_ONE_SHOT) return RC_EINVAL;
    if (opts->mode == RC_WORKERS_POOL && opts->processes < 1) return RC_EINVAL;
    if (isnan(opts->ready_timeout_s) || opts->ready_timeout_s < 0 || isnan(opts->task_timeout_s) ||
        opts->task_timeout_s < 0)
        return RC_EINVAL;
    if (opts->line_limit > RUNQY_LINE_LIMIT_MAX || opts->spawn_budget > SPAWN_BUDGET_MAX)
        return RC_EINVAL;
    rc_loop *loop = rc_cue_loop(cue);
    if (rc_loop_clock(loop) != RC_CLOCK_MONOTONIC) return RC_ESTATE;

    rc_workers *w = calloc(1, sizeof *w);
    if (!w) return RC_ENOMEM;
    w->cue = cue;
    w->loop = loop;
    w->mode = opts->mode;
    w->processes = opts->processes;
    w->ready_timeout_s =
        opts->ready_timeout_s > 0 ? opts->ready_timeout_s : DEFAULT_READY_TIMEOUT_S;
    w->task_timeout_s = opts->task_timeout_s;
    w->strict = opts->strict;
    w->line_limit = opts->line_limit ? opts->line_limit : RUNQY_LINE_MAX;
    w->spawn_budget = opts->spawn_budget ? opts->spawn_budget : DEFAULT_SPAWN_BUDGET;
    w->on_stderr = opts->on_stderr;
    w->ud = opts->ud;
    rc_timer_init(&w->spawn_timer, spawn_timer_fire, w);
    rc_timer_set_ref(&w->spawn_timer, false);
    rc_timer_init(&w->handoff_timer, handoff_timer_fire, w);
    rc_defer_init(&w->disengage, disengage_cb, w);

    size_t argc = 0;
    while (opts->argv[argc])
        argc++;
    w->argv = calloc(argc + 1, sizeof *w->argv);
    w->task = strdup(task);
    w->name = strdup(opts->name ? opts->name : opts->argv[0]);
    w->cwd = opts->cwd ? strdup(opts->cwd) : NULL;
    w->check_prefix = opts->check_prefix;
    bool ok = w->argv && w->task && w->name && (!opts->cwd || w->cwd);
    for (size_t i = 0; ok && i < argc; i++)
        ok = (w->argv[i] = strdup(opts->argv[i])) != NULL;
    if (!ok) {
        workers_destroy(w);
        return RC_ENOMEM;
    }
    int rc = rc_task(cue, task, service, on_work, w);
    if (rc) {
        workers_destroy(w);
        return rc;
    }
    engage(w);
    pump(w);                        /* a pool starts loading now */
    if (quiet(w)) disengage_now(w); /* every start failed: nothing to watch */
    *out = w;
    return 0;
}

void rc_workers_stats_get(const rc_workers *w, rc_workers_stats *out)
{
    if (!out) return;
    memset(out, 0, sizeof *out);
    if (!w) return;
    *out = w->stats;
    out->alive = out->busy = 0;
    for (const wk_proc *p = w->procs; p; p = p->next) {
        if (p->state == PS_DEAD) continue;
        out->alive++;
        if (p->item) out->busy++;
    }
}

int rc_workers_abort(rc_workers *w, rc_work_id id, const char *why)
{
    if (!w || !why) return RC_EINVAL;
    for (wk_item **pp = &w->q_head, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->next) {
        wk_item *it = *pp;
        if (it->tok.work_id != id) continue;
        *pp = it->next;
        if (w->q_tail == it) w->q_tail = prev;
        w->q_len--;
        finish_fail(w, it, why);
        settle(w);
        return 0;
    }
    for (wk_proc *p = w->procs; p; p = p->next) {
        if (p->state == PS_DEAD || !p->item || p->item->tok.work_id != id) continue;
        wk_item *it = p->item;
        p->item = NULL;
        proc_kill(p);
        finish_fail(w, it, why);
        settle(w);
        return 0;
    }
    return RC_ENOENT;
}

int rc_workers_shutdown(rc_workers *w, double deadline_s, rc_shutdown_report *report)
{
    if (report) memset(report, 0, sizeof *report);
    if (!w) return RC_EINVAL;
    if (w->shut) return RC_ESTATE;
    if (isnan(deadline_s) || deadline_s < 0) deadline_s = 0;
    sweep(w);
    w->shutting_down = true;
    rc_task_set_handler(w->cue, w->task, NULL, NULL);
    rc_timer_stop(w->loop, &w->spawn_timer);
    rc_timer_stop(w->loop, &w->handoff_timer);
    rc_cut_list cut = {0};
    size_t cut_queued = 0, cut_running = 0, in_flight = 0;
    char msg[MSG_LEN];

    /* Work that never reached a worker. */
    wk_item *it;
    while ((it = queue_pop(w))) {
        rc_cut_list_add(&cut, it->tok.work_id);
        cut_queued++;
        snprintf(msg, sizeof msg, "cut by shutdown: work %llu never reached a worker '%s'",
                 (unsigned long long)it->tok.work_id, w->name);
        finish_fail(w, it, msg);
    }

    /* Workers still loading are of no use now; the others get EOF on stdin
     * and exit once their work (if any) is answered. */
    for (wk_proc *p = w->procs; p; p = p->next) {
        if (p->state == PS_DEAD) continue;
        if (p->item) in_flight++;
        if (p->state == PS_STARTING)
            proc_kill(p);
        else if (p->state != PS_DYING)
            retire(p);
    }
    size_t live = 0;
    for (wk_proc *p = w->procs; p; p = p->next)
        live += p->state != PS_DEAD;
    w->shutdown_live = live;
    engage(w);

    rc_time deadline = after(w, deadline_s);
    int result = 0;
    while (w->shutdown_live && rc_loop_now(w->loop) < deadline) {
        int rc = rc_loop_run_until(w->loop, deadline);
        if (rc < 0) result = rc;
        if (rc <= 0) break;
    }

    /* The deadline: what still runs is cut. */
    char secs[32];
    fmt_secs(secs, sizeof secs, deadline_s);
    for (wk_proc *p = w->procs; p; p = p->next) {
        if (p->state == PS_DEAD) continue;
        it = p->item;
        p->item = NULL;
        if (it) {
            char who[128];
            label(p, who, sizeof who);
            snprintf(msg, sizeof msg, "cut by shutdown: %s was still running work %llu after %s",
                     who, (unsigned long long)it->tok.work_id, secs);
            rc_cut_list_add(&cut, it->tok.work_id);
            cut_running++;
        }
        proc_kill(p);
        if (it) finish_fail(w, it, msg);
    }
    w->shutting_down = false;
    w->shut = true;
    w->engaged = false;
    sweep(w);

    size_t finished = in_flight > cut_running ? in_flight - cut_running : 0;
    int r_cut = rc_cut_list_report(&cut, finished, cut_queued, cut_running, report);
    return result ? result : r_cut;
}

void rc_workers_free(rc_workers *w)
{
    if (!w) return;
    if (!w->shut) rc_workers_shutdown(w, 0, NULL);
    rc_defer_cancel(w->loop, &w->disengage);
    workers_destroy(w);
}

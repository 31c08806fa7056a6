/* The segment's sequence locks under load: this thread publishes two cues as
 * fast as it can while more reader threads than there are cores snapshot
 * them, so readers are preempted in the middle of their copies and the
 * writer laps them.  Every snapshot must be internally consistent:
 *
 *   cue A (busy: 8 services, work starting and finishing all the time) --
 *     counters add up, the services add up to the counters, no service runs
 *     more than its limit, and the publish number, the event head, the clock
 *     and the completions never go back for one reader;
 *   cue B (the blocked report, refreshed after every step) -- at t = m ms the
 *     pending work is exactly #m+1 .. #m+WINDOW, so a report's time, its
 *     entries and its wait-for text must all describe that one set.
 *
 * A torn copy mixes two publishes and breaks one of these; a reader that
 * accepted copies without retrying fails here within a fraction of a
 * second. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runcue.h"
#include "runcue_shm.h"
#include "testutil.h"

enum {
    N_SERVICES = 8,
    WINDOW = 80,       /* pending work in cue B: more than the report keeps */
    MAX_PENDING = 200, /* cue A submits while fewer are pending */
    MAX_READERS = 16,
};
#define STRESS_SECONDS 1.0
#define STEP_MS 1 /* cue B's clock per step */

/* What a reader saw; written by its thread only, read after the join. */
typedef struct reader_ctx {
    pthread_t thread;
    rc_shm_reader *a, *b;
    uint64_t reads, report_reads, errors;
    char first_error[768];
    /* the last snapshot of cue A this reader took, for the monotonic checks */
    uint64_t gen, events_head, completed;
    int64_t now, taken;
} reader_ctx;

static atomic_bool stop;

static void failed(reader_ctx *c, const char *fmt, ...)
{
    if (c->errors++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->first_error, sizeof c->first_error, fmt, ap);
        va_end(ap);
    }
}

#define U(x) ((unsigned long long)(x))

static void check_busy(reader_ctx *c, const rc_shm_snapshot *s)
{
    const rc_shm_state *st = &s->state;
    const rc_shm_counters *k = &st->counters;
    if (st->n_services != N_SERVICES) {
        failed(c, "gen %llu: %u services", U(st->gen), st->n_services);
        return;
    }
    uint64_t running = 0, started = 0, completed = 0;
    for (uint32_t i = 0; i < N_SERVICES; i++) {
        const rc_shm_service *sv = &st->services[i];
        if (sv->running > (uint64_t)sv->concurrent)
            failed(c, "gen %llu: service %s runs %llu, limit %d", U(st->gen), sv->name,
                   U(sv->running), sv->concurrent);
        if (sv->started != sv->completed + sv->failed + sv->running)
            failed(c, "gen %llu: service %s started %llu != completed %llu + running %llu",
                   U(st->gen), sv->name, U(sv->started), U(sv->completed), U(sv->running));
        running += sv->running;
        started += sv->started;
        completed += sv->completed;
    }
    if (running != k->running || completed != k->completed || started != completed + running)
        failed(c, "gen %llu: services run %llu and completed %llu, counters say %llu and %llu",
               U(st->gen), U(running), U(completed), U(k->running), U(k->completed));
    if (k->submitted !=
        k->completed + k->failed + k->skipped + k->cancelled + k->pending + k->running)
        failed(c, "gen %llu: submitted %llu does not add up", U(st->gen), U(k->submitted));
    if (k->pending < k->waiting + k->queued + k->delayed)
        failed(c, "gen %llu: pending %llu < waiting + queued + delayed", U(st->gen), U(k->pending));
    if (st->gen < c->gen || st->events_head < c->events_head || st->now < c->now ||
        k->completed < c->completed)
        failed(c,
               "went back: gen %llu -> %llu, events %llu -> %llu, t %lld -> %lld, "
               "completed %llu -> %llu",
               U(c->gen), U(st->gen), U(c->events_head), U(st->events_head), (long long)c->now,
               (long long)st->now, U(c->completed), U(k->completed));
    c->gen = st->gen;
    c->events_head = st->events_head;
    c->now = st->now;
    c->completed = k->completed;
}

static void check_report(reader_ctx *c, const rc_shm_report *r)
{
    if (r->made == 0) return;
    c->report_reads++;
    if (r->taken < c->taken)
        failed(c, "report went back: t %lld -> %lld", (long long)c->taken, (long long)r->taken);
    c->taken = r->taken;
    if (r->taken % rc_seconds(0.001 * STEP_MS) != 0) {
        failed(c, "report taken at %lld ns, not on a step", (long long)r->taken);
        return;
    }
    uint64_t first = (uint64_t)(r->taken / rc_seconds(0.001 * STEP_MS)) + 1;
    if (r->blocked_total != WINDOW || r->n_blocked != RC_SHM_MAX_BLOCKED)
        failed(c, "report at step %llu: %llu blocked, %u kept", U(first - 1), U(r->blocked_total),
               r->n_blocked);
    for (uint32_t i = 0; i < r->n_blocked && i < RC_SHM_MAX_BLOCKED; i++) {
        const rc_shm_blocked *b = &r->blocked[i];
        char label[32];
        snprintf(label, sizeof label, "w%llu", U(b->id));
        if (b->id != first + i || strcmp(b->label, label) != 0 || strcmp(b->task, "never") != 0) {
            failed(c, "report at step %llu: entry %u is #%llu '%s' (task '%s'), expected #%llu",
                   U(first - 1), i, U(b->id), b->label, b->task, U(first + i));
            return;
        }
    }
    /* The wait-for text names the same work first. */
    char want[48];
    snprintf(want, sizeof want, "never #%llu [w%llu] waits", U(first), U(first));
    const char *named = strstr(r->waitfor, "never #");
    if (!named || strncmp(named, want, strlen(want)) != 0)
        failed(c, "report at step %llu: wait-for names '%.40s' first, expected '%s'", U(first - 1),
               named ? named : r->waitfor, want);
}

static void *reader_main(void *arg)
{
    reader_ctx *c = arg;
    rc_shm_snapshot *s = malloc(sizeof *s);
    if (!s) {
        failed(c, "out of memory");
        return NULL;
    }
    while (!atomic_load(&stop)) {
        rc_shm_read(c->a, s);
        check_busy(c, s);
        rc_shm_read(c->b, s);
        check_report(c, &s->report);
        c->reads++;
    }
    free(s);
    return NULL;
}

/* ---- the writer side: two cues on virtual loops, stepped by this thread ---- */

static int never_ready(rc_cue *cue, const rc_work *w, rc_check *chk, void *ud)
{
    (void)cue, (void)w, (void)ud;
    rc_check_wait_on(chk, "never");
    return 0;
}

static void submit_never(rc_cue *cue, rc_work_id expect)
{
    char label[32];
    snprintf(label, sizeof label, "w%llu", U(expect));
    const char *needs[] = {"never"};
    rc_work_id id = 0;
    cr_assert_eq(rc_submit(cue, "never",
                           &(rc_submit_opts){.needs = needs, .n_needs = 1, .label = label}, &id),
                 RC_OK);
    cr_assert_eq(id, expect);
}

static double wall_s(void)
{
    return rc_to_seconds(rc_monotonic_now());
}

Test(shm_stress, readers_racing_a_writer_only_ever_see_consistent_snapshots, .timeout = 60,
     .fini = tu_shm_forget)
{
    char name_a[64], name_b[64];
    tu_shm_name(name_a, sizeof name_a, "stress-busy");
    tu_shm_name(name_b, sizeof name_b, "stress-report");

    /* Cue A: 8 services, limits 1..8, half of them rate limited. */
    rc_loop *loop_a = tu_loop_new();
    rc_cue *a = tu_cue_new(loop_a, NULL);
    tu_task tasks[N_SERVICES];
    memset(tasks, 0, sizeof tasks);
    char svc[N_SERVICES][16], task[N_SERVICES][16];
    for (int i = 0; i < N_SERVICES; i++) {
        snprintf(svc[i], sizeof svc[i], "s%d", i);
        snprintf(task[i], sizeof task[i], "t%d", i);
        tasks[i].delay_s = 0.003 * (i + 1);
        char rate[16];
        snprintf(rate, sizeof rate, "%d/0.01", 2 * (i + 1));
        tu_serve(a, svc[i], i % 2 ? rate : NULL, i + 1, task[i], &tasks[i]);
    }
    /* Cue B: WINDOW work items that are never ready. */
    rc_loop *loop_b = tu_loop_new();
    rc_cue *b = tu_cue_new(loop_b, NULL);
    cr_assert_eq(rc_task(b, "never", NULL, tu_handler, &tasks[0]), RC_OK);
    rc_cue_set_hooks(b, &(rc_hooks){.is_ready = never_ready});

    rc_shm_writer *wa, *wb;
    char err[256];
    cr_assert_eq(rc_shm_publish(&wa, a, name_a, "stress: busy", err, sizeof err), 0, "%s", err);
    cr_assert_eq(rc_shm_publish(&wb, b, name_b, "stress: report", err, sizeof err), 0, "%s", err);
    for (rc_work_id id = 1; id <= WINDOW; id++)
        submit_never(b, id);
    cr_assert_geq(rc_loop_run(loop_b, RC_RUN_NOWAIT), 0);
    cr_assert_eq(rc_shm_refresh_report(wb), 0);

    /* More readers than cores, so that they are preempted mid-copy. */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int n_readers = cpus > 0 ? (int)(4 * cpus + 1) : 9;
    if (n_readers < 5) n_readers = 5;
    if (n_readers > MAX_READERS) n_readers = MAX_READERS;
    reader_ctx *ctx = calloc((size_t)n_readers, sizeof *ctx);
    cr_assert_not_null(ctx);
    atomic_store(&stop, false);
    for (int i = 0; i < n_readers; i++) {
        cr_assert_eq(rc_shm_attach(&ctx[i].a, name_a, 1, err, sizeof err), 0, "%s", err);
        cr_assert_eq(rc_shm_attach(&ctx[i].b, name_b, 1, err, sizeof err), 0, "%s", err);
        cr_assert_eq(pthread_create(&ctx[i].thread, NULL, reader_main, &ctx[i]), 0);
    }

    /* Write as fast as possible for a while. */
    uint64_t steps = 0, publishes = 0;
    unsigned next_task = 0;
    double until = wall_s() + STRESS_SECONDS;
    while (wall_s() < until) {
        /* Cue A: keep work coming, run one iteration (it publishes when it
         * settles), and publish twice more. */
        for (int k = 0; k < 4 && tu_stats(a).pending < MAX_PENDING; k++)
            tu_submit(a, task[next_task++ % N_SERVICES], NULL);
        cr_assert_geq(rc_loop_run(loop_a, RC_RUN_ONCE), 0);
        rc_shm_update(wa);
        rc_shm_update(wa);
        publishes += 3;
        /* Cue B: at step m, #m leaves and #m+WINDOW arrives; then the report. */
        steps++;
        rc_loop_run_until(loop_b, rc_seconds(0.001 * STEP_MS * (double)steps));
        cr_assert_eq(rc_cancel(b, steps), RC_OK);
        submit_never(b, steps + WINDOW);
        cr_assert_geq(rc_loop_run(loop_b, RC_RUN_NOWAIT), 0);
        cr_assert_eq(rc_shm_refresh_report(wb), 0);
    }
    atomic_store(&stop, true);

    uint64_t reads = 0, report_reads = 0, errors = 0;
    const char *first = NULL;
    for (int i = 0; i < n_readers; i++) {
        pthread_join(ctx[i].thread, NULL);
        reads += ctx[i].reads;
        report_reads += ctx[i].report_reads;
        errors += ctx[i].errors;
        if (ctx[i].errors && !first) first = ctx[i].first_error;
        cr_assert_gt(ctx[i].reads, 0, "reader %d never ran", i);
        rc_shm_detach(ctx[i].a);
        rc_shm_detach(ctx[i].b);
    }
    cr_log_info("%d readers: %llu snapshots of each cue (%llu reports) while %llu steps and "
                "%llu publishes were written",
                n_readers, U(reads), U(report_reads), U(steps), U(publishes));
    cr_assert_eq(errors, 0, "%llu inconsistent snapshots; the first: %s", U(errors),
                 first ? first : "");
    cr_assert_gt(steps, 100, "the writer took only %llu steps", U(steps));
    cr_assert_gt(tu_stats(a).completed, 100);
    free(ctx);
    tu_run(loop_a); /* let what runs finish, so nothing is left in flight */
    tu_close(loop_a, a);
    tu_close(loop_b, b);
}

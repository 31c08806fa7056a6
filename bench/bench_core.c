/*
 * bench_core.c -- figures for the runcue core on the virtual clock.
 *
 *   a. throughput: N no-op work units through one service (concurrent 50)
 *   b. fan-in:     N consumers, each waiting on its own producer's key
 *   c. async:      like (a), each unit completing 10 ms (virtual) later
 *
 * Wall time is measured here with CLOCK_MONOTONIC; the cue itself runs on
 * the virtual clock, so the figures are the scheduler's own overhead.
 * "heap" counts the bytes the library holds (its allocator and cJSON's);
 * "peak RSS" is the process high-water mark, reset before each run when the
 * kernel allows (/proc/self/clear_refs).
 */
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "runcue.h"

enum { SERVICE_CONCURRENCY = 50 };

/* ---- measuring ---- */

typedef struct heap_meter {
    size_t live;
    size_t peak;
} heap_meter;

/* Everything the library allocates: through rc_allocator and through cJSON. */
static heap_meter library_heap;

static void meter_add(heap_meter *m, void *p)
{
    m->live += malloc_usable_size(p);
    if (m->live > m->peak) m->peak = m->live;
}

static void meter_remove(heap_meter *m, void *p)
{
    m->live -= malloc_usable_size(p);
}

static void *metered_realloc(void *ud, void *p, size_t n)
{
    heap_meter *m = ud;
    if (n == 0) {
        if (p) meter_remove(m, p);
        free(p);
        return NULL;
    }
    const size_t old_size = p ? malloc_usable_size(p) : 0;
    void *q = realloc(p, n);
    if (!q) return NULL;
    m->live -= old_size;
    meter_add(m, q);
    return q;
}

static void *metered_json_malloc(size_t n)
{
    void *p = malloc(n);
    if (p) meter_add(&library_heap, p);
    return p;
}

static void metered_json_free(void *p)
{
    if (p) meter_remove(&library_heap, p);
    free(p);
}

static const rc_allocator metered_allocator = {metered_realloc, &library_heap};

static void meter_reset(heap_meter *m)
{
    m->peak = m->live;
}

static double wall_seconds(void)
{
    return rc_to_seconds(rc_monotonic_now());
}

/* Reset the kernel's peak-RSS mark; false if this kernel does not allow it
 * (then the figure is the process-wide peak so far). */
static bool peak_rss_reset(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f) return false;
    const bool ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

static size_t peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %zu kB", &kb) == 1) break;
    if (f) fclose(f);
    if (kb) return kb;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (size_t)ru.ru_maxrss;
}

/* A run that goes past its budget is cut short (the cue is paused, so the
 * loop goes idle) rather than left to run for hours on a quadratic path. */
static double run_budget_s = 60.0;

typedef struct time_budget {
    double deadline;
    uint32_t calls;
    bool spent;
} time_budget;

static time_budget budget_start(void)
{
    return (time_budget){.deadline = wall_seconds() + run_budget_s};
}

/* Cheap enough to call per work item: reads the clock every 1024 calls. */
static bool budget_spent(time_budget *b)
{
    if (!b->spent && (++b->calls & 1023) == 0 && wall_seconds() > b->deadline) b->spent = true;
    return b->spent;
}

static void warn_if_over_budget(bool spent)
{
    if (spent) printf("    !! cut short: the run went past its %.0f s budget\n", run_budget_s);
}

/* ---- formatting ---- */

/* 1234567 -> "1,234,567" */
static const char *thousands(char *buf, size_t len, uint64_t v)
{
    char digits[32];
    const int n = snprintf(digits, sizeof digits, "%" PRIu64, v);
    size_t out = 0;
    for (int i = 0; i < n && out + 2 < len; i++) {
        if (i > 0 && (n - i) % 3 == 0) buf[out++] = ',';
        buf[out++] = digits[i];
    }
    buf[out] = '\0';
    return buf;
}

static double megabytes(size_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

/* ---- setup ---- */

static void must(int rc, const char *what, const rc_cue *cue)
{
    if (rc >= 0) return;
    fprintf(stderr, "bench_core: %s: %s%s%s\n", what, rc_strerror(rc), cue ? ": " : "",
            cue ? rc_cue_errmsg(cue) : "");
    exit(1);
}

typedef struct bench_cue {
    rc_loop *loop;
    rc_cue *cue;
} bench_cue;

static bench_cue bench_cue_new(size_t retain_finished)
{
    bench_cue b;
    const rc_loop_opts loop_opts = {.clock = RC_CLOCK_VIRTUAL, .alloc = &metered_allocator};
    must(rc_loop_new(&b.loop, &loop_opts), "rc_loop_new", NULL);
    const rc_cue_opts cue_opts = {.retain_finished = retain_finished, .alloc = &metered_allocator};
    must(rc_cue_new(&b.cue, b.loop, &cue_opts), "rc_cue_new", NULL);
    must(rc_service(b.cue, "svc", NULL, SERVICE_CONCURRENCY), "rc_service", b.cue);
    return b;
}

static void bench_cue_free(bench_cue *b)
{
    rc_cue_free(b->cue);
    rc_loop_free(b->loop);
}

static void run_loop(bench_cue *b)
{
    must(rc_loop_run(b->loop, RC_RUN_DEFAULT), "rc_loop_run", b->cue);
}

/* ---- a and c: units through one service ---- */

typedef struct later_finish {
    rc_cue *cue;
    rc_token token;
    struct later_finish *next_free;
    struct unit_handler_ctx *ctx;
} later_finish;

typedef struct unit_handler_ctx {
    rc_loop *loop;
    rc_time latency;         /* 0: complete inside the handler */
    later_finish *free_list; /* recycled finish records */
    uint64_t finish_errors;
    time_budget budget;
} unit_handler_ctx;

static void finish_later(rc_loop *loop, void *arg)
{
    (void)loop;
    later_finish *f = arg;
    unit_handler_ctx *ctx = f->ctx;
    if (rc_complete(f->cue, f->token, NULL) != 0) ctx->finish_errors++;
    f->next_free = ctx->free_list;
    ctx->free_list = f;
}

static void unit_handler(rc_cue *cue, const rc_work *work, rc_token token, void *ud)
{
    (void)work;
    unit_handler_ctx *ctx = ud;
    if (budget_spent(&ctx->budget)) rc_cue_pause(cue, true);
    if (ctx->latency == 0) {
        if (rc_complete(cue, token, NULL) != 0) ctx->finish_errors++;
        return;
    }
    later_finish *f = ctx->free_list;
    if (f)
        ctx->free_list = f->next_free;
    else if (!(f = malloc(sizeof *f))) {
        rc_fail(cue, token, "out of memory");
        ctx->finish_errors++;
        return;
    }
    *f = (later_finish){.cue = cue, .token = token, .ctx = ctx};
    if (rc_loop_call_at(ctx->loop, rc_loop_now(ctx->loop) + ctx->latency, finish_later, f) != 0) {
        rc_fail(cue, token, "rc_loop_call_at failed");
        ctx->finish_errors++;
        f->next_free = ctx->free_list;
        ctx->free_list = f;
    }
}

typedef struct unit_run {
    size_t n;
    size_t retain_finished; /* 0: keep all */
    size_t batch;           /* 0: submit all, then run; else submit/run in batches */
    double latency_s;       /* 0: synchronous handler */
} unit_run;

typedef struct unit_figures {
    double submit_s, run_s, free_s;
    size_t peak_rss_kb;
    size_t heap_peak, heap_end;
    rc_stats stats;
    rc_service_info service;
    double virtual_s;
    uint64_t finish_errors;
    bool over_budget;
    size_t kept;        /* work rc_get still finds after the run */
    size_t heap_leaked; /* still allocated after rc_cue_free + rc_loop_free */
} unit_figures;

static unit_figures run_units(const unit_run *r)
{
    unit_figures fig = {0};
    const bool rss_reset = peak_rss_reset();
    meter_reset(&library_heap);
    const size_t heap_before = library_heap.live;

    bench_cue b = bench_cue_new(r->retain_finished);
    unit_handler_ctx ctx = {
        .loop = b.loop, .latency = rc_seconds(r->latency_s), .budget = budget_start()};
    must(rc_task(b.cue, "unit", "svc", unit_handler, &ctx), "rc_task", b.cue);

    const size_t batch = r->batch ? r->batch : r->n;
    for (size_t done = 0; done < r->n && !ctx.budget.spent;) {
        const size_t this_batch = r->n - done < batch ? r->n - done : batch;
        double t0 = wall_seconds();
        for (size_t i = 0; i < this_batch && !budget_spent(&ctx.budget); i++)
            must(rc_submit(b.cue, "unit", NULL, NULL), "rc_submit", b.cue);
        double t1 = wall_seconds();
        run_loop(&b);
        fig.submit_s += t1 - t0;
        fig.run_s += wall_seconds() - t1;
        done += this_batch;
    }

    rc_cue_stats(b.cue, &fig.stats);
    must(rc_service_get(b.cue, 0, &fig.service), "rc_service_get", b.cue);
    fig.virtual_s = rc_to_seconds(rc_loop_now(b.loop));
    fig.heap_end = library_heap.live - heap_before;
    fig.heap_peak = library_heap.peak - heap_before;
    fig.peak_rss_kb = rss_reset ? peak_rss_kb() : 0;
    fig.finish_errors = ctx.finish_errors;
    fig.over_budget = ctx.budget.spent;
    for (rc_work_id id = 1; id <= r->n; id++)
        fig.kept += rc_get(b.cue, id) != NULL;

    const double t0 = wall_seconds();
    bench_cue_free(&b);
    fig.free_s = wall_seconds() - t0;
    fig.heap_leaked = library_heap.live - heap_before;
    while (ctx.free_list) {
        later_finish *next = ctx.free_list->next_free;
        free(ctx.free_list);
        ctx.free_list = next;
    }
    if (!rss_reset) fig.peak_rss_kb = peak_rss_kb();
    return fig;
}

static void warn_if_leaked(size_t bytes)
{
    if (bytes) printf("    !! %zu bytes still allocated after rc_cue_free + rc_loop_free\n", bytes);
}

static void warn_if_incomplete(const char *what, size_t n, const rc_stats *s, uint64_t errors)
{
    if (s->completed == n && s->pending == 0 && s->running == 0 && errors == 0) return;
    printf("    !! %s: completed %" PRIu64 " of %zu, pending %zu, running %zu, "
           "finish errors %" PRIu64 "\n",
           what, s->completed, n, s->pending, s->running, errors);
}

static void print_unit_header(void)
{
    printf("  %10s  %-14s %8s %8s %8s %8s %11s %9s %9s %9s %10s\n", "N", "retain", "submit", "run",
           "total", "free", "work/s", "peak RSS", "heap max", "heap end", "kept");
}

static void print_unit_figures(size_t n, const char *retain, const unit_figures *f)
{
    const double total = f->submit_s + f->run_s;
    char n_buf[32], rate_buf[32], kept_buf[32];
    printf("  %10s  %-14s %7.3fs %7.3fs %7.3fs %7.3fs %11s %6.1f MB %6.1f MB %6.1f MB %10s\n",
           thousands(n_buf, sizeof n_buf, n), retain, f->submit_s, f->run_s, total, f->free_s,
           thousands(rate_buf, sizeof rate_buf, total > 0 ? (uint64_t)((double)n / total) : 0),
           (double)f->peak_rss_kb / 1024.0, megabytes(f->heap_peak), megabytes(f->heap_end),
           thousands(kept_buf, sizeof kept_buf, f->kept));
    warn_if_leaked(f->heap_leaked);
    warn_if_over_budget(f->over_budget);
}

static double print_unit_row(const unit_run *r)
{
    const unit_figures f = run_units(r);
    char retain[32];
    if (r->retain_finished == 0)
        snprintf(retain, sizeof retain, "keep all");
    else
        snprintf(retain, sizeof retain, "%zu%s", r->retain_finished, r->batch ? ", batched" : "");
    print_unit_figures(r->n, retain, &f);
    warn_if_incomplete("throughput", r->n, &f.stats, f.finish_errors);
    return f.submit_s + f.run_s;
}

static void bench_throughput(const size_t sizes[3], size_t batch)
{
    printf("a. Throughput: no-op handler completing synchronously, one service (concurrent %d)\n",
           SERVICE_CONCURRENCY);
    print_unit_header();
    double totals[3];
    for (int i = 0; i < 3; i++)
        totals[i] = print_unit_row(&(unit_run){.n = sizes[i]});
    print_unit_row(&(unit_run){.n = sizes[2], .retain_finished = 1000});
    print_unit_row(&(unit_run){.n = sizes[2], .retain_finished = 1000, .batch = batch});
    char big[32], small[32];
    printf("  time ratio t(%s)/t(%s) = %.1f for %zux the work (target <= %.0f)\n",
           thousands(big, sizeof big, sizes[2]), thousands(small, sizeof small, sizes[0]),
           totals[2] / totals[0], sizes[2] / sizes[0], 1.2 * (double)(sizes[2] / sizes[0]));
    printf("  retain 1000: finished work beyond 1000 is forgotten (\"kept\": what rc_get finds);\n"
           "  \"batched\": submitted %zu at a time, the loop run to idle after each batch\n\n",
           batch);
}

static void bench_async(size_t n)
{
    const unit_run r = {.n = n, .latency_s = 0.010};
    printf("c. Async: each unit completes 10 ms (virtual) after it starts, via rc_loop_call_at\n");
    print_unit_header();
    const unit_figures f = run_units(&r);
    print_unit_figures(n, "keep all", &f);
    const double expected_virtual =
        (double)((n + SERVICE_CONCURRENCY - 1) / SERVICE_CONCURRENCY) * r.latency_s;
    printf("  virtual time elapsed %.2f s (ideal %.2f s); service peak running %zu; "
           "passes %" PRIu64 "\n",
           f.virtual_s, expected_virtual, f.service.peak_running, f.stats.passes);
    warn_if_incomplete("async", n, &f.stats, f.finish_errors);
    printf("\n");
}

/* ---- b: fan-in ---- */

typedef struct fan_in_ctx {
    unsigned char *produced; /* bitmap: key k<i> exists */
    size_t n;
    uint64_t consumer_checks, other_checks;
    uint64_t consumers_started_early;
    uint64_t finish_errors;
    time_budget budget;
} fan_in_ctx;

static size_t key_index(const char *key)
{
    return (size_t)strtoull(key + 1, NULL, 10); /* "k<i>" */
}

static bool is_produced(const fan_in_ctx *ctx, size_t i)
{
    return ctx->produced[i / 8] & (1u << (i % 8));
}

static int fan_in_is_ready(rc_cue *cue, const rc_work *work, rc_check *check, void *ud)
{
    (void)cue;
    fan_in_ctx *ctx = ud;
    const char *const *needs;
    if (rc_work_needs(work, &needs) == 0) {
        ctx->other_checks++;
        return 1;
    }
    ctx->consumer_checks++;
    if (is_produced(ctx, key_index(needs[0]))) return 1;
    rc_check_wait_on(check, needs[0]);
    return 0;
}

static void produce_handler(rc_cue *cue, const rc_work *work, rc_token token, void *ud)
{
    fan_in_ctx *ctx = ud;
    if (budget_spent(&ctx->budget)) rc_cue_pause(cue, true);
    const char *const *keys;
    if (rc_work_produces(work, &keys) == 1) {
        const size_t i = key_index(keys[0]);
        ctx->produced[i / 8] |= (unsigned char)(1u << (i % 8));
    }
    if (rc_complete(cue, token, NULL) != 0) ctx->finish_errors++;
}

static void consume_handler(rc_cue *cue, const rc_work *work, rc_token token, void *ud)
{
    fan_in_ctx *ctx = ud;
    if (budget_spent(&ctx->budget)) rc_cue_pause(cue, true);
    const char *const *needs;
    if (rc_work_needs(work, &needs) != 1 || !is_produced(ctx, key_index(needs[0])))
        ctx->consumers_started_early++;
    if (rc_complete(cue, token, NULL) != 0) ctx->finish_errors++;
}

static void bench_fan_in(size_t n)
{
    printf("b. Fan-in: %zu consumers each waiting on key k<i>, then %zu producers of those keys\n",
           n, n);
    const bool rss_reset = peak_rss_reset();
    meter_reset(&library_heap);
    const size_t heap_before = library_heap.live;

    bench_cue b = bench_cue_new(0);
    fan_in_ctx ctx = {.n = n, .produced = calloc(n / 8 + 1, 1), .budget = budget_start()};
    if (!ctx.produced) must(RC_ENOMEM, "calloc", NULL);
    rc_cue_set_hooks(b.cue, &(rc_hooks){.is_ready = fan_in_is_ready, .ud = &ctx});
    must(rc_task(b.cue, "consume", "svc", consume_handler, &ctx), "rc_task", b.cue);
    must(rc_task(b.cue, "produce", "svc", produce_handler, &ctx), "rc_task", b.cue);

    const double t0 = wall_seconds();
    char key[32];
    const char *const keys[] = {key};
    for (size_t i = 0; i < n && !budget_spent(&ctx.budget); i++) {
        snprintf(key, sizeof key, "k%zu", i);
        const rc_submit_opts opts = {.needs = keys, .n_needs = 1};
        must(rc_submit(b.cue, "consume", &opts, NULL), "rc_submit", b.cue);
    }
    for (size_t i = 0; i < n && !budget_spent(&ctx.budget); i++) {
        snprintf(key, sizeof key, "k%zu", i);
        const rc_submit_opts opts = {.produces = keys, .n_produces = 1};
        must(rc_submit(b.cue, "produce", &opts, NULL), "rc_submit", b.cue);
    }
    const double t1 = wall_seconds();
    run_loop(&b);
    const double t2 = wall_seconds();

    rc_stats s;
    rc_cue_stats(b.cue, &s);
    const size_t heap_peak = library_heap.peak - heap_before;
    bench_cue_free(&b);
    free(ctx.produced);
    warn_if_leaked(library_heap.live - heap_before);

    char buf[4][32];
    printf("  wall %.3f s (submit %.3f s, run %.3f s; target < 1 s)   peak RSS %.1f MB   "
           "heap max %.1f MB\n",
           t2 - t0, t1 - t0, t2 - t1, rss_reset ? (double)peak_rss_kb() / 1024.0 : 0.0,
           megabytes(heap_peak));
    printf("  is_ready calls (stats.checks) %s: consumers %s (%.2f per consumer), "
           "producers %s\n",
           thousands(buf[0], sizeof buf[0], s.checks),
           thousands(buf[1], sizeof buf[1], ctx.consumer_checks),
           (double)ctx.consumer_checks / (double)n,
           thousands(buf[2], sizeof buf[2], ctx.other_checks));
    printf("  completed %s, dispatch passes %s\n", thousands(buf[3], sizeof buf[3], s.completed),
           thousands(buf[0], sizeof buf[0], s.passes));
    warn_if_over_budget(ctx.budget.spent);
    if (ctx.consumers_started_early)
        printf("    !! %" PRIu64 " consumers started before their key was produced\n",
               ctx.consumers_started_early);
    warn_if_incomplete("fan-in", 2 * n, &s, ctx.finish_errors);
    printf("\n");
}

/* ---- main ---- */

static void usage(FILE *out)
{
    fprintf(out, "usage: bench_core [--quick] [--help]\n"
                 "Figures for the runcue core on the virtual clock:\n"
                 "  a. throughput of no-op work, N = 10k, 100k, 1M\n"
                 "  b. fan-in: 100k consumers released one by one by 100k producers\n"
                 "  c. async completions 10 ms (virtual) after start, N = 1M\n"
                 "  --quick  smaller N (1k, 10k, 100k; fan-in 10k; async 100k)\n");
}

int main(int argc, char **argv)
{
    bool quick = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "bench_core: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    cJSON_InitHooks(&(cJSON_Hooks){metered_json_malloc, metered_json_free});

    const size_t scale = quick ? 10 : 1;
    if (quick) run_budget_s = 20.0;
    const size_t sizes[3] = {10000 / scale, 100000 / scale, 1000000 / scale};
    printf("runcue %s bench_core%s: virtual clock, wall time measured with CLOCK_MONOTONIC\n\n",
           RC_VERSION_STRING, quick ? " --quick" : "");
    bench_throughput(sizes, 10000 / scale);
    bench_fan_in(100000 / scale);
    bench_async(1000000 / scale);
    return 0;
}

/* test_forget_completed.c -- rc_cue_opts.forget_completed keeps the
 * diagnosis as it was.
 *
 * The promise: with forget_completed, rc_diagnose() and rc_debug_blocked()
 * read the same as without it (only rc_get() no longer finds the forgotten
 * producers).  Each case drives two cues the same way:
 *
 *   A  forget_non_producers                      (completed producers kept)
 *   B  forget_non_producers + forget_completed   (kept as ghosts on their keys)
 *
 * and compares, at several points, the diagnosis (every structured field and
 * rc_diagnosis_print's text) and rc_debug_blocked (fields and
 * rc_blocked_print's text).  The randomized case builds, for each seed, the
 * same workload on both: random tasks (plain, behind a service of
 * concurrency 2, behind a rate limit, retried once, without a handler),
 * random needs and produces over a few keys (so a key has several
 * producers: some fail, some are cancelled, some skipped by is_stale, some
 * complete; now and then a key declared twice), an artifact state per cue
 * (a completed producer makes its keys valid; keys are invalidated and made
 * valid at random, with rc_artifacts_changed), checks that name every unmet
 * need or the first, forwards or backwards, pauses, and finishes the running
 * work in a seeded order.  Seeds alternate between automatic and manual
 * notification (no_auto_notify, with completions the driver may leave
 * unannounced: a completed producer not forgotten yet then competes with a
 * ghost), needs that may form cycles or not, and one in eight runs both
 * cues without forget_non_producers.  It compares after steps, right after
 * finishes (before the dispatch pass that forgets), when stuck, and when
 * stuck with every key invalidated.
 *
 * GHOST_SEED=n runs seed n alone (GHOST_TRACE=1 prints its steps);
 * GHOST_SEEDS=n runs seeds 1..n. */
#include <stdarg.h>

#include "testutil.h"

enum { NK = 6, MAXW = 72, MAX_NEEDS = 3, MAX_PROD = 2, DEFAULT_SEEDS = 300 };

static const char *const key_name[NK] = {"k0", "k1", "k2", "k3", "k4", "k5"};
/* k5 is never declared as produced: waiting on it is a missing producer. */
enum { N_PRODUCED = NK - 1 };

enum { T_PLAIN, T_POOL, T_RATED, T_FLAKY, T_ORPHAN, N_TASKS };
static const char *const task_name[N_TASKS] = {"plain", "pool", "rated", "flaky", "orphan"};

/* How a work ends when the driver finishes it (OUT_SKIP: is_stale skips it). */
enum { OUT_COMPLETE, OUT_FAIL, OUT_SKIP };

typedef struct spec {
    int task;
    size_t n_needs, n_prod;
    int needs[MAX_NEEDS];
    int prod[MAX_PROD];
    int outcome;
    bool hidden;     /* its needs are checked but not declared */
    bool first_only; /* its check names only the first unmet need */
    bool backwards;  /* its check goes through its needs last to first */
    char label[48];
    bool has_label;
} spec;

/* One cue and what the test keeps for it. */
typedef struct side {
    const char *name;
    rc_loop *loop;
    rc_cue *cue;
    bool valid[NK];
    bool held[MAXW + 1];
    rc_token tok[MAXW + 1];
} side;

/* The same workload on two cues. */
typedef struct pair {
    side a, b;
    spec specs[MAXW];
    size_t n;
    uint64_t rng;
    unsigned seed;
    bool manual_notify; /* no_auto_notify: the driver announces completions */
    bool layered;       /* work needs only keys after those it produces */
    int step;
    bool trace;
} pair;

/* What the comparisons saw, summed over a run: proof that B forgot producers
 * the diagnosis went on to name. */
typedef struct coverage {
    size_t compares, edges, roots, forgotten_roots, forgotten_edges, cycles, missing, held;
    /* Edges to a completed producer of a key that also has a completed
     * producer B forgot (a ghost), or B keeps: which one the diagnosis
     * names. */
    size_t live_beat_ghost, ghost_beat_live;
} coverage;

static coverage cov;

/* ---- a small seeded generator (splitmix64) ---- */

static uint64_t next_u64(pair *p)
{
    uint64_t z = (p->rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int pick(pair *p, int n)
{
    return (int)(next_u64(p) % (uint64_t)n);
}

static bool chance(pair *p, int percent)
{
    return pick(p, 100) < percent;
}

/* ---- hooks: the same functions on both cues, each with its side ---- */

static int is_ready(rc_cue *cue, const rc_work *w, rc_check *check, void *ud)
{
    (void)cue;
    const side *s = ud;
    const spec *sp = rc_work_ud(w);
    size_t unmet = 0;
    for (size_t j = 0; j < sp->n_needs; j++) {
        int k = sp->needs[sp->backwards ? sp->n_needs - 1 - j : j];
        if (s->valid[k]) continue;
        rc_check_wait_on(check, key_name[k]);
        if (!unmet++) rc_check_detail(check, "input %s missing", key_name[k]);
        if (sp->first_only) break;
    }
    return unmet == 0;
}

static int is_stale(rc_cue *cue, const rc_work *w, rc_check *check, void *ud)
{
    (void)cue, (void)check, (void)ud;
    const spec *sp = rc_work_ud(w);
    return sp->outcome != OUT_SKIP;
}

/* Keeps the token: the driver finishes the work. */
static void hold(rc_cue *cue, const rc_work *w, rc_token tok, void *ud)
{
    (void)cue;
    side *s = ud;
    rc_work_id id = rc_work_get_id(w);
    cr_assert_leq(id, MAXW);
    s->tok[id] = tok;
    s->held[id] = true;
}

static void side_open(side *s, const char *name, bool forget_completed, bool no_auto_notify,
                      bool keep_non_producers)
{
    memset(s, 0, sizeof *s);
    s->name = name;
    rc_cue_opts o = {.forget_non_producers = !keep_non_producers,
                     .forget_completed = forget_completed,
                     .no_auto_notify = no_auto_notify};
    s->loop = tu_loop_new();
    s->cue = tu_cue_new(s->loop, &o);
    rc_hooks h = {.is_ready = is_ready, .is_stale = is_stale, .ud = s};
    rc_cue_set_hooks(s->cue, &h);
    cr_assert_eq(rc_service(s->cue, "pool", NULL, 2), RC_OK);
    cr_assert_eq(rc_task(s->cue, task_name[T_PLAIN], NULL, hold, s), RC_OK);
    cr_assert_eq(rc_task(s->cue, task_name[T_POOL], "pool", hold, s), RC_OK);
    cr_assert_eq(rc_service(s->cue, "slow", "1/2", RC_NO_LIMIT), RC_OK);
    cr_assert_eq(rc_task(s->cue, task_name[T_RATED], "slow", hold, s), RC_OK);
    cr_assert_eq(rc_task(s->cue, task_name[T_FLAKY], NULL, hold, s), RC_OK);
    cr_assert_eq(rc_task(s->cue, task_name[T_ORPHAN], NULL, NULL, NULL), RC_OK);
    rc_retry_policy once = {.max_attempts = 2, .base_s = 1.0};
    cr_assert_eq(rc_task_retry(s->cue, task_name[T_FLAKY], &once), RC_OK);
}

static void side_close(side *s)
{
    rc_cue_free(s->cue);
    rc_loop_free(s->loop);
}

/* Both cues; manual_notify: with no_auto_notify, so that a completion the
 * driver does not announce leaves its consumers waiting on the key (a
 * completed producer and a ghost can then compete in the diagnosis).
 * keep_non_producers: both without forget_non_producers.  Seed 0 is for the
 * hand-written cases (their steps are not random). */
static void pair_open(pair *p, unsigned seed, bool manual_notify, bool keep_non_producers)
{
    memset(p, 0, sizeof *p);
    p->seed = seed;
    p->rng = seed * 0x2545F4914F6CDD1DULL + 1;
    p->manual_notify = manual_notify;
    const char *trace = getenv("GHOST_TRACE");
    p->trace = trace && *trace && *trace != '0';
    side_open(&p->a, "A (forget_completed off)", false, manual_notify, keep_non_producers);
    side_open(&p->b, "B (forget_completed on)", true, manual_notify, keep_non_producers);
}

static void pair_close(pair *p)
{
    side_close(&p->a);
    side_close(&p->b);
}

static void trace(const pair *p, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void trace(const pair *p, const char *fmt, ...)
{
    if (!p->trace) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "seed %u step %d: ", p->seed, p->step);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- driving both cues the same way ---- */

static void run_both(pair *p)
{
    tu_run(p->a.loop);
    tu_run(p->b.loop);
}

static rc_work_id submit_side(side *s, const spec *sp)
{
    const char *needs[MAX_NEEDS], *prod[MAX_PROD];
    for (size_t i = 0; i < sp->n_needs; i++)
        needs[i] = key_name[sp->needs[i]];
    for (size_t i = 0; i < sp->n_prod; i++)
        prod[i] = key_name[sp->prod[i]];
    rc_submit_opts o = {
        .needs = needs,
        .n_needs = sp->hidden ? 0 : sp->n_needs,
        .produces = prod,
        .n_produces = sp->n_prod,
        .label = sp->has_label ? sp->label : NULL,
        .ud = (void *)sp,
    };
    rc_work_id id = 0;
    int rc = rc_submit(s->cue, task_name[sp->task], &o, &id);
    cr_assert_eq(rc, RC_OK, "%s: submit: %s", s->name, rc_strerror(rc));
    return id;
}

/* Submit p->specs[p->n] to both cues; returns the id (the same on both). */
static rc_work_id submit_both(pair *p)
{
    cr_assert_lt(p->n, MAXW);
    const spec *sp = &p->specs[p->n++];
    rc_work_id a = submit_side(&p->a, sp), b = submit_side(&p->b, sp);
    cr_assert_eq(a, b, "seed %u: ids differ (%llu, %llu)", p->seed, (unsigned long long)a,
                 (unsigned long long)b);
    cr_assert_eq(a, p->n, "ids count up from 1");
    return a;
}

/* Finish held work `id` on one cue as its spec says: flaky work fails its
 * first attempt with rc_retry.  announce: announce what it made (for a cue
 * with no_auto_notify). */
static void finish_side(side *s, const spec *sp, rc_work_id id, bool announce)
{
    cr_assert(s->held[id], "%s: work %llu is not held", s->name, (unsigned long long)id);
    s->held[id] = false;
    char error[48];
    snprintf(error, sizeof error, "boom %llu", (unsigned long long)id);
    int rc;
    if (sp->task == T_FLAKY && s->tok[id].attempt == 1)
        rc = rc_retry(s->cue, s->tok[id], error);
    else if (sp->outcome == OUT_FAIL)
        rc = rc_fail(s->cue, s->tok[id], error);
    else {
        for (size_t i = 0; i < sp->n_prod; i++)
            s->valid[sp->prod[i]] = true;
        rc = rc_complete(s->cue, s->tok[id], NULL);
        for (size_t i = 0; !rc && announce && i < sp->n_prod; i++)
            rc = rc_artifacts_changed(s->cue, key_name[sp->prod[i]]);
    }
    cr_assert_eq(rc, RC_OK, "%s: finish %llu: %s", s->name, (unsigned long long)id,
                 rc_strerror(rc));
}

static void finish_both(pair *p, rc_work_id id, bool announce)
{
    trace(p, "finish #%llu%s", (unsigned long long)id, announce ? ", announced" : "");
    finish_side(&p->a, &p->specs[id - 1], id, announce);
    finish_side(&p->b, &p->specs[id - 1], id, announce);
}

/* Set key k valid or not on both cues, and announce it (or not). */
static void set_key_both(pair *p, int k, bool valid, bool announce)
{
    trace(p, "%s %s%s", valid ? "make valid" : "invalidate", key_name[k],
          announce ? "" : ", not announced");
    side *both[2] = {&p->a, &p->b};
    for (int i = 0; i < 2; i++) {
        both[i]->valid[k] = valid;
        if (announce) cr_assert_eq(rc_artifacts_changed(both[i]->cue, key_name[k]), RC_OK);
    }
}

/* Finish one of the n held works in the random workload: often the newest,
 * so that older producers complete after newer ones were forgotten.  With
 * manual_notify, what it made is announced a third of the time; when it is
 * not, its consumers still wait on the key: returns true then. */
static bool finish_random(pair *p, const rc_work_id *held, size_t n)
{
    rc_work_id id = chance(p, 40) ? held[n - 1] : held[pick(p, (int)n)];
    bool quiet = p->manual_notify && !chance(p, 33);
    finish_both(p, id, p->manual_notify && !quiet);
    return quiet;
}

/* Every held id on A, in id order; B must hold the same. */
static size_t held_ids(const pair *p, rc_work_id *out)
{
    size_t n = 0;
    for (rc_work_id id = 1; id <= p->n; id++) {
        cr_assert_eq(p->a.held[id], p->b.held[id], "seed %u: #%llu held on one cue only", p->seed,
                     (unsigned long long)id);
        if (p->a.held[id]) out[n++] = id;
    }
    return n;
}

/* ---- comparing ---- */

typedef struct text {
    char *buf;
    size_t len;
} text;

static FILE *text_open(text *t)
{
    t->buf = NULL;
    t->len = 0;
    FILE *f = open_memstream(&t->buf, &t->len);
    cr_assert_not_null(f, "open_memstream");
    return f;
}

static void text_close(FILE *f)
{
    cr_assert_eq(fclose(f), 0);
}

/* Both cues' reports, kept for the message when they differ. */
typedef struct report {
    rc_diagnosis d;
    rc_blocked *blocked;
    size_t n_blocked;
    text diag, diag_short, blocked_text;
} report;

static void report_make(side *s, report *r)
{
    int rc = rc_diagnose(s->cue, &r->d);
    cr_assert_eq(rc, RC_OK, "%s: rc_diagnose: %s", s->name, rc_strerror(rc));
    rc = rc_debug_blocked(s->cue, &r->blocked, &r->n_blocked);
    cr_assert_eq(rc, RC_OK, "%s: rc_debug_blocked: %s", s->name, rc_strerror(rc));
    FILE *f = text_open(&r->diag);
    rc_diagnosis_print(s->cue, &r->d, 1000, f);
    text_close(f);
    f = text_open(&r->diag_short);
    rc_diagnosis_print(s->cue, &r->d, 2, f);
    text_close(f);
    f = text_open(&r->blocked_text);
    rc_blocked_print(s->cue, r->blocked, r->n_blocked, 1000, f);
    text_close(f);
}

static void report_free(side *s, report *r)
{
    rc_diagnosis_free(s->cue, &r->d);
    rc_blocked_free(s->cue, r->blocked);
    free(r->diag.buf);
    free(r->diag_short.buf);
    free(r->blocked_text.buf);
}

static bool same_str(const char *x, const char *y)
{
    return x == y || (x && y && strcmp(x, y) == 0);
}

/* The first field in which the two reports differ, written to why; false if
 * they are the same. */
static bool differ(const report *a, const report *b, char *why, size_t cap)
{
#define DIFF(cond, ...)                                                                            \
    do {                                                                                           \
        if (cond) {                                                                                \
            snprintf(why, cap, __VA_ARGS__);                                                       \
            return true;                                                                           \
        }                                                                                          \
    } while (0)
    const rc_diagnosis *x = &a->d, *y = &b->d;
    DIFF(x->n_edges != y->n_edges, "n_edges %zu != %zu", x->n_edges, y->n_edges);
    for (size_t i = 0; i < x->n_edges; i++) {
        const rc_wait_edge *e = &x->edges[i], *f = &y->edges[i];
        DIFF(e->waiter != f->waiter || !same_str(e->key, f->key) || e->producer != f->producer ||
                 e->producer_state != f->producer_state ||
                 e->producer_skipped != f->producer_skipped,
             "edge %zu: #%llu '%s' <- #%llu %s%s != #%llu '%s' <- #%llu %s%s", i,
             (unsigned long long)e->waiter, e->key, (unsigned long long)e->producer,
             rc_state_name(e->producer_state), e->producer_skipped ? " (skipped)" : "",
             (unsigned long long)f->waiter, f->key, (unsigned long long)f->producer,
             rc_state_name(f->producer_state), f->producer_skipped ? " (skipped)" : "");
    }
    DIFF(x->n_roots != y->n_roots, "n_roots %zu != %zu", x->n_roots, y->n_roots);
    for (size_t i = 0; i < x->n_roots; i++) {
        const rc_diag_root *r = &x->roots[i], *q = &y->roots[i];
        DIFF(r->id != q->id || !same_str(r->task, q->task) || !same_str(r->label, q->label) ||
                 r->state != q->state || r->skipped != q->skipped ||
                 !same_str(r->error, q->error) || r->blocks != q->blocks,
             "root %zu: #%llu %s [%s] %s%s blocks %zu != #%llu %s [%s] %s%s blocks %zu", i,
             (unsigned long long)r->id, r->task, r->label ? r->label : "(null)",
             rc_state_name(r->state), r->skipped ? " (skipped)" : "", r->blocks,
             (unsigned long long)q->id, q->task, q->label ? q->label : "(null)",
             rc_state_name(q->state), q->skipped ? " (skipped)" : "", q->blocks);
    }
    DIFF(x->n_failed_roots != y->n_failed_roots, "n_failed_roots %zu != %zu", x->n_failed_roots,
         y->n_failed_roots);
    for (size_t i = 0; i < x->n_failed_roots; i++)
        DIFF(x->failed_roots[i] != y->failed_roots[i], "failed_roots[%zu] differ", i);
    DIFF(x->n_missing != y->n_missing, "n_missing %zu != %zu", x->n_missing, y->n_missing);
    for (size_t i = 0; i < x->n_missing; i++) {
        const rc_diag_missing *m = &x->missing_info[i], *n = &y->missing_info[i];
        DIFF(!same_str(x->missing[i], y->missing[i]) || !same_str(m->key, n->key) ||
                 m->n_waiters != n->n_waiters || m->blocks != n->blocks,
             "missing %zu: '%s' (%zu waiters, blocks %zu) != '%s' (%zu waiters, blocks %zu)", i,
             m->key, m->n_waiters, m->blocks, n->key, n->n_waiters, n->blocks);
        for (size_t j = 0; j < m->n_waiters; j++)
            DIFF(m->waiters[j] != n->waiters[j], "missing %zu: waiter %zu differs", i, j);
    }
    DIFF(x->n_cycles != y->n_cycles, "n_cycles %zu != %zu", x->n_cycles, y->n_cycles);
    for (size_t i = 0; i < x->n_cycles; i++) {
        DIFF(x->cycle_len[i] != y->cycle_len[i] || x->cycle_ring[i] != y->cycle_ring[i] ||
                 x->cycle_blocks[i] != y->cycle_blocks[i],
             "cycle %zu: len/ring/blocks differ", i);
        for (size_t j = 0; j < x->cycle_len[i]; j++)
            DIFF(x->cycles[i][j] != y->cycles[i][j], "cycle %zu: member %zu differs", i, j);
    }
    DIFF(x->n_held != y->n_held, "n_held %zu != %zu", x->n_held, y->n_held);
    for (size_t i = 0; i < x->n_held; i++)
        DIFF(x->held[i].item.id != y->held[i].item.id ||
                 x->held[i].item.reason != y->held[i].item.reason ||
                 x->held[i].blocks != y->held[i].blocks,
             "held %zu: #%llu != #%llu (or reason/blocks)", i,
             (unsigned long long)x->held[i].item.id, (unsigned long long)y->held[i].item.id);
    DIFF(x->n_waiting != y->n_waiting || x->blocks_partial != y->blocks_partial,
         "n_waiting %zu != %zu (or blocks_partial)", x->n_waiting, y->n_waiting);
    DIFF(a->n_blocked != b->n_blocked, "debug_blocked: %zu items != %zu", a->n_blocked,
         b->n_blocked);
    for (size_t i = 0; i < a->n_blocked; i++) {
        const rc_blocked *u = &a->blocked[i], *v = &b->blocked[i];
        DIFF(u->id != v->id || !same_str(u->task, v->task) || !same_str(u->label, v->label) ||
                 !same_str(u->service, v->service) || u->reason != v->reason ||
                 !same_str(u->wait_key, v->wait_key) || strcmp(u->detail, v->detail) != 0 ||
                 u->since != v->since,
             "debug_blocked %zu: #%llu != #%llu (or task/label/reason/wait_key/detail/since)", i,
             (unsigned long long)u->id, (unsigned long long)v->id);
        DIFF(u->has_producer_info != v->has_producer_info || u->producer != v->producer ||
                 u->producer_state != v->producer_state ||
                 u->producer_skipped != v->producer_skipped || u->n_unmet != v->n_unmet,
             "debug_blocked %zu (#%llu): producer #%llu %s%s, %zu unmet != #%llu %s%s, %zu unmet",
             i, (unsigned long long)u->id, (unsigned long long)u->producer,
             rc_state_name(u->producer_state), u->producer_skipped ? " (skipped)" : "", u->n_unmet,
             (unsigned long long)v->producer, rc_state_name(v->producer_state),
             v->producer_skipped ? " (skipped)" : "", v->n_unmet);
    }
    DIFF(strcmp(a->diag.buf, b->diag.buf) != 0, "rc_diagnosis_print text differs");
    DIFF(strcmp(a->diag_short.buf, b->diag_short.buf) != 0,
         "rc_diagnosis_print text (max_items 2) differs");
    DIFF(strcmp(a->blocked_text.buf, b->blocked_text.buf) != 0, "rc_blocked_print text differs");
    return false;
#undef DIFF
}

static bool completed_not_skipped(const rc_work *w)
{
    return w && rc_work_state(w) == RC_COMPLETED && !rc_work_skipped(w);
}

/* An edge of B's diagnosis to a completed producer: count it if another
 * completed producer of its key competed with it, forgotten or kept by B
 * while this one is not (A, which keeps all, says which completed). */
static void count_competition(const pair *p, const rc_wait_edge *e)
{
    if (e->producer_state != RC_COMPLETED || e->producer_skipped) return;
    bool live = rc_get(p->b.cue, e->producer) != NULL;
    bool other_live = false, other_ghost = false;
    for (rc_work_id q = 1; q <= p->n; q++) {
        const spec *sp = &p->specs[q - 1];
        if (q == e->producer || !completed_not_skipped(rc_get(p->a.cue, q))) continue;
        for (size_t i = 0; i < sp->n_prod; i++) {
            if (strcmp(key_name[sp->prod[i]], e->key) != 0) continue;
            if (rc_get(p->b.cue, q))
                other_live = true;
            else
                other_ghost = true;
        }
    }
    cov.live_beat_ghost += live && other_ghost;
    cov.ghost_beat_live += !live && other_live;
}

/* What B's diagnosis names that B has forgotten (and A still has). */
static void count_coverage(const pair *p, const report *b)
{
    const rc_diagnosis *d = &b->d;
    cov.compares++;
    cov.edges += d->n_edges;
    cov.roots += d->n_roots;
    cov.cycles += d->n_cycles;
    cov.missing += d->n_missing;
    cov.held += d->n_held;
    for (size_t i = 0; i < d->n_roots; i++)
        if (!rc_get(p->b.cue, d->roots[i].id)) {
            cr_assert_not_null(rc_get(p->a.cue, d->roots[i].id), "A keeps every producer");
            cov.forgotten_roots++;
        }
    for (size_t i = 0; i < d->n_edges; i++) {
        cov.forgotten_edges += d->edges[i].producer && !rc_get(p->b.cue, d->edges[i].producer);
        count_competition(p, &d->edges[i]);
    }
}

/* Compare the two cues' reports; on a difference fail with the seed, the
 * step, the field and both texts. */
static void compare(pair *p, const char *where)
{
    report ra = {0}, rb = {0};
    report_make(&p->a, &ra);
    report_make(&p->b, &rb);
    char why[512];
    bool bad = differ(&ra, &rb, why, sizeof why);
    if (bad)
        fprintf(stderr,
                "seed %u, step %d (%s): %s\n"
                "---- A diagnosis ----\n%s---- B diagnosis ----\n%s"
                "---- A debug_blocked ----\n%s---- B debug_blocked ----\n%s",
                p->seed, p->step, where, why, ra.diag.buf, rb.diag.buf, ra.blocked_text.buf,
                rb.blocked_text.buf);
    else
        count_coverage(p, &rb);
    report_free(&p->a, &ra);
    report_free(&p->b, &rb);
    cr_assert_not(bad, "seed %u, step %d (%s): %s%s", p->seed, p->step, where, why,
                  p->seed ? " (GHOST_SEED=<seed> GHOST_TRACE=1 replays it)" : "");
}

/* ---- the random workload ---- */

/* Up to max distinct keys from the first `range`, in a random order. */
static size_t pick_keys(pair *p, int *out, size_t max, int range)
{
    if ((int)max > range) max = (size_t)range;
    size_t n = (size_t)pick(p, (int)max + 1);
    for (size_t i = 0; i < n; i++) {
        int k;
        bool dup;
        do {
            k = pick(p, range);
            dup = false;
            for (size_t j = 0; j < i; j++)
                dup |= out[j] == k;
        } while (dup);
        out[i] = k;
    }
    return n;
}

/* How often a producer of each key fails (it is skipped half as often): the
 * producers of k0 always complete, so k0 is often the key of a completed
 * root with several completed producers; work that produces nothing fails
 * at the last rate. */
static const int fail_percent[N_PRODUCED + 1] = {0, 10, 25, 40, 50, 30};

static void random_spec(pair *p, spec *sp)
{
    memset(sp, 0, sizeof *sp);
    int t = pick(p, 100);
    sp->task = t < 40 ? T_PLAIN : t < 62 ? T_POOL : t < 72 ? T_RATED : t < 95 ? T_FLAKY : T_ORPHAN;
    /* A source (needs nothing), a middle step or a consumer (produces
     * nothing). */
    int role = pick(p, 100), max_needs = role < 35 ? 0 : role < 65 ? 2 : MAX_NEEDS;
    if (role < 65)
        while (!(sp->n_prod = pick_keys(p, sp->prod, role < 35 ? MAX_PROD : 1, N_PRODUCED)))
            ;
    if (role < 35 && chance(p, 40)) sp->prod[0] = 0, sp->n_prod = 1; /* another k0 source */
    int fail = sp->n_prod ? 0 : fail_percent[N_PRODUCED], lowest = sp->n_prod ? NK : -1;
    for (size_t i = 0; i < sp->n_prod; i++) {
        if (fail_percent[sp->prod[i]] > fail) fail = fail_percent[sp->prod[i]];
        if (sp->prod[i] < lowest) lowest = sp->prod[i];
    }
    /* Layered seeds need only keys after the first they produce: no cycles. */
    int first = p->layered ? lowest + 1 : 0;
    sp->n_needs = pick_keys(p, sp->needs, (size_t)max_needs, NK - first);
    for (size_t i = 0; i < sp->n_needs; i++)
        sp->needs[i] += first;
    /* Now and then a key declared twice. */
    if (sp->n_prod == 1 && chance(p, 4)) sp->prod[sp->n_prod++] = sp->prod[0];
    if (sp->n_needs && sp->n_needs < MAX_NEEDS && chance(p, 4))
        sp->needs[sp->n_needs++] = sp->needs[0];
    int o = pick(p, 100);
    sp->outcome = o < fail ? OUT_FAIL : o < fail + fail / 2 ? OUT_SKIP : OUT_COMPLETE;
    sp->hidden = chance(p, 8);
    sp->first_only = chance(p, 30);
    sp->backwards = chance(p, 25);
    int l = pick(p, 10);
    sp->has_label = l >= 3;
    if (l == 3)
        sp->label[0] = '\0'; /* an empty label */
    else if (l < 7)
        snprintf(sp->label, sizeof sp->label, "w%zu", p->n + 1);
    else
        snprintf(sp->label, sizeof sp->label, "a label too long to keep inline, #%zu", p->n + 1);
}

static void pause_both(pair *p, bool paused)
{
    trace(p, "%s", paused ? "pause" : "resume");
    rc_cue_pause(p->a.cue, paused);
    rc_cue_pause(p->b.cue, paused);
}

/* One random step on both cues. */
static void random_step(pair *p)
{
    rc_work_id held[MAXW];
    size_t n_held = held_ids(p, held);
    if (rc_cue_paused(p->a.cue) && chance(p, 40)) pause_both(p, false);
    int r = pick(p, 100);
    if (r < 30 && p->n < MAXW) {
        random_spec(p, &p->specs[p->n]);
        rc_work_id id = submit_both(p);
        trace(p, "submit #%llu", (unsigned long long)id);
    } else if (r < 62 && n_held) {
        if (finish_random(p, held, n_held) || chance(p, 50))
            compare(p, "finished, before the dispatch pass");
    } else if (r < 76) {
        set_key_both(p, pick(p, NK), false, true);
    } else if (r < 82) {
        set_key_both(p, pick(p, NK), true, true);
    } else if (r < 84) {
        pause_both(p, true);
    } else if (r < 90 && p->n) {
        rc_work_id id = (rc_work_id)pick(p, (int)p->n) + 1;
        const rc_work *w = rc_get(p->a.cue, id);
        if (w && rc_work_state(w) == RC_PENDING) {
            trace(p, "cancel #%llu", (unsigned long long)id);
            cr_assert_eq(rc_cancel(p->a.cue, id), RC_OK);
            cr_assert_eq(rc_cancel(p->b.cue, id), RC_OK);
        }
    } else {
        compare(p, "random point");
    }
    /* Mostly let both settle; sometimes compare before the dispatch pass
     * (completed producers not yet forgotten, checks not yet redone). */
    if (chance(p, 85)) run_both(p);
}

static void random_case(unsigned seed)
{
    pair *p = malloc(sizeof *p);
    cr_assert_not_null(p);
    /* Seeds by residue: manual notification on even seeds, layered needs
     * on two of every four, and one in eight keeps non-producers. */
    pair_open(p, seed, seed % 2 == 0, seed % 8 == 5);
    p->layered = seed % 4 < 2;
    int steps = 40 + pick(p, 80);
    for (p->step = 0; p->step < steps; p->step++)
        random_step(p);
    run_both(p);
    compare(p, "after the random steps");
    /* Finish what runs, in a seeded order, until nothing does: stuck. */
    rc_work_id held[MAXW];
    size_t n_held;
    while ((n_held = held_ids(p, held))) {
        if (finish_random(p, held, n_held) || chance(p, 50))
            compare(p, "draining, before the dispatch pass");
        run_both(p);
        p->step++;
    }
    compare(p, "stuck");
    /* Invalidate every valid key: completed roots wherever they are waited on. */
    for (int k = 0; k < NK; k++)
        if (p->a.valid[k]) set_key_both(p, k, false, true);
    run_both(p);
    compare(p, "stuck, every key invalidated");
    pair_close(p);
    free(p);
}

static unsigned env_unsigned(const char *name, unsigned dflt)
{
    const char *v = getenv(name);
    return v && *v ? (unsigned)strtoul(v, NULL, 10) : dflt;
}

Test(forget_completed, diagnoses_read_the_same_as_when_producers_are_kept, .timeout = 600)
{
    memset(&cov, 0, sizeof cov);
    const char *one = getenv("GHOST_SEED");
    unsigned first = one && *one ? env_unsigned("GHOST_SEED", 0) : 1;
    unsigned n = one && *one ? 1 : env_unsigned("GHOST_SEEDS", DEFAULT_SEEDS);
    for (unsigned s = first; s < first + n; s++)
        random_case(s);
    cr_log_info(
        "forget_completed: %u seeds, %zu comparisons: %zu edges (%zu to forgotten producers), "
        "%zu roots (%zu forgotten), %zu cycles, %zu missing, %zu held; a completed producer "
        "B keeps beat a ghost %zu times, a ghost beat one %zu times",
        n, cov.compares, cov.edges, cov.forgotten_edges, cov.roots, cov.forgotten_roots, cov.cycles,
        cov.missing, cov.held, cov.live_beat_ghost, cov.ghost_beat_live);
    /* The default seeds reach each case the comparisons are about. */
    if (first == 1 && n >= DEFAULT_SEEDS) {
        cr_assert_gt(cov.forgotten_roots, 0, "some roots B names were forgotten");
        cr_assert_gt(cov.forgotten_edges, 0, "some edges lead to forgotten producers");
        cr_assert_gt(cov.cycles, 0);
        cr_assert_gt(cov.missing, 0);
        cr_assert_gt(cov.held, 0);
        cr_assert_gt(cov.live_beat_ghost, 0);
        cr_assert_gt(cov.ghost_beat_live, 0);
    }
}

/* ---- hand-written cases ---- */

/* A spec for task "plain" needing `need` (-1: nothing) and producing
 * `produce` (-1: nothing), labelled. */
static void add_spec(pair *p, int need, int produce, const char *label)
{
    spec *sp = &p->specs[p->n];
    memset(sp, 0, sizeof *sp);
    sp->task = T_PLAIN;
    sp->outcome = OUT_COMPLETE;
    if (need >= 0) sp->needs[sp->n_needs++] = need;
    if (produce >= 0) sp->prod[sp->n_prod++] = produce;
    snprintf(sp->label, sizeof sp->label, "%s", label);
    sp->has_label = true;
    submit_both(p);
}

/* Both cues read the same, with one edge: consumer waits on k0 <- `want` in
 * `state`.  A completed `want` (its output not valid) is the one root. */
static void expect_edge(pair *p, rc_work_id consumer, rc_work_id want, rc_state state)
{
    compare(p, "hand-written");
    side *both[2] = {&p->a, &p->b};
    for (int i = 0; i < 2; i++) {
        rc_diagnosis d;
        cr_assert_eq(rc_diagnose(both[i]->cue, &d), RC_OK);
        cr_assert_eq(d.n_edges, 1, "%s: %zu edges (want #%llu %s)", both[i]->name, d.n_edges,
                     (unsigned long long)want, rc_state_name(state));
        cr_assert_eq(d.edges[0].waiter, consumer);
        cr_assert_eq(d.edges[0].producer, want, "%s: producer #%llu, want #%llu", both[i]->name,
                     (unsigned long long)d.edges[0].producer, (unsigned long long)want);
        cr_assert_eq(d.edges[0].producer_state, state);
        if (state != RC_COMPLETED) {
            cr_assert_eq(d.n_roots, 0);
            rc_diagnosis_free(both[i]->cue, &d);
            continue;
        }
        cr_assert_eq(d.n_roots, 1);
        cr_assert_eq(d.roots[0].id, want);
        cr_assert_eq(d.roots[0].state, RC_COMPLETED);
        cr_assert_not(d.roots[0].skipped);
        char expect[96];
        snprintf(expect, sizeof expect, "p%llu", (unsigned long long)want);
        cr_assert_str_eq(d.roots[0].label, expect);
        cr_assert_str_eq(d.roots[0].task, "plain");
        text t;
        FILE *f = text_open(&t);
        rc_diagnosis_print(both[i]->cue, &d, 10, f);
        text_close(f);
        snprintf(expect, sizeof expect, "Root cause: plain #%llu [p%llu] completed",
                 (unsigned long long)want, (unsigned long long)want);
        cr_assert_not_null(strstr(t.buf, expect), "%s: no \"%s\" in:\n%s", both[i]->name, expect,
                           t.buf);
        free(t.buf);
        rc_diagnosis_free(both[i]->cue, &d);
    }
}

/* Whether each cue still knows work id: A always, B as `b_knows` says. */
static void expect_known(const pair *p, rc_work_id id, bool b_knows)
{
    cr_assert_not_null(rc_get(p->a.cue, id), "A keeps #%llu", (unsigned long long)id);
    if (b_knows)
        cr_assert_not_null(rc_get(p->b.cue, id), "B has not forgotten #%llu yet",
                           (unsigned long long)id);
    else
        cr_assert_null(rc_get(p->b.cue, id), "B forgot #%llu", (unsigned long long)id);
}

/* A pair for a hand-written case (seed 0), with producers of k0 labelled
 * p<id>, submitted and running. */
static pair *hand_open(bool manual_notify, size_t producers)
{
    pair *p = malloc(sizeof *p);
    cr_assert_not_null(p);
    pair_open(p, 0, manual_notify, false);
    for (size_t i = 1; i <= producers; i++) {
        char label[16];
        snprintf(label, sizeof label, "p%zu", i);
        add_spec(p, -1, 0, label);
    }
    run_both(p);
    return p;
}

static void hand_close(pair *p)
{
    pair_close(p);
    free(p);
}

/* Producer `id` completes and is forgotten by B; k0 is invalidated and a
 * consumer submitted, which waits on it.  Returns the consumer's id. */
static rc_work_id forget_then_wait(pair *p, rc_work_id id)
{
    finish_both(p, id, p->manual_notify);
    run_both(p);
    expect_known(p, id, false);
    set_key_both(p, 0, false, true);
    add_spec(p, 0, -1, "consumer");
    run_both(p);
    return p->n;
}

/* Producer `id` completes, unannounced (no_auto_notify) and k0 is not valid
 * anyway: the consumer still waits on k0.  Compared before the dispatch pass
 * forgets it (B still has it), then after: k0 <- `want`, completed. */
static void complete_quietly(pair *p, rc_work_id id, rc_work_id consumer, rc_work_id want)
{
    finish_both(p, id, false);
    set_key_both(p, 0, false, false);
    expect_known(p, id, true);
    expect_edge(p, consumer, want, RC_COMPLETED);
    run_both(p);
    expect_known(p, id, false);
    expect_edge(p, consumer, want, RC_COMPLETED);
}

Test(forget_completed, the_newest_of_three_completed_producers_is_the_root)
{
    pair *p = hand_open(false, 3);
    /* Out of id order, a dispatch pass after each: the ghost of #3 is left
     * first and the older ones do not replace it. */
    const rc_work_id order[] = {3, 1, 2};
    for (size_t i = 0; i < 3; i++) {
        finish_both(p, order[i], false);
        run_both(p);
        expect_known(p, order[i], false);
    }
    set_key_both(p, 0, false, true);
    add_spec(p, 0, -1, "consumer");
    run_both(p);
    expect_edge(p, 4, 3, RC_COMPLETED);
    hand_close(p);
}

/* A completed producer newer than the ghost on its key, not forgotten yet:
 * it is the root; then its own ghost is. */
Test(forget_completed, a_live_completed_producer_newer_than_the_ghost_wins)
{
    pair *p = hand_open(true, 1);
    rc_work_id consumer = forget_then_wait(p, 1);
    expect_edge(p, consumer, 1, RC_COMPLETED);
    add_spec(p, -1, 0, "p3");
    run_both(p);
    expect_edge(p, consumer, 3, RC_RUNNING);
    complete_quietly(p, 3, consumer, 3);
    set_key_both(p, 0, false, true);
    run_both(p);
    expect_edge(p, consumer, 3, RC_COMPLETED);
    hand_close(p);
}

/* A ghost newer than a completed producer not forgotten yet: the ghost is
 * the root, before and after the dispatch pass. */
Test(forget_completed, a_ghost_newer_than_a_live_completed_producer_wins)
{
    pair *p = hand_open(true, 2);
    rc_work_id consumer = forget_then_wait(p, 2);
    expect_edge(p, consumer, 1, RC_RUNNING);
    complete_quietly(p, 1, consumer, 2);
    hand_close(p);
}

/* A large run: 140 000 producers complete and are forgotten.  Their work
 * records' slabs empty as they go, and the ghosts they leave are carved
 * from an emptied slab given back to the cue's small objects (memory the
 * run already has); the diagnosis still names the newest producer of a key
 * by its label. */
static int wait_on_needs(rc_cue *c, const rc_work *w, rc_check *chk, void *ud)
{
    (void)c, (void)ud;
    const char *const *needs;
    const size_t n = rc_work_needs(w, &needs);
    for (size_t i = 0; i < n; i++) rc_check_wait_on(chk, needs[i]);
    return n == 0;
}

Test(forget_completed, the_ghosts_of_a_large_run_name_their_producers, .timeout = 120)
{
    enum { N = 140000 };
    rc_loop *loop;
    rc_cue *cue;
    tu_open(&loop, &cue,
            &(rc_cue_opts){.forget_non_producers = true, .forget_completed = true});
    rc_cue_set_hooks(cue, &(rc_hooks){.is_ready = wait_on_needs});
    tu_task t = {0};
    cr_assert_eq(rc_task(cue, "make", NULL, tu_handler, &t), RC_OK);
    cr_assert_eq(rc_task(cue, "use", NULL, tu_handler, &t), RC_OK);
    for (int i = 0; i < N; i++) {
        char key[32], label[32];
        snprintf(key, sizeof key, "k/%d", i);
        snprintf(label, sizeof label, "maker-%d", i);
        const char *produces[] = {key};
        tu_submit_opts(cue, "make",
                       &(rc_submit_opts){.produces = produces, .n_produces = 1, .label = label});
    }
    tu_run(loop);
    cr_assert_eq(tu_stats(cue).completed, N);
    /* Waits on the last key and on one from the first slab. */
    const char *needs[] = {"k/139999", "k/17"};
    tu_submit_opts(cue, "use", &(rc_submit_opts){.needs = needs, .n_needs = 2, .label = "user"});
    tu_run(loop);
    rc_diagnosis d;
    cr_assert_eq(rc_diagnose(cue, &d), RC_OK);
    char *printed = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&printed, &len);
    rc_diagnosis_print(cue, &d, 10, out);
    fclose(out);
    cr_assert(strstr(printed, "maker-139999"), "%s", printed);
    cr_assert(strstr(printed, "maker-17"), "%s", printed);
    free(printed);
    rc_diagnosis_free(cue, &d);
    tu_close(loop, cue);
}

/* Producers with labels too long for the cue's slabs leave ghosts that come
 * from the allocator: freeing the cue frees them (and a ghost replaced by a
 * newer one on its key is freed then).  Nothing the cue allocated is left. */
Test(forget_completed, ghosts_with_long_labels_are_freed_with_the_cue)
{
    tu_counting r = {0};
    const rc_allocator al = {tu_counting_realloc, &r};
    rc_loop *loop;
    rc_cue *cue;
    cr_assert_eq(rc_loop_new(&loop, NULL), RC_OK);
    cr_assert_eq(rc_cue_new(&cue, loop,
                            &(rc_cue_opts){.forget_non_producers = true,
                                           .forget_completed = true,
                                           .alloc = &al}),
                 RC_OK);
    tu_task t = {0};
    cr_assert_eq(rc_task(cue, "make", NULL, tu_handler, &t), RC_OK);
    /* Two producers of k/0 (the newer ghost replaces the older), one of
     * k/1, each labelled with 300 bytes; one short label beside them. */
    const char *keys[] = {"k/0", "k/0", "k/1", "k/2"};
    for (size_t i = 0; i < 4; i++) {
        char label[301];
        memset(label, 'a' + (int)i, 300);
        label[300] = '\0';
        if (i == 3) strcpy(label, "short");
        const char *produces[] = {keys[i]};
        tu_submit_opts(cue, "make",
                       &(rc_submit_opts){.produces = produces, .n_produces = 1, .label = label});
        tu_run(loop);
    }
    cr_assert_eq(tu_stats(cue).completed, 4);
    for (rc_work_id id = 1; id <= 4; id++)
        cr_assert_null(rc_get(cue, id), "#%llu forgotten", (unsigned long long)id);
    rc_cue_free(cue);
    rc_loop_free(loop);
    cr_assert_eq(r.live, 0, "%ld blocks of the cue left", r.live);
}

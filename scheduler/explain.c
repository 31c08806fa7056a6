/* explain.c -- why work waits, as text: one formatter for the blocked list
 * and the wait-for diagnosis, used by runcue-sim's stall report, the live
 * segment's report and through it the views.  See runcue.h. */
#include <stdio.h>

#include "runcue.h"

static const char *label_of(const rc_work *w)
{
    return w && rc_work_label(w) ? rc_work_label(w) : "";
}

/* The diagnosis's root with this id (roots are in id order), or NULL. */
static const rc_diag_root *root_of(const rc_diagnosis *d, rc_work_id id)
{
    size_t lo = 0, hi = d && d->roots ? d->n_roots : 0;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        if (d->roots[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return d && d->roots && lo < d->n_roots && d->roots[lo].id == id ? &d->roots[lo] : NULL;
}

/* "task #id [label]": from the cue, or for a root the cue has forgotten
 * (forget_completed) from the diagnosis; "#id" for work neither knows. */
static void describe_work(FILE *f, const rc_cue *cue, const rc_diagnosis *d, rc_work_id id)
{
    const rc_work *w = rc_get(cue, id);
    const rc_diag_root *r = w ? NULL : root_of(d, id);
    const char *task = w ? rc_work_task(w) : r ? r->task : NULL;
    const char *label = w ? label_of(w) : r && r->label ? r->label : "";
    if (!task) {
        fprintf(f, "#%llu", (unsigned long long)id);
        return;
    }
    fprintf(f, "%s #%llu", task, (unsigned long long)id);
    if (*label) fprintf(f, " [%s]", label);
}

static const char *error_of(const rc_cue *cue, rc_work_id id)
{
    const rc_work *w = rc_get(cue, id);
    return w && rc_work_error(w) ? rc_work_error(w) : "?";
}

/* "N waiting items depend on it" (or "no other ..."), for a cause. */
static void print_blocks(FILE *out, size_t blocks, bool partial, const char *other)
{
    if (!blocks)
        fprintf(out, "; no %swaiting item depends on it\n", other);
    else
        fprintf(out, "; %s%zu %swaiting item%s depend%s on it\n", partial ? "at least " : "",
                blocks, other, blocks == 1 ? "" : "s", blocks == 1 ? "s" : "");
}

/* Who would produce a waited-on key, as a phrase. */
static void producer_phrase(FILE *out, rc_work_id producer, rc_state state, bool skipped)
{
    unsigned long long id = (unsigned long long)producer;
    if (!producer)
        fprintf(out, "no producer");
    else if (state == RC_PENDING || state == RC_RUNNING)
        fprintf(out, "not produced yet (producer #%llu %s)", id, rc_state_name(state));
    else
        fprintf(out, "producer #%llu %s", id, skipped ? "skipped" : rc_state_name(state));
}

void rc_blocked_print(const rc_cue *cue, const rc_blocked *list, size_t n, size_t max_items,
                      FILE *out)
{
    if (!cue || !out || (!list && n)) return;
    for (size_t i = 0; i < n && i < max_items; i++) {
        const rc_blocked *b = &list[i];
        fprintf(out, "    ");
        describe_work(out, cue, NULL, b->id);
        fprintf(out, ": %s - %s", rc_block_reason_name(b->reason), b->detail);
        if (b->has_producer_info) {
            fprintf(out, ": ");
            producer_phrase(out, b->producer, b->producer_state, b->producer_skipped);
        }
        if (b->n_unmet > 1)
            fprintf(out, " (+%zu more unmet need%s)", b->n_unmet - 1, b->n_unmet == 2 ? "" : "s");
        fprintf(out, "\n");
    }
    if (n > max_items) fprintf(out, "    ... and %zu more\n", n - max_items);
}

static void print_edges(const rc_cue *cue, const rc_diagnosis *d, size_t max_items, FILE *out)
{
    if (d->n_edges) fprintf(out, "  Wait-for chains:\n");
    size_t shown = 0;
    for (size_t i = 0; i < d->n_edges && shown < max_items; i++, shown++) {
        const rc_wait_edge *e = &d->edges[i];
        fprintf(out, "    ");
        describe_work(out, cue, d, e->waiter);
        fprintf(out, " waits on '%s' <- ", e->key);
        if (!e->producer) {
            fprintf(out, "no producer\n");
            continue;
        }
        describe_work(out, cue, d, e->producer);
        if (e->producer_state == RC_FAILED)
            fprintf(out, " FAILED: %s\n", error_of(cue, e->producer));
        else if (e->producer_state == RC_CANCELLED)
            fprintf(out, " CANCELLED\n");
        else if (e->producer_state == RC_COMPLETED)
            fprintf(out, e->producer_skipped ? " SKIPPED\n" : " COMPLETED, output not valid\n");
        else
            fprintf(out, " (%s)\n", rc_state_name(e->producer_state));
    }
    if (d->n_edges > shown) fprintf(out, "    ... and %zu more\n", d->n_edges - shown);
}

static void print_cycles(const rc_cue *cue, const rc_diagnosis *d, size_t max_items, FILE *out)
{
    for (size_t i = 0; i < d->n_cycles && i < max_items; i++) {
        size_t len = d->cycle_len[i];
        bool ring = !d->cycle_ring || d->cycle_ring[i];
        if (ring)
            fprintf(out, "  Cycle: ");
        else
            fprintf(out, "  Cycle of %zu work items waiting on each other: ", len);
        for (size_t k = 0; k < len && k < max_items; k++) {
            if (k) fprintf(out, ring ? " -> " : ", ");
            describe_work(out, cue, d, d->cycles[i][k]);
        }
        if (len > max_items)
            fprintf(out, ring ? " -> ... (%zu more)" : ", ... (%zu more)", len - max_items);
        if (ring) {
            fprintf(out, " -> ");
            describe_work(out, cue, d, d->cycles[i][0]);
        }
        if (d->cycle_blocks && d->cycle_blocks[i])
            print_blocks(out, d->cycle_blocks[i], d->blocks_partial, "more ");
        else
            fprintf(out, "\n");
    }
    if (d->n_cycles > max_items)
        fprintf(out, "  ... and %zu more cycles\n", d->n_cycles - max_items);
}

static void print_missing(const rc_cue *cue, const rc_diagnosis *d, size_t max_items, FILE *out)
{
    for (size_t i = 0; i < d->n_missing && i < max_items; i++) {
        fprintf(out, "  Missing producer: nothing produces '%s'", d->missing[i]);
        if (!d->missing_info) {
            fprintf(out, "\n");
            continue;
        }
        const rc_diag_missing *m = &d->missing_info[i];
        fprintf(out, "; waited on by ");
        describe_work(out, cue, d, m->waiters[0]);
        if (m->n_waiters > 1) fprintf(out, " and %zu more", m->n_waiters - 1);
        if (m->blocks > m->n_waiters)
            print_blocks(out, m->blocks - m->n_waiters, d->blocks_partial, "more ");
        else
            fprintf(out, "\n");
    }
    if (d->n_missing > max_items)
        fprintf(out, "  ... and %zu more missing keys\n", d->n_missing - max_items);
}

static void print_roots(const rc_cue *cue, const rc_diagnosis *d, size_t max_items, FILE *out)
{
    /* A diagnosis made without the roots list: its failed roots by id. */
    for (size_t i = 0; !d->roots && i < d->n_failed_roots && i < max_items; i++) {
        fprintf(out, "  Root cause: ");
        describe_work(out, cue, d, d->failed_roots[i]);
        fprintf(out, " failed (%s)\n", error_of(cue, d->failed_roots[i]));
    }
    for (size_t i = 0; i < d->n_roots && i < max_items; i++) {
        const rc_diag_root *r = &d->roots[i];
        fprintf(out, "  Root cause: ");
        describe_work(out, cue, d, r->id);
        if (r->state == RC_FAILED)
            fprintf(out, " failed (%s)", r->error ? r->error : "?");
        else if (r->state == RC_CANCELLED)
            fprintf(out, " was cancelled");
        else if (r->skipped)
            fprintf(out, " was skipped, but its output is not valid");
        else
            fprintf(out, " completed, but its output is not valid any more");
        print_blocks(out, r->blocks, d->blocks_partial, "");
    }
    if (d->n_roots > max_items)
        fprintf(out, "  ... and %zu more root causes\n", d->n_roots - max_items);
}

static void print_held(const rc_cue *cue, const rc_diagnosis *d, size_t max_items, FILE *out)
{
    for (size_t i = 0; i < d->n_held && i < max_items; i++) {
        const rc_blocked *b = &d->held[i].item;
        fprintf(out, "  Held: ");
        describe_work(out, cue, NULL, b->id);
        fprintf(out, ": %s - %s", rc_block_reason_name(b->reason), b->detail);
        print_blocks(out, d->held[i].blocks, d->blocks_partial, "");
    }
    if (d->n_held > max_items)
        fprintf(out, "  ... and %zu more held producers\n", d->n_held - max_items);
}

void rc_diagnosis_print(const rc_cue *cue, const rc_diagnosis *d, size_t max_items, FILE *out)
{
    if (!cue || !d || !out) return;
    print_edges(cue, d, max_items, out);
    print_cycles(cue, d, max_items, out);
    print_missing(cue, d, max_items, out);
    print_roots(cue, d, max_items, out);
    print_held(cue, d, max_items, out);
}

/* explain.c -- why work waits, as text: one formatter for the blocked list
 * and the wait-for diagnosis, used by runcue-sim's stall report, the live
 * segment's report and through it the views.  See runcue.h. */
#include <stdio.h>

#include "runcue.h"

static const char *label_of(const rc_work *w)
{
    return w && rc_work_label(w) ? rc_work_label(w) : "";
}

/* "task #id [label]", or "#id" for work the cue no longer knows. */
static void describe_work(FILE *f, const rc_cue *cue, rc_work_id id)
{
    const rc_work *w = rc_get(cue, id);
    if (!w) {
        fprintf(f, "#%llu", (unsigned long long)id);
        return;
    }
    fprintf(f, "%s #%llu", rc_work_task(w), (unsigned long long)id);
    if (*label_of(w)) fprintf(f, " [%s]", label_of(w));
}

static const char *error_of(const rc_cue *cue, rc_work_id id)
{
    const rc_work *w = rc_get(cue, id);
    return w && rc_work_error(w) ? rc_work_error(w) : "?";
}

void rc_blocked_print(const rc_cue *cue, const rc_blocked *list, size_t n, size_t max_items,
                      FILE *out)
{
    if (!cue || !out || (!list && n)) return;
    for (size_t i = 0; i < n && i < max_items; i++) {
        fprintf(out, "    ");
        describe_work(out, cue, list[i].id);
        fprintf(out, ": %s - %s\n", rc_block_reason_name(list[i].reason), list[i].detail);
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
        describe_work(out, cue, e->waiter);
        fprintf(out, " waits on '%s' <- ", e->key);
        if (!e->producer) {
            fprintf(out, "no producer\n");
            continue;
        }
        describe_work(out, cue, e->producer);
        if (e->producer_state == RC_FAILED)
            fprintf(out, " FAILED: %s\n", error_of(cue, e->producer));
        else
            fprintf(out, " (%s)\n", rc_state_name(e->producer_state));
    }
    if (d->n_edges > shown) fprintf(out, "    ... and %zu more\n", d->n_edges - shown);
}

void rc_diagnosis_print(const rc_cue *cue, const rc_diagnosis *d, size_t max_items, FILE *out)
{
    if (!cue || !d || !out) return;
    print_edges(cue, d, max_items, out);
    for (size_t i = 0; i < d->n_cycles; i++) {
        fprintf(out, "  Cycle: ");
        for (size_t k = 0; k < d->cycle_len[i]; k++) {
            describe_work(out, cue, d->cycles[i][k]);
            fprintf(out, " -> ");
        }
        describe_work(out, cue, d->cycles[i][0]);
        fprintf(out, "\n");
    }
    for (size_t i = 0; i < d->n_missing && i < max_items; i++)
        fprintf(out, "  Missing producer: nothing produces '%s'\n", d->missing[i]);
    if (d->n_missing > max_items)
        fprintf(out, "  ... and %zu more missing keys\n", d->n_missing - max_items);
    for (size_t i = 0; i < d->n_failed_roots && i < max_items; i++) {
        fprintf(out, "  Root cause: ");
        describe_work(out, cue, d->failed_roots[i]);
        fprintf(out, " failed (%s); work that needs its output waits forever\n",
                error_of(cue, d->failed_roots[i]));
    }
    if (d->n_failed_roots > max_items)
        fprintf(out, "  ... and %zu more failed roots\n", d->n_failed_roots - max_items);
}

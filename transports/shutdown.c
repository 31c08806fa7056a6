/*
 * shutdown.c -- what the transports share when they shut down (see
 * shutdown.h), and the public rc_shutdown_report_free.
 */
#include "shutdown.h"

#include <stdlib.h>

void rc_cut_list_add(rc_cut_list *cut, rc_work_id id)
{
    if (cut->lost) return;
    if (cut->len == cut->cap) {
        size_t cap = cut->cap ? 2 * cut->cap : 16;
        rc_work_id *ids = realloc(cut->ids, cap * sizeof *ids);
        if (!ids) {
            cut->lost = true;
            return;
        }
        cut->ids = ids;
        cut->cap = cap;
    }
    cut->ids[cut->len++] = id;
}

/* qsort order of work ids: ascending. */
static int cmp_work_id(const void *a, const void *b)
{
    rc_work_id x = *(const rc_work_id *)a, y = *(const rc_work_id *)b;
    return (x > y) - (x < y);
}

int rc_cut_list_report(rc_cut_list *cut, size_t finished, size_t cut_queued, size_t cut_running,
                       rc_shutdown_report *report)
{
    if (!report || cut->lost) {
        free(cut->ids);
        *cut = (rc_cut_list){.lost = cut->lost};
    }
    if (report) {
        if (cut->len > 1) qsort(cut->ids, cut->len, sizeof *cut->ids, cmp_work_id);
        *report = (rc_shutdown_report){
            .finished = finished,
            .cut_queued = cut_queued,
            .cut_running = cut_running,
            .cut_ids = cut->ids,
            .n_cut_ids = cut->len,
        };
    }
    return cut->lost ? RC_ENOMEM : 0;
}

rc_time rc_time_after(rc_time now, double seconds)
{
    rc_time d = rc_seconds(seconds);
    return d >= RC_TIME_NEVER - now ? RC_TIME_NEVER : now + d;
}

void rc_shutdown_report_free(rc_shutdown_report *report)
{
    if (!report) return;
    free(report->cut_ids);
    report->cut_ids = NULL;
    report->n_cut_ids = 0;
}

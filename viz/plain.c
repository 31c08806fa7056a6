/* plain.c -- a snapshot as plain text, for runcue-top --once.  See live.h.
 * Every count is bounded by the layout and every string by its field, so a
 * crafted segment prints as nonsense, never past its tables. */
#include <stdio.h>

#include "live.h"
#include "viewmodel.h"

static void print_services(FILE *out, const rc_shm_snapshot *s)
{
    uint32_t n = vm_services(s);
    for (uint32_t i = 0; i < n; i++) {
        const rc_shm_service *v = &s->state.services[i];
        char lim[32];
        if (v->concurrent <= 0)
            snprintf(lim, sizeof lim, "-");
        else
            snprintf(lim, sizeof lim, "%d", v->concurrent);
        fprintf(out,
                "service %-16.*s running %llu/%s  queued %llu  blocked %llu  completed %llu  "
                "failed %llu\n",
                (int)sizeof v->name, v->name, (unsigned long long)v->running, lim,
                (unsigned long long)v->queued, (unsigned long long)v->blocked,
                (unsigned long long)v->completed, (unsigned long long)v->failed);
    }
}

/* The writer says the run is stalled: why, briefly. */
static void print_blocked(FILE *out, const rc_shm_report *rep)
{
    enum { MAX_LINES = 20 };
    if (rep->roots_total) {
        fprintf(out, "root causes (%llu):\n", (unsigned long long)rep->roots_total);
        uint32_t nr = rep->n_roots < RC_SHM_MAX_ROOTS ? rep->n_roots : RC_SHM_MAX_ROOTS;
        for (uint32_t i = 0; i < nr; i++) {
            char line[256];
            vm_root_text(&rep->roots[i], line, sizeof line);
            fprintf(out, "  %s\n", line);
        }
        if (rep->roots_total > nr)
            fprintf(out, "  +%llu more\n", (unsigned long long)(rep->roots_total - nr));
    }
    fprintf(out, "blocked (%llu):\n", (unsigned long long)rep->blocked_total);
    uint32_t shown = rep->n_blocked < MAX_LINES ? rep->n_blocked : MAX_LINES;
    for (uint32_t i = 0; i < shown; i++)
        fprintf(out, "  #%llu %.*s: %.*s\n", (unsigned long long)rep->blocked[i].id,
                (int)sizeof rep->blocked[i].task, rep->blocked[i].task,
                (int)sizeof rep->blocked[i].detail, rep->blocked[i].detail);
    if (rep->blocked_total > shown)
        fprintf(out, "  ... %llu more\n", (unsigned long long)(rep->blocked_total - shown));
    char wf[sizeof rep->waitfor];
    snprintf(wf, sizeof wf, "%.*s", (int)sizeof wf - 1, rep->waitfor);
    const char *p = wf, *wl;
    int len;
    for (int n = 0; n < MAX_LINES && vm_next_line(&p, &wl, &len); n++)
        fprintf(out, "%s%.*s\n", n ? "  " : "wait-for:\n  ", len, wl);
    if (*p) fprintf(out, "  +%d more lines\n", vm_count_lines(p));
}

void live_print(FILE *out, const rc_shm_snapshot *s, const char *status)
{
    const rc_shm_counters *c = &s->state.counters;
    fprintf(out, "%.*s  pid %d  %s  t=%.3fs  %s\n", (int)sizeof s->name, s->name,
            (int)s->writer_pid, s->clock == RC_CLOCK_VIRTUAL ? "virtual clock" : "real clock",
            vm_s(vm_span(s->state.now, s->published)), status);
    if (s->title[0]) fprintf(out, "%.*s\n", (int)sizeof s->title, s->title);
    fprintf(out,
            "submitted %llu  completed %llu  failed %llu  skipped %llu  cancelled %llu  "
            "pending %llu  running %llu  waiting %llu  queued %llu  delayed %llu\n",
            (unsigned long long)c->submitted, (unsigned long long)c->completed,
            (unsigned long long)c->failed, (unsigned long long)c->skipped,
            (unsigned long long)c->cancelled, (unsigned long long)c->pending,
            (unsigned long long)c->running, (unsigned long long)c->waiting,
            (unsigned long long)c->queued, (unsigned long long)c->delayed);
    print_services(out, s);
    if ((s->state.flags & RC_SHM_STALLED) && s->report.made && c->pending)
        print_blocked(out, &s->report);
}

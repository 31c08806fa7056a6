/* runcue-top -- watch a running cue's live segment in the terminal.
 *
 *   runcue-top NAME          the dashboard (q quits, arrows scroll events)
 *   runcue-top --once NAME   print the counters and services once, plainly
 *
 * NAME is what the writer published: runcue-sim --shm NAME, or
 * rc_shm_publish(cue, NAME, ...) in a program linking libruncue. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live.h"
#include "runcue_shm.h"
#include "viewmodel.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: runcue-top [options] NAME\n"
            "\n"
            "Watch the live state a cue publishes as shared memory NAME\n"
            "(runcue-sim --shm NAME, or rc_shm_publish in your program).\n"
            "\n"
            "  --once         print the counters, services and blocked work once and exit\n"
            "  --wait S       wait up to S seconds for NAME to appear     [5]\n"
            "  -h, --help     show this help\n"
            "\n"
            "Keys: q quit, arrows / PgUp / PgDn scroll the events, End follows again.\n"
            "Exit status: 0 ok, 1 the segment could not be read, 2 bad usage.\n");
}

static int print_once(const char *name, double wait)
{
    rc_shm_reader *r;
    live_opts lo = {.prog = "runcue-top", .shm_name = name, .attach_timeout = wait};
    if (live_attach(&lo, &r)) return 1;
    rc_shm_snapshot *s = malloc(sizeof *s);
    if (!s) {
        rc_shm_detach(r);
        return 1;
    }
    int live = rc_shm_read(r, s);
    const rc_shm_counters *c = &s->state.counters;
    printf("%s  pid %d  %s  t=%.3fs  %s\n", s->name, (int)s->writer_pid,
           s->clock == RC_CLOCK_VIRTUAL ? "virtual clock" : "real clock",
           (double)(s->state.now - s->published) / 1e9,
           live == 0 ? (s->state.flags & RC_SHM_STALLED ? "stalled" : "live")
                     : rc_shm_writer_status(r));
    if (s->title[0]) printf("%s\n", s->title);
    printf("submitted %llu  completed %llu  failed %llu  skipped %llu  cancelled %llu  "
           "pending %llu  running %llu  waiting %llu  queued %llu  delayed %llu\n",
           (unsigned long long)c->submitted, (unsigned long long)c->completed,
           (unsigned long long)c->failed, (unsigned long long)c->skipped,
           (unsigned long long)c->cancelled, (unsigned long long)c->pending,
           (unsigned long long)c->running, (unsigned long long)c->waiting,
           (unsigned long long)c->queued, (unsigned long long)c->delayed);
    for (uint32_t i = 0; i < s->state.n_services; i++) {
        const rc_shm_service *v = &s->state.services[i];
        char lim[32];
        if (v->concurrent == RC_NO_LIMIT)
            snprintf(lim, sizeof lim, "-");
        else
            snprintf(lim, sizeof lim, "%d", v->concurrent);
        printf("service %-16s running %llu/%s  queued %llu  blocked %llu  completed %llu  "
               "failed %llu\n",
               v->name, (unsigned long long)v->running, lim, (unsigned long long)v->queued,
               (unsigned long long)v->blocked, (unsigned long long)v->completed,
               (unsigned long long)v->failed);
    }
    if ((s->state.flags & RC_SHM_STALLED) && s->report.made && c->pending) {
        /* The writer says the run is stalled: why, briefly. */
        enum { MAX_LINES = 20 };
        if (s->report.roots_total) {
            printf("root causes (%llu):\n", (unsigned long long)s->report.roots_total);
            for (uint32_t i = 0; i < s->report.n_roots; i++) {
                char line[256];
                vm_root_text(&s->report.roots[i], line, sizeof line);
                printf("  %s\n", line);
            }
            if (s->report.roots_total > s->report.n_roots)
                printf("  +%llu more\n",
                       (unsigned long long)(s->report.roots_total - s->report.n_roots));
        }
        printf("blocked (%llu):\n", (unsigned long long)s->report.blocked_total);
        uint32_t shown = s->report.n_blocked < MAX_LINES ? s->report.n_blocked : MAX_LINES;
        for (uint32_t i = 0; i < shown; i++)
            printf("  #%llu %s: %s\n", (unsigned long long)s->report.blocked[i].id,
                   s->report.blocked[i].task, s->report.blocked[i].detail);
        if (s->report.blocked_total > shown)
            printf("  ... %llu more\n", (unsigned long long)(s->report.blocked_total - shown));
        const char *p = s->report.waitfor, *wl;
        int len;
        for (int n = 0; n < MAX_LINES && vm_next_line(&p, &wl, &len); n++)
            printf("%s%.*s\n", n ? "  " : "wait-for:\n  ", len, wl);
        if (*p) printf("  +%d more lines\n", vm_count_lines(p));
    }
    free(s);
    rc_shm_detach(r);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {{"once", no_argument, 0, 'o'},
                                          {"wait", required_argument, 0, 'w'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    bool once = false;
    double wait = 5;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (c) {
        case 'o': once = true; break;
        case 'w': {
            char *end;
            wait = strtod(optarg, &end);
            if (*end || end == optarg || wait < 0 || wait > 86400) {
                fprintf(stderr, "runcue-top: --wait: '%s' is not a number of seconds\n", optarg);
                return 2;
            }
            break;
        }
        case 'h': usage(stdout); return 0;
        default:
            fprintf(stderr, "runcue-top: unknown option '%s' (see --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "runcue-top: %s (see --help)\n",
                optind >= argc ? "which segment? give its NAME" : "one NAME only");
        return 2;
    }
    const char *name = argv[optind];
    if (once) return print_once(name, wait);
    if (!live_have_tui) {
        fprintf(stderr, "runcue-top: this build has no terminal view (configured without "
                        "ncursesw); --once still works\n");
        return 1;
    }
    live_opts lo = {.prog = "runcue-top", .shm_name = name, .attach_timeout = wait};
    return live_tui_run(&lo);
}

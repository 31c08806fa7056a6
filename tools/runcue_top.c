/* runcue-top -- watch a running cue's live segment in the terminal.
 *
 *   runcue-top NAME          the dashboard (q quits, arrows scroll events)
 *   runcue-top --once NAME   print the counters and services once, plainly
 *
 * NAME is what the writer published: runcue-sim --shm NAME, or
 * rc_shm_publish(cue, NAME, ...) in a program linking libruncue. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli_opts.h"
#include "live.h"
#include "runcue_shm.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: runcue-top [options] NAME\n"
                 "\n"
                 "Watch the live state a cue publishes as shared memory NAME\n"
                 "(runcue-sim --shm NAME, or rc_shm_publish in your program).\n"
                 "\n"
                 "  --once         print the counters, services and blocked work once and exit\n"
                 "  --wait S       wait up to S seconds for NAME to appear     [5]\n"
                 "  --any-owner    read NAME even if another user created it (refused by\n"
                 "                 default: its contents are whatever that user wrote)\n"
                 "  -h, --help     show this help\n"
                 "  -V, --version  show the version\n"
                 "\n"
                 "Keys: q quit, arrows / PgUp / PgDn scroll the events, End follows again.\n"
                 "Exit status: 0 ok, 1 the segment could not be read, 2 bad usage.\n");
}

static int print_once(const live_opts *lo)
{
    rc_shm_reader *r;
    int attached = live_attach(lo, &r);
    if (attached) return attached;
    rc_shm_snapshot *s = malloc(sizeof *s);
    if (!s) {
        rc_shm_detach(r);
        return 1;
    }
    int live = rc_shm_read(r, s);
    const char *status = live == 0 ? (s->state.flags & RC_SHM_STALLED ? "stalled" : "live")
                                   : rc_shm_writer_status(r);
    live_print(stdout, s, status);
    free(s);
    rc_shm_detach(r);
    return 0;
}

/* The command line into *lo and *once (the segment's name points into
 * argv): -1 to go on, or the exit status to leave with (0 after --help, 2 on
 * bad usage, with one line on stderr). */
static int parse_args(int argc, char **argv, live_opts *lo, bool *once)
{
    static const struct option longs[] = {
        {"once", no_argument, 0, 'o'},      {"wait", required_argument, 0, 'w'},
        {"any-owner", no_argument, 0, 'a'}, {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},   {0, 0, 0, 0}};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":hV", longs, NULL)) != -1) {
        switch (c) {
        case 'o':
            *once = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
        default: {
            bool handled;
            int status = live_cli_option(lo, c, optarg, &handled);
            if (!handled) {
                cli_bad_option("runcue-top", c, argv, longs);
                return 2;
            }
            if (status >= 0) return status;
        }
        }
    }
    return live_cli_name(lo, argc, argv, optind);
}

int main(int argc, char **argv)
{
    bool once = false;
    live_opts lo = {.prog = "runcue-top", .attach_timeout = 5};
    int status = parse_args(argc, argv, &lo, &once);
    if (status >= 0) return status;
    if (once) return print_once(&lo);
    if (!live_have_tui) {
        fprintf(stderr, "runcue-top: this build has no terminal view (configured without "
                        "ncursesw); --once still works\n");
        return 1;
    }
    return live_tui_run(&lo);
}

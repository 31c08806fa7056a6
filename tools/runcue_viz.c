/* runcue-viz -- watch a running cue's live segment in an SDL2 window:
 * swimlanes per service, queue depth and throughput over time.
 *
 *   runcue-viz NAME
 *   runcue-viz --screenshot out.png NAME   (the last frame; needs no
 *                                          display) */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli_opts.h"
#include "live.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: runcue-viz [options] NAME\n"
                 "\n"
                 "Watch the live state a cue publishes as shared memory NAME in a window.\n"
                 "\n"
                 "  --screenshot FILE   write the last frame to FILE (PNG) when leaving, and\n"
                 "                      leave when the writer finishes; needs no display\n"
                 "  --exit-at-end       leave when the writer finishes\n"
                 "  --size WxH          window size                            [1280x720]\n"
                 "  --wait S            wait up to S seconds for NAME to appear [5]\n"
                 "  --any-owner         read NAME even if another user created it (refused by\n"
                 "                      default: its contents are whatever that user wrote)\n"
                 "  -h, --help          show this help\n"
                 "  -V, --version       show the version\n"
                 "\n"
                 "Keys: q quit, p pause the picture, + and - zoom time, 0 fit all.\n"
                 "Exit status: 0 ok, 1 the segment or the window could not be had, 2 bad usage.\n");
}

enum { VIEW_MIN_W = 320, VIEW_MIN_H = 200, VIEW_MAX = 8192 };

/* One dimension of --size at *p: 1 to 5 decimal digits (no sign, no space)
 * from min to VIEW_MAX; *p moves past them.  Digits are counted before the
 * value is made, so no number can overflow. */
static bool parse_dimension(const char **p, int min, int *out)
{
    int v = 0, n = 0;
    while (**p >= '0' && **p <= '9') {
        if (++n > 5) return false;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    *out = v;
    return n > 0 && v >= min && v <= VIEW_MAX;
}

/* --size: exactly WxH, nothing before, between or after. */
static bool parse_size(const char *s, int *w, int *h)
{
    return parse_dimension(&s, VIEW_MIN_W, w) && *s++ == 'x' &&
           parse_dimension(&s, VIEW_MIN_H, h) && *s == 0;
}

/* The command line into *lo (the segment's name points into argv): -1 to
 * go on, or the exit status to leave with (0 after --help, 2 on bad usage,
 * with one line on stderr). */
static int parse_args(int argc, char **argv, live_opts *lo)
{
    static const struct option longs[] = {
        {"screenshot", required_argument, 0, 's'}, {"exit-at-end", no_argument, 0, 'e'},
        {"size", required_argument, 0, 'z'},       {"wait", required_argument, 0, 'w'},
        {"any-owner", no_argument, 0, 'a'},        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},          {0, 0, 0, 0}};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":hV", longs, NULL)) != -1) {
        switch (c) {
        case 's':
            lo->screenshot = optarg;
            break;
        case 'e':
            lo->exit_at_end = true;
            break;
        case 'z':
            if (!parse_size(optarg, &lo->width, &lo->height)) {
                fprintf(stderr, "runcue-viz: --size: '%s' is not WxH in pixels (%dx%d to %dx%d)\n",
                        optarg, VIEW_MIN_W, VIEW_MIN_H, VIEW_MAX, VIEW_MAX);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
        default: {
            bool handled;
            int status = live_cli_option(lo, c, optarg, &handled);
            if (!handled) {
                cli_bad_option("runcue-viz", c, argv, longs);
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
    live_opts lo = {.prog = "runcue-viz", .attach_timeout = 5};
    int status = parse_args(argc, argv, &lo);
    if (status >= 0) return status;
    if (!live_have_sdl) {
        fprintf(stderr, "runcue-viz: this build has no SDL view (configured without SDL2, "
                        "SDL2_gfx or libpng)\n");
        return 1;
    }
    return live_sdl_run(&lo);
}

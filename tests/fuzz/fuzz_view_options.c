/* fuzz_view_options.c -- a libFuzzer target for the command lines of
 * runcue-viz (its --size WxH and --wait seconds above all) and runcue-top,
 * on argument vectors made of the input: the first byte picks the program
 * (even runcue-viz, odd runcue-top), the rest is split at NUL bytes.
 *
 * Each parser returns -1 to go on or an exit status (0 after --help, 2 on
 * bad usage).  Every input must end in one of those; a size the parser took
 * must be in range, and a crash or a sanitizer report is a finding.  The
 * views themselves never run here: they are linked as their "not built"
 * stubs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

/* Both programs' files in one unit: their static names are kept apart. */
int runcue_viz_main(int argc, char **argv);
int runcue_top_main(int argc, char **argv);
#define main runcue_viz_main
#define usage viz_usage
#define parse_args viz_parse_args
#include "../../tools/runcue_viz.c"
#undef main
#undef usage
#undef parse_args
#undef refused_letter
#define main runcue_top_main
#define usage top_usage
#define parse_args top_parse_args
#define refused_letter top_refused_letter
#include "../../tools/runcue_top.c"
#undef main
#undef usage
#undef parse_args
#undef refused_letter

enum { MAX_ARGS = 32 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    /* The parsers' messages are the point of other tests, not this one. */
    const fuzz_quiet quiet = fuzz_mute();
    bool viz = !(data[0] & 1);
    char *text = malloc(size);
    if (!text) abort();
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    char *argv[MAX_ARGS + 2] = {viz ? "runcue-viz" : "runcue-top"};
    int argc = 1;
    for (size_t i = 0; i < size && argc <= MAX_ARGS;) {
        argv[argc++] = text + i;
        i += strlen(text + i) + 1;
    }
    argv[argc] = NULL;
    optind = 0; /* glibc: start getopt over */
    live_opts lo = {.attach_timeout = 5};
    bool once = false;
    int status = viz ? viz_parse_args(argc, argv, &lo) : top_parse_args(argc, argv, &lo, &once);
    fuzz_unmute(quiet);
    CHECK(status == -1 || status == 0 || status == 2);
    if (status == -1) {
        CHECK(lo.shm_name != NULL);
        CHECK(lo.attach_timeout >= 0 && lo.attach_timeout <= 86400);
        CHECK(lo.width == 0 || (lo.width >= VIEW_MIN_W && lo.width <= VIEW_MAX));
        CHECK(lo.height == 0 || (lo.height >= VIEW_MIN_H && lo.height <= VIEW_MAX));
    }
    free(text);
    return 0;
}

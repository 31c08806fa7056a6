/* tui_none.c -- built without ncurses: say so. */
#include <stdio.h>

#include "live.h"

const bool live_have_tui = false;

int live_tui_run(const live_opts *opts)
{
    (void)opts;
    fprintf(stderr, "this build has no terminal view (ncursesw was not found when it was "
                    "configured; install libncurses-dev and reconfigure)\n");
    return 1;
}

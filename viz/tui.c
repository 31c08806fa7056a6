/* tui.c -- placeholder while the dashboard is written. */
#include <stdio.h>

#include "live.h"

const bool live_have_tui = true;

int live_tui_run(const live_opts *opts)
{
    (void)opts;
    return 1;
}

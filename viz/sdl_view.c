/* sdl.c -- placeholder while the SDL view is written. */
#include <stdio.h>

#include "live.h"

const bool live_have_sdl = true;

int live_sdl_run(const live_opts *opts)
{
    (void)opts;
    return 1;
}

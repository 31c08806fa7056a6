/* sdl_none.c -- built without SDL2: say so. */
#include <stdio.h>

#include "live.h"

const bool live_have_sdl = false;

int live_sdl_run(const live_opts *opts)
{
    (void)opts;
    fprintf(stderr, "this build has no SDL view (SDL2, SDL2_gfx or libpng was not found when "
                    "it was configured; install libsdl2-dev, libsdl2-gfx-dev and libpng-dev "
                    "and reconfigure)\n");
    return 1;
}

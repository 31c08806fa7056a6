/* live_load.h -- runcue-sim's views, loaded on demand (live_load.c). */
#ifndef VIZ_LIVE_LOAD_H
#define VIZ_LIVE_LOAD_H

#include <stdbool.h>

#include "live.h"

typedef enum live_view { LIVE_VIEW_TUI, LIVE_VIEW_SDL } live_view;

/* Whether this build made the view's module. */
bool live_view_built(live_view view);

/* Load the view's module (beside the program, see live_load.c) and run it
 * with opts, as live_tui_run / live_sdl_run.  Main thread.  Returns the
 * view's result, or 1 with a message on stderr when the module cannot be
 * loaded. */
int live_view_run(live_view view, const live_opts *opts);

#endif

/* shm_cleanup.h -- for programs that publish a live segment: remove its name
 * when the program is killed by SIGINT, SIGTERM or SIGHUP (the terminal
 * closed), then die of that signal as before.  Process-wide state, so it
 * lives with the programs, never in the library. */
#ifndef SHM_CLEANUP_H
#define SHM_CLEANUP_H

#include "runcue_shm.h"

/* Remember the writer's name for the handlers (at most 8 at once) and
 * install them the first time.  0, or RC_ESYS / RC_ENOMEM (table full). */
int shm_cleanup_on_signals(const rc_shm_writer *w);

#endif

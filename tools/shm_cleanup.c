/* shm_cleanup.c -- see shm_cleanup.h.  The handler only reads a fixed table
 * and calls shm_unlink (an unlink), raise and signal. */
#include "shm_cleanup.h"

#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

enum { SLOTS = 8, PATH_MAX_LEN = RC_SHM_NAME_MAX + 16 };
static char paths[SLOTS][PATH_MAX_LEN];
static volatile sig_atomic_t used[SLOTS];

static void on_signal(int sig)
{
    for (int i = 0; i < SLOTS; i++)
        if (used[i]) shm_unlink(paths[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

int shm_cleanup_on_signals(const rc_shm_writer *w)
{
    static bool installed;
    int slot = -1;
    for (int i = 0; i < SLOTS && slot < 0; i++)
        if (!used[i]) slot = i;
    if (slot < 0) return RC_ENOMEM;
    strncpy(paths[slot], rc_shm_writer_path(w), PATH_MAX_LEN - 1);
    used[slot] = 1;
    if (installed) return 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL) ||
        sigaction(SIGHUP, &sa, NULL))
        return RC_ESYS;
    installed = true;
    return 0;
}

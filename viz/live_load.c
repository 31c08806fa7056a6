/* live_load.c -- the views for runcue-sim, loaded only when asked for.
 *
 * The terminal view (ncurses) and the SDL view (SDL2, SDL2_gfx, libpng) are
 * shared modules, runcue-view-tui.so and runcue-view-sdl.so: a run without a
 * view loads none of their libraries, so it starts as fast as the C library
 * lets it.  The modules are looked up relative to the program itself, never
 * through the environment: installed, in the configured library directory
 * (LIVE_VIEW_RELDIR from the program's directory); in the build tree, in
 * ../viz. */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "live_load.h"

#ifndef LIVE_VIEW_RELDIR
#define LIVE_VIEW_RELDIR "../lib/runcue"
#endif

typedef int (*run_fn)(const live_opts *opts);

static const char *module_name(live_view view)
{
    return view == LIVE_VIEW_TUI ? "runcue-view-tui.so" : "runcue-view-sdl.so";
}

bool live_view_built(live_view view)
{
#if defined(LIVE_HAVE_TUI_MODULE) && defined(LIVE_HAVE_SDL_MODULE)
    return true;
#elif defined(LIVE_HAVE_TUI_MODULE)
    return view == LIVE_VIEW_TUI;
#elif defined(LIVE_HAVE_SDL_MODULE)
    return view == LIVE_VIEW_SDL;
#else
    (void)view;
    return false;
#endif
}

/* dlopen the module from the program's directory + rel; NULL if not there. */
static void *open_near_program(const char *rel, const char *name)
{
    char exe[PATH_MAX], path[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash) return NULL;
    *slash = '\0';
    int len = snprintf(path, sizeof path, "%s/%s/%s", exe, rel, name);
    if (len < 0 || (size_t)len >= sizeof path || access(path, R_OK)) return NULL;
    return dlopen(path, RTLD_NOW | RTLD_LOCAL);
}

int live_view_run(live_view view, const live_opts *opts)
{
    const char *name = module_name(view);
    const char *sym = view == LIVE_VIEW_TUI ? "live_tui_run" : "live_sdl_run";
    void *h = open_near_program(LIVE_VIEW_RELDIR, name);
    if (!h) h = open_near_program("../viz", name);
    if (!h) {
        const char *why = dlerror();
        live_error(opts, "cannot load the %s view (%s)%s%s",
                   view == LIVE_VIEW_TUI ? "terminal" : "SDL", name, why ? ": " : "",
                   why ? why : "");
        return 1;
    }
    run_fn run;
    void *p = dlsym(h, sym);
    memcpy(&run, &p, sizeof run); /* object to function pointer, as POSIX allows */
    if (!run) {
        live_error(opts, "%s has no %s", name, sym);
        dlclose(h);
        return 1;
    }
    /* The module stays loaded: its libraries may keep process-wide state
     * (atexit handlers, threads) that outlive the view. */
    return run(opts);
}

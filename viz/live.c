/* live.c -- what the live views share: attaching, the wall clock and
 * SIGINT, SIGTERM and SIGHUP while a view runs.  See live.h. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "live.h"

double live_wall(void)
{
    return rc_to_seconds(rc_monotonic_now());
}

void live_error(const live_opts *opts, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", opts->prog ? opts->prog : "runcue");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int live_cli_option(live_opts *opts, int c, const char *arg, bool *handled)
{
    *handled = true;
    switch (c) {
    case 'w': {
        char *end;
        opts->attach_timeout = strtod(arg, &end);
        if (*end || end == arg || !(opts->attach_timeout >= 0) || opts->attach_timeout > 86400) {
            live_error(opts, "--wait: '%s' is not a number of seconds", arg);
            return 2;
        }
        return -1;
    }
    case 'a':
        opts->any_owner = true;
        return -1;
    case 'V':
        printf("%s %s\n", opts->prog, RC_VERSION_STRING);
        return 0;
    default:
        *handled = false;
        return -1;
    }
}

int live_cli_name(live_opts *opts, int argc, char **argv, int optind)
{
    if (optind != argc - 1) {
        live_error(opts, "%s (see --help)",
                   optind >= argc ? "which segment? give its NAME" : "one NAME only");
        return 2;
    }
    opts->shm_name = argv[optind];
    return -1;
}

int live_attach(const live_opts *opts, rc_shm_reader **out)
{
    char err[256];
    if (rc_shm_check_name(opts->shm_name, err, sizeof err)) {
        live_error(opts, "%s", err);
        return 2; /* bad usage, as the tools' exit statuses say */
    }
    rc_shm_attach_opts ao = {.timeout_s = 0, .any_owner = opts->any_owner};
    int rc = rc_shm_attach_with(out, opts->shm_name, &ao, err, sizeof err);
    if (rc == RC_ENOENT && opts->attach_timeout > 0) {
        /* Not there yet: say what is waited for, then wait. */
        live_error(opts, "no segment '%s' yet; waiting up to %gs for it (--wait S)", opts->shm_name,
                   opts->attach_timeout);
        ao.timeout_s = opts->attach_timeout;
        rc = rc_shm_attach_with(out, opts->shm_name, &ao, err, sizeof err);
    }
    if (rc) {
        live_error(opts, "%s", err);
        return 1;
    }
    return 0;
}

volatile sig_atomic_t live_got_signal;
static struct sigaction old_int, old_term, old_hup;

static void on_signal(int sig)
{
    live_got_signal = sig;
}

void live_signals_catch(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
    live_got_signal = 0;
}

int live_signals_release(const live_opts *opts)
{
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    int sig = live_got_signal;
    if (!sig) return 0;
    /* In process the caller removes the segment and exits 130; attached,
     * die of the signal as if the view had not caught it. */
    if (opts->driver) return 130;
    signal(sig, SIG_DFL);
    raise(sig);
    return 130;
}

/* cli_opts.c -- see cli_opts.h. */
#include "cli_opts.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Whether getopt_long refused a letter (optopt, maybe inside "-xy", when
 * `arg`, argv[optind - 1], is the argument before it) rather than `arg`
 * itself: an unknown long option (optopt 0) or a flag given a value
 * ("--once=1": optopt is the flag's val). */
static bool refused_letter(const char *arg, const struct option *longs)
{
    if (optopt <= 0 || optopt >= 128) return false;
    const char *eq = strchr(arg, '=');
    if (strncmp(arg, "--", 2) != 0 || !eq) return true;
    for (const struct option *l = longs; l->name; l++)
        if (l->val == optopt && l->has_arg == no_argument &&
            strncmp(l->name, arg + 2, (size_t)(eq - arg - 2)) == 0)
            return false;
    return true;
}

void cli_bad_option(const char *prog, int c, char *const *argv, const struct option *longs)
{
    const char *arg = argv[optind - 1];
    if (c == ':')
        fprintf(stderr, "%s: %s needs a value (see --help)\n", prog, arg);
    else if (refused_letter(arg, longs))
        fprintf(stderr, "%s: unknown option '-%c' (see --help)\n", prog, optopt);
    else
        fprintf(stderr, "%s: unknown option '%s' (see --help)\n", prog, arg);
}

/* cli_opts.h -- one way for the tools to say what getopt_long refused. */
#ifndef TOOLS_CLI_OPTS_H
#define TOOLS_CLI_OPTS_H

struct option;

/* getopt_long (optstring beginning ':' after any '+', opterr 0) answered c
 * (':' or '?') for argv[optind - 1]: say on stderr, in one line, what was
 * wrong: "PROG: --wait needs a value", "PROG: unknown option '-x'" (a letter,
 * maybe inside "-xy") or "PROG: unknown option '--nope'", each followed by
 * " (see --help)". */
void cli_bad_option(const char *prog, int c, char *const *argv, const struct option *longs);

#endif

/* fuzz_sim_options.c -- a libFuzzer target for runcue-sim's command line:
 * the option parser and every number, count, rate and name check behind
 * it, on argument vectors made of the input (arguments split at NUL bytes).
 *
 * The parser exits the process on bad input (one line on stderr, exit 2) and
 * on --help/--version (exit 0); here exit jumps back instead.  Every input
 * must end in one of those exits or in a parse that returns; a bad exit
 * code, a crash or a sanitizer report is a finding. */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static jmp_buf back;
static int exit_code;

/* runcue-sim's exit, while its parser runs here. */
_Noreturn static void fuzz_exit(int code)
{
    exit_code = code;
    longjmp(back, 1);
}

int runcue_sim_main(int argc, char **argv);
#define main runcue_sim_main
#define exit(code) fuzz_exit(code)
#include "../../tools/runcue_sim.c"
#undef exit
#undef main

enum { MAX_ARGS = 64 };

/* The parse's options; static so what it allocated can be freed after a
 * jump out of it. */
static options parsed;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    /* The parser's messages are the point of other tests, not this one. */
    const fuzz_quiet quiet = fuzz_mute();
    memcpy(text, data, size);
    text[size] = 0;
    char *argv[MAX_ARGS + 2] = {"runcue-sim"};
    int argc = 1;
    for (size_t i = 0; i <= size && argc <= MAX_ARGS;) {
        argv[argc++] = text + i;
        i += strlen(text + i) + 1;
    }
    argv[argc] = NULL;
    memset(&parsed, 0, sizeof parsed);
    optind = 0; /* glibc: start getopt over */
    exit_code = -1;
    if (setjmp(back) == 0) {
        parse(argc, argv, &parsed);
        exit_code = -1;
    }
    fuzz_unmute(quiet);
    if (exit_code != -1 && exit_code != 0 && exit_code != EXIT_USAGE) abort();
    expect_set_free(parsed.expect);
    free(text);
    return 0;
}

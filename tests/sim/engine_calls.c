/*
 * engine_calls.c -- run commands on the engine emulation and print its call
 * record (libsim/engine_emu.h), for the differential test's hand-written and
 * random sequences (tests/sim/differential.py).
 *
 *   engine_calls LIBRARY.lua < COMMANDS > RECORD.jsonl
 *
 * One command a line, its words separated by single spaces; the word ""
 * is an empty string.  "@T" sets the clock to T microseconds after the
 * simulation's epoch; "#" starts a comment.  Exit 0, or 2 on bad input; 1
 * if the emulation met a command it does not implement.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_emu.h"

enum { MAX_WORDS = 256, MAX_LINE = 1 << 16 };

static const long long EPOCH_US = 4102444800000000LL;

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: engine_calls LIBRARY.lua < COMMANDS\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        fprintf(stderr, "engine_calls: cannot read %s\n", argv[1]);
        return 2;
    }
    static char lib[1 << 20];
    size_t len = fread(lib, 1, sizeof lib - 1, f);
    fclose(f);
    lib[len] = '\0';
    engine_emu *e;
    char err[512];
    if (engine_emu_new(&e, lib, len, err, sizeof err)) {
        fprintf(stderr, "engine_calls: %s\n", err);
        return 2;
    }
    engine_emu_record(e, stdout);
    static char line[MAX_LINE];
    while (fgets(line, sizeof line, stdin)) {
        size_t n = strcspn(line, "\n");
        line[n] = '\0';
        if (!n || line[0] == '#') continue;
        if (line[0] == '@') {
            engine_emu_set_time(e, EPOCH_US + strtoll(line + 1, NULL, 10));
            continue;
        }
        const char *words[MAX_WORDS];
        size_t lens[MAX_WORDS];
        int nw = 0;
        for (char *save = NULL, *w = strtok_r(line, " ", &save); w;
             w = strtok_r(NULL, " ", &save)) {
            if (nw == MAX_WORDS) {
                fprintf(stderr, "engine_calls: too many words\n");
                return 2;
            }
            if (strcmp(w, "\"\"") == 0) w[0] = '\0';
            words[nw] = w;
            lens[nw++] = strlen(w);
        }
        ereply *r = engine_emu_call(e, nw, words, lens);
        if (!r) return 1;
        ereply_free(r);
    }
    int rc = engine_emu_unimplemented(e) ? 1 : 0;
    if (rc) fprintf(stderr, "engine_calls: not implemented: %s\n", engine_emu_unimplemented(e));
    engine_emu_free(e);
    return rc;
}

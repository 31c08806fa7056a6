/*
 * driver.c -- runs a fuzz target over files, without libFuzzer: each
 * argument is a file, or a directory whose files are all run.  So a target
 * runs as a plain test over its seed corpus (and over crash files saved by
 * scripts/fuzz.sh).  Exits 1 if an argument cannot be read or holds no
 * file at all.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Read the whole file into an exact-size heap buffer and run it.  False if
 * it could not be read. */
static bool run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return false;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *more = realloc(buf, cap *= 2);
            if (!more) free(buf);
            buf = more;
        }
    }
    bool ok = buf && !ferror(f);
    fclose(f);
    if (!ok) {
        fprintf(stderr, "%s: could not be read\n", path);
        free(buf);
        return false;
    }
    /* Exactly len bytes, so a read past the input shows under a sanitizer. */
    uint8_t *exact = malloc(len ? len : 1);
    if (exact) memcpy(exact, buf, len);
    free(buf);
    if (!exact) return false;
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return true;
}

/* Run every regular file in dir; returns how many ran, -1 on an error. */
static long run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return -1;
    }
    long ran = 0;
    struct dirent *e;
    while (ran >= 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        size_t n = strlen(dir) + strlen(e->d_name) + 2;
        char *path = malloc(n);
        if (!path) {
            ran = -1;
            break;
        }
        snprintf(path, n, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) ran = run_file(path) ? ran + 1 : -1;
        free(path);
    }
    closedir(d);
    return ran;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    long total = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        long ran = stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode) ? run_dir(argv[i])
                                                                  : (run_file(argv[i]) ? 1 : -1);
        if (ran < 0) return 1;
        total += ran;
    }
    printf("%ld inputs run\n", total);
    return total > 0 ? 0 : 1;
}

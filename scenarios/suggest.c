/* suggest.c -- see suggest.h. */
#include "suggest.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Levenshtein distance for short strings; SIZE_MAX when either is long. */
static size_t distance(const char *a, const char *b)
{
    enum { MAXLEN = 64 };
    size_t la = strlen(a), lb = strlen(b);
    if (la > MAXLEN || lb > MAXLEN) return SIZE_MAX;
    size_t row[MAXLEN + 1];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* " (did you mean 'x'?)" for the closest of names, or "". */
const char *did_you_mean(const char *word, const char *const *names, size_t n, char *buf,
                         size_t bufsize)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        size_t d = distance(word, names[i]);
        if (d < best_d && d <= 2 && d < strlen(names[i])) {
            best = names[i];
            best_d = d;
        }
    }
    *buf = 0;
    if (best) snprintf(buf, bufsize, " (did you mean '%s'?)", best);
    return buf;
}

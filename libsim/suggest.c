/* suggest.c -- see suggest.h. */
#include "suggest.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "utf8.h"

size_t sim_edit_distance(const char *a, const char *b)
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

const char *sim_clip(const char *s, char *buf, size_t bufsize)
{
    size_t max = bufsize - 4, n = strlen(s);
    if (n <= max) return s;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    memcpy(buf, s, max);
    memcpy(buf + max, "...", 4);
    return buf;
}

void sim_one_line(char *s)
{
    unsigned char *u = (unsigned char *)s;
    while (*u) {
        const size_t c = sim_utf8_control_len(u);
        if (c) {
            memset(u, '?', c);
            u += c;
        } else {
            const size_t n = sim_utf8_seq_len(u);
            u += n ? n : 1;
        }
    }
}

const char *sim_did_you_mean(const char *word, const char *const *names, size_t n, char *buf,
                             size_t bufsize)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        size_t d = sim_edit_distance(word, names[i]);
        if (d < best_d && d <= 2 && d < strlen(names[i])) {
            best = names[i];
            best_d = d;
        }
    }
    if (bufsize) *buf = 0;
    if (best && bufsize) snprintf(buf, bufsize, " (did you mean '%s'?)", best);
    return buf;
}

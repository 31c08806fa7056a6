/* utf8.c -- see utf8.h. */
#include "utf8.h"

size_t sim_utf8_seq_len(const unsigned char *s)
{
    const unsigned char c = s[0];
    if (c < 0x80) return 1;
    unsigned char lo = 0x80, hi = 0xBF;
    size_t n;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return n;
}

size_t sim_utf8_control_len(const unsigned char *s)
{
    const unsigned char c = s[0];
    if (c < 0x20 || c == 0x7F) return 1;
    if (c == 0xC2 && s[1] >= 0x80 && s[1] <= 0x9F) return 2;
    if (c >= 0x80 && c <= 0x9F) return 1; /* a continuation byte: no lead before it here */
    return 0;
}

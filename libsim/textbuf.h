/* textbuf.h -- build short strings (labels, artifact keys, ids) from text
 * and zero-padded decimals without printf: the simulator makes several per
 * work item, and printf's format parsing would be a tenth of its time.
 *
 * A sim_textbuf writes into a caller's array and never past it: what does
 * not fit is cut off, as snprintf would, and the text is always terminated.
 * Not thread-safe per buffer; no allocation. */
#ifndef SIM_TEXTBUF_H
#define SIM_TEXTBUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct sim_textbuf {
    char *at;  /* where the next character goes */
    char *end; /* the last byte of the array, kept for the terminator */
} sim_textbuf;

/* Start an empty text in buf[0 .. size), size >= 1. */
static inline sim_textbuf sim_text_start(char *buf, size_t size)
{
    buf[0] = 0;
    return (sim_textbuf){buf, buf + size - 1};
}

/* Append the n bytes at s (no terminator among them). */
static inline void sim_text_mem(sim_textbuf *t, const char *s, size_t n)
{
    const size_t room = (size_t)(t->end - t->at);
    if (n > room) n = room;
    memcpy(t->at, s, n);
    t->at += n;
    *t->at = 0;
}

/* Append a string. */
static inline void sim_text_str(sim_textbuf *t, const char *s)
{
    sim_text_mem(t, s, strlen(s));
}

/* The text so far: its length. */
static inline size_t sim_text_len(const sim_textbuf *t, const char *buf)
{
    return (size_t)(t->at - buf);
}

/* Append v in decimal, with leading zeros to at least `width` digits (as
 * printf's "%0*llu").  The digits are counted first and written in place:
 * text just written is never read back (a read of bytes still on their way
 * to the cache waits for them, which cost more than the digits). */
static inline void sim_text_uint(sim_textbuf *t, uint64_t v, unsigned width)
{
    static const uint64_t pow10[20] = {1u,
                                       10u,
                                       100u,
                                       1000u,
                                       10000u,
                                       100000u,
                                       1000000u,
                                       10000000u,
                                       100000000u,
                                       1000000000u,
                                       UINT64_C(10000000000),
                                       UINT64_C(100000000000),
                                       UINT64_C(1000000000000),
                                       UINT64_C(10000000000000),
                                       UINT64_C(100000000000000),
                                       UINT64_C(1000000000000000),
                                       UINT64_C(10000000000000000),
                                       UINT64_C(100000000000000000),
                                       UINT64_C(1000000000000000000),
                                       UINT64_C(10000000000000000000)};
    unsigned n = 1; /* digits: compared, not divided */
    while (n < 20 && v >= pow10[n]) n++;
    if (width > 63) width = 63;
    const unsigned total = n > width ? n : width;
    const size_t room = (size_t)(t->end - t->at);
    char *const start = t->at;
    if (total <= room) {
        /* Past the digits v is 0: the padding. */
        for (char *p = start + total; p > start; v /= 10) *--p = (char)('0' + v % 10);
        t->at += total;
    } else {
        /* What does not fit is cut off at the right, as snprintf would. */
        for (unsigned i = total; i-- > 0; v /= 10)
            if (i < room) start[i] = (char)('0' + v % 10);
        t->at += room;
    }
    *t->at = 0;
}

#endif /* SIM_TEXTBUF_H */

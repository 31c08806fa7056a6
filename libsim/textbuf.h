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

/* Append a string. */
static inline void sim_text_str(sim_textbuf *t, const char *s)
{
    size_t n = strlen(s), room = (size_t)(t->end - t->at);
    if (n > room) n = room;
    memcpy(t->at, s, n);
    t->at += n;
    *t->at = 0;
}

/* Append v in decimal, with leading zeros to at least `width` digits (as
 * printf's "%0*llu"). */
static inline void sim_text_uint(sim_textbuf *t, uint64_t v, unsigned width)
{
    /* The digits from the right, zero-padded, then copied as a string. */
    char digits[64];
    char *p = digits + sizeof digits - 1;
    *p = 0;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (width > sizeof digits - 1) width = sizeof digits - 1;
    while ((size_t)(digits + sizeof digits - 1 - p) < width) *--p = '0';
    sim_text_str(t, p);
}

#endif /* SIM_TEXTBUF_H */

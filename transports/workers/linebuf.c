/*
 * linebuf.c -- bytes read from a pipe, taken out one complete line at a time
 * (see linebuf.h).
 */
#include "linebuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Room for `extra` more bytes, doubling the buffer; false if out of memory. */
static bool reserve(wk_linebuf *b, size_t extra)
{
    if (b->cap - b->len >= extra) return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < extra)
        cap *= 2;
    char *n = realloc(b->buf, cap);
    if (!n) return false;
    b->buf = n;
    b->cap = cap;
    return true;
}

ssize_t wk_linebuf_read(wk_linebuf *b, int fd, size_t room)
{
    if (!reserve(b, room + 1)) {
        errno = ENOMEM;
        return -1;
    }
    ssize_t n = read(fd, b->buf + b->len, b->cap - b->len - 1);
    if (n > 0) b->len += (size_t)n;
    return n;
}

bool wk_linebuf_next(wk_linebuf *b, char **line, size_t *n)
{
    if (b->scanned >= b->len) return false;
    char *nl = memchr(b->buf + b->scanned, '\n', b->len - b->scanned);
    if (!nl) {
        b->scanned = b->len;
        return false;
    }
    size_t end = (size_t)(nl - b->buf);
    *line = b->buf + b->start;
    *n = end - b->start;
    b->start = b->scanned = end + 1;
    return true;
}

void wk_linebuf_compact(wk_linebuf *b)
{
    if (b->start) {
        memmove(b->buf, b->buf + b->start, b->len - b->start);
        b->len -= b->start;
        b->start = 0;
    }
    b->scanned = b->len;
}

char *wk_linebuf_take_tail(wk_linebuf *b)
{
    wk_linebuf_compact(b);
    if (!b->len) return NULL;
    b->buf[b->len] = '\0';
    b->len = b->scanned = 0;
    return b->buf;
}

void wk_linebuf_free(wk_linebuf *b)
{
    free(b->buf);
    *b = (wk_linebuf){0};
}

/*
 * fuzz_segment.c -- the segment reader and the views on hostile bytes.
 *
 * The input makes a shared-memory segment, /dev/shm/runcue.fuzz-PID, the
 * way another local user could:
 *
 *   byte 0   flags: 1 the rest is the file from its first byte (raw, padded
 *            with zeros to the segment's size); otherwise a well-formed live
 *            segment is written and the rest patches it; 2 cut the file
 *            short (raw: before attach, else after); 4 the writer's pid is
 *            ours (alive), else none
 *   byte 1   where the event cursor starts (0 or near the end of the
 *            numbers, from its bits)
 *   bytes 2-3  the length the file is cut to (flag 2), in 64-byte units
 *   then     (raw) the file, or patches: a 4-byte offset (taken modulo the segment's size), a
 *            length byte and that many bytes
 *
 * Then it attaches, reads, follows the events, waits, and feeds the view
 * model and the plain-text picture (runcue-top --once) from it.  Every
 * snapshot must hold only what the layout bounds (counts within the
 * tables, terminated strings of well-formed UTF-8 without control
 * characters, C1 included), the cursor must never go back, every call must
 * return, and the sanitizers must stay quiet.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "live.h"
#include "segment.h"
#include "viewmodel.h"

enum { F_RAW = 1, F_CUT = 2, F_ALIVE = 4 };

static char name[64], path[80];
static int fd = -1;
static FILE *devnull;
static rc_shm_segment *image; /* the file's bytes for this input, built here */
static unsigned char *held;   /* what the file holds now, to write only what differs */
static size_t held_len;       /* and its length */

static void cleanup(void)
{
    if (fd >= 0) shm_unlink(path);
}

static void setup(void)
{
    if (fd >= 0) return;
    snprintf(name, sizeof name, "fuzz-%d", (int)getpid());
    rc_seg_path(path, sizeof path, name);
    fd = shm_open(path, O_RDWR | O_CREAT, 0600);
    CHECK(fd >= 0);
    atexit(cleanup);
    devnull = fopen("/dev/null", "w");
    CHECK(devnull != NULL);
    image = malloc(sizeof *image);
    held = calloc(1, sizeof *image);
    CHECK(image != NULL && held != NULL);
    CHECK(ftruncate(fd, 0) == 0);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Make the file hold the first len bytes of image (the rest up to len
 * zeros if len is longer), writing only the pages that differ: a fresh
 * megabyte per input would make the fuzzer slow. */
static bool put_file(size_t len)
{
    if (len != held_len) {
        if (ftruncate(fd, (off_t)len)) return false;
        size_t cap = sizeof *image;
        if (len < held_len && len < cap) memset(held + len, 0, (held_len < cap ? held_len : cap) - len);
        held_len = len;
    }
    size_t end = len < sizeof *image ? len : sizeof *image;
    const unsigned char *want = (const unsigned char *)image;
    for (size_t at = 0; at < end; at += 4096) {
        size_t n = end - at < 4096 ? end - at : 4096;
        if (memcmp(held + at, want + at, n) == 0) continue;
        if (pwrite(fd, want + at, n, (off_t)at) != (ssize_t)n) return false;
        memcpy(held + at, want + at, n);
    }
    return true;
}

/* The file for this input; false if there is none to make. */
static bool make_file(const uint8_t *data, size_t size, uint8_t flags, size_t cut)
{
    memset(image, 0, sizeof *image);
    if (flags & F_RAW) {
        size_t n = size - 4 < sizeof *image ? size - 4 : sizeof *image;
        memcpy(image, data + 4, n);
        return put_file(flags & F_CUT ? cut : sizeof *image);
    }
    image->layout = RC_SHM_LAYOUT;
    image->size = sizeof *image;
    image->writer_pid = flags & F_ALIVE ? (int32_t)getpid() : 0;
    rc_seg_copy_str(image->name, sizeof image->name, name);
    image->current = 1;
    image->states[1].gen = 1;
    image->states[1].flags = RC_SHM_LIVE;
    image->magic = RC_SHM_MAGIC;
    for (size_t at = 4; at + 5 <= size;) {
        size_t off = le32(data + at) % sizeof *image, len = data[at + 4];
        at += 5;
        if (len > size - at) len = size - at;
        if (len > sizeof *image - off) len = sizeof *image - off;
        memcpy((char *)image + off, data + at, len);
        at += len;
    }
    return put_file(sizeof *image);
}

/* Terminated, well-formed UTF-8 without control characters (C0 but the
 * newlines allowed, DEL, C1): what the reader's cleaning promises. */
static void check_string(const char *s, size_t cap, bool newlines)
{
    const char *end = memchr(s, 0, cap);
    CHECK(end != NULL);
    for (const unsigned char *p = (const unsigned char *)s; p < (const unsigned char *)end;) {
        unsigned c = *p, n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        if (n == 1) {
            CHECK(c >= 0x20 ? c != 0x7f : newlines && c == '\n');
            p++;
            continue;
        }
        unsigned cp = c & (0x7f >> n);
        for (unsigned i = 1; i < n; i++) {
            CHECK((p[i] & 0xc0) == 0x80);
            cp = cp << 6 | (p[i] & 0x3f);
        }
        CHECK(c >= 0xc2 && c <= 0xf4);
        CHECK(cp >= (n == 2 ? 0xa0u : n == 3 ? 0x800u : 0x10000u)); /* no C1, no overlong */
        CHECK(cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff));
        p += n;
    }
}
#define STRING(f) check_string((f), sizeof(f), false)

static void check_snapshot(const rc_shm_snapshot *s)
{
    STRING(s->name);
    STRING(s->title);
    CHECK(s->state.n_services <= RC_SHM_MAX_SERVICES);
    for (size_t i = 0; i < RC_SHM_MAX_SERVICES; i++) STRING(s->state.services[i].name);
    CHECK(s->report.n_blocked <= RC_SHM_MAX_BLOCKED);
    for (size_t i = 0; i < RC_SHM_MAX_BLOCKED; i++) {
        STRING(s->report.blocked[i].task);
        STRING(s->report.blocked[i].service);
        STRING(s->report.blocked[i].label);
        STRING(s->report.blocked[i].detail);
    }
    check_string(s->report.waitfor, sizeof s->report.waitfor, true);
}

static void follow(rc_shm_reader *r, uint64_t cursor)
{
    static rc_shm_event ev[100];
    uint64_t lost = 0;
    for (int call = 0; call < 3; call++) {
        uint64_t before = cursor, lost_before = lost;
        size_t n = rc_shm_events(r, &cursor, ev, 100, &lost);
        /* The cursor moves past what was copied and what was lost, no more. */
        if (lost != UINT64_MAX) CHECK(cursor - before == n + (lost - lost_before));
        CHECK(n <= 100);
        CHECK(cursor >= before);
        /* Oldest first, none twice, none before the cursor was; a lap
         * skipped in between leaves a gap (counted in lost). */
        for (size_t i = 0; i < n; i++) {
            CHECK(ev[i].seq > (i ? ev[i - 1].seq : before));
            CHECK(ev[i].seq <= cursor);
            STRING(ev[i].task);
            STRING(ev[i].service);
            STRING(ev[i].label);
            STRING(ev[i].detail);
        }
    }
}

static bool any(const rc_shm_snapshot *s, void *ud)
{
    (void)s;
    return ++*(int *)ud > 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) return 0;
    setup();
    uint8_t flags = data[0], start = data[1];
    size_t cut = ((size_t)data[2] | (size_t)data[3] << 8) * 64;
    if (!make_file(data, size, flags, cut)) return 0;
    rc_shm_reader *r = NULL;
    char err[256];
    rc_shm_attach_opts o = {.stuck_after_s = 0.002};
    int rc = rc_shm_attach_with(&r, name, &o, err, sizeof err);
    if (rc) {
        CHECK(r == NULL && memchr(err, 0, sizeof err) && err[0]);
        return 0;
    }
    if ((flags & F_CUT) && !(flags & F_RAW)) CHECK(put_file(cut));
    static rc_shm_snapshot snap;
    rc = rc_shm_read(r, &snap);
    CHECK(rc == 0 || rc == RC_ESTATE);
    check_snapshot(&snap);
    rc_shm_writer_alive(r);
    const char *status = rc_shm_writer_status(r);
    CHECK(status != NULL && strlen(status) < 32);
    rc_shm_find_service(&snap, "api");
    follow(r, start & 1 ? UINT64_MAX - (start >> 1) : start >> 1);
    int polls = 0;
    rc = rc_shm_wait(r, any, &polls, 0, 0.0001, &snap); /* one poll: no sleeping */
    CHECK(rc == 0 || rc == RC_ESTATE || rc == RC_ENOENT);
    check_snapshot(&snap);
    rc_shm_wait_counter(r, "completed", 1, 0, &snap);

    viewmodel *vm = vm_new(r);
    CHECK(vm != NULL);
    vm_update(vm);
    vm_update(vm);
    for (uint64_t i = 0; i < 4; i++) {
        const vm_line *l = vm_line_at(vm, i);
        if (l) CHECK(memchr(l->text, 0, sizeof l->text) != NULL);
        const vm_bar *b = vm_bar_at(vm, i);
        if (b) CHECK(b->service < RC_SHM_MAX_SERVICES || b->service == UINT32_MAX);
    }
    vm_progress(vm);
    live_print(devnull, &vm->snap, vm->status);
    vm_free(vm);
    rc_shm_detach(r);
    return 0;
}

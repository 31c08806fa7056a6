/* reader.c -- the harness: attach to a segment, copy consistent snapshots,
 * follow the event ring, wait for conditions.  See runcue_shm.h and
 * segment.h.
 *
 * The segment is untrusted bytes: anyone who can create /dev/shm/runcue.NAME
 * first, or who holds it open for writing, controls every byte and its size.
 * So the reader never maps it.  It copies with pread from the descriptor it
 * opened: a segment that shrinks gives a short read, never SIGBUS.  Every
 * copy is then checked against the layout (counts clamped, strings cut and
 * cleaned of control characters and malformed UTF-8), every loop is bounded, and a sequence
 * lock that stays odd is given up after a bounded time. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "segment.h"

enum { EV_BATCH = 64 }; /* ring records copied per pread */

struct rc_shm_reader {
    int fd;
    double stuck_after_s;
    bool truncated;    /* the segment shrank below its layout: sticky */
    bool unreadable;   /* pread failed: sticky */
    bool stuck_state;  /* the last state read gave up on an odd sequence */
    bool stuck_report; /* the same for the report */
    char name[RC_SHM_NAME_MAX + 1];
    /* The header as last read, cleaned. */
    int32_t writer_pid;
    uint32_t clock;
    int64_t published;
    char seg_name[RC_SHM_NAME_MAX + 1];
    char title[RC_SHM_TITLE_MAX + 1];
    /* The last consistent copies: what a reader is shown once the segment
     * stops giving new ones. */
    rc_shm_state state;
    rc_shm_report report;
    rc_shm_event batch[EV_BATCH]; /* the second copy of a ring stretch */
    uint64_t first_seq[EV_BATCH]; /* the first copy's sequence numbers */
};

static double mono_now(void)
{
    return rc_to_seconds(rc_monotonic_now());
}

static void sleep_s(double s)
{
    if (!(s > 0)) return;
    if (s > 3600) s = 3600;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) && errno == EINTR) {
    }
}

/* ---- copying out of the segment ---- */

/* Copy n bytes at off.  0, or RC_ESTATE when the segment is shorter than
 * that (it shrank) or cannot be read; either is remembered. */
static int get(rc_shm_reader *r, void *dst, size_t n, size_t off)
{
    size_t done = 0;
    while (done < n) {
        ssize_t k = pread(r->fd, (char *)dst + done, n - done, (off_t)(off + done));
        if (k > 0) {
            done += (size_t)k;
        } else if (k == 0) {
            r->truncated = true;
            return RC_ESTATE;
        } else if (errno != EINTR) {
            r->unreadable = true;
            return RC_ESTATE;
        }
    }
    return 0;
}

static uint64_t get_u64(rc_shm_reader *r, size_t off, int *rc)
{
    uint64_t v = 0;
    if (!*rc) *rc = get(r, &v, sizeof v, off);
    return v;
}

/* Where a guarded block starts: its sequence number is its first field. */
_Static_assert(offsetof(rc_shm_state, seq) == 0, "a state slot starts with its sequence");
_Static_assert(offsetof(rc_shm_report, seq) == 0, "the report starts with its sequence");

/* The offset of the newest state slot, as `current` says now. */
static size_t state_offset(rc_shm_reader *r, int *rc)
{
    uint64_t cur = get_u64(r, offsetof(rc_shm_segment, current), rc);
    return offsetof(rc_shm_segment, states) + (size_t)(cur % RC_SHM_SLOTS) * sizeof(rc_shm_state);
}

/* The sequence lock's reader side (segment.h), one pread per step with an
 * acquire fence between them: copy the n-byte block at off (the newest
 * state slot, looked up again on every try, if off is 0) until a copy is
 * not torn.  A sequence that stays odd, or keeps changing, is given up: at
 * once if the writer's process is gone (it died mid-update), after
 * r->stuck_after_s if it is there, and after a few tries if the last read
 * of this block gave up already (*stuck).  0, or RC_ESTATE. */
static int read_locked(rc_shm_reader *r, void *dst, size_t n, size_t off, bool *stuck)
{
    double deadline = 0;
    for (unsigned tries = 0;; tries++) {
        int rc = 0;
        size_t at = off ? off : state_offset(r, &rc);
        uint64_t s1 = get_u64(r, at, &rc);
        if (!rc && !(s1 & 1)) {
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            rc = get(r, dst, n, at);
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            if (get_u64(r, at, &rc) == s1 && !rc) {
                *stuck = false;
                return 0;
            }
        }
        if (rc) return rc;
        if (tries < 64) continue;
        if (*stuck || !rc_seg_pid_alive(r->writer_pid)) break;
        double now = mono_now();
        if (deadline == 0) deadline = now + r->stuck_after_s;
        if (now >= deadline) break;
        if (tries < 256)
            sched_yield();
        else
            sleep_s(0.001);
    }
    *stuck = true;
    return RC_ESTATE;
}

/* ---- cleaning what was copied ---- */

/* The length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF) that is not a C1 control
 * (U+0080..U+009F, which terminals act on as they do on ESC), or 0. */
static size_t printable_utf8(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n;
    if (c == 0xc2) {
        n = 2;
        lo = 0xa0; /* C2 80..C2 9F are the C1 controls */
    } else if (c > 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c == 0xe0) {
        n = 3;
        lo = 0xa0;
    } else if (c == 0xed) {
        n = 3;
        hi = 0x9f;
    } else if (c >= 0xe1 && c <= 0xef) {
        n = 3;
    } else if (c == 0xf0) {
        n = 4;
        lo = 0x90;
    } else if (c == 0xf4) {
        n = 4;
        hi = 0x8f;
    } else if (c >= 0xf1 && c <= 0xf3) {
        n = 4;
    } else {
        return 0; /* a continuation byte, C0, C1 or F5..FF as a lead */
    }
    if (s[1] < lo || s[1] > hi) return 0; /* also stops at the terminating 0 */
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf) return 0;
    return n;
}

/* Cut a fixed-size field to a terminated string; control characters (all
 * but newlines where they are allowed), C1 controls and bytes that are not
 * well-formed UTF-8 become '?', one for each byte, so a segment cannot
 * drive the terminal of whoever prints it, whatever its encoding (a lone
 * 0x9b is CSI to a Latin-1 terminal). */
static void clean(char *s, size_t cap, bool newlines)
{
    s[cap - 1] = 0;
    unsigned char *p = (unsigned char *)s;
    for (size_t i = 0; p[i];) {
        unsigned char c = p[i];
        size_t n = printable_utf8(p + i);
        if (n == 0 || (c < 0x20 && !(newlines && c == '\n')) || c == 0x7f) {
            p[i++] = '?';
        } else {
            i += n;
        }
    }
}
#define CLEAN(field) clean((field), sizeof(field), false)

static void clean_state(rc_shm_state *st)
{
    if (st->n_services > RC_SHM_MAX_SERVICES) st->n_services = RC_SHM_MAX_SERVICES;
    for (size_t i = 0; i < RC_SHM_MAX_SERVICES; i++) CLEAN(st->services[i].name);
}

static void clean_report(rc_shm_report *rep)
{
    if (rep->n_blocked > RC_SHM_MAX_BLOCKED) rep->n_blocked = RC_SHM_MAX_BLOCKED;
    for (size_t i = 0; i < RC_SHM_MAX_BLOCKED; i++) {
        rc_shm_blocked *b = &rep->blocked[i];
        CLEAN(b->task);
        CLEAN(b->service);
        CLEAN(b->label);
        CLEAN(b->detail);
    }
    if (rep->n_roots > RC_SHM_MAX_ROOTS) rep->n_roots = RC_SHM_MAX_ROOTS;
    for (size_t i = 0; i < RC_SHM_MAX_ROOTS; i++) {
        rc_shm_root *r = &rep->roots[i];
        CLEAN(r->task);
        CLEAN(r->label);
        CLEAN(r->state);
        CLEAN(r->error);
    }
    clean(rep->waitfor, sizeof rep->waitfor, true);
}

static void clean_event(rc_shm_event *e)
{
    CLEAN(e->task);
    CLEAN(e->service);
    CLEAN(e->label);
    CLEAN(e->detail);
}

/* ---- attaching ---- */

/* The fixed part before the state slots, written once before the magic:
 * copied whole, then taken apart field by field. */
#define HEADER_LEN offsetof(rc_shm_segment, current)
#define FIELD(dst, bytes, f)                                                                       \
    memcpy(&(dst), (bytes) + offsetof(rc_shm_segment, f), sizeof(dst));                            \
    _Static_assert(sizeof(dst) == sizeof(((rc_shm_segment *)0)->f), "field " #f)

static int read_header(rc_shm_reader *r)
{
    unsigned char h[HEADER_LEN];
    int rc = get(r, h, sizeof h, 0);
    if (rc) return rc;
    FIELD(r->writer_pid, h, writer_pid);
    FIELD(r->clock, h, clock);
    FIELD(r->published, h, published);
    FIELD(r->seg_name, h, name);
    FIELD(r->title, h, title);
    CLEAN(r->seg_name);
    CLEAN(r->title);
    return 0;
}

/* What the file at fd is: 0 a segment this reader can read (r filled),
 * 1 one still being set up (magic 0), or RC_E* with err. */
static int check_segment(rc_shm_reader *r, const char *path, bool any_owner, char *err,
                         size_t errlen)
{
    struct stat st;
    if (fstat(r->fd, &st)) {
        snprintf(err, errlen, "fstat /dev/shm%s: %s", path, strerror(errno));
        return RC_ESYS;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "/dev/shm%s is not a runcue segment (not a regular file)", path);
        return RC_EINVAL;
    }
    if (st.st_uid != geteuid() && !any_owner) {
        snprintf(err, errlen,
                 "/dev/shm%s belongs to uid %u, not to this user (uid %u); attach with "
                 "any_owner (runcue-top/runcue-viz --any-owner) to read it anyway",
                 path, (unsigned)st.st_uid, (unsigned)geteuid());
        return RC_EINVAL;
    }
    if (st.st_size == 0) return 1;
    if ((uint64_t)st.st_size < sizeof(rc_shm_segment)) {
        snprintf(err, errlen, "/dev/shm%s is not a runcue segment (%lld bytes)", path,
                 (long long)st.st_size);
        return RC_EINVAL;
    }
    struct {
        uint64_t magic;
        uint32_t layout, size;
    } id;
    if (get(r, &id, sizeof id, 0)) {
        r->truncated = false;
        return 1; /* shrank under us: look again */
    }
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (id.magic == 0) return 1;
    if (id.magic != RC_SHM_MAGIC) {
        snprintf(err, errlen, "/dev/shm%s is not a runcue segment", path);
        return RC_EINVAL;
    }
    if (id.layout != RC_SHM_LAYOUT || id.size != sizeof(rc_shm_segment)) {
        snprintf(err, errlen,
                 "'%s' has segment layout %u (%u bytes); this reader knows layout %u (%zu bytes)",
                 r->name, id.layout, id.size, RC_SHM_LAYOUT, sizeof(rc_shm_segment));
        return RC_EINVAL;
    }
    if (read_header(r)) {
        r->truncated = false;
        return 1;
    }
    return 0;
}

int rc_shm_attach_with(rc_shm_reader **out, const char *name, const rc_shm_attach_opts *opts,
                       char *err, size_t errlen)
{
    char dummy[8];
    if (!err || !errlen) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = 0;
    if (!out) {
        snprintf(err, errlen, "rc_shm_attach: out is NULL");
        return RC_EINVAL;
    }
    *out = NULL;
    int rc = rc_seg_check_name(name, err, errlen);
    if (rc) return rc;
    rc_shm_attach_opts o = opts ? *opts : (rc_shm_attach_opts){0};
    double timeout = o.timeout_s > 0 ? (o.timeout_s < 1e7 ? o.timeout_s : 1e7) : 0;
    rc_shm_reader *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return RC_ENOMEM;
    }
    r->fd = -1;
    r->stuck_after_s = o.stuck_after_s > 0 ? (o.stuck_after_s < 3600 ? o.stuck_after_s : 3600)
                                           : RC_SHM_STUCK_AFTER_S;
    rc_seg_copy_str(r->name, sizeof r->name, name);
    char path[RC_SHM_NAME_MAX + 16];
    rc_seg_path(path, sizeof path, name);
    double deadline = mono_now() + timeout;
    for (;;) {
        /* O_NONBLOCK: the name may be a FIFO (any local user can make one in
         * /dev/shm), whose open would wait for a writer for ever, before the
         * S_ISREG check could refuse it.  glibc's shm_open passes the flag on
         * to open (and adds O_NOFOLLOW); on a regular file it changes
         * nothing. */
        r->fd = shm_open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
        if (r->fd >= 0) {
            rc = check_segment(r, path, o.any_owner, err, errlen);
            if (rc == 0) {
                *out = r;
                return 0;
            }
            close(r->fd);
            r->fd = -1;
            if (rc < 0) break;
            /* 1: the writer is still setting it up. */
        } else if (errno != ENOENT) {
            snprintf(err, errlen, "shm_open /dev/shm%s: %s", path, strerror(errno));
            rc = RC_ESYS;
            break;
        }
        if (mono_now() >= deadline) {
            snprintf(err, errlen, "no runcue segment named '%s' (looked for /dev/shm%s)", name,
                     path);
            rc = RC_ENOENT;
            break;
        }
        sleep_s(0.005);
    }
    free(r);
    return rc;
}

int rc_shm_attach(rc_shm_reader **out, const char *name, double timeout_s, char *err,
                  size_t errlen)
{
    return rc_shm_attach_with(out, name, &(rc_shm_attach_opts){.timeout_s = timeout_s}, err,
                              errlen);
}

void rc_shm_detach(rc_shm_reader *r)
{
    if (!r) return;
    close(r->fd);
    free(r);
}

/* ---- snapshots ---- */

static bool broken(const rc_shm_reader *r)
{
    return r->truncated || r->unreadable;
}

/* Notice a segment cut below its layout before copying from it. */
static void check_size(rc_shm_reader *r)
{
    struct stat st;
    if (fstat(r->fd, &st))
        r->unreadable = true;
    else if ((uint64_t)st.st_size < sizeof(rc_shm_segment))
        r->truncated = true;
}

/* The header and the newest state into r. */
static void refresh_state(rc_shm_reader *r)
{
    check_size(r);
    if (broken(r) || read_header(r)) return;
    rc_shm_state st;
    if (read_locked(r, &st, sizeof st, 0, &r->stuck_state)) return;
    clean_state(&st);
    r->state = st;
}

static bool reader_live(const rc_shm_reader *r)
{
    return !broken(r) && !r->stuck_state && !r->stuck_report &&
           (r->state.flags & RC_SHM_LIVE) && rc_seg_pid_alive(r->writer_pid);
}

int rc_shm_read(rc_shm_reader *r, rc_shm_snapshot *out)
{
    if (!r || !out) return RC_EINVAL;
    refresh_state(r);
    size_t off = offsetof(rc_shm_segment, report);
    if (!broken(r) &&
        read_locked(r, &out->report, sizeof out->report, off, &r->stuck_report) == 0) {
        clean_report(&out->report);
        r->report = out->report;
    } else {
        out->report = r->report;
    }
    out->writer_pid = r->writer_pid;
    out->clock = r->clock;
    out->published = r->published;
    memcpy(out->name, r->seg_name, sizeof out->name);
    memcpy(out->title, r->title, sizeof out->title);
    out->state = r->state;
    out->writer_alive = reader_live(r);
    return out->writer_alive ? 0 : RC_ESTATE;
}

bool rc_shm_writer_alive(rc_shm_reader *r)
{
    if (!r) return false;
    refresh_state(r);
    return reader_live(r);
}

const char *rc_shm_writer_status(rc_shm_reader *r)
{
    if (!r) return "no reader";
    refresh_state(r);
    if (r->truncated) return "truncated";
    if (r->unreadable) return "unreadable";
    if (r->stuck_state || r->stuck_report) return "died mid-update";
    if (!(r->state.flags & RC_SHM_LIVE)) return "finished";
    if (!rc_seg_pid_alive(r->writer_pid)) return "gone";
    return "";
}

/* ---- the event ring ---- */

/* Copy the ring records for seqs next .. next+k-1 (contiguous in the ring)
 * into out as a sequence lock per record: their sequence numbers, then the
 * records, then the sequence numbers again.  Returns how many from the
 * start are the records asked for, whole; *seen is the sequence number the
 * first record that is not had in its last copy (0 if all are). */
static size_t copy_stretch(rc_shm_reader *r, uint64_t next, size_t k, rc_shm_event *out,
                           uint64_t *seen)
{
    size_t off = offsetof(rc_shm_segment, events) + ((next - 1) % RC_SHM_RING) * sizeof *out;
    size_t len = k * sizeof *out;
    *seen = 0;
    if (get(r, r->batch, len, off)) return 0;
    for (size_t i = 0; i < k; i++) r->first_seq[i] = r->batch[i].seq;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (get(r, out, len, off)) return 0;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (get(r, r->batch, len, off)) return 0;
    for (size_t i = 0; i < k; i++) {
        uint64_t want = next + i;
        if (r->first_seq[i] != want || out[i].seq != want || r->batch[i].seq != want) {
            *seen = r->batch[i].seq;
            return i;
        }
        clean_event(&out[i]);
    }
    return k;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

size_t rc_shm_events(rc_shm_reader *r, uint64_t *cursor, rc_shm_event *out, size_t max,
                     uint64_t *lost)
{
    if (!r || !cursor || !out || broken(r)) return 0;
    check_size(r);
    uint64_t next = *cursor + 1; /* the next seq wanted; only ever grows */
    if (next == 0) return 0;     /* the cursor is at the end of the numbers */
    size_t n = 0;
    /* Each turn copies records or skips forward past overwritten ones; a
     * ring with crafted numbers can make every turn a short skip, so the
     * turns are bounded as well. */
    for (unsigned turn = 0; n < max && turn < 4 * RC_SHM_RING && !broken(r); turn++) {
        size_t slot = (size_t)((next - 1) % RC_SHM_RING);
        size_t k = max - n;
        if (k > EV_BATCH) k = EV_BATCH;
        if (k > RC_SHM_RING - slot) k = RC_SHM_RING - slot;
        if (k > UINT64_MAX - next) k = (size_t)(UINT64_MAX - next);
        if (k == 0) break;
        uint64_t seen;
        size_t got = copy_stretch(r, next, k, out + n, &seen);
        n += got;
        next += got;
        if (got == k) continue;
        /* The record for `next` holds another seq.  Written later (a
         * multiple of the ring ahead): the writer lapped this reader, and
         * the oldest that may still be there is seen-RC_SHM_RING+1.
         * Anything else (not yet written, being written, or numbers that
         * cannot be) ends this call. */
        if (seen > next && (seen - next) % RC_SHM_RING == 0) {
            uint64_t oldest = seen - RC_SHM_RING + 1;
            if (lost) *lost = add_sat(*lost, oldest - next);
            next = oldest;
            continue;
        }
        break;
    }
    *cursor = next - 1;
    return n;
}

/* ---- waiting ---- */

int rc_shm_wait(rc_shm_reader *r, rc_shm_pred pred, void *ud, double timeout_s, double poll_s,
                rc_shm_snapshot *last)
{
    if (!r || !pred) return RC_EINVAL;
    rc_shm_snapshot *snap = last ? last : malloc(sizeof *snap);
    if (!snap) return RC_ENOMEM;
    if (!(poll_s > 0)) poll_s = 0.005;
    if (poll_s > 60) poll_s = 60;
    if (!(timeout_s > 0)) timeout_s = 0;
    if (timeout_s > 1e7) timeout_s = 1e7;
    double deadline = mono_now() + timeout_s;
    int rc;
    for (;;) {
        int live = rc_shm_read(r, snap);
        if (pred(snap, ud)) {
            rc = 0;
            break;
        }
        if (live != 0) {
            rc = RC_ESTATE;
            break;
        }
        if (mono_now() >= deadline) {
            rc = RC_ENOENT;
            break;
        }
        sleep_s(poll_s);
    }
    if (!last) free(snap);
    return rc;
}

static const struct {
    const char *name;
    size_t off;
} counter_names[] = {
#define C(f) {#f, offsetof(rc_shm_counters, f)}
    C(submitted), C(completed), C(failed),  C(skipped), C(cancelled), C(retries),
    C(pending),   C(running),   C(waiting), C(queued),  C(delayed),   C(stale_finishes),
#undef C
};

/* The offset of a counter in rc_shm_counters, or SIZE_MAX. */
static size_t counter_offset(const char *name)
{
    for (size_t i = 0; name && i < sizeof counter_names / sizeof counter_names[0]; i++)
        if (strcmp(name, counter_names[i].name) == 0) return counter_names[i].off;
    return SIZE_MAX;
}

int rc_shm_counter(const rc_shm_snapshot *snap, const char *name, uint64_t *out)
{
    if (!snap || !out) return RC_EINVAL;
    size_t off = counter_offset(name);
    if (off == SIZE_MAX) return RC_ENOENT;
    memcpy(out, (const char *)&snap->state.counters + off, sizeof *out);
    return 0;
}

struct counter_at_least {
    const char *name;
    uint64_t value;
};

static bool counter_pred(const rc_shm_snapshot *snap, void *ud)
{
    const struct counter_at_least *c = ud;
    uint64_t v = 0;
    return rc_shm_counter(snap, c->name, &v) == 0 && v >= c->value;
}

int rc_shm_wait_counter(rc_shm_reader *r, const char *name, uint64_t at_least, double timeout_s,
                        rc_shm_snapshot *last)
{
    if (!r || counter_offset(name) == SIZE_MAX) return RC_EINVAL;
    struct counter_at_least c = {name, at_least};
    return rc_shm_wait(r, counter_pred, &c, timeout_s, 0, last);
}

const rc_shm_service *rc_shm_find_service(const rc_shm_snapshot *snap, const char *name)
{
    if (!snap || !name) return NULL;
    for (uint32_t i = 0; i < snap->state.n_services && i < RC_SHM_MAX_SERVICES; i++)
        if (strncmp(snap->state.services[i].name, name, sizeof snap->state.services[i].name) ==
            0)
            return &snap->state.services[i];
    return NULL;
}

const char *rc_shm_event_name(uint32_t kind)
{
    if (kind < RC_EV__COUNT) return rc_event_name((rc_event_kind)kind);
    if (kind == RC_SHM_EV_ARTIFACTS_CHANGED) return "artifacts_changed";
    if (kind == RC_SHM_EV_MARK) return "mark";
    return "unknown";
}

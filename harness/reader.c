/* reader.c -- the harness: attach to a segment read-only, copy consistent
 * snapshots, follow the event ring, wait for conditions.  See runcue_shm.h
 * and segment.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "segment.h"

struct rc_shm_reader {
    const rc_shm_segment *seg;
    size_t map_len;
    char name[RC_SHM_NAME_MAX + 1];
};


static double mono_now(void)
{
    return rc_to_seconds(rc_monotonic_now());
}

static void sleep_s(double s)
{
    if (s <= 0) return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) && errno == EINTR) {
    }
}

int rc_shm_attach(rc_shm_reader **out, const char *name, double timeout_s, char *err,
                  size_t errlen)
{
    char dummy[8];
    if (!err) {
        err = dummy;
        errlen = sizeof dummy;
    }
    if (errlen) err[0] = 0;
    if (!out) return RC_EINVAL;
    *out = NULL;
    int rc = rc_seg_check_name(name, err, errlen);
    if (rc) return rc;
    char path[RC_SHM_NAME_MAX + 16];
    rc_seg_path(path, sizeof path, name);
    double deadline = mono_now() + (timeout_s > 0 ? timeout_s : 0);
    for (;;) {
        int fd = shm_open(path, O_RDONLY, 0);
        if (fd >= 0) {
            struct stat st;
            if (fstat(fd, &st)) {
                snprintf(err, errlen, "fstat /dev/shm%s: %s", path, strerror(errno));
                close(fd);
                return RC_ESYS;
            }
            if ((size_t)st.st_size >= sizeof(rc_shm_segment)) {
                void *p = mmap(NULL, sizeof(rc_shm_segment), PROT_READ, MAP_SHARED, fd, 0);
                close(fd);
                if (p == MAP_FAILED) {
                    snprintf(err, errlen, "mmap /dev/shm%s: %s", path, strerror(errno));
                    return RC_ESYS;
                }
                const rc_shm_segment *seg = p;
                uint64_t magic = LOAD_ACQ(&seg->magic);
                if (magic == RC_SHM_MAGIC) {
                    if (seg->layout != RC_SHM_LAYOUT || seg->size != sizeof(rc_shm_segment)) {
                        snprintf(err, errlen,
                                 "'%s' has segment layout %u (%u bytes); this reader knows "
                                 "layout %u (%zu bytes)",
                                 name, seg->layout, seg->size, RC_SHM_LAYOUT,
                                 sizeof(rc_shm_segment));
                        munmap(p, sizeof(rc_shm_segment));
                        return RC_EINVAL;
                    }
                    rc_shm_reader *r = calloc(1, sizeof *r);
                    if (!r) {
                        munmap(p, sizeof(rc_shm_segment));
                        snprintf(err, errlen, "out of memory");
                        return RC_ENOMEM;
                    }
                    r->seg = seg;
                    r->map_len = sizeof(rc_shm_segment);
                    rc_seg_copy_str(r->name, sizeof r->name, name);
                    *out = r;
                    return 0;
                }
                munmap(p, sizeof(rc_shm_segment));
                if (magic != 0) {
                    snprintf(err, errlen, "/dev/shm%s is not a runcue segment", path);
                    return RC_EINVAL;
                }
                /* magic 0: the writer is still setting it up. */
            } else if (st.st_size != 0) {
                close(fd);
                snprintf(err, errlen, "/dev/shm%s is not a runcue segment (%lld bytes)", path,
                         (long long)st.st_size);
                return RC_EINVAL;
            } else {
                close(fd);
            }
        } else if (errno != ENOENT) {
            snprintf(err, errlen, "shm_open /dev/shm%s: %s", path, strerror(errno));
            return RC_ESYS;
        }
        if (mono_now() >= deadline) {
            snprintf(err, errlen, "no runcue segment named '%s' (looked for /dev/shm%s)", name,
                     path);
            return RC_ENOENT;
        }
        sleep_s(0.005);
    }
}

void rc_shm_detach(rc_shm_reader *r)
{
    if (!r) return;
    munmap((void *)r->seg, r->map_len);
    free(r);
}

static void read_state(const rc_shm_segment *seg, rc_shm_state *out)
{
    const rc_shm_state *st = &seg->states[LOAD_ACQ(&seg->current) % RC_SHM_SLOTS];
    rc_seg_read(out, st, sizeof *out, &st->seq);
}

static bool reader_live(rc_shm_reader *r, const rc_shm_state *st)
{
    return (st->flags & RC_SHM_LIVE) && rc_seg_pid_alive(r->seg->writer_pid);
}

int rc_shm_read(rc_shm_reader *r, rc_shm_snapshot *out)
{
    const rc_shm_segment *seg = r->seg;
    out->writer_pid = seg->writer_pid;
    out->clock = seg->clock;
    out->published = seg->published;
    memcpy(out->name, seg->name, sizeof out->name);
    memcpy(out->title, seg->title, sizeof out->title);
    out->name[sizeof out->name - 1] = 0;
    out->title[sizeof out->title - 1] = 0;
    read_state(seg, &out->state);
    rc_seg_read(&out->report, &seg->report, sizeof out->report, &seg->report.seq);
    out->writer_alive = reader_live(r, &out->state);
    return out->writer_alive ? 0 : RC_ESTATE;
}

bool rc_shm_writer_alive(rc_shm_reader *r)
{
    rc_shm_state st;
    read_state(r->seg, &st);
    return reader_live(r, &st);
}

const char *rc_shm_writer_status(rc_shm_reader *r)
{
    rc_shm_state st;
    read_state(r->seg, &st);
    if (!(st.flags & RC_SHM_LIVE)) return "finished";
    if (!rc_seg_pid_alive(r->seg->writer_pid)) return "gone";
    return "";
}

size_t rc_shm_events(rc_shm_reader *r, uint64_t *cursor, rc_shm_event *out, size_t max,
                     uint64_t *lost)
{
    const rc_shm_segment *seg = r->seg;
    uint64_t next = *cursor + 1;
    size_t n = 0;
    while (n < max) {
        const rc_shm_event *e = &seg->events[(next - 1) % RC_SHM_RING];
        uint64_t s1 = LOAD_ACQ(&e->seq);
        if (s1 == next) {
            memcpy(&out[n], e, sizeof *out);
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            if (LOAD_RLX(&e->seq) == next) {
                n++;
                next++;
                continue;
            }
            s1 = LOAD_ACQ(&e->seq);
        }
        if (s1 > next) {
            /* Overwritten: the ring holds at most RC_SHM_RING events up to
             * s1, so the oldest that may still be there is s1-RC_SHM_RING+1. */
            uint64_t oldest = s1 - RC_SHM_RING + 1;
            if (lost) *lost += oldest - next;
            next = oldest;
            continue;
        }
        break; /* not written yet, or being written */
    }
    *cursor = next - 1;
    return n;
}

int rc_shm_wait(rc_shm_reader *r, rc_shm_pred pred, void *ud, double timeout_s, double poll_s,
                rc_shm_snapshot *last)
{
    rc_shm_snapshot *snap = last ? last : malloc(sizeof *snap);
    if (!snap) return RC_ENOMEM;
    if (poll_s <= 0) poll_s = 0.005;
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
    if (counter_offset(name) == SIZE_MAX) return RC_EINVAL;
    struct counter_at_least c = {name, at_least};
    return rc_shm_wait(r, counter_pred, &c, timeout_s, 0, last);
}

const rc_shm_service *rc_shm_find_service(const rc_shm_snapshot *snap, const char *name)
{
    for (uint32_t i = 0; i < snap->state.n_services && i < RC_SHM_MAX_SERVICES; i++)
        if (name && strcmp(snap->state.services[i].name, name) == 0)
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

/* segment.h -- the segment's layout and the rules both sides follow.  Private
 * to harness/: the writer (writer.c) and the reader (reader.c) share it, and
 * nothing else sees it, like Varnish's vsmw and libvarnishapi.
 *
 * Sequence locks: a writer bumps a sequence number to odd (relaxed), issues a
 * release fence, writes, and stores the next even number with release.  A
 * reader loads the sequence with acquire, copies, issues an acquire fence and
 * loads the sequence again; the copy stands if both were the same even
 * number.  That is the Linux seqlock, done with the GCC atomic builtins so
 * the layout stays plain structs.  The reader (reader.c) does its loads with
 * pread rather than through a mapping, and gives up on a sequence that
 * stays odd. */
#ifndef RC_SEGMENT_H
#define RC_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>

#include "runcue_shm.h"

#define RC_SHM_MAGIC UINT64_C(0x48534555434e5552) /* "RUNCUESH" as little-endian bytes */
#define RC_SHM_LAYOUT 4u /* 2: event progress; 3: the report's roots; 4: longer titles */
#define RC_SHM_SLOTS 4

typedef struct rc_shm_segment {
    uint64_t magic; /* written last: a reader waits for it */
    uint32_t layout;
    uint32_t size; /* sizeof(rc_shm_segment) */
    int32_t writer_pid;
    uint32_t clock; /* rc_clock_kind */
    int64_t published; /* the cue's clock (rc_time) when it was published */
    char name[RC_SHM_NAME_MAX + 1];
    char title[RC_SHM_TITLE_MAX + 1]; /* what the writer runs, e.g. "runcue-sim --scenario fanout" */
    uint64_t current; /* the newest published state: states[current % RC_SHM_SLOTS] */
    rc_shm_state states[RC_SHM_SLOTS];
    rc_shm_report report;
    /* event seq s lives at [(s - 1) % RC_SHM_RING] */
    _Alignas(64) rc_shm_event events[RC_SHM_RING];
} rc_shm_segment;

_Static_assert(sizeof(rc_shm_event) == 256, "an event record is four cache lines");

#define LOAD_ACQ(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define LOAD_RLX(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define STORE_RLX(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/* The writer's side of a sequence lock: odd while the guarded data is
 * written, the next even number once it is done. */
void rc_seg_write_begin(uint64_t *seq);
void rc_seg_write_end(uint64_t *seq);

/* Copy at most cap-1 bytes of src (NULL: "") and terminate. */
void rc_seg_copy_str(char *dst, size_t cap, const char *src);
/* 0, or RC_EINVAL with a message in err: NAME must be 1 to RC_SHM_NAME_MAX
 * of letters, digits, '-', '_', '.'. */
int rc_seg_check_name(const char *name, char *err, size_t errlen);
/* The POSIX shared-memory name: "/runcue.NAME". */
void rc_seg_path(char *out, size_t cap, const char *name);
/* The process exists (kill(pid, 0) succeeds or is refused). */
bool rc_seg_pid_alive(int32_t pid);

#endif

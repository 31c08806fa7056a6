/* segment.c -- what the writer and the reader share: sequence locks, names.
 * See segment.h. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "segment.h"

void rc_seg_write_begin(uint64_t *seq)
{
    STORE_RLX(seq, LOAD_RLX(seq) + 1);
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

void rc_seg_write_end(uint64_t *seq)
{
    STORE_REL(seq, LOAD_RLX(seq) + 1);
}

void rc_seg_copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strnlen(src, cap - 1) : 0;
    if (n) memcpy(dst, src, n);
    dst[n] = 0;
}

int rc_seg_check_name(const char *name, char *err, size_t errlen)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > RC_SHM_NAME_MAX) {
        snprintf(err, errlen, "shared memory name must be 1 to %d characters", RC_SHM_NAME_MAX);
        return RC_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.')) {
            snprintf(err, errlen,
                     "shared memory name '%s': only letters, digits, '-', '_' and '.' are allowed",
                     name);
            return RC_EINVAL;
        }
    }
    return 0;
}

int rc_shm_check_name(const char *name, char *err, size_t errlen)
{
    char dummy[1];
    if (!err || !errlen) err = dummy, errlen = sizeof dummy;
    return rc_seg_check_name(name, err, errlen);
}

void rc_seg_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "/runcue.%s", name);
}

bool rc_seg_pid_alive(int32_t pid)
{
    if (pid <= 0) return false;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

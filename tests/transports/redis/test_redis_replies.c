/*
 * test_redis_replies.c -- what the transport reads from outside, checked
 * without a server: a password file with a NUL.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runcue_redis.h"

/* ---- the password file ---- */

Test(redis_replies, a_nul_in_the_password_file_is_refused)
{
    char path[] = "/tmp/runcue-pw-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, "ab\0cd\n", 6), 6);
    close(fd);
    rc_redis_conn conn = {.url = "unix:/nonexistent/redis.sock", .password_file = path};
    cJSON *out;
    char err[256] = "";
    int rc = rc_redis_snapshot(&conn, 0.1, &out, err, sizeof err);
    unlink(path);
    cr_assert_eq(rc, RC_EINVAL, "%s", err);
    cr_assert(strstr(err, "NUL byte"), "%s", err);
}

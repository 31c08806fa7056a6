/*
 * fuzz_redis_url.c -- a Redis connection's options (rconn_cfg_parse) on
 * arbitrary strings: the input is the address, then at NULs the user and
 * the namespace.  Every input is read into a whole configuration or
 * refused with a one-line message and nothing kept.
 */
#include <string.h>

#include "fuzz.h"
#include "rconn.h"

static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f) return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    char *buf = malloc(size + 3);
    CHECK(buf != NULL);
    if (size) memcpy(buf, data, size);
    buf[size] = buf[size + 1] = buf[size + 2] = '\0';
    const char *parts[3];
    const char *p = buf;
    for (int i = 0; i < 3; i++) {
        parts[i] = p;
        p += strlen(p) + (p < buf + size ? 1 : 0);
        if (p > buf + size) p = buf + size;
    }
    rc_redis_conn conn = {
        .url = parts[0], .user = *parts[1] ? parts[1] : NULL, .ns = *parts[2] ? parts[2] : NULL};
    rconn_cfg cfg;
    char err[512] = "";
    const int rc = rconn_cfg_parse(&cfg, &conn, err, sizeof err);
    if (rc == 0) {
        CHECK((cfg.host == NULL) != (cfg.unix_path == NULL));
        if (cfg.host) {
            const size_t n = strlen(cfg.host);
            CHECK(n >= 1 && n <= 255);
            CHECK(printable(cfg.host) && !strpbrk(cfg.host, "@/[]"));
            CHECK(cfg.port >= 1 && cfg.port <= 65535);
        } else {
            CHECK(cfg.unix_path[0] == '/');
        }
        if (cfg.user) CHECK(*cfg.user && printable(cfg.user));
        CHECK(cfg.password == NULL);
        CHECK(cfg.backoff_max_s > 0);
        rconn_cfg_clear(&cfg);
    } else {
        CHECK(rc == RC_EINVAL || rc == RC_ENOMEM);
        CHECK(*err);
        for (const char *e = err; *e; e++) {
            CHECK((unsigned char)*e >= 0x20 && (unsigned char)*e != 0x7f);
            CHECK(!((unsigned char)e[0] == 0xc2 && (unsigned char)e[1] >= 0x80 &&
                    (unsigned char)e[1] <= 0x9f));
        }
        CHECK(!cfg.host && !cfg.unix_path && !cfg.user && !cfg.password);
    }
    free(buf);
    return 0;
}

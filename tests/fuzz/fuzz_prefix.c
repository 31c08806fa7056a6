/*
 * fuzz_prefix.c -- the output-prefix checks on arbitrary strings: the
 * input is a prefix, a NUL, then a path (a worker's "outputs" entry).
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "runcue_transport.h"

/* Whether the '/'-separated s has a component equal to c. */
static bool has_component(const char *s, const char *c)
{
    const size_t n = strlen(c);
    for (const char *p = s; *p;) {
        const size_t len = strcspn(p, "/");
        if (len == n && memcmp(p, c, n) == 0) return true;
        p += len;
        if (*p == '/') p++;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    char *buf = malloc(size + 2);
    CHECK(buf != NULL);
    memcpy(buf, data, size);
    buf[size] = buf[size + 1] = '\0';
    const char *prefix = buf, *path = buf + strlen(buf) + 1;
    if (path > buf + size) path = buf + size + 1; /* no NUL: an empty path */

    const bool in = rc_prefix_contains(prefix, path);
    if (in) {
        size_t n = strlen(prefix);
        while (n > 1 && prefix[n - 1] == '/')
            n--;
        CHECK(strncmp(path, prefix, n) == 0);
        CHECK(strcmp(path, prefix) != 0);
        CHECK(!has_component(path, "..") && !has_component(prefix, ".."));
        const char *rest = path + n + (n == 1 && prefix[0] == '/' ? 0 : 1);
        CHECK(n == 1 || path[n] == '/');
        /* Something is named below the prefix, not the prefix itself. */
        bool named = false;
        for (const char *p = rest; *p && !named;) {
            const size_t len = strcspn(p, "/");
            named = len > 1 || (len == 1 && *p != '.');
            p += len;
            if (*p == '/') p++;
        }
        CHECK(named);
    }
    /* A worker's result listing the path is refused exactly when the path
     * is not under the prefix. */
    cJSON *result = cJSON_CreateObject(), *outs = cJSON_AddArrayToObject(result, "outputs");
    if (outs && cJSON_AddItemToArray(outs, cJSON_CreateString(path))) {
        char err[512];
        const int rc = rc_prefix_check_outputs(prefix, result, err, sizeof err);
        CHECK((rc == 0) == in);
        if (rc) CHECK(strlen(err) < sizeof err);
    }
    cJSON_Delete(result);
    /* A child made from one plain component is under its prefix. */
    char child[8192];
    const char *name = path;
    if (rc_prefix_child(child, sizeof child, prefix, name) == 0 && !has_component(prefix, "..")) {
        CHECK(strchr(name, '/') == NULL);
        CHECK(rc_prefix_contains(prefix, child));
    }
    free(buf);
    return 0;
}

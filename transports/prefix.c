/* prefix.c -- output prefixes and idempotency (runcue_transport.h): a work
 * names the directory it writes under, is stale unless a result.* file is
 * there, gives fan-out children sub-prefixes, and may not write elsewhere.
 * Written on the public API. */
#include "runcue_transport.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>

const char *rc_prefix_of(const rc_work *work)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(rc_work_params(work), RC_PREFIX_PARAM);
    return cJSON_IsString(p) && p->valuestring[0] ? p->valuestring : NULL;
}

/* The length of prefix without its trailing slashes (but "/" stays "/"). */
static size_t trimmed_len(const char *prefix)
{
    size_t n = strlen(prefix);
    while (n > 1 && prefix[n - 1] == '/') n--;
    return n;
}

static bool has_dotdot(const char *path)
{
    for (const char *p = path; (p = strstr(p, "..")) != NULL; p += 2)
        if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/')) return true;
    return false;
}

/* Whether the slash-separated rest of a path names something: a component
 * other than "" and "." ("x/", "x//." and "x/./" name x itself). */
static bool names_something(const char *rest)
{
    for (const char *c = rest; *c;) {
        const size_t len = strcspn(c, "/");
        if (len > 1 || (len == 1 && c[0] != '.')) return true;
        c += len;
        if (*c == '/') c++;
    }
    return false;
}

bool rc_prefix_contains(const char *prefix, const char *path)
{
    if (!prefix || !path || !*prefix || has_dotdot(path) || has_dotdot(prefix)) return false;
    size_t n = trimmed_len(prefix);
    if (strncmp(path, prefix, n) != 0) return false;
    if (n == 1 && prefix[0] == '/') return names_something(path + 1);
    return path[n] == '/' && names_something(path + n + 1);
}

int rc_prefix_child(char *out, size_t len, const char *prefix, const char *name)
{
    if (!out || !len || !prefix || !*prefix || !name || !*name || strchr(name, '/') ||
        strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return RC_EINVAL;
    size_t n = trimmed_len(prefix);
    int w = snprintf(out, len, "%.*s/%s", (int)n, prefix, name);
    return w < 0 || (size_t)w >= len ? RC_EINVAL : 0;
}

int rc_prefix_is_stale(rc_cue *cue, const rc_work *work, rc_check *check, void *ud)
{
    (void)cue;
    (void)ud;
    const char *prefix = rc_prefix_of(work);
    if (!prefix) return 1; /* no prefix: nothing says it is done */
    DIR *d = opendir(prefix);
    if (!d) {
        rc_check_detail(check, "output prefix '%s' does not exist", prefix);
        return 1;
    }
    bool done = false;
    for (struct dirent *e; !done && (e = readdir(d)) != NULL;)
        done = strncmp(e->d_name, "result.", 7) == 0;
    closedir(d);
    if (!done) rc_check_detail(check, "no result.* under '%s'", prefix);
    return done ? 0 : 1;
}

int rc_prefix_check_outputs(const char *prefix, const cJSON *result, char *err, size_t errlen)
{
    const cJSON *outs = cJSON_GetObjectItemCaseSensitive(result, RC_PREFIX_OUTPUTS);
    if (!outs) return 0;
    if (!cJSON_IsArray(outs)) {
        snprintf(err, errlen, "\"%s\" is not an array of paths", RC_PREFIX_OUTPUTS);
        return RC_EINVAL;
    }
    size_t i = 0;
    for (const cJSON *o = outs->child; o; o = o->next, i++) {
        if (!cJSON_IsString(o)) {
            snprintf(err, errlen, "%s[%zu] is not a path", RC_PREFIX_OUTPUTS, i);
            return RC_EINVAL;
        }
        if (!rc_prefix_contains(prefix, o->valuestring)) {
            snprintf(err, errlen, "wrote '%.200s' outside its prefix '%.200s'", o->valuestring,
                     prefix);
            return RC_EINVAL;
        }
    }
    return 0;
}

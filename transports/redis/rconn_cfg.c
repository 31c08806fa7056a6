/*
 * rconn_cfg.c -- a connection's options checked into an rconn_cfg: the
 * Redis address, the user, the password (from a file or the environment),
 * the namespace.  Pure (no connection, no loop): tested and fuzzed alone.
 * Everything here is the caller's or the environment's bytes, so every
 * message quotes them cut short and with control characters as '?'.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rconn.h"
#include "replies.h"

#define BACKOFF_DEFAULT_MAX_S 2.0
#define PASSWORD_MAX 512
#define URL_MAX 1024
#define HOST_MAX 255
#define USER_MAX 256

bool rconn_name_ok(const char *s)
{
    if (!s) return false;
    size_t n = 0;
    for (; s[n]; n++) {
        char ch = s[n];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-';
        if (!ok || n >= 64) return false;
    }
    return n > 0;
}

bool rconn_ns_key(char *buf, size_t len, const char *ns)
{
    if (!rconn_name_ok(ns)) return false;
    int n = snprintf(buf, len, "rc:{%s}", ns);
    return n > 0 && (size_t)n < len;
}

/* Up to 100 bytes of s for a message (rr_quote). */
static const char *quoted(char out[RR_QUOTE_LEN], const char *s)
{
    return rr_quote(out, s, strlen(s));
}

/* Printable ASCII but space: what an ACL user name may hold here. */
static bool user_ok(const char *s, size_t n)
{
    if (n == 0 || n > USER_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f) return false;
    return true;
}

static int read_password(rconn_cfg *cfg, const rc_redis_conn *conn, char *err, size_t errlen)
{
    char buf[PASSWORD_MAX + 2], q[RR_QUOTE_LEN];
    if (conn->password_file && conn->password_env) {
        /* Which one was meant?  Neither wins by a rule nobody reads. */
        snprintf(err, errlen,
                 "both a password file and a password variable (password_file, password_env; "
                 "--password-file, --password-env): give one");
        return RC_EINVAL;
    }
    if (conn->password_file) {
        FILE *f = fopen(conn->password_file, "r");
        if (!f) {
            snprintf(err, errlen, "cannot read the password file '%s': %s",
                     quoted(q, conn->password_file), strerror(errno));
            return RC_ESYS;
        }
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        /* A directory opens, then fails to read: not an empty password. */
        const int read_errno = ferror(f) ? errno : 0;
        fclose(f);
        if (read_errno) {
            memset(buf, 0, sizeof buf);
            snprintf(err, errlen, "cannot read the password file '%s': %s",
                     quoted(q, conn->password_file), strerror(read_errno));
            return RC_ESYS;
        }
        /* The first line, up to its end or the end of what was read; a NUL
         * in it would cut the password short without a word. */
        size_t line = 0;
        while (line < n && buf[line] != '\r' && buf[line] != '\n')
            line++;
        if (memchr(buf, '\0', line)) {
            memset(buf, 0, sizeof buf);
            snprintf(err, errlen, "the password in '%s' has a NUL byte",
                     quoted(q, conn->password_file));
            return RC_EINVAL;
        }
        buf[line] = '\0';
        if (line > PASSWORD_MAX) {
            memset(buf, 0, sizeof buf);
            snprintf(err, errlen, "the password in '%s' is longer than %d bytes",
                     quoted(q, conn->password_file), PASSWORD_MAX);
            return RC_EINVAL;
        }
    } else if (conn->password_env) {
        const char *v = getenv(conn->password_env);
        if (!v) {
            snprintf(err, errlen, "the environment variable '%s' (the password) is not set",
                     quoted(q, conn->password_env));
            return RC_EINVAL;
        }
        if (strlen(v) > PASSWORD_MAX) {
            snprintf(err, errlen, "the password in $%s is longer than %d bytes",
                     quoted(q, conn->password_env), PASSWORD_MAX);
            return RC_EINVAL;
        }
        snprintf(buf, sizeof buf, "%s", v);
    } else {
        return 0;
    }
    cfg->password = strdup(buf);
    memset(buf, 0, sizeof buf);
    return cfg->password ? 0 : RC_ENOMEM;
}

/* "host", "host:port", "[v6]" or "[v6]:port" (n bytes at s) into cfg. */
static int parse_hostport(rconn_cfg *cfg, const char *url, const char *s, size_t n, char *err,
                          size_t errlen)
{
    char q[RR_QUOTE_LEN];
    const char *host = s, *port_at = NULL;
    size_t hlen;
    if (n && s[0] == '[') { /* an IPv6 address */
        const char *close = memchr(s, ']', n);
        if (!close) {
            snprintf(err, errlen, "bad Redis address '%s': no ']' after an IPv6 address",
                     quoted(q, url));
            return RC_EINVAL;
        }
        host = s + 1;
        hlen = (size_t)(close - host);
        const char *rest = close + 1;
        if (rest < s + n) {
            if (*rest != ':') {
                snprintf(err, errlen, "bad Redis address '%s': expected [address]:port",
                         quoted(q, url));
                return RC_EINVAL;
            }
            port_at = rest + 1;
        }
    } else {
        const char *colon = memchr(s, ':', n);
        hlen = colon ? (size_t)(colon - s) : n;
        if (colon) port_at = colon + 1;
        if (colon && memchr(port_at, ':', n - (size_t)(port_at - s))) {
            snprintf(err, errlen,
                     "bad Redis address '%s': write an IPv6 address in brackets, [::1]:6379",
                     quoted(q, url));
            return RC_EINVAL;
        }
    }
    bool host_ok = hlen > 0 && hlen <= HOST_MAX;
    for (size_t i = 0; host_ok && i < hlen; i++) {
        const unsigned char c = (unsigned char)host[i];
        host_ok = c > 0x20 && c < 0x7f && c != '@' && c != '/' && c != '[' && c != ']';
    }
    if (!host_ok) {
        snprintf(err, errlen, "bad Redis address '%s': expected host:port", quoted(q, url));
        return RC_EINVAL;
    }
    long port = 6379;
    if (port_at) {
        const size_t plen = n - (size_t)(port_at - s);
        char digits[8];
        bool ok = plen >= 1 && plen <= 5;
        for (size_t i = 0; ok && i < plen; i++)
            ok = port_at[i] >= '0' && port_at[i] <= '9';
        if (ok) {
            memcpy(digits, port_at, plen);
            digits[plen] = '\0';
            port = strtol(digits, NULL, 10);
        }
        if (!ok || port < 1 || port > 65535) {
            snprintf(err, errlen, "bad port in Redis address '%s': 1 to 65535", quoted(q, url));
            return RC_EINVAL;
        }
    }
    cfg->host = strndup(host, hlen);
    cfg->port = (int)port;
    return cfg->host ? 0 : RC_ENOMEM;
}

int rconn_cfg_parse(rconn_cfg *cfg, const rc_redis_conn *conn, char *err, size_t errlen)
{
    char q[RR_QUOTE_LEN];
    memset(cfg, 0, sizeof *cfg);
    if (!conn || !conn->url || !*conn->url) {
        snprintf(err, errlen, "no Redis address (url)");
        return RC_EINVAL;
    }
    const char *url = conn->url;
    if (strlen(url) > URL_MAX) {
        snprintf(err, errlen, "the Redis address is longer than %d bytes", URL_MAX);
        return RC_EINVAL;
    }
    if (conn->ns && !rconn_name_ok(conn->ns)) {
        snprintf(err, errlen, "bad namespace '%s': use 1 to 64 of A-Z a-z 0-9 _ . -",
                 quoted(q, conn->ns));
        return RC_EINVAL;
    }
    if (!(conn->reconnect_max_s >= 0 && conn->reconnect_max_s <= 3600)) {
        snprintf(err, errlen, "bad reconnect_max_s %g: 0 to 3600 seconds", conn->reconnect_max_s);
        return RC_EINVAL;
    }
    if (conn->user && !user_ok(conn->user, strlen(conn->user))) {
        snprintf(err, errlen, "bad Redis user '%s': 1 to %d printable characters, no spaces",
                 quoted(q, conn->user), USER_MAX);
        return RC_EINVAL;
    }
    int rc = 0;
    if (strncmp(url, "unix:", 5) == 0) {
        const char *p = url + 5;
        if (strncmp(p, "//", 2) == 0) p += 2;
        if (*p != '/') {
            snprintf(err, errlen, "bad Redis address '%s': unix: needs an absolute path",
                     quoted(q, url));
            return RC_EINVAL;
        }
        cfg->unix_path = strdup(p);
        if (!cfg->unix_path) return RC_ENOMEM;
    } else {
        const char *p = url;
        if (strncmp(p, "redis://", 8) == 0) p += 8;
        /* The authority ends at the first '/': a user before an '@' in it,
         * then host and port.  After it only "/" or "/0" (database 0, the
         * one the functions and keys live in) may follow. */
        const size_t auth = strcspn(p, "/");
        const char *path = p + auth;
        if (*path && strcmp(path, "/") != 0 && strcmp(path, "/0") != 0) {
            snprintf(err, errlen,
                     "bad Redis address '%s': nothing may follow host:port but \"/\" or "
                     "\"/0\" (runcue uses database 0)",
                     quoted(q, url));
            return RC_EINVAL;
        }
        const char *at = memchr(p, '@', auth);
        const char *hp = p;
        if (at) {
            if (memchr(p, ':', (size_t)(at - p))) {
                snprintf(err, errlen,
                         "a password in the Redis URL is refused: "
                         "put it in a file or an environment variable");
                return RC_EINVAL;
            }
            if (!user_ok(p, (size_t)(at - p))) {
                snprintf(err, errlen,
                         "bad user in Redis address '%s': 1 to %d printable characters",
                         quoted(q, url), USER_MAX);
                return RC_EINVAL;
            }
            if (!conn->user) {
                cfg->user = strndup(p, (size_t)(at - p));
                if (!cfg->user) return RC_ENOMEM;
            }
            hp = at + 1;
        }
        if ((rc = parse_hostport(cfg, url, hp, (size_t)(p + auth - hp), err, errlen))) goto fail;
    }
    if (conn->user) {
        free(cfg->user);
        if (!(cfg->user = strdup(conn->user))) {
            rc = RC_ENOMEM;
            goto fail;
        }
    }
    if ((rc = read_password(cfg, conn, err, errlen))) goto fail;
    cfg->backoff_max_s = conn->reconnect_max_s > 0 ? conn->reconnect_max_s : BACKOFF_DEFAULT_MAX_S;
    return 0;
fail:
    rconn_cfg_clear(cfg);
    return rc;
}

void rconn_cfg_clear(rconn_cfg *cfg)
{
    free(cfg->unix_path);
    free(cfg->host);
    free(cfg->user);
    if (cfg->password) {
        memset(cfg->password, 0, strlen(cfg->password));
        free(cfg->password);
    }
    memset(cfg, 0, sizeof *cfg);
}

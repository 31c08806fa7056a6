/* runcue-dist -- the state of runcue's Redis namespaces.
 *
 *   runcue-dist status --url unix:/run/redis.sock [--ns NAME ...] [--json]
 *
 * Per namespace: services and their limits, queued, leased, starts in the
 * rate window and the next allowed start, agents with their last heartbeat
 * and leases, the oldest lease, dead letters and counters.  One read-only
 * call (rc_redis_snapshot) per namespace. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_opts.h"
#include "runcue_redis.h"

#define MAX_NS 64

static void usage(FILE *out)
{
    fprintf(out, "usage: runcue-dist status [options]\n"
                 "       runcue-dist job [options] ID...\n"
                 "\n"
                 "status: the state of runcue's Redis namespaces.  job: jobs by id (state,\n"
                 "service, task, owner, agent, deliveries, times, error, progress, params and\n"
                 "result; a job is kept an hour after it ends; status names the newest dead).\n"
                 "\n"
                 "  --url URL            unix:/path/redis.sock or redis://host:port   (required)\n"
                 "  --ns NAME            a namespace (repeat; job: one)                [default]\n"
                 "  --user NAME          Redis ACL user\n"
                 "  --password-file F    the password is the first line of F\n"
                 "  --password-env VAR   the password is in $VAR (never on the command line)\n"
                 "  --json               one JSON object: {\"namespaces\": [...]}\n"
                 "  --prometheus         Prometheus text exposition (for a textfile\n"
                 "                       collector or a scrape wrapper)\n"
                 "  --timeout S          seconds to wait for the server               [5]\n"
                 "  -h, --help           show this help\n"
                 "  -V, --version        show the version\n"
                 "\n"
                 "Exit status: 0 shown, 1 the server could not be read, 2 bad usage.\n");
}

static int bad(const char *msg, const char *arg)
{
    fprintf(stderr, "runcue-dist: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    return 2;
}

static double num(const cJSON *o, const char *name)
{
    return cJSON_GetNumberValue(cJSON_GetObjectItem(o, name));
}

static const char *str(const cJSON *o, const char *name)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(o, name));
    return s ? s : "";
}

static void print_job(const cJSON *j)
{
    printf("job %s", str(j, "job"));
    if (!cJSON_IsTrue(cJSON_GetObjectItem(j, "found"))) {
        printf(": no such job (never, or gone an hour after it ended)\n");
        return;
    }
    printf(": %s", str(j, "state"));
    if (cJSON_GetObjectItem(j, "deliveries")) printf(", delivery %.0f", num(j, "deliveries"));
    printf("\n  service %s, task %s, owner %s\n", str(j, "service"), str(j, "task"),
           str(j, "owner"));
    if (*str(j, "agent")) {
        printf("  agent %s", str(j, "agent"));
        if (strcmp(str(j, "state"), "leased") == 0 && cJSON_GetObjectItem(j, "lease_ends_in_s"))
            printf(", lease ends in %.3fs", num(j, "lease_ends_in_s"));
        printf("\n");
    }
    if (cJSON_GetObjectItem(j, "enqueued_s_ago"))
        printf("  enqueued %.3fs ago\n", num(j, "enqueued_s_ago"));
    if (cJSON_GetObjectItem(j, "finished_s_ago"))
        printf("  finished %.3fs ago\n", num(j, "finished_s_ago"));
    const char *fields[][2] = {
        {"error", "error"}, {"progress", "progress"}, {"params", "params"}, {"result", "result"}};
    for (size_t k = 0; k < 4; k++)
        if (*str(j, fields[k][0])) printf("  %s: %s\n", fields[k][1], str(j, fields[k][0]));
}

static void print_text(const cJSON *snap)
{
    printf("namespace %s\n", str(snap, "namespace"));
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(snap, "services"))
    {
        printf("  service %s: ", str(s, "name"));
        if (num(s, "rate_n") > 0)
            printf("%.0f per %gs, ", num(s, "rate_n"), num(s, "rate_window_s"));
        else
            printf("no rate limit, ");
        if (num(s, "concurrent") >= 0)
            printf("%.0f at once", num(s, "concurrent"));
        else
            printf("no concurrency limit");
        printf(", lease %gs, %.0f deliveries\n", num(s, "lease_s"), num(s, "max_deliveries"));
        printf("    queued %.0f, leased %.0f", num(s, "queued"), num(s, "leased"));
        if (num(s, "rate_n") > 0) {
            printf(", rate window %.0f/%.0f used", num(s, "starts_in_window"), num(s, "rate_n"));
            if (num(s, "next_start_in_s") > 0)
                printf(", next start in %.3fs", num(s, "next_start_in_s"));
            else
                printf(", may start now");
        }
        printf("\n");
        const cJSON *o = cJSON_GetObjectItem(s, "oldest_lease");
        if (cJSON_IsObject(o))
            printf("    oldest lease: job %s, expires in %.3fs\n", str(o, "job"),
                   num(o, "expires_in_s"));
    }
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItem(snap, "agents"))
    {
        printf("  agent %s: %s, last seen %.3fs ago, %.0f leased\n", str(a, "name"),
               cJSON_IsTrue(cJSON_GetObjectItem(a, "alive")) ? "alive" : "silent",
               num(a, "last_seen_s_ago"), num(a, "leases"));
    }
    const cJSON *dead = cJSON_GetObjectItem(snap, "dead");
    printf("  dead letters: %.0f", num(dead, "count"));
    const cJSON *id;
    int k = 0;
    cJSON_ArrayForEach(id, cJSON_GetObjectItem(dead, "newest"))
    {
        printf("%s%s", k++ ? ", " : " (newest: ", cJSON_GetStringValue(id));
    }
    printf("%s\n", k ? ")" : "");
    const cJSON *st;
    printf("  counters:");
    cJSON_ArrayForEach(st, cJSON_GetObjectItem(snap, "stats"))
    {
        printf(" %s %.0f", st->string, st->valuedouble);
    }
    printf("\n");
}

/* A label value as the exposition format takes it: backslash, quote and
 * newline escaped; other control characters as '?' (the names come from the
 * server). */
static void prom_value(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\\' || *p == '"')
            printf("\\%c", *p);
        else if (*p == '\n')
            printf("\\n");
        else if (*p < 0x20 || *p == 0x7f)
            putchar('?');
        else
            putchar(*p);
    }
}

typedef enum { PER_NS, PER_SERVICE, PER_AGENT, PER_COUNTER } prom_scope;

typedef struct prom_metric {
    const char *name, *type, *help;
    prom_scope scope;
    const char *field; /* the snapshot's number (PER_NS: in "dead") */
} prom_metric;

static const prom_metric PROM[] = {
    {"runcue_queued", "gauge", "Jobs ready to be claimed.", PER_SERVICE, "queued"},
    {"runcue_leased", "gauge", "Jobs leased to agents (running).", PER_SERVICE, "leased"},
    {"runcue_concurrency_limit", "gauge", "Jobs at once a service allows (-1: no limit).",
     PER_SERVICE, "concurrent"},
    {"runcue_rate_limit", "gauge", "Starts a service allows per window (0: no limit).", PER_SERVICE,
     "rate_n"},
    {"runcue_rate_window_seconds", "gauge", "The rate limit's window.", PER_SERVICE,
     "rate_window_s"},
    {"runcue_rate_window_used", "gauge", "Starts within the current window.", PER_SERVICE,
     "starts_in_window"},
    {"runcue_next_start_seconds", "gauge", "Seconds until the rate limit allows a start.",
     PER_SERVICE, "next_start_in_s"},
    {"runcue_agent_leases", "gauge", "Jobs an agent holds.", PER_AGENT, "leases"},
    {"runcue_agent_last_seen_seconds", "gauge", "Seconds since an agent last called.", PER_AGENT,
     "last_seen_s_ago"},
    {"runcue_dead_letters", "gauge", "Jobs dead-lettered (kept).", PER_NS, "count"},
    {"runcue_events_total", "counter", "The library's counters (claims, finishes, stale...).",
     PER_COUNTER, NULL},
};

static void print_prometheus(const cJSON *list)
{
    for (size_t m = 0; m < sizeof PROM / sizeof PROM[0]; m++) {
        const prom_metric *pm = &PROM[m];
        printf("# HELP %s %s\n# TYPE %s %s\n", pm->name, pm->help, pm->name, pm->type);
        const cJSON *snap;
        cJSON_ArrayForEach(snap, list)
        {
            const char *ns = str(snap, "namespace");
            const char *group = pm->scope == PER_SERVICE ? "services"
                                : pm->scope == PER_AGENT ? "agents"
                                : pm->scope == PER_NS    ? "dead"
                                                         : "stats";
            const cJSON *items = cJSON_GetObjectItem(snap, group), *it;
            if (pm->scope == PER_NS) {
                printf("%s{ns=\"", pm->name);
                prom_value(ns);
                printf("\"} %.15g\n", num(items, pm->field));
                continue;
            }
            cJSON_ArrayForEach(it, items)
            {
                if (pm->scope != PER_COUNTER && !cJSON_IsNumber(cJSON_GetObjectItem(it, pm->field)))
                    continue;
                printf("%s{ns=\"", pm->name);
                prom_value(ns);
                printf("\",%s=\"", pm->scope == PER_SERVICE ? "service"
                                   : pm->scope == PER_AGENT ? "agent"
                                                            : "event");
                prom_value(pm->scope == PER_COUNTER ? it->string : str(it, "name"));
                printf("\"} %.15g\n",
                       pm->scope == PER_COUNTER ? it->valuedouble : num(it, pm->field));
            }
        }
    }
}

/* Write out what stdout was given: 0, or 1 with a line on stderr. */
static int flushed(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "runcue-dist: writing to stdout failed: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}

/* runcue-dist job: each id in turn ({"jobs": [...]} with --json). */
static int show_jobs(rc_redis_conn *conn, const char *ns, double timeout, bool json, int n,
                     char **ids)
{
    conn->ns = ns;
    cJSON *all = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(all, "jobs");
    if (!list) {
        cJSON_Delete(all);
        fprintf(stderr, "runcue-dist: out of memory\n");
        return 1;
    }
    for (int i = 0; i < n; i++) {
        cJSON *j;
        char err[512];
        int rc = rc_redis_job(conn, timeout, ids[i], &j, err, sizeof err);
        if (rc) {
            fprintf(stderr, "runcue-dist: job %s: %s\n", ids[i], err);
            cJSON_Delete(all);
            return rc == RC_EINVAL ? 2 : 1;
        }
        if (!json) print_job(j);
        cJSON_AddItemToArray(list, j);
    }
    if (json) {
        char *s = cJSON_Print(all);
        if (s) puts(s);
        cJSON_free(s);
    }
    cJSON_Delete(all);
    return flushed();
}

int main(int argc, char **argv)
{
    rc_redis_conn conn = {0};
    const char *nss[MAX_NS];
    size_t n_ns = 0;
    bool json = false, prometheus = false;
    double timeout = 5;
    static const struct option longs[] = {{"url", required_argument, 0, 'u'},
                                          {"ns", required_argument, 0, 'n'},
                                          {"user", required_argument, 0, 'U'},
                                          {"password-file", required_argument, 0, 'p'},
                                          {"password-env", required_argument, 0, 'e'},
                                          {"json", no_argument, 0, 'j'},
                                          {"prometheus", no_argument, 0, 'P'},
                                          {"timeout", required_argument, 0, 't'},
                                          {"help", no_argument, 0, 'h'},
                                          {"version", no_argument, 0, 'V'},
                                          {0, 0, 0, 0}};
    if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
        printf("runcue-dist %s\n", RC_VERSION_STRING);
        return 0;
    }
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc < 2 || (strcmp(argv[1], "status") != 0 && strcmp(argv[1], "job") != 0)) {
        usage(stderr);
        return bad(argc < 2 ? "no command" : "unknown command", argc < 2 ? NULL : argv[1]);
    }
    const bool job = strcmp(argv[1], "job") == 0;
    optind = 2;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":hV", longs, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'u':
            conn.url = optarg;
            break;
        case 'n':
            if (n_ns >= MAX_NS) return bad("at most 64 --ns", NULL);
            nss[n_ns++] = optarg;
            break;
        case 'U':
            conn.user = optarg;
            break;
        case 'p':
            conn.password_file = optarg;
            break;
        case 'e':
            conn.password_env = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'P':
            prometheus = true;
            break;
        case 't':
            timeout = strtod(optarg, &end);
            if (*end || end == optarg || !(timeout > 0 && timeout <= 3600))
                return bad("bad --timeout", optarg);
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("runcue-dist %s\n", RC_VERSION_STRING);
            return 0;
        default:
            cli_bad_option("runcue-dist", c, argv, longs);
            return 2;
        }
    }
    if (!job && optind < argc) return bad("unexpected argument", argv[optind]);
    if (job && optind >= argc) return bad("job: which? give one or more job ids", NULL);
    if (job && argc - optind > 64) return bad("job: at most 64 ids", NULL);
    if (job && (n_ns > 1 || prometheus)) return bad("job: one --ns, no --prometheus", NULL);
    if (json && prometheus) return bad("--json and --prometheus: one of them", NULL);
    if (!conn.url) return bad("--url is required", NULL);
    if (!n_ns) nss[n_ns++] = "default";
    if (job) return show_jobs(&conn, nss[0], timeout, json, argc - optind, argv + optind);
    cJSON *all = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(all, "namespaces");
    if (!list) {
        cJSON_Delete(all);
        fprintf(stderr, "runcue-dist: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n_ns; i++) {
        conn.ns = nss[i];
        cJSON *snap;
        char err[512];
        int rc = rc_redis_snapshot(&conn, timeout, &snap, err, sizeof err);
        if (rc) {
            fprintf(stderr, "runcue-dist: %s\n", err);
            cJSON_Delete(all);
            return rc == RC_EINVAL ? 2 : 1;
        }
        if (!json && !prometheus) print_text(snap);
        cJSON_AddItemToArray(list, snap);
    }
    if (prometheus) print_prometheus(list);
    if (json) {
        char *s = cJSON_Print(all);
        if (!s) {
            cJSON_Delete(all);
            fprintf(stderr, "runcue-dist: out of memory\n");
            return 1;
        }
        puts(s);
        cJSON_free(s);
    }
    cJSON_Delete(all);
    /* Shown only if it reached stdout (not a full disk, not a closed one). */
    return flushed();
}

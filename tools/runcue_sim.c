/* runcue-sim -- run a scheduling scenario on the virtual clock.
 *
 * The same core that runs in production, against fake services that inject
 * latency, errors and artifact invalidation.  Same options and seed: the same
 * event log and report, byte for byte. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "eventlog.h"
#include "live.h"
#include "pace.h"
#include "runcue_shm.h"
#include "scenario_file.h"
#include "scenarios.h"
#include "shm_cleanup.h"
#include "sim.h"
#include "sim_cluster.h"

enum { EXIT_USAGE = 2, EXIT_STALLED = 3 };

typedef struct options {
    sim_config cfg;
    const char *scenario;
    const char *scenario_file;
    const char *log_path;
    sim_eventlog_format log_format;
    bool report_json;
    bool verbose;
    bool tui, no_tui, sdl, exit_at_end;
    const char *screenshot;
    bool realtime;
    double speed;
    bool seed_given;
    const char *shm_name;
    sim_cluster_opts cluster;
} options;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: runcue-sim [options]\n"
            "\n"
            "Run a scheduling scenario on a virtual clock against fake services.\n"
            "\n"
            "Workload:\n"
            "  -n, --count N          work items (scenario size)              [100]\n"
            "  -l, --latency MS       base latency in milliseconds            [100]\n"
            "  -j, --jitter F         latency spread, +/- fraction 0..1       [0.2]\n"
            "      --outliers F       chance of a slow outlier 0..1           [0]\n"
            "      --outlier-mult X   outliers take this many times longer    [5]\n"
            "  -e, --error-rate F     chance a work fails 0..1                [0]\n"
            "  -c, --concurrent N     concurrency of the main service         [5]\n"
            "  -r, --rate-limit N/S   at most N starts per S seconds (also N/min, N/hour)\n"
            "  -s, --submit-rate R    submit initial work at R per second (default: all at once)\n"
            "  -d, --duration S       stop at S virtual seconds\n"
            "      --timeout S        stall timeout: fail pending work after S seconds\n"
            "                         without progress (default: report the exact stall)\n"
            "      --seed N           random seed (default: chosen and printed)\n"
            "      --progress-steps N running work reports progress at 1/N, 2/N ... of\n"
            "                         its latency (0..100)                    [0]\n"
            "\n"
            "Scenario:\n"
            "      --scenario NAME    single_queue, pipeline, fanout, dynamic [single_queue]\n"
            "      --scenario-file F  load a scenario from a JSON file (see README)\n"
            "      --list-scenarios   list the built-in scenarios and exit\n"
            "\n"
            "Output:\n"
            "  -v, --verbose          print every event (text log) on stdout\n"
            "      --log FILE         write the event log to FILE\n"
            "      --format FMT       log format: text or jsonl           [text]\n"
            "      --report json      print the final summary as one JSON object on stdout\n"
            "      --tui              live terminal view (the default when stdout is a\n"
            "                         terminal): q quit, p pause, space step, arrows scroll\n"
            "      --no-tui           plain output even on a terminal\n"
            "      --sdl              live SDL2 view: swimlanes per service\n"
            "      --screenshot FILE  with --sdl: write the final frame to FILE (PNG); runs\n"
            "                         headless with SDL_VIDEODRIVER=offscreen\n"
            "      --exit-at-end      with --tui/--sdl: leave when the run is over\n"
            "      --shm NAME         publish live state as shared memory NAME, for\n"
            "                         runcue-top NAME, runcue-viz NAME and the harness\n"
            "      --realtime         pace virtual time to the wall clock\n"
            "      --speed X          with --realtime, --tui or --sdl: X virtual seconds\n"
            "                         per wall second [1; 10 in the live views]\n"
            "\n"
            "Cluster (the Redis functions library on an emulated engine):\n"
            "      --scenario cluster K schedulers and M agents on simulated links\n"
            "      --cluster K:M      schedulers:agents (implies --scenario cluster) [2:4]\n"
            "      --faults SPEC      e.g. crash:agent2@5s,pause:agent1@8s+4s,\n"
            "                         partition:sched1@10s+3s,engine-restart@12s:loss=1s\n"
            "      --slots N          work an agent runs at once (1..64)      [4]\n"
            "      --lease S          lease length in seconds                 [2]\n"
            "      --link-latency MS  one-way link latency (+/- 50%%)          [1]\n"
            "      --record-engine F  record every engine call (differential test input)\n"
            "\n"
            "  -h, --help             show this help\n"
            "  -V, --version          show the version\n"
            "\n"
            "Exit status: 0 all work finished (or --duration reached), 2 bad usage,\n"
            "3 stalled (work pending that nothing could unblock), 1 other errors.\n");
}

static _Noreturn void bad(const char *opt, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static _Noreturn void bad(const char *opt, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "runcue-sim: %s: ", opt);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see --help)\n");
    exit(EXIT_USAGE);
}

static double parse_number(const char *opt, const char *arg, double lo, double hi)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (end == arg || *end || errno || !isfinite(v)) bad(opt, "'%s' is not a number", arg);
    if (v < lo || v > hi) bad(opt, "%s is out of range (%g to %g)", arg, lo, hi);
    return v;
}

static uint64_t parse_count(const char *opt, const char *arg, uint64_t lo, uint64_t hi)
{
    const char *p = arg;
    if (*p == '-') bad(opt, "'%s' must not be negative", arg);
    if (*p < '0' || *p > '9') bad(opt, "'%s' is not a whole number", arg);
    char *end;
    errno = 0;
    unsigned long long v = strtoull(p, &end, 10);
    if (*end || errno) bad(opt, "'%s' is not a whole number", arg);
    if (v < lo || v > hi) bad(opt, "%s is out of range (%" PRIu64 " to %" PRIu64 ")", arg, lo, hi);
    return v;
}

enum {
    OPT_OUTLIERS = 256,
    OPT_OUTLIER_MULT,
    OPT_SCENARIO,
    OPT_SCENARIO_FILE,
    OPT_LIST,
    OPT_TUI,
    OPT_NO_TUI,
    OPT_SEED,
    OPT_TIMEOUT,
    OPT_LOG,
    OPT_FORMAT,
    OPT_REPORT,
    OPT_REALTIME,
    OPT_SPEED,
    OPT_SHM,
    OPT_SDL,
    OPT_SCREENSHOT,
    OPT_EXIT_AT_END,
    OPT_PROGRESS_STEPS,
    OPT_CLUSTER,
    OPT_FAULTS,
    OPT_SLOTS,
    OPT_LEASE,
    OPT_LINK_LATENCY,
    OPT_RECORD_ENGINE,
};

static void list_scenarios(void)
{
    size_t n;
    const scenario *list = scenario_list(&n);
    for (size_t i = 0; i < n; i++) printf("%-14s %s\n", list[i].name, list[i].description);
    if (sim_cluster_available)
        printf("%-14s %s\n", "cluster", "schedulers and agents around the Redis functions");
}

/* The cluster options go with --scenario cluster (or --cluster) only. */
static void parse_cluster(options *o)
{
    sim_cluster_opts *co = &o->cluster;
    co->enabled = co->shape || (!o->scenario_file && strcmp(o->scenario, "cluster") == 0);
    if (!co->enabled) {
        const char *stray = co->faults ? "--faults" : co->slots ? "--slots"
                          : co->lease_s > 0 ? "--lease" : co->link_ms >= 0 ? "--link-latency"
                          : co->record ? "--record-engine" : NULL;
        if (stray) bad(stray, "needs --cluster K:M or --scenario cluster");
        return;
    }
    if (!sim_cluster_available)
        bad("--cluster", "this build has no cluster simulation (configured without Lua 5.1)");
    if (o->scenario_file) bad("--cluster", "cannot be combined with --scenario-file");
    if (strcmp(o->scenario, "cluster") != 0 && strcmp(o->scenario, "single_queue") != 0)
        bad("--cluster", "runs the cluster scenario, not '%s'", o->scenario);
    if (o->tui || o->sdl || o->shm_name || o->realtime)
        bad("--cluster", "has no live view yet (use --log and --report)");
    const char *opt;
    char err[512];
    if (sim_cluster_check(co, &opt, err, sizeof err)) bad(opt, "%s", err);
    o->scenario = "cluster";
}

static void parse(int argc, char **argv, options *o)
{
    static const struct option longs[] = {
        {"count", required_argument, 0, 'n'},
        {"latency", required_argument, 0, 'l'},
        {"jitter", required_argument, 0, 'j'},
        {"outliers", required_argument, 0, OPT_OUTLIERS},
        {"outlier-mult", required_argument, 0, OPT_OUTLIER_MULT},
        {"error-rate", required_argument, 0, 'e'},
        {"duration", required_argument, 0, 'd'},
        {"concurrent", required_argument, 0, 'c'},
        {"rate-limit", required_argument, 0, 'r'},
        {"submit-rate", required_argument, 0, 's'},
        {"scenario", required_argument, 0, OPT_SCENARIO},
        {"scenario-file", required_argument, 0, OPT_SCENARIO_FILE},
        {"list-scenarios", no_argument, 0, OPT_LIST},
        {"tui", no_argument, 0, OPT_TUI},
        {"no-tui", no_argument, 0, OPT_NO_TUI},
        {"verbose", no_argument, 0, 'v'},
        {"seed", required_argument, 0, OPT_SEED},
        {"timeout", required_argument, 0, OPT_TIMEOUT},
        {"log", required_argument, 0, OPT_LOG},
        {"format", required_argument, 0, OPT_FORMAT},
        {"report", required_argument, 0, OPT_REPORT},
        {"realtime", no_argument, 0, OPT_REALTIME},
        {"speed", required_argument, 0, OPT_SPEED},
        {"shm", required_argument, 0, OPT_SHM},
        {"sdl", no_argument, 0, OPT_SDL},
        {"screenshot", required_argument, 0, OPT_SCREENSHOT},
        {"exit-at-end", no_argument, 0, OPT_EXIT_AT_END},
        {"progress-steps", required_argument, 0, OPT_PROGRESS_STEPS},
        {"cluster", required_argument, 0, OPT_CLUSTER},
        {"faults", required_argument, 0, OPT_FAULTS},
        {"slots", required_argument, 0, OPT_SLOTS},
        {"lease", required_argument, 0, OPT_LEASE},
        {"link-latency", required_argument, 0, OPT_LINK_LATENCY},
        {"record-engine", required_argument, 0, OPT_RECORD_ENGINE},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0},
    };
    sim_config_defaults(&o->cfg);
    o->scenario = "single_queue";
    o->speed = 0;
    o->cluster.link_ms = -1;
    opterr = 0;
    int c, idx;
    while ((c = getopt_long(argc, argv, ":n:l:j:e:d:c:r:s:vhV", longs, &idx)) != -1) {
        switch (c) {
        case 'n': o->cfg.count = parse_count("--count", optarg, 0, 100000000); break;
        case 'l': o->cfg.latency_ms = parse_number("--latency", optarg, 0, 1e9); break;
        case 'j': o->cfg.jitter = parse_number("--jitter", optarg, 0, 1); break;
        case OPT_OUTLIERS: o->cfg.outlier_chance = parse_number("--outliers", optarg, 0, 1); break;
        case OPT_OUTLIER_MULT:
            o->cfg.outlier_mult = parse_number("--outlier-mult", optarg, 0, 1e6);
            break;
        case 'e': o->cfg.error_rate = parse_number("--error-rate", optarg, 0, 1); break;
        case 'd':
            o->cfg.duration_s = parse_number("--duration", optarg, 0, 1e9);
            if (o->cfg.duration_s <= 0) bad("--duration", "must be more than 0 seconds");
            break;
        case 'c':
            o->cfg.concurrent = (int)parse_count("--concurrent", optarg, 1, 1000000);
            break;
        case 'r': {
            char err[200];
            if (rc_parse_rate(optarg, &o->cfg.rate_count, &o->cfg.rate_window_s, err, sizeof err))
                bad("--rate-limit", "%s", err);
            break;
        }
        case 's':
            o->cfg.submit_rate = parse_number("--submit-rate", optarg, 0, 1e9);
            if (o->cfg.submit_rate <= 0) bad("--submit-rate", "must be more than 0 per second");
            break;
        case OPT_SCENARIO: o->scenario = optarg; break;
        case OPT_SCENARIO_FILE: o->scenario_file = optarg; break;
        case OPT_LIST: list_scenarios(); exit(0);
        case OPT_TUI: o->tui = true; break;
        case OPT_NO_TUI: o->no_tui = true; break;
        case 'v': o->verbose = true; break;
        case OPT_SEED:
            o->cfg.seed = parse_count("--seed", optarg, 0, UINT64_MAX);
            o->seed_given = true;
            break;
        case OPT_TIMEOUT:
            o->cfg.stall_timeout_s = parse_number("--timeout", optarg, 0, 1e9);
            if (o->cfg.stall_timeout_s <= 0) bad("--timeout", "must be more than 0 seconds");
            break;
        case OPT_PROGRESS_STEPS:
            o->cfg.progress_steps = (unsigned)parse_count("--progress-steps", optarg, 0, 100);
            break;
        case OPT_LOG: o->log_path = optarg; break;
        case OPT_FORMAT:
            if (strcmp(optarg, "text") == 0)
                o->log_format = SIM_EVENTLOG_TEXT;
            else if (strcmp(optarg, "jsonl") == 0)
                o->log_format = SIM_EVENTLOG_JSONL;
            else
                bad("--format", "'%s' is not a log format (text or jsonl)", optarg);
            break;
        case OPT_REPORT:
            if (strcmp(optarg, "json") != 0)
                bad("--report", "'%s' is not a report format (json)", optarg);
            o->report_json = true;
            break;
        case OPT_REALTIME: o->realtime = true; break;
        case OPT_SPEED:
            o->speed = parse_number("--speed", optarg, 0, 1e9);
            if (o->speed <= 0) bad("--speed", "must be more than 0");
            break;
        case OPT_SHM: o->shm_name = optarg; break;
        case OPT_SDL: o->sdl = true; break;
        case OPT_SCREENSHOT: o->screenshot = optarg; break;
        case OPT_EXIT_AT_END: o->exit_at_end = true; break;
        /* cluster mode (sim_cluster.c) */
        case OPT_CLUSTER: o->cluster.shape = optarg; break;
        case OPT_FAULTS: o->cluster.faults = optarg; break;
        case OPT_SLOTS: o->cluster.slots = (unsigned)parse_count("--slots", optarg, 1, 64); break;
        case OPT_LEASE:
            o->cluster.lease_s = parse_number("--lease", optarg, 0.01, 86400);
            break;
        case OPT_LINK_LATENCY:
            o->cluster.link_ms = parse_number("--link-latency", optarg, 0, 60000);
            break;
        case OPT_RECORD_ENGINE: o->cluster.record = optarg; break;
        case 'h': usage(stdout); exit(0);
        case 'V': printf("runcue-sim %s\n", RC_VERSION_STRING); exit(0);
        case ':': bad(argv[optind - 1], "needs a value");
        default: {
            const char *arg = argv[optind - 1];
            if (strncmp(arg, "--", 2) == 0) {
                const char *eq = strchr(arg, '=');
                if (eq) {
                    /* A known flag given a value, e.g. --tui=1. */
                    char name[64];
                    snprintf(name, sizeof name, "%.*s", (int)(eq - arg), arg);
                    for (const struct option *l = longs; l->name; l++)
                        if (strcmp(l->name, name + 2) == 0 && l->has_arg == no_argument)
                            bad(name, "does not take a value");
                }
                bad("option", "unknown option '%s'", arg);
            }
            if (optopt > 0 && optopt < 128)
                bad("option", "unknown option '-%c'", optopt);
            bad("option", "unknown option '%s'", arg);
        }
        }
    }
    if (optind < argc) bad("argument", "unexpected '%s'", argv[optind]);
    if (o->tui && o->no_tui) bad("--tui", "cannot be combined with --no-tui");
    if (o->tui && o->sdl) bad("--tui", "cannot be combined with --sdl");
    if (o->screenshot && !o->sdl) bad("--screenshot", "needs --sdl");
    if (o->tui && !live_have_tui)
        bad("--tui", "this build has no terminal view (configured without ncursesw)");
    if (o->sdl && !live_have_sdl)
        bad("--sdl", "this build has no SDL view (configured without SDL2, SDL2_gfx or libpng)");
    /* The dashboard is the default on a terminal, unless output is asked
     * for in another form. */
    if (!o->tui && !o->no_tui && !o->sdl && live_have_tui && isatty(1) && isatty(0) &&
        !o->verbose && !o->report_json && !o->realtime)
        o->tui = true;
    if ((o->tui || o->sdl) && (o->verbose || o->report_json || o->realtime)) {
        const char *view = o->tui ? "--tui" : "--sdl";
        bad(view, "cannot be combined with %s", o->verbose       ? "-v"
                                                : o->report_json ? "--report"
                                                                 : "--realtime");
    }
    if (o->exit_at_end && !o->tui && !o->sdl) bad("--exit-at-end", "needs --tui or --sdl");
    if (o->speed == 0) o->speed = o->tui || o->sdl ? 10 : 1;
    parse_cluster(o);
    if (!o->cluster.enabled && !o->scenario_file && !scenario_find(o->scenario))
        bad("--scenario", "unknown scenario '%s' (try --list-scenarios)", o->scenario);
    if (o->log_format == SIM_EVENTLOG_JSONL && !o->log_path && !o->verbose)
        bad("--format", "needs --log FILE (or -v)");
}

static uint64_t choose_seed(void)
{
    uint64_t seed = 0;
    /* The one non-deterministic input: drawn once, printed, replayable. */
    if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed) seed = (uint64_t)getpid();
    return seed % 1000000000u;
}

static void mirror_record(sim *s, const sim_event_record *rec, void *ud)
{
    (void)s;
    sim_eventlog_write(ud, rec);
}

/* The views step the run through libsim's pacer. */
static int op_drive(void *p) { return sim_pacer_drive(p); }
static int op_step(void *p) { return sim_pacer_step(p); }
static void op_pause(void *p, bool paused) { sim_pacer_pause(p, paused); }
static bool op_paused(void *p) { return ((sim_pacer *)p)->paused; }
static void op_set_speed(void *p, double speed) { sim_pacer_set_speed(p, speed); }
static double op_speed(void *p) { return ((sim_pacer *)p)->speed; }
static bool op_over(void *p) { return ((sim_pacer *)p)->over; }
static const live_driver_ops pacer_ops = {op_drive, op_step, op_pause, op_paused,
                                          op_set_speed, op_speed, op_over};

/* Step the virtual clock no faster than the wall clock allows, without a
 * view.  Returns the outcome or an RC_E* code. */
static int run_realtime(sim *s, double speed, bool progress)
{
    sim_pacer p;
    sim_pacer_init(&p, s, speed);
    double last_print = live_wall();
    for (;;) {
        int rc = sim_pacer_drive(&p);
        if (rc < 0) return rc;
        if (p.over) return p.outcome;
        double nap = sim_pacer_wait_s(&p);
        if (nap > 0.1) nap = 0.1;
        struct timespec ts = {(time_t)nap, (long)((nap - (double)(time_t)nap) * 1e9)};
        nanosleep(&ts, NULL);
        if (progress && live_wall() - last_print >= 1.0) {
            last_print = live_wall();
            rc_stats st;
            rc_cue_stats(sim_cue(s), &st);
            fprintf(stderr, "t=%.1fs  completed %llu  failed %llu  running %zu  pending %zu\n",
                    rc_to_seconds(rc_loop_now(sim_loop(s))), (unsigned long long)st.completed,
                    (unsigned long long)st.failed, st.running, st.pending);
        }
    }
}

/* Cluster mode: the same log options, then sim_cluster.c. */
static int run_cluster(const options *o, bool utf8)
{
    FILE *log_file = NULL;
    sim_eventlog *log = NULL;
    if (o->log_path && !(log_file = fopen(o->log_path, "w"))) {
        fprintf(stderr, "runcue-sim: --log: cannot open '%s': %s\n", o->log_path, strerror(errno));
        return EXIT_USAGE;
    }
    if (log_file || (o->verbose && !o->report_json))
        sim_eventlog_open(&log, log_file ? log_file : stdout,
                          &(sim_eventlog_opts){.format = o->log_format, .utf8 = utf8});
    int status = sim_cluster_main(&o->cluster, &o->cfg, log, o->report_json);
    if (log) sim_eventlog_close(log);
    if (log_file && fclose(log_file) != 0) status = 1;
    return status;
}

int main(int argc, char **argv)
{
    setlocale(LC_CTYPE, ""); /* symbols only; numbers stay in the C locale */
    bool utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
    options o = {0};
    parse(argc, argv, &o);
    if (!o.seed_given) {
        o.cfg.seed = choose_seed();
        if (!o.report_json) fprintf(stderr, "runcue-sim: seed %llu (replay with --seed %llu)\n",
                                    (unsigned long long)o.cfg.seed,
                                    (unsigned long long)o.cfg.seed);
    }

    if (o.cluster.enabled) return run_cluster(&o, utf8);

    sim *s;
    int rc = sim_new(&s, &o.cfg);
    if (rc) {
        fprintf(stderr, "runcue-sim: cannot start: %s\n", rc_strerror(rc));
        return 1;
    }
    const char *name = o.scenario;
    if (o.scenario_file) {
        char err[512];
        if (scenario_file_load(s, o.scenario_file, err, sizeof err)) {
            fprintf(stderr, "runcue-sim: --scenario-file: %s\n", err);
            sim_free(s);
            return EXIT_USAGE;
        }
        name = o.scenario_file;
    } else if ((rc = scenario_find(o.scenario)->build(s))) {
        fprintf(stderr, "runcue-sim: scenario %s: %s\n", o.scenario,
                *sim_errmsg(s) ? sim_errmsg(s) : rc_strerror(rc));
        sim_free(s);
        return 1;
    }

    FILE *log_file = NULL;
    sim_eventlog *log = NULL, *vlog = NULL;
    if (o.log_path) {
        log_file = fopen(o.log_path, "w");
        if (!log_file) {
            fprintf(stderr, "runcue-sim: --log: cannot open '%s': %s\n", o.log_path,
                    strerror(errno));
            sim_free(s);
            return EXIT_USAGE;
        }
        sim_eventlog_open(&log, log_file,
                          &(sim_eventlog_opts){.format = o.log_format, .utf8 = utf8});
    }
    if (o.verbose && !o.report_json) {
        if (!o.log_path)
            sim_eventlog_open(&vlog, stdout,
                              &(sim_eventlog_opts){.format = o.log_format, .utf8 = utf8});
        else
            sim_eventlog_open(&vlog, stdout, &(sim_eventlog_opts){.utf8 = utf8});
    }
    /* The file log goes through the engine; -v mirrors every record to
     * stdout through the observer. */
    sim_set_log(s, log ? log : vlog);
    if (log && vlog) sim_set_observer(s, mirror_record, vlog);

    char auto_name[RC_SHM_NAME_MAX + 1];
    if ((o.tui || o.sdl) && !o.shm_name) {
        /* The views read the run through a segment of its own. */
        snprintf(auto_name, sizeof auto_name, "sim-%d", (int)getpid());
        o.shm_name = auto_name;
    }
    if (o.shm_name) {
        char title[128];
        snprintf(title, sizeof title, "runcue-sim --scenario %s -n %llu --seed %llu", name,
                 (unsigned long long)o.cfg.count, (unsigned long long)o.cfg.seed);
        if ((rc = sim_publish(s, o.shm_name, title))) {
            fprintf(stderr, "runcue-sim: --shm: %s\n", sim_errmsg(s));
            if (vlog) sim_eventlog_close(vlog);
            if (log) sim_eventlog_close(log);
            if (log_file) fclose(log_file);
            sim_free(s);
            return rc == RC_EINVAL || rc == RC_EEXIST ? EXIT_USAGE : 1;
        }
        shm_cleanup_on_signals(sim_shm(s));
    }

    int outcome;
    if (o.tui || o.sdl) {
        sim_pacer pacer;
        rc = sim_start(s);
        if (rc) {
            fprintf(stderr, "runcue-sim: cannot start: %s\n", rc_strerror(rc));
            sim_free(s);
            return 1;
        }
        sim_pacer_init(&pacer, s, o.speed);
        live_driver drv = {&pacer_ops, &pacer};
        live_opts lo = {.shm_name = o.shm_name, .driver = &drv, .exit_at_end = o.exit_at_end,
                        .screenshot = o.screenshot, .attach_timeout = 1};
        rc = o.tui ? live_tui_run(&lo) : live_sdl_run(&lo);
        if (rc) {
            sim_free(s); /* removes the segment */
            return rc == 130 ? 130 : 1; /* 130: SIGINT/SIGTERM in the view */
        }
        /* Quit early: the summary covers the run so far. */
        outcome = pacer.over ? pacer.outcome : sim_finish(s);
    } else if (o.realtime) {
        rc = sim_start(s);
        outcome = rc ? rc : run_realtime(s, o.speed, !o.verbose && !o.report_json);
    } else {
        outcome = sim_run(s);
    }
    if (outcome < 0) {
        fprintf(stderr, "runcue-sim: run failed: %s\n",
                *sim_errmsg(s) ? sim_errmsg(s) : rc_strerror(outcome));
        sim_free(s);
        return 1;
    }
    if (o.report_json) {
        sim_print_report_json(s, stdout, name);
        if (outcome == SIM_STALLED) sim_print_stall(s, stderr, utf8);
    } else {
        if (o.verbose) printf("--------------------------------------------------------------------------------\n");
        sim_print_summary(s, stdout, utf8);
    }
    if (vlog) sim_eventlog_close(vlog);
    if (log) sim_eventlog_close(log);
    if (log_file && fclose(log_file) != 0) {
        fprintf(stderr, "runcue-sim: --log: writing '%s' failed: %s\n", o.log_path,
                strerror(errno));
        sim_free(s);
        return 1;
    }
    sim_free(s);
    return outcome == SIM_STALLED ? EXIT_STALLED : 0;
}

/* runcue-sim -- run a scheduling scenario on the virtual clock.
 *
 * The same core that runs in production, against fake services that inject
 * latency, errors and artifact invalidation.  Same options and seed: the same
 * event log and report, byte for byte. */
#include <errno.h>
#include <fcntl.h>
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "eventlog.h"
#include "expect.h"
#include "golden.h"
#include "live.h"
#include "live_load.h"
#include "pace.h"
#include "runcue_shm.h"
#include "scenario_file.h"
#include "scenarios.h"
#include "shm_cleanup.h"
#include "sim.h"
#include "sim_check.h"
#include "cluster.h"
#include "sim_cluster.h"
#include "sim_live.h"
#include "sim_command.h"
#include "sim_progress.h"
#include "suggest.h"

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
    /* Regression checks (sim_check.h). */
    expect_set *expect; /* --expect, in order */
    const char *golden;
    bool update_golden;
    const char *junit;
    bool check;
    char **check_paths;
    size_t n_check_paths;
    /* Given on the command line (for the conflicts check_conflicts names). */
    bool scenario_given, count_given, format_given;
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
            "      --screenshot FILE  with --sdl: write the final frame to FILE (PNG) and\n"
            "                         leave at the end; needs no display\n"
            "      --exit-at-end      with --tui/--sdl: leave when the run is over\n"
            "      --shm NAME         publish live state as shared memory NAME, for\n"
            "                         runcue-top NAME, runcue-viz NAME and the harness\n"
            "      --realtime         pace virtual time to the wall clock\n"
            "      --speed X          with --realtime, --tui or --sdl: X virtual seconds\n"
            "                         per wall second [1; 10 in the live views]\n"
            "\n"
            "Regression checks:\n"
            "      --expect TEXT      an expectation checked at the end, e.g. 'no stall',\n"
            "                         'completed == 40', 'service api queue_wait.p95 <= 2s',\n"
            "                         'label publish completes before t=5' (repeatable;\n"
            "                         adds to a scenario file's \"expect\" section)\n"
            "      --golden FILE      compare the JSON Lines event log with FILE\n"
            "      --update-golden    with --golden: write FILE from this run instead\n"
            "      --junit FILE       write the expectations' results as JUnit XML\n"
            "      --check PATH...    run every scenario file (a directory: its *.json)\n"
            "                         with its expectations and seeds, in parallel\n"
            "\n");
    /* In two parts: one string literal of it all is longer than C11 asks
     * compilers to take. */
    fprintf(out,
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
            "Exit status: 0 all work finished (or --duration reached) and every\n"
            "expectation held, 2 bad usage or input, 3 stalled (work pending that nothing\n"
            "could unblock) without an expectation asking for it, 4 an expectation broken,\n"
            "5 the event log differs from --golden, 1 other errors.\n");
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
    if (*end) bad(opt, "'%s' is not a whole number", arg);
    if (errno == ERANGE) bad(opt, "%s is out of range (%" PRIu64 " to %" PRIu64 ")", arg, lo, hi);
    if (errno) bad(opt, "'%s' is not a whole number", arg);
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
    OPT_EXPECT,
    OPT_GOLDEN,
    OPT_UPDATE_GOLDEN,
    OPT_JUNIT,
    OPT_CHECK,
    OPT_CLUSTER,
    OPT_FAULTS,
    OPT_SLOTS,
    OPT_LEASE,
    OPT_LINK_LATENCY,
    OPT_RECORD_ENGINE,
};

/* --check runs scenario files with their own expectations, quietly; an
 * option it would ignore is an error, as in a single run. */
static void check_options(const options *o)
{
    const sim_cluster_opts *co = &o->cluster;
    const char *clash = o->scenario_file    ? "--scenario-file"
                        : o->scenario_given ? "--scenario (the files are the scenarios)"
                        : o->count_given    ? "--count (the files list their own work)"
                        : o->expect         ? "--expect (put expectations in the files)"
                        : o->golden         ? "--golden"
                        : o->update_golden  ? "--update-golden"
                        : o->log_path       ? "--log"
                        : o->format_given   ? "--format"
                        : o->verbose        ? "-v"
                        : o->report_json    ? "--report"
                        : o->tui            ? "--tui"
                        : o->sdl            ? "--sdl"
                        : o->screenshot     ? "--screenshot"
                        : o->exit_at_end    ? "--exit-at-end"
                        : o->realtime       ? "--realtime"
                        : o->speed > 0      ? "--speed"
                        : o->shm_name       ? "--shm"
                        : co->shape         ? "--cluster"
                        : co->faults        ? "--faults"
                        : co->slots         ? "--slots"
                        : co->lease_s > 0   ? "--lease"
                        : co->link_ms >= 0  ? "--link-latency"
                        : co->record        ? "--record-engine"
                                            : NULL;
    if (clash) bad("--check", "cannot be combined with %s", clash);
}

static void list_scenarios(void)
{
    size_t n;
    const scenario *list = scenario_list(&n);
    for (size_t i = 0; i < n; i++) printf("%-14s %s\n", list[i].name, list[i].description);
    if (sim_cluster_available)
        printf("%-14s %s\n", "cluster", "schedulers and agents around the Redis functions");
}

/* Cluster mode's checks, and the live options it takes. */
static void cluster_mode(options *o)
{
    sim_cluster_opts *co = &o->cluster;
    co->enabled = true;
    co->shm_name = o->shm_name;
    co->view = o->tui ? SIM_CLUSTER_TUI : o->sdl ? SIM_CLUSTER_SDL : SIM_CLUSTER_NO_VIEW;
    co->realtime = o->realtime;
    co->speed = o->speed;
    co->exit_at_end = o->exit_at_end;
    co->screenshot = o->screenshot;
    if (o->expect || o->junit || o->check)
        bad("--cluster", "takes no --expect, --junit or --check yet");
    if (o->golden && o->log_path && o->log_format != SIM_EVENTLOG_JSONL)
        bad("--golden", "compares JSON Lines: with --log, give --format jsonl");
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
    cluster_mode(o);
    const char *opt;
    char err[512];
    if (sim_cluster_check(co, &opt, err, sizeof err)) bad(opt, "%s", err);
    o->scenario = "cluster";
}

/* A scenario file with a "cluster" section runs on the cluster: its
 * configuration into *cc.  Exits 2 on a bad file. */
static void cluster_file(options *o, cluster_config *cc)
{
    bool is_cluster;
    char err[512];
    int rc = scenario_file_load_cluster(o->scenario_file, &o->cfg, cc, &is_cluster, err,
                                        sizeof err);
    if (rc) {
        fprintf(stderr, "runcue-sim: --scenario-file: %s\n", err);
        exit(rc == RC_ENOMEM ? 1 : EXIT_USAGE);
    }
    if (!is_cluster) return;
    cluster_mode(o);
    o->cluster.preset = cc;
    o->cluster.file = o->scenario_file;
}

static _Noreturn void unknown_scenario(const char *name)
{
    size_t n;
    const scenario *list = scenario_list(&n);
    const char *names[16];
    if (n > 16) n = 16;
    for (size_t i = 0; i < n; i++) names[i] = list[i].name;
    char hint[96];
    bad("--scenario", "unknown scenario '%s'%s; --list-scenarios lists them", name,
        sim_did_you_mean(name, names, n, hint, sizeof hint));
}

/* Options that would be ignored, or that contradict each other, are errors:
 * a user who gives them expects them to do something.  Checked before the
 * views' defaults are applied, so the answer does not depend on whether
 * stdout is a terminal. */
static void check_conflicts(const options *o)
{
    if (o->scenario_file && o->scenario_given)
        bad("--scenario-file", "cannot be combined with --scenario (one scenario a run)");
    if (o->scenario_file && o->count_given)
        bad("--scenario-file", "cannot be combined with --count (the file lists its own work)");
    if (o->speed > 0 && !o->realtime && !o->tui && !o->sdl)
        bad("--speed", "needs --realtime, --tui or --sdl (without them a run is not paced)");
    if (o->verbose && o->report_json)
        bad("--report", "cannot be combined with -v (the JSON report is all stdout holds)");
    if (o->format_given && !o->log_path && !o->verbose) bad("--format", "needs --log FILE (or -v)");
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
        {"expect", required_argument, 0, OPT_EXPECT},
        {"golden", required_argument, 0, OPT_GOLDEN},
        {"update-golden", no_argument, 0, OPT_UPDATE_GOLDEN},
        {"junit", required_argument, 0, OPT_JUNIT},
        {"check", no_argument, 0, OPT_CHECK},
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
        case 'n':
            o->cfg.count = parse_count("--count", optarg, 0, 100000000);
            o->count_given = true;
            break;
        case 'l': o->cfg.latency_ms = parse_number("--latency", optarg, 0, 1e9); break;
        case 'j': o->cfg.jitter = parse_number("--jitter", optarg, 0, 1); break;
        case OPT_OUTLIERS: o->cfg.outlier_chance = parse_number("--outliers", optarg, 0, 1); break;
        case OPT_OUTLIER_MULT:
            o->cfg.outlier_mult = parse_number("--outlier-mult", optarg, 1, 1e6);
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
        case OPT_SCENARIO:
            o->scenario = optarg;
            o->scenario_given = true;
            break;
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
            o->format_given = true;
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
        case OPT_EXPECT: {
            char err[512];
            if (!o->expect && !(o->expect = expect_set_new())) bad("--expect", "out of memory");
            if (expect_add(o->expect, optarg, "--expect", err, sizeof err)) {
                fprintf(stderr, "runcue-sim: %s\n", err);
                exit(EXIT_USAGE);
            }
            break;
        }
        case OPT_GOLDEN: o->golden = optarg; break;
        case OPT_UPDATE_GOLDEN: o->update_golden = true; break;
        case OPT_JUNIT: o->junit = optarg; break;
        case OPT_CHECK: o->check = true; break;
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
    if (o->check) {
        check_options(o);
        if (optind == argc) bad("--check", "needs scenario files or directories");
        o->check_paths = argv + optind;
        o->n_check_paths = (size_t)(argc - optind);
        return;
    }
    if (optind < argc) bad("argument", "unexpected '%s'", argv[optind]);
    if (sim_profile_max_latency_ms(o->cfg.latency_ms, o->cfg.jitter, o->cfg.outlier_mult) >
        SIM_LATENCY_MAX_MS)
        bad("--latency",
            "%g ms with --outlier-mult %g can draw latencies beyond %g ms (latency x mult x 1.5), "
            "more than the simulator represents",
            o->cfg.latency_ms, o->cfg.outlier_mult, SIM_LATENCY_MAX_MS);
    if (o->update_golden && !o->golden) bad("--update-golden", "needs --golden FILE");
    struct stat st; /* checked again when it is replaced, after the run */
    if (o->update_golden && stat(o->golden, &st) == 0 && !S_ISREG(st.st_mode))
        bad("--golden", "'%s' is not a regular file; --update-golden replaces only a file",
            o->golden);
    check_conflicts(o);
    if (o->tui && o->no_tui) bad("--tui", "cannot be combined with --no-tui");
    if (o->tui && o->sdl) bad("--tui", "cannot be combined with --sdl");
    if (o->screenshot && !o->sdl) bad("--screenshot", "needs --sdl");
    if (o->tui && !live_view_built(LIVE_VIEW_TUI))
        bad("--tui", "this build has no terminal view (configured without ncursesw)");
    if (o->sdl && !live_view_built(LIVE_VIEW_SDL))
        bad("--sdl", "this build has no SDL view (configured without SDL2, SDL2_gfx or libpng)");
    /* The dashboard is the default on a terminal, unless output is asked
     * for in another form. */
    if (!o->tui && !o->no_tui && !o->sdl && live_view_built(LIVE_VIEW_TUI) && isatty(1) && isatty(0) &&
        !o->verbose && !o->report_json && !o->realtime && !o->expect && !o->golden && !o->junit)
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
        unknown_scenario(o->scenario);
}

static uint64_t choose_seed(void)
{
    uint64_t seed = 0;
    /* The one non-deterministic input: drawn once, printed, replayable. */
    if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed) seed = (uint64_t)getpid();
    return seed % 1000000000u;
}

/* --realtime's progress line. */
static void tick_progress(void *progress)
{
    if (progress) sim_progress_tick(progress);
}

/* Build the scenario on a new sim: a built-in one, or a file whose
 * expectations and seeds go to fx.  0 or an exit status (message printed). */
static int build_scenario(const options *o, sim **out, expect_set *fx, const char **name)
{
    sim *s;
    int rc = sim_new(&s, &o->cfg);
    *out = NULL;
    if (rc) {
        fprintf(stderr, "runcue-sim: cannot start: %s\n", rc_strerror(rc));
        return 1;
    }
    *name = o->scenario;
    if (o->scenario_file) {
        char err[512];
        if (scenario_file_load_expect(s, o->scenario_file, fx, err, sizeof err)) {
            fprintf(stderr, "runcue-sim: --scenario-file: %s\n", err);
            sim_free(s);
            return EXIT_USAGE;
        }
        *name = o->scenario_file;
    } else if ((rc = scenario_find(o->scenario)->build(s))) {
        fprintf(stderr, "runcue-sim: scenario %s: %s\n", o->scenario,
                *sim_errmsg(s) ? sim_errmsg(s) : rc_strerror(rc));
        sim_free(s);
        return 1;
    }
    *out = s;
    return 0;
}

/* Where the event records go: v[0] through the engine, the rest mirrored. */
typedef struct sinks {
    sim_eventlog *v[3];
    size_t n;
} sinks;

static void mirror_records(sim *s, const sim_event_record *rec, void *ud)
{
    const sinks *k = ud;
    /* The diagnosis record carries the diagnosis itself, as in the first log. */
    const char *diagnosis = strcmp(rec->event, "diagnosis") == 0 ? sim_stall_json(s) : NULL;
    for (size_t i = 1; i < k->n; i++) sim_eventlog_write_diagnosis(k->v[i], rec, diagnosis);
}

/* Copy the run's log to path through a temporary file renamed over it. */
static int update_golden(const char *path, FILE *run_log)
{
    /* The rename would put a file where a device or a pipe was (as root,
     * /dev/null itself): only a regular file, or none, is replaced. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        fprintf(stderr, "runcue-sim: --golden: '%s' is not a regular file; not replaced\n", path);
        return EXIT_USAGE;
    }
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%d", path, (int)getpid()) >= (int)sizeof tmp) {
        fprintf(stderr, "runcue-sim: --golden: path too long\n");
        return EXIT_USAGE;
    }
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "runcue-sim: --golden: cannot write '%s': %s\n", tmp, strerror(errno));
        return EXIT_USAGE;
    }
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, run_log)) > 0) fwrite(buf, 1, n, f);
    if (ferror(run_log) | (fclose(f) != 0) || rename(tmp, path) != 0) {
        fprintf(stderr, "runcue-sim: --golden: cannot write '%s': %s\n", path, strerror(errno));
        remove(tmp);
        return 1;
    }
    return 0;
}

/* --golden: compare the run's log with the recording (or rewrite it).  The
 * report of a difference goes to *report (malloc'd).  0 or an exit status. */
static int golden_finish(const options *o, FILE *run_log, char **report)
{
    *report = NULL;
    if (fflush(run_log) != 0 || fseek(run_log, 0, SEEK_SET) != 0) {
        fprintf(stderr, "runcue-sim: --golden: cannot read back the run's log\n");
        return 1;
    }
    if (o->update_golden) return update_golden(o->golden, run_log);
    FILE *g = fopen(o->golden, "r");
    if (!g) {
        fprintf(stderr, "runcue-sim: --golden: cannot read '%s': %s (record it with "
                        "--update-golden)\n", o->golden, strerror(errno));
        return EXIT_USAGE;
    }
    size_t len = 0;
    FILE *mem = open_memstream(report, &len);
    int rc = mem ? sim_golden_compare(g, run_log, o->golden, mem) : RC_ENOMEM;
    fclose(g);
    if (mem) fclose(mem);
    if (rc < 0) {
        if (*report && **report)
            fprintf(stderr, "runcue-sim: %s", *report); /* what went wrong, in words */
        else
            fprintf(stderr, "runcue-sim: --golden: comparing with '%s' failed: %s\n", o->golden,
                    rc_strerror(rc));
        free(*report);
        *report = NULL;
        return 1;
    }
    if (rc == 0) {
        free(*report);
        *report = NULL;
        return 0;
    }
    fputs(*report, stderr);
    return EXIT_GOLDEN;
}

/* --junit for one run: a case per expectation, and one for --golden. */
static int junit_single(const options *o, const char *name, const expect_set *set,
                        const char *golden_report, double duration_s)
{
    sim_junit_case *cases = NULL;
    size_t n = 0;
    char suite[256];
    snprintf(suite, sizeof suite, "%s (seed %llu)", name, (unsigned long long)o->cfg.seed);
    int rc = check_junit_cases(set, name, "", &cases, &n);
    if (!rc && o->golden && !o->update_golden) {
        sim_junit_case *grown = realloc(cases, (n + 1) * sizeof *grown);
        if (grown) {
            cases = grown;
            cases[n++] = (sim_junit_case){
                .name = strdup("golden event log"),
                .classname = name,
                .failure = golden_report ? strdup(golden_report) : NULL};
        } else {
            rc = RC_ENOMEM;
        }
    }
    sim_junit_suite su = {suite, cases, n, duration_s};
    if (!rc) rc = check_write_junit(o->junit, &su, 1);
    else fprintf(stderr, "runcue-sim: --junit: out of memory\n");
    check_cases_free(cases, n);
    return rc ? 1 : 0;
}

/* Close the --log file (NULL: none); 0, or 1 with a message if a write to
 * it failed.  A failed write leaves the error flag set even when fclose
 * finds nothing left to flush, so both are asked. */
static int close_log_file(const options *o, FILE *log_file)
{
    if (!log_file) return 0;
    bool failed = ferror(log_file) != 0;
    if ((fclose(log_file) != 0) | failed) {
        fprintf(stderr, "runcue-sim: --log: writing '%s' failed: %s\n", o->log_path,
                strerror(errno));
        return 1;
    }
    return 0;
}

/* Close the logs; 0 or an exit status. */
static int close_logs(const options *o, sinks *k, FILE *log_file)
{
    for (size_t i = 0; i < k->n; i++) sim_eventlog_close(k->v[i]);
    k->n = 0;
    return close_log_file(o, log_file);
}

/* Cluster mode: the same log options, then sim_cluster.c. */
static int run_cluster(const options *o, bool utf8)
{
    FILE *log_file = NULL;
    sim_eventlog *log = NULL;
    if (o->log_path && !(log_file = fopen(o->log_path, "w+"))) {
        fprintf(stderr, "runcue-sim: --log: cannot open '%s': %s\n", o->log_path, strerror(errno));
        return EXIT_USAGE;
    }
    /* --golden compares the JSON Lines log: the --log file, or one of its own. */
    if (o->golden && !log_file && !(log_file = tmpfile())) {
        fprintf(stderr, "runcue-sim: --golden: cannot make a temporary file: %s\n",
                strerror(errno));
        return 1;
    }
    sim_eventlog_format format = o->log_path ? o->log_format : SIM_EVENTLOG_JSONL;
    if (log_file || (o->verbose && !o->report_json))
        sim_eventlog_open(&log, log_file ? log_file : stdout,
                          &(sim_eventlog_opts){.format = format, .utf8 = utf8});
    char title[RC_SHM_TITLE_MAX + 1];
    sim_command_line_cluster(title, sizeof title, &o->cfg, "cluster", o->scenario_file,
                             &o->cluster);
    sim_cluster_opts co = o->cluster;
    co.title = title;
    int status = sim_cluster_main(&co, &o->cfg, log, o->report_json);
    if (log) sim_eventlog_close(log);
    if (o->golden && status >= 0) {
        char *report = NULL;
        int golden = golden_finish(o, log_file, &report);
        free(report);
        if (golden && (!status || golden != EXIT_GOLDEN)) status = golden;
    }
    if (o->log_path ? close_log_file(o, log_file) : log_file && fclose(log_file) != 0)
        status = 1;
    return status;
}

/* Started with descriptor 0, 1 or 2 closed, the first file opened (the
 * --log file) would take its number, and the summary meant for stdout would
 * be written into it.  /dev/null holds each closed one, opened the wrong way
 * round so that the stream still fails as a closed one does. */
static void hold_standard_fds(void)
{
    for (int fd = 0; fd <= 2; fd++)
        if (fcntl(fd, F_GETFD) == -1 && errno == EBADF)
            open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY); /* the lowest free: fd */
}

/* Output that never reached stdout (a full disk, a closed descriptor) is an
 * error on every way out, --help's included: one line on stderr, exit 1.
 * (A pipe closed by its reader still ends the run with SIGPIPE.) */
static void check_stdout_at_exit(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "runcue-sim: writing to stdout failed: %s\n", strerror(errno));
        _exit(1);
    }
}

int main(int argc, char **argv)
{
    hold_standard_fds();
    atexit(check_stdout_at_exit);
    setlocale(LC_CTYPE, ""); /* symbols only; numbers stay in the C locale */
    bool utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
    options o = {0};
    parse(argc, argv, &o);
    if (o.check)
        return check_main(&o.cfg, o.seed_given, o.check_paths, o.n_check_paths, o.junit);
    bool chosen = !o.seed_given;
    if (chosen) o.cfg.seed = choose_seed();

    cluster_config file_cc;
    if (o.scenario_file) cluster_file(&o, &file_cc);
    if (o.cluster.enabled) {
        if (chosen && !o.report_json)
            fprintf(stderr, "runcue-sim: seed %llu (replay with --seed %llu)\n",
                    (unsigned long long)o.cfg.seed, (unsigned long long)o.cfg.seed);
        return run_cluster(&o, utf8);
    }

    /* The file's expectations, then --expect's; a file's first seed
     * replaces a drawn one. */
    sim *s = NULL;
    const char *name = NULL;
    expect_set *expect = expect_set_new();
    int status = expect ? build_scenario(&o, &s, expect, &name) : 1;
    const uint64_t *seeds;
    if (!status && chosen && expect_seeds(expect, &seeds)) {
        o.cfg.seed = seeds[0];
        chosen = false;
        sim_free(s);
        expect_set_free(expect);
        expect = expect_set_new();
        status = expect ? build_scenario(&o, &s, expect, &name) : 1;
    }
    if (!status && o.expect && expect_merge(expect, o.expect)) status = 1;
    bool checking = !status && (expect_count(expect) > 0 || o.junit);
    char err[768];
    if (checking && expect_prepare(expect, s, true, err, sizeof err)) {
        fprintf(stderr, "runcue-sim: %s\n", err);
        status = EXIT_USAGE;
    }
    expect_set_free(o.expect);
    if (status) {
        sim_free(s);
        expect_set_free(expect);
        return status;
    }
    FILE *log_file = NULL, *golden_log = NULL;
    sinks k = {{NULL}, 0};
    sim_eventlog *lg;
    if (o.log_path) {
        log_file = fopen(o.log_path, "w");
        if (!log_file) {
            fprintf(stderr, "runcue-sim: --log: cannot open '%s': %s\n", o.log_path,
                    strerror(errno));
            sim_free(s);
            expect_set_free(expect);
            return EXIT_USAGE;
        }
        if (!sim_eventlog_open(&lg, log_file,
                               &(sim_eventlog_opts){.format = o.log_format, .utf8 = utf8}))
            k.v[k.n++] = lg;
    }
    if (o.verbose && !o.report_json) {
        sim_eventlog_format f = o.log_path ? SIM_EVENTLOG_TEXT : o.log_format;
        if (!sim_eventlog_open(&lg, stdout, &(sim_eventlog_opts){.format = f, .utf8 = utf8}))
            k.v[k.n++] = lg;
    }
    if (o.golden) {
        golden_log = tmpfile();
        if (!golden_log || sim_eventlog_open(&lg, golden_log,
                                             &(sim_eventlog_opts){.format = SIM_EVENTLOG_JSONL})) {
            fprintf(stderr, "runcue-sim: --golden: cannot make a temporary file: %s\n",
                    strerror(errno));
            if (golden_log) fclose(golden_log);
            close_logs(&o, &k, log_file);
            sim_free(s);
            expect_set_free(expect);
            return 1;
        }
        k.v[k.n++] = lg;
    }
    /* The first log goes through the engine; the others are mirrored. */
    sim_set_log(s, k.n ? k.v[0] : NULL);
    if (k.n > 1) sim_set_observer(s, mirror_records, &k);

    char auto_name[RC_SHM_NAME_MAX + 1];
    if ((o.tui || o.sdl) && !o.shm_name) {
        /* The views read the run through a segment of its own. */
        snprintf(auto_name, sizeof auto_name, "sim-%d", (int)getpid());
        o.shm_name = auto_name;
    }
    int rc;
    if (o.shm_name) {
        /* The views' header: the command that reproduces this run. */
        char title[RC_SHM_TITLE_MAX + 1];
        sim_command_line(title, sizeof title, &o.cfg, o.scenario, o.scenario_file);
        if ((rc = sim_publish(s, o.shm_name, title))) {
            fprintf(stderr, "runcue-sim: --shm: %s\n", sim_errmsg(s));
            close_logs(&o, &k, log_file);
            if (golden_log) fclose(golden_log);
            sim_free(s);
            expect_set_free(expect);
            return rc == RC_EINVAL || rc == RC_EEXIST ? EXIT_USAGE : 1;
        }
        shm_cleanup_on_signals(sim_shm(s));
    }

    /* Said once nothing can fail on usage, so an error stays one line. */
    if (chosen && !o.report_json)
        fprintf(stderr, "runcue-sim: seed %llu (replay with --seed %llu)\n",
                (unsigned long long)o.cfg.seed, (unsigned long long)o.cfg.seed);

    int outcome;
    /* A line of progress on stderr while the run goes on, if stderr is a
     * terminal and nothing else shows the run is alive. */
    sim_progress progress;
    bool show_progress = !o.tui && !o.sdl && !o.verbose && isatty(2);
    if (show_progress) sim_progress_start(&progress, s);
    if (o.tui || o.sdl) {
        sim_pacer pacer;
        rc = sim_start(s);
        if (rc) {
            fprintf(stderr, "runcue-sim: cannot start: %s\n", rc_strerror(rc));
            sim_free(s);
            expect_set_free(expect);
            return 1;
        }
        sim_pacer_init(&pacer, s, o.speed);
        live_driver drv = {&sim_live_pacer_ops, &pacer};
        live_opts lo = {.prog = "runcue-sim", .shm_name = o.shm_name, .driver = &drv,
                        .exit_at_end = o.exit_at_end,
                        .screenshot = o.screenshot, .attach_timeout = 1};
        rc = live_view_run(o.tui ? LIVE_VIEW_TUI : LIVE_VIEW_SDL, &lo);
        if (rc && rc != 130) {
            sim_free(s); /* removes the segment */
            expect_set_free(expect);
            return 1;
        }
        /* Quit early (q, or SIGINT/SIGTERM in the view: rc 130): the
         * summary covers the run so far (and says it is not finished);
         * quitting with q is not an error. */
        outcome = pacer.over ? pacer.outcome : sim_finish(s);
        if (rc == 130) {
            if (outcome >= 0) sim_print_summary(s, stdout, utf8);
            fflush(stdout);
            sim_free(s);
            expect_set_free(expect);
            return 130;
        }
        if (!pacer.over && outcome == SIM_UNFINISHED) outcome = SIM_CUT;
    } else if (o.realtime) {
        rc = sim_start(s);
        if (!rc) {
            sim_pacer pacer;
            sim_pacer_init(&pacer, s, o.speed);
            outcome = sim_live_realtime(&pacer, tick_progress, show_progress ? &progress : NULL);
        } else {
            outcome = rc;
        }
    } else {
        outcome = sim_run(s);
    }
    if (show_progress) sim_progress_stop(&progress);
    if (outcome < 0) {
        fprintf(stderr, "runcue-sim: run failed: %s\n",
                *sim_errmsg(s) ? sim_errmsg(s) : rc_strerror(outcome));
        sim_free(s);
        expect_set_free(expect);
        return 1;
    }
    if (o.report_json) {
        sim_print_report_json(s, stdout, name);
        if (outcome == SIM_STALLED) sim_print_stall(s, stderr, utf8);
    } else {
        if (o.verbose) printf("--------------------------------------------------------------------------------\n");
        sim_print_summary(s, stdout, utf8);
    }
    fflush(stdout);
    status = close_logs(&o, &k, log_file);

    /* The checks: the golden log, then the expectations. */
    char *golden_report = NULL;
    int golden_status = golden_log ? golden_finish(&o, golden_log, &golden_report) : 0;
    if (golden_log) fclose(golden_log);
    size_t broken = checking ? expect_check(expect, s) : 0;
    if (checking) {
        check_print_broken(stderr, expect, "runcue-sim: expectation broken: ");
        if (!broken)
            fprintf(stderr, "runcue-sim: %zu expectation%s held\n", expect_count(expect),
                    expect_count(expect) == 1 ? "" : "s");
    }
    if (outcome == SIM_UNFINISHED)
        fprintf(stderr, "runcue-sim: the run ended with work pending or running (virtual time "
                        "ran out)\n");
    if (o.junit &&
        junit_single(&o, name, expect, golden_report, sim_get_summary(s)->duration_s))
        status = status ? status : 1;
    free(golden_report);
    expect_set_free(expect);
    sim_free(s);
    if (status) return status;
    if (golden_status && golden_status != EXIT_GOLDEN) return golden_status; /* 2 or 1 */
    if (outcome == SIM_UNFINISHED) return 1;
    if (broken) return EXIT_BROKEN;
    if (golden_status) return golden_status;
    /* With expectations, a stall is judged by them ("no stall" by default). */
    return outcome == SIM_STALLED && !checking ? EXIT_STALLED : 0;
}

/* sim_check.c -- expectations reported, and runcue-sim --check (see
 * sim_check.h).
 *
 * --check runs each file on a worker thread: sims share nothing, so the
 * results are the same whatever thread runs which file and in what order
 * they finish; they are printed afterwards in the order of the files. */
#include "sim_check.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scenario_file.h"

enum {
    FILES_MAX = 100000,
    THREADS_MAX = 64,
    SEEDS_SHOWN = 5,
};

void check_print_broken(FILE *out, const expect_set *set, const char *prefix)
{
    for (size_t i = 0; i < expect_count(set); i++) {
        expect_result r = expect_get(set, i);
        if (r.checked && !r.held)
            fprintf(out, "%s%s: %s: expected %s, got %s\n", prefix, r.origin, r.text, r.expected,
                    r.actual);
    }
}

static char *dup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dup_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = NULL;
    if (vasprintf(&out, fmt, ap) < 0) out = NULL;
    va_end(ap);
    return out;
}

int check_junit_cases(const expect_set *set, const char *classname, const char *suffix,
                      sim_junit_case **cases, size_t *n)
{
    size_t add = expect_count(set);
    sim_junit_case *grown = realloc(*cases, (*n + add + 1) * sizeof *grown);
    if (!grown) return RC_ENOMEM;
    *cases = grown;
    for (size_t i = 0; i < add; i++) {
        expect_result r = expect_get(set, i);
        sim_junit_case *c = &grown[(*n)++];
        *c = (sim_junit_case){.classname = classname};
        c->name = dup_printf("%s%s", r.text, suffix);
        if (!r.held)
            c->failure =
                dup_printf("%s: %s: expected %s, got %s", r.origin, r.text, r.expected, r.actual);
        if (!c->name || (!r.held && !c->failure)) return RC_ENOMEM;
    }
    return 0;
}

void check_cases_free(sim_junit_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((char *)cases[i].name);
        free((char *)cases[i].failure);
        free((char *)cases[i].error);
    }
    free(cases);
}

int check_write_junit(const char *path, const sim_junit_suite *suites, size_t n)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "runcue-sim: --junit: cannot write '%s': %s\n", path, strerror(errno));
        return -1;
    }
    int rc = sim_junit_write(f, "runcue-sim", suites, n);
    if (fclose(f) != 0 || rc) {
        fprintf(stderr, "runcue-sim: --junit: writing '%s' failed\n", path);
        return -1;
    }
    return 0;
}

/* ---- --check ---- */

typedef struct run_result {
    uint64_t seed;
    expect_set *set;
    double duration_s;
} run_result;

typedef struct file_result {
    char *path;
    char *error; /* the file could not be run: why */
    run_result *runs;
    size_t n_runs;
    size_t held, broken;
} file_result;

typedef struct batch {
    const sim_config *base;
    bool seed_given;
    file_result *files;
    size_t n_files;
    atomic_size_t next;
} batch;

/* Load path into a new sim with seed; set receives its expectations. */
static int load(const batch *b, const char *path, uint64_t seed, expect_set *set, sim **out,
                char *err, size_t errlen)
{
    sim_config cfg = *b->base;
    cfg.seed = seed;
    *out = NULL;
    if (sim_new(out, &cfg)) {
        snprintf(err, errlen, "%s: cannot start a simulation: out of memory", path);
        return -1;
    }
    return scenario_file_load_expect(*out, path, set, err, errlen) ? -1 : 0;
}

/* Run one seed of a file: its expectations checked into r->set. */
static int run_seed(const batch *b, file_result *f, run_result *r, char *err, size_t errlen)
{
    sim *s = NULL;
    int rc = -1;
    if (!(r->set = expect_set_new())) {
        snprintf(err, errlen, "%s: out of memory", f->path);
        return -1;
    }
    if (load(b, f->path, r->seed, r->set, &s, err, errlen) == 0 &&
        expect_prepare(r->set, s, true, err, errlen) == 0) {
        int outcome = sim_run(s);
        if (outcome < 0) {
            snprintf(err, errlen, "%s: seed %llu: the run failed: %s", f->path,
                     (unsigned long long)r->seed,
                     *sim_errmsg(s) ? sim_errmsg(s) : rc_strerror(outcome));
        } else {
            size_t broken = expect_check(r->set, s);
            f->broken += broken;
            f->held += expect_count(r->set) - broken;
            r->duration_s = sim_get_summary(s)->duration_s;
            rc = 0;
        }
    }
    sim_free(s);
    return rc;
}

static void run_file(const batch *b, file_result *f)
{
    char err[768] = "";
    /* First the seeds the file asks for. */
    expect_set *probe = expect_set_new();
    sim *s = NULL;
    uint64_t fallback = b->seed_given ? b->base->seed : 1;
    if (!probe || load(b, f->path, fallback, probe, &s, err, sizeof err)) {
        f->error = strdup(*err ? err : "out of memory");
        sim_free(s);
        expect_set_free(probe);
        return;
    }
    sim_free(s);
    const uint64_t *seeds;
    size_t n = b->seed_given ? 0 : expect_seeds(probe, &seeds);
    f->runs = calloc(n ? n : 1, sizeof *f->runs);
    if (!f->runs) f->error = strdup("out of memory");
    for (size_t i = 0; f->runs && i < (n ? n : 1); i++) {
        run_result *r = &f->runs[f->n_runs++];
        r->seed = n ? seeds[i] : fallback;
        if (run_seed(b, f, r, err, sizeof err)) {
            f->error = strdup(err);
            break;
        }
    }
    expect_set_free(probe);
}

static void *worker(void *arg)
{
    batch *b = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&b->next, 1);
        if (i >= b->n_files) return NULL;
        run_file(b, &b->files[i]);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_json(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".json") == 0;
}

/* Add path (a file, or the *.json files of a directory, sorted). */
static int collect(batch *b, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "runcue-sim: --check: cannot read '%s': %s\n", path, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d) {
            fprintf(stderr, "runcue-sim: --check: cannot list '%s': %s\n", path, strerror(errno));
            return -1;
        }
        struct dirent *e;
        while ((e = readdir(d)) && n < FILES_MAX) {
            if (!is_json(e->d_name)) continue;
            char **grown = realloc(names, (n + 1) * sizeof *grown);
            if (!grown) break;
            names = grown;
            const char *sep = path[strlen(path) - 1] == '/' ? "" : "/";
            if ((names[n] = dup_printf("%s%s%s", path, sep, e->d_name))) n++;
        }
        closedir(d);
        if (n) qsort(names, n, sizeof *names, cmp_str);
    } else if ((names = malloc(sizeof *names)) && (names[0] = strdup(path))) {
        n = 1;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        file_result *grown =
            b->n_files < FILES_MAX ? realloc(b->files, (b->n_files + 1) * sizeof *grown) : NULL;
        if (!grown) {
            free(names[i]);
            rc = -1;
            continue;
        }
        b->files = grown;
        b->files[b->n_files++] = (file_result){.path = names[i]};
    }
    free(names);
    if (rc) fprintf(stderr, "runcue-sim: --check: too many files (at most %d)\n", FILES_MAX);
    return rc;
}

static void print_seeds(FILE *out, const file_result *f)
{
    fprintf(out, " (seed%s", f->n_runs > 1 ? "s" : "");
    for (size_t i = 0; i < f->n_runs && i < SEEDS_SHOWN; i++)
        fprintf(out, " %llu", (unsigned long long)f->runs[i].seed);
    fprintf(out, "%s)", f->n_runs > SEEDS_SHOWN ? " ..." : "");
}

/* One line per file, and its broken expectations under it. */
static void report(FILE *out, const file_result *f)
{
    if (f->error) {
        fprintf(out, "ERROR %s\n", f->error);
        return;
    }
    fprintf(out, "%s  %s", f->broken ? "FAIL" : "PASS", f->path);
    print_seeds(out, f);
    if (f->broken)
        fprintf(out, ": %zu of %zu expectations broken\n", f->broken, f->broken + f->held);
    else
        fprintf(out, ": %zu expectations held\n", f->held);
    for (size_t i = 0; i < f->n_runs; i++) {
        char prefix[48];
        snprintf(prefix, sizeof prefix, "      seed %llu: ", (unsigned long long)f->runs[i].seed);
        if (f->runs[i].set) check_print_broken(out, f->runs[i].set, prefix);
    }
}

/* One suite per file: its expectations per seed, or its error. */
static int junit(const batch *b, const char *path)
{
    sim_junit_suite *suites = calloc(b->n_files ? b->n_files : 1, sizeof *suites);
    int rc = suites ? 0 : -1;
    for (size_t i = 0; !rc && i < b->n_files; i++) {
        const file_result *f = &b->files[i];
        sim_junit_suite *s = &suites[i];
        s->name = f->path;
        sim_junit_case *cases = NULL;
        size_t n = 0;
        for (size_t k = 0; !rc && k < f->n_runs; k++) {
            char suffix[40];
            snprintf(suffix, sizeof suffix, " (seed %llu)", (unsigned long long)f->runs[k].seed);
            if (f->runs[k].set) rc = check_junit_cases(f->runs[k].set, f->path, suffix, &cases, &n);
            s->time_s += f->runs[k].duration_s;
        }
        if (!rc && f->error) {
            sim_junit_case *grown = realloc(cases, (n + 1) * sizeof *grown);
            if (grown) {
                cases = grown;
                cases[n] = (sim_junit_case){.name = strdup("load and run"),
                                            .classname = f->path,
                                            .error = strdup(f->error)};
                n++;
            } else {
                rc = -1;
            }
        }
        s->cases = cases;
        s->n_cases = n;
    }
    if (!rc)
        rc = check_write_junit(path, suites, b->n_files);
    else
        fprintf(stderr, "runcue-sim: --junit: out of memory\n");
    for (size_t i = 0; suites && i < b->n_files; i++)
        check_cases_free((sim_junit_case *)suites[i].cases, suites[i].n_cases);
    free(suites);
    return rc;
}

static void free_batch(batch *b)
{
    for (size_t i = 0; i < b->n_files; i++) {
        file_result *f = &b->files[i];
        for (size_t k = 0; k < f->n_runs; k++)
            expect_set_free(f->runs[k].set);
        free(f->runs);
        free(f->path);
        free(f->error);
    }
    free(b->files);
}

int check_main(const sim_config *base, bool seed_given, char *const *paths, size_t n_paths,
               const char *junit_path)
{
    batch b = {.base = base, .seed_given = seed_given};
    atomic_init(&b.next, 0);
    int status = 0;
    for (size_t i = 0; i < n_paths && !status; i++)
        if (collect(&b, paths[i])) status = EXIT_USAGE;
    if (!status && !b.n_files) {
        fprintf(stderr, "runcue-sim: --check: no scenario files (*.json) found\n");
        status = EXIT_USAGE;
    }
    if (status) {
        free_batch(&b);
        return status;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t n_threads = cores > 0 ? (size_t)cores : 1;
    if (n_threads > b.n_files) n_threads = b.n_files;
    if (n_threads > THREADS_MAX) n_threads = THREADS_MAX;
    pthread_t tid[THREADS_MAX];
    size_t started = 0;
    for (; started < n_threads; started++)
        if (pthread_create(&tid[started], NULL, worker, &b) != 0) break;
    if (!started) worker(&b); /* no thread: run them here */
    for (size_t i = 0; i < started; i++)
        pthread_join(tid[i], NULL);

    size_t passed = 0, failed = 0, errors = 0;
    for (size_t i = 0; i < b.n_files; i++) {
        const file_result *f = &b.files[i];
        report(stdout, f);
        if (f->error)
            errors++;
        else if (f->broken)
            failed++;
        else
            passed++;
    }
    printf("%zu file%s: %zu passed, %zu failed, %zu could not run\n", b.n_files,
           b.n_files == 1 ? "" : "s", passed, failed, errors);
    fflush(stdout);
    status = errors ? EXIT_USAGE : failed ? EXIT_BROKEN : 0;
    if (junit_path && junit(&b, junit_path)) status = status ? status : 1;
    free_batch(&b);
    return status;
}

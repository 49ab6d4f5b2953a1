/* bench_pods_load layers / raw: the physical floor of a pod start.
 *
 * `layers --images DIR --ref REF` reads the node's OCI image store
 * (DIR/index.json -> manifest -> config) and prints `lower L1:L2:...` (the
 * unpacked layer dirs DIR/layers/<diff id hex>, top layer first, as overlay
 * wants them) and one `arg X` line per word of the image's entrypoint+cmd.
 *
 * `raw --lower DIRS --dir D ...` starts the same rootfs --reps times with
 * plain crun, as the agent would minus everything Kubernetes: per rep an
 * overlay of those layers with a fresh upper dir, a config.json made by
 * `crun spec` with the image's args, a new network namespace (loopback
 * only), no terminal; timed from before the overlay mount to (a) `crun run
 * -d` returning and (b) a TCP connect to --port inside the container's
 * network namespace succeeding. Each container is deleted (crun delete -f,
 * umount, rm) before the next. Prints `raw_*` key value lines. Run it in a
 * mount namespace where crun works (see bench/pods.sh: the cgroup2
 * `unified` mount hidden); the overlay mounts stay in that namespace. */
#include "pods.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RAW_MAX_REPS 50
#define RAW_MAX_ARGS 32

static json_t *load_blob(const char *images, const char *digest)
{
    if (!digest || strncmp(digest, "sha256:", 7) || strlen(digest) != 71 || strchr(digest + 7, '/')) {
        fprintf(stderr, "bench_pods_load layers: bad digest %s\n", digest ? digest : "(none)");
        return NULL;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/blobs/sha256/%s", images, digest + 7);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j) fprintf(stderr, "bench_pods_load layers: %s: %s\n", path, je.text);
    return j;
}

static int print_words(json_t *arr)
{
    size_t i;
    json_t *v;
    int n = 0;
    json_array_foreach(arr, i, v) {
        if (!json_string_value(v)) continue;
        printf("arg %s\n", json_string_value(v));
        n++;
    }
    return n;
}

int pods_layers_main(int argc, char **argv)
{
    static const struct option lo[] = {{"images", 1, 0, 'i'}, {"ref", 1, 0, 'r'}, {0, 0, 0, 0}};
    const char *images = NULL, *ref = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (ch == 'i') images = optarg;
        else if (ch == 'r') ref = optarg;
        else return 2;
    }
    if (!images || !ref) {
        fprintf(stderr, "usage: bench_pods_load layers --images DIR --ref REF\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/index.json", images);
    json_t *idx = json_load_file(path, 0, NULL), *e, *man = NULL, *cfg = NULL;
    size_t i;
    const char *digest = NULL;
    json_array_foreach(json_object_get(idx, "manifests"), i, e) {
        const char *n = json_string_value(
            json_object_get(json_object_get(e, "annotations"), "io.containerd.image.name"));
        if (n && !strcmp(n, ref)) digest = json_string_value(json_object_get(e, "digest"));
    }
    int rc = 1;
    if (!digest) {
        fprintf(stderr, "bench_pods_load layers: %s not in %s\n", ref, path);
        goto out;
    }
    if (!(man = load_blob(images, digest))) goto out;
    json_t *cd = json_object_get(json_object_get(man, "config"), "digest");
    if (!(cfg = load_blob(images, json_string_value(cd)))) goto out;
    json_t *ids = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
    if (!json_array_size(ids)) {
        fprintf(stderr, "bench_pods_load layers: %s has no layers\n", ref);
        goto out;
    }
    printf("lower ");
    for (size_t k = json_array_size(ids); k-- > 0;) {
        const char *d = json_string_value(json_array_get(ids, k));
        struct stat st;
        snprintf(path, sizeof path, "%s/layers/%s", images, d && strlen(d) == 71 ? d + 7 : "?");
        if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "\nbench_pods_load layers: %s not unpacked (has a pod run it?)\n", path);
            goto out;
        }
        printf("%s%s", path, k ? ":" : "\n");
    }
    json_t *c = json_object_get(cfg, "config");
    if (print_words(json_object_get(c, "Entrypoint")) + print_words(json_object_get(c, "Cmd")) > 0)
        rc = 0;
    else fprintf(stderr, "bench_pods_load layers: %s has no entrypoint or cmd\n", ref);
out:
    json_decref(cfg);
    json_decref(man);
    json_decref(idx);
    return rc;
}

struct raw_opts {
    const char *lower, *dir, *crun, *root, *cgroup;
    const char *args[RAW_MAX_ARGS + 1];
    int nargs, reps, port;
    double timeout;
    int batch, parallel; /* --batch N: N containers at once over P threads */
};

/* Runs argv with stdout and stderr to log (append); returns the exit
 * status, or -1. */
static int spawn(const char *const *argv, const char *cwd, const char *log)
{
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) dup2(nul, 0);
        if (cwd && chdir(cwd) < 0) _exit(126);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    remove(p);
    return 0;
}

static void rm_rf(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* `crun spec` adapted: the image's args, no terminal, writable overlay
 * root, a cgroup below --cgroup. The network namespace of the default spec
 * is a new one (crun brings its loopback up). */
static json_t *make_spec(const struct raw_opts *o)
{
    char tdir[4096], path[4200], log[4200];
    snprintf(tdir, sizeof tdir, "%s/template", o->dir);
    snprintf(path, sizeof path, "%s/config.json", tdir);
    snprintf(log, sizeof log, "%s/crun-spec.log", o->dir);
    mkdir(tdir, 0755);
    unlink(path);
    const char *argv[] = {o->crun, "spec", NULL};
    if (spawn(argv, tdir, log) != 0) {
        fprintf(stderr, "bench_pods_load raw: crun spec failed (see %s)\n", log);
        return NULL;
    }
    json_t *spec = json_load_file(path, 0, NULL);
    json_t *proc = json_object_get(spec, "process");
    if (!proc) {
        json_decref(spec);
        fprintf(stderr, "bench_pods_load raw: crun spec wrote no process\n");
        return NULL;
    }
    json_t *args = json_array();
    for (int i = 0; i < o->nargs; i++) json_array_append_new(args, json_string(o->args[i]));
    json_object_set_new(proc, "args", args);
    json_object_set_new(proc, "terminal", json_false());
    json_object_set_new(proc, "env", json_pack("[s]", "PATH=/usr/local/sbin:/usr/local/bin:"
                                                      "/usr/sbin:/usr/bin:/sbin:/bin"));
    json_object_set_new(spec, "root", json_pack("{s:s,s:b}", "path", "rootfs", "readonly", 0));
    return spec;
}

/* Polls a TCP connect to 127.0.0.1:port inside pid's network namespace. */
static int wait_serving(const struct raw_opts *o, const char *pidfile, double deadline)
{
    FILE *f = fopen(pidfile, "r");
    long pid = 0;
    if (!f || fscanf(f, "%ld", &pid) != 1 || pid <= 0) {
        if (f) fclose(f);
        fprintf(stderr, "bench_pods_load raw: no pid in %s\n", pidfile);
        return -1;
    }
    fclose(f);
    char ns[64];
    snprintf(ns, sizeof ns, "/proc/%ld/ns/net", pid);
    int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    int nfd = open(ns, O_RDONLY | O_CLOEXEC);
    int rc = -1, err = 0;
    if (self >= 0 && nfd >= 0 && setns(nfd, CLONE_NEWNET) == 0) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        while (rc < 0 && now() < deadline) {
            int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) == 0) rc = 0;
            else err = errno;
            if (s >= 0) close(s);
            if (rc < 0) usleep(200);
        }
        if (setns(self, CLONE_NEWNET) < 0) {
            fprintf(stderr, "bench_pods_load raw: cannot return to own netns\n");
            exit(1);
        }
    } else {
        err = errno;
    }
    if (rc < 0) fprintf(stderr, "bench_pods_load raw: port %d never answered: %s\n", o->port,
                        strerror(err));
    if (self >= 0) close(self);
    if (nfd >= 0) close(nfd);
    return rc;
}

/* Starts container i and waits until it serves; fills t[0..2] = mount,
 * started, serving (ms from t0, or from its own start when t0 is 0). */
static int raw_start(const struct raw_opts *o, json_t *spec, int i, double t0_batch, double t[3])
{
    char b[4096], p[4300], id[64], opts[8192], log[4300], pidf[4300];
    snprintf(id, sizeof id, "pods-bench-raw-%ld-%d", (long)getpid(), i);
    snprintf(b, sizeof b, "%s/b%d", o->dir, i);
    snprintf(log, sizeof log, "%s/crun.log", o->dir);
    snprintf(pidf, sizeof pidf, "%s/pid", b);
    mkdir(b, 0755);
    const char *sub[] = {"rootfs", "upper", "work"};
    for (int k = 0; k < 3; k++) {
        snprintf(p, sizeof p, "%s/%s", b, sub[k]);
        mkdir(p, 0755);
    }
    json_object_set_new(spec, "hostname", json_string(id));
    char cg[512];
    snprintf(cg, sizeof cg, "%s/%s", o->cgroup, id);
    json_object_set_new(json_object_get(spec, "linux"), "cgroupsPath", json_string(cg));
    snprintf(p, sizeof p, "%s/config.json", b);
    if (json_dump_file(spec, p, 0) < 0) return -1;
    int n = snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s/upper,workdir=%s/work", o->lower,
                     b, b);
    if (n < 0 || (size_t)n >= sizeof opts || (size_t)n >= 4096) {
        fprintf(stderr, "bench_pods_load raw: overlay options too long\n");
        return -1;
    }
    snprintf(p, sizeof p, "%s/rootfs", b);
    double t0 = t0_batch > 0 ? t0_batch : now();
    if (mount("overlay", p, "overlay", 0, opts) < 0) {
        fprintf(stderr, "bench_pods_load raw: mount overlay: %s\n", strerror(errno));
        return -1;
    }
    t[0] = (now() - t0) * 1e3;
    const char *run[] = {o->crun, "--root", o->root, "run", "-d", "--pid-file", pidf,
                         "--bundle", b, id, NULL};
    int rc = spawn(run, NULL, log);
    t[1] = (now() - t0) * 1e3;
    if (rc != 0) fprintf(stderr, "bench_pods_load raw: crun run exited %d (see %s)\n", rc, log);
    else if (wait_serving(o, pidf, now() + o->timeout) < 0) rc = -1;
    t[2] = (now() - t0) * 1e3;
    return rc == 0 ? 0 : -1;
}

static void raw_stop(const struct raw_opts *o, int i)
{
    char b[4096], p[4300], id[64], log[4300];
    snprintf(id, sizeof id, "pods-bench-raw-%ld-%d", (long)getpid(), i);
    snprintf(b, sizeof b, "%s/b%d", o->dir, i);
    snprintf(log, sizeof log, "%s/crun.log", o->dir);
    const char *del[] = {o->crun, "--root", o->root, "delete", "-f", id, NULL};
    spawn(del, NULL, log);
    snprintf(p, sizeof p, "%s/rootfs", b);
    umount2(p, MNT_DETACH);
    rm_rf(b);
}

static int raw_once(const struct raw_opts *o, json_t *spec, int i, double t[3])
{
    int rc = raw_start(o, spec, i, 0, t);
    raw_stop(o, i);
    return rc;
}

/* ---- batch: the floor for N pods started at once ------------------------------ */

struct batch {
    const struct raw_opts *o;
    const json_t *spec;
    double t0;
    pthread_mutex_t mu;
    int next, failed;
    double *serve;
};

static void *batch_worker(void *arg)
{
    struct batch *bt = arg;
    for (;;) {
        pthread_mutex_lock(&bt->mu);
        int i = bt->next < bt->o->batch ? bt->next++ : -1;
        pthread_mutex_unlock(&bt->mu);
        if (i < 0) return NULL;
        json_t *spec = json_deep_copy(bt->spec);
        double t[3];
        int rc = raw_start(bt->o, spec, 1000 + i, bt->t0, t);
        json_decref(spec);
        pthread_mutex_lock(&bt->mu);
        if (rc < 0) bt->failed++;
        bt->serve[i] = t[2];
        pthread_mutex_unlock(&bt->mu);
    }
}

/* N containers over P threads, all kept running until the last serves
 * (as N pods are), then removed. Prints p50/p99/total from the batch start. */
static int raw_batch(const struct raw_opts *o, const json_t *spec)
{
    double m0 = machine_busy_secs();
    struct batch bt = {.o = o, .spec = spec, .t0 = now(),
                       .serve = calloc((size_t)o->batch, sizeof(double))};
    pthread_mutex_init(&bt.mu, NULL);
    pthread_t th[64];
    int np = o->parallel < 1 ? 1 : o->parallel > 64 ? 64 : o->parallel;
    for (int i = 0; i < np; i++) pthread_create(&th[i], NULL, batch_worker, &bt);
    for (int i = 0; i < np; i++) pthread_join(th[i], NULL);
    double total = (now() - bt.t0) * 1e3, busy = machine_busy_secs() - m0;
    for (int i = 0; i < o->batch; i++) raw_stop(o, 1000 + i);
    qsort(bt.serve, (size_t)o->batch, sizeof(double), cmp_double);
    printf("raw_batch_n %d\nraw_batch_parallel %d\nraw_batch_failed %d\nraw_batch_p50_ms %.1f\n"
           "raw_batch_p99_ms %.1f\nraw_batch_total_ms %.1f\n", o->batch, np, bt.failed,
           pct(bt.serve, (size_t)o->batch, 0.5), pct(bt.serve, (size_t)o->batch, 0.99), total);
    printf("raw_batch_machine_cpu_ms_per_pod %.1f\n", busy * 1e3 / o->batch);
    free(bt.serve);
    pthread_mutex_destroy(&bt.mu);
    return bt.failed ? -1 : 0;
}

/* crun removes the leaf cgroup, never its parents. */
static void rm_cgroup_parent(const char *cg)
{
    const char *h[] = {"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory",
                       "pids", "systemd", "unified", NULL};
    char p[4096];
    for (int i = 0; h[i]; i++) {
        snprintf(p, sizeof p, "/sys/fs/cgroup/%s%s", h[i], cg);
        rmdir(p);
    }
    snprintf(p, sizeof p, "/sys/fs/cgroup%s", cg); /* a pure cgroup v2 host */
    rmdir(p);
}

static int parse_raw(int argc, char **argv, struct raw_opts *o)
{
    static const struct option lo[] = {
        {"lower", 1, 0, 'l'}, {"dir", 1, 0, 'd'},    {"crun", 1, 0, 'c'},
        {"root", 1, 0, 'r'},  {"cgroup", 1, 0, 'g'}, {"arg", 1, 0, 'a'},
        {"reps", 1, 0, 'n'},  {"port", 1, 0, 'p'},   {"timeout", 1, 0, 't'},
        {"batch", 1, 0, 'B'}, {"parallel", 1, 0, 'P'},
        {0, 0, 0, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'l': o->lower = optarg; break;
        case 'd': o->dir = optarg; break;
        case 'c': o->crun = optarg; break;
        case 'r': o->root = optarg; break;
        case 'g': o->cgroup = optarg; break;
        case 'a':
            if (o->nargs == RAW_MAX_ARGS) return -1;
            o->args[o->nargs++] = optarg;
            break;
        case 'n': o->reps = (int)strtol(optarg, NULL, 10); break;
        case 'p': o->port = (int)strtol(optarg, NULL, 10); break;
        case 't': o->timeout = strtod(optarg, NULL); break;
        case 'B': o->batch = (int)strtol(optarg, NULL, 10); break;
        case 'P': o->parallel = (int)strtol(optarg, NULL, 10); break;
        default: return -1;
        }
    }
    if (!o->lower || !o->dir || !o->root || !o->nargs || o->reps < 0 || o->reps > RAW_MAX_REPS ||
        (o->reps == 0 && o->batch == 0) ||
        o->port < 1 || o->port > 65535 || o->timeout <= 0 || o->cgroup[0] != '/' ||
        o->batch < 0 || o->batch > 10000)
        return -1;
    return 0;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return pct(v, (size_t)n, 0.5);
}

int pods_raw_main(int argc, char **argv)
{
    struct raw_opts o = {.crun = "/usr/bin/crun", .reps = 5, .port = 8080, .timeout = 10,
                         .cgroup = "/skiff-bench-raw"};
    if (parse_raw(argc, argv, &o) < 0) {
        fprintf(stderr, "usage: bench_pods_load raw --lower L1:L2 --dir DIR --root CRUN_ROOT\n"
                        "  --arg A [--arg B ...] [--reps N] [--port P] [--crun PATH]\n"
                        "  [--cgroup /PARENT] [--timeout S] [--batch N --parallel P]\n");
        return 2;
    }
    json_t *spec = make_spec(&o);
    if (!spec) return 1;
    double mnt[RAW_MAX_REPS], start[RAW_MAX_REPS], serve[RAW_MAX_REPS], t[3];
    int n = 0, rc = 0;
    for (int i = 0; i < o.reps; i++) {
        if (raw_once(&o, spec, i, t) < 0) {
            rc = 1;
            break;
        }
        mnt[n] = t[0], start[n] = t[1], serve[n] = t[2];
        fprintf(stderr, "bench_pods_load raw: rep %d: mount %.1f, started %.1f, serving %.1f ms\n",
                i, t[0], t[1], t[2]);
        n++;
    }
    if (rc == 0 && o.batch > 0 && raw_batch(&o, spec) < 0) rc = 1;
    json_decref(spec);
    rm_cgroup_parent(o.cgroup);
    if (!n) return o.reps ? 1 : rc; /* --reps 0: the batch alone */
    double lo = serve[0], hi = serve[0];
    for (int i = 1; i < n; i++) {
        if (serve[i] < lo) lo = serve[i];
        if (serve[i] > hi) hi = serve[i];
    }
    printf("raw_reps %d\nraw_mount_median_ms %.1f\nraw_started_median_ms %.1f\n"
           "raw_serving_median_ms %.1f\nraw_serving_min_ms %.1f\nraw_serving_max_ms %.1f\n",
           n, median(mnt, n), median(start, n), median(serve, n), lo, hi);
    return rc;
}

/* Real containers through crun (root only, else exit 77): exit codes and
 * CRI logs, stop escalation, OOM kill, shared pod namespaces, exec with
 * pipes and a tty, user/env/cwd, read-only rootfs, capabilities, seccomp,
 * cgroup limits, log rotation, create-and-start in one call; then nothing
 * may be left behind. */
#include "test_runtime_fixture.h"

static struct fx F;

/* Only in initializers, where the count lands in the n_ field that follows. */
#define ARGS(...) (const char *const[]){__VA_ARGS__}, sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *)
#define SETV(s, field, ...) \
    ((s).field = (const char *const[]){__VA_ARGS__}, (s).n_##field = sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *))

static int test_exit_code_and_logs(void)
{
    char log[256];
    struct sk_rt_container_config c =
        fx_config(&F, "pod1", "echo", ARGS("sh", "-c", "echo hello; echo oops >&2; echo world; exit 3"), log, sizeof log);
    REQUIRE(fx_create_start(&F, &c) == 0);
    struct sk_rt_status st;
    REQUIRE(fx_wait_exit(&F, "echo", 10000, &st) == 0);
    CHECK_INT(st.state, SK_RT_EXITED);
    CHECK_INT(st.exit_code, 3);
    CHECK(!st.oom_killed);
    CHECK(st.created_ms > 0 && st.started_ms >= st.created_ms && st.finished_ms >= st.started_ms);
    CHECK_STR(st.sandbox_id, "pod1");
    CHECK_STR(st.log_path, log);
    sk_rt_status_release(&st);
    char *out = fx_log_text(log, "stdout"), *err = fx_log_text(log, "stderr");
    CHECK_STR(out, "hello\nworld\n");
    CHECK_STR(err, "oops\n");
    free(out);
    free(err);
    sk_err e = SK_ERR_INIT;
    CHECK(sk_rt_container_start(F.rt, "echo", &e) < 0 && e.code == SK_ECONFLICT);
    CHECK(sk_rt_container_remove(F.rt, "echo", &e) == 0);
    CHECK(sk_rt_container_status(F.rt, "echo", &st, &e) < 0 && e.code == SK_ENOTFOUND);
    return 0;
}

/* create with start: one crun call; output printed at once is kept, a
 * binary that is not there fails the create with crun's reason and leaves
 * nothing behind. */
static int test_create_started(void)
{
    char log[256];
    struct sk_rt_container_config c =
        fx_config(&F, "pod1", "quick", ARGS("sh", "-c", "echo first; echo second >&2; sleep 1; echo last"), log, sizeof log);
    c.start = true;
    sk_err e = SK_ERR_INIT;
    REQUIRE(sk_rt_container_create(F.rt, &c, &e) == 0);
    struct sk_rt_status st;
    REQUIRE(sk_rt_container_status(F.rt, "quick", &st, &e) == 0);
    CHECK_INT(st.state, SK_RT_RUNNING);
    CHECK(st.pid > 0 && st.started_ms >= st.created_ms && st.created_ms > 0);
    sk_rt_status_release(&st);
    CHECK(sk_rt_container_start(F.rt, "quick", &e) < 0 && e.code == SK_ECONFLICT);
    sk_err_clear(&e);
    REQUIRE(fx_wait_exit(&F, "quick", 10000, &st) == 0);
    CHECK_INT(st.state, SK_RT_EXITED);
    CHECK_INT(st.exit_code, 0);
    sk_rt_status_release(&st);
    char *out = fx_log_text(log, "stdout"), *err = fx_log_text(log, "stderr");
    CHECK_STR(out, "first\nlast\n");
    CHECK_STR(err, "second\n");
    free(out);
    free(err);
    CHECK(sk_rt_container_remove(F.rt, "quick", &e) == 0);

    struct sk_rt_container_config bad = fx_config(&F, "pod1", "nobin", ARGS("/no/such/binary"), log, sizeof log);
    bad.start = true;
    CHECK(sk_rt_container_create(F.rt, &bad, &e) < 0);
    CHECK(strstr(e.msg, "/no/such/binary") != NULL);
    if (!strstr(e.msg, "/no/such/binary")) fprintf(stderr, "create error: %s\n", e.msg);
    sk_err_clear(&e);
    CHECK(sk_rt_container_status(F.rt, "nobin", &st, &e) < 0 && e.code == SK_ENOTFOUND);
    sk_err_clear(&e);
    return 0;
}

static int test_stop_escalates(void)
{
    char log[256];
    /* PID 1 without a handler ignores SIGTERM: only SIGKILL ends it. */
    struct sk_rt_container_config c = fx_config(&F, "pod1", "sleeper", ARGS("sleep", "1000"), log, sizeof log);
    REQUIRE(fx_create_start(&F, &c) == 0);
    struct sk_rt_status st;
    sk_err e = SK_ERR_INIT;
    REQUIRE(sk_rt_container_status(F.rt, "sleeper", &st, &e) == 0);
    CHECK_INT(st.state, SK_RT_RUNNING);
    CHECK(st.pid > 0);
    sk_rt_status_release(&st);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(sk_rt_container_stop(F.rt, "sleeper", 700, &e) == 0);
    double ms = fx_ms_since(&t0);
    CHECK(ms >= 650 && ms < 3000);
    REQUIRE(sk_rt_container_status(F.rt, "sleeper", &st, &e) == 0);
    CHECK_INT(st.state, SK_RT_EXITED);
    CHECK_INT(st.exit_code, 137);
    sk_rt_status_release(&st);
    CHECK(sk_rt_container_stop(F.rt, "sleeper", 700, &e) == 0); /* idempotent */

    /* With a handler SIGTERM is enough, long before the grace period. */
    c = fx_config(&F, "pod1", "polite", ARGS("sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"), log, sizeof log);
    REQUIRE(fx_create_start(&F, &c) == 0);
    usleep(200000);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(sk_rt_container_stop(F.rt, "polite", 5000, &e) == 0);
    CHECK(fx_ms_since(&t0) < 2000);
    REQUIRE(sk_rt_container_status(F.rt, "polite", &st, &e) == 0);
    CHECK_INT(st.exit_code, 0);
    sk_rt_status_release(&st);

    /* Created but never started: remove must still clean up. */
    c = fx_config(&F, "pod1", "never", ARGS("sleep", "1000"), log, sizeof log);
    CHECK(sk_rt_container_create(F.rt, &c, &e) == 0);
    REQUIRE(sk_rt_container_status(F.rt, "never", &st, &e) == 0);
    CHECK_INT(st.state, SK_RT_CREATED);
    sk_rt_status_release(&st);
    CHECK(sk_rt_container_remove(F.rt, "never", &e) == 0);
    CHECK(sk_rt_container_remove(F.rt, "sleeper", &e) == 0);
    CHECK(sk_rt_container_remove(F.rt, "polite", &e) == 0);
    return 0;
}

static int test_oom(void)
{
    char log[256];
    struct sk_rt_container_config c =
        fx_config(&F, "pod1", "hog", ARGS("dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"), log, sizeof log);
    c.memory_limit = 32 << 20;
    REQUIRE(fx_create_start(&F, &c) == 0);
    struct sk_rt_status st;
    REQUIRE(fx_wait_exit(&F, "hog", 10000, &st) == 0);
    CHECK_INT(st.exit_code, 137);
    CHECK(st.oom_killed);
    sk_rt_status_release(&st);
    sk_err e = SK_ERR_INIT;
    CHECK(sk_rt_container_remove(F.rt, "hog", &e) == 0);

    /* A pipeline: dd dies, the container's sh does not, OOM is still seen. */
    c = fx_config(&F, "pod1", "hog2", ARGS("sh", "-c", "dd if=/dev/zero bs=64M count=1 | cat >/dev/null"), log, sizeof log);
    c.memory_limit = 32 << 20;
    REQUIRE(fx_create_start(&F, &c) == 0);
    REQUIRE(fx_wait_exit(&F, "hog2", 10000, &st) == 0);
    CHECK(st.oom_killed);
    sk_rt_status_release(&st);
    CHECK(sk_rt_container_remove(F.rt, "hog2", &e) == 0);
    return 0;
}

static int test_shared_namespaces_and_exec(void)
{
    char log[256], out[4096], out2[4096];
    int code = -1;
    struct sk_rt_container_config a = fx_config(&F, "pod1", "ctr-a", ARGS("sleep", "1000"), log, sizeof log);
    REQUIRE(fx_create_start(&F, &a) == 0);
    struct sk_rt_exec_config x = {.args = ARGS("hostname")};
    REQUIRE(fx_exec(&F, "ctr-a", &x, out, sizeof out, &code) == 0);
    CHECK_STR(out, "web-0\n");
    CHECK_INT(code, 0);
    x = (struct sk_rt_exec_config){.args = ARGS("sh", "-c", "echo shared > /dev/shm/x; readlink /proc/self/ns/ipc")};
    REQUIRE(fx_exec(&F, "ctr-a", &x, out, sizeof out, &code) == 0);
    CHECK(!strncmp(out, "ipc:[", 5));

    char log2[256];
    struct sk_rt_container_config b =
        fx_config(&F, "pod1", "ctr-b", ARGS("sh", "-c", "hostname; cat /dev/shm/x; readlink /proc/self/ns/ipc; "
                                                          "cat /etc/hostname /etc/resolv.conf; echo $HOSTNAME"), log2, sizeof log2);
    REQUIRE(fx_create_start(&F, &b) == 0);
    struct sk_rt_status st;
    REQUIRE(fx_wait_exit(&F, "ctr-b", 10000, &st) == 0);
    CHECK_INT(st.exit_code, 0);
    sk_rt_status_release(&st);
    snprintf(out2, sizeof out2, "web-0\nshared\n%sweb-0\nnameserver 10.96.0.10\nweb-0\n", out);
    char *text = fx_log_text(log2, "stdout");
    CHECK_STR(text, out2);
    free(text);

    /* exit codes, extra env and cwd, and a missing binary */
    x = (struct sk_rt_exec_config){.args = ARGS("sh", "-c", "echo $EXTRA $(pwd); exit 5"), .env = ARGS("EXTRA=yes"), .cwd = "/tmp"};
    REQUIRE(fx_exec(&F, "ctr-a", &x, out, sizeof out, &code) == 0);
    CHECK_STR(out, "yes /tmp\n");
    CHECK_INT(code, 5);
    x = (struct sk_rt_exec_config){.args = ARGS("/no/such/binary")};
    REQUIRE(fx_exec(&F, "ctr-a", &x, out, sizeof out, &code) == 0);
    CHECK(code != 0);

    /* stdin through a pipe */
    sk_err e = SK_ERR_INIT;
    x = (struct sk_rt_exec_config){.args = ARGS("cat"), .stdin_open = true};
    sk_rt_exec *ex = sk_rt_exec_start(F.rt, "ctr-a", &x, &e);
    REQUIRE(ex);
    CHECK(write(sk_rt_exec_fd(ex, 0), "ping\n", 5) == 5);
    sk_rt_exec_close_stdin(ex);
    CHECK(sk_rt_exec_wait(ex, 5000, &code, &e) == 0);
    ssize_t n = read(sk_rt_exec_fd(ex, 1), out, sizeof out - 1);
    out[n > 0 ? n : 0] = 0;
    CHECK_STR(out, "ping\n");
    sk_rt_exec_free(ex);

    /* A tty with an initial size, then a resize. crun sets the initial
     * size right after creating the pty, racing with the process start,
     * so the first reading happens after some input. */
    x = (struct sk_rt_exec_config){.args = ARGS("sh", "-c", "read a; stty size; read b; stty size; tty"), .tty = true,
                                   .stdin_open = true, .rows = 40, .cols = 100};
    ex = sk_rt_exec_start(F.rt, "ctr-a", &x, &e);
    REQUIRE(ex);
    CHECK(write(sk_rt_exec_fd(ex, 0), "1\n", 2) == 2);
    size_t len = 0;
    for (int i = 0; i < 50 && !strstr(out, "40 100"); i++) {
        struct pollfd p = {sk_rt_exec_fd(ex, 1), POLLIN, 0};
        if (poll(&p, 1, 100) == 1 && (n = read(p.fd, out + len, sizeof out - 1 - len)) > 0) len += (size_t)n;
        out[len] = 0;
    }
    CHECK(strstr(out, "40 100"));
    CHECK(sk_rt_exec_resize(ex, 50, 132, &e) == 0);
    CHECK(write(sk_rt_exec_fd(ex, 0), "2\n", 2) == 2);
    CHECK(sk_rt_exec_wait(ex, 5000, &code, &e) == 0);
    CHECK_INT(code, 0);
    for (;;) {
        struct pollfd p = {sk_rt_exec_fd(ex, 1), POLLIN, 0};
        if (poll(&p, 1, 1000) != 1 || (n = read(p.fd, out + len, sizeof out - 1 - len)) <= 0) break;
        len += (size_t)n;
    }
    out[len] = 0;
    CHECK(strstr(out, "50 132") && strstr(out, "/dev/pts/"));
    if (!strstr(out, "50 132")) fprintf(stderr, "tty output: [%s]\n", out);
    sk_rt_exec_free(ex);

    /* a long-running exec killed by sk_rt_exec_free */
    x = (struct sk_rt_exec_config){.args = ARGS("sleep", "1000")};
    ex = sk_rt_exec_start(F.rt, "ctr-a", &x, &e);
    REQUIRE(ex);
    CHECK(sk_rt_exec_wait(ex, 100, &code, &e) < 0 && e.code == SK_ETIMEOUT);
    sk_rt_exec_free(ex);
    CHECK(sk_rt_container_stop(F.rt, "ctr-a", 0, &e) == 0);
    ex = sk_rt_exec_start(F.rt, "ctr-a", &x, &e);
    CHECK(!ex && e.code == SK_ECONFLICT);
    return 0;
}

static int test_user_env_cwd(void)
{
    char log[256];
    struct sk_rt_container_config c = fx_config(
        &F, "pod1", "user", ARGS("sh", "-c", "echo $FOO; pwd; id -u; id -g; id -G; echo $HOME"), log, sizeof log);
    SETV(c, env, "FOO=bar baz");
    c.cwd = "/home/app";
    c.image_user = "app";
    c.supplemental_gids = (const uint32_t[]){3000};
    c.n_supplemental_gids = 1;
    REQUIRE(fx_create_start(&F, &c) == 0);
    struct sk_rt_status st;
    REQUIRE(fx_wait_exit(&F, "user", 10000, &st) == 0);
    CHECK_INT(st.exit_code, 0);
    sk_rt_status_release(&st);
    char *text = fx_log_text(log, "stdout");
    CHECK_STR(text, "bar baz\n/home/app\n1001\n1001\n1001 2000 3000\n/home/app\n");
    free(text);
    sk_err e = SK_ERR_INIT;
    CHECK(sk_rt_container_remove(F.rt, "user", &e) == 0);

    c = fx_config(&F, "pod1", "user2", ARGS("sh", "-c", "id -u; id -g"), log, sizeof log);
    c.image_user = "app";
    c.run_as_user = 4242;
    c.run_as_group = 4343;
    REQUIRE(fx_create_start(&F, &c) == 0);
    REQUIRE(fx_wait_exit(&F, "user2", 10000, &st) == 0);
    sk_rt_status_release(&st);
    text = fx_log_text(log, "stdout");
    CHECK_STR(text, "4242\n4343\n");
    free(text);
    CHECK(sk_rt_container_remove(F.rt, "user2", &e) == 0);

    c = fx_config(&F, "pod1", "user3", ARGS("true"), log, sizeof log);
    c.image_user = "nobody-here";
    CHECK(sk_rt_container_create(F.rt, &c, &e) < 0 && strstr(e.msg, "nobody-here"));
    sk_err_clear(&e);
    c = fx_config(&F, "pod1", "badcmd", ARGS("/bin/nope"), log, sizeof log);
    CHECK(sk_rt_container_create(F.rt, &c, &e) < 0 && strstr(e.msg, "nope"));
    sk_err_clear(&e);
    CHECK(sk_rt_container_status(F.rt, "badcmd", &st, &e) < 0 && e.code == SK_ENOTFOUND);
    return 0;
}

static int test_security(void)
{
    char log[256];
    struct sk_rt_container_config c = fx_config(
        &F, "pod1", "ro", ARGS("sh", "-c", "touch /x 2>/dev/null; echo rc=$?; touch /tmp/y 2>/dev/null; echo tmp=$?; "
                                           "echo w > /dev/shm/ok && echo shm=0"), log, sizeof log);
    c.readonly_rootfs = true;
    REQUIRE(fx_create_start(&F, &c) == 0);
    struct sk_rt_status st;
    REQUIRE(fx_wait_exit(&F, "ro", 10000, &st) == 0);
    sk_rt_status_release(&st);
    char *text = fx_log_text(log, "stdout");
    CHECK_STR(text, "rc=1\ntmp=1\nshm=0\n");
    free(text);

    /* drop ALL: no effective capabilities; default seccomp blocks unshare */
    c = fx_config(&F, "pod1", "caps", ARGS("sh", "-c", "grep CapEff /proc/self/status; unshare -U true 2>/dev/null; echo unshare=$?"), log, sizeof log);
    SETV(c, cap_drop, "ALL");
    c.no_new_privileges = true;
    REQUIRE(fx_create_start(&F, &c) == 0);
    REQUIRE(fx_wait_exit(&F, "caps", 10000, &st) == 0);
    sk_rt_status_release(&st);
    text = fx_log_text(log, "stdout");
    CHECK_STR(text, "CapEff:\t0000000000000000\nunshare=1\n");
    free(text);

    /* default set plus NET_ADMIN, minus CHOWN; unconfined seccomp allows unshare */
    c = fx_config(&F, "pod1", "caps2", ARGS("sh", "-c", "grep CapEff /proc/self/status"), log, sizeof log);
    SETV(c, cap_add, "NET_ADMIN");
    SETV(c, cap_drop, "CHOWN");
    REQUIRE(fx_create_start(&F, &c) == 0);
    REQUIRE(fx_wait_exit(&F, "caps2", 10000, &st) == 0);
    sk_rt_status_release(&st);
    text = fx_log_text(log, "stdout");
    CHECK_STR(text, "CapEff:\t00000000a80435fa\n");
    free(text);
    sk_err e = SK_ERR_INIT;
    const char *ids[] = {"ro", "caps", "caps2"};
    for (size_t i = 0; i < 3; i++) CHECK(sk_rt_container_remove(F.rt, ids[i], &e) == 0);
    return 0;
}

static long long cg_value(const char *hier, const char *cgpath, const char *file)
{
    char path[512];
    snprintf(path, sizeof path, "/sys/fs/cgroup/%s%s/%s", hier, cgpath, file);
    char *text = fx_slurp(path);
    long long v = text ? strtoll(text, NULL, 10) : -1;
    free(text);
    return v;
}

static int test_cgroup_limits(void)
{
    char log[256], cg[256];
    struct sk_rt_container_config c = fx_config(&F, "pod1", "limited", ARGS("sleep", "1000"), log, sizeof log);
    c.memory_limit = 48 << 20;
    c.cpu_quota = 50000;
    c.cpu_shares = 512;
    c.pids_limit = 64;
    REQUIRE(fx_create_start(&F, &c) == 0);
    snprintf(cg, sizeof cg, "%s/pod1-uid/limited", F.cgparent);
    CHECK_INT(cg_value("memory", cg, "memory.limit_in_bytes"), 48 << 20);
    CHECK_INT(cg_value("cpu", cg, "cpu.cfs_quota_us"), 50000);
    CHECK_INT(cg_value("cpu", cg, "cpu.cfs_period_us"), 100000);
    CHECK_INT(cg_value("cpu", cg, "cpu.shares"), 512);
    CHECK_INT(cg_value("pids", cg, "pids.max"), 64);
    sk_err e = SK_ERR_INIT;
    CHECK(sk_rt_container_remove(F.rt, "limited", &e) == 0);
    CHECK_INT(cg_value("memory", cg, "memory.limit_in_bytes"), -1);
    return 0;
}

static int test_log_rotation_and_tty(void)
{
    char log[256], path[300];
    struct sk_rt_container_config c =
        fx_config(&F, "pod1", "chatty", ARGS("sh", "-c", "seq 1 400; head -c 20000 /dev/zero | tr '\\0' a; echo"), log, sizeof log);
    c.log_max_size = 4096;
    c.log_max_files = 2;
    REQUIRE(fx_create_start(&F, &c) == 0);
    struct sk_rt_status st;
    REQUIRE(fx_wait_exit(&F, "chatty", 10000, &st) == 0);
    sk_rt_status_release(&st);
    snprintf(path, sizeof path, "%s.1", log);
    CHECK(access(path, F_OK) == 0);
    snprintf(path, sizeof path, "%s.2", log);
    CHECK(access(path, F_OK) == 0);
    snprintf(path, sizeof path, "%s.3", log);
    CHECK(access(path, F_OK) != 0);
    /* The 20000-char line: a 16 KiB P chunk, then the F rest. Each is
     * larger than the limit, so each went to a file of its own. */
    snprintf(path, sizeof path, "%s.1", log);
    char *raw1 = fx_slurp(path), *raw = fx_slurp(log);
    CHECK(raw1 && strstr(raw1, " stdout P aaaa") && raw && strstr(raw, " stdout F aaaa"));
    free(raw1);
    free(raw);
    char *p1 = fx_log_text(path, "stdout"), *p2 = fx_log_text(log, "stdout");
    CHECK(p1 && p2 && strlen(p1) + strlen(p2) == 20001 && strspn(p1, "a") == strlen(p1));
    free(p1);
    free(p2);
    char *text;

    c = fx_config(&F, "pod1", "term", ARGS("sh", "-c", "tty; echo hi"), log, sizeof log);
    c.terminal = true;
    REQUIRE(fx_create_start(&F, &c) == 0);
    REQUIRE(fx_wait_exit(&F, "term", 10000, &st) == 0);
    CHECK_INT(st.exit_code, 0);
    sk_rt_status_release(&st);
    text = fx_log_text(log, "stdout");
    CHECK(text && !strncmp(text, "/dev/pts/", 9) && strstr(text, "\nhi\n") && !strchr(text, '\r'));
    free(text);
    sk_err e = SK_ERR_INIT;
    CHECK(sk_rt_container_remove(F.rt, "chatty", &e) == 0);
    CHECK(sk_rt_container_remove(F.rt, "term", &e) == 0);
    return 0;
}

static int test_layers(void)
{
    char top[256], path[512], log[256];
    snprintf(top, sizeof top, "%s/top:layer", F.tmp);
    snprintf(path, sizeof path, "%s/etc", top);
    REQUIRE(mkdir(top, 0755) == 0 && mkdir(path, 0755) == 0);
    snprintf(path, sizeof path, "%s/etc/motd", top);
    fx_write(path, "from top\n");
    snprintf(path, sizeof path, "%s/etc/motd", F.layer);
    fx_write(path, "from base\n");
    snprintf(path, sizeof path, "%s/etc/base-only", F.layer);
    fx_write(path, "base\n");
    /* 52 layers, 5000+ bytes of names and a ':': only the new mount API copes */
    enum { FILLERS = 50 };
    static char names[FILLERS][200];
    const char *lowers[FILLERS + 2];
    lowers[0] = top;
    for (int i = 0; i < FILLERS; i++) {
        snprintf(names[i], sizeof names[i], "%s/filler-%02d-%0100d", F.tmp, i, 0);
        REQUIRE(mkdir(names[i], 0755) == 0);
        lowers[i + 1] = names[i];
    }
    lowers[FILLERS + 1] = F.layer;
    struct sk_rt_container_config c = fx_config(
        &F, "pod1", "layers", ARGS("sh", "-c", "cat /etc/motd /etc/base-only; echo new > /etc/motd; cat /etc/motd"), log, sizeof log);
    c.lower_dirs = lowers;
    c.n_lower = FILLERS + 2;
    REQUIRE(fx_create_start(&F, &c) == 0);
    struct sk_rt_status st;
    REQUIRE(fx_wait_exit(&F, "layers", 10000, &st) == 0);
    CHECK_INT(st.exit_code, 0);
    sk_rt_status_release(&st);
    char *text = fx_log_text(log, "stdout");
    CHECK_STR(text, "from top\nbase\nnew\n");
    free(text);
    snprintf(path, sizeof path, "%s/etc/motd", top);
    text = fx_slurp(path);
    CHECK_STR(text, "from top\n"); /* the write went to the upper dir */
    free(text);
    sk_err e = SK_ERR_INIT;
    CHECK(sk_rt_container_remove(F.rt, "layers", &e) == 0);
    return 0;
}

/* A sandbox joining another's netns by path, and a host-network one. */
static int test_netns_modes(void)
{
    char netns[256], log[256], out[256];
    snprintf(netns, sizeof netns, "%s/pod1", F.netns);
    struct stat pin;
    REQUIRE(stat(netns, &pin) == 0);
    sk_err e = SK_ERR_INIT;
    struct sk_rt_sandbox_config sc = {.id = "pod2", .hostname = "joiner", .netns_path = netns};
    struct sk_rt_sandbox_info info;
    REQUIRE(sk_rt_sandbox_create(F.rt, &sc, &info, &e) == 0);
    CHECK(!info.netns_owned && info.netns_path && !strcmp(info.netns_path, netns));
    sk_rt_sandbox_info_release(&info);
    struct sk_rt_container_config c = fx_config(&F, "pod2", "joined", ARGS("sh", "-c", "readlink /proc/self/ns/net; hostname"), log, sizeof log);
    REQUIRE(fx_create_start(&F, &c) == 0);
    struct sk_rt_status st;
    REQUIRE(fx_wait_exit(&F, "joined", 10000, &st) == 0);
    sk_rt_status_release(&st);
    char *text = fx_log_text(log, "stdout");
    snprintf(out, sizeof out, "net:[%llu]\njoiner\n", (unsigned long long)pin.st_ino);
    CHECK_STR(text, out);
    free(text);
    CHECK(sk_rt_sandbox_remove(F.rt, "pod2", &e) == 0);
    struct stat again;
    CHECK(stat(netns, &again) == 0 && again.st_ino == pin.st_ino); /* not ours to delete */

    sc = (struct sk_rt_sandbox_config){.id = "pod3", .hostname = "ignored", .host_network = true};
    REQUIRE(sk_rt_sandbox_create(F.rt, &sc, NULL, &e) == 0);
    c = fx_config(&F, "pod3", "hostnet", ARGS("hostname"), log, sizeof log);
    REQUIRE(fx_create_start(&F, &c) == 0);
    REQUIRE(fx_wait_exit(&F, "hostnet", 10000, &st) == 0);
    CHECK_INT(st.exit_code, 0);
    sk_rt_status_release(&st);
    char host[128];
    gethostname(host, sizeof host);
    snprintf(out, sizeof out, "%s\n", host);
    text = fx_log_text(log, "stdout");
    CHECK_STR(text, out);
    free(text);
    CHECK(sk_rt_sandbox_remove(F.rt, "pod3", &e) == 0);
    return 0;
}

static int test_list_and_sandbox_remove(void)
{
    char log[256];
    struct sk_rt_container_config c = fx_config(&F, "pod1", "left", ARGS("sleep", "1000"), log, sizeof log);
    REQUIRE(fx_create_start(&F, &c) == 0);
    struct sk_rt_status *list = NULL;
    size_t n = 0;
    sk_err e = SK_ERR_INIT;
    REQUIRE(sk_rt_list(F.rt, &list, &n, &e) == 0);
    int running = 0;
    for (size_t i = 0; i < n; i++) running += list[i].state == SK_RT_RUNNING;
    CHECK_INT(running, 1);
    sk_rt_status_list_free(list, n);
    struct sk_rt_sandbox_info *sbs = NULL;
    REQUIRE(sk_rt_sandbox_list(F.rt, &sbs, &n, &e) == 0);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_STR(sbs[0].hostname, "web-0");
        CHECK(sbs[0].netns_owned && sbs[0].netns_path && !strncmp(sbs[0].netns_path, F.netns, strlen(F.netns)));
    }
    sk_rt_sandbox_list_free(sbs, n);
    /* Removing the sandbox force-removes its containers. */
    CHECK(sk_rt_sandbox_remove(F.rt, "pod1", &e) == 0);
    CHECK(sk_rt_container_status(F.rt, "left", &(struct sk_rt_status){0}, &e) < 0 && e.code == SK_ENOTFOUND);
    CHECK(sk_rt_sandbox_remove(F.rt, "pod1", &e) == 0);
    return 0;
}

int main(void)
{
    fx_require();
    pid_t origin = getppid();
    sk_err err = SK_ERR_INIT;
    REQUIRE(fx_prepare(&F) == 0);
    F.rt = fx_init(&F, &err);
    if (!F.rt) fprintf(stderr, "init: %s\n", err.msg);
    REQUIRE(F.rt);
    CHECK(sk_rt_version(F.rt)[0]);
    CHECK_STR(sk_rt_warning(F.rt), "");
    struct sk_rt_sandbox_config sc = {.id = "pod1", .hostname = "web-0", .pod_uid = "pod1-uid",
                                      .resolv_conf = "nameserver 10.96.0.10\n"};
    CHECK(sk_rt_sandbox_create(F.rt, &sc, NULL, &err) == 0);
    CHECK(sk_rt_sandbox_create(F.rt, &sc, NULL, &err) < 0 && err.code == SK_EEXIST);
    int (*tests[])(void) = {test_exit_code_and_logs, test_create_started, test_stop_escalates, test_oom, test_shared_namespaces_and_exec,
                            test_user_env_cwd, test_security, test_cgroup_limits, test_log_rotation_and_tty,
                            test_layers, test_netns_modes, test_list_and_sandbox_remove};
    for (size_t i = 0; i < sizeof tests / sizeof *tests; i++) {
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (tests[i]()) test_failures++;
        fprintf(stderr, "test %zu: %.0f ms\n", i, fx_ms_since(&t0));
    }
    if (fx_teardown(&F, origin)) test_failures++;
    return test_done();
}

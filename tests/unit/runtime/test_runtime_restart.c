/* Agent restarts (root only, else exit 77). Agents run as re-executed
 * copies of this binary in the original mount namespace:
 *   A creates a sandbox and containers, then dies by SIGKILL;
 *   B adopts them: same containers, right states, logs still written,
 *     exec works, the created one can be started, ids stay unique;
 *   then the namespace pin is lost (as after a reboot) and this process,
 *   starting fresh, must clean every stale container, mount and cgroup. */
#include "test_runtime_fixture.h"

static struct fx F;

static const char *const ticker[] = {"sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done"};
static const char *const quick[] = {"sh", "-c", "echo bye; exit 7"};
static const char *const sleeper[] = {"sleep", "1000"};

static int agent_a(void)
{
    sk_err err = SK_ERR_INIT;
    char log[256];
    F.rt = fx_init(&F, &err);
    if (!F.rt) {
        fprintf(stderr, "agent A init: %s\n", err.msg);
        return 2;
    }
    if (fx_sandbox(&F, "pod", "restart-pod") < 0) return 3;
    struct sk_rt_container_config c = fx_config(&F, "pod", "ticker", ticker, 3, log, sizeof log);
    if (fx_create_start(&F, &c) < 0) return 4;
    c = fx_config(&F, "pod", "quick", quick, 3, log, sizeof log);
    if (fx_create_start(&F, &c) < 0) return 5;
    c = fx_config(&F, "pod", "pending", sleeper, 2, log, sizeof log);
    if (sk_rt_container_create(F.rt, &c, &err) < 0) return 6;
    struct sk_rt_status st;
    if (fx_wait_exit(&F, "quick", 10000, &st) < 0) return 7;
    sk_rt_status_release(&st);
    raise(SIGKILL);
    return 8;
}

static const struct sk_rt_status *find(const struct sk_rt_status *l, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(l[i].id, id)) return &l[i];
    return NULL;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int agent_b(void)
{
    sk_err err = SK_ERR_INIT;
    F.rt = fx_init(&F, &err);
    if (!F.rt) fprintf(stderr, "agent B init: %s\n", err.msg);
    REQUIRE(F.rt);
    struct sk_rt_status *l = NULL;
    size_t n = 0;
    REQUIRE(sk_rt_list(F.rt, &l, &n, &err) == 0);
    CHECK_INT(n, 3);
    const struct sk_rt_status *t = find(l, n, "ticker"), *q = find(l, n, "quick"), *p = find(l, n, "pending");
    REQUIRE(t && q && p);
    CHECK_INT(t->state, SK_RT_RUNNING);
    CHECK(t->pid > 0 && t->started_ms > 0);
    CHECK_INT(q->state, SK_RT_EXITED);
    CHECK_INT(q->exit_code, 7);
    CHECK_INT(p->state, SK_RT_CREATED);
    CHECK_STR(t->sandbox_id, "pod");
    char tick_log[256];
    snprintf(tick_log, sizeof tick_log, "%s", t->log_path);
    sk_rt_status_list_free(l, n);
    struct sk_rt_sandbox_info *sbs = NULL;
    REQUIRE(sk_rt_sandbox_list(F.rt, &sbs, &n, &err) == 0);
    CHECK(n == 1 && !strcmp(sbs[0].hostname, "restart-pod"));
    sk_rt_sandbox_list_free(sbs, n);

    long before = file_size(tick_log);
    usleep(400000);
    CHECK(file_size(tick_log) > before); /* the shim kept logging */
    char out[256];
    int code = -1;
    struct sk_rt_exec_config x = {.args = (const char *const[]){"hostname"}, .n_args = 1};
    CHECK(fx_exec(&F, "ticker", &x, out, sizeof out, &code) == 0);
    CHECK_STR(out, "restart-pod\n");
    CHECK(sk_rt_container_start(F.rt, "pending", &err) == 0);
    char log[256];
    struct sk_rt_container_config c = fx_config(&F, "pod", "ticker", ticker, 3, log, sizeof log);
    CHECK(sk_rt_container_create(F.rt, &c, &err) < 0 && err.code == SK_EEXIST);
    sk_rt_free(F.rt); /* exits leaving everything running */
    return test_done();
}

static int run_agent(const char *role)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", "test_runtime_restart", role, F.tmp, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return st;
}

int main(int argc, char **argv)
{
    if (argc == 3) {
        fx_paths(&F, argv[2]);
        return !strcmp(argv[1], "A") ? agent_a() : agent_b();
    }
    fx_require();
    pid_t origin = getppid();
    REQUIRE(fx_prepare(&F) == 0);
    int st = run_agent("A");
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    st = run_agent("B");
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* Lose the pin: the next agent gets a fresh namespace. */
    char pin[256];
    snprintf(pin, sizeof pin, "%s/ns/mnt", F.root);
    CHECK(umount2(pin, MNT_DETACH) == 0);
    sk_err err = SK_ERR_INIT;
    F.rt = fx_init(&F, &err);
    if (!F.rt) fprintf(stderr, "fresh init: %s\n", err.msg);
    REQUIRE(F.rt);
    CHECK_STR(sk_rt_warning(F.rt), ""); /* the stale state was removed cleanly */
    struct sk_rt_status *l = NULL;
    size_t n = 9;
    CHECK(sk_rt_list(F.rt, &l, &n, &err) == 0 && n == 0);
    sk_rt_status_list_free(l, n);
    struct sk_rt_sandbox_info *sbs = NULL;
    CHECK(sk_rt_sandbox_list(F.rt, &sbs, &n, &err) == 0 && n == 0);
    sk_rt_sandbox_list_free(sbs, n);
    if (fx_teardown(&F, origin)) test_failures++;
    return test_done();
}

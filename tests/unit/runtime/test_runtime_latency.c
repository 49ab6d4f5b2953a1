/* Latency of running `true` through sk_rt (create + start + exit recorded,
 * then remove) beside raw `crun run` of the same OCI config on the same
 * rootfs (the physical floor), in the same namespace. Root only, else 77.
 * First, crun must run from the runtime's read-only mount. Prints medians;
 * asserts only that everything ran and was cleaned. Last, with the shim
 * zygote killed, shims must still start (agent fallback). */
#include "runtime/runtime_int.h"
#include "test_runtime_fixture.h"

#include <sys/statvfs.h>
#include <sys/wait.h>

#define RUNS 20

static struct fx F;

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    printf("%-44s median %6.1f ms  p90 %6.1f ms  min %6.1f  max %6.1f\n", what, v[n / 2], v[n * 9 / 10], v[0], v[n - 1]);
}

/* Bundle for raw crun: our config of the same container, rootfs = the layer. */
static int raw_bundle(const char *bundle)
{
    char log[256], path[512];
    const char *args[] = {"true"};
    struct sk_rt_container_config c = fx_config(&F, "pod", "tmpl", args, 1, log, sizeof log);
    sk_err err = SK_ERR_INIT;
    if (sk_rt_container_create(F.rt, &c, &err) < 0) return -1;
    snprintf(path, sizeof path, "%s/run/containers/tmpl/config.json", F.root);
    json_t *oci = rt_json_load(path, &err);
    if (!oci || sk_rt_container_remove(F.rt, "tmpl", &err) < 0) return -1;
    json_object_set_new(json_object_get(oci, "root"), "path", json_string(F.layer));
    json_object_set_new(json_object_get(oci, "root"), "readonly", json_true());
    snprintf(path, sizeof path, "%s/pod/raw", F.cgparent);
    json_object_set_new(json_object_get(oci, "linux"), "cgroupsPath", json_string(path));
    mkdir(bundle, 0700);
    snprintf(path, sizeof path, "%s/config.json", bundle);
    int rc = rt_json_save(path, oci, &err);
    json_decref(oci);
    return rc;
}

/* crun runs from a read-only mount of itself, with the variable that
 * tells it so: it cannot be written through, and crun does not clone
 * itself again (no second exec: one execve per call). */
static void check_crun_ro(void)
{
    const char *exe = F.rt->crun_exe;
    size_t n = strlen(exe);
    CHECK(n > 9 && !strcmp(exe + n - 9, "/bin/crun") && strcmp(exe, F.rt->crun));
    struct statvfs vfs;
    CHECK(statvfs(exe, &vfs) == 0 && (vfs.f_flag & ST_RDONLY));
    CHECK(open(exe, O_WRONLY | O_CLOEXEC) < 0 && errno == EROFS);
    CHECK_STR(getenv("_LIBCONTAINER_CLONED_BINARY") ? getenv("_LIBCONTAINER_CLONED_BINARY") : "", "1");
    char trace[512];
    snprintf(trace, sizeof trace,
             "command -v strace >/dev/null || exit 77; strace -f -e trace=execve,execveat -o %s/exec.trace %s --version "
             ">/dev/null && test $(grep -c 'execve' %s/exec.trace) = 1",
             F.tmp, exe, F.tmp);
    int rc = system(trace);
    if (WEXITSTATUS(rc) != 77) CHECK_INT(WEXITSTATUS(rc), 0);
    const char *argv[] = {F.rt->crun, "--version", NULL};
    sk_buf out = SK_BUF_INIT;
    sk_err e = SK_ERR_INIT;
    CHECK_INT(rt_run(exe, argv, 10000, &out, &e), 0);
    CHECK(out.data && strstr(out.data, "crun version"));
    sk_buf_release(&out);
}

int main(void)
{
    fx_require();
    pid_t origin = getppid();
    sk_err err = SK_ERR_INIT;
    REQUIRE(fx_prepare(&F) == 0);
    F.rt = fx_init(&F, &err);
    REQUIRE(F.rt);
    check_crun_ro();
    REQUIRE(fx_sandbox(&F, "pod", "bench") == 0);
    char bundle[256], state[256];
    snprintf(bundle, sizeof bundle, "%s/bundle", F.tmp);
    snprintf(state, sizeof state, "%s/rawstate", F.tmp);
    REQUIRE(raw_bundle(bundle) == 0);

    /* Interleaved, so load from elsewhere hits both sides alike. */
    double raw[RUNS], up[RUNS], total[RUNS], rm[RUNS];
    for (int i = 0; i < RUNS; i++) {
        char id[32], log[256];
        snprintf(id, sizeof id, "raw%d", i);
        const char *argv[] = {F.rt->crun, "--root", state, "run", "--bundle", bundle, id, NULL};
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        CHECK_INT(rt_run(F.rt->crun, argv, 30000, NULL, &err), 0);
        raw[i] = fx_ms_since(&t0);

        const char *args[] = {"true"};
        snprintf(id, sizeof id, "c%d", i);
        struct sk_rt_container_config c = fx_config(&F, "pod", id, args, 1, log, sizeof log);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        REQUIRE(fx_create_start(&F, &c) == 0);
        up[i] = fx_ms_since(&t0);
        struct sk_rt_status st;
        REQUIRE(fx_wait_exit(&F, id, 10000, &st) == 0);
        total[i] = fx_ms_since(&t0);
        CHECK_INT(st.exit_code, 0);
        sk_rt_status_release(&st);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        CHECK(sk_rt_container_remove(F.rt, id, &err) == 0);
        rm[i] = fx_ms_since(&t1);
    }
    printf("crun %s, %d runs of `true` in a pod sandbox with cgroups:\n", sk_rt_version(F.rt), RUNS);
    report("raw crun run (same config, no overlay)", raw, RUNS);
    report("sk_rt create+start (process running)", up, RUNS);
    report("sk_rt create+start+exit recorded", total, RUNS);
    report("sk_rt remove (crun delete, umount, rm)", rm, RUNS);
    /* Without the zygote the agent forks shims itself. */
    REQUIRE(F.rt->zygote_pid > 0);
    kill(F.rt->zygote_pid, SIGKILL);
    waitpid(F.rt->zygote_pid, NULL, 0);
    {
        char log[256];
        const char *args[] = {"sh", "-c", "exit 4"};
        struct sk_rt_container_config c = fx_config(&F, "pod", "nozygote", args, 3, log, sizeof log);
        REQUIRE(fx_create_start(&F, &c) == 0);
        struct sk_rt_status st;
        REQUIRE(fx_wait_exit(&F, "nozygote", 10000, &st) == 0);
        CHECK_INT(st.exit_code, 4);
        sk_rt_status_release(&st);
        CHECK(sk_rt_container_remove(F.rt, "nozygote", &err) == 0);
    }
    char cg[256];
    snprintf(cg, sizeof cg, "%s/pod/raw", F.cgparent);
    rt_cgroup_rmdir(F.rt, cg);
    snprintf(cg, sizeof cg, "rm -rf %s", state);
    CHECK(system(cg) == 0);
    if (fx_teardown(&F, origin)) test_failures++;
    return test_done();
}

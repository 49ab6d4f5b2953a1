/* Runtime pieces that need no root: OCI config generation, capabilities,
 * seccomp, passwd/group parsing, CRI log format and rotation, ids. */
#include "runtime/runtime_int.h"
#include "unit/test.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char *str_at(json_t *arr, size_t i)
{
    return json_string_value(json_array_get(arr, i));
}

static bool array_has(json_t *arr, const char *s)
{
    for (size_t i = 0; i < json_array_size(arr); i++)
        if (str_at(arr, i) && !strcmp(str_at(arr, i), s)) return true;
    return false;
}

static json_t *find_mount(json_t *doc, const char *dst)
{
    json_t *m = json_object_get(doc, "mounts");
    for (size_t i = 0; i < json_array_size(m); i++)
        if (!strcmp(sk_json_str(json_array_get(m, i), "destination"), dst)) return json_array_get(m, i);
    return NULL;
}

static struct rt_sandbox sandbox(void)
{
    static char *sysctls[] = {"net.core.somaxconn=1024", "kernel.shm_rmid_forced=1"};
    return (struct rt_sandbox){.id = "sb", .hostname = "web-0", .pod_uid = "uid1", .netns_path = "/run/netns/sb",
                               .dir = "/r/pods/sb", .sysctls = sysctls, .n_sysctls = 2};
}

static int test_oci_defaults(void)
{
    const char *args[] = {"/app", "--x"}, *env[] = {"A=1", "PATH=/bin"};
    struct sk_rt_mount mounts[] = {{"/data/v/sub", "/vol/sub", true}, {"/data/v", "/vol", false},
                                   {"/data/h", "/etc/hosts", true}};
    struct sk_rt_container_config c = {.id = "c1", .args = args, .n_args = 2, .env = env, .n_env = 2,
                                       .mounts = mounts, .n_mounts = 3, .memory_limit = 1 << 25, .cpu_quota = 20000,
                                       .pids_limit = 10, .no_new_privileges = true, .oom_score_adj = 500};
    struct rt_sandbox sb = sandbox();
    struct rt_user u = {.uid = 1000, .gid = 2000, .gids = {3000}, .n_gids = 1};
    sk_err err = SK_ERR_INIT;
    _sk_json_ json_t *doc = rt_oci_config(&c, &sb, &u, "/r/c1/rootfs", "/kubepods/uid1/c1", &err);
    if (!doc) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    CHECK_INT(json_integer_value(sk_json_path(doc, "process.user.uid")), 1000);
    CHECK_INT(json_integer_value(json_array_get(sk_json_path(doc, "process.user.additionalGids"), 0)), 3000);
    json_t *penv = sk_json_path(doc, "process.env");
    CHECK(array_has(penv, "HOSTNAME=web-0") && array_has(penv, "A=1") && array_has(penv, "PATH=/bin"));
    CHECK_INT(json_array_size(penv), 3); /* PATH given: no default one */
    CHECK(json_is_true(sk_json_path(doc, "process.noNewPrivileges")));
    CHECK_INT(json_integer_value(sk_json_path(doc, "process.oomScoreAdj")), 500);
    json_t *bnd = sk_json_path(doc, "process.capabilities.bounding");
    CHECK_INT(json_array_size(bnd), 14);
    CHECK(array_has(bnd, "CAP_NET_BIND_SERVICE") && !array_has(bnd, "CAP_SYS_ADMIN"));
    CHECK_STR(sk_json_path_str(doc, "linux.cgroupsPath"), "/kubepods/uid1/c1");
    CHECK_INT(json_integer_value(sk_json_path(doc, "linux.resources.memory.limit")), 1 << 25);
    CHECK_INT(json_integer_value(sk_json_path(doc, "linux.resources.cpu.period")), 100000);
    CHECK_INT(json_integer_value(sk_json_path(doc, "linux.resources.pids.limit")), 10);
    json_t *sys = sk_json_path(doc, "linux.sysctl");
    CHECK_STR(sk_json_str(sys, "net.core.somaxconn"), "1024");
    CHECK_STR(sk_json_str(sys, "net.ipv4.ip_unprivileged_port_start"), "0");
    json_t *ns = sk_json_path(doc, "linux.namespaces");
    CHECK_INT(json_array_size(ns), 5);
    bool net = false;
    for (size_t i = 0; i < json_array_size(ns); i++)
        if (!strcmp(sk_json_str(json_array_get(ns, i), "type"), "network"))
            net = !strcmp(sk_json_str(json_array_get(ns, i), "path"), "/run/netns/sb");
    CHECK(net);
    CHECK(json_array_size(sk_json_path(doc, "linux.maskedPaths")) > 5);
    json_t *blocked = json_object_get(json_array_get(sk_json_path(doc, "linux.seccomp.syscalls"), 0), "names");
    CHECK(array_has(blocked, "mount") && array_has(blocked, "kexec_load") && !array_has(blocked, "read"));
    CHECK_STR(sk_json_path_str(doc, "linux.seccomp.defaultAction"), "SCMP_ACT_ALLOW");
    /* user mounts: /etc/hosts shadows the sandbox file; parents before children */
    json_t *hosts = find_mount(doc, "/etc/hosts");
    CHECK_STR(sk_json_str(hosts, "source"), "/data/h");
    CHECK_STR(sk_json_str(find_mount(doc, "/etc/hostname"), "source"), "/r/pods/sb/hostname");
    CHECK_STR(sk_json_str(find_mount(doc, "/dev/shm"), "source"), "/r/pods/sb/shm");
    json_t *m = json_object_get(doc, "mounts");
    size_t ivol = 0, isub = 0;
    for (size_t i = 0; i < json_array_size(m); i++) {
        const char *d = sk_json_str(json_array_get(m, i), "destination");
        if (!strcmp(d, "/vol")) ivol = i;
        if (!strcmp(d, "/vol/sub")) isub = i;
    }
    CHECK(ivol && isub && ivol < isub);
    CHECK(array_has(json_object_get(find_mount(doc, "/vol/sub"), "options"), "ro"));
    return 0;
}

static int test_oci_variants(void)
{
    const char *args[] = {"sh"}, *add[] = {"sys_admin"}, *drop[] = {"ALL"}, *bad[] = {"CAP_BOGUS"};
    struct rt_sandbox sb = sandbox();
    sb.host_network = true;
    struct rt_user u = {0};
    sk_err err = SK_ERR_INIT;
    struct sk_rt_container_config c = {.id = "c2", .args = args, .n_args = 1, .cap_add = add, .n_cap_add = 1,
                                       .cap_drop = drop, .n_cap_drop = 1, .terminal = true};
    _sk_json_ json_t *doc = rt_oci_config(&c, &sb, &u, "/r", "/k/c2", &err);
    if (!doc) fprintf(stderr, "%s\n", err.msg);
    REQUIRE(doc);
    json_t *bnd = sk_json_path(doc, "process.capabilities.bounding");
    CHECK_INT(json_array_size(bnd), 1);
    CHECK(array_has(bnd, "CAP_SYS_ADMIN"));
    /* with CAP_SYS_ADMIN mount is no longer blocked */
    CHECK(!array_has(json_object_get(json_array_get(sk_json_path(doc, "linux.seccomp.syscalls"), 0), "names"), "mount"));
    CHECK(array_has(sk_json_path(doc, "process.env"), "TERM=xterm"));
    CHECK_INT(json_array_size(sk_json_path(doc, "linux.namespaces")), 3); /* mount, pid, ipc */
    json_t *sys = sk_json_path(doc, "linux.sysctl");
    CHECK(!sk_json_str(sys, "net.core.somaxconn") && !sk_json_str(sys, "net.ipv4.ping_group_range"));
    CHECK_STR(sk_json_str(sys, "kernel.shm_rmid_forced"), "1");

    c.privileged = true;
    json_t *p = rt_oci_config(&c, &sb, &u, "/r", "/k/c2", &err);
    CHECK(p && json_array_size(sk_json_path(p, "process.capabilities.bounding")) == 41);
    CHECK(p && !sk_json_path(p, "linux.seccomp") && !sk_json_path(p, "linux.maskedPaths"));
    CHECK(p && json_is_true(json_object_get(json_array_get(sk_json_path(p, "linux.resources.devices"), 0), "allow")));
    json_decref(p);

    c.privileged = false;
    c.cap_add = bad;
    CHECK(!rt_oci_config(&c, &sb, &u, "/r", "/k", &err) && err.code == SK_EINVALID);
    const char *bad_env[] = {"NOEQUALS"};
    struct sk_rt_container_config c3 = {.id = "c3", .args = args, .n_args = 1, .env = bad_env, .n_env = 1};
    CHECK(!rt_oci_config(&c3, &sb, &u, "/r", "/k", &err));
    struct sk_rt_mount esc = {"/a/../../etc", "/x", false};
    struct sk_rt_container_config c4 = {.id = "c4", .args = args, .n_args = 1, .mounts = &esc, .n_mounts = 1};
    CHECK(!rt_oci_config(&c4, &sb, &u, "/r", "/k", &err));
    struct sk_rt_container_config c5 = {.id = "c5"};
    CHECK(!rt_oci_config(&c5, &sb, &u, "/r", "/k", &err));
    return 0;
}

static int test_passwd(void)
{
    const char *pw = "# comment\nroot:x:0:0:root:/root:/bin/sh\nbroken line\nweird:x:abc:1\n"
                     "app:x:1001:1002:App:/home/app:/bin/sh\nbig:x:99999999999:1\nnoshell:x:7:8";
    const char *gr = "root:x:0:\nstaff:x:50:app,bob\nother:x:60:bob\napp:x:1002:\nmany:x:70:x,app";
    uint32_t uid = 9, gid = 9;
    char name[32];
    CHECK(rt_passwd_find(pw, "app", -1, &uid, &gid, name, sizeof name) == 0);
    CHECK_INT(uid, 1001);
    CHECK_INT(gid, 1002);
    CHECK(rt_passwd_find(pw, NULL, 0, &uid, &gid, name, sizeof name) == 0);
    CHECK_STR(name, "root");
    CHECK(rt_passwd_find(pw, "weird", -1, &uid, &gid, NULL, 0) < 0);
    CHECK(rt_passwd_find(pw, "big", -1, &uid, &gid, NULL, 0) < 0);
    CHECK(rt_passwd_find(pw, "noshell", -1, &uid, &gid, NULL, 0) == 0 && uid == 7 && gid == 8);
    CHECK(rt_passwd_find("", "x", -1, &uid, &gid, NULL, 0) < 0);
    CHECK(rt_group_find(gr, "staff", &gid) == 0 && gid == 50);
    CHECK(rt_group_find(gr, "nope", &gid) < 0);
    uint32_t g[8];
    size_t n = rt_group_member_gids(gr, "app", 1002, g, 8);
    CHECK_INT(n, 2);
    CHECK(n == 2 && g[0] == 50 && g[1] == 70);
    CHECK_INT(rt_group_member_gids(gr, "app", 1002, g, 1), 1);
    return 0;
}

static int test_cri_log(void)
{
    char ts[40];
    rt_cri_timestamp(1767323045123456789LL, ts, sizeof ts);
    CHECK_STR(ts, "2026-01-02T03:04:05.123456789Z");
    rt_cri_timestamp(951782400000000001LL, ts, sizeof ts); /* leap day 2000 */
    CHECK_STR(ts, "2000-02-29T00:00:00.000000001Z");
    rt_cri_timestamp(0, ts, sizeof ts);
    CHECK_STR(ts, "1970-01-01T00:00:00.000000000Z");

    char dir[] = "/tmp/skrtlog-XXXXXX";
    REQUIRE(mkdtemp(dir));
    char path[128], p1[140];
    snprintf(path, sizeof path, "%s/0.log", dir);
    snprintf(p1, sizeof p1, "%s.1", path);
    static struct rt_log l;
    memset(&l, 0, sizeof l);
    REQUIRE(rt_log_open(&l, path, 250, 1) == 0);
    int64_t t = 1767323045000000000LL;
    rt_log_feed(&l, 0, "one\ntw", 6, t);
    rt_log_feed(&l, 1, "err\n", 4, t);
    rt_log_feed(&l, 0, "o\n\nthree", 8, t);
    rt_log_flush(&l, 0, t);
    rt_log_flush(&l, 1, t); /* nothing pending */
    rt_log_close(&l);
    sk_err err = SK_ERR_INIT;
    char *text = sk_read_file(path, NULL, &err);
    CHECK_STR(text, "2026-01-02T03:04:05.000000000Z stdout F one\n"
                    "2026-01-02T03:04:05.000000000Z stderr F err\n"
                    "2026-01-02T03:04:05.000000000Z stdout F two\n"
                    "2026-01-02T03:04:05.000000000Z stdout F \n"
                    "2026-01-02T03:04:05.000000000Z stdout F three\n");
    free(text);
    /* rotation: the 6th line does not fit in 250 bytes */
    REQUIRE(rt_log_open(&l, path, 250, 1) == 0);
    rt_log_feed(&l, 0, "four\n", 5, t);
    rt_log_close(&l);
    text = sk_read_file(path, NULL, &err);
    CHECK_STR(text, "2026-01-02T03:04:05.000000000Z stdout F four\n");
    free(text);
    CHECK(access(p1, F_OK) == 0);
    /* a long line: one P chunk of RT_LOG_LINE_MAX, then F */
    REQUIRE(rt_log_open(&l, path, 0, 1) == 0);
    static char big[RT_LOG_LINE_MAX + 11];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\n';
    rt_log_feed(&l, 1, big, sizeof big, t);
    l.strip_cr = true;
    rt_log_feed(&l, 0, "tty\r\n", 5, t);
    rt_log_close(&l);
    text = sk_read_file(path, NULL, &err);
    REQUIRE(text);
    char *p = strstr(text, " stderr P x");
    CHECK(p && strstr(p, "xxxx\n2026-01-02T03:04:05.000000000Z stderr F xxxxxxxxxx\n"));
    CHECK(strstr(text, "stdout F tty\n"));
    free(text);
    unlink(path);
    unlink(p1);
    rmdir(dir);
    return 0;
}

static int test_misc(void)
{
    CHECK(rt_id_ok("abc-1.2_3"));
    CHECK(!rt_id_ok("-abc"));
    CHECK(!rt_id_ok("a/b"));
    CHECK(!rt_id_ok(".."));
    CHECK(!rt_id_ok(""));
    CHECK(!rt_id_ok(NULL));
    char longid[80];
    memset(longid, 'a', sizeof longid - 1);
    longid[79] = 0;
    CHECK(!rt_id_ok(longid));
    long long v = 0;
    CHECK(rt_kv_get("a=1\nexit_code=137\n", "exit_code", '=', &v) && v == 137);
    CHECK(!rt_kv_get("exit_codex=1\n", "exit_code", '=', &v));
    CHECK(rt_kv_get("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n", "oom_kill", ' ', &v) && v == 3);
    CHECK(!rt_kv_get("oom_kill x\n", "oom_kill", ' ', &v));
    CHECK(rt_proc_alive(getpid(), rt_proc_starttime(getpid())));
    CHECK(!rt_proc_alive(getpid(), rt_proc_starttime(getpid()) + 1));
    CHECK(!rt_proc_alive(-1, 0));
    return 0;
}

int main(void)
{
    if (test_oci_defaults()) test_failures++;
    if (test_oci_variants()) test_failures++;
    if (test_passwd()) test_failures++;
    if (test_cri_log()) test_failures++;
    if (test_misc()) test_failures++;
    return test_done();
}

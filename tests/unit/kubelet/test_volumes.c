/* Volumes without root or a server (volumes*.c): payloads, the atomic
 * writer, configMap/secret/downwardAPI/projected setup through a table
 * getter, hostPath checks, container mounts with subPath, teardown.
 * (Volumes that mount tmpfs are exercised in test_volumes_tmpfs.c; here,
 * when unprivileged, secret volumes fall back to plain directories.) */
#include "kubelet/volumes_int.h"
#include "unit/test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#define REQUIRE_V(c) do { if (!(c)) { fprintf(stderr, "%s:%d: REQUIRE failed: %s (%s)\n", __FILE__, __LINE__, #c, err.msg); test_failures++; return; } } while (0)

static char tmp[64];
static json_t *objects;

static json_t *fake_get(void *ud, const char *kind, const char *ns, const char *name, sk_err *err)
{
    (void)ud;
    char key[256];
    snprintf(key, sizeof key, "%s/%s/%s", kind, ns, name);
    json_t *o = json_object_get(objects, key);
    if (!o) {
        sk_err_set(err, SK_ENOTFOUND, "%s \"%s\" not found", kind, name);
        return NULL;
    }
    return json_incref(o);
}

static json_t *load(const char *s)
{
    json_error_t je;
    json_t *j = json_loads(s, 0, &je);
    if (!j) fprintf(stderr, "bad test JSON: %s: %s\n", je.text, s);
    return j;
}

static char *slurp(const char *path)
{
    sk_err err = SK_ERR_INIT;
    return sk_read_file(path, NULL, &err);
}

static int mode_at(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static bool file_is(const char *path, const char *want)
{
    char *s = slurp(path);
    bool ok = s && !strcmp(s, want);
    if (!ok) fprintf(stderr, "%s: got \"%s\", want \"%s\"\n", path, s ? s : "(none)", want);
    free(s);
    return ok;
}

static void test_payloads(void)
{
    sk_err err = SK_ERR_INIT;
    struct sk_kl_payload p = {0};
    json_t *cm = json_object_get(objects, "configmap/ns/cfg");
    REQUIRE_V(sk_kl_payload_keys(cm, false, NULL, 0644, false, &p, &err) == 0);
    CHECK_INT(p.n, 3); /* data + binaryData */
    sk_kl_payload_release(&p);

    json_t *items = load("[{\"key\":\"game.properties\",\"path\":\"conf/game\",\"mode\":256},"
                         "{\"key\":\"bin\",\"path\":\"./b.bin\"}]");
    REQUIRE_V(sk_kl_payload_keys(cm, false, items, 0600, false, &p, &err) == 0);
    REQUIRE_V(p.n == 2);
    CHECK_STR(p.v[0].path, "conf/game");
    CHECK_INT(p.v[0].mode, 0400);
    CHECK_STR(p.v[1].path, "b.bin");
    CHECK_INT(p.v[1].mode, 0600);
    CHECK(p.v[1].len == 3 && !memcmp(p.v[1].data, "\x01\x00\x02", 3));
    sk_kl_payload_release(&p);
    json_decref(items);

    items = load("[{\"key\":\"nope\",\"path\":\"x\"}]");
    CHECK(sk_kl_payload_keys(cm, false, items, 0644, false, &p, &err) < 0);
    CHECK_STR(err.msg, "configmap references non-existent config key: nope");
    sk_kl_payload_release(&p);
    CHECK(sk_kl_payload_keys(cm, false, items, 0644, true, &p, &err) == 0 && p.n == 0);
    CHECK(sk_kl_payload_keys(json_object_get(objects, "secret/ns/sec"), true, items, 0644, false, &p, &err) < 0);
    CHECK_STR(err.msg, "references non-existent secret key: nope");
    sk_kl_payload_release(&p);
    json_decref(items);

    static const char *bad[][2] = {
        {"/abs", "invalid path: must be relative path: /abs"},
        {"a/../b", "invalid path: must not contain '..': a/../b"},
        {"..data/x", "invalid path: must not start with '..': ..data/x"},
        {"", "invalid path: must not be empty: \"\""},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(bad); i++) {
        CHECK(sk_kl_payload_put(&p, bad[i][0], sk_strdup("x"), 1, 0644, &err) < 0);
        CHECK_STR(err.msg, bad[i][1]);
    }
    CHECK(sk_kl_payload_put(&p, "ok..name", sk_strdup("x"), 1, 0644, &err) == 0);
    sk_kl_payload_release(&p);

    json_t *pod = load("{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\",\"labels\":{\"b\":\"2\",\"a\":\"1\"}},"
                       "\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{\"memory\":\"2Mi\"}}}]}}");
    items = load("[{\"path\":\"labels\",\"fieldRef\":{\"fieldPath\":\"metadata.labels\"}},"
                 "{\"path\":\"name\",\"fieldRef\":{\"fieldPath\":\"metadata.name\"},\"mode\":384},"
                 "{\"path\":\"mem\",\"resourceFieldRef\":{\"containerName\":\"c\",\"resource\":\"limits.memory\",\"divisor\":\"1Ki\"}}]");
    REQUIRE_V(sk_kl_payload_downward(pod, items, 0644, &p, &err) == 0);
    REQUIRE_V(p.n == 3);
    CHECK_STR(p.v[0].data, "a=\"1\"\nb=\"2\"");
    CHECK_STR(p.v[1].data, "p");
    CHECK_INT(p.v[1].mode, 0600);
    CHECK_STR(p.v[2].data, "2048");
    sk_kl_payload_release(&p);
    json_decref(items);
    /* Volumes answer only metadata fields. */
    items = load("[{\"path\":\"ip\",\"fieldRef\":{\"fieldPath\":\"status.podIP\"}}]");
    CHECK(sk_kl_payload_downward(pod, items, 0644, &p, &err) < 0);
    CHECK_STR(err.msg, "unsupported fieldPath: status.podIP");
    sk_kl_payload_release(&p);
    json_decref(items);
    json_decref(pod);
}

static void test_writer(void)
{
    sk_err err = SK_ERR_INIT;
    char dir[128], path[256], link[256];
    snprintf(dir, sizeof dir, "%s/aw", tmp);
    struct sk_kl_payload p = {0};
    bool changed;
    REQUIRE_V(sk_kl_payload_put(&p, "a", sk_strdup("one"), 3, 0644, &err) == 0);
    REQUIRE_V(sk_kl_payload_put(&p, "sub/b", sk_strdup("two"), 3, 0600, &err) == 0);
    REQUIRE_V(sk_kl_payload_put(&p, "gone", sk_strdup("x"), 1, 0644, &err) == 0);
    REQUIRE_V(sk_kl_atomic_write(dir, &p, -1, &changed, &err) == 0);
    CHECK(changed);
    snprintf(path, sizeof path, "%s/..data", dir);
    ssize_t n = readlink(path, link, sizeof link - 1);
    REQUIRE_V(n > 0);
    link[n] = 0;
    CHECK(!strncmp(link, "..20", 4) && strlen(link) == strlen("..2026_11_28_20_34_17.XXXXXX"));
    char first[256];
    snprintf(first, sizeof first, "%s", link);
    snprintf(path, sizeof path, "%s/a", dir);
    n = readlink(path, link, sizeof link - 1);
    CHECK(n > 0 && (link[n] = 0, !strcmp(link, "..data/a")));
    snprintf(path, sizeof path, "%s/sub", dir);
    n = readlink(path, link, sizeof link - 1);
    CHECK(n > 0 && (link[n] = 0, !strcmp(link, "..data/sub")));
    snprintf(path, sizeof path, "%s/sub/b", dir);
    CHECK(file_is(path, "two"));
    CHECK_INT(mode_at(path), 0600);
    snprintf(path, sizeof path, "%s/a", dir);
    CHECK_INT(mode_at(path), 0644);

    /* Same content: nothing written. */
    REQUIRE_V(sk_kl_atomic_write(dir, &p, -1, &changed, &err) == 0);
    CHECK(!changed);
    /* A mode change alone is applied too. */
    p.v[0].mode = 0640;
    REQUIRE_V(sk_kl_atomic_write(dir, &p, -1, &changed, &err) == 0);
    CHECK(changed);
    CHECK_INT(mode_at(path), 0640);

    /* Update: new content, one name dropped, the old ts dir removed. */
    sk_kl_payload_release(&p);
    REQUIRE_V(sk_kl_payload_put(&p, "a", sk_strdup("uno"), 3, 0644, &err) == 0);
    REQUIRE_V(sk_kl_payload_put(&p, "sub/b", sk_strdup("two"), 3, 0600, &err) == 0);
    int hold = open(path, O_RDONLY); /* a reader keeps its old view */
    REQUIRE_V(sk_kl_atomic_write(dir, &p, -1, &changed, &err) == 0);
    CHECK(changed);
    CHECK(file_is(path, "uno"));
    char old[8] = "";
    CHECK(hold >= 0 && read(hold, old, 3) == 3 && !strcmp(old, "one"));
    if (hold >= 0) close(hold);
    snprintf(path, sizeof path, "%s/gone", dir);
    struct stat st;
    CHECK(lstat(path, &st) < 0 && errno == ENOENT);
    snprintf(path, sizeof path, "%s/%s", dir, first);
    CHECK(lstat(path, &st) < 0 && errno == ENOENT);
    /* Exactly: a, sub, ..data, one ts dir. */
    int entries = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d) closedir(d);
    CHECK_INT(entries, 4);

    /* A file dropped below a kept top-level directory goes too. */
    sk_kl_payload_release(&p);
    REQUIRE_V(sk_kl_payload_put(&p, "sub/b", sk_strdup("two"), 3, 0600, &err) == 0);
    REQUIRE_V(sk_kl_payload_put(&p, "sub/c", sk_strdup("three"), 5, 0600, &err) == 0);
    REQUIRE_V(sk_kl_atomic_write(dir, &p, -1, &changed, &err) == 0);
    CHECK(changed);
    p.n = 1;
    REQUIRE_V(sk_kl_atomic_write(dir, &p, -1, &changed, &err) == 0);
    p.n = 2;
    CHECK(changed);
    snprintf(path, sizeof path, "%s/sub/c", dir);
    CHECK(access(path, F_OK) < 0);

    /* An empty payload (optional and missing) still swaps in an empty dir. */
    sk_kl_payload_release(&p);
    REQUIRE_V(sk_kl_atomic_write(dir, &p, -1, &changed, &err) == 0);
    snprintf(path, sizeof path, "%s/a", dir);
    CHECK(lstat(path, &st) < 0);
}

static json_t *make_pod(const char *uid, const char *volumes, const char *extra)
{
    char buf[8192];
    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\",\"uid\":\"%s\",\"labels\":{\"app\":\"x\"}},"
             "\"spec\":{\"volumes\":%s,\"containers\":[{\"name\":\"c\"}]%s}}",
             uid, volumes, extra ? extra : "");
    return load(buf);
}

static void test_setup(void)
{
    sk_err err = SK_ERR_INIT;
    char base[128], path[512];
    snprintf(base, sizeof base, "%s/pods/u1/volumes", tmp);
    json_t *pod = make_pod("u1",
        "[{\"name\":\"cfg\",\"configMap\":{\"name\":\"cfg\",\"defaultMode\":288}},"
        " {\"name\":\"sec\",\"secret\":{\"secretName\":\"sec\",\"items\":[{\"key\":\"pw\",\"path\":\"d/pw\",\"mode\":256}]}},"
        " {\"name\":\"optsec\",\"secret\":{\"secretName\":\"absent\",\"optional\":true}},"
        " {\"name\":\"dapi\",\"downwardAPI\":{\"items\":[{\"path\":\"labels\",\"fieldRef\":{\"fieldPath\":\"metadata.labels\"}}]}},"
        " {\"name\":\"proj\",\"projected\":{\"defaultMode\":420,\"sources\":["
        "    {\"configMap\":{\"name\":\"cfg\",\"items\":[{\"key\":\"game.properties\",\"path\":\"game\"}]}},"
        "    {\"secret\":{\"name\":\"sec\"}},"
        "    {\"downwardAPI\":{\"items\":[{\"path\":\"ns\",\"fieldRef\":{\"fieldPath\":\"metadata.namespace\"}}]}},"
        "    {\"serviceAccountToken\":{\"path\":\"token\"}},"
        "    {\"configMap\":{\"name\":\"absent\",\"optional\":true}}]}},"
        " {\"name\":\"scratch\",\"emptyDir\":{}}]",
        NULL);
    REQUIRE_V(sk_kl_volumes_setup_with(fake_get, NULL, tmp, pod, &err) == 0);
    CHECK(sk_kl_volumes_dynamic(pod));
    snprintf(path, sizeof path, "%s/cfg/game.properties", base);
    CHECK(file_is(path, "lives=3"));
    CHECK_INT(mode_at(path), 0440);
    snprintf(path, sizeof path, "%s/cfg/bin", base);
    CHECK_INT(mode_at(path), 0440);
    snprintf(path, sizeof path, "%s/sec/d/pw", base);
    CHECK(file_is(path, "s3cr3t"));
    CHECK_INT(mode_at(path), 0400);
    snprintf(path, sizeof path, "%s/optsec", base);
    CHECK(mode_at(path) >= 0);
    snprintf(path, sizeof path, "%s/dapi/labels", base);
    CHECK(file_is(path, "app=\"x\""));
    snprintf(path, sizeof path, "%s/proj/game", base);
    CHECK(file_is(path, "lives=3"));
    snprintf(path, sizeof path, "%s/proj/pw", base);
    CHECK(file_is(path, "s3cr3t"));
    snprintf(path, sizeof path, "%s/proj/ns", base);
    CHECK(file_is(path, "ns"));
    CHECK_INT(mode_at(path), 0644);
    snprintf(path, sizeof path, "%s/scratch", base);
    CHECK_INT(mode_at(path), 0777);

    /* Refresh: a changed ConfigMap reaches the files, the rest stays. */
    char data_before[256], data_after[256];
    snprintf(path, sizeof path, "%s/sec/..data", base);
    ssize_t n1 = readlink(path, data_before, sizeof data_before - 1);
    json_object_set_new(json_object_get(json_object_get(objects, "configmap/ns/cfg"), "data"), "game.properties",
                        json_string("lives=4"));
    REQUIRE_V(sk_kl_volumes_setup_with(fake_get, NULL, tmp, pod, &err) == 0);
    snprintf(path, sizeof path, "%s/cfg/game.properties", base);
    CHECK(file_is(path, "lives=4"));
    snprintf(path, sizeof path, "%s/proj/game", base);
    CHECK(file_is(path, "lives=4"));
    snprintf(path, sizeof path, "%s/sec/..data", base);
    ssize_t n2 = readlink(path, data_after, sizeof data_after - 1);
    CHECK(n1 > 0 && n1 == n2 && !memcmp(data_before, data_after, (size_t)n1)); /* untouched */
    json_decref(pod);

    /* Missing objects: the kubelet's message, NotFound. */
    pod = make_pod("u2", "[{\"name\":\"v\",\"configMap\":{\"name\":\"nope\"}}]", NULL);
    CHECK(sk_kl_volumes_setup_with(fake_get, NULL, tmp, pod, &err) < 0);
    CHECK_INT(err.code, SK_ENOTFOUND);
    CHECK_STR(err.msg, "configmap \"nope\" not found");
    json_decref(pod);
    pod = make_pod("u2", "[{\"name\":\"v\",\"projected\":{\"sources\":[{\"secret\":{\"name\":\"nope\"}}]}}]", NULL);
    CHECK(sk_kl_volumes_setup(NULL, tmp, pod, "node", &err) < 0);
    CHECK_STR(err.msg, "secret \"nope\" not found");
    json_decref(pod);
    pod = make_pod("u2", "[{\"name\":\"v\",\"persistentVolumeClaim\":{\"claimName\":\"c\"}}]", NULL);
    CHECK(sk_kl_volumes_setup_with(fake_get, NULL, tmp, pod, &err) < 0);
    CHECK_INT(err.code, SK_EINVALID);
    CHECK(!sk_kl_volumes_dynamic(pod));
    json_decref(pod);
    pod = make_pod("../x", "[{\"name\":\"v\",\"emptyDir\":{}}]", NULL);
    CHECK(sk_kl_volumes_setup_with(fake_get, NULL, tmp, pod, &err) < 0);
    json_decref(pod);
    pod = make_pod("u2", "[{\"name\":\"..\",\"emptyDir\":{}}]", NULL);
    CHECK(sk_kl_volumes_setup_with(fake_get, NULL, tmp, pod, &err) < 0);
    json_decref(pod);
}

static int host_path(const char *path, const char *type, sk_err *err)
{
    char vols[1024];
    snprintf(vols, sizeof vols, "[{\"name\":\"h\",\"hostPath\":{\"path\":\"%s\",\"type\":\"%s\"}}]", path, type);
    json_t *pod = make_pod("u3", vols, NULL);
    int rc = sk_kl_volumes_setup_with(fake_get, NULL, tmp, pod, err);
    json_decref(pod);
    return rc;
}

static void test_host_path(void)
{
    sk_err err = SK_ERR_INIT;
    char d[128], f[128], s[128], msg[512];
    snprintf(d, sizeof d, "%s/hp/dir/deep", tmp);
    snprintf(f, sizeof f, "%s/hp/file", tmp);
    snprintf(s, sizeof s, "%s/hp/sock", tmp);
    CHECK(host_path(d, "Directory", &err) < 0);
    snprintf(msg, sizeof msg, "hostPath type check failed: %s is not a directory", d);
    CHECK_STR(err.msg, msg);
    CHECK(host_path(d, "DirectoryOrCreate", &err) == 0);
    CHECK_INT(mode_at(d), 0755);
    CHECK(host_path(d, "Directory", &err) == 0);
    CHECK(host_path(d, "", &err) == 0);
    CHECK(host_path(f, "File", &err) < 0);
    CHECK(host_path(f, "FileOrCreate", &err) == 0);
    CHECK_INT(mode_at(f), 0644);
    CHECK(host_path(f, "File", &err) == 0);
    CHECK(host_path(f, "Directory", &err) < 0);
    CHECK(host_path(d, "File", &err) < 0);
    snprintf(msg, sizeof msg, "hostPath type check failed: %s is not a file", d);
    CHECK_STR(err.msg, msg);
    CHECK(host_path(d, "Socket", &err) < 0);
    snprintf(msg, sizeof msg, "hostPath type check failed: %s is not a socket file", d);
    CHECK_STR(err.msg, msg);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", s);
    CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    CHECK(host_path(s, "Socket", &err) == 0);
    if (fd >= 0) close(fd);
    CHECK(host_path("/dev/null", "CharDevice", &err) == 0);
    CHECK(host_path("/dev/null", "BlockDevice", &err) < 0);
    CHECK_STR(err.msg, "hostPath type check failed: /dev/null is not a block device");
    CHECK(host_path(d, "Weird", &err) < 0);
    CHECK_STR(err.msg, "Weird is an invalid volume type");
}

static int mounts(json_t *pod, const char *ctr, struct sk_rt_mount **m, size_t *n, sk_err *err)
{
    json_t *c = load(ctr);
    int rc = sk_kl_volume_mounts(tmp, pod, c, m, n, err);
    json_decref(c);
    return rc;
}

static void test_mounts(void)
{
    sk_err err = SK_ERR_INIT;
    char hp[128], want[512];
    snprintf(hp, sizeof hp, "%s/hostdir", tmp);
    REQUIRE_V(sk_mkdir_p(hp, 0755, &err) == 0);
    char vols[1024];
    snprintf(vols, sizeof vols,
             "[{\"name\":\"data\",\"emptyDir\":{}},{\"name\":\"cfg\",\"configMap\":{\"name\":\"cfg\"}},"
             "{\"name\":\"host\",\"hostPath\":{\"path\":\"%s/\"}}]", hp);
    json_t *pod = make_pod("u4", vols, NULL);
    json_object_set_new(pod, "status", load("{\"podIP\":\"10.1.2.3\"}"));
    REQUIRE_V(sk_kl_volumes_setup_with(fake_get, NULL, tmp, pod, &err) == 0);
    struct sk_rt_mount *m = NULL;
    size_t n = 0;
    REQUIRE_V(mounts(pod,
                     "{\"name\":\"c\",\"env\":[{\"name\":\"POD\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}},"
                     "  {\"name\":\"X\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"nope\",\"key\":\"k\"}}}],"
                     "\"volumeMounts\":["
                     "{\"name\":\"data\",\"mountPath\":\"/data/\"},"
                     "{\"name\":\"cfg\",\"mountPath\":\"etc/cfg\"},"
                     "{\"name\":\"host\",\"mountPath\":\"/h\",\"readOnly\":true},"
                     "{\"name\":\"data\",\"mountPath\":\"/logs\",\"subPath\":\"logs/a\"},"
                     "{\"name\":\"data\",\"mountPath\":\"/per\",\"subPathExpr\":\"pods/$(POD)\"},"
                     "{\"name\":\"cfg\",\"mountPath\":\"/etc/game.properties\",\"subPath\":\"game.properties\"}]}",
                     &m, &n, &err) == 0);
    REQUIRE_V(n == 6);
    snprintf(want, sizeof want, "%s/pods/u4/volumes/data", tmp);
    CHECK_STR(m[0].source, want);
    CHECK_STR(m[0].destination, "/data");
    CHECK(!m[0].readonly);
    CHECK_STR(m[1].destination, "/etc/cfg");
    CHECK(m[1].readonly); /* configMap volumes are always read-only */
    CHECK_STR(m[2].source, hp);
    CHECK(m[2].readonly);
    char real[PATH_MAX];
    snprintf(want, sizeof want, "%s/pods/u4/volumes/data/logs/a", tmp);
    CHECK(realpath(want, real) && !strcmp(m[3].source, real)); /* created */
    CHECK_INT(mode_at(want), 0777);                            /* with the volume's mode */
    snprintf(want, sizeof want, "%s/pods/u4/volumes/data/pods/p", tmp);
    CHECK(realpath(want, real) && !strcmp(m[4].source, real));
    /* A subPath into a configMap resolves to the real file inside ..data. */
    CHECK(strstr(m[5].source, "/volumes/cfg/..20") != NULL && strstr(m[5].source, "/game.properties"));
    free(m);

    CHECK(mounts(pod, "{\"name\":\"c\",\"volumeMounts\":[{\"name\":\"x\",\"mountPath\":\"/x\"}]}", &m, &n, &err) < 0);
    CHECK_STR(err.msg, "cannot find volume \"x\" to mount into container \"c\"");
    CHECK(m == NULL && n == 0);
    CHECK(mounts(pod, "{\"name\":\"c\",\"volumeMounts\":[{\"name\":\"data\",\"mountPath\":\"/x\",\"subPath\":\"/etc\"}]}", &m, &n, &err) < 0);
    CHECK_STR(err.msg, "error SubPath `/etc` must not be an absolute path");
    CHECK(mounts(pod, "{\"name\":\"c\",\"volumeMounts\":[{\"name\":\"data\",\"mountPath\":\"/x\",\"subPath\":\"a/../../b\"}]}", &m, &n, &err) < 0);
    CHECK_STR(err.msg, "unable to provision SubPath `a/../../b`: must not contain '..'");
    CHECK_INT(err.code, SK_EINVALID);
    CHECK(mounts(pod, "{\"name\":\"c\",\"volumeMounts\":[{\"name\":\"data\",\"mountPath\":\"/x\",\"subPathExpr\":\"$(NOPE)/$(X)\"}]}", &m, &n, &err) < 0);
    CHECK_STR(err.msg, "missing value for NOPE, X");
    CHECK(mounts(pod, "{\"name\":\"c\",\"volumeMounts\":[{\"name\":\"data\",\"mountPath\":\"/\"}]}", &m, &n, &err) < 0);
    /* A symlink planted in a writable volume cannot lead outside it. */
    snprintf(want, sizeof want, "%s/pods/u4/volumes/data/evil", tmp);
    CHECK(symlink("/etc", want) == 0);
    CHECK(mounts(pod, "{\"name\":\"c\",\"volumeMounts\":[{\"name\":\"data\",\"mountPath\":\"/x\",\"subPath\":\"evil\"}]}", &m, &n, &err) < 0);
    CHECK(strstr(err.msg, "not within volume path") != NULL);
    CHECK(mounts(pod, "{\"name\":\"c\",\"volumeMounts\":[{\"name\":\"data\",\"mountPath\":\"/x\",\"subPath\":\"evil/new/dir\"}]}", &m, &n, &err) < 0);
    CHECK(strstr(err.msg, "not within volume path") != NULL);
    CHECK(access("/etc/new", F_OK) < 0);
    REQUIRE_V(mounts(pod, "{\"name\":\"c\"}", &m, &n, &err) == 0);
    CHECK(n == 0);
    free(m);
    json_decref(pod);
}

static void test_teardown(void)
{
    sk_err err = SK_ERR_INIT;
    char path[256];
    snprintf(path, sizeof path, "%s/pods/u1", tmp);
    CHECK(access(path, F_OK) == 0);
    CHECK(sk_kl_volumes_teardown(tmp, "u1", &err) == 0);
    CHECK(access(path, F_OK) < 0 && errno == ENOENT);
    CHECK(sk_kl_volumes_teardown(tmp, "u1", &err) == 0); /* idempotent */
    CHECK(sk_kl_volumes_teardown(tmp, "u4", &err) == 0);
    CHECK(access("/etc/passwd", F_OK) == 0); /* the planted symlink was not followed */
    CHECK(sk_kl_volumes_teardown(tmp, "u2", &err) == 0 && sk_kl_volumes_teardown(tmp, "u3", &err) == 0);
    CHECK(sk_kl_volumes_teardown(tmp, "..", &err) < 0);
    CHECK(sk_kl_volumes_teardown(tmp, "a/b", &err) < 0);
}

int main(void)
{
    /* As root, secret volumes mount tmpfs: keep them in a private mount
     * namespace that ends with this process. */
    if (geteuid() == 0 && (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)) {
        perror("unshare");
        return 1;
    }
    snprintf(tmp, sizeof tmp, "/tmp/skvol-XXXXXX");
    REQUIRE(mkdtemp(tmp));
    objects = load("{\"configmap/ns/cfg\":{\"metadata\":{\"name\":\"cfg\"},\"data\":{\"game.properties\":\"lives=3\","
                   "\"ui\":\"color=red\"},\"binaryData\":{\"bin\":\"AQAC\"}},"
                   "\"secret/ns/sec\":{\"metadata\":{\"name\":\"sec\"},\"data\":{\"pw\":\"czNjcjN0\"}}}");
    REQUIRE(objects);
    test_payloads();
    test_writer();
    test_setup();
    test_host_path();
    test_mounts();
    test_teardown();
    sk_err err = SK_ERR_INIT;
    if (sk_kl_rm_tree(tmp, &err) < 0) fprintf(stderr, "cleanup: %s\n", err.msg);
    json_decref(objects);
    return test_done();
}

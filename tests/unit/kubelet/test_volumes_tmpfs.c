/* Memory-backed volumes (root only, exit 77 otherwise): emptyDir medium
 * Memory with and without sizeLimit, Secret volumes on tmpfs, fsGroup
 * ownership, refresh without remounting, teardown unmounting everything.
 * Runs in a private mount namespace of its own, so nothing can leak. */
#include "kubelet/volumes_int.h"
#include "unit/test.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>

#define TMPFS_MAGIC_V 0x01021994

static char tmp[64];

static json_t *fake_get(void *ud, const char *kind, const char *ns, const char *name, sk_err *err)
{
    (void)ud;
    (void)ns;
    if (!strcmp(kind, "secret") && !strcmp(name, "sec"))
        return json_pack("{s:{s:s}, s:{s:s}}", "metadata", "name", "sec", "data", "pw", "czNjcjN0");
    sk_err_set(err, SK_ENOTFOUND, "%s \"%s\" not found", kind, name);
    return NULL;
}

static int mounts_under(const char *dir)
{
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[4096], mp[4096];
    int n = 0;
    size_t dl = strlen(dir);
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && !strncmp(mp, dir, dl)) n++;
    if (f) fclose(f);
    return n;
}

static bool is_tmpfs(const char *path, int64_t want_size)
{
    struct statfs sf;
    struct statvfs sv;
    if (statfs(path, &sf) < 0 || (unsigned long)sf.f_type != TMPFS_MAGIC_V) return false;
    return want_size < 0 || (statvfs(path, &sv) == 0 && (int64_t)sv.f_blocks * (int64_t)sv.f_frsize == want_size);
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "skip: needs root\n");
        return 77;
    }
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        perror("unshare");
        return 77;
    }
    snprintf(tmp, sizeof tmp, "/tmp/skvolfs-XXXXXX");
    REQUIRE(mkdtemp(tmp));
    sk_err err = SK_ERR_INIT;
    json_error_t je;
    json_t *pod = json_loads(
        "{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\",\"uid\":\"m1\"},"
        " \"spec\":{\"securityContext\":{\"fsGroup\":1234},"
        "  \"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":{\"memory\":\"32Mi\"}}},"
        "                 {\"name\":\"b\",\"resources\":{\"limits\":{\"memory\":\"16Mi\"}}}],"
        "  \"volumes\":[{\"name\":\"mem\",\"emptyDir\":{\"medium\":\"Memory\",\"sizeLimit\":\"16Mi\"}},"
        "              {\"name\":\"mem2\",\"emptyDir\":{\"medium\":\"Memory\"}},"
        "              {\"name\":\"disk\",\"emptyDir\":{}},"
        "              {\"name\":\"sec\",\"secret\":{\"secretName\":\"sec\",\"defaultMode\":256}}]}}",
        0, &je);
    REQUIRE(pod);
    char dir[256], path[512];
    snprintf(dir, sizeof dir, "%s/pods/m1", tmp);
    REQUIRE(sk_kl_volumes_setup_with(fake_get, NULL, tmp, pod, &err) == 0);
    snprintf(path, sizeof path, "%s/volumes/mem", dir);
    CHECK(is_tmpfs(path, 16 << 20));
    snprintf(path, sizeof path, "%s/volumes/mem2", dir);
    CHECK(is_tmpfs(path, 48 << 20)); /* the pod's memory limits */
    struct stat st;
    CHECK(stat(path, &st) == 0 && st.st_gid == 1234 && (st.st_mode & S_ISGID));
    snprintf(path, sizeof path, "%s/volumes/disk", dir);
    CHECK(!is_tmpfs(path, -1));
    CHECK(stat(path, &st) == 0 && st.st_gid == 1234 && (st.st_mode & 07777) == 02777);
    snprintf(path, sizeof path, "%s/volumes/sec", dir);
    CHECK(is_tmpfs(path, -1)); /* Secret data stays in memory */
    snprintf(path, sizeof path, "%s/volumes/sec/pw", dir);
    CHECK(stat(path, &st) == 0 && st.st_gid == 1234 && (st.st_mode & 07777) == 0440);
    int before = mounts_under(dir);
    CHECK_INT(before, 3);

    /* A refresh neither remounts nor rewrites. */
    char l1[256] = "", l2[256] = "";
    snprintf(path, sizeof path, "%s/volumes/sec/..data", dir);
    CHECK(readlink(path, l1, sizeof l1 - 1) > 0);
    REQUIRE(sk_kl_volumes_setup_with(fake_get, NULL, tmp, pod, &err) == 0);
    CHECK(readlink(path, l2, sizeof l2 - 1) > 0 && !strcmp(l1, l2));
    CHECK_INT(mounts_under(dir), before);

    /* Stacked mounts go too. */
    snprintf(path, sizeof path, "%s/volumes/mem", dir);
    CHECK(mount("tmpfs", path, "tmpfs", 0, "size=1m") == 0);
    CHECK(sk_kl_volumes_teardown(tmp, "m1", &err) == 0);
    CHECK_INT(mounts_under(dir), 0);
    CHECK(access(dir, F_OK) < 0 && errno == ENOENT);
    CHECK(sk_kl_volumes_teardown(tmp, "m1", &err) == 0);

    /* Media we do not have. */
    json_t *hp = json_loads("{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\",\"uid\":\"m2\"},"
                            "\"spec\":{\"volumes\":[{\"name\":\"h\",\"emptyDir\":{\"medium\":\"HugePages\"}}]}}",
                            0, &je);
    CHECK(sk_kl_volumes_setup_with(fake_get, NULL, tmp, hp, &err) < 0);
    CHECK_INT(err.code, SK_EINVALID);
    CHECK(sk_kl_volumes_teardown(tmp, "m2", &err) == 0);
    json_decref(hp);
    json_decref(pod);
    if (sk_kl_rm_tree(tmp, &err) < 0) fprintf(stderr, "cleanup: %s\n", err.msg);
    return test_done();
}

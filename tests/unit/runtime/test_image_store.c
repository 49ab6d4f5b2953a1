/* Image store: load docker-save and OCI archives built here, list, look
 * up, read configs, unpack (flat and per-layer for overlayfs, with
 * whiteouts, opaque dirs, hard and symlinks), remove + GC, disk GC, and
 * layers that try to escape the root. Overlay markers need root; those
 * checks are skipped without it. */
#include "unit/test.h"
#include "unit/runtime/test_image_helpers.h"

#include <dirent.h>
#include <pthread.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#define REQUIRE_VOID(c) do { if (!(c)) { CHECK(c); return; } } while (0)

static char *docker_archive(const th_image *im, const char *dir)
{
    char *path = sk_printf("%s/docker.tar", dir);
    _sk_free_ char *cfg2 = sk_printf("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":"
                                     "{\"Cmd\":[\"sh\"]},\"rootfs\":{\"type\":\"layers\","
                                     "\"diff_ids\":[\"%s\"]}}", im->d1);
    _sk_free_ char *cfg3 = sk_printf("{\"config\":{\"Cmd\":[\"true\"]},\"rootfs\":"
                                     "{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}", im->d1);
    char c2dig[72], c3dig[72];
    sk_sha256_hex(cfg2, strlen(cfg2), c2dig);
    sk_sha256_hex(cfg3, strlen(cfg3), c3dig);
    _sk_free_ char *c3 = sk_printf("%s.json", c3dig + 7);
    _sk_free_ char *c1 = sk_printf("%s.json", im->cdig + 7);
    _sk_free_ char *c2 = sk_printf("%s.json", c2dig + 7);
    _sk_free_ char *man = sk_printf(
        "[{\"Config\":\"%s\",\"RepoTags\":[\"test/app:v1\",\"test/app:latest\"],"
        "\"Layers\":[\"aaa/layer.tar\",\"bbb/layer.tar\"]},"
        "{\"Config\":\"%s\",\"RepoTags\":[\"localhost:5000/other:1\"],\"Layers\":[\"ccc/layer.tar\"]},"
        "{\"Config\":\"%s\",\"RepoTags\":null,\"Layers\":[\"aaa/layer.tar\"]}]",
        c1, c2, c3);
    th_tar t;
    th_tar_open(&t, path, false, false);
    th_tar_mem(&t, c1, im->config, strlen(im->config));
    th_tar_mem(&t, c2, cfg2, strlen(cfg2));
    th_tar_mem(&t, c3, cfg3, strlen(cfg3));
    TH_DIR(&t, "aaa");
    th_tar_file(&t, "aaa/layer.tar", im->l1);
    th_tar_file(&t, "bbb/layer.tar", im->l2tar);
    TH_DIR(&t, "ccc");
    TH_SYMLINK(&t, "ccc/layer.tar", "../aaa/layer.tar"); /* docker dedups layers like this */
    TH_FILE(&t, "repositories", "{}");
    th_tar_mem(&t, "manifest.json", man, strlen(man));
    th_tar_close(&t);
    return path;
}

static void blob_member(th_tar *t, const char *digest, const void *data, size_t n)
{
    _sk_free_ char *name = sk_printf("blobs/sha256/%s", digest + 7);
    th_tar_mem(t, name, data, n);
}

static char *oci_archive(const th_image *im, const char *dir, bool corrupt)
{
    char *path = sk_printf("%s/oci%s.tar", dir, corrupt ? "-bad" : "");
    _sk_free_ char *man = th_manifest(im);
    char mdig[72], idig[72];
    sk_sha256_hex(man, strlen(man), mdig);
    _sk_free_ char *nested = sk_printf(
        "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":["
        "{\"mediaType\":\"%s\",\"digest\":\"sha256:%064d\",\"size\":10,"
        "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
        "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu,"
        "\"platform\":{\"os\":\"linux\",\"architecture\":\"%s\"}}]}",
        MT_OCI_INDEX, MT_OCI_MANIFEST, 0, MT_OCI_MANIFEST, mdig, strlen(man), sk_image_node_arch());
    sk_sha256_hex(nested, strlen(nested), idig);
    _sk_free_ char *index = sk_printf(
        "{\"schemaVersion\":2,\"manifests\":["
        "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu,"
        "\"annotations\":{\"io.containerd.image.name\":\"example.com/oci/app:2\"}},"
        "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu,"
        "\"annotations\":{\"org.opencontainers.image.ref.name\":\"v3\"}}]}",
        MT_OCI_MANIFEST, mdig, strlen(man), MT_OCI_INDEX, idig, strlen(nested));
    th_tar t;
    th_tar_open(&t, path, true, false); /* a gzipped archive, as `| gzip` makes */
    TH_FILE(&t, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
    th_tar_mem(&t, "index.json", index, strlen(index));
    blob_member(&t, mdig, man, strlen(man));
    blob_member(&t, idig, nested, strlen(nested));
    blob_member(&t, im->cdig, im->config, strlen(im->config));
    size_t n = 0;
    _sk_free_ char *l1 = th_read(im->l1, &n);
    if (corrupt) l1[600] ^= 1;
    blob_member(&t, im->d1, l1, n);
    _sk_free_ char *l2 = th_read(im->l2gz, &n);
    blob_member(&t, im->d2gz, l2, n);
    th_tar_close(&t);
    return path;
}

static int count_lines(const char *const *v)
{
    int n = 0;
    while (v && v[n]) n++;
    return n;
}

static void check_flat_tree(const char *root)
{
    _sk_free_ char *hello = sk_printf("%s/bin/hello", root);
    _sk_free_ char *hello2 = sk_printf("%s/bin/hello2", root);
    _sk_free_ char *tool = sk_printf("%s/bin/tool", root);
    _sk_free_ char *toollink = sk_printf("%s/bin/tool-link", root);
    _sk_free_ char *cfg = sk_printf("%s/etc/config", root);
    _sk_free_ char *passwd = sk_printf("%s/etc/passwd", root);
    _sk_free_ char *index = sk_printf("%s/www/index.html", root);
    _sk_free_ char *keep = sk_printf("%s/www/keep.txt", root);
    _sk_free_ char *old1 = sk_printf("%s/data/old1", root);
    _sk_free_ char *sub = sk_printf("%s/data/sub", root);
    _sk_free_ char *dnew = sk_printf("%s/data/new", root);
    _sk_free_ char *link = sk_printf("%s/link", root);
    _sk_free_ char *gone = sk_printf("%s/gone", root);
    struct stat a, b;
    CHECK(stat(hello, &a) == 0 && stat(hello2, &b) == 0 && a.st_ino == b.st_ino);
    CHECK((a.st_mode & 0777) == 0755);
    CHECK(stat(tool, &a) == 0 && stat(toollink, &b) == 0 && a.st_ino == b.st_ino);
    CHECK(!th_exists(cfg));
    CHECK(th_exists(passwd));
    _sk_free_ char *idx = th_slurp(index);
    CHECK_STR(idx, "v2\n");
    CHECK(th_exists(keep));
    CHECK(!th_exists(old1));
    CHECK(!th_exists(sub));
    CHECK(th_exists(dnew));
    CHECK(!th_exists(gone));
    _sk_free_ char *null = sk_printf("%s/dev/null", root);
    struct stat st;
    if (geteuid() == 0) CHECK(lstat(null, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3));
    else CHECK(lstat(null, &st) < 0); /* device nodes only as root */
    char target[64] = "";
    ssize_t n = readlink(link, target, sizeof target - 1);
    CHECK(n == 11 && !strcmp(target, "/etc/passwd"));
}

static void check_overlay_layers(char **dirs)
{
    REQUIRE_VOID(count_lines((const char *const *)dirs) == 2);
    _sk_free_ char *wh = sk_printf("%s/etc/config", dirs[1]);
    _sk_free_ char *gone = sk_printf("%s/gone", dirs[1]);
    _sk_free_ char *data = sk_printf("%s/data", dirs[1]);
    _sk_free_ char *l1cfg = sk_printf("%s/etc/config", dirs[0]);
    struct stat st;
    CHECK(stat(l1cfg, &st) == 0 && S_ISREG(st.st_mode));
    CHECK(lstat(wh, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
    CHECK(lstat(gone, &st) == 0 && S_ISCHR(st.st_mode));
    char v[4] = "";
    CHECK(getxattr(data, "trusted.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y');
}

static void test_load_docker(sk_image_store *s, const th_image *im, const char *dir)
{
    _sk_free_ char *path = docker_archive(im, dir);
    char **refs = NULL;
    sk_err err = SK_ERR_INIT;
    int rc = sk_image_load(s, path, NULL, &refs, &err);
    if (rc < 0) fprintf(stderr, "load: %s\n", err.msg);
    REQUIRE_VOID(rc == 0);
    CHECK_INT(count_lines((const char *const *)refs), 4);
    CHECK_STR(refs[0], "docker.io/test/app:v1");
    CHECK_STR(refs[1], "docker.io/test/app:latest");
    CHECK_STR(refs[2], "localhost:5000/other:1");
    CHECK(!strncmp(refs[3], "sha256:", 7)); /* the untagged image, by ID */
    sk_image_strv_free(refs);
    CHECK_INT(sk_image_exists(s, "test/app:v1", &err), 1);
    CHECK_INT(sk_image_exists(s, "docker.io/test/app", &err), 1);
    CHECK_INT(sk_image_exists(s, "test/app:v9", &err), 0);
    CHECK_INT(sk_image_exists(s, im->cdig, &err), 1);
    char prefix[16];
    snprintf(prefix, sizeof prefix, "%.12s", im->cdig + 7);
    CHECK_INT(sk_image_exists(s, prefix, &err), 1);
    CHECK_INT(sk_image_exists(s, "Bad Ref", &err), -1);
}

static void test_config(sk_image_store *s)
{
    sk_err err = SK_ERR_INIT;
    sk_image_cfg *c = sk_image_config(s, "test/app:v1", &err);
    REQUIRE_VOID(c);
    CHECK_STR(c->entrypoint[0], "/bin/hello");
    CHECK(!c->entrypoint[1]);
    CHECK_STR(c->cmd[0], "--port");
    CHECK_STR(c->cmd[1], "8080");
    CHECK_STR(c->env[1], "FOO=bar");
    CHECK_STR(c->working_dir, "/www");
    CHECK_STR(c->user, "1000:1000");
    CHECK_STR(c->exposed_ports[0], "8080/tcp");
    CHECK_STR(c->labels[0], "io.skiff.builtin");
    CHECK_STR(c->labels[1], "hello");
    CHECK_STR(c->architecture, "amd64");
    CHECK(c->repo_digest && !strncmp(c->repo_digest, "docker.io/test/app@sha256:", 26));
    sk_image_cfg_free(c);
    c = sk_image_config(s, "localhost:5000/other:1", &err);
    REQUIRE_VOID(c);
    CHECK(!c->entrypoint && c->cmd && !c->env && !c->working_dir);
    sk_image_cfg_free(c);
    CHECK(!sk_image_config(s, "nope:1", &err) && err.code == SK_ENOTFOUND);
}

static void test_unpack(sk_image_store *s, const char *dir)
{
    sk_err err = SK_ERR_INIT;
    _sk_free_ char *root = sk_printf("%s/rootfs", dir);
    int rc = sk_image_unpack(s, "test/app:v1", root, &err);
    if (rc < 0) fprintf(stderr, "unpack: %s\n", err.msg);
    REQUIRE_VOID(rc == 0);
    check_flat_tree(root);
    char **dirs = NULL;
    rc = sk_image_layers(s, "test/app:v1", &dirs, &err);
    if (geteuid() != 0) { /* whiteouts for overlayfs are device nodes */
        CHECK(rc < 0 && err.code == SK_EFORBIDDEN && strstr(err.msg, "needs root"));
        return;
    }
    if (rc < 0) fprintf(stderr, "layers: %s\n", err.msg);
    REQUIRE_VOID(rc == 0);
    check_overlay_layers(dirs);
    struct stat before, after;
    CHECK(stat(dirs[1], &before) == 0);
    char **again = NULL;
    CHECK(sk_image_layers(s, "localhost:5000/other:1", &again, &err) == 0);
    CHECK(again && !strcmp(again[0], dirs[0])); /* shared layer, unpacked once */
    sk_image_strv_free(again);
    CHECK(sk_image_layers(s, "test/app:latest", &again, &err) == 0);
    CHECK(stat(dirs[1], &after) == 0 && before.st_ino == after.st_ino);
    sk_image_strv_free(again);
    sk_image_strv_free(dirs);
}

static void test_load_oci(sk_image_store *s, const th_image *im, const char *dir)
{
    _sk_free_ char *path = oci_archive(im, dir, false);
    char **refs = NULL;
    sk_err err = SK_ERR_INIT;
    int rc = sk_image_load(s, path, "example.com/base", &refs, &err);
    if (rc < 0) fprintf(stderr, "load oci: %s\n", err.msg);
    REQUIRE_VOID(rc == 0);
    CHECK_INT(count_lines((const char *const *)refs), 2);
    CHECK_STR(refs[0], "example.com/oci/app:2");
    CHECK_STR(refs[1], "example.com/base:v3");
    sk_image_strv_free(refs);
    _sk_free_ char *root = sk_printf("%s/rootfs-oci", dir);
    rc = sk_image_unpack(s, "example.com/base:v3", root, &err);
    if (rc < 0) fprintf(stderr, "unpack oci: %s\n", err.msg);
    CHECK(rc == 0);
    check_flat_tree(root);
    _sk_free_ char *bad = oci_archive(im, dir, true);
    CHECK(sk_image_load(s, bad, NULL, NULL, &err) < 0);
    CHECK(strstr(err.msg, "does not match"));
    CHECK(sk_image_load(s, im->config ? im->l1 : NULL, NULL, NULL, &err) < 0);
    CHECK(strstr(err.msg, "not a docker save or OCI archive"));
}

static void test_list(sk_image_store *s, const th_image *im)
{
    sk_image_info *v = NULL;
    size_t n = 0;
    sk_err err = SK_ERR_INIT;
    REQUIRE_VOID(sk_image_list(s, &v, &n, &err) == 0);
    CHECK_INT(n, 6);
    CHECK_STR(v[0].ref, "docker.io/test/app:latest");
    CHECK_STR(v[0].id, im->cdig);
    CHECK(v[0].size > 1000 && v[0].stored > 1700000000);
    CHECK(!v[n - 1].ref); /* untagged sorts last */
    sk_image_info_free(v, n);
}

struct worker {
    sk_image_store *s;
    const char *archive;
    char *dir;
    int failures;
};

static void *load_worker(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 4; i++) {
        sk_err err = SK_ERR_INIT;
        _sk_free_ char *root = sk_printf("%s/%d", w->dir, i);
        char **dirs = NULL;
        bool ok = sk_image_load(w->s, w->archive, NULL, NULL, &err) == 0 &&
                  sk_image_unpack(w->s, "test/app:v1", root, &err) == 0 &&
                  sk_image_exists(w->s, "localhost:5000/other:1", &err) == 1 &&
                  (geteuid() != 0 || sk_image_layers(w->s, "test/app:v1", &dirs, &err) == 0);
        sk_image_strv_free(dirs);
        if (!ok) fprintf(stderr, "concurrent load/unpack: %s\n", err.msg);
        w->failures += !ok;
    }
    return NULL;
}

static void *gc_worker(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 8; i++) {
        sk_err err = SK_ERR_INIT;
        sk_image_info *v = NULL;
        size_t n = 0;
        bool ok = sk_image_gc(w->s, NULL, &err) == 0 && sk_image_list(w->s, &v, &n, &err) == 0;
        sk_image_info_free(v, n);
        w->failures += !ok;
    }
    return NULL;
}

/* Loads, unpacks and GC from several threads at once: GC must never take
 * a blob or layer that a load or unpack is using. */
static void test_concurrent(sk_image_store *s, const th_image *im, const char *dir)
{
    _sk_free_ char *archive = docker_archive(im, dir);
    pthread_t th[4];
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.s = s, .archive = archive, .dir = sk_printf("%s/conc%d", dir, i)};
        pthread_create(&th[i], NULL, i == 3 ? gc_worker : load_worker, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(w[i].failures, 0);
        free(w[i].dir);
    }
}

static int count_dir(const char *path)
{
    DIR *d = opendir(path);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) n += de->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

static void test_remove(sk_image_store *s, const th_image *im, const char *data)
{
    sk_err err = SK_ERR_INIT;
    _sk_free_ char *blobs = sk_printf("%s/images/blobs/sha256", data);
    _sk_free_ char *layers = sk_printf("%s/images/layers", data);
    _sk_free_ char *l2blob = sk_printf("%s/%s", blobs, im->d2 + 7);
    _sk_free_ char *l2dir = sk_printf("%s/%s", layers, im->d2 + 7);
    _sk_free_ char *l1dir = sk_printf("%s/%s", layers, im->d1 + 7);
    bool root = geteuid() == 0;
    CHECK(th_exists(l2blob) && th_exists(l2dir) == root);
    CHECK(sk_image_remove(s, "test/app:v1", &err) == 0);
    CHECK(th_exists(l2blob)); /* test/app:latest still uses it */
    CHECK(sk_image_remove(s, "test/app:latest", &err) == 0);
    CHECK(!th_exists(l2blob));
    CHECK(th_exists(l2dir) == root); /* the OCI images share layer 2's diff ID */
    CHECK(sk_image_remove(s, "nope:1", &err) < 0 && err.code == SK_ENOTFOUND);
    CHECK(sk_image_remove(s, "example.com/oci/app:2", &err) == 0);
    CHECK(sk_image_remove(s, "example.com/base:v3", &err) == 0);
    CHECK(!th_exists(l2dir));
    CHECK(th_exists(l1dir)); /* as non-root too: layer 1 has no whiteouts */
    /* disk GC: everything counts as "above the mark" with 0 %; keep other:1 */
    const char *in_use[] = {"localhost:5000/other:1", NULL};
    char **removed = NULL;
    CHECK(sk_image_gc_disk(s, in_use, 0, 0, &removed, &err) == 0);
    CHECK(removed && removed[0] && !strncmp(removed[0], "sha256:", 7) && !removed[1]);
    sk_image_strv_free(removed);
    CHECK_INT(sk_image_exists(s, "localhost:5000/other:1", &err), 1);
    CHECK(sk_image_gc_disk(s, NULL, 100, 100, &removed, &err) == 0 && !removed);
    CHECK(sk_image_remove(s, "localhost:5000/other:1", &err) == 0);
    CHECK_INT(count_dir(blobs), 0);
    CHECK_INT(count_dir(layers), 0);
}

/* Layers that try to write outside the root must fail and leave it alone. */
static void test_escapes(const char *dir)
{
    _sk_free_ char *outside = sk_printf("%s/outside", dir);
    _sk_free_ char *victim = sk_printf("%s/victim", outside);
    _sk_free_ char *root = sk_printf("%s/escroot", dir);
    _sk_free_ char *tarp = sk_printf("%s/evil.tar", dir);
    sk_err err = SK_ERR_INIT;
    mkdir(outside, 0755);
    th_write(victim, "precious\n");
    struct {
        const char *what;
        int kind;
    } cases[] = {{"dotdot", 0}, {"symlink dir", 1}, {"hardlink via symlink", 2},
                 {"whiteout via symlink", 3}, {"hardlink dotdot", 4}};
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) {
        sk_fs_remove_tree(root, &err);
        mkdir(root, 0755);
        th_tar t;
        th_tar_open(&t, tarp, false, false);
        switch (cases[i].kind) {
        case 0: TH_FILE(&t, "../outside/victim", "pwned\n"); break;
        case 1: TH_SYMLINK(&t, "esc", outside); TH_FILE(&t, "esc/victim", "pwned\n"); break;
        case 2: TH_SYMLINK(&t, "esc", outside); TH_HARDLINK(&t, "h", "esc/victim"); break;
        case 3: TH_SYMLINK(&t, "esc", outside); TH_FILE(&t, "esc/.wh.victim", ""); break;
        case 4: TH_HARDLINK(&t, "h", "../outside/victim"); break;
        }
        th_tar_close(&t);
        for (int overlay = 0; overlay < 2; overlay++) {
            sk_err e2 = SK_ERR_INIT;
            int rc = sk_image_apply_layer(tarp, root, overlay, NULL, &e2);
            if (rc == 0) fprintf(stderr, "escape case %s (overlay %d) was accepted\n", cases[i].what, overlay);
            CHECK(rc < 0);
            _sk_free_ char *txt = th_slurp(victim);
            CHECK_STR(txt, "precious\n");
            _sk_free_ char *h = sk_printf("%s/h", root);
            struct stat st;
            CHECK(lstat(h, &st) < 0);
        }
    }
    /* absolute member names stay inside the root */
    sk_fs_remove_tree(root, &err);
    mkdir(root, 0755);
    th_tar t;
    th_tar_open(&t, tarp, false, false);
    TH_FILE(&t, "/abs/file", "in\n");
    th_tar_close(&t);
    CHECK(sk_image_apply_layer(tarp, root, false, NULL, &err) == 0);
    _sk_free_ char *inside = sk_printf("%s/abs/file", root);
    CHECK(th_exists(inside));
    /* a wrong diff ID is caught */
    char wrong[72];
    sk_sha256_hex("x", 1, wrong);
    CHECK(sk_image_apply_layer(tarp, root, false, wrong, &err) < 0 && strstr(err.msg, "diff_id"));
}

int main(void)
{
    char *dir = th_tmpdir();
    th_image im;
    th_image_build(&im, dir);
    _sk_free_ char *data = sk_printf("%s/data", dir);
    sk_err err = SK_ERR_INIT;
    sk_image_store *s = sk_image_store_open(data, &err);
    REQUIRE(s);
    test_load_docker(s, &im, dir);
    test_config(s);
    test_unpack(s, dir);
    test_load_oci(s, &im, dir);
    test_list(s, &im);
    test_concurrent(s, &im, dir);
    test_remove(s, &im, data);
    test_escapes(dir);
    sk_image_store_free(s);
    th_image_free(&im);
    return test_done();
}

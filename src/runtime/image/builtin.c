/* Built-in sample images: skiff's own equivalents of the images the
 * Kubernetes tutorials use, built at start from the static sample servers
 * (tools/samples) plus Debian's busybox-static and bash-static, so the
 * tutorial works with no registry access. Each image has two uncompressed
 * layers written with libarchive: the tools every image shares (busybox,
 * bash, and the host's curl with the shared libraries it links, as the
 * originals carry a shell and curl) and the sample binary. Every timestamp
 * is fixed so the digests are the same on every start; when none of the
 * input files changed since the last start (a stamp of their sizes and
 * mtimes) nothing is rebuilt at all. */
#include "runtime/image/image.h"
#include "runtime/image/image_int.h"

#include <archive.h>
#include <archive_entry.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUILTIN_MTIME 1704067200 /* 2024-01-01T00:00:00Z: stable digests */
#define BUILTIN_CREATED "2024-01-01T00:00:00Z"
#define BUILTIN_MAX_FILE (64 << 20)

static const char *const bash_paths[] = {"/bin/bash-static", "/usr/bin/bash-static", NULL};
static const char *const curl_path = "/usr/bin/curl";

/* Applets linked to /bin/busybox: enough for `kubectl exec` debugging. */
static const char *const applets[] = {
    "sh", "ls", "cat", "echo", "env", "ps", "wget", "nc", "sleep", "hostname", "id", "ip",
    "ping", "top", "vi", "mkdir", "rm", "cp", "mv", "ln", "grep", "sed", "awk", "head",
    "tail", "true", "false", "kill", "date", "df", "du", "find", "which",
    "printenv", "pwd", "touch", "chmod", "uname", "whoami", "netstat", "less", "more",
    "tr", "wc", "sort", "xargs", "test", "[", "timeout", "tee", "stat", "mount", "tty", "dd",
    "yes", "seq", "expr", "basename", "dirname", "cut", "uniq", "diff", "gzip", "tar", "stty",
    "reset", "clear", "free", "uptime", "dmesg", "pidof", "pkill", "traceroute", "ifconfig",
    "route", "arp", "telnet", "httpd", "md5sum", "sha256sum", "base64", "od", "hexdump", NULL};

struct builtin_spec {
    const char *ref;
    const char *binary;     /* file in samples_dir, stored at /<path> */
    const char *path;       /* "hello", "agnhost" */
    const char *entrypoint; /* JSON array */
    const char *cmd;        /* JSON array or NULL */
    const char *version;    /* VERSION env, or NULL */
    const char *original;   /* what it stands in for */
};

static const struct builtin_spec specs[] = {
    {"gcr.io/google-samples/kubernetes-bootcamp:v1", "hello", "hello", "[\"/hello\"]", NULL, NULL,
     "gcr.io/google-samples/kubernetes-bootcamp:v1"},
    {"jocatalin/kubernetes-bootcamp:v2", "hello", "hello", "[\"/hello\"]", NULL, "2",
     "jocatalin/kubernetes-bootcamp:v2"},
    {"registry.k8s.io/e2e-test-images/agnhost:2.39", "netexec", "agnhost", "[\"/agnhost\"]",
     "[\"netexec\"]", NULL, "registry.k8s.io/e2e-test-images/agnhost:2.39 (netexec only)"},
};

static la_ssize_t buf_write(struct archive *a, void *ctx, const void *p, size_t n)
{
    (void)a;
    sk_buf_add(ctx, p, n);
    return (la_ssize_t)n;
}

static int tar_fail(struct archive *a, sk_err *err)
{
    return sk_err_set(err, SK_EINTERNAL, "building built-in image layer: %s",
                      archive_error_string(a) ? archive_error_string(a) : "libarchive error");
}

static int add_entry(struct archive *a, const char *name, mode_t type, int perm,
                     const char *link, const void *data, size_t len, sk_err *err)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, perm);
    archive_entry_set_mtime(e, BUILTIN_MTIME, 0);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    if (link) archive_entry_set_symlink(e, link);
    archive_entry_set_size(e, type == AE_IFREG ? (la_int64_t)len : 0);
    int rc = archive_write_header(a, e);
    archive_entry_free(e);
    if (rc != ARCHIVE_OK) return tar_fail(a, err);
    if (len > 0 && archive_write_data(a, data, len) != (la_ssize_t)len) return tar_fail(a, err);
    return 0;
}

static int add_file(struct archive *a, const char *name, const char *src, sk_err *err)
{
    struct stat st;
    if (stat(src, &st) < 0) return sk_err_sys(err, "built-in images: %s", src);
    if (!S_ISREG(st.st_mode) || st.st_size > BUILTIN_MAX_FILE)
        return sk_err_set(err, SK_EINVALID, "built-in images: %s is not a regular file "
                          "under 64 MiB", src);
    size_t len;
    _sk_free_ char *data = sk_read_file(src, &len, err);
    if (!data) return -1;
    return add_entry(a, name, AE_IFREG, 0755, NULL, data, len, err);
}

static int add_skeleton(struct archive *a, sk_err *err)
{
    static const char *const dirs[] = {"bin", "dev", "etc", "proc", "root", "sys", "usr",
                                       "usr/bin", "var", NULL};
    for (int i = 0; dirs[i]; i++)
        if (add_entry(a, dirs[i], AE_IFDIR, 0755, NULL, NULL, 0, err) < 0) return -1;
    if (add_entry(a, "tmp", AE_IFDIR, 01777, NULL, NULL, 0, err) < 0) return -1;
    static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                                 "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
    static const char group[] = "root:x:0:\nnogroup:x:65534:\n";
    if (add_entry(a, "etc/passwd", AE_IFREG, 0644, NULL, passwd, sizeof passwd - 1, err) < 0 ||
        add_entry(a, "etc/group", AE_IFREG, 0644, NULL, group, sizeof group - 1, err) < 0)
        return -1;
    /* Empty mount points for the files the runtime binds over each
     * container's, as image builders leave them. Without them crun creates
     * them in the writable layer: a copy-up of /etc and three more inodes
     * on disk for every container. */
    static const char *const binds[] = {"etc/hosts", "etc/hostname", "etc/resolv.conf", NULL};
    for (int i = 0; binds[i]; i++)
        if (add_entry(a, binds[i], AE_IFREG, 0644, NULL, "", 0, err) < 0) return -1;
    return 0;
}

/* Parent directories of a path inside the image, outermost first. */
static int add_parents(struct archive *a, const char *name, json_t *made, sk_err *err)
{
    _sk_free_ char *p = sk_strdup(name);
    for (char *q = strchr(p, '/'); q; q = strchr(q + 1, '/')) {
        *q = 0;
        if (!json_object_get(made, p)) {
            json_object_set_new(made, p, json_true());
            if (add_entry(a, p, AE_IFDIR, 0755, NULL, NULL, 0, err) < 0) return -1;
        }
        *q = '/';
    }
    return 0;
}

/* The host's curl and every shared library it needs, at their host paths.
 * Skipped (the images still work) when curl is not installed. */
static int add_curl(struct archive *a, sk_err *err)
{
    if (access(curl_path, X_OK) != 0) return 0;
    char **libs = NULL;
    if (sk_elf_deps(curl_path, &libs, err) < 0) return sk_err_wrap(err, "curl for built-in images");
    _sk_json_ json_t *made = json_pack("{s:b,s:b,s:b}", "bin", 1, "usr", 1, "usr/bin", 1);
    int rc = add_file(a, curl_path + 1, curl_path, err);
    for (size_t i = 0; rc == 0 && libs[i]; i++)
        rc = add_parents(a, libs[i] + 1, made, err) < 0 ? -1 : add_file(a, libs[i] + 1, libs[i], err);
    sk_image_strv_free(libs);
    return rc;
}

static int add_tools(struct archive *a, const char *busybox, const char *samples_dir, sk_err *err)
{
    if (add_file(a, "bin/busybox", busybox, err) < 0) return -1;
    /* skiff's nslookup follows resolv.conf's search list (busybox's does
     * not), so `nslookup kubernetes.default` works as with bind's */
    _sk_free_ char *ns = sk_printf("%s/nslookup", samples_dir);
    if (add_file(a, "usr/bin/nslookup", ns, err) < 0) return -1;
    const char *bash = NULL;
    for (int i = 0; bash_paths[i] && !bash; i++)
        if (access(bash_paths[i], R_OK) == 0) bash = bash_paths[i];
    if (bash && add_file(a, "bin/bash", bash, err) < 0) return -1;
    for (int i = 0; applets[i]; i++) {
        _sk_free_ char *name = sk_printf("bin/%s", applets[i]);
        if (add_entry(a, name, AE_IFLNK, 0777, "/bin/busybox", NULL, 0, err) < 0) return -1;
    }
    /* Scripts often say #!/usr/bin/env. */
    if (add_entry(a, "usr/bin/env", AE_IFLNK, 0777, "/bin/busybox", NULL, 0, err) < 0) return -1;
    return add_curl(a, err);
}

/* A layer tar in memory (a few MiB): the shared tools when binary is NULL,
 * else just the sample binary at PATH. */
static int build_layer(const char *binary, const char *path, const char *busybox,
                       const char *samples_dir, sk_buf *out, sk_err *err)
{
    struct archive *a = archive_write_new();
    int rc = -1;
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
        archive_write_open(a, out, NULL, buf_write, NULL) != ARCHIVE_OK) {
        tar_fail(a, err);
        goto out;
    }
    if (binary ? add_file(a, path, binary, err) < 0
               : add_skeleton(a, err) < 0 || add_tools(a, busybox, samples_dir, err) < 0)
        goto out;
    if (archive_write_close(a) != ARCHIVE_OK) {
        tar_fail(a, err);
        goto out;
    }
    rc = 0;
out:
    archive_write_free(a);
    return rc;
}

static char *config_json(const struct builtin_spec *sp, const char *tools_id, const char *diff_id)
{
    _sk_free_ char *env = sp->version
        ? sk_printf(",\"VERSION=%s\"", sp->version) : sk_strdup("");
    _sk_free_ char *cmd = sp->cmd ? sk_printf(",\"Cmd\":%s", sp->cmd) : sk_strdup("");
    return sk_printf(
        "{\"created\":\"%s\",\"architecture\":\"%s\",\"os\":\"linux\",\"config\":{"
        "\"Entrypoint\":%s%s,\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
        "/usr/bin:/sbin:/bin\"%s],\"ExposedPorts\":{\"8080/tcp\":{}},\"WorkingDir\":\"/\","
        "\"Labels\":{\"io.skiff.builtin\":\"true\",\"org.opencontainers.image.description\":"
        "\"skiff built-in equivalent of %s, built from skiff's own sample servers\"}},"
        "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\",\"%s\"]},\"history\":[{\"created\":"
        "\"%s\",\"created_by\":\"skiff built-in tools: busybox, bash, curl\"},{\"created\":"
        "\"%s\",\"created_by\":\"skiff built-in sample server\"}]}",
        BUILTIN_CREATED, sk_image_node_arch(), sp->entrypoint, cmd, env, sp->original, tools_id,
        diff_id, BUILTIN_CREATED, BUILTIN_CREATED);
}

struct put_ctx {
    const char *name;
    const char *digest;
    int64_t size;
};

static int put_entry(json_t *index, void *ctx, sk_err *err)
{
    (void)err;
    struct put_ctx *p = ctx;
    sk_image_index_put(index, p->name, "application/vnd.oci.image.manifest.v1+json", p->digest,
                       p->size, NULL);
    return 0;
}

/* Stores config + manifest for SP over an already stored layer and names it. */
static int store_image(sk_image_store *s, const struct builtin_spec *sp, const char *tools_dig,
                       size_t tools_len, const char *layer_dig, size_t layer_len, sk_err *err)
{
    _sk_free_ char *cfg = config_json(sp, tools_dig, layer_dig);
    char cdig[72], mdig[72];
    if (sk_blob_put(s, cfg, strlen(cfg), NULL, cdig, err) < 0) return -1;
    _sk_free_ char *man = sk_printf(
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
        "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":"
        "\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":"
        "\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\",\"size\":%zu},"
        "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\",\"size\":%zu}]}",
        cdig, strlen(cfg), tools_dig, tools_len, layer_dig, layer_len);
    if (sk_blob_put(s, man, strlen(man), NULL, mdig, err) < 0) return -1;
    _sk_free_ char *name = sk_image_normalize(sp->ref, err);
    if (!name) return -1;
    struct put_ctx pc = {name, mdig, (int64_t)strlen(man)};
    return sk_image_index_update(s, put_entry, &pc, err);
}

const char *const *sk_image_builtin_refs(void)
{
    /* the names of specs[], in order (a test checks they agree) */
    static const char *const refs[] = {"gcr.io/google-samples/kubernetes-bootcamp:v1",
                                       "jocatalin/kubernetes-bootcamp:v2",
                                       "registry.k8s.io/e2e-test-images/agnhost:2.39", NULL};
    return refs;
}

/* "path size mtime\n" for every input file: equal stamps, equal images. */
static char *input_stamp(const char *samples_dir, const char *busybox)
{
    sk_buf b = SK_BUF_INIT;
    const char *fixed[] = {busybox, bash_paths[0], bash_paths[1], curl_path};
    char **libs = NULL;
    sk_err e = SK_ERR_INIT;
    if (access(curl_path, X_OK) == 0 && sk_elf_deps(curl_path, &libs, &e) < 0) libs = NULL;
    sk_err_clear(&e);
    for (size_t i = 0; i < SK_ARRAY_LEN(fixed) + SK_ARRAY_LEN(specs); i++) {
        _sk_free_ char *own = i >= SK_ARRAY_LEN(fixed)
            ? sk_printf("%s/%s", samples_dir, specs[i - SK_ARRAY_LEN(fixed)].binary) : NULL;
        const char *p = own ? own : fixed[i];
        struct stat st;
        if (stat(p, &st) == 0)
            sk_buf_addf(&b, "%s %lld %lld\n", p, (long long)st.st_size, (long long)st.st_mtime);
    }
    for (size_t i = 0; libs && libs[i]; i++) {
        struct stat st;
        if (stat(libs[i], &st) == 0)
            sk_buf_addf(&b, "%s %lld %lld\n", libs[i], (long long)st.st_size, (long long)st.st_mtime);
    }
    sk_image_strv_free(libs);
    _sk_free_ char *ns = sk_printf("%s/nslookup", samples_dir);
    struct stat nst;
    if (stat(ns, &nst) == 0)
        sk_buf_addf(&b, "%s %lld %lld\n", ns, (long long)nst.st_size, (long long)nst.st_mtime);
    sk_buf_addf(&b, "format 3\n");
    return sk_buf_take(&b);
}

static bool all_stored(sk_image_store *s)
{
    for (size_t i = 0; i < SK_ARRAY_LEN(specs); i++) {
        sk_err e = SK_ERR_INIT;
        int r = sk_image_exists(s, specs[i].ref, &e);
        sk_err_clear(&e);
        if (r != 1) return false;
    }
    return true;
}

int sk_image_builtin_load(sk_image_store *s, const char *samples_dir, const char *busybox_path,
                          sk_err *err)
{
    if (!busybox_path) busybox_path = "/bin/busybox";
    _sk_close_ int gc = sk_image_lock(s, SK_LOCK_GC, LOCK_SH, err);
    if (gc < 0) return -1;
    _sk_free_ char *stamp_path = sk_printf("%s/builtin.stamp", s->root);
    _sk_free_ char *stamp = input_stamp(samples_dir, busybox_path);
    _sk_free_ char *old = sk_read_file(stamp_path, NULL, &(sk_err){0});
    if (old && !strcmp(old, stamp) && all_stored(s)) return 0;

    sk_buf tools = SK_BUF_INIT;
    char tdig[72];
    if (build_layer(NULL, NULL, busybox_path, samples_dir, &tools, err) < 0 ||
        sk_blob_put(s, tools.data, tools.len, NULL, tdig, err) < 0) {
        sk_buf_release(&tools);
        return sk_err_wrap(err, "built-in images");
    }
    size_t tools_len = tools.len;
    sk_buf_release(&tools);
    for (size_t i = 0; i < SK_ARRAY_LEN(specs); i++) {
        const struct builtin_spec *sp = &specs[i];
        _sk_free_ char *bin = sk_printf("%s/%s", samples_dir, sp->binary);
        sk_buf layer = SK_BUF_INIT;
        char ldig[72];
        int rc = build_layer(bin, sp->path, busybox_path, samples_dir, &layer, err);
        if (rc == 0) rc = sk_blob_put(s, layer.data, layer.len, NULL, ldig, err);
        if (rc == 0) rc = store_image(s, sp, tdig, tools_len, ldig, layer.len, err);
        sk_buf_release(&layer);
        if (rc < 0) return sk_err_wrap(err, "built-in image %s", sp->ref);
    }
    sk_err e = SK_ERR_INIT;
    if (sk_write_file(stamp_path, stamp, strlen(stamp), 0644, &e) < 0) sk_err_clear(&e);
    return 0;
}

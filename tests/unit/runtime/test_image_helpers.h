/* Shared by the image tests: temp dirs removed at exit, and builders for
 * test images (tar layers with libarchive, configs, docker-save and OCI
 * archives). Everything is written under the test's own temp dir. */
#ifndef TEST_IMAGE_HELPERS_H
#define TEST_IMAGE_HELPERS_H

#include "runtime/image/image_int.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>

static char *th_dirs[16] __attribute__((unused));
static int th_ndirs __attribute__((unused));

static inline void th_cleanup(void)
{
    sk_err err = SK_ERR_INIT;
    for (int i = 0; i < th_ndirs; i++) sk_fs_remove_tree(th_dirs[i], &err);
}

static inline char *th_tmpdir(void)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *d = sk_printf("%s/skiff-image-test-XXXXXX", base);
    if (!mkdtemp(d)) {
        perror("mkdtemp");
        exit(1);
    }
    if (th_ndirs == 0) atexit(th_cleanup);
    th_dirs[th_ndirs++] = d;
    return d;
}

/* ---- tar layers ---- */

typedef struct {
    struct archive *a;
} th_tar;

static inline void th_tar_open(th_tar *t, const char *path, bool gzip, bool raw)
{
    t->a = archive_write_new();
    if (raw) archive_write_set_format_raw(t->a);
    else archive_write_set_format_pax_restricted(t->a);
    if (gzip) archive_write_add_filter_gzip(t->a);
    if (archive_write_open_filename(t->a, path) != ARCHIVE_OK) {
        fprintf(stderr, "open %s: %s\n", path, archive_error_string(t->a));
        exit(1);
    }
}

static inline void th_tar_entry(th_tar *t, const char *name, mode_t type, int mode, const char *data,
                         const char *link)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, (mode_t)mode);
    archive_entry_set_mtime(e, 1700000000, 0);
    size_t n = data ? strlen(data) : 0;
    if (type == AE_IFLNK) archive_entry_set_symlink(e, link);
    if (type == AE_IFREG && link) archive_entry_set_hardlink(e, link);
    archive_entry_set_size(e, type == AE_IFREG && !link ? (la_int64_t)n : 0);
    if (archive_write_header(t->a, e) != ARCHIVE_OK) {
        fprintf(stderr, "tar header %s: %s\n", name, archive_error_string(t->a));
        exit(1);
    }
    if (n && !link) archive_write_data(t->a, data, n);
    archive_entry_free(e);
}

static inline void th_tar_chardev(th_tar *t, const char *name, unsigned maj, unsigned min)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFCHR);
    archive_entry_set_perm(e, 0666);
    archive_entry_set_rdevmajor(e, maj);
    archive_entry_set_rdevminor(e, min);
    archive_write_header(t->a, e);
    archive_entry_free(e);
}

#define TH_DIR(t, n) th_tar_entry(t, n, AE_IFDIR, 0755, NULL, NULL)
#define TH_FILE(t, n, d) th_tar_entry(t, n, AE_IFREG, 0644, d, NULL)
#define TH_EXEC(t, n, d) th_tar_entry(t, n, AE_IFREG, 0755, d, NULL)
#define TH_SYMLINK(t, n, target) th_tar_entry(t, n, AE_IFLNK, 0777, NULL, target)
#define TH_HARDLINK(t, n, target) th_tar_entry(t, n, AE_IFREG, 0644, NULL, target)

static inline void th_tar_close(th_tar *t)
{
    archive_write_close(t->a);
    archive_write_free(t->a);
}

/* Adds a member with in-memory content to an archive being written. */
static inline void th_tar_mem(th_tar *t, const char *name, const void *data, size_t n)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)n);
    archive_write_header(t->a, e);
    if (n) archive_write_data(t->a, data, n);
    archive_entry_free(e);
}

static inline char *th_read(const char *path, size_t *n)
{
    sk_err err = SK_ERR_INIT;
    char *d = sk_read_file(path, n, &err);
    if (!d) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    return d;
}

static inline void th_tar_file(th_tar *t, const char *name, const char *path)
{
    size_t n = 0;
    char *d = th_read(path, &n);
    th_tar_mem(t, name, d, n);
    free(d);
}

static inline void th_file_digest(const char *path, char out[72])
{
    size_t n = 0;
    char *d = th_read(path, &n);
    sk_sha256_hex(d, n, out);
    free(d);
}

static inline int64_t th_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

/* gzip-compresses src into dst (a raw libarchive stream). */
static inline void th_gzip(const char *src, const char *dst)
{
    th_tar t;
    size_t n = 0;
    char *d = th_read(src, &n);
    th_tar_open(&t, dst, true, true);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, "data");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_size(e, (la_int64_t)n);
    archive_write_header(t.a, e);
    archive_write_data(t.a, d, n);
    archive_entry_free(e);
    th_tar_close(&t);
    free(d);
}

static inline void th_write(const char *path, const char *text)
{
    sk_err err = SK_ERR_INIT;
    if (sk_write_file(path, text, strlen(text), 0644, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
}

/* ---- a two-layer test image ---- */

typedef struct {
    char *dir;
    char *l1, *l2tar, *l2gz; /* layer files: plain, plain, gzip */
    char d1[72], d2[72], d2gz[72]; /* digests: l1 (= diff id), l2 diff id, l2 blob */
    char *config;           /* JSON text */
    char cdig[72];
} th_image;

static inline void th_image_build(th_image *im, const char *dir)
{
    th_tar t;
    memset(im, 0, sizeof *im);
    im->dir = sk_strdup(dir);
    im->l1 = sk_printf("%s/l1.tar", dir);
    im->l2tar = sk_printf("%s/l2.tar", dir);
    im->l2gz = sk_printf("%s/l2.tar.gz", dir);
    th_tar_open(&t, im->l1, false, false);
    TH_DIR(&t, "bin");
    TH_EXEC(&t, "bin/hello", "hello v1\n");
    TH_HARDLINK(&t, "bin/hello2", "bin/hello");
    TH_DIR(&t, "etc");
    TH_FILE(&t, "etc/passwd", "root:x:0:0::/root:/bin/sh\n");
    TH_FILE(&t, "etc/config", "old\n");
    TH_DIR(&t, "www");
    TH_FILE(&t, "www/index.html", "v1\n");
    TH_FILE(&t, "www/keep.txt", "keep\n");
    TH_DIR(&t, "data");
    TH_FILE(&t, "data/old1", "1\n");
    TH_DIR(&t, "data/sub");
    TH_FILE(&t, "data/sub/old2", "2\n");
    TH_SYMLINK(&t, "link", "/etc/passwd");
    TH_DIR(&t, "gone");
    TH_FILE(&t, "gone/file", "x\n");
    TH_DIR(&t, "dev");
    th_tar_chardev(&t, "dev/null", 1, 3);
    th_tar_close(&t);
    th_tar_open(&t, im->l2tar, false, false);
    TH_FILE(&t, "etc/.wh.config", "");
    TH_FILE(&t, "./data/.wh..wh..opq", "");
    TH_FILE(&t, "data/new", "new\n");
    TH_FILE(&t, "www/index.html", "v2\n");
    TH_EXEC(&t, "bin/tool", "tool\n");
    TH_HARDLINK(&t, "bin/tool-link", "bin/tool");
    TH_FILE(&t, ".wh.gone", "");
    th_tar_close(&t);
    th_gzip(im->l2tar, im->l2gz);
    th_file_digest(im->l1, im->d1);
    th_file_digest(im->l2tar, im->d2);
    th_file_digest(im->l2gz, im->d2gz);
    im->config = sk_printf(
        "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Entrypoint\":[\"/bin/hello\"],"
        "\"Cmd\":[\"--port\",\"8080\"],\"Env\":[\"PATH=/bin\",\"FOO=bar\"],\"WorkingDir\":\"/www\","
        "\"User\":\"1000:1000\",\"ExposedPorts\":{\"8080/tcp\":{}},"
        "\"Labels\":{\"io.skiff.builtin\":\"hello\"}},"
        "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\",\"%s\"]}}",
        im->d1, im->d2);
    sk_sha256_hex(im->config, strlen(im->config), im->cdig);
}

static inline void th_image_free(th_image *im)
{
    free(im->dir);
    free(im->l1);
    free(im->l2tar);
    free(im->l2gz);
    free(im->config);
}

/* OCI manifest JSON for the image (layers: l1 plain, l2 gzip). */
static inline char *th_manifest(const th_image *im)
{
    return sk_printf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\","
                     "\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":\"%s\",\"digest\":"
                     "\"%s\",\"size\":%lld},{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%lld}]}",
                     MT_OCI_MANIFEST, MT_OCI_CONFIG, im->cdig, strlen(im->config), MT_OCI_LAYER,
                     im->d1, (long long)th_file_size(im->l1), MT_OCI_LAYER_GZ, im->d2gz,
                     (long long)th_file_size(im->l2gz));
}

static inline bool th_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static inline char *th_slurp(const char *path)
{
    sk_err err = SK_ERR_INIT;
    return sk_read_file(path, NULL, &err);
}

/* ---- TLS ---- */

#include <gnutls/x509.h>
#include <time.h>

/* A self-signed ECDSA certificate for 127.0.0.1 (also its own CA). */
static inline bool th_selfsigned(const char *cert_path, const char *key_path)
{
    gnutls_x509_privkey_t key;
    gnutls_x509_crt_t crt;
    unsigned char ip[4] = {127, 0, 0, 1}, serial[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    char pem[8192];
    size_t n;
    time_t now = time(NULL);
    bool ok = gnutls_x509_privkey_init(&key) == 0;
    ok = gnutls_x509_crt_init(&crt) == 0 && ok; /* always initialised: freed below */
    ok = ok && gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
                                            GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) == 0;
    ok = ok && gnutls_x509_crt_set_version(crt, 3) == 0 &&
         gnutls_x509_crt_set_serial(crt, serial, sizeof serial) == 0 &&
         gnutls_x509_crt_set_activation_time(crt, now - 3600) == 0 &&
         gnutls_x509_crt_set_expiration_time(crt, now + 86400) == 0 &&
         gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, "127.0.0.1", 9) == 0 &&
         gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, sizeof ip,
                                              GNUTLS_FSAN_SET) == 0 &&
         gnutls_x509_crt_set_basic_constraints(crt, 1, -1) == 0 &&
         gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE |
                                                GNUTLS_KEY_KEY_CERT_SIGN) == 0 &&
         gnutls_x509_crt_set_key(crt, key) == 0 &&
         gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0) == 0;
    sk_err err = SK_ERR_INIT;
    n = sizeof pem;
    ok = ok && gnutls_x509_crt_export(crt, GNUTLS_X509_FMT_PEM, pem, &n) == 0 &&
         sk_write_file(cert_path, pem, n, 0644, &err) == 0;
    n = sizeof pem;
    ok = ok && gnutls_x509_privkey_export_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN,
                                                pem, &n) == 0 &&
         sk_write_file(key_path, pem, n, 0600, &err) == 0;
    gnutls_x509_crt_deinit(crt);
    gnutls_x509_privkey_deinit(key);
    return ok;
}

/* ---- isolation for network tests ---- */

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

/* Moves the test into a new network namespace with only loopback up, so
 * nothing it sends can leave the machine (names like gcr.io do not even
 * resolve). Returns false when that is not possible (then skip). */
static inline bool th_netns(void)
{
    if (unshare(CLONE_NEWNET) < 0 && unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0) return false;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    bool ok = fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
    ifr.ifr_flags |= IFF_UP;
    ok = ok && ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
    if (fd >= 0) close(fd);
    for (const char *const *v = (const char *const[]){"http_proxy", "https_proxy", "HTTP_PROXY",
                                                      "HTTPS_PROXY", "ALL_PROXY", "all_proxy", NULL};
         *v; v++)
        unsetenv(*v);
    return ok;
}

/* A loopback TCP port that was free a moment ago. */
static inline int th_free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        perror("free port");
        exit(1);
    }
    close(fd);
    return ntohs(a.sin_port);
}

#endif

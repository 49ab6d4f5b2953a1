/* The on-disk PKI in DIR/pki: create what is missing, reissue leaves that
 * no longer fit (other CA, wrong key, SANs not covered, close to expiry),
 * and issue client certificates on demand.
 *
 * Write order makes a crash at any point recoverable on the next start: a
 * new CA first removes the old key, then writes ca.crt, then ca.key, so a
 * half-written CA always shows up as "ca.key missing" and is regenerated.
 * Leaves are checked for key/cert match, so a torn pair is reissued. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "pki/pki_int.h"

#define DAY 86400
#define CA_DAYS 3650
#define LEAF_DAYS 365
#define RENEW_BEFORE_DAYS 30

static const char *const admin_orgs[] = {"system:masters", NULL};

static char *pki_path(const char *dir, const char *name, const char *ext)
{
    return sk_printf("%s/pki/%s.%s", dir, name, ext);
}

static int write_pair(const char *dir, const char *name, const sk_pem_pair *p, bool key_last,
                      sk_err *err)
{
    _sk_free_ char *cpath = pki_path(dir, name, "crt");
    _sk_free_ char *kpath = pki_path(dir, name, "key");
    if (!key_last && sk_write_file(kpath, p->key, strlen(p->key), 0600, err) < 0) return -1;
    if (sk_write_file(cpath, p->cert, strlen(p->cert), 0644, err) < 0) return -1;
    if (key_last && sk_write_file(kpath, p->key, strlen(p->key), 0600, err) < 0) return -1;
    return 0;
}

static void validity(sk_cert_spec *spec, int days)
{
    int64_t now = (int64_t)time(NULL);
    /* An hour of slack for peers whose clocks run behind ours. */
    spec->not_before = now - 3600;
    spec->not_after = now + (int64_t)days * DAY;
}

static int create_ca(const char *dir, sk_ca *ca, sk_err *err)
{
    sk_cert_spec spec = {.kind = SK_CERT_CA, .cn = "skiff-ca"};
    sk_pem_pair p = {NULL, NULL};
    _sk_free_ char *kpath = pki_path(dir, "ca", "key");
    validity(&spec, CA_DAYS);
    if (unlink(kpath) < 0 && errno != ENOENT) return sk_err_sys(err, "remove %s", kpath);
    int rc = sk_cert_issue(&spec, NULL, &p, err);
    if (rc == 0) rc = write_pair(dir, "ca", &p, true, err);
    if (rc == 0) rc = sk_ca_from_pem(ca, p.cert, p.key, err);
    sk_pem_pair_release(&p);
    return rc;
}

/* Loads the CA, creating it when either file is missing. A present but
 * unreadable CA is an error: regenerating it would silently invalidate
 * every kubeconfig handed out. */
static int ensure_ca(const char *dir, sk_ca *ca, bool *created, sk_err *err)
{
    sk_err lerr = SK_ERR_INIT;
    *created = false;
    if (sk_ca_load(ca, dir, &lerr) == 0) return 0;
    if (lerr.code != SK_ENOTFOUND) {
        sk_err_set(err, lerr.code, "%s (remove %s/pki/ca.* to regenerate)", lerr.msg, dir);
        sk_err_clear(&lerr);
        return -1;
    }
    sk_err_clear(&lerr);
    *created = true;
    return create_ca(dir, ca, err);
}

static bool leaf_fits(const sk_ca *ca, gnutls_x509_crt_t crt, gnutls_x509_privkey_t key,
                      const sk_cert_spec *spec)
{
    unsigned char a[64], b[64];
    size_t na = sizeof a, nb = sizeof b;
    unsigned status = 0;
    if (gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA1, a, &na) < 0 ||
        gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA1, b, &nb) < 0 || na != nb ||
        memcmp(a, b, na))
        return false;
    if (gnutls_x509_crt_verify(crt, &ca->crt, 1, 0, &status) < 0 || status) return false;
    if ((int64_t)gnutls_x509_crt_get_expiration_time(crt) <
        (int64_t)time(NULL) + RENEW_BEFORE_DAYS * DAY)
        return false;
    for (size_t i = 0; i < spec->nsans; i++)
        if (!sk_cert_has_san(crt, spec->sans[i])) return false;
    return true;
}

/* True when NAME.crt/NAME.key exist, parse, and still suit spec. */
static bool leaf_current(const char *dir, const char *name, const sk_ca *ca,
                         const sk_cert_spec *spec)
{
    _sk_free_ char *cpath = pki_path(dir, name, "crt");
    _sk_free_ char *kpath = pki_path(dir, name, "key");
    _sk_free_ char *cpem = NULL, *kpem = NULL;
    gnutls_x509_crt_t crt = NULL;
    gnutls_x509_privkey_t key = NULL;
    bool ok = false;

    if (!(cpem = sk_read_file(cpath, NULL, NULL)) || !(kpem = sk_read_file(kpath, NULL, NULL)))
        return false;
    gnutls_datum_t c = {(unsigned char *)cpem, (unsigned)strlen(cpem)};
    gnutls_datum_t k = {(unsigned char *)kpem, (unsigned)strlen(kpem)};
    if (gnutls_x509_crt_init(&crt) < 0) return false;
    if (gnutls_x509_privkey_init(&key) == 0 &&
        gnutls_x509_crt_import(crt, &c, GNUTLS_X509_FMT_PEM) == 0 &&
        gnutls_x509_privkey_import2(key, &k, GNUTLS_X509_FMT_PEM, NULL, 0) == 0)
        ok = leaf_fits(ca, crt, key, spec);
    gnutls_x509_crt_deinit(crt);
    if (key) gnutls_x509_privkey_deinit(key);
    return ok;
}

static int ensure_leaf(const char *dir, const char *name, const sk_ca *ca, bool force,
                       sk_cert_spec *spec, sk_err *err)
{
    sk_pem_pair p = {NULL, NULL};
    if (!force && leaf_current(dir, name, ca, spec)) return 0;
    validity(spec, LEAF_DAYS);
    int rc = sk_cert_issue(spec, ca, &p, err);
    if (rc == 0) rc = write_pair(dir, name, &p, false, err);
    sk_pem_pair_release(&p);
    if (rc < 0) sk_err_wrap(err, "%s certificate", name);
    return rc;
}

int sk_pki_ensure(const char *dir, const char *const *sans, size_t nsans, sk_err *err)
{
    sk_cert_spec server = {.kind = SK_CERT_SERVER, .cn = "kube-apiserver", .sans = sans,
                           .nsans = nsans};
    sk_cert_spec admin = {.kind = SK_CERT_CLIENT, .cn = "kubernetes-admin",
                          .orgs = admin_orgs};
    _sk_free_ char *pdir = sk_printf("%s/pki", dir);
    sk_ca ca = {NULL, NULL};
    bool fresh = false;

    /* Bad SANs fail here rather than after a CA has been written. */
    if (sk_cert_check_names(&server, err) < 0) return -1;
    if (sk_mkdir_p(pdir, 0700, err) < 0) return -1;
    if (ensure_ca(dir, &ca, &fresh, err) < 0) return -1;
    int rc = ensure_leaf(dir, "server", &ca, fresh, &server, err);
    if (rc == 0) rc = ensure_leaf(dir, "admin", &ca, fresh, &admin, err);
    sk_ca_release(&ca);
    return rc;
}

int sk_pki_issue_client(const char *dir, const char *cn, const char *const *orgs,
                        sk_pem_pair *out, sk_err *err)
{
    sk_cert_spec spec = {.kind = SK_CERT_CLIENT, .cn = cn, .orgs = orgs};
    sk_ca ca = {NULL, NULL};
    out->cert = out->key = NULL;
    if (sk_cert_check_names(&spec, err) < 0) return -1;
    if (sk_ca_load(&ca, dir, err) < 0) return -1;
    validity(&spec, LEAF_DAYS);
    int rc = sk_cert_issue(&spec, &ca, out, err);
    sk_ca_release(&ca);
    return rc;
}

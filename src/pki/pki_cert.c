/* Certificate creation: P-256 keys, X.509 v3 certificates for the CA, the
 * API server and clients, and the SAN comparison used to decide reissue. */
#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "pki/pki_int.h"

static int tls_err(sk_err *err, int rc, const char *what)
{
    return sk_err_set(err, SK_EINTERNAL, "%s: %s", what, gnutls_strerror(rc));
}

void sk_pem_pair_release(sk_pem_pair *p)
{
    if (!p) return;
    free(p->cert);
    free(p->key);
    p->cert = p->key = NULL;
}

void sk_ca_release(sk_ca *ca)
{
    if (ca->crt) gnutls_x509_crt_deinit(ca->crt);
    if (ca->key) gnutls_x509_privkey_deinit(ca->key);
    ca->crt = NULL;
    ca->key = NULL;
}

/* Both key ids are SHA-1 of the public key, so equality means the pair
 * belongs together. */
static bool key_matches(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key)
{
    unsigned char a[64], b[64];
    size_t na = sizeof a, nb = sizeof b;
    if (gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA1, a, &na) < 0) return false;
    if (gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA1, b, &nb) < 0) return false;
    return na == nb && memcmp(a, b, na) == 0;
}

int sk_ca_from_pem(sk_ca *ca, const char *cert_pem, const char *key_pem, sk_err *err)
{
    gnutls_datum_t c = {(unsigned char *)cert_pem, (unsigned)strlen(cert_pem)};
    gnutls_datum_t k = {(unsigned char *)key_pem, (unsigned)strlen(key_pem)};
    int rc;
    ca->crt = NULL;
    ca->key = NULL;
    if ((rc = gnutls_x509_crt_init(&ca->crt)) < 0) return tls_err(err, rc, "ca certificate");
    if ((rc = gnutls_x509_privkey_init(&ca->key)) < 0) {
        sk_ca_release(ca);
        return tls_err(err, rc, "ca key");
    }
    if ((rc = gnutls_x509_crt_import(ca->crt, &c, GNUTLS_X509_FMT_PEM)) < 0) {
        sk_ca_release(ca);
        return tls_err(err, rc, "parse ca.crt");
    }
    if ((rc = gnutls_x509_privkey_import2(ca->key, &k, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
        sk_ca_release(ca);
        return tls_err(err, rc, "parse ca.key");
    }
    if (!key_matches(ca->crt, ca->key)) {
        sk_ca_release(ca);
        return sk_err_set(err, SK_EINTERNAL, "ca.key does not match ca.crt");
    }
    return 0;
}

int sk_ca_load(sk_ca *ca, const char *dir, sk_err *err)
{
    _sk_free_ char *cpath = sk_printf("%s/pki/ca.crt", dir);
    _sk_free_ char *kpath = sk_printf("%s/pki/ca.key", dir);
    _sk_free_ char *cert = sk_read_file(cpath, NULL, err);
    if (!cert) return -1;
    _sk_free_ char *key = sk_read_file(kpath, NULL, err);
    if (!key) return -1;
    if (sk_ca_from_pem(ca, cert, key, err) < 0) return sk_err_wrap(err, "%s/pki", dir);
    return 0;
}

/* Returns 4 or 16 and the address bytes for an IP literal, 0 otherwise. */
static unsigned parse_ip(const char *s, unsigned char out[16])
{
    if (inet_pton(AF_INET, s, out) == 1) return 4;
    if (inet_pton(AF_INET6, s, out) == 1) return 16;
    return 0;
}

static bool dns_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-') return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("-._*", *p)) return false;
    return true;
}

static bool rdn_ok(const char *s)
{
    return s && *s && strlen(s) <= SK_PKI_MAX_NAME;
}

int sk_cert_check_names(const sk_cert_spec *spec, sk_err *err)
{
    unsigned char ip[16];
    size_t norgs = 0;
    if (!rdn_ok(spec->cn))
        return sk_err_set(err, SK_EINVALID, "common name must be 1..%d bytes", SK_PKI_MAX_NAME);
    for (const char *const *o = spec->orgs; o && *o; o++, norgs++) {
        if (!rdn_ok(*o))
            return sk_err_set(err, SK_EINVALID, "organization must be 1..%d bytes",
                              SK_PKI_MAX_NAME);
    }
    if (norgs > SK_ARRAY_LEN(((sk_identity *)0)->groups))
        return sk_err_set(err, SK_EINVALID, "at most %zu organizations",
                          SK_ARRAY_LEN(((sk_identity *)0)->groups));
    for (size_t i = 0; i < spec->nsans; i++) {
        const char *s = spec->sans[i];
        if (!s || (!parse_ip(s, ip) && !dns_name_ok(s)))
            return sk_err_set(err, SK_EINVALID, "invalid subject alternative name \"%s\"",
                              s ? s : "(null)");
    }
    return 0;
}

bool sk_cert_has_san(gnutls_x509_crt_t crt, const char *san)
{
    unsigned char ip[16];
    unsigned iplen = parse_ip(san, ip);
    size_t slen = strlen(san);
    for (unsigned seq = 0; seq < 4096; seq++) {
        char buf[512];
        size_t size = sizeof buf;
        unsigned critical = 0;
        int t = gnutls_x509_crt_get_subject_alt_name(crt, seq, buf, &size, &critical);
        if (t == GNUTLS_E_SHORT_MEMORY_BUFFER) continue;
        if (t < 0) break;
        if (t == GNUTLS_SAN_IPADDRESS && iplen && size == iplen && !memcmp(buf, ip, iplen))
            return true;
        if (t == GNUTLS_SAN_DNSNAME && !iplen && size == slen && !strncasecmp(buf, san, slen))
            return true;
    }
    return false;
}

static int key_new(gnutls_x509_privkey_t *key, sk_err *err)
{
    int rc = gnutls_x509_privkey_init(key);
    if (rc < 0) return tls_err(err, rc, "key init");
    rc = gnutls_x509_privkey_generate2(*key, GNUTLS_PK_ECDSA,
                                       GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0,
                                       NULL, 0);
    if (rc < 0) return tls_err(err, rc, "generate P-256 key");
    return 0;
}

/* Serial, validity and subject. Serials are 16 random bytes with the top
 * bit cleared (must be positive) and a set second bit (no DER padding). */
static int set_basics(gnutls_x509_crt_t crt, const sk_cert_spec *spec, gnutls_x509_privkey_t key,
                      sk_err *err)
{
    unsigned char serial[16];
    int rc;
    if ((rc = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial)) < 0)
        return tls_err(err, rc, "serial");
    serial[0] = (unsigned char)((serial[0] & 0x3f) | 0x40);
    if ((rc = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
        (rc = gnutls_x509_crt_set_serial(crt, serial, sizeof serial)) < 0 ||
        (rc = gnutls_x509_crt_set_activation_time(crt, (time_t)spec->not_before)) < 0 ||
        (rc = gnutls_x509_crt_set_expiration_time(crt, (time_t)spec->not_after)) < 0 ||
        (rc = gnutls_x509_crt_set_key(crt, key)) < 0)
        return tls_err(err, rc, "certificate fields");
    for (const char *const *o = spec->orgs; o && *o; o++) {
        rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, *o,
                                           (unsigned)strlen(*o));
        if (rc < 0) return tls_err(err, rc, "subject organization");
    }
    rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, spec->cn,
                                       (unsigned)strlen(spec->cn));
    if (rc < 0) return tls_err(err, rc, "subject common name");
    return 0;
}

static int set_sans(gnutls_x509_crt_t crt, const sk_cert_spec *spec, sk_err *err)
{
    for (size_t i = 0; i < spec->nsans; i++) {
        unsigned char ip[16];
        unsigned iplen = parse_ip(spec->sans[i], ip);
        int rc = iplen ? gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, iplen,
                                                              GNUTLS_FSAN_APPEND)
                       : gnutls_x509_crt_set_subject_alt_name(
                             crt, GNUTLS_SAN_DNSNAME, spec->sans[i],
                             (unsigned)strlen(spec->sans[i]), GNUTLS_FSAN_APPEND);
        if (rc < 0) return tls_err(err, rc, spec->sans[i]);
    }
    return 0;
}

static int set_usage(gnutls_x509_crt_t crt, const sk_cert_spec *spec, sk_err *err)
{
    bool is_ca = spec->kind == SK_CERT_CA;
    unsigned ku = is_ca ? GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN |
                              GNUTLS_KEY_DIGITAL_SIGNATURE
                        : GNUTLS_KEY_DIGITAL_SIGNATURE;
    int rc;
    if ((rc = gnutls_x509_crt_set_basic_constraints(crt, is_ca, -1)) < 0 ||
        (rc = gnutls_x509_crt_set_key_usage(crt, ku)) < 0)
        return tls_err(err, rc, "key usage");
    if (is_ca) return 0;
    const char *kp = spec->kind == SK_CERT_SERVER ? GNUTLS_KP_TLS_WWW_SERVER
                                                  : GNUTLS_KP_TLS_WWW_CLIENT;
    if ((rc = gnutls_x509_crt_set_key_purpose_oid(crt, kp, 0)) < 0)
        return tls_err(err, rc, "extended key usage");
    return 0;
}

/* Subject key id from our key; authority key id from the issuer's subject
 * key id (our own for the self-signed CA) so chains build unambiguously. */
static int set_key_ids(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key, const sk_ca *ca,
                       sk_err *err)
{
    unsigned char ski[64], aki[64];
    size_t nski = sizeof ski, naki = sizeof aki;
    unsigned critical = 0;
    int rc = gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA1, ski, &nski);
    if (rc < 0) return tls_err(err, rc, "subject key id");
    if ((rc = gnutls_x509_crt_set_subject_key_id(crt, ski, nski)) < 0)
        return tls_err(err, rc, "subject key id");
    if (!ca) {
        memcpy(aki, ski, nski);
        naki = nski;
    } else if (gnutls_x509_crt_get_subject_key_id(ca->crt, aki, &naki, &critical) < 0) {
        naki = sizeof aki;
        rc = gnutls_x509_privkey_get_key_id(ca->key, GNUTLS_KEYID_USE_SHA1, aki, &naki);
        if (rc < 0) return tls_err(err, rc, "authority key id");
    }
    if ((rc = gnutls_x509_crt_set_authority_key_id(crt, aki, naki)) < 0)
        return tls_err(err, rc, "authority key id");
    return 0;
}

static int export_pair(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key, sk_pem_pair *out,
                       sk_err *err)
{
    gnutls_datum_t d = {NULL, 0};
    int rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d);
    if (rc < 0) return tls_err(err, rc, "export certificate");
    out->cert = sk_strndup((const char *)d.data, d.size);
    gnutls_free(d.data);
    rc = gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &d);
    if (rc < 0) return tls_err(err, rc, "export key");
    out->key = sk_strndup((const char *)d.data, d.size);
    gnutls_free(d.data);
    return 0;
}

int sk_cert_issue(const sk_cert_spec *spec, const sk_ca *ca, sk_pem_pair *out, sk_err *err)
{
    gnutls_x509_privkey_t key = NULL;
    gnutls_x509_crt_t crt = NULL;
    int rc = -1, r;

    out->cert = out->key = NULL;
    if (sk_cert_check_names(spec, err) < 0) return -1;
    if (!ca && spec->kind != SK_CERT_CA)
        return sk_err_set(err, SK_EINTERNAL, "leaf certificate needs a CA");
    if (key_new(&key, err) < 0) goto out;
    if ((r = gnutls_x509_crt_init(&crt)) < 0) {
        tls_err(err, r, "certificate init");
        goto out;
    }
    if (set_basics(crt, spec, key, err) < 0 || set_sans(crt, spec, err) < 0 ||
        set_usage(crt, spec, err) < 0 || set_key_ids(crt, key, ca, err) < 0)
        goto out;
    r = gnutls_x509_crt_sign2(crt, ca ? ca->crt : crt, ca ? ca->key : key, GNUTLS_DIG_SHA256, 0);
    if (r < 0) {
        tls_err(err, r, "sign certificate");
        goto out;
    }
    rc = export_pair(crt, key, out, err);
out:
    if (rc < 0) sk_pem_pair_release(out);
    if (crt) gnutls_x509_crt_deinit(crt);
    if (key) gnutls_x509_privkey_deinit(key);
    return rc;
}

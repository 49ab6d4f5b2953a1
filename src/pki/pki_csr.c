/* Certificate signing requests (PKCS#10) for the TLS bootstrap: a node
 * makes a key and a request; the signer in the controller manager checks
 * it and issues a certificate with the cluster CA, as kube-controller-
 * manager's csrsigning does. Requests are untrusted input: sizes and SAN
 * counts are capped and the self-signature is always checked. */
#include <arpa/inet.h>
#include <string.h>
#include <time.h>

#include "pki/pki_int.h"

#define CSR_MAX_SANS_SCAN 256 /* SAN entries looked at before giving up */

static int tls_err(sk_err *err, enum sk_code code, int rc, const char *what)
{
    return sk_err_set(err, code, "%s: %s", what, gnutls_strerror(rc));
}

static unsigned parse_ip(const char *s, unsigned char out[16])
{
    if (inet_pton(AF_INET, s, out) == 1) return 4;
    if (inet_pton(AF_INET6, s, out) == 1) return 16;
    return 0;
}

/* ---- creating a request ----------------------------------------------------- */

static int crq_subject(gnutls_x509_crq_t crq, const sk_cert_spec *spec, sk_err *err)
{
    int rc;
    for (const char *const *o = spec->orgs; o && *o; o++) {
        rc = gnutls_x509_crq_set_dn_by_oid(crq, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, *o,
                                           (unsigned)strlen(*o));
        if (rc < 0) return tls_err(err, SK_EINTERNAL, rc, "request organization");
    }
    rc = gnutls_x509_crq_set_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0, spec->cn,
                                       (unsigned)strlen(spec->cn));
    if (rc < 0) return tls_err(err, SK_EINTERNAL, rc, "request common name");
    for (size_t i = 0; i < spec->nsans; i++) {
        unsigned char ip[16];
        unsigned iplen = parse_ip(spec->sans[i], ip);
        rc = iplen ? gnutls_x509_crq_set_subject_alt_name(crq, GNUTLS_SAN_IPADDRESS, ip, iplen,
                                                          GNUTLS_FSAN_APPEND)
                   : gnutls_x509_crq_set_subject_alt_name(crq, GNUTLS_SAN_DNSNAME, spec->sans[i],
                                                          (unsigned)strlen(spec->sans[i]),
                                                          GNUTLS_FSAN_APPEND);
        if (rc < 0) return tls_err(err, SK_EINTERNAL, rc, spec->sans[i]);
    }
    return 0;
}

/* GnuTLS writes "NEW CERTIFICATE REQUEST"; Kubernetes accepts only the
 * RFC 7468 label, so the PEM is made from the DER here. */
static char *crq_pem(gnutls_x509_crq_t crq, sk_err *err)
{
    gnutls_datum_t der = {NULL, 0}, pem = {NULL, 0};
    int rc = gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_DER, &der);
    if (rc < 0) {
        tls_err(err, SK_EINTERNAL, rc, "export request");
        return NULL;
    }
    rc = gnutls_pem_base64_encode2("CERTIFICATE REQUEST", &der, &pem);
    gnutls_free(der.data);
    if (rc < 0) {
        tls_err(err, SK_EINTERNAL, rc, "encode request");
        return NULL;
    }
    char *s = sk_strndup((const char *)pem.data, pem.size);
    gnutls_free(pem.data);
    return s;
}

int sk_pki_csr_new(const char *cn, const char *const *orgs, const char *const *sans,
                   size_t nsans, sk_pem_pair *out, sk_err *err)
{
    sk_cert_spec spec = {.kind = SK_CERT_SERVER, .cn = cn, .orgs = orgs, .sans = sans,
                         .nsans = nsans};
    gnutls_x509_privkey_t key = NULL;
    gnutls_x509_crq_t crq = NULL;
    gnutls_datum_t kd = {NULL, 0};
    int rc = -1, r;
    out->cert = out->key = NULL;
    if (sk_cert_check_names(&spec, err) < 0) return -1;
    if ((r = gnutls_x509_privkey_init(&key)) < 0 ||
        (r = gnutls_x509_privkey_generate2(key, GNUTLS_PK_ECDSA,
                                           GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0,
                                           NULL, 0)) < 0) {
        tls_err(err, SK_EINTERNAL, r, "generate P-256 key");
        goto out;
    }
    if ((r = gnutls_x509_crq_init(&crq)) < 0 || (r = gnutls_x509_crq_set_version(crq, 1)) < 0 ||
        (r = gnutls_x509_crq_set_key(crq, key)) < 0) {
        tls_err(err, SK_EINTERNAL, r, "request");
        goto out;
    }
    if (crq_subject(crq, &spec, err) < 0) goto out;
    if ((r = gnutls_x509_crq_sign2(crq, key, GNUTLS_DIG_SHA256, 0)) < 0) {
        tls_err(err, SK_EINTERNAL, r, "sign request");
        goto out;
    }
    if (!(out->cert = crq_pem(crq, err))) goto out;
    if ((r = gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &kd)) < 0) {
        tls_err(err, SK_EINTERNAL, r, "export key");
        goto out;
    }
    out->key = sk_strndup((const char *)kd.data, kd.size);
    gnutls_memset(kd.data, 0, kd.size);
    gnutls_free(kd.data);
    rc = 0;
out:
    if (rc < 0) sk_pem_pair_release(out);
    if (crq) gnutls_x509_crq_deinit(crq);
    if (key) gnutls_x509_privkey_deinit(key);
    return rc;
}

/* ---- parsing a request ------------------------------------------------------- */

/* Label of the first PEM block in s ("CERTIFICATE REQUEST"), as Go's
 * pem.Decode finds it; false when there is none. */
static bool first_pem_label(const char *s, char *label, size_t n)
{
    const char *b = strstr(s, "-----BEGIN ");
    if (!b) return false;
    b += 11;
    const char *e = strstr(b, "-----");
    if (!e || (size_t)(e - b) >= n || memchr(b, '\n', (size_t)(e - b))) return false;
    memcpy(label, b, (size_t)(e - b));
    label[e - b] = 0;
    return true;
}

static int crq_import(const char *pem, size_t len, gnutls_x509_crq_t *out, sk_err *err)
{
    char label[64];
    *out = NULL;
    if (!pem || len == 0) return sk_err_set(err, SK_EINVALID, "PEM block type must be CERTIFICATE REQUEST");
    if (len > SK_PKI_MAX_PEM) return sk_err_set(err, SK_EINVALID, "certificate request too large");
    _sk_free_ char *text = sk_strndup(pem, len);
    if (strlen(text) != len || !first_pem_label(text, label, sizeof label) ||
        strcmp(label, "CERTIFICATE REQUEST"))
        return sk_err_set(err, SK_EINVALID, "PEM block type must be CERTIFICATE REQUEST");
    gnutls_datum_t in = {(unsigned char *)text, (unsigned)len}, der = {NULL, 0};
    int rc = gnutls_pem_base64_decode2("CERTIFICATE REQUEST", &in, &der);
    if (rc < 0) return tls_err(err, SK_EINVALID, rc, "certificate request");
    if ((rc = gnutls_x509_crq_init(out)) < 0) {
        gnutls_free(der.data);
        return tls_err(err, SK_EINTERNAL, rc, "request init");
    }
    rc = gnutls_x509_crq_import(*out, &der, GNUTLS_X509_FMT_DER);
    gnutls_free(der.data);
    if (rc < 0) {
        gnutls_x509_crq_deinit(*out);
        *out = NULL;
        return tls_err(err, SK_EINVALID, rc, "certificate request");
    }
    if ((rc = gnutls_x509_crq_verify(*out, 0)) < 0) {
        gnutls_x509_crq_deinit(*out);
        *out = NULL;
        return tls_err(err, SK_EINVALID, rc, "certificate request signature");
    }
    return 0;
}

/* 1 found, 0 absent, -1 unusable (too long, embedded NUL). */
static int crq_dn(gnutls_x509_crq_t crq, const char *oid, unsigned idx, char *buf, size_t cap)
{
    size_t size = cap;
    int rc = gnutls_x509_crq_get_dn_by_oid(crq, oid, idx, 0, buf, &size);
    if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) return 0;
    if (rc < 0 || size >= cap || strlen(buf) != size) return -1;
    return 1;
}

static int crq_names(gnutls_x509_crq_t crq, sk_csr_info *info, sk_err *err)
{
    if (crq_dn(crq, GNUTLS_OID_X520_COMMON_NAME, 0, info->cn, sizeof info->cn) < 0)
        return sk_err_set(err, SK_EINVALID, "certificate request: invalid common name");
    for (unsigned i = 0;; i++) {
        char o[sizeof info->orgs[0]];
        int rc = crq_dn(crq, GNUTLS_OID_X520_ORGANIZATION_NAME, i, o, sizeof o);
        if (rc == 0) break;
        if (rc < 0 || i >= SK_CSR_MAX_ORGS)
            return sk_err_set(err, SK_EINVALID, "certificate request: invalid or too many "
                                                "organizations");
        memcpy(info->orgs[i], o, sizeof o);
        info->norgs = (int)i + 1;
    }
    return 0;
}

static int crq_sans(gnutls_x509_crq_t crq, sk_csr_info *info, sk_err *err)
{
    for (unsigned seq = 0; seq < CSR_MAX_SANS_SCAN; seq++) {
        char buf[256];
        size_t size = sizeof buf - 1;
        unsigned type = 0, critical = 0;
        int rc = gnutls_x509_crq_get_subject_alt_name(crq, seq, buf, &size, &type, &critical);
        if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) return 0;
        if (rc < 0) return sk_err_set(err, SK_EINVALID, "certificate request: unreadable "
                                                        "subject alternative name");
        if (type == GNUTLS_SAN_DNSNAME) {
            if (info->ndns >= SK_CSR_MAX_SANS || size >= sizeof info->dns[0] ||
                memchr(buf, 0, size))
                return sk_err_set(err, SK_EINVALID, "certificate request: too many or invalid "
                                                    "DNS names");
            memcpy(info->dns[info->ndns], buf, size);
            info->dns[info->ndns++][size] = 0;
        } else if (type == GNUTLS_SAN_IPADDRESS) {
            if (info->nips >= SK_CSR_MAX_SANS || (size != 4 && size != 16))
                return sk_err_set(err, SK_EINVALID, "certificate request: too many or invalid "
                                                    "IP addresses");
            inet_ntop(size == 4 ? AF_INET : AF_INET6, buf, info->ips[info->nips++],
                      sizeof info->ips[0]);
        } else if (type == GNUTLS_SAN_RFC822NAME) {
            info->nemails++;
        } else if (type == GNUTLS_SAN_URI) {
            info->nuris++;
        } else {
            info->nother++;
        }
    }
    return sk_err_set(err, SK_EINVALID, "certificate request: too many subject alternative names");
}

int sk_pki_csr_parse(const char *pem, size_t len, sk_csr_info *info, sk_err *err)
{
    gnutls_x509_crq_t crq = NULL;
    memset(info, 0, sizeof *info);
    if (crq_import(pem, len, &crq, err) < 0) return -1;
    int rc = crq_names(crq, info, err);
    if (rc == 0) rc = crq_sans(crq, info, err);
    unsigned bits = 0;
    int pk = gnutls_x509_crq_get_pk_algorithm(crq, &bits);
    info->rsa = pk == GNUTLS_PK_RSA;
    gnutls_x509_crq_deinit(crq);
    return rc;
}

/* ---- signing ----------------------------------------------------------------- */

struct usage_map {
    const char *name;
    unsigned ku;       /* key usage bit, or 0 */
    const char *oid;   /* extended key usage, or NULL */
};

/* certificates.k8s.io usages, as upstream's signer maps them. */
static const struct usage_map usages[] = {
    {"signing", GNUTLS_KEY_DIGITAL_SIGNATURE, NULL},
    {"digital signature", GNUTLS_KEY_DIGITAL_SIGNATURE, NULL},
    {"content commitment", GNUTLS_KEY_NON_REPUDIATION, NULL},
    {"key encipherment", GNUTLS_KEY_KEY_ENCIPHERMENT, NULL},
    {"key agreement", GNUTLS_KEY_KEY_AGREEMENT, NULL},
    {"data encipherment", GNUTLS_KEY_DATA_ENCIPHERMENT, NULL},
    {"cert sign", GNUTLS_KEY_KEY_CERT_SIGN, NULL},
    {"crl sign", GNUTLS_KEY_CRL_SIGN, NULL},
    {"encipher only", GNUTLS_KEY_ENCIPHER_ONLY, NULL},
    {"decipher only", GNUTLS_KEY_DECIPHER_ONLY, NULL},
    {"any", 0, GNUTLS_KP_ANY},
    {"server auth", 0, GNUTLS_KP_TLS_WWW_SERVER},
    {"client auth", 0, GNUTLS_KP_TLS_WWW_CLIENT},
    {"code signing", 0, GNUTLS_KP_CODE_SIGNING},
    {"email protection", 0, GNUTLS_KP_EMAIL_PROTECTION},
    {"s/mime", 0, GNUTLS_KP_EMAIL_PROTECTION},
    {"ipsec end system", 0, "1.3.6.1.5.5.7.3.5"},
    {"ipsec tunnel", 0, "1.3.6.1.5.5.7.3.6"},
    {"ipsec user", 0, "1.3.6.1.5.5.7.3.7"},
    {"timestamping", 0, GNUTLS_KP_TIME_STAMPING},
    {"ocsp signing", 0, GNUTLS_KP_OCSP_SIGNING},
    {"microsoft sgc", 0, "1.3.6.1.4.1.311.10.3.3"},
    {"netscape sgc", 0, "2.16.840.1.113730.4.1"},
};

bool sk_pki_usage_known(const char *name)
{
    for (size_t i = 0; name && i < SK_ARRAY_LEN(usages); i++)
        if (!strcmp(usages[i].name, name)) return true;
    return false;
}

static int set_usages(gnutls_x509_crt_t crt, const char *const *names, size_t n, sk_err *err)
{
    unsigned ku = 0;
    int rc;
    for (size_t i = 0; i < n; i++) {
        const struct usage_map *u = NULL;
        for (size_t k = 0; k < SK_ARRAY_LEN(usages); k++)
            if (names[i] && !strcmp(usages[k].name, names[i])) u = &usages[k];
        if (!u) return sk_err_set(err, SK_EINVALID, "unknown key usage \"%s\"",
                                  names[i] ? names[i] : "(null)");
        ku |= u->ku;
        if (u->oid && (rc = gnutls_x509_crt_set_key_purpose_oid(crt, u->oid, 0)) < 0)
            return tls_err(err, SK_EINTERNAL, rc, "extended key usage");
    }
    if (ku && (rc = gnutls_x509_crt_set_key_usage(crt, ku)) < 0)
        return tls_err(err, SK_EINTERNAL, rc, "key usage");
    return 0;
}

/* Copies DNS, IP, e-mail and URI names from the request, as upstream's
 * signer takes them from the parsed request. */
static int copy_sans(gnutls_x509_crt_t crt, gnutls_x509_crq_t crq, sk_err *err)
{
    for (unsigned seq = 0; seq < CSR_MAX_SANS_SCAN; seq++) {
        char buf[256];
        size_t size = sizeof buf;
        unsigned type = 0, critical = 0;
        int rc = gnutls_x509_crq_get_subject_alt_name(crq, seq, buf, &size, &type, &critical);
        if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) return 0;
        if (rc < 0) return tls_err(err, SK_EINVALID, rc, "subject alternative name");
        if (type != GNUTLS_SAN_DNSNAME && type != GNUTLS_SAN_IPADDRESS &&
            type != GNUTLS_SAN_RFC822NAME && type != GNUTLS_SAN_URI)
            continue;
        rc = gnutls_x509_crt_set_subject_alt_name(crt, type, buf, (unsigned)size,
                                                  GNUTLS_FSAN_APPEND);
        if (rc < 0) return tls_err(err, SK_EINTERNAL, rc, "subject alternative name");
    }
    return sk_err_set(err, SK_EINVALID, "too many subject alternative names");
}

static int set_key_ids(gnutls_x509_crt_t crt, gnutls_x509_crq_t crq, const sk_ca *ca,
                       sk_err *err)
{
    unsigned char ski[64], aki[64];
    size_t nski = sizeof ski, naki = sizeof aki;
    unsigned critical = 0;
    int rc = gnutls_x509_crq_get_key_id(crq, GNUTLS_KEYID_USE_SHA1, ski, &nski);
    if (rc < 0 || (rc = gnutls_x509_crt_set_subject_key_id(crt, ski, nski)) < 0)
        return tls_err(err, SK_EINTERNAL, rc, "subject key id");
    if (gnutls_x509_crt_get_subject_key_id(ca->crt, aki, &naki, &critical) < 0) {
        naki = sizeof aki;
        rc = gnutls_x509_privkey_get_key_id(ca->key, GNUTLS_KEYID_USE_SHA1, aki, &naki);
        if (rc < 0) return tls_err(err, SK_EINTERNAL, rc, "authority key id");
    }
    if ((rc = gnutls_x509_crt_set_authority_key_id(crt, aki, naki)) < 0)
        return tls_err(err, SK_EINTERNAL, rc, "authority key id");
    return 0;
}

static int set_validity(gnutls_x509_crt_t crt, const sk_ca *ca, int64_t duration_s, sk_err *err)
{
    unsigned char serial[16];
    int64_t now = (int64_t)time(NULL);
    int64_t until = now + duration_s;
    int64_t ca_end = (int64_t)gnutls_x509_crt_get_expiration_time(ca->crt);
    if (ca_end > 0 && until > ca_end) until = ca_end;
    int rc = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial);
    if (rc < 0) return tls_err(err, SK_EINTERNAL, rc, "serial");
    serial[0] = (unsigned char)((serial[0] & 0x3f) | 0x40); /* positive, no DER padding */
    /* Backdated 5 minutes for peers whose clocks lag, as upstream's signer. */
    if ((rc = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
        (rc = gnutls_x509_crt_set_serial(crt, serial, sizeof serial)) < 0 ||
        (rc = gnutls_x509_crt_set_activation_time(crt, (time_t)(now - 300))) < 0 ||
        (rc = gnutls_x509_crt_set_expiration_time(crt, (time_t)until)) < 0 ||
        (rc = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0)
        return tls_err(err, SK_EINTERNAL, rc, "certificate fields");
    return 0;
}

static char *crt_pem(gnutls_x509_crt_t crt, sk_err *err)
{
    gnutls_datum_t d = {NULL, 0};
    int rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d);
    if (rc < 0) {
        tls_err(err, SK_EINTERNAL, rc, "export certificate");
        return NULL;
    }
    char *s = sk_strndup((const char *)d.data, d.size);
    gnutls_free(d.data);
    return s;
}

int sk_pki_csr_sign(const struct sk_csr_sign_opts *o, const char *csr_pem, size_t len,
                    char **cert_pem, sk_err *err)
{
    sk_ca ca = {NULL, NULL};
    gnutls_x509_crq_t crq = NULL;
    gnutls_x509_crt_t crt = NULL;
    int rc = -1, r;
    *cert_pem = NULL;
    if (!o->ca_cert_pem || !o->ca_key_pem)
        return sk_err_set(err, SK_EINTERNAL, "no signing CA configured");
    if (o->duration_s <= 0) return sk_err_set(err, SK_EINVALID, "certificate duration must be > 0");
    if (crq_import(csr_pem, len, &crq, err) < 0) return -1;
    if (sk_ca_from_pem(&ca, o->ca_cert_pem, o->ca_key_pem, err) < 0) goto out;
    if ((r = gnutls_x509_crt_init(&crt)) < 0 || (r = gnutls_x509_crt_set_crq(crt, crq)) < 0) {
        tls_err(err, SK_EINVALID, r, "certificate from request");
        goto out;
    }
    if (set_validity(crt, &ca, o->duration_s, err) < 0 ||
        set_usages(crt, o->usages, o->nusages, err) < 0 || copy_sans(crt, crq, err) < 0 ||
        set_key_ids(crt, crq, &ca, err) < 0)
        goto out;
    if ((r = gnutls_x509_crt_sign2(crt, ca.crt, ca.key, GNUTLS_DIG_SHA256, 0)) < 0) {
        tls_err(err, SK_EINTERNAL, r, "sign certificate");
        goto out;
    }
    if ((*cert_pem = crt_pem(crt, err))) rc = 0;
out:
    if (crt) gnutls_x509_crt_deinit(crt);
    gnutls_x509_crq_deinit(crq);
    sk_ca_release(&ca);
    return rc;
}

/* Client certificate authentication: verify a chain against the cluster CA
 * for TLS client use and map the leaf subject to a Kubernetes identity the
 * way kube-apiserver does (CN -> user, each O -> group). */
#include <string.h>

#include "pki/pki_int.h"

static int unauthorized(sk_err *err, const char *what)
{
    return sk_err_set(err, SK_EUNAUTHORIZED, "client certificate: %s", what);
}

/* Reads the idx-th value of oid into buf. 1 found, 0 absent, -1 unusable
 * (too long, embedded NUL, encoding error). */
static int dn_value(gnutls_x509_crt_t crt, const char *oid, unsigned idx, char *buf, size_t cap)
{
    size_t size = cap;
    int rc = gnutls_x509_crt_get_dn_by_oid(crt, oid, idx, 0, buf, &size);
    if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) return 0;
    if (rc < 0 || size >= cap || strlen(buf) != size) return -1;
    return 1;
}

static int fill_identity(gnutls_x509_crt_t leaf, sk_identity *id, sk_err *err)
{
    char extra[8];
    memset(id, 0, sizeof *id);
    int rc = dn_value(leaf, GNUTLS_OID_X520_COMMON_NAME, 0, id->user, sizeof id->user);
    if (rc <= 0 || !id->user[0]) return unauthorized(err, "missing or invalid common name");
    /* Two CNs would make the user name depend on parser details. */
    if (dn_value(leaf, GNUTLS_OID_X520_COMMON_NAME, 1, extra, sizeof extra) != 0)
        return unauthorized(err, "more than one common name");
    for (unsigned i = 0;; i++) {
        char g[sizeof id->groups[0]];
        rc = dn_value(leaf, GNUTLS_OID_X520_ORGANIZATION_NAME, i, g, sizeof g);
        if (rc == 0) break;
        if (rc < 0) return unauthorized(err, "invalid organization");
        if (i >= SK_ARRAY_LEN(id->groups)) return unauthorized(err, "too many organizations");
        memcpy(id->groups[i], g, sizeof g);
        id->ngroups = (int)i + 1;
    }
    return 0;
}

static int status_error(unsigned status, sk_err *err)
{
    gnutls_datum_t out = {NULL, 0};
    if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) < 0)
        return unauthorized(err, "verification failed");
    sk_err_set(err, SK_EUNAUTHORIZED, "client certificate: %.*s", (int)out.size,
               (const char *)out.data);
    gnutls_free(out.data);
    return -1;
}

int sk_pki_verify_chain(const char *ca_pem, gnutls_x509_crt_t *chain, unsigned n,
                        sk_identity *id, sk_err *err)
{
    gnutls_x509_trust_list_t tl = NULL;
    unsigned status = 0;
    if (!ca_pem || !*ca_pem) return sk_err_set(err, SK_EINTERNAL, "no cluster CA configured");
    if (n == 0) return unauthorized(err, "none presented");
    if (n > SK_PKI_MAX_CHAIN) return unauthorized(err, "chain too long");
    gnutls_datum_t d = {(unsigned char *)ca_pem, (unsigned)strlen(ca_pem)};
    int rc = gnutls_x509_trust_list_init(&tl, 0);
    if (rc < 0) return sk_err_set(err, SK_EINTERNAL, "trust list: %s", gnutls_strerror(rc));
    rc = gnutls_x509_trust_list_add_trust_mem(tl, &d, NULL, GNUTLS_X509_FMT_PEM, 0, 0);
    if (rc <= 0) {
        gnutls_x509_trust_list_deinit(tl, 1);
        return sk_err_set(err, SK_EINTERNAL, "cluster CA: %s",
                          rc < 0 ? gnutls_strerror(rc) : "no certificate");
    }
    /* The purpose check enforces extendedKeyUsage clientAuth when the
     * extension is present; validity dates are checked by default. */
    gnutls_typed_vdata_st purpose = {GNUTLS_DT_KEY_PURPOSE_OID,
                                     (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT, 0};
    rc = gnutls_x509_trust_list_verify_crt2(tl, chain, n, &purpose, 1, 0, &status, NULL);
    gnutls_x509_trust_list_deinit(tl, 1);
    if (rc < 0) return unauthorized(err, gnutls_strerror(rc));
    if (status) return status_error(status, err);
    return fill_identity(chain[0], id, err);
}

int sk_pki_verify_pem(const char *ca_pem, const char *cert_pem, sk_identity *id, sk_err *err)
{
    gnutls_x509_crt_t *list = NULL;
    unsigned n = 0;
    size_t len = cert_pem ? strlen(cert_pem) : 0;
    if (len == 0) return unauthorized(err, "none presented");
    if (len > SK_PKI_MAX_PEM) return unauthorized(err, "too large");
    gnutls_datum_t d = {(unsigned char *)cert_pem, (unsigned)len};
    int rc = gnutls_x509_crt_list_import2(&list, &n, &d, GNUTLS_X509_FMT_PEM,
                                          GNUTLS_X509_CRT_LIST_FAIL_IF_UNSORTED);
    if (rc < 0) return unauthorized(err, gnutls_strerror(rc));
    rc = sk_pki_verify_chain(ca_pem, list, n, id, err);
    for (unsigned i = 0; i < n; i++) gnutls_x509_crt_deinit(list[i]);
    gnutls_free(list);
    return rc;
}

int sk_pki_peer_identity(void *gnutls_session, const char *ca_pem, sk_identity *id, sk_err *err)
{
    gnutls_session_t s = gnutls_session;
    gnutls_x509_crt_t chain[SK_PKI_MAX_CHAIN];
    unsigned n = 0, imported = 0;
    int rc = -1;

    if (!s) return unauthorized(err, "no TLS session");
    if (gnutls_certificate_type_get2(s, GNUTLS_CTYPE_PEERS) != GNUTLS_CRT_X509)
        return unauthorized(err, "not X.509");
    const gnutls_datum_t *der = gnutls_certificate_get_peers(s, &n);
    if (!der || n == 0) return unauthorized(err, "none presented");
    if (n > SK_PKI_MAX_CHAIN) return unauthorized(err, "chain too long");
    for (; imported < n; imported++) {
        int r = gnutls_x509_crt_init(&chain[imported]);
        if (r < 0) {
            sk_err_set(err, SK_EINTERNAL, "certificate init: %s", gnutls_strerror(r));
            goto out;
        }
        if ((r = gnutls_x509_crt_import(chain[imported], &der[imported], GNUTLS_X509_FMT_DER)) < 0) {
            gnutls_x509_crt_deinit(chain[imported]);
            unauthorized(err, gnutls_strerror(r));
            goto out;
        }
    }
    rc = sk_pki_verify_chain(ca_pem, chain, n, id, err);
out:
    for (unsigned i = 0; i < imported; i++) gnutls_x509_crt_deinit(chain[i]);
    return rc;
}

char *sk_pki_random_token(size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (n > 4096) return NULL;
    unsigned char raw[4096];
    char *out = sk_malloc(2 * n + 1);
    if (n && gnutls_rnd(GNUTLS_RND_KEY, raw, n) < 0) {
        free(out);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[2 * n] = 0;
    gnutls_memset(raw, 0, n);
    return out;
}

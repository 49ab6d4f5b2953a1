/* Helpers around the TLS bootstrap: the CA fingerprint a join token pins,
 * base64 for the API's byte fields, and the check that a certificate a
 * node already holds is still good enough to keep. */
#include <string.h>
#include <time.h>

#include "pki/pki_int.h"

static int first_crt(const char *pem, gnutls_x509_crt_t *crt, sk_err *err)
{
    size_t len = pem ? strlen(pem) : 0;
    *crt = NULL;
    if (len == 0 || len > SK_PKI_MAX_PEM)
        return sk_err_set(err, SK_EINVALID, "no certificate or certificate too large");
    gnutls_datum_t d = {(unsigned char *)pem, (unsigned)len};
    int rc = gnutls_x509_crt_init(crt);
    if (rc == 0) rc = gnutls_x509_crt_import(*crt, &d, GNUTLS_X509_FMT_PEM);
    if (rc < 0) {
        if (*crt) gnutls_x509_crt_deinit(*crt);
        *crt = NULL;
        return sk_err_set(err, SK_EINVALID, "certificate: %s", gnutls_strerror(rc));
    }
    return 0;
}

int sk_pki_ca_hash(const char *ca_pem, char out[65], sk_err *err)
{
    static const char hex[] = "0123456789abcdef";
    gnutls_x509_crt_t crt;
    gnutls_datum_t der = {NULL, 0};
    unsigned char sum[32];
    out[0] = 0;
    if (first_crt(ca_pem, &crt, err) < 0) return -1;
    int rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der);
    gnutls_x509_crt_deinit(crt);
    if (rc < 0) return sk_err_set(err, SK_EINVALID, "CA certificate: %s", gnutls_strerror(rc));
    rc = gnutls_hash_fast(GNUTLS_DIG_SHA256, der.data, der.size, sum);
    gnutls_free(der.data);
    if (rc < 0) return sk_err_set(err, SK_EINTERNAL, "sha256: %s", gnutls_strerror(rc));
    for (size_t i = 0; i < sizeof sum; i++) {
        out[2 * i] = hex[sum[i] >> 4];
        out[2 * i + 1] = hex[sum[i] & 15];
    }
    out[64] = 0;
    return 0;
}

char *sk_pki_base64_encode(const void *data, size_t len)
{
    gnutls_datum_t in = {(unsigned char *)data, (unsigned)len}, out = {NULL, 0};
    if (len > SK_PKI_B64_MAX || gnutls_base64_encode2(&in, &out) < 0) return NULL;
    char *r = sk_malloc(out.size + 1);
    size_t n = 0;
    for (unsigned i = 0; i < out.size; i++)
        if (out.data[i] != '\n' && out.data[i] != '\r') r[n++] = (char)out.data[i];
    r[n] = 0;
    gnutls_free(out.data);
    return r;
}

char *sk_pki_base64_decode(const char *s, size_t *len, sk_err *err)
{
    size_t n = s ? strlen(s) : 0;
    gnutls_datum_t in = {(unsigned char *)s, (unsigned)n}, out = {NULL, 0};
    if (len) *len = 0;
    if (n > SK_PKI_B64_MAX / 3 * 4 + 4) {
        sk_err_set(err, SK_EINVALID, "base64 data too large");
        return NULL;
    }
    if (n == 0) return sk_strdup("");
    int rc = gnutls_base64_decode2(&in, &out);
    if (rc < 0) {
        sk_err_set(err, SK_EINVALID, "illegal base64 data: %s", gnutls_strerror(rc));
        return NULL;
    }
    char *r = sk_malloc(out.size + 1);
    memcpy(r, out.data, out.size);
    r[out.size] = 0;
    if (len) *len = out.size;
    gnutls_free(out.data);
    return r;
}

static bool key_matches(gnutls_x509_crt_t crt, const char *key_pem)
{
    gnutls_x509_privkey_t key = NULL;
    unsigned char a[64], b[64];
    size_t na = sizeof a, nb = sizeof b;
    gnutls_datum_t k = {(unsigned char *)key_pem, (unsigned)strlen(key_pem)};
    bool ok = gnutls_x509_privkey_init(&key) == 0 &&
              gnutls_x509_privkey_import2(key, &k, GNUTLS_X509_FMT_PEM, NULL, 0) == 0 &&
              gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA1, a, &na) == 0 &&
              gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA1, b, &nb) == 0 &&
              na == nb && !memcmp(a, b, na);
    if (key) gnutls_x509_privkey_deinit(key);
    return ok;
}

int sk_pki_leaf_check(const char *ca_pem, const char *cert_pem, const char *key_pem,
                      const char *const *sans, size_t nsans, int64_t min_valid_s, sk_err *err)
{
    gnutls_x509_crt_t crt = NULL, ca = NULL;
    unsigned status = 0;
    int rc = -1;
    if (!key_pem || !*key_pem) return sk_err_set(err, SK_EINVALID, "no private key");
    if (first_crt(cert_pem, &crt, err) < 0 || first_crt(ca_pem, &ca, err) < 0) goto out;
    if (gnutls_x509_crt_verify(crt, &ca, 1, 0, &status) < 0 || status) {
        sk_err_set(err, SK_EINVALID, "certificate is not signed by the cluster CA");
        goto out;
    }
    if (!key_matches(crt, key_pem)) {
        sk_err_set(err, SK_EINVALID, "private key does not match the certificate");
        goto out;
    }
    if ((int64_t)gnutls_x509_crt_get_expiration_time(crt) < (int64_t)time(NULL) + min_valid_s) {
        sk_err_set(err, SK_EINVALID, "certificate expires soon or has expired");
        goto out;
    }
    for (size_t i = 0; i < nsans; i++) {
        if (!sk_cert_has_san(crt, sans[i])) {
            sk_err_set(err, SK_EINVALID, "certificate does not cover \"%s\"", sans[i]);
            goto out;
        }
    }
    rc = 0;
out:
    if (crt) gnutls_x509_crt_deinit(crt);
    if (ca) gnutls_x509_crt_deinit(ca);
    return rc;
}

/* sk_pki internals shared by the pki .c files and their unit tests. */
#ifndef SK_PKI_INT_H
#define SK_PKI_INT_H

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "pki/pki.h"

#define SK_PKI_MAX_CHAIN 8       /* certificates accepted in a peer chain */
#define SK_PKI_MAX_PEM (64 << 10) /* bytes of PEM we agree to parse */
#define SK_PKI_MAX_NAME 64       /* X.520 upper bound for CN and O */

enum sk_cert_kind { SK_CERT_CA, SK_CERT_SERVER, SK_CERT_CLIENT };

/* What to put in a new certificate; all pointers borrowed. */
typedef struct sk_cert_spec {
    enum sk_cert_kind kind;
    const char *cn;
    const char *const *orgs;  /* NULL-terminated, may be NULL */
    const char *const *sans;  /* server only: DNS names and IP literals */
    size_t nsans;
    int64_t not_before;       /* unix seconds */
    int64_t not_after;
} sk_cert_spec;

/* A loaded CA: certificate and signing key. */
typedef struct sk_ca {
    gnutls_x509_crt_t crt;
    gnutls_x509_privkey_t key;
} sk_ca;

/* Imports a CA from PEM texts; release with sk_ca_release. */
int sk_ca_from_pem(sk_ca *ca, const char *cert_pem, const char *key_pem, sk_err *err);
/* Reads DIR/pki/ca.crt and ca.key. */
int sk_ca_load(sk_ca *ca, const char *dir, sk_err *err);
void sk_ca_release(sk_ca *ca);

/* Generates a P-256 key and a certificate per spec, signed by ca (self-signed
 * when ca is NULL, which spec->kind must then be SK_CERT_CA). */
int sk_cert_issue(const sk_cert_spec *spec, const sk_ca *ca, sk_pem_pair *out, sk_err *err);

/* Checks names before they reach GnuTLS: CN/O length, SAN syntax. */
int sk_cert_check_names(const sk_cert_spec *spec, sk_err *err);

/* True when crt carries a SAN matching `san` (IP compared as bytes, DNS
 * case-insensitively). */
bool sk_cert_has_san(gnutls_x509_crt_t crt, const char *san);

/* Verifies a chain (leaf first) against the CA PEM for TLS client auth and
 * fills id from the leaf subject. -1 + SK_EUNAUTHORIZED when untrusted. */
int sk_pki_verify_chain(const char *ca_pem, gnutls_x509_crt_t *chain, unsigned n,
                        sk_identity *id, sk_err *err);

#endif

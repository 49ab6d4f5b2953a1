/* sk_pki: the cluster's certificates (GnuTLS). A CA, the API server's
 * serving certificate, client certificates for each identity, kubeconfig
 * files and peer identity from a TLS session. No I/O except the explicit
 * file functions. Thread-safe. */
#ifndef SK_PKI_H
#define SK_PKI_H

#include "lib/lib.h"

/* PEM texts; caller frees the strings with free(). */
typedef struct sk_pem_pair {
    char *cert;
    char *key;
} sk_pem_pair;
void sk_pem_pair_release(sk_pem_pair *p);

/* Ensures DIR/pki holds ca.crt/ca.key, server.crt/server.key and
 * admin.crt/admin.key, creating what is missing (ECDSA P-256, 10 years for
 * the CA, 1 year for leaves). The server certificate is reissued when its
 * SANs do not cover `sans` (DNS names and IPs, mixed; IPs detected). The
 * admin certificate has CN=kubernetes-admin, O=system:masters. Leaves are
 * also reissued when not signed by the current CA, not matching their key
 * or expiring within 30 days. A missing ca.crt or ca.key regenerates the CA
 * (and every leaf); an unparsable CA is an error, never silently replaced.
 * Keys are written mode 0600, certificates 0644, DIR/pki is 0700. */
int sk_pki_ensure(const char *dir, const char *const *sans, size_t nsans, sk_err *err)
    SK_MUST_CHECK;

/* Issues a client certificate signed by the CA in DIR/pki, for CN and
 * organisations (NULL-terminated, may be NULL). */
int sk_pki_issue_client(const char *dir, const char *cn, const char *const *orgs,
                        sk_pem_pair *out, sk_err *err) SK_MUST_CHECK;

/* Writes a kubeconfig (mode 0600) with one cluster "skiff", user and
 * context, embedding the CA and the client certificate/key as base64 data. */
int sk_kubeconfig_write(const char *path, const char *server_url, const char *ca_pem,
                        const sk_pem_pair *client, sk_err *err) SK_MUST_CHECK;

/* Identity of an authenticated peer. */
typedef struct sk_identity {
    char user[256];
    char groups[8][128];
    int ngroups;
} sk_identity;

/* Verifies the peer certificate chain of a GnuTLS session (gnutls_session_t
 * passed as void*) against the CA PEM, and fills id from the leaf's CN and
 * O fields. 0 on success; -1 + SK_EUNAUTHORIZED when absent or invalid. */
int sk_pki_peer_identity(void *gnutls_session, const char *ca_pem, sk_identity *id, sk_err *err)
    SK_MUST_CHECK;

/* A random URL-safe token of n bytes of entropy (hex), caller frees.
 * NULL when n > 4096 or the system RNG fails. */
char *sk_pki_random_token(size_t n);

/* Verifies a PEM certificate (leaf first, optional intermediates) exactly
 * like sk_pki_peer_identity: chain to ca_pem, validity dates, clientAuth
 * usage; fills id. -1 + SK_EUNAUTHORIZED when invalid. */
int sk_pki_verify_pem(const char *ca_pem, const char *cert_pem, sk_identity *id, sk_err *err)
    SK_MUST_CHECK;

/* Issues a serving certificate (serverAuth) for CN with SANs (DNS names
 * and IP literals, mixed), signed by the CA in DIR/pki; 1 year. Nothing is
 * written: the caller stores out (freed with sk_pem_pair_release). */
int sk_pki_issue_serving(const char *dir, const char *cn, const char *const *sans, size_t nsans,
                         sk_pem_pair *out, sk_err *err) SK_MUST_CHECK;

#endif

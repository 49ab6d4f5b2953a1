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

/* ---- TLS bootstrap: certificate signing requests (pki_csr*.c) ------------ */

/* Generates a P-256 key and a PKCS#10 request for CN, organisations
 * (NULL-terminated, may be NULL) and SANs (DNS names and IP literals,
 * mixed). out->cert is the "CERTIFICATE REQUEST" PEM, out->key the key PEM
 * (release with sk_pem_pair_release). */
int sk_pki_csr_new(const char *cn, const char *const *orgs, const char *const *sans,
                   size_t nsans, sk_pem_pair *out, sk_err *err) SK_MUST_CHECK;

#define SK_CSR_MAX_ORGS 8
#define SK_CSR_MAX_SANS 32
/* What a request asks for (fixed size: parsing allocates nothing). */
typedef struct sk_csr_info {
    char cn[65];
    char orgs[SK_CSR_MAX_ORGS][65];
    int norgs;
    char dns[SK_CSR_MAX_SANS][254];
    int ndns;
    char ips[SK_CSR_MAX_SANS][46];
    int nips;
    int nemails, nuris, nother; /* other SAN kinds, counted */
    bool rsa;                   /* RSA key (key encipherment is then expected) */
} sk_csr_info;
/* Parses untrusted PEM text (len bytes, at most 64 KiB): the first PEM
 * block must be "CERTIFICATE REQUEST" (as upstream), its self-signature
 * valid. -1 + SK_EINVALID with the reason otherwise. */
int sk_pki_csr_parse(const char *pem, size_t len, sk_csr_info *info, sk_err *err) SK_MUST_CHECK;

/* How the signer issues: CA PEMs borrowed; usages are certificates.k8s.io
 * names ("digital signature", "client auth", ...). */
struct sk_csr_sign_opts {
    const char *ca_cert_pem, *ca_key_pem;
    const char *const *usages;
    size_t nusages;
    int64_t duration_s; /* validity from now; capped at the CA's own expiry */
};
/* Issues a certificate for the request (subject, key and SANs taken from
 * it, CA:FALSE, backdated 5 minutes as upstream's signer). *cert_pem is
 * the PEM, caller frees. -1 + SK_EINVALID for a bad request or usage. */
int sk_pki_csr_sign(const struct sk_csr_sign_opts *o, const char *csr_pem, size_t len,
                    char **cert_pem, sk_err *err) SK_MUST_CHECK;
/* True when name is a certificates.k8s.io key usage. */
bool sk_pki_usage_known(const char *name);

/* sha256 of the DER of the first certificate in ca_pem, 64 lowercase hex
 * digits: what a join token pins ("K10<hash>::<id>.<secret>"). */
int sk_pki_ca_hash(const char *ca_pem, char out[65], sk_err *err) SK_MUST_CHECK;

/* Base64 (standard, padded, one line) of the API's byte fields; both
 * capped at SK_PKI_B64_MAX decoded bytes; caller frees. Decoding returns
 * a NUL-terminated copy (len = decoded size) or NULL + SK_EINVALID. */
#define SK_PKI_B64_MAX (1u << 20)
char *sk_pki_base64_encode(const void *data, size_t len);
char *sk_pki_base64_decode(const char *s, size_t *len, sk_err *err);

/* 0 when cert_pem (first certificate) is signed by ca_pem, matches
 * key_pem, stays valid for min_valid_s more seconds and covers every SAN
 * in sans; -1 + SK_EINVALID saying why not. */
int sk_pki_leaf_check(const char *ca_pem, const char *cert_pem, const char *key_pem,
                      const char *const *sans, size_t nsans, int64_t min_valid_s, sk_err *err)
    SK_MUST_CHECK;

#endif

/* The API server's side of joining nodes (kubeadm's TLS bootstrap):
 * bootstrap-token authentication, what such a token may do, the
 * anonymous CA download, and the certificates.k8s.io/v1
 * CertificateSigningRequest strategies (create fills the requestor;
 * /approval and /status change only their part of the status).
 * Called from any libmicrohttpd connection thread. */
#ifndef SK_APISERVER_BOOTSTRAP_TOKEN_H
#define SK_APISERVER_BOOTSTRAP_TOKEN_H

#include "apiserver/apiserver_int.h"

#define SK_BOOTSTRAP_USER_PREFIX "system:bootstrap:"

/* Authenticates "<id>.<secret>" against the kube-system Secret
 * bootstrap-token-<id> (type bootstrap.kubernetes.io/token, not expired,
 * usage-bootstrap-authentication=true), read from the store and cached a
 * few seconds. Fills id (user system:bootstrap:<id>, groups
 * system:bootstrappers, auth-extra-groups, system:authenticated) and
 * returns true on a match; false for anything else. */
bool sk_bootstrap_token_auth(struct sk_apiserver *s, const char *token, sk_identity *id);

/* A bootstrap identity may only read discovery and create/get/list/watch
 * CertificateSigningRequests (upstream's system:node-bootstrapper role).
 * Replies 403 and returns false when q is outside that. */
bool sk_bootstrap_token_permit(struct sk_req *q);

/* GET /cacerts: the cluster CA bundle, served without authentication so a
 * joining node can fetch it and check it against the hash in its token. */
void sk_handle_cacerts(struct sk_req *q);

/* CertificateSigningRequest create, /approval and /status; true when the
 * request was handled (replied), false to fall through to generic REST. */
bool sk_csr_handle(struct sk_req *q, struct sk_route *rt);

#endif

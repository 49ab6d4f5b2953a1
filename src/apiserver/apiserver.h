/* sk_apiserver: the Kubernetes API over HTTPS (libmicrohttpd + GnuTLS):
 * authentication (client certificates from the cluster CA, bearer tokens),
 * discovery, OpenAPI, REST verbs with Kubernetes semantics over sk_store,
 * watch, server-side Tables and Status errors.
 *
 * Threads: libmicrohttpd runs one thread per connection; handlers block
 * only on the store's group commit and, for watches, on the broadcaster.
 * new/start/stop/free are called from one (the main) thread. */
#ifndef SK_APISERVER_H
#define SK_APISERVER_H

#include "lib/lib.h"
#include "store/store.h"

typedef struct sk_apiserver sk_apiserver;

struct sk_apiserver_config {
    const char *bind_address; /* "127.0.0.1" */
    int port;                 /* 6443 */
    const char *cert_pem;     /* serving certificate (borrowed during new) */
    const char *key_pem;
    const char *ca_pem;       /* client certificates must chain to it */
    const char *token_file;   /* optional "token,user,uid,group1,group2" lines (static tokens) */
    const char *service_cidr; /* "10.96.0.0/12": ClusterIP range; the first IP is `kubernetes` */
    int node_port_min, node_port_max; /* 30000-32767 */
    const char *advertise_address; /* API server address for the `kubernetes` Endpoints */
    const char *git_version;  /* "v1.32.0+skiff.1" */
    const char *major, *minor;
    /* Client certificate for reaching node agents (pods/log, exec, attach,
     * portforward, nodes/proxy); NULL = those subresources answer 503. */
    const char *kubelet_client_cert_pem, *kubelet_client_key_pem;
};

/* store is borrowed and must outlive the server. */
sk_apiserver *sk_apiserver_new(const struct sk_apiserver_config *cfg, sk_store *store,
                               sk_err *err);
/* Ensures the built-in namespaces exist, then starts listening. */
int sk_apiserver_start(sk_apiserver *s, sk_err *err) SK_MUST_CHECK;
/* Stops accepting, ends watches, waits for in-flight requests. */
void sk_apiserver_stop(sk_apiserver *s);
void sk_apiserver_free(sk_apiserver *s); /* NULL ok */

#endif

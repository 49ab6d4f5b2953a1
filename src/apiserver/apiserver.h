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
#include "pki/pki.h" /* sk_identity */
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

/* In-process requests for components in the server's own process (the
 * sk_client_local hooks): routing, handlers, Status errors and watch
 * filters as over HTTPS, for the identity the caller was issued, without
 * TLS, HTTP or JSON text. Discovery, OpenAPI and the streaming/proxy
 * subresources (log, exec, attach, portforward, proxy) are HTTPS only.
 * body is borrowed; on return *status is the HTTP status and the reply is
 * either *reply (new reference) or the bytes appended to raw. -1 when the
 * server is stopping. Any thread. */
int sk_apiserver_local_call(sk_apiserver *s, const sk_identity *id, const char *method,
                            const char *path, const json_t *body, const char *content_type,
                            long *status, json_t **reply, sk_buf *raw);
/* A watch on the calling thread: cb gets each event (objects shared and
 * immutable) until the stream ends (timeoutSeconds, server stop), cb
 * returns < 0 or tick returns non-zero (polled at least every 100 ms).
 * A request refused before streaming fills *status and *reply. */
int sk_apiserver_local_watch(sk_apiserver *s, const sk_identity *id, const char *path,
                             int (*cb)(void *ud, const char *type, json_t *obj), void *ud,
                             int (*tick)(void *tick_ud), void *tick_ud, long *status,
                             json_t **reply);

#endif

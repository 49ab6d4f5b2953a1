/* Joining nodes, k3s/kubeadm style. `skiff server` keeps a bootstrap
 * token (kube-system Secret bootstrap-token-<id>) and writes
 * DATA/join-token = "K10<sha256 of the CA certificate DER>::<id>.<secret>";
 * `skiff agent --server URL --token-file F` fetches the CA from /cacerts,
 * checks it against the pinned hash before sending the token, requests a
 * node client certificate (and a serving certificate) through
 * CertificateSigningRequests and writes its own kubeconfig. Main thread
 * only; the agent side must run after sk_cli_node_prepare (it uses curl). */
#ifndef SK_CLI_JOIN_H
#define SK_CLI_JOIN_H

#include "lib/lib.h"

#define SK_JOIN_EXTRA_GROUP "system:bootstrappers:skiff:default-node-token"

struct sk_join_server {
    const char *data_dir;
    const char *api_url;                      /* where this process reaches its API server */
    const char *ca_pem;                       /* borrowed */
    const char *admin_cert_pem, *admin_key_pem; /* to write the Secret */
    const char *bind;                         /* --bind-address */
    const char *advertise;                    /* address agents use; NULL = bind */
    int port;
};
/* Ensures the token Secret exists and DATA/join-token pins the current
 * CA (reusing the token already there), then logs the join command. */
int sk_join_server_setup(const struct sk_join_server *js, sk_err *err) SK_MUST_CHECK;

struct sk_join_token {
    char ca_hash[65]; /* lowercase hex */
    char id[7];
    char secret[17];
};
/* Parses "K10<64 hex>::<id>.<secret>" (surrounding whitespace ignored). */
int sk_join_token_parse(const char *text, struct sk_join_token *t, sk_err *err) SK_MUST_CHECK;

struct sk_join_agent {
    const char *server_url; /* https://ADDR:PORT */
    const char *token_file;
    const char *data_dir;   /* DATA/kubeconfig, DATA/pki/serving.{crt,key} */
    const char *node_name;
    const char *node_ip;    /* extra serving SAN; NULL = detected */
    bool serving;           /* also obtain a kubelet serving certificate */
    int timeout_s;          /* per certificate; 0 = 60 */
};
struct sk_join_result {
    char *kubeconfig;                 /* path of the node kubeconfig */
    char *serving_cert, *serving_key; /* PEM, NULL unless serving */
};
/* Reuses DATA/kubeconfig when its client certificate is still good for
 * this node; otherwise bootstraps it with the token. Errors are one line
 * fit for the user (wrong token, CA mismatch, denied, timeout). */
int sk_join_agent_bootstrap(const struct sk_join_agent *ja, struct sk_join_result *out,
                            sk_err *err) SK_MUST_CHECK;
void sk_join_result_release(struct sk_join_result *r);

/* internal (join.c) for join_agent.c: the CA bundle at URL/cacerts,
 * fetched without trusting the server; caller frees. */
char *sk_join_fetch_ca(const char *server_url, sk_err *err);

#endif

/* sk_kubelet: the node agent.
 *
 * sk_agent is the real one: it registers its Node, renews its Lease, runs
 * the pods bound to it as crun containers (sk_rt) attached to the pod
 * network by the CNI plugins (sk_net), with images from sk_image, reports
 * their status, runs probes and serves logs, exec, attach and port-forward
 * over HTTPS to the API server.
 *
 * sk_hollow is the simulated one (like kwok) for control-plane tests and
 * benchmarks: it registers Nodes with capacity, renews their Leases, and
 * marks pods bound to them Running and Ready with an IP from the node's
 * podCIDR after a delay; pods being deleted are finalized (grace 0). */
#ifndef SK_KUBELET_H
#define SK_KUBELET_H

#include "client/client.h"

typedef struct sk_hollow sk_hollow;

struct sk_hollow_config {
    sk_client *client;      /* borrowed */
    const char *name_prefix; /* nodes are <prefix>-0 ... unless names given */
    const char *const *names; /* explicit node names (NULL-terminated) or NULL */
    int count;
    int64_t pod_delay_ms;   /* from bound to Running/Ready */
    int64_t lease_renew_ms; /* default 10000 */
};

sk_hollow *sk_hollow_new(const struct sk_hollow_config *cfg, sk_err *err);
int sk_hollow_start(sk_hollow *h, sk_err *err) SK_MUST_CHECK;
void sk_hollow_free(sk_hollow *h); /* stops heartbeats; NULL ok */

/* ---- the real node agent -------------------------------------------------- */

typedef struct sk_agent sk_agent;
struct sk_rt;
struct sk_image_store;

struct sk_agent_config {
    sk_client *client;            /* borrowed; identity system:node:<node_name> */
    struct sk_rt *rt;             /* borrowed; sk_rt_init ran before any thread */
    struct sk_image_store *images; /* borrowed */
    const char *node_name;        /* required */
    const char *data_dir;         /* required: DIR/pods, DIR/logs, DIR/cni below it */
    const char *node_ip;          /* InternalIP; NULL = the source address of the default route,
                                   * else the first global address, else 127.0.0.1 */
    const char *node_netns;       /* netns the CNI plugins run in; NULL = the agent's own */
    const char *cni_plugin_dir;   /* NULL = /usr/lib/cni */
    const char *cni_bridge;       /* NULL = "cni0" */
    const char *samples_dir;      /* built-in sample images loaded at start; NULL = none */
    const char *busybox_path;     /* for the built-in images; NULL = /bin/busybox */
    /* HTTPS API (logs, exec, attach, port-forward) for the API server. */
    const char *bind_address;     /* NULL = "0.0.0.0" */
    int port;                     /* 0 = 10250; -1 = no server (tests); -2 = any free port */
    const char *serving_cert_pem, *serving_key_pem; /* required unless port = -1 */
    const char *client_ca_pem;    /* peers must present a certificate chaining to it ... */
    const char *api_client_cn;    /* ... with this CN; NULL = "kube-apiserver-kubelet-client" */
    const char *cluster_dns;      /* nameserver for ClusterFirst pods; NULL = host resolv.conf */
    const char *cluster_domain;   /* NULL = "cluster.local" */
    int max_pods;                 /* 0 = 110 */
    bool control_plane;           /* label node-role.kubernetes.io/control-plane (the server's node) */
    int64_t lease_renew_ms;       /* 0 = 10000 */
    int64_t status_ms;            /* node status update period; 0 = 10000 */
    int64_t image_gc_high_pct, image_gc_low_pct; /* 0 = 85 / 80 */
};

/* Copies cfg's strings; registers nothing until start. */
sk_agent *sk_agent_new(const struct sk_agent_config *cfg, sk_err *err);
/* Loads the built-in images, registers the Node, adopts the containers a
 * previous agent left (by pod uid), starts the pod workers, the prober and
 * the HTTPS server. */
int sk_agent_start(sk_agent *a, sk_err *err) SK_MUST_CHECK;
/* Stops workers and heartbeats; pods and containers keep running (a new
 * agent adopts them). NULL ok. */
void sk_agent_free(sk_agent *a);

#endif

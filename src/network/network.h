/* sk_net: pod networking through the real CNI plugins (spec 1.0.0), plus
 * helpers for named network namespaces.
 *
 * One sk_net per node. It writes a conflist (bridge + host-local IPAM over the
 * node's podCIDR, then portmap for hostPorts) to DATA/cni/net.d/ and runs the
 * plugin binaries from plugin_dir with fork/exec: loopback (CNI_IFNAME=lo),
 * then the chain with prevResult. The result of every ADD is cached in
 * DATA/cni/results/<pod_id> so DEL replays the same config, port mappings and
 * prevResult, after an agent restart too.
 *
 * Plugins act on the network namespace they run in: bridge creates cni0 in
 * its *current* netns before it even looks at CNI_NETNS, portmap writes nat
 * rules there, and isGateway turns on ip_forward there. So they must run in
 * the node's netns: cfg.netns_path names it (each child setns()es into it
 * before exec), NULL means the caller's own netns, which is the host unless
 * the agent itself runs inside a node netns.
 *
 * Threads: after sk_net_new the handle is read-only, so any thread may call
 * it, concurrently for different pod ids (host-local locks its own store).
 * Calls for the same pod id must be serialized by the caller. Every call
 * blocks on plugin processes (tens of ms): run it on a worker thread.
 * Children are reaped with waitpid(pid): do not reap with waitpid(-1).
 *
 * Only IPv4 and IPv6 single-stack podCIDRs; no dual stack yet. */
#ifndef SK_NETWORK_H
#define SK_NETWORK_H

#include "lib/lib.h"

typedef struct sk_net sk_net;

struct sk_net_config {
    const char *pod_cidr;   /* required: "10.244.1.0/24"; gateway = first host */
    const char *data_dir;   /* required: the conflist lives below (DATA/cni/net.d) */
    /* IPAM leases and the result cache (STATE/cni/...): attachments only
     * live while the machine is up, e.g. the runtime's state tmpfs.
     * NULL = data_dir. */
    const char *state_dir;
    const char *bridge;     /* NULL = "cni0" */
    const char *plugin_dir; /* NULL = "/usr/lib/cni" */
    const char *name;       /* network name, NULL = "skiff" */
    const char *netns_path; /* node netns the plugins run in; NULL = current */
    int mtu;                /* 0 = plugin default */
    int timeout_ms;         /* per plugin call; 0 = 30000 */
};

/* All strings are copied; cfg may be freed after the call. Checks the
 * podCIDR and the plugin binaries, creates the directories, writes the
 * conflist. Opens netns_path and keeps it open (pins it). */
sk_net *sk_net_new(const struct sk_net_config *cfg, sk_err *err);
void sk_net_free(sk_net *n); /* NULL ok; leaves pods and files in place */
/* The conflist the plugins get (borrowed, valid until sk_net_free). */
const json_t *sk_net_conflist(const sk_net *n);

struct sk_net_port {
    uint16_t host_port;      /* required */
    uint16_t container_port; /* required */
    const char *protocol;    /* "tcp" (NULL), "udp" or "sctp" */
    const char *host_ip;     /* NULL = every node address */
};

struct sk_net_pod_opts { /* every field optional; all borrowed for the call */
    const char *k8s_namespace;        /* -> CNI_ARGS K8S_POD_NAMESPACE */
    const char *k8s_name;             /* -> CNI_ARGS K8S_POD_NAME */
    const char *k8s_uid;              /* -> CNI_ARGS K8S_POD_UID */
    const struct sk_net_port *ports;  /* hostPort mappings, -> runtimeConfig.portMappings */
    size_t n_ports;
    bool lo_up;                       /* lo is up already (sk_rt sandboxes): skip the
                                       * loopback plugin, a process start saved */
};

/* Plain values: nothing to free. Addresses without prefix length. */
struct sk_net_result {
    char ip[48];        /* pod IP, "10.244.1.2" */
    int prefix_len;     /* 24 */
    char gateway[48];   /* "10.244.1.1" */
    char ifname[16];    /* "eth0" (in the pod netns) */
    char mac[24];       /* eth0's MAC, "" if unknown */
    char host_veth[16]; /* host side of the veth, "" if unknown */
};

/* pod_id is CNI_CONTAINERID and the cache key: [A-Za-z0-9][A-Za-z0-9_.-]*,
 * at most 128 chars. netns_path is the pod's netns (e.g. from
 * sk_net_netns_create). On failure the partial attachment is torn down (DEL)
 * so no IP leaks (if that DEL fails too, the pending cache entry stays for
 * sk_net_pod_del/sk_net_gc); the error names the plugin and carries its
 * message. An ADD for a pod with a completed attachment fails with SK_EEXIST. */
int sk_net_pod_add(sk_net *n, const char *pod_id, const char *netns_path,
                   const struct sk_net_pod_opts *opts, struct sk_net_result *res,
                   sk_err *err) SK_MUST_CHECK;
/* DEL in reverse order, with the cached config and prevResult; releases the
 * IP and the hostPort rules, then drops the cache. Idempotent: 0 when the pod
 * is unknown. netns_path may be NULL or already gone. */
int sk_net_pod_del(sk_net *n, const char *pod_id, const char *netns_path,
                   sk_err *err) SK_MUST_CHECK;
/* CHECK of the whole chain against the cached result: 0 if healthy,
 * SK_ENOTFOUND if the pod has no attachment, else the plugin's error. */
int sk_net_pod_check(sk_net *n, const char *pod_id, const char *netns_path,
                     sk_err *err) SK_MUST_CHECK;
/* The cached result of a pod (e.g. after an agent restart). */
int sk_net_pod_result(sk_net *n, const char *pod_id, struct sk_net_result *res,
                      sk_err *err) SK_MUST_CHECK;
/* Tears down every attachment (cached result or IPAM lease) whose pod id is
 * not in live[0..n_live): the agent-restart case. *n_removed (optional) gets
 * the count. Keeps going past single failures and reports the first. */
int sk_net_gc(sk_net *n, const char *const *live, size_t n_live, size_t *n_removed,
              sk_err *err) SK_MUST_CHECK;

/* ---- named network namespaces (as `ip netns`) ------------------------------ */

/* Creates a new netns pinned at /run/netns/<name> (a bind mount of the
 * namespace; /run/netns made a shared mount first, as iproute2 does), with lo
 * up if lo_up. Writes the path to path_out (>= 64 bytes). SK_EEXIST if the
 * name is taken. The caller's own netns is never changed. */
int sk_net_netns_create(const char *name, bool lo_up, char *path_out, size_t path_len,
                        sk_err *err) SK_MUST_CHECK;
/* Unmounts and removes /run/netns/<name> (or a full path). Idempotent. The
 * namespace itself dies when no process, mount or fd holds it any more. */
int sk_net_netns_delete(const char *name_or_path, sk_err *err) SK_MUST_CHECK;
/* True if path is a pinned netns (nsfs). */
bool sk_net_netns_exists(const char *path);

/* Runs fn(arg) on a fresh thread that has joined the netns at path, and
 * returns its value (or -1 with err if the netns cannot be entered). The
 * calling thread never changes netns. Sockets fn creates stay in that netns
 * and may be used from any thread afterwards. fn must not create threads
 * or fork without knowing they inherit the netns. */
int sk_net_netns_run(const char *path, int (*fn)(void *arg), void *arg, sk_err *err);

/* The node's address (IPv4) in netns_path (NULL = the caller's): the source
 * address of the default route, else the first global address not on
 * skip_ifname (the pod bridge), else 127.0.0.1. */
void sk_net_node_ip(const char *netns_path, const char *skip_ifname, char *out, size_t n);

/* ---- routes between nodes (routes.c) ------------------------------------------- */

/* Adds or replaces the route "cidr via gateway" (IPv4 or IPv6) in the main
 * table of netns_path (NULL = the caller's netns), marked as skiff's
 * (protocol 0xb1). Another node's podCIDR via its address: with nodes on
 * one L2 segment, that is the whole inter-node pod network. */
int sk_net_route_replace(const char *cidr, const char *gateway, const char *netns_path,
                         sk_err *err) SK_MUST_CHECK;
/* Deletes skiff's route to cidr; 0 if there is none. */
int sk_net_route_delete(const char *cidr, const char *netns_path, sk_err *err) SK_MUST_CHECK;
/* Deletes every route skiff added (cleanup); *removed (optional) counts them. */
int sk_net_routes_flush(const char *netns_path, int *removed, sk_err *err) SK_MUST_CHECK;
/* Deletes a network interface by name (the pod bridge at cleanup); 0 if absent. */
int sk_net_link_delete(const char *name, const char *netns_path, sk_err *err) SK_MUST_CHECK;

#endif

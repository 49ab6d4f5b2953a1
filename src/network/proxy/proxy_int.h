/* Internals of the service proxy: the service model, the nftables script
 * generator (pure: model in, nft text out, no I/O) and the libnftables
 * runner. Declared here so the unit tests reach them.
 *
 * Table layout (family inet, one table, names as upstream kube-proxy's
 * nftables mode where the role is the same):
 *   maps    service-ips        ip . proto . port    : verdict (ClusterIP, externalIPs, LB ingress)
 *           service-nodeports  proto . port         : verdict
 *           no-endpoint-services / no-endpoint-nodeports : reject or drop
 *           endpoint-ips       mark                 : ip (DNAT targets)
 *           endpoint-ports     mark of a block      : port
 *   sets    nodeport-ips (when node addresses are given), hairpin (ip . ip),
 *           affinity-<svc>__<ep> per endpoint of ClientIP-affinity services
 *   chains  service-/local-/external-<hash>-ns/name/proto/port per service port,
 *           endpoint-<...>__ip/port only for affinity services.
 *
 * Unlike upstream, a service chain does not jump to one chain per
 * endpoint: it writes `numgen random mod N offset K` into the conntrack
 * mark and one shared chain DNATs through the endpoint-ips map keyed by
 * it (the port from endpoint-ports, keyed by the mark's block). Each
 * service port owns a block of 4096 keys. Ten thousand endpoint
 * chains, or a thousand rules each bound to the map, cost the kernel
 * several hundred ms per transaction; elements of one map bound once do
 * not, and an endpoint change becomes a single element update. Hairpin
 * (a pod reaching itself) is masqueraded in postrouting from the hairpin
 * set (this node's endpoints only: a pod can only hairpin on its own node)
 * instead of a per-endpoint rule, and when the service CIDR is known, one
 * rule marks off-cluster traffic to it instead of one per service. ClientIP affinity needs to remember
 * the chosen endpoint, so affinity services keep upstream's per-endpoint
 * chains and timed sets, as do ports whose endpoints listen on different
 * port numbers.
 *
 * IPv4 only (the cluster is single-stack IPv4): IPv6 service or endpoint
 * addresses are skipped. */
#ifndef SK_PROXY_INT_H
#define SK_PROXY_INT_H

#include "network/proxy/proxy.h"

#include <stdbool.h>
#include <stdint.h>

#define PX_BLOCK_BITS 12
#define PX_MAX_EPS (1 << PX_BLOCK_BITS)   /* per service port and policy */
#define PX_MAX_BLOCKS ((1u << (32 - PX_BLOCK_BITS)) - 1)
#define PX_MASQ_MARK "0x4000"

/* ---- model ------------------------------------------------------------------ */

struct px_ep {
    char ip[16];      /* canonical IPv4 */
    uint16_t port;
    bool local;       /* on this node (nodeName) */
    bool hairpin;     /* may be its own client: a pod of this node (or the node is unknown) */
};

/* One port of one Service, with its usable endpoints. Strings validated by
 * the model builder: names are DNS labels/subdomains, IPs canonical. */
struct px_port {
    char *svc_key;        /* "ns/name": the unit of incremental sync */
    char *base;           /* chain name base "HASH-ns/name/tcp/portname" */
    char proto[5];        /* "tcp", "udp", "sctp" */
    char cluster_ip[16];  /* "" = none */
    uint16_t port, node_port;
    char (*ext_ips)[16];  /* spec.externalIPs */
    size_t n_ext;
    char (*lb_ips)[16];   /* status.loadBalancer.ingress[].ip */
    size_t n_lb;
    bool ext_local, int_local; /* traffic policies */
    int affinity_s;       /* ClientIP timeout seconds; 0 = no affinity */
    struct px_ep *cluster; /* endpoints for Cluster policy, sorted */
    size_t n_cluster;
    struct px_ep *local;   /* this node's subset */
    size_t n_local;
};

void px_port_free(struct px_port *p);
void px_ports_free(struct px_port **v, size_t n);

/* Trims a Service or EndpointSlice to the fields the proxy reads. */
json_t *px_trim_service(const json_t *svc);
json_t *px_trim_slice(const json_t *slice);

/* Builds the ports of one Service from it and its EndpointSlices (a JSON
 * object name -> slice, may be NULL). Appends to *out (realloc'd), returns
 * how many were added; 0 for headless, ExternalName, malformed or IPv6
 * services. node_name marks local endpoints (may be NULL). */
size_t px_build_ports(const json_t *svc, const json_t *slices, const char *node_name,
                      struct px_port ***out, size_t *n_out);

/* ---- fragments (proxy_frag.c) ------------------------------------------------------ */

/* What one Service contributes to the table, as JSON so that two versions
 * compare with json_equal and diff key by key:
 *   "c": chain name -> its rules, one per line
 *   "s": set name -> declaration ("type ipv4_addr; flags ...;")
 *   "e": "map|key" -> value: elements of the shared maps; a key belongs to
 *        one service (the generator drops a second claimant)
 *   "r": "set|key" -> 1: elements of shared sets, counted across services
 *   "b": block name -> number: the endpoint-key blocks it uses
 *   "x": block number -> DNAT addresses ("ip\n" per key from the block's
 *        first key on): the elements of the endpoint-ips map, one string
 *        per block rather than one entry per endpoint (memory)
 *   "n": number of endpoints (for the stats) */
struct px_frag_ctx {
    const char *cidr;                  /* cluster CIDR or NULL */
    bool svc_masq_rule;                /* the per-service masquerade rule is wanted */
    uint32_t (*alloc_block)(void *ud); /* a fresh block, 0 when exhausted */
    void *ud;
};
/* Renders the ports of one service; blocks named in old (the applied
 * fragment, may be NULL) are reused. */
json_t *px_frag_render(const struct px_frag_ctx *ctx, struct px_port *const *ports, size_t n,
                       const json_t *old);

/* ---- generator ----------------------------------------------------------------- */

struct px_gen_config {
    const char *table;         /* NULL = "skiff" */
    const char *cluster_cidr;  /* "10.244.0.0/16" or NULL: no local-traffic rules */
    const char *service_cidr;  /* "10.96.0.0/12" or NULL: masquerade rule per service */
    const char *const *node_ips; /* NULL = every local address (fib); else these + 127.0.0.1 */
};

typedef struct px_gen px_gen;

px_gen *px_gen_new(const struct px_gen_config *cfg);
void px_gen_free(px_gen *g);

/* Appends a script replacing the whole table with the given ports (all
 * services) to out. The result becomes applied state after commit. */
void px_gen_full(px_gen *g, struct px_port *const *ports, size_t n, sk_buf *out);
/* Appends an incremental script: the services named in svc_keys get
 * exactly the ports given (ports of other services must not be passed;
 * a key with no ports removes that service). Appends nothing when nothing
 * changed. Call only after a committed full sync. */
void px_gen_update(px_gen *g, const char *const *svc_keys, size_t nkeys,
                   struct px_port *const *ports, size_t n, sk_buf *out);
/* After the script was applied: make the pending state current. */
void px_gen_commit(px_gen *g);
/* After a failed apply: drop the pending state; the next sync must be full. */
void px_gen_abort(px_gen *g);
bool px_gen_need_full(const px_gen *g);
/* Counts of the applied state. */
void px_gen_counts(const px_gen *g, int *services, int *endpoints);

/* ---- nftables (proxy_nft.c) ---------------------------------------------------- */

struct nft_ctx;
/* A context with buffered output and errors, for the calling thread's netns. */
struct nft_ctx *px_nft_new(sk_err *err);
void px_nft_free(struct nft_ctx *ctx);
/* Runs script as one transaction. The error carries nft's first messages. */
int px_nft_run(struct nft_ctx *ctx, const char *script, sk_err *err) SK_MUST_CHECK;
/* Turns on forwarding, route_localnet and bridge-nf-call-iptables (when
 * br_netfilter is present) for the calling thread's netns. Returns how
 * many could not be set (the message names the first). */
int px_sysctls(sk_err *err);
/* [A-Za-z0-9_-]{1,64}: names pasted into scripts. */
bool px_valid_table(const char *t);
/* Joins the netns at path on the calling thread (NULL/"" = stay). */
int px_enter_netns(const char *path, sk_err *err) SK_MUST_CHECK;

#endif

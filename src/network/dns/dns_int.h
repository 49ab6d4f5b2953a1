/* sk_dns internals shared by its files, its unit tests and the fuzzer.
 *
 * Layers: the index (dns_index.c) holds what the informers deliver as
 * small C structs behind a rwlock; the resolver (dns_lookup.c) answers a
 * parsed question from it the way CoreDNS's kubernetes plugin does;
 * dns_wire.c turns query bytes into reply bytes (header checks, FORMERR,
 * EDNS0, truncation); dns_forward.c talks to the upstream resolvers;
 * dns_server.c owns the sockets and threads; dns.c wires informers and
 * publishes kube-dns (dns_publish.c). */
#ifndef SK_DNS_INT_H
#define SK_DNS_INT_H

#include <ldns/ldns.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>

#include "network/dns/dns.h"

#define SK_DNS_UDP_MIN 512      /* RFC 1035 limit without EDNS0 */
#define SK_DNS_UDP_MAX 4096     /* largest EDNS0 payload we honour */
#define SK_DNS_UDP_ADVERTISE 1232 /* what our OPT record offers (DNS flag day 2020) */
#define SK_DNS_TCP_MAX 65535
#define SK_DNS_DNS_VERSION "1.1.0" /* TXT dns-version.<zone>, Kubernetes DNS spec */

/* ---- index ---------------------------------------------------------------- */

typedef struct sk_dns_index sk_dns_index;

sk_dns_index *sk_dns_index_new(void);
void sk_dns_index_free(sk_dns_index *ix); /* NULL ok */

/* Objects as the API serves them (or as the transforms below trimmed
 * them); put replaces the object of the same namespace/name. Borrowed. */
void sk_dns_index_put_service(sk_dns_index *ix, const json_t *svc);
void sk_dns_index_del_service(sk_dns_index *ix, const json_t *svc);
void sk_dns_index_put_slice(sk_dns_index *ix, const json_t *slice);
void sk_dns_index_del_slice(sk_dns_index *ix, const json_t *slice);
void sk_dns_index_put_namespace(sk_dns_index *ix, const json_t *ns);
void sk_dns_index_del_namespace(sk_dns_index *ix, const json_t *ns);
/* Until every informer has listed once, unknown names get SERVFAIL rather
 * than NXDOMAIN (CoreDNS does the same before its caches sync). */
void sk_dns_index_set_synced(sk_dns_index *ix, bool synced);

/* Informer transforms: keep only the fields the index reads. */
json_t *sk_dns_trim_service(void *ud, const json_t *obj);
json_t *sk_dns_trim_slice(void *ud, const json_t *obj);
json_t *sk_dns_trim_namespace(void *ud, const json_t *obj);

/* Read side, used by dns_lookup.c under sk_dns_index_rdlock. Strings are
 * lower-case; IPs canonical (inet_ntop). */
enum sk_dns_svc_kind { SK_DNS_CLUSTERIP, SK_DNS_HEADLESS, SK_DNS_EXTERNAL };

struct sk_dns_port {
    char *name;  /* "" when unnamed */
    char *proto; /* "TCP", "UDP", "SCTP" or "" */
    int port;    /* -1: the sentinel CoreDNS adds when an object lists no ports */
};

struct sk_dns_svc {
    char *ns, *name;
    enum sk_dns_svc_kind kind;
    char **ips; /* ClusterIPs (none when headless/external) */
    size_t nips;
    char *external; /* ExternalName target, without a trailing dot */
    struct sk_dns_port *ports;
    size_t nports;
};

struct sk_dns_addr {
    char *ip;
    char *hostname; /* spec hostname, or NULL */
};

struct sk_dns_slice {
    char *ns, *name, *svc; /* svc: the kubernetes.io/service-name label */
    struct sk_dns_addr *addrs; /* ready endpoints only */
    size_t naddrs;
    struct sk_dns_port *ports;
    size_t nports;
};

void sk_dns_index_rdlock(sk_dns_index *ix);
void sk_dns_index_unlock(sk_dns_index *ix);
bool sk_dns_index_synced(sk_dns_index *ix);
uint32_t sk_dns_index_serial(sk_dns_index *ix); /* unix time of the last change */
bool sk_dns_index_has_namespace(sk_dns_index *ix, const char *ns);
const struct sk_dns_svc *sk_dns_index_service(sk_dns_index *ix, const char *ns,
                                              const char *name);
/* Iterators: *it starts NULL; each call returns the next match or NULL. */
const struct sk_dns_slice *sk_dns_index_slices(sk_dns_index *ix, const char *ns,
                                               const char *svc, void **it);
const struct sk_dns_svc *sk_dns_index_services_by_ip(sk_dns_index *ix, const char *ip,
                                                     void **it);
const struct sk_dns_slice *sk_dns_index_slices_by_ip(sk_dns_index *ix, const char *ip,
                                                     void **it);
/* CoreDNS's name for an endpoint: its hostname, else the IP with dashes. */
void sk_dns_endpoint_name(const struct sk_dns_addr *a, char *out, size_t n);

/* ---- answering -------------------------------------------------------------- */

/* Fixed after start; shared read-only by all serving threads. */
struct sk_dns_zone {
    sk_dns_index *ix;
    char domain[256];    /* lower case, no trailing dot: "cluster.local" */
    char advertise[64];  /* our own address (for ns.dns.<domain> without a kube-dns service) */
    uint32_t ttl;
};

/* Resolves name/type upstream (for ExternalName CNAME targets outside the
 * domain); returns the parsed reply (caller frees) or NULL. */
typedef ldns_pkt *(*sk_dns_lookup_fn)(void *ud, const char *name, ldns_rr_type type);

enum sk_dns_verdict {
    SK_DNS_REPLY,   /* *reply holds the answer */
    SK_DNS_FORWARD, /* not ours: relay the query to the upstreams */
    SK_DNS_DEFER,   /* needs an upstream lookup but lookup was NULL: retry with one */
    SK_DNS_DROP,    /* a response or a runt: send nothing */
};

/* Handles one query as received (untrusted bytes). tcp selects the reply
 * size limit (64 KiB instead of the client's UDP size). lookup may be NULL
 * (then SK_DNS_DEFER instead of blocking). On SK_DNS_REPLY, *reply
 * (caller frees) and *rlen are set. Never blocks except inside lookup. */
enum sk_dns_verdict sk_dns_handle(const struct sk_dns_zone *z, const uint8_t *q, size_t qlen,
                                  bool tcp, sk_dns_lookup_fn lookup, void *ud, uint8_t **reply,
                                  size_t *rlen);

/* An upstream's reply rewritten for the client: its id restored and cut
 * to the client's size limit (with TC). NULL if up does not answer q. */
uint8_t *sk_dns_relay(const uint8_t *q, size_t qlen, const uint8_t *up, size_t uplen, bool tcp,
                      size_t *rlen);
/* SERVFAIL for q (NULL for a query too broken to answer). */
uint8_t *sk_dns_servfail(const uint8_t *q, size_t qlen, bool tcp, size_t *rlen);

/* ---- dns_wire.c helpers used by dns_lookup.c ---------------------------------- */

/* The sections of an answer being built; the lists own their records. */
struct sk_dns_answer {
    int rcode;
    bool aa;
    ldns_rr_list *an, *ns, *ar;
};

/* Records: owner is taken (may be NULL on a failed name parse: then the
 * record is dropped and NULL returned). */
ldns_rr *sk_dns_rr_addr(ldns_rdf *owner, uint32_t ttl, const char *ip);
ldns_rr *sk_dns_rr_name(ldns_rdf *owner, uint32_t ttl, ldns_rr_type type, const char *target);
ldns_rr *sk_dns_rr_srv(ldns_rdf *owner, uint32_t ttl, uint16_t weight, uint16_t port,
                       const char *target);
ldns_rr *sk_dns_rr_soa(ldns_rdf *owner, uint32_t ttl, const char *domain, uint32_t serial);
ldns_rr *sk_dns_rr_txt(ldns_rdf *owner, uint32_t ttl, const char *text);
ldns_rdf *sk_dns_dname(const char *name); /* "a.b" or "a.b." -> fqdn rdf; NULL if invalid */

/* The resolver proper: fills a for the question (qname as received, with
 * its case). Returns SK_DNS_REPLY, SK_DNS_FORWARD or SK_DNS_DEFER. */
enum sk_dns_verdict sk_dns_resolve(const struct sk_dns_zone *z, const ldns_rdf *qname,
                                   ldns_rr_type qtype, sk_dns_lookup_fn lookup, void *ud,
                                   struct sk_dns_answer *a);

/* ---- upstreams ------------------------------------------------------------------ */

#define SK_DNS_MAX_UPSTREAMS 8

struct sk_dns_upstreams {
    struct sockaddr_storage addr[SK_DNS_MAX_UPSTREAMS];
    socklen_t len[SK_DNS_MAX_UPSTREAMS];
    size_t n;
    int timeout_ms; /* per attempt */
};

/* From cfg->upstreams, else the nameserver lines of cfg->resolv_conf;
 * drops entries that would loop back to us: our address and port (with a
 * wildcard bind also loopback and advertise addresses on our port), or
 * the kube-dns ClusterIP.
 * An empty list is not an error (every forward then SERVFAILs). */
int sk_dns_upstreams_init(struct sk_dns_upstreams *u, const char *const *list,
                          const char *resolv_conf, const struct sockaddr_storage *self,
                          const char *advertise, const char *service_ip, sk_err *err);
/* Sends q (wire) to the upstreams, UDP (timeout + one retry, next upstream
 * first) or TCP; returns the raw reply (caller frees) whose id and question
 * match, or NULL. stopfd (or -1) aborts the wait when readable. */
uint8_t *sk_dns_upstream_query(const struct sk_dns_upstreams *u, const uint8_t *q, size_t qlen,
                               bool tcp, int stopfd, size_t *rlen);
/* An sk_dns_lookup_fn over u (ud is a struct sk_dns_lookup_ctx). */
struct sk_dns_lookup_ctx {
    const struct sk_dns_upstreams *u;
    int stopfd;
};
ldns_pkt *sk_dns_upstream_lookup(void *ud, const char *name, ldns_rr_type type);

/* ---- server ------------------------------------------------------------------------ */

typedef struct sk_dns_server sk_dns_server;

/* Binds UDP and TCP on addr:port (port 0 = any free one, the same for both). */
sk_dns_server *sk_dns_server_new(const char *addr, int port, sk_err *err);
int sk_dns_server_port(const sk_dns_server *s);
void sk_dns_server_self(const sk_dns_server *s, struct sockaddr_storage *out);
/* Starts the threads answering from z (and u); both must outlive the server. */
int sk_dns_server_start(sk_dns_server *s, const struct sk_dns_zone *z,
                        const struct sk_dns_upstreams *u, sk_err *err) SK_MUST_CHECK;
void sk_dns_server_free(sk_dns_server *s); /* stops and joins; NULL ok */

/* ---- kube-dns publication ---------------------------------------------------------- */

/* Creates or fixes Service, Endpoints and EndpointSlice kube-system/kube-dns. */
int sk_dns_publish(sk_client *c, const char *service_ip, const char *advertise, int port,
                   sk_err *err) SK_MUST_CHECK;

#endif

/* sk_dns: the cluster DNS server (our CoreDNS with the kubernetes plugin).
 *
 * Authoritative for the cluster domain from Services, EndpointSlices (sk_client
 * informers): A/AAAA for <svc>.<ns>.svc.<domain> (the ClusterIP; headless
 * services: one record per ready endpoint, and <hostname>.<svc>.<ns>.svc
 * for endpoints with a hostname), SRV _<port>._<proto>.<svc>.<ns>.svc for
 * named ports, PTR for ClusterIPs and endpoint IPs, pod records
 * a-b-c-d.<ns>.pod.<domain>, NXDOMAIN (with the SOA) for unknown names in
 * the domain; every other name is forwarded to the upstream resolvers.
 * UDP and TCP. The wire format is ldns's.
 *
 * At start it publishes itself: Service kube-system/kube-dns (ClusterIP
 * cfg.service_ip, ports dns/53 UDP, dns-tcp/53 TCP, metrics none) with a
 * selector-less Endpoints and EndpointSlice pointing at cfg.advertise_ip:
 * port, so pods reach it through the service proxy at the ClusterIP. */
#ifndef SK_DNS_H
#define SK_DNS_H

#include "client/client.h"

typedef struct sk_dns sk_dns;

struct sk_dns_config {
    sk_client *client;           /* borrowed */
    const char *bind_address;    /* NULL = advertise_ip */
    const char *advertise_ip;    /* required: the address endpoints point at (node IP) */
    int port;                    /* 0 = 53; -1 = any free port (tests; see sk_dns_port) */
    const char *domain;          /* NULL = "cluster.local" */
    const char *service_ip;      /* kube-dns ClusterIP; NULL = "10.96.0.10" */
    const char *const *upstreams; /* NULL-terminated "IP" or "IP:PORT"; NULL = the
                                   * nameservers of resolv_conf */
    const char *resolv_conf;     /* NULL = /etc/resolv.conf */
    int ttl;                     /* answers' TTL; 0 = 5 (CoreDNS's kubernetes default) */
};

sk_dns *sk_dns_new(const struct sk_dns_config *cfg, sk_err *err);
/* Binds, publishes kube-dns, starts informers and serving threads. */
int sk_dns_start(sk_dns *d, sk_err *err) SK_MUST_CHECK;
int sk_dns_port(const sk_dns *d); /* the bound port */
void sk_dns_free(sk_dns *d);      /* NULL ok */

#endif

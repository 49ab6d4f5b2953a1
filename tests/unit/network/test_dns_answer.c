/* The DNS server's answers without sockets: an index filled from JSON as
 * the informers would, queries built with ldns through sk_dns_handle,
 * checked against what CoreDNS's kubernetes plugin answers (records,
 * NXDOMAIN/NODATA with its SOA, SRV weights, PTR, pods, ExternalName,
 * the apex), plus the wire rules (FORMERR, NOTIMP, BADVERS, truncation)
 * and relaying an upstream's reply. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <string.h>

#include "network/dns/dns_int.h"
#include "unit/test.h"

#define REQUIRE_V(c) \
    do { if (!(c)) { fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #c); \
                     test_failures++; return; } } while (0)

static sk_dns_index *ix;
static struct sk_dns_zone zone;
static int lookups;

static void put(void (*fn)(sk_dns_index *, const json_t *), const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void put(void (*fn)(sk_dns_index *, const json_t *), const char *fmt, ...)
{
    char text[16384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    if (!o) fprintf(stderr, "bad fixture: %s: %s\n", je.text, text);
    fn(ix, o);
    json_decref(o);
}

#define SVC(ns, name, spec) \
    "{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"" ns "\"},\"spec\":" spec "}"

static void fixture(void)
{
    ix = sk_dns_index_new();
    zone = (struct sk_dns_zone){.ix = ix, .domain = "cluster.local", .advertise = "192.168.1.10",
                                .ttl = 5};
    put(sk_dns_index_put_namespace, "{\"metadata\":{\"name\":\"default\"}}");
    put(sk_dns_index_put_namespace, "{\"metadata\":{\"name\":\"kube-system\"}}");
    put(sk_dns_index_put_namespace, "{\"metadata\":{\"name\":\"dnstest\"}}");
    put(sk_dns_index_put_service, SVC("dnstest", "web", "{\"clusterIP\":\"10.96.0.20\","
        "\"ports\":[{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\"},"
        "{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"}]}"));
    put(sk_dns_index_put_service, SVC("dnstest", "dual", "{\"clusterIP\":\"10.96.0.21\","
        "\"clusterIPs\":[\"10.96.0.21\",\"fd00:0:0::21\"],\"ports\":[{\"port\":80}]}"));
    put(sk_dns_index_put_service, SVC("dnstest", "hl", "{\"clusterIP\":\"None\","
        "\"ports\":[{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"}]}"));
    put(sk_dns_index_put_slice, "{\"metadata\":{\"name\":\"hl-a\",\"namespace\":\"dnstest\","
        "\"labels\":{\"kubernetes.io/service-name\":\"hl\"}},\"addressType\":\"IPv4\","
        "\"ports\":[{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"}],\"endpoints\":["
        "{\"addresses\":[\"10.244.0.11\"],\"hostname\":\"web-0\",\"conditions\":{\"ready\":true}},"
        "{\"addresses\":[\"10.244.0.12\"],\"hostname\":\"web-1\"},"
        "{\"addresses\":[\"10.244.0.13\"],\"conditions\":{\"ready\":true}},"
        "{\"addresses\":[\"10.244.0.14\"],\"hostname\":\"down\",\"conditions\":{\"ready\":false}}]}");
    put(sk_dns_index_put_service, SVC("dnstest", "hl6", "{\"clusterIP\":\"None\"}"));
    put(sk_dns_index_put_slice, "{\"metadata\":{\"name\":\"hl6-a\",\"namespace\":\"dnstest\","
        "\"labels\":{\"kubernetes.io/service-name\":\"hl6\"}},\"addressType\":\"IPv6\","
        "\"endpoints\":[{\"addresses\":[\"fd00::\"]},{\"addresses\":[\"fd00::1:5\"]}]}");
    put(sk_dns_index_put_service, SVC("dnstest", "ext", "{\"type\":\"ExternalName\","
        "\"externalName\":\"Example.ORG.\"}"));
    put(sk_dns_index_put_service, SVC("dnstest", "alias", "{\"type\":\"ExternalName\","
        "\"externalName\":\"web.dnstest.svc.cluster.local\"}"));
    put(sk_dns_index_put_service, SVC("dnstest", "loop", "{\"type\":\"ExternalName\","
        "\"externalName\":\"loop.dnstest.svc.cluster.local\"}"));
    put(sk_dns_index_put_service, SVC("kube-system", "kube-dns", "{\"clusterIP\":\"10.96.0.10\","
        "\"ports\":[{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"}]}"));
    put(sk_dns_index_put_slice, "{\"metadata\":{\"name\":\"kube-dns\",\"namespace\":\"kube-system\","
        "\"labels\":{\"kubernetes.io/service-name\":\"kube-dns\"}},\"endpoints\":[{\"addresses\":"
        "[\"192.168.1.10\"]}],\"ports\":[{\"name\":\"dns\",\"port\":5353,\"protocol\":\"UDP\"}]}");
    /* 100 ready endpoints: too many A records for 512 bytes */
    char eps[8192];
    size_t o = 0;
    for (int i = 0; i < 100; i++)
        o += (size_t)snprintf(eps + o, sizeof eps - o, "%s{\"addresses\":[\"10.245.0.%d\"]}",
                              i ? "," : "", i + 1);
    put(sk_dns_index_put_service, SVC("dnstest", "big", "{\"clusterIP\":\"None\"}"));
    put(sk_dns_index_put_slice, "{\"metadata\":{\"name\":\"big-a\",\"namespace\":\"dnstest\","
        "\"labels\":{\"kubernetes.io/service-name\":\"big\"}},\"endpoints\":[%s]}", eps);
    sk_dns_index_set_synced(ix, true);
}

static ldns_pkt *stub_lookup(void *ud, const char *name, ldns_rr_type type)
{
    (void)ud;
    lookups++;
    ldns_pkt *p = ldns_pkt_new();
    ldns_rr *rr = NULL;
    if (type == LDNS_RR_TYPE_A && !strcmp(name, "example.org") &&
        ldns_rr_new_frm_str(&rr, "example.org. 30 IN A 192.0.2.1", 0, NULL, NULL) == LDNS_STATUS_OK)
        ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
    return p;
}

enum { UDP = 0, TCP = 1, EDNS = 2, NOLOOKUP = 4 };

static uint8_t *wire(const char *name, ldns_rr_type t, int flags, size_t *len)
{
    ldns_pkt *q = ldns_pkt_query_new(ldns_dname_new_frm_str(name), t, LDNS_RR_CLASS_IN, LDNS_RD);
    ldns_pkt_set_id(q, 0x4242);
    if (flags & EDNS) ldns_pkt_set_edns_udp_size(q, 4096);
    uint8_t *w = NULL;
    ldns_pkt2wire(&w, q, len);
    ldns_pkt_free(q);
    return w;
}

static enum sk_dns_verdict verdict;
static size_t last_len;

/* Asks and parses the reply (NULL when there is none). */
static ldns_pkt *ask(const char *name, ldns_rr_type t, int flags)
{
    size_t len, rlen = 0;
    uint8_t *q = wire(name, t, flags, &len), *r = NULL;
    verdict = sk_dns_handle(&zone, q, len, flags & TCP, flags & NOLOOKUP ? NULL : stub_lookup,
                            NULL, &r, &rlen);
    ldns_pkt *p = NULL;
    if (r && ldns_wire2pkt(&p, r, rlen) != LDNS_STATUS_OK) p = NULL;
    if (p && ldns_pkt_id(p) != 0x4242) {
        fprintf(stderr, "id mismatch for %s\n", name);
        test_failures++;
    }
    last_len = rlen;
    free(q);
    free(r);
    return p;
}

/* Rdata field i of answer-section record k, as text. */
static char *field(const ldns_rr_list *l, size_t k, size_t i)
{
    static char buf[8][300];
    static int slot;
    char *out = buf[slot++ % 8];
    ldns_rr *rr = k < ldns_rr_list_rr_count(l) ? ldns_rr_list_rr(l, k) : NULL;
    char *s = rr && ldns_rr_rdf(rr, i) ? ldns_rdf2str(ldns_rr_rdf(rr, i)) : NULL;
    snprintf(out, 300, "%s", s ? s : "(none)");
    free(s);
    return out;
}

static bool has_rdata(const ldns_rr_list *l, ldns_rr_type t, const char *want)
{
    for (size_t k = 0; k < ldns_rr_list_rr_count(l); k++) {
        ldns_rr *rr = ldns_rr_list_rr(l, k);
        if (ldns_rr_get_type(rr) != t) continue;
        char *s = ldns_rdf2str(ldns_rr_rdf(rr, ldns_rr_rd_count(rr) - 1));
        bool ok = s && !strcmp(s, want);
        free(s);
        if (ok) return true;
    }
    return false;
}

static size_t count(const ldns_pkt *p, ldns_pkt_section s)
{
    const ldns_rr_list *l = s == LDNS_SECTION_ANSWER      ? ldns_pkt_answer(p)
                            : s == LDNS_SECTION_AUTHORITY ? ldns_pkt_authority(p)
                                                          : ldns_pkt_additional(p);
    return ldns_rr_list_rr_count(l);
}

/* NXDOMAIN or NODATA: rcode, no answers, CoreDNS's SOA in authority. */
static void check_negative(const char *name, ldns_rr_type t, int rcode)
{
    ldns_pkt *p = ask(name, t, UDP);
    CHECK(p != NULL);
    if (!p) return;
    if ((int)ldns_pkt_get_rcode(p) != rcode) fprintf(stderr, "for %s\n", name);
    CHECK_INT(ldns_pkt_get_rcode(p), rcode);
    CHECK_INT(count(p, LDNS_SECTION_ANSWER), 0);
    CHECK(ldns_pkt_aa(p));
    const ldns_rr_list *ns = ldns_pkt_authority(p);
    CHECK_INT(ldns_rr_list_rr_count(ns), 1);
    if (ldns_rr_list_rr_count(ns) == 1) {
        ldns_rr *soa = ldns_rr_list_rr(ns, 0);
        CHECK_INT(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
        char *owner = ldns_rdf2str(ldns_rr_owner(soa));
        CHECK_STR(owner, "cluster.local.");
        free(owner);
        CHECK_STR(field(ns, 0, 0), "ns.dns.cluster.local.");
        CHECK_STR(field(ns, 0, 1), "hostmaster.cluster.local.");
        CHECK_INT(ldns_rdf2native_int32(ldns_rr_rdf(soa, 3)), 7200);
        CHECK_INT(ldns_rdf2native_int32(ldns_rr_rdf(soa, 4)), 1800);
        CHECK_INT(ldns_rdf2native_int32(ldns_rr_rdf(soa, 5)), 86400);
        CHECK_INT(ldns_rdf2native_int32(ldns_rr_rdf(soa, 6)), 5);
        CHECK_INT(ldns_rr_ttl(soa), 5);
    }
    ldns_pkt_free(p);
}

static void test_services(void)
{
    ldns_pkt *p = ask("web.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, UDP);
    REQUIRE_V(p);
    CHECK_INT(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
    CHECK(ldns_pkt_aa(p) && ldns_pkt_qr(p) && ldns_pkt_rd(p));
    CHECK_INT(count(p, LDNS_SECTION_ANSWER), 1); /* two ports, one address */
    CHECK_STR(field(ldns_pkt_answer(p), 0, 0), "10.96.0.20");
    CHECK_INT(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 0)), 5);
    ldns_pkt_free(p);

    p = ask("dual.dnstest.svc.cluster.local.", LDNS_RR_TYPE_AAAA, UDP);
    CHECK(p && count(p, LDNS_SECTION_ANSWER) == 1 &&
          !strcmp(field(ldns_pkt_answer(p), 0, 0), "fd00::21"));
    ldns_pkt_free(p);
    check_negative("web.dnstest.svc.cluster.local.", LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR);
    check_negative("web.dnstest.svc.cluster.local.", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR);
    check_negative("web.dnstest.svc.cluster.local.", LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR);
    check_negative("nope.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN);
    check_negative("nope.dnstest.svc.cluster.local.", LDNS_RR_TYPE_MX, LDNS_RCODE_NXDOMAIN);
    check_negative("dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR);
    check_negative("nons.svc.cluster.local.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN);
    check_negative("svc.cluster.local.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR);
    check_negative("cluster.local.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR);
    check_negative("foo.cluster.local.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN);
    /* search-path candidates a pod resolver tries for "web.dnstest" */
    check_negative("web.dnstest.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN);
    check_negative("web.dnstest.cluster.local.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN);
    check_negative("a.b.c.web.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN);

    /* case-insensitive match; the owner keeps the question's spelling */
    p = ask("WEB.DnsTest.svc.Cluster.LOCAL.", LDNS_RR_TYPE_A, UDP);
    CHECK(p && count(p, LDNS_SECTION_ANSWER) == 1);
    if (p) {
        char *o = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_answer(p), 0)));
        CHECK_STR(o, "WEB.DnsTest.svc.Cluster.LOCAL.");
        free(o);
    }
    ldns_pkt_free(p);

    /* an endpoint name works for ClusterIP services too (CoreDNS) */
    p = ask("web-0.hl.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, UDP);
    CHECK(p && count(p, LDNS_SECTION_ANSWER) == 1 &&
          !strcmp(field(ldns_pkt_answer(p), 0, 0), "10.244.0.11"));
    ldns_pkt_free(p);
    p = ask("10-244-0-13.hl.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, UDP);
    CHECK(p && count(p, LDNS_SECTION_ANSWER) == 1 &&
          !strcmp(field(ldns_pkt_answer(p), 0, 0), "10.244.0.13"));
    ldns_pkt_free(p);
    check_negative("down.hl.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN);
}

static void test_headless(void)
{
    ldns_pkt *p = ask("hl.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, UDP);
    REQUIRE_V(p);
    const ldns_rr_list *an = ldns_pkt_answer(p);
    CHECK_INT(ldns_rr_list_rr_count(an), 3); /* not the unready one */
    CHECK(has_rdata(an, LDNS_RR_TYPE_A, "10.244.0.11"));
    CHECK(has_rdata(an, LDNS_RR_TYPE_A, "10.244.0.12"));
    CHECK(has_rdata(an, LDNS_RR_TYPE_A, "10.244.0.13"));
    CHECK(!has_rdata(an, LDNS_RR_TYPE_A, "10.244.0.14"));
    ldns_pkt_free(p);

    p = ask("hl6.dnstest.svc.cluster.local.", LDNS_RR_TYPE_AAAA, UDP);
    CHECK(p && count(p, LDNS_SECTION_ANSWER) == 2);
    ldns_pkt_free(p);
    /* IPv6 endpoint names: colons to dashes, a trailing dash gets a 0 */
    p = ask("fd00--0.hl6.dnstest.svc.cluster.local.", LDNS_RR_TYPE_AAAA, UDP);
    CHECK(p && count(p, LDNS_SECTION_ANSWER) == 1 &&
          !strcmp(field(ldns_pkt_answer(p), 0, 0), "fd00::"));
    ldns_pkt_free(p);
}

static void test_srv(void)
{
    ldns_pkt *p = ask("_http._tcp.web.dnstest.svc.cluster.local.", LDNS_RR_TYPE_SRV, UDP);
    REQUIRE_V(p);
    const ldns_rr_list *an = ldns_pkt_answer(p);
    CHECK_INT(ldns_rr_list_rr_count(an), 1);
    CHECK_STR(field(an, 0, 0), "0");
    CHECK_STR(field(an, 0, 1), "100");
    CHECK_STR(field(an, 0, 2), "80");
    CHECK_STR(field(an, 0, 3), "web.dnstest.svc.cluster.local.");
    CHECK_INT(count(p, LDNS_SECTION_ADDITIONAL), 1);
    CHECK(has_rdata(ldns_pkt_additional(p), LDNS_RR_TYPE_A, "10.96.0.20"));
    ldns_pkt_free(p);

    p = ask("_dns._udp.web.dnstest.svc.cluster.local.", LDNS_RR_TYPE_SRV, UDP);
    CHECK(p && count(p, LDNS_SECTION_ANSWER) == 1 &&
          !strcmp(field(ldns_pkt_answer(p), 0, 2), "53"));
    ldns_pkt_free(p);
    check_negative("_http._udp.web.dnstest.svc.cluster.local.", LDNS_RR_TYPE_SRV,
                   LDNS_RCODE_NXDOMAIN);

    /* all ports of the service, weights splitting 100 */
    p = ask("web.dnstest.svc.cluster.local.", LDNS_RR_TYPE_SRV, UDP);
    CHECK(p && count(p, LDNS_SECTION_ANSWER) == 2 &&
          !strcmp(field(ldns_pkt_answer(p), 0, 1), "50"));
    ldns_pkt_free(p);

    p = ask("_http._tcp.hl.dnstest.svc.cluster.local.", LDNS_RR_TYPE_SRV, UDP);
    REQUIRE_V(p);
    an = ldns_pkt_answer(p);
    CHECK_INT(ldns_rr_list_rr_count(an), 3);
    CHECK_STR(field(an, 0, 1), "33");
    CHECK_STR(field(an, 0, 2), "8080");
    CHECK(has_rdata(an, LDNS_RR_TYPE_SRV, "web-0.hl.dnstest.svc.cluster.local."));
    CHECK(has_rdata(an, LDNS_RR_TYPE_SRV, "web-1.hl.dnstest.svc.cluster.local."));
    CHECK(has_rdata(an, LDNS_RR_TYPE_SRV, "10-244-0-13.hl.dnstest.svc.cluster.local."));
    CHECK_INT(count(p, LDNS_SECTION_ADDITIONAL), 3);
    ldns_pkt_free(p);

    /* a port-less headless service has names but no SRV records */
    check_negative("hl6.dnstest.svc.cluster.local.", LDNS_RR_TYPE_SRV, LDNS_RCODE_NOERROR);
    check_negative("ext.dnstest.svc.cluster.local.", LDNS_RR_TYPE_SRV, LDNS_RCODE_NOERROR);
}

static void check_ptr(const char *name, const char *want)
{
    ldns_pkt *p = ask(name, LDNS_RR_TYPE_PTR, UDP);
    CHECK(p && count(p, LDNS_SECTION_ANSWER) == 1);
    if (p) CHECK_STR(field(ldns_pkt_answer(p), 0, 0), want);
    if (p) CHECK(ldns_pkt_aa(p));
    ldns_pkt_free(p);
}

static void test_ptr_pods(void)
{
    check_ptr("20.0.96.10.in-addr.arpa.", "web.dnstest.svc.cluster.local.");
    check_ptr("11.0.244.10.in-addr.arpa.", "web-0.hl.dnstest.svc.cluster.local.");
    check_ptr("13.0.244.10.in-addr.arpa.", "10-244-0-13.hl.dnstest.svc.cluster.local.");
    check_ptr("1.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.",
              "dual.dnstest.svc.cluster.local.");
    /* unknown reverse names fall through to the upstreams */
    ldns_pkt *p = ask("14.0.244.10.in-addr.arpa.", LDNS_RR_TYPE_PTR, UDP);
    CHECK(!p && verdict == SK_DNS_FORWARD);
    p = ask("8.8.8.8.in-addr.arpa.", LDNS_RR_TYPE_PTR, UDP);
    CHECK(!p && verdict == SK_DNS_FORWARD);
    p = ask("example.org.", LDNS_RR_TYPE_A, UDP);
    CHECK(!p && verdict == SK_DNS_FORWARD);

    p = ask("10-1-2-3.dnstest.pod.cluster.local.", LDNS_RR_TYPE_A, UDP);
    CHECK(p && count(p, LDNS_SECTION_ANSWER) == 1 &&
          !strcmp(field(ldns_pkt_answer(p), 0, 0), "10.1.2.3"));
    ldns_pkt_free(p);
    p = ask("fd00--5.dnstest.pod.cluster.local.", LDNS_RR_TYPE_AAAA, UDP);
    CHECK(p && count(p, LDNS_SECTION_ANSWER) == 1 &&
          !strcmp(field(ldns_pkt_answer(p), 0, 0), "fd00::5"));
    ldns_pkt_free(p);
    check_negative("10-1-2-3.dnstest.pod.cluster.local.", LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR);
    check_negative("10-1-2-3.nons.pod.cluster.local.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN);
    check_negative("web.dnstest.pod.cluster.local.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN);
    check_negative("10-1-2-300.dnstest.pod.cluster.local.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN);
}

static void test_external_apex(void)
{
    lookups = 0;
    ldns_pkt *p = ask("ext.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, UDP);
    REQUIRE_V(p);
    const ldns_rr_list *an = ldns_pkt_answer(p);
    CHECK_INT(ldns_rr_list_rr_count(an), 2);
    CHECK(has_rdata(an, LDNS_RR_TYPE_CNAME, "example.org."));
    CHECK(has_rdata(an, LDNS_RR_TYPE_A, "192.0.2.1"));
    CHECK_INT(lookups, 1);
    ldns_pkt_free(p);
    p = ask("ext.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, UDP | NOLOOKUP);
    CHECK(!p && verdict == SK_DNS_DEFER);
    p = ask("ext.dnstest.svc.cluster.local.", LDNS_RR_TYPE_CNAME, UDP | NOLOOKUP);
    CHECK(p && count(p, LDNS_SECTION_ANSWER) == 1 &&
          !strcmp(field(ldns_pkt_answer(p), 0, 0), "example.org."));
    ldns_pkt_free(p);
    /* an in-zone target is followed without the upstreams */
    p = ask("alias.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, UDP | NOLOOKUP);
    CHECK(p && count(p, LDNS_SECTION_ANSWER) == 2 &&
          has_rdata(ldns_pkt_answer(p), LDNS_RR_TYPE_A, "10.96.0.20"));
    ldns_pkt_free(p);
    check_negative("loop.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR);

    p = ask("dns-version.cluster.local.", LDNS_RR_TYPE_TXT, UDP);
    CHECK(p && count(p, LDNS_SECTION_ANSWER) == 1 &&
          !strcmp(field(ldns_pkt_answer(p), 0, 0), "\"1.1.0\""));
    ldns_pkt_free(p);
    p = ask("cluster.local.", LDNS_RR_TYPE_SOA, UDP);
    CHECK(p && count(p, LDNS_SECTION_ANSWER) == 1 &&
          !strcmp(field(ldns_pkt_answer(p), 0, 0), "ns.dns.cluster.local."));
    ldns_pkt_free(p);
    p = ask("cluster.local.", LDNS_RR_TYPE_NS, UDP);
    CHECK(p && count(p, LDNS_SECTION_ANSWER) == 1 &&
          !strcmp(field(ldns_pkt_answer(p), 0, 0), "kube-dns.kube-system.svc.cluster.local."));
    CHECK(p && has_rdata(ldns_pkt_additional(p), LDNS_RR_TYPE_A, "10.96.0.10"));
    ldns_pkt_free(p);
    p = ask("ns.dns.cluster.local.", LDNS_RR_TYPE_A, UDP);
    CHECK(p && count(p, LDNS_SECTION_ANSWER) == 1 &&
          !strcmp(field(ldns_pkt_answer(p), 0, 0), "10.96.0.10"));
    ldns_pkt_free(p);
    p = ask("cluster.local.", LDNS_RR_TYPE_AXFR, TCP);
    CHECK(p && ldns_pkt_get_rcode(p) == LDNS_RCODE_REFUSED);
    ldns_pkt_free(p);
}

static uint8_t *raw(const uint8_t *q, size_t n, size_t *rlen)
{
    uint8_t *r = NULL;
    verdict = sk_dns_handle(&zone, q, n, false, NULL, NULL, &r, rlen);
    return r;
}

static void test_wire(void)
{
    size_t rlen = 0;
    static const uint8_t runt[] = {1, 2, 3};
    CHECK(!raw(runt, sizeof runt, &rlen) && verdict == SK_DNS_DROP);
    /* a truncated question: FORMERR with the id */
    static const uint8_t cut[] = {0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x3f, 'a', 'b'};
    uint8_t *r = raw(cut, sizeof cut, &rlen);
    CHECK(r && rlen == 12 && r[0] == 0x12 && r[1] == 0x34 && (r[2] & 0x80) && (r[3] & 0xf) == 1);
    free(r);
    uint8_t two[64];
    size_t n;
    uint8_t *w = wire("web.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, UDP, &n);
    memcpy(two, w, n);
    free(w);
    two[5] = 2; /* qdcount 2 */
    r = raw(two, n, &rlen);
    CHECK(r && (r[3] & 0xf) == LDNS_RCODE_FORMERR);
    free(r);
    two[5] = 1;
    two[2] |= 0x80; /* a response: ignored */
    CHECK(!raw(two, n, &rlen) && verdict == SK_DNS_DROP);
    two[2] = (uint8_t)(4 << 3); /* NOTIFY */
    r = raw(two, n, &rlen);
    CHECK(r && (r[3] & 0xf) == LDNS_RCODE_NOTIMPL);
    free(r);

    /* EDNS version 1: BADVERS */
    ldns_pkt *q = ldns_pkt_query_new(ldns_dname_new_frm_str("web.dnstest.svc.cluster.local."),
                                     LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, LDNS_RD);
    ldns_pkt_set_edns_udp_size(q, 1232);
    ldns_pkt_set_edns_version(q, 1);
    ldns_pkt2wire(&w, q, &n);
    ldns_pkt_free(q);
    r = raw(w, n, &rlen);
    ldns_pkt *p = NULL;
    CHECK(r && ldns_wire2pkt(&p, r, rlen) == LDNS_STATUS_OK);
    CHECK(p && ldns_pkt_edns_extended_rcode(p) == 1 && ldns_pkt_get_rcode(p) == 0);
    ldns_pkt_free(p);
    free(r);
    free(w);
}

static void test_truncation(void)
{
    ldns_pkt *p = ask("big.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, UDP);
    REQUIRE_V(p);
    CHECK(ldns_pkt_tc(p));
    CHECK(last_len <= 512);
    CHECK(count(p, LDNS_SECTION_ANSWER) > 10 && count(p, LDNS_SECTION_ANSWER) < 100);
    ldns_pkt_free(p);
    p = ask("big.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, UDP | EDNS);
    CHECK(p && !ldns_pkt_tc(p) && count(p, LDNS_SECTION_ANSWER) == 100);
    CHECK(p && ldns_pkt_edns(p) && ldns_pkt_edns_udp_size(p) == SK_DNS_UDP_ADVERTISE);
    ldns_pkt_free(p);
    p = ask("big.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, TCP);
    CHECK(p && !ldns_pkt_tc(p) && count(p, LDNS_SECTION_ANSWER) == 100);
    ldns_pkt_free(p);

    /* an upstream's 1400-byte reply relayed to a 512-byte client */
    size_t qn, un, rn;
    uint8_t *q = wire("example.org.", LDNS_RR_TYPE_A, UDP, &qn);
    ldns_pkt *up = ldns_pkt_query_new(ldns_dname_new_frm_str("example.org."), LDNS_RR_TYPE_A,
                                      LDNS_RR_CLASS_IN, LDNS_RD);
    ldns_pkt_set_qr(up, true);
    ldns_pkt_set_id(up, 0x9999);
    for (int i = 0; i < 80; i++) {
        char t[100];
        ldns_rr *rr = NULL;
        snprintf(t, sizeof t, "example.org. 30 IN A 192.0.2.%d", i);
        ldns_rr_new_frm_str(&rr, t, 0, NULL, NULL);
        ldns_pkt_push_rr(up, LDNS_SECTION_ANSWER, rr);
    }
    uint8_t *uw = NULL;
    ldns_pkt2wire(&uw, up, &un);
    uint8_t *r = sk_dns_relay(q, qn, uw, un, false, &rn);
    CHECK(r && rn <= 512 && r[0] == 0x42 && r[1] == 0x42 && (r[2] & 0x02));
    free(r);
    r = sk_dns_relay(q, qn, uw, un, true, &rn);
    CHECK(r && rn == un && r[0] == 0x42);
    free(r);
    r = sk_dns_servfail(q, qn, false, &rn);
    p = NULL;
    CHECK(r && ldns_wire2pkt(&p, r, rn) == LDNS_STATUS_OK &&
          ldns_pkt_get_rcode(p) == LDNS_RCODE_SERVFAIL && ldns_pkt_id(p) == 0x4242);
    ldns_pkt_free(p);
    free(r);
    free(uw);
    ldns_pkt_free(up);
    free(q);
}

static void test_updates(void)
{
    put(sk_dns_index_del_service, SVC("dnstest", "web", "{}"));
    check_negative("web.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN);
    ldns_pkt *p = ask("20.0.96.10.in-addr.arpa.", LDNS_RR_TYPE_PTR, UDP);
    CHECK(!p && verdict == SK_DNS_FORWARD);
    put(sk_dns_index_del_slice, "{\"metadata\":{\"name\":\"hl-a\",\"namespace\":\"dnstest\"}}");
    check_negative("hl.dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN);
    p = ask("11.0.244.10.in-addr.arpa.", LDNS_RR_TYPE_PTR, UDP);
    CHECK(!p && verdict == SK_DNS_FORWARD);
    /* a replaced slice moves its addresses */
    put(sk_dns_index_put_slice, "{\"metadata\":{\"name\":\"hl-a\",\"namespace\":\"dnstest\","
        "\"labels\":{\"kubernetes.io/service-name\":\"hl\"}},\"endpoints\":["
        "{\"addresses\":[\"10.244.9.9\"],\"hostname\":\"new\"}]}");
    check_ptr("9.9.244.10.in-addr.arpa.", "new.hl.dnstest.svc.cluster.local.");
    put(sk_dns_index_del_namespace, "{\"metadata\":{\"name\":\"dnstest\"}}");
    check_negative("dnstest.svc.cluster.local.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN);
    /* before the caches sync, unknown names are SERVFAIL, not NXDOMAIN */
    sk_dns_index_set_synced(ix, false);
    check_negative("nope.default.svc.cluster.local.", LDNS_RR_TYPE_A, LDNS_RCODE_SERVFAIL);
}

static void test_trim(void)
{
    json_t *svc = json_loads(SVC("a", "b", "{\"clusterIP\":\"10.0.0.1\",\"selector\":{\"x\":\"y\"},"
                             "\"ports\":[{\"name\":\"p\",\"port\":1,\"targetPort\":9}]}"), 0, NULL);
    json_t *t = sk_dns_trim_service(NULL, svc);
    CHECK(!sk_json_path(t, "spec.selector"));
    CHECK(!json_object_get(json_array_get(sk_json_path(t, "spec.ports"), 0), "targetPort"));
    CHECK_STR(sk_json_path_str(t, "spec.clusterIP"), "10.0.0.1");
    json_decref(t);
    json_decref(svc);
}

static void test_upstreams(void)
{
    struct sockaddr_storage self = {0};
    struct sockaddr_in *a = (struct sockaddr_in *)&self;
    a->sin_family = AF_INET;
    a->sin_port = htons(53);
    struct sk_dns_upstreams u;
    sk_err err = SK_ERR_INIT;
    const char *list[] = {"127.0.0.1:5300", "[::1]:53", "10.96.0.10", "bogus", "192.168.1.10",
                          "127.0.0.53", "192.0.2.53", "2001:db8::53", NULL};
    /* bound to 0.0.0.0:53: loopback, our address and our ClusterIP would loop */
    CHECK(sk_dns_upstreams_init(&u, list, NULL, &self, "192.168.1.10", "10.96.0.10", &err) == 0);
    CHECK_INT(u.n, 4);
    CHECK_INT(ntohs(((struct sockaddr_in *)&u.addr[0])->sin_port), 5300);
    CHECK_INT(u.addr[1].ss_family, AF_INET6);
    CHECK_INT(ntohs(((struct sockaddr_in *)&u.addr[2])->sin_port), 53);

    char path[] = "/tmp/skiff-dns-resolv-XXXXXX";
    int fd = mkstemp(path);
    const char *rc = "# comment\nsearch example.com\nnameserver 192.0.2.1\n"
                     "nameserver   fe80::1%eth0\noptions ndots:2\nnameserver 127.0.0.53\n";
    CHECK(fd >= 0 && write(fd, rc, strlen(rc)) == (ssize_t)strlen(rc));
    close(fd);
    a->sin_addr.s_addr = htonl(0x7f000001); /* bound to 127.0.0.1:53: 127.0.0.53 is not us */
    CHECK(sk_dns_upstreams_init(&u, NULL, path, &self, "127.0.0.1", "10.96.0.10", &err) == 0);
    CHECK_INT(u.n, 3);
    unlink(path);
    CHECK(sk_dns_upstreams_init(&u, NULL, "/nonexistent/resolv.conf", &self, NULL, NULL, &err) == 0);
    CHECK_INT(u.n, 0);
    size_t rl;
    uint8_t q[] = {1, 2, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1};
    CHECK(sk_dns_upstream_query(&u, q, sizeof q, false, -1, &rl) == NULL);
}

int main(void)
{
    test_upstreams();
    fixture();
    test_services();
    test_headless();
    test_srv();
    test_ptr_pods();
    test_external_apex();
    test_wire();
    test_truncation();
    test_trim();
    test_updates();
    sk_dns_index_free(ix);
    return test_done();
}

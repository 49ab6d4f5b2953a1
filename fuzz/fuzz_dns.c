/* Fuzzes the cluster DNS server's message handling: arbitrary bytes as a
 * query (over UDP with an upstream lookup stub, and over TCP without one)
 * against an index holding every kind of service, and as an upstream
 * reply relayed to a client. Replies must parse, keep the query id and
 * respect the size limits. */
#include <string.h>

#include "network/dns/dns_int.h"

static sk_dns_index *ix;
static struct sk_dns_zone zone;

static void put(void (*fn)(sk_dns_index *, const json_t *), const char *text)
{
    json_t *o = json_loads(text, 0, NULL);
    if (!o) __builtin_trap();
    fn(ix, o);
    json_decref(o);
}

static void setup(void)
{
    ix = sk_dns_index_new();
    zone = (struct sk_dns_zone){.ix = ix, .domain = "cluster.local", .advertise = "192.168.1.10",
                                .ttl = 5};
    put(sk_dns_index_put_namespace, "{\"metadata\":{\"name\":\"default\"}}");
    put(sk_dns_index_put_namespace, "{\"metadata\":{\"name\":\"kube-system\"}}");
    put(sk_dns_index_put_service,
        "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"clusterIP\":"
        "\"10.96.0.20\",\"clusterIPs\":[\"10.96.0.20\",\"fd00::20\"],\"ports\":[{\"name\":"
        "\"http\",\"port\":80,\"protocol\":\"TCP\"},{\"name\":\"dns\",\"port\":53,\"protocol\":"
        "\"UDP\"}]}}");
    put(sk_dns_index_put_service,
        "{\"metadata\":{\"name\":\"hl\",\"namespace\":\"default\"},\"spec\":{\"clusterIP\":"
        "\"None\",\"ports\":[{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"}]}}");
    put(sk_dns_index_put_service,
        "{\"metadata\":{\"name\":\"ext\",\"namespace\":\"default\"},\"spec\":{\"type\":"
        "\"ExternalName\",\"externalName\":\"example.org\"}}");
    put(sk_dns_index_put_service,
        "{\"metadata\":{\"name\":\"loop\",\"namespace\":\"default\"},\"spec\":{\"type\":"
        "\"ExternalName\",\"externalName\":\"loop.default.svc.cluster.local\"}}");
    put(sk_dns_index_put_service,
        "{\"metadata\":{\"name\":\"kube-dns\",\"namespace\":\"kube-system\"},\"spec\":{"
        "\"clusterIP\":\"10.96.0.10\",\"ports\":[{\"name\":\"dns\",\"port\":53,\"protocol\":"
        "\"UDP\"}]}}");
    put(sk_dns_index_put_slice,
        "{\"metadata\":{\"name\":\"kube-dns\",\"namespace\":\"kube-system\",\"labels\":{"
        "\"kubernetes.io/service-name\":\"kube-dns\"}},\"endpoints\":[{\"addresses\":["
        "\"192.168.1.10\"]}],\"ports\":[{\"name\":\"dns\",\"port\":5353,\"protocol\":\"UDP\"}]}");
    char buf[8192];
    size_t o = (size_t)snprintf(buf, sizeof buf,
                                "{\"metadata\":{\"name\":\"hl-1\",\"namespace\":\"default\","
                                "\"labels\":{\"kubernetes.io/service-name\":\"hl\"}},"
                                "\"ports\":[{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"}],"
                                "\"endpoints\":[");
    for (int i = 0; i < 80; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o,
                              "%s{\"addresses\":[\"10.244.0.%d\"],\"hostname\":\"h%d\","
                              "\"conditions\":{\"ready\":%s}}",
                              i ? "," : "", i + 1, i, i % 7 ? "true" : "false");
    snprintf(buf + o, sizeof buf - o, "]}");
    put(sk_dns_index_put_slice, buf);
    sk_dns_index_set_synced(ix, true);
}

static ldns_pkt *stub_lookup(void *ud, const char *name, ldns_rr_type type)
{
    (void)ud;
    ldns_pkt *p = ldns_pkt_new();
    ldns_rr *rr = NULL;
    char text[300];
    snprintf(text, sizeof text, "%s. 30 IN A 192.0.2.1", name);
    if (type == LDNS_RR_TYPE_A && ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL) == LDNS_STATUS_OK)
        ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
    return p;
}

static void check_reply(const uint8_t *q, const uint8_t *r, size_t rlen, size_t max)
{
    if (rlen > max || rlen < LDNS_HEADER_SIZE || memcmp(q, r, 2)) __builtin_trap();
    ldns_pkt *p = NULL;
    if (ldns_wire2pkt(&p, r, rlen) != LDNS_STATUS_OK) __builtin_trap();
    if (!ldns_pkt_qr(p)) __builtin_trap();
    ldns_pkt_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ix) setup();
    if (size > 65535) return 0;
    uint8_t *reply = NULL;
    size_t rlen = 0;
    if (sk_dns_handle(&zone, data, size, false, stub_lookup, NULL, &reply, &rlen) == SK_DNS_REPLY)
        check_reply(data, reply, rlen, SK_DNS_UDP_MAX);
    free(reply);
    reply = NULL;
    if (sk_dns_handle(&zone, data, size, true, NULL, NULL, &reply, &rlen) == SK_DNS_REPLY)
        check_reply(data, reply, rlen, SK_DNS_TCP_MAX);
    free(reply);

    /* the input as an upstream's reply to a plain (512-byte) query */
    static const uint8_t q[] = {0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                                7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0,
                                0, 1, 0, 1};
    reply = sk_dns_relay(q, sizeof q, data, size, false, &rlen);
    if (reply && (rlen > SK_DNS_UDP_MIN || memcmp(reply, q, 2))) __builtin_trap();
    free(reply);
    return 0;
}

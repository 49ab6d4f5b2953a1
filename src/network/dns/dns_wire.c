/* From query bytes to reply bytes: the header checks miekg/dns applies
 * before CoreDNS sees a message (responses dropped; opcodes other than
 * QUERY get NOTIMP; odd section counts or unparsable bodies get FORMERR),
 * EDNS0 (the reply size limit, BADVERS), record construction through
 * ldns, and truncation: as many records as fit, in section order, with TC
 * set when any was left out (miekg's Msg.Truncate). */
#include "network/dns/dns_int.h"

#include <arpa/inet.h>
#include <string.h>

/* ---- records ------------------------------------------------------------------ */

ldns_rdf *sk_dns_dname(const char *name)
{
    /* backslash escapes never appear in Kubernetes names; refuse them so
     * a name means the same thing in the index and on the wire */
    if (!name || !*name || strchr(name, '\\')) return NULL;
    return ldns_dname_new_frm_str(name);
}

static ldns_rr *rr_new(ldns_rdf *owner, uint32_t ttl, ldns_rr_type t)
{
    if (!owner) return NULL;
    ldns_rr *rr = ldns_rr_new();
    if (!rr) {
        ldns_rdf_deep_free(owner);
        return NULL;
    }
    ldns_rr_set_owner(rr, owner);
    ldns_rr_set_ttl(rr, ttl);
    ldns_rr_set_type(rr, t);
    ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
    return rr;
}

/* Appends field f (taken); on any failure frees everything, returns NULL. */
static ldns_rr *rr_push(ldns_rr *rr, ldns_rdf *f)
{
    if (rr && f && ldns_rr_push_rdf(rr, f)) return rr;
    ldns_rdf_deep_free(f);
    ldns_rr_free(rr);
    return NULL;
}

ldns_rr *sk_dns_rr_addr(ldns_rdf *owner, uint32_t ttl, const char *ip)
{
    unsigned char buf[sizeof(struct in6_addr)];
    bool v4 = inet_pton(AF_INET, ip, buf) == 1;
    if (!v4 && inet_pton(AF_INET6, ip, buf) != 1) {
        ldns_rdf_deep_free(owner);
        return NULL;
    }
    ldns_rr *rr = rr_new(owner, ttl, v4 ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA);
    return rr_push(rr, ldns_rdf_new_frm_str(v4 ? LDNS_RDF_TYPE_A : LDNS_RDF_TYPE_AAAA, ip));
}

ldns_rr *sk_dns_rr_name(ldns_rdf *owner, uint32_t ttl, ldns_rr_type type, const char *target)
{
    return rr_push(rr_new(owner, ttl, type), sk_dns_dname(target));
}

ldns_rr *sk_dns_rr_srv(ldns_rdf *owner, uint32_t ttl, uint16_t weight, uint16_t port,
                       const char *target)
{
    ldns_rr *rr = rr_new(owner, ttl, LDNS_RR_TYPE_SRV);
    rr = rr_push(rr, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, 0)); /* priority */
    rr = rr_push(rr, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, weight));
    rr = rr_push(rr, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, port));
    return rr_push(rr, sk_dns_dname(target));
}

/* CoreDNS's SOA: ns.dns.<zone> hostmaster.<zone> serial 7200 1800 86400 ttl,
 * itself with TTL min(ttl, 300). */
ldns_rr *sk_dns_rr_soa(ldns_rdf *owner, uint32_t ttl, const char *zone, uint32_t serial)
{
    char ns[300], mbox[300];
    snprintf(ns, sizeof ns, "ns.dns.%s", zone);
    snprintf(mbox, sizeof mbox, "hostmaster.%s", zone);
    ldns_rr *rr = rr_new(owner, ttl < 300 ? ttl : 300, LDNS_RR_TYPE_SOA);
    rr = rr_push(rr, sk_dns_dname(ns));
    rr = rr_push(rr, sk_dns_dname(mbox));
    rr = rr_push(rr, ldns_native2rdf_int32(LDNS_RDF_TYPE_INT32, serial));
    rr = rr_push(rr, ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, 7200));
    rr = rr_push(rr, ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, 1800));
    rr = rr_push(rr, ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, 86400));
    return rr_push(rr, ldns_native2rdf_int32(LDNS_RDF_TYPE_PERIOD, ttl));
}

ldns_rr *sk_dns_rr_txt(ldns_rdf *owner, uint32_t ttl, const char *text)
{
    return rr_push(rr_new(owner, ttl, LDNS_RR_TYPE_TXT), ldns_rdf_new_frm_str(LDNS_RDF_TYPE_STR, text));
}

/* ---- reply assembly ---------------------------------------------------------------- */

static size_t list_len(const ldns_rr_list *l) { return l ? ldns_rr_list_rr_count(l) : 0; }

/* Installs l (records borrowed) as section s of p, freeing the old list
 * shell (not its records: p never owns the answer's records). */
static void set_section(ldns_pkt *p, ldns_pkt_section s, ldns_rr_list *l)
{
    ldns_rr_list *old = NULL;
    uint16_t n = (uint16_t)list_len(l);
    switch (s) {
    case LDNS_SECTION_ANSWER:
        old = ldns_pkt_answer(p);
        ldns_pkt_set_answer(p, l);
        ldns_pkt_set_ancount(p, n);
        break;
    case LDNS_SECTION_AUTHORITY:
        old = ldns_pkt_authority(p);
        ldns_pkt_set_authority(p, l);
        ldns_pkt_set_nscount(p, n);
        break;
    default:
        old = ldns_pkt_additional(p);
        ldns_pkt_set_additional(p, l);
        ldns_pkt_set_arcount(p, n);
        break;
    }
    ldns_rr_list_free(old);
}

/* Serializes base with the first k records of an, ns, ar (in that order). */
static uint8_t *wire_prefix(ldns_pkt *base, const struct sk_dns_answer *a, size_t k, size_t *len)
{
    const ldns_rr_list *src[3] = {a->an, a->ns, a->ar};
    const ldns_pkt_section sec[3] = {LDNS_SECTION_ANSWER, LDNS_SECTION_AUTHORITY,
                                     LDNS_SECTION_ADDITIONAL};
    for (int s = 0; s < 3; s++) {
        ldns_rr_list *l = ldns_rr_list_new();
        for (size_t i = 0; i < list_len(src[s]) && k > 0; i++, k--)
            ldns_rr_list_push_rr(l, ldns_rr_list_rr(src[s], i));
        set_section(base, sec[s], l);
    }
    uint8_t *w = NULL;
    if (ldns_pkt2wire(&w, base, len) != LDNS_STATUS_OK) {
        free(w);
        w = NULL;
    }
    for (int s = 0; s < 3; s++) set_section(base, sec[s], ldns_rr_list_new());
    return w;
}

/* The largest prefix of the records that fits max bytes; TC when cut. */
static uint8_t *finish(ldns_pkt *base, const struct sk_dns_answer *a, size_t max, size_t *len)
{
    size_t total = list_len(a->an) + list_len(a->ns) + list_len(a->ar);
    uint8_t *w = wire_prefix(base, a, total, len);
    if (!w || *len <= max) return w;
    free(w);
    size_t lo = 0, hi = total; /* prefix lo fits (header + question always do), hi does not */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        size_t l;
        uint8_t *t = wire_prefix(base, a, mid, &l);
        if (t && l <= max) lo = mid;
        else hi = mid;
        free(t);
    }
    ldns_pkt_set_tc(base, true);
    return wire_prefix(base, a, lo, len);
}

/* Reply limit for a query: 64 KiB on TCP; else the EDNS0 payload size
 * (at least 512, at most what we accept), else 512. */
static size_t reply_max(const ldns_pkt *q, bool tcp)
{
    if (tcp) return SK_DNS_TCP_MAX;
    if (!q || !ldns_pkt_edns(q)) return SK_DNS_UDP_MIN;
    size_t n = ldns_pkt_edns_udp_size(q);
    return n < SK_DNS_UDP_MIN ? SK_DNS_UDP_MIN : n > SK_DNS_UDP_MAX ? SK_DNS_UDP_MAX : n;
}

/* A reply skeleton for q: id, RD/CD echoed, the question, our OPT when the
 * client sent one. rcode may be an extended (EDNS0) code. */
static ldns_pkt *reply_base(const ldns_pkt *q, int rcode, bool aa)
{
    ldns_pkt *r = ldns_pkt_new();
    if (!r) return NULL;
    ldns_pkt_set_id(r, ldns_pkt_id(q));
    ldns_pkt_set_qr(r, true);
    ldns_pkt_set_opcode(r, LDNS_PACKET_QUERY);
    ldns_pkt_set_aa(r, aa);
    ldns_pkt_set_rd(r, ldns_pkt_rd(q));
    ldns_pkt_set_cd(r, ldns_pkt_cd(q));
    ldns_pkt_set_ra(r, true);
    ldns_pkt_set_rcode(r, (uint8_t)(rcode & 0xf));
    const ldns_rr_list *ql = ldns_pkt_question(q);
    for (size_t i = 0; i < list_len(ql); i++)
        ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, ldns_rr_clone(ldns_rr_list_rr(ql, i)));
    if (ldns_pkt_edns(q) || rcode > 0xf) {
        ldns_pkt_set_edns_udp_size(r, SK_DNS_UDP_ADVERTISE);
        ldns_pkt_set_edns_extended_rcode(r, (uint8_t)(rcode >> 4));
    }
    return r;
}

static uint8_t *reply_wire(const ldns_pkt *q, const struct sk_dns_answer *a, bool tcp,
                           size_t *rlen)
{
    ldns_pkt *r = reply_base(q, a->rcode, a->aa);
    if (!r) return NULL;
    uint8_t *w = finish(r, a, reply_max(q, tcp), rlen);
    ldns_pkt_free(r);
    return w;
}

/* A header-only error reply built from the raw header (the body may not
 * parse): miekg's SetRcodeFormatError / NOTIMP path. */
static uint8_t *header_reply(const uint8_t *q, int rcode, size_t *rlen)
{
    ldns_pkt *r = ldns_pkt_new();
    if (!r) return NULL;
    ldns_pkt_set_id(r, (uint16_t)(q[0] << 8 | q[1]));
    ldns_pkt_set_qr(r, true);
    ldns_pkt_set_opcode(r, (ldns_pkt_opcode)((q[2] >> 3) & 0xf));
    ldns_pkt_set_rd(r, q[2] & 1);
    ldns_pkt_set_rcode(r, (uint8_t)rcode);
    uint8_t *w = NULL;
    if (ldns_pkt2wire(&w, r, rlen) != LDNS_STATUS_OK) {
        free(w);
        w = NULL;
    }
    ldns_pkt_free(r);
    return w;
}

static void answer_release(struct sk_dns_answer *a)
{
    ldns_rr_list_deep_free(a->an);
    ldns_rr_list_deep_free(a->ns);
    ldns_rr_list_deep_free(a->ar);
}

/* The loadbalance plugin of the default Corefile: address records in a
 * random order so clients picking the first spread over endpoints. */
static void shuffle_addrs(ldns_rr_list *l)
{
    static _Thread_local unsigned seed;
    if (!seed) seed = (unsigned)sk_now_ms() ^ (unsigned)(uintptr_t)&seed;
    size_t n = list_len(l), idx[256], m = 0;
    for (size_t i = 0; i < n && m < SK_ARRAY_LEN(idx); i++) {
        ldns_rr_type t = ldns_rr_get_type(ldns_rr_list_rr(l, i));
        if (t == LDNS_RR_TYPE_A || t == LDNS_RR_TYPE_AAAA) idx[m++] = i;
    }
    for (size_t i = m; i > 1; i--) {
        size_t j = (size_t)rand_r(&seed) % i;
        ldns_rr *x = ldns_rr_list_rr(l, idx[i - 1]);
        ldns_rr *y = ldns_rr_list_set_rr(l, ldns_rr_list_rr(l, idx[j]), idx[i - 1]);
        (void)y;
        ldns_rr_list_set_rr(l, x, idx[j]);
    }
}

/* ---- entry points ---------------------------------------------------------------------- */

/* miekg/dns's default accept rules on the raw header; -1 accept, else the
 * rcode to answer with (0 = drop). */
static int header_verdict(const uint8_t *q)
{
    uint16_t qd = (uint16_t)(q[4] << 8 | q[5]), an = (uint16_t)(q[6] << 8 | q[7]);
    uint16_t ns = (uint16_t)(q[8] << 8 | q[9]), ar = (uint16_t)(q[10] << 8 | q[11]);
    if (q[2] & 0x80) return 0; /* a response: never answer one */
    if (((q[2] >> 3) & 0xf) != LDNS_PACKET_QUERY) return LDNS_RCODE_NOTIMPL;
    if (qd != 1 || an > 1 || ns > 1 || ar > 2) return LDNS_RCODE_FORMERR;
    return -1;
}

enum sk_dns_verdict sk_dns_handle(const struct sk_dns_zone *z, const uint8_t *q, size_t qlen,
                                  bool tcp, sk_dns_lookup_fn lookup, void *ud, uint8_t **reply,
                                  size_t *rlen)
{
    *reply = NULL;
    if (qlen < LDNS_HEADER_SIZE) return SK_DNS_DROP;
    int hv = header_verdict(q);
    if (hv == 0) return SK_DNS_DROP;
    ldns_pkt *pkt = NULL;
    if (hv < 0 && ldns_wire2pkt(&pkt, q, qlen) != LDNS_STATUS_OK) hv = LDNS_RCODE_FORMERR;
    if (hv > 0 || list_len(ldns_pkt_question(pkt)) != 1) {
        ldns_pkt_free(pkt);
        *reply = header_reply(q, hv > 0 ? hv : LDNS_RCODE_FORMERR, rlen);
        return *reply ? SK_DNS_REPLY : SK_DNS_DROP;
    }
    struct sk_dns_answer a = {.rcode = LDNS_RCODE_NOERROR};
    enum sk_dns_verdict v = SK_DNS_REPLY;
    if (ldns_pkt_edns(pkt) && ldns_pkt_edns_version(pkt) > 0) {
        a.rcode = 16; /* BADVERS */
    } else {
        a.an = ldns_rr_list_new();
        a.ns = ldns_rr_list_new();
        a.ar = ldns_rr_list_new();
        const ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(pkt), 0);
        v = sk_dns_resolve(z, ldns_rr_owner(qr), ldns_rr_get_type(qr), lookup, ud, &a);
        shuffle_addrs(a.an);
    }
    if (v == SK_DNS_REPLY) {
        *reply = reply_wire(pkt, &a, tcp, rlen);
        if (!*reply) v = SK_DNS_DROP;
    }
    answer_release(&a);
    ldns_pkt_free(pkt);
    return v;
}

uint8_t *sk_dns_servfail(const uint8_t *q, size_t qlen, bool tcp, size_t *rlen)
{
    ldns_pkt *pkt = NULL;
    if (qlen < LDNS_HEADER_SIZE || ldns_wire2pkt(&pkt, q, qlen) != LDNS_STATUS_OK) return NULL;
    struct sk_dns_answer a = {.rcode = LDNS_RCODE_SERVFAIL};
    uint8_t *w = reply_wire(pkt, &a, tcp, rlen);
    ldns_pkt_free(pkt);
    return w;
}

uint8_t *sk_dns_relay(const uint8_t *q, size_t qlen, const uint8_t *up, size_t uplen, bool tcp,
                      size_t *rlen)
{
    if (qlen < LDNS_HEADER_SIZE || uplen < LDNS_HEADER_SIZE || !(up[2] & 0x80)) return NULL;
    ldns_pkt *qp = NULL, *rp = NULL;
    if (ldns_wire2pkt(&qp, q, qlen) != LDNS_STATUS_OK) return NULL;
    size_t max = reply_max(qp, tcp);
    uint8_t *w = NULL;
    if (uplen <= max) {
        w = sk_malloc(uplen);
        memcpy(w, up, uplen);
        memcpy(w, q, 2); /* the client's id */
        *rlen = uplen;
    } else if (ldns_wire2pkt(&rp, up, uplen) == LDNS_STATUS_OK) {
        /* bigger than the client takes: re-cut it as we cut our own */
        struct sk_dns_answer a = {.rcode = ldns_pkt_get_rcode(rp), .aa = ldns_pkt_aa(rp),
                                  .an = ldns_pkt_answer(rp), .ns = ldns_pkt_authority(rp),
                                  .ar = ldns_pkt_additional(rp)};
        ldns_pkt *base = reply_base(qp, a.rcode, a.aa);
        if (base) {
            ldns_pkt_set_ra(base, ldns_pkt_ra(rp));
            w = finish(base, &a, max, rlen);
            ldns_pkt_free(base);
        }
    }
    ldns_pkt_free(rp);
    ldns_pkt_free(qp);
    return w;
}

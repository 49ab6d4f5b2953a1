/* The upstream resolvers (CoreDNS's `forward . /etc/resolv.conf`): the
 * list, and one exchange with them. UDP: a fresh connected socket per
 * attempt (so only the upstream's datagrams arrive), a random query id,
 * a per-attempt timeout, one retry (on the next upstream when there is
 * one). TCP for clients that asked over TCP. A reply counts only if its
 * id and question match what we sent.
 * Partial: no answer cache (the Corefile's `cache 30`), no health checks,
 * resolv.conf is read once at start. */
#include "network/dns/dns_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#define ATTEMPT_MS 1500

/* ---- the list ------------------------------------------------------------------ */

/* "IP", "IP:PORT" or "[IPv6]:PORT" (an IPv6 zone "%eth0" is dropped). */
static bool parse_upstream(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[INET6_ADDRSTRLEN + 8] = "";
    int port = 53;
    const char *colon = strchr(s, ':');
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end - s - 1 >= (long)sizeof host) return false;
        snprintf(host, sizeof host, "%.*s", (int)(end - s - 1), s + 1);
        if (end[1] == ':') port = (int)strtol(end + 2, NULL, 10);
    } else if (colon && !strchr(colon + 1, ':')) {
        if (colon - s >= (long)sizeof host) return false;
        snprintf(host, sizeof host, "%.*s", (int)(colon - s), s);
        port = (int)strtol(colon + 1, NULL, 10);
    } else {
        snprintf(host, sizeof host, "%s", s);
    }
    char *pct = strchr(host, '%');
    if (pct) *pct = 0;
    if (port <= 0 || port > 65535) return false;
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *len = sizeof *a4;
        return true;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof *a6;
        return true;
    }
    return false;
}

static bool is_wildcard(const struct sockaddr_storage *s)
{
    if (s->ss_family == AF_INET)
        return ((const struct sockaddr_in *)s)->sin_addr.s_addr == htonl(INADDR_ANY);
    return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)s)->sin6_addr);
}

static bool is_loopback(const struct sockaddr_storage *s)
{
    if (s->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)s)->sin_addr.s_addr) >> 24) == 127;
    return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)s)->sin6_addr);
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family) return false;
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                   &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr));
}

static int port_of(const struct sockaddr_storage *s)
{
    return ntohs(s->ss_family == AF_INET ? ((const struct sockaddr_in *)s)->sin_port
                                         : ((const struct sockaddr_in6 *)s)->sin6_port);
}

struct self {
    const struct sockaddr_storage *bound;
    const char *advertise, *service_ip;
};

static bool is_addr(const struct sockaddr_storage *up, const char *text)
{
    struct sockaddr_storage a;
    socklen_t l;
    return text && parse_upstream(text, &a, &l) && same_addr(up, &a);
}

/* An upstream that is us (our address and port; with a wildcard bind, a
 * loopback or our advertised address on our port: whoever holds such a
 * port would have made our bind fail) or our own ClusterIP would loop. */
static bool loops(const struct sockaddr_storage *up, const struct self *me)
{
    if (port_of(up) == 53 && is_addr(up, me->service_ip)) return true;
    const struct sockaddr_storage *b = me->bound;
    if (!b || port_of(up) != port_of(b)) return false;
    if (same_addr(up, b)) return true;
    return is_wildcard(b) && up->ss_family == b->ss_family &&
           (is_loopback(up) || is_addr(up, me->advertise));
}

static void add(struct sk_dns_upstreams *u, const char *s, const struct self *me)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (u->n >= SK_DNS_MAX_UPSTREAMS || !parse_upstream(s, &ss, &len)) {
        sk_log(SK_WARN, "dns", "ignoring upstream \"%s\"", s);
        return;
    }
    if (loops(&ss, me)) {
        sk_log(SK_INFO, "dns", "ignoring upstream %s: it is this server", s);
        return;
    }
    u->addr[u->n] = ss;
    u->len[u->n] = len;
    u->n++;
}

int sk_dns_upstreams_init(struct sk_dns_upstreams *u, const char *const *list,
                          const char *resolv_conf, const struct sockaddr_storage *self,
                          const char *advertise, const char *service_ip, sk_err *err)
{
    const struct self me = {self, advertise, service_ip};
    memset(u, 0, sizeof *u);
    u->timeout_ms = ATTEMPT_MS;
    if (list) {
        for (size_t i = 0; list[i]; i++) add(u, list[i], &me);
        return 0;
    }
    const char *path = resolv_conf ? resolv_conf : "/etc/resolv.conf";
    sk_err e2 = SK_ERR_INIT;
    size_t len;
    _sk_free_ char *text = sk_read_file(path, &len, &e2);
    if (!text) {
        /* a node without resolv.conf still serves the cluster domain */
        sk_log(SK_WARN, "dns", "no upstream resolvers: %s", e2.msg);
        return 0;
    }
    (void)err;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        char word[32], addr[80];
        if (sscanf(line, " %31s %79s", word, addr) == 2 && !strcmp(word, "nameserver"))
            add(u, addr, &me);
        line = nl ? nl + 1 : NULL;
    }
    return 0;
}

/* ---- one exchange --------------------------------------------------------------------- */

/* Waits for ev on fd until deadline (monotonic ms); false on timeout/stop. */
static bool wait_fd(int fd, short ev, int64_t deadline, int stopfd)
{
    for (;;) {
        int64_t left = deadline - sk_now_ms();
        if (left <= 0) return false;
        struct pollfd p[2] = {{fd, ev, 0}, {stopfd, POLLIN, 0}};
        int n = poll(p, stopfd >= 0 ? 2 : 1, (int)left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || (stopfd >= 0 && p[1].revents)) return false;
        return true;
    }
}

/* Same question (name case-insensitively, type, class) in both messages. */
static bool same_question(const uint8_t *q, size_t qlen, const uint8_t *r, size_t rlen)
{
    if (rlen < LDNS_HEADER_SIZE || r[4] != 0 || r[5] != 1) return false;
    size_t pq = LDNS_HEADER_SIZE, pr = LDNS_HEADER_SIZE;
    ldns_rdf *a = NULL, *b = NULL;
    bool ok = ldns_wire2dname(&a, q, qlen, &pq) == LDNS_STATUS_OK &&
              ldns_wire2dname(&b, r, rlen, &pr) == LDNS_STATUS_OK && pq + 4 <= qlen &&
              pr + 4 <= rlen && ldns_dname_compare(a, b) == 0 && !memcmp(q + pq, r + pr, 4);
    ldns_rdf_deep_free(a);
    ldns_rdf_deep_free(b);
    return ok;
}

static bool io_all(int fd, uint8_t *buf, size_t n, bool out, int64_t deadline, int stopfd)
{
    size_t done = 0;
    while (done < n) {
        ssize_t k = out ? send(fd, buf + done, n - done, MSG_NOSIGNAL) : recv(fd, buf + done, n - done, 0);
        if (k > 0) {
            done += (size_t)k;
            continue;
        }
        if (k == 0 || (errno != EAGAIN && errno != EINTR)) return false;
        if (!wait_fd(fd, out ? POLLOUT : POLLIN, deadline, stopfd)) return false;
    }
    return true;
}

static uint8_t *exchange_tcp(const struct sockaddr_storage *to, socklen_t tolen, const uint8_t *q,
                             size_t qlen, int64_t deadline, int stopfd, size_t *rlen)
{
    _sk_close_ int fd = socket(to->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return NULL;
    if (connect(fd, (const struct sockaddr *)to, tolen) < 0) {
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (errno != EINPROGRESS || !wait_fd(fd, POLLOUT, deadline, stopfd) ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr)
            return NULL;
    }
    uint8_t *msg = sk_malloc(qlen + 2);
    msg[0] = (uint8_t)(qlen >> 8);
    msg[1] = (uint8_t)qlen;
    memcpy(msg + 2, q, qlen);
    bool ok = io_all(fd, msg, qlen + 2, true, deadline, stopfd);
    free(msg);
    uint8_t hdr[2];
    if (!ok || !io_all(fd, hdr, 2, false, deadline, stopfd)) return NULL;
    size_t n = (size_t)hdr[0] << 8 | hdr[1];
    uint8_t *r = sk_malloc(n ? n : 1);
    if (!io_all(fd, r, n, false, deadline, stopfd)) {
        free(r);
        return NULL;
    }
    *rlen = n;
    return r;
}

/* Waits for the datagram answering q (others are stale retries: skipped). */
static uint8_t *exchange_udp(const struct sockaddr_storage *to, socklen_t tolen, const uint8_t *q,
                             size_t qlen, int64_t deadline, int stopfd, size_t *rlen)
{
    _sk_close_ int fd = socket(to->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (const struct sockaddr *)to, tolen) < 0 ||
        send(fd, q, qlen, 0) != (ssize_t)qlen)
        return NULL;
    uint8_t *buf = sk_malloc(SK_DNS_TCP_MAX);
    while (wait_fd(fd, POLLIN, deadline, stopfd)) {
        ssize_t n = recv(fd, buf, SK_DNS_TCP_MAX, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n < 0) break; /* ICMP port unreachable: this upstream is down */
        if (n >= LDNS_HEADER_SIZE && !memcmp(buf, q, 2) && (buf[2] & 0x80)) {
            *rlen = (size_t)n;
            return buf;
        }
    }
    free(buf);
    return NULL;
}

uint8_t *sk_dns_upstream_query(const struct sk_dns_upstreams *u, const uint8_t *q, size_t qlen,
                               bool tcp, int stopfd, size_t *rlen)
{
    if (!u->n || qlen < LDNS_HEADER_SIZE || qlen > SK_DNS_TCP_MAX) return NULL;
    uint8_t *mine = sk_malloc(qlen);
    memcpy(mine, q, qlen);
    size_t attempts = u->n < 2 ? 2 : u->n > 4 ? 4 : u->n;
    uint8_t *r = NULL;
    for (size_t a = 0; a < attempts && !r; a++) {
        uint16_t id;
        if (getrandom(&id, sizeof id, 0) != sizeof id) id = (uint16_t)sk_now_ms();
        mine[0] = (uint8_t)(id >> 8);
        mine[1] = (uint8_t)id;
        size_t i = a % u->n;
        int64_t deadline = sk_now_ms() + u->timeout_ms;
        r = tcp ? exchange_tcp(&u->addr[i], u->len[i], mine, qlen, deadline, stopfd, rlen)
                : exchange_udp(&u->addr[i], u->len[i], mine, qlen, deadline, stopfd, rlen);
        if (r && (*rlen < LDNS_HEADER_SIZE || memcmp(r, mine, 2) || !(r[2] & 0x80) ||
                  !same_question(mine, qlen, r, *rlen))) {
            free(r);
            r = NULL;
        }
        if (stopfd >= 0 && !r) {
            struct pollfd p = {stopfd, POLLIN, 0};
            if (poll(&p, 1, 0) > 0) break;
        }
    }
    if (r) memcpy(r, q, 2); /* the client's id back */
    free(mine);
    return r;
}

ldns_pkt *sk_dns_upstream_lookup(void *ud, const char *name, ldns_rr_type type)
{
    const struct sk_dns_lookup_ctx *lc = ud;
    ldns_rdf *dn = sk_dns_dname(name);
    if (!dn) return NULL;
    ldns_pkt *q = ldns_pkt_query_new(dn, type, LDNS_RR_CLASS_IN, LDNS_RD);
    if (!q) return NULL;
    ldns_pkt_set_edns_udp_size(q, SK_DNS_UDP_ADVERTISE);
    uint8_t *w = NULL;
    size_t wl = 0, rl = 0;
    ldns_pkt *res = NULL;
    if (ldns_pkt2wire(&w, q, &wl) == LDNS_STATUS_OK) {
        uint8_t *r = sk_dns_upstream_query(lc->u, w, wl, false, lc->stopfd, &rl);
        if (r && (r[2] & 0x02)) { /* truncated: ask again over TCP */
            free(r);
            r = sk_dns_upstream_query(lc->u, w, wl, true, lc->stopfd, &rl);
        }
        if (r && ldns_wire2pkt(&res, r, rl) != LDNS_STATUS_OK) res = NULL;
        free(r);
    }
    free(w);
    ldns_pkt_free(q);
    return res;
}

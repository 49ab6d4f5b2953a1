/* Sockets and threads. UDP: two receiver threads answer cluster names
 * inline (index reads only, never blocking); queries that need the
 * upstreams go to a pool of forwarder threads (grown on demand, bounded,
 * a bounded queue: when it is full the client gets SERVFAIL at once), so
 * a dead upstream never delays cluster answers. TCP: an acceptor and one
 * thread per connection (capped), length-prefixed messages, an idle
 * timeout. Replies leave from the address the query arrived at
 * (IP_PKTINFO), which matters when bound to a wildcard address and
 * reached through the kube-dns ClusterIP's DNAT.
 * Every wait also polls stopfd, an eventfd that free() makes readable. */
#include "network/dns/dns_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#define UDP_RECEIVERS 2
#define MAX_FORWARDERS 64
#define MAX_QUEUE 512
#define MAX_TCP_CLIENTS 128
#define TCP_IDLE_MS 10000 /* miekg/dns: 8 s idle; CoreDNS's read timeout is similar */

struct job {
    struct job *next;
    struct sockaddr_storage from;
    socklen_t fromlen;
    uint8_t ctl[64] __attribute__((aligned(8))); /* cmsg data */
    size_t ctllen;
    size_t len;
    uint8_t data[];
};

struct sk_dns_server {
    int udp, tcp, stopfd, port;
    struct sockaddr_storage self;
    const struct sk_dns_zone *z;
    const struct sk_dns_upstreams *u;
    pthread_t recv_thr[UDP_RECEIVERS], accept_thr;
    size_t nrecv;
    bool accepting;
    pthread_mutex_t lock;
    pthread_cond_t cond;  /* jobs queued / stopping */
    pthread_cond_t gone;  /* a TCP client thread ended */
    struct job *head, *tail;
    size_t njobs, nworkers, nidle, ntcp;
    pthread_t workers[MAX_FORWARDERS];
    bool stop;
};

/* ---- binding --------------------------------------------------------------------- */

static int bind_one(int type, const struct sockaddr_storage *ss, socklen_t len, sk_err *err)
{
    int fd = socket(ss->ss_family, type | SOCK_CLOEXEC, 0);
    if (fd < 0) return sk_err_sys(err, "dns socket");
    int one = 1;
    if (type == SOCK_STREAM) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    else if (ss->ss_family == AF_INET) setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
    else setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
    if (ss->ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)ss, len) < 0 ||
        (type == SOCK_STREAM && listen(fd, 128) < 0)) {
        sk_err_sys(err, "dns bind %s port %d", type == SOCK_STREAM ? "tcp" : "udp",
                   ntohs(((const struct sockaddr_in *)ss)->sin_port));
        close(fd);
        return -1;
    }
    return fd;
}

static void set_port(struct sockaddr_storage *ss, int port)
{
    if (ss->ss_family == AF_INET) ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    else ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

/* TCP first (any port when port is 0), then UDP on the same number; an
 * ephemeral TCP port whose UDP twin is taken is retried with another. */
static int bind_pair(sk_dns_server *s, struct sockaddr_storage *ss, socklen_t len, int port,
                     sk_err *err)
{
    for (int tries = 0; tries < 32; tries++) {
        set_port(ss, port);
        s->tcp = bind_one(SOCK_STREAM, ss, len, err);
        if (s->tcp < 0) return -1;
        struct sockaddr_storage got;
        socklen_t gl = sizeof got;
        getsockname(s->tcp, (struct sockaddr *)&got, &gl);
        s->port = ntohs(got.ss_family == AF_INET ? ((struct sockaddr_in *)&got)->sin_port
                                                 : ((struct sockaddr_in6 *)&got)->sin6_port);
        set_port(ss, s->port);
        sk_err e2 = SK_ERR_INIT;
        s->udp = bind_one(SOCK_DGRAM, ss, len, &e2);
        if (s->udp >= 0) {
            s->self = *ss;
            return 0;
        }
        close(s->tcp);
        s->tcp = -1;
        if (port || e2.sys_errno != EADDRINUSE) {
            *err = e2;
            return -1;
        }
    }
    return sk_err_set(err, SK_EINTERNAL, "dns: no free port for both UDP and TCP");
}

sk_dns_server *sk_dns_server_new(const char *addr, int port, sk_err *err)
{
    struct sockaddr_storage ss = {0};
    socklen_t len;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
        ss.ss_family = AF_INET;
        len = sizeof *a4;
    } else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
        ss.ss_family = AF_INET6;
        len = sizeof *a6;
    } else {
        sk_err_set(err, SK_EINVALID, "dns: bind address \"%s\" is not an IP address", addr);
        return NULL;
    }
    sk_dns_server *s = sk_calloc(1, sizeof *s);
    s->udp = s->tcp = -1;
    s->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    pthread_cond_init(&s->gone, NULL);
    if (s->stopfd < 0 || bind_pair(s, &ss, len, port, err) < 0) {
        if (s->stopfd < 0) sk_err_sys(err, "eventfd");
        sk_dns_server_free(s);
        return NULL;
    }
    return s;
}

int sk_dns_server_port(const sk_dns_server *s) { return s->port; }
void sk_dns_server_self(const sk_dns_server *s, struct sockaddr_storage *out) { *out = s->self; }

/* ---- UDP ---------------------------------------------------------------------------- */

/* Reply control data from the query's: send from the address it reached. */
static size_t reply_ctl(const struct msghdr *in, uint8_t *out, size_t n)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(in); c; c = CMSG_NXTHDR((struct msghdr *)in, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
            CMSG_SPACE(sizeof(struct in_pktinfo)) <= n) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof pi);
            pi.ipi_spec_dst = pi.ipi_addr;
            pi.ipi_ifindex = 0;
            struct cmsghdr *o = (struct cmsghdr *)(void *)out;
            o->cmsg_level = IPPROTO_IP;
            o->cmsg_type = IP_PKTINFO;
            o->cmsg_len = CMSG_LEN(sizeof pi);
            memcpy(CMSG_DATA(o), &pi, sizeof pi);
            return CMSG_SPACE(sizeof pi);
        }
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
            CMSG_SPACE(sizeof(struct in6_pktinfo)) <= n) {
            struct cmsghdr *o = (struct cmsghdr *)(void *)out;
            o->cmsg_level = IPPROTO_IPV6;
            o->cmsg_type = IPV6_PKTINFO;
            o->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
            memcpy(CMSG_DATA(o), CMSG_DATA(c), sizeof(struct in6_pktinfo));
            return CMSG_SPACE(sizeof(struct in6_pktinfo));
        }
    }
    return 0;
}

static void udp_send(sk_dns_server *s, const struct job *j, const uint8_t *r, size_t rlen)
{
    struct iovec iov = {(void *)r, rlen};
    uint8_t ctl[64] __attribute__((aligned(8)));
    memcpy(ctl, j->ctl, j->ctllen);
    struct msghdr mh = {.msg_name = (void *)&j->from, .msg_namelen = j->fromlen, .msg_iov = &iov,
                        .msg_iovlen = 1, .msg_control = j->ctllen ? ctl : NULL,
                        .msg_controllen = j->ctllen};
    if (sendmsg(s->udp, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
        sk_log(SK_DEBUG, "dns", "udp reply: %s", strerror(errno));
}

static void *forwarder(void *arg);

/* Queues j for a forwarder (taking it); false when the queue is full. */
static bool enqueue(sk_dns_server *s, struct job *j)
{
    pthread_mutex_lock(&s->lock);
    bool ok = s->njobs < MAX_QUEUE && !s->stop;
    if (ok) {
        j->next = NULL;
        if (s->tail) s->tail->next = j;
        else s->head = j;
        s->tail = j;
        s->njobs++;
        if (s->nidle < s->njobs && s->nworkers < MAX_FORWARDERS &&
            pthread_create(&s->workers[s->nworkers], NULL, forwarder, s) == 0)
            s->nworkers++;
        pthread_cond_signal(&s->cond);
    }
    pthread_mutex_unlock(&s->lock);
    return ok;
}

static void *udp_receiver(void *arg)
{
    sk_dns_server *s = arg;
    uint8_t *buf = sk_malloc(SK_DNS_TCP_MAX);
    for (;;) {
        struct pollfd p[2] = {{s->udp, POLLIN, 0}, {s->stopfd, POLLIN, 0}};
        if (poll(p, 2, -1) < 0 && errno != EINTR) break;
        if (p[1].revents) break;
        struct job j0 = {.fromlen = sizeof j0.from};
        uint8_t ctl[128] __attribute__((aligned(8)));
        struct iovec iov = {buf, SK_DNS_TCP_MAX};
        struct msghdr mh = {.msg_name = &j0.from, .msg_namelen = sizeof j0.from, .msg_iov = &iov,
                            .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
        ssize_t n = recvmsg(s->udp, &mh, MSG_DONTWAIT);
        if (n < 0) continue;
        j0.fromlen = mh.msg_namelen;
        j0.ctllen = reply_ctl(&mh, j0.ctl, sizeof j0.ctl);
        uint8_t *reply = NULL;
        size_t rlen = 0;
        enum sk_dns_verdict v = sk_dns_handle(s->z, buf, (size_t)n, false, NULL, NULL, &reply,
                                              &rlen);
        if (v == SK_DNS_FORWARD || v == SK_DNS_DEFER) {
            struct job *j = sk_malloc(sizeof *j + (size_t)n);
            *j = j0;
            j->len = (size_t)n;
            memcpy(j->data, buf, (size_t)n);
            if (enqueue(s, j)) continue;
            free(j);
            reply = sk_dns_servfail(buf, (size_t)n, false, &rlen);
        }
        if (reply) udp_send(s, &j0, reply, rlen);
        free(reply);
    }
    free(buf);
    return NULL;
}

/* Answers q with the upstreams allowed: ExternalName chasing or relaying. */
static uint8_t *answer_blocking(sk_dns_server *s, const uint8_t *q, size_t qlen, bool tcp,
                                size_t *rlen)
{
    struct sk_dns_lookup_ctx lc = {s->u, s->stopfd};
    uint8_t *reply = NULL;
    enum sk_dns_verdict v = sk_dns_handle(s->z, q, qlen, tcp, sk_dns_upstream_lookup, &lc,
                                          &reply, rlen);
    if (v != SK_DNS_FORWARD) return reply;
    size_t ul = 0;
    uint8_t *up = sk_dns_upstream_query(s->u, q, qlen, tcp, s->stopfd, &ul);
    reply = up ? sk_dns_relay(q, qlen, up, ul, tcp, rlen) : NULL;
    free(up);
    return reply ? reply : sk_dns_servfail(q, qlen, tcp, rlen);
}

static void *forwarder(void *arg)
{
    sk_dns_server *s = arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        s->nidle++;
        while (!s->head && !s->stop) pthread_cond_wait(&s->cond, &s->lock);
        s->nidle--;
        if (s->stop) break;
        struct job *j = s->head;
        s->head = j->next;
        if (!s->head) s->tail = NULL;
        s->njobs--;
        pthread_mutex_unlock(&s->lock);
        size_t rlen = 0;
        uint8_t *reply = answer_blocking(s, j->data, j->len, false, &rlen);
        if (reply) udp_send(s, j, reply, rlen);
        free(reply);
        free(j);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* ---- TCP ------------------------------------------------------------------------------ */

struct conn {
    sk_dns_server *s;
    int fd;
};

/* Reads or writes exactly n bytes before deadline; false on EOF/timeout/stop. */
static bool tcp_io(sk_dns_server *s, int fd, uint8_t *b, size_t n, bool out, int64_t deadline)
{
    size_t done = 0;
    while (done < n) {
        ssize_t k = out ? send(fd, b + done, n - done, MSG_NOSIGNAL | MSG_DONTWAIT)
                        : recv(fd, b + done, n - done, MSG_DONTWAIT);
        if (k > 0) {
            done += (size_t)k;
            continue;
        }
        if (k == 0 || (errno != EAGAIN && errno != EINTR)) return false;
        int64_t left = deadline - sk_now_ms();
        if (left <= 0) return false;
        struct pollfd p[2] = {{fd, out ? POLLOUT : POLLIN, 0}, {s->stopfd, POLLIN, 0}};
        if (poll(p, 2, (int)left) <= 0 || p[1].revents) return false;
    }
    return true;
}

static void *tcp_client(void *arg)
{
    struct conn *c = arg;
    sk_dns_server *s = c->s;
    uint8_t *buf = sk_malloc(SK_DNS_TCP_MAX + 2);
    for (;;) {
        uint8_t hdr[2];
        if (!tcp_io(s, c->fd, hdr, 2, false, sk_now_ms() + TCP_IDLE_MS)) break;
        size_t n = (size_t)hdr[0] << 8 | hdr[1];
        if (!n || !tcp_io(s, c->fd, buf, n, false, sk_now_ms() + TCP_IDLE_MS)) break;
        size_t rlen = 0;
        uint8_t *reply = answer_blocking(s, buf, n, true, &rlen);
        if (!reply) continue;
        bool ok = rlen <= SK_DNS_TCP_MAX;
        if (ok) {
            buf[0] = (uint8_t)(rlen >> 8);
            buf[1] = (uint8_t)rlen;
            memcpy(buf + 2, reply, rlen);
            ok = tcp_io(s, c->fd, buf, rlen + 2, true, sk_now_ms() + TCP_IDLE_MS);
        }
        free(reply);
        if (!ok) break;
    }
    free(buf);
    close(c->fd);
    free(c);
    pthread_mutex_lock(&s->lock);
    s->ntcp--;
    pthread_cond_broadcast(&s->gone);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void *tcp_acceptor(void *arg)
{
    sk_dns_server *s = arg;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (;;) {
        struct pollfd p[2] = {{s->tcp, POLLIN, 0}, {s->stopfd, POLLIN, 0}};
        if (poll(p, 2, -1) < 0 && errno != EINTR) break;
        if (p[1].revents) break;
        int fd = accept4(s->tcp, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) continue;
        pthread_mutex_lock(&s->lock);
        bool room = s->ntcp < MAX_TCP_CLIENTS;
        struct conn *c = room ? sk_malloc(sizeof *c) : NULL;
        if (c) {
            *c = (struct conn){s, fd};
            pthread_t t;
            if (pthread_create(&t, &attr, tcp_client, c) == 0) {
                s->ntcp++;
            } else {
                free(c);
                c = NULL;
            }
        }
        pthread_mutex_unlock(&s->lock);
        if (!c) close(fd); /* too many clients: they retry */
    }
    pthread_attr_destroy(&attr);
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------------- */

int sk_dns_server_start(sk_dns_server *s, const struct sk_dns_zone *z,
                        const struct sk_dns_upstreams *u, sk_err *err)
{
    s->z = z;
    s->u = u;
    for (; s->nrecv < UDP_RECEIVERS; s->nrecv++)
        if (pthread_create(&s->recv_thr[s->nrecv], NULL, udp_receiver, s))
            return sk_err_sys(err, "dns: pthread_create");
    if (pthread_create(&s->accept_thr, NULL, tcp_acceptor, s))
        return sk_err_sys(err, "dns: pthread_create");
    s->accepting = true;
    return 0;
}

void sk_dns_server_free(sk_dns_server *s)
{
    if (!s) return;
    if (s->stopfd >= 0) {
        uint64_t one = 1;
        if (write(s->stopfd, &one, sizeof one) < 0) sk_log(SK_WARN, "dns", "stop: %s", strerror(errno));
    }
    for (size_t i = 0; i < s->nrecv; i++) pthread_join(s->recv_thr[i], NULL);
    if (s->accepting) pthread_join(s->accept_thr, NULL);
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_cond_broadcast(&s->cond);
    while (s->ntcp) pthread_cond_wait(&s->gone, &s->lock);
    pthread_mutex_unlock(&s->lock);
    for (size_t i = 0; i < s->nworkers; i++) pthread_join(s->workers[i], NULL);
    for (struct job *j = s->head, *nx; j; j = nx) {
        nx = j->next;
        free(j);
    }
    if (s->udp >= 0) close(s->udp);
    if (s->tcp >= 0) close(s->tcp);
    if (s->stopfd >= 0) close(s->stopfd);
    pthread_cond_destroy(&s->gone);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

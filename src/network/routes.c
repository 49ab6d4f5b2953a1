/* Host routes to other nodes' pod networks (rtnetlink): with the nodes on
 * one L2 segment, "podCIDR via node address" is all the pod network needs
 * between nodes, no overlay. */
#include "network/network.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>

/* Routes this module adds carry their own protocol number, so they are
 * recognisable in `ip route` (proto 0xb1) and never confused with others. */
#define SK_RTPROT 0xb1

struct route_req {
    int type;        /* RTM_NEWROUTE / RTM_DELROUTE */
    int family;
    unsigned char dst[16];
    int prefix;
    unsigned char gw[16];
    bool has_gw;
};

static int parse_cidr(const char *cidr, struct route_req *r, sk_err *err)
{
    char addr[64];
    const char *slash = strchr(cidr, '/');
    size_t n = slash ? (size_t)(slash - cidr) : strlen(cidr);
    if (n == 0 || n >= sizeof addr) return sk_err_set(err, SK_EINVALID, "bad CIDR \"%s\"", cidr);
    memcpy(addr, cidr, n);
    addr[n] = 0;
    r->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(r->family, addr, r->dst) != 1)
        return sk_err_set(err, SK_EINVALID, "bad CIDR \"%s\"", cidr);
    int max = r->family == AF_INET ? 32 : 128;
    char *end = NULL;
    long p = slash ? strtol(slash + 1, &end, 10) : max;
    if ((slash && (*end || end == slash + 1)) || p < 0 || p > max)
        return sk_err_set(err, SK_EINVALID, "bad CIDR \"%s\"", cidr);
    r->prefix = (int)p;
    return 0;
}

static void add_attr(struct nlmsghdr *h, size_t cap, int type, const void *data, size_t len)
{
    struct rtattr *a = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
    size_t alen = RTA_LENGTH(len);
    if (NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(alen) > cap) return;
    a->rta_type = (unsigned short)type;
    a->rta_len = (unsigned short)alen;
    memcpy(RTA_DATA(a), data, len);
    h->nlmsg_len = (unsigned)(NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(alen));
}

/* One request and its ack, on the calling thread's netns. */
static int route_apply(void *arg)
{
    struct route_req *r = arg;
    char buf[512] __attribute__((aligned(NLMSG_ALIGNTO))) = {0};
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    h->nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
    h->nlmsg_type = (unsigned short)r->type;
    h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK |
                     (r->type == RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_REPLACE : 0);
    h->nlmsg_seq = 1;
    struct rtmsg *rt = NLMSG_DATA(h);
    rt->rtm_family = (unsigned char)r->family;
    rt->rtm_dst_len = (unsigned char)r->prefix;
    rt->rtm_table = RT_TABLE_MAIN;
    rt->rtm_protocol = SK_RTPROT;
    /* deletion matches any scope, as `ip route del` */
    rt->rtm_scope = r->type == RTM_NEWROUTE ? RT_SCOPE_UNIVERSE : RT_SCOPE_NOWHERE;
    rt->rtm_type = RTN_UNICAST;
    size_t alen = r->family == AF_INET ? 4 : 16;
    add_attr(h, sizeof buf, RTA_DST, r->dst, alen);
    if (r->has_gw) add_attr(h, sizeof buf, RTA_GATEWAY, r->gw, alen);

    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) return -errno;
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    int rc = 0;
    if (sendto(fd, buf, h->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof sa) < 0) {
        rc = -errno;
    } else {
        char ack[1024] __attribute__((aligned(NLMSG_ALIGNTO)));
        ssize_t n = recv(fd, ack, sizeof ack, 0);
        struct nlmsghdr *ah = (struct nlmsghdr *)ack;
        if (n < 0) rc = -errno;
        else if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)) || ah->nlmsg_type != NLMSG_ERROR)
            rc = -EPROTO;
        else rc = ((struct nlmsgerr *)NLMSG_DATA(ah))->error;
    }
    close(fd);
    return rc;
}

/* fn(arg) in the network namespace at netns_path (NULL: this one): fn's
 * result (0 or -errno), or APPLY_NO_NETNS with err set when the namespace
 * could not be entered. */
#define APPLY_NO_NETNS INT_MIN
static int apply_in(const char *netns_path, int (*fn)(void *), void *arg, sk_err *err)
{
    if (!netns_path) return fn(arg);
    sk_err e = SK_ERR_INIT;
    int rc = sk_net_netns_run(netns_path, fn, arg, &e);
    if (rc == -1 && e.msg[0]) {
        *err = e;
        return APPLY_NO_NETNS;
    }
    return rc;
}

static int run(struct route_req *r, const char *netns_path, const char *what, const char *cidr,
               sk_err *err)
{
    int rc = apply_in(netns_path, route_apply, r, err);
    if (rc == APPLY_NO_NETNS) return -1;
    if (rc == 0) return 0;
    if (r->type == RTM_DELROUTE && rc == -ESRCH) return 0; /* already gone */
    errno = -rc;
    return sk_err_sys(err, "%s route %s", what, cidr);
}

int sk_net_route_replace(const char *cidr, const char *gateway, const char *netns_path, sk_err *err)
{
    struct route_req r = {.type = RTM_NEWROUTE};
    if (parse_cidr(cidr, &r, err) < 0) return -1;
    if (!gateway || inet_pton(r.family, gateway, r.gw) != 1)
        return sk_err_set(err, SK_EINVALID, "bad gateway \"%s\" for %s", gateway ? gateway : "",
                          cidr);
    r.has_gw = true;
    return run(&r, netns_path, "add", cidr, err);
}

int sk_net_route_delete(const char *cidr, const char *netns_path, sk_err *err)
{
    struct route_req r = {.type = RTM_DELROUTE};
    if (parse_cidr(cidr, &r, err) < 0) return -1;
    return run(&r, netns_path, "delete", cidr, err);
}

/* ---- cleanup: skiff's routes and the pod bridge ---------------------------------- */

struct flush_ctx {
    int removed;
};

/* Dumps the main table and deletes every route with skiff's protocol. */
static int flush_apply(void *arg)
{
    struct flush_ctx *fc = arg;
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) return -errno;
    struct {
        struct nlmsghdr h;
        struct rtmsg r;
    } req = {.h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)), .nlmsg_type = RTM_GETROUTE,
                   .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1},
             .r = {.rtm_family = AF_UNSPEC}};
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    if (sendto(fd, &req, req.h.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    /* Collect first: deleting while the dump runs would disturb it. */
    struct route_req found[256];
    int nfound = 0;
    char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
    for (bool done = false; !done;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
                done = true;
                break;
            }
            struct rtmsg *rt = NLMSG_DATA(h);
            if (rt->rtm_protocol != SK_RTPROT || rt->rtm_table != RT_TABLE_MAIN || nfound == 256) continue;
            struct route_req r = {.type = RTM_DELROUTE, .family = rt->rtm_family, .prefix = rt->rtm_dst_len};
            int len = (int)RTM_PAYLOAD(h);
            for (struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len))
                if (a->rta_type == RTA_DST && RTA_PAYLOAD(a) <= sizeof r.dst)
                    memcpy(r.dst, RTA_DATA(a), RTA_PAYLOAD(a));
            found[nfound++] = r;
        }
    }
    close(fd);
    for (int i = 0; i < nfound; i++)
        if (route_apply(&found[i]) == 0) fc->removed++;
    return 0;
}

int sk_net_routes_flush(const char *netns_path, int *removed, sk_err *err)
{
    struct flush_ctx fc = {0};
    int rc = apply_in(netns_path, flush_apply, &fc, err);
    if (rc == APPLY_NO_NETNS) return -1;
    if (removed) *removed = fc.removed;
    if (rc < 0) {
        errno = -rc;
        return sk_err_sys(err, "flush skiff routes");
    }
    return 0;
}

struct link_del {
    const char *name;
};

static int link_del_apply(void *arg)
{
    struct link_del *ld = arg;
    unsigned idx = if_nametoindex(ld->name);
    if (!idx) return errno == ENODEV ? 0 : -errno;
    struct {
        struct nlmsghdr h;
        struct ifinfomsg i;
    } req = {.h = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)), .nlmsg_type = RTM_DELLINK,
                   .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK, .nlmsg_seq = 1},
             .i = {.ifi_family = AF_UNSPEC, .ifi_index = (int)idx}};
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) return -errno;
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    int rc = 0;
    if (sendto(fd, &req, req.h.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof sa) < 0) {
        rc = -errno;
    } else {
        char ack[1024] __attribute__((aligned(NLMSG_ALIGNTO)));
        ssize_t n = recv(fd, ack, sizeof ack, 0);
        struct nlmsghdr *ah = (struct nlmsghdr *)ack;
        if (n < 0) rc = -errno;
        else if (ah->nlmsg_type == NLMSG_ERROR) rc = ((struct nlmsgerr *)NLMSG_DATA(ah))->error;
    }
    close(fd);
    return rc;
}

int sk_net_link_delete(const char *name, const char *netns_path, sk_err *err)
{
    struct link_del ld = {name};
    int rc = apply_in(netns_path, link_del_apply, &ld, err);
    if (rc == APPLY_NO_NETNS) return -1;
    if (rc < 0 && rc != -ENODEV) {
        errno = -rc;
        return sk_err_sys(err, "delete link %s", name);
    }
    return 0;
}

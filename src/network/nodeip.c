/* The node's own address: the source address the kernel picks for the
 * default route (no packet is sent), else the first global IPv4 address,
 * skipping the pod bridge. */
#include "network/network.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

struct ip_query {
    char ip[64];
    const char *skip_if;
};

static int route_source(void *arg)
{
    char *out = ((struct ip_query *)arg)->ip;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(53)};
    inet_pton(AF_INET, "1.1.1.1", &dst.sin_addr); /* connect only routes: nothing is sent */
    struct sockaddr_in src;
    socklen_t len = sizeof src;
    int rc = -1;
    if (connect(fd, (struct sockaddr *)&dst, sizeof dst) == 0 &&
        getsockname(fd, (struct sockaddr *)&src, &len) == 0 && src.sin_addr.s_addr != 0 &&
        inet_ntop(AF_INET, &src.sin_addr, out, 64))
        rc = 0;
    close(fd);
    return rc;
}

static int first_global(void *arg)
{
    struct ip_query *q = arg;
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) < 0) return -1;
    int rc = -1;
    for (struct ifaddrs *i = ifs; i && rc < 0; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
        if (i->ifa_name && q->skip_if && !strcmp(i->ifa_name, q->skip_if)) continue;
        uint32_t v = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
        if ((v >> 24) == 127 || (v >> 16) == 0xa9fe) continue; /* loopback, link-local */
        if (inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, q->ip, 64)) rc = 0;
    }
    freeifaddrs(ifs);
    return rc;
}

static int in_netns(const char *netns_path, int (*fn)(void *), struct ip_query *q)
{
    if (!netns_path) return fn(q);
    sk_err e = SK_ERR_INIT;
    int rc = sk_net_netns_run(netns_path, fn, q, &e);
    sk_err_clear(&e);
    return rc;
}

void sk_net_node_ip(const char *netns_path, const char *skip_ifname, char *out, size_t n)
{
    struct ip_query q = {.skip_if = skip_ifname};
    if (in_netns(netns_path, route_source, &q) < 0 && in_netns(netns_path, first_global, &q) < 0)
        snprintf(q.ip, sizeof q.ip, "127.0.0.1");
    snprintf(out, n, "%s", q.ip);
}

/* Routes to other nodes' pod networks, in a network namespace made for the
 * test (root only): replace is idempotent, the route is marked as skiff's,
 * delete removes exactly it and is idempotent; bad input is refused. */
#include "network/network.h"
#include "unit/test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char ns_name[64], ns_path[128];

/* Output of `ip -4 route show` inside the namespace (caller frees). */
static char *routes(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ip netns exec %s ip -4 route show 2>&1", ns_name);
    FILE *f = popen(cmd, "r");
    if (!f) return sk_strdup("");
    sk_buf b = SK_BUF_INIT;
    char line[256];
    while (fgets(line, sizeof line, f)) sk_buf_adds(&b, line);
    pclose(f);
    return b.len ? sk_buf_take(&b) : sk_strdup("");
}

/* Runs CMD inside the test's namespace. */
static int in_ns(const char *cmd)
{
    char full[512];
    snprintf(full, sizeof full, "ip netns exec %s sh -c '%s'", ns_name, cmd);
    return system(full);
}

int main(void)
{
    bool have_ip = access("/usr/sbin/ip", X_OK) == 0 || access("/sbin/ip", X_OK) == 0 ||
                   access("/usr/bin/ip", X_OK) == 0;
    if (geteuid() != 0 || !have_ip) {
        fprintf(stderr, "skip: needs root and iproute2\n");
        return 77;
    }
    sk_err err = SK_ERR_INIT;
    snprintf(ns_name, sizeof ns_name, "sk-routes-%d", (int)getpid());
    REQUIRE(sk_net_netns_create(ns_name, true, ns_path, sizeof ns_path, &err) == 0);
    /* a link with an address, so the gateway is on-link */
    int rc = in_ns("ip link add n0 type veth peer name n1 && ip addr add 192.168.77.1/24 dev n0 && "
                   "ip link set n0 up && ip link set n1 up");
    CHECK_INT(rc, 0);

    CHECK_INT(sk_net_route_replace("10.250.1.0/24", "192.168.77.2", ns_path, &err), 0);
    CHECK_INT(sk_net_route_replace("10.250.1.0/24", "192.168.77.3", ns_path, &err), 0); /* replace */
    _sk_free_ char *r1 = routes();
    CHECK(strstr(r1, "10.250.1.0/24 via 192.168.77.3 dev n0 proto 177") != NULL);
    CHECK(strstr(r1, "via 192.168.77.2") == NULL);

    /* only skiff's route is deleted; a second delete is a no-op */
    CHECK_INT(in_ns("ip route add 10.250.2.0/24 via 192.168.77.9"), 0);
    CHECK_INT(sk_net_route_delete("10.250.2.0/24", ns_path, &err), 0);
    CHECK_INT(sk_net_route_delete("10.250.1.0/24", ns_path, &err), 0);
    CHECK_INT(sk_net_route_delete("10.250.1.0/24", ns_path, &err), 0);
    _sk_free_ char *r2 = routes();
    CHECK(strstr(r2, "10.250.1.0/24") == NULL);
    CHECK(strstr(r2, "10.250.2.0/24 via 192.168.77.9") != NULL);

    /* errors */
    CHECK(sk_net_route_replace("10.250.3.0/24", "10.9.9.9", ns_path, &err) < 0 && err.msg[0]);
    CHECK(sk_net_route_replace("10.250.3.0/33", "192.168.77.2", ns_path, &err) < 0 &&
          err.code == SK_EINVALID);
    CHECK(sk_net_route_replace("nonsense", "192.168.77.2", ns_path, &err) < 0 &&
          err.code == SK_EINVALID);
    CHECK(sk_net_route_replace("10.250.3.0/24", "x", ns_path, &err) < 0 && err.code == SK_EINVALID);

    sk_err e2 = SK_ERR_INIT;
    CHECK(sk_net_netns_delete(ns_name, &e2) == 0);
    return test_done();
}

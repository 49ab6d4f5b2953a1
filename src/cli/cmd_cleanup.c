/* skiff cleanup: removes what a node agent left in a data directory (its
 * agent keeps pods running across restarts on purpose): every container,
 * pod sandbox and their mounts and cgroups, and every pod network
 * attachment (veths, IP leases, hostPort rules), the service proxy's
 * nftables table, the routes to other nodes and the pod bridge. For
 * uninstalling and for tests (`skiff server --cleanup` is the same). The
 * cluster's store and images are kept. */
#include "cli/cli.h"
#include "network/network.h"
#include "network/proxy/proxy.h"
#include "runtime/runtime.h"

#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

/* The podCIDR the agent used, from the conflist it wrote; NULL if none. */
static char *conflist_subnet(const char *netd)
{
    DIR *d = opendir(netd);
    if (!d) return NULL;
    char *subnet = NULL;
    for (struct dirent *de; !subnet && (de = readdir(d));) {
        size_t l = strlen(de->d_name);
        if (l < 10 || strcmp(de->d_name + l - 9, ".conflist")) continue;
        _sk_free_ char *p = sk_printf("%s/%s", netd, de->d_name);
        _sk_json_ json_t *j = json_load_file(p, 0, NULL);
        size_t i;
        json_t *pl;
        json_array_foreach(json_object_get(j, "plugins"), i, pl) {
            json_t *r = json_array_get(json_array_get(sk_json_path(pl, "ipam.ranges"), 0), 0);
            if (sk_json_str(r, "subnet")) {
                subnet = sk_strdup(sk_json_str(r, "subnet"));
                break;
            }
        }
    }
    closedir(d);
    return subnet;
}

int sk_cmd_cleanup(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data-dir", required_argument, 0, 'd'},
        {"cgroup-parent", required_argument, 0, 'c'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *data = "/var/lib/skiff", *cgp = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'c': cgp = optarg; break;
        case 'h':
            printf("usage: skiff cleanup [--data-dir DIR] [--cgroup-parent PATH]\n"
                   "  removes every container, pod sandbox and pod network attachment that the\n"
                   "  node agent of DIR left running (stop the server first)\n");
            return 0;
        default: return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "skiff cleanup: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    return sk_cli_cleanup(data, cgp);
}

/* Node-level leftovers outside the data dir: the proxy's table, routes,
 * the bridge. Keeps going; reports each failure. */
static int network_leftovers(bool had_bridge)
{
    int rc = 0, routes = 0;
    sk_err err = SK_ERR_INIT;
    if (sk_proxy_cleanup(NULL, NULL, &err) < 0) {
        fprintf(stderr, "skiff cleanup: service proxy rules: %s\n", err.msg);
        rc = 1;
    }
    sk_err_clear(&err);
    if (sk_net_routes_flush(NULL, &routes, &err) < 0) {
        fprintf(stderr, "skiff cleanup: %s\n", err.msg);
        rc = 1;
    } else if (routes) {
        printf("removed %d route(s) to other nodes' pods\n", routes);
    }
    sk_err_clear(&err);
    if (had_bridge && sk_net_link_delete("cni0", NULL, &err) < 0) {
        fprintf(stderr, "skiff cleanup: %s\n", err.msg);
        rc = 1;
    }
    sk_err_clear(&err);
    return rc;
}

int sk_cli_cleanup(const char *data, const char *cgp)
{
    sk_err err = SK_ERR_INIT;
    int rc = 1;
    _sk_free_ char *root = NULL, *netns = NULL;
    sk_cli_node_rt_paths(data, &root, &netns);
    /* the agent gives sk_net DATA/agent (conflist under DATA/agent/cni) and
     * the runtime's state dir (leases and results) */
    _sk_free_ char *agent = sk_printf("%s/agent", data);
    _sk_free_ char *netd = sk_printf("%s/cni/net.d", agent);
    _sk_free_ char *subnet = conflist_subnet(netd);
    sk_net *net = NULL;
    if (access(root, F_OK) != 0) {
        printf("no containers to clean up in %s\n", data);
        return network_leftovers(false);
    }
    struct sk_rt_config rc_cfg = {.root_dir = root, .netns_dir = netns, .cgroup_parent = cgp};
    sk_rt *rt = sk_rt_init(&rc_cfg, &err);
    if (!rt) goto out;
    /* Network first: DEL needs the pods' namespaces, which the purge removes. */
    if (subnet) {
        struct sk_net_config nc = {.pod_cidr = subnet, .data_dir = agent, .state_dir = sk_rt_state_dir(rt)};
        net = sk_net_new(&nc, &err);
        size_t removed = 0;
        if (!net || sk_net_gc(net, NULL, 0, &removed, &err) < 0) goto out;
        printf("removed %zu pod network attachment(s)\n", removed);
    }
    if (sk_rt_purge(rt, &err) < 0) goto out;
    printf("removed every container and pod sandbox of %s\n", data);
    rc = network_leftovers(subnet != NULL);
out:
    if (rc && err.msg[0]) fprintf(stderr, "skiff cleanup: %s\n", err.msg);
    sk_net_free(net);
    sk_rt_free(rt);
    sk_err_clear(&err);
    return rc;
}

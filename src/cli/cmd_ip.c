/* skiff ip / skiff service: where to reach the cluster from this machine,
 * as `minikube ip` and `minikube service` print it. */
#include "cli/cli.h"
#include "client/client.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

/* --kubeconfig, else $KUBECONFIG, else where `make start` and `skiff
 * server` write it. */
static char *find_kubeconfig(const char *flag)
{
    if (flag) return sk_strdup(flag);
    const char *env = getenv("KUBECONFIG");
    if (env && *env) {
        size_t n = strcspn(env, ":");
        return sk_strndup(env, n);
    }
    const char *home = getenv("HOME");
    const char *xdg = getenv("XDG_DATA_HOME");
    char *p = xdg && *xdg ? sk_printf("%s/skiff/kubeconfig", xdg)
                          : sk_printf("%s/.local/share/skiff/kubeconfig", home ? home : "/root");
    if (access(p, R_OK) == 0) return p;
    free(p);
    return sk_strdup("/var/lib/skiff/kubeconfig");
}

static sk_client *connect_cluster(const char *kcfg_flag, const char *cmd)
{
    _sk_free_ char *kcfg = find_kubeconfig(kcfg_flag);
    sk_err err = SK_ERR_INIT;
    sk_client *c = sk_client_from_kubeconfig(kcfg, "skiff-cli", &err);
    if (!c) fprintf(stderr, "skiff %s: %s (is skiff running? `make start`)\n", cmd, err.msg);
    sk_err_clear(&err);
    return c;
}

static const char *node_address(const json_t *node, const char *type)
{
    size_t i;
    json_t *a;
    json_array_foreach(sk_json_path(node, "status.addresses"), i, a)
        if (!strcmp(sk_json_str(a, "type") ?: "", type)) return sk_json_str(a, "address");
    return NULL;
}

/* The named node, else the oldest one (the server's own); new reference. */
static json_t *pick_node(sk_client *c, const char *name, const char *cmd)
{
    sk_err err = SK_ERR_INIT;
    const struct sk_resource *nodes = sk_resource_find("", "v1", "nodes");
    json_t *n = NULL;
    if (name) {
        n = sk_client_get(c, nodes, NULL, name, &err);
    } else {
        _sk_json_ json_t *list = sk_client_list(c, nodes, NULL, NULL, NULL, &err);
        size_t i;
        json_t *it;
        const char *best = NULL;
        json_array_foreach(json_object_get(list, "items"), i, it) {
            const char *ts = sk_json_path_str(it, "metadata.creationTimestamp") ?: "";
            if (!node_address(it, "InternalIP")) continue;
            if (!best || strcmp(ts, best) < 0) {
                best = ts;
                json_decref(n);
                n = json_incref(it);
            }
        }
        if (list && !n) sk_err_set(&err, SK_ENOTFOUND, "the cluster has no node with an address yet");
    }
    if (!n) fprintf(stderr, "skiff %s: %s\n", cmd, err.msg);
    sk_err_clear(&err);
    return n;
}

int sk_cmd_ip(int argc, char **argv)
{
    static const struct option opts[] = {
        {"kubeconfig", required_argument, 0, 'k'}, {"node", required_argument, 0, 'n'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *kcfg = NULL, *node = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "hn:", opts, NULL)) != -1) {
        if (c == 'k') kcfg = optarg;
        else if (c == 'n') node = optarg;
        else if (c == 'h') {
            printf("usage: skiff ip [--node NAME] [--kubeconfig FILE]\n"
                   "  prints the node address to reach NodePort services on\n");
            return 0;
        } else return 2;
    }
    sk_client *cl = connect_cluster(kcfg, "ip");
    if (!cl) return 1;
    json_t *n = pick_node(cl, node, "ip");
    int rc = 1;
    const char *ip = n ? node_address(n, "InternalIP") : NULL;
    if (ip) {
        printf("%s\n", ip);
        rc = 0;
    } else if (n) {
        fprintf(stderr, "skiff ip: node %s has no InternalIP\n", sk_json_path_str(n, "metadata.name"));
    }
    json_decref(n);
    sk_client_free(cl);
    return rc;
}

/* URLs of svc, one per port, into urls (array of {port, url}). */
static int service_urls(const json_t *svc, const char *node_ip, json_t *urls)
{
    const char *type = sk_json_path_str(svc, "spec.type") ?: "ClusterIP";
    json_t *ingress = json_array_get(sk_json_path(svc, "status.loadBalancer.ingress"), 0);
    const char *lb = sk_json_str(ingress, "ip");
    size_t i;
    json_t *p;
    json_array_foreach(sk_json_path(svc, "spec.ports"), i, p) {
        json_int_t np = json_integer_value(json_object_get(p, "nodePort"));
        json_int_t port = json_integer_value(json_object_get(p, "port"));
        const char *name = sk_json_str(p, "name");
        char *url = NULL;
        if (!strcmp(type, "LoadBalancer") && lb) url = sk_printf("http://%s:%lld", lb, (long long)port);
        else if (np > 0 && node_ip) url = sk_printf("http://%s:%lld", node_ip, (long long)np);
        if (!url) continue;
        _sk_free_ char *label = name && *name ? sk_printf("%s/%lld", name, (long long)port)
                                              : sk_printf("%lld", (long long)port);
        json_array_append_new(urls, json_pack("{s:s,s:s}", "port", label, "url", url));
        free(url);
    }
    return (int)json_array_size(urls);
}

int sk_cmd_service(int argc, char **argv)
{
    static const struct option opts[] = {
        {"kubeconfig", required_argument, 0, 'k'}, {"namespace", required_argument, 0, 'n'},
        {"url", no_argument, 0, 'u'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *kcfg = NULL, *ns = "default";
    bool url_only = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "hn:", opts, NULL)) != -1) {
        if (c == 'k') kcfg = optarg;
        else if (c == 'n') ns = optarg;
        else if (c == 'u') url_only = true;
        else if (c == 'h') {
            printf("usage: skiff service NAME [-n NAMESPACE] [--url] [--kubeconfig FILE]\n"
                   "  prints the URLs a NodePort or LoadBalancer service answers on\n");
            return 0;
        } else return 2;
    }
    if (optind != argc - 1) {
        fprintf(stderr, "skiff service: exactly one service name expected (see --help)\n");
        return 2;
    }
    const char *name = argv[optind];
    sk_client *cl = connect_cluster(kcfg, "service");
    if (!cl) return 1;
    sk_err err = SK_ERR_INIT;
    int rc = 1;
    _sk_json_ json_t *svc = sk_client_get(cl, sk_resource_find("", "v1", "services"), ns, name, &err);
    _sk_json_ json_t *node = svc ? pick_node(cl, NULL, "service") : NULL;
    _sk_json_ json_t *urls = json_array();
    if (!svc) {
        fprintf(stderr, "skiff service: %s\n", err.msg);
    } else if (service_urls(svc, node ? node_address(node, "InternalIP") : NULL, urls) == 0) {
        fprintf(stderr, "skiff service: service %s/%s has no node port (type %s): expose it with "
                        "--type=NodePort or LoadBalancer, or use kubectl port-forward\n",
                ns, name, sk_json_path_str(svc, "spec.type") ?: "ClusterIP");
    } else {
        size_t i;
        json_t *u;
        if (!url_only) printf("%-16s %-24s %-12s %s\n", "NAMESPACE", "NAME", "PORT", "URL");
        json_array_foreach(urls, i, u) {
            if (url_only) printf("%s\n", sk_json_str(u, "url"));
            else printf("%-16s %-24s %-12s %s\n", ns, name, sk_json_str(u, "port"), sk_json_str(u, "url"));
        }
        rc = 0;
    }
    sk_err_clear(&err);
    sk_client_free(cl);
    return rc;
}

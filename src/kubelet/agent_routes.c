/* Routes to the other nodes' pod networks: for every other Node with a
 * podCIDR and an InternalIP, "podCIDR via InternalIP" in the node's netns
 * (nodes on one L2 segment need nothing more), removed when the node goes
 * or its address or podCIDR changes. */
#include "kubelet/agent_core.h"
#include "network/network.h"

#include <string.h>

static const char *internal_ip(const json_t *node)
{
    size_t i;
    json_t *ad;
    json_array_foreach(sk_json_path(node, "status.addresses"), i, ad)
        if (!strcmp(sk_json_str(ad, "type") ?: "", "InternalIP")) return sk_json_str(ad, "address");
    return NULL;
}

static void del_route(sk_agent *a, const char *cidr)
{
    sk_err err = SK_ERR_INIT;
    if (sk_net_route_delete(cidr, a->node_netns, &err) < 0)
        sk_log(SK_WARN, "agent", "route to %s: %s", cidr, err.msg);
    sk_err_clear(&err);
}

void sk_ag_route_node(sk_agent *a, const json_t *node, bool deleted)
{
    const char *name = sk_json_path_str(node, "metadata.name");
    if (!name || !strcmp(name, a->node_name)) return;
    const char *cidr = deleted ? NULL : sk_json_path_str(node, "spec.podCIDR");
    const char *gw = deleted ? NULL : internal_ip(node);
    const char *self = sk_ag_node_ip(a);
    bool want = cidr && *cidr && gw && *gw && !(self && !strcmp(gw, self));
    _sk_free_ char *val = want ? sk_printf("%s via %s", cidr, gw) : NULL;

    pthread_mutex_lock(&a->routes_mu);
    const char *had = sk_json_str(a->routes, name);
    bool same = had && val && !strcmp(had, val);
    _sk_free_ char *old = had && !same ? sk_strdup(had) : NULL;
    if (!same) {
        if (val) json_object_set_new(a->routes, name, json_string(val));
        else json_object_del(a->routes, name);
    }
    pthread_mutex_unlock(&a->routes_mu);
    if (same) return;
    if (old) {
        char prev[64];
        snprintf(prev, sizeof prev, "%.*s", (int)strcspn(old, " "), old);
        if (!cidr || strcmp(prev, cidr)) del_route(a, prev);
    }
    if (!want) return;
    sk_err err = SK_ERR_INIT;
    if (sk_net_route_replace(cidr, gw, a->node_netns, &err) < 0)
        sk_log(SK_WARN, "agent", "route to node %s pods (%s via %s): %s", name, cidr, gw, err.msg);
    else
        sk_log(SK_INFO, "agent", "pods of node %s: %s via %s", name, cidr, gw);
    sk_err_clear(&err);
}

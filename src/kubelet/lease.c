/* The node heartbeat Lease (kube-node-lease/<node>), shared by the real
 * agent and hollow nodes: PUT over the last written Lease, create it when
 * missing, re-read it after a conflict, a few attempts. */
#include "kubelet/lease_int.h"

#include <stdio.h>
#include <string.h>

#define LEASE_NS "kube-node-lease"

void sk_kl_microtime(char *out, size_t n)
{
    int64_t ms = sk_wall_ms();
    char sec[40];
    sk_time_format(ms / 1000, sec, sizeof sec);
    size_t len = strlen(sec);
    if (len && sec[len - 1] == 'Z') sec[len - 1] = 0;
    snprintf(out, n, "%s.%06lldZ", sec, (long long)(ms % 1000) * 1000);
}

int sk_kl_lease_renew(sk_client *c, const struct sk_resource *leases, const char *node,
                      const char *node_uid, int duration_s, json_t **lease, sk_err *err)
{
    char renew[48];
    sk_kl_microtime(renew, sizeof renew);
    for (int attempt = 0; attempt < 3; attempt++) {
        json_t *res;
        if (*lease) {
            _sk_json_ json_t *copy = json_deep_copy(*lease);
            json_t *spec = sk_json_obj(copy, "spec");
            json_object_set_new(spec, "renewTime", json_string(renew));
            json_object_set_new(spec, "holderIdentity", json_string(node));
            json_object_set_new(spec, "leaseDurationSeconds", json_integer(duration_s));
            res = sk_client_update(c, leases, LEASE_NS, copy, NULL, err);
        } else {
            _sk_json_ json_t *body = json_pack(
                "{s:s,s:s,s:{s:s,s:s,s:[{s:s,s:s,s:s,s:s}]},s:{s:s,s:i,s:s}}", "apiVersion",
                "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", node, "namespace",
                LEASE_NS, "ownerReferences", "apiVersion", "v1", "kind", "Node", "name", node,
                "uid", node_uid ? node_uid : "", "spec", "holderIdentity", node,
                "leaseDurationSeconds", duration_s, "renewTime", renew);
            res = sk_client_create(c, leases, LEASE_NS, body, err);
        }
        if (res) {
            json_decref(*lease);
            *lease = res;
            return 0;
        }
        json_decref(*lease);
        *lease = NULL;
        if (err->code == SK_ECONFLICT || err->code == SK_EEXIST) {
            sk_err_clear(err);
            *lease = sk_client_get(c, leases, LEASE_NS, node, err);
            if (*lease) continue;
        }
        if (err->code != SK_ENOTFOUND) break;
        sk_err_clear(err); /* gone: create it again */
    }
    return -1;
}

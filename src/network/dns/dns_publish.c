/* kube-system/kube-dns, as kubeadm and k3s publish it for CoreDNS: a
 * Service at the fixed ClusterIP pods' resolv.conf names, and, since the
 * server is not a pod a selector could find, a selector-less Endpoints
 * and an EndpointSlice of our own pointing at the node address and the
 * port we really listen on. Create or repair: a changed address, port or
 * ClusterIP (immutable: the Service is recreated) is fixed at every call. */
#include "network/dns/dns_int.h"

#include <string.h>

#define NS "kube-system"
#define NAME "kube-dns"
#define MANAGED_BY "skiff-dns"

static json_t *labels(void)
{
    return json_pack("{s:s,s:s,s:s}", "k8s-app", "kube-dns", "kubernetes.io/cluster-service",
                     "true", "kubernetes.io/name", "CoreDNS");
}

static json_t *ports(bool with_target, int port)
{
    json_t *a = json_pack("[{s:s,s:i,s:s},{s:s,s:i,s:s}]", "name", "dns", "port",
                          with_target ? 53 : port, "protocol", "UDP", "name", "dns-tcp", "port",
                          with_target ? 53 : port, "protocol", "TCP");
    for (size_t i = 0; with_target && i < 2; i++)
        json_object_set_new(json_array_get(a, i), "targetPort", json_integer(port));
    return a;
}

/* Only the fields we set, so server-side defaults do not count as drift. */
static json_t *port_view(const json_t *arr)
{
    json_t *out = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(arr, i, p)
        json_array_append_new(out, json_pack("{s:O*,s:O*,s:O*,s:O*}", "name",
                                             json_object_get(p, "name"), "port",
                                             json_object_get(p, "port"), "protocol",
                                             json_object_get(p, "protocol"), "targetPort",
                                             json_object_get(p, "targetPort")));
    return out;
}

static bool labels_ok(const json_t *obj, const json_t *want)
{
    const json_t *have = sk_json_path(obj, "metadata.labels");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)want, k, v)
        if (!json_equal(json_object_get(have, k), v)) return false;
    return true;
}

/* Makes the object match want: nothing when it already does; delete and
 * create when an immutable field differs (recreate); else an update of
 * want carrying cur's metadata (resourceVersion) with want's labels added. */
static int apply(sk_client *c, const struct sk_resource *r, json_t *want, const json_t *cur,
                 bool same, bool recreate, sk_err *err)
{
    if (cur && same && !recreate) return 0;
    if (cur && recreate) {
        if (sk_client_delete(c, r, NS, NAME, NULL, 0, sk_json_path_str(cur, "metadata.uid"),
                             err) < 0 &&
            err->code != SK_ENOTFOUND)
            return sk_err_wrap(err, "delete %s %s/%s", r->plural, NS, NAME);
        cur = NULL;
    }
    json_t *res;
    if (cur) {
        json_t *meta = json_deep_copy(json_object_get(cur, "metadata"));
        json_object_update(sk_json_obj(meta, "labels"), sk_json_path(want, "metadata.labels"));
        json_object_set_new(want, "metadata", meta);
        res = sk_client_update(c, r, NS, want, NULL, err);
    } else {
        res = sk_client_create(c, r, NS, want, err);
    }
    if (!res) return sk_err_wrap(err, "%s %s %s/%s", cur ? "update" : "create", r->plural, NS, NAME);
    json_decref(res);
    return 0;
}

static json_t *get(sk_client *c, const struct sk_resource *r, sk_err *err, bool *failed)
{
    json_t *o = sk_client_get(c, r, NS, NAME, err);
    *failed = !o && err->code != SK_ENOTFOUND;
    if (*failed) sk_err_wrap(err, "get %s %s/%s", r->plural, NS, NAME);
    else if (!o) sk_err_clear(err); /* absent: created next, not an error to report */
    return o;
}

static int publish_service(sk_client *c, const char *ip, int port, sk_err *err)
{
    const struct sk_resource *r = sk_resource_find("", "v1", "services");
    bool failed;
    _sk_json_ json_t *cur = get(c, r, err, &failed);
    if (failed) return -1;
    _sk_json_ json_t *want_ports = ports(true, port), *want_labels = labels();
    const char *have_ip = sk_json_path_str(cur, "spec.clusterIP");
    bool recreate = cur && (!have_ip || strcmp(have_ip, ip)); /* clusterIP is immutable */
    _sk_json_ json_t *view = port_view(sk_json_path(cur, "spec.ports"));
    bool same = cur && json_equal(view, want_ports) && labels_ok(cur, want_labels) &&
                !json_object_size(sk_json_path(cur, "spec.selector"));
    _sk_json_ json_t *want = NULL;
    if (cur && !recreate) {
        want = json_deep_copy(cur);
        json_t *spec = sk_json_obj(want, "spec");
        json_object_set(spec, "ports", want_ports);
        json_object_del(spec, "selector");
        json_object_set(sk_json_obj(want, "metadata"), "labels", want_labels);
    } else {
        want = json_pack("{s:s,s:s,s:{s:s,s:s,s:O},s:{s:s,s:s,s:[s],s:O,s:s}}", "apiVersion",
                         "v1", "kind", "Service", "metadata", "name", NAME, "namespace", NS,
                         "labels", want_labels, "spec", "type", "ClusterIP", "clusterIP", ip,
                         "clusterIPs", ip, "ports", want_ports, "sessionAffinity", "None");
    }
    return apply(c, r, want, cur, same, recreate, err);
}

static int publish_endpoints(sk_client *c, const char *adv, int port, sk_err *err)
{
    const struct sk_resource *r = sk_resource_find("", "v1", "endpoints");
    bool failed;
    _sk_json_ json_t *cur = get(c, r, err, &failed);
    if (failed) return -1;
    _sk_json_ json_t *want_labels = labels();
    /* our own EndpointSlice exists: no mirrored copy wanted */
    json_object_set_new(want_labels, "endpointslice.kubernetes.io/skip-mirror", json_string("true"));
    json_t *subsets = json_pack("[{s:[{s:s}],s:o}]", "addresses", "ip", adv, "ports",
                                ports(false, port));
    bool same = cur && json_equal(json_object_get(cur, "subsets"), subsets) &&
                labels_ok(cur, want_labels);
    _sk_json_ json_t *want = json_pack("{s:s,s:s,s:{s:s,s:s,s:O},s:o}", "apiVersion", "v1",
                                       "kind", "Endpoints", "metadata", "name", NAME,
                                       "namespace", NS, "labels", want_labels, "subsets",
                                       subsets);
    return apply(c, r, want, cur, same, false, err);
}

static int publish_slice(sk_client *c, const char *adv, int port, sk_err *err)
{
    const struct sk_resource *r = sk_resource_find("discovery.k8s.io", "v1", "endpointslices");
    bool failed;
    _sk_json_ json_t *cur = get(c, r, err, &failed);
    if (failed) return -1;
    const char *family = strchr(adv, ':') ? "IPv6" : "IPv4";
    _sk_json_ json_t *want_labels = json_pack("{s:s,s:s,s:s}", "kubernetes.io/service-name", NAME,
                                              "endpointslice.kubernetes.io/managed-by", MANAGED_BY,
                                              "k8s-app", "kube-dns");
    json_t *eps = json_pack("[{s:[s],s:{s:b,s:b,s:b}}]", "addresses", adv, "conditions", "ready",
                            1, "serving", 1, "terminating", 0);
    json_t *pts = ports(false, port);
    const char *have_family = sk_json_str(cur, "addressType");
    bool recreate = cur && (!have_family || strcmp(have_family, family)); /* immutable */
    bool same = cur && json_equal(json_object_get(cur, "endpoints"), eps) &&
                json_equal(json_object_get(cur, "ports"), pts) && labels_ok(cur, want_labels);
    _sk_json_ json_t *want = json_pack("{s:s,s:s,s:{s:s,s:s,s:O},s:s,s:o,s:o}", "apiVersion",
                                       "discovery.k8s.io/v1", "kind", "EndpointSlice", "metadata",
                                       "name", NAME, "namespace", NS, "labels", want_labels,
                                       "addressType", family, "endpoints", eps, "ports", pts);
    return apply(c, r, want, cur, same, recreate, err);
}

int sk_dns_publish(sk_client *c, const char *service_ip, const char *advertise, int port,
                   sk_err *err)
{
    if (publish_service(c, service_ip, port, err) < 0) return -1;
    if (publish_endpoints(c, advertise, port, err) < 0) return -1;
    return publish_slice(c, advertise, port, err);
}

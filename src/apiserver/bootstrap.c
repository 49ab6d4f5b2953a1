/* Objects the API server owns from its first start: the built-in
 * namespaces and the `kubernetes` Service with its Endpoints and
 * EndpointSlice pointing at this server. */
#include "apiserver/apiserver_int.h"

#include <string.h>

/* Creates obj (takes it) unless present; with `refresh`, replaces a present
 * object whose spec-ish content differs (used for the API server's own
 * Endpoints, which follow its address). */
static int ensure_object(struct sk_apiserver *s, const char *group, const char *plural, json_t *obj,
                         bool refresh, sk_err *err)
{
    const struct sk_resource *r = NULL;
    size_t n;
    const struct sk_resource *const *all = sk_resources(&n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(all[i]->group, group) && !strcmp(all[i]->plural, plural)) r = all[i];
    if (!r) {
        json_decref(obj);
        return sk_err_set(err, SK_EINTERNAL, "%s not registered", plural);
    }
    char av[96];
    sk_resource_api_version(r, av, sizeof av);
    json_object_set_new(obj, "apiVersion", json_string(av));
    json_object_set_new(obj, "kind", json_string(r->kind));
    json_t *meta = sk_json_obj(obj, "metadata");
    const char *ns = sk_json_str(meta, "namespace");
    _sk_free_ char *key = sk_key(r, ns, sk_json_str(meta, "name"));
    _sk_free_ char *val = NULL;
    sk_kv kv = {0};
    sk_err e2 = SK_ERR_INIT;
    bool exists = sk_store_get(s->store, key, &kv, &e2) == 0;
    int rc = 0;
    if (exists && !refresh) goto out;
    char uid[37], ts[40];
    sk_uuid4(uid);
    sk_time_format(sk_wall_ms() / 1000, ts, sizeof ts);
    json_object_set_new(meta, "uid", json_string(uid));
    json_object_set_new(meta, "creationTimestamp", json_string(ts));
    sk_default_object(r, obj);
    int64_t rev;
    if (exists) {
        json_t *cur = sk_obj_load(kv.value, kv.value_len, kv.mod_rev);
        json_t *cmeta = json_object_get(cur, "metadata");
        json_object_set(meta, "uid", json_object_get(cmeta, "uid"));
        json_object_set(meta, "creationTimestamp", json_object_get(cmeta, "creationTimestamp"));
        json_object_del(cmeta, "resourceVersion");
        bool same = json_equal(cur, obj);
        json_decref(cur);
        if (same) goto out;
        size_t len;
        val = sk_obj_encode(obj, &len);
        if (sk_store_update(s->store, key, val, len, kv.mod_rev, &rev, &e2) < 0) {
            *err = e2;
            rc = -1;
        }
        goto out;
    }
    if (!strcmp(plural, "services")) {
        json_t *taken = json_array();
        if (sk_svc_allocate(s, obj, NULL, taken, &e2) < 0) {
            json_decref(taken);
            *err = e2;
            rc = -1;
            goto out;
        }
        json_decref(taken);
    }
    size_t len;
    val = sk_obj_encode(obj, &len);
    if (sk_store_create(s->store, key, val, len, &rev, &e2) < 0 && e2.code != SK_EEXIST) {
        *err = e2;
        rc = -1;
    }
out:
    if (exists) sk_kv_release(&kv);
    json_decref(obj);
    return rc;
}

int sk_rest_bootstrap(struct sk_apiserver *s, sk_err *err)
{
    static const char *const namespaces[] = {"default", "kube-system", "kube-public",
                                             "kube-node-lease"};
    for (size_t i = 0; i < SK_ARRAY_LEN(namespaces); i++) {
        json_t *o = json_pack("{s:{s:s},s:{s:[s]},s:{s:s}}", "metadata", "name", namespaces[i],
                              "spec", "finalizers", "kubernetes", "status", "phase", "Active");
        if (ensure_object(s, "", "namespaces", o, false, err) < 0) return -1;
    }
    /* The `kubernetes` service: first IP of the range, pointing at us. */
    struct in_addr a = {.s_addr = htonl(s->svc_base + 1)};
    char ip[64];
    inet_ntop(AF_INET, &a, ip, sizeof ip);
    json_t *svc = json_pack(
        "{s:{s:s,s:s,s:{s:s,s:s}},s:{s:s,s:s,s:[{s:s,s:i,s:s,s:i}],s:s}}", "metadata", "name",
        "kubernetes", "namespace", "default", "labels", "component", "apiserver", "provider",
        "kubernetes", "spec", "type", "ClusterIP", "clusterIP", ip, "ports", "name", "https",
        "port", 443, "protocol", "TCP", "targetPort", s->cfg.port, "sessionAffinity", "None");
    if (ensure_object(s, "", "services", svc, false, err) < 0) return -1;
    const char *adv = s->advertise;
    json_t *ep = json_pack("{s:{s:s,s:s,s:{s:s}},s:[{s:[{s:s}],s:[{s:s,s:i,s:s}]}]}", "metadata",
                           "name", "kubernetes", "namespace", "default", "labels",
                           "endpointslice.kubernetes.io/skip-mirror", "true", "subsets",
                           "addresses", "ip", adv, "ports", "name", "https", "port", s->cfg.port,
                           "protocol", "TCP");
    if (ensure_object(s, "", "endpoints", ep, true, err) < 0) return -1;
    json_t *eps = json_pack("{s:{s:s,s:s,s:{s:s}},s:s,s:[{s:[s],s:{s:b,s:b,s:b}}],s:[{s:s,s:i,s:s}]}",
                            "metadata", "name", "kubernetes", "namespace", "default", "labels",
                            "kubernetes.io/service-name", "kubernetes", "addressType", "IPv4",
                            "endpoints", "addresses", adv, "conditions", "ready", 1, "serving", 1,
                            "terminating", 0, "ports",
                            "name", "https", "port", s->cfg.port, "protocol", "TCP");
    return ensure_object(s, "discovery.k8s.io", "endpointslices", eps, true, err);
}

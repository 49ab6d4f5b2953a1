/* Subresources that are views of their parent: /scale (autoscaling/v1
 * Scale over spec.replicas) and the access reviews (allow-all until RBAC
 * is enforced). */
#include "apiserver/apiserver_int.h"

#include <string.h>

json_t *sk_apply_patch_doc(struct sk_req *q, const struct sk_resource *r, const char *pt,
                           const json_t *cur, const json_t *patch, sk_err *err);

static json_t *to_scale(const json_t *obj)
{
    json_t *meta = json_object_get(obj, "metadata");
    json_t *sm = json_object();
    const char *keep[] = {"name", "namespace", "uid", "resourceVersion", "creationTimestamp"};
    for (size_t i = 0; i < SK_ARRAY_LEN(keep); i++) {
        json_t *v = json_object_get(meta, keep[i]);
        if (v) json_object_set(sm, keep[i], v);
    }
    json_t *replicas = sk_json_path(obj, "spec.replicas");
    json_t *st = json_pack("{s:I}", "replicas",
                           (json_int_t)json_integer_value(sk_json_path(obj, "status.replicas")));
    sk_err err = SK_ERR_INIT;
    sk_selector *sel = sk_selector_from_json(sk_json_path(obj, "spec.selector"), &err);
    if (sel) {
        char *s = sk_selector_string(sel);
        json_object_set_new(st, "selector", json_string(s));
        free(s);
        sk_selector_free(sel);
    }
    sk_err_clear(&err);
    return json_pack("{s:s,s:s,s:o,s:{s:I},s:o}", "kind", "Scale", "apiVersion", "autoscaling/v1",
                     "metadata", sm, "spec", "replicas",
                     (json_int_t)(replicas ? json_integer_value(replicas) : 1), "status", st);
}

void sk_rest_scale(struct sk_req *q, struct sk_route *rt)
{
    sk_err err = SK_ERR_INIT;
    json_t *body = NULL;
    for (int attempt = 0; attempt < 5; attempt++) {
        int64_t rev;
        json_t *cur = sk_rest_read(q->srv, rt->res, rt->ns, rt->name, &rev, &err);
        if (!cur) goto fail;
        if (!strcmp(q->method, "GET")) {
            sk_reply_json(q, 200, to_scale(cur));
            json_decref(cur);
            return;
        }
        json_t *scale = NULL;
        if (!body) body = sk_decode_body(q, NULL, &err);
        if (!body) {
            json_decref(cur);
            goto fail;
        }
        if (!strcmp(q->method, "PUT")) {
            scale = json_incref(body);
        } else if (!strcmp(q->method, "PATCH")) {
            const char *ct = sk_req_header(q, "Content-Type");
            json_t *s0 = to_scale(cur);
            const char *pt = ct && strstr(ct, "json-patch") ? "application/json-patch+json"
                             : ct && strstr(ct, "strategic") ? "application/strategic-merge-patch+json"
                                                              : "application/merge-patch+json";
            scale = sk_apply_patch_doc(q, rt->res, pt, s0, body, &err);
            json_decref(s0);
        } else {
            json_decref(cur);
            sk_reply_status(q, SK_ENOTALLOWED, "the server does not allow this method on the requested resource");
            json_decref(body);
            return;
        }
        if (!scale) {
            json_decref(cur);
            goto fail;
        }
        json_t *rep = sk_json_path(scale, "spec.replicas");
        if (!json_is_integer(rep) || json_integer_value(rep) < 0) {
            json_decref(scale);
            json_decref(cur);
            sk_err_set(&err, SK_EINVALID,
                       "Scale.autoscaling \"%s\" is invalid: spec.replicas: Invalid value: %lld: "
                       "must be greater than or equal to 0",
                       rt->name, rep ? (long long)json_integer_value(rep) : -1LL);
            goto fail;
        }
        const char *want = sk_json_path_str(scale, "metadata.resourceVersion");
        char rv[32];
        snprintf(rv, sizeof rv, "%lld", (long long)rev);
        bool precond = want && *want && strcmp(want, rv);
        json_t *obj = json_deep_copy(cur);
        json_object_set(sk_json_obj(obj, "spec"), "replicas", rep);
        json_decref(scale);
        if (precond) {
            json_decref(obj);
            json_decref(cur);
            char qn[128];
            sk_res_qualified(rt->res, qn, sizeof qn);
            sk_err_set(&err, SK_ECONFLICT,
                       "Operation cannot be fulfilled on %s \"%s\": the object has been "
                       "modified; please apply your changes to the latest version and try again",
                       qn, rt->name);
            goto fail;
        }
        struct sk_route main_rt = *rt;
        main_rt.sub[0] = 0;
        json_t *res = sk_rest_store_update(q, &main_rt, cur, rev, obj, false, &err);
        json_decref(cur);
        if (res) {
            sk_reply_json(q, 200, to_scale(res));
            json_decref(res);
            json_decref(body);
            return;
        }
        if (err.code != SK_ECONFLICT) goto fail;
        sk_err_clear(&err);
    }
fail:
    json_decref(body);
    sk_reply_err(q, &err, rt);
    sk_err_clear(&err);
}

void sk_rest_review(struct sk_req *q, struct sk_route *rt)
{
    sk_err err = SK_ERR_INIT;
    json_t *obj = sk_decode_body(q, rt->res, &err);
    if (!obj || !json_is_object(obj)) {
        json_decref(obj);
        if (!err.code) sk_err_set(&err, SK_EBADREQUEST, "the body must be a JSON object");
        sk_reply_err(q, &err, rt);
        sk_err_clear(&err);
        return;
    }
    char av[96];
    sk_resource_api_version(rt->res, av, sizeof av);
    json_object_set_new(obj, "apiVersion", json_string(av));
    json_object_set_new(obj, "kind", json_string(rt->res->kind));
    if (!json_object_get(obj, "metadata")) json_object_set_new(obj, "metadata", json_object());
    /* Authorization is not enforced yet: every authenticated user may do
     * everything, and the review says so. */
    json_object_set_new(obj, "status", json_pack("{s:b,s:s}", "allowed", 1, "reason",
                                                 "skiff does not enforce RBAC yet"));
    sk_reply_json(q, 201, obj);
}

/* pods/binding (and the bindings collection): assigns a pod to a node
 * once; spec.nodeName is otherwise immutable. */
void sk_rest_binding(struct sk_req *q, struct sk_route *rt)
{
    sk_err err = SK_ERR_INIT;
    json_t *b = sk_decode_body(q, NULL, &err);
    const struct sk_resource *pods = sk_resource_find("", "v1", "pods");
    struct sk_route prt = *rt;
    prt.res = pods;
    prt.sub[0] = 0;
    if (!b) goto fail;
    if (!rt->has_name) { /* POST .../bindings: the pod is named in the body */
        const char *n = sk_json_path_str(b, "metadata.name");
        if (!n || !*n) {
            sk_err_set(&err, SK_EINVALID, "Binding.meta \"\" is invalid: metadata.name: Required value");
            goto fail;
        }
        snprintf(prt.name, sizeof prt.name, "%s", n);
    }
    const char *node = sk_json_path_str(b, "target.name");
    if (!node || !*node) {
        sk_err_set(&err, SK_EINVALID, "Binding \"%s\" is invalid: target.name: Required value", prt.name);
        goto fail;
    }
    for (int attempt = 0; attempt < 5; attempt++) {
        int64_t rev;
        json_t *pod = sk_rest_read(q->srv, pods, prt.ns, prt.name, &rev, &err);
        if (!pod) goto fail;
        const char *cur = sk_json_path_str(pod, "spec.nodeName");
        if (sk_json_path(pod, "metadata.deletionTimestamp")) {
            json_decref(pod);
            sk_err_set(&err, SK_ECONFLICT,
                       "Operation cannot be fulfilled on pods/binding \"%s\": pod %s is being deleted, cannot be assigned to a host",
                       prt.name, prt.name);
            goto fail;
        }
        if (cur && *cur) {
            sk_err_set(&err, SK_ECONFLICT,
                       "Operation cannot be fulfilled on pods/binding \"%s\": pod %s is already assigned to node \"%s\"",
                       prt.name, prt.name, cur);
            json_decref(pod);
            goto fail;
        }
        json_object_set_new(sk_json_obj(pod, "spec"), "nodeName", json_string(node));
        json_t *st = sk_json_obj(pod, "status");
        json_t *conds = json_object_get(st, "conditions");
        if (!json_is_array(conds)) {
            conds = json_array();
            json_object_set_new(st, "conditions", conds);
        }
        char ts[40];
        sk_time_format(sk_wall_ms() / 1000, ts, sizeof ts);
        size_t i;
        json_t *c;
        bool found = false;
        json_array_foreach(conds, i, c) {
            const char *t = sk_json_str(c, "type");
            if (t && !strcmp(t, "PodScheduled")) {
                json_object_set_new(c, "status", json_string("True"));
                json_object_del(c, "reason");
                json_object_del(c, "message");
                json_object_set_new(c, "lastTransitionTime", json_string(ts));
                found = true;
            }
        }
        if (!found)
            json_array_append_new(conds, json_pack("{s:s,s:s,s:n,s:s}", "type", "PodScheduled",
                                                   "status", "True", "lastProbeTime",
                                                   "lastTransitionTime", ts));
        json_object_del(json_object_get(pod, "metadata"), "resourceVersion");
        _sk_free_ char *key = sk_key(pods, prt.ns, prt.name);
        size_t len;
        _sk_free_ char *val = sk_obj_encode(pod, &len);
        json_decref(pod);
        int64_t nrev;
        if (sk_store_update(q->srv->store, key, val, len, rev, &nrev, &err) == 0) {
            json_decref(b);
            sk_reply_json(q, 201, json_pack("{s:s,s:s,s:{},s:s,s:i}", "kind", "Status", "apiVersion",
                                            "v1", "metadata", "status", "Success", "code", 201));
            return;
        }
        if (err.code != SK_ECONFLICT) goto fail;
        sk_err_clear(&err);
    }
    sk_err_set(&err, SK_ECONFLICT, "Operation cannot be fulfilled on pods/binding \"%s\": too many conflicts", prt.name);
fail:
    json_decref(b);
    sk_reply_err(q, &err, &prt);
    sk_err_clear(&err);
}

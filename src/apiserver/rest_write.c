/* Writes: create, update, patch, delete, deletecollection, with
 * Kubernetes semantics (generateName, uid, generation, defaulting,
 * validation, optimistic concurrency, finalizers, dryRun). */
#include "apiserver/apiserver_int.h"

#include <stdio.h>
#include <string.h>

static void now_rfc3339(char *buf, size_t n) { sk_time_format(sk_wall_ms() / 1000, buf, n); }

static bool is_core(const struct sk_resource *r, const char *plural)
{
    return !r->group[0] && !strcmp(r->plural, plural);
}

static bool dry_run(struct sk_req *q)
{
    const char *d = sk_req_arg(q, "dryRun");
    return d && !strcmp(d, "All");
}

static void conflict_err(sk_err *err, const struct sk_resource *r, const char *name)
{
    char qn[128];
    sk_res_qualified(r, qn, sizeof qn);
    sk_err_set(err, SK_ECONFLICT,
               "Operation cannot be fulfilled on %s \"%s\": the object has been modified; please "
               "apply your changes to the latest version and try again",
               qn, name);
}

/* apiVersion/kind of a body must match the endpoint. */
static int check_type(const struct sk_resource *r, json_t *obj, sk_err *err)
{
    char av[96];
    sk_resource_api_version(r, av, sizeof av);
    const char *bav = sk_json_str(obj, "apiVersion");
    const char *bk = sk_json_str(obj, "kind");
    if (bav && *bav && strcmp(bav, av))
        return sk_err_set(err, SK_EBADREQUEST,
                          "the API version in the data (%s) does not match the expected API "
                          "version (%s)",
                          bav, av);
    if (bk && *bk && strcmp(bk, r->kind))
        return sk_err_set(err, SK_EBADREQUEST,
                          "the kind in the data (%s) does not match the expected kind (%s)", bk,
                          r->kind);
    json_object_set_new(obj, "apiVersion", json_string(av));
    json_object_set_new(obj, "kind", json_string(r->kind));
    return 0;
}

static int check_namespace(struct sk_req *q, const struct sk_resource *r, const char *ns,
                           const char *name, sk_err *err)
{
    const struct sk_resource *nsr = sk_resource_find("", "v1", "namespaces");
    json_t *o = sk_rest_read(q->srv, nsr, NULL, ns, NULL, err);
    if (!o) return -1;
    bool terminating = sk_json_path(o, "metadata.deletionTimestamp") ||
                       (sk_json_path_str(o, "status.phase") &&
                        !strcmp(sk_json_path_str(o, "status.phase"), "Terminating"));
    json_decref(o);
    if (terminating) {
        char qn[128];
        sk_res_qualified(r, qn, sizeof qn);
        return sk_err_set(err, SK_EFORBIDDEN,
                          "%s \"%s\" is forbidden: unable to create new content in namespace %s "
                          "because it is being terminated",
                          qn, name, ns);
    }
    return 0;
}

/* Status of a freshly created object, as upstream strategies reset it. */
static void reset_status(const struct sk_resource *r, json_t *obj)
{
    if (!strcmp(r->kind, "Pod") && !r->group[0]) {
        json_object_set_new(obj, "status", json_pack("{s:s}", "phase", "Pending"));
    } else if (!strcmp(r->kind, "Namespace")) {
        json_object_set_new(obj, "status", json_pack("{s:s}", "phase", "Active"));
    } else if (!strcmp(r->kind, "Service")) {
        json_object_set_new(obj, "status", json_pack("{s:{}}", "loadBalancer"));
    } else if (r->subresources & SK_SUB_STATUS && strcmp(r->kind, "Node")) {
        json_object_set_new(obj, "status", json_object());
    }
}


json_t *sk_rest_store_create(struct sk_req *q, const struct sk_route *rt, json_t *obj,
                             sk_err *err)
{
    _sk_free_ char *key = NULL, *val = NULL;
    json_t *taken = NULL;
    const struct sk_resource *r = rt->res;
    if (check_type(r, obj, err) < 0) goto fail;
    if (sk_check_unknown(q, r, obj, err) < 0) goto fail;
    json_t *meta = sk_json_obj(obj, "metadata");
    const char *ons = sk_json_str(meta, "namespace");
    if (r->namespaced) {
        const char *ns = rt->has_ns ? rt->ns : (ons && *ons ? ons : "default");
        if (ons && *ons && strcmp(ons, ns)) {
            sk_err_set(err, SK_EBADREQUEST,
                       "the namespace of the provided object does not match the namespace sent "
                       "on the request");
            goto fail;
        }
        json_object_set_new(meta, "namespace", json_string(ns));
    } else {
        json_object_del(meta, "namespace");
    }
    const char *name = sk_json_str(meta, "name");
    const char *gen = sk_json_str(meta, "generateName");
    if ((!name || !*name) && gen && *gen) {
        char sfx[6];
        sk_rand_suffix(sfx, sizeof sfx);
        _sk_free_ char *nn = sk_printf("%.*s%s", 58, gen, sfx);
        json_object_set_new(meta, "name", json_string(nn));
    }
    char uid[37], ts[40];
    sk_uuid4(uid);
    now_rfc3339(ts, sizeof ts);
    json_object_set_new(meta, "uid", json_string(uid));
    json_object_set_new(meta, "creationTimestamp", json_string(ts));
    json_object_del(meta, "resourceVersion");
    json_object_del(meta, "deletionTimestamp");
    json_object_del(meta, "deletionGracePeriodSeconds");
    json_object_del(meta, "selfLink");
    if (r->spec_generation) json_object_set_new(meta, "generation", json_integer(1));
    else json_object_del(meta, "generation");
    reset_status(r, obj);
    sk_set_managed(q, obj, "Update");
    sk_default_object(r, obj);
    if (sk_validate_object(r, obj, NULL, err) < 0) goto fail;
    name = sk_json_str(meta, "name");
    if (r->namespaced && check_namespace(q, r, sk_json_str(meta, "namespace"), name, err) < 0)
        goto fail;
    if (dry_run(q)) return obj;
    if (is_core(r, "services")) {
        taken = json_array();
        if (sk_svc_allocate(q->srv, obj, NULL, taken, err) < 0) goto fail;
    }
    key = sk_key(r, sk_json_str(meta, "namespace"), name);
    size_t len;
    val = sk_obj_encode(obj, &len);
    int64_t rev;
    if (sk_store_create(q->srv->store, key, val, len, &rev, err) < 0) {
        sk_svc_release_keys(q->srv, taken);
        if (err->code == SK_EEXIST) {
            char qn[128];
            sk_res_qualified(r, qn, sizeof qn);
            sk_err_set(err, SK_EEXIST, "%s \"%s\" already exists", qn, name);
        }
        goto fail;
    }
    char rv[32];
    snprintf(rv, sizeof rv, "%lld", (long long)rev);
    json_object_set_new(meta, "resourceVersion", json_string(rv));
    json_decref(taken);
    return obj;
fail:
    json_decref(taken);
    json_decref(obj);
    return NULL;
}

void sk_rest_create(struct sk_req *q, struct sk_route *rt)
{
    sk_err err = SK_ERR_INIT;
    json_t *obj = sk_decode_body(q, rt->res, &err);
    if (obj && !json_is_object(obj)) {
        json_decref(obj);
        obj = NULL;
        sk_err_set(&err, SK_EBADREQUEST, "the body must be a JSON object");
    }
    if (obj) obj = sk_rest_store_create(q, rt, obj, &err);
    if (!obj) {
        struct sk_route r2 = *rt;
        sk_reply_err(q, &err, &r2);
        sk_err_clear(&err);
        return;
    }
    sk_reply_json(q, 201, obj);
}

/* Everything but metadata and status. */
static bool spec_changed(const json_t *a, const json_t *b)
{
    json_t *x = json_copy((json_t *)a), *y = json_copy((json_t *)b);
    const char *skip[] = {"metadata", "status", "apiVersion", "kind"};
    for (size_t i = 0; i < SK_ARRAY_LEN(skip); i++) {
        json_object_del(x, skip[i]);
        json_object_del(y, skip[i]);
    }
    bool ch = !json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return ch;
}

static int finish_delete(struct sk_req *q, const struct sk_resource *r, json_t *obj,
                         int64_t rev, int64_t *out_rev, sk_err *err);

json_t *sk_rest_store_update(struct sk_req *q, const struct sk_route *rt, json_t *cur,
                             int64_t rev, json_t *obj, bool status_only, sk_err *err)
{
    _sk_free_ char *key = NULL, *val = NULL;
    const struct sk_resource *r = rt->res;
    json_t *res = NULL, *taken = NULL;
    if (!json_is_object(obj)) {
        sk_err_set(err, SK_EBADREQUEST, "the body must be a JSON object");
        goto out;
    }
    if (check_type(r, obj, err) < 0) goto out;
    if (!status_only && sk_check_unknown(q, r, obj, err) < 0) goto out;
    json_t *cmeta = json_object_get(cur, "metadata");
    if (status_only) {
        res = json_deep_copy(cur);
        json_t *st = json_object_get(obj, "status");
        if (st) json_object_set(res, "status", st);
        else json_object_del(res, "status");
    } else {
        res = json_incref(obj);
        if (r->subresources & SK_SUB_STATUS) {
            json_t *st = json_object_get(cur, "status");
            if (st) json_object_set(res, "status", st);
            else json_object_del(res, "status");
        }
    }
    if (is_core(r, "namespaces") && !status_only) {
        /* spec.finalizers change only through /finalize, and /finalize
         * changes nothing else */
        bool finalize = !strcmp(rt->sub, "finalize");
        json_t *from = finalize ? obj : cur;
        json_t *base = finalize ? json_deep_copy(cur) : res;
        json_t *f = sk_json_path(from, "spec.finalizers");
        if (f) json_object_set(sk_json_obj(base, "spec"), "finalizers", f);
        else json_object_del(sk_json_obj(base, "spec"), "finalizers");
        if (finalize) {
            json_decref(res);
            res = base;
        }
    }
    json_t *meta = sk_json_obj(res, "metadata");
    const char *nm = sk_json_str(meta, "name");
    if (nm && *nm && strcmp(nm, sk_json_str(cmeta, "name"))) {
        sk_err_set(err, SK_EBADREQUEST,
                   "the name of the object (%s) does not match the name on the URL (%s)", nm,
                   sk_json_str(cmeta, "name"));
        goto fail;
    }
    const char *keep[] = {"name", "namespace", "uid", "creationTimestamp", "deletionTimestamp",
                          "deletionGracePeriodSeconds", "generation"};
    for (size_t i = 0; i < SK_ARRAY_LEN(keep); i++) {
        json_t *v = json_object_get(cmeta, keep[i]);
        if (v) json_object_set(meta, keep[i], v);
        else json_object_del(meta, keep[i]);
    }
    if (r->spec_generation && !status_only && spec_changed(cur, res)) {
        json_int_t g = json_integer_value(json_object_get(cmeta, "generation"));
        json_object_set_new(meta, "generation", json_integer(g + 1));
    }
    if (!status_only) sk_set_managed(q, res, "Update");
    if (!status_only && is_core(r, "services")) sk_svc_prefill(res, cur);
    sk_default_object(r, res);
    if (sk_validate_object(r, res, cur, err) < 0) goto fail;
    if (dry_run(q)) goto out;
    /* A terminating object whose last finalizer went away is deleted now. */
    json_t *fin = json_object_get(meta, "finalizers");
    /* namespaces also wait for spec.finalizers (emptied through /finalize) */
    bool ns_pending = is_core(r, "namespaces") && json_array_size(sk_json_path(res, "spec.finalizers"));
    /* ... and only once its grace period is over (the kubelet's final
     * delete sets it to 0), as upstream */
    bool in_grace = json_integer_value(json_object_get(meta, "deletionGracePeriodSeconds")) > 0;
    if (json_object_get(meta, "deletionTimestamp") && json_array_size(fin) == 0 && !ns_pending &&
        !in_grace) {
        int64_t drev;
        if (finish_delete(q, r, res, rev, &drev, err) < 0) goto fail;
        goto out;
    }
    json_object_del(meta, "resourceVersion");
    json_t *cmp = json_deep_copy(cur);
    json_object_del(json_object_get(cmp, "metadata"), "resourceVersion");
    json_t *mf_new = json_object_get(meta, "managedFields");
    if (mf_new) json_object_set(json_object_get(cmp, "metadata"), "managedFields", mf_new);
    bool same = json_equal(cmp, res);
    json_decref(cmp);
    if (same) { /* no-op: no new revision, as upstream */
        json_decref(res);
        res = json_incref(cur);
        goto out;
    }
    if (!status_only && is_core(r, "services")) {
        taken = json_array();
        if (sk_svc_allocate(q->srv, res, cur, taken, err) < 0) goto fail;
    }
    key = sk_key(r, sk_json_str(meta, "namespace"), sk_json_str(meta, "name"));
    size_t len;
    val = sk_obj_encode(res, &len);
    int64_t nrev;
    if (sk_store_update(q->srv->store, key, val, len, rev, &nrev, err) < 0) {
        sk_svc_release_keys(q->srv, taken);
        if (err->code == SK_ECONFLICT) conflict_err(err, r, sk_json_str(meta, "name"));
        if (err->code == SK_ENOTFOUND) {
            char qn[128];
            sk_res_qualified(r, qn, sizeof qn);
            sk_err_set(err, SK_ENOTFOUND, "%s \"%s\" not found", qn, sk_json_str(meta, "name"));
        }
        goto fail;
    }
    char rv[32];
    snprintf(rv, sizeof rv, "%lld", (long long)nrev);
    json_object_set_new(meta, "resourceVersion", json_string(rv));
    goto out;
fail:
    json_decref(res);
    res = NULL;
out:
    json_decref(taken);
    json_decref(obj);
    return res;
}

void sk_rest_update(struct sk_req *q, struct sk_route *rt)
{
    sk_err err = SK_ERR_INIT;
    bool status_only = !strcmp(rt->sub, "status");
    json_t *obj = sk_decode_body(q, rt->res, &err);
    json_t *cur = NULL, *res = NULL;
    int64_t rev = 0;
    if (!obj) goto fail;
    if (!json_is_object(obj)) {
        sk_err_set(&err, SK_EBADREQUEST, "the body must be a JSON object");
        goto fail;
    }
    cur = sk_rest_read(q->srv, rt->res, rt->ns, rt->name, &rev, &err);
    if (!cur) goto fail;
    const char *want = sk_json_path_str(obj, "metadata.resourceVersion");
    if (want && *want) {
        char *end;
        long long w = strtoll(want, &end, 10);
        if (*end || w <= 0) {
            sk_err_set(&err, SK_EBADREQUEST, "invalid resourceVersion \"%s\"", want);
            goto fail;
        }
        if (w != rev) {
            conflict_err(&err, rt->res, rt->name);
            goto fail;
        }
    }
    res = sk_rest_store_update(q, rt, cur, rev, SK_TAKE(obj), status_only, &err);
    if (!res) goto fail;
    json_decref(cur);
    sk_reply_json(q, 200, res);
    return;
fail:
    json_decref(obj);
    json_decref(cur);
    sk_reply_err(q, &err, rt);
    sk_err_clear(&err);
}

static const char *patch_type(struct sk_req *q)
{
    const char *ct = sk_req_header(q, "Content-Type");
    if (!ct) return NULL;
    static const char *const types[] = {"application/merge-patch+json",
                                        "application/strategic-merge-patch+json",
                                        "application/json-patch+json",
                                        "application/apply-patch+yaml"};
    for (size_t i = 0; i < SK_ARRAY_LEN(types); i++)
        if (!strncmp(ct, types[i], strlen(types[i]))) return types[i];
    return NULL;
}

json_t *sk_apply_patch_doc(struct sk_req *q, const struct sk_resource *r, const char *pt,
                           const json_t *cur, const json_t *patch, sk_err *err)
{
    const struct sk_type *t = sk_resource_schema(r);
    if (!strcmp(pt, "application/merge-patch+json")) return sk_merge_patch(cur, patch, err);
    if (!strcmp(pt, "application/strategic-merge-patch+json"))
        return sk_strategic_merge_patch(cur, patch, t, err);
    if (!strcmp(pt, "application/json-patch+json")) return sk_json_patch(cur, patch, err);
    const char *mgr = sk_req_arg(q, "fieldManager");
    return sk_apply_patch(cur, patch, t, mgr, sk_req_arg_true(q, "force"), err);
}

static bool patch_pins_rv(const json_t *patch)
{
    if (json_is_array(patch)) { /* json-patch: an op on /metadata/resourceVersion */
        size_t i;
        json_t *op;
        json_array_foreach(patch, i, op) {
            const char *p = sk_json_str(op, "path");
            if (p && !strcmp(p, "/metadata/resourceVersion")) return true;
        }
        return false;
    }
    return sk_json_path_str(patch, "metadata.resourceVersion") != NULL;
}

void sk_rest_patch(struct sk_req *q, struct sk_route *rt)
{
    sk_err err = SK_ERR_INIT;
    const char *pt = patch_type(q);
    json_t *patch = NULL;
    if (!pt) {
        sk_err_set(&err, SK_EMEDIATYPE, "the body of the request was in an unknown format - "
                                        "accepted media types include: "
                                        "application/json-patch+json, "
                                        "application/merge-patch+json, "
                                        "application/apply-patch+yaml, "
                                        "application/strategic-merge-patch+json");
        goto fail;
    }
    bool apply = !strcmp(pt, "application/apply-patch+yaml");
    if (apply) {
        const char *mgr = sk_req_arg(q, "fieldManager");
        if (!mgr || !*mgr) {
            sk_err_set(&err, SK_EBADREQUEST,
                       "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: "
                       "is required for apply patch");
            goto fail;
        }
    }
    patch = sk_decode_body(q, rt->res, &err);
    if (!patch) goto fail;
    bool status_only = !strcmp(rt->sub, "status");
    for (int attempt = 0; attempt < 5; attempt++) {
        int64_t rev;
        json_t *cur = sk_rest_read(q->srv, rt->res, rt->ns, rt->name, &rev, &err);
        if (!cur) {
            if (apply && err.code == SK_ENOTFOUND && !status_only) {
                sk_err_clear(&err);
                json_t *obj = sk_apply_patch(NULL, patch, sk_resource_schema(rt->res),
                                             sk_req_arg(q, "fieldManager"), true, &err);
                if (!obj) goto fail;
                json_t *meta = sk_json_obj(obj, "metadata");
                json_object_set_new(meta, "name", json_string(rt->name));
                obj = sk_rest_store_create(q, rt, obj, &err);
                if (!obj) goto fail;
                json_decref(patch);
                sk_reply_json(q, 201, obj);
                return;
            }
            goto fail;
        }
        json_t *pobj = sk_apply_patch_doc(q, rt->res, pt, cur, patch, &err);
        if (!pobj) {
            json_decref(cur);
            goto fail;
        }
        const char *prv = sk_json_path_str(pobj, "metadata.resourceVersion");
        const char *crv = sk_json_path_str(cur, "metadata.resourceVersion");
        if (prv && crv && strcmp(prv, crv)) { /* the patch carried a precondition */
            json_decref(pobj);
            json_decref(cur);
            conflict_err(&err, rt->res, rt->name);
            goto fail;
        }
        json_t *res = sk_rest_store_update(q, rt, cur, rev, pobj, status_only, &err);
        json_decref(cur);
        if (res) {
            json_decref(patch);
            sk_reply_json(q, 200, res);
            return;
        }
        /* Lost a race with another writer: re-read and retry, unless the
         * patch itself pinned a resourceVersion (then the conflict is real). */
        if (err.code != SK_ECONFLICT || patch_pins_rv(patch)) goto fail;
        sk_err_clear(&err);
    }
    conflict_err(&err, rt->res, rt->name);
fail:
    json_decref(patch);
    sk_reply_err(q, &err, rt);
    sk_err_clear(&err);
}

/* ---- delete --------------------------------------------------------------- */

static int finish_delete(struct sk_req *q, const struct sk_resource *r, json_t *obj,
                         int64_t rev, int64_t *out_rev, sk_err *err)
{
    json_t *meta = json_object_get(obj, "metadata");
    _sk_free_ char *key = sk_key(r, sk_json_str(meta, "namespace"), sk_json_str(meta, "name"));
    json_object_del(meta, "resourceVersion");
    size_t len;
    _sk_free_ char *val = sk_obj_encode(obj, &len);
    if (sk_store_delete(q->srv->store, key, rev, val, len, out_rev, err) < 0) {
        if (err->code == SK_ECONFLICT) conflict_err(err, r, sk_json_str(meta, "name"));
        return -1;
    }
    if (is_core(r, "services")) sk_svc_release(q->srv, obj, NULL);
    char rv[32];
    snprintf(rv, sizeof rv, "%lld", (long long)*out_rev);
    json_object_set_new(meta, "resourceVersion", json_string(rv));
    return 0;
}

struct delete_opts {
    const char *propagation;
    json_int_t grace; /* -1 = default */
    const char *pre_uid, *pre_rv;
};

/* Deletes one object honouring finalizers and grace; returns the object
 * as it ends (new ref) or NULL + err. */
static json_t *delete_one(struct sk_req *q, const struct sk_resource *r, const char *ns,
                          const char *name, const struct delete_opts *o, sk_err *err)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        int64_t rev;
        json_t *cur = sk_rest_read(q->srv, r, ns, name, &rev, err);
        if (!cur) return NULL;
        json_t *meta = json_object_get(cur, "metadata");
        const char *uid = sk_json_str(meta, "uid") ? sk_json_str(meta, "uid") : "";
        if (o->pre_uid && strcmp(o->pre_uid, uid)) {
            sk_err_set(err, SK_ECONFLICT,
                       "Precondition failed: UID in precondition: %s, UID in object meta: %s",
                       o->pre_uid, uid);
            json_decref(cur);
            return NULL;
        }
        if (o->pre_rv && strcmp(o->pre_rv, sk_json_str(meta, "resourceVersion"))) {
            json_decref(cur);
            conflict_err(err, r, name);
            return NULL;
        }
        if (dry_run(q)) return cur;
        json_t *fin = json_object_get(meta, "finalizers");
        bool changed = false;
        if (o->propagation && (!strcmp(o->propagation, "Orphan") ||
                               !strcmp(o->propagation, "Foreground"))) {
            const char *f = !strcmp(o->propagation, "Orphan") ? "orphan" : "foregroundDeletion";
            if (!json_is_array(fin)) {
                fin = json_array();
                json_object_set_new(meta, "finalizers", fin);
            }
            bool have = false;
            size_t i;
            json_t *e;
            json_array_foreach(fin, i, e) if (json_is_string(e) && !strcmp(json_string_value(e), f)) have = true;
            if (!have) {
                json_array_append_new(fin, json_string(f));
                changed = true;
            }
        }
        bool is_ns = !r->group[0] && !strcmp(r->plural, "namespaces");
        if (is_ns) {
            json_t *sf = sk_json_path(cur, "spec.finalizers");
            if (json_array_size(sf)) {
                json_object_set_new(sk_json_obj(cur, "status"), "phase", json_string("Terminating"));
                changed = true;
                fin = sf; /* the namespace controller empties spec.finalizers */
            }
        }
        json_int_t grace = o->grace;
        bool graceful = false;
        if (!r->group[0] && !strcmp(r->plural, "pods")) {
            if (grace < 0) grace = json_integer_value(sk_json_path(cur, "spec.terminationGracePeriodSeconds"));
            /* Unscheduled pods have no node agent to wait for. */
            const char *node = sk_json_path_str(cur, "spec.nodeName");
            graceful = grace > 0 && node && *node;
        }
        if (json_array_size(fin) || graceful) {
            if (!json_object_get(meta, "deletionTimestamp")) {
                char ts[40];
                sk_time_format(sk_wall_ms() / 1000 + (graceful ? grace : 0), ts, sizeof ts);
                json_object_set_new(meta, "deletionTimestamp", json_string(ts));
                json_object_set_new(meta, "deletionGracePeriodSeconds",
                                    json_integer(graceful ? grace : 0));
                changed = true;
            }
            if (!changed) return cur;
            _sk_free_ char *key = sk_key(r, ns, name);
            json_object_del(meta, "resourceVersion");
            size_t len;
            _sk_free_ char *val = sk_obj_encode(cur, &len);
            int64_t nrev;
            if (sk_store_update(q->srv->store, key, val, len, rev, &nrev, err) < 0) {
                json_decref(cur);
                if (err->code == SK_ECONFLICT) { sk_err_clear(err); continue; }
                return NULL;
            }
            char rv[32];
            snprintf(rv, sizeof rv, "%lld", (long long)nrev);
            json_object_set_new(meta, "resourceVersion", json_string(rv));
            return cur;
        }
        int64_t drev;
        if (finish_delete(q, r, cur, rev, &drev, err) < 0) {
            if (err->code == SK_ECONFLICT) {
                sk_err_clear(err);
                json_decref(cur);
                continue;
            }
            json_decref(cur);
            return NULL;
        }
        return cur;
    }
    conflict_err(err, r, name);
    return NULL;
}

static int parse_delete_opts(struct sk_req *q, const struct sk_resource *r, struct delete_opts *o,
                             json_t **body, sk_err *err)
{
    memset(o, 0, sizeof *o);
    o->grace = -1;
    *body = NULL;
    if (sk_req_has_body(q)) {
        *body = sk_decode_body(q, r, err);
        if (!*body) return -1;
        o->propagation = sk_json_str(*body, "propagationPolicy");
        json_t *g = json_object_get(*body, "gracePeriodSeconds");
        if (json_is_integer(g)) o->grace = json_integer_value(g);
        o->pre_uid = sk_json_path_str(*body, "preconditions.uid");
        o->pre_rv = sk_json_path_str(*body, "preconditions.resourceVersion");
        if (json_is_true(json_object_get(*body, "orphanDependents"))) o->propagation = "Orphan";
    }
    const char *p = sk_req_arg(q, "propagationPolicy");
    if (p) o->propagation = p;
    const char *g = sk_req_arg(q, "gracePeriodSeconds");
    if (g) o->grace = strtoll(g, NULL, 10);
    if (o->propagation && strcmp(o->propagation, "Orphan") && strcmp(o->propagation, "Foreground") &&
        strcmp(o->propagation, "Background"))
        return sk_err_set(err, SK_EINVALID,
                          "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: "
                          "Unsupported value: \"%s\": supported values: \"Foreground\", "
                          "\"Background\", \"Orphan\", \"nil\"",
                          o->propagation);
    return 0;
}

void sk_rest_delete(struct sk_req *q, struct sk_route *rt)
{
    sk_err err = SK_ERR_INIT;
    struct delete_opts o;
    json_t *body = NULL;
    if (parse_delete_opts(q, rt->res, &o, &body, &err) < 0) goto fail;
    json_t *res = delete_one(q, rt->res, rt->ns, rt->name, &o, &err);
    if (!res) goto fail;
    json_decref(body);
    sk_reply_json(q, 200, res);
    return;
fail:
    json_decref(body);
    sk_reply_err(q, &err, rt);
    sk_err_clear(&err);
}

void sk_rest_deletecollection(struct sk_req *q, struct sk_route *rt)
{
    sk_err err = SK_ERR_INIT;
    struct delete_opts o;
    json_t *body = NULL;
    sk_selector *ls = NULL;
    sk_fieldsel *fs = NULL;
    _sk_free_ char *prefix = NULL;
    if (parse_delete_opts(q, rt->res, &o, &body, &err) < 0) goto fail;
    if (sk_parse_selectors(q, rt->res, &ls, &fs, &err) < 0) goto fail;
    prefix = sk_key_prefix(rt->res, rt->has_ns ? rt->ns : NULL);
    sk_kv *kvs = NULL;
    size_t n = 0;
    bool more;
    int64_t rev;
    if (sk_store_range(q->srv->store, prefix, NULL, 0, &kvs, &n, &more, &rev, &err) < 0) goto fail;
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *obj = sk_obj_load(kvs[i].value, kvs[i].value_len, kvs[i].mod_rev);
        if (obj && sk_obj_matches(obj, ls, fs)) {
            sk_err e2 = SK_ERR_INIT;
            json_t *d = delete_one(q, rt->res, sk_json_path_str(obj, "metadata.namespace"),
                                   sk_json_path_str(obj, "metadata.name"), &o, &e2);
            if (d) json_array_append_new(items, d);
            sk_err_clear(&e2);
        }
        json_decref(obj);
        sk_kv_release(&kvs[i]);
    }
    free(kvs);
    char av[96], lk[160];
    sk_resource_api_version(rt->res, av, sizeof av);
    snprintf(lk, sizeof lk, "%sList", rt->res->kind);
    sk_reply_json(q, 200, json_pack("{s:s,s:s,s:{},s:o}", "kind", lk, "apiVersion", av, "metadata",
                                    "items", items));
    json_decref(body);
    sk_selector_free(ls);
    sk_fieldsel_free(fs);
    return;
fail:
    json_decref(body);
    sk_selector_free(ls);
    sk_fieldsel_free(fs);
    sk_reply_err(q, &err, rt);
    sk_err_clear(&err);
}

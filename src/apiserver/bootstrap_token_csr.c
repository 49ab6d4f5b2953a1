/* CertificateSigningRequest strategies (upstream pkg/registry/certificates):
 * create records who asked (spec.username/groups) and rejects requests
 * that are not a validly self-signed PKCS#10 PEM; /approval changes only
 * status.conditions; /status changes the rest of the status but never the
 * Approved/Denied conditions; both default condition timestamps. The
 * field rules (immutable spec, sticky conditions) are the registry's
 * validation hook (src/api/tables_certs.c). */
#include "apiserver/bootstrap_token.h"

#include <gnutls/x509.h>
#include <stdio.h>
#include <string.h>

json_t *sk_apply_patch_doc(struct sk_req *q, const struct sk_resource *r, const char *pt,
                           const json_t *cur, const json_t *patch, sk_err *err);

static bool is_csr(const struct sk_resource *r)
{
    return !strcmp(r->group, "certificates.k8s.io") && !strcmp(r->kind, "CertificateSigningRequest");
}

static int invalid(sk_err *err, const char *name, const char *field, const char *detail)
{
    sk_err_set(err, SK_EINVALID,
               "CertificateSigningRequest.certificates.k8s.io \"%s\" is invalid: %s: Invalid "
               "value: []byte{...}: %s",
               name ? name : "", field, detail);
    sk_err_cause(err, "FieldValueInvalid", field, "Invalid value: []byte{...}: %s", detail);
    return -1;
}

/* spec.request must decode to a PEM request whose signature verifies. */
static int check_request(const json_t *obj, sk_err *err)
{
    const char *b64 = sk_json_path_str(obj, "spec.request");
    const char *name = sk_json_path_str(obj, "metadata.name");
    if (!b64 || !*b64) return 0; /* the validation hook reports the missing field */
    sk_err e = SK_ERR_INIT;
    size_t len = 0;
    _sk_free_ char *pem = sk_pki_base64_decode(b64, &len, &e);
    sk_csr_info info;
    if (!pem || sk_pki_csr_parse(pem, len, &info, &e) < 0) {
        invalid(err, name, "spec.request", e.msg);
        sk_err_clear(&e);
        return -1;
    }
    return 0;
}

/* The requestor, as upstream's PrepareForCreate records it. */
static void set_requestor(json_t *obj, const sk_identity *id)
{
    json_t *spec = sk_json_obj(obj, "spec");
    json_object_set_new(spec, "username", json_string(id->user));
    json_t *groups = json_array();
    bool authn = false;
    for (int i = 0; i < id->ngroups; i++) {
        json_array_append_new(groups, json_string(id->groups[i]));
        if (!strcmp(id->groups[i], "system:authenticated")) authn = true;
    }
    if (!authn) json_array_append_new(groups, json_string("system:authenticated"));
    json_object_set_new(spec, "groups", groups);
    json_object_del(spec, "uid");
    json_object_del(spec, "extra");
}

static void csr_create(struct sk_req *q, struct sk_route *rt)
{
    sk_err err = SK_ERR_INIT;
    json_t *obj = sk_decode_body(q, rt->res, &err);
    if (obj && !json_is_object(obj)) {
        json_decref(obj);
        obj = NULL;
        sk_err_set(&err, SK_EBADREQUEST, "the body must be a JSON object");
    }
    if (obj && check_request(obj, &err) < 0) {
        json_decref(obj);
        obj = NULL;
    }
    if (obj) {
        set_requestor(obj, &q->id);
        json_object_del(obj, "status");
        obj = sk_rest_store_create(q, rt, obj, &err);
    }
    if (!obj) {
        sk_reply_err(q, &err, rt);
        sk_err_clear(&err);
        return;
    }
    sk_reply_json(q, 201, obj);
}

/* ---- /approval and /status ------------------------------------------------- */

static bool approval_cond(const json_t *c)
{
    const char *t = sk_json_str(c, "type");
    return t && (!strcmp(t, "Approved") || !strcmp(t, "Denied"));
}

/* lastUpdateTime defaults to now; lastTransitionTime to the old one of the
 * same type and status, else now (upstream populateConditionTimestamps). */
static void stamp_conditions(json_t *conds, const json_t *old_conds)
{
    char now[40];
    sk_time_format(sk_wall_ms() / 1000, now, sizeof now);
    size_t i, k;
    json_t *c, *o;
    json_array_foreach(conds, i, c) {
        if (!json_is_object(c)) continue;
        if (!sk_json_str(c, "lastUpdateTime")) json_object_set_new(c, "lastUpdateTime", json_string(now));
        if (sk_json_str(c, "lastTransitionTime")) continue;
        const char *ts = now;
        json_array_foreach(old_conds, k, o) {
            const char *ot = sk_json_str(o, "type"), *os = sk_json_str(o, "status");
            const char *nt = sk_json_str(c, "type"), *ns = sk_json_str(c, "status");
            if (ot && nt && os && ns && !strcmp(ot, nt) && !strcmp(os, ns) &&
                sk_json_str(o, "lastTransitionTime")) {
                ts = sk_json_str(o, "lastTransitionTime");
                break;
            }
        }
        json_object_set_new(c, "lastTransitionTime", json_string(ts));
    }
}

/* A PEM certificate chain: at least one block, each parsable. */
static int check_certificate(const json_t *obj, sk_err *err)
{
    const char *b64 = sk_json_path_str(obj, "status.certificate");
    if (!b64 || !*b64) return 0;
    sk_err e = SK_ERR_INIT;
    size_t len = 0;
    _sk_free_ char *pem = sk_pki_base64_decode(b64, &len, &e);
    gnutls_x509_crt_t *list = NULL;
    unsigned n = 0;
    int rc = -1;
    if (pem && strlen(pem) == len) {
        gnutls_datum_t d = {(unsigned char *)pem, (unsigned)len};
        rc = gnutls_x509_crt_list_import2(&list, &n, &d, GNUTLS_X509_FMT_PEM, 0);
        for (unsigned i = 0; i < n; i++) gnutls_x509_crt_deinit(list[i]);
        gnutls_free(list);
    }
    sk_err_clear(&e);
    if (rc < 0 || n == 0)
        return invalid(err, sk_json_path_str(obj, "metadata.name"), "status.certificate",
                       "must contain at least one CERTIFICATE PEM block");
    return 0;
}

/* The object to store: cur with its status changed as the subresource may. */
static json_t *merge_status(const json_t *cur, const json_t *want, bool approval)
{
    json_t *res = json_deep_copy(cur);
    json_t *ost = json_object_get(cur, "status");
    json_t *wst = json_object_get(want, "status");
    json_t *st = approval ? json_deep_copy(json_is_object(ost) ? ost : NULL)
                          : json_deep_copy(json_is_object(wst) ? wst : NULL);
    if (!st) st = json_object();
    json_t *conds = json_array(), *c;
    size_t i;
    /* approval: the body's conditions; status: the body's, except that
     * Approved/Denied always stay as stored. */
    json_array_foreach(json_object_get(wst, "conditions"), i, c)
        if (approval || !approval_cond(c)) json_array_append_new(conds, json_deep_copy(c));
    if (!approval) {
        json_array_foreach(json_object_get(ost, "conditions"), i, c)
            if (approval_cond(c)) json_array_append_new(conds, json_deep_copy(c));
    }
    stamp_conditions(conds, json_object_get(ost, "conditions"));
    if (json_array_size(conds)) json_object_set_new(st, "conditions", conds);
    else {
        json_object_del(st, "conditions");
        json_decref(conds);
    }
    json_object_set_new(res, "status", st);
    return res;
}

static const char *patch_type(struct sk_req *q)
{
    const char *ct = sk_req_header(q, "Content-Type");
    static const char *const types[] = {"application/merge-patch+json",
                                        "application/strategic-merge-patch+json",
                                        "application/json-patch+json",
                                        "application/apply-patch+yaml"};
    for (size_t i = 0; ct && i < SK_ARRAY_LEN(types); i++)
        if (!strncmp(ct, types[i], strlen(types[i]))) return types[i];
    return NULL;
}

/* One attempt: 1 stored (replied), 0 conflict worth retrying, -1 error. */
static int sub_update_once(struct sk_req *q, struct sk_route *rt, const json_t *body,
                           const char *pt, bool approval, sk_err *err)
{
    int64_t rev;
    _sk_json_ json_t *cur = sk_rest_read(q->srv, rt->res, rt->ns, rt->name, &rev, err);
    if (!cur) return -1;
    _sk_json_ json_t *want = pt ? sk_apply_patch_doc(q, rt->res, pt, cur, body, err)
                                : json_incref((json_t *)body);
    if (!want) return -1;
    const char *rv = sk_json_path_str(want, "metadata.resourceVersion");
    if (rv && *rv && strtoll(rv, NULL, 10) != rev) {
        char qn[128];
        sk_res_qualified(rt->res, qn, sizeof qn);
        return sk_err_set(err, SK_ECONFLICT,
                          "Operation cannot be fulfilled on %s \"%s\": the object has been "
                          "modified; please apply your changes to the latest version and try again",
                          qn, rt->name);
    }
    json_t *obj = merge_status(cur, want, approval);
    if (!approval && check_certificate(obj, err) < 0) {
        json_decref(obj);
        return -1;
    }
    json_t *res = sk_rest_store_update(q, rt, cur, rev, obj, true, err);
    if (!res) return err->code == SK_ECONFLICT && !(rv && *rv) ? 0 : -1;
    sk_reply_json(q, 200, res);
    return 1;
}

static void csr_sub_update(struct sk_req *q, struct sk_route *rt, bool approval)
{
    sk_err err = SK_ERR_INIT;
    const char *pt = NULL;
    _sk_json_ json_t *body = NULL; /* before any goto: the cleanup runs at fail too */
    if (!strcmp(q->method, "PATCH") && !(pt = patch_type(q))) {
        sk_err_set(&err, SK_EMEDIATYPE, "the body of the request was in an unknown format - "
                                        "accepted media types include: "
                                        "application/json-patch+json, "
                                        "application/merge-patch+json, "
                                        "application/apply-patch+yaml, "
                                        "application/strategic-merge-patch+json");
        goto fail;
    }
    body = sk_decode_body(q, rt->res, &err);
    if (!body) goto fail;
    if (!pt && !json_is_object(body)) {
        sk_err_set(&err, SK_EBADREQUEST, "the body must be a JSON object");
        goto fail;
    }
    for (int attempt = 0; attempt < 5; attempt++) {
        int rc = sub_update_once(q, rt, body, pt, approval, &err);
        if (rc == 1) return;
        if (rc < 0) goto fail;
        sk_err_clear(&err);
    }
    sk_err_set(&err, SK_ECONFLICT, "too many concurrent updates to %s", rt->name);
fail:
    sk_reply_err(q, &err, rt);
    sk_err_clear(&err);
}

bool sk_csr_handle(struct sk_req *q, struct sk_route *rt)
{
    if (!rt->res || !is_csr(rt->res)) return false;
    const char *m = q->method;
    bool write = !strcmp(m, "PUT") || !strcmp(m, "PATCH");
    if (!rt->has_name && !rt->sub[0] && !strcmp(m, "POST")) {
        csr_create(q, rt);
        return true;
    }
    if (!rt->has_name) return false;
    if (!strcmp(rt->sub, "approval")) {
        if (write) csr_sub_update(q, rt, true);
        else if (!strcmp(m, "GET")) sk_rest_get(q, rt);
        else sk_reply_status(q, SK_ENOTALLOWED, "the server does not allow this method on the requested resource");
        return true;
    }
    if (!strcmp(rt->sub, "status") && write) {
        csr_sub_update(q, rt, false);
        return true;
    }
    return false;
}

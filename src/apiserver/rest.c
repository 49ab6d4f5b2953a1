/* Dispatch of resource requests by method, name and subresource. */
#include "apiserver/apiserver_int.h"
#include "apiserver/bootstrap_token.h" /* join: CSR strategies */

#include <string.h>

static bool allowed(struct sk_req *q, const struct sk_resource *r, unsigned verb)
{
    if (r->verbs & verb) return true;
    sk_reply_status(q, SK_ENOTALLOWED, "the server does not allow this method on the requested resource");
    return false;
}

void sk_handle_resource(struct sk_req *q, struct sk_route *rt)
{
    const struct sk_resource *r = rt->res;
    const char *m = q->method;
    if (sk_csr_handle(q, rt)) return; /* join: CSR create, /approval, /status */
    if (r->namespaced && !rt->has_ns && rt->has_name) {
        sk_reply_status(q, SK_ENOTFOUND, "the server could not find the requested resource");
        return;
    }
    /* Create-only review kinds answer POST on the collection. */
    if (!strcmp(r->kind, "SelfSubjectAccessReview") || !strcmp(r->kind, "SubjectAccessReview")) {
        if (strcmp(m, "POST") || rt->has_name) {
            sk_reply_status(q, SK_ENOTALLOWED, "the server does not allow this method on the requested resource");
            return;
        }
        sk_rest_review(q, rt);
        return;
    }
    if (!strcmp(r->plural, "bindings") && !r->group[0] && !strcmp(m, "POST") && !rt->has_name) {
        sk_rest_binding(q, rt);
        return;
    }
    if (rt->sub[0]) {
        if (sk_proxy_handle(q, rt)) return; /* log, exec, attach, portforward, proxy */
        if (!strcmp(rt->sub, "binding") && !strcmp(r->plural, "pods") && !r->group[0]) {
            if (strcmp(m, "POST")) sk_reply_status(q, SK_ENOTALLOWED, "the server does not allow this method on the requested resource");
            else sk_rest_binding(q, rt);
            return;
        }
        if (!strcmp(rt->sub, "status") && (r->subresources & SK_SUB_STATUS)) {
            if (!strcmp(m, "GET")) sk_rest_get(q, rt);
            else if (!strcmp(m, "PUT")) sk_rest_update(q, rt);
            else if (!strcmp(m, "PATCH")) sk_rest_patch(q, rt);
            else sk_reply_status(q, SK_ENOTALLOWED, "the server does not allow this method on the requested resource");
            return;
        }
        if (!strcmp(rt->sub, "scale") && (r->subresources & SK_SUB_SCALE)) {
            sk_rest_scale(q, rt);
            return;
        }
        if (!strcmp(rt->sub, "finalize") && !strcmp(r->plural, "namespaces") && !strcmp(m, "PUT")) {
            /* finalize writes spec.finalizers: a plain update of the object */
            sk_rest_update(q, rt);
            return;
        }
        sk_reply_status(q, SK_ENOTFOUND, "the server could not find the requested resource");
        return;
    }
    if (!rt->has_name) {
        if (!strcmp(m, "GET")) {
            if (allowed(q, r, SK_V_LIST)) sk_rest_list(q, rt);
        } else if (!strcmp(m, "POST")) {
            if (allowed(q, r, SK_V_CREATE)) sk_rest_create(q, rt);
        } else if (!strcmp(m, "DELETE")) {
            if (allowed(q, r, SK_V_DELETECOLLECTION)) sk_rest_deletecollection(q, rt);
        } else {
            sk_reply_status(q, SK_ENOTALLOWED, "the server does not allow this method on the requested resource");
        }
        return;
    }
    if (!strcmp(m, "GET")) {
        if (allowed(q, r, SK_V_GET)) sk_rest_get(q, rt);
    } else if (!strcmp(m, "PUT")) {
        if (allowed(q, r, SK_V_UPDATE)) sk_rest_update(q, rt);
    } else if (!strcmp(m, "PATCH")) {
        if (allowed(q, r, SK_V_PATCH)) sk_rest_patch(q, rt);
    } else if (!strcmp(m, "DELETE")) {
        if (allowed(q, r, SK_V_DELETE)) sk_rest_delete(q, rt);
    } else {
        sk_reply_status(q, SK_ENOTALLOWED, "the server does not allow this method on the requested resource");
    }
}

/* The csrapproving controller (upstream pkg/controller/certificates/
 * approver): approves kubelet client certificates requested by a joining
 * node (a bootstrap token, group system:bootstrappers) or by a node
 * renewing its own (requestor == CN, group system:nodes), and kubelet
 * serving certificates requested by the node they name. Upstream asks a
 * SubjectAccessReview for the nodeclient/selfnodeclient subresources;
 * without RBAC those grants are these fixed group rules (kubeadm's
 * default bindings). Nothing is ever denied: others stay Pending for
 * `kubectl certificate approve|deny`. Partial: serving requests are not
 * checked against the Node's reported addresses (the node asks before it
 * registers), and there is no csrcleaner removing old requests. */
#include "controllers/csr_int.h"

#include <string.h>

struct approver {
    sk_client *c;
    sk_informer *csrs;
    sk_workqueue *q;
    sk_workers *w;
    int nworkers;
};

static void on_add(void *ud, const json_t *obj)
{
    struct approver *a = ud;
    const char *name = sk_json_path_str(obj, "metadata.name");
    if (name) sk_workqueue_add(a->q, name);
}

static void on_update(void *ud, const json_t *old, const json_t *cur) { on_add(ud, cur); }

/* The approval message for csr, or NULL when no rule applies. */
static const char *recognize(const json_t *csr, const struct sk_csr_req *r)
{
    sk_err err = SK_ERR_INIT;
    const char *msg = NULL;
    bool self = r->username && !strcmp(r->username, r->info.cn) &&
                sk_csr_in_group(csr, "system:nodes");
    if (!strcmp(r->signer, SK_SIGNER_KUBELET_CLIENT) &&
        sk_csr_check_kubelet_client(csr, &r->info, &err) == 0) {
        if (self) msg = "Auto approving self kubelet client certificate after SubjectAccessReview.";
        else if (sk_csr_in_group(csr, "system:bootstrappers"))
            msg = "Auto approving kubelet client certificate after SubjectAccessReview.";
    } else if (!strcmp(r->signer, SK_SIGNER_KUBELET_SERVING) &&
               sk_csr_check_kubelet_serving(csr, &r->info, &err) == 0 && self) {
        msg = "Auto approving kubelet serving certificate after SubjectAccessReview.";
    }
    sk_err_clear(&err);
    return msg;
}

static int sync_csr(void *ud, const char *name)
{
    struct approver *a = ud;
    _sk_json_ json_t *csr = sk_informer_get(a->csrs, NULL, name);
    if (!csr) return 0;
    const char *cert = sk_json_path_str(csr, "status.certificate");
    if ((cert && *cert) || sk_csr_has_cond(csr, "Approved") || sk_csr_has_cond(csr, "Denied"))
        return 0;
    sk_err err = SK_ERR_INIT;
    struct sk_csr_req r;
    if (sk_csr_req_load(csr, &r, &err) < 0) {
        /* Not ours to judge: a person may still deny it. */
        sk_log(SK_DEBUG, "csrapproving", "%s: %s", name, err.msg);
        sk_err_clear(&err);
        return 0;
    }
    const char *msg = recognize(csr, &r);
    sk_csr_req_release(&r);
    if (!msg) return 0;
    int rc = sk_csr_write(a->c, csr, "approval", "Approved", "AutoApproved", msg, NULL, &err);
    if (rc < 0) {
        /* A conflict means a newer version is on its way through the informer. */
        if (err.code != SK_ECONFLICT && err.code != SK_ENOTFOUND)
            sk_log(SK_WARN, "csrapproving", "%s: %s", name, err.msg);
        rc = err.code == SK_ENOTFOUND ? 0 : -1;
    } else {
        sk_log(SK_INFO, "csrapproving", "approved %s for %s", name, r.username ? r.username : "?");
    }
    sk_err_clear(&err);
    return rc;
}

static void *approver_new(struct sk_ctrl_ctx *ctx, sk_err *err)
{
    struct approver *a = sk_calloc(1, sizeof *a);
    a->c = sk_ctx_client(ctx);
    a->csrs = sk_ctx_informer(ctx, "certificates.k8s.io", "certificatesigningrequests");
    if (!a->csrs) {
        free(a);
        sk_err_set(err, SK_EINTERNAL, "csrapproving: certificatesigningrequests not registered");
        return NULL;
    }
    a->nworkers = sk_ctx_config(ctx)->workers;
    a->q = sk_workqueue_new();
    sk_informer_add_handlers(a->csrs, &(struct sk_informer_handlers){on_add, on_update, NULL, a});
    return a;
}

static int approver_start(void *c, sk_err *err)
{
    struct approver *a = c;
    a->w = sk_workers_start(a->q, a->nworkers, sync_csr, a);
    return 0;
}

static void approver_stop(void *c)
{
    struct approver *a = c;
    sk_workqueue_shutdown(a->q);
    sk_workers_join(a->w);
    a->w = NULL;
}

static void approver_free(void *c)
{
    struct approver *a = c;
    if (!a) return;
    sk_workqueue_free(a->q);
    free(a);
}

const struct sk_controller_ops sk_ctrl_csrapproving = {
    .name = "csrapproving",
    .new = approver_new,
    .start = approver_start,
    .stop = approver_stop,
    .free = approver_free,
};

/* The csrsigning controller (upstream pkg/controller/certificates/signer):
 * issues approved requests for the kubernetes.io/kube-apiserver-client-
 * kubelet, kubelet-serving and kube-apiserver-client signers with the
 * cluster CA handed over in the manager's config (none: the controller
 * idles). A request that breaks its signer's rules gets a Failed
 * condition (SignerValidationFailure) instead of a certificate. */
#include "controllers/csr_int.h"

#include <string.h>

#define DEFAULT_TTL_S (365LL * 86400) /* --cluster-signing-duration default */
#define MIN_TTL_S 600                  /* twice the backdate, as upstream */

struct signer {
    sk_client *c;
    sk_informer *csrs;
    sk_workqueue *q;
    sk_workers *w;
    int nworkers;
    char *ca_cert, *ca_key;
    int64_t ttl_s;
};

static void on_add(void *ud, const json_t *obj)
{
    struct signer *s = ud;
    const char *name = sk_json_path_str(obj, "metadata.name");
    if (name) sk_workqueue_add(s->q, name);
}

static void on_update(void *ud, const json_t *old, const json_t *cur) { on_add(ud, cur); }

static int64_t duration(const struct signer *s, const json_t *csr)
{
    json_t *e = sk_json_path(csr, "spec.expirationSeconds");
    if (!json_is_integer(e)) return s->ttl_s;
    int64_t want = json_integer_value(e);
    return want > s->ttl_s ? s->ttl_s : want < MIN_TTL_S ? MIN_TTL_S : want;
}

/* 1 ours, 0 another signer's; -1 ours but breaking the rules (err). */
static int check(const json_t *csr, const struct sk_csr_req *r, sk_err *err)
{
    if (!strcmp(r->signer, SK_SIGNER_KUBELET_CLIENT))
        return sk_csr_check_kubelet_client(csr, &r->info, err) < 0 ? -1 : 1;
    if (!strcmp(r->signer, SK_SIGNER_KUBELET_SERVING))
        return sk_csr_check_kubelet_serving(csr, &r->info, err) < 0 ? -1 : 1;
    if (!strcmp(r->signer, SK_SIGNER_APISERVER_CLIENT))
        return sk_csr_check_apiserver_client(csr, err) < 0 ? -1 : 1;
    return 0;
}

static int issue(struct signer *s, const json_t *csr, const struct sk_csr_req *r, sk_err *err)
{
    json_t *us = sk_json_path(csr, "spec.usages");
    size_t n = json_array_size(us);
    const char **usages = sk_calloc(n + 1, sizeof *usages);
    for (size_t i = 0; i < n; i++) usages[i] = json_string_value(json_array_get(us, i));
    struct sk_csr_sign_opts o = {s->ca_cert, s->ca_key, usages, n, duration(s, csr)};
    _sk_free_ char *cert = NULL;
    int rc = sk_pki_csr_sign(&o, r->pem, r->pem_len, &cert, err);
    free(usages);
    if (rc < 0) return -1;
    return sk_csr_write(s->c, csr, "status", NULL, NULL, NULL, cert, err);
}

static int sync_csr(void *ud, const char *name)
{
    struct signer *s = ud;
    _sk_json_ json_t *csr = sk_informer_get(s->csrs, NULL, name);
    if (!csr || !sk_csr_approved(csr) || sk_csr_has_cond(csr, "Failed")) return 0;
    const char *cert = sk_json_path_str(csr, "status.certificate");
    if (cert && *cert) return 0;
    sk_err err = SK_ERR_INIT;
    struct sk_csr_req r;
    int rc = 0;
    if (sk_csr_req_load(csr, &r, &err) < 0) {
        sk_log(SK_DEBUG, "csrsigning", "%s: %s", name, err.msg);
        sk_err_clear(&err);
        return 0; /* the API server refuses such requests; nothing to retry */
    }
    int mine = check(csr, &r, &err);
    if (mine < 0) {
        sk_err verr = err;
        err = (sk_err)SK_ERR_INIT;
        rc = sk_csr_write(s->c, csr, "status", "Failed", "SignerValidationFailure", verr.msg, NULL,
                          &err);
        sk_err_clear(&verr);
    } else if (mine > 0) {
        rc = issue(s, csr, &r, &err);
        if (rc == 0) sk_log(SK_INFO, "csrsigning", "issued %s (%s)", name, r.info.cn);
    }
    sk_csr_req_release(&r);
    if (rc < 0) {
        if (err.code == SK_ENOTFOUND) rc = 0;
        else if (err.code != SK_ECONFLICT) sk_log(SK_WARN, "csrsigning", "%s: %s", name, err.msg);
    }
    sk_err_clear(&err);
    return rc;
}

static void *signer_new(struct sk_ctrl_ctx *ctx, sk_err *err)
{
    const struct sk_ctrlmgr_config *cfg = sk_ctx_config(ctx);
    struct signer *s = sk_calloc(1, sizeof *s);
    s->c = sk_ctx_client(ctx);
    s->nworkers = cfg->workers;
    s->q = sk_workqueue_new();
    s->ttl_s = cfg->cluster_signing_duration_s > 0 ? cfg->cluster_signing_duration_s : DEFAULT_TTL_S;
    if (!cfg->ca_cert_pem || !cfg->ca_key_pem) {
        sk_log(SK_INFO, "csrsigning", "no cluster signing CA configured: not issuing certificates");
        return s;
    }
    s->ca_cert = sk_strdup(cfg->ca_cert_pem);
    s->ca_key = sk_strdup(cfg->ca_key_pem);
    s->csrs = sk_ctx_informer(ctx, "certificates.k8s.io", "certificatesigningrequests");
    if (!s->csrs) {
        sk_workqueue_free(s->q);
        free(s->ca_cert);
        free(s->ca_key);
        free(s);
        sk_err_set(err, SK_EINTERNAL, "csrsigning: certificatesigningrequests not registered");
        return NULL;
    }
    sk_informer_add_handlers(s->csrs, &(struct sk_informer_handlers){on_add, on_update, NULL, s});
    return s;
}

static int signer_start(void *c, sk_err *err)
{
    struct signer *s = c;
    if (s->csrs) s->w = sk_workers_start(s->q, s->nworkers, sync_csr, s);
    return 0;
}

static void signer_stop(void *c)
{
    struct signer *s = c;
    sk_workqueue_shutdown(s->q);
    sk_workers_join(s->w);
    s->w = NULL;
}

static void signer_free(void *c)
{
    struct signer *s = c;
    if (!s) return;
    sk_workqueue_free(s->q);
    if (s->ca_key) explicit_bzero(s->ca_key, strlen(s->ca_key));
    free(s->ca_cert);
    free(s->ca_key);
    free(s);
}

const struct sk_controller_ops sk_ctrl_csrsigning = {
    .name = "csrsigning",
    .new = signer_new,
    .start = signer_start,
    .stop = signer_stop,
    .free = signer_free,
};

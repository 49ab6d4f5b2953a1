/* The ServiceAccount controller (upstream pkg/controller/serviceaccount,
 * v1.32): every active namespace has a "default" ServiceAccount; it is
 * recreated when deleted. Terminating namespaces are left alone. */
#include "controllers/controllers_int.h"

#include <string.h>

static const char *const ensure[] = {"default"};

struct sa_ctrl {
    sk_client *c;
    sk_informer *nss, *sas;
    const struct sk_resource *r_sa;
    sk_workqueue *q;
    sk_workers *w;
    int nworkers;
};

static void ns_add(void *ud, const json_t *obj)
{
    struct sa_ctrl *s = ud;
    const char *name = sk_json_path_str(obj, "metadata.name");
    if (name) sk_workqueue_add(s->q, name);
}

static void ns_update(void *ud, const json_t *old, const json_t *cur) { ns_add(ud, cur); }

static void sa_delete(void *ud, const json_t *obj)
{
    struct sa_ctrl *s = ud;
    const char *ns = sk_json_path_str(obj, "metadata.namespace");
    if (ns) sk_workqueue_add(s->q, ns);
}

static int sync_namespace(void *ud, const char *name)
{
    struct sa_ctrl *s = ud;
    _sk_json_ json_t *ns = sk_informer_get(s->nss, NULL, name);
    if (!ns) return 0;
    const char *phase = sk_json_path_str(ns, "status.phase");
    json_t *dt = sk_json_path(ns, "metadata.deletionTimestamp");
    if (!phase || strcmp(phase, "Active") || (dt && !json_is_null(dt))) return 0;
    int rc = 0;
    for (size_t i = 0; i < SK_ARRAY_LEN(ensure); i++) {
        json_t *have = sk_informer_get(s->sas, name, ensure[i]);
        if (have) {
            json_decref(have);
            continue;
        }
        json_t *sa = json_pack("{s:s,s:s,s:{s:s,s:s}}", "apiVersion", "v1", "kind",
                               "ServiceAccount", "metadata", "name", ensure[i], "namespace", name);
        sk_err err = SK_ERR_INIT;
        json_t *res = sk_client_create(s->c, s->r_sa, name, sa, &err);
        json_decref(sa);
        json_decref(res);
        /* AlreadyExists: our cache lags; Forbidden: the namespace started terminating */
        if (!res && err.code != SK_EEXIST &&
            !(err.code == SK_EFORBIDDEN && strstr(err.msg, "being terminated"))) {
            sk_log(SK_DEBUG, "serviceaccount", "%s/%s: %s", name, ensure[i], err.msg);
            rc = -1;
        }
        sk_err_clear(&err);
    }
    return rc;
}

static void *sa_new(struct sk_ctrl_ctx *ctx, sk_err *err)
{
    struct sa_ctrl *s = sk_calloc(1, sizeof *s);
    s->c = sk_ctx_client(ctx);
    s->r_sa = sk_ctx_res("", "serviceaccounts");
    s->nss = sk_ctx_informer(ctx, "", "namespaces");
    s->sas = sk_ctx_informer(ctx, "", "serviceaccounts");
    if (!s->r_sa || !s->nss || !s->sas) {
        free(s);
        sk_err_set(err, SK_EINTERNAL, "serviceaccount controller: resources not registered");
        return NULL;
    }
    s->nworkers = sk_ctx_config(ctx)->workers;
    s->q = sk_workqueue_new();
    sk_informer_add_handlers(s->nss, &(struct sk_informer_handlers){ns_add, ns_update, NULL, s});
    sk_informer_add_handlers(s->sas, &(struct sk_informer_handlers){NULL, NULL, sa_delete, s});
    return s;
}

static int sa_start(void *c, sk_err *err)
{
    struct sa_ctrl *s = c;
    s->w = sk_workers_start(s->q, s->nworkers, sync_namespace, s);
    return 0;
}

static void sa_stop(void *c)
{
    struct sa_ctrl *s = c;
    sk_workqueue_shutdown(s->q);
    sk_workers_join(s->w);
    s->w = NULL;
}

static void sa_free(void *c)
{
    struct sa_ctrl *s = c;
    if (!s) return;
    sk_workqueue_free(s->q);
    free(s);
}

const struct sk_controller_ops sk_ctrl_serviceaccount = {
    .name = "serviceaccount",
    .new = sa_new,
    .start = sa_start,
    .stop = sa_stop,
    .free = sa_free,
};

/* Reading CertificateSigningRequests and the rules each kubernetes.io
 * signer applies to them (upstream pkg/apis/certificates/helpers.go and
 * pkg/controller/certificates/signer), shared by csrapproving and
 * csrsigning. */
#include "controllers/csr_int.h"

#include <string.h>

int sk_csr_req_load(const json_t *csr, struct sk_csr_req *r, sk_err *err)
{
    memset(r, 0, sizeof *r);
    r->name = sk_json_path_str(csr, "metadata.name");
    r->signer = sk_json_path_str(csr, "spec.signerName");
    r->username = sk_json_path_str(csr, "spec.username");
    if (!r->name || !r->signer) return sk_err_set(err, SK_EINVALID, "incomplete CSR");
    r->pem = sk_pki_base64_decode(sk_json_path_str(csr, "spec.request"), &r->pem_len, err);
    if (!r->pem) return sk_err_wrap(err, "spec.request");
    if (sk_pki_csr_parse(r->pem, r->pem_len, &r->info, err) < 0) {
        sk_csr_req_release(r);
        return -1;
    }
    return 0;
}

void sk_csr_req_release(struct sk_csr_req *r)
{
    free(r->pem);
    r->pem = NULL;
}

bool sk_csr_has_cond(const json_t *csr, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(sk_json_path(csr, "status.conditions"), i, c) {
        const char *t = sk_json_str(c, "type"), *s = sk_json_str(c, "status");
        if (t && !strcmp(t, type) && (!s || !strcmp(s, "True"))) return true;
    }
    return false;
}

bool sk_csr_approved(const json_t *csr)
{
    return sk_csr_has_cond(csr, "Approved") && !sk_csr_has_cond(csr, "Denied");
}

bool sk_csr_in_group(const json_t *csr, const char *group)
{
    size_t i;
    json_t *g;
    json_array_foreach(sk_json_path(csr, "spec.groups"), i, g)
        if (json_is_string(g) && !strcmp(json_string_value(g), group)) return true;
    return false;
}

static bool has_usage(const json_t *usages, const char *u)
{
    size_t i;
    json_t *v;
    json_array_foreach(usages, i, v)
        if (json_is_string(v) && !strcmp(json_string_value(v), u)) return true;
    return false;
}

/* The usages, as a set, are exactly req, or exactly req minus `optional`. */
static bool usages_are(const json_t *usages, const char *const *req, const char *optional)
{
    size_t i;
    json_t *v;
    json_array_foreach(usages, i, v) {
        const char *s = json_string_value(v);
        bool known = false;
        for (const char *const *r = req; s && *r; r++)
            if (!strcmp(*r, s)) known = true;
        if (!known) return false;
    }
    for (const char *const *r = req; *r; r++)
        if (!has_usage(usages, *r) && (!optional || strcmp(*r, optional))) return false;
    return true;
}

static bool only_node_org(const sk_csr_info *info)
{
    return info->norgs == 1 && !strcmp(info->orgs[0], "system:nodes");
}

static bool node_cn(const sk_csr_info *info)
{
    return !strncmp(info->cn, "system:node:", 12);
}

int sk_csr_check_kubelet_client(const json_t *csr, const sk_csr_info *info, sk_err *err)
{
    static const char *const req[] = {"digital signature", "key encipherment", "client auth", NULL};
    if (!only_node_org(info)) return sk_err_set(err, SK_EINVALID, "subject organization is not system:nodes");
    if (info->ndns) return sk_err_set(err, SK_EINVALID, "DNS subjectAltNames are not allowed");
    if (info->nemails) return sk_err_set(err, SK_EINVALID, "Email subjectAltNames are not allowed");
    if (info->nips) return sk_err_set(err, SK_EINVALID, "IP subjectAltNames are not allowed");
    if (info->nuris) return sk_err_set(err, SK_EINVALID, "URI subjectAltNames are not allowed");
    if (!node_cn(info))
        return sk_err_set(err, SK_EINVALID, "subject common name does not begin with system:node:");
    if (!usages_are(sk_json_path(csr, "spec.usages"), req, "key encipherment"))
        return sk_err_set(err, SK_EINVALID,
                          "usages did not match [client auth digital signature key encipherment]");
    return 0;
}

int sk_csr_check_kubelet_serving(const json_t *csr, const sk_csr_info *info, sk_err *err)
{
    static const char *const req[] = {"digital signature", "key encipherment", "server auth", NULL};
    if (!only_node_org(info)) return sk_err_set(err, SK_EINVALID, "subject organization is not system:nodes");
    if (!info->ndns && !info->nips)
        return sk_err_set(err, SK_EINVALID, "DNS or IP subjectAltName is required");
    if (info->nemails) return sk_err_set(err, SK_EINVALID, "Email subjectAltNames are not allowed");
    if (info->nuris) return sk_err_set(err, SK_EINVALID, "URI subjectAltNames are not allowed");
    if (!usages_are(sk_json_path(csr, "spec.usages"), req, "key encipherment"))
        return sk_err_set(err, SK_EINVALID,
                          "usages did not match [digital signature key encipherment server auth]");
    if (!node_cn(info))
        return sk_err_set(err, SK_EINVALID, "subject common name does not begin with system:node:");
    return 0;
}

int sk_csr_check_apiserver_client(const json_t *csr, sk_err *err)
{
    size_t i;
    json_t *v;
    json_t *usages = sk_json_path(csr, "spec.usages");
    json_array_foreach(usages, i, v) {
        const char *s = json_string_value(v) ?: "";
        if (strcmp(s, "digital signature") && strcmp(s, "key encipherment") &&
            strcmp(s, "client auth"))
            return sk_err_set(err, SK_EINVALID, "invalid usage for client certificate: %s", s);
    }
    if (!has_usage(usages, "client auth"))
        return sk_err_set(err, SK_EINVALID, "missing required usage for client certificate: client auth");
    return 0;
}

int sk_csr_write(sk_client *c, const json_t *csr, const char *sub, const char *type,
                 const char *reason, const char *message, const char *cert_pem, sk_err *err)
{
    const struct sk_resource *r = sk_ctx_res("certificates.k8s.io", "certificatesigningrequests");
    if (!r) return sk_err_set(err, SK_EINTERNAL, "certificatesigningrequests not registered");
    _sk_json_ json_t *obj = json_deep_copy(csr);
    json_t *st = sk_json_obj(obj, "status");
    if (type) {
        char now[40];
        sk_time_format(sk_wall_ms() / 1000, now, sizeof now);
        json_t *conds = json_object_get(st, "conditions");
        if (!json_is_array(conds)) {
            conds = json_array();
            json_object_set_new(st, "conditions", conds);
        }
        json_array_append_new(conds, json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", type, "status",
                                               "True", "reason", reason, "message", message,
                                               "lastUpdateTime", now));
    }
    if (cert_pem) {
        _sk_free_ char *b64 = sk_pki_base64_encode(cert_pem, strlen(cert_pem));
        if (!b64) return sk_err_set(err, SK_EINTERNAL, "certificate too large");
        json_object_set_new(st, "certificate", json_string(b64));
    }
    json_t *res = sk_client_update(c, r, NULL, obj, sub, err);
    if (!res) return -1;
    json_decref(res);
    return 0;
}

/* Shared by the CSR controllers (csr_approve.c: csrapproving, csr_sign.c:
 * csrsigning): reading a CertificateSigningRequest, the per-signer subject
 * and usage rules of upstream's pkg/apis/certificates/helpers.go, and
 * condition writes through /approval and /status. */
#ifndef SK_CONTROLLERS_CSR_INT_H
#define SK_CONTROLLERS_CSR_INT_H

#include "controllers/controllers_int.h"
#include "pki/pki.h"

#define SK_SIGNER_KUBELET_CLIENT "kubernetes.io/kube-apiserver-client-kubelet"
#define SK_SIGNER_KUBELET_SERVING "kubernetes.io/kubelet-serving"
#define SK_SIGNER_APISERVER_CLIENT "kubernetes.io/kube-apiserver-client"

/* A CSR as the controllers read it; strings borrowed from the object. */
struct sk_csr_req {
    const char *name, *signer, *username;
    char *pem;          /* decoded spec.request, owned (sk_csr_req_release) */
    size_t pem_len;
    sk_csr_info info;
};
/* Decodes and parses spec.request; -1 + err when it is unusable. */
int sk_csr_req_load(const json_t *csr, struct sk_csr_req *r, sk_err *err);
void sk_csr_req_release(struct sk_csr_req *r);

bool sk_csr_has_cond(const json_t *csr, const char *type);
/* Approved and not Denied. */
bool sk_csr_approved(const json_t *csr);
bool sk_csr_in_group(const json_t *csr, const char *group);

/* Upstream's ValidateKubeletClientCSR / ValidateKubeletServingCSR / the
 * kube-apiserver-client usage rule: 0, or -1 + SK_EINVALID with
 * upstream's message. */
int sk_csr_check_kubelet_client(const json_t *csr, const sk_csr_info *info, sk_err *err);
int sk_csr_check_kubelet_serving(const json_t *csr, const sk_csr_info *info, sk_err *err);
int sk_csr_check_apiserver_client(const json_t *csr, sk_err *err);

/* Writes csr (borrowed, a cached object) back through sub ("approval" or
 * "status") with one more condition {type, status True, reason, message}
 * and, when cert_pem is set, status.certificate. */
int sk_csr_write(sk_client *c, const json_t *csr, const char *sub, const char *type,
                 const char *reason, const char *message, const char *cert_pem, sk_err *err);

#endif

/* Schema table for certificates.k8s.io/v1 CertificateSigningRequest
 * (k8s.io/api v1.32). Field numbers are those of the group's
 * generated.proto; descriptions are our own one-liners. */
#include "api/schema_types2.h"

static const struct sk_field csr_condition_fields[] = {
    SK2_F("type", 1, SK_F_STRING, SK_FL_REQUIRED, NULL,
          "Approved, Denied or Failed (or a custom type)."),
    SK2_F("status", 6, SK_F_STRING, SK_FL_REQUIRED, NULL,
          "True, False or Unknown; Approved, Denied and Failed must be True."),
    SK2_F("reason", 2, SK_F_STRING, 0, NULL, "Brief machine-readable reason."),
    SK2_F("message", 3, SK_F_STRING, 0, NULL, "Human-readable details."),
    SK2_F("lastUpdateTime", 4, SK_F_TIME, 0, NULL, "Time of the last update to this condition."),
    SK2_F("lastTransitionTime", 5, SK_F_TIME, 0, NULL,
          "Time the condition last changed status (defaulted by the server)."),
};
static SK2_TYPE(csr_condition, "io.k8s.api.certificates.v1.CertificateSigningRequestCondition",
                "A condition of a CertificateSigningRequest.", csr_condition_fields);

static const struct sk_field csr_spec_fields[] = {
    SK2_F("request", 1, SK_F_BYTES, SK_FL_REQUIRED, NULL,
          "PEM \"CERTIFICATE REQUEST\" block (base64 again in JSON)."),
    SK2_F("signerName", 7, SK_F_STRING, SK_FL_REQUIRED, NULL,
          "Signer asked to issue, e.g. kubernetes.io/kube-apiserver-client-kubelet."),
    SK2_F("expirationSeconds", 8, SK_F_INT, SK_FL_PTR, NULL,
          "Requested validity in seconds (at least 600); the signer may shorten it."),
    SK2_F("usages", 5, SK_F_STRING, SK_FL_REPEATED, NULL,
          "Key usages requested, e.g. \"digital signature\", \"client auth\"."),
    SK2_F("username", 2, SK_F_STRING, 0, NULL, "Requesting user; set by the API server."),
    SK2_F("uid", 3, SK_F_STRING, 0, NULL, "Requesting user's uid; set by the API server."),
    SK2_F("groups", 4, SK_F_STRING, SK_FL_REPEATED, NULL,
          "Requesting user's groups; set by the API server."),
    SK2_F("extra", 6, SK_F_STRING, SK_FL_MAP | SK_FL_REPEATED, NULL,
          "Requesting user's extra attributes; set by the API server."),
};
static SK2_TYPE(csr_spec, "io.k8s.api.certificates.v1.CertificateSigningRequestSpec",
                "The certificate request; immutable after creation.", csr_spec_fields);

static const struct sk_field csr_status_fields[] = {
    SK2_FM("conditions", 1, SK_F_MSG, SK_FL_REPEATED, &csr_condition, "type", "merge",
           "Approved, Denied and Failed conditions."),
    SK2_F("certificate", 2, SK_F_BYTES, 0, NULL,
          "Issued certificate (PEM), set by the signer through /status; then immutable."),
};
static SK2_TYPE(csr_status, "io.k8s.api.certificates.v1.CertificateSigningRequestStatus",
                "Approval state and the issued certificate.", csr_status_fields);

static const struct sk_field csr_fields[] = {
    SK2_TYPEMETA("CertificateSigningRequest"),
    SK2_METADATA,
    SK2_F("spec", 2, SK_F_MSG, SK_FL_REQUIRED, &csr_spec, "The certificate request."),
    SK2_F("status", 3, SK_F_MSG, 0, &csr_status, "Approval conditions and the certificate."),
};
SK2_KIND(sk_type_certificates_v1_CertificateSigningRequest,
         "io.k8s.api.certificates.v1.CertificateSigningRequest",
         "A request for an X.509 certificate, approved and then issued by a signer.",
         csr_fields, "certificates.k8s.io", "v1", "CertificateSigningRequest");

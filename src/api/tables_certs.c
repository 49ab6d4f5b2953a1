/* certificates.k8s.io/v1 CertificateSigningRequest: Table columns as
 * upstream's printer (NAME AGE SIGNERNAME REQUESTOR REQUESTEDDURATION
 * CONDITION) and the field rules that need no cryptography. Parsing the
 * PEM request and checking its signature happens in the API server, which
 * has GnuTLS. */
#include "api/registry_int.h"

#include <stdio.h>
#include <string.h>

const struct sk_column sk_cols_csr[SK_NCOLS_CSR] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Age", "string", "", 0,
     "CreationTimestamp is a timestamp representing the server time when this object was created."},
    {"SignerName", "string", "", 0, "Requested signer for the request."},
    {"Requestor", "string", "", 0, "Name of the user that created the request."},
    {"RequestedDuration", "string", "", 0, "Requested validity duration of the certificate."},
    {"Condition", "string", "", 0, "Approved, Denied or Pending, plus Failed and Issued."},
};

static bool has_cond(const json_t *csr, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(sk_json_path(csr, "status.conditions"), i, c) {
        const char *t = sk_json_str(c, "type");
        if (t && !strcmp(t, type)) return true;
    }
    return false;
}

void sk_row_csr(const struct sk_resource *r, const json_t *csr, json_t *cells, int64_t now)
{
    const char *signer = sk_json_path_str(csr, "spec.signerName");
    json_t *exp = sk_json_path(csr, "spec.expirationSeconds");
    char dur[32] = "<none>";
    if (json_is_integer(exp)) sk_duration_human(json_integer_value(exp), dur, sizeof dur);
    const char *cert = sk_json_path_str(csr, "status.certificate");
    /* Denied outranks Approved, as upstream's extractCSRStatus. */
    char cond[64];
    snprintf(cond, sizeof cond, "%s%s%s",
             has_cond(csr, "Denied") ? "Denied" : has_cond(csr, "Approved") ? "Approved"
                                                                           : "Pending",
             has_cond(csr, "Failed") ? ",Failed" : "", cert && *cert ? ",Issued" : "");
    sk_cell_str(cells, sk_json_path_str(csr, "metadata.name"));
    sk_cell_age(cells, csr, now);
    sk_cell_str(cells, signer && *signer ? signer : "<none>");
    sk_cell_str(cells, sk_json_path_str(csr, "spec.username"));
    sk_cell_str(cells, dur);
    sk_cell_str(cells, cond);
}

/* ---- validation ----------------------------------------------------------- */

static const char *const usage_names[] = {
    "signing", "digital signature", "content commitment", "key encipherment",
    "key agreement", "data encipherment", "cert sign", "crl sign", "encipher only",
    "decipher only", "any", "server auth", "client auth", "code signing", "email protection",
    "s/mime", "ipsec end system", "ipsec tunnel", "ipsec user", "timestamping", "ocsp signing",
    "microsoft sgc", "netscape sgc", NULL,
};

static bool in_list(const char *const *l, const char *s)
{
    for (; *l; l++)
        if (!strcmp(*l, s)) return true;
    return false;
}

/* "example.com/name": a DNS subdomain, a slash, a non-empty path. */
static bool signer_ok(const char *s)
{
    const char *slash = strchr(s, '/');
    if (!slash || slash == s || !slash[1] || strlen(s) > 571) return false;
    for (const char *p = s; p < slash; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
            return false;
    return s[0] != '.' && s[0] != '-' && slash[-1] != '.' && slash[-1] != '-';
}

static void validate_spec(const json_t *spec, sk_err *err)
{
    const char *signer = sk_json_str(spec, "signerName");
    if (!signer || !*signer) sk_verr_required(err, "spec.signerName", "");
    else if (!signer_ok(signer))
        sk_verr_invalid_str(err, "spec.signerName", signer,
                            "must be a fully qualified domain and path of the form "
                            "'example.com/signer-name'");
    const char *req = sk_json_str(spec, "request");
    if (!req || !*req)
        sk_verr_invalid(err, "spec.request", "[]byte(nil)", "PEM block type must be CERTIFICATE REQUEST");
    json_t *exp = json_object_get(spec, "expirationSeconds");
    if (exp && !json_is_null(exp) && (!json_is_integer(exp) || json_integer_value(exp) < 600))
        sk_verr_invalid_int(err, "spec.expirationSeconds", json_integer_value(exp),
                            "may not specify a duration less than 600 seconds (10 minutes)");
    json_t *us = json_object_get(spec, "usages");
    if (!json_array_size(us)) sk_verr_required(err, "spec.usages", "usages must be provided");
    size_t i;
    json_t *u;
    json_array_foreach(us, i, u) {
        char f[48];
        snprintf(f, sizeof f, "spec.usages[%zu]", i);
        const char *s = json_string_value(u);
        if (!s || !in_list(usage_names, s)) {
            sk_verr_unsupported(err, f, s ? s : "", usage_names);
            continue;
        }
        for (size_t k = 0; k < i; k++)
            if (!strcmp(json_string_value(json_array_get(us, k)) ?: "", s))
                sk_verr_duplicate(err, f, s);
    }
}

static bool approval_type(const char *t)
{
    return !strcmp(t, "Approved") || !strcmp(t, "Denied") || !strcmp(t, "Failed");
}

static void validate_conditions(const json_t *csr, const json_t *old, sk_err *err)
{
    static const char *const only_true[] = {"True", NULL};
    json_t *cs = sk_json_path(csr, "status.conditions"), *c;
    size_t i;
    json_array_foreach(cs, i, c) {
        char f[64];
        const char *t = sk_json_str(c, "type");
        snprintf(f, sizeof f, "status.conditions[%zu].type", i);
        if (!t || !*t) {
            sk_verr_required(err, f, "");
            continue;
        }
        for (size_t k = 0; k < i; k++)
            if (!strcmp(sk_json_str(json_array_get(cs, k), "type") ?: "", t))
                sk_verr_duplicate(err, f, t);
        const char *st = sk_json_str(c, "status");
        snprintf(f, sizeof f, "status.conditions[%zu].status", i);
        if (approval_type(t) && (!st || strcmp(st, "True")))
            sk_verr_unsupported(err, f, st ? st : "", only_true);
    }
    if (has_cond(csr, "Approved") && has_cond(csr, "Denied"))
        sk_verr_invalid(err, "status.conditions", "[]certificates.CertificateSigningRequestCondition{...}",
                        "Approved and Denied conditions are mutually exclusive");
    static const char *const sticky[] = {"Approved", "Denied", "Failed"};
    for (size_t k = 0; old && k < SK_ARRAY_LEN(sticky); k++) {
        if (has_cond(old, sticky[k]) && !has_cond(csr, sticky[k])) {
            char m[96];
            snprintf(m, sizeof m, "updates may not remove a condition of type \"%s\"", sticky[k]);
            sk_verr_forbidden(err, "status.conditions", m);
        }
    }
}

void sk_validate_csr(const json_t *csr, const json_t *old, sk_err *err)
{
    json_t *spec = json_object_get(csr, "spec");
    if (!json_is_object(spec)) {
        sk_verr_required(err, "spec", "");
        return;
    }
    validate_spec(spec, err);
    if (old && !json_equal(spec, json_object_get(old, "spec")))
        sk_verr_forbidden(err, "spec", "updates to spec are forbidden");
    validate_conditions(csr, old, err);
    const char *oc = old ? sk_json_path_str(old, "status.certificate") : NULL;
    const char *nc = sk_json_path_str(csr, "status.certificate");
    if (oc && *oc && (!nc || strcmp(oc, nc)))
        sk_verr_forbidden(err, "status.certificate", "updates may not modify existing certificate content");
}

/* Serving certificates for other components (the node agent's HTTPS API),
 * signed by the cluster CA so the API server can verify them. */
#include <time.h>

#include "pki/pki_int.h"

#define SERVING_DAYS 365

int sk_pki_issue_serving(const char *dir, const char *cn, const char *const *sans, size_t nsans,
                         sk_pem_pair *out, sk_err *err)
{
    int64_t now = (int64_t)time(NULL);
    /* An hour of slack for peers whose clocks run behind ours, as the
     * other leaves. */
    sk_cert_spec spec = {.kind = SK_CERT_SERVER, .cn = cn, .sans = sans, .nsans = nsans,
                         .not_before = now - 3600,
                         .not_after = now + (int64_t)SERVING_DAYS * 86400};
    sk_ca ca = {NULL, NULL};
    out->cert = out->key = NULL;
    if (!cn || !*cn) return sk_err_set(err, SK_EINVALID, "serving certificate: empty common name");
    if (sk_cert_check_names(&spec, err) < 0) return -1;
    if (sk_ca_load(&ca, dir, err) < 0) return -1;
    int rc = sk_cert_issue(&spec, &ca, out, err);
    sk_ca_release(&ca);
    return rc;
}

/* kubeconfig files: one cluster, user and context, credentials embedded. */
#include <string.h>

#include "pki/pki_int.h"

/* Single-line base64 (GnuTLS may wrap lines; YAML scalars must not). */
static char *base64(const char *s, sk_err *err)
{
    gnutls_datum_t in = {(unsigned char *)s, (unsigned)strlen(s)}, out = {NULL, 0};
    int rc = gnutls_base64_encode2(&in, &out);
    if (rc < 0) {
        sk_err_set(err, SK_EINTERNAL, "base64: %s", gnutls_strerror(rc));
        return NULL;
    }
    char *r = sk_malloc(out.size + 1);
    size_t n = 0;
    for (unsigned i = 0; i < out.size; i++)
        if (out.data[i] != '\n' && out.data[i] != '\r') r[n++] = (char)out.data[i];
    r[n] = 0;
    gnutls_free(out.data);
    return r;
}

/* A JSON string literal is a valid YAML double-quoted scalar, which spares
 * us a hand-written escaper for the URL. */
static char *yaml_quote(const char *s, sk_err *err)
{
    json_t *j = json_string(s);
    char *q = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    if (!q) sk_err_set(err, SK_EINVALID, "server URL is not valid UTF-8");
    return q;
}

int sk_kubeconfig_write(const char *path, const char *server_url, const char *ca_pem,
                        const sk_pem_pair *client, sk_err *err)
{
    if (!server_url || !*server_url)
        return sk_err_set(err, SK_EINVALID, "kubeconfig: empty server URL");
    if (!ca_pem || !client || !client->cert || !client->key)
        return sk_err_set(err, SK_EINVALID, "kubeconfig: missing CA or client credentials");
    _sk_free_ char *url = yaml_quote(server_url, err);
    if (!url) return -1;
    _sk_free_ char *ca = base64(ca_pem, err);
    _sk_free_ char *crt = ca ? base64(client->cert, err) : NULL;
    _sk_free_ char *key = crt ? base64(client->key, err) : NULL;
    if (!key) return -1;

    sk_buf b = SK_BUF_INIT;
    sk_buf_addf(&b,
                "apiVersion: v1\n"
                "kind: Config\n"
                "clusters:\n"
                "- name: skiff\n"
                "  cluster:\n"
                "    server: %s\n"
                "    certificate-authority-data: %s\n"
                "users:\n"
                "- name: skiff-admin\n"
                "  user:\n"
                "    client-certificate-data: %s\n"
                "    client-key-data: %s\n"
                "contexts:\n"
                "- name: skiff\n"
                "  context:\n"
                "    cluster: skiff\n"
                "    user: skiff-admin\n"
                "current-context: skiff\n"
                "preferences: {}\n",
                url, ca, crt, key);
    int rc = sk_write_file(path, b.data, b.len, 0600, err);
    /* The buffer holds the private key. */
    gnutls_memset(b.data, 0, b.len);
    sk_buf_release(&b);
    if (rc < 0) return sk_err_wrap(err, "kubeconfig");
    return 0;
}

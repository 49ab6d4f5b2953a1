/* Images for containers, as the kubelet's image manager: imagePullPolicy
 * (Always / IfNotPresent / Never, upstream's default by tag), credentials
 * from imagePullSecrets (dockerconfigjson / dockercfg for the image's
 * registry), per pod+image pull back-off (10 s doubling to 5 min) and the
 * events and waiting reasons users see: Pulling, Pulled, Failed,
 * ErrImagePull, ImagePullBackOff, ErrImageNeverPull. */
#include "kubelet/agent_core.h"

#include <gnutls/gnutls.h>
#include <string.h>

/* Under a->mu: the HTTPS server's lookups read the reason. */
static void set_wait(sk_agent *a, struct sk_ag_ctr *c, const char *reason, const char *msg)
{
    pthread_mutex_lock(&a->mu);
    snprintf(c->wait_reason, sizeof c->wait_reason, "%s", reason);
    snprintf(c->wait_msg, sizeof c->wait_msg, "%s", msg);
    pthread_mutex_unlock(&a->mu);
}

static json_t *decode_b64_json(const char *b64)
{
    if (!b64 || strlen(b64) > (1 << 20)) return NULL;
    gnutls_datum_t in = {(unsigned char *)b64, (unsigned)strlen(b64)}, out = {NULL, 0};
    if (gnutls_base64_decode2(&in, &out) < 0) return NULL;
    json_t *j = json_loadb((const char *)out.data, out.size, 0, NULL);
    gnutls_free(out.data);
    return j;
}

/* Basic credentials for the image's registry from the pod's imagePullSecrets. */
static void pull_credentials(sk_agent *a, const json_t *pod, const char *image, char **user, char **pass)
{
    *user = *pass = NULL;
    const json_t *secrets = sk_json_path(pod, "spec.imagePullSecrets");
    if (!json_array_size(secrets)) return;
    sk_image_ref r;
    sk_err err = SK_ERR_INIT;
    if (sk_image_ref_parse(image, &r, &err) < 0) {
        sk_err_clear(&err);
        return;
    }
    size_t i;
    json_t *ref;
    json_array_foreach(secrets, i, ref) {
        const char *name = sk_json_str(ref, "name");
        if (!name || !*name) continue;
        _sk_json_ json_t *sec = sk_client_get(a->client, a->secrets_res, sk_json_path_str(pod, "metadata.namespace"),
                                              name, &err);
        if (!sec) {
            sk_log(SK_DEBUG, "agent", "image pull secret %s: %s", name, err.msg);
            sk_err_clear(&err);
            continue;
        }
        const json_t *data = json_object_get(sec, "data");
        const char *b64 = sk_json_str(data, ".dockerconfigjson");
        if (!b64) b64 = sk_json_str(data, ".dockercfg");
        _sk_json_ json_t *cfg = decode_b64_json(b64);
        if (cfg && sk_ag_docker_auth(cfg, r.domain, user, pass) == 0) break;
    }
    sk_image_ref_release(&r);
}

static int64_t image_size(sk_agent *a, const char *ref)
{
    sk_image_info *v = NULL;
    size_t n = 0;
    int64_t size = 0;
    sk_err err = SK_ERR_INIT;
    if (sk_image_list(a->images, &v, &n, &err) == 0)
        for (size_t i = 0; i < n; i++)
            if (v[i].ref && !strcmp(v[i].ref, ref)) size = v[i].size;
    sk_image_info_free(v, n);
    sk_err_clear(&err);
    return size;
}

static int pull(sk_agent *a, struct sk_ag_pod *p, struct sk_ag_ctr *c, const json_t *pod, const char *image,
                char *ref_out, size_t ref_n, int64_t *retry_ms)
{
    _sk_json_ json_t *ev = sk_ag_event_ref(pod);
    int64_t now = sk_wall_ms();
    if (sk_ag_backoff_active(&c->pull, now, c->pull.last_ms, SK_AG_CRASH_MAX_MS)) {
        char msg[600];
        snprintf(msg, sizeof msg, "Back-off pulling image \"%s\"", image);
        set_wait(a, c, "ImagePullBackOff", msg);
        if (c->backoff_evented != c->pull.last_ms) { /* once per back-off period, not per sync */
            c->backoff_evented = c->pull.last_ms;
            sk_event(a->rec, ev, "Normal", "BackOff", "%s", msg);
            sk_event(a->rec, ev, "Warning", "Failed", "Error: ImagePullBackOff");
        }
        *retry_ms = c->pull.last_ms + c->pull.delay_ms - now;
        if (*retry_ms <= 0) *retry_ms = 1;
        return -1;
    }
    sk_event(a->rec, ev, "Normal", "Pulling", "Pulling image \"%s\"", image);
    _sk_free_ char *user = NULL, *pass = NULL, *stored = NULL;
    pull_credentials(a, pod, image, &user, &pass);
    struct sk_image_pull_opts opts = {.username = user, .password = pass};
    sk_err err = SK_ERR_INIT;
    int64_t t0 = sk_now_ms();
    if (sk_image_pull(a->images, image, &opts, &stored, &err) < 0) {
        sk_event(a->rec, ev, "Warning", "Failed", "Failed to pull image \"%s\": %s", image, err.msg);
        sk_ag_backoff_next(&c->pull, sk_wall_ms(), SK_AG_CRASH_INIT_MS, SK_AG_CRASH_MAX_MS);
        set_wait(a, c, "ErrImagePull", err.msg);
        sk_event(a->rec, ev, "Warning", "Failed", "Error: ErrImagePull");
        sk_log(SK_INFO, "agent", "pod %s: pull %s: %s", p->key, image, err.msg);
        sk_err_clear(&err);
        *retry_ms = c->pull.delay_ms;
        return -1;
    }
    char took[32];
    sk_ag_go_duration(sk_now_ms() - t0, took, sizeof took);
    snprintf(ref_out, ref_n, "%s", stored);
    sk_event(a->rec, ev, "Normal", "Pulled",
             "Successfully pulled image \"%s\" in %s (%s including waiting). Image size: %lld bytes.", image,
             took, took, (long long)image_size(a, stored));
    return 0;
}

int sk_ag_image_ensure(sk_agent *a, struct sk_ag_pod *p, struct sk_ag_ctr *c, const json_t *pod,
                       const json_t *ctr, char *ref_out, size_t ref_n, int64_t *retry_ms)
{
    *retry_ms = 0;
    const char *image = sk_json_str(ctr, "image");
    _sk_json_ json_t *ev = sk_ag_event_ref(pod);
    sk_err err = SK_ERR_INIT;
    _sk_free_ char *norm = image && *image ? sk_image_normalize(image, &err) : NULL;
    if (!norm) {
        char msg[700];
        snprintf(msg, sizeof msg, "Failed to apply default image tag \"%s\": %s", image ? image : "",
                 err.msg[0] ? err.msg : "empty image name");
        set_wait(a, c, "InvalidImageName", msg);
        sk_event(a->rec, ev, "Warning", "InspectFailed", "%s", msg);
        sk_event(a->rec, ev, "Warning", "Failed", "Error: InvalidImageName");
        sk_err_clear(&err);
        c->retry_at = sk_now_ms() + 10000;
        *retry_ms = 10000;
        return -1;
    }
    const char *policy = sk_json_str(ctr, "imagePullPolicy");
    if (!policy || !*policy) policy = sk_default_pull_policy(image);
    int present = sk_image_exists(a->images, norm, &err);
    sk_err_clear(&err);
    if (present == 1 && strcmp(policy, "Always")) {
        snprintf(ref_out, ref_n, "%s", norm);
        sk_event(a->rec, ev, "Normal", "Pulled", "Container image \"%s\" already present on machine", image);
        return 0;
    }
    if (!strcmp(policy, "Never")) {
        char msg[600];
        snprintf(msg, sizeof msg, "Container image \"%s\" is not present with pull policy of Never", image);
        set_wait(a, c, "ErrImageNeverPull", msg);
        sk_event(a->rec, ev, "Warning", "ErrImageNeverPull", "%s", msg);
        sk_event(a->rec, ev, "Warning", "Failed", "Error: ErrImageNeverPull");
        c->retry_at = sk_now_ms() + 10000;
        *retry_ms = 10000;
        return -1;
    }
    return pull(a, p, c, pod, image, ref_out, ref_n, retry_ms);
}

char **sk_ag_images_in_use(sk_agent *a)
{
    _sk_json_ json_t *pods = sk_informer_list(a->pods_inf, NULL, NULL);
    const char *const *builtin = sk_image_builtin_refs();
    size_t cap = 16, n = 0;
    char **out = sk_calloc(cap, sizeof *out);
    const char *lists[] = {"spec.initContainers", "spec.containers"};
    size_t i, j;
    json_t *pod, *c;
    for (; builtin && *builtin; builtin++) {
        if (n + 2 > cap) out = sk_realloc(out, (cap *= 2) * sizeof *out);
        out[n++] = sk_strdup(*builtin);
    }
    json_array_foreach(pods, i, pod) {
        for (size_t l = 0; l < 2; l++) {
            json_array_foreach(sk_json_path(pod, lists[l]), j, c) {
                const char *img = sk_json_str(c, "image");
                if (!img) continue;
                if (n + 2 > cap) out = sk_realloc(out, (cap *= 2) * sizeof *out);
                out[n++] = sk_strdup(img);
            }
        }
    }
    out[n] = NULL;
    return out;
}

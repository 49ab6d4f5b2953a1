/* The pod-template-hash. Upstream hashes a Go-specific printed form of the
 * typed template (spew), which cannot be reproduced outside Go; the names
 * therefore differ from a real cluster's, but the shape is the same: FNV-32a
 * of the template plus the collision count, printed in decimal and "safe
 * encoded". We hash canonical JSON (sorted keys, compact) of a normalised
 * template, so that the template `kubectl rollout undo` sends back
 * (creationTimestamp: null, resources: {}, no hash label) and one the
 * server has defaulted hash like the stored one: rollback finds the old
 * ReplicaSet by hash and by template equality. */
#include "controllers/deployment_int.h"

#include <string.h>

static const char safe_alphabet[] = "bcdfghjklmnpqrstvwxz2456789";

uint32_t sk_dep_fnv32a(const void *p, size_t n, uint32_t h)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 16777619u;
    }
    return h;
}

void sk_dep_safe_encode(const char *in, char *out, size_t n)
{
    size_t i = 0;
    if (!n) return;
    for (; in[i] && i + 1 < n; i++)
        out[i] = safe_alphabet[(unsigned char)in[i] % (sizeof safe_alphabet - 1)];
    out[i] = '\0';
}

/* ---- removing server defaults ------------------------------------------------ */

static void drop_if_str(json_t *o, const char *k, const char *v)
{
    const char *s = sk_json_str(o, k);
    if (s && !strcmp(s, v)) json_object_del(o, k);
}

static void drop_if_int(json_t *o, const char *k, json_int_t v)
{
    json_t *x = json_object_get(o, k);
    if (json_is_integer(x) && json_integer_value(x) == v) json_object_del(o, k);
}


static void strip_probe(json_t *p)
{
    if (!json_is_object(p)) return;
    drop_if_int(p, "timeoutSeconds", 1);
    drop_if_int(p, "periodSeconds", 10);
    drop_if_int(p, "successThreshold", 1);
    drop_if_int(p, "failureThreshold", 3);
    json_t *http = json_object_get(p, "httpGet");
    if (json_is_object(http)) {
        drop_if_str(http, "path", "/");
        drop_if_str(http, "scheme", "HTTP");
    }
}

static void strip_container(json_t *c)
{
    size_t i;
    json_t *x;
    if (!json_is_object(c)) return;
    drop_if_str(c, "terminationMessagePath", "/dev/termination-log");
    drop_if_str(c, "terminationMessagePolicy", "File");
    drop_if_str(c, "imagePullPolicy", sk_default_pull_policy(sk_json_str(c, "image")));
    json_array_foreach(json_object_get(c, "ports"), i, x)
        if (json_is_object(x)) drop_if_str(x, "protocol", "TCP");
    json_array_foreach(json_object_get(c, "env"), i, x) {
        json_t *fr = sk_json_path(x, "valueFrom.fieldRef");
        if (json_is_object(fr)) drop_if_str(fr, "apiVersion", "v1");
    }
    strip_probe(json_object_get(c, "livenessProbe"));
    strip_probe(json_object_get(c, "readinessProbe"));
    strip_probe(json_object_get(c, "startupProbe"));
}

static void strip_volume(json_t *v)
{
    static const char *const with_mode[] = {"secret", "configMap", "downwardAPI", "projected"};
    if (!json_is_object(v)) return;
    for (size_t i = 0; i < SK_ARRAY_LEN(with_mode); i++) {
        json_t *src = json_object_get(v, with_mode[i]);
        if (json_is_object(src)) drop_if_int(src, "defaultMode", 420);
    }
    json_t *hp = json_object_get(v, "hostPath");
    if (json_is_object(hp)) drop_if_str(hp, "type", "");
}

static void strip_pod_spec(json_t *spec)
{
    static const char *const lists[] = {"containers", "initContainers", "ephemeralContainers"};
    size_t i;
    json_t *x;
    if (!json_is_object(spec)) return;
    drop_if_str(spec, "dnsPolicy", "ClusterFirst");
    drop_if_str(spec, "restartPolicy", "Always");
    drop_if_int(spec, "terminationGracePeriodSeconds", 30);
    drop_if_str(spec, "schedulerName", "default-scheduler");
    for (size_t l = 0; l < SK_ARRAY_LEN(lists); l++)
        json_array_foreach(json_object_get(spec, lists[l]), i, x) strip_container(x);
    json_array_foreach(json_object_get(spec, "volumes"), i, x) strip_volume(x);
}

/* String maps whose empty values are meaningful. */
static bool is_string_map(const char *key)
{
    return !strcmp(key, "labels") || !strcmp(key, "annotations") ||
           !strcmp(key, "nodeSelector") || !strcmp(key, "matchLabels");
}

static bool is_empty(const json_t *v, bool keep_empty_strings)
{
    if (!v || json_is_null(v)) return true;
    if (json_is_object(v)) return json_object_size(v) == 0;
    if (json_is_array(v)) return json_array_size(v) == 0;
    if (json_is_string(v)) return !keep_empty_strings && json_string_length(v) == 0;
    return false;
}

/* Removes null, "", {} and [] bottom-up (depth is bounded by the API
 * server's decoder, which caps nesting). */
static void prune(json_t *v, bool keep_empty_strings)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        void *tmp;
        json_object_foreach_safe(v, tmp, k, x) {
            prune(x, is_string_map(k));
            if (is_empty(x, keep_empty_strings)) json_object_del(v, k);
        }
    } else if (json_is_array(v)) {
        for (size_t i = json_array_size(v); i-- > 0;) {
            json_t *x = json_array_get(v, i);
            prune(x, false);
            /* list elements keep their positions: only nulls go */
            if (json_is_null(x)) json_array_remove(v, i);
        }
    }
}

json_t *sk_dep_template_normalize(const json_t *tmpl)
{
    json_t *t = json_is_object(tmpl) ? json_deep_copy(tmpl) : json_object();
    json_t *md = json_object_get(t, "metadata");
    if (json_is_object(md)) {
        json_object_del(md, "creationTimestamp");
        json_t *labels = json_object_get(md, "labels");
        if (json_is_object(labels)) json_object_del(labels, SK_DEP_HASH_LABEL);
    }
    strip_pod_spec(json_object_get(t, "spec"));
    prune(t, false);
    return t;
}

char *sk_dep_template_hash(const json_t *tmpl, const json_t *collision_count)
{
    _sk_json_ json_t *norm = sk_dep_template_normalize(tmpl);
    _sk_free_ char *canon = json_dumps(norm, JSON_COMPACT | JSON_SORT_KEYS);
    uint32_t h = sk_dep_fnv32a(canon ? canon : "", canon ? strlen(canon) : 0, 2166136261u);
    if (json_is_integer(collision_count)) {
        uint32_t cc = (uint32_t)json_integer_value(collision_count);
        unsigned char b[8] = {cc & 0xff, (cc >> 8) & 0xff, (cc >> 16) & 0xff, cc >> 24, 0, 0,
                              0, 0};
        h = sk_dep_fnv32a(b, sizeof b, h);
    }
    char dec[16], enc[16];
    snprintf(dec, sizeof dec, "%u", h);
    sk_dep_safe_encode(dec, enc, sizeof enc);
    return sk_strdup(enc);
}

bool sk_dep_templates_equal(const json_t *a, const json_t *b)
{
    _sk_json_ json_t *na = sk_dep_template_normalize(a);
    _sk_json_ json_t *nb = sk_dep_template_normalize(b);
    return json_equal(na, nb);
}

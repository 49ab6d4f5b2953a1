/* Pod spec validation (pods and every pod template) and the pod update
 * rule, with upstream's field paths and messages
 * (pkg/apis/core/validation). Partial: volume sources, probes, security
 * contexts, affinity and resources are not checked. */
#include "api/registry_int.h"

#include <stdio.h>
#include <string.h>

static const char PORT_RANGE[] = "must be between 1 and 65535, inclusive";

static bool nonempty(const char *s) { return s && *s; }

static bool in_list(const char *v, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (!strcmp(v, list[i])) return true;
    return false;
}

/* A required enum field: Required when empty, else NotSupported. */
static void check_enum(const json_t *o, const char *key, const char *path,
                       const char *const *valid, sk_err *err)
{
    const char *v = sk_json_str(o, key);
    if (!nonempty(v)) sk_verr_required(err, path, NULL);
    else if (!in_list(v, valid)) sk_verr_unsupported(err, path, v, valid);
}

/* validation.IsValidPortName. */
static const char *check_port_name(const char *s)
{
    size_t n = strlen(s);
    bool letter = false;
    if (n > 15) return "must be no more than 15 characters";
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)";
        if (c >= 'a' && c <= 'z') letter = true;
        if (c == '-' && i && s[i - 1] == '-') return "must not contain consecutive hyphens";
    }
    if (!letter) return "must contain at least one letter (a-z)";
    if (n && (s[0] == '-' || s[n - 1] == '-')) return "must not begin or end with a hyphen";
    return NULL;
}

static const char *check_env_name(const char *s)
{
    static const char msg[] =
        "a valid environment variable name must consist of alphabetic characters, digits, "
        "'_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or "
        "'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is "
        "'[-._a-zA-Z][-._a-zA-Z0-9]*')";
    if (!*s || (s[0] >= '0' && s[0] <= '9')) return msg;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return msg;
    return NULL;
}

static void check_port_num(const json_t *o, const char *key, const char *path, bool required,
                           sk_err *err)
{
    json_t *v = json_object_get(o, key);
    json_int_t n = json_is_integer(v) ? json_integer_value(v) : 0;
    if (!n) {
        if (required) sk_verr_required(err, path, NULL);
        return;
    }
    if (n < 1 || n > 65535) sk_verr_invalid_int(err, path, n, PORT_RANGE);
}

static void validate_ports(const json_t *c, const char *cpath, sk_err *err)
{
    static const char *const protos[] = {"SCTP", "TCP", "UDP", NULL};
    size_t i, j;
    json_t *p, *q;
    json_array_foreach(json_object_get(c, "ports"), i, p) {
        char path[256];
        const char *name = sk_json_str(p, "name");
        if (nonempty(name)) {
            const char *msg = check_port_name(name);
            snprintf(path, sizeof path, "%s.ports[%zu].name", cpath, i);
            if (msg) sk_verr_invalid_str(err, path, name, msg);
            json_array_foreach(json_object_get(c, "ports"), j, q) {
                if (j >= i) break;
                const char *other = sk_json_str(q, "name");
                if (other && !strcmp(other, name)) { sk_verr_duplicate(err, path, name); break; }
            }
        }
        snprintf(path, sizeof path, "%s.ports[%zu].containerPort", cpath, i);
        check_port_num(p, "containerPort", path, true, err);
        snprintf(path, sizeof path, "%s.ports[%zu].hostPort", cpath, i);
        check_port_num(p, "hostPort", path, false, err);
        snprintf(path, sizeof path, "%s.ports[%zu].protocol", cpath, i);
        check_enum(p, "protocol", path, protos, err);
    }
}

static void validate_env(const json_t *c, const char *cpath, sk_err *err)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(c, "env"), i, e) {
        char path[256];
        const char *name = sk_json_str(e, "name");
        snprintf(path, sizeof path, "%s.env[%zu].name", cpath, i);
        if (!nonempty(name)) sk_verr_required(err, path, NULL);
        else if (check_env_name(name)) sk_verr_invalid_str(err, path, name, check_env_name(name));
    }
}

static bool has_volume(const json_t *spec, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(spec, "volumes"), i, v)
        if (!strcmp(sk_json_str(v, "name") ?: "", name)) return true;
    return false;
}

static void validate_mounts(const json_t *spec, const json_t *c, const char *cpath, sk_err *err)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(c, "volumeMounts"), i, m) {
        char path[256];
        const char *name = sk_json_str(m, "name");
        snprintf(path, sizeof path, "%s.volumeMounts[%zu].name", cpath, i);
        if (!nonempty(name)) {
            sk_verr_required(err, path, NULL);
        } else if (!has_volume(spec, name)) {
            _sk_free_ char *q = sk_go_quote(name);
            sk_err_cause(err, "FieldValueNotFound", path, "Not found: %s", q);
        }
        snprintf(path, sizeof path, "%s.volumeMounts[%zu].mountPath", cpath, i);
        if (!nonempty(sk_json_str(m, "mountPath"))) sk_verr_required(err, path, NULL);
    }
}

/* Container names must be unique across regular and init containers. */
static bool name_seen(const json_t *spec, const char *list, size_t upto, const char *name)
{
    json_t *cs = json_object_get(spec, list);
    for (size_t i = 0; i < upto && i < json_array_size(cs); i++)
        if (!strcmp(sk_json_str(json_array_get(cs, i), "name") ?: "", name)) return true;
    return false;
}

static void validate_container(const json_t *spec, const json_t *c, const char *list, size_t idx,
                               const char *prefix, sk_err *err)
{
    static const char *const pulls[] = {"Always", "IfNotPresent", "Never", NULL};
    static const char *const tmps[] = {"File", "FallbackToLogsOnError", NULL};
    char cpath[192], path[256];
    snprintf(cpath, sizeof cpath, "%s.%s[%zu]", prefix, list, idx);
    const char *name = sk_json_str(c, "name");
    snprintf(path, sizeof path, "%s.name", cpath);
    if (!nonempty(name)) {
        sk_verr_required(err, path, NULL);
    } else if (sk_check_dns1123_label(name)) {
        sk_verr_invalid_str(err, path, name, sk_check_dns1123_label(name));
    } else if (name_seen(spec, list, idx, name) ||
               (!strcmp(list, "containers") && name_seen(spec, "initContainers", (size_t)-1, name))) {
        sk_verr_duplicate(err, path, name);
    }
    snprintf(path, sizeof path, "%s.image", cpath);
    if (!nonempty(sk_json_str(c, "image"))) sk_verr_required(err, path, NULL);
    snprintf(path, sizeof path, "%s.imagePullPolicy", cpath);
    check_enum(c, "imagePullPolicy", path, pulls, err);
    snprintf(path, sizeof path, "%s.terminationMessagePolicy", cpath);
    check_enum(c, "terminationMessagePolicy", path, tmps, err);
    validate_ports(c, cpath, err);
    validate_env(c, cpath, err);
    validate_mounts(spec, c, cpath, err);
}

static void validate_volumes(const json_t *spec, const char *prefix, sk_err *err)
{
    size_t i, j;
    json_t *v, *w;
    json_array_foreach(json_object_get(spec, "volumes"), i, v) {
        char path[192];
        const char *name = sk_json_str(v, "name");
        snprintf(path, sizeof path, "%s.volumes[%zu].name", prefix, i);
        if (!nonempty(name)) { sk_verr_required(err, path, NULL); continue; }
        if (sk_check_dns1123_label(name)) {
            sk_verr_invalid_str(err, path, name, sk_check_dns1123_label(name));
            continue;
        }
        json_array_foreach(json_object_get(spec, "volumes"), j, w) {
            if (j >= i) break;
            if (!strcmp(sk_json_str(w, "name") ?: "", name)) { sk_verr_duplicate(err, path, name); break; }
        }
    }
}

void sk_validate_pod_spec(const json_t *spec, const char *prefix, sk_err *err)
{
    static const char *const restart[] = {"Always", "OnFailure", "Never", NULL};
    static const char *const dns[] = {"ClusterFirstWithHostNet", "ClusterFirst", "Default",
                                      "None", NULL};
    char path[192];
    size_t i;
    json_t *c;
    validate_volumes(spec, prefix, err);
    json_t *cs = json_object_get(spec, "containers");
    snprintf(path, sizeof path, "%s.containers", prefix);
    if (!json_array_size(cs)) sk_verr_required(err, path, NULL);
    json_array_foreach(json_object_get(spec, "initContainers"), i, c)
        validate_container(spec, c, "initContainers", i, prefix, err);
    json_array_foreach(cs, i, c) validate_container(spec, c, "containers", i, prefix, err);
    snprintf(path, sizeof path, "%s.restartPolicy", prefix);
    check_enum(spec, "restartPolicy", path, restart, err);
    snprintf(path, sizeof path, "%s.dnsPolicy", prefix);
    check_enum(spec, "dnsPolicy", path, dns, err);
    json_t *ads = json_object_get(spec, "activeDeadlineSeconds");
    if (json_is_integer(ads) && (json_integer_value(ads) < 1 || json_integer_value(ads) > 2147483647)) {
        snprintf(path, sizeof path, "%s.activeDeadlineSeconds", prefix);
        sk_verr_invalid_int(err, path, json_integer_value(ads),
                            "must be between 1 and 2147483647, inclusive");
    }
}

/* ---- pods ----------------------------------------------------------------- */

/* Copies the mutable fields of old's spec onto a copy of the new spec, so
 * that any remaining difference is a forbidden change. */
static void copy_images(json_t *munged, const json_t *old, const char *list)
{
    json_t *nc = json_object_get(munged, list), *oc = json_object_get(old, list);
    if (json_array_size(nc) != json_array_size(oc)) return;
    for (size_t i = 0; i < json_array_size(nc); i++) {
        json_t *img = json_object_get(json_array_get(oc, i), "image");
        json_t *c = json_array_get(nc, i);
        if (!json_is_object(c)) continue;
        if (img) json_object_set(c, "image", img);
        else json_object_del(c, "image");
    }
}

static void copy_field(json_t *munged, const json_t *old, const char *key)
{
    json_t *v = json_object_get(old, key);
    if (v) json_object_set(munged, key, v);
    else json_object_del(munged, key);
}

static void validate_pod_update(const json_t *pod, const json_t *old, sk_err *err)
{
    json_t *ospec = json_object_get(old, "spec"), *nspec = json_object_get(pod, "spec");
    if (!json_is_object(ospec) || !json_is_object(nspec)) return;
    _sk_json_ json_t *munged = json_deep_copy(nspec);
    copy_images(munged, ospec, "containers");
    copy_images(munged, ospec, "initContainers");
    copy_field(munged, ospec, "activeDeadlineSeconds");
    copy_field(munged, ospec, "tolerations");
    copy_field(munged, ospec, "terminationGracePeriodSeconds");
    copy_field(munged, ospec, "schedulingGates");
    if (json_equal(munged, ospec)) return;
    /* Upstream appends a Go cmp.Diff of the specs; we name the fields only. */
    sk_verr_forbidden(err, "spec",
                      "pod updates may not change fields other than `spec.containers[*].image`,"
                      "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
                      "`spec.tolerations` (only additions to existing tolerations),"
                      "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
                      "previously negative)");
}

void sk_validate_pod(const json_t *pod, const json_t *old, sk_err *err)
{
    json_t *spec = json_object_get(pod, "spec");
    if (!json_is_object(spec)) {
        sk_verr_required(err, "spec.containers", NULL);
        return;
    }
    sk_validate_pod_spec(spec, "spec", err);
    if (old) validate_pod_update(pod, old, err);
}

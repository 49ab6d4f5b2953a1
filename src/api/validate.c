/* Generic object validation: metadata rules, the cause builders the kind
 * hooks use, and the Status message assembled as upstream's
 * apierrors.NewInvalid does:
 *   <Kind>[.<group>] "<name>" is invalid: <field>: <body>
 *   <Kind>[.<group>] "<name>" is invalid: [<field>: <body>, ...]
 * Small kind hooks (config, RBAC, leases, storage) live here too. */
#include "api/registry_int.h"

#include <stdio.h>
#include <string.h>

#define MAX_ANNOTATIONS_BYTES (256 * 1024)
#define MAX_DATA_BYTES (1024 * 1024)

/* ---- cause builders ------------------------------------------------------- */

char *sk_go_quote(const char *s)
{
    sk_buf b = SK_BUF_INIT;
    sk_buf_adds(&b, "\"");
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '"': sk_buf_adds(&b, "\\\""); break;
        case '\\': sk_buf_adds(&b, "\\\\"); break;
        case '\n': sk_buf_adds(&b, "\\n"); break;
        case '\t': sk_buf_adds(&b, "\\t"); break;
        case '\r': sk_buf_adds(&b, "\\r"); break;
        default:
            if (*p < 0x20 || *p == 0x7f) sk_buf_addf(&b, "\\x%02x", *p);
            else sk_buf_add(&b, p, 1);
        }
    }
    sk_buf_adds(&b, "\"");
    return sk_buf_take(&b);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *sk_go_string_map(const json_t *map)
{
    if (!json_is_object(map)) return sk_strdup("map[string]string(nil)");
    size_t n = json_object_size(map), k = 0;
    const char **keys = sk_calloc(n + 1, sizeof *keys), *key;
    json_t *v;
    json_object_foreach((json_t *)map, key, v) keys[k++] = key;
    qsort(keys, k, sizeof *keys, cmp_str);
    sk_buf b = SK_BUF_INIT;
    sk_buf_adds(&b, "map[string]string{");
    for (size_t i = 0; i < k; i++) {
        _sk_free_ char *qk = sk_go_quote(keys[i]);
        _sk_free_ char *qv = sk_go_quote(sk_json_str(map, keys[i]));
        sk_buf_addf(&b, "%s%s:%s", i ? ", " : "", qk, qv);
    }
    sk_buf_adds(&b, "}");
    free(keys);
    return sk_buf_take(&b);
}

void sk_verr_invalid(sk_err *err, const char *field, const char *repr, const char *detail)
{
    if (detail && *detail)
        sk_err_cause(err, "FieldValueInvalid", field, "Invalid value: %s: %s", repr, detail);
    else
        sk_err_cause(err, "FieldValueInvalid", field, "Invalid value: %s", repr);
}

void sk_verr_invalid_str(sk_err *err, const char *field, const char *value, const char *detail)
{
    _sk_free_ char *q = sk_go_quote(value);
    /* The name checks join several upstream messages with "; "; upstream
     * reports each as its own cause. */
    const char *d = detail ? detail : "", *sep;
    while ((sep = strstr(d, "; "))) {
        _sk_free_ char *one = sk_strndup(d, (size_t)(sep - d));
        sk_verr_invalid(err, field, q, one);
        d = sep + 2;
    }
    sk_verr_invalid(err, field, q, d);
}

void sk_verr_invalid_int(sk_err *err, const char *field, json_int_t v, const char *detail)
{
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)v);
    sk_verr_invalid(err, field, num, detail);
}

void sk_verr_required(sk_err *err, const char *field, const char *detail)
{
    if (detail && *detail)
        sk_err_cause(err, "FieldValueRequired", field, "Required value: %s", detail);
    else
        sk_err_cause(err, "FieldValueRequired", field, "Required value");
}

void sk_verr_forbidden(sk_err *err, const char *field, const char *detail)
{
    sk_err_cause(err, "FieldValueForbidden", field, "Forbidden: %s", detail);
}

void sk_verr_unsupported(sk_err *err, const char *field, const char *value,
                         const char *const *valid)
{
    sk_buf b = SK_BUF_INIT;
    for (size_t i = 0; valid && valid[i]; i++) {
        _sk_free_ char *q = sk_go_quote(valid[i]);
        sk_buf_addf(&b, "%s%s", i ? ", " : "", q);
    }
    _sk_free_ char *qv = sk_go_quote(value);
    sk_err_cause(err, "FieldValueNotSupported", field, "Unsupported value: %s: supported values: %s",
                 qv, b.data ? b.data : "");
    sk_buf_release(&b);
}

void sk_verr_duplicate(sk_err *err, const char *field, const char *value)
{
    _sk_free_ char *q = sk_go_quote(value);
    sk_err_cause(err, "FieldValueDuplicate", field, "Duplicate value: %s", q);
}

void sk_validate_nonneg(const json_t *obj, const char *path, sk_err *err)
{
    json_t *v = sk_json_path(obj, path);
    if (json_is_integer(v) && json_integer_value(v) < 0)
        sk_verr_invalid_int(err, path, json_integer_value(v),
                            "must be greater than or equal to 0");
}

/* ---- names ---------------------------------------------------------------- */

static const char *check_dns1035_label(const char *s)
{
    static const char msg[] =
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
        "with an alphabetic character, and end with an alphanumeric character (e.g. "
        "'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
    size_t n = strlen(s);
    if (n > 63) return "must be no more than 63 characters";
    if (!n || s[0] < 'a' || s[0] > 'z') return msg;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return msg;
    }
    return s[n - 1] == '-' ? msg : NULL;
}

static const char *check_path_segment(const char *s)
{
    if (!strcmp(s, ".")) return "may not be '.'";
    if (!strcmp(s, "..")) return "may not be '..'";
    if (strchr(s, '/')) return "may not contain '/'";
    if (strchr(s, '%')) return "may not contain '%'";
    return NULL;
}

/* Name rule per kind, as each upstream strategy's ValidateNameFunc. */
static const char *check_name(const struct sk_resource *r, const char *name)
{
    if (!strcmp(r->group, "rbac.authorization.k8s.io")) return check_path_segment(name);
    if (!r->group[0] && !strcmp(r->kind, "Service")) return check_dns1035_label(name);
    if (!r->group[0] && !strcmp(r->kind, "Namespace")) return sk_check_dns1123_label(name);
    return sk_check_dns1123_subdomain(name);
}

static void validate_labels(const json_t *labels, sk_err *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)labels, k, v) {
        const char *msg = sk_check_label_key(k);
        if (msg) sk_verr_invalid_str(err, "metadata.labels", k, msg);
        const char *val = json_is_string(v) ? json_string_value(v) : "";
        if ((msg = sk_check_label_value(val))) sk_verr_invalid_str(err, "metadata.labels", val, msg);
    }
}

static void validate_annotations(const json_t *ann, sk_err *err)
{
    const char *k;
    json_t *v;
    size_t total = 0;
    json_object_foreach((json_t *)ann, k, v) {
        char lower[320];
        size_t i;
        for (i = 0; k[i] && i < sizeof lower - 1; i++)
            lower[i] = (k[i] >= 'A' && k[i] <= 'Z') ? (char)(k[i] - 'A' + 'a') : k[i];
        lower[i] = 0;
        const char *msg = k[i] ? "name part must be no more than 63 characters"
                               : sk_check_label_key(lower);
        if (msg) sk_verr_invalid_str(err, "metadata.annotations", k, msg);
        total += strlen(k) + (json_is_string(v) ? json_string_length(v) : 0);
    }
    if (total > MAX_ANNOTATIONS_BYTES)
        sk_err_cause(err, "FieldValueTooLong", "metadata.annotations",
                     "Too long: may not be more than %d bytes", MAX_ANNOTATIONS_BYTES);
}

static void validate_meta(const struct sk_resource *r, const json_t *obj, sk_err *err)
{
    json_t *md = json_object_get(obj, "metadata");
    const char *name = sk_json_str(md, "name"), *gen = sk_json_str(md, "generateName");
    if (!name || !*name) {
        if (!gen || !*gen)
            sk_verr_required(err, "metadata.name", "name or generateName is required");
    } else {
        const char *msg = check_name(r, name);
        if (msg) sk_verr_invalid_str(err, "metadata.name", name, msg);
    }
    if (r->namespaced) {
        const char *ns = sk_json_str(md, "namespace");
        const char *msg = ns && *ns ? sk_check_dns1123_label(ns) : NULL;
        if (!ns || !*ns) sk_verr_required(err, "metadata.namespace", NULL);
        else if (msg) sk_verr_invalid_str(err, "metadata.namespace", ns, msg);
    }
    json_t *labels = json_object_get(md, "labels"), *ann = json_object_get(md, "annotations");
    if (json_is_object(labels)) validate_labels(labels, err);
    if (json_is_object(ann)) validate_annotations(ann, err);
}

/* ---- the entry point ------------------------------------------------------ */

static void format_message(const struct sk_resource *r, const json_t *obj, sk_err *err)
{
    const char *name = sk_json_path_str(obj, "metadata.name");
    _sk_free_ char *qname = sk_go_quote(name ? name : "");
    sk_buf b = SK_BUF_INIT;
    size_t i, j, uniq = 0;
    json_t *c;
    sk_buf list = SK_BUF_INIT;
    json_array_foreach(err->causes, i, c) {
        const char *f = sk_json_str(c, "field"), *m = sk_json_str(c, "message");
        bool dup = false;
        /* The aggregate prints each distinct message once. */
        for (j = 0; j < i && !dup; j++) {
            json_t *p = json_array_get(err->causes, j);
            dup = json_equal(json_object_get(p, "field"), json_object_get(c, "field")) &&
                  json_equal(json_object_get(p, "message"), json_object_get(c, "message"));
        }
        if (dup) continue;
        sk_buf_addf(&list, "%s%s%s%s", uniq++ ? ", " : "", f && *f ? f : "",
                    f && *f ? ": " : "", m ? m : "");
    }
    sk_buf_addf(&b, "%s%s%s %s is invalid: %s%s%s", r->kind, r->group[0] ? "." : "", r->group,
                qname, uniq > 1 ? "[" : "", list.data ? list.data : "", uniq > 1 ? "]" : "");
    sk_buf_release(&list);
    snprintf(err->msg, sizeof err->msg, "%s", b.data);
    err->code = SK_EINVALID;
    sk_buf_release(&b);
}

/* Virtual create-only kinds (access reviews) carry no meaningful metadata. */
static bool is_review(const struct sk_resource *r)
{
    return !strcmp(r->group, "authorization.k8s.io");
}

int sk_validate_object(const struct sk_resource *r, const json_t *obj, const json_t *old,
                       sk_err *err)
{
    sk_err v = SK_ERR_INIT;
    if (!r || !json_is_object(obj))
        return sk_err_set(err, SK_EBADREQUEST, "object must be a JSON object");
    if (!is_review(r)) validate_meta(r, obj, &v);
    if (r->validate) r->validate(obj, json_is_object(old) ? old : NULL, &v);
    if (!json_array_size(v.causes)) {
        sk_err_clear(&v);
        return 0;
    }
    if (!err) {
        sk_err_clear(&v);
        return -1;
    }
    json_decref(err->causes);
    err->causes = SK_TAKE(v.causes);
    format_message(r, obj, err);
    return -1;
}

/* ---- config objects ------------------------------------------------------- */

static const char *check_config_key(const char *k)
{
    size_t n = strlen(k);
    if (!n || n > 253) return n ? "must be no more than 253 characters" :
        "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
    for (size_t i = 0; i < n; i++) {
        char c = k[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
    }
    if (!strcmp(k, ".")) return "must not be '.'";
    if (!strcmp(k, "..")) return "must not be '..'";
    if (!strncmp(k, "..", 2)) return "must not start with '..'";
    return NULL;
}

static size_t validate_keys(const json_t *obj, const char *bag, const char *other, sk_err *err)
{
    const char *k;
    json_t *v, *data = json_object_get(obj, bag), *odata = json_object_get(obj, other);
    size_t total = 0;
    json_object_foreach(data, k, v) {
        _sk_free_ char *path = sk_printf("%s[%s]", bag, k);
        const char *msg = check_config_key(k);
        if (msg) sk_verr_invalid_str(err, path, k, msg);
        if (other && json_object_get(odata, k))
            sk_verr_invalid_str(err, path, k, !strcmp(bag, "data")
                                ? "duplicate of key present in binaryData"
                                : "duplicate of key present in data");
        total += json_is_string(v) ? json_string_length(v) : 0;
    }
    return total;
}

/* Immutable ConfigMaps and Secrets: data and the flag itself are frozen. */
static void validate_immutable(const json_t *obj, const json_t *old, const char *const *bags,
                               sk_err *err)
{
    if (!old || !json_is_true(json_object_get(old, "immutable"))) return;
    static const char msg[] = "field is immutable when `immutable` is set";
    if (!json_is_true(json_object_get(obj, "immutable"))) sk_verr_forbidden(err, "immutable", msg);
    for (size_t i = 0; bags[i]; i++) {
        json_t *a = json_object_get(obj, bags[i]), *b = json_object_get(old, bags[i]);
        bool ea = !json_object_size(a), eb = !json_object_size(b);
        if (!(ea && eb) && !(a && b && json_equal(a, b))) sk_verr_forbidden(err, bags[i], msg);
    }
}

void sk_validate_cm(const json_t *cm, const json_t *old, sk_err *err)
{
    static const char *const bags[] = {"data", "binaryData", NULL};
    size_t total = validate_keys(cm, "data", "binaryData", err) +
                   validate_keys(cm, "binaryData", "data", err);
    if (total > MAX_DATA_BYTES)
        sk_err_cause(err, "FieldValueTooLong", "", "Too long: may not be more than %d bytes",
                     MAX_DATA_BYTES);
    validate_immutable(cm, old, bags, err);
}

void sk_validate_secret(const json_t *s, const json_t *old, sk_err *err)
{
    static const char *const bags[] = {"data", NULL};
    json_t *data = json_object_get(s, "data");
    const char *type = sk_json_str(s, "type") ?: "";
    if (validate_keys(s, "data", NULL, err) > MAX_DATA_BYTES * 4 / 3 + 4)
        sk_err_cause(err, "FieldValueTooLong", "data", "Too long: may not be more than %d bytes",
                     MAX_DATA_BYTES);
    static const struct { const char *type, *keys[3]; } needs[] = {
        {"kubernetes.io/dockercfg", {".dockercfg"}},
        {"kubernetes.io/dockerconfigjson", {".dockerconfigjson"}},
        {"kubernetes.io/tls", {"tls.crt", "tls.key"}},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(needs); i++) {
        if (strcmp(type, needs[i].type)) continue;
        for (size_t j = 0; needs[i].keys[j]; j++)
            if (!json_object_get(data, needs[i].keys[j])) {
                _sk_free_ char *p = sk_printf("data[%s]", needs[i].keys[j]);
                sk_verr_required(err, p, NULL);
            }
    }
    if (old) {
        const char *otype = sk_json_str(old, "type") ?: "";
        if (strcmp(type, otype)) sk_verr_invalid_str(err, "type", type, "field is immutable");
    }
    validate_immutable(s, old, bags, err);
}

void sk_validate_ns(const json_t *ns, const json_t *old, sk_err *err)
{
    size_t i;
    json_t *f;
    json_array_foreach(sk_json_path(ns, "spec.finalizers"), i, f) {
        const char *name = json_is_string(f) ? json_string_value(f) : "";
        const char *msg = strchr(name, '/') ? sk_check_label_key(name) : NULL;
        if (msg) sk_verr_invalid_str(err, "spec.finalizers", name, msg);
    }
}

/* ---- leases, RBAC, storage ------------------------------------------------ */

void sk_validate_lease(const json_t *l, const json_t *old, sk_err *err)
{
    json_t *d = sk_json_path(l, "spec.leaseDurationSeconds");
    if (json_is_integer(d) && json_integer_value(d) <= 0)
        sk_verr_invalid_int(err, "spec.leaseDurationSeconds", json_integer_value(d),
                            "must be greater than 0");
    sk_validate_nonneg(l, "spec.leaseTransitions", err);
}

void sk_validate_role(const json_t *role, const json_t *old, sk_err *err)
{
    size_t i;
    json_t *rule;
    json_array_foreach(json_object_get(role, "rules"), i, rule) {
        char p[64];
        if (!json_array_size(json_object_get(rule, "verbs"))) {
            snprintf(p, sizeof p, "rules[%zu].verbs", i);
            sk_verr_required(err, p, "verbs must contain at least one value");
        }
        bool nonres = json_array_size(json_object_get(rule, "nonResourceURLs")) > 0;
        if (!nonres && !json_array_size(json_object_get(rule, "apiGroups"))) {
            snprintf(p, sizeof p, "rules[%zu].apiGroups", i);
            sk_verr_required(err, p, "resource rules must supply at least one api group");
        }
    }
}

static void validate_binding(const json_t *b, const json_t *old, bool cluster, sk_err *err)
{
    static const char *const kinds_rb[] = {"Role", "ClusterRole", NULL};
    static const char *const kinds_crb[] = {"ClusterRole", NULL};
    static const char *const groups[] = {"rbac.authorization.k8s.io", NULL};
    static const char *const subj[] = {"ServiceAccount", "User", "Group", NULL};
    json_t *ref = json_object_get(b, "roleRef"), *s;
    const char *kind = sk_json_str(ref, "kind") ?: "", *grp = sk_json_str(ref, "apiGroup") ?: "";
    size_t i;
    if (strcmp(grp, "rbac.authorization.k8s.io")) sk_verr_unsupported(err, "roleRef.apiGroup", grp, groups);
    if (strcmp(kind, "ClusterRole") && (cluster || strcmp(kind, "Role")))
        sk_verr_unsupported(err, "roleRef.kind", kind, cluster ? kinds_crb : kinds_rb);
    if (!*(sk_json_str(ref, "name") ?: "")) sk_verr_required(err, "roleRef.name", NULL);
    json_array_foreach(json_object_get(b, "subjects"), i, s) {
        char p[64];
        const char *sk = sk_json_str(s, "kind") ?: "";
        if (!*(sk_json_str(s, "name") ?: "")) {
            snprintf(p, sizeof p, "subjects[%zu].name", i);
            sk_verr_required(err, p, NULL);
        }
        snprintf(p, sizeof p, "subjects[%zu].kind", i);
        bool known = false;
        for (size_t k = 0; subj[k]; k++) known |= !strcmp(sk, subj[k]);
        if (!known) sk_verr_unsupported(err, p, sk, subj);
        if (cluster && !strcmp(sk, "ServiceAccount") && !*(sk_json_str(s, "namespace") ?: "")) {
            snprintf(p, sizeof p, "subjects[%zu].namespace", i);
            sk_verr_required(err, p, NULL);
        }
    }
    json_t *oref = old ? json_object_get(old, "roleRef") : NULL;
    if (oref && !json_equal(oref, ref)) {
        _sk_free_ char *g = sk_go_quote(grp), *k = sk_go_quote(kind);
        _sk_free_ char *n = sk_go_quote(sk_json_str(ref, "name"));
        _sk_free_ char *repr = sk_printf("rbac.RoleRef{APIGroup:%s, Kind:%s, Name:%s}", g, k, n);
        sk_verr_invalid(err, "roleRef", repr, "cannot change roleRef");
    }
}

void sk_validate_rb(const json_t *b, const json_t *old, sk_err *err) { validate_binding(b, old, false, err); }
void sk_validate_crb(const json_t *b, const json_t *old, sk_err *err) { validate_binding(b, old, true, err); }

void sk_validate_eps(const json_t *eps, const json_t *old, sk_err *err)
{
    static const char *const types[] = {"IPv4", "IPv6", "FQDN", NULL};
    const char *t = sk_json_str(eps, "addressType");
    if (!t || !*t) sk_verr_required(err, "addressType", NULL);
    else if (strcmp(t, "IPv4") && strcmp(t, "IPv6") && strcmp(t, "FQDN"))
        sk_verr_unsupported(err, "addressType", t, types);
    else if (old && strcmp(t, sk_json_str(old, "addressType") ?: ""))
        sk_verr_invalid_str(err, "addressType", t, "field is immutable");
}

void sk_validate_pvc(const json_t *pvc, const json_t *old, sk_err *err)
{
    if (!json_array_size(sk_json_path(pvc, "spec.accessModes")))
        sk_verr_required(err, "spec.accessModes", "at least 1 access mode is required");
    if (!sk_json_path(pvc, "spec.resources.requests.storage"))
        sk_verr_required(err, "spec.resources[storage]", NULL);
}

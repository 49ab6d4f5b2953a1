/* Validation of workload controllers, jobs and services, with upstream's
 * field paths and messages (pkg/apis/{apps,batch,core}/validation).
 * Partial: rolling-update parameters, pod failure policies and service
 * IP-family rules are not checked. */
#include "api/registry_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static bool nonempty(const char *s) { return s && *s; }

static bool in_list(const char *v, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (!strcmp(v, list[i])) return true;
    return false;
}

/* ---- label selectors ------------------------------------------------------ */

/* Go's %#v of a *metav1.LabelSelector (dereferenced by the error printer). */
static char *go_label_selector(const json_t *sel)
{
    json_t *ml = json_object_get(sel, "matchLabels"), *me = json_object_get(sel, "matchExpressions");
    _sk_free_ char *labels = sk_go_string_map(json_is_object(ml) ? ml : NULL);
    sk_buf b = SK_BUF_INIT;
    sk_buf_addf(&b, "v1.LabelSelector{MatchLabels:%s, MatchExpressions:", labels);
    if (!json_is_array(me)) {
        sk_buf_adds(&b, "[]v1.LabelSelectorRequirement(nil)}");
        return sk_buf_take(&b);
    }
    sk_buf_adds(&b, "[]v1.LabelSelectorRequirement{");
    size_t i, j;
    json_t *e, *v;
    json_array_foreach(me, i, e) {
        _sk_free_ char *k = sk_go_quote(sk_json_str(e, "key"));
        _sk_free_ char *op = sk_go_quote(sk_json_str(e, "operator"));
        sk_buf_addf(&b, "%sv1.LabelSelectorRequirement{Key:%s, Operator:%s, Values:", i ? ", " : "",
                    k, op);
        json_t *vals = json_object_get(e, "values");
        if (!json_is_array(vals)) {
            sk_buf_adds(&b, "[]string(nil)}");
            continue;
        }
        sk_buf_adds(&b, "[]string{");
        json_array_foreach(vals, j, v) {
            _sk_free_ char *q = sk_go_quote(json_string_value(v));
            sk_buf_addf(&b, "%s%s", j ? ", " : "", q);
        }
        sk_buf_adds(&b, "}}");
    }
    sk_buf_adds(&b, "}}");
    return sk_buf_take(&b);
}

/* ValidateLabelSelector; returns false when the selector is unusable. */
static bool validate_selector(const json_t *sel, const char *path, sk_err *err)
{
    bool ok = true;
    const char *k;
    json_t *v, *e;
    size_t i;
    char p[192];
    snprintf(p, sizeof p, "%s.matchLabels", path);
    json_object_foreach(json_object_get(sel, "matchLabels"), k, v) {
        const char *msg = sk_check_label_key(k), *val = json_is_string(v) ? json_string_value(v) : "";
        if (msg) { sk_verr_invalid_str(err, p, k, msg); ok = false; }
        if ((msg = sk_check_label_value(val))) { sk_verr_invalid_str(err, p, val, msg); ok = false; }
    }
    json_array_foreach(json_object_get(sel, "matchExpressions"), i, e) {
        const char *op = sk_json_str(e, "operator") ?: "", *key = sk_json_str(e, "key") ?: "";
        size_t nv = json_array_size(json_object_get(e, "values"));
        bool set_op = !strcmp(op, "In") || !strcmp(op, "NotIn");
        bool exists_op = !strcmp(op, "Exists") || !strcmp(op, "DoesNotExist");
        if (set_op && !nv) {
            snprintf(p, sizeof p, "%s.matchExpressions[%zu].values", path, i);
            sk_verr_required(err, p, "must be specified when `operator` is 'In' or 'NotIn'");
            ok = false;
        } else if (exists_op && nv) {
            snprintf(p, sizeof p, "%s.matchExpressions[%zu].values", path, i);
            sk_verr_forbidden(err, p, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
            ok = false;
        } else if (!set_op && !exists_op) {
            snprintf(p, sizeof p, "%s.matchExpressions[%zu].operator", path, i);
            sk_verr_invalid_str(err, p, op, "not a valid selector operator");
            ok = false;
        }
        snprintf(p, sizeof p, "%s.matchExpressions[%zu].key", path, i);
        const char *msg = sk_check_label_key(key);
        if (msg) { sk_verr_invalid_str(err, p, key, msg); ok = false; }
    }
    return ok;
}

static bool selector_empty(const json_t *sel)
{
    return !json_object_size(json_object_get(sel, "matchLabels")) &&
           !json_array_size(json_object_get(sel, "matchExpressions"));
}

static void validate_template_labels(const json_t *tmpl, const char *path, sk_err *err)
{
    const char *k;
    json_t *v;
    json_object_foreach(sk_json_path(tmpl, "metadata.labels"), k, v) {
        const char *msg = sk_check_label_key(k), *val = json_is_string(v) ? json_string_value(v) : "";
        if (msg) sk_verr_invalid_str(err, path, k, msg);
        if ((msg = sk_check_label_value(val))) sk_verr_invalid_str(err, path, val, msg);
    }
}

/* The template's labels must be selected by the controller's selector. */
static void check_selects_template(const json_t *sel, const json_t *tmpl, const char *path,
                                   sk_err *err)
{
    sk_err e = SK_ERR_INIT;
    sk_selector *s = sk_selector_from_json(sel, &e);
    json_t *labels = sk_json_path(tmpl, "metadata.labels");
    if (s && !sk_selector_empty(s) && !sk_selector_match(s, json_is_object(labels) ? labels : NULL)) {
        _sk_free_ char *repr = sk_go_string_map(json_is_object(labels) ? labels : NULL);
        sk_verr_invalid(err, path, repr, "`selector` does not match template `labels`");
    }
    sk_selector_free(s);
    sk_err_clear(&e);
}

/* Selector + template rules shared by Deployment, ReplicaSet, StatefulSet,
 * DaemonSet; `what` names the kind in the empty-selector message. */
static void validate_controller(const json_t *obj, const json_t *old, const char *what, sk_err *err)
{
    json_t *sel = sk_json_path(obj, "spec.selector"), *tmpl = sk_json_path(obj, "spec.template");
    bool usable = false;
    if (!json_is_object(sel)) {
        sk_verr_required(err, "spec.selector", NULL);
    } else {
        usable = validate_selector(sel, "spec.selector", err);
        if (selector_empty(sel)) {
            _sk_free_ char *repr = go_label_selector(sel);
            _sk_free_ char *msg = sk_printf("empty selector is invalid for %s", what);
            sk_verr_invalid(err, "spec.selector", repr, msg);
            usable = false;
        }
    }
    if (!json_is_object(tmpl)) {
        sk_verr_required(err, "spec.template", NULL);
    } else {
        if (usable) check_selects_template(sel, tmpl, "spec.template.metadata.labels", err);
        validate_template_labels(tmpl, "spec.template.metadata.labels", err);
        json_t *spec = json_object_get(tmpl, "spec");
        sk_validate_pod_spec(json_is_object(spec) ? spec : NULL, "spec.template.spec", err);
        static const char *const always[] = {"Always", NULL};
        const char *rp = sk_json_str(spec, "restartPolicy");
        if (nonempty(rp) && strcmp(rp, "Always"))
            sk_verr_unsupported(err, "spec.template.spec.restartPolicy", rp, always);
        json_t *ads = json_object_get(spec, "activeDeadlineSeconds");
        if (json_is_integer(ads))
            sk_verr_invalid_int(err, "spec.template.spec.activeDeadlineSeconds",
                                json_integer_value(ads),
                                "activeDeadlineSeconds in ReplicaSet is not Supported");
    }
    json_t *osel = old ? sk_json_path(old, "spec.selector") : NULL;
    if (osel && sel && !json_equal(osel, sel)) {
        _sk_free_ char *repr = go_label_selector(sel);
        sk_verr_invalid(err, "spec.selector", repr, "field is immutable");
    }
}

/* ---- apps ----------------------------------------------------------------- */

void sk_validate_deploy(const json_t *d, const json_t *old, sk_err *err)
{
    static const char *const types[] = {"Recreate", "RollingUpdate", NULL};
    sk_validate_nonneg(d, "spec.replicas", err);
    validate_controller(d, old, "deployment", err);
    json_t *st = sk_json_path(d, "spec.strategy");
    const char *type = sk_json_str(st, "type");
    if (type && strcmp(type, "Recreate") && strcmp(type, "RollingUpdate"))
        sk_verr_unsupported(err, "spec.strategy.type", type, types);
    if (type && !strcmp(type, "Recreate") && json_is_object(json_object_get(st, "rollingUpdate")))
        sk_verr_forbidden(err, "spec.strategy.rollingUpdate",
                          "may not be specified when strategy `type` is 'Recreate'");
    sk_validate_nonneg(d, "spec.minReadySeconds", err);
    sk_validate_nonneg(d, "spec.revisionHistoryLimit", err);
    json_t *pds = sk_json_path(d, "spec.progressDeadlineSeconds");
    json_int_t mrs = sk_path_int(d, "spec.minReadySeconds", 0);
    if (json_is_integer(pds) && json_integer_value(pds) <= mrs)
        sk_verr_invalid_int(err, "spec.progressDeadlineSeconds", json_integer_value(pds),
                            "must be greater than minReadySeconds");
}

void sk_validate_rs(const json_t *rs, const json_t *old, sk_err *err)
{
    sk_validate_nonneg(rs, "spec.replicas", err);
    sk_validate_nonneg(rs, "spec.minReadySeconds", err);
    /* Upstream's ReplicaSet check reuses the Deployment wording. */
    validate_controller(rs, old, "deployment", err);
}

/* Fields of a StatefulSet spec that may change after creation. */
static void validate_sts_update(const json_t *s, const json_t *old, sk_err *err)
{
    static const char *const mutable_fields[] = {
        "replicas", "ordinals", "template", "updateStrategy",
        "persistentVolumeClaimRetentionPolicy", "minReadySeconds",
    };
    json_t *ns = json_object_get(s, "spec"), *os = json_object_get(old, "spec");
    if (!json_is_object(ns) || !json_is_object(os)) return;
    _sk_json_ json_t *a = json_deep_copy(ns);
    _sk_json_ json_t *b = json_deep_copy(os);
    for (size_t i = 0; i < SK_ARRAY_LEN(mutable_fields); i++) {
        json_object_del(a, mutable_fields[i]);
        json_object_del(b, mutable_fields[i]);
    }
    if (!json_equal(a, b))
        sk_verr_forbidden(err, "spec",
                          "updates to statefulset spec for fields other than 'replicas', "
                          "'ordinals', 'template', 'updateStrategy', "
                          "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are "
                          "forbidden");
}

void sk_validate_sts(const json_t *s, const json_t *old, sk_err *err)
{
    static const char *const pmp[] = {"OrderedReady", "Parallel", NULL};
    static const char *const ust[] = {"RollingUpdate", "OnDelete", NULL};
    sk_validate_nonneg(s, "spec.replicas", err);
    validate_controller(s, NULL, "statefulset", err);
    const char *p = sk_json_path_str(s, "spec.podManagementPolicy");
    if (p && strcmp(p, "OrderedReady") && strcmp(p, "Parallel"))
        sk_verr_unsupported(err, "spec.podManagementPolicy", p, pmp);
    const char *u = sk_json_path_str(s, "spec.updateStrategy.type");
    if (u && strcmp(u, "RollingUpdate") && strcmp(u, "OnDelete"))
        sk_verr_unsupported(err, "spec.updateStrategy.type", u, ust);
    if (old) validate_sts_update(s, old, err);
}

void sk_validate_ds(const json_t *ds, const json_t *old, sk_err *err)
{
    static const char *const ust[] = {"OnDelete", "RollingUpdate", NULL};
    validate_controller(ds, old, "daemonset", err);
    const char *u = sk_json_path_str(ds, "spec.updateStrategy.type");
    if (u && strcmp(u, "RollingUpdate") && strcmp(u, "OnDelete"))
        sk_verr_unsupported(err, "spec.updateStrategy.type", u, ust);
    sk_validate_nonneg(ds, "spec.minReadySeconds", err);
    sk_validate_nonneg(ds, "spec.revisionHistoryLimit", err);
}

/* ---- batch ---------------------------------------------------------------- */

static void validate_job_template(const json_t *jspec, const char *prefix, sk_err *err)
{
    char path[192];
    json_t *tmpl = json_object_get(jspec, "template"), *pspec = json_object_get(tmpl, "spec");
    snprintf(path, sizeof path, "%s.template.metadata.labels", prefix);
    validate_template_labels(tmpl, path, err);
    snprintf(path, sizeof path, "%s.template.spec", prefix);
    sk_validate_pod_spec(json_is_object(pspec) ? pspec : NULL, path, err);
    const char *rp = sk_json_str(pspec, "restartPolicy") ?: "";
    if (strcmp(rp, "OnFailure") && strcmp(rp, "Never")) {
        snprintf(path, sizeof path, "%s.template.spec.restartPolicy", prefix);
        sk_verr_required(err, path, "valid values: \"OnFailure\", \"Never\"");
    }
    static const char *const nonneg[] = {"parallelism", "completions", "backoffLimit"};
    for (size_t i = 0; i < SK_ARRAY_LEN(nonneg); i++) {
        json_t *v = json_object_get(jspec, nonneg[i]);
        if (!json_is_integer(v) || json_integer_value(v) >= 0) continue;
        snprintf(path, sizeof path, "%s.%s", prefix, nonneg[i]);
        sk_verr_invalid_int(err, path, json_integer_value(v), "must be greater than or equal to 0");
    }
    static const char *const modes[] = {"NonIndexed", "Indexed", NULL};
    const char *cm = sk_json_str(jspec, "completionMode");
    if (cm && strcmp(cm, "NonIndexed") && strcmp(cm, "Indexed")) {
        snprintf(path, sizeof path, "%s.completionMode", prefix);
        sk_verr_unsupported(err, path, cm, modes);
    }
}

static void immutable_field(const json_t *obj, const json_t *old, const char *path, sk_err *err)
{
    json_t *a = sk_json_path(obj, path), *b = sk_json_path(old, path);
    if (!a || !b || json_equal(a, b)) return;
    if (json_is_integer(a)) sk_verr_invalid_int(err, path, json_integer_value(a), "field is immutable");
    else if (json_is_string(a)) sk_verr_invalid_str(err, path, json_string_value(a), "field is immutable");
    else if (!strcmp(path, "spec.selector")) {
        _sk_free_ char *repr = go_label_selector(a);
        sk_verr_invalid(err, path, repr, "field is immutable");
    }
}

void sk_validate_job(const json_t *job, const json_t *old, sk_err *err)
{
    json_t *spec = json_object_get(job, "spec");
    validate_job_template(spec, "spec", err);
    json_t *sel = json_object_get(spec, "selector");
    if (json_is_object(sel)) {
        if (validate_selector(sel, "spec.selector", err))
            check_selects_template(sel, json_object_get(spec, "template"),
                                   "spec.template.metadata.labels", err);
    } else if (nonempty(sk_json_path_str(job, "metadata.uid"))) {
        /* Without a uid the selector cannot have been generated yet. */
        sk_verr_required(err, "spec.selector", NULL);
    }
    json_t *ads = json_object_get(spec, "activeDeadlineSeconds");
    if (json_is_integer(ads) && json_integer_value(ads) <= 0)
        sk_verr_invalid_int(err, "spec.activeDeadlineSeconds", json_integer_value(ads),
                            "must be greater than 0");
    if (old) {
        immutable_field(job, old, "spec.selector", err);
        immutable_field(job, old, "spec.completionMode", err);
        const char *mode = sk_json_path_str(job, "spec.completionMode");
        if (!mode || strcmp(mode, "Indexed"))
            immutable_field(job, old, "spec.completions", err);
    }
}

/* Standard cron: five fields, or one of the @ descriptors. */
static const char *check_schedule(const char *s)
{
    static const char *const macros[] = {"@yearly", "@annually", "@monthly", "@weekly",
                                         "@daily", "@midnight", "@hourly", NULL};
    if (s[0] == '@') {
        for (size_t i = 0; macros[i]; i++)
            if (!strcmp(s, macros[i])) return NULL;
        if (!strncmp(s, "@every ", 7)) return NULL;
        return "unrecognized descriptor";
    }
    int n = 0;
    for (const char *p = s; *p;) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) break;
        n++;
        while (*p && *p != ' ' && *p != '\t') p++;
    }
    return n == 5 ? NULL : "fields";
}

void sk_validate_cj(const json_t *cj, const json_t *old, sk_err *err)
{
    static const char *const cps[] = {"Allow", "Forbid", "Replace", NULL};
    json_t *spec = json_object_get(cj, "spec");
    const char *sched = sk_json_str(spec, "schedule");
    if (!nonempty(sched)) {
        sk_verr_required(err, "spec.schedule", NULL);
    } else {
        const char *why = check_schedule(sched);
        if (why && !strcmp(why, "fields")) {
            int n = 0;
            for (const char *p = sched; *p;) {
                while (*p == ' ') p++;
                if (!*p) break;
                n++;
                while (*p && *p != ' ') p++;
            }
            _sk_free_ char *msg = sk_printf("Expected exactly 5 fields, found %d: %s", n, sched);
            sk_verr_invalid_str(err, "spec.schedule", sched, msg);
        } else if (why) {
            _sk_free_ char *msg = sk_printf("unrecognized descriptor: %s", sched);
            sk_verr_invalid_str(err, "spec.schedule", sched, msg);
        }
    }
    const char *cp = sk_json_str(spec, "concurrencyPolicy");
    if (cp && strcmp(cp, "Allow") && strcmp(cp, "Forbid") && strcmp(cp, "Replace"))
        sk_verr_unsupported(err, "spec.concurrencyPolicy", cp, cps);
    sk_validate_nonneg(cj, "spec.successfulJobsHistoryLimit", err);
    sk_validate_nonneg(cj, "spec.failedJobsHistoryLimit", err);
    validate_job_template(sk_json_path(cj, "spec.jobTemplate.spec"), "spec.jobTemplate.spec", err);
}

/* ---- services ------------------------------------------------------------- */

static bool valid_ip(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static void validate_svc_port(const json_t *p, size_t i, size_t nports, const char *type,
                              const json_t *ports, sk_err *err)
{
    static const char *const protos[] = {"SCTP", "TCP", "UDP", NULL};
    char path[96];
    const char *name = sk_json_str(p, "name");
    snprintf(path, sizeof path, "spec.ports[%zu].name", i);
    if (nports > 1 && !nonempty(name)) sk_verr_required(err, path, NULL);
    if (nonempty(name)) {
        const char *msg = sk_check_dns1123_label(name);
        if (msg) sk_verr_invalid_str(err, path, name, msg);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(sk_json_str(json_array_get(ports, j), "name") ?: "", name)) {
                sk_verr_duplicate(err, path, name);
                break;
            }
    }
    json_int_t port = sk_path_int(p, "port", 0);
    snprintf(path, sizeof path, "spec.ports[%zu].port", i);
    if (port < 1 || port > 65535)
        sk_verr_invalid_int(err, path, port, "must be between 1 and 65535, inclusive");
    snprintf(path, sizeof path, "spec.ports[%zu].protocol", i);
    const char *proto = sk_json_str(p, "protocol");
    if (!nonempty(proto)) sk_verr_required(err, path, NULL);
    else if (strcmp(proto, "TCP") && strcmp(proto, "UDP") && strcmp(proto, "SCTP"))
        sk_verr_unsupported(err, path, proto, protos);
    json_t *tp = json_object_get(p, "targetPort");
    snprintf(path, sizeof path, "spec.ports[%zu].targetPort", i);
    if (json_is_integer(tp) && (json_integer_value(tp) < 1 || json_integer_value(tp) > 65535))
        sk_verr_invalid_int(err, path, json_integer_value(tp), "must be between 1 and 65535, inclusive");
    json_int_t np = sk_path_int(p, "nodePort", 0);
    snprintf(path, sizeof path, "spec.ports[%zu].nodePort", i);
    if (np && !strcmp(type, "ClusterIP"))
        sk_verr_forbidden(err, path, "may not be used when `type` is 'ClusterIP'");
    else if (np && (np < 30000 || np > 32767))
        sk_verr_invalid_int(err, path, np, "provided port is not in the valid range. The range of valid ports is 30000-32767");
}

static void validate_svc_update(const json_t *svc, const json_t *old, const char *type, sk_err *err)
{
    const char *otype = sk_json_path_str(old, "spec.type") ?: "ClusterIP";
    if (!strcmp(type, "ExternalName") || !strcmp(otype, "ExternalName")) return;
    json_t *oips = sk_json_path(old, "spec.clusterIPs"), *nips = sk_json_path(svc, "spec.clusterIPs");
    const char *o = json_string_value(json_array_get(oips, 0));
    const char *n = json_string_value(json_array_get(nips, 0));
    if (!o) o = sk_json_path_str(old, "spec.clusterIP");
    if (!n) n = sk_json_path_str(svc, "spec.clusterIP");
    if (!nonempty(o) || !n || !strcmp(o, n)) return;
    _sk_free_ char *q = sk_go_quote(n);
    _sk_free_ char *repr = sk_printf("[]string{%s}", q);
    sk_verr_invalid(err, "spec.clusterIPs[0]", repr, "may not change once set");
}

void sk_validate_svc(const json_t *svc, const json_t *old, sk_err *err)
{
    static const char *const types[] = {"ClusterIP", "ExternalName", "LoadBalancer", "NodePort", NULL};
    static const char *const aff[] = {"ClientIP", "None", NULL};
    json_t *spec = json_object_get(svc, "spec"), *ports = json_object_get(spec, "ports"), *p;
    const char *type = sk_json_str(spec, "type") ?: "ClusterIP";
    const char *cip = sk_json_str(spec, "clusterIP");
    bool external = !strcmp(type, "ExternalName"), headless = cip && !strcmp(cip, "None");
    size_t i;
    if (!in_list(type, types)) sk_verr_unsupported(err, "spec.type", type, types);
    if (!json_array_size(ports) && !external && !headless) sk_verr_required(err, "spec.ports", NULL);
    json_array_foreach(ports, i, p) validate_svc_port(p, i, json_array_size(ports), type, ports, err);
    if (external) {
        const char *en = sk_json_str(spec, "externalName");
        if (!nonempty(en)) sk_verr_required(err, "spec.externalName", NULL);
        else if (sk_check_dns1123_subdomain(en))
            sk_verr_invalid_str(err, "spec.externalName", en, sk_check_dns1123_subdomain(en));
    }
    if (nonempty(cip) && !headless && !valid_ip(cip))
        sk_verr_invalid_str(err, "spec.clusterIPs[0]", cip,
                            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)");
    const char *sa = sk_json_str(spec, "sessionAffinity");
    if (sa && strcmp(sa, "ClientIP") && strcmp(sa, "None"))
        sk_verr_unsupported(err, "spec.sessionAffinity", sa, aff);
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(spec, "selector"), k, v) {
        const char *msg = sk_check_label_key(k), *val = json_is_string(v) ? json_string_value(v) : "";
        if (msg) sk_verr_invalid_str(err, "spec.selector", k, msg);
        if ((msg = sk_check_label_value(val))) sk_verr_invalid_str(err, "spec.selector", val, msg);
    }
    if (old) validate_svc_update(svc, old, type, err);
}

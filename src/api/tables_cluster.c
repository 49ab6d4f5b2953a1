/* Table rows for cluster-infrastructure core kinds: nodes, namespaces,
 * events, config and storage objects (upstream printers semantics). */
#include "api/registry_int.h"

#include <stdio.h>
#include <string.h>

#define D_NAME "Name must be unique within a namespace."
#define D_AGE "CreationTimestamp is a timestamp representing the server time when this object was created."
#define NAME_COL {"Name", "string", "name", 0, D_NAME}
#define AGE_COL {"Age", "string", "", 0, D_AGE}

static bool nonempty(const char *s) { return s && *s; }

/* ---- nodes ---------------------------------------------------------------- */

const struct sk_column sk_cols_node[SK_NCOLS_NODE] = {
    NAME_COL,
    {"Status", "string", "", 0, "The status of the node"},
    {"Roles", "string", "", 0, "The roles of the node"},
    AGE_COL,
    {"Version", "string", "", 0, "Kubelet Version reported by the node."},
    {"Internal-IP", "string", "", 1, "List of addresses reachable to the node."},
    {"External-IP", "string", "", 1, "List of addresses reachable to the node."},
    {"OS-Image", "string", "", 1, "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy))."},
    {"Kernel-Version", "string", "", 1, "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64)."},
    {"Container-Runtime", "string", "", 1, "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2)."},
};

static const char *node_address(const json_t *node, const char *type)
{
    size_t i;
    json_t *a;
    json_array_foreach(sk_json_path(node, "status.addresses"), i, a) {
        const char *t = sk_json_str(a, "type");
        if (t && !strcmp(t, type)) return sk_json_str(a, "address") ?: "";
    }
    return "<none>";
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Roles from node-role.kubernetes.io/<role> keys and kubernetes.io/role
 * values, sorted and unique. */
static char *node_roles(const json_t *node)
{
    json_t *labels = sk_json_path(node, "metadata.labels"), *v;
    const char *k, *prefix = "node-role.kubernetes.io/";
    size_t n = 0, plen = strlen(prefix);
    const char **roles = sk_calloc(json_object_size(labels) + 1, sizeof *roles);
    json_object_foreach(labels, k, v) {
        if (!strncmp(k, prefix, plen) && k[plen]) roles[n++] = k + plen;
        else if (!strcmp(k, "kubernetes.io/role") && nonempty(json_string_value(v)))
            roles[n++] = json_string_value(v);
    }
    qsort(roles, n, sizeof *roles, cmp_str);
    sk_buf b = SK_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        if (i && !strcmp(roles[i], roles[i - 1])) continue;
        if (b.len) sk_buf_adds(&b, ",");
        sk_buf_adds(&b, roles[i]);
    }
    free(roles);
    return b.len ? sk_buf_take(&b) : sk_strdup("<none>");
}

static const char *or_unknown(const char *s) { return nonempty(s) ? s : "<unknown>"; }

void sk_row_node(const struct sk_resource *r, const json_t *node, json_t *cells, int64_t now)
{
    char status[64] = "Unknown";
    size_t i;
    json_t *c, *info = sk_json_path(node, "status.nodeInfo");
    json_array_foreach(sk_json_path(node, "status.conditions"), i, c) {
        const char *t = sk_json_str(c, "type"), *s = sk_json_str(c, "status");
        if (!t || strcmp(t, "Ready")) continue;
        snprintf(status, sizeof status, "%s", s && !strcmp(s, "True") ? "Ready" : "NotReady");
    }
    if (json_is_true(sk_json_path(node, "spec.unschedulable")))
        snprintf(status + strlen(status), sizeof status - strlen(status), ",SchedulingDisabled");
    _sk_free_ char *roles = node_roles(node);
    sk_cell_str(cells, sk_json_path_str(node, "metadata.name"));
    sk_cell_str(cells, status);
    sk_cell_str(cells, roles);
    sk_cell_age(cells, node, now);
    sk_cell_str(cells, sk_json_str(info, "kubeletVersion"));
    sk_cell_str(cells, node_address(node, "InternalIP"));
    sk_cell_str(cells, node_address(node, "ExternalIP"));
    sk_cell_str(cells, or_unknown(sk_json_str(info, "osImage")));
    sk_cell_str(cells, or_unknown(sk_json_str(info, "kernelVersion")));
    sk_cell_str(cells, or_unknown(sk_json_str(info, "containerRuntimeVersion")));
}

/* ---- namespaces ----------------------------------------------------------- */

const struct sk_column sk_cols_ns[SK_NCOLS_NS] = {
    NAME_COL,
    {"Status", "string", "", 0, "The status of the namespace"},
    AGE_COL,
};

void sk_row_ns(const struct sk_resource *r, const json_t *ns, json_t *cells, int64_t now)
{
    sk_cell_str(cells, sk_json_path_str(ns, "metadata.name"));
    sk_cell_str(cells, sk_json_path_str(ns, "status.phase"));
    sk_cell_age(cells, ns, now);
}

/* ---- events --------------------------------------------------------------- */

const struct sk_column sk_cols_event[SK_NCOLS_EVENT] = {
    {"Last Seen", "string", "", 0, "The time at which the most recent occurrence of this event was recorded."},
    {"Type", "string", "", 0, "Type of this event (Normal, Warning), new types could be added in the future"},
    {"Reason", "string", "", 0, "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."},
    {"Object", "string", "", 0, "The object that this event is about."},
    {"Subobject", "string", "", 1, "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]."},
    {"Source", "string", "", 1, "The component reporting this event. Should be a short machine understandable string."},
    {"Message", "string", "", 0, "A human-readable description of the status of this operation."},
    {"First Seen", "string", "", 1, "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)"},
    {"Count", "string", "", 1, "The number of times this event has occurred."},
    {"Name", "string", "name", 1, D_NAME},
};

/* Field names differ between core/v1 and events.k8s.io/v1 Events. */
struct evfields {
    const char *obj, *first, *last, *count, *msg, *component, *host;
};
static const struct evfields ev_core = {"involvedObject", "firstTimestamp", "lastTimestamp", "count",
                                        "message", "source.component", "source.host"};
static const struct evfields ev_new = {"regarding", "deprecatedFirstTimestamp",
                                       "deprecatedLastTimestamp", "deprecatedCount", "note",
                                       "deprecatedSource.component", "deprecatedSource.host"};

static char *trim_space(const char *s)
{
    if (!s) return sk_strdup("");
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r')) n--;
    return sk_strndup(s, n);
}

static char *event_target(const json_t *ref)
{
    const char *kind = sk_json_str(ref, "kind") ?: "", *name = sk_json_str(ref, "name");
    char *t = nonempty(name) ? sk_printf("%s/%s", kind, name) : sk_strdup(kind);
    for (char *p = t; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    return t;
}

static char *event_source(const json_t *ev, const struct evfields *f)
{
    const char *comp = sk_json_path_str(ev, f->component), *host = sk_json_path_str(ev, f->host);
    if (!nonempty(comp)) comp = sk_json_str(ev, "reportingController");
    if (!nonempty(host)) host = sk_json_str(ev, "reportingInstance");
    if (!nonempty(host)) return sk_strdup(comp ? comp : "");
    return sk_printf("%s, %s", comp ? comp : "", host);
}

void sk_row_event(const struct sk_resource *r, const json_t *ev, json_t *cells, int64_t now)
{
    const struct evfields *f = strcmp(r->group, "events.k8s.io") ? &ev_core : &ev_new;
    char first[32], last[32];
    const char *fts = sk_json_str(ev, f->first);
    if (nonempty(fts)) sk_age_of(fts, now, first, sizeof first);
    else sk_age_of(sk_json_str(ev, "eventTime"), now, first, sizeof first);
    const char *lts = sk_json_str(ev, f->last);
    if (nonempty(lts)) sk_age_of(lts, now, last, sizeof last);
    else snprintf(last, sizeof last, "%s", first);
    json_int_t count = sk_path_int(ev, f->count, 0);
    json_t *series = json_object_get(ev, "series");
    if (json_is_object(series)) {
        sk_age_of(sk_json_str(series, "lastObservedTime"), now, last, sizeof last);
        count = sk_path_int(series, "count", 0);
    } else if (count == 0) {
        count = 1; /* singleton events of the new API carry no count */
    }
    json_t *ref = json_object_get(ev, f->obj);
    _sk_free_ char *target = event_target(ref);
    _sk_free_ char *source = event_source(ev, f);
    _sk_free_ char *msg = trim_space(sk_json_str(ev, f->msg));
    sk_cell_str(cells, last);
    sk_cell_str(cells, sk_json_str(ev, "type"));
    sk_cell_str(cells, sk_json_str(ev, "reason"));
    sk_cell_str(cells, target);
    sk_cell_str(cells, sk_json_str(ref, "fieldPath"));
    sk_cell_str(cells, source);
    sk_cell_str(cells, msg);
    sk_cell_str(cells, first);
    sk_cell_int(cells, count);
    sk_cell_str(cells, sk_json_path_str(ev, "metadata.name"));
}

/* ---- config objects ------------------------------------------------------- */

const struct sk_column sk_cols_cm[SK_NCOLS_CM] = {
    NAME_COL,
    {"Data", "string", "", 0, "Data contains the configuration data."},
    AGE_COL,
};

void sk_row_cm(const struct sk_resource *r, const json_t *cm, json_t *cells, int64_t now)
{
    sk_cell_str(cells, sk_json_path_str(cm, "metadata.name"));
    sk_cell_int(cells, (json_int_t)(json_object_size(json_object_get(cm, "data")) +
                                    json_object_size(json_object_get(cm, "binaryData"))));
    sk_cell_age(cells, cm, now);
}

const struct sk_column sk_cols_secret[SK_NCOLS_SECRET] = {
    NAME_COL,
    {"Type", "string", "", 0, "Used to facilitate programmatic handling of secret data."},
    {"Data", "string", "", 0, "Data contains the secret data."},
    AGE_COL,
};

void sk_row_secret(const struct sk_resource *r, const json_t *s, json_t *cells, int64_t now)
{
    sk_cell_str(cells, sk_json_path_str(s, "metadata.name"));
    sk_cell_str(cells, sk_json_str(s, "type"));
    sk_cell_int(cells, (json_int_t)json_object_size(json_object_get(s, "data")));
    sk_cell_age(cells, s, now);
}

const struct sk_column sk_cols_sa[SK_NCOLS_SA] = {
    NAME_COL,
    {"Secrets", "string", "", 0, "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use."},
    AGE_COL,
};

void sk_row_sa(const struct sk_resource *r, const json_t *sa, json_t *cells, int64_t now)
{
    sk_cell_str(cells, sk_json_path_str(sa, "metadata.name"));
    sk_cell_int(cells, (json_int_t)json_array_size(json_object_get(sa, "secrets")));
    sk_cell_age(cells, sa, now);
}

const struct sk_column sk_cols_quota[SK_NCOLS_QUOTA] = {
    NAME_COL,
    {"Request", "string", "", 0, "Request represents a minimum amount of cpu/memory that a container may consume."},
    {"Limit", "string", "", 0, "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node."},
    AGE_COL,
};

void sk_row_quota(const struct sk_resource *r, const json_t *q, json_t *cells, int64_t now)
{
    json_t *hard = sk_json_path(q, "status.hard"), *used = sk_json_path(q, "status.used"), *v;
    size_t n = json_object_size(hard), k = 0;
    const char **keys = sk_calloc(n + 1, sizeof *keys), *key;
    json_object_foreach(hard, key, v) keys[k++] = key;
    qsort(keys, k, sizeof *keys, cmp_str);
    sk_buf req = SK_BUF_INIT, lim = SK_BUF_INIT;
    for (size_t i = 0; i < k; i++) {
        sk_buf *w = strncmp(keys[i], "limits.", 7) ? &req : &lim;
        const char *u = sk_json_str(used, keys[i]), *h = sk_json_str(hard, keys[i]);
        sk_buf_addf(w, "%s%s: %s/%s", w->len ? ", " : "", keys[i], u ? u : "0", h ? h : "0");
    }
    free(keys);
    sk_cell_str(cells, sk_json_path_str(q, "metadata.name"));
    sk_cell_str(cells, req.data);
    sk_cell_str(cells, lim.data);
    sk_cell_age(cells, q, now);
    sk_buf_release(&req);
    sk_buf_release(&lim);
}

/* ---- storage -------------------------------------------------------------- */

const struct sk_column sk_cols_pv[SK_NCOLS_PV] = {
    NAME_COL,
    {"Capacity", "string", "", 0, "capacity is the description of the persistent volume's resources and capacity."},
    {"Access Modes", "string", "", 0, "accessModes contains all ways the volume can be mounted."},
    {"Reclaim Policy", "string", "", 0, "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim."},
    {"Status", "string", "", 0, "phase indicates if a volume is available, bound to a claim, or released by a claim."},
    {"Claim", "string", "", 0, "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim."},
    {"StorageClass", "string", "", 0, "StorageClass of the pv"},
    {"VolumeAttributesClass", "string", "", 0, "VolumeAttributesClass of the pv"},
    {"Reason", "string", "", 0, "reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI."},
    AGE_COL,
    {"VolumeMode", "string", "", 1, "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state."},
};

/* helper.GetAccessModesAsString: RWO,ROX,RWX,RWOP in that fixed order. */
static void access_modes(const json_t *modes, char *out, size_t n)
{
    static const char *const names[][2] = {
        {"ReadWriteOnce", "RWO"}, {"ReadOnlyMany", "ROX"},
        {"ReadWriteMany", "RWX"}, {"ReadWriteOncePod", "RWOP"},
    };
    size_t len = 0, i, j;
    json_t *m;
    out[0] = 0;
    for (i = 0; i < SK_ARRAY_LEN(names); i++)
        json_array_foreach(modes, j, m) {
            if (!json_is_string(m) || strcmp(json_string_value(m), names[i][0])) continue;
            len += (size_t)snprintf(out + len, len < n ? n - len : 0, "%s%s", len ? "," : "",
                                    names[i][1]);
            break;
        }
}

static const char *storage_class(const json_t *obj)
{
    json_t *ann = sk_json_path(obj, "metadata.annotations");
    const char *beta = sk_json_str(ann, "volume.beta.kubernetes.io/storage-class");
    if (beta) return beta;
    return sk_json_path_str(obj, "spec.storageClassName") ?: "";
}

void sk_row_pv(const struct sk_resource *r, const json_t *pv, json_t *cells, int64_t now)
{
    json_t *spec = json_object_get(pv, "spec"), *claim = json_object_get(spec, "claimRef");
    char modes[64];
    _sk_free_ char *claimstr = json_is_object(claim)
        ? sk_printf("%s/%s", sk_json_str(claim, "namespace") ?: "", sk_json_str(claim, "name") ?: "")
        : sk_strdup("");
    access_modes(json_object_get(spec, "accessModes"), modes, sizeof modes);
    const char *phase = sk_json_path_str(pv, "metadata.deletionTimestamp")
        ? "Terminating" : sk_json_path_str(pv, "status.phase");
    const char *vac = sk_json_str(spec, "volumeAttributesClassName");
    const char *vm = sk_json_str(spec, "volumeMode");
    sk_cell_str(cells, sk_json_path_str(pv, "metadata.name"));
    sk_cell_str(cells, sk_json_path_str(spec, "capacity.storage") ?: "0");
    sk_cell_str(cells, modes);
    sk_cell_str(cells, sk_json_str(spec, "persistentVolumeReclaimPolicy"));
    sk_cell_str(cells, phase);
    sk_cell_str(cells, claimstr);
    sk_cell_str(cells, storage_class(pv));
    sk_cell_str(cells, vac ? vac : "<unset>");
    sk_cell_str(cells, sk_json_path_str(pv, "status.reason"));
    sk_cell_age(cells, pv, now);
    sk_cell_str(cells, vm ? vm : "<unset>");
}

const struct sk_column sk_cols_pvc[SK_NCOLS_PVC] = {
    NAME_COL,
    {"Status", "string", "", 0, "phase represents the current phase of PersistentVolumeClaim."},
    {"Volume", "string", "", 0, "volumeName is the binding reference to the PersistentVolume backing this claim."},
    {"Capacity", "string", "", 0, "capacity represents the actual resources of the underlying volume."},
    {"Access Modes", "string", "", 0, "accessModes contains the actual access modes the volume backing the PVC has."},
    {"StorageClass", "string", "", 0, "StorageClass of the pvc"},
    {"VolumeAttributesClass", "string", "", 0, "VolumeAttributesClass of the pvc"},
    AGE_COL,
    {"VolumeMode", "string", "", 1, "volumeMode defines what type of volume is required by the claim."},
};

void sk_row_pvc(const struct sk_resource *r, const json_t *pvc, json_t *cells, int64_t now)
{
    json_t *spec = json_object_get(pvc, "spec");
    const char *vol = sk_json_str(spec, "volumeName");
    char modes[64] = "";
    const char *cap = "";
    if (nonempty(vol)) {
        access_modes(sk_json_path(pvc, "status.accessModes"), modes, sizeof modes);
        cap = sk_json_path_str(pvc, "status.capacity.storage") ?: "0";
    }
    const char *phase = sk_json_path_str(pvc, "metadata.deletionTimestamp")
        ? "Terminating" : sk_json_path_str(pvc, "status.phase");
    const char *vac = sk_json_str(spec, "volumeAttributesClassName");
    const char *vm = sk_json_str(spec, "volumeMode");
    sk_cell_str(cells, sk_json_path_str(pvc, "metadata.name"));
    sk_cell_str(cells, phase);
    sk_cell_str(cells, vol);
    sk_cell_str(cells, cap);
    sk_cell_str(cells, modes);
    sk_cell_str(cells, storage_class(pvc));
    sk_cell_str(cells, vac ? vac : "<unset>");
    sk_cell_age(cells, pvc, now);
    sk_cell_str(cells, vm ? vm : "<unset>");
}

/* Table rows for workload controllers (apps, batch) and the remaining
 * groups (rbac, coordination, discovery), as upstream's printers. */
#include "api/registry_int.h"

#include <stdio.h>
#include <string.h>

#define D_NAME "Name must be unique within a namespace."
#define D_AGE "CreationTimestamp is a timestamp representing the server time when this object was created."
#define NAME_COL {"Name", "string", "name", 0, D_NAME}
#define AGE_COL {"Age", "string", "", 0, D_AGE}
#define CONTAINERS_COL {"Containers", "string", "", 1, "Names of each container in the template."}
#define IMAGES_COL {"Images", "string", "", 1, "Images referenced by each container in the template."}
#define SELECTOR_COL(d) {"Selector", "string", "", 1, d}
#define D_SEL "A label query over pods that should match the replica count."

static const char *name_of(const json_t *o) { return sk_json_path_str(o, "metadata.name"); }
static const json_t *template_spec(const json_t *o) { return sk_json_path(o, "spec.template.spec"); }

/* metav1.FormatLabelSelector: "<none>" when empty. */
static void cell_selector(json_t *cells, const json_t *sel, bool none_when_empty)
{
    _sk_free_ char *s = sk_format_label_selector(sel);
    sk_cell_str(cells, none_when_empty && !*s ? "<none>" : s);
}

/* ---- deployments, replicasets, statefulsets, daemonsets ------------------ */

const struct sk_column sk_cols_deploy[SK_NCOLS_DEPLOY] = {
    NAME_COL,
    {"Ready", "string", "", 0, "Number of the pod with ready state"},
    {"Up-to-date", "string", "", 0, "Total number of non-terminated pods targeted by this deployment that have the desired template spec."},
    {"Available", "string", "", 0, "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."},
    AGE_COL, CONTAINERS_COL, IMAGES_COL,
    SELECTOR_COL("Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment."),
};

void sk_row_deploy(const struct sk_resource *r, const json_t *d, json_t *cells, int64_t now)
{
    char ready[64];
    snprintf(ready, sizeof ready, "%lld/%lld",
             (long long)sk_path_int(d, "status.readyReplicas", 0),
             (long long)sk_path_int(d, "spec.replicas", 0));
    sk_cell_str(cells, name_of(d));
    sk_cell_str(cells, ready);
    sk_cell_int(cells, sk_path_int(d, "status.updatedReplicas", 0));
    sk_cell_int(cells, sk_path_int(d, "status.availableReplicas", 0));
    sk_cell_age(cells, d, now);
    sk_cell_containers(cells, template_spec(d));
    cell_selector(cells, sk_json_path(d, "spec.selector"), false);
}

const struct sk_column sk_cols_rs[SK_NCOLS_RS] = {
    NAME_COL,
    {"Desired", "integer", "", 0, "Replicas is the number of desired replicas."},
    {"Current", "integer", "", 0, "Replicas is the most recently observed number of replicas."},
    {"Ready", "integer", "", 0, "The number of ready replicas for this replica set."},
    AGE_COL, CONTAINERS_COL, IMAGES_COL, SELECTOR_COL(D_SEL),
};

void sk_row_rs(const struct sk_resource *r, const json_t *rs, json_t *cells, int64_t now)
{
    sk_cell_str(cells, name_of(rs));
    sk_cell_int(cells, sk_path_int(rs, "spec.replicas", 0));
    sk_cell_int(cells, sk_path_int(rs, "status.replicas", 0));
    sk_cell_int(cells, sk_path_int(rs, "status.readyReplicas", 0));
    sk_cell_age(cells, rs, now);
    sk_cell_containers(cells, template_spec(rs));
    cell_selector(cells, sk_json_path(rs, "spec.selector"), true);
}

const struct sk_column sk_cols_sts[SK_NCOLS_STS] = {
    NAME_COL,
    {"Ready", "string", "", 0, "Number of the pod with ready state"},
    AGE_COL, CONTAINERS_COL, IMAGES_COL,
};

void sk_row_sts(const struct sk_resource *r, const json_t *s, json_t *cells, int64_t now)
{
    char ready[64];
    snprintf(ready, sizeof ready, "%lld/%lld",
             (long long)sk_path_int(s, "status.readyReplicas", 0),
             (long long)sk_path_int(s, "spec.replicas", 0));
    sk_cell_str(cells, name_of(s));
    sk_cell_str(cells, ready);
    sk_cell_age(cells, s, now);
    sk_cell_containers(cells, template_spec(s));
}

const struct sk_column sk_cols_ds[SK_NCOLS_DS] = {
    NAME_COL,
    {"Desired", "integer", "", 0, "The total number of nodes that should be running the daemon pod."},
    {"Current", "integer", "", 0, "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod."},
    {"Ready", "integer", "", 0, "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready."},
    {"Up-to-date", "integer", "", 0, "The total number of nodes that are running updated daemon pod"},
    {"Available", "integer", "", 0, "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available."},
    {"Node Selector", "string", "", 0, "NodeSelector is a selector which must be true for the pod to fit on a node."},
    AGE_COL, CONTAINERS_COL, IMAGES_COL,
    SELECTOR_COL("A label query over pods that are managed by the daemon set."),
};

void sk_row_ds(const struct sk_resource *r, const json_t *ds, json_t *cells, int64_t now)
{
    _sk_free_ char *nodesel = sk_format_labels(sk_json_path(ds, "spec.template.spec.nodeSelector"));
    sk_cell_str(cells, name_of(ds));
    sk_cell_int(cells, sk_path_int(ds, "status.desiredNumberScheduled", 0));
    sk_cell_int(cells, sk_path_int(ds, "status.currentNumberScheduled", 0));
    sk_cell_int(cells, sk_path_int(ds, "status.numberReady", 0));
    sk_cell_int(cells, sk_path_int(ds, "status.updatedNumberScheduled", 0));
    sk_cell_int(cells, sk_path_int(ds, "status.numberAvailable", 0));
    sk_cell_str(cells, nodesel);
    sk_cell_age(cells, ds, now);
    sk_cell_containers(cells, template_spec(ds));
    cell_selector(cells, sk_json_path(ds, "spec.selector"), true);
}

/* ---- jobs and cronjobs ---------------------------------------------------- */

const struct sk_column sk_cols_job[SK_NCOLS_JOB] = {
    NAME_COL,
    {"Status", "string", "", 0, "Status of the job."},
    {"Completions", "string", "", 0, "The number of pods which reached phase Succeeded."},
    {"Duration", "string", "", 0, "Time required to complete the job."},
    AGE_COL, CONTAINERS_COL, IMAGES_COL,
    SELECTOR_COL("A label query over pods that should match the pod count."),
};

/* hasJobCondition: the first condition of the type decides. */
static bool job_cond(const json_t *job, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(sk_json_path(job, "status.conditions"), i, c) {
        const char *t = sk_json_str(c, "type"), *s = sk_json_str(c, "status");
        if (t && !strcmp(t, type)) return s && !strcmp(s, "True");
    }
    return false;
}

static const char *job_status(const json_t *job)
{
    if (job_cond(job, "Complete")) return "Complete";
    if (job_cond(job, "Failed")) return "Failed";
    if (sk_json_path_str(job, "metadata.deletionTimestamp")) return "Terminating";
    if (job_cond(job, "Suspended")) return "Suspended";
    if (job_cond(job, "FailureTarget")) return "FailureTarget";
    return "Running";
}

void sk_row_job(const struct sk_resource *r, const json_t *job, json_t *cells, int64_t now)
{
    char comp[96], dur[32] = "";
    long long ok = (long long)sk_path_int(job, "status.succeeded", 0);
    json_t *completions = sk_json_path(job, "spec.completions");
    json_int_t par = sk_path_int(job, "spec.parallelism", 0);
    if (json_is_integer(completions))
        snprintf(comp, sizeof comp, "%lld/%lld", ok, (long long)json_integer_value(completions));
    else if (par > 1)
        snprintf(comp, sizeof comp, "%lld/1 of %lld", ok, (long long)par);
    else
        snprintf(comp, sizeof comp, "%lld/1", ok);
    const char *st = sk_json_path_str(job, "status.startTime");
    const char *ct = sk_json_path_str(job, "status.completionTime");
    int64_t start = st ? sk_time_parse(st) : -1, end = ct ? sk_time_parse(ct) : -1;
    if (start >= 0) sk_duration_human((end >= 0 ? end : now) - start, dur, sizeof dur);
    sk_cell_str(cells, name_of(job));
    sk_cell_str(cells, job_status(job));
    sk_cell_str(cells, comp);
    sk_cell_str(cells, dur);
    sk_cell_age(cells, job, now);
    sk_cell_containers(cells, template_spec(job));
    cell_selector(cells, sk_json_path(job, "spec.selector"), true);
}

const struct sk_column sk_cols_cj[SK_NCOLS_CJ] = {
    NAME_COL,
    {"Schedule", "string", "", 0, "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."},
    {"Timezone", "string", "", 0, "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones."},
    {"Suspend", "boolean", "", 0, "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.  Defaults to false."},
    {"Active", "integer", "", 0, "A list of pointers to currently running jobs."},
    {"Last Schedule", "string", "", 0, "Information when was the last time the job was successfully scheduled."},
    AGE_COL, CONTAINERS_COL, IMAGES_COL,
    SELECTOR_COL("A label query over pods that should match the pod count."),
};

void sk_row_cj(const struct sk_resource *r, const json_t *cj, json_t *cells, int64_t now)
{
    char last[32] = "<none>";
    const char *lst = sk_json_path_str(cj, "status.lastScheduleTime");
    const char *tz = sk_json_path_str(cj, "spec.timeZone");
    json_t *suspend = sk_json_path(cj, "spec.suspend");
    if (lst) sk_age_of(lst, now, last, sizeof last);
    sk_cell_str(cells, name_of(cj));
    sk_cell_str(cells, sk_json_path_str(cj, "spec.schedule"));
    sk_cell_str(cells, tz ? tz : "<none>");
    sk_cell_str(cells, json_is_boolean(suspend) ? (json_is_true(suspend) ? "True" : "False")
                                                : "<unset>");
    sk_cell_int(cells, (json_int_t)json_array_size(sk_json_path(cj, "status.active")));
    sk_cell_str(cells, last);
    sk_cell_age(cells, cj, now);
    sk_cell_containers(cells, sk_json_path(cj, "spec.jobTemplate.spec.template.spec"));
    cell_selector(cells, sk_json_path(cj, "spec.jobTemplate.spec.selector"), true);
}

/* ---- controller revisions ------------------------------------------------- */

const struct sk_column sk_cols_cr[SK_NCOLS_CR] = {
    NAME_COL,
    {"Controller", "string", "", 0, "Controller of the object"},
    {"Revision", "string", "", 0, "Revision indicates the revision of the state represented by Data."},
    AGE_COL,
};

/* "<kind>.<group>/<name>" lower-cased kind part, from the controller ref. */
static char *controller_name(const json_t *obj)
{
    size_t i;
    json_t *ref;
    json_array_foreach(sk_json_path(obj, "metadata.ownerReferences"), i, ref) {
        if (!json_is_true(json_object_get(ref, "controller"))) continue;
        const char *av = sk_json_str(ref, "apiVersion") ?: "", *kind = sk_json_str(ref, "kind") ?: "";
        const char *name = sk_json_str(ref, "name") ?: "", *slash = strchr(av, '/');
        char *s = slash ? sk_printf("%s.%.*s/%s", kind, (int)(slash - av), av, name)
                        : sk_printf("%s/%s", kind, name);
        for (char *p = s; *p && *p != '/'; p++)
            if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
        return s;
    }
    return sk_strdup("<none>");
}

void sk_row_cr(const struct sk_resource *r, const json_t *cr, json_t *cells, int64_t now)
{
    _sk_free_ char *ctl = controller_name(cr);
    sk_cell_str(cells, name_of(cr));
    sk_cell_str(cells, ctl);
    sk_cell_int(cells, sk_path_int(cr, "revision", 0));
    sk_cell_age(cells, cr, now);
}

/* ---- rbac, leases, endpoint slices ---------------------------------------- */

const struct sk_column sk_cols_rb[SK_NCOLS_RB] = {
    NAME_COL,
    {"Role", "string", "", 0, "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace."},
    AGE_COL,
    {"Users", "string", "", 1, "Users in the roleBinding"},
    {"Groups", "string", "", 1, "Groups in the roleBinding"},
    {"ServiceAccounts", "string", "", 1, "ServiceAccounts in the roleBinding"},
};

void sk_row_rb(const struct sk_resource *r, const json_t *rb, json_t *cells, int64_t now)
{
    sk_buf users = SK_BUF_INIT, groups = SK_BUF_INIT, sas = SK_BUF_INIT;
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(rb, "subjects"), i, s) {
        const char *kind = sk_json_str(s, "kind") ?: "", *name = sk_json_str(s, "name") ?: "";
        const char *ns = sk_json_str(s, "namespace") ?: "";
        sk_buf *b = !strcmp(kind, "User") ? &users : !strcmp(kind, "Group") ? &groups
                  : !strcmp(kind, "ServiceAccount") ? &sas : NULL;
        if (!b) continue;
        if (b->len) sk_buf_adds(b, ", ");
        if (b == &sas) sk_buf_addf(b, "%s/%s", ns, name);
        else sk_buf_adds(b, name);
    }
    _sk_free_ char *role = sk_printf("%s/%s", sk_json_path_str(rb, "roleRef.kind") ?: "",
                                     sk_json_path_str(rb, "roleRef.name") ?: "");
    sk_cell_str(cells, name_of(rb));
    sk_cell_str(cells, role);
    sk_cell_age(cells, rb, now);
    sk_cell_str(cells, users.data);
    sk_cell_str(cells, groups.data);
    sk_cell_str(cells, sas.data);
    sk_buf_release(&users);
    sk_buf_release(&groups);
    sk_buf_release(&sas);
}

const struct sk_column sk_cols_lease[SK_NCOLS_LEASE] = {
    NAME_COL,
    {"Holder", "string", "", 0, "holderIdentity contains the identity of the holder of a current lease."},
    AGE_COL,
};

void sk_row_lease(const struct sk_resource *r, const json_t *l, json_t *cells, int64_t now)
{
    sk_cell_str(cells, name_of(l));
    sk_cell_str(cells, sk_json_path_str(l, "spec.holderIdentity"));
    sk_cell_age(cells, l, now);
}

const struct sk_column sk_cols_eps[SK_NCOLS_EPS] = {
    NAME_COL,
    {"AddressType", "string", "", 0, "addressType specifies the type of address carried by this EndpointSlice."},
    {"Ports", "string", "", 0, "ports specifies the list of network ports exposed by each endpoint in this slice."},
    {"Endpoints", "string", "", 0, "endpoints is a list of unique endpoints in this slice."},
    AGE_COL,
};

/* Up to three items, then " + N more...", "<unset>" when empty. */
struct limited {
    sk_buf b;
    int shown, count;
};

static void lim_add(struct limited *l, const char *s)
{
    l->count++;
    if (l->shown >= 3) return;
    if (l->b.len) sk_buf_adds(&l->b, ",");
    sk_buf_adds(&l->b, s);
    l->shown++;
}

static void lim_cell(struct limited *l, json_t *cells)
{
    if (l->count > l->shown) sk_buf_addf(&l->b, " + %d more...", l->count - l->shown);
    sk_cell_str(cells, l->b.len ? l->b.data : "<unset>");
    sk_buf_release(&l->b);
}

void sk_row_eps(const struct sk_resource *r, const json_t *eps, json_t *cells, int64_t now)
{
    struct limited ports = {SK_BUF_INIT, 0, 0}, addrs = {SK_BUF_INIT, 0, 0};
    size_t i, j;
    json_t *p, *e, *a;
    json_array_foreach(json_object_get(eps, "ports"), i, p) {
        char num[32];
        json_t *port = json_object_get(p, "port");
        const char *pname = sk_json_str(p, "name");
        if (json_is_integer(port)) snprintf(num, sizeof num, "%lld", (long long)json_integer_value(port));
        else snprintf(num, sizeof num, "%s", pname ? pname : "*");
        lim_add(&ports, num);
    }
    json_array_foreach(json_object_get(eps, "endpoints"), i, e)
        json_array_foreach(json_object_get(e, "addresses"), j, a)
            if (json_is_string(a)) lim_add(&addrs, json_string_value(a));
    sk_cell_str(cells, name_of(eps));
    sk_cell_str(cells, sk_json_str(eps, "addressType"));
    lim_cell(&ports, cells);
    lim_cell(&addrs, cells);
    sk_cell_age(cells, eps, now);
}

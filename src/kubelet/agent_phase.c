/* Pod phase and the kubelet-owned pod conditions, computed from API
 * container statuses exactly as pkg/kubelet/kubelet_pods.go (getPhase) and
 * pkg/kubelet/status/generate.go do. Pure functions over JSON. */
#include "kubelet/agent_core.h"

#include <string.h>

static const json_t *find_status(const json_t *statuses, const char *name)
{
    size_t i;
    json_t *s;
    json_array_foreach(statuses, i, s) {
        const char *n = sk_json_str(s, "name");
        if (n && name && !strcmp(n, name)) return s;
    }
    return NULL;
}

static bool has_state(const json_t *st, const char *which)
{
    return json_is_object(sk_json_path(st, which));
}

static int64_t exit_code_of(const json_t *term)
{
    return json_integer_value(json_object_get(term, "exitCode"));
}

/* HasAnyRegularContainerStarted */
static bool any_regular_started(const json_t *pod, const json_t *statuses)
{
    size_t i;
    json_t *c;
    json_array_foreach(sk_json_path(pod, "spec.containers"), i, c) {
        const json_t *st = find_status(statuses, sk_json_str(c, "name"));
        if (st && (has_state(st, "state.running") || has_state(st, "state.terminated"))) return true;
    }
    return false;
}

struct phase_counts {
    int pending_init, failed_init, unknown, running, waiting, stopped, succeeded;
};

static void count_init(const json_t *pod, const json_t *init_st, struct phase_counts *k)
{
    size_t i;
    json_t *c;
    json_array_foreach(sk_json_path(pod, "spec.initContainers"), i, c) {
        const json_t *st = find_status(init_st, sk_json_str(c, "name"));
        bool sidecar = sk_ag_is_sidecar(c);
        if (!st) {
            if (sidecar) k->unknown++;
            else k->pending_init++;
            continue;
        }
        const json_t *last = sk_json_path(st, "lastState.terminated");
        if (!sidecar) {
            if (has_state(st, "state.running")) k->pending_init++;
            else if (has_state(st, "state.terminated")) {
                if (exit_code_of(sk_json_path(st, "state.terminated")) != 0) k->failed_init++;
            } else if (has_state(st, "state.waiting")) {
                if (json_is_object(last)) {
                    if (exit_code_of(last) != 0) k->failed_init++;
                } else {
                    k->pending_init++;
                }
            } else {
                k->pending_init++;
            }
            continue;
        }
        if (has_state(st, "state.running")) {
            if (!json_is_true(json_object_get(st, "started"))) k->pending_init++;
            k->running++;
        } else if (has_state(st, "state.terminated")) {
            /* terminated sidecars do not count */
        } else if (has_state(st, "state.waiting")) {
            if (!json_is_object(last)) {
                k->pending_init++;
                k->waiting++;
            }
        } else {
            k->pending_init++;
            k->unknown++;
        }
    }
}

static void count_app(const json_t *pod, const json_t *statuses, struct phase_counts *k)
{
    size_t i;
    json_t *c;
    json_array_foreach(sk_json_path(pod, "spec.containers"), i, c) {
        const json_t *st = find_status(statuses, sk_json_str(c, "name"));
        if (!st) {
            k->unknown++;
        } else if (has_state(st, "state.running")) {
            k->running++;
        } else if (has_state(st, "state.terminated")) {
            k->stopped++;
            if (exit_code_of(sk_json_path(st, "state.terminated")) == 0) k->succeeded++;
        } else if (has_state(st, "state.waiting")) {
            if (json_is_object(sk_json_path(st, "lastState.terminated"))) k->stopped++;
            else k->waiting++;
        } else {
            k->unknown++;
        }
    }
}

const char *sk_ag_pod_phase(const json_t *pod, const json_t *init_statuses,
                            const json_t *statuses, bool pod_is_terminal)
{
    struct phase_counts k = {0};
    count_init(pod, init_statuses, &k);
    count_app(pod, statuses, &k);
    enum sk_ag_restart rp = sk_ag_restart_policy(pod);
    if (k.failed_init > 0 && rp == SK_AG_NEVER) return "Failed";
    if ((k.pending_init > 0 && !any_regular_started(pod, statuses)) || k.waiting > 0) return "Pending";
    if (k.running > 0 && k.unknown == 0) return "Running";
    if (k.running == 0 && k.stopped > 0 && k.unknown == 0) {
        if (pod_is_terminal) return k.stopped == k.succeeded ? "Succeeded" : "Failed";
        if (rp == SK_AG_ALWAYS) return "Running";
        if (k.stopped == k.succeeded) return "Succeeded";
        if (rp == SK_AG_NEVER) return "Failed";
        return "Running";
    }
    return "Pending";
}

/* ---- conditions ---------------------------------------------------------------------- */

/* Go's fmt of a []string: "[a b]". */
static void go_list(sk_buf *b, const char *head, const json_t *names)
{
    size_t i;
    json_t *v;
    if (b->len) sk_buf_adds(b, ", ");
    sk_buf_addf(b, "%s[", head);
    json_array_foreach(names, i, v) sk_buf_addf(b, "%s%s", i ? " " : "", json_string_value(v));
    sk_buf_adds(b, "]");
}

static json_t *cond(const char *type, bool ok, const char *reason, const char *message)
{
    json_t *c = json_pack("{s:s,s:s,s:n}", "type", type, "status", ok ? "True" : "False", "lastProbeTime");
    if (reason && *reason) json_object_set_new(c, "reason", json_string(reason));
    if (message && *message) json_object_set_new(c, "message", json_string(message));
    return c;
}

static json_t *containers_ready(const json_t *pod, const json_t *all, const char *phase)
{
    json_t *unknown = json_array(), *unready = json_array(), *c;
    size_t i;
    json_array_foreach(sk_json_path(pod, "spec.initContainers"), i, c) {
        if (!sk_ag_is_sidecar(c)) continue;
        const json_t *st = find_status(all, sk_json_str(c, "name"));
        if (!st) json_array_append_new(unknown, json_string(sk_json_str(c, "name") ?: ""));
        else if (!json_is_true(json_object_get(st, "ready")))
            json_array_append_new(unready, json_string(sk_json_str(c, "name") ?: ""));
    }
    json_array_foreach(sk_json_path(pod, "spec.containers"), i, c) {
        const json_t *st = find_status(all, sk_json_str(c, "name"));
        if (!st) json_array_append_new(unknown, json_string(sk_json_str(c, "name") ?: ""));
        else if (!json_is_true(json_object_get(st, "ready")))
            json_array_append_new(unready, json_string(sk_json_str(c, "name") ?: ""));
    }
    json_t *out;
    if ((!strcmp(phase, "Succeeded") && !json_array_size(unknown)) || !strcmp(phase, "Failed")) {
        out = cond("ContainersReady", false, !strcmp(phase, "Failed") ? "PodFailed" : "PodCompleted", NULL);
    } else {
        sk_buf msg = SK_BUF_INIT;
        if (json_array_size(unknown)) go_list(&msg, "containers with unknown status: ", unknown);
        if (json_array_size(unready)) go_list(&msg, "containers with unready status: ", unready);
        out = msg.len ? cond("ContainersReady", false, "ContainersNotReady", msg.data)
                      : cond("ContainersReady", true, NULL, NULL);
        sk_buf_release(&msg);
    }
    json_decref(unknown);
    json_decref(unready);
    return out;
}

static json_t *pod_ready(const json_t *pod, const json_t *cready)
{
    if (strcmp(sk_json_str(cready, "status"), "True"))
        return cond("Ready", false, sk_json_str(cready, "reason"), sk_json_str(cready, "message"));
    sk_buf msg = SK_BUF_INIT;
    size_t i, j;
    json_t *g, *c;
    json_array_foreach(sk_json_path(pod, "spec.readinessGates"), i, g) {
        const char *t = sk_json_str(g, "conditionType") ?: "";
        const json_t *found = NULL;
        json_array_foreach(sk_json_path(pod, "status.conditions"), j, c)
            if (!strcmp(sk_json_str(c, "type") ?: "", t)) found = c;
        const char *st = found ? sk_json_str(found, "status") ?: "" : NULL;
        if (found && !strcmp(st, "True")) continue;
        if (msg.len) sk_buf_adds(&msg, ", ");
        if (!found)
            sk_buf_addf(&msg, "corresponding condition of pod readiness gate \"%s\" does not exist.", t);
        else
            sk_buf_addf(&msg, "the status of pod readiness gate \"%s\" is not \"True\", but %s", t, st);
    }
    json_t *out = msg.len ? cond("Ready", false, "ReadinessGatesNotReady", msg.data) : cond("Ready", true, NULL, NULL);
    sk_buf_release(&msg);
    return out;
}

static json_t *initialized(const json_t *pod, const json_t *all, const char *phase)
{
    const json_t *inits = sk_json_path(pod, "spec.initContainers");
    if (!json_array_size(inits)) return cond("Initialized", true, NULL, NULL);
    json_t *unknown = json_array(), *incomplete = json_array(), *c;
    size_t i;
    json_array_foreach(inits, i, c) {
        const char *name = sk_json_str(c, "name") ?: "";
        const json_t *st = find_status(all, name);
        if (!st) json_array_append_new(unknown, json_string(name));
        else if (!json_is_true(json_object_get(st, sk_ag_is_sidecar(c) ? "started" : "ready")))
            json_array_append_new(incomplete, json_string(name));
    }
    json_t *out;
    if (!strcmp(phase, "Succeeded") && !json_array_size(unknown)) {
        out = cond("Initialized", true, "PodCompleted", NULL);
    } else if (any_regular_started(pod, all)) {
        out = cond("Initialized", true, NULL, NULL);
    } else {
        sk_buf msg = SK_BUF_INIT;
        if (json_array_size(unknown)) go_list(&msg, "containers with unknown status: ", unknown);
        if (json_array_size(incomplete)) go_list(&msg, "containers with incomplete status: ", incomplete);
        out = msg.len ? cond("Initialized", false, "ContainersNotInitialized", msg.data)
                      : cond("Initialized", true, NULL, NULL);
        sk_buf_release(&msg);
    }
    json_decref(unknown);
    json_decref(incomplete);
    return out;
}

/* Keeps the previous lastTransitionTime while the status is unchanged. */
static void stamp(json_t *c, const json_t *pod, const char *now)
{
    size_t i;
    json_t *old;
    const char *type = sk_json_str(c, "type"), *status = sk_json_str(c, "status");
    json_array_foreach(sk_json_path(pod, "status.conditions"), i, old) {
        if (strcmp(sk_json_str(old, "type") ?: "", type)) continue;
        const char *t = sk_json_str(old, "lastTransitionTime");
        if (!strcmp(sk_json_str(old, "status") ?: "", status) && t) {
            json_object_set_new(c, "lastTransitionTime", json_string(t));
            return;
        }
    }
    json_object_set_new(c, "lastTransitionTime", json_string(now));
}

json_t *sk_ag_pod_conditions(const json_t *pod, const json_t *init_statuses,
                             const json_t *statuses, const char *phase, bool sandbox_ready,
                             const char *now)
{
    json_t *all = json_array();
    json_array_extend(all, (json_t *)init_statuses);
    json_array_extend(all, (json_t *)statuses);
    json_t *cready = containers_ready(pod, all, phase);
    json_t *out = json_array();
    json_array_append_new(out, cond("PodReadyToStartContainers", sandbox_ready, NULL, NULL));
    json_array_append_new(out, initialized(pod, all, phase));
    json_array_append_new(out, pod_ready(pod, cready));
    json_array_append_new(out, cready);
    json_decref(all);
    size_t i;
    json_t *c, *sched = NULL;
    json_array_foreach(sk_json_path(pod, "status.conditions"), i, c)
        if (!strcmp(sk_json_str(c, "type") ?: "", "PodScheduled")) sched = c;
    json_array_foreach(out, i, c) stamp(c, pod, now);
    if (sched) json_array_append_new(out, json_deep_copy(sched));
    else json_array_append_new(out, json_pack("{s:s,s:s,s:n,s:s}", "type", "PodScheduled", "status",
                                              "True", "lastProbeTime", "lastTransitionTime", now));
    return out;
}

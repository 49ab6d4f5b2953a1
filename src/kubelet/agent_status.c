/* Pod status: container statuses from the agent's view of each container
 * (current and previous instance, the "reason cache" of why it waits, the
 * probe results), phase and conditions (agent_phase.c), IPs and times; and
 * the write to pods/status. The kubelet's status manager sends a strategic
 * merge patch of the status and only when something changed; so do we,
 * comparing with what we wrote last and with the informer's copy, so an
 * unchanged pod costs no API call and a status someone overwrote is
 * restored. */
#include "kubelet/agent_core.h"

#include <string.h>

static void fmt_time(int64_t ms, char *out, size_t n)
{
    sk_time_format((ms > 0 ? ms : sk_wall_ms()) / 1000, out, n);
}

static const char *term_reason(const struct sk_ag_inst *in)
{
    if (in->reason[0]) return in->reason;
    if (in->oom) return "OOMKilled";
    return in->exit_code == 0 ? "Completed" : "Error";
}

static json_t *terminated_json(const struct sk_ag_inst *in)
{
    char started[40], finished[40];
    fmt_time(in->started_ms ? in->started_ms : in->created_ms, started, sizeof started);
    fmt_time(in->finished_ms, finished, sizeof finished);
    json_t *t = json_pack("{s:i,s:s,s:s,s:s}", "exitCode", in->exit_code, "reason", term_reason(in),
                          "startedAt", started, "finishedAt", finished);
    if (in->message[0]) json_object_set_new(t, "message", json_string(in->message));
    if (in->id[0]) {
        char *cid = sk_printf("crun://%s", in->id);
        json_object_set_new(t, "containerID", json_string(cid));
        free(cid);
    }
    return json_pack("{s:o}", "terminated", t);
}

static json_t *waiting_json(const char *reason, const char *message)
{
    json_t *w = json_object();
    if (reason && *reason) json_object_set_new(w, "reason", json_string(reason));
    if (message && *message) json_object_set_new(w, "message", json_string(message));
    return json_pack("{s:o}", "waiting", w);
}

static json_t *volume_mounts_json(const json_t *ctr_spec)
{
    const json_t *vms = json_object_get(ctr_spec, "volumeMounts");
    if (!json_array_size(vms)) return NULL;
    json_t *out = json_array(), *vm;
    size_t i;
    json_array_foreach(vms, i, vm) {
        json_t *s = json_pack("{s:s,s:s}", "name", sk_json_str(vm, "name") ?: "", "mountPath",
                              sk_json_str(vm, "mountPath") ?: "");
        if (json_is_true(json_object_get(vm, "readOnly"))) {
            json_object_set_new(s, "readOnly", json_true());
            json_object_set_new(s, "recursiveReadOnly", json_string("Disabled"));
        }
        json_array_append_new(out, s);
    }
    return out;
}

json_t *sk_ag_ctr_status_json(const struct sk_ag_ctr *c, const json_t *ctr_spec, bool pod_has_init)
{
    const struct sk_ag_inst *cur = c->have_cur ? &c->cur : NULL;
    json_t *state = NULL, *last = NULL;
    bool exited = cur && cur->state == SK_RT_EXITED;
    if (c->wait_reason[0]) {
        state = waiting_json(c->wait_reason, c->wait_msg);
        if (exited) last = terminated_json(cur);
    } else if (cur && cur->state == SK_RT_RUNNING) {
        char at[40];
        fmt_time(cur->started_ms, at, sizeof at);
        state = json_pack("{s:{s:s}}", "running", "startedAt", at);
    } else if (exited) {
        state = terminated_json(cur);
    } else if (cur) {
        state = waiting_json(cur->state == SK_RT_CREATED ? "ContainerCreating" : NULL, NULL);
    } else {
        state = waiting_json(pod_has_init ? "PodInitializing" : "ContainerCreating", NULL);
    }
    if (!last && c->have_prev && c->prev.state == SK_RT_EXITED) last = terminated_json(&c->prev);
    bool running = cur && cur->state == SK_RT_RUNNING && !c->wait_reason[0];
    bool ready = c->init && !c->sidecar ? exited && !c->wait_reason[0] && cur->exit_code == 0
                                        : running && c->ready;
    json_t *st = json_pack("{s:s,s:o,s:o,s:b,s:i,s:s,s:s,s:b}", "name", c->name, "state", state,
                           "lastState", last ? last : json_object(), "ready", ready, "restartCount",
                           cur ? cur->restart : 0, "image", sk_json_str(ctr_spec, "image") ?: "",
                           "imageID", cur ? c->image_id : "", "started", running && c->started);
    if (cur && cur->id[0]) {
        char *cid = sk_printf("crun://%s", cur->id);
        json_object_set_new(st, "containerID", json_string(cid));
        free(cid);
    }
    json_t *vms = volume_mounts_json(ctr_spec);
    if (vms) json_object_set_new(st, "volumeMounts", vms);
    return st;
}

static int by_name(const void *x, const void *y)
{
    const json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
    return strcmp(sk_json_str(a, "name") ?: "", sk_json_str(b, "name") ?: "");
}

/* Init statuses in spec order; app statuses sorted by name, as upstream. */
static void container_statuses(const struct sk_ag_pod *p, const json_t *pod, json_t **init_out,
                               json_t **app_out)
{
    bool has_init = json_array_size(sk_json_path(pod, "spec.initContainers")) > 0;
    json_t *init = json_array(), *app = json_array();
    json_t *tmp[256];
    size_t napp = 0;
    for (size_t i = 0; i < p->nctrs; i++) {
        const struct sk_ag_ctr *c = &p->ctrs[i];
        json_t *st = sk_ag_ctr_status_json(c, sk_ag_ctr_spec(pod, c), has_init);
        if (c->init) json_array_append_new(init, st);
        else if (napp < SK_ARRAY_LEN(tmp)) tmp[napp++] = st;
        else json_decref(st);
    }
    qsort(tmp, napp, sizeof *tmp, by_name);
    for (size_t i = 0; i < napp; i++) json_array_append_new(app, tmp[i]);
    *init_out = init;
    *app_out = app;
}

json_t *sk_ag_pod_status_json(sk_agent *a, const struct sk_ag_pod *p, const json_t *pod)
{
    json_t *init, *app;
    container_statuses(p, pod, &init, &app);
    const char *phase = sk_ag_pod_phase(pod, init, app, p->terminal);
    const char *api_phase = sk_json_path_str(pod, "status.phase");
    if (api_phase && (!strcmp(api_phase, "Succeeded") || !strcmp(api_phase, "Failed")))
        phase = api_phase; /* pods never leave a terminal phase */
    char now[40], start[40];
    fmt_time(0, now, sizeof now);
    fmt_time(p->start_wall_ms, start, sizeof start);
    bool sandbox_ready = p->sandbox_id[0] && (p->net_attached || p->host_network) && !p->torn_down;
    json_t *conds = sk_ag_pod_conditions(pod, init, app, phase, sandbox_ready, now);
    const char *host_ip = sk_ag_node_ip(a);
    json_t *st = json_pack("{s:s,s:o,s:s,s:[{s:s}],s:s}", "phase", phase, "conditions", conds,
                           "hostIP", host_ip, "hostIPs", "ip", host_ip, "startTime", start);
    if (p->ip[0]) {
        json_object_set_new(st, "podIP", json_string(p->ip));
        json_object_set_new(st, "podIPs", json_pack("[{s:s}]", "ip", p->ip));
    }
    const char *qos = sk_json_path_str(pod, "status.qosClass");
    if (qos) json_object_set_new(st, "qosClass", json_string(qos));
    json_object_set_new(st, "containerStatuses", app);
    if (json_array_size(init)) json_object_set_new(st, "initContainerStatuses", init);
    else json_decref(init);
    return st;
}

/* ---- writing ------------------------------------------------------------------------ */

static bool cond_same(const json_t *a, const json_t *b)
{
    static const char *const keys[] = {"status", "reason", "message", "lastTransitionTime"};
    for (size_t i = 0; i < SK_ARRAY_LEN(keys); i++) {
        const char *x = sk_json_str(a, keys[i]), *y = sk_json_str(b, keys[i]);
        if ((x || y) && (!x || !y || strcmp(x, y))) return false;
    }
    return true;
}

/* Whether have (the API's status) already says everything want says. */
static bool status_covers(const json_t *have, const json_t *want)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)want, key, v) {
        if (strcmp(key, "conditions")) {
            if (!json_equal(json_object_get(have, key), v)) return false;
            continue;
        }
        size_t i, j;
        json_t *c, *h;
        json_array_foreach(v, i, c) {
            bool found = false;
            json_array_foreach(json_object_get(have, "conditions"), j, h)
                if (!strcmp(sk_json_str(h, "type") ?: "", sk_json_str(c, "type") ?: ""))
                    found = cond_same(h, c);
            if (!found) return false;
        }
    }
    return true;
}

int sk_ag_status_sync(sk_agent *a, struct sk_ag_pod *p, const json_t *pod)
{
    json_t *st = sk_ag_pod_status_json(a, p, pod);
    snprintf(p->phase, sizeof p->phase, "%s", sk_json_str(st, "phase"));
    if (status_covers(json_object_get(pod, "status"), st) ||
        (p->last_status && status_covers(p->last_status, st) && sk_now_ms() - p->last_write_ms < 10000)) {
        json_decref(p->last_status);
        p->last_status = st;
        return 0;
    }
    /* conditions merge by type: fields we no longer set must be deleted */
    json_t *body = json_deep_copy(st), *c;
    size_t i;
    json_array_foreach(json_object_get(body, "conditions"), i, c) {
        if (!json_object_get(c, "reason")) json_object_set_new(c, "reason", json_null());
        if (!json_object_get(c, "message")) json_object_set_new(c, "message", json_null());
    }
    /* lists merged by ip: replace them so a changed address does not stay */
    static const char *const ip_lists[] = {"hostIPs", "podIPs"};
    for (size_t k = 0; k < SK_ARRAY_LEN(ip_lists); k++)
        json_array_append_new(json_object_get(body, ip_lists[k]), json_pack("{s:s}", "$patch", "replace"));
    json_t *patch = json_pack("{s:{s:s},s:o}", "metadata", "uid", p->uid, "status", body);
    sk_err err = SK_ERR_INIT;
    json_t *res = sk_client_patch(a->client, a->pods_res, p->ns, p->name,
                                  "application/strategic-merge-patch+json", patch, "status", &err);
    json_decref(patch);
    if (res) {
        json_decref(p->last_status);
        p->last_status = st;
        p->last_write_ms = sk_now_ms();
        sk_log(SK_DEBUG, "agent", "pod %s: status %s", p->key, p->phase);
    } else {
        if (err.code != SK_ENOTFOUND)
            sk_log(SK_WARN, "agent", "pod %s: status update: %s", p->key, err.msg);
        json_decref(st);
    }
    int rc = res || err.code == SK_ENOTFOUND ? 0 : -1;
    json_decref(res);
    sk_err_clear(&err);
    return rc;
}

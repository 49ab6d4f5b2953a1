/* Adoption after an agent restart, and the lookups of the HTTPS server.
 *
 * The runtime keeps its sandboxes and containers across agent restarts;
 * their user_data (agent_util.c) names the pod uid, container and restart
 * count. At start, before any worker runs, sandboxes and containers of
 * pods the API still has are put back into the pod table (the newest
 * instance of a container becomes current, the one before it previous,
 * older ones are removed), everything else is removed, and CNI
 * attachments of sandboxes that no longer exist are collected. So a
 * running container is never started twice and restart counts continue. */
#include "kubelet/agent_core.h"

#include <stdio.h>
#include <string.h>

static struct sk_ag_pod *adopt_sandbox(sk_agent *a, const struct sk_rt_sandbox_info *sb)
{
    struct sk_ag_udata u;
    if (sk_ag_udata_decode(sb->user_data, &u) < 0) return NULL;
    _sk_json_ json_t *pod = sk_informer_get(a->pods_inf, u.ns, u.pod);
    const char *uid = sk_json_path_str(pod, "metadata.uid");
    if (!uid || strcmp(uid, u.uid) || strcmp(uid, sb->id)) return NULL;
    char key[320];
    snprintf(key, sizeof key, "%s/%s", u.ns, u.pod);
    if (sk_ag_pod_find(a, key)) return NULL; /* two sandboxes for one pod: keep the first */
    struct sk_ag_pod *p = sk_ag_pod_add(a, pod);
    snprintf(p->sandbox_id, sizeof p->sandbox_id, "%s", sb->id);
    if (p->host_network) {
        snprintf(p->netns, sizeof p->netns, "%s",
                 sb->netns_path ? sb->netns_path : a->node_netns ? a->node_netns : "/proc/self/ns/net");
        snprintf(p->ip, sizeof p->ip, "%s", sk_ag_node_ip(a));
        p->running_here = true;
    } else {
        snprintf(p->netns, sizeof p->netns, "%s", sb->netns_path ? sb->netns_path : "");
        sk_net *net = sk_ag_net(a);
        struct sk_net_result res;
        sk_err err = SK_ERR_INIT;
        if (net && sk_net_pod_result(net, sb->id, &res, &err) == 0) {
            snprintf(p->ip, sizeof p->ip, "%s", res.ip);
            p->net_attached = true;
            p->running_here = true;
        }
        sk_err_clear(&err);
    }
    int64_t t = sk_time_parse(sk_json_path_str(pod, "status.startTime") ?: "");
    p->start_wall_ms = t > 0 ? t * 1000 : sb->created_ms;
    const char *phase = sk_json_path_str(pod, "status.phase") ?: "";
    p->terminal = !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed");
    return p;
}

static void remove_sandbox(sk_agent *a, const struct sk_rt_sandbox_info *sb)
{
    sk_err err = SK_ERR_INIT;
    sk_net *net = sk_ag_net(a);
    if (net && !sb->host_network && sk_net_pod_del(net, sb->id, sb->netns_path, &err) < 0) sk_err_clear(&err);
    if (sk_rt_sandbox_remove(a->rt, sb->id, &err) < 0) {
        sk_log(SK_WARN, "agent", "remove sandbox %s: %s", sb->id, err.msg);
        sk_err_clear(&err);
    }
    if (sb->pod_uid && sk_kl_volumes_teardown(a->data_dir, sb->pod_uid, &err) < 0) sk_err_clear(&err);
    if (sb->pod_uid) sk_ag_pod_run_remove(a, sb->pod_uid);
    sk_log(SK_INFO, "agent", "removed sandbox %s of a pod that is gone", sb->id);
}

static void inst_from(struct sk_ag_inst *in, const struct sk_rt_status *st, const struct sk_ag_udata *u)
{
    *in = (struct sk_ag_inst){.state = st->state == SK_RT_UNKNOWN ? SK_RT_EXITED : st->state,
                              .exit_code = st->state == SK_RT_UNKNOWN ? 255 : st->exit_code, .oom = st->oom_killed,
                              .started_ms = st->started_ms, .finished_ms = st->finished_ms,
                              .created_ms = st->created_ms, .restart = u->restart};
    snprintf(in->id, sizeof in->id, "%s", st->id);
    snprintf(in->hash, sizeof in->hash, "%s", u->hash);
    if (st->message[0]) snprintf(in->message, sizeof in->message, "%s", st->message);
    if (in->state == SK_RT_EXITED && !in->finished_ms) in->finished_ms = sk_wall_ms();
}

/* Keeps the two newest instances of each container. */
static void adopt_container(sk_agent *a, const struct sk_rt_status *st)
{
    struct sk_ag_udata u;
    struct sk_ag_pod *p = NULL;
    struct sk_ag_ctr *c = NULL;
    if (sk_ag_udata_decode(st->user_data, &u) == 0 && u.ctr[0]) {
        char key[320];
        snprintf(key, sizeof key, "%s/%s", u.ns, u.pod);
        p = sk_ag_pod_find(a, key);
        if (p && !strcmp(p->uid, u.uid) && st->sandbox_id && !strcmp(st->sandbox_id, p->sandbox_id))
            c = sk_ag_ctr_find(p, u.ctr, u.init);
    }
    sk_err err = SK_ERR_INIT;
    struct sk_ag_inst in, drop;
    bool have_drop = false;
    if (!c) {
        if (sk_rt_container_remove(a->rt, st->id, &err) < 0) sk_err_clear(&err);
        sk_log(SK_INFO, "agent", "removed container %s of a pod that is gone", st->id);
        return;
    }
    inst_from(&in, st, &u);
    if (!c->have_cur) {
        c->cur = in;
        c->have_cur = true;
    } else if (in.restart > c->cur.restart) {
        if (c->have_prev) {
            drop = c->prev;
            have_drop = true;
        }
        c->prev = c->cur;
        c->have_prev = true;
        c->cur = in;
    } else if (!c->have_prev || in.restart > c->prev.restart) {
        if (c->have_prev) {
            drop = c->prev;
            have_drop = true;
        }
        c->prev = in;
        c->have_prev = true;
    } else {
        drop = in;
        have_drop = true;
    }
    if (have_drop) sk_ag_inst_remove(a, p, c, &drop);
    p->known = true;
}

/* Probes and exit watches for what runs; image ids for the status. */
static void resume(sk_agent *a, struct sk_ag_pod *p)
{
    char ns[64], name[256];
    sk_key_split(p->key, ns, sizeof ns, name, sizeof name);
    _sk_json_ json_t *pod = sk_informer_get(a->pods_inf, ns, name);
    for (size_t i = 0; i < p->nctrs; i++) {
        struct sk_ag_ctr *c = &p->ctrs[i];
        if (!c->have_cur) continue;
        c->next_restart = c->cur.restart + 1;
        const json_t *spec = sk_ag_ctr_spec(pod, c);
        sk_err err = SK_ERR_INIT;
        _sk_free_ char *norm = sk_image_normalize(sk_json_str(spec, "image") ?: "", &err);
        sk_image_cfg *icfg = norm ? sk_image_config(a->images, norm, &err) : NULL;
        if (icfg) snprintf(c->image_id, sizeof c->image_id, "%s", icfg->repo_digest ? icfg->repo_digest : icfg->id);
        sk_image_cfg_free(icfg);
        sk_err_clear(&err);
        if (c->cur.state == SK_RT_EXITED || !c->cur.id[0]) continue;
        c->watching = sk_ag_watch_exit(a, p->key, c->cur.id);
        if (spec && (json_object_get(spec, "livenessProbe") || json_object_get(spec, "readinessProbe") ||
                     json_object_get(spec, "startupProbe"))) {
            sk_kl_prober_add(a->prober, p->key, c->name, c->cur.id, spec, p->ip, c->cur.started_ms);
            c->probing = true;
        }
    }
}

void sk_ag_adopt(sk_agent *a)
{
    struct sk_rt_sandbox_info *sbs = NULL;
    struct sk_rt_status *cs = NULL;
    size_t nsb = 0, nc = 0, live = 0;
    sk_err err = SK_ERR_INIT;
    if (sk_rt_sandbox_list(a->rt, &sbs, &nsb, &err) < 0) {
        sk_log(SK_WARN, "agent", "adopt: list sandboxes: %s", err.msg);
        sk_err_clear(&err);
    }
    const char **live_ids = sk_calloc(nsb + 1, sizeof *live_ids);
    for (size_t i = 0; i < nsb; i++) {
        if (adopt_sandbox(a, &sbs[i])) live_ids[live++] = sbs[i].id;
        else remove_sandbox(a, &sbs[i]);
    }
    if (sk_rt_list(a->rt, &cs, &nc, &err) < 0) {
        sk_log(SK_WARN, "agent", "adopt: list containers: %s", err.msg);
        sk_err_clear(&err);
    }
    for (size_t i = 0; i < nc; i++) adopt_container(a, &cs[i]);
    pthread_mutex_lock(&a->mu);
    size_t npods = a->npods;
    pthread_mutex_unlock(&a->mu);
    for (size_t i = 0; i < npods; i++) resume(a, a->pods[i]);
    sk_net *net = sk_ag_net(a);
    size_t gone = 0;
    if (net && sk_net_gc(net, live_ids, live, &gone, &err) < 0) {
        sk_log(SK_WARN, "agent", "adopt: network GC: %s", err.msg);
        sk_err_clear(&err);
    }
    if (nsb || nc)
        sk_log(SK_INFO, "agent", "adopted %zu of %zu sandboxes and %zu containers; %zu stale network attachments removed",
               live, nsb, nc, gone);
    free(live_ids);
    sk_rt_status_list_free(cs, nc);
    sk_rt_sandbox_list_free(sbs, nsb);
}

/* ---- lookups for the HTTPS server ----------------------------------------------------------- */

static const struct sk_ag_ctr *pick(const struct sk_ag_pod *p, const char *container)
{
    for (size_t i = 0; i < p->nctrs; i++) {
        const struct sk_ag_ctr *c = &p->ctrs[i];
        if (container && *container ? !strcmp(c->name, container) : !c->init) return c;
    }
    return NULL;
}

int sk_ag_lookup(void *ud, const char *ns, const char *pod, const char *container,
                 struct sk_kl_ctr_ref *out, sk_err *err)
{
    sk_agent *a = ud;
    char key[320], name[64] = "";
    snprintf(key, sizeof key, "%s/%s", ns ? ns : "", pod ? pod : "");
    memset(out, 0, sizeof *out);
    int rc = 0;
    pthread_mutex_lock(&a->mu);
    struct sk_ag_pod *p = NULL;
    for (size_t i = 0; i < a->npods && !p; i++)
        if (!strcmp(a->pods[i]->key, key)) p = a->pods[i];
    const struct sk_ag_ctr *c = p ? pick(p, container) : NULL;
    bool has_init = p && p->nctrs && p->ctrs[0].init;
    if (!p) {
        rc = -1; /* decided below, outside the lock */
    } else if (!c) {
        rc = sk_err_set(err, SK_ENOTFOUND, "container \"%s\" not found in pod \"%s\"", container ? container : "", key);
    } else if (!p->running_here || !c->have_cur) {
        rc = sk_err_set(err, SK_EBADREQUEST, "container \"%s\" in pod \"%s\" is waiting to start: %s", c->name,
                        p->name, c->wait_reason[0] ? c->wait_reason : has_init ? "PodInitializing" : "ContainerCreating");
    } else {
        snprintf(out->pod_uid, sizeof out->pod_uid, "%s", p->uid);
        snprintf(out->container_id, sizeof out->container_id, "%s", c->cur.id);
        out->running = c->cur.state == SK_RT_RUNNING;
        sk_ag_ctr_log_path(a, p, c->name, c->cur.restart, out->log_path, sizeof out->log_path);
        if (c->have_prev)
            sk_ag_ctr_log_path(a, p, c->name, c->prev.restart, out->prev_log_path, sizeof out->prev_log_path);
        snprintf(out->netns_path, sizeof out->netns_path, "%s", p->netns);
        snprintf(out->pod_ip, sizeof out->pod_ip, "%s", p->ip);
        snprintf(name, sizeof name, "%s", c->name);
    }
    bool init = c && c->init;
    pthread_mutex_unlock(&a->mu);
    _sk_json_ json_t *obj = sk_informer_get(a->pods_inf, ns, pod);
    if (!p) { /* bound here but not synced yet: upstream's wording for a pod being created */
        if (!obj) return sk_err_set(err, SK_ENOTFOUND, "pod \"%s\" not found on this node", key);
        return sk_err_set(err, SK_EBADREQUEST, "container \"%s\" in pod \"%s\" is waiting to start: ContainerCreating",
                          container && *container ? container : "", pod);
    }
    if (rc < 0) return rc;
    const json_t *list = sk_json_path(obj, init ? "spec.initContainers" : "spec.containers");
    size_t i;
    json_t *spec;
    json_array_foreach(list, i, spec) {
        if (strcmp(sk_json_str(spec, "name") ?: "", name)) continue;
        out->tty = json_is_true(json_object_get(spec, "tty"));
        out->stdin_open = json_is_true(json_object_get(spec, "stdin"));
    }
    return 0;
}

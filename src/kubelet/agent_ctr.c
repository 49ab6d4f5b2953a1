/* One container of a pod: starting an instance (image, configuration from
 * spec.c with the volume mounts, the managed /etc/hosts and the
 * termination-log file, runtime create + start, probes, postStart),
 * following its state in the runtime, killing it (preStop, grace), and the
 * restart decisions: restartPolicy and CrashLoopBackOff as the kubelet's
 * doBackOff. The current instance and the previous one (lastState, logs
 * --previous) are kept in the runtime; older ones are removed. */
#include "kubelet/agent_core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define TERM_MSG_MAX 4096
#define TERM_LOG_MAX 2048

struct sk_ag_ctr *sk_ag_ctr_find(struct sk_ag_pod *p, const char *name, bool init)
{
    for (size_t i = 0; p && name && i < p->nctrs; i++)
        if (p->ctrs[i].init == init && !strcmp(p->ctrs[i].name, name)) return &p->ctrs[i];
    return NULL;
}

const json_t *sk_ag_ctr_spec(const json_t *pod, const struct sk_ag_ctr *c)
{
    const json_t *list = sk_json_path(pod, c->init ? "spec.initContainers" : "spec.containers");
    const json_t *s = json_array_get(list, (size_t)c->index);
    if (s && !strcmp(sk_json_str(s, "name") ?: "", c->name)) return s;
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x) if (!strcmp(sk_json_str(x, "name") ?: "", c->name)) return x;
    return NULL;
}

void sk_ag_ctr_log_path(sk_agent *a, const struct sk_ag_pod *p, const char *ctr, int restart,
                        char *out, size_t n)
{
    snprintf(out, n, "%s/logs/%s_%s_%s/%s/%d.log", a->data_dir, p->ns, p->name, p->uid, ctr, restart);
}

static void term_path(sk_agent *a, const struct sk_ag_pod *p, const char *ctr, int restart, char *out,
                      size_t n)
{
    char leaf[300];
    snprintf(leaf, sizeof leaf, "containers/%s/%d", ctr, restart);
    sk_ag_pod_run_path(a, p->uid, leaf, out, n);
}

/* Under a->mu: the HTTPS server's lookups read the reason. */
static void set_wait(sk_agent *a, struct sk_ag_ctr *c, const char *reason, const char *msg)
{
    pthread_mutex_lock(&a->mu);
    snprintf(c->wait_reason, sizeof c->wait_reason, "%s", reason ? reason : "");
    snprintf(c->wait_msg, sizeof c->wait_msg, "%s", msg ? msg : "");
    pthread_mutex_unlock(&a->mu);
}

static void publish(sk_agent *a, struct sk_ag_ctr *c, const struct sk_ag_inst *in)
{
    pthread_mutex_lock(&a->mu);
    c->cur = *in;
    c->have_cur = true;
    pthread_mutex_unlock(&a->mu);
}

/* ---- exits ----------------------------------------------------------------------- */

/* The CRI log's text of the last bytes, for FallbackToLogsOnError. */
static void log_tail(const char *path, char *out, size_t n)
{
    out[0] = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char buf[TERM_LOG_MAX * 2 + 1];
    off_t end = lseek(fd, 0, SEEK_END), from = end > (off_t)(sizeof buf - 1) ? end - (off_t)(sizeof buf - 1) : 0;
    ssize_t got = pread(fd, buf, sizeof buf - 1, from);
    close(fd);
    if (got <= 0) return;
    buf[got] = 0;
    sk_buf b = SK_BUF_INIT;
    char *line = from ? strchr(buf, '\n') : buf; /* skip a partial first line */
    while (line && *line) {
        if (*line == '\n') line++;
        char *eol = strchr(line, '\n');
        if (eol) *eol = 0;
        /* "<time> <stream> <F|P> <text>" */
        char *f1 = strchr(line, ' '), *f2 = f1 ? strchr(f1 + 1, ' ') : NULL;
        char *f3 = f2 ? strchr(f2 + 1, ' ') : NULL;
        if (f3) {
            sk_buf_adds(&b, f3 + 1);
            if (f2[1] == 'F') sk_buf_adds(&b, "\n");
        }
        line = eol ? eol + 1 : NULL;
    }
    const char *s = b.len > TERM_LOG_MAX ? b.data + b.len - TERM_LOG_MAX : b.data;
    snprintf(out, n, "%s", s ? s : "");
    sk_buf_release(&b);
}

static void termination_message(sk_agent *a, struct sk_ag_pod *p, struct sk_ag_ctr *c, const json_t *pod,
                                struct sk_ag_inst *in)
{
    char path[PATH_MAX];
    term_path(a, p, c->name, in->restart, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
        char buf[TERM_MSG_MAX + 1];
        ssize_t got = read(fd, buf, TERM_MSG_MAX);
        close(fd);
        if (got > 0) {
            buf[got] = 0;
            snprintf(in->message, sizeof in->message, "%s", buf);
            return;
        }
    }
    const json_t *spec = sk_ag_ctr_spec(pod, c);
    const char *policy = sk_json_str(spec, "terminationMessagePolicy");
    if (in->exit_code != 0 && policy && !strcmp(policy, "FallbackToLogsOnError")) {
        char log[PATH_MAX];
        sk_ag_ctr_log_path(a, p, c->name, in->restart, log, sizeof log);
        log_tail(log, in->message, sizeof in->message);
    }
}

void sk_ag_ctr_refresh(sk_agent *a, struct sk_ag_pod *p, struct sk_ag_ctr *c, const json_t *pod)
{
    if (!c->have_cur || !c->cur.id[0] || c->cur.state == SK_RT_EXITED) return;
    struct sk_ag_inst in = c->cur;
    struct sk_rt_status st;
    sk_err err = SK_ERR_INIT;
    if (sk_rt_container_status(a->rt, in.id, &st, &err) < 0) {
        if (err.code != SK_ENOTFOUND) {
            sk_log(SK_WARN, "agent", "pod %s: container %s: %s", p->key, c->name, err.msg);
            sk_err_clear(&err);
            return;
        }
        in.state = SK_RT_EXITED;
        in.exit_code = 137;
        in.finished_ms = sk_wall_ms();
        snprintf(in.reason, sizeof in.reason, "ContainerStatusUnknown");
        snprintf(in.message, sizeof in.message, "The container could not be located when the pod was terminated");
    } else {
        in.state = st.state == SK_RT_UNKNOWN && st.message[0] ? SK_RT_EXITED : st.state;
        if (st.state == SK_RT_UNKNOWN && st.message[0]) {
            in.exit_code = 255;
            snprintf(in.message, sizeof in.message, "%s", st.message);
        } else {
            in.exit_code = st.exit_code;
        }
        in.oom = st.oom_killed;
        if (st.started_ms) in.started_ms = st.started_ms;
        in.finished_ms = st.finished_ms ? st.finished_ms : in.state == SK_RT_EXITED ? sk_wall_ms() : 0;
        sk_rt_status_release(&st);
    }
    sk_err_clear(&err);
    if (in.state == SK_RT_EXITED) {
        if (!in.message[0]) termination_message(a, p, c, pod, &in);
        if (c->probing) sk_kl_prober_remove(a->prober, p->key, c->name);
        c->probing = false;
        c->ready = c->started = false;
        sk_log(SK_DEBUG, "agent", "pod %s: container %s exited with %d%s", p->key, c->name, in.exit_code,
               in.oom ? " (OOM)" : "");
    }
    publish(a, c, &in);
}

/* ---- restarts --------------------------------------------------------------------- */

bool sk_ag_ctr_should_restart(const json_t *pod, const struct sk_ag_ctr *c)
{
    if (c->sidecar) return true;
    if (!c->have_cur || c->cur.state != SK_RT_EXITED) return false;
    enum sk_ag_restart rp = sk_ag_restart_policy(pod);
    if (rp == SK_AG_NEVER) return false;
    if (c->init || rp == SK_AG_ON_FAILURE) return c->cur.exit_code != 0;
    return true;
}

int64_t sk_ag_ctr_crash_wait(sk_agent *a, struct sk_ag_pod *p, struct sk_ag_ctr *c, const json_t *pod)
{
    int64_t now = sk_wall_ms(), since = c->cur.finished_ms ? c->cur.finished_ms : now;
    if (!sk_ag_backoff_active(&c->crash, now, since, SK_AG_CRASH_MAX_MS)) {
        sk_ag_backoff_next(&c->crash, now, SK_AG_CRASH_INIT_MS, SK_AG_CRASH_MAX_MS);
        return 0;
    }
    char d[32], msg[512];
    sk_ag_go_duration(c->crash.delay_ms, d, sizeof d);
    snprintf(msg, sizeof msg, "back-off %s restarting failed container=%s pod=%s_%s(%s)", d, c->name,
             p->name, p->ns, p->uid);
    set_wait(a, c, "CrashLoopBackOff", msg);
    if (c->backoff_evented != since) {
        c->backoff_evented = since;
        _sk_json_ json_t *ref = sk_ag_event_ref(pod);
        sk_event(a->rec, ref, "Warning", "BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)",
                 c->name, p->name, p->ns, p->uid);
    }
    int64_t left = since + c->crash.delay_ms - now;
    return left > 0 ? left : 1;
}

void sk_ag_inst_remove(sk_agent *a, struct sk_ag_pod *p, const struct sk_ag_ctr *c,
                       const struct sk_ag_inst *in)
{
    sk_err err = SK_ERR_INIT;
    if (in->id[0] && sk_rt_container_remove(a->rt, in->id, &err) < 0 && err.code != SK_ENOTFOUND)
        sk_log(SK_WARN, "agent", "pod %s: remove container %s: %s", p->key, in->id, err.msg);
    sk_err_clear(&err);
    char path[PATH_MAX];
    sk_ag_ctr_log_path(a, p, c->name, in->restart, path, sizeof path);
    unlink(path);
    for (int k = 1; k <= 8; k++) { /* rotated files */
        char rot[PATH_MAX + 8];
        snprintf(rot, sizeof rot, "%s.%d", path, k);
        unlink(rot);
    }
    term_path(a, p, c->name, in->restart, path, sizeof path);
    unlink(path);
}

void sk_ag_ctr_retire(sk_agent *a, struct sk_ag_pod *p, struct sk_ag_ctr *c)
{
    if (!c->have_cur) return;
    if (c->have_prev) sk_ag_inst_remove(a, p, c, &c->prev);
    if (c->probing) sk_kl_prober_remove(a->prober, p->key, c->name);
    c->probing = false;
    pthread_mutex_lock(&a->mu);
    c->prev = c->cur;
    c->have_prev = true;
    c->have_cur = false;
    c->next_restart = c->prev.restart + 1;
    pthread_mutex_unlock(&a->mu);
}

/* ---- probes and kills ---------------------------------------------------------------- */

static bool has_probes(const json_t *spec)
{
    return json_is_object(json_object_get(spec, "livenessProbe")) ||
           json_is_object(json_object_get(spec, "readinessProbe")) ||
           json_is_object(json_object_get(spec, "startupProbe"));
}

bool sk_ag_ctr_probe_state(sk_agent *a, struct sk_ag_pod *p, struct sk_ag_ctr *c, char *msg, size_t n)
{
    if (msg && n) msg[0] = 0;
    bool running = c->have_cur && c->cur.state == SK_RT_RUNNING;
    if (!running) {
        c->ready = c->started = false;
        return false;
    }
    if (!c->probing) {
        c->ready = c->started = true;
        return false;
    }
    struct sk_kl_probe_state ps;
    if (!sk_kl_prober_get(a->prober, p->key, c->name, c->cur.id, &ps)) {
        c->ready = c->started = false;
        return false;
    }
    c->ready = ps.ready;
    c->started = ps.started;
    if (msg) snprintf(msg, n, "%s", ps.message);
    return ps.liveness_failed;
}

void sk_ag_ctr_kill(sk_agent *a, struct sk_ag_pod *p, struct sk_ag_ctr *c, const json_t *pod, int64_t grace_ms)
{
    if (!c->have_cur || !c->cur.id[0] || c->cur.state == SK_RT_EXITED) return;
    const json_t *pre = sk_json_path(sk_ag_ctr_spec(pod, c), "lifecycle.preStop");
    if (json_is_object(pre) && grace_ms > 0 && c->cur.state == SK_RT_RUNNING) {
        int64_t t0 = sk_now_ms();
        char msg[512] = "";
        int rc = sk_kl_handler_run(a->rt, pre, c->cur.id, p->ip, (int)(grace_ms > INT32_MAX ? INT32_MAX : grace_ms),
                                   msg, sizeof msg);
        if (rc != 0) {
            _sk_json_ json_t *ref = sk_ag_event_ref(pod);
            sk_event(a->rec, ref, "Warning", "FailedPreStopHook", "%s", msg[0] ? msg : "PreStopHook failed");
        }
        grace_ms -= sk_now_ms() - t0;
        if (grace_ms < 2000) grace_ms = 2000; /* minimumGracePeriodInSeconds after the hook */
    }
    sk_err err = SK_ERR_INIT;
    if (sk_rt_container_stop(a->rt, c->cur.id, grace_ms, &err) < 0 && err.code != SK_ENOTFOUND)
        sk_log(SK_WARN, "agent", "pod %s: stop container %s: %s", p->key, c->name, err.msg);
    sk_err_clear(&err);
    sk_ag_ctr_refresh(a, p, c, pod);
}

/* ---- starting an instance -------------------------------------------------------------- */

/* A start that failed in the runtime counts as an instance that could not
 * run, as a StartError does upstream: restarted under the back-off. */
static void start_failed(sk_agent *a, struct sk_ag_ctr *c, const json_t *pod, int restart, const char *hash,
                         const char *msg)
{
    struct sk_ag_inst in = {.state = SK_RT_EXITED, .exit_code = 128, .restart = restart,
                            .started_ms = sk_wall_ms(), .created_ms = sk_wall_ms(), .finished_ms = sk_wall_ms()};
    snprintf(in.reason, sizeof in.reason, "ContainerCannotRun");
    snprintf(in.message, sizeof in.message, "%s", msg);
    snprintf(in.hash, sizeof in.hash, "%s", hash);
    publish(a, c, &in);
    set_wait(a, c, "RunContainerError", msg);
    _sk_json_ json_t *ref = sk_ag_event_ref(pod);
    sk_event(a->rec, ref, "Warning", "Failed", "Error: %s", msg);
}

static void config_failed(sk_agent *a, struct sk_ag_pod *p, struct sk_ag_ctr *c, const json_t *pod,
                          const char *reason, const char *msg)
{
    set_wait(a, c, reason, msg);
    _sk_json_ json_t *ref = sk_ag_event_ref(pod);
    sk_event(a->rec, ref, "Warning", "Failed", "Error: %s", msg);
    c->retry_at = sk_now_ms() + 10000; /* the kubelet's backOffPeriod */
    sk_workqueue_add_after(a->q, p->key, 10000);
}

/* Volume mounts plus the managed /etc/hosts and the termination-log file. */
static int build_mounts(sk_agent *a, struct sk_ag_pod *p, const json_t *pod, const json_t *spec,
                        const char *term_file, struct sk_rt_mount **vm, struct sk_rt_mount **all,
                        size_t *n, char *hosts, size_t hosts_n, sk_err *err)
{
    size_t nvm = 0;
    if (sk_kl_volume_mounts(a->data_dir, pod, spec, vm, &nvm, err) < 0) return -1;
    *all = sk_calloc(nvm + 2, sizeof **all);
    bool own_hosts = false;
    for (size_t i = 0; i < nvm; i++) {
        (*all)[i] = (*vm)[i];
        if ((*vm)[i].destination && !strcmp((*vm)[i].destination, "/etc/hosts")) own_hosts = true;
    }
    *n = nvm;
    sk_ag_pod_run_path(a, p->uid, "etc-hosts", hosts, hosts_n);
    if (!own_hosts && access(hosts, R_OK) == 0) (*all)[(*n)++] = (struct sk_rt_mount){hosts, "/etc/hosts", false};
    const char *tpath = sk_json_str(spec, "terminationMessagePath");
    if (!tpath) tpath = "/dev/termination-log";
    if (*tpath == '/' && term_file) (*all)[(*n)++] = (struct sk_rt_mount){term_file, tpath, false};
    return 0;
}

static int prepare_files(sk_agent *a, struct sk_ag_pod *p, struct sk_ag_ctr *c, int restart, char *log,
                         size_t log_n, char *term, size_t term_n)
{
    sk_err err = SK_ERR_INIT;
    sk_ag_ctr_log_path(a, p, c->name, restart, log, log_n);
    term_path(a, p, c->name, restart, term, term_n);
    char dir[PATH_MAX];
    int rc = 0;
    for (int k = 0; k < 2 && rc == 0; k++) {
        snprintf(dir, sizeof dir, "%s", k ? term : log);
        char *slash = strrchr(dir, '/');
        if (slash) *slash = 0;
        rc = sk_mkdir_p(dir, 0755, &err);
    }
    sk_err_clear(&err);
    if (rc < 0) return -1;
    unlink(log); /* a stale file of an earlier agent must not read as this instance's log */
    int fd = open(term, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) return -1;
    fchmod(fd, 0666); /* writable by any container user */
    close(fd);
    return 0;
}

struct start_ctx {
    char ref[512], id[80], log[PATH_MAX], term[PATH_MAX], hosts[PATH_MAX], hash[24];
    sk_image_cfg *icfg;
    char **layers;
    const char **top_first;
    size_t nlayers;
    struct sk_rt_mount *vm, *mounts;
    size_t nmounts;
    char *udata;
};

static void start_ctx_release(struct start_ctx *s)
{
    sk_image_cfg_free(s->icfg);
    sk_image_strv_free(s->layers);
    free(s->top_first);
    free(s->vm);
    free(s->mounts);
    free(s->udata);
}

/* Image config and layers (top-most first, as spec.c wants them). */
static int image_parts(sk_agent *a, struct start_ctx *s, sk_err *err)
{
    s->icfg = sk_image_config(a->images, s->ref, err);
    if (!s->icfg || sk_image_layers(a->images, s->ref, &s->layers, err) < 0) return -1;
    while (s->layers[s->nlayers]) s->nlayers++;
    s->top_first = sk_calloc(s->nlayers + 1, sizeof *s->top_first);
    for (size_t i = 0; i < s->nlayers; i++) s->top_first[i] = s->layers[s->nlayers - 1 - i];
    return 0;
}

static int runtime_create(sk_agent *a, struct sk_rt_container_config *cfg, sk_err *err)
{
    int rc = sk_rt_container_create(a->rt, cfg, err);
    if (rc < 0 && err->code == SK_EEXIST) { /* left by a crash between create and our record */
        sk_err e = SK_ERR_INIT;
        if (sk_rt_container_remove(a->rt, cfg->id, &e) == 0) {
            sk_err_clear(err);
            rc = sk_rt_container_create(a->rt, cfg, err);
        }
        sk_err_clear(&e);
    }
    return rc;
}

static void after_start(sk_agent *a, struct sk_ag_pod *p, struct sk_ag_ctr *c, const json_t *pod,
                        const json_t *spec, const struct start_ctx *s, int restart)
{
    struct sk_ag_inst in = {.state = SK_RT_RUNNING, .restart = restart, .created_ms = sk_wall_ms(),
                            .started_ms = sk_wall_ms()};
    snprintf(in.id, sizeof in.id, "%s", s->id);
    snprintf(in.hash, sizeof in.hash, "%s", s->hash);
    snprintf(c->image_id, sizeof c->image_id, "%s", s->icfg->repo_digest ? s->icfg->repo_digest : s->icfg->id);
    set_wait(a, c, NULL, NULL);
    /* Without probes a running container is started and ready at once, so
     * the first status write already says Ready (no second round trip). */
    c->ready = c->started = !has_probes(spec);
    c->probe_msg[0] = 0;
    c->retry_at = 0;
    publish(a, c, &in);
    c->watching = sk_ag_watch_exit(a, p->key, s->id);
    if (has_probes(spec)) {
        sk_kl_prober_add(a->prober, p->key, c->name, s->id, spec, p->ip, in.started_ms);
        c->probing = true;
    }
    const json_t *post = sk_json_path(spec, "lifecycle.postStart");
    if (!json_is_object(post)) return;
    char msg[512] = "";
    if (sk_kl_handler_run(a->rt, post, s->id, p->ip, 30000, msg, sizeof msg) != 0) {
        _sk_json_ json_t *ref = sk_ag_event_ref(pod);
        sk_event(a->rec, ref, "Warning", "FailedPostStartHook", "%s", msg[0] ? msg : "PostStartHook failed");
        sk_ag_ctr_kill(a, p, c, pod, sk_ag_grace_ms(pod));
    }
}

bool sk_ag_ctr_start(sk_agent *a, struct sk_ag_pod *p, struct sk_ag_ctr *c, const json_t *pod,
                     const json_t *services)
{
    const json_t *spec = sk_ag_ctr_spec(pod, c);
    if (!spec) return false;
    struct start_ctx s = {0};
    int64_t retry = 0;
    if (c->retry_at && sk_now_ms() < c->retry_at) {
        sk_workqueue_add_after(a->q, p->key, c->retry_at - sk_now_ms());
        return false;
    }
    if (sk_ag_image_ensure(a, p, c, pod, spec, s.ref, sizeof s.ref, &retry) < 0) {
        if (retry > 0) sk_workqueue_add_after(a->q, p->key, retry);
        return false;
    }
    sk_err err = SK_ERR_INIT;
    int restart = c->have_cur ? c->cur.restart + 1 : c->next_restart;
    sk_ag_ctr_id(p->uid, c->name, restart, s.id, sizeof s.id);
    sk_ag_spec_hash(spec, s.hash);
    bool ok = false, have_built = false;
    struct sk_kl_ctr_spec built = {0};
    _sk_json_ json_t *ref = NULL; /* before any goto: its cleanup runs at out */
    if (image_parts(a, &s, &err) < 0) {
        config_failed(a, p, c, pod, "CreateContainerError", err.msg);
        goto out;
    }
    if (prepare_files(a, p, c, restart, s.log, sizeof s.log, s.term, sizeof s.term) < 0) {
        config_failed(a, p, c, pod, "CreateContainerError", "cannot create the container's log and termination files");
        goto out;
    }
    if (build_mounts(a, p, pod, spec, s.term, &s.vm, &s.mounts, &s.nmounts, s.hosts, sizeof s.hosts, &err) < 0) {
        config_failed(a, p, c, pod, "CreateContainerConfigError", err.msg);
        goto out;
    }
    struct sk_kl_spec_ctx ctx = {.client = a->client, .pod = pod, .services = services,
                                 .node_name = a->node_name, .node_ip = sk_ag_node_ip(a), .pod_ip = p->ip,
                                 .image = s.icfg, .lower_dirs = s.top_first, .n_lower = s.nlayers,
                                 .mounts = s.mounts, .n_mounts = s.nmounts, .sandbox_id = p->sandbox_id,
                                 .container_id = s.id, .log_path = s.log};
    if (sk_kl_ctr_spec_build(&ctx, spec, &built, &err) < 0) {
        config_failed(a, p, c, pod, err.code == SK_EINVALID ? "CreateContainerConfigError" : "CreateContainerError",
                      err.msg);
        goto out;
    }
    have_built = true;
    struct sk_ag_udata u = {.restart = restart, .init = c->init};
    snprintf(u.uid, sizeof u.uid, "%s", p->uid);
    snprintf(u.ns, sizeof u.ns, "%s", p->ns);
    snprintf(u.pod, sizeof u.pod, "%s", p->name);
    snprintf(u.ctr, sizeof u.ctr, "%s", c->name);
    snprintf(u.hash, sizeof u.hash, "%s", s.hash);
    s.udata = sk_ag_udata_encode(&u, true);
    built.cfg.id = s.id;
    built.cfg.sandbox_id = p->sandbox_id;
    built.cfg.name = c->name;
    built.cfg.log_path = s.log;
    built.cfg.user_data = s.udata;
    built.cfg.start = true; /* one crun call: nothing of ours runs between create and start */
    sk_ag_ctr_retire(a, p, c);
    ref = sk_ag_event_ref(pod);
    int64_t t0 = sk_now_ms();
    int crc = runtime_create(a, &built.cfg, &err);
    sk_log(SK_DEBUG, "agent", "pod %s: container %s created in %lld ms", p->key, c->name, (long long)(sk_now_ms() - t0));
    if (crc < 0) {
        start_failed(a, c, pod, restart, s.hash, err.msg);
        goto out;
    }
    sk_event(a->rec, ref, "Normal", "Created", "Created container %s", c->name);
    sk_event(a->rec, ref, "Normal", "Started", "Started container %s", c->name);
    after_start(a, p, c, pod, spec, &s, restart);
    ok = true;
out:
    if (have_built) sk_kl_ctr_spec_release(&built);
    start_ctx_release(&s);
    sk_err_clear(&err);
    return ok;
}

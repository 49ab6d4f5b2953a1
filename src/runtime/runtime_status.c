/* Container status from the on-disk record, without running crun: the
 * shim's state file (pids + start times, so a recycled pid is not mistaken
 * for the container), the started marker and the shim's exit record. Works
 * the same after an agent restart, which is how containers are adopted. */
#include "runtime/runtime_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>

#define RT_SHIM_SETTLE_MS 3000 /* container gone, shim still writing the exit */

static char *read_small(sk_rt *rt, const char *id, const char *leaf)
{
    _sk_free_ char *path = rt_path(rt, "containers", id, leaf);
    sk_err e = SK_ERR_INIT;
    char *text = sk_read_file(path, NULL, &e);
    sk_err_clear(&e);
    return text;
}

static void fill_exit(struct sk_rt_status *st, const char *text)
{
    long long v;
    st->state = SK_RT_EXITED;
    st->pid = 0;
    st->exit_code = rt_kv_get(text, "exit_code", '=', &v) ? (int)v : 255;
    st->oom_killed = rt_kv_get(text, "oom_kills", '=', &v) && v > 0;
    st->finished_ms = rt_kv_get(text, "finished_ms", '=', &v) ? v : 0;
}

static void fill_meta(struct sk_rt_status *st, const json_t *m)
{
    st->sandbox_id = sk_strdup(sk_json_str(m, "sandbox_id"));
    st->name = sk_strdup(sk_json_str(m, "name"));
    st->log_path = sk_strdup(sk_json_str(m, "log_path"));
    st->user_data = sk_strdup(sk_json_str(m, "user_data"));
    st->created_ms = json_integer_value(json_object_get(m, "created_ms"));
}

/* Process state when no exit record exists yet. */
static void fill_live(sk_rt *rt, const char *id, struct sk_rt_status *st, const char *state)
{
    long long pid = 0, start = 0;
    if (!rt_kv_get(state, "pid", '=', &pid) || !rt_kv_get(state, "pid_start", '=', &start)) {
        st->state = SK_RT_UNKNOWN;
        snprintf(st->message, sizeof st->message, "bad state file");
        return;
    }
    _sk_free_ char *started = read_small(rt, id, "started");
    long long v;
    if (started && rt_kv_get(started, "started_ms", '=', &v)) st->started_ms = v;
    if (rt_proc_alive((pid_t)pid, (unsigned long long)start)) {
        /* crun's exec fifo exists until `crun start` went through; the
         * started marker alone could predate an interrupted start. */
        _sk_free_ char *fifo = sk_printf("%s/%s/exec.fifo", rt->crun_root, id);
        st->state = rt_exists(fifo) ? SK_RT_CREATED : SK_RT_RUNNING;
        st->pid = (int)pid;
        if (st->state == SK_RT_CREATED) st->started_ms = 0;
        return;
    }
    int sfd = rt_shim_pidfd(rt, id);
    if (sfd >= 0) {
        rt_wait_readable(sfd, RT_SHIM_SETTLE_MS);
        close(sfd);
    }
    _sk_free_ char *ex = read_small(rt, id, "exit");
    if (ex) {
        fill_exit(st, ex);
        return;
    }
    st->state = SK_RT_EXITED;
    st->exit_code = 255;
    snprintf(st->message, sizeof st->message, "exit status lost: the shim died before the container");
}

int rt_container_status_dir(sk_rt *rt, const char *id, struct sk_rt_status *st, sk_err *err)
{
    *st = (struct sk_rt_status){.id = sk_strdup(id), .state = SK_RT_UNKNOWN};
    _sk_free_ char *meta_path = rt_path(rt, "containers", id, "meta.json");
    if (!rt_exists(meta_path)) {
        _sk_free_ char *crun_state = sk_printf("%s/%s", rt->crun_root, id);
        if (!rt_exists(crun_state)) {
            sk_rt_status_release(st);
            return sk_err_set(err, SK_ENOTFOUND, "container %s not found", id);
        }
        snprintf(st->message, sizeof st->message, "crun container without runtime metadata");
        return 0;
    }
    _sk_json_ json_t *meta = rt_json_load(meta_path, err);
    if (!meta) {
        sk_rt_status_release(st);
        return -1;
    }
    fill_meta(st, meta);
    _sk_free_ char *ex = read_small(rt, id, "exit");
    _sk_free_ char *state = ex ? NULL : read_small(rt, id, "state");
    if (ex) {
        _sk_free_ char *started = read_small(rt, id, "started");
        long long v;
        if (started && rt_kv_get(started, "started_ms", '=', &v)) st->started_ms = v;
        fill_exit(st, ex);
    } else if (state) {
        fill_live(rt, id, st, state);
    } else {
        snprintf(st->message, sizeof st->message, "create did not finish");
    }
    return 0;
}

int sk_rt_container_status(sk_rt *rt, const char *id, struct sk_rt_status *st, sk_err *err)
{
    if (!rt_id_ok(id)) {
        *st = (struct sk_rt_status){0};
        return sk_err_set(err, SK_EINVALID, "container id \"%s\" is invalid", id ? id : "");
    }
    return rt_container_status_dir(rt, id, st, err);
}

int sk_rt_container_exit_fd(sk_rt *rt, const char *id, sk_err *err)
{
    struct sk_rt_status st;
    if (sk_rt_container_status(rt, id, &st, err) < 0) return -1;
    bool done = st.state == SK_RT_EXITED || st.state == SK_RT_UNKNOWN;
    sk_rt_status_release(&st);
    int fd = done ? -1 : rt_shim_pidfd(rt, id);
    if (fd >= 0) return fd;
    /* Already over (or nobody left to tell): a descriptor that is readable now. */
    fd = eventfd(1, EFD_CLOEXEC);
    return fd >= 0 ? fd : sk_err_sys(err, "eventfd");
}

static bool contains(char **ids, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(ids[i], id)) return true;
    return false;
}

int sk_rt_list(sk_rt *rt, struct sk_rt_status **out, size_t *n, sk_err *err)
{
    char **ours = NULL, **cruns = NULL;
    size_t nours = 0, ncruns = 0;
    *out = NULL;
    *n = 0;
    if (rt_list_ids(rt, "containers", &ours, &nours, err) < 0) return -1;
    if (rt_list_ids(rt, "crun", &cruns, &ncruns, err) < 0) {
        rt_strv_free(ours, nours);
        return -1;
    }
    *out = sk_calloc(nours + ncruns + 1, sizeof **out);
    for (size_t i = 0; i < nours + ncruns; i++) {
        const char *id = i < nours ? ours[i] : cruns[i - nours];
        if (i >= nours && contains(ours, nours, id)) continue;
        sk_err e = SK_ERR_INIT;
        if (rt_container_status_dir(rt, id, &(*out)[*n], &e) == 0) (*n)++; /* else removed meanwhile */
        sk_err_clear(&e);
    }
    rt_strv_free(ours, nours);
    rt_strv_free(cruns, ncruns);
    return 0;
}

int rt_containers_of(sk_rt *rt, const char *sandbox_id, char ***ids, size_t *n, sk_err *err)
{
    char **all = NULL;
    size_t nall = 0;
    *ids = NULL;
    *n = 0;
    if (rt_list_ids(rt, "containers", &all, &nall, err) < 0) return -1;
    *ids = sk_calloc(nall + 1, sizeof **ids);
    for (size_t i = 0; i < nall; i++) {
        _sk_free_ char *path = rt_path(rt, "containers", all[i], "meta.json");
        sk_err e = SK_ERR_INIT;
        _sk_json_ json_t *m = rt_json_load(path, &e);
        sk_err_clear(&e);
        const char *sb = sk_json_str(m, "sandbox_id");
        if (sb && !strcmp(sb, sandbox_id)) (*ids)[(*n)++] = SK_TAKE(all[i]);
    }
    rt_strv_free(all, nall);
    return 0;
}

void sk_rt_status_release(struct sk_rt_status *st)
{
    if (!st) return;
    free(st->id);
    free(st->sandbox_id);
    free(st->name);
    free(st->log_path);
    free(st->user_data);
    *st = (struct sk_rt_status){0};
}

void sk_rt_status_list_free(struct sk_rt_status *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++) sk_rt_status_release(&list[i]);
    free(list);
}

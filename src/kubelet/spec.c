/* Pod + container + image config -> sk_rt_container_config, as the v1.32
 * kubelet (kuberuntime_container.go generateContainerConfig, the Linux
 * resources and security context) and containerd's CRI plugin (image
 * entrypoint/cmd and env merge) together produce it.
 *
 * Partial, on purpose:
 *  - stdin/stdinOnce are ignored: the runtime gives containers /dev/null
 *    as stdin (no attach to the main process yet); tty sets a terminal.
 *  - seccomp: no profile means RuntimeDefault (as the kubelet's
 *    --seccomp-default); Localhost profiles are refused.
 *  - SELinux, AppArmor, procMount, windowsOptions, sysctls (sandbox) and
 *    the termination-message file are not handled here.
 * Every string the config points to is copied into out->priv, so nothing
 * borrowed from ctx needs to outlive the build. */
#include "kubelet/spec_int.h"

#include <ctype.h>
#include <signal.h>
#include <string.h>

#define ARGS_MAX 4096
#define CAPS_MAX 64
#define GROUPS_MAX 256

struct spec_priv {
    void **p;
    size_t n, cap;
};

static void *keep(struct spec_priv *sp, void *ptr)
{
    if (sp->n == sp->cap) {
        sp->cap = sp->cap ? sp->cap * 2 : 32;
        sp->p = sk_realloc(sp->p, sp->cap * sizeof *sp->p);
    }
    sp->p[sp->n++] = ptr;
    return ptr;
}

static const char *keep_str(struct spec_priv *sp, const char *s)
{
    return s ? keep(sp, sk_strdup(s)) : NULL;
}

void sk_kl_ctr_spec_release(struct sk_kl_ctr_spec *s)
{
    if (!s) return;
    struct spec_priv *sp = s->priv;
    for (size_t i = 0; sp && i < sp->n; i++) free(sp->p[i]);
    if (sp) free(sp->p);
    free(sp);
    memset(s, 0, sizeof *s);
}

/* ---- command and args ---------------------------------------------------------- */

struct strv {
    const char **v;
    size_t n;
};

static int push_json(struct spec_priv *sp, struct strv *sv, const json_t *arr, const char *what,
                     sk_kl_env *env, sk_err *err)
{
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x) {
        if (!json_is_string(x)) return sk_err_set(err, SK_EINVALID, "%s[%zu] must be a string", what, i);
        if (sv->n >= ARGS_MAX) return sk_err_set(err, SK_EINVALID, "too many arguments (> %d)", ARGS_MAX);
        char *s = sk_kl_expand(json_string_value(x), sk_kl_env_lookup, env, SK_KL_EXPAND_MAX);
        if (!s) return sk_err_set(err, SK_EINVALID, "%s[%zu]: expanded value too long", what, i);
        sv->v[sv->n++] = keep(sp, s);
    }
    return 0;
}

static int push_image(struct spec_priv *sp, struct strv *sv, char **v, sk_err *err)
{
    for (; v && *v; v++) {
        if (sv->n >= ARGS_MAX) return sk_err_set(err, SK_EINVALID, "too many arguments (> %d)", ARGS_MAX);
        sv->v[sv->n++] = keep_str(sp, *v);
    }
    return 0;
}

/* command replaces the image ENTRYPOINT (and drops its CMD); args replace
 * CMD. $(VAR) is expanded in command and args only, as upstream. */
static int build_args(struct spec_priv *sp, const sk_image_cfg *img, const json_t *ctr, sk_kl_env *env,
                      struct sk_rt_container_config *c, sk_err *err)
{
    json_t *cmd = json_object_get(ctr, "command"), *args = json_object_get(ctr, "args");
    struct strv sv = {keep(sp, sk_calloc(ARGS_MAX + 1, sizeof(char *))), 0};
    bool has_cmd = json_array_size(cmd) > 0, has_args = json_array_size(args) > 0;
    if (has_cmd ? push_json(sp, &sv, cmd, "command", env, err) : push_image(sp, &sv, img ? img->entrypoint : NULL, err))
        return -1;
    if (has_args ? push_json(sp, &sv, args, "args", env, err)
                 : push_image(sp, &sv, has_cmd || !img ? NULL : img->cmd, err))
        return -1;
    if (!sv.n) return sk_err_set(err, SK_EINVALID, "no command specified");
    c->args = sv.v;
    c->n_args = sv.n;
    return 0;
}

/* ---- security context ------------------------------------------------------------ */

/* The container's setting, else the pod's (DetermineEffectiveSecurityContext). */
static json_t *sc_get(const json_t *csc, const json_t *psc, const char *key)
{
    json_t *v = json_object_get(csc, key);
    return v && !json_is_null(v) ? v : json_object_get(psc, key);
}

static int id_value(const json_t *v, const char *what, int64_t *out, sk_err *err)
{
    *out = -1;
    if (!v || json_is_null(v)) return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX - 1)
        return sk_err_set(err, SK_EINVALID, "securityContext.%s: must be between 0 and 4294967294", what);
    *out = json_integer_value(v);
    return 0;
}

/* verifyRunAsNonRoot with the image's user: unset means root; a name
 * cannot be verified. */
static int check_non_root(const json_t *pod, const json_t *ctr, int64_t uid, const sk_image_cfg *img,
                          sk_err *err)
{
    char who[600];
    snprintf(who, sizeof who, "(pod: \"%s_%s(%s)\", container: %s)",
             sk_json_path_str(pod, "metadata.name") ?: "", sk_json_path_str(pod, "metadata.namespace") ?: "",
             sk_json_path_str(pod, "metadata.uid") ?: "", sk_json_str(ctr, "name") ?: "");
    if (uid >= 0) {
        if (uid == 0) return sk_err_set(err, SK_EINVALID, "container's runAsUser breaks non-root policy %s", who);
        return 0;
    }
    const char *user = img && img->user ? img->user : "";
    size_t n = strcspn(user, ":");
    bool numeric = n > 0;
    int64_t v = 0;
    for (size_t i = 0; i < n && numeric; i++) {
        numeric = isdigit((unsigned char)user[i]) != 0;
        if (v < INT32_MAX) v = v * 10 + (user[i] - '0');
    }
    if (n == 0 || (numeric && v == 0))
        return sk_err_set(err, SK_EINVALID, "container has runAsNonRoot and image will run as root %s", who);
    if (!numeric)
        return sk_err_set(err, SK_EINVALID,
                          "container has runAsNonRoot and image has non-numeric user (%.*s), cannot verify user is non-root %s",
                          (int)n, user, who);
    return 0;
}

static int caps(struct spec_priv *sp, const json_t *arr, const char *const **out, size_t *n, sk_err *err)
{
    size_t cnt = json_array_size(arr), i;
    json_t *x;
    if (cnt > CAPS_MAX) return sk_err_set(err, SK_EINVALID, "too many capabilities (> %d)", CAPS_MAX);
    const char **v = keep(sp, sk_calloc(cnt + 1, sizeof *v));
    *n = 0;
    json_array_foreach(arr, i, x) {
        const char *s = json_string_value(x);
        if (!s || !*s || strlen(s) > 64) return sk_err_set(err, SK_EINVALID, "invalid capability");
        v[(*n)++] = keep_str(sp, s);
    }
    *out = v;
    return 0;
}

static int security(struct spec_priv *sp, const struct sk_kl_spec_ctx *ctx, const json_t *ctr,
                    struct sk_rt_container_config *c, sk_err *err)
{
    const json_t *psc = sk_json_path(ctx->pod, "spec.securityContext");
    const json_t *csc = json_object_get(ctr, "securityContext");
    if (id_value(sc_get(csc, psc, "runAsUser"), "runAsUser", &c->run_as_user, err) < 0 ||
        id_value(sc_get(csc, psc, "runAsGroup"), "runAsGroup", &c->run_as_group, err) < 0)
        return -1;
    if (json_is_true(sc_get(csc, psc, "runAsNonRoot")) &&
        check_non_root(ctx->pod, ctr, c->run_as_user, ctx->image, err) < 0)
        return -1;
    /* fsGroup first, then supplementalGroups, as the kubelet synthesizes them. */
    json_t *sup = json_object_get(psc, "supplementalGroups"), *fs = json_object_get(psc, "fsGroup");
    size_t cnt = json_array_size(sup) + (fs ? 1 : 0), i;
    if (cnt > GROUPS_MAX) return sk_err_set(err, SK_EINVALID, "too many supplementalGroups (> %d)", GROUPS_MAX);
    uint32_t *g = keep(sp, sk_calloc(cnt + 1, sizeof *g));
    int64_t v;
    json_t *x;
    if (fs) {
        if (id_value(fs, "fsGroup", &v, err) < 0) return -1;
        if (v >= 0) g[c->n_supplemental_gids++] = (uint32_t)v;
    }
    json_array_foreach(sup, i, x) {
        if (id_value(x, "supplementalGroups", &v, err) < 0) return -1;
        if (v >= 0) g[c->n_supplemental_gids++] = (uint32_t)v;
    }
    c->supplemental_gids = g;
    json_t *cap = json_object_get(csc, "capabilities");
    if (caps(sp, json_object_get(cap, "add"), &c->cap_add, &c->n_cap_add, err) < 0 ||
        caps(sp, json_object_get(cap, "drop"), &c->cap_drop, &c->n_cap_drop, err) < 0)
        return -1;
    c->privileged = json_is_true(json_object_get(csc, "privileged"));
    c->readonly_rootfs = json_is_true(json_object_get(csc, "readOnlyRootFilesystem"));
    c->no_new_privileges = json_is_false(json_object_get(csc, "allowPrivilegeEscalation"));
    const char *sec = sk_json_str(sc_get(csc, psc, "seccompProfile"), "type");
    if (sec && !strcmp(sec, "Localhost"))
        return sk_err_set(err, SK_EINVALID, "seccomp profile type Localhost is not supported");
    c->seccomp = c->privileged || (sec && !strcmp(sec, "Unconfined")) ? SK_RT_SECCOMP_UNCONFINED
                                                                       : SK_RT_SECCOMP_DEFAULT;
    return 0;
}

/* ---- resources ------------------------------------------------------------------------ */

static int64_t res_value(const json_t *ctr, const char *kind, const char *name, int scale, bool *set)
{
    int64_t v = 0;
    json_t *q = json_object_get(json_object_get(json_object_get(ctr, "resources"), kind), name);
    *set = q && sk_kl_quantity_json(q, scale, &v) == 0;
    return *set && v > 0 ? v : 0;
}

/* v1qos.GetPodQOS over cpu and memory of every container. */
static const char *pod_qos(const json_t *pod)
{
    const char *q = sk_json_path_str(pod, "status.qosClass");
    if (q && *q) return q;
    bool any = false, guaranteed = true;
    static const char *const lists[] = {"spec.initContainers", "spec.containers"};
    for (size_t l = 0; l < 2; l++) {
        size_t i;
        json_t *c;
        json_array_foreach(sk_json_path(pod, lists[l]), i, c) {
            for (int r = 0; r < 2; r++) {
                const char *name = r ? "memory" : "cpu";
                bool rs, ls;
                int64_t req = res_value(c, "requests", name, 3, &rs), lim = res_value(c, "limits", name, 3, &ls);
                if (!rs) req = lim;
                if (req || lim) any = true;
                if (!lim || req != lim) guaranteed = false;
            }
        }
    }
    return !any ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
}

/* GetContainerOOMScoreAdjust (without the sidecar refinements). */
static int oom_score_adj(const json_t *pod, const json_t *ctr)
{
    const char *pc = sk_json_path_str(pod, "spec.priorityClassName");
    const char *qos = pod_qos(pod);
    if ((pc && !strcmp(pc, "system-node-critical")) || !strcmp(qos, "Guaranteed")) return -997;
    if (!strcmp(qos, "BestEffort")) return 1000;
    struct sk_kl_alloc a;
    sk_kl_node_allocatable(&a);
    bool set;
    int64_t req = res_value(ctr, "requests", "memory", 0, &set);
    if (!set) req = res_value(ctr, "limits", "memory", 0, &set);
    int64_t adj = a.memory > 0 && req < a.memory ? 1000 - (int64_t)((__int128)1000 * req / a.memory) : 0;
    if (adj < 3) return 3;
    return adj == 1000 ? 999 : (int)adj;
}

static void resources(const json_t *ctr, struct sk_rt_container_config *c)
{
    bool set, req_set;
    c->memory_limit = res_value(ctr, "limits", "memory", 0, &set);
    int64_t lim = res_value(ctr, "limits", "cpu", 3, &set);
    int64_t req = res_value(ctr, "requests", "cpu", 3, &req_set);
    int64_t milli = req_set ? req : lim;                 /* an unset request is the limit */
    int64_t shares = milli > 256000 ? 262144 : milli * 1024 / 1000; /* MilliCPUToShares */
    c->cpu_shares = (uint64_t)(shares < 2 ? 2 : shares);
    c->cpu_period = 100000;
    if (lim > 0) {
        int64_t q = lim > 1000000000 ? 100000000000000 : lim * 100; /* milli * period / 1000 */
        c->cpu_quota = q < 1000 ? 1000 : q;
    }
}

/* ---- misc -------------------------------------------------------------------------------- */

static int stop_signal(const char *s)
{
    static const struct { const char *name; int sig; } tab[] = {
        {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
        {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"STOP", SIGSTOP},
        {"WINCH", SIGWINCH}, {"PWR", SIGPWR}, {"CONT", SIGCONT}, {"ABRT", SIGABRT},
    };
    if (!s || !*s) return 0;
    if (isdigit((unsigned char)*s)) {
        int v = 0;
        for (; isdigit((unsigned char)*s) && v < 1000; s++) v = v * 10 + (*s - '0');
        return !*s && v > 0 && v < 65 ? v : 0;
    }
    if (!strncasecmp(s, "SIG", 3)) s += 3;
    for (size_t i = 0; i < SK_ARRAY_LEN(tab); i++)
        if (!strcasecmp(s, tab[i].name)) return tab[i].sig;
    if (!strncasecmp(s, "RTMIN+", 6) && isdigit((unsigned char)s[6])) {
        int v = SIGRTMIN + (int)strtol(s + 6, NULL, 10);
        return v <= SIGRTMAX ? v : 0;
    }
    return 0;
}

static int copy_ctx(struct spec_priv *sp, const struct sk_kl_spec_ctx *ctx, const json_t *ctr,
                    struct sk_rt_container_config *c, sk_err *err)
{
    c->id = keep_str(sp, ctx->container_id);
    c->sandbox_id = keep_str(sp, ctx->sandbox_id);
    c->name = keep_str(sp, sk_json_str(ctr, "name"));
    c->log_path = keep_str(sp, ctx->log_path);
    const char **l = keep(sp, sk_calloc(ctx->n_lower + 1, sizeof *l));
    for (size_t i = 0; i < ctx->n_lower; i++) l[i] = keep_str(sp, ctx->lower_dirs[i]);
    c->lower_dirs = l;
    c->n_lower = ctx->n_lower;
    struct sk_rt_mount *m = keep(sp, sk_calloc(ctx->n_mounts + 1, sizeof *m));
    for (size_t i = 0; i < ctx->n_mounts; i++) {
        m[i].source = keep_str(sp, ctx->mounts[i].source);
        m[i].destination = keep_str(sp, ctx->mounts[i].destination);
        m[i].readonly = ctx->mounts[i].readonly;
    }
    c->mounts = m;
    c->n_mounts = ctx->n_mounts;
    const sk_image_cfg *img = ctx->image;
    const char *wd = sk_json_str(ctr, "workingDir");
    if (wd && *wd && wd[0] != '/')
        return sk_err_set(err, SK_EINVALID, "workingDir \"%s\" must be an absolute path", wd);
    if ((!wd || !*wd) && img && img->working_dir && *img->working_dir) wd = img->working_dir;
    c->cwd = wd && *wd ? keep(sp, sk_kl_path_clean(wd)) : NULL; /* image WORKDIR may be relative */
    c->image_user = img && img->user && *img->user ? keep_str(sp, img->user) : NULL;
    c->stop_signal = stop_signal(img ? img->stop_signal : NULL);
    c->terminal = json_is_true(json_object_get(ctr, "tty"));
    return 0;
}

int sk_kl_ctr_spec_build_with(const struct sk_kl_spec_ctx *ctx, sk_kl_getter_fn get, void *ud,
                              const json_t *ctr, struct sk_kl_ctr_spec *out, sk_err *err)
{
    memset(out, 0, sizeof *out);
    if (!ctx || !json_is_object(ctx->pod) || !json_is_object(ctr))
        return sk_err_set(err, SK_EINVALID, "container spec: a pod and a container are required");
    struct spec_priv *sp = sk_calloc(1, sizeof *sp);
    struct sk_rt_container_config *c = &out->cfg;
    out->priv = sp;
    c->run_as_user = c->run_as_group = -1;
    sk_kl_env *env = sk_kl_env_build(ctx, get, ud, ctr, false, err);
    if (!env || build_args(sp, ctx->image, ctr, env, c, err) < 0) goto fail;
    size_t n = 0, bytes = 0;
    char **e = keep(sp, sk_kl_env_strings(env, ctx->image, &n));
    for (size_t i = 0; i < n; i++) bytes += strlen(keep(sp, e[i])) + 1;
    for (size_t i = 0; i < c->n_args; i++) bytes += strlen(c->args[i]) + 1;
    if (bytes > SK_KL_ENV_BYTES_MAX)
        goto fail_set;
    c->env = (const char *const *)e;
    c->n_env = n;
    if (security(sp, ctx, ctr, c, err) < 0 || copy_ctx(sp, ctx, ctr, c, err) < 0) goto fail;
    resources(ctr, c);
    c->oom_score_adj = oom_score_adj(ctx->pod, ctr);
    sk_kl_env_free(env);
    return 0;
fail_set:
    sk_err_set(err, SK_EINVALID, "container %s: command, args and environment exceed %u bytes",
               sk_json_str(ctr, "name") ?: "", SK_KL_ENV_BYTES_MAX);
fail:
    sk_kl_env_free(env);
    sk_kl_ctr_spec_release(out);
    return -1;
}

int sk_kl_ctr_spec_build(const struct sk_kl_spec_ctx *ctx, const json_t *ctr, struct sk_kl_ctr_spec *out,
                         sk_err *err)
{
    return sk_kl_ctr_spec_build_with(ctx, sk_kl_client_get, ctx ? ctx->client : NULL, ctr, out, err);
}

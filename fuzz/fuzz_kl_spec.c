/* Fuzzes the node agent's container configuration and volume mounts with
 * arbitrary pods: sk_kl_ctr_spec_build (no API client: ConfigMap and Secret
 * references are missing), sk_kl_volume_mounts, and the volume payload
 * builders (no disk writes). Input: a pod, or
 *   {"pod": {...}, "services": [...], "image": {"entrypoint": [...],
 *    "cmd": [...], "env": [...], "user": "..", "workingDir": "..",
 *    "stopSignal": ".."}, "configMap": {...}, "secret": {...}}
 * hostPath volumes are redirected to a path that does not exist, so a
 * subPath never creates directories on the machine running the fuzzer. */
#include <string.h>

#include "kubelet/volumes_int.h"

#define NOWHERE "/nonexistent-skiff-fuzz"

static char **strv(const json_t *arr)
{
    size_t n = json_array_size(arr), k = 0, i;
    if (!json_is_array(arr)) return NULL;
    char **v = sk_calloc(n + 1, sizeof *v);
    json_t *x;
    json_array_foreach(arr, i, x)
        if (json_is_string(x)) v[k++] = (char *)json_string_value(x);
    return v;
}

static void check_spec(const struct sk_kl_ctr_spec *s)
{
    const struct sk_rt_container_config *c = &s->cfg;
    if (c->n_args == 0 || !c->args[0]) __builtin_trap();
    for (size_t i = 0; i < c->n_env; i++)
        if (!strchr(c->env[i], '=') || c->env[i][0] == '=') __builtin_trap();
    if (c->cpu_shares < 2 || c->cpu_quota < 0 || c->memory_limit < 0) __builtin_trap();
    if (c->cwd && c->cwd[0] != '/') __builtin_trap();
}

static void one_container(const json_t *in, const json_t *pod, const json_t *ctr, const sk_image_cfg *img)
{
    sk_err err = SK_ERR_INIT;
    struct sk_kl_spec_ctx ctx = {.pod = pod, .services = json_object_get(in, "services"), .node_name = "n",
                                 .node_ip = "192.0.2.1", .pod_ip = "10.0.0.2", .image = img,
                                 .sandbox_id = "sb", .container_id = "c", .log_path = "/l"};
    struct sk_kl_ctr_spec s;
    if (sk_kl_ctr_spec_build(&ctx, ctr, &s, &err) == 0) {
        check_spec(&s);
        sk_kl_ctr_spec_release(&s);
    } else if (!err.msg[0]) {
        __builtin_trap();
    }
    struct sk_rt_mount *m = NULL;
    size_t n = 0;
    if (sk_kl_volume_mounts(NOWHERE, pod, ctr, &m, &n, &err) == 0) {
        for (size_t i = 0; i < n; i++)
            if (m[i].destination[0] != '/' || !strcmp(m[i].destination, "/")) __builtin_trap();
        free(m);
    }
}

static void payloads(const json_t *in, const json_t *pod)
{
    size_t i;
    json_t *v, *src;
    json_array_foreach(sk_json_path(pod, "spec.volumes"), i, v) {
        struct sk_kl_payload p = {0};
        sk_err err = SK_ERR_INIT;
        if ((src = json_object_get(v, "downwardAPI")))
            (void)!sk_kl_payload_downward(pod, json_object_get(src, "items"), 0644, &p, &err);
        else if ((src = json_object_get(v, "configMap")))
            (void)!sk_kl_payload_keys(json_object_get(in, "configMap"), false, json_object_get(src, "items"), 0644,
                                      json_is_true(json_object_get(src, "optional")), &p, &err);
        else if ((src = json_object_get(v, "secret")))
            (void)!sk_kl_payload_keys(json_object_get(in, "secret"), true, json_object_get(src, "items"), 0644,
                                      false, &p, &err);
        for (size_t k = 0; k < p.n; k++)
            if (!p.v[k].path[0] || p.v[k].path[0] == '/' || strstr(p.v[k].path, "//")) __builtin_trap();
        sk_kl_payload_release(&p);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024) return 0;
    json_t *in = json_loadb((const char *)data, size, 0, NULL);
    if (!in) return 0;
    json_t *pod = json_object_get(in, "pod") ? json_object_get(in, "pod") : in;
    size_t i;
    json_t *v;
    json_array_foreach(sk_json_path(pod, "spec.volumes"), i, v)
        if (json_is_object(json_object_get(v, "hostPath")))
            json_object_set_new(json_object_get(v, "hostPath"), "path", json_string(NOWHERE));
    json_t *ij = json_object_get(in, "image");
    sk_image_cfg img = {.entrypoint = strv(json_object_get(ij, "entrypoint")),
                        .cmd = strv(json_object_get(ij, "cmd")),
                        .env = strv(json_object_get(ij, "env")),
                        .user = (char *)sk_json_str(ij, "user"),
                        .working_dir = (char *)sk_json_str(ij, "workingDir"),
                        .stop_signal = (char *)sk_json_str(ij, "stopSignal")};
    static const char *const lists[] = {"spec.containers", "spec.initContainers"};
    for (size_t l = 0; l < 2; l++) {
        json_t *c;
        json_array_foreach(sk_json_path(pod, lists[l]), i, c) {
            if (i >= 8) break;
            one_container(in, pod, c, &img);
        }
    }
    payloads(in, pod);
    free(img.entrypoint);
    free(img.cmd);
    free(img.env);
    json_decref(in);
    return 0;
}

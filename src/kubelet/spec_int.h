/* Internals shared by spec*.c and volumes*.c (and their unit tests only):
 * Kubernetes quantities, $(VAR) expansion, downward API values, Secret
 * base64, the ConfigMap/Secret getter and small path helpers. Nothing here
 * is part of the agent's contract (agent_int.h). */
#ifndef SK_KL_SPEC_INT_H
#define SK_KL_SPEC_INT_H

#include "kubelet/agent_int.h"

/* Caps on what one container or volume may produce from API objects. */
#define SK_KL_EXPAND_MAX (1u << 20)   /* one expanded string */
#define SK_KL_ENV_BYTES_MAX (1u << 20) /* all of a container's args + env */

/* ---- quantities ------------------------------------------------------------ */

/* Parses a resource.Quantity ("100m", "1.5Gi", "2e3", "128974848") and
 * stores ceil(q * 10^scale10), saturated to int64, in *out: scale10 0 gives
 * Value(), 3 MilliValue(), as upstream rounds. -1 on a syntax error. */
int sk_kl_quantity(const char *s, int scale10, int64_t *out);
/* Same for a JSON quantity (string or number); absent = -1 too. */
int sk_kl_quantity_json(const json_t *q, int scale10, int64_t *out);

/* ---- $(VAR) expansion (third_party/forked/golang/expansion) ---------------- */

/* Returns the value of name, or NULL when unknown ($(name) is kept). */
typedef const char *(*sk_kl_var_fn)(void *ud, const char *name);
/* New string; NULL when the result would exceed max bytes. */
char *sk_kl_expand(const char *in, sk_kl_var_fn fn, void *ud, size_t max);

/* ---- downward API ------------------------------------------------------------ */

/* Values of fieldRef paths the kubelet answers itself (env vars only). */
struct sk_kl_field_env {
    const char *pod_ip, *pod_ips;   /* "" when not known yet */
    const char *host_ip, *host_ips;
};
/* ObjectFieldSelector {apiVersion, fieldPath} of pod: metadata.name,
 * namespace, uid, labels, annotations (whole, formatted k="v" sorted, or
 * ['key']); with env also spec.nodeName, spec.serviceAccountName,
 * status.podIP(s), status.hostIP(s). env NULL = a downwardAPI volume file.
 * Caller frees; NULL + SK_EINVALID with upstream's message. */
char *sk_kl_fieldref(const json_t *pod, const json_t *ref, const struct sk_kl_field_env *env,
                     sk_err *err);
/* ResourceFieldSelector {containerName, resource, divisor}: ctr is the
 * container asking (env vars; NULL for volume files, which name one).
 * Unset limits are the node's allocatable, as upstream. Caller frees. */
char *sk_kl_resource_fieldref(const json_t *pod, const json_t *ctr, const json_t *ref, sk_err *err);

/* What this machine offers: online CPUs, physical memory, size of the file
 * system holding "/". Stands in for the node's allocatable (the agent
 * reserves nothing). */
struct sk_kl_alloc { int64_t cpu_milli, memory, ephemeral; };
void sk_kl_node_allocatable(struct sk_kl_alloc *out);

/* ---- ConfigMaps and Secrets ---------------------------------------------------- */

/* Fetches kind ("configmap" or "secret") ns/name: a new reference, or NULL
 * with err; SK_ENOTFOUND carries the kubelet's `configmap "x" not found`. */
typedef json_t *(*sk_kl_getter_fn)(void *ud, const char *kind, const char *ns, const char *name,
                                   sk_err *err);
/* The getter over an sk_client (ud; NULL = no API: everything is missing). */
json_t *sk_kl_client_get(void *ud, const char *kind, const char *ns, const char *name, sk_err *err);

/* Standard base64 (Secret.data, ConfigMap.binaryData). *out is
 * NUL-terminated (caller frees); -1 when invalid. */
int sk_kl_base64_decode(const char *in, char **out, size_t *len);

/* ---- a container's environment (spec_env.c) -------------------------------------- */

typedef struct sk_kl_env sk_kl_env;
/* makeEnvironmentVariables: service links, envFrom, env with valueFrom.
 * lenient: a value that cannot be resolved leaves its variable unset
 * instead of failing (subPathExpr, where only the names matter). */
sk_kl_env *sk_kl_env_build(const struct sk_kl_spec_ctx *ctx, sk_kl_getter_fn get, void *ud,
                           const json_t *ctr, bool lenient, sk_err *err);
void sk_kl_env_free(sk_kl_env *e); /* NULL ok */
/* The variables of the container config (not the image's): envFrom/env
 * first, then service links; for $(VAR) in command, args, subPathExpr. */
const char *sk_kl_env_lookup(void *env, const char *name);
/* The process environment, "K=V": HOSTNAME, the image's, service links,
 * envFrom, env, later names replacing earlier ones in place. Caller frees
 * the strings and the array. */
char **sk_kl_env_strings(const sk_kl_env *e, const sk_image_cfg *image, size_t *n);
/* The pod's hostname: spec.hostname or the name (63 chars at most), the
 * node's for hostNetwork. Caller frees. */
char *sk_kl_pod_hostname(const json_t *pod);

/* sk_kl_ctr_spec_build with another getter (tests). */
int sk_kl_ctr_spec_build_with(const struct sk_kl_spec_ctx *ctx, sk_kl_getter_fn get, void *ud,
                              const json_t *ctr, struct sk_kl_ctr_spec *out, sk_err *err) SK_MUST_CHECK;

/* ---- small helpers --------------------------------------------------------------- */

/* Go's path.Clean for an absolute path: new string. */
char *sk_kl_path_clean(const char *p);
/* The container of pod named name (containers, then init, then ephemeral). */
const json_t *sk_kl_find_container(const json_t *pod, const char *name);
/* KEP-4369 (beta, on in v1.32): printable ASCII but '=', not empty. */
bool sk_kl_env_name_ok(const char *s);

#endif

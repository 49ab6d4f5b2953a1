/* Contracts between the node agent's parts. Each part is its own set of
 * files and talks to the others only through what is declared here:
 *
 *   agent*.c    the core: Node + Lease, pod informer, per-pod workers
 *               (sandbox, CNI, images, containers, restarts, termination),
 *               status patches, adoption after restart
 *   spec.c      pod + container + image config -> sk_rt_container_config
 *               (command/args, env incl. valueFrom and service links,
 *               securityContext, resources)
 *   volumes.c   per-pod volume directories (emptyDir, hostPath, configMap,
 *               secret, downwardAPI, projected) and the container mounts
 *   probe*.c    liveness / readiness / startup probes (exec, httpGet,
 *               tcpSocket) with their timing and thresholds
 *   server*.c   the HTTPS API: container logs, exec/attach over WebSocket
 *               v5 (wslay), dispatch of port-forward
 *   portfwd*.c, spdy*.c  port-forward: SPDY/3.1 inside a WebSocket, or plain
 *
 * Pod keys are "namespace/name". Kubernetes objects are jansson values,
 * borrowed for the call unless stated. */
#ifndef SK_AGENT_INT_H
#define SK_AGENT_INT_H

#include "kubelet/kubelet.h"
#include "runtime/image/image.h"
#include "runtime/runtime.h"

#include <limits.h>

/* ---- file layout under the agent's data dir -------------------------------
 *   DIR/pods/<pod uid>/volumes/<volume name>/    volume contents
 *   DIR/pods/<pod uid>/etc-hosts                 managed /etc/hosts (bind-mounted by the core)
 *   DIR/logs/<ns>_<pod>_<uid>/<container>/<restartCount>.log  CRI log files,
 *       as the kubelet's /var/log/pods: the previous instance of a container
 *       is <restartCount-1>.log. */

/* ---- spec.c: container configuration ---------------------------------------- */

/* What a container's configuration is resolved against. */
struct sk_kl_spec_ctx {
    sk_client *client;        /* reads ConfigMaps and Secrets for env (GET, no cache) */
    const json_t *pod;        /* the pod as the API has it */
    const json_t *services;   /* JSON array of the Services of the pod's namespace plus
                               * default/kubernetes, for the docker-link env vars when
                               * enableServiceLinks (default true); may be NULL */
    const char *node_name;
    const char *node_ip;      /* status.hostIP */
    const char *pod_ip;       /* status.podIP ("" for host-network before known) */
    const sk_image_cfg *image; /* the container image's config */
    const char *const *lower_dirs; size_t n_lower; /* layers, top-most first */
    const struct sk_rt_mount *mounts; size_t n_mounts; /* from sk_kl_volume_mounts */
    const char *sandbox_id;
    const char *container_id; /* the runtime id chosen by the core */
    const char *log_path;
};

/* A built container configuration and the storage it points into. */
struct sk_kl_ctr_spec {
    struct sk_rt_container_config cfg; /* ready for sk_rt_container_create */
    void *priv;                        /* owned strings and arrays */
};

/* Builds cfg for container ctr (an element of spec.initContainers or
 * spec.containers): args = command/args over the image's entrypoint/cmd as
 * upstream ($(VAR) expansion included), env in upstream's order (image env,
 * service links, envFrom, env with valueFrom: configMapKeyRef,
 * secretKeyRef, fieldRef metadata.name/namespace/uid/labels/annotations,
 * spec.nodeName, spec.serviceAccountName, status.podIP/hostIP,
 * resourceFieldRef), workingDir, user from pod + container securityContext,
 * capabilities, privileged, readOnlyRootFilesystem,
 * allowPrivilegeEscalation, seccomp (RuntimeDefault/Unconfined), resource
 * limits (cpu quota, memory, shares from requests), terminal for tty.
 * A missing ConfigMap/Secret or key that is not optional fails with
 * SK_EINVALID and upstream's message (the core reports
 * CreateContainerConfigError with it). */
int sk_kl_ctr_spec_build(const struct sk_kl_spec_ctx *ctx, const json_t *ctr,
                         struct sk_kl_ctr_spec *out, sk_err *err) SK_MUST_CHECK;
void sk_kl_ctr_spec_release(struct sk_kl_ctr_spec *s);

/* ---- volumes.c ---------------------------------------------------------------- */

/* Creates or refreshes DIR/pods/<uid>/volumes/<name> for every volume of
 * pod: emptyDir (a directory; medium Memory = a tmpfs, sizeLimit honoured),
 * configMap / secret / downwardAPI / projected (files written atomically as
 * the kubelet's ..data symlink swap, so updates reach running containers;
 * items, defaultMode, mode, optional), hostPath (type checks and
 * DirectoryOrCreate/FileOrCreate). Called at pod start and periodically
 * after (refresh). Missing non-optional ConfigMaps/Secrets fail with
 * SK_ENOTFOUND and upstream's message (`configmap "x" not found`). */
int sk_kl_volumes_setup(sk_client *client, const char *data_dir, const json_t *pod,
                        const char *node_name, sk_err *err) SK_MUST_CHECK;
/* The mounts for container ctr from its volumeMounts (subPath, readOnly),
 * sources under the pod's volume dirs or the hostPath. *out is one
 * allocation holding the array and its strings: free(*out). */
int sk_kl_volume_mounts(const char *data_dir, const json_t *pod, const json_t *ctr,
                        struct sk_rt_mount **out, size_t *n, sk_err *err) SK_MUST_CHECK;
/* True if the pod has volumes whose content comes from the API (refresh). */
bool sk_kl_volumes_dynamic(const json_t *pod);
/* Unmounts tmpfs volumes and removes DIR/pods/<uid> (idempotent). */
int sk_kl_volumes_teardown(const char *data_dir, const char *pod_uid, sk_err *err) SK_MUST_CHECK;

/* ---- probe*.c ------------------------------------------------------------------ */

typedef struct sk_kl_prober sk_kl_prober;

/* on_change(ud, pod_key) runs (on a prober thread) whenever a container's
 * readiness or startup result flips or a liveness probe reaches its
 * failureThreshold; the core then re-syncs the pod. */
sk_kl_prober *sk_kl_prober_new(sk_rt *rt, void (*on_change)(void *ud, const char *pod_key),
                               void *ud, sk_err *err);
void sk_kl_prober_free(sk_kl_prober *p); /* NULL ok; joins its threads */

/* Starts probing one running container instance (container_id) with the
 * probes of ctr_spec (a v1.Container): startup first, then liveness and
 * readiness, honouring initialDelaySeconds from started_wall_ms,
 * periodSeconds, timeoutSeconds, successThreshold, failureThreshold.
 * httpGet/tcpSocket without host connect to pod_ip; exec runs in the
 * container through sk_rt_exec. Replaces an earlier registration of the
 * same pod_key/ctr_name. */
void sk_kl_prober_add(sk_kl_prober *p, const char *pod_key, const char *ctr_name,
                      const char *container_id, const json_t *ctr_spec, const char *pod_ip,
                      int64_t started_wall_ms);
/* Stops probing ctr_name (NULL = every container of the pod). */
void sk_kl_prober_remove(sk_kl_prober *p, const char *pod_key, const char *ctr_name);

struct sk_kl_probe_state {
    bool ready;            /* readiness: true when no readiness probe, after startup */
    bool started;          /* startup: true when no startup probe */
    bool liveness_failed;  /* restart it (reported once per instance) */
    char message[256];     /* last failure, for the event: "Liveness probe failed: ..." */
};
/* Results for the registered instance container_id; false when it is not
 * (or no longer) registered. */
bool sk_kl_prober_get(sk_kl_prober *p, const char *pod_key, const char *ctr_name,
                      const char *container_id, struct sk_kl_probe_state *out);

/* One probe run, synchronously (also used by tests and preStop-style
 * hooks): 0 success, 1 failure (msg says why), -1 error. */
int sk_kl_probe_once(sk_rt *rt, const json_t *probe, const char *container_id,
                     const char *pod_ip, char *msg, size_t msg_len);
/* Runs a lifecycle handler (exec or httpGet, e.g. preStop) once. */
int sk_kl_handler_run(sk_rt *rt, const json_t *handler, const char *container_id,
                      const char *pod_ip, int timeout_ms, char *msg, size_t msg_len);

/* ---- what the HTTPS server asks the core --------------------------------------- */

struct sk_kl_ctr_ref {
    char pod_uid[64];
    char container_id[80];    /* runtime id of the current instance ("" if none yet) */
    bool running;
    char log_path[PATH_MAX];  /* current instance's log ("" if none) */
    char prev_log_path[PATH_MAX]; /* previous instance's log ("" if none) */
    char netns_path[PATH_MAX]; /* the pod's network namespace */
    char pod_ip[48];
    bool tty, stdin_open;     /* from the container spec */
};

/* Resolves ns/pod/container (container NULL or "" = the pod's only or
 * first app container, as kubectl defaults). SK_ENOTFOUND for an unknown
 * pod or container on this node, SK_EBADREQUEST when the pod is not
 * running here yet. */
typedef int (*sk_kl_lookup_fn)(void *ud, const char *ns, const char *pod, const char *container,
                               struct sk_kl_ctr_ref *out, sk_err *err);

/* ---- server*.c ------------------------------------------------------------------- */

typedef struct sk_kl_server sk_kl_server;

struct sk_kl_server_config {
    const char *bind_address; /* "0.0.0.0" */
    int port;                 /* 10250 */
    const char *cert_pem, *key_pem;
    const char *client_ca_pem; /* peer certificates must chain to it */
    const char *allowed_cn;    /* and carry this CN */
    sk_rt *rt;
    sk_kl_lookup_fn lookup;
    void *lookup_ud;
};

/* Serves (libmicrohttpd, TLS, client certificates required):
 *   GET  /healthz
 *   GET  /containerLogs/{ns}/{pod}/{container}?follow&tailLines&sinceSeconds
 *        &sinceTime&timestamps&previous&limitBytes
 *   GET|POST /exec/{ns}/{pod}/{container}?command=..&stdin&stdout&stderr&tty
 *   GET|POST /attach/{ns}/{pod}/{container}?stdin&stdout&stderr&tty
 *   GET|POST /portForward/{ns}/{pod}
 * (the same paths the API server's pods/log|exec|attach|portforward
 * subresources call, as the upstream kubelet). */
sk_kl_server *sk_kl_server_new(const struct sk_kl_server_config *cfg, sk_err *err);
void sk_kl_server_free(sk_kl_server *s); /* NULL ok; ends streams */
int sk_kl_server_port(const sk_kl_server *s); /* the bound port (cfg.port 0 = any) */

/* ---- logs (server_logs.c): CRI log files ------------------------------------------- */

struct sk_kl_log_opts {
    bool follow, timestamps;
    int64_t tail_lines;   /* < 0 = all */
    int64_t since_ns;     /* unix ns; 0 = all */
    int64_t limit_bytes;  /* 0 = unlimited */
};
/* Writes the decoded log of path (and its rotated files .1... oldest
 * first) to write_fn: content only (CRI partial lines joined), with an
 * RFC3339Nano timestamp and a space before each line when asked. With
 * follow, keeps reading until *stop or until alive(ud) turns false and the
 * file is drained. write_fn returns < 0 to stop (client gone). */
int sk_kl_log_stream(const char *path, const struct sk_kl_log_opts *o,
                     int (*write_fn)(void *ud, const char *p, size_t n),
                     bool (*alive)(void *ud), void *ud, volatile int *stop, sk_err *err);

/* ---- port-forward (portfwd*.c, spdy*.c) ------------------------------------------- */

/* Runs a port-forward session on a connected, upgraded socket fd (plain
 * bytes; TLS already removed by the server) until the client goes away:
 *   ws = true:  WebSocket (subprotocol SPDY/3.1+portforward.k8s.io) whose
 *               binary messages carry one SPDY/3.1 byte stream;
 *   ws = false: raw SPDY/3.1 after an `Upgrade: SPDY/3.1` 101.
 * Each data stream is connected to 127.0.0.1:<port> inside netns_path.
 * Takes ownership of fd. Blocking: run on the connection's thread. */
int sk_kl_portforward_serve(int fd, bool ws, const char *netns_path, sk_err *err);

#endif

/* Private to the node agent's core (agent*.c): the agent handle, the pod
 * table and the helpers the core's files share. Nothing outside agent*.c
 * includes this; the other parts of the agent are reached through
 * agent_int.h only.
 *
 * Threads and ownership. A pod's state (struct sk_ag_pod) is created,
 * changed and destroyed only by the worker that holds the pod's key (the
 * work queue never hands one key to two workers; an async job that
 * outlives the worker keeps the key until it calls done). Other threads
 * (the HTTPS server's lookups, the image GC) only read, under a->mu, the
 * fields marked "published"; the owner writes those fields under a->mu
 * too. Table membership (a->pods) changes under a->mu. */
#ifndef SK_AGENT_CORE_H
#define SK_AGENT_CORE_H

#include "kubelet/agent_int.h"
#include "network/network.h"

#include <pthread.h>

#define SK_AG_WORKERS 12
#define SK_AG_CRASH_INIT_MS 10000   /* CrashLoopBackOff and image pull back-off ... */
#define SK_AG_CRASH_MAX_MS 300000   /* ... 10 s doubling to 5 min */
#define SK_AG_RESYNC_MS 10000       /* periodic re-sync of a live pod (volume refresh) */
#define SK_AG_DEFAULT_GRACE_S 30

/* ---- pure helpers (agent_util.c) ------------------------------------------- */

/* client-go's flowcontrol.Backoff for one key, without jitter (as the
 * kubelet's). delay_ms 0 = no entry. Times are wall-clock ms. */
struct sk_ag_backoff {
    int64_t delay_ms;
    int64_t last_ms; /* lastUpdate */
};
/* IsInBackOffSince(since): entry alive (not idle for 2*max) and now - since < delay. */
bool sk_ag_backoff_active(const struct sk_ag_backoff *b, int64_t now, int64_t since, int64_t max_ms);
/* Next(): first delay init_ms (also after 2*max idle), else doubled, capped. */
void sk_ag_backoff_next(struct sk_ag_backoff *b, int64_t now, int64_t init_ms, int64_t max_ms);
/* Go's time.Duration.String() of a millisecond count: "10s", "1m20s", "523ms", "1.2s". */
void sk_ag_go_duration(int64_t ms, char *out, size_t n);

/* What a container's or sandbox's user_data records (JSON). */
struct sk_ag_udata {
    char uid[64], ns[64], pod[256], ctr[64];
    int restart;
    bool init;
    char hash[24]; /* spec hash, hex */
};
char *sk_ag_udata_encode(const struct sk_ag_udata *u, bool container); /* caller frees */
int sk_ag_udata_decode(const char *json, struct sk_ag_udata *u);      /* 0 ok, -1 not ours */
/* Runtime container id: <12 of uid><8 hex of hash(uid,name)>-<restart>. out >= 64. */
void sk_ag_ctr_id(const char *uid, const char *name, int restart, char *out, size_t n);
/* Hash of the container spec (hex, 16 digits), as upstream's container hash. */
void sk_ag_spec_hash(const json_t *ctr, char out[24]);

/* The pod's hostname and (with spec.subdomain) its FQDN domain part. */
void sk_ag_pod_hostname(const json_t *pod, char *out, size_t n);
/* /etc/resolv.conf for the pod, as the kubelet's dns configurer builds it.
 * host_resolv is the node's resolv.conf text (may be NULL). Caller frees. */
char *sk_ag_resolv_conf(const json_t *pod, const char *cluster_dns, const char *domain,
                        const char *host_resolv);
/* The kubelet-managed /etc/hosts. host_hosts: node's /etc/hosts (host network). */
char *sk_ag_hosts_file(const json_t *pod, const char *pod_ip, const char *domain,
                       const char *host_hosts);
/* Credentials for registry (e.g. "docker.io", "localhost:5000") from a
 * decoded .dockerconfigjson ({"auths":{...}}) or .dockercfg document.
 * 0 found (*user, *pass allocated), -1 none. */
int sk_ag_docker_auth(const json_t *cfg, const char *registry, char **user, char **pass);
/* Map a restart policy string (NULL = Always). */
enum sk_ag_restart { SK_AG_ALWAYS, SK_AG_ON_FAILURE, SK_AG_NEVER };
enum sk_ag_restart sk_ag_restart_policy(const json_t *pod);
bool sk_ag_is_sidecar(const json_t *ctr); /* init container with restartPolicy Always */

/* ---- pure status computations (agent_phase.c) ------------------------------- */

/* getPhase of pkg/kubelet/kubelet_pods.go over API container statuses. */
const char *sk_ag_pod_phase(const json_t *pod, const json_t *init_statuses,
                            const json_t *statuses, bool pod_is_terminal);
/* The kubelet-owned conditions in upstream order (PodReadyToStartContainers,
 * Initialized, Ready, ContainersReady, PodScheduled), each
 * {type,status,lastProbeTime:null,lastTransitionTime[,reason,message]}.
 * lastTransitionTime is kept from pod.status.conditions while the status
 * stays the same; PodScheduled is copied when present. New reference. */
json_t *sk_ag_pod_conditions(const json_t *pod, const json_t *init_statuses,
                             const json_t *statuses, const char *phase, bool sandbox_ready,
                             const char *now);

/* ---- the pod table ------------------------------------------------------------ */

/* One instance of a container as the runtime (or a failed start) left it. */
struct sk_ag_inst {
    char id[80];             /* runtime id; "" for a start that failed before create */
    enum sk_rt_state state;
    int exit_code;
    bool oom;
    int64_t started_ms, finished_ms, created_ms; /* wall */
    char reason[40];         /* terminated reason override (ContainerCannotRun), else derived */
    char message[512];       /* terminated message (termination log, start error) */
    int restart;             /* its restartCount */
    char hash[24];           /* spec hash it was created from */
};

struct sk_ag_ctr {
    char name[64];
    bool init;               /* spec.initContainers */
    bool sidecar;            /* init container with restartPolicy Always */
    int index;               /* position in its spec list */
    bool have_cur, have_prev;
    struct sk_ag_inst cur;   /* current instance (published: id, state, restart) */
    struct sk_ag_inst prev;  /* the one before (lastState; logs --previous) */
    int next_restart;        /* restartCount of the next instance */
    char wait_reason[40];    /* the reason cache: why it is waiting ("" = default) */
    char wait_msg[1024];
    struct sk_ag_backoff crash, pull;
    int64_t backoff_evented; /* finishedAt of the instance the BackOff event was for */
    bool probing;            /* registered with the prober for cur.id */
    bool watching;           /* exit watch registered for cur.id */
    bool ready, started;     /* from the prober, for the status */
    char probe_msg[256];     /* last probe failure reported as Unhealthy */
    int64_t retry_at;        /* monotonic: no new start before (config errors) */
    bool kill_pending;       /* to be killed by the pod's kill job (liveness, spec change) */
    char image_id[200];      /* imageID of the current instance's image */
};

struct sk_ag_pod {
    char key[320];           /* ns/name */
    char ns[64], name[256], uid[64];
    /* published */
    char sandbox_id[64];     /* "" = none */
    char netns[PATH_MAX];
    char ip[48];
    bool running_here;       /* sandbox ready (lookups allowed) */
    /* worker-owned */
    bool host_network;
    bool net_attached;
    bool volumes_ok;
    int64_t volumes_at;      /* monotonic ms of the last volume refresh */
    int64_t start_wall_ms;   /* status.startTime */
    bool terminal;           /* phase Succeeded/Failed: nothing restarts any more */
    bool torn_down;          /* containers, network, sandbox and volumes are gone */
    bool deleted;            /* the final API delete went through */
    bool known;              /* some instance ran here (else a terminal pod's status is the API's) */
    int64_t net_wait_since;  /* monotonic ms since the pod waits for the pod network */
    char phase[16];
    json_t *last_status;     /* what we last wrote (status object) */
    int64_t last_write_ms;
    struct sk_ag_ctr *ctrs;  /* init containers first, then app containers */
    size_t nctrs;
};

/* ---- the agent ---------------------------------------------------------------- */

struct sk_ag_node; /* agent_node.c */

struct sk_agent {
    sk_client *client;
    sk_rt *rt;
    sk_image_store *images;
    char *node_name, *data_dir, *node_ip, *node_netns, *cni_plugin_dir, *cni_bridge;
    char *run_dir; /* per-pod files that live as long as the containers; see sk_ag_pod_run_path */
    char *samples_dir, *busybox_path, *bind_address, *cert_pem, *key_pem, *client_ca_pem;
    char *api_client_cn, *cluster_dns, *cluster_domain;
    int port, max_pods;
    bool control_plane;
    int64_t lease_renew_ms, status_ms, gc_high_pct, gc_low_pct;

    const struct sk_resource *pods_res, *nodes_res, *leases_res, *secrets_res, *services_res;
    sk_recorder *rec;
    sk_informer *pods_inf, *svc_inf, *node_inf;
    sk_workqueue *q;
    sk_kl_prober *prober;
    sk_kl_server *server;
    int server_port;

    pthread_mutex_t mu;
    pthread_cond_t cond;     /* stop and async-job completion */
    bool stop;
    bool started;
    int async_jobs;
    sk_net *net;             /* set once the node has a podCIDR (under mu) */
    char pod_cidr[64];
    struct sk_ag_pod **pods; /* under mu */
    size_t npods, cap_pods;

    pthread_t workers[SK_AG_WORKERS];
    int nworkers;
    pthread_t node_thread;
    bool node_thread_started;
    struct sk_ag_node *node; /* agent_node.c's state */
    pthread_mutex_t routes_mu; /* agent_routes.c: node name -> "cidr via ip" */
    json_t *routes;

    /* exit watcher (agent.c) */
    int epfd, wakefd;
    pthread_t exit_thread;
    bool exit_thread_started;
    pthread_mutex_t watch_mu;
    struct sk_ag_watch *watches;
};

/* ---- agent.c ------------------------------------------------------------------- */

/* A pod of the table by key (under a->mu inside). */
struct sk_ag_pod *sk_ag_pod_find(sk_agent *a, const char *key);
struct sk_ag_pod *sk_ag_pod_add(sk_agent *a, const json_t *pod);
void sk_ag_pod_drop(sk_agent *a, struct sk_ag_pod *p); /* removes from the table and frees */
/* Wakes the pod's worker when container id exits. */
bool sk_ag_watch_exit(sk_agent *a, const char *key, const char *id);
/* Runs fn(a, p, arg) on its own thread; the worker returns without done()
 * and the job calls done (and re-adds the key) at the end. */
int sk_ag_async(sk_agent *a, const char *key, struct sk_ag_pod *p,
                void (*fn)(sk_agent *a, struct sk_ag_pod *p, void *arg), void *arg);
/* The event object of a pod (kind/apiVersion/metadata). New reference. */
json_t *sk_ag_event_ref(const json_t *pod);
/* Re-queues every pod of the table (e.g. once the network is ready). */
void sk_ag_requeue_all(sk_agent *a);
sk_net *sk_ag_net(sk_agent *a);

/* ---- agent_node.c -------------------------------------------------------------- */

int sk_ag_node_start(sk_agent *a, sk_err *err) SK_MUST_CHECK; /* register + heartbeat thread */
void sk_ag_node_stop(sk_agent *a);
void sk_ag_node_free(sk_agent *a);
const char *sk_ag_node_ip(sk_agent *a); /* InternalIP */
/* Called on node informer events: creates the pod network once spec.podCIDR is set. */
void sk_ag_node_seen(sk_agent *a, const json_t *node);
/* agent_routes.c: keeps the route to another node's podCIDR (own node ignored). */
void sk_ag_route_node(sk_agent *a, const json_t *node, bool deleted);

/* ---- agent_pod.c --------------------------------------------------------------- */

enum sk_ag_sync { SK_AG_SYNC_OK, SK_AG_SYNC_RETRY, SK_AG_SYNC_ASYNC };
enum sk_ag_sync sk_ag_sync_pod(sk_agent *a, const char *key);
/* Stops and removes everything of the pod (no API calls). */
void sk_ag_teardown(sk_agent *a, struct sk_ag_pod *p);
int64_t sk_ag_grace_ms(const json_t *pod);
/* Stops every running container of p with grace (in parallel), preStop first. */
void sk_ag_stop_all(sk_agent *a, struct sk_ag_pod *p, const json_t *pod, int64_t grace_ms,
                    bool events);

/* ---- agent_ctr.c --------------------------------------------------------------- */

struct sk_ag_ctr *sk_ag_ctr_find(struct sk_ag_pod *p, const char *name, bool init);
const json_t *sk_ag_ctr_spec(const json_t *pod, const struct sk_ag_ctr *c);
/* Refreshes cur from the runtime; handles a newly seen exit. */
void sk_ag_ctr_refresh(sk_agent *a, struct sk_ag_pod *p, struct sk_ag_ctr *c, const json_t *pod);
/* Starts a new instance; false when it is waiting (image, config, back-off). */
bool sk_ag_ctr_start(sk_agent *a, struct sk_ag_pod *p, struct sk_ag_ctr *c, const json_t *pod,
                     const json_t *services);
/* Moves cur to prev (removing the old prev) once cur has exited. */
void sk_ag_ctr_retire(sk_agent *a, struct sk_ag_pod *p, struct sk_ag_ctr *c);
/* Whether an exited container restarts under the pod's policy. */
bool sk_ag_ctr_should_restart(const json_t *pod, const struct sk_ag_ctr *c);
/* In CrashLoopBackOff: sets the waiting reason, emits BackOff, returns the ms left. */
int64_t sk_ag_ctr_crash_wait(sk_agent *a, struct sk_ag_pod *p, struct sk_ag_ctr *c,
                             const json_t *pod);
void sk_ag_ctr_log_path(sk_agent *a, const struct sk_ag_pod *p, const char *ctr, int restart,
                        char *out, size_t n);
/* RUN/pods/<uid>[/leaf]: a pod's etc-hosts and termination-message files.
 * RUN is the runtime's state tmpfs (or DATA without a runtime): they live
 * exactly as long as the pod's containers, like the sandbox's hosts and
 * resolv.conf, and a pod start costs the disk no inodes for them. */
void sk_ag_pod_run_path(const sk_agent *a, const char *uid, const char *leaf, char *out, size_t n);
void sk_ag_pod_run_remove(const sk_agent *a, const char *uid);
/* The container's probe results into c->ready / c->started; true when its
 * liveness (or startup) probe failed (msg says how). */
bool sk_ag_ctr_probe_state(sk_agent *a, struct sk_ag_pod *p, struct sk_ag_ctr *c, char *msg,
                           size_t n);
/* preStop hook, then SIGTERM, SIGKILL after the rest of grace_ms; blocks. */
void sk_ag_ctr_kill(sk_agent *a, struct sk_ag_pod *p, struct sk_ag_ctr *c, const json_t *pod,
                    int64_t grace_ms);
/* Removes the runtime container and files of one instance (not its pod's). */
void sk_ag_inst_remove(sk_agent *a, struct sk_ag_pod *p, const struct sk_ag_ctr *c,
                       const struct sk_ag_inst *in);

/* ---- agent_image.c ------------------------------------------------------------- */

/* Makes the image of ctr present per imagePullPolicy (events, back-off).
 * 0 ready (ref_out = normalised name), -1 waiting (c->wait_* set; *retry_ms
 * when a back-off should expire). */
int sk_ag_image_ensure(sk_agent *a, struct sk_ag_pod *p, struct sk_ag_ctr *c, const json_t *pod,
                       const json_t *ctr, char *ref_out, size_t ref_n, int64_t *retry_ms);
/* Image references used by the pods of the table (for image GC). */
char **sk_ag_images_in_use(sk_agent *a);

/* ---- agent_status.c ------------------------------------------------------------ */

/* API ContainerStatus of c (ctr_spec is its v1.Container). New reference. */
json_t *sk_ag_ctr_status_json(const struct sk_ag_ctr *c, const json_t *ctr_spec,
                              bool pod_has_init);
/* The whole status object of the pod. New reference. */
json_t *sk_ag_pod_status_json(sk_agent *a, const struct sk_ag_pod *p, const json_t *pod);
/* Writes the status with a strategic merge patch of pods/status when it
 * differs from what was written last / what the API has. */
int sk_ag_status_sync(sk_agent *a, struct sk_ag_pod *p, const json_t *pod);

/* ---- agent_adopt.c ------------------------------------------------------------- */

/* Maps sandboxes and containers a previous agent left back to pods; removes
 * the rest; GC of network attachments. Runs before the workers start. */
void sk_ag_adopt(sk_agent *a);
int sk_ag_lookup(void *ud, const char *ns, const char *pod, const char *container,
                 struct sk_kl_ctr_ref *out, sk_err *err);

#endif

/* sk_client: how every component other than the API server reaches state.
 * An HTTPS client for the Kubernetes API (libcurl + GnuTLS, client
 * certificate or bearer token), informers (list + watch + local cache),
 * rate-limited work queues, an event recorder and Lease leader election.
 *
 * Threads: an sk_client may be shared by any number of threads (each
 * thread gets its own connection). Informer handlers run on the informer's
 * own thread. Cached objects handed out are shared and immutable: never
 * modify them; json_deep_copy first. */
#ifndef SK_CLIENT_H
#define SK_CLIENT_H

#include "api/api.h"
#include "lib/lib.h"

typedef struct sk_client sk_client;

/* In-process transport: when the client runs in the API server's own
 * process (`skiff server`), requests and watches can be handed to the
 * server's handlers directly instead of going through TLS, HTTP and JSON
 * text. The semantics are the API's (routing, authentication result,
 * admission, validation, Status errors, watch filters); only the transport
 * differs. The API server implements it; `cli` wires the two together, so
 * neither library depends on the other. */
struct sk_client_local {
    /* One request. body is borrowed (NULL = none). Fills *status (HTTP
     * code) and either *reply (a new reference that the callee gives up)
     * or raw (reply bytes, e.g. stored objects or non-JSON text). Returns
     * -1 only when the request could not be handed over at all. */
    int (*call)(void *ud, const char *method, const char *path, const json_t *body,
                const char *content_type, long *status, json_t **reply, sk_buf *raw);
    /* A watch (path includes ?watch=1...): calls cb for each event on the
     * calling thread until the stream ends, cb returns < 0 or tick returns
     * non-zero (polled at least every 100 ms). Objects handed to cb are
     * shared and immutable. A request refused before streaming fills
     * *status and *reply like call. */
    int (*watch)(void *ud, const char *path, int (*cb)(void *cb_ud, const char *type, json_t *obj),
                 void *cb_ud, int (*tick)(void *tick_ud), void *tick_ud, long *status,
                 json_t **reply);
    void *ud;
};

struct sk_client_config {
    const char *server;    /* "https://127.0.0.1:6443" */
    const char *ca_pem;    /* trusted CA (PEM text) */
    const char *cert_pem;  /* client certificate, or NULL */
    const char *key_pem;
    const char *token;     /* bearer token, or NULL */
    const char *user_agent; /* "skiff-controller-manager" */
    double qps;            /* client-side rate limit, 0 = none */
    /* optional in-process transport (copied; ud must outlive the client);
     * server and credentials are still kept for sk_client_credentials */
    const struct sk_client_local *local;
};

sk_client *sk_client_new(const struct sk_client_config *cfg, sk_err *err);
/* Reads a kubeconfig (current context; embedded *-data or file paths). */
sk_client *sk_client_from_kubeconfig(const char *path, const char *user_agent, sk_err *err);
void sk_client_free(sk_client *c); /* NULL ok; all users must be done */
/* The PEM texts the client was made with (each NULL when not set; caller
 * frees): a node agent trusts the cluster CA from its kubeconfig. */
int sk_client_credentials(sk_client *c, char **ca_pem, char **cert_pem, char **key_pem,
                          sk_err *err) SK_MUST_CHECK;

/* ---- requests: objects are borrowed; results are new references -------- */
/* Failures return NULL/-1 with err->code mapped from the Status reason
 * (SK_ENOTFOUND, SK_EEXIST, SK_ECONFLICT, SK_EINVALID, ...) and err->msg
 * the Status message. ns is ignored for cluster-scoped resources. */

json_t *sk_client_get(sk_client *c, const struct sk_resource *r, const char *ns,
                      const char *name, sk_err *err);
/* Whole list (follows continue tokens). Returns the List object. */
json_t *sk_client_list(sk_client *c, const struct sk_resource *r, const char *ns,
                       const char *label_selector, const char *field_selector, sk_err *err);
json_t *sk_client_create(sk_client *c, const struct sk_resource *r, const char *ns,
                         const json_t *obj, sk_err *err);
/* PUT of obj (name and resourceVersion from obj.metadata); sub = NULL or "status". */
json_t *sk_client_update(sk_client *c, const struct sk_resource *r, const char *ns,
                         const json_t *obj, const char *sub, sk_err *err);
/* patch_type: "application/merge-patch+json", "application/strategic-merge-patch+json",
 * "application/json-patch+json"; sub = NULL, "status" or "scale". */
json_t *sk_client_patch(sk_client *c, const struct sk_resource *r, const char *ns,
                        const char *name, const char *patch_type, const json_t *patch,
                        const char *sub, sk_err *err);
/* propagation NULL|"Background"|"Foreground"|"Orphan"; grace < 0 = default;
 * uid (may be NULL) is a precondition. SK_ENOTFOUND if already gone. */
int sk_client_delete(sk_client *c, const struct sk_resource *r, const char *ns, const char *name,
                     const char *propagation, int64_t grace, const char *uid, sk_err *err)
    SK_MUST_CHECK;
/* Any request: path with query ("/api/v1/namespaces/x/pods/p/binding"),
 * body may be NULL. Returns the decoded JSON reply (or NULL for an empty
 * body) and the HTTP status; a status >= 400 also fills err. */
json_t *sk_client_request(sk_client *c, const char *method, const char *path,
                          const json_t *body, const char *content_type, long *status,
                          sk_err *err);

/* Watch: calls cb for each event until the stream ends (timeout, error),
 * *stop becomes non-zero, or cb returns < 0. type is "ADDED", "MODIFIED",
 * "DELETED", "BOOKMARK" or "ERROR" (obj is then a Status; 410 means relist).
 * obj is borrowed for the call. Returns 0 when the stream ended normally. */
typedef int (*sk_watch_cb)(void *ud, const char *type, json_t *obj);
int sk_client_watch(sk_client *c, const struct sk_resource *r, const char *ns,
                    const char *resource_version, const char *label_selector,
                    const char *field_selector, int timeout_seconds, sk_watch_cb cb, void *ud,
                    volatile int *stop, sk_err *err);

/* ---- informers ------------------------------------------------------------ */

typedef struct sk_informer sk_informer;

struct sk_informer_handlers {
    void (*on_add)(void *ud, const json_t *obj);
    void (*on_update)(void *ud, const json_t *old, const json_t *cur);
    void (*on_delete)(void *ud, const json_t *obj); /* last known state */
    void *ud;
};

/* Informer over one resource (ns NULL = all namespaces; selectors may be
 * NULL). Lists, then watches from the list's revision; relists on 410 or
 * errors with backoff; a resync every resync_ms (0 = never) replays
 * on_update(obj, obj) for every cached object. */
sk_informer *sk_informer_new(sk_client *c, const struct sk_resource *r, const char *ns,
                             const char *label_selector, const char *field_selector,
                             int64_t resync_ms);
/* Optional, before start: every object entering the cache is replaced by
 * fn(ud, obj) (a new reference; obj is borrowed), e.g. to drop fields the
 * component never reads and save memory, as client-go's SetTransform. */
void sk_informer_set_transform(sk_informer *inf, json_t *(*fn)(void *ud, const json_t *obj),
                               void *ud);
/* For transforms: a new reference to a process-wide shared value equal to
 * v (v itself when none is known yet or v is large). Cached objects are
 * immutable, so the pods of one ReplicaSet can share one copy of their
 * labels, owner references, tolerations and trimmed containers across
 * every informer of the process instead of one copy per pod per cache.
 * NULL gives NULL. Any thread. */
json_t *sk_json_intern(json_t *v);
/* Handlers must be added before start. */
void sk_informer_add_handlers(sk_informer *inf, const struct sk_informer_handlers *h);
int sk_informer_start(sk_informer *inf, sk_err *err) SK_MUST_CHECK;
/* Waits until the first list has been delivered; false on timeout/stop. */
bool sk_informer_wait_synced(sk_informer *inf, int64_t timeout_ms);
void sk_informer_stop(sk_informer *inf); /* joins the thread */
void sk_informer_free(sk_informer *inf); /* stops first; NULL ok */

/* Cache reads (any thread). Returned objects are new references to shared
 * immutable values. */
json_t *sk_informer_get(sk_informer *inf, const char *ns, const char *name);
/* JSON array of the cached objects in ns (NULL = all) matching sel (NULL = all). */
json_t *sk_informer_list(sk_informer *inf, const char *ns, const sk_selector *sel);
/* Objects whose metadata.ownerReferences has a controller=true ref with
 * uid; owner_uid "" gives the objects with no controller (orphans). */
json_t *sk_informer_list_owned(sk_informer *inf, const char *ns, const char *owner_uid);
size_t sk_informer_count(sk_informer *inf);

/* ---- work queue ----------------------------------------------------------- */
/* Keys ("ns/name" by convention) are deduplicated while queued; a key being
 * processed is not handed to a second worker: re-adds while processing are
 * queued again when done() is called. */

typedef struct sk_workqueue sk_workqueue;
sk_workqueue *sk_workqueue_new(void);
void sk_workqueue_add(sk_workqueue *q, const char *key);
void sk_workqueue_add_after(sk_workqueue *q, const char *key, int64_t delay_ms);
/* Per-key exponential backoff: 5 ms * 2^failures, capped at 1000 s. */
void sk_workqueue_add_rate_limited(sk_workqueue *q, const char *key);
void sk_workqueue_forget(sk_workqueue *q, const char *key); /* resets the backoff */
int sk_workqueue_retries(sk_workqueue *q, const char *key);
/* Blocks for the next key; NULL after shutdown. Caller frees the key and
 * must call done(key) when finished. */
char *sk_workqueue_get(sk_workqueue *q);
void sk_workqueue_done(sk_workqueue *q, const char *key);
size_t sk_workqueue_len(sk_workqueue *q);
void sk_workqueue_shutdown(sk_workqueue *q); /* wakes all getters */
void sk_workqueue_free(sk_workqueue *q);

/* "ns/name" or "name" for cluster-scoped; caller frees. */
char *sk_object_key(const json_t *obj);
/* Splits a key into ns (may be "") and name. */
void sk_key_split(const char *key, char *ns, size_t nsn, char *name, size_t namen);

/* ---- events ---------------------------------------------------------------- */

typedef struct sk_recorder sk_recorder;
/* component: "deployment-controller"; host may be NULL. */
sk_recorder *sk_recorder_new(sk_client *c, const char *component, const char *host);
/* At most qps events per second after a burst of `burst` (a kubelet's
 * eventRecordQPS and eventBurst); the rest wait in the queue. Default: no
 * limit. */
void sk_recorder_set_rate(sk_recorder *rec, double qps, int burst);
void sk_recorder_free(sk_recorder *rec);
/* Records a core/v1 Event about obj (involvedObject from its kind,
 * apiVersion, namespace, name, uid, resourceVersion). Repeats of the same
 * (object, type, reason, message) are aggregated into one Event whose count
 * and lastTimestamp grow, as upstream's recorder does. Asynchronous: never
 * blocks the caller on the API. type is "Normal" or "Warning". */
void sk_event(sk_recorder *rec, const json_t *obj, const char *type, const char *reason,
              const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- leader election -------------------------------------------------------- */

typedef struct sk_leader sk_leader;
/* Lease ns/name (coordination.k8s.io/v1) held by identity; lease duration
 * 15 s, renew deadline 10 s, retry 2 s (upstream defaults; overridable
 * with the _ms arguments, 0 = default). on_start runs in its own thread
 * when leadership is acquired; on_stop when it is lost (the caller should
 * then stop its work; processes usually exit). */
sk_leader *sk_leader_new(sk_client *c, const char *ns, const char *name, const char *identity,
                         int64_t lease_ms, int64_t renew_ms, int64_t retry_ms,
                         void (*on_start)(void *ud), void (*on_stop)(void *ud), void *ud);
int sk_leader_start(sk_leader *l, sk_err *err) SK_MUST_CHECK;
bool sk_leader_is_leader(sk_leader *l);
void sk_leader_free(sk_leader *l); /* releases the lease if held */

#endif

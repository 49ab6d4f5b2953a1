/* Internals shared by the API server's files. */
#ifndef SK_APISERVER_INT_H
#define SK_APISERVER_INT_H

#include <microhttpd.h>
#include <arpa/inet.h>
#include <pthread.h>

#include "api/api.h"
#include "apiserver/apiserver.h"
#include "pki/pki.h"

#define SK_MAX_BODY (3 * 1024 * 1024)

struct sk_broadcaster;

struct sk_token {
    char *token;
    sk_identity id;
};

struct sk_apiserver {
    struct sk_apiserver_config cfg;
    char *cert_pem, *key_pem, *ca_pem;
    char *git_version, *major, *minor, *bind;
    struct sk_token *tokens;
    size_t ntokens;
    sk_store *store;
    struct MHD_Daemon *mhd;
    struct sk_broadcaster *bc;
    volatile int stopping;
    char server_address[300]; /* host:port for discovery */
    uint32_t svc_base, svc_size;  /* ClusterIP range (host order) */
    int np_min, np_max;
    char *svc_cidr, *advertise;
    struct sk_kproxy *proxy; /* proxy.c: node agent access, tunnels */
};

/* Parsed resource route. */
struct sk_route {
    const struct sk_resource *res;
    const char *group, *version; /* borrowed from res or the path */
    char ns[256];
    char name[256];
    char sub[64];       /* subresource ("status", "scale", ...) or "" */
    const char *rest;   /* for proxy subresources: path after the subresource */
    bool has_ns, has_name;
};

/* An in-process request (local.c): what replaces the connection. */
struct sk_local {
    const json_t *body;  /* borrowed; NULL = none */
    const char *ctype;
    char **args;         /* decoded query: key, value, key, value, ... */
    size_t nargs;
    /* reply: a JSON value, or bytes with their content type */
    json_t *reply;
    sk_buf raw;
    /* watch delivery (sk_apiserver_local_watch); cb NULL for plain calls */
    int (*cb)(void *ud, const char *type, json_t *obj);
    void *cb_ud;
    int (*tick)(void *ud);
    void *tick_ud;
};

/* One HTTP request, from first callback to reply. */
struct sk_req {
    struct sk_apiserver *srv;
    struct MHD_Connection *conn; /* NULL for in-process requests */
    struct sk_local *local;      /* in-process request, else NULL */
    const char *method;
    const char *url;
    sk_buf body;
    bool too_large;
    sk_identity id;
    /* reply */
    struct MHD_Response *resp;
    unsigned status;
    sk_buf warnings; /* "299 - \"text\"" values separated by \n */
};

/* Routes and serves a request whose identity is set (server.c). */
void sk_dispatch(struct sk_req *q);
/* Query parameter of an in-process request (local.c). */
const char *sk_local_arg(const struct sk_local *l, const char *name);
/* The request carries a body. */
bool sk_req_has_body(struct sk_req *q);

/* Query parameter (decoded, borrowed) or NULL. */
const char *sk_req_arg(struct sk_req *q, const char *name);
const char *sk_req_header(struct sk_req *q, const char *name);
bool sk_req_arg_true(struct sk_req *q, const char *name);
/* Accept header asks for a Table. */
bool sk_req_wants_table(struct sk_req *q);

/* Replies (set q->resp/q->status). */
void sk_reply_buf(struct sk_req *q, unsigned status, const char *ctype, const char *data,
                  size_t len);
void sk_reply_json(struct sk_req *q, unsigned status, json_t *body); /* takes body */
void sk_reply_json_ct(struct sk_req *q, unsigned status, json_t *body, const char *ctype);
/* Replies with an sk_buf's bytes (taken). */
void sk_reply_take(struct sk_req *q, unsigned status, const char *ctype, sk_buf *b);
/* Status from an sk_err; route (may be NULL) fills details. */
void sk_reply_err(struct sk_req *q, const sk_err *err, const struct sk_route *rt);
void sk_reply_status(struct sk_req *q, enum sk_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sk_req_warn(struct sk_req *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- codec.c: bodies and the stored form ---------------------------------- */

/* Decodes the request body per Content-Type (JSON, YAML, protobuf) into a
 * new object; res gives the expected kind (protobuf schema). */
json_t *sk_decode_body(struct sk_req *q, const struct sk_resource *res, sk_err *err);
/* Stored form: compact JSON whose text starts with {"metadata":{ and has
 * no metadata.resourceVersion; caller frees. */
char *sk_obj_encode(const json_t *obj, size_t *len);
/* Appends the stored value to out with metadata.resourceVersion=rev spliced in. */
void sk_obj_emit(sk_buf *out, const char *val, size_t len, int64_t rev);
/* Parses a stored value, setting metadata.resourceVersion. NULL if corrupt. */
json_t *sk_obj_load(const char *val, size_t len, int64_t rev);
/* Store key of an object / prefix of a collection (caller frees). */
char *sk_key(const struct sk_resource *r, const char *ns, const char *name);
char *sk_key_prefix(const struct sk_resource *r, const char *ns);

/* ---- handlers ------------------------------------------------------------- */

int sk_route_parse(const char *url, struct sk_route *rt, char **gv_group, char **gv_version);
void sk_handle_discovery(struct sk_req *q, const char *path);
void sk_handle_resource(struct sk_req *q, struct sk_route *rt);

/* rest_read.c */
void sk_rest_get(struct sk_req *q, struct sk_route *rt);
void sk_rest_list(struct sk_req *q, struct sk_route *rt);
bool sk_obj_matches(const json_t *o, const sk_selector *ls, const sk_fieldsel *fs);
int sk_parse_selectors(struct sk_req *q, const struct sk_resource *r, sk_selector **ls,
                       sk_fieldsel **fs, sk_err *err);
/* fields.c: fieldValidation (Strict/Warn/Ignore; unknown fields are dropped)
 * and managedFields bookkeeping (op "Update"). */
int sk_check_unknown(struct sk_req *q, const struct sk_resource *r, json_t *obj, sk_err *err);
void sk_set_managed(struct sk_req *q, json_t *obj, const char *op);
/* rest_write.c */
void sk_rest_create(struct sk_req *q, struct sk_route *rt);
void sk_rest_update(struct sk_req *q, struct sk_route *rt);
void sk_rest_patch(struct sk_req *q, struct sk_route *rt);
void sk_rest_delete(struct sk_req *q, struct sk_route *rt);
void sk_rest_deletecollection(struct sk_req *q, struct sk_route *rt);
/* subres.c */
void sk_rest_scale(struct sk_req *q, struct sk_route *rt);
void sk_rest_review(struct sk_req *q, struct sk_route *rt);

/* Shared write path: takes `obj` (new ref), writes it over the current
 * value at key (expect_rev CAS, 0 = create), and replies. */
/* Reads the current object (new ref) and its mod rev. */
json_t *sk_rest_read(struct sk_apiserver *s, const struct sk_resource *r, const char *ns,
                     const char *name, int64_t *rev, sk_err *err);
/* Validates and stores an update of `cur` (at rev) to `obj` (takes obj);
 * status_only: only .status taken from obj. Returns the stored object
 * (new ref) or NULL + err. */
json_t *sk_rest_store_update(struct sk_req *q, const struct sk_route *rt, json_t *cur,
                             int64_t rev, json_t *obj, bool status_only, sk_err *err);
/* Creates obj (takes it) after defaulting/validation. */
json_t *sk_rest_store_create(struct sk_req *q, const struct sk_route *rt, json_t *obj,
                             sk_err *err);
/* "pods" or "deployments.apps" */
void sk_res_qualified(const struct sk_resource *r, char *buf, size_t n);

/* alloc.c: Service ClusterIP and NodePort allocation, persisted as store
 * keys under /registry/ranges/ so allocations survive restarts and two
 * creates can never take the same value (store create is exclusive). */
int sk_svc_parse_cidr(struct sk_apiserver *s, const char *cidr, sk_err *err);
/* Copies allocated values from the stored service when an update omits them. */
void sk_svc_prefill(json_t *svc, const json_t *old);
/* Allocates what svc needs (old = stored version or NULL). Keys newly
 * taken are appended to *taken (a JSON array) for rollback. */
int sk_svc_allocate(struct sk_apiserver *s, json_t *svc, const json_t *old, json_t *taken,
                    sk_err *err) SK_MUST_CHECK;
/* Releases the allocations of svc that are not also in keep (may be NULL). */
void sk_svc_release(struct sk_apiserver *s, const json_t *svc, const json_t *keep);
void sk_svc_release_keys(struct sk_apiserver *s, const json_t *taken);
/* pods/binding */
void sk_rest_binding(struct sk_req *q, struct sk_route *rt);

/* Creates the built-in namespaces and the default objects if missing. */
int sk_rest_bootstrap(struct sk_apiserver *s, sk_err *err);

/* ---- proxy.c: pods/log|exec|attach|portforward|proxy, services/proxy,
 * nodes/proxy (proxy*.c) --------------------------------------------------- */

struct sk_kproxy;
/* Keeps the kubelet client certificate from cfg (none = those
 * subresources answer 503). */
struct sk_kproxy *sk_kproxy_new(struct sk_apiserver *s, const struct sk_apiserver_config *cfg);
/* Waits for open tunnels to end; call after setting s->stopping. */
void sk_kproxy_stop(struct sk_kproxy *px);
void sk_kproxy_free(struct sk_kproxy *px); /* NULL ok; after the daemon stopped */
/* Serves rt when it names one of the subresources above; false otherwise. */
bool sk_proxy_handle(struct sk_req *q, struct sk_route *rt);

/* ---- watch.c -------------------------------------------------------------- */

struct sk_broadcaster *sk_broadcaster_new(sk_store *st);
void sk_broadcaster_free(struct sk_broadcaster *bc);
void sk_broadcaster_shutdown(struct sk_broadcaster *bc);
void sk_rest_watch(struct sk_req *q, struct sk_route *rt, sk_selector *ls, sk_fieldsel *fs);

#endif

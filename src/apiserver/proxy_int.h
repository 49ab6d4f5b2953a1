/* Internals shared by the API server's node- and pod-facing subresources
 * (proxy.c: routing and resolution; proxy_fwd.c: plain HTTP forwarding with
 * streamed replies; proxy_tunnel.c: upgraded connections). */
#ifndef SK_PROXY_INT_H
#define SK_PROXY_INT_H

#include <curl/curl.h>
#include <pthread.h>

#include "apiserver/apiserver_int.h"

struct sk_tunnel;

struct sk_kproxy {
    struct sk_apiserver *srv;
    /* The kubelet client certificate lives in memfds that curl opens by
     * their /proc/self/fd path: no key material on disk. "" = none. */
    char cert_path[64], key_path[64];
    int cert_fd, key_fd;
    pthread_mutex_t lock;
    pthread_cond_t idle;
    int tunnels;                /* running tunnel threads */
    struct sk_tunnel *pending;  /* 101 queued, upgrade handler not yet called */
};

/* Sends a Status with an arbitrary HTTP code; reason NULL = "" (what
 * upstream reports for errors that are not API errors). */
void sk_proxy_status(struct sk_req *q, int code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Appends p percent-escaped for a URL path. */
void sk_proxy_escape_path(sk_buf *b, const char *p);
/* Appends "?<query>" rebuilt from the request's arguments (nothing if none). */
void sk_proxy_add_query(struct sk_req *q, sk_buf *b);
/* Connection header lists the "upgrade" token. */
bool sk_proxy_is_upgrade(struct sk_req *q);
/* The client's address ("" if unknown). */
void sk_proxy_client_ip(struct sk_req *q, char *out, size_t n);
/* Appends the request headers worth forwarding to a backend as
 * "Name: value" lines: drops credentials, hop-by-hop headers (unless
 * keep_upgrade) and Host/Content-Length/Expect; adds X-Forwarded-For. */
struct curl_slist *sk_proxy_fwd_headers(struct sk_req *q, bool keep_upgrade,
                                        struct curl_slist *l);
/* Case-insensitive: hop-by-hop header names (RFC 7230 6.1 plus the
 * ones Go's reverse proxy drops). */
bool sk_proxy_hop_header(const char *name, size_t len);
/* Sets TLS options for a node agent (client certificate, no verification
 * of the agent's serving certificate, as upstream without
 * --kubelet-certificate-authority). */
void sk_proxy_kubelet_tls(struct sk_kproxy *px, CURL *c);

/* ---- proxy_resolve.c: targets --------------------------------------------- */

/* utilnet.SplitSchemeNamePort: "name", "name:port" or "scheme:name:port"
 * with scheme "", "http" or "https". False when invalid. */
bool sk_proxy_split_name(const char *id, char *scheme, size_t sn, char *name, size_t nn,
                         char *port, size_t pn);
/* How to reach a node's agent (upstream NodeConnectionInfoGetter). */
struct sk_node_conn {
    char host[256];
    int port;
    char hostport[300]; /* host:port, IPv6 bracketed */
};
int sk_proxy_node_conn(struct sk_apiserver *s, const char *node, struct sk_node_conn *nc,
                       sk_err *err);
/* Replies with err: API errors as Status (details from res/name when
 * given), internal ones with an empty reason as upstream does. */
void sk_proxy_reply_err(struct sk_req *q, const sk_err *err, const char *plural,
                        const char *name);
void sk_proxy_pod_proxy(struct sk_req *q, struct sk_route *rt);
void sk_proxy_service_proxy(struct sk_req *q, struct sk_route *rt);
void sk_proxy_node_proxy(struct sk_req *q, struct sk_route *rt);

/* ---- proxy_pod.c: log, exec, attach, portforward ---------------------------- */

void sk_proxy_pod_log(struct sk_req *q, struct sk_route *rt);
void sk_proxy_pod_stream(struct sk_req *q, struct sk_route *rt);

/* ---- proxy_fwd.c ---------------------------------------------------------- */

struct sk_fwd_req {
    const char *method;
    const char *url;            /* absolute, escaped */
    bool kubelet;               /* https to a node agent */
    struct curl_slist *headers; /* taken */
    const char *body;
    size_t body_len;
    const char *prefix;         /* proxy path prefix for Location rewriting, or NULL */
};

struct sk_fwd;
/* Starts the request and waits for the response headers (or the client
 * leaving, or shutdown). NULL + err (message = the dial/transfer error). */
struct sk_fwd *sk_fwd_open(struct sk_req *q, const struct sk_fwd_req *r, sk_err *err);
long sk_fwd_status(const struct sk_fwd *f);
/* Reads up to max bytes of the body into out (for error replies). */
void sk_fwd_read(struct sk_fwd *f, sk_buf *out, size_t max);
/* Value of a response header (first match) or NULL; borrowed. */
const char *sk_fwd_header(const struct sk_fwd *f, const char *name);
/* Replies with the backend's status and body, streamed as it arrives.
 * ctype != NULL: that Content-Type and no backend headers (logs);
 * otherwise the backend's end-to-end headers. Takes f. */
void sk_fwd_reply(struct sk_req *q, struct sk_fwd *f, const char *ctype);
void sk_fwd_free(struct sk_fwd *f);
/* Location rewriting as upstream's proxy transport: a same-host absolute
 * path gets the proxy prefix and loses scheme and host. backend_host is
 * host:port; req_host the client's Host header. Caller frees. */
char *sk_proxy_rewrite_location(const char *loc, const char *backend_host,
                                const char *req_host, const char *prefix);

/* ---- proxy_tunnel.c -------------------------------------------------------- */

struct sk_tunnel_target {
    const char *scheme;     /* "http" or "https" */
    const char *hostport;   /* "10.0.0.1:10250", "[fd00::1]:80" */
    const char *path_query; /* escaped path + "?query" */
    bool kubelet;           /* https with the kubelet client certificate */
    bool agent;             /* errors say "error dialing backend" (node agent) */
};
/* Opens the backend connection, sends the client's upgrade request, and
 * replies 101 (then splices bytes both ways in a thread) or the backend's
 * error reply. */
void sk_tunnel_reply(struct sk_req *q, const struct sk_tunnel_target *t);
/* Frees tunnels whose 101 never reached the client (old ones, or all). */
void sk_tunnel_reap(struct sk_kproxy *px, bool all);

#endif

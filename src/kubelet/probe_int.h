/* Private to probe*.c and their unit tests: the pieces of the prober that
 * the worker scheduler (probe.c), the probe runners (probe_run.c) and the
 * network checks (probe_net.c) share. */
#ifndef SK_KL_PROBE_INT_H
#define SK_KL_PROBE_INT_H

#include "kubelet/agent_int.h"

/* Exec output and HTTP bodies read per probe, as upstream (10 KiB). */
#define SK_KL_PROBE_OUTPUT_MAX (10 * 1024)
#define SK_KL_PROBE_UA "kube-probe/1.32"
#define SK_KL_LIFECYCLE_UA "kube-lifecycle/1.32"

/* Test hook: one "second" of periodSeconds, initialDelaySeconds and
 * timeoutSeconds lasts ms_per_sec ms (default 1000). Affects containers
 * added afterwards. */
void sk_kl_prober_set_time_scale(sk_kl_prober *p, int ms_per_sec);

/* One run of probe (a v1.Probe) as sk_kl_probe_once, with the container
 * spec ctr (may be NULL) for named ports and $(VAR) expansion of exec
 * commands, and timeout_ms (> 0) for timeoutSeconds. 0 success (a
 * redirect to another host counts, as upstream's Warning), 1 failure
 * (msg says why), -1 error (msg says why; upstream discards the result). */
int sk_kl_probe_run(sk_rt *rt, const json_t *probe, const json_t *ctr, const char *container_id,
                    const char *pod_ip, int timeout_ms, char *msg, size_t msg_len);

/* IntOrString port of a probe or handler, named ports looked up in ctr's
 * ports (ctr may be NULL); -1 with upstream's error text in msg. */
int sk_kl_probe_port(const json_t *port, const json_t *ctr, char *msg, size_t msg_len);

/* $(VAR) expansion against a container's env as upstream's
 * ExpandContainerCommandOnlyStatic (valueFrom variables expand to "",
 * unknown ones stay, $$ is a literal $). Caller frees. */
char *sk_kl_probe_expand(const char *s, const json_t *env);

/* ---- probe_net.c ---------------------------------------------------------- */

struct sk_kl_http_get {
    const char *scheme;     /* "http" or "https" (no certificate checks) */
    const char *host;       /* name or address; IPv6 without brackets */
    int port;
    const char *path;       /* "" or a path with an optional query */
    const json_t *headers;  /* httpHeaders: [{name, value}], may be NULL */
    const char *user_agent; /* unless headers carry one */
    int timeout_ms;         /* for the whole request, redirects included */
};

/* A GET as upstream's probe client: redirects followed only to the same
 * host (at most 10), body read up to SK_KL_PROBE_OUTPUT_MAX and dropped.
 * 0 with *status for a response; -1 for a transport error with a
 * Go-style message (`Get "URL": dial tcp H:P: connect: connection
 * refused`); *tls_mismatch (may be NULL) tells an https request failed
 * in the TLS handshake (upstream retries lifecycle hooks over http). */
int sk_kl_http_get(const struct sk_kl_http_get *r, long *status, bool *tls_mismatch, char *msg,
                   size_t msg_len);

/* TCP connect within timeout_ms: 0 connected, 1 failed (Go-style msg). */
int sk_kl_tcp_check(const char *host, int port, int timeout_ms, char *msg, size_t msg_len);

#endif

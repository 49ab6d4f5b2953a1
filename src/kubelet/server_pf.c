/* GET|POST /portForward/{ns}/{pod}: the upgrade, then the session runs
 * sk_kl_portforward_serve (portfwd*.c) on the upgraded socket. kubectl 1.32
 * asks for a WebSocket with subprotocol SPDY/3.1+portforward.k8s.io and
 * falls back to a raw `Upgrade: SPDY/3.1`. */
#include "kubelet/server_int.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const pf_protocols[] = {"SPDY/3.1+portforward.k8s.io"};

struct pf_ctx {
    bool ws;
    char pod[256];
    char netns[PATH_MAX];
};

static void pf_run(struct kl_session *s)
{
    struct pf_ctx *c = s->ctx;
    /* Clients wait for the 101 before speaking, so nothing should have
     * arrived behind the request; the serve function cannot take it. */
    if (s->nextra)
        sk_log(SK_WARN, "kubelet", "port-forward %s: %zu early bytes dropped", c->pod, s->nextra);
    /* sk_kl_portforward_serve closes its fd, but the upgraded socket must
     * be closed by MHD (kl_task_remove): hand it a duplicate, blocking. */
    int fd = fcntl(s->task.fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) {
        sk_log(SK_WARN, "kubelet", "port-forward %s: dup: %m", c->pod);
        return;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    sk_err err = SK_ERR_INIT;
    if (sk_kl_portforward_serve(fd, c->ws, c->netns, &err) < 0)
        sk_log(SK_INFO, "kubelet", "port-forward %s: %s", c->pod, err.msg);
    sk_err_clear(&err);
}

void kl_handle_portforward(struct kl_req *q, const char *ns, const char *pod)
{
    struct sk_kl_ctr_ref ref;
    if (kl_lookup(q, ns, pod, NULL, &ref) < 0) return;
    if (!ref.netns_path[0]) {
        kl_reply_status(q, SK_EBADREQUEST, "pod \"%s\" has no network namespace yet", pod);
        return;
    }
    bool ws = kl_ws_requested(q);
    const char *up = kl_header(q, "Upgrade");
    const char *proto = ws ? kl_ws_pick_protocol(q, pf_protocols, SK_ARRAY_LEN(pf_protocols)) : NULL;
    if (ws && !proto) {
        kl_reply_status(q, SK_EBADREQUEST, "unsupported WebSocket subprotocol: this node speaks SPDY/3.1+portforward.k8s.io");
        return;
    }
    if (!ws && (!up || strncasecmp(up, "SPDY/3.1", 8) != 0)) {
        kl_reply_status(q, SK_EBADREQUEST, "port-forward needs an upgrade to SPDY/3.1 or a WebSocket");
        return;
    }
    struct pf_ctx *c = sk_calloc(1, sizeof *c);
    c->ws = ws;
    snprintf(c->pod, sizeof c->pod, "%s/%s", ns, pod);
    snprintf(c->netns, sizeof c->netns, "%s", ref.netns_path);
    kl_session_new(q, pf_run, c, free);
    if (ws) {
        kl_ws_accept(q, proto);
    } else {
        const char *h[] = {"Upgrade", "SPDY/3.1", "Connection", "Upgrade",
                           "X-Stream-Protocol-Version", "portforward.k8s.io", NULL, NULL};
        kl_upgrade_reply(q, h);
    }
}

/* Port-forward: connecting a forwarded connection to localhost:<port>
 * inside the pod's network namespace (127.0.0.1, then ::1, as containerd),
 * without blocking the session's poll loop. */
#include "kubelet/portfwd_int.h"

/* ---- connecting inside the pod's netns ------------------------------------------------ */

struct ns_sockets {
    int fd[2];
    int err[2];
};

/* Runs inside the netns: only the sockets need to be born there; connect()
 * and all I/O may then happen on any thread. */
static int make_sockets(void *arg)
{
    struct ns_sockets *a = arg;
    static const int fam[2] = {AF_INET, AF_INET6};
    for (int i = 0; i < 2; i++) {
        a->fd[i] = socket(fam[i], SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        a->err[i] = a->fd[i] < 0 ? errno : 0;
    }
    return 0;
}

/* Go prints errno texts in lower case ("connection refused"). */
static void dial_error(struct pf_pair *p, int i, const char *op, int e)
{
    char msg[96];
    snprintf(msg, sizeof msg, "%s", strerror(e));
    if (msg[0] >= 'A' && msg[0] <= 'Z' && !(msg[1] >= 'A' && msg[1] <= 'Z')) msg[0] += 32;
    snprintf(p->dial_err[i], sizeof p->dial_err[i], "dial %s %s:%u: %s: %s",
             i == 0 ? "tcp4" : "tcp6", i == 0 ? "127.0.0.1" : "[::1]", p->port, op, msg);
}

/* containerd's wording, as kubectl shows it */
static void connect_failed(struct pf_sess *s, struct pf_pair *p)
{
    const char *ns = s->netns_path ? s->netns_path : "host";
    char *msg = sk_printf("error forwarding port %u to pod %s, uid : failed to execute portforward "
                          "in network namespace \"%s\": failed to connect to localhost:%u inside "
                          "namespace \"%s\", IPv4: %s IPv6 %s ",
                          p->port, s->ns_id, ns, p->port, s->ns_id, p->dial_err[0], p->dial_err[1]);
    pf_pair_finish(s, p, msg);
    free(msg);
}

static void pair_opened(struct pf_pair *p)
{
    p->state = PF_OPEN;
    for (int i = 0; i < 2; i++)
        if (p->spare[i] >= 0) close(p->spare[i]);
    p->spare[0] = p->spare[1] = -1;
    pf_pod_flush(p);
}

/* Tries 127.0.0.1, then ::1, as containerd dials localhost tcp4 then tcp6. */
static void connect_step(struct pf_sess *s, struct pf_pair *p)
{
    for (; p->attempt < 2; p->attempt++) {
        int i = p->attempt, fd = p->spare[i];
        if (fd < 0) continue; /* dial_err[i] says why */
        p->spare[i] = -1;
        struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_port = htons(p->port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_port = htons(p->port),
                                  .sin6_addr = IN6ADDR_LOOPBACK_INIT};
        int rc = i == 0 ? connect(fd, (struct sockaddr *)&v4, sizeof v4)
                        : connect(fd, (struct sockaddr *)&v6, sizeof v6);
        if (rc == 0 || errno == EINPROGRESS) {
            p->fd = fd;
            p->state = PF_CONNECTING;
            if (rc == 0) pair_opened(p);
            return;
        }
        dial_error(p, i, "connect", errno);
        close(fd);
    }
    connect_failed(s, p);
}

void pf_connect_done(struct pf_sess *s, struct pf_pair *p)
{
    int e = 0;
    socklen_t el = sizeof e;
    if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0) e = errno;
    if (e == 0) {
        pair_opened(p);
        return;
    }
    dial_error(p, p->attempt, "connect", e);
    close(p->fd);
    p->fd = -1;
    p->attempt++;
    connect_step(s, p);
}

void pf_pair_connect(struct pf_sess *s, struct pf_pair *p)
{
    struct ns_sockets a = {{-1, -1}, {0, 0}};
    sk_err e = SK_ERR_INIT;
    int rc = s->netns_path ? sk_net_netns_run(s->netns_path, make_sockets, &a, &e)
                           : make_sockets(&a);
    if (rc < 0) {
        char *msg = sk_printf("error forwarding port %u to pod %s, uid : failed to execute "
                              "portforward in network namespace \"%s\": %s",
                              p->port, s->ns_id, s->netns_path, e.msg);
        sk_err_clear(&e);
        pf_pair_finish(s, p, msg);
        free(msg);
        return;
    }
    for (int i = 0; i < 2; i++) {
        p->spare[i] = a.fd[i];
        if (a.fd[i] < 0) dial_error(p, i, "socket", a.err[i]);
    }
    p->attempt = 0;
    connect_step(s, p);
}


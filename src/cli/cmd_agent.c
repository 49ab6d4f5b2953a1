/* skiff agent: a node agent as its own process. For now only --hollow:
 * simulated nodes that register, heartbeat and run pods in name only.
 * Killing the process stops the heartbeats, which is how tests fail nodes. */
#include "cli/cli.h"
#include "kubelet/kubelet.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>

struct agent_opts {
    bool hollow;
    const char *kubeconfig, *node_name;
    int64_t count, pod_delay_ms, lease_renew_ms;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: skiff agent --hollow --kubeconfig FILE --node-name NAME [flags]\n"
            "  --hollow             simulated nodes (no containers)\n"
            "  --kubeconfig FILE    credentials for the API server\n"
            "  --node-name NAME     node name; with --count N > 1 the nodes are NAME-0 ... NAME-<N-1>\n"
            "  --count N            number of nodes (default 1)\n"
            "  --pod-delay MS       delay before a bound pod is Running (default 0)\n"
            "  --lease-renew MS     Lease renewal interval (default 10000)\n"
            "  -v, --verbose        debug logging\n");
}

static int parse_num(const char *flag, const char *v, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || *end || end == v || n < min || n > max) {
        fprintf(stderr, "skiff agent: invalid value \"%s\" for %s\n", v, flag);
        return -1;
    }
    *out = n;
    return 0;
}

static int parse_opts(int argc, char **argv, struct agent_opts *o)
{
    enum { O_HOLLOW = 1000, O_KCFG, O_NAME, O_COUNT, O_DELAY, O_LEASE };
    static const struct option opts[] = {
        {"hollow", no_argument, 0, O_HOLLOW},
        {"kubeconfig", required_argument, 0, O_KCFG},
        {"node-name", required_argument, 0, O_NAME},
        {"count", required_argument, 0, O_COUNT},
        {"pod-delay", required_argument, 0, O_DELAY},
        {"lease-renew", required_argument, 0, O_LEASE},
        {"verbose", no_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
        switch (c) {
        case O_HOLLOW: o->hollow = true; break;
        case O_KCFG: o->kubeconfig = optarg; break;
        case O_NAME: o->node_name = optarg; break;
        case O_COUNT:
            if (parse_num("--count", optarg, 1, 10000, &o->count) < 0) return -1;
            break;
        case O_DELAY:
            if (parse_num("--pod-delay", optarg, 0, 86400000, &o->pod_delay_ms) < 0) return -1;
            break;
        case O_LEASE:
            if (parse_num("--lease-renew", optarg, 100, 3600000, &o->lease_renew_ms) < 0) return -1;
            break;
        case 'v': sk_log_level = SK_DEBUG; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "skiff agent: unexpected argument \"%s\"\n", argv[optind]);
        return -1;
    }
    if (!o->hollow) {
        fprintf(stderr, "skiff agent: only --hollow nodes are supported so far\n");
        return -1;
    }
    if (!o->kubeconfig || !o->node_name) {
        fprintf(stderr, "skiff agent: --kubeconfig and --node-name are required\n");
        return -1;
    }
    return 0;
}

int sk_cmd_agent(int argc, char **argv)
{
    struct agent_opts o = {.count = 1};
    if (parse_opts(argc, argv, &o) < 0) return 2;
    sk_err err = SK_ERR_INIT;
    int rc = 1;
    sk_client *client = NULL;
    sk_hollow *h = NULL;
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    pthread_sigmask(SIG_BLOCK, &mask, NULL); /* inherited by every thread started below */
    signal(SIGPIPE, SIG_IGN);

    client = sk_client_from_kubeconfig(o.kubeconfig, "skiff-hollow-node", &err);
    if (!client) goto out;
    /* One node keeps its exact name; several are NAME-0 ... */
    const char *names[] = {o.node_name, NULL};
    struct sk_hollow_config hc = {.client = client, .name_prefix = o.node_name,
                                  .names = o.count == 1 ? names : NULL, .count = (int)o.count,
                                  .pod_delay_ms = o.pod_delay_ms, .lease_renew_ms = o.lease_renew_ms};
    h = sk_hollow_new(&hc, &err);
    if (!h || sk_hollow_start(h, &err) < 0) goto out;

    int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    struct signalfd_siginfo si = {0};
    while (sfd >= 0 && read(sfd, &si, sizeof si) < 0 && errno == EINTR) {
    }
    if (sfd >= 0) close(sfd);
    sk_log(SK_INFO, "agent", "signal %u: stopping", si.ssi_signo);
    rc = 0;
out:
    if (rc && err.msg[0]) fprintf(stderr, "skiff agent: %s\n", err.msg);
    sk_hollow_free(h);
    sk_client_free(client);
    sk_err_clear(&err);
    return rc;
}

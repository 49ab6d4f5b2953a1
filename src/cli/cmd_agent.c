/* skiff agent: a node agent as its own process, against any API server.
 * By default the real one (containers with crun, CNI networking); with
 * --hollow simulated nodes that register, heartbeat and run pods in name
 * only (killing the process stops the heartbeats, which is how tests fail
 * nodes). */
#include "cli/cli.h"
#include "cli/join.h" /* join: --server/--token-file TLS bootstrap */
#include "kubelet/kubelet.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>

struct agent_opts {
    bool hollow;
    const char *kubeconfig, *node_name, *data_dir;
    const char *server, *token_file; /* join */
    int64_t count, pod_delay_ms, lease_renew_ms;
    struct sk_cli_node node;
    struct sk_cli_node_opts nopts;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: skiff agent --kubeconfig FILE [--node-name NAME] [flags]\n"
            "       skiff agent --server https://ADDR:PORT --token-file FILE [flags]\n"
            "  --server URL         API server to join (with --token-file)\n"
            "  --token-file FILE    join token written by skiff server (DATA/join-token): the\n"
            "                       agent gets its certificates and writes DATA/kubeconfig\n"
            "  --kubeconfig FILE    credentials for the API server (a client certificate\n"
            "                       for system:node:NAME, issued by the cluster CA)\n"
            "  --node-name NAME     node name (default: the hostname); with --hollow --count N > 1\n"
            "                       the nodes are NAME-0 ... NAME-<N-1>\n"
            "  --data-dir DIR       node state: containers, pod volumes, logs, images\n"
            "                       (default /var/lib/skiff-agent)\n"
            "  --node-ip ADDR       this node's InternalIP (default: detected)\n"
            "  --agent-port N       HTTPS port for logs/exec/port-forward (default 10250; 0 = any)\n"
            "  --cgroup-parent PATH cgroup of the pods (default /kubepods)\n"
            "  --disable-builtin-images  do not load the built-in sample images\n"
            "  --samples-dir DIR    built-in sample binaries (default: next to skiff)\n"
            "  --cluster-dns IP     nameserver of ClusterFirst pods (default 10.96.0.10;\n"
            "                       \"\" = the node's resolv.conf)\n"
            "  --cluster-cidr CIDR  the cluster's pod network (default 10.244.0.0/16)\n"
            "  --service-cidr CIDR  the cluster's service network (default 10.96.0.0/12)\n"
            "  --disable-proxy      no service proxy (nftables) on this node\n"
            "  --hollow             simulated nodes (no containers)\n"
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
    enum { O_HOLLOW = 1000, O_KCFG, O_NAME, O_COUNT, O_DELAY, O_LEASE, O_DATA, O_NIP, O_APORT,
           O_CGP, O_NOBUILTIN, O_SAMPLES, O_SERVER, O_TOKFILE, O_CDNS, O_CCIDR, O_SCIDR,
           O_NOPROXY };
    static const struct option opts[] = {
        {"hollow", no_argument, 0, O_HOLLOW},
        {"kubeconfig", required_argument, 0, O_KCFG},
        {"node-name", required_argument, 0, O_NAME},
        {"count", required_argument, 0, O_COUNT},
        {"pod-delay", required_argument, 0, O_DELAY},
        {"lease-renew", required_argument, 0, O_LEASE},
        {"data-dir", required_argument, 0, O_DATA},
        {"node-ip", required_argument, 0, O_NIP},
        {"agent-port", required_argument, 0, O_APORT},
        {"cgroup-parent", required_argument, 0, O_CGP},
        {"disable-builtin-images", no_argument, 0, O_NOBUILTIN},
        {"samples-dir", required_argument, 0, O_SAMPLES},
        {"server", required_argument, 0, O_SERVER},
        {"token-file", required_argument, 0, O_TOKFILE},
        {"cluster-dns", required_argument, 0, O_CDNS},
        {"cluster-cidr", required_argument, 0, O_CCIDR},
        {"service-cidr", required_argument, 0, O_SCIDR},
        {"disable-proxy", no_argument, 0, O_NOPROXY},
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
        case O_DATA: o->data_dir = optarg; break;
        case O_NIP: o->nopts.node_ip = optarg; break;
        case O_APORT: {
            int64_t v;
            if (parse_num("--agent-port", optarg, 0, 65535, &v) < 0) return -1;
            o->nopts.agent_port = v ? (int)v : -2; /* 0 = any free port */
            break;
        }
        case O_CGP: o->nopts.cgroup_parent = optarg; break;
        case O_NOBUILTIN: o->nopts.no_builtin_images = true; break;
        case O_SAMPLES: o->nopts.samples_dir = optarg; break;
        case O_SERVER: o->server = optarg; break;
        case O_TOKFILE: o->token_file = optarg; break;
        case O_CDNS: o->nopts.cluster_dns = *optarg ? optarg : NULL; break;
        case O_CCIDR: o->nopts.cluster_cidr = optarg; break;
        case O_SCIDR: o->nopts.service_cidr = optarg; break;
        case O_NOPROXY: o->nopts.no_proxy = true; break;
        case 'v': sk_log_level = SK_DEBUG; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "skiff agent: unexpected argument \"%s\"\n", argv[optind]);
        return -1;
    }
    if (o->kubeconfig && (o->server || o->token_file)) {
        fprintf(stderr, "skiff agent: --kubeconfig and --server/--token-file are exclusive\n");
        return -1;
    }
    if (!o->kubeconfig && !(o->server && o->token_file)) {
        fprintf(stderr, "skiff agent: --kubeconfig, or --server with --token-file, is required\n");
        return -1;
    }
    if (o->hollow && !o->node_name) {
        fprintf(stderr, "skiff agent: --hollow needs --node-name\n");
        return -1;
    }
    return 0;
}

int sk_cmd_agent(int argc, char **argv)
{
    struct agent_opts o = {.count = 1, .nopts = {.cluster_dns = "10.96.0.10"}};
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

    char node_name[256];
    _sk_free_ char *ca = NULL, *cert = NULL, *key = NULL;
    struct sk_join_result joined = {0}; /* join: node kubeconfig and serving certificate */
    if (!o.hollow) {
        if (geteuid() != 0) {
            fprintf(stderr, "skiff agent: the node agent runs containers and needs root\n");
            return 1;
        }
        if (!o.node_name) {
            sk_cli_default_node_name(node_name, sizeof node_name);
            o.node_name = node_name;
        }
        o.nopts.node_name = o.node_name;
        o.nopts.data_dir = o.data_dir ? o.data_dir : "/var/lib/skiff-agent";
        /* before any thread: the runtime changes the mount namespace */
        if (sk_cli_node_prepare(&o.node, &o.nopts, &err) < 0) goto out;
    }
    if (!o.kubeconfig) { /* join: TLS bootstrap with the token, then as today */
        struct sk_join_agent ja = {.server_url = o.server, .token_file = o.token_file,
                                   .data_dir = o.data_dir ? o.data_dir : "/var/lib/skiff-agent",
                                   .node_name = o.node_name, .node_ip = o.nopts.node_ip,
                                   .serving = !o.hollow};
        if (sk_join_agent_bootstrap(&ja, &joined, &err) < 0) goto out;
        o.kubeconfig = joined.kubeconfig;
    }
    client = sk_client_from_kubeconfig(o.kubeconfig, o.hollow ? "skiff-hollow-node" : "skiff-agent",
                                       &err);
    if (!client) goto out;
    if (!o.hollow) {
        /* The agent trusts the cluster CA of its kubeconfig for the API
         * server's client certificate, and serves with its own node
         * certificate (the API server does not verify agents' serving
         * certificates, as upstream without --kubelet-certificate-authority). */
        if (sk_client_credentials(client, &ca, &cert, &key, &err) < 0) goto out;
        if (!ca || !cert || !key) {
            sk_err_set(&err, SK_EINVALID, "%s: the node agent needs a CA and a client certificate "
                                          "in its kubeconfig", o.kubeconfig);
            goto out;
        }
        if (joined.serving_cert) { /* join: the kubelet-serving certificate */
            free(cert);
            free(key);
            cert = SK_TAKE(joined.serving_cert);
            key = SK_TAKE(joined.serving_key);
        }
        if (sk_cli_node_start(&o.node, &o.nopts, client, cert, key, ca, &err) < 0) goto out;
        goto wait;
    }
    /* One node keeps its exact name; several are NAME-0 ... */
    const char *names[] = {o.node_name, NULL};
    struct sk_hollow_config hc = {.client = client, .name_prefix = o.node_name,
                                  .names = o.count == 1 ? names : NULL, .count = (int)o.count,
                                  .pod_delay_ms = o.pod_delay_ms, .lease_renew_ms = o.lease_renew_ms};
    h = sk_hollow_new(&hc, &err);
    if (!h || sk_hollow_start(h, &err) < 0) goto out;
wait:;

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
    sk_cli_node_stop(&o.node);
    sk_client_free(client);
    sk_join_result_release(&joined);
    sk_err_clear(&err);
    return rc;
}

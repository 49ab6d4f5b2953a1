/* skiff server: the control plane in the foreground. Creates the data
 * directory, PKI and kubeconfig on first start, opens the store and serves
 * the API until SIGTERM/SIGINT. */
#include "apiserver/apiserver.h"
#include "cli/cli.h"
#include "cli/join.h" /* join: bootstrap token, CSR signing CA */
#include "controllers/controllers.h"
#include "kubelet/kubelet.h"
#include "network/dns/dns.h"
#include "scheduler/scheduler.h"
#include "network/network.h"
#include "pki/pki.h"
#include "store/store.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>

struct server_opts {
    const char *data_dir;
    const char *bind;
    int port;
    const char *kubeconfig;
    bool disable_agent;
    int64_t keep_revisions, keep_seconds, compact_interval_ms;
    const char *disable_controllers;
    const char *cluster_cidr, *service_cidr;
    int64_t node_grace_ms;
    int64_t hollow_nodes, hollow_pod_delay_ms;
    bool leader_elect;
    bool disable_scheduler;
    struct sk_cli_node_opts node;
    const char *advertise;
    bool disable_dns;
    bool cleanup;
    const char *dns_upstream;
    const char *cluster_dns;
    bool loopback_https;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: skiff server [flags]\n"
            "  --data-dir DIR            state directory (default /var/lib/skiff)\n"
            "  --bind-address ADDR       address to serve on (default 0.0.0.0: pods and other\n"
            "                            nodes reach the API at the node address)\n"
            "  --advertise-address ADDR  the API server's address for pods and nodes\n"
            "                            (default: the node address)\n"
            "  --port N                  HTTPS port (default 6443)\n"
            "  --write-kubeconfig PATH   admin kubeconfig (default DIR/kubeconfig)\n"
            "  --disable-agent           do not run the node agent in this process\n"
            "  --node-name NAME          this node's name (default: the hostname)\n"
            "  --node-ip ADDR            this node's InternalIP (default: detected)\n"
            "  --agent-port N            node agent HTTPS port (default 10250; 0 = any)\n"
            "  --cgroup-parent PATH      cgroup of the pods (default /kubepods)\n"
            "  --disable-builtin-images  do not load the built-in sample images\n"
            "  --disable-proxy           no service proxy (nftables) on this node\n"
            "  --disable-dns             no cluster DNS server\n"
            "  --cleanup                 remove what this node left (containers, pod networks,\n"
            "                            proxy rules, routes) and exit; the store is kept\n"
            "  --cluster-dns IP          the cluster DNS service IP (default 10.96.0.10)\n"
            "  --dns-upstream LIST       resolvers for names outside the cluster: IP[:PORT],...\n"
            "                            or \"none\" (default: the nameservers of /etc/resolv.conf)\n"
            "  --samples-dir DIR         built-in sample binaries (default: next to skiff)\n"
            "  --store-keep-revisions N  history kept for watches (default 10000)\n"
            "  --store-keep-seconds N    history kept for watches (default 300)\n"
            "  --store-compact-interval-ms N  (default 60000)\n"
            "  --disable-controllers L   comma-separated controllers not to run (\"all\": none)\n"
            "  --cluster-cidr CIDR       pod network, one /24 per node (default 10.244.0.0/16)\n"
            "  --service-cidr CIDR       ClusterIP range (default 10.96.0.0/12)\n"
            "  --node-monitor-grace-period D  e.g. 50s (default), 500ms\n"
            "  --disable-scheduler       do not run the scheduler\n"
            "  --hollow-nodes N          register N simulated nodes (hollow-0...)\n"
            "  --hollow-pod-delay D      delay before hollow pods run (default 0)\n"
            "  --leader-elect=BOOL       Lease leader election for controllers/scheduler (default true)\n"
            "  --loopback-https          in-process components use HTTPS on loopback instead of\n"
            "                            handing requests to the API server directly\n"
            "  -v, --verbose             debug logging\n");
}

static int parse_int(const char *flag, const char *v, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || *end || end == v || n < min || n > max) {
        fprintf(stderr, "skiff server: invalid value \"%s\" for %s\n", v, flag);
        return -1;
    }
    *out = n;
    return 0;
}

/* Durations as upstream flags take them: "50s", "500ms", "2m", or seconds. */
int sk_parse_duration_ms(const char *flag, const char *v, int64_t *out)
{
    char *end;
    errno = 0;
    double n = strtod(v, &end);
    double mul = 1000;
    if (!strcmp(end, "ms")) mul = 1;
    else if (!strcmp(end, "s") || !*end) mul = 1000;
    else if (!strcmp(end, "m")) mul = 60000;
    else if (!strcmp(end, "h")) mul = 3600000;
    else end = NULL;
    if (errno || !end || end == v || n < 0) {
        fprintf(stderr, "skiff: invalid duration \"%s\" for %s\n", v, flag);
        return -1;
    }
    *out = (int64_t)(n * mul);
    return 0;
}

static int parse_opts(int argc, char **argv, struct server_opts *o)
{
    enum { O_DATA = 1000, O_BIND, O_PORT, O_KCFG, O_NOAGENT, O_KREV, O_KSEC, O_CINT, O_DISCTL,
           O_CCIDR, O_SCIDR, O_GRACE, O_HOLLOW, O_HDELAY, O_LEADER, O_NOSCHED, O_NNAME,
           O_NIP, O_APORT, O_CGP, O_NOBUILTIN, O_SAMPLES, O_ADV, O_NOPROXY, O_NODNS, O_CDNS, O_CLEANUP, O_DNSUP, O_LOOPHTTPS };
    static const struct option opts[] = {
        {"data-dir", required_argument, 0, O_DATA},
        {"bind-address", required_argument, 0, O_BIND},
        {"port", required_argument, 0, O_PORT},
        {"write-kubeconfig", required_argument, 0, O_KCFG},
        {"disable-agent", no_argument, 0, O_NOAGENT},
        {"store-keep-revisions", required_argument, 0, O_KREV},
        {"store-keep-seconds", required_argument, 0, O_KSEC},
        {"store-compact-interval-ms", required_argument, 0, O_CINT},
        {"disable-controllers", required_argument, 0, O_DISCTL},
        {"cluster-cidr", required_argument, 0, O_CCIDR},
        {"service-cidr", required_argument, 0, O_SCIDR},
        {"node-monitor-grace-period", required_argument, 0, O_GRACE},
        {"hollow-nodes", required_argument, 0, O_HOLLOW},
        {"hollow-pod-delay", required_argument, 0, O_HDELAY},
        {"leader-elect", optional_argument, 0, O_LEADER},
        {"loopback-https", no_argument, 0, O_LOOPHTTPS},
        {"disable-scheduler", no_argument, 0, O_NOSCHED},
        {"node-name", required_argument, 0, O_NNAME},
        {"advertise-address", required_argument, 0, O_ADV},
        {"disable-proxy", no_argument, 0, O_NOPROXY},
        {"disable-dns", no_argument, 0, O_NODNS},
        {"cleanup", no_argument, 0, O_CLEANUP},
        {"dns-upstream", required_argument, 0, O_DNSUP},
        {"cluster-dns", required_argument, 0, O_CDNS},
        {"node-ip", required_argument, 0, O_NIP},
        {"agent-port", required_argument, 0, O_APORT},
        {"cgroup-parent", required_argument, 0, O_CGP},
        {"disable-builtin-images", no_argument, 0, O_NOBUILTIN},
        {"samples-dir", required_argument, 0, O_SAMPLES},
        {"verbose", no_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int c;
    int64_t v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
        switch (c) {
        case O_DATA: o->data_dir = optarg; break;
        case O_BIND: o->bind = optarg; break;
        case O_PORT:
            if (parse_int("--port", optarg, 1, 65535, &v) < 0) return -1;
            o->port = (int)v;
            break;
        case O_KCFG: o->kubeconfig = optarg; break;
        case O_NOAGENT: o->disable_agent = true; break;
        case O_KREV:
            if (parse_int("--store-keep-revisions", optarg, 0, INT64_MAX, &o->keep_revisions) < 0) return -1;
            break;
        case O_KSEC:
            if (parse_int("--store-keep-seconds", optarg, 0, INT64_MAX, &o->keep_seconds) < 0) return -1;
            break;
        case O_CINT:
            if (parse_int("--store-compact-interval-ms", optarg, 10, INT64_MAX, &o->compact_interval_ms) < 0) return -1;
            break;
        case O_DISCTL: o->disable_controllers = optarg; break;
        case O_NOSCHED: o->disable_scheduler = true; break;
        case O_LOOPHTTPS: o->loopback_https = true; break;
        case O_NNAME: o->node.node_name = optarg; break;
        case O_ADV: o->advertise = optarg; break;
        case O_NOPROXY: o->node.no_proxy = true; break;
        case O_NODNS: o->disable_dns = true; break;
        case O_CLEANUP: o->cleanup = true; break;
        case O_DNSUP: o->dns_upstream = optarg; break;
        case O_CDNS: o->cluster_dns = optarg; break;
        case O_NIP: o->node.node_ip = optarg; break;
        case O_APORT:
            if (parse_int("--agent-port", optarg, 0, 65535, &v) < 0) return -1;
            /* 0 asks for any free port; the agent reads 0 as its default */
            o->node.agent_port = v ? (int)v : -2;
            break;
        case O_CGP: o->node.cgroup_parent = optarg; break;
        case O_NOBUILTIN: o->node.no_builtin_images = true; break;
        case O_SAMPLES: o->node.samples_dir = optarg; break;
        case O_CCIDR: o->cluster_cidr = optarg; break;
        case O_SCIDR: o->service_cidr = optarg; break;
        case O_GRACE:
            if (sk_parse_duration_ms("--node-monitor-grace-period", optarg, &o->node_grace_ms) < 0) return -1;
            break;
        case O_HOLLOW:
            if (parse_int("--hollow-nodes", optarg, 0, 5000, &o->hollow_nodes) < 0) return -1;
            break;
        case O_HDELAY:
            if (sk_parse_duration_ms("--hollow-pod-delay", optarg, &o->hollow_pod_delay_ms) < 0) return -1;
            break;
        case O_LEADER:
            if (!optarg || !strcmp(optarg, "true")) o->leader_elect = true;
            else if (!strcmp(optarg, "false")) o->leader_elect = false;
            else {
                fprintf(stderr, "skiff server: invalid value \"%s\" for --leader-elect\n", optarg);
                return -1;
            }
            break;
        case 'v': sk_log_level = SK_DEBUG; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "skiff server: unexpected argument \"%s\"\n", argv[optind]);
        return -1;
    }
    return 0;
}

/* In-process transport: a component's requests go to the API server's
 * handlers with the identity its certificate carries (CN, O). */
struct local_ep {
    sk_apiserver *api;
    sk_identity id;
};

static int local_call(void *ud, const char *method, const char *path, const json_t *body,
                      const char *ctype, long *status, json_t **reply, sk_buf *raw)
{
    struct local_ep *e = ud;
    return sk_apiserver_local_call(e->api, &e->id, method, path, body, ctype, status, reply, raw);
}

static int local_watch(void *ud, const char *path, int (*cb)(void *, const char *, json_t *),
                       void *cb_ud, int (*tick)(void *), void *tick_ud, long *status,
                       json_t **reply)
{
    struct local_ep *e = ud;
    return sk_apiserver_local_watch(e->api, &e->id, path, cb, cb_ud, tick, tick_ud, status, reply);
}

#define MAX_LOCAL_EPS 8
static struct local_ep local_eps[MAX_LOCAL_EPS];
static size_t n_local_eps;

/* A client for an in-process component with its own certificate; with api,
 * its requests are handed to that server directly. */
static sk_client *component_client(const char *dir, const char *url, const char *ca,
                                   const char *cn, const char *org, sk_apiserver *api,
                                   sk_err *err)
{
    const char *orgs[] = {org, NULL};
    sk_pem_pair pp = {0};
    if (sk_pki_issue_client(dir, cn, org ? orgs : NULL, &pp, err) < 0) return NULL;
    struct sk_client_config cfg = {.server = url, .ca_pem = ca, .cert_pem = pp.cert,
                                   .key_pem = pp.key, .user_agent = cn};
    struct sk_client_local lc = {local_call, local_watch, NULL};
    if (api && n_local_eps < MAX_LOCAL_EPS) {
        struct local_ep *e = &local_eps[n_local_eps++];
        e->api = api;
        memset(&e->id, 0, sizeof e->id);
        snprintf(e->id.user, sizeof e->id.user, "%s", cn);
        if (org) snprintf(e->id.groups[e->id.ngroups++], sizeof e->id.groups[0], "%s", org);
        lc.ud = e;
        cfg.local = &lc;
    }
    sk_client *c = sk_client_new(&cfg, err);
    sk_pem_pair_release(&pp);
    return c;
}

int sk_cmd_server(int argc, char **argv)
{
    _sk_free_ char *identity = NULL, *local = NULL;
    _sk_free_ char *url = NULL, *p_ca = NULL, *p_cert = NULL, *p_key = NULL, *p_acert = NULL, *p_akey = NULL;
    struct server_opts o = {.data_dir = "/var/lib/skiff", .bind = "0.0.0.0", .port = 6443,
                            .keep_revisions = 10000, .keep_seconds = 300,
                            .compact_interval_ms = 60000, .cluster_cidr = "10.244.0.0/16",
                            .service_cidr = "10.96.0.0/12", .node_grace_ms = 50000,
                            .leader_elect = true};
    if (parse_opts(argc, argv, &o) < 0) return 2;
    if (o.cleanup) return sk_cli_cleanup(o.data_dir, o.node.cgroup_parent);
    sk_err err = SK_ERR_INIT;
    int rc = 1;
    sk_store *st = NULL;
    sk_apiserver *api = NULL;
    sk_client *cm_client = NULL, *sched_client = NULL, *node_client = NULL, *agent_client = NULL;
    sk_ctrlmgr *cm = NULL;
    sk_scheduler *sched = NULL;
    sk_hollow *hollow = NULL;
    sk_dns *dns = NULL;
    sk_client *dns_client = NULL;
    struct sk_cli_node node = {0};
    bool run_agent = false;
    char node_name[256];
    _sk_free_ char *kl_cert = NULL, *kl_key = NULL;
    _sk_free_ char *cakey = NULL; /* join: the csrsigning controller signs with it */
    char *ca = NULL, *cert = NULL, *key = NULL, *acert = NULL, *akey = NULL;
    _sk_free_ char *kcfg = o.kubeconfig ? sk_strdup(o.kubeconfig) : sk_printf("%s/kubeconfig", o.data_dir);
    _sk_free_ char *dbpath = sk_printf("%s/skiff.db", o.data_dir);
    _sk_free_ char *pki = sk_printf("%s/pki", o.data_dir);
    _sk_free_ char *tokens = sk_printf("%s/tokens.csv", o.data_dir);

    if (sk_mkdir_p(o.data_dir, 0700, &err) < 0) goto out;
    /* Signals go to a signalfd, blocked in every thread started after this. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);

    int64_t t0 = sk_now_ms();
    /* The node agent's runtime must be set up before any thread exists. */
    if (!o.disable_agent) {
        if (geteuid() != 0) {
            sk_log(SK_WARN, "server", "not root: running without the node agent, so pods stay "
                                      "Pending (run as root, or pass --disable-agent to silence this)");
        } else {
            if (!o.node.node_name) {
                sk_cli_default_node_name(node_name, sizeof node_name);
                o.node.node_name = node_name;
            }
            o.node.data_dir = o.data_dir;
            o.node.control_plane = true;
            if (sk_cli_node_prepare(&node, &o.node, &err) < 0) {
                sk_err_wrap(&err, "node agent");
                goto out;
            }
            run_agent = true;
        }
    }
    struct sk_store_config sc = {.backend = "sqlite", .path = dbpath,
                                 /* the store reads 0 as "default", <0 as "no limit" */
                                 .keep_seconds = o.keep_seconds ? o.keep_seconds : -1,
                                 .keep_revisions = o.keep_revisions ? o.keep_revisions : -1,
                                 .compact_interval_ms = o.compact_interval_ms};
    st = sk_store_open(&sc, &err);
    if (!st) goto out;

    /* Pods (through the kubernetes Service) and other nodes use the node's
     * address: it is the advertised address and a SAN of the certificate. */
    char detected[64];
    const bool wildcard = !strcmp(o.bind, "0.0.0.0") || !strcmp(o.bind, "::");
    if (!o.advertise) {
        if (!wildcard && strcmp(o.bind, "127.0.0.1")) snprintf(detected, sizeof detected, "%s", o.bind);
        else if (o.node.node_ip) snprintf(detected, sizeof detected, "%s", o.node.node_ip);
        else sk_net_node_ip(NULL, "cni0", detected, sizeof detected);
        o.advertise = detected;
    }
    const char *sans[] = {"localhost", "127.0.0.1", o.bind, o.advertise, "kubernetes", "kubernetes.default",
                          "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
                          "10.96.0.1"};
    size_t nsans = SK_ARRAY_LEN(sans);
    if (!strcmp(o.bind, "0.0.0.0") || !strcmp(o.bind, "::")) {
        sans[2] = "localhost"; /* wildcard binds are not SANs */
    }
    if (sk_pki_ensure(o.data_dir, sans, nsans, &err) < 0) goto out;
    p_ca = sk_printf("%s/ca.crt", pki);
    p_cert = sk_printf("%s/server.crt", pki);
    p_key = sk_printf("%s/server.key", pki);
    p_acert = sk_printf("%s/admin.crt", pki);
    p_akey = sk_printf("%s/admin.key", pki);
    if (!(ca = sk_read_file(p_ca, NULL, &err)) || !(cert = sk_read_file(p_cert, NULL, &err)) ||
        !(key = sk_read_file(p_key, NULL, &err)) || !(acert = sk_read_file(p_acert, NULL, &err)) ||
        !(akey = sk_read_file(p_akey, NULL, &err)))
        goto out;
    if (access(tokens, F_OK) != 0) {
        _sk_free_ char *tok = sk_pki_random_token(24);
        _sk_free_ char *line = sk_printf("%s,admin,admin,system:masters\n", tok);
        if (sk_write_file(tokens, line, strlen(line), 0600, &err) < 0) goto out;
    }

    const char *host = (!strcmp(o.bind, "0.0.0.0") || !strcmp(o.bind, "::")) ? "127.0.0.1" : o.bind;
    url = strchr(host, ':') ? sk_printf("https://[%s]:%d", host, o.port)
                                            : sk_printf("https://%s:%d", host, o.port);
    sk_pem_pair admin = {acert, akey};
    if (sk_kubeconfig_write(kcfg, url, ca, &admin, &err) < 0) goto out;

    {
        /* The API server's identity towards node agents. */
        const char *orgs[] = {"system:masters", NULL};
        sk_pem_pair kp = {0};
        if (sk_pki_issue_client(o.data_dir, "kube-apiserver-kubelet-client", orgs, &kp, &err) < 0)
            goto out;
        kl_cert = kp.cert;
        kl_key = kp.key;
    }
    struct sk_apiserver_config ac = {.bind_address = o.bind, .port = o.port, .cert_pem = cert,
                                     .kubelet_client_cert_pem = kl_cert,
                                     .kubelet_client_key_pem = kl_key,
                                     .key_pem = key, .ca_pem = ca, .token_file = tokens,
                                     .service_cidr = o.service_cidr,
                                     .advertise_address = o.advertise,
                                     .git_version = SKIFF_GIT_VERSION,
                                     .major = SKIFF_VERSION_MAJOR, .minor = SKIFF_VERSION_MINOR};
    api = sk_apiserver_new(&ac, st, &err);
    if (!api) goto out;
    if (sk_apiserver_start(api, &err) < 0) goto out;
    sk_log(SK_INFO, "server", "serving on %s (ready in %lld ms); kubeconfig: %s", url,
           (long long)(sk_now_ms() - t0), kcfg);
    if (o.disable_agent)
        sk_log(SK_DEBUG, "server", "node agent disabled");

    /* The control plane's components are API clients, each with its own
     * identity; in this process they hand requests over directly. */
    sk_apiserver *lapi = o.loopback_https ? NULL : api;
    char hostname[256] = "skiff";
    gethostname(hostname, sizeof hostname - 1);
    identity = sk_printf("%s_%s:%d", hostname, o.bind, o.port);
    local = sk_printf("https://127.0.0.1:%d", o.port);
    const char *api_url = (!strcmp(o.bind, "0.0.0.0") || !strcmp(o.bind, "::") ||
                           !strcmp(o.bind, "127.0.0.1")) ? local : url;
    struct sk_ctrlmgr_config cc = {.client = cm_client, .disabled = o.disable_controllers,
                                   .cluster_cidr = o.cluster_cidr,
                                   .node_monitor_grace_ms = o.node_grace_ms,
                                   .leader_elect = o.leader_elect, .identity = identity};
    {   /* join: a bootstrap token in DATA/join-token; csrsigning uses the cluster CA */
        struct sk_join_server js = {.data_dir = o.data_dir, .api_url = api_url, .ca_pem = ca,
                                    .admin_cert_pem = acert, .admin_key_pem = akey,
                                    .bind = o.bind, .advertise = o.advertise, .port = o.port};
        if (sk_join_server_setup(&js, &err) < 0) goto out;
        _sk_free_ char *p_cakey = sk_printf("%s/ca.key", pki);
        if (!(cakey = sk_read_file(p_cakey, NULL, &err))) goto out;
        cc.ca_cert_pem = ca;
        cc.ca_key_pem = cakey;
    }
    /* "all" runs no controller manager at all (e.g. to run it separately). */
    bool no_cm = o.disable_controllers && !strcmp(o.disable_controllers, "all");
    if (!no_cm) {
        if (!(cm_client = component_client(o.data_dir, api_url, ca,
                                           "system:kube-controller-manager", NULL, lapi, &err)))
            goto out;
        cc.client = cm_client;
        if (!(cm = sk_ctrlmgr_new(&cc, &err)) || sk_ctrlmgr_start(cm, &err) < 0) goto out;
    }
    if (!o.disable_scheduler) {
        if (!(sched_client = component_client(o.data_dir, api_url, ca, "system:kube-scheduler", NULL, lapi, &err)))
            goto out;
        struct sk_scheduler_config scfg = {.client = sched_client, .leader_elect = o.leader_elect,
                                           .identity = identity};
        if (!(sched = sk_scheduler_new(&scfg, &err)) || sk_scheduler_start(sched, &err) < 0) goto out;
    }
    if (o.hollow_nodes > 0) {
        if (!(node_client = component_client(o.data_dir, api_url, ca, "system:node:hollow",
                                             "system:nodes", lapi, &err)))
            goto out;
        struct sk_hollow_config hc = {.client = node_client, .name_prefix = "hollow",
                                      .count = (int)o.hollow_nodes,
                                      .pod_delay_ms = o.hollow_pod_delay_ms};
        if (!(hollow = sk_hollow_new(&hc, &err)) || sk_hollow_start(hollow, &err) < 0) goto out;
    }

    /* Cluster DNS with the control plane, on the node address, when this
     * server is also a node (port 53 needs root, as the agent does; API-only
     * servers, e.g. in tests, publish no kube-dns). */
    if (!o.disable_dns && run_agent) {
        if (!(dns_client = component_client(o.data_dir, api_url, ca, "system:kube-dns", NULL, lapi, &err)))
            goto out;
        struct sk_dns_config dc = {.client = dns_client, .advertise_ip = o.advertise,
                                   .service_ip = o.cluster_dns ? o.cluster_dns : "10.96.0.10"};
        /* --dns-upstream a,b or none (an empty list: other names get SERVFAIL) */
        char *ups[9] = {0};
        _sk_free_ char *up_copy = o.dns_upstream ? sk_strdup(o.dns_upstream) : NULL;
        if (up_copy) {
            size_t n = 0;
            for (char *save = NULL, *t = strtok_r(up_copy, ",", &save); t && n < 8;
                 t = strtok_r(NULL, ",", &save))
                if (strcmp(t, "none")) ups[n++] = t;
            dc.upstreams = (const char *const *)ups;
        }
        if (!(dns = sk_dns_new(&dc, &err)) || sk_dns_start(dns, &err) < 0) {
            sk_err_wrap(&err, "cluster DNS");
            goto out;
        }
        o.node.cluster_dns = dc.service_ip;
    }
    if (run_agent) {
        o.node.cluster_cidr = o.cluster_cidr;
        o.node.service_cidr = o.service_cidr;
        _sk_free_ char *cn = sk_printf("system:node:%s", o.node.node_name);
        if (!(agent_client = component_client(o.data_dir, api_url, ca, cn, "system:nodes", lapi, &err)))
            goto out;
        /* The agent serves with the API server's certificate: the API
         * server does not verify agents' serving certificates (upstream's
         * default without --kubelet-certificate-authority). */
        if (sk_cli_node_start(&node, &o.node, agent_client, cert, key, ca, &err) < 0) {
            sk_err_wrap(&err, "node agent");
            goto out;
        }
    }

    int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    struct signalfd_siginfo si;
    while (read(sfd, &si, sizeof si) < 0 && errno == EINTR) {
    }
    close(sfd);
    sk_log(SK_INFO, "server", "signal %u: shutting down", si.ssi_signo);
    rc = 0;
out:
    if (rc && err.msg[0]) fprintf(stderr, "skiff server: %s\n", err.msg);
    /* Clients first, so their watches end while the API is still up. */
    sk_hollow_free(hollow);
    sk_cli_node_stop(&node);
    sk_dns_free(dns);
    sk_client_free(dns_client);
    sk_scheduler_free(sched);
    sk_ctrlmgr_free(cm);
    sk_client_free(node_client);
    sk_client_free(agent_client);
    sk_client_free(sched_client);
    sk_client_free(cm_client);
    sk_apiserver_free(api);
    sk_store_free(st);
    free(ca);
    free(cert);
    free(key);
    free(acert);
    free(akey);
    sk_err_clear(&err);
    return rc;
}

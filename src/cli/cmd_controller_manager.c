/* skiff controller-manager: the controllers alone, against any API server
 * (kubeconfig), with Lease leader election so several instances can run. */
#include "cli/cli.h"
#include "controllers/controllers.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>

int sk_cmd_controller_manager(int argc, char **argv)
{
    static const struct option opts[] = {
        {"kubeconfig", required_argument, 0, 'k'},
        {"disable-controllers", required_argument, 0, 'd'},
        {"leader-elect", optional_argument, 0, 'l'},
        {"identity", required_argument, 0, 'i'},
        {"node-monitor-grace-period", required_argument, 0, 'g'},
        {"cluster-cidr", required_argument, 0, 'c'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *kubeconfig = NULL, *disabled = NULL, *identity = NULL, *cidr = "10.244.0.0/16";
    bool leader = true;
    int64_t grace = 50000;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'k': kubeconfig = optarg; break;
        case 'd': disabled = optarg; break;
        case 'i': identity = optarg; break;
        case 'c': cidr = optarg; break;
        case 'l': leader = !optarg || !strcmp(optarg, "true"); break;
        case 'g':
            if (sk_parse_duration_ms("--node-monitor-grace-period", optarg, &grace) < 0) return 2;
            break;
        case 'h':
            printf("usage: skiff controller-manager --kubeconfig FILE [--leader-elect=BOOL] "
                   "[--identity ID] [--disable-controllers L] [--node-monitor-grace-period D] "
                   "[--cluster-cidr CIDR]\n");
            return 0;
        default: return 2;
        }
    }
    if (!kubeconfig) {
        fprintf(stderr, "skiff controller-manager: --kubeconfig is required\n");
        return 2;
    }
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    char host[200] = "skiff";
    gethostname(host, sizeof host - 1);
    _sk_free_ char *id = identity ? sk_strdup(identity) : sk_printf("%s_%d", host, (int)getpid());
    sk_err err = SK_ERR_INIT;
    int rc = 1;
    sk_ctrlmgr *m = NULL;
    sk_client *cl = sk_client_from_kubeconfig(kubeconfig, "skiff-controller-manager", &err);
    if (!cl) goto out;
    struct sk_ctrlmgr_config cfg = {.client = cl, .disabled = disabled, .cluster_cidr = cidr,
                                    .node_monitor_grace_ms = grace, .leader_elect = leader,
                                    .identity = id};
    if (!(m = sk_ctrlmgr_new(&cfg, &err)) || sk_ctrlmgr_start(m, &err) < 0) goto out;
    sk_log(SK_INFO, "controller-manager", "started as %s", id);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    struct signalfd_siginfo si;
    while (read(sfd, &si, sizeof si) < 0 && errno == EINTR) {
    }
    close(sfd);
    rc = 0;
out:
    if (rc) fprintf(stderr, "skiff controller-manager: %s\n", err.msg);
    sk_ctrlmgr_free(m);
    sk_client_free(cl);
    sk_err_clear(&err);
    return rc;
}

/* The node part of `skiff server` and `skiff agent`: the container
 * runtime and image store are opened before the process starts any thread
 * (sk_rt_init changes the process's mount namespace; the image store
 * initialises libcurl), the agent itself once a client exists. */
#include "cli/cli.h"
#include "kubelet/kubelet.h"
#include "network/proxy/proxy.h"
#include "runtime/image/image.h"
#include "runtime/runtime.h"

#include <ctype.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Built-in sample binaries: next to the binary (build tree) or in
 * PREFIX/lib/skiff/samples (installed). */
static char *find_samples_dir(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return NULL;
    exe[n] = 0;
    const char *dir = dirname(exe);
    const char *cands[] = {"samples", "../lib/skiff/samples"};
    for (size_t i = 0; i < SK_ARRAY_LEN(cands); i++) {
        _sk_free_ char *d = sk_printf("%s/%s", dir, cands[i]);
        _sk_free_ char *hello = sk_printf("%s/hello", d);
        if (access(hello, X_OK) == 0) return SK_TAKE(d);
    }
    return NULL;
}

void sk_cli_default_node_name(char *out, size_t n)
{
    char host[256] = "skiff";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = 0;
    /* Node names are DNS subdomains: lowercase. */
    size_t i = 0;
    for (; host[i] && i + 1 < n; i++) out[i] = (char)tolower((unsigned char)host[i]);
    out[i] = 0;
}

void sk_cli_node_rt_paths(const char *data_dir, char **root, char **netns)
{
    *root = sk_printf("%s/agent/runtime", data_dir);
    *netns = sk_printf("%s/run/netns", *root);
}

int sk_cli_node_prepare(struct sk_cli_node *nd, const struct sk_cli_node_opts *o, sk_err *err)
{
    memset(nd, 0, sizeof *nd);
    _sk_free_ char *root = NULL, *netns = NULL;
    sk_cli_node_rt_paths(o->data_dir, &root, &netns);
    struct sk_rt_config rc = {.root_dir = root, .netns_dir = netns,
                              .cgroup_parent = o->cgroup_parent};
    nd->rt = sk_rt_init(&rc, err);
    if (!nd->rt) return -1;
    if (sk_rt_warning(nd->rt)[0]) sk_log(SK_WARN, "node", "%s", sk_rt_warning(nd->rt));
    nd->images = sk_image_store_open(o->data_dir, err);
    if (!nd->images) {
        sk_rt_free(nd->rt);
        nd->rt = NULL;
        return -1;
    }
    return 0;
}

int sk_cli_node_start(struct sk_cli_node *nd, const struct sk_cli_node_opts *o, sk_client *c,
                      const char *cert_pem, const char *key_pem, const char *client_ca_pem,
                      sk_err *err)
{
    _sk_free_ char *samples = NULL;
    if (!o->no_builtin_images) {
        samples = o->samples_dir ? sk_strdup(o->samples_dir) : find_samples_dir();
        if (!samples)
            sk_log(SK_WARN, "node", "built-in sample images not found next to the binary; "
                                    "pass --samples-dir");
    }
    _sk_free_ char *agent_dir = sk_printf("%s/agent", o->data_dir);
    struct sk_agent_config ac = {.client = c, .rt = nd->rt, .images = nd->images,
                                 .node_name = o->node_name, .data_dir = agent_dir,
                                 .node_ip = o->node_ip, .samples_dir = samples,
                                 .port = o->agent_port, .serving_cert_pem = cert_pem,
                                 .serving_key_pem = key_pem, .client_ca_pem = client_ca_pem,
                                 .cluster_dns = o->cluster_dns,
                                 .control_plane = o->control_plane};
    nd->agent = sk_agent_new(&ac, err);
    if (!nd->agent || sk_agent_start(nd->agent, err) < 0) return -1;
    if (o->no_proxy) return 0;
    /* Every node runs its own service proxy (our kube-proxy). */
    struct sk_proxy_config pc = {.client = c, .node_name = o->node_name,
                                 .cluster_cidr = o->cluster_cidr ? o->cluster_cidr : "10.244.0.0/16",
                                 .service_cidr = o->service_cidr ? o->service_cidr : "10.96.0.0/12"};
    const char *ips[] = {o->node_ip, NULL};
    if (o->node_ip) pc.node_ips = ips;
    nd->proxy = sk_proxy_new(&pc, err);
    if (!nd->proxy || sk_proxy_start(nd->proxy, err) < 0) return sk_err_wrap(err, "service proxy");
    return 0;
}

void sk_cli_node_stop(struct sk_cli_node *nd)
{
    sk_proxy_free(nd->proxy); /* its rules stay: services keep working across restarts */
    nd->proxy = NULL;
    sk_agent_free(nd->agent);
    nd->agent = NULL;
    sk_image_store_free(nd->images);
    nd->images = NULL;
    sk_rt_free(nd->rt);
    nd->rt = NULL;
}

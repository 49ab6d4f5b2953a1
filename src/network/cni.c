/* Pod networking through CNI plugins, following the CNI 1.0 spec's runtime
 * side: a conflist (bridge + host-local, then portmap), ADD in order with
 * prevResult chaining, DEL in reverse with the cached final result, CHECK in
 * order.
 *
 * Crash safety: a "pending" cache entry (config, CNI_ARGS, port mappings, no
 * result) is written before the first plugin runs, and the result is added
 * after the last one. So whatever the agent was doing when it died, DEL finds
 * what it needs, and sk_net_gc finds every pod that may hold an IP: those
 * with a cache entry and those named in a host-local lease file. */
#include "network/cni_int.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#define MAX_PORTS 256
#define MAX_PLUGINS 16
#define MAX_CACHE_BYTES (1u << 20)
#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

struct sk_net {
    char *name, *bridge, *plugin_dir;
    char *conf_dir, *ipam_dir, *results_dir;
    int netns_fd; /* node netns, -1 = caller's */
    int timeout_ms;
    struct sk_cni_cidr cidr;
    json_t *conflist;
};

static const char *const needed_plugins[] = {"loopback", "bridge", "host-local", "portmap"};

/* ---- configuration --------------------------------------------------------- */

static bool name_ok(const char *s, size_t max)
{
    size_t len = s ? strlen(s) : 0;
    if (len == 0 || len > max || s[0] == '.' || s[0] == '-') return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == len;
}

static json_t *build_conflist(const sk_net *n, int mtu)
{
    bool v4 = n->cidr.family == AF_INET;
    _sk_free_ char *subnet = sk_printf("%s/%d", n->cidr.network, n->cidr.prefix);
    json_t *ipam = json_pack("{s:s, s:[[{s:s, s:s}]], s:[{s:s}], s:s}", "type", "host-local",
                             "ranges", "subnet", subnet, "gateway", n->cidr.gateway, "routes",
                             "dst", v4 ? "0.0.0.0/0" : "::/0", "dataDir", n->ipam_dir);
    /* ipMasq stays off: masquerade of traffic leaving the pod network is the
     * service proxy's job (one nftables table, not CNI's iptables chains). */
    json_t *bridge = json_pack("{s:s, s:s, s:b, s:b, s:b, s:o}", "type", "bridge", "bridge",
                               n->bridge, "isGateway", 1, "ipMasq", 0, "hairpinMode", 1, "ipam", ipam);
    if (mtu > 0) json_object_set_new(bridge, "mtu", json_integer(mtu));
    json_t *portmap = json_pack("{s:s, s:{s:b}, s:b}", "type", "portmap", "capabilities",
                                "portMappings", 1, "snat", 1);
    return json_pack("{s:s, s:s, s:[o, o]}", "cniVersion", SK_CNI_VERSION, "name", n->name,
                     "plugins", bridge, portmap);
}

static int open_node_netns(sk_net *n, const char *path, sk_err *err)
{
    n->netns_fd = -1;
    if (!path) return 0;
    n->netns_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (n->netns_fd < 0) return sk_err_sys(err, "open node netns %s", path);
    struct statfs st;
    if (fstatfs(n->netns_fd, &st) < 0 || (unsigned long)st.f_type != NSFS_MAGIC)
        return sk_err_set(err, SK_EINVALID, "%s is not a network namespace", path);
    return 0;
}

static int write_conflist(const sk_net *n, sk_err *err)
{
    _sk_free_ char *path = sk_printf("%s/10-%s.conflist", n->conf_dir, n->name);
    _sk_free_ char *text = json_dumps(n->conflist, JSON_INDENT(2));
    if (!text) return sk_err_set(err, SK_EINTERNAL, "encode conflist");
    return sk_write_file(path, text, strlen(text), 0644, err);
}

sk_net *sk_net_new(const struct sk_net_config *cfg, sk_err *err)
{
    if (!cfg || !cfg->data_dir || !*cfg->data_dir) {
        sk_err_set(err, SK_EINVALID, "cni: data_dir is required");
        return NULL;
    }
    const char *name = cfg->name ? cfg->name : "skiff";
    const char *bridge = cfg->bridge ? cfg->bridge : "cni0";
    if (!name_ok(name, 64) || !name_ok(bridge, 15)) {
        sk_err_set(err, SK_EINVALID, "cni: invalid network or bridge name \"%s\"/\"%s\"", name, bridge);
        return NULL;
    }
    sk_net *n = sk_calloc(1, sizeof *n);
    n->name = sk_strdup(name);
    n->bridge = sk_strdup(bridge);
    n->plugin_dir = sk_strdup(cfg->plugin_dir ? cfg->plugin_dir : "/usr/lib/cni");
    n->conf_dir = sk_printf("%s/cni/net.d", cfg->data_dir);
    const char *state = cfg->state_dir && *cfg->state_dir ? cfg->state_dir : cfg->data_dir;
    n->ipam_dir = sk_printf("%s/cni/ipam", state);
    n->results_dir = sk_printf("%s/cni/results", state);
    n->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 30000;
    if (open_node_netns(n, cfg->netns_path, err) < 0 || sk_cni_parse_cidr(cfg->pod_cidr, &n->cidr, err) < 0)
        goto fail;
    for (size_t i = 0; i < SK_ARRAY_LEN(needed_plugins); i++) {
        _sk_free_ char *p = sk_printf("%s/%s", n->plugin_dir, needed_plugins[i]);
        if (access(p, X_OK) < 0) {
            sk_err_set(err, SK_ENOTFOUND, "cni plugin %s not found (install containernetworking-plugins)", p);
            goto fail;
        }
    }
    if (sk_mkdir_p(n->conf_dir, 0755, err) < 0 || sk_mkdir_p(n->ipam_dir, 0700, err) < 0 ||
        sk_mkdir_p(n->results_dir, 0700, err) < 0)
        goto fail;
    n->conflist = build_conflist(n, cfg->mtu);
    if (!n->conflist) {
        sk_err_set(err, SK_EINTERNAL, "cni: build conflist");
        goto fail;
    }
    if (write_conflist(n, err) < 0) goto fail;
    return n;
fail:
    sk_net_free(n);
    return NULL;
}

void sk_net_free(sk_net *n)
{
    if (!n) return;
    if (n->netns_fd >= 0) close(n->netns_fd);
    json_decref(n->conflist);
    free(n->name);
    free(n->bridge);
    free(n->plugin_dir);
    free(n->conf_dir);
    free(n->ipam_dir);
    free(n->results_dir);
    free(n);
}

const json_t *sk_net_conflist(const sk_net *n) { return n->conflist; }

/* ---- per-pod inputs ---------------------------------------------------------- */

static bool arg_ok(const char *v)
{
    return !v || (strlen(v) <= 253 && strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                "0123456789_.-") == strlen(v));
}

/* CNI_ARGS as kubelet's dockershim/containerd pass them; IgnoreUnknown
 * keeps plugins that do not know a key from failing. */
static char *build_args(const char *id, const struct sk_net_pod_opts *o, sk_err *err)
{
    const char *ns = o ? o->k8s_namespace : NULL, *nm = o ? o->k8s_name : NULL;
    const char *uid = o ? o->k8s_uid : NULL;
    if (!arg_ok(ns) || !arg_ok(nm) || !arg_ok(uid)) {
        sk_err_set(err, SK_EINVALID, "cni: pod namespace/name/uid has characters CNI_ARGS cannot carry");
        return NULL;
    }
    sk_buf b = SK_BUF_INIT;
    sk_buf_adds(&b, "IgnoreUnknown=1");
    if (ns && *ns) sk_buf_addf(&b, ";K8S_POD_NAMESPACE=%s", ns);
    if (nm && *nm) sk_buf_addf(&b, ";K8S_POD_NAME=%s", nm);
    sk_buf_addf(&b, ";K8S_POD_INFRA_CONTAINER_ID=%s", id);
    if (uid && *uid) sk_buf_addf(&b, ";K8S_POD_UID=%s", uid);
    return sk_buf_take(&b);
}

static json_t *build_ports(const struct sk_net_pod_opts *o, sk_err *err)
{
    json_t *arr = json_array();
    size_t np = o ? o->n_ports : 0;
    if (np > MAX_PORTS) {
        json_decref(arr);
        sk_err_set(err, SK_EINVALID, "cni: %zu port mappings, at most %d", np, MAX_PORTS);
        return NULL;
    }
    for (size_t i = 0; i < np; i++) {
        const struct sk_net_port *p = &o->ports[i];
        const char *proto = p->protocol ? p->protocol : "tcp";
        unsigned char bin[16];
        bool ip_bad = p->host_ip && *p->host_ip && inet_pton(AF_INET, p->host_ip, bin) != 1 &&
                      inet_pton(AF_INET6, p->host_ip, bin) != 1;
        if (!p->host_port || !p->container_port || ip_bad ||
            (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))) {
            json_decref(arr);
            sk_err_set(err, SK_EINVALID, "cni: invalid port mapping %u->%u/%s", p->host_port,
                       p->container_port, proto);
            return NULL;
        }
        json_t *m = json_pack("{s:i, s:i, s:s}", "hostPort", (int)p->host_port, "containerPort",
                              (int)p->container_port, "protocol", proto);
        if (p->host_ip && *p->host_ip) json_object_set_new(m, "hostIP", json_string(p->host_ip));
        json_array_append_new(arr, m);
    }
    return arr;
}

/* ---- result cache ------------------------------------------------------------- */

static char *cache_path(const sk_net *n, const char *id) { return sk_printf("%s/%s", n->results_dir, id); }

/* NULL with SK_ENOTFOUND when absent; a corrupt entry is an error. */
static json_t *cache_load(const sk_net *n, const char *id, sk_err *err)
{
    _sk_free_ char *path = cache_path(n, id);
    struct stat st;
    if (stat(path, &st) < 0) {
        sk_err_sys(err, "cni cache %s", path);
        if (errno == ENOENT && err) err->code = SK_ENOTFOUND;
        return NULL;
    }
    if (st.st_size > (off_t)MAX_CACHE_BYTES) {
        sk_err_set(err, SK_ETOOLARGE, "cni cache %s too large", path);
        return NULL;
    }
    size_t len;
    _sk_free_ char *text = sk_read_file(path, &len, err);
    if (!text) return NULL;
    json_error_t je;
    json_t *c = json_loadb(text, len, 0, &je);
    if (!json_is_object(c) || !json_is_object(json_object_get(c, "config"))) {
        json_decref(c);
        sk_err_set(err, SK_EINTERNAL, "cni cache %s is corrupt", path);
        return NULL;
    }
    return c;
}

static int cache_store(const sk_net *n, const char *id, const json_t *c, sk_err *err)
{
    _sk_free_ char *path = cache_path(n, id);
    _sk_free_ char *text = json_dumps(c, JSON_COMPACT);
    if (!text) return sk_err_set(err, SK_EINTERNAL, "encode cni cache");
    return sk_write_file(path, text, strlen(text), 0600, err);
}

static int cache_drop(const sk_net *n, const char *id, sk_err *err)
{
    _sk_free_ char *path = cache_path(n, id);
    if (unlink(path) < 0 && errno != ENOENT) return sk_err_sys(err, "remove %s", path);
    return 0;
}

/* ---- running the chain -------------------------------------------------------- */

/* The execution config of one plugin of a list (spec: "Deriving execution
 * configuration"): its own keys plus the list's name and cniVersion, the
 * previous result, and runtimeConfig for the capabilities it declares. */
static char *plugin_conf(const json_t *list, const json_t *plugin, const json_t *prev,
                         const json_t *ports, size_t *len)
{
    _sk_json_ json_t *c = json_deep_copy(plugin);
    json_object_set(c, "cniVersion", json_object_get(list, "cniVersion"));
    json_object_set(c, "name", json_object_get(list, "name"));
    if (prev) json_object_set(c, "prevResult", (json_t *)prev);
    const json_t *caps = json_object_get(plugin, "capabilities");
    if (json_array_size(ports) > 0 && json_is_true(json_object_get(caps, "portMappings")))
        json_object_set(sk_json_obj(c, "runtimeConfig"), "portMappings", (json_t *)ports);
    char *s = json_dumps(c, JSON_COMPACT);
    *len = s ? strlen(s) : 0;
    return s;
}

struct attach {        /* what one pod's plugin calls share */
    const char *id;
    const char *netns; /* "" when gone (DEL only) */
    const char *ifname;
    const char *args;
    const json_t *list;  /* conflist */
    const json_t *ports; /* runtimeConfig.portMappings */
    bool no_loopback;    /* lo was up already: the loopback plugin is not run */
};

static int run_one(const sk_net *n, const struct attach *a, const char *cmd, const json_t *plugin,
                   const json_t *prev, json_t **result, sk_err *err)
{
    size_t len;
    _sk_free_ char *conf = plugin_conf(a->list, plugin, prev, a->ports, &len);
    if (!conf) return sk_err_set(err, SK_EINTERNAL, "encode cni config");
    struct sk_cni_call c = {
        .plugin_dir = n->plugin_dir, .type = sk_json_str(plugin, "type"), .command = cmd,
        .container_id = a->id, .netns = a->netns, .ifname = a->ifname, .args = a->args,
        .netns_fd = n->netns_fd, .timeout_ms = n->timeout_ms, .conf = conf, .conf_len = len,
    };
    json_t *dummy = NULL;
    int rc = sk_cni_exec(&c, result ? result : &dummy, err);
    json_decref(dummy);
    return rc;
}

static int loopback(const sk_net *n, const struct attach *a, const char *cmd, sk_err *err)
{
    _sk_json_ json_t *list = json_pack("{s:s, s:s}", "cniVersion", SK_CNI_VERSION, "name", "cni-loopback");
    _sk_json_ json_t *plugin = json_pack("{s:s}", "type", "loopback");
    struct attach lo = {.id = a->id, .netns = a->netns, .ifname = "lo", .args = a->args, .list = list};
    return run_one(n, &lo, cmd, plugin, NULL, NULL, err);
}

static const json_t *plugins_of(const json_t *list, sk_err *err)
{
    const json_t *p = json_object_get(list, "plugins");
    size_t np = json_array_size(p);
    if (!json_is_array(p) || np == 0 || np > MAX_PLUGINS) {
        sk_err_set(err, SK_EINTERNAL, "cni config has no usable plugins list");
        return NULL;
    }
    return p;
}

/* DEL of everything, last plugin first. Keeps going past failures (each
 * plugin frees its own part) and reports the first. */
static int teardown(const sk_net *n, const struct attach *a, const json_t *prev, sk_err *err)
{
    const json_t *plugins = plugins_of(a->list, err);
    if (!plugins) return -1;
    int rc = 0;
    for (size_t i = json_array_size(plugins); i-- > 0;) {
        sk_err e = SK_ERR_INIT;
        if (run_one(n, a, "DEL", json_array_get(plugins, i), prev, NULL, &e) < 0 && rc == 0) {
            if (err) *err = e;
            rc = -1;
        }
    }
    /* Without a netns there is no lo to reset, and nothing else to free. */
    if (*a->netns && !a->no_loopback) {
        sk_err e = SK_ERR_INIT;
        if (loopback(n, a, "DEL", &e) < 0 && rc == 0) {
            if (err) *err = e;
            rc = -1;
        }
    }
    return rc;
}

/* Fills a from a cache entry; strings are borrowed from it. */
static void attach_from_cache(struct attach *a, const char *id, const json_t *cache,
                              const char *netns_arg)
{
    const char *cached_ns = sk_json_str(cache, "netns");
    const char *ns = netns_arg && *netns_arg ? netns_arg : cached_ns;
    a->id = id;
    a->netns = sk_net_netns_exists(ns) ? ns : "";
    a->ifname = sk_json_str(cache, "ifName") ? sk_json_str(cache, "ifName") : "eth0";
    a->args = sk_json_str(cache, "cniArgs");
    a->list = json_object_get(cache, "config");
    a->ports = json_object_get(cache, "portMappings");
    a->no_loopback = json_is_true(json_object_get(cache, "skiffNoLoopback"));
}

static int chain_add(const sk_net *n, const struct attach *a, json_t **result, sk_err *err)
{
    const json_t *plugins = plugins_of(a->list, err);
    if (!plugins) return -1;
    if (!a->no_loopback && loopback(n, a, "ADD", err) < 0) return -1;
    json_t *prev = NULL;
    for (size_t i = 0; i < json_array_size(plugins); i++) {
        json_t *res = NULL;
        int rc = run_one(n, a, "ADD", json_array_get(plugins, i), prev, &res, err);
        json_decref(prev);
        prev = res;
        if (rc < 0) return -1;
        if (!prev)
            return sk_err_set(err, SK_EINTERNAL, "cni %s ADD returned no result",
                              sk_json_str(json_array_get(plugins, i), "type"));
    }
    *result = prev;
    return 0;
}

/* ---- public pod operations ------------------------------------------------------ */

static int check_id(const char *id, sk_err *err)
{
    if (!sk_cni_id_ok(id))
        return sk_err_set(err, SK_EINVALID, "invalid pod id \"%.64s\" for CNI", id ? id : "");
    return 0;
}

/* A pending entry (a crash mid-ADD) or a corrupt one is torn down before a
 * new ADD; a completed one means the caller lost track of the pod. */
static int clear_stale(sk_net *n, const char *id, sk_err *err)
{
    sk_err e = SK_ERR_INIT;
    _sk_json_ json_t *old = cache_load(n, id, &e);
    if (!old && e.code == SK_ENOTFOUND) return 0;
    const json_t *result = json_object_get(old, "result");
    if (!result) return sk_net_pod_del(n, id, NULL, err);
    struct sk_net_result r;
    if (sk_cni_parse_result(result, n->bridge, NULL, &r, NULL) < 0) snprintf(r.ip, sizeof r.ip, "?");
    return sk_err_set(err, SK_EEXIST, "pod %s already has a network attachment (ip %s)", id, r.ip);
}

int sk_net_pod_add(sk_net *n, const char *pod_id, const char *netns_path,
                   const struct sk_net_pod_opts *opts, struct sk_net_result *res, sk_err *err)
{
    if (check_id(pod_id, err) < 0) return -1;
    if (!sk_net_netns_exists(netns_path))
        return sk_err_set(err, SK_EINVALID, "pod %s: %s is not a network namespace", pod_id,
                          netns_path ? netns_path : "(null)");
    _sk_free_ char *args = build_args(pod_id, opts, err);
    _sk_json_ json_t *ports = args ? build_ports(opts, err) : NULL;
    if (!ports || clear_stale(n, pod_id, err) < 0) return -1;

    /* A private copy of the config: other threads read n->conflist. Each
     * plugin is a process start (tens of ms under load), so a pod without
     * hostPorts skips portmap, which would do nothing for it; the cached
     * copy makes DEL and CHECK replay exactly this chain. */
    json_t *conf = json_deep_copy(n->conflist);
    if (json_array_size(ports) == 0) {
        json_t *pl = json_object_get(conf, "plugins");
        for (size_t i = json_array_size(pl); i-- > 0;)
            if (!strcmp(sk_json_str(json_array_get(pl, i), "type") ?: "", "portmap"))
                json_array_remove(pl, i);
    }
    _sk_json_ json_t *cache = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:O, s:b}", "kind",
                                        "cniCacheV1", "containerId", pod_id, "ifName", "eth0",
                                        "networkName", n->name, "netns", netns_path, "cniArgs", args,
                                        "config", conf, "portMappings", ports, "skiffNoLoopback",
                                        opts && opts->lo_up);
    if (cache_store(n, pod_id, cache, err) < 0) return sk_err_wrap(err, "pod %s", pod_id);
    struct attach a;
    attach_from_cache(&a, pod_id, cache, netns_path);

    json_t *result = NULL;
    int rc = chain_add(n, &a, &result, err);
    if (rc == 0) {
        json_object_set_new(cache, "result", result);
        rc = sk_cni_parse_result(result, n->bridge, a.ifname, res, err);
        if (rc == 0) rc = cache_store(n, pod_id, cache, err);
    }
    if (rc < 0) {
        /* Undo the partial attachment so the IP and rules do not leak. */
        sk_err e = SK_ERR_INIT;
        if (teardown(n, &a, json_object_get(cache, "result"), &e) == 0) cache_drop(n, pod_id, NULL);
        return sk_err_wrap(err, "pod %s network", pod_id);
    }
    return 0;
}

/* host-local names each lease file after the IP and writes the owner's
 * container id on its first line. Calls fn(id) for each; stops when fn
 * returns true and returns true then. */
static bool each_lease(const sk_net *n, bool (*fn)(const char *id, void *ctx), void *ctx)
{
    _sk_free_ char *dir = sk_printf("%s/%s", n->ipam_dir, n->name);
    DIR *d = opendir(dir);
    if (!d) return false;
    bool stop = false;
    struct dirent *de;
    while (!stop && (de = readdir(d))) {
        unsigned char bin[16];
        if (inet_pton(AF_INET, de->d_name, bin) != 1 && inet_pton(AF_INET6, de->d_name, bin) != 1)
            continue;
        char buf[160] = {0};
        int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        ssize_t r = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (r <= 0) continue;
        buf[strcspn(buf, "\r\n")] = 0;
        if (sk_cni_id_ok(buf)) stop = fn(buf, ctx);
    }
    closedir(d);
    return stop;
}

static bool id_equal(const char *id, void *ctx) { return !strcmp(id, (const char *)ctx); }

int sk_net_pod_del(sk_net *n, const char *pod_id, const char *netns_path, sk_err *err)
{
    if (check_id(pod_id, err) < 0) return -1;
    sk_err e = SK_ERR_INIT;
    _sk_json_ json_t *cache = cache_load(n, pod_id, &e);
    if (!cache) {
        /* Unknown pod: nothing to do unless IPAM still has a lease for it
         * (cache lost or corrupt); then DEL with today's config. */
        if (!each_lease(n, id_equal, (void *)pod_id))
            return e.code == SK_ENOTFOUND ? 0 : cache_drop(n, pod_id, err);
        cache = json_pack("{s:o}", "config", json_deep_copy(n->conflist));
    }
    struct attach a;
    attach_from_cache(&a, pod_id, cache, netns_path);
    if (teardown(n, &a, json_object_get(cache, "result"), err) < 0)
        return sk_err_wrap(err, "pod %s network teardown", pod_id);
    return cache_drop(n, pod_id, err);
}

int sk_net_pod_check(sk_net *n, const char *pod_id, const char *netns_path, sk_err *err)
{
    if (check_id(pod_id, err) < 0) return -1;
    _sk_json_ json_t *cache = cache_load(n, pod_id, err);
    if (!cache) return -1;
    const json_t *result = json_object_get(cache, "result");
    if (!result) return sk_err_set(err, SK_ENOTFOUND, "pod %s: network ADD never completed", pod_id);
    struct attach a;
    attach_from_cache(&a, pod_id, cache, netns_path);
    if (!*a.netns) return sk_err_set(err, SK_ENOTFOUND, "pod %s: network namespace is gone", pod_id);
    const json_t *plugins = plugins_of(a.list, err);
    if (!plugins || loopback(n, &a, "CHECK", err) < 0) return -1;
    for (size_t i = 0; i < json_array_size(plugins); i++) {
        const json_t *p = json_array_get(plugins, i);
        /* portmap 1.1.1 CHECKs its chain in both iptables families and so
         * fails for every single-stack pod with hostPorts; skip it. */
        if (!strcmp(sk_json_str(p, "type") ? sk_json_str(p, "type") : "", "portmap")) continue;
        if (run_one(n, &a, "CHECK", p, result, NULL, err) < 0) return sk_err_wrap(err, "pod %s", pod_id);
    }
    return 0;
}

int sk_net_pod_result(sk_net *n, const char *pod_id, struct sk_net_result *res, sk_err *err)
{
    if (check_id(pod_id, err) < 0) return -1;
    _sk_json_ json_t *cache = cache_load(n, pod_id, err);
    if (!cache) return -1;
    const json_t *result = json_object_get(cache, "result");
    if (!result) return sk_err_set(err, SK_ENOTFOUND, "pod %s: network ADD never completed", pod_id);
    return sk_cni_parse_result(result, n->bridge, sk_json_str(cache, "ifName"), res, err);
}

/* ---- garbage collection ----------------------------------------------------------- */

static bool gc_add(const char *id, void *set)
{
    json_object_set_new(set, id, json_true());
    return false;
}

int sk_net_gc(sk_net *n, const char *const *live, size_t n_live, size_t *n_removed, sk_err *err)
{
    json_t *set = json_object();
    DIR *d = opendir(n->results_dir);
    if (d) {
        struct dirent *de;
        /* Dots are legal in ids, so sk_write_file's leftovers ("ID.tmp.PID")
         * are recognised by their marker. */
        while ((de = readdir(d)))
            if (sk_cni_id_ok(de->d_name) && !strstr(de->d_name, ".tmp.")) gc_add(de->d_name, set);
        closedir(d);
    }
    each_lease(n, gc_add, set);
    for (size_t i = 0; i < n_live; i++)
        if (live[i]) json_object_del(set, live[i]);
    size_t removed = 0;
    int rc = 0;
    const char *id;
    json_t *v;
    json_object_foreach(set, id, v) {
        sk_err e = SK_ERR_INIT;
        if (sk_net_pod_del(n, id, NULL, &e) == 0) {
            removed++;
        } else if (rc == 0) {
            if (err) *err = e;
            rc = -1;
        }
    }
    json_decref(set);
    if (n_removed) *n_removed = removed;
    return rc;
}

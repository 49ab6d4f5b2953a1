/* The agent's Node: machine facts (CPUs, memory, disk, kernel, OS image,
 * ids), registration with the kubelet's labels and status, the Lease in
 * kube-node-lease, periodic status heartbeats and image GC on one thread,
 * and the pod network once the node lifecycle controller has given the
 * Node a podCIDR. Registration and heartbeats follow hollow.c; the status
 * is written with strategic merge patches of nodes/status as the kubelet
 * does. */
#include "kubelet/agent_core.h"
#include "kubelet/lease_int.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <time.h>

#define LEASE_NS "kube-node-lease"
#define LEASE_SECONDS 40
#define IMAGE_GC_MS (5 * 60 * 1000)
#define NODE_IMAGES_MAX 50
#define EVICTION_MEMORY_KI 102400 /* evictionHard memory.available<100Mi */

struct sk_ag_node {
    char ip[64];
    char kernel[128], os_image[256], arch[16], machine_id[64], boot_id[64], system_uuid[64];
    long long cpus, mem_ki, disk_bytes;
    char uid[64];
    json_t *lease;
    json_t *images; /* what we last posted */
    char cidr_failed[64];
    bool was_ready; /* Ready=True before we (re)registered */
};

static const struct {
    const char *type, *status, *reason, *message;
} node_conds[] = {
    {"MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"},
    {"DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"},
    {"PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"},
    {"Ready", "True", "KubeletReady", "kubelet is posting ready status"},
};

/* ---- machine facts ------------------------------------------------------------------ */

static void read_line(const char *path, char *out, size_t n)
{
    sk_err e = SK_ERR_INIT;
    _sk_free_ char *text = sk_read_file(path, NULL, &e);
    sk_err_clear(&e);
    out[0] = 0;
    if (!text) return;
    size_t len = strcspn(text, "\r\n");
    snprintf(out, n, "%.*s", (int)len, text);
}

static void os_image(char *out, size_t n)
{
    sk_err e = SK_ERR_INIT;
    _sk_free_ char *text = sk_read_file("/etc/os-release", NULL, &e);
    sk_err_clear(&e);
    snprintf(out, n, "Linux");
    const char *p = text ? strstr(text, "PRETTY_NAME=") : NULL;
    if (!p || (p != text && p[-1] != '\n')) return;
    p += strlen("PRETTY_NAME=");
    char q = *p == '"' || *p == '\'' ? *p++ : 0;
    size_t len = q ? strcspn(p, (char[]){q, '\n', 0}) : strcspn(p, "\n");
    if (len) snprintf(out, n, "%.*s", (int)len, p);
}

static long long meminfo_ki(void)
{
    sk_err e = SK_ERR_INIT;
    _sk_free_ char *text = sk_read_file("/proc/meminfo", NULL, &e);
    sk_err_clear(&e);
    long long kb = 0;
    const char *p = text ? strstr(text, "MemTotal:") : NULL;
    if (p) sscanf(p, "MemTotal: %lld", &kb);
    return kb;
}

static void gather_facts(sk_agent *a, struct sk_ag_node *n)
{
    if (a->node_ip) snprintf(n->ip, sizeof n->ip, "%s", a->node_ip);
    else sk_net_node_ip(a->node_netns, a->cni_bridge ? a->cni_bridge : "cni0", n->ip, sizeof n->ip);
    struct utsname u;
    if (uname(&u) == 0) {
        snprintf(n->kernel, sizeof n->kernel, "%s", u.release);
        snprintf(n->arch, sizeof n->arch, "%s",
                 !strcmp(u.machine, "x86_64") ? "amd64" : !strcmp(u.machine, "aarch64") ? "arm64" : u.machine);
    }
    os_image(n->os_image, sizeof n->os_image);
    read_line("/etc/machine-id", n->machine_id, sizeof n->machine_id);
    read_line("/proc/sys/kernel/random/boot_id", n->boot_id, sizeof n->boot_id);
    read_line("/sys/class/dmi/id/product_uuid", n->system_uuid, sizeof n->system_uuid);
    if (!n->system_uuid[0]) snprintf(n->system_uuid, sizeof n->system_uuid, "%s", n->machine_id);
    n->cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (n->cpus < 1) n->cpus = 1;
    n->mem_ki = meminfo_ki();
    struct statvfs vfs;
    if (statvfs(a->data_dir, &vfs) == 0) n->disk_bytes = (long long)vfs.f_blocks * (long long)vfs.f_frsize;
}

const char *sk_ag_node_ip(sk_agent *a) { return a->node && a->node->ip[0] ? a->node->ip : "127.0.0.1"; }

/* ---- objects ------------------------------------------------------------------------------- */

static json_t *resources(sk_agent *a, bool allocatable)
{
    struct sk_ag_node *n = a->node;
    char cpu[32], mem[32], pods[32], disk[32];
    snprintf(cpu, sizeof cpu, "%lld", n->cpus);
    long long mem_ki = allocatable && n->mem_ki > EVICTION_MEMORY_KI ? n->mem_ki - EVICTION_MEMORY_KI : n->mem_ki;
    snprintf(mem, sizeof mem, "%lldKi", mem_ki);
    snprintf(pods, sizeof pods, "%d", a->max_pods);
    if (allocatable) snprintf(disk, sizeof disk, "%lld", n->disk_bytes / 10 * 9); /* nodefs.available<10% */
    else snprintf(disk, sizeof disk, "%lldKi", n->disk_bytes / 1024);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "cpu", cpu, "memory", mem, "pods", pods,
                     "ephemeral-storage", disk, "hugepages-1Gi", "0", "hugepages-2Mi", "0");
}

static json_t *conditions(const json_t *cur, const char *now)
{
    json_t *out = json_array();
    for (size_t i = 0; i < SK_ARRAY_LEN(node_conds); i++) {
        const char *since = NULL;
        json_t *c;
        size_t j;
        json_array_foreach(sk_json_path(cur, "status.conditions"), j, c) {
            const char *t = sk_json_str(c, "type"), *s = sk_json_str(c, "status");
            if (t && !strcmp(t, node_conds[i].type) && s && !strcmp(s, node_conds[i].status))
                since = sk_json_str(c, "lastTransitionTime");
        }
        json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", node_conds[i].type,
                                             "status", node_conds[i].status, "lastHeartbeatTime", now,
                                             "lastTransitionTime", since ? since : now, "reason",
                                             node_conds[i].reason, "message", node_conds[i].message));
    }
    return out;
}

static int by_size_desc(const void *x, const void *y)
{
    const sk_image_info *a = x, *b = y;
    return a->size < b->size ? 1 : a->size > b->size ? -1 : 0;
}

/* status.images as the kubelet reports them: largest first, at most 50. */
static json_t *images_json(sk_agent *a)
{
    sk_image_info *v = NULL;
    size_t n = 0;
    sk_err e = SK_ERR_INIT;
    json_t *out = json_array();
    if (sk_image_list(a->images, &v, &n, &e) < 0) {
        sk_err_clear(&e);
        return out;
    }
    qsort(v, n, sizeof *v, by_size_desc);
    for (size_t i = 0; i < n && json_array_size(out) < NODE_IMAGES_MAX; i++) {
        json_t *names = json_array();
        sk_image_ref r;
        if (v[i].ref && sk_image_ref_parse(v[i].ref, &r, &e) == 0) {
            char *dig = sk_printf("%s/%s@%s", r.domain, r.path, v[i].manifest);
            json_array_append_new(names, json_string(dig));
            free(dig);
            sk_image_ref_release(&r);
        }
        sk_err_clear(&e);
        if (v[i].ref) json_array_append_new(names, json_string(v[i].ref));
        else json_array_append_new(names, json_string(v[i].id));
        json_array_append_new(out, json_pack("{s:o,s:I}", "names", names, "sizeBytes", (json_int_t)v[i].size));
    }
    sk_image_info_free(v, n);
    return out;
}

static json_t *node_status(sk_agent *a, const json_t *cur, const char *now)
{
    struct sk_ag_node *n = a->node;
    _sk_free_ char *runtime = sk_printf("crun://%s", sk_rt_version(a->rt));
    json_t *st = json_pack(
        "{s:o,s:o,s:o,s:[{s:s,s:s},{s:s,s:s}],s:{s:{s:i}},"
        "s:{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}}",
        "capacity", resources(a, false), "allocatable", resources(a, true), "conditions",
        conditions(cur, now), "addresses", "type", "InternalIP", "address", n->ip, "type", "Hostname",
        "address", a->node_name, "daemonEndpoints", "kubeletEndpoint", "Port",
        a->server_port > 0 ? a->server_port : 10250, "nodeInfo", "machineID", n->machine_id,
        "systemUUID", n->system_uuid, "bootID", n->boot_id, "kernelVersion", n->kernel, "osImage",
        n->os_image, "containerRuntimeVersion", runtime, "kubeletVersion", "v1.32.0",
        "kubeProxyVersion", "v1.32.0", "operatingSystem", "linux", "architecture", n->arch);
    json_t *imgs = images_json(a);
    json_decref(n->images);
    n->images = json_incref(imgs);
    json_object_set_new(st, "images", imgs);
    return st;
}

static json_t *node_object(sk_agent *a)
{
    const char *arch = a->node->arch;
    json_t *n = json_pack("{s:s,s:s,s:{s:s,s:{s:s,s:s,s:s,s:s,s:s},s:{s:s,s:s}},s:{}}", "apiVersion", "v1",
                     "kind", "Node", "metadata", "name", a->node_name, "labels", "beta.kubernetes.io/arch",
                     arch, "beta.kubernetes.io/os", "linux", "kubernetes.io/arch", arch,
                     "kubernetes.io/hostname", a->node_name, "kubernetes.io/os", "linux", "annotations",
                     "node.alpha.kubernetes.io/ttl", "0",
                     "volumes.kubernetes.io/controller-managed-attach-detach", "true", "spec");
    /* the server's own node, as kubeadm/k3s label theirs (kubectl's ROLES column) */
    if (n && a->control_plane)
        json_object_set_new(sk_json_obj(sk_json_obj(n, "metadata"), "labels"),
                            "node-role.kubernetes.io/control-plane", json_string(""));
    return n;
}

static json_t *node_ref(sk_agent *a)
{
    return json_pack("{s:s,s:s,s:{s:s,s:s}}", "apiVersion", "v1", "kind", "Node", "metadata", "name",
                     a->node_name, "uid", a->node_name);
}

static void node_events(sk_agent *a, bool was_ready)
{
    static const char *const st[] = {"NodeHasSufficientMemory", "NodeHasNoDiskPressure", "NodeHasSufficientPID"};
    _sk_json_ json_t *ref = node_ref(a);
    sk_event(a->rec, ref, "Normal", "Starting", "Starting kubelet.");
    for (size_t k = 0; k < SK_ARRAY_LEN(st); k++)
        sk_event(a->rec, ref, "Normal", st[k], "Node %s status is now: %s", a->node_name, st[k]);
    sk_event(a->rec, ref, "Normal", "NodeAllocatableEnforced", "Updated Node Allocatable limit across pods");
    if (!was_ready) sk_event(a->rec, ref, "Normal", "NodeReady", "Node %s status is now: NodeReady", a->node_name);
}

static bool ready_in(const json_t *node)
{
    size_t i;
    json_t *c;
    json_array_foreach(sk_json_path(node, "status.conditions"), i, c)
        if (!strcmp(sk_json_str(c, "type") ?: "", "Ready")) return !strcmp(sk_json_str(c, "status") ?: "", "True");
    return false;
}

static int patch_status(sk_agent *a, json_t *status, sk_err *err)
{
    _sk_json_ json_t *patch = json_pack("{s:o}", "status", status);
    json_t *res = sk_client_patch(a->client, a->nodes_res, NULL, a->node_name,
                                  "application/strategic-merge-patch+json", patch, "status", err);
    json_decref(res);
    return res ? 0 : -1;
}

static int register_node(sk_agent *a, sk_err *err)
{
    _sk_json_ json_t *body = node_object(a);
    json_t *cur = sk_client_create(a->client, a->nodes_res, NULL, body, err);
    if (!cur && err->code == SK_EEXIST) {
        sk_err_clear(err);
        _sk_json_ json_t *patch = json_pack("{s:O}", "metadata", json_object_get(body, "metadata"));
        cur = sk_client_patch(a->client, a->nodes_res, NULL, a->node_name,
                              "application/merge-patch+json", patch, NULL, err);
    }
    if (!cur) return sk_err_wrap(err, "register node %s", a->node_name);
    snprintf(a->node->uid, sizeof a->node->uid, "%s", sk_json_path_str(cur, "metadata.uid") ?: "");
    a->node->was_ready = ready_in(cur);
    char now[40];
    sk_time_format(sk_wall_ms() / 1000, now, sizeof now);
    int rc = patch_status(a, node_status(a, cur, now), err);
    sk_ag_node_seen(a, cur);
    json_decref(cur);
    return rc < 0 ? sk_err_wrap(err, "node %s status", a->node_name) : 0;
}

/* ---- lease and heartbeats ------------------------------------------------------------------ */

static int renew_lease(sk_agent *a, sk_err *err)
{
    return sk_kl_lease_renew(a->client, a->leases_res, a->node_name, a->node->uid, LEASE_SECONDS,
                             &a->node->lease, err);
}

static void heartbeat(sk_agent *a)
{
    char now[40];
    sk_time_format(sk_wall_ms() / 1000, now, sizeof now);
    _sk_json_ json_t *cur = sk_informer_get(a->node_inf, NULL, a->node_name);
    json_t *st = json_pack("{s:o}", "conditions", conditions(cur, now));
    json_t *imgs = images_json(a);
    if (!json_equal(imgs, a->node->images)) {
        json_decref(a->node->images);
        a->node->images = json_incref(imgs);
        json_object_set_new(st, "images", imgs);
    } else {
        json_decref(imgs);
    }
    sk_err err = SK_ERR_INIT;
    if (patch_status(a, st, &err) < 0 && err.code == SK_ENOTFOUND) {
        /* deleted behind our back: register again, as the kubelet does */
        sk_err_clear(&err);
        if (register_node(a, &err) == 0) node_events(a, a->node->was_ready);
    }
    if (err.code) sk_log(SK_WARN, "agent", "node %s: status: %s", a->node_name, err.msg);
    sk_err_clear(&err);
}

static void image_gc(sk_agent *a)
{
    char **in_use = sk_ag_images_in_use(a);
    char **removed = NULL;
    sk_err err = SK_ERR_INIT;
    if (sk_image_gc_disk(a->images, (const char *const *)in_use, (int)a->gc_high_pct,
                         (int)a->gc_low_pct, &removed, &err) < 0) {
        _sk_json_ json_t *ref = node_ref(a);
        sk_event(a->rec, ref, "Warning", "ImageGCFailed", "%s", err.msg);
        sk_log(SK_WARN, "agent", "image GC: %s", err.msg);
    }
    for (char **r = removed; r && *r; r++) sk_log(SK_INFO, "agent", "image GC removed %s", *r);
    sk_image_strv_free(removed);
    sk_image_strv_free(in_use);
    sk_err_clear(&err);
}

static bool wait_until(sk_agent *a, int64_t at)
{
    pthread_mutex_lock(&a->mu);
    int64_t d = at - sk_now_ms();
    if (d > 0 && !a->stop) {
        sk_cond_wait_ms(&a->cond, &a->mu, CLOCK_MONOTONIC, d);
    }
    bool stop = a->stop;
    pthread_mutex_unlock(&a->mu);
    return !stop;
}

static void *node_main(void *arg)
{
    sk_agent *a = arg;
    int64_t now = sk_now_ms();
    int64_t next_lease = now + a->lease_renew_ms, next_status = now + a->status_ms;
    int64_t next_gc = now + 60000; /* the first GC a minute after start */
    while (wait_until(a, next_lease < next_status ? (next_lease < next_gc ? next_lease : next_gc)
                                                  : (next_status < next_gc ? next_status : next_gc))) {
        now = sk_now_ms();
        if (now >= next_lease) {
            sk_err err = SK_ERR_INIT;
            if (renew_lease(a, &err) < 0) sk_log(SK_WARN, "agent", "node %s: lease: %s", a->node_name, err.msg);
            sk_err_clear(&err);
            next_lease = now + a->lease_renew_ms;
        }
        if (now >= next_status) {
            heartbeat(a);
            next_status = sk_now_ms() + a->status_ms;
        }
        sk_mem_trim(false); /* pages freed by past pod work, if the agent went quiet */
        if (now >= next_gc) {
            image_gc(a);
            next_gc = sk_now_ms() + IMAGE_GC_MS;
        }
    }
    return NULL;
}

/* ---- pod network ------------------------------------------------------------------------------ */

void sk_ag_node_seen(sk_agent *a, const json_t *node)
{
    const char *cidr = sk_json_path_str(node, "spec.podCIDR");
    if (!cidr || !*cidr || sk_ag_net(a)) return;
    /* sk_net keeps its conflist under DATA/cni, leases and results on the
     * runtime's state tmpfs (skiff cleanup looks at both) */
    struct sk_net_config nc = {.pod_cidr = cidr, .data_dir = a->data_dir,
                               .state_dir = a->rt ? sk_rt_state_dir(a->rt) : NULL, .bridge = a->cni_bridge,
                               .plugin_dir = a->cni_plugin_dir, .netns_path = a->node_netns};
    sk_err err = SK_ERR_INIT;
    sk_net *net = sk_net_new(&nc, &err);
    if (!net) {
        if (strcmp(a->node->cidr_failed, cidr))
            sk_log(SK_ERROR, "agent", "node %s: pod network for %s: %s", a->node_name, cidr, err.msg);
        snprintf(a->node->cidr_failed, sizeof a->node->cidr_failed, "%s", cidr);
        sk_err_clear(&err);
        return;
    }
    pthread_mutex_lock(&a->mu);
    bool set = !a->net;
    if (set) {
        a->net = net;
        snprintf(a->pod_cidr, sizeof a->pod_cidr, "%s", cidr);
    }
    bool started = a->started;
    pthread_mutex_unlock(&a->mu);
    if (!set) {
        sk_net_free(net);
        return;
    }
    sk_log(SK_INFO, "agent", "node %s: pod network %s ready", a->node_name, cidr);
    if (started) sk_ag_requeue_all(a);
}

/* ---- lifecycle ----------------------------------------------------------------------------------- */

int sk_ag_node_start(sk_agent *a, sk_err *err)
{
    a->node = sk_calloc(1, sizeof *a->node);
    gather_facts(a, a->node);
    if (register_node(a, err) < 0) return -1;
    if (renew_lease(a, err) < 0) return sk_err_wrap(err, "node %s: lease", a->node_name);
    node_events(a, a->node->was_ready);
    if (pthread_create(&a->node_thread, NULL, node_main, a) != 0)
        return sk_err_sys(err, "agent: heartbeat thread");
    a->node_thread_started = true;
    sk_log(SK_INFO, "agent", "node %s registered (InternalIP %s, %lld CPUs, %lld Ki memory)", a->node_name,
           a->node->ip, a->node->cpus, a->node->mem_ki);
    return 0;
}

void sk_ag_node_stop(sk_agent *a)
{
    if (!a->node_thread_started) return;
    pthread_join(a->node_thread, NULL); /* a->stop is set and broadcast by the caller */
    a->node_thread_started = false;
}

void sk_ag_node_free(sk_agent *a)
{
    if (!a->node) return;
    json_decref(a->node->lease);
    json_decref(a->node->images);
    free(a->node);
    a->node = NULL;
}

/* Pure helpers of the node agent's core: back-off bookkeeping as client-go's
 * flowcontrol.Backoff, Go duration strings for messages, runtime ids and
 * the user_data that maps runtime objects back to pods, the pod's
 * /etc/resolv.conf and /etc/hosts as the kubelet generates them, and
 * registry credentials from dockerconfigjson secrets. No I/O. */
#include "kubelet/agent_core.h"

#include <ctype.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>

/* ---- back-off ------------------------------------------------------------------ */

static bool backoff_expired(const struct sk_ag_backoff *b, int64_t at, int64_t max_ms)
{
    return at - b->last_ms > 2 * max_ms;
}

bool sk_ag_backoff_active(const struct sk_ag_backoff *b, int64_t now, int64_t since, int64_t max_ms)
{
    if (!b->delay_ms || backoff_expired(b, now, max_ms)) return false;
    return now - since < b->delay_ms;
}

void sk_ag_backoff_next(struct sk_ag_backoff *b, int64_t now, int64_t init_ms, int64_t max_ms)
{
    if (!b->delay_ms || backoff_expired(b, now, max_ms)) b->delay_ms = init_ms;
    else b->delay_ms = b->delay_ms * 2 > max_ms ? max_ms : b->delay_ms * 2;
    b->last_ms = now;
}

void sk_ag_go_duration(int64_t ms, char *out, size_t n)
{
    if (ms <= 0) {
        snprintf(out, n, "0s");
        return;
    }
    if (ms < 1000) {
        snprintf(out, n, "%lldms", (long long)ms);
        return;
    }
    long long h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, frac = ms % 1000;
    char sec[32];
    if (frac) {
        snprintf(sec, sizeof sec, "%lld.%03lld", s, frac);
        size_t len = strlen(sec);
        while (sec[len - 1] == '0') sec[--len] = 0;
    } else {
        snprintf(sec, sizeof sec, "%lld", s);
    }
    if (h) snprintf(out, n, "%lldh%lldm%ss", h, m, sec);
    else if (m) snprintf(out, n, "%lldm%ss", m, sec);
    else snprintf(out, n, "%ss", sec);
}

/* ---- ids and user data ---------------------------------------------------------- */

static uint32_t fnv32(const char *a, const char *b)
{
    uint32_t h = 2166136261u;
    for (const char *p = a; p && *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
    h = (h ^ '/') * 16777619u;
    for (const char *p = b; p && *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
    return h;
}

void sk_ag_ctr_id(const char *uid, const char *name, int restart, char *out, size_t n)
{
    char head[13];
    size_t k = 0;
    for (const char *p = uid; p && *p && k < 12; p++)
        if (isalnum((unsigned char)*p)) head[k++] = (char)tolower((unsigned char)*p);
    head[k] = 0;
    snprintf(out, n, "%s%08x-%d", k ? head : "pod", fnv32(uid, name), restart < 0 ? 0 : restart);
}

void sk_ag_spec_hash(const json_t *ctr, char out[24])
{
    char *text = json_dumps(ctr, JSON_COMPACT | JSON_SORT_KEYS);
    uint64_t h = 14695981039346656037ull;
    for (const char *p = text; p && *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    free(text);
    snprintf(out, 24, "%016llx", (unsigned long long)h);
}

char *sk_ag_udata_encode(const struct sk_ag_udata *u, bool container)
{
    json_t *o = json_pack("{s:s,s:s,s:s}", "podUID", u->uid, "ns", u->ns, "pod", u->pod);
    if (container) {
        json_object_set_new(o, "container", json_string(u->ctr));
        json_object_set_new(o, "restartCount", json_integer(u->restart));
        json_object_set_new(o, "specHash", json_string(u->hash));
        json_object_set_new(o, "init", json_boolean(u->init));
    }
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static bool copy_field(const json_t *o, const char *key, char *dst, size_t n, bool required)
{
    const char *v = sk_json_str(o, key);
    if (!v || strlen(v) >= n) {
        dst[0] = 0;
        return !required;
    }
    snprintf(dst, n, "%s", v);
    return true;
}

int sk_ag_udata_decode(const char *text, struct sk_ag_udata *u)
{
    *u = (struct sk_ag_udata){0};
    if (!text || strlen(text) > 4096) return -1;
    json_t *o = json_loads(text, 0, NULL);
    bool ok = json_is_object(o) && copy_field(o, "podUID", u->uid, sizeof u->uid, true) &&
              copy_field(o, "ns", u->ns, sizeof u->ns, true) &&
              copy_field(o, "pod", u->pod, sizeof u->pod, true) &&
              copy_field(o, "container", u->ctr, sizeof u->ctr, false) &&
              copy_field(o, "specHash", u->hash, sizeof u->hash, false) && u->uid[0];
    json_t *rc = json_object_get(o, "restartCount");
    u->restart = json_is_integer(rc) && json_integer_value(rc) >= 0 && json_integer_value(rc) < 1000000
                     ? (int)json_integer_value(rc) : 0;
    u->init = json_is_true(json_object_get(o, "init"));
    json_decref(o);
    return ok ? 0 : -1;
}

enum sk_ag_restart sk_ag_restart_policy(const json_t *pod)
{
    const char *rp = sk_json_path_str(pod, "spec.restartPolicy");
    if (rp && !strcmp(rp, "Never")) return SK_AG_NEVER;
    if (rp && !strcmp(rp, "OnFailure")) return SK_AG_ON_FAILURE;
    return SK_AG_ALWAYS;
}

bool sk_ag_is_sidecar(const json_t *ctr)
{
    const char *rp = sk_json_str(ctr, "restartPolicy");
    return rp && !strcmp(rp, "Always");
}

/* ---- hostname, resolv.conf, hosts ---------------------------------------------------- */

void sk_ag_pod_hostname(const json_t *pod, char *out, size_t n)
{
    const char *h = sk_json_path_str(pod, "spec.hostname");
    if (!h || !*h) h = sk_json_path_str(pod, "metadata.name");
    if (!h) h = "pod";
    size_t len = strlen(h);
    if (len > 63) len = 63; /* truncatePodHostnameIfNeeded */
    while (len > 1 && (h[len - 1] == '-' || h[len - 1] == '.')) len--;
    snprintf(out, n, "%.*s", (int)len, h);
}

struct dns_cfg {
    json_t *servers, *searches, *options; /* arrays of strings */
};

static void add_unique(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    if (!s || !*s) return;
    json_array_foreach(arr, i, v) if (!strcmp(json_string_value(v), s)) return;
    json_array_append_new(arr, json_string(s));
}

/* nameserver / search / options of a resolv.conf text. */
static void parse_resolv(const char *text, struct dns_cfg *d)
{
    const char *p = text;
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), p);
        p = eol ? eol + 1 : NULL;
        char *hash = strpbrk(line, "#;");
        if (hash) *hash = 0;
        char *save = NULL, *word = strtok_r(line, " \t\r", &save);
        if (!word) continue;
        bool ns = !strcmp(word, "nameserver"), search = !strcmp(word, "search");
        bool opts = !strcmp(word, "options");
        if (search) json_array_clear(d->searches); /* the last search line wins */
        for (char *w = strtok_r(NULL, " \t\r", &save); w; w = strtok_r(NULL, " \t\r", &save)) {
            if (ns) {
                if (json_array_size(d->servers) < 3) add_unique(d->servers, w);
                break;
            }
            if (search) {
                size_t wl = strlen(w);
                if (wl > 1 && w[wl - 1] == '.') w[wl - 1] = 0;
                add_unique(d->searches, w);
            } else if (opts) {
                add_unique(d->options, w);
            }
        }
    }
}

/* Pod options override by name ("ndots:2" replaces "ndots:5"). */
static void merge_option(json_t *opts, const char *name, const char *value)
{
    size_t i, nl = strlen(name);
    json_t *v;
    char *s = value ? sk_printf("%s:%s", name, value) : sk_strdup(name);
    json_array_foreach(opts, i, v) {
        const char *o = json_string_value(v);
        if (!strncmp(o, name, nl) && (o[nl] == 0 || o[nl] == ':')) {
            json_array_set_new(opts, i, json_string(s));
            free(s);
            return;
        }
    }
    json_array_append_new(opts, json_string(s));
    free(s);
}

static void append_pod_dns_config(struct dns_cfg *d, const json_t *pc)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(pc, "nameservers"), i, v) add_unique(d->servers, json_string_value(v));
    json_array_foreach(json_object_get(pc, "searches"), i, v) add_unique(d->searches, json_string_value(v));
    json_array_foreach(json_object_get(pc, "options"), i, v) {
        const char *name = sk_json_str(v, "name");
        if (name && *name) merge_option(d->options, name, sk_json_str(v, "value"));
    }
}

static void join_line(sk_buf *b, const char *head, const json_t *arr)
{
    size_t i;
    json_t *v;
    if (!json_array_size(arr)) return;
    sk_buf_adds(b, head);
    json_array_foreach(arr, i, v) {
        sk_buf_adds(b, " ");
        sk_buf_adds(b, json_string_value(v));
    }
    sk_buf_adds(b, "\n");
}

char *sk_ag_resolv_conf(const json_t *pod, const char *cluster_dns, const char *domain,
                        const char *host_resolv)
{
    const char *policy = sk_json_path_str(pod, "spec.dnsPolicy");
    bool host_net = json_is_true(sk_json_path(pod, "spec.hostNetwork"));
    if (!policy || !*policy) policy = "ClusterFirst";
    if (!domain || !*domain) domain = "cluster.local";
    bool none = !strcmp(policy, "None");
    bool cluster = !strcmp(policy, "ClusterFirstWithHostNet") ||
                   (!strcmp(policy, "ClusterFirst") && !host_net);
    if (cluster && (!cluster_dns || !*cluster_dns)) cluster = false; /* upstream falls back to the host's */
    struct dns_cfg d = {json_array(), json_array(), json_array()}, host = {json_array(), json_array(), json_array()};
    parse_resolv(host_resolv, &host);
    if (cluster) {
        const char *ns = sk_json_path_str(pod, "metadata.namespace");
        char a[512], b[300];
        snprintf(a, sizeof a, "%s.svc.%s", ns ? ns : "default", domain);
        snprintf(b, sizeof b, "svc.%s", domain);
        add_unique(d.servers, cluster_dns);
        add_unique(d.searches, a);
        add_unique(d.searches, b);
        add_unique(d.searches, domain);
        size_t i;
        json_t *v;
        json_array_foreach(host.searches, i, v) add_unique(d.searches, json_string_value(v));
        add_unique(d.options, "ndots:5");
    } else if (!none) {
        json_array_extend(d.servers, host.servers);
        json_array_extend(d.searches, host.searches);
        json_array_extend(d.options, host.options);
    }
    const json_t *pc = sk_json_path(pod, "spec.dnsConfig");
    if (json_is_object(pc)) append_pod_dns_config(&d, pc);
    while (json_array_size(d.searches) > 32) json_array_remove(d.searches, 32); /* MaxDNSSearchPaths */
    sk_buf out = SK_BUF_INIT;
    join_line(&out, "search", d.searches);
    size_t i;
    json_t *v;
    json_array_foreach(d.servers, i, v) sk_buf_addf(&out, "nameserver %s\n", json_string_value(v));
    join_line(&out, "options", d.options);
    json_decref(d.servers);
    json_decref(d.searches);
    json_decref(d.options);
    json_decref(host.servers);
    json_decref(host.searches);
    json_decref(host.options);
    return out.len ? sk_buf_take(&out) : sk_strdup("");
}

static void host_aliases(sk_buf *b, const json_t *pod)
{
    const json_t *aliases = sk_json_path(pod, "spec.hostAliases");
    if (!json_array_size(aliases)) return;
    sk_buf_adds(b, "\n# Entries added by HostAliases.\n");
    size_t i, j;
    json_t *al, *h;
    json_array_foreach(aliases, i, al) {
        sk_buf_adds(b, sk_json_str(al, "ip") ? sk_json_str(al, "ip") : "");
        sk_buf_adds(b, "\t");
        json_array_foreach(json_object_get(al, "hostnames"), j, h) {
            if (j) sk_buf_adds(b, "\t");
            sk_buf_adds(b, json_string_value(h) ? json_string_value(h) : "");
        }
        sk_buf_adds(b, "\n");
    }
}

char *sk_ag_hosts_file(const json_t *pod, const char *pod_ip, const char *domain,
                       const char *host_hosts)
{
    sk_buf b = SK_BUF_INIT;
    if (json_is_true(sk_json_path(pod, "spec.hostNetwork"))) {
        sk_buf_adds(&b, "# Kubernetes-managed hosts file (host network).\n");
        if (host_hosts) sk_buf_adds(&b, host_hosts);
        if (b.len && b.data[b.len - 1] != '\n') sk_buf_adds(&b, "\n");
        host_aliases(&b, pod);
        return sk_buf_take(&b);
    }
    sk_buf_adds(&b, "# Kubernetes-managed hosts file.\n"
                    "127.0.0.1\tlocalhost\n"
                    "::1\tlocalhost ip6-localhost ip6-loopback\n"
                    "fe00::0\tip6-localnet\n"
                    "fe00::0\tip6-mcastprefix\n"
                    "fe00::1\tip6-allnodes\n"
                    "fe00::2\tip6-allrouters\n");
    if (pod_ip && *pod_ip) {
        char host[64];
        sk_ag_pod_hostname(pod, host, sizeof host);
        const char *sub = sk_json_path_str(pod, "spec.subdomain");
        const char *ns = sk_json_path_str(pod, "metadata.namespace");
        if (sub && *sub)
            sk_buf_addf(&b, "%s\t%s.%s.%s.svc.%s\t%s\n", pod_ip, host, sub, ns ? ns : "default",
                        domain && *domain ? domain : "cluster.local", host);
        else
            sk_buf_addf(&b, "%s\t%s\n", pod_ip, host);
    }
    host_aliases(&b, pod);
    return sk_buf_take(&b);
}

/* ---- registry credentials ------------------------------------------------------------ */

/* "https://index.docker.io/v1/" -> "docker.io"; "reg:5000/path" -> "reg:5000". */
static void registry_host(const char *key, char *out, size_t n)
{
    const char *p = key;
    if (!strncmp(p, "https://", 8)) p += 8;
    else if (!strncmp(p, "http://", 7)) p += 7;
    size_t len = strcspn(p, "/");
    snprintf(out, n, "%.*s", (int)len, p);
    if (!strcmp(out, "index.docker.io") || !strcmp(out, "registry-1.docker.io") ||
        !strcmp(out, "registry.hub.docker.com"))
        snprintf(out, n, "docker.io");
}

static bool host_matches(const char *pattern, const char *host)
{
    if (!strcmp(pattern, host)) return true;
    if (!strncmp(pattern, "*.", 2)) { /* one label, as the credential provider's glob */
        const char *dot = strchr(host, '.');
        return dot && !strcmp(dot, pattern + 1);
    }
    return false;
}

static int split_auth(const char *b64, char **user, char **pass)
{
    gnutls_datum_t in = {(unsigned char *)b64, (unsigned)strlen(b64)}, out = {NULL, 0};
    if (!*b64 || strlen(b64) > 8192 || gnutls_base64_decode2(&in, &out) < 0) return -1;
    char *text = sk_strndup((const char *)out.data, out.size);
    gnutls_free(out.data);
    char *colon = strchr(text, ':');
    if (!colon) {
        free(text);
        return -1;
    }
    *colon = 0;
    *user = sk_strdup(text);
    *pass = sk_strdup(colon + 1);
    free(text);
    return 0;
}

int sk_ag_docker_auth(const json_t *cfg, const char *registry, char **user, char **pass)
{
    *user = *pass = NULL;
    const json_t *auths = json_object_get(cfg, "auths");
    if (!json_is_object(auths)) auths = cfg; /* legacy .dockercfg */
    char want[256];
    registry_host(registry ? registry : "docker.io", want, sizeof want);
    const char *key;
    json_t *ent;
    json_object_foreach((json_t *)auths, key, ent) {
        char host[256];
        registry_host(key, host, sizeof host);
        if (!json_is_object(ent) || !host_matches(host, want)) continue;
        const char *u = sk_json_str(ent, "username"), *p = sk_json_str(ent, "password");
        if (u && p && *u) {
            *user = sk_strdup(u);
            *pass = sk_strdup(p);
            return 0;
        }
        const char *auth = sk_json_str(ent, "auth");
        if (auth && split_auth(auth, user, pass) == 0) return 0;
    }
    return -1;
}

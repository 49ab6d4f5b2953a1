/* Service ClusterIP and NodePort allocation.
 *
 * Each allocated value is a store key (/registry/ranges/serviceips/<ip>,
 * /registry/ranges/servicenodeports/<port>) whose value names the owning
 * service. The store's exclusive create makes allocation race-free across
 * requests (and across API servers sharing a store), and the keys survive
 * restarts. A crash between allocating and storing the service can leak a
 * value; upstream runs a repair loop for that, not done here yet. */
#include "apiserver/apiserver_int.h"

#include <string.h>
#include <sys/random.h>

#define IP_PREFIX "/registry/ranges/serviceips/"
#define PORT_PREFIX "/registry/ranges/servicenodeports/"

int sk_svc_parse_cidr(struct sk_apiserver *s, const char *cidr, sk_err *err)
{
    char ip[64];
    const char *slash = strchr(cidr, '/');
    if (!slash || (size_t)(slash - cidr) >= sizeof ip)
        return sk_err_set(err, SK_EINVALID, "invalid service CIDR %s", cidr);
    memcpy(ip, cidr, (size_t)(slash - cidr));
    ip[slash - cidr] = 0;
    struct in_addr a;
    char *end;
    long bits = strtol(slash + 1, &end, 10);
    if (inet_pton(AF_INET, ip, &a) != 1 || *end || bits < 8 || bits > 30)
        return sk_err_set(err, SK_EINVALID, "invalid service CIDR %s (IPv4, /8 to /30)", cidr);
    uint32_t mask = bits ? ~0u << (32 - bits) : 0;
    s->svc_base = ntohl(a.s_addr) & mask;
    s->svc_size = ~mask + 1u;
    return 0;
}

static bool ip_in_range(struct sk_apiserver *s, const char *ip, uint32_t *off)
{
    struct in_addr a;
    if (inet_pton(AF_INET, ip, &a) != 1) return false;
    uint32_t h = ntohl(a.s_addr);
    if (h < s->svc_base || h - s->svc_base >= s->svc_size) return false;
    *off = h - s->svc_base;
    /* network and broadcast addresses are never handed out */
    return *off != 0 && *off != s->svc_size - 1;
}

static void fmt_ip(struct sk_apiserver *s, uint32_t off, char *buf, size_t n)
{
    struct in_addr a = {.s_addr = htonl(s->svc_base + off)};
    inet_ntop(AF_INET, &a, buf, (socklen_t)n);
}

static char *owner_of(const json_t *svc)
{
    return sk_printf("%s/%s", sk_json_path_str(svc, "metadata.namespace"),
                     sk_json_path_str(svc, "metadata.name"));
}

/* Takes key for svc: 1 = newly taken, 0 = already ours, -1 = someone else's. */
static int take(struct sk_apiserver *s, const char *key, const char *owner, sk_err *err)
{
    int64_t rev;
    sk_err e = SK_ERR_INIT;
    if (sk_store_create(s->store, key, owner, strlen(owner), &rev, &e) == 0) return 1;
    if (e.code != SK_EEXIST) {
        *err = e;
        return -2;
    }
    sk_kv kv = {0};
    if (sk_store_get(s->store, key, &kv, &e) < 0) return -1;
    int r = strcmp(kv.value, owner) ? -1 : 0;
    sk_kv_release(&kv);
    return r;
}

static uint32_t rnd(void)
{
    uint32_t r;
    if (getrandom(&r, sizeof r, 0) != sizeof r) r = (uint32_t)sk_now_ms();
    return r;
}

static int alloc_ip(struct sk_apiserver *s, json_t *spec, const char *owner, json_t *taken,
                    sk_err *err)
{
    const char *want = sk_json_str(spec, "clusterIP");
    if (want && (!strcmp(want, "None") || !*want)) {
        if (!*want) json_object_del(spec, "clusterIP");
        else {
            json_object_set_new(spec, "clusterIPs", json_pack("[s]", "None"));
            return 0;
        }
        want = NULL;
    }
    char ip[64], key[128];
    if (want) {
        uint32_t off;
        if (!ip_in_range(s, want, &off)) {
            sk_err_set(err, SK_EINVALID,
                       "Service \"%s\" is invalid: spec.clusterIPs: Invalid value: []string{\"%s\"}: "
                       "failed to allocate IP %s: provided IP is not in the valid range. The range "
                       "of valid IPs is %s",
                       strchr(owner, '/') + 1, want, want, s->svc_cidr);
            sk_err_cause(err, "FieldValueInvalid", "spec.clusterIPs", "provided IP is not in the valid range");
            return -1;
        }
        snprintf(key, sizeof key, IP_PREFIX "%s", want);
        int r = take(s, key, owner, err);
        if (r == -2) return -1;
        if (r < 0) {
            sk_err_set(err, SK_EINVALID,
                       "Service \"%s\" is invalid: spec.clusterIPs: Invalid value: []string{\"%s\"}: "
                       "failed to allocate IP %s: provided IP is already allocated",
                       strchr(owner, '/') + 1, want, want);
            sk_err_cause(err, "FieldValueInvalid", "spec.clusterIPs", "provided IP is already allocated");
            return -1;
        }
        if (r == 1) json_array_append_new(taken, json_string(key));
        json_object_set_new(spec, "clusterIPs", json_pack("[s]", want));
        return 0;
    }
    /* Random probing, then a linear sweep so a nearly full range still works.
     * The first address (offset 1) is reserved for the `kubernetes` service. */
    uint32_t n = s->svc_size - 3;
    uint32_t start = rnd() % n;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t off = 2 + (start + (i < 16 ? rnd() : i)) % n;
        fmt_ip(s, off, ip, sizeof ip);
        snprintf(key, sizeof key, IP_PREFIX "%s", ip);
        int r = take(s, key, owner, err);
        if (r == -2) return -1;
        if (r == 1) {
            json_array_append_new(taken, json_string(key));
            json_object_set_new(spec, "clusterIP", json_string(ip));
            json_object_set_new(spec, "clusterIPs", json_pack("[s]", ip));
            return 0;
        }
    }
    return sk_err_set(err, SK_EINTERNAL, "failed to allocate a serviceIP: range is full");
}

static int alloc_port(struct sk_apiserver *s, json_t *port, size_t idx, const char *owner,
                      json_t *taken, sk_err *err)
{
    json_t *np = json_object_get(port, "nodePort");
    char key[128];
    if (json_is_integer(np) && json_integer_value(np) != 0) {
        json_int_t v = json_integer_value(np);
        if (v < s->np_min || v > s->np_max) {
            sk_err_set(err, SK_EINVALID,
                       "Service \"%s\" is invalid: spec.ports[%zu].nodePort: Invalid value: %lld: "
                       "provided port is not in the valid range. The range of valid ports is %d-%d",
                       strchr(owner, '/') + 1, idx, (long long)v, s->np_min, s->np_max);
            return -1;
        }
        snprintf(key, sizeof key, PORT_PREFIX "%lld", (long long)v);
        int r = take(s, key, owner, err);
        if (r == -2) return -1;
        if (r < 0) {
            char field[64];
            snprintf(field, sizeof field, "spec.ports[%zu].nodePort", idx);
            sk_err_set(err, SK_EINVALID,
                       "Service \"%s\" is invalid: %s: Invalid value: %lld: provided port is "
                       "already allocated",
                       strchr(owner, '/') + 1, field, (long long)v);
            sk_err_cause(err, "FieldValueInvalid", field, "provided port is already allocated");
            return -1;
        }
        if (r == 1) json_array_append_new(taken, json_string(key));
        return 0;
    }
    uint32_t n = (uint32_t)(s->np_max - s->np_min + 1);
    uint32_t start = rnd() % n;
    for (uint32_t i = 0; i < n; i++) {
        int v = s->np_min + (int)((start + (i < 16 ? rnd() : i)) % n);
        snprintf(key, sizeof key, PORT_PREFIX "%d", v);
        int r = take(s, key, owner, err);
        if (r == -2) return -1;
        if (r == 1) {
            json_array_append_new(taken, json_string(key));
            json_object_set_new(port, "nodePort", json_integer(v));
            return 0;
        }
    }
    return sk_err_set(err, SK_EINTERNAL, "failed to allocate a nodePort: range is full");
}

static bool wants_node_ports(const json_t *spec)
{
    const char *t = sk_json_str(spec, "type");
    return t && (!strcmp(t, "NodePort") || !strcmp(t, "LoadBalancer"));
}

void sk_svc_prefill(json_t *svc, const json_t *old)
{
    json_t *spec = json_object_get(svc, "spec");
    const json_t *ospec = json_object_get(old, "spec");
    if (!json_is_object(spec) || !json_is_object(ospec)) return;
    const char *t = sk_json_str(spec, "type");
    if (t && !strcmp(t, "ExternalName")) return;
    if (!sk_json_str(spec, "clusterIP") && sk_json_str(ospec, "clusterIP")) {
        json_object_set(spec, "clusterIP", json_object_get(ospec, "clusterIP"));
        json_object_set(spec, "clusterIPs", json_object_get(ospec, "clusterIPs"));
    }
    if (!wants_node_ports(spec)) return;
    json_t *ports = json_object_get(spec, "ports"), *oports = json_object_get(ospec, "ports");
    size_t i, k;
    json_t *p, *op;
    json_array_foreach(ports, i, p) {
        if (json_object_get(p, "nodePort")) continue;
        json_array_foreach(oports, k, op) {
            if (json_equal(json_object_get(p, "port"), json_object_get(op, "port")) &&
                json_object_get(op, "nodePort")) {
                json_object_set(p, "nodePort", json_object_get(op, "nodePort"));
                break;
            }
        }
    }
}

int sk_svc_allocate(struct sk_apiserver *s, json_t *svc, const json_t *old, json_t *taken,
                    sk_err *err)
{
    json_t *spec = json_object_get(svc, "spec");
    if (!json_is_object(spec)) return 0;
    const char *t = sk_json_str(spec, "type");
    if (t && !strcmp(t, "ExternalName")) return 0;
    _sk_free_ char *owner = owner_of(svc);
    if (alloc_ip(s, spec, owner, taken, err) < 0) goto fail;
    if (wants_node_ports(spec)) {
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(spec, "ports"), i, p)
            if (alloc_port(s, p, i, owner, taken, err) < 0) goto fail;
    } else {
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(spec, "ports"), i, p) json_object_del(p, "nodePort");
    }
    if (old) sk_svc_release(s, old, svc); /* what the update gave up */
    return 0;
fail:
    sk_svc_release_keys(s, taken);
    json_array_clear(taken);
    return -1;
}

void sk_svc_release_keys(struct sk_apiserver *s, const json_t *taken)
{
    size_t i;
    json_t *k;
    json_array_foreach(taken, i, k) {
        sk_err e = SK_ERR_INIT;
        int64_t rev;
        if (sk_store_delete(s->store, json_string_value(k), 0, NULL, 0, &rev, &e) < 0 &&
            e.code != SK_ENOTFOUND)
            sk_log(SK_WARN, "apiserver", "release %s: %s", json_string_value(k), e.msg);
    }
}

static bool has_port(const json_t *spec, json_int_t v)
{
    if (!spec || !wants_node_ports(spec)) return false;
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(spec, "ports"), i, p)
        if (json_integer_value(json_object_get(p, "nodePort")) == v) return true;
    return false;
}

void sk_svc_release(struct sk_apiserver *s, const json_t *svc, const json_t *keep)
{
    const json_t *spec = json_object_get(svc, "spec");
    const json_t *kspec = keep ? json_object_get(keep, "spec") : NULL;
    json_t *keys = json_array();
    const char *ip = sk_json_str(spec, "clusterIP");
    if (ip && strcmp(ip, "None") && (!kspec || !sk_json_str(kspec, "clusterIP") ||
                                     strcmp(ip, sk_json_str(kspec, "clusterIP"))))
    {
        char k[128];
        snprintf(k, sizeof k, IP_PREFIX "%s", ip);
        json_array_append_new(keys, json_string(k));
    }
    if (wants_node_ports(spec)) {
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(spec, "ports"), i, p) {
            json_int_t v = json_integer_value(json_object_get(p, "nodePort"));
            if (v && !has_port(kspec, v)) {
                char k[128];
                snprintf(k, sizeof k, PORT_PREFIX "%lld", (long long)v);
                json_array_append_new(keys, json_string(k));
            }
        }
    }
    sk_svc_release_keys(s, keys);
    json_decref(keys);
}

/* Parsing for the CNI driver: podCIDRs, container ids and plugin results.
 * Results come from external binaries, so every field is type- and
 * size-checked; nothing is trusted to fit a buffer. */
#include "network/cni_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

bool sk_cni_id_ok(const char *id)
{
    size_t len = id ? strlen(id) : 0;
    if (len == 0 || len > 128) return false;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-'))) return false;
    }
    return true;
}

/* "addr/len" -> binary address, family and prefix; -1 if malformed. */
static int split_prefix(const char *s, unsigned char bin[16], int *family, int *prefix)
{
    const char *slash = s ? strchr(s, '/') : NULL;
    if (!slash || slash == s || (size_t)(slash - s) >= 46) return -1;
    char addr[48];
    memcpy(addr, s, (size_t)(slash - s));
    addr[slash - s] = 0;
    const char *p = slash + 1;
    size_t nd = strspn(p, "0123456789");
    if (nd == 0 || nd > 3 || p[nd]) return -1;
    int len = (int)strtol(p, NULL, 10);
    if (inet_pton(AF_INET, addr, bin) == 1) *family = AF_INET;
    else if (inet_pton(AF_INET6, addr, bin) == 1) *family = AF_INET6;
    else return -1;
    if (len > (*family == AF_INET ? 32 : 128)) return -1;
    *prefix = len;
    return 0;
}

int sk_cni_parse_cidr(const char *s, struct sk_cni_cidr *out, sk_err *err)
{
    unsigned char bin[16] = {0};
    memset(out, 0, sizeof *out);
    if (split_prefix(s, bin, &out->family, &out->prefix) < 0)
        return sk_err_set(err, SK_EINVALID, "invalid podCIDR \"%.64s\": want ADDRESS/PREFIX", s ? s : "");
    int bits = out->family == AF_INET ? 32 : 128;
    /* At least a gateway and one pod; very short prefixes are surely typos. */
    if (out->prefix < 8 || out->prefix > bits - 2)
        return sk_err_set(err, SK_EINVALID, "podCIDR %s: prefix must be between 8 and %d", s, bits - 2);
    for (int i = out->prefix; i < bits; i++)
        if (bin[i / 8] & (0x80 >> (i % 8)))
            return sk_err_set(err, SK_EINVALID, "podCIDR %s has host bits set", s);
    inet_ntop(out->family, bin, out->network, sizeof out->network);
    bin[bits / 8 - 1] |= 1; /* the low two bits are host bits, so zero: no carry */
    inet_ntop(out->family, bin, out->gateway, sizeof out->gateway);
    return 0;
}

static bool copy_str(char *dst, size_t n, const char *src)
{
    if (!src || strlen(src) >= n) return false;
    memcpy(dst, src, strlen(src) + 1);
    return true;
}

static bool ip_ok(const char *s)
{
    unsigned char bin[16];
    return s && (inet_pton(AF_INET, s, bin) == 1 || inet_pton(AF_INET6, s, bin) == 1);
}

/* Interface names and MACs; a bad one is left empty rather than failing the
 * whole ADD, since only the IP is essential. */
static void parse_interfaces(const json_t *ifs, json_int_t pod_idx, const char *bridge,
                             const char *ifname, struct sk_net_result *res)
{
    copy_str(res->ifname, sizeof res->ifname, ifname ? ifname : "eth0");
    if (!json_is_array(ifs)) return;
    size_t n = json_array_size(ifs);
    for (size_t i = 0; i < n && i < 64; i++) {
        const json_t *it = json_array_get(ifs, i);
        const char *name = sk_json_str(it, "name");
        const char *sandbox = sk_json_str(it, "sandbox");
        if (!name) continue;
        if ((json_int_t)i == pod_idx) {
            copy_str(res->ifname, sizeof res->ifname, name);
            if (!copy_str(res->mac, sizeof res->mac, sk_json_str(it, "mac"))) res->mac[0] = 0;
        } else if ((!sandbox || !*sandbox) && (!bridge || strcmp(name, bridge)) && !res->host_veth[0]) {
            copy_str(res->host_veth, sizeof res->host_veth, name);
        }
    }
}

int sk_cni_parse_result(const json_t *r, const char *bridge, const char *ifname,
                        struct sk_net_result *res, sk_err *err)
{
    memset(res, 0, sizeof *res);
    const json_t *ips = json_is_object(r) ? json_object_get(r, "ips") : NULL;
    size_t n = json_is_array(ips) ? json_array_size(ips) : 0;
    for (size_t i = 0; i < n && i < 64; i++) {
        const json_t *ip = json_array_get(ips, i);
        const char *addr = sk_json_str(ip, "address");
        unsigned char bin[16];
        int family, prefix;
        if (split_prefix(addr, bin, &family, &prefix) < 0) continue;
        inet_ntop(family, bin, res->ip, sizeof res->ip);
        res->prefix_len = prefix;
        const char *gw = sk_json_str(ip, "gateway");
        if (ip_ok(gw)) copy_str(res->gateway, sizeof res->gateway, gw);
        const json_t *idx = json_object_get(ip, "interface");
        json_int_t pod_idx = json_is_integer(idx) ? json_integer_value(idx) : -1;
        parse_interfaces(json_object_get(r, "interfaces"), pod_idx, bridge, ifname, res);
        return 0;
    }
    return sk_err_set(err, SK_EINTERNAL, "cni result has no usable IP address");
}

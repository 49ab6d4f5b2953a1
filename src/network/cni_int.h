/* Internals of the CNI driver shared by cni.c and cni_exec.c, and reachable
 * from tests/unit/network/test_cni.c. */
#ifndef SK_NETWORK_CNI_INT_H
#define SK_NETWORK_CNI_INT_H

#include "network/network.h"

#define SK_CNI_VERSION "1.0.0"
#define SK_CNI_MAX_STDOUT (1u << 20) /* a result is a few KB; more is a broken plugin */
#define SK_CNI_MAX_STDERR (16u << 10)

/* One plugin invocation. Every string is borrowed for the call. */
struct sk_cni_call {
    const char *plugin_dir;
    const char *type;         /* binary name in plugin_dir */
    const char *command;      /* "ADD", "DEL", "CHECK", "VERSION" */
    const char *container_id;
    const char *netns;        /* "" is allowed for DEL */
    const char *ifname;
    const char *args;         /* CNI_ARGS or NULL */
    int netns_fd;             /* child setns()es here before exec; -1 = caller's netns */
    int timeout_ms;
    const char *conf;         /* network config, written to the plugin's stdin */
    size_t conf_len;
};

/* Runs the plugin with a clean environment (CNI_* and PATH only). On exit 0,
 * *result gets the parsed stdout (NULL when empty, as for DEL; caller
 * decrefs). On failure err names the plugin and carries its message; a
 * timeout kills it (SK_ETIMEOUT). */
int sk_cni_exec(const struct sk_cni_call *c, json_t **result, sk_err *err);

/* Turns a failed run into err: the spec's {"code","msg","details"} on stdout
 * when present, else the tail of stderr. Always returns -1. */
int sk_cni_plugin_error(const char *type, const char *command, int status, const char *out,
                        size_t out_len, const char *errout, sk_err *err);

struct sk_cni_cidr {
    int family;       /* AF_INET or AF_INET6 */
    int prefix;
    char network[48]; /* "10.244.1.0" */
    char gateway[48]; /* first host, "10.244.1.1" */
};
/* Parses a podCIDR; host bits must be zero and the range must hold pods. */
int sk_cni_parse_cidr(const char *s, struct sk_cni_cidr *out, sk_err *err);

/* Fills res from a CNI 1.0 result: the first IP of ips[] and the interfaces
 * it points to; host_veth is the sandbox-less interface that is not bridge. */
int sk_cni_parse_result(const json_t *result, const char *bridge, const char *ifname,
                        struct sk_net_result *res, sk_err *err);

/* CNI container ids: [A-Za-z0-9][A-Za-z0-9_.-]*, at most 128 chars. */
bool sk_cni_id_ok(const char *id);

#endif

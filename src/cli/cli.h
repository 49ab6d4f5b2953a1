/* Subcommands of the skiff binary; each returns the process exit code. */
#ifndef SK_CLI_H
#define SK_CLI_H
#include "lib/lib.h"

#define SKIFF_VERSION_MAJOR "1"
#define SKIFF_VERSION_MINOR "32"
#define SKIFF_GIT_VERSION "v1.32.0+skiff.1"

int sk_cmd_server(int argc, char **argv);
int sk_cmd_version(int argc, char **argv);
int sk_cmd_agent(int argc, char **argv);
int sk_cmd_controller_manager(int argc, char **argv);
int sk_cmd_image(int argc, char **argv);
int sk_cmd_cleanup(int argc, char **argv);
/* What `skiff cleanup` does (also `skiff server --cleanup`); exit code. */
int sk_cli_cleanup(const char *data_dir, const char *cgroup_parent);
int sk_cmd_ip(int argc, char **argv);
int sk_cmd_service(int argc, char **argv);
/* "50s", "500ms", "2m" or plain seconds -> ms; -1 with a message on stderr. */
int sk_parse_duration_ms(const char *flag, const char *v, int64_t *out);

/* ---- node.c: the node agent inside `skiff server` and `skiff agent` ---- */
struct sk_rt;
struct sk_image_store;
struct sk_agent;
struct sk_client;
struct sk_proxy;
struct sk_cli_node {
    struct sk_rt *rt;
    struct sk_image_store *images;
    struct sk_agent *agent;
    struct sk_proxy *proxy;
};
struct sk_cli_node_opts {
    const char *data_dir;      /* the agent's state is DATA/agent, images DATA/images */
    const char *node_name;
    const char *node_ip;       /* NULL = detect */
    int agent_port;            /* 0 = 10250 */
    const char *cgroup_parent; /* NULL = /kubepods */
    bool no_builtin_images;
    const char *samples_dir;   /* NULL = next to the binary */
    const char *cluster_dns;   /* nameserver of ClusterFirst pods; NULL = the host's */
    const char *cluster_cidr;  /* pod network, for the proxy's masquerade */
    const char *service_cidr;
    bool no_proxy;             /* no service proxy on this node */
    bool control_plane;        /* the server's own node */
};
void sk_cli_default_node_name(char *out, size_t n);
/* The node runtime's directories under DATA (the agent and `skiff cleanup`
 * must agree): root DATA/agent/runtime on disk, netns pins on the
 * runtime's state tmpfs DATA/agent/runtime/run. Caller frees both. */
void sk_cli_node_rt_paths(const char *data_dir, char **root, char **netns);
/* Before any thread exists: runtime (mount namespace) and image store. */
int sk_cli_node_prepare(struct sk_cli_node *nd, const struct sk_cli_node_opts *o, sk_err *err);
int sk_cli_node_start(struct sk_cli_node *nd, const struct sk_cli_node_opts *o,
                      struct sk_client *c, const char *cert_pem, const char *key_pem,
                      const char *client_ca_pem, sk_err *err);
void sk_cli_node_stop(struct sk_cli_node *nd); /* containers keep running */
#endif

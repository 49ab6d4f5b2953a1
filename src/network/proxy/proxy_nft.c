/* libnftables and the node netns: contexts, transactions, sysctls, and
 * sk_proxy_cleanup. libnftables and /proc/sys/net act on the netns of the
 * calling thread, so every function here is called from a thread that has
 * joined the node's netns (px_enter_netns, sk_net_netns_run). */
#include "network/network.h"
#include "network/proxy/proxy_int.h"

#include <errno.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

struct nft_ctx *px_nft_new(sk_err *err)
{
    struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!ctx) {
        sk_err_set(err, SK_EINTERNAL, "nftables: cannot create a context");
        return NULL;
    }
    /* messages go to buffers we read, never to the process's stderr */
    if (nft_ctx_buffer_output(ctx) || nft_ctx_buffer_error(ctx)) {
        nft_ctx_free(ctx);
        sk_err_set(err, SK_EINTERNAL, "nftables: cannot buffer output");
        return NULL;
    }
    return ctx;
}

void px_nft_free(struct nft_ctx *ctx)
{
    if (ctx) nft_ctx_free(ctx);
}

int px_nft_run(struct nft_ctx *ctx, const char *script, sk_err *err)
{
    int rc = nft_run_cmd_from_buffer(ctx, script);
    (void)nft_ctx_get_output_buffer(ctx); /* reading rewinds the buffer */
    const char *msg = nft_ctx_get_error_buffer(ctx);
    if (rc == 0) return 0;
    /* nft quotes the offending line, which may hold thousands of
     * elements: keep the start, on one line */
    char one[400];
    size_t k = 0;
    for (const char *p = msg ? msg : ""; *p && k < sizeof one - 1; p++)
        one[k++] = *p == '\n' || *p == '\t' ? ' ' : *p;
    one[k] = 0;
    return sk_err_set(err, SK_EINTERNAL, "nftables transaction failed: %s", k ? one : "(no message)");
}

static int write_sysctl(const char *path, bool optional)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return optional && errno == ENOENT ? 0 : -1;
    ssize_t w = write(fd, "1\n", 2);
    close(fd);
    return w == 2 ? 0 : -1;
}

int px_sysctls(sk_err *err)
{
    static const struct {
        const char *path;
        bool optional; /* absent without br_netfilter */
    } want[] = {
        {"/proc/sys/net/ipv4/ip_forward", false},
        /* 127.0.0.1 NodePorts: DNATed loopback traffic must be routable */
        {"/proc/sys/net/ipv4/conf/all/route_localnet", false},
        /* bridged pod -> service traffic must pass the ip hooks */
        {"/proc/sys/net/bridge/bridge-nf-call-iptables", true},
    };
    int failed = 0;
    for (size_t i = 0; i < SK_ARRAY_LEN(want); i++) {
        if (write_sysctl(want[i].path, want[i].optional) == 0) continue;
        if (!failed++) sk_err_sys(err, "write %s", want[i].path);
    }
    return failed;
}

int px_enter_netns(const char *path, sk_err *err)
{
    if (!path || !*path) return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return sk_err_sys(err, "open netns %s", path);
    int rc = setns(fd, CLONE_NEWNET);
    int e = errno;
    close(fd);
    errno = e;
    return rc < 0 ? sk_err_sys(err, "setns %s", path) : 0;
}

bool px_valid_table(const char *t)
{
    size_t n = t ? strlen(t) : 0;
    if (!n || n > 64) return false;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

struct cleanup_arg {
    const char *table;
    sk_err *err;
};

static int cleanup_fn(void *arg)
{
    struct cleanup_arg *a = arg;
    struct nft_ctx *ctx = px_nft_new(a->err);
    if (!ctx) return -1;
    /* adding first makes the delete succeed when the table is absent */
    _sk_free_ char *script = sk_printf("table inet %s\ndelete table inet %s\n", a->table, a->table);
    int rc = px_nft_run(ctx, script, a->err);
    px_nft_free(ctx);
    return rc;
}

int sk_proxy_cleanup(const char *table, const char *netns_path, sk_err *err)
{
    if (!table) table = "skiff";
    if (!px_valid_table(table)) return sk_err_set(err, SK_EINVALID, "invalid nftables table name \"%s\"", table);
    struct cleanup_arg a = {table, err};
    if (!netns_path || !*netns_path) return cleanup_fn(&a);
    sk_err inner = SK_ERR_INIT;
    a.err = &inner;
    int rc = sk_net_netns_run(netns_path, cleanup_fn, &a, err);
    if (rc < 0 && inner.code) {
        sk_err_set(err, inner.code, "%s", inner.msg);
    }
    sk_err_clear(&inner);
    return rc < 0 ? -1 : 0;
}

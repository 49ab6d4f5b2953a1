/* skiff: one binary, subcommands in the style of git builtins. */
#include "cli/cli.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#ifdef SKIFF_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

#ifdef SKIFF_JEMALLOC
/* Read by jemalloc at start (MALLOC_CONF in the environment still wins):
 * two arenas (per-thread caches take most allocations anyway) and freed
 * pages returned within a second, so a node agent stays small. */
const char *malloc_conf = "narenas:2,dirty_decay_ms:1000,muzzy_decay_ms:0";

/* Decay only advances on allocator activity: a process that goes quiet
 * after a burst (an agent after loading the built-in images) keeps its
 * dirty pages until something nudges it. jemalloc's own background thread
 * would, but a thread must not exist before the runtime's setns(). */
#define ALL_ARENAS "4096" /* MALLCTL_ARENAS_ALL */
static void jemalloc_trim(bool full)
{
    mallctl(full ? "arena." ALL_ARENAS ".purge" : "arena." ALL_ARENAS ".decay", NULL, NULL, NULL, 0);
}

/* A hundred short-lived threads with their own caches (a node agent
 * stopping a hundred pods at once) left 2-3 MB of fragmented slabs behind
 * that no decay returns, and a dozen pod workers' caches hold another MB
 * or two; without a cache their allocations go straight to the arena. */
static void jemalloc_thread_nocache(void)
{
    bool off = false;
    mallctl("thread.tcache.enabled", NULL, NULL, &off, sizeof off);
}
#endif

/* libcurl's global init also initialises libssh2, and libssh2's crypto
 * init loads all of OpenSSL: about 2 MB of touched pages in every skiff
 * process, though skiff speaks only HTTP(S), through GnuTLS. Calling
 * libssh2_init(LIBSSH2_INIT_NO_CRYPTO) first turns libcurl's call into a
 * no-op. libssh2 comes in only through libcurl, so it is looked up, not
 * linked; OpenSSL still initialises itself on first use if anything ever
 * needs it. */
static void skip_ssh_crypto_init(void)
{
    int (*ssh_init)(int) = (int (*)(int))dlsym(RTLD_DEFAULT, "libssh2_init");
    if (ssh_init) ssh_init(0x0001 /* LIBSSH2_INIT_NO_CRYPTO */);
}

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"server", sk_cmd_server, "run the control plane in the foreground"},
    {"agent", sk_cmd_agent, "run a node agent (--hollow: simulated nodes)"},
    {"controller-manager", sk_cmd_controller_manager, "run only the controllers against a server"},
    {"image", sk_cmd_image, "manage node images (load, ls, rm, pull)"},
    {"ip", sk_cmd_ip, "print the node address NodePort services answer on"},
    {"service", sk_cmd_service, "print the URLs of a NodePort or LoadBalancer service"},
    {"cleanup", sk_cmd_cleanup, "remove the containers and pod networks a node agent left"},
    {"version", sk_cmd_version, "print the version"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: skiff <command> [flags]\n\ncommands:\n");
    for (size_t i = 0; i < SK_ARRAY_LEN(commands); i++)
        fprintf(f, "  %-19s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
#ifdef SKIFF_JEMALLOC
    _Static_assert(MALLCTL_ARENAS_ALL == 4096, "ALL_ARENAS");
    sk_mem_set_trim(jemalloc_trim);
    sk_mem_set_thread_nocache(jemalloc_thread_nocache);
#endif
    skip_ssh_crypto_init();
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < SK_ARRAY_LEN(commands); i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "skiff: unknown command \"%s\" (see skiff --help)\n", argv[1]);
    return 2;
}

/* Module-private declarations of sk_rt (src/runtime). Layout under ROOT,
 * on disk:
 *   ns/mnt                 pin of the agent mount namespace (a bind mount made in
 *                          the namespace the first agent started in; ns/ is a
 *                          private self-bind there so the pin cannot propagate)
 *   containers/<id>/       upper/, work/: the writable layer (can grow large)
 * and under STATE, a tmpfs mounted in the agent mount namespace (like
 * containerd's /run state beside its /var/lib root). Everything there only
 * means something while the machine is up, and a new namespace, i.e. a
 * reboot, starts it empty. Keeping these small, short-lived files off the
 * disk file system saves its inode allocation per container start:
 *   bin/crun               crun, bind-mounted read-only (see ro_crun in runtime.c)
 *   crun/                  crun --root
 *   pods/<id>/             sandbox.json, hosts, resolv.conf, hostname, ipc, uts, shm/
 *   containers/<id>/       meta.json, config.json, rootfs/ (overlay mount point),
 *                          pid (crun), state + exit (the shim), started
 *   sock/                  per-exec console socket, pid and process files */
#ifndef SK_RUNTIME_INT_H
#define SK_RUNTIME_INT_H

#include "runtime/runtime.h"

#include <spawn.h>
#include <sys/types.h>

#define RT_ID_MAX 64
#define RT_USER_DATA_MAX (64 * 1024)
#define RT_JSON_MAX (4 << 20)   /* our own records; config.json holds up to 1 MiB of args+env */
#define RT_LOG_LINE_MAX 16384   /* longer lines become "P" chunks, like containerd */
#define RT_MAX_GIDS 64

struct sk_rt {
    char *root;
    char *state;         /* STATE (a tmpfs in the agent mount namespace) */
    char *crun;          /* absolute; argv[0] and messages */
    char *crun_exe;      /* what is executed: STATE/bin/crun, or crun itself */
    char *crun_root;     /* STATE/crun */
    char *netns_dir;
    char *cgroup_parent; /* "/kubepods": leading slash, no trailing one */
    char version[32];
    char warning[256];   /* see sk_rt_warning */
    char **cg_mounts;    /* every cgroup hierarchy mounted in the agent namespace */
    size_t n_cg_mounts;
    char *memcg;         /* where memory.* of a cgroup path lives: v1 memory or v2 root */
    bool memcg_v2;
    char *cg_ghost;      /* the tmpfs dir crun mistakes for cgroup2 on hybrid hosts, or NULL */
    int zygote_fd;       /* socket to the shim zygote, -1 if none */
    pid_t zygote_pid;
};

/* ---- small utilities (runtime_util.c) ---- */
bool rt_id_ok(const char *id);
void rt_err_append(sk_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* STATE/kind/id[/leaf]; caller frees */
char *rt_path(const sk_rt *rt, const char *kind, const char *id, const char *leaf);
/* ROOT/containers/id[/leaf]: a container's writable layer; caller frees */
char *rt_layer_path(const sk_rt *rt, const char *id, const char *leaf);
int rt_rm_rf(const char *path, sk_err *err); /* never crosses into a mounted fs */
int rt_umount(const char *path, sk_err *err); /* MNT_DETACH; 0 when not mounted */
bool rt_exists(const char *path);
/* "key=value" lines (the shim's files; sep '=') or "key value" (cgroup
 * files; sep ' '): the number of the first line naming key. No malloc. */
bool rt_kv_get(const char *text, const char *key, char sep, long long *val);
/* /proc/PID/stat starttime (clock ticks since boot); 0 if gone. No malloc. */
unsigned long long rt_proc_starttime(pid_t pid);
/* True if pid is alive, not a zombie, and started at `start` (0 = any). */
bool rt_proc_alive(pid_t pid, unsigned long long start);
int rt_pidfd_open(pid_t pid);
int rt_pidfd_signal(int pidfd, int sig);
/* Waits until fd polls readable: 1 yes, 0 timeout (timeout_ms < 0 = forever). */
int rt_wait_readable(int fd, int timeout_ms);
/* Removes a cgroup dir from every hierarchy (and the ghost one), best effort. */
void rt_cgroup_rmdir(const sk_rt *rt, const char *cgpath);
/* tmp + rename, no fsync, no malloc (the shim uses it); -1 with errno. */
int rt_write_atomic(const char *path, const void *data, size_t len);
json_t *rt_json_load(const char *path, sk_err *err);
int rt_json_save(const char *path, json_t *doc, sk_err *err);
void rt_strv_free(char **v, size_t n);

/* ---- handle (runtime.c) ---- */
int rt_list_ids(const sk_rt *rt, const char *kind, char ***ids, size_t *n, sk_err *err);
int rt_purge_state(sk_rt *rt, sk_err *err);

/* ---- running crun (runtime_spawn.c) ---- */
/* Runs argv (argv[0] absolute) with stdin /dev/null; stdout+stderr captured
 * into out (capped, may be NULL). Returns the exit status (128+sig when
 * killed) or -1 with err (spawn failure or timeout, after SIGKILL). */
int rt_run(const char *path, const char *const *argv, int timeout_ms, sk_buf *out, sk_err *err);
/* Signal mask empty and every signal default in the child. */
void rt_spawn_attr_init(posix_spawnattr_t *attr);
/* crun --root ROOT <args...>: 0, crun's exit status (> 0) with its output
 * in err, or -1 with err. */
int rt_crun(const sk_rt *rt, int timeout_ms, sk_err *err, ...) __attribute__((sentinel));

/* ---- namespaces (runtime_ns.c) ---- */
int rt_ns_process_setup(const sk_rt *rt, bool *fresh, sk_err *err);
int rt_ns_unpin(const sk_rt *rt, sk_err *err);
struct rt_ns_request {
    bool ipc, uts, net;
    const char *hostname;
    const char *ipc_pin, *uts_pin, *net_pin; /* files to bind the new namespaces on */
};
int rt_ns_create(const struct rt_ns_request *req, sk_err *err);
bool rt_ns_pinned(const char *path, int nstype);

/* ---- sandbox records (runtime_sandbox.c) ---- */
struct rt_sandbox {
    char *id, *hostname, *pod_uid, *netns_path, *user_data, *dir;
    bool netns_owned, host_network, host_ipc, host_pid;
    char **sysctls; size_t n_sysctls;
    int64_t created_ms;
};
int rt_sandbox_load(const sk_rt *rt, const char *id, struct rt_sandbox *sb, sk_err *err);
void rt_sandbox_release(struct rt_sandbox *sb);

/* ---- users (runtime_user.c) ---- */
struct rt_user {
    uint32_t uid, gid;
    uint32_t gids[RT_MAX_GIDS]; /* additional groups */
    size_t n_gids;
};
/* Resolves image USER + runAsUser/Group against ROOTFS/etc/{passwd,group},
 * opened with RESOLVE_IN_ROOT so image symlinks cannot escape. */
int rt_user_resolve(int rootfs_fd, const struct sk_rt_container_config *cfg, struct rt_user *u,
                    sk_err *err);
/* Pure parsers over file contents (unit-tested). */
int rt_passwd_find(const char *passwd, const char *name, long long uid, uint32_t *uid_out,
                   uint32_t *gid_out, char *name_out, size_t name_len);
int rt_group_find(const char *group, const char *name, uint32_t *gid_out);
size_t rt_group_member_gids(const char *group, const char *user, uint32_t primary, uint32_t *out,
                            size_t max);

/* ---- OCI config (runtime_spec.c, runtime_seccomp.c) ---- */
json_t *rt_oci_config(const struct sk_rt_container_config *cfg, const struct rt_sandbox *sb,
                      const struct rt_user *u, const char *rootfs, const char *cgroups_path,
                      sk_err *err);
/* Capability set after default + add - drop (privileged: all). Bitmask by number. */
int rt_caps_compute(const struct sk_rt_container_config *cfg, uint64_t *caps, sk_err *err);
const char *rt_cap_name(int cap); /* "CAP_CHOWN", NULL if unknown */
json_t *rt_seccomp_profile(uint64_t caps);

/* ---- CRI logs (runtime_crilog.c): fixed buffers, no malloc: runs in the shim ---- */
struct rt_log {
    int fd;
    const char *path;
    int64_t max_size, size;
    int max_files;
    bool strip_cr; /* tty output: drop the \r the pty adds before \n */
    struct { char buf[RT_LOG_LINE_MAX]; size_t len; } stream[2]; /* partial lines */
};
int rt_log_open(struct rt_log *l, const char *path, int64_t max_size, int max_files);
void rt_log_feed(struct rt_log *l, int stream, const char *data, size_t n, int64_t now_ns);
void rt_log_flush(struct rt_log *l, int stream, int64_t now_ns); /* partial line at EOF */
void rt_log_close(struct rt_log *l);
/* "2026-01-02T03:04:05.123456789Z"; out >= 32 bytes. */
void rt_cri_timestamp(int64_t unix_ns, char *out, size_t n);
int64_t rt_wall_ns(void);

/* ---- shim (runtime_shim.c) ---- */
struct rt_shim_args {
    const char *crun, *crun_exe, *crun_root, *dir, *id, *log_path;
    const char *oom_file; /* memory.oom_control (v1) or memory.events (v2) */
    bool terminal;
    bool start;           /* crun run --detach instead of crun create */
    int64_t log_max_size;
    int log_max_files;
};
struct rt_shim_reply {
    int32_t ok;
    int32_t pid;
    char msg[1000];
};
/* Starts the shim (through the zygote, else by forking) and waits for its
 * report on `crun create`. */
int rt_shim_spawn(const sk_rt *rt, const struct rt_shim_args *a, struct rt_shim_reply *reply, sk_err *err);
/* Double fork in a new session; the grandchild is the shim, reporting on sync_w. */
void rt_shim_fork(const struct rt_shim_args *a, int sync_w);
/* One fork, for a parent that ignores SIGCHLD (the zygote: its children
 * are reaped by the kernel, and inherited by init when it exits). */
void rt_shim_fork_once(const struct rt_shim_args *a, int sync_w);
/* Accepts one connection on listen_fd and receives the fd it carries
 * (console sockets). -1 with errno. */
int rt_recv_fd(int listen_fd, int timeout_ms);

/* ---- shim zygote (runtime_zygote.c) ---- */
int rt_zygote_start(sk_rt *rt, sk_err *err); /* before threads: it forks */
void rt_zygote_stop(sk_rt *rt);
int rt_zygote_fork_shim(const sk_rt *rt, const struct rt_shim_args *a, int sync_w);

/* ---- containers (runtime_container.c, runtime_status.c) ---- */
int rt_container_status_dir(sk_rt *rt, const char *id, struct sk_rt_status *st, sk_err *err);
int rt_container_kill_wait(sk_rt *rt, const char *id, int sig, int64_t grace_ms, sk_err *err);
/* pidfd of the container's shim if it still runs, else -1. */
int rt_shim_pidfd(sk_rt *rt, const char *id);
int rt_containers_of(sk_rt *rt, const char *sandbox_id, char ***ids, size_t *n, sk_err *err);

#endif

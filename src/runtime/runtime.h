/* sk_rt: the node's container runtime, driving the real `crun` binary.
 *
 * State lives on disk under root_dir, so a restarted agent adopts what the
 * previous one left (see sk_rt_list). Each container gets a shim (our
 * conmon), forked by a small zygote process that sk_rt_init forks (so shims
 * never hold copies of the agent's heap). The shim runs `crun create`, holds the
 * container's stdout/stderr, writes the CRI log file, reaps the container
 * (it is a child subreaper) and records exit code, finish time and the OOM
 * flag. Shims do not depend on the agent: kill -9 of the agent leaves
 * containers and their logs running.
 *
 * Threads: sk_rt_init changes the process's mount namespace and must run
 * before the process starts any thread. Afterwards the handle is read-only:
 * any thread may call any function, concurrently for different ids; calls
 * for the same container or sandbox must be serialized by the caller. Calls
 * block on crun (5-50 ms): make them from worker threads. Children are
 * reaped with waitpid(pid): never waitpid(-1) in the agent, nor ignore
 * SIGCHLD.
 *
 * Partial: a container's stdin is /dev/null and there is no attach to its
 * main process yet (exec works); see also runtime_spec.c. */
#ifndef SK_RUNTIME_H
#define SK_RUNTIME_H

#include "lib/lib.h"

typedef struct sk_rt sk_rt;

struct sk_rt_config {
    const char *root_dir;      /* required, absolute, on disk: containers' writable layers */
    /* Where records, bundles, crun's state and namespace pins live: a tmpfs
     * this module mounts in the agent mount namespace (they only matter
     * while the machine is up). NULL = ROOT/run. */
    const char *state_dir;
    const char *crun_path;     /* NULL = "crun" found in PATH */
    const char *netns_dir;     /* where created netns are pinned; NULL = "/run/netns" */
    const char *cgroup_parent; /* NULL = "/kubepods" */
};

/* One-time process setup, then the handle. Enters the agent mount namespace:
 * the one pinned at ROOT/ns/mnt by a previous agent (containers and mounts
 * are adopted), else a new one (unshare + MS_SLAVE, cgroup2 `unified`
 * unmounted so crun works on hybrid hosts; stale state of an earlier boot is
 * removed) pinned from the original namespace. crun and CNI plugins run as
 * children and inherit it. Mounts made by this module are visible only in
 * that namespace (`nsenter -t AGENT_PID -m`). */
sk_rt *sk_rt_init(const struct sk_rt_config *cfg, sk_err *err);
void sk_rt_free(sk_rt *rt); /* NULL ok; stops the zygote, leaves containers running */
const char *sk_rt_version(const sk_rt *rt); /* crun's, "1.8.1"; borrowed */
/* The state tmpfs (see sk_rt_config.state_dir); other node modules keep
 * their own machine-lifetime files below it. Borrowed. */
const char *sk_rt_state_dir(const sk_rt *rt);
/* Why stale state could not be fully removed at init ("" if it could); for the log. */
const char *sk_rt_warning(const sk_rt *rt);
/* Removes every container and sandbox, crun state, cgroups and the namespace
 * pin (tests, uninstall). The process stays in the unpinned namespace. */
int sk_rt_purge(sk_rt *rt, sk_err *err) SK_MUST_CHECK;

/* ---- pod sandboxes: shared namespaces and per-pod files ------------------ */

struct sk_rt_sandbox_config { /* all borrowed for the call */
    const char *id;          /* required: [A-Za-z0-9][A-Za-z0-9_.-]*, <= 64 chars */
    const char *hostname;    /* required: the UTS hostname and /etc/hostname (pod name; the
                              * node's name for host_network, whose UTS is the host's) */
    const char *pod_uid;     /* cgroup CGROUP_PARENT/<pod_uid>; NULL = id */
    const char *netns_path;  /* join this netns (caller keeps it); NULL = create NETNS_DIR/<id> */
    bool host_network;       /* host netns and UTS (no netns created) */
    bool host_ipc;
    bool host_pid;
    const char *hosts;       /* /etc/hosts content; NULL = localhost entries only */
    const char *resolv_conf; /* /etc/resolv.conf content; NULL = copy of the host's */
    int64_t shm_size;        /* /dev/shm bytes; 0 = 64 MiB */
    const char *const *sysctls; size_t n_sysctls; /* "net.x.y=v", set in every container */
    const char *user_data;   /* opaque to us, returned by sk_rt_sandbox_list (<= 64 KiB) */
};

struct sk_rt_sandbox_info {  /* free strings with sk_rt_sandbox_info_release */
    char *id, *hostname, *pod_uid, *netns_path, *user_data;
    bool netns_owned;        /* we created the netns and delete it on removal */
    bool host_network, host_ipc, host_pid;
    int64_t created_ms;      /* wall clock */
};

/* Creates IPC and UTS namespaces (hostname set) and a netns with lo up
 * unless given, each pinned by a bind mount (no pause process), a /dev/shm
 * tmpfs and the hosts, resolv.conf and hostname files. out (may be NULL)
 * gets netns_path for CNI; pins live in the agent mount namespace, so CNI
 * plugins must run as the agent's children. SK_EEXIST if id exists. */
int sk_rt_sandbox_create(sk_rt *rt, const struct sk_rt_sandbox_config *cfg,
                         struct sk_rt_sandbox_info *out, sk_err *err) SK_MUST_CHECK;
/* Force-removes its containers, unmounts the pins, deletes the netns we
 * created, the pod dir and pod cgroups. Idempotent: 0 when unknown. */
int sk_rt_sandbox_remove(sk_rt *rt, const char *id, sk_err *err) SK_MUST_CHECK;
int sk_rt_sandbox_get(sk_rt *rt, const char *id, struct sk_rt_sandbox_info *out,
                      sk_err *err) SK_MUST_CHECK;
int sk_rt_sandbox_list(sk_rt *rt, struct sk_rt_sandbox_info **out, size_t *n,
                       sk_err *err) SK_MUST_CHECK; /* free with sk_rt_sandbox_list_free */
void sk_rt_sandbox_info_release(struct sk_rt_sandbox_info *info);
void sk_rt_sandbox_list_free(struct sk_rt_sandbox_info *list, size_t n);

/* ---- containers ------------------------------------------------------------ */

struct sk_rt_mount {
    const char *source;      /* host path, bind-mounted (rbind) */
    const char *destination; /* absolute path in the container */
    bool readonly;
};

enum sk_rt_seccomp { SK_RT_SECCOMP_DEFAULT, SK_RT_SECCOMP_UNCONFINED };

struct sk_rt_container_config { /* all borrowed for the call; arrays may be NULL when n = 0 */
    const char *id;          /* required, unique: [A-Za-z0-9][A-Za-z0-9_.-]*, <= 64 chars */
    const char *sandbox_id;  /* required */
    const char *name;        /* container name, kept for the caller */
    const char *const *lower_dirs; size_t n_lower; /* required: unpacked layers, top-most first */
    const char *const *args; size_t n_args;        /* required, resolved by the caller */
    const char *const *env; size_t n_env;          /* "K=V"; PATH, HOSTNAME, TERM added if absent */
    const char *cwd;         /* NULL = "/" */
    const char *image_user;  /* image USER: "uid[:gid]" or "name[:group]", looked up in the rootfs */
    int64_t run_as_user;     /* -1 = from image_user (else 0) */
    int64_t run_as_group;    /* -1 = from image_user or the user's passwd entry */
    const uint32_t *supplemental_gids; size_t n_supplemental_gids;
    const char *const *cap_add; size_t n_cap_add;   /* "NET_ADMIN" or "CAP_NET_ADMIN"; "ALL" */
    const char *const *cap_drop; size_t n_cap_drop; /* over containerd's default set */
    bool privileged, readonly_rootfs, no_new_privileges, terminal;
    enum sk_rt_seccomp seccomp;
    const struct sk_rt_mount *mounts; size_t n_mounts; /* volumes; may shadow /etc/hosts etc. */
    int64_t memory_limit;    /* bytes; 0 = none */
    uint64_t cpu_shares;     /* 0 = default */
    int64_t cpu_quota;       /* us per period; 0 = none */
    uint64_t cpu_period;     /* us; 0 = 100000 */
    int64_t pids_limit;      /* 0 = none */
    int oom_score_adj;
    int stop_signal;         /* for sk_rt_container_stop; 0 = SIGTERM */
    const char *log_path;    /* required: CRI log file ("<RFC3339Nano> stdout|stderr F|P <text>"
                              * per line), rotated by size to .1 (newest) .. .N */
    int64_t log_max_size;    /* 0 = 10 MiB */
    int log_max_files;       /* rotated files kept; 0 = 4 */
    const char *user_data;   /* opaque, returned in status (<= 64 KiB) */
    /* Start it too, in the same crun call (`crun run --detach`, one exec
     * less than create + start): it is running when create returns, and
     * sk_rt_container_start is not called. */
    bool start;
};

enum sk_rt_state { SK_RT_CREATED, SK_RT_RUNNING, SK_RT_EXITED, SK_RT_UNKNOWN };

struct sk_rt_status { /* free strings with sk_rt_status_release */
    char *id, *sandbox_id, *name, *log_path, *user_data;
    enum sk_rt_state state;
    int pid;                 /* host pid while created/running, else 0 */
    int exit_code;           /* EXITED: status, 128+signal when killed; 255 unknown */
    bool oom_killed;         /* the container's memory cgroup OOM-killed a process */
    int64_t created_ms, started_ms, finished_ms; /* wall clock, 0 = not yet */
    char message[256];       /* why UNKNOWN, or a lost shim */
};

/* Mounts the overlay rootfs, writes the OCI bundle and starts the shim,
 * which runs `crun create` (the process waits for sk_rt_container_start). */
int sk_rt_container_create(sk_rt *rt, const struct sk_rt_container_config *cfg,
                           sk_err *err) SK_MUST_CHECK;
int sk_rt_container_start(sk_rt *rt, const char *id, sk_err *err) SK_MUST_CHECK;
/* stop_signal (SIGTERM), then SIGKILL after grace_ms; returns once the exit
 * is recorded. 0 if already exited. */
int sk_rt_container_stop(sk_rt *rt, const char *id, int64_t grace_ms, sk_err *err) SK_MUST_CHECK;
/* Kills if needed, `crun delete`, unmounts and deletes everything but the
 * log file. SK_ENOTFOUND when unknown. */
int sk_rt_container_remove(sk_rt *rt, const char *id, sk_err *err) SK_MUST_CHECK;
int sk_rt_container_status(sk_rt *rt, const char *id, struct sk_rt_status *st,
                           sk_err *err) SK_MUST_CHECK;
/* A pidfd that polls readable once the exit is recorded (caller closes). */
int sk_rt_container_exit_fd(sk_rt *rt, const char *id, sk_err *err) SK_MUST_CHECK;
/* Every container: ours (metadata) and crun's without metadata (UNKNOWN). */
int sk_rt_list(sk_rt *rt, struct sk_rt_status **out, size_t *n, sk_err *err) SK_MUST_CHECK;
void sk_rt_status_release(struct sk_rt_status *st);
void sk_rt_status_list_free(struct sk_rt_status *list, size_t n);

/* ---- exec: a process in a running container (`crun exec`) --------------- */

struct sk_rt_exec_config {
    const char *const *args; size_t n_args; /* required */
    const char *const *env; size_t n_env;   /* added to the container's env */
    const char *cwd;         /* NULL = the container's */
    bool tty;                /* pty: fd 0 and 1 are its master, fd 2 carries crun's errors */
    bool stdin_open;         /* else stdin is /dev/null */
    unsigned short rows, cols; /* initial tty size; 0 = leave */
};

typedef struct sk_rt_exec sk_rt_exec;
/* SK_ECONFLICT when the container is not running. */
sk_rt_exec *sk_rt_exec_start(sk_rt *rt, const char *id, const struct sk_rt_exec_config *cfg,
                             sk_err *err);
/* which: 0 stdin, 1 stdout, 2 stderr; borrowed, -1 if none. Non-blocking. */
int sk_rt_exec_fd(const sk_rt_exec *e, int which);
void sk_rt_exec_close_stdin(sk_rt_exec *e); /* EOF for pipes; ^D for a tty */
int sk_rt_exec_resize(sk_rt_exec *e, unsigned short rows, unsigned short cols, sk_err *err);
int sk_rt_exec_pidfd(const sk_rt_exec *e); /* polls readable at exit; borrowed */
/* timeout_ms < 0 waits forever; SK_ETIMEOUT if still running. exit_code is
 * the process's status (128+signal if killed), 255 if crun failed. */
int sk_rt_exec_wait(sk_rt_exec *e, int timeout_ms, int *exit_code, sk_err *err) SK_MUST_CHECK;
int sk_rt_exec_kill(sk_rt_exec *e, int sig, sk_err *err); /* the exec'd process */
void sk_rt_exec_free(sk_rt_exec *e); /* NULL ok; kills it if running, reaps */

#endif

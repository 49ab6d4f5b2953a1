/* Capabilities (containerd's default set and add/drop rules) and the
 * default seccomp profile.
 *
 * The profile allows by default and returns EPERM for syscalls that reach
 * outside the container: kernel modules, kexec/reboot, clocks, mounts and
 * namespace changes, keyrings, BPF/perf, io_uring, obsolete ABIs. Like
 * Docker's, a group is allowed again when the container holds the
 * capability that guards it (e.g. mount with CAP_SYS_ADMIN). Docker's
 * profile denies by default instead; this one is shorter and new syscalls
 * stay allowed, which is the deliberate trade-off. */
#include "runtime/runtime_int.h"

#include <ctype.h>
#include <string.h>

#define CAP_LAST 40

static const char *const cap_names[CAP_LAST + 1] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
};

enum { C_CHOWN = 0, C_DAC_OVERRIDE = 1, C_DAC_READ_SEARCH = 2, C_FOWNER = 3, C_FSETID = 4, C_KILL = 5,
       C_SETGID = 6, C_SETUID = 7, C_SETPCAP = 8, C_NET_BIND_SERVICE = 10, C_NET_RAW = 13,
       C_SYS_MODULE = 16, C_SYS_RAWIO = 17, C_SYS_CHROOT = 18, C_SYS_PACCT = 20, C_SYS_ADMIN = 21,
       C_SYS_BOOT = 22, C_SYS_TIME = 25, C_MKNOD = 27, C_AUDIT_WRITE = 29, C_SETFCAP = 31,
       C_SYSLOG = 34, C_BPF = 39, C_NONE = -1 };

#define BIT(c) (1ULL << (c))
/* containerd's default capability set. */
static const uint64_t default_caps =
    BIT(C_CHOWN) | BIT(C_DAC_OVERRIDE) | BIT(C_FSETID) | BIT(C_FOWNER) | BIT(C_MKNOD) | BIT(C_NET_RAW) |
    BIT(C_SETGID) | BIT(C_SETUID) | BIT(C_SETFCAP) | BIT(C_SETPCAP) | BIT(C_NET_BIND_SERVICE) |
    BIT(C_SYS_CHROOT) | BIT(C_KILL) | BIT(C_AUDIT_WRITE);
static const uint64_t all_caps = (CAP_LAST == 63) ? ~0ULL : (BIT(CAP_LAST + 1) - 1);

const char *rt_cap_name(int cap)
{
    return cap >= 0 && cap <= CAP_LAST ? cap_names[cap] : NULL;
}

/* "net_admin", "NET_ADMIN" or "CAP_NET_ADMIN" -> number; -1 if unknown. */
static int cap_lookup(const char *name)
{
    char up[64];
    size_t n = strlen(name);
    if (n + 5 > sizeof up) return -1;
    size_t off = strncasecmp(name, "CAP_", 4) ? 4 : 0;
    memcpy(up, "CAP_", 4);
    for (size_t i = 0; i <= n; i++) up[off + i] = (char)toupper((unsigned char)name[i]);
    for (int c = 0; c <= CAP_LAST; c++)
        if (!strcmp(up, cap_names[c])) return c;
    return -1;
}

static bool is_all(const char *s)
{
    return s && !strcasecmp(s, "ALL");
}

/* containerd's order: add ALL, drop ALL, then single adds, then single drops. */
int rt_caps_compute(const struct sk_rt_container_config *cfg, uint64_t *caps, sk_err *err)
{
    if (cfg->privileged) {
        *caps = all_caps;
        return 0;
    }
    uint64_t c = default_caps;
    for (size_t i = 0; i < cfg->n_cap_add; i++)
        if (is_all(cfg->cap_add[i])) c = all_caps;
    for (size_t i = 0; i < cfg->n_cap_drop; i++)
        if (is_all(cfg->cap_drop[i])) c = 0;
    for (int pass = 0; pass < 2; pass++) {
        const char *const *list = pass ? cfg->cap_drop : cfg->cap_add;
        size_t n = pass ? cfg->n_cap_drop : cfg->n_cap_add;
        for (size_t i = 0; i < n; i++) {
            if (!list[i]) return sk_err_set(err, SK_EINVALID, "empty capability name");
            if (is_all(list[i])) continue;
            int num = cap_lookup(list[i]);
            if (num < 0) return sk_err_set(err, SK_EINVALID, "unknown capability \"%s\"", list[i]);
            c = pass ? c & ~BIT(num) : c | BIT(num);
        }
    }
    *caps = c;
    return 0;
}

static const struct {
    int cap; /* holding it lifts the block; C_NONE = always blocked */
    const char *names;
} blocked[] = {
    {C_SYS_MODULE, "init_module finit_module delete_module create_module query_module get_kernel_syms"},
    {C_SYS_BOOT, "kexec_load kexec_file_load reboot"},
    {C_SYS_TIME, "settimeofday stime clock_settime clock_settime64 clock_adjtime clock_adjtime64 adjtimex"},
    {C_SYS_ADMIN, "mount umount umount2 pivot_root unshare setns fsopen fsconfig fsmount fspick "
                  "move_mount open_tree mount_setattr swapon swapoff quotactl quotactl_fd "
                  "lookup_dcookie fanotify_init name_to_handle_at perf_event_open sethostname "
                  "setdomainname"},
    {C_BPF, "bpf"},
    {C_SYS_PACCT, "acct"},
    {C_SYS_RAWIO, "iopl ioperm"},
    {C_DAC_READ_SEARCH, "open_by_handle_at"},
    {C_SYSLOG, "syslog"},
    {C_NONE, "add_key keyctl request_key userfaultfd uselib ustat sysfs _sysctl vm86 vm86old "
             "nfsservctl io_uring_setup io_uring_enter io_uring_register"},
};

static void add_names(json_t *arr, const char *names)
{
    for (const char *p = names; *p;) {
        size_t n = strcspn(p, " ");
        if (n) json_array_append_new(arr, json_stringn(p, n));
        p += n;
        p += strspn(p, " ");
    }
}

json_t *rt_seccomp_profile(uint64_t caps)
{
    json_t *names = json_array();
    for (size_t i = 0; i < SK_ARRAY_LEN(blocked); i++)
        if (blocked[i].cap == C_NONE || !(caps & BIT(blocked[i].cap))) add_names(names, blocked[i].names);
#if defined(__x86_64__)
    json_t *arch = json_pack("[sss]", "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32");
#elif defined(__aarch64__)
    json_t *arch = json_pack("[ss]", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM");
#else
    json_t *arch = json_array();
#endif
    return json_pack("{s:s, s:o, s:[{s:o, s:s, s:i}]}", "defaultAction", "SCMP_ACT_ALLOW", "architectures",
                     arch, "syscalls", "names", names, "action", "SCMP_ACT_ERRNO", "errnoRet", 1);
}

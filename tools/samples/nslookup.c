/* nslookup for skiff's built-in images: a small static DNS client that,
 * unlike busybox's, follows the resolver's search rules from
 * /etc/resolv.conf (search list, ndots), as bind's nslookup in the
 * tutorial's dnsutils image does, so `nslookup kubernetes.default` works in
 * a pod. Types A (default, with AAAA), AAAA, SRV, PTR (an address as the
 * name). Prints bind-style output; exit 1 when nothing is found.
 *
 * Standalone on purpose (no libc resolver, no libraries): it runs inside
 * containers. Parsing is bounds-checked; compression pointers are followed
 * at most 32 times. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { T_A = 1, T_PTR = 12, T_AAAA = 28, T_SRV = 33 };

struct conf {
    char server[64];
    int port;
    char search[6][256];
    int nsearch, ndots;
};

static void read_conf(struct conf *c)
{
    snprintf(c->server, sizeof c->server, "127.0.0.1");
    c->port = 53;
    c->ndots = 1;
    FILE *f = fopen("/etc/resolv.conf", "r");
    if (!f) return;
    char line[512];
    int have_ns = 0;
    while (fgets(line, sizeof line, f)) {
        char *save = NULL, *k = strtok_r(line, " \t\r\n", &save);
        if (!k) continue;
        if (!strcmp(k, "nameserver") && !have_ns) {
            char *v = strtok_r(NULL, " \t\r\n", &save);
            if (v) {
                snprintf(c->server, sizeof c->server, "%s", v);
                have_ns = 1;
            }
        } else if (!strcmp(k, "search") || !strcmp(k, "domain")) {
            c->nsearch = 0;
            for (char *v; (v = strtok_r(NULL, " \t\r\n", &save)) && c->nsearch < 6;)
                snprintf(c->search[c->nsearch++], sizeof c->search[0], "%s", v);
        } else if (!strcmp(k, "options")) {
            for (char *v; (v = strtok_r(NULL, " \t\r\n", &save));)
                if (!strncmp(v, "ndots:", 6)) c->ndots = atoi(v + 6);
        }
    }
    fclose(f);
}

/* Query packet for name/type into q; returns its length or -1. */
static int build_query(const char *name, int type, unsigned short id, unsigned char *q, size_t cap)
{
    size_t n = 12;
    memset(q, 0, 12);
    q[0] = (unsigned char)(id >> 8), q[1] = (unsigned char)id;
    q[2] = 0x01; /* RD */
    q[5] = 1;    /* QDCOUNT */
    const char *p = name;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        if (l == 0 || l > 63 || n + l + 6 > cap) return -1;
        q[n++] = (unsigned char)l;
        memcpy(q + n, p, l);
        n += l;
        p += l;
        if (*p == '.') p++;
    }
    q[n++] = 0;
    q[n++] = (unsigned char)(type >> 8), q[n++] = (unsigned char)type;
    q[n++] = 0, q[n++] = 1; /* IN */
    return (int)n;
}

/* Reads a (possibly compressed) name at *off into out; advances *off. */
static int read_name(const unsigned char *m, size_t len, size_t *off, char *out, size_t cap)
{
    size_t o = *off, w = 0;
    int jumps = 0, jumped = 0;
    for (;;) {
        if (o >= len) return -1;
        unsigned c = m[o];
        if ((c & 0xc0) == 0xc0) {
            if (o + 1 >= len || ++jumps > 32) return -1;
            if (!jumped) *off = o + 2;
            jumped = 1;
            o = ((c & 0x3f) << 8) | m[o + 1];
            continue;
        }
        if (c == 0) {
            if (!jumped) *off = o + 1;
            break;
        }
        if (c > 63 || o + 1 + c > len || w + c + 2 > cap) return -1;
        if (w) out[w++] = '.';
        memcpy(out + w, m + o + 1, c);
        w += c;
        o += 1 + c;
    }
    out[w] = 0;
    return 0;
}

static int ask(const struct conf *c, const unsigned char *q, int qlen, unsigned char *r, size_t cap)
{
    struct sockaddr_in6 a6 = {0};
    struct sockaddr_in a4 = {0};
    struct sockaddr *sa;
    socklen_t sl;
    int fam;
    if (inet_pton(AF_INET, c->server, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET, a4.sin_port = htons((unsigned short)c->port);
        sa = (struct sockaddr *)&a4, sl = sizeof a4, fam = AF_INET;
    } else if (inet_pton(AF_INET6, c->server, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6, a6.sin6_port = htons((unsigned short)c->port);
        sa = (struct sockaddr *)&a6, sl = sizeof a6, fam = AF_INET6;
    } else {
        return -1;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        int fd = socket(fam, SOCK_DGRAM, 0);
        if (fd < 0) return -1;
        if (connect(fd, sa, sl) < 0 || send(fd, q, (size_t)qlen, 0) < 0) {
            close(fd);
            return -1;
        }
        struct pollfd p = {fd, POLLIN, 0};
        int n = -1;
        while (poll(&p, 1, 2000) > 0) {
            n = (int)recv(fd, r, cap, 0);
            if (n >= 12 && r[0] == q[0] && r[1] == q[1]) break;
            n = -1;
        }
        close(fd);
        if (n >= 12) return n;
    }
    return -1;
}

/* Prints the answers of one response; returns the number printed, -rcode-1
 * for an error response. */
static int print_answers(const unsigned char *m, int len, int type)
{
    int rcode = m[3] & 0x0f;
    if (rcode) return -rcode - 1;
    int qd = (m[4] << 8) | m[5], an = (m[6] << 8) | m[7];
    size_t off = 12;
    char name[512], target[512];
    for (int i = 0; i < qd; i++) {
        if (read_name(m, (size_t)len, &off, name, sizeof name) < 0) return 0;
        off += 4;
    }
    int printed = 0;
    for (int i = 0; i < an; i++) {
        if (read_name(m, (size_t)len, &off, name, sizeof name) < 0 || off + 10 > (size_t)len) break;
        int t = (m[off] << 8) | m[off + 1];
        size_t rdlen = (size_t)((m[off + 8] << 8) | m[off + 9]);
        off += 10;
        if (off + rdlen > (size_t)len) break;
        char ip[64];
        if (t == T_A && rdlen == 4 && (type == T_A)) {
            inet_ntop(AF_INET, m + off, ip, sizeof ip);
            printf("Name:\t%s\nAddress: %s\n", name, ip);
            printed++;
        } else if (t == T_AAAA && rdlen == 16 && (type == T_AAAA || type == T_A)) {
            inet_ntop(AF_INET6, m + off, ip, sizeof ip);
            printf("Name:\t%s\nAddress: %s\n", name, ip);
            printed++;
        } else if (t == T_SRV && type == T_SRV && rdlen > 6) {
            size_t o = off + 6;
            if (read_name(m, (size_t)len, &o, target, sizeof target) == 0) {
                printf("%s\tservice = %d %d %d %s.\n", name, (m[off] << 8) | m[off + 1],
                       (m[off + 2] << 8) | m[off + 3], (m[off + 4] << 8) | m[off + 5], target);
                printed++;
            }
        } else if (t == T_PTR && type == T_PTR) {
            size_t o = off;
            if (read_name(m, (size_t)len, &o, target, sizeof target) == 0) {
                printf("%s\tname = %s.\n", name, target);
                printed++;
            }
        } else if (t == 5) { /* CNAME */
            size_t o = off;
            if (read_name(m, (size_t)len, &o, target, sizeof target) == 0)
                printf("%s\tcanonical name = %s.\n", name, target);
        }
        off += rdlen;
    }
    return printed;
}

static int lookup(const struct conf *c, const char *fqdn, int type, int *rcode)
{
    unsigned char q[600], r[4096];
    unsigned short id = (unsigned short)(getpid() ^ time(NULL) ^ (long)fqdn);
    int total = 0;
    int types[2] = {type, type == T_A ? T_AAAA : 0};
    for (int k = 0; k < 2 && types[k]; k++) {
        int ql = build_query(fqdn, types[k], (unsigned short)(id + k), q, sizeof q);
        if (ql < 0) return -1;
        int n = ask(c, q, ql, r, sizeof r);
        if (n < 0) {
            *rcode = -1;
            return total ? total : -1;
        }
        int p = print_answers(r, n, type);
        if (p < 0) {
            if (k == 0) *rcode = -p - 1;
            if (k == 0) return -1;
        } else {
            total += p;
        }
    }
    if (total == 0 && *rcode == 0) *rcode = 0;
    return total;
}

static void reverse_name(const char *ip, char *out, size_t n)
{
    unsigned char b[16];
    if (inet_pton(AF_INET, ip, b) == 1) {
        snprintf(out, n, "%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1], b[0]);
    } else if (inet_pton(AF_INET6, ip, b) == 1) {
        size_t w = 0;
        for (int i = 15; i >= 0 && w + 5 < n; i--)
            w += (size_t)snprintf(out + w, n - w, "%x.%x.", b[i] & 0xf, b[i] >> 4);
        snprintf(out + w, n - w, "ip6.arpa");
    } else {
        snprintf(out, n, "%s", ip);
    }
}

int main(int argc, char **argv)
{
    int type = T_A;
    const char *name = NULL, *server = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strncmp(a, "-type=", 6) || !strncmp(a, "-query=", 7) || !strncmp(a, "-q=", 3)) {
            const char *t = strchr(a, '=') + 1;
            if (!strcasecmp(t, "A")) type = T_A;
            else if (!strcasecmp(t, "AAAA")) type = T_AAAA;
            else if (!strcasecmp(t, "SRV")) type = T_SRV;
            else if (!strcasecmp(t, "PTR")) type = T_PTR;
            else {
                fprintf(stderr, "nslookup: unsupported type %s (A, AAAA, SRV, PTR)\n", t);
                return 2;
            }
        } else if (a[0] == '-') {
            continue; /* -debug and friends: accepted, ignored */
        } else if (!name) {
            name = a;
        } else {
            server = a;
        }
    }
    if (!name) {
        fprintf(stderr, "usage: nslookup [-type=A|AAAA|SRV|PTR] NAME [SERVER]\n");
        return 2;
    }
    struct conf c = {0};
    read_conf(&c);
    if (server) snprintf(c.server, sizeof c.server, "%s", server);
    printf("Server:\t\t%s\nAddress:\t%s#%d\n\n", c.server, c.server, c.port);
    unsigned char tmp[16];
    char rev[256];
    if (inet_pton(AF_INET, name, tmp) == 1 || inet_pton(AF_INET6, name, tmp) == 1) {
        reverse_name(name, rev, sizeof rev);
        name = rev;
        type = T_PTR;
    }
    /* the resolver's order: absolute first when the name has ndots dots */
    char cands[8][600];
    int nc = 0, dots = 0;
    size_t len = strlen(name);
    for (const char *p = name; *p; p++) dots += *p == '.';
    if (len && name[len - 1] == '.') {
        snprintf(cands[nc++], sizeof cands[0], "%.*s", (int)(len - 1), name);
    } else {
        if (dots >= c.ndots) snprintf(cands[nc++], sizeof cands[0], "%s", name);
        for (int i = 0; i < c.nsearch && nc < 7; i++)
            snprintf(cands[nc++], sizeof cands[0], "%s.%s", name, c.search[i]);
        if (dots < c.ndots) snprintf(cands[nc++], sizeof cands[0], "%s", name);
    }
    int last = 3; /* NXDOMAIN */
    for (int i = 0; i < nc; i++) {
        int rcode = 0;
        int n = lookup(&c, cands[i], type, &rcode);
        if (n > 0) return 0;
        if (rcode < 0) last = -1;
        else if (rcode) last = rcode;
        else last = 0;
    }
    if (last < 0) printf(";; connection timed out; no servers could be reached\n");
    else printf("** server can't find %s: %s\n", name, last == 3 ? "NXDOMAIN" : last == 2 ? "SERVFAIL"
                                                                       : last == 0 ? "NODATA" : "REFUSED");
    return 1;
}

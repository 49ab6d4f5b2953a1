/* Skiff's built-in equivalent of agnhost's `netexec` subcommand
 * (registry.k8s.io/e2e-test-images/agnhost): HTTP on :8080 with /hostname,
 * /echo?msg=, /clientip, /exit?code=, /shell?cmd= (runs /bin/sh -c and
 * answers {"output": "..."}), and a UDP echo server on :8081 that answers
 * each datagram with its own payload (agnhost's "echo <x>" command answers
 * "<x>"; "hostname" answers the host name).
 *
 * Partial: agnhost's other netexec endpoints (/dial, /upload, /redirect,
 * SCTP) and subcommands are not implemented.
 *
 * Usage: agnhost|netexec [netexec] [--http-port N] [--udp-port N]. A thread
 * per connection keeps a slow /shell from blocking the others. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_OUTPUT (1 << 20)

static char host[256] = "unknown";

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        p += w;
        n -= (size_t)w;
    }
}

static void reply(int fd, int status, const char *type, const char *body, size_t len)
{
    char head[256];
    const char *reason = status == 200 ? "OK" : status == 404 ? "Not Found" : "Bad Request";
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n", status, reason, type, len);
    write_all(fd, head, (size_t)hl);
    write_all(fd, body, len);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Copies query parameter NAME, percent- and plus-decoded, into out. */
static int query_param(const char *query, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    for (const char *p = query; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (strncmp(p, name, nl) || p[nl] != '=') continue;
        size_t o = 0;
        for (const char *q = p + nl + 1; *q && *q != '&' && o + 1 < n; q++) {
            if (*q == '+') out[o++] = ' ';
            else if (*q == '%' && hexval(q[1]) >= 0 && hexval(q[2]) >= 0) {
                out[o++] = (char)(hexval(q[1]) * 16 + hexval(q[2]));
                q += 2;
            } else out[o++] = *q;
        }
        out[o] = '\0';
        return 0;
    }
    return -1;
}

/* JSON-escapes src into a malloc'd string. */
static char *json_escape(const char *src, size_t len)
{
    char *out = malloc(len * 6 + 1), *o = out;
    if (!out) return NULL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == '"' || c == '\\') { *o++ = '\\'; *o++ = (char)c; }
        else if (c == '\n') { *o++ = '\\'; *o++ = 'n'; }
        else if (c == '\t') { *o++ = '\\'; *o++ = 't'; }
        else if (c == '\r') { *o++ = '\\'; *o++ = 'r'; }
        else if (c < 0x20) o += snprintf(o, 7, "\\u%04x", c);
        else *o++ = (char)c;
    }
    *o = '\0';
    return out;
}

static void do_shell(int fd, const char *cmd)
{
    /* popen runs /bin/sh -c CMD, as agnhost does; stderr is merged so the
     * caller sees errors too. */
    size_t cl = strlen(cmd);
    char *full = malloc(cl + 8);
    if (!full) return;
    snprintf(full, cl + 8, "%s 2>&1", cmd);
    FILE *f = popen(full, "r");
    free(full);
    char *buf = malloc(MAX_OUTPUT);
    size_t len = 0;
    if (f && buf) {
        size_t r;
        while (len < MAX_OUTPUT && (r = fread(buf + len, 1, MAX_OUTPUT - len, f)) > 0) len += r;
    }
    if (f) pclose(f);
    char *esc = json_escape(buf ? buf : "", buf ? len : 0);
    free(buf);
    if (!esc) return;
    size_t bl = strlen(esc) + 16;
    char *body = malloc(bl);
    if (body) {
        int n = snprintf(body, bl, "{\"output\":\"%s\"}", esc);
        reply(fd, 200, "application/json", body, (size_t)n);
    }
    free(body);
    free(esc);
}

static void route(int fd, char *target, const struct sockaddr_storage *peer)
{
    char *query = strchr(target, '?');
    if (query) *query++ = '\0';
    char small[128];
    if (!strcmp(target, "/hostname")) {
        reply(fd, 200, "text/plain", host, strlen(host));
    } else if (!strcmp(target, "/echo")) {
        char *msg = malloc(65536);
        if (!msg) return;
        if (query_param(query, "msg", msg, 65536) < 0) msg[0] = '\0';
        reply(fd, 200, "text/plain", msg, strlen(msg));
        free(msg);
    } else if (!strcmp(target, "/clientip")) {
        char ip[INET6_ADDRSTRLEN] = "?";
        int port = 0;
        if (peer->ss_family == AF_INET6) {
            const struct sockaddr_in6 *a = (const void *)peer;
            inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
            port = ntohs(a->sin6_port);
            if (!strncmp(ip, "::ffff:", 7)) memmove(ip, ip + 7, strlen(ip + 7) + 1);
        } else {
            const struct sockaddr_in *a = (const void *)peer;
            inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
            port = ntohs(a->sin_port);
        }
        int n = snprintf(small, sizeof small, "%s:%d", ip, port);
        reply(fd, 200, "text/plain", small, (size_t)n);
    } else if (!strcmp(target, "/exit")) {
        int code = 0;
        if (query_param(query, "code", small, sizeof small) == 0) code = (int)strtol(small, NULL, 10);
        reply(fd, 200, "text/plain", "", 0);
        fflush(stdout);
        _exit(code & 0xff);
    } else if (!strcmp(target, "/shell")) {
        char *cmd = malloc(65536);
        if (!cmd) return;
        if (query_param(query, "cmd", cmd, 65536) < 0) cmd[0] = '\0';
        do_shell(fd, cmd);
        free(cmd);
    } else if (!strcmp(target, "/") || !strcmp(target, "/healthz")) {
        reply(fd, 200, "text/plain", "NOW: ok", 7);
    } else {
        reply(fd, 404, "text/plain", "404 page not found\n", 19);
    }
}

struct conn {
    int fd;
    struct sockaddr_storage peer;
};

static void *conn_main(void *p)
{
    struct conn *c = p;
    struct timeval tmo = {30, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof tmo);
    char buf[16384];
    size_t len = 0;
    while (len < sizeof buf - 1 && !strstr(buf, "\r\n\r\n")) {
        ssize_t r = read(c->fd, buf + len, sizeof buf - 1 - len);
        if (r <= 0) break;
        len += (size_t)r;
        buf[len] = '\0';
    }
    buf[len] = '\0';
    char *sp = strchr(buf, ' '), *end = sp ? strchr(sp + 1, ' ') : NULL;
    if (end) {
        *end = '\0';
        printf("GET %s\n", sp + 1);
        fflush(stdout);
        route(c->fd, sp + 1, &c->peer);
    } else if (len > 0) {
        reply(c->fd, 400, "text/plain", "bad request\n", 12);
    }
    close(c->fd);
    free(c);
    return NULL;
}

static int listen_on(int type, int port)
{
    int s = socket(AF_INET6, type | SOCK_CLOEXEC, 0), one = 1, zero = 0;
    if (s >= 0) {
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
        if (bind(s, (struct sockaddr *)&a, sizeof a) == 0) goto bound;
        close(s);
    }
    s = socket(AF_INET, type | SOCK_CLOEXEC, 0); /* no IPv6 in this namespace */
    if (s < 0) return -1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (bind(s, (struct sockaddr *)&a4, sizeof a4) < 0) return close(s), -1;
bound:
    if (type == SOCK_STREAM && listen(s, 128) < 0) return close(s), -1;
    return s;
}

static void *udp_main(void *p)
{
    int s = (int)(intptr_t)p;
    char buf[65536];
    for (;;) {
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(s, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &fl);
        if (n < 0) continue;
        buf[n] = '\0';
        const char *out = buf;
        size_t ol = (size_t)n;
        if (!strncmp(buf, "echo ", 5)) out += 5, ol -= 5;
        else if (!strcmp(buf, "hostname")) out = host, ol = strlen(host);
        sendto(s, out, ol, 0, (struct sockaddr *)&from, fl);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int http_port = 8080, udp_port = 8081;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "netexec")) continue;
        if ((!strcmp(a, "--http-port") || !strcmp(a, "--port")) && i + 1 < argc)
            http_port = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "--udp-port") && i + 1 < argc)
            udp_port = (int)strtol(argv[++i], NULL, 10);
        else if (!strncmp(a, "--http-port=", 12)) http_port = (int)strtol(a + 12, NULL, 10);
        else if (!strncmp(a, "--udp-port=", 11)) udp_port = (int)strtol(a + 11, NULL, 10);
    }
    gethostname(host, sizeof host - 1);
    signal(SIGPIPE, SIG_IGN);
    int hs = listen_on(SOCK_STREAM, http_port);
    if (hs < 0) {
        perror("netexec: http listen");
        return 1;
    }
    if (udp_port > 0) {
        int us = listen_on(SOCK_DGRAM, udp_port);
        pthread_t t;
        if (us < 0) perror("netexec: udp bind");
        else if (pthread_create(&t, NULL, udp_main, (void *)(intptr_t)us) == 0) pthread_detach(t);
    }
    printf("Started HTTP server on port %d\nStarted UDP server on port %d\n", http_port, udp_port);
    fflush(stdout);
    for (;;) {
        struct conn *c = calloc(1, sizeof *c);
        if (!c) continue;
        socklen_t pl = sizeof c->peer;
        c->fd = accept4(hs, (struct sockaddr *)&c->peer, &pl, SOCK_CLOEXEC);
        pthread_t t;
        if (c->fd < 0 || pthread_create(&t, NULL, conn_main, c) != 0) {
            if (c->fd >= 0) close(c->fd);
            free(c);
            continue;
        }
        pthread_detach(t);
    }
}

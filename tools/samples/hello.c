/* Skiff's built-in equivalent of the Kubernetes tutorial's bootcamp app
 * (gcr.io/google-samples/kubernetes-bootcamp): HTTP/1.1 on :8080 answering
 * every request with one line naming the host and the version, logging a
 * line per request to stdout; keep-alive connections and many clients at
 * once, as the original Node.js app. Built as a static executable and packed into
 * an image by src/runtime/image/builtin.c; deliberately dependency-free.
 *
 * Usage: hello [--port N] [--version N]; VERSION in the environment sets
 * the default version (1). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
    (void)sig;
    stopping = 1;
}

static void now_string(char *out, size_t n)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    char base[40];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%s.%03ldZ", base, (long)(tv.tv_usec / 1000));
}

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

/* One client connection: bytes of the request being read. Like the
 * original (Node's http server) it keeps connections alive, so several
 * requests may come on one, and serves many clients at once. */
#define MAX_CLIENTS 256
#define REQ_MAX 8192
struct client {
    int fd;
    size_t len;
    int64_t idle_since;
    char buf[REQ_MAX];
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Case-insensitive search for "Connection: close" or HTTP/1.0 without keep-alive. */
static int wants_close(const char *req)
{
    const char *line_end = strstr(req, "\r\n");
    int http10 = line_end && line_end - req >= 8 && !strncmp(line_end - 8, "HTTP/1.0", 8);
    int close_hdr = 0, keep_hdr = 0;
    for (const char *p = req; (p = strchr(p, '\n')); p++) {
        if (!strncasecmp(p + 1, "connection:", 11)) {
            const char *v = p + 12;
            while (*v == ' ') v++;
            if (!strncasecmp(v, "close", 5)) close_hdr = 1;
            if (!strncasecmp(v, "keep-alive", 10)) keep_hdr = 1;
        }
    }
    return close_hdr || (http10 && !keep_hdr);
}

/* Answers every complete request in c's buffer; returns -1 to close. */
static int serve(struct client *c, const char *host, const char *version, long *requests,
                 time_t started)
{
    for (;;) {
        c->buf[c->len] = '\0';
        char *end = strstr(c->buf, "\r\n\r\n");
        size_t hdr = end ? (size_t)(end - c->buf) + 4 : 0;
        if (!end && c->len < REQ_MAX - 1) return 0; /* need more */
        if (!end) hdr = c->len; /* oversized headers: answer anyway, as the original does */
        int close_after = wants_close(c->buf);
        char body[512], resp[1024], ts[64];
        int bl = snprintf(body, sizeof body, "Hello Kubernetes bootcamp! | Running on: %s | v=%s\n",
                          host, version);
        int rl = snprintf(resp, sizeof resp,
                          "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                          "Connection: %s\r\n\r\n%s", bl, close_after ? "close" : "keep-alive", body);
        write_all(c->fd, resp, (size_t)rl);
        (*requests)++;
        now_string(ts, sizeof ts);
        printf("Running On: %s | Total Requests: %ld | App Uptime: %ld seconds | Log Time: %s\n",
               host, *requests, (long)(time(NULL) - started), ts);
        fflush(stdout);
        if (close_after) return -1;
        memmove(c->buf, c->buf + hdr, c->len - hdr); /* bodies are ignored: GET-style app */
        c->len -= hdr;
        if (!c->len) return 0;
    }
}

static void run_loop(int ls, const char *host, const char *version, time_t started)
{
    static struct client clients[MAX_CLIENTS];
    struct pollfd pfd[MAX_CLIENTS + 1];
    int n = 0;
    long requests = 0;
    while (!stopping) {
        pfd[0] = (struct pollfd){ls, n < MAX_CLIENTS ? POLLIN : 0, 0};
        for (int i = 0; i < n; i++) pfd[i + 1] = (struct pollfd){clients[i].fd, POLLIN, 0};
        if (poll(pfd, (nfds_t)n + 1, 1000) < 0) continue; /* EINTR on SIGTERM */
        int64_t now = mono_ms();
        for (int i = n - 1; i >= 0; i--) {
            struct client *c = &clients[i];
            int drop = 0;
            if (pfd[i + 1].revents) {
                ssize_t r = read(c->fd, c->buf + c->len, REQ_MAX - 1 - c->len);
                if (r <= 0) {
                    drop = !(r < 0 && errno == EINTR);
                } else {
                    c->len += (size_t)r;
                    c->idle_since = now;
                    drop = serve(c, host, version, &requests, started) < 0;
                }
            } else if (now - c->idle_since > 10000) {
                drop = 1; /* idle keep-alive connections close after 10 s */
            }
            if (drop) {
                close(c->fd);
                clients[i] = clients[--n];
            }
        }
        if (pfd[0].revents & POLLIN) {
            int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0) {
                clients[n].fd = fd;
                clients[n].len = 0;
                clients[n].idle_since = now;
                n++;
            }
        }
    }
    for (int i = 0; i < n; i++) close(clients[i].fd);
}

int main(int argc, char **argv)
{
    int port = 8080;
    const char *version = getenv("VERSION");
    if (!version || !*version) version = "1";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc) port = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--version") && i + 1 < argc) version = argv[++i];
    }
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "hello: invalid port\n");
        return 2;
    }
    char host[256] = "unknown";
    gethostname(host, sizeof host - 1);

    struct sigaction sa = {0};
    sa.sa_handler = on_term; /* no SA_RESTART: accept must return on SIGTERM */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int ls = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int fam6 = ls >= 0;
    if (!fam6) ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1, zero = 0;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rc;
    if (fam6) {
        setsockopt(ls, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
        rc = bind(ls, (struct sockaddr *)&a6, sizeof a6);
    } else {
        struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        rc = bind(ls, (struct sockaddr *)&a4, sizeof a4);
    }
    if (rc < 0 || listen(ls, 128) < 0) {
        perror("hello: listen");
        return 1;
    }
    time_t started = time(NULL);
    char ts[64];
    now_string(ts, sizeof ts);
    printf("Kubernetes Bootcamp App Started At: %s | Running On:  %s \n\n", ts, host);
    fflush(stdout);

    run_loop(ls, host, version, started);
    close(ls);
    return 0;
}

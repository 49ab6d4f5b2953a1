/* Skiff's built-in equivalent of the Kubernetes tutorial's bootcamp app
 * (gcr.io/google-samples/kubernetes-bootcamp): HTTP/1.1 on :8080 answering
 * every request with one line naming the host and the version, logging a
 * line per request to stdout. Built as a static executable and packed into
 * an image by src/runtime/image/builtin.c; deliberately dependency-free.
 *
 * Usage: hello [--port N] [--version N]; VERSION in the environment sets
 * the default version (1). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <netinet/in.h>
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

/* Reads until the end of the request headers (bodies are ignored: the app
 * answers every method the same way). Returns -1 on EOF/error/timeout. */
static int read_request(int fd)
{
    char buf[8192];
    size_t len = 0;
    while (len < sizeof buf - 1) {
        ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
        if (r < 0 && errno == EINTR && !stopping) continue;
        if (r <= 0) return -1;
        len += (size_t)r;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n")) return 0;
    }
    return 0; /* oversized headers: answer anyway, as the original does */
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

static void serve(int fd, const char *host, const char *version, long *requests, time_t started)
{
    struct timeval tmo = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof tmo);
    if (read_request(fd) < 0) return;
    char body[512], resp[1024], ts[64];
    int bl = snprintf(body, sizeof body, "Hello Kubernetes bootcamp! | Running on: %s | v=%s\n",
                      host, version);
    int rl = snprintf(resp, sizeof resp,
                      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                      "Connection: close\r\n\r\n%s", bl, body);
    write_all(fd, resp, (size_t)rl);
    (*requests)++;
    now_string(ts, sizeof ts);
    printf("Running On: %s | Total Requests: %ld | App Uptime: %ld seconds | Log Time: %s\n",
           host, *requests, (long)(time(NULL) - started), ts);
    fflush(stdout);
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

    long requests = 0;
    while (!stopping) {
        int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) continue; /* EINTR on SIGTERM ends the loop via stopping */
        serve(c, host, version, &requests, started);
        close(c);
    }
    close(ls);
    return 0;
}

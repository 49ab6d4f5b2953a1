/* CRI container log files, the format the kubelet reads:
 *   2026-01-02T03:04:05.123456789Z stdout F one full line
 *   2026-01-02T03:04:05.123456789Z stderr P a chunk of a longer line
 * One writev per line on an O_APPEND fd. Lines longer than 16 KiB become
 * "P" chunks ending with an "F" one, like containerd. The file is rotated
 * by size to PATH.1 .. PATH.N (PATH.1 newest).
 *
 * This code runs in the shim, a fork of a possibly multi-threaded agent, so
 * it takes no locks: no malloc, no stdio streams, no gmtime (glibc locks
 * the timezone state even for UTC); timestamps use plain arithmetic. */
#include "runtime/runtime_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

int64_t rt_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void rt_cri_timestamp(int64_t unix_ns, char *out, size_t n)
{
    char ts[40];
    sk_time_format_ns(unix_ns < 0 ? 0 : unix_ns, ts);
    snprintf(out, n, "%s", ts);
}

int rt_log_open(struct rt_log *l, const char *path, int64_t max_size, int max_files)
{
    l->path = path;
    l->max_size = max_size;
    l->max_files = max_files < 1 ? 1 : max_files;
    l->stream[0].len = l->stream[1].len = 0;
    l->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (l->fd < 0) return -1;
    struct stat st;
    l->size = fstat(l->fd, &st) == 0 ? st.st_size : 0;
    return 0;
}

void rt_log_close(struct rt_log *l)
{
    if (l->fd >= 0) close(l->fd);
    l->fd = -1;
}

static void rotate(struct rt_log *l)
{
    char from[4096], to[4096];
    close(l->fd);
    for (int i = l->max_files - 1; i >= 1; i--) {
        snprintf(from, sizeof from, "%s.%d", l->path, i);
        snprintf(to, sizeof to, "%s.%d", l->path, i + 1);
        rename(from, to);
    }
    snprintf(to, sizeof to, "%s.1", l->path);
    rename(l->path, to);
    l->fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    l->size = 0;
}

static void write_line(struct rt_log *l, int stream, const char *data, size_t n, bool partial, int64_t now_ns)
{
    char hdr[64];
    rt_cri_timestamp(now_ns, hdr, sizeof hdr);
    size_t hl = strlen(hdr);
    hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, " %s %c ", stream ? "stderr" : "stdout", partial ? 'P' : 'F');
    if (l->strip_cr && !partial && n && data[n - 1] == '\r') n--;
    size_t total = hl + n + 1;
    if (l->max_size > 0 && l->size > 0 && l->size + (int64_t)total > l->max_size) rotate(l);
    if (l->fd < 0) return; /* log lost (disk full, dir gone): keep draining the pipes */
    struct iovec iov[3] = {{hdr, hl}, {(void *)data, n}, {"\n", 1}};
    ssize_t w;
    while ((w = writev(l->fd, iov, 3)) < 0 && errno == EINTR) {}
    if (w > 0) l->size += w;
}

void rt_log_feed(struct rt_log *l, int stream, const char *data, size_t n, int64_t now_ns)
{
    char *buf = l->stream[stream].buf;
    size_t *len = &l->stream[stream].len;
    while (n) {
        const char *nl = memchr(data, '\n', n);
        size_t take = nl ? (size_t)(nl - data) : n;
        if (*len + take > RT_LOG_LINE_MAX) {
            size_t room = RT_LOG_LINE_MAX - *len;
            memcpy(buf + *len, data, room);
            write_line(l, stream, buf, RT_LOG_LINE_MAX, true, now_ns);
            *len = 0;
            data += room;
            n -= room;
            continue;
        }
        if (nl && *len == 0) {
            write_line(l, stream, data, take, false, now_ns); /* common case: no copy */
        } else {
            memcpy(buf + *len, data, take);
            *len += take;
            if (nl) write_line(l, stream, buf, *len, false, now_ns);
        }
        if (nl) {
            *len = 0;
            take++;
        }
        data += take;
        n -= take;
    }
}

void rt_log_flush(struct rt_log *l, int stream, int64_t now_ns)
{
    if (!l->stream[stream].len) return;
    write_line(l, stream, l->stream[stream].buf, l->stream[stream].len, false, now_ns);
    l->stream[stream].len = 0;
}

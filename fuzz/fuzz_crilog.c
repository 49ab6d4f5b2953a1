/* Fuzzes the CRI log reader: the input after two option bytes is a log
 * file (in a memfd, opened by path like a real one) read through
 * sk_kl_log_stream. Byte 0 picks tailLines (-1..6), timestamps and a
 * since bound; byte 1 limitBytes (0 = none). The first line also goes
 * through the RFC 3339 parser and formatter. */
#include "kubelet/server_int.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static int sink(void *ud, const char *p, size_t n)
{
    size_t *sum = ud;
    for (size_t i = 0; i < n; i++) *sum += (unsigned char)p[i];
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    uint8_t a = data[0], b = data[1];
    data += 2;
    size -= 2;
    const char *nl = memchr(data, '\n', size);
    int64_t ns;
    char ts[40];
    if (sk_time_parse_ns((const char *)data, nl ? (size_t)(nl - (const char *)data) : size, &ns))
        sk_time_format_ns(ns, ts);

    int fd = memfd_create("crilog", MFD_CLOEXEC);
    if (fd < 0) return 0;
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0) break;
        off += (size_t)w;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    struct sk_kl_log_opts o = {.tail_lines = (a & 7) - 1, .timestamps = a & 8,
                               .limit_bytes = b, .since_ns = (a & 16) ? 1767323045LL * 1000000000 : 0};
    size_t sum = 0;
    sk_err err = SK_ERR_INIT;
    (void)sk_kl_log_stream(path, &o, sink, NULL, &sum, NULL, &err);
    close(fd);
    return 0;
}

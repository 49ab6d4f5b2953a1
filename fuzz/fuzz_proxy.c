/* Proxy helpers fed with client and backend strings: NAME:PORT parsing,
 * Location rewriting, path escaping. Input: up to three NUL-separated parts
 * (name or Location, backend host, request host / prefix). */
#include <string.h>

#include "apiserver/proxy_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    char *buf = sk_malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = 0;
    const char *parts[3] = {buf, "", ""};
    size_t off = strlen(buf) + 1;
    for (int i = 1; i < 3 && off <= size; i++) {
        parts[i] = buf + off;
        off += strlen(parts[i]) + 1;
    }
    char s[8], n[256], p[64];
    if (sk_proxy_split_name(parts[0], s, sizeof s, n, sizeof n, p, sizeof p) && strchr(n, ':'))
        __builtin_trap();
    char *loc = sk_proxy_rewrite_location(parts[0], parts[1], parts[2],
                                          parts[2][0] ? parts[2] : "/api/v1/nodes/x/proxy");
    free(loc);
    sk_buf b = SK_BUF_INIT;
    sk_proxy_escape_path(&b, parts[0]);
    sk_buf_release(&b);
    free(buf);
    return 0;
}

/* Time formatting, random names, files, and JSON accessors. */
#include "lib.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

int64_t sk_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sk_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sk_cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, clockid_t clock, int64_t ms)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    int64_t ns = ts.tv_nsec + (ms > 0 ? ms : 0) % 1000 * 1000000LL;
    ts.tv_sec += (ms > 0 ? ms : 0) / 1000 + ns / 1000000000LL;
    ts.tv_nsec = ns % 1000000000LL;
    return pthread_cond_timedwait(cv, mu, &ts);
}

void sk_time_format(int64_t unix_sec, char *out, size_t n)
{
    time_t t = (time_t)unix_sec;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t sk_time_parse(const char *s)
{
    if (!s) return -1;
    struct tm tm = {0};
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p) return -1;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') p++;
    }
    int64_t off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int hh, mm;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2) return -1;
        off = (hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1;
    }
    if (*p) return -1;
    return (int64_t)timegm(&tm) - off;
}

void sk_duration_human(int64_t s, char *out, size_t n)
{
    /* Mirrors apimachinery's duration.HumanDuration. */
    if (s < 0) s = 0;
    if (s < 120) { snprintf(out, n, "%llds", (long long)s); return; }
    int64_t m = s / 60;
    if (m < 10) {
        if (s % 60 == 0) snprintf(out, n, "%lldm", (long long)m);
        else snprintf(out, n, "%lldm%llds", (long long)m, (long long)(s % 60));
        return;
    }
    if (m < 180) { snprintf(out, n, "%lldm", (long long)m); return; }
    int64_t h = s / 3600;
    if (h < 8) {
        if (m % 60 == 0) snprintf(out, n, "%lldh", (long long)h);
        else snprintf(out, n, "%lldh%lldm", (long long)h, (long long)(m % 60));
        return;
    }
    if (h < 48) { snprintf(out, n, "%lldh", (long long)h); return; }
    if (h < 192) {
        if (h % 24 == 0) snprintf(out, n, "%lldd", (long long)(h / 24));
        else snprintf(out, n, "%lldd%lldh", (long long)(h / 24), (long long)(h % 24));
        return;
    }
    if (h < 24 * 365 * 2) { snprintf(out, n, "%lldd", (long long)(h / 24)); return; }
    if (h < 24 * 365 * 8) {
        int64_t dy = (h / 24) % 365;
        if (dy == 0) snprintf(out, n, "%lldy", (long long)(h / 24 / 365));
        else snprintf(out, n, "%lldy%lldd", (long long)(h / 24 / 365), (long long)dy);
        return;
    }
    snprintf(out, n, "%lldy", (long long)(h / 24 / 365));
}

void sk_rand_suffix(char *out, size_t n)
{
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    if (!n) return;
    unsigned char r[64];
    size_t want = n - 1 < sizeof r ? n - 1 : sizeof r;
    if (getrandom(r, want, 0) != (ssize_t)want) memset(r, 7, want);
    for (size_t i = 0; i < want; i++) out[i] = alphabet[r[i] % (sizeof alphabet - 1)];
    out[want] = 0;
}

void sk_uuid4(char out[37])
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != sizeof b) memset(b, 0x5a, sizeof b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
}

char *sk_read_file(const char *path, size_t *len, sk_err *err)
{
    _sk_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        sk_err_sys(err, "open %s", path);
        if (errno == ENOENT && err) err->code = SK_ENOTFOUND;
        return NULL;
    }
    /* Straight into the heap buffer, sized from fstat (0 for /proc and
     * cgroup files): no big stack array, whose pages would stay resident
     * in every thread that ever read a file. */
    struct stat st;
    size_t cap = fstat(fd, &st) == 0 && st.st_size > 0 && st.st_size < (1 << 30) ? (size_t)st.st_size + 1 : 4096;
    size_t used = 0;
    char *data = sk_malloc(cap);
    for (;;) {
        if (cap - used < 2) {
            cap *= 2;
            data = sk_realloc(data, cap);
        }
        ssize_t n = read(fd, data + used, cap - used - 1);
        if (n < 0) {
            if (errno == EINTR) continue;
            free(data);
            sk_err_sys(err, "read %s", path);
            return NULL;
        }
        if (n == 0) break;
        used += (size_t)n;
    }
    data[used] = 0;
    if (len) *len = used;
    return data;
}

int sk_write_file(const char *path, const void *data, size_t len, int mode, sk_err *err)
{
    _sk_free_ char *tmp = sk_printf("%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) return sk_err_sys(err, "create %s", tmp);
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            close(fd);
            unlink(tmp);
            return sk_err_sys(err, "write %s", tmp);
        }
        p += n;
        len -= (size_t)n;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        unlink(tmp);
        return sk_err_sys(err, "sync %s", tmp);
    }
    if (rename(tmp, path) < 0) {
        unlink(tmp);
        return sk_err_sys(err, "rename %s", path);
    }
    return 0;
}

int sk_mkdir_p(const char *path, int mode, sk_err *err)
{
    _sk_free_ char *p = sk_strdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST) return sk_err_sys(err, "mkdir %s", p);
        *s = '/';
    }
    if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST) return sk_err_sys(err, "mkdir %s", p);
    return 0;
}

const char *sk_json_str(const json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

json_t *sk_json_path(const json_t *obj, const char *dotted)
{
    char part[128];
    const char *p = dotted;
    json_t *cur = (json_t *)obj;
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= sizeof part || !json_is_object(cur)) return NULL;
        memcpy(part, p, n);
        part[n] = 0;
        cur = json_object_get(cur, part);
        p = dot ? dot + 1 : p + n;
    }
    return cur;
}

const char *sk_json_path_str(const json_t *obj, const char *dotted)
{
    json_t *v = sk_json_path(obj, dotted);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

json_t *sk_json_obj(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_object(v)) {
        v = json_object();
        json_object_set_new(obj, key, v);
    }
    return v;
}

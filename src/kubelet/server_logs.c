/* CRI container log files, read as the kubelet serves them:
 *   2026-01-02T03:04:05.123456789Z stdout F a full line
 *   2026-01-02T03:04:05.123456789Z stderr P a chunk of a longer line
 * The runtime's shim (runtime_crilog.c) writes one record per line, splits
 * lines over 16 KiB into P records ending with an F one, and rotates by
 * size to PATH.1 (newest) .. PATH.N, renaming the live file and creating a
 * new one. We read the rotated files oldest first, then PATH, and join each
 * stream's P records into one line (upstream writes the fragments as they
 * come, which interleaves stdout and stderr mid-line).
 *
 * tailLines counts joined lines, found by scanning records backwards from
 * the end (F records end lines). Partial: when a P record of one stream is
 * followed by records of the other before its F, a tail that starts
 * between them shows only the end of that line.
 *
 * Malformed records are skipped, as upstream does. Untrusted sizes are
 * capped: a record keeps KL_LOG_RECORD_MAX bytes, a joined line is emitted
 * in pieces of KL_LOG_LINE_MAX. */
#include "kubelet/server_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define CHUNK (64 << 10)
#define HEAD_MAX 128 /* bytes of a record enough to read its timestamp, stream and tag */

struct part {
    sk_buf buf;
    int64_t ts;
    bool active, cont;
};

struct kl_logr {
    char *path;
    struct sk_kl_log_opts o;
    int fds[KL_LOG_MAX_ROTATED + 1]; /* oldest first; the last is the live file */
    int nfiles, cur;
    dev_t dev;                 /* identity of the live file we read */
    ino_t ino;
    bool switching;            /* the live file was replaced: drain the old one, then reopen */
    sk_buf rec;                /* an incomplete record */
    bool stopped;
    struct part part[2];
    char *rbuf;
};

/* ---- records ------------------------------------------------------------------- */

struct rec {
    int64_t ts;
    int stream;
    bool partial;
    const char *data;
    size_t len;
};

/* "<ts> <stdout|stderr> <tag[:more]> <content>"; false when malformed. */
static bool parse_record(const char *p, size_t n, struct rec *r)
{
    const char *sp = memchr(p, ' ', n);
    if (!sp || !sk_time_parse_ns(p, (size_t)(sp - p), &r->ts)) return false;
    size_t off = (size_t)(sp - p) + 1;
    if (n - off >= 7 && !memcmp(p + off, "stdout ", 7)) r->stream = 0;
    else if (n - off >= 7 && !memcmp(p + off, "stderr ", 7)) r->stream = 1;
    else return false;
    off += 7;
    const char *tag = p + off, *tsp = memchr(tag, ' ', n - off);
    if (!tsp) return false;
    size_t tl = (size_t)(tsp - tag), first = tl;
    const char *colon = memchr(tag, ':', tl);
    if (colon) first = (size_t)(colon - tag);
    /* Anything but P ends a line, as upstream reads it. */
    r->partial = first == 1 && tag[0] == 'P';
    r->data = tsp + 1;
    r->len = n - (size_t)(tsp + 1 - p);
    return true;
}

static int emit(kl_logr *r, const struct kl_log_line *l, kl_line_fn fn, void *ud)
{
    if (r->o.since_ns > 0 && l->ts_ns < r->o.since_ns) return 0;
    return fn(ud, l) < 0 ? -1 : 0;
}

static int emit_part(kl_logr *r, struct part *pt, int stream, bool newline, kl_line_fn fn,
                     void *ud)
{
    struct kl_log_line l = {pt->ts, stream, pt->buf.data ? pt->buf.data : "", pt->buf.len,
                            newline, pt->cont};
    int rc = emit(r, &l, fn, ud);
    pt->buf.len = 0;
    return rc;
}

/* One record (without its newline). had_nl is false only for an
 * unterminated last record. */
static int process_record(kl_logr *r, const char *p, size_t n, bool had_nl, kl_line_fn fn,
                          void *ud)
{
    struct rec c;
    if (!parse_record(p, n, &c)) return 0;
    struct part *pt = &r->part[c.stream];
    if (!pt->active && !c.partial) {
        struct kl_log_line l = {c.ts, c.stream, c.data, c.len, had_nl, false};
        return emit(r, &l, fn, ud);
    }
    if (!pt->active) {
        pt->active = true;
        pt->cont = false;
        pt->ts = c.ts;
    }
    if (pt->buf.len + c.len > KL_LOG_LINE_MAX && pt->buf.len) {
        if (emit_part(r, pt, c.stream, false, fn, ud) < 0) return -1;
        pt->cont = true;
    }
    sk_buf_add(&pt->buf, c.data, c.len);
    if (c.partial) return 0;
    int rc = emit_part(r, pt, c.stream, had_nl, fn, ud);
    pt->active = pt->cont = false;
    return rc;
}

static int feed(kl_logr *r, const char *p, size_t n, kl_line_fn fn, void *ud)
{
    while (n) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        if (nl && r->rec.len == 0) {
            if (process_record(r, p, take, true, fn, ud) < 0) return -1;
        } else {
            size_t room = KL_LOG_RECORD_MAX - r->rec.len;
            sk_buf_add(&r->rec, p, take < room ? take : room);
            if (nl) {
                int rc = process_record(r, r->rec.data, r->rec.len, true, fn, ud);
                r->rec.len = 0;
                if (rc < 0) return -1;
            }
        }
        if (nl) take++;
        p += take;
        n -= take;
    }
    return 0;
}

/* ---- tail: find where the last N lines start ------------------------------------ */

static bool record_ends_line(int fd, off_t at, const char *have, size_t nhave)
{
    char head[HEAD_MAX];
    if (nhave < HEAD_MAX && (!nhave || !memchr(have, '\n', nhave))) {
        ssize_t got = pread(fd, head, sizeof head, at);
        if (got <= 0) return false;
        have = head;
        nhave = (size_t)got;
    }
    const char *nl = memchr(have, '\n', nhave < HEAD_MAX ? nhave : HEAD_MAX);
    struct rec c;
    return parse_record(have, nl ? (size_t)(nl - have) : (nhave < HEAD_MAX ? nhave : HEAD_MAX), &c) &&
           !c.partial;
}

static bool read_full(int fd, char *buf, size_t len, off_t at)
{
    while (len) {
        ssize_t n = pread(fd, buf, len, at);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        buf += n;
        len -= (size_t)n;
        at += n;
    }
    return true;
}

/* Scans fd backwards for the record that completes the *need-th line from
 * the end; 1 with *start just after it, 0 when the file has fewer (need
 * reduced), -1 on a read error. */
static int tail_scan(int fd, int64_t *need, off_t *start, char *buf)
{
    struct stat st;
    if (fstat(fd, &st) < 0) return -1;
    off_t end = st.st_size, pos = st.st_size;
    while (pos > 0) {
        size_t len = pos > CHUNK ? CHUNK : (size_t)pos;
        off_t base = pos - (off_t)len;
        if (!read_full(fd, buf, len, base)) return -1;
        for (size_t i = len; i > 0;) {
            const char *nl = memrchr(buf, '\n', i);
            if (!nl) break;
            size_t k = (size_t)(nl - buf);
            off_t rs = base + (off_t)k + 1;
            if (rs < end && record_ends_line(fd, rs, buf + k + 1, len - k - 1) && --*need == 0) {
                *start = end;
                return 1;
            }
            end = rs;
            i = k;
        }
        pos = base;
    }
    if (end > 0 && record_ends_line(fd, 0, NULL, 0) && --*need == 0) {
        *start = end;
        return 1;
    }
    return 0;
}

static int position_tail(kl_logr *r, sk_err *err)
{
    /* the line before the tail ends where it starts; tailLines comes from the
     * query unbounded, so no + 1 past INT64_MAX */
    int64_t need = r->o.tail_lines < INT64_MAX ? r->o.tail_lines + 1 : INT64_MAX;
    for (int i = r->nfiles - 1; i >= 0; i--) {
        if (r->fds[i] < 0) continue;
        off_t start = 0;
        int rc = tail_scan(r->fds[i], &need, &start, r->rbuf);
        if (rc < 0) return sk_err_sys(err, "read %s", r->path);
        if (rc == 0) continue;
        for (int j = 0; j < i; j++) {
            if (r->fds[j] >= 0) close(r->fds[j]);
            r->fds[j] = -1;
        }
        r->cur = i;
        if (lseek(r->fds[i], start, SEEK_SET) < 0) return sk_err_sys(err, "seek %s", r->path);
        return 0;
    }
    r->cur = 0;
    return 0;
}

/* ---- opening and following -------------------------------------------------------- */

static int open_live(kl_logr *r)
{
    int fd = open(r->path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0) return -1;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return -1;
    }
    r->dev = st.st_dev;
    r->ino = st.st_ino;
    return fd;
}

kl_logr *kl_logr_open(const char *path, const struct sk_kl_log_opts *o, sk_err *err)
{
    kl_logr *r = sk_calloc(1, sizeof *r);
    r->path = sk_strdup(path);
    r->o = *o;
    r->rbuf = sk_malloc(CHUNK);
    int nrot = 0;
    while (nrot < KL_LOG_MAX_ROTATED) {
        _sk_free_ char *p = sk_printf("%s.%d", path, nrot + 1);
        if (access(p, F_OK) != 0) break;
        nrot++;
    }
    bool any = false;
    for (int i = nrot; i >= 1; i--) {
        _sk_free_ char *p = sk_printf("%s.%d", path, i);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        r->fds[r->nfiles++] = fd;
        any |= fd >= 0;
    }
    int live = open_live(r);
    if (live < 0 && errno != ENOENT) {
        sk_err_sys(err, "failed to open log file \"%s\"", path);
        kl_logr_free(r);
        return NULL;
    }
    r->fds[r->nfiles++] = live;
    if (!any && live < 0) {
        sk_err_set(err, SK_ENOTFOUND, "failed to open log file \"%s\": no such file", path);
        kl_logr_free(r);
        return NULL;
    }
    if (o->tail_lines >= 0 && position_tail(r, err) < 0) {
        kl_logr_free(r);
        return NULL;
    }
    return r;
}

void kl_logr_free(kl_logr *r)
{
    if (!r) return;
    for (int i = 0; i < r->nfiles; i++)
        if (r->fds[i] >= 0) close(r->fds[i]);
    sk_buf_release(&r->rec);
    sk_buf_release(&r->part[0].buf);
    sk_buf_release(&r->part[1].buf);
    free(r->rbuf);
    free(r->path);
    free(r);
}

/* An unterminated record at the end of a file that is done. */
static int end_record(kl_logr *r, kl_line_fn fn, void *ud)
{
    if (!r->rec.len) return 0;
    int rc = process_record(r, r->rec.data, r->rec.len, false, fn, ud);
    r->rec.len = 0;
    return rc;
}

/* At the end of the live file while following: was it rotated (replaced)
 * or truncated? true when reading should continue now. */
static bool live_changed(kl_logr *r)
{
    int fd = r->fds[r->cur];
    struct stat st, cur;
    if (fd < 0) {
        r->fds[r->cur] = open_live(r);
        return r->fds[r->cur] >= 0;
    }
    if (r->switching) { /* the old file is drained: move to the new one */
        r->switching = false;
        int nfd = open_live(r);
        if (nfd < 0) return false; /* renamed, not yet recreated: retry later */
        close(fd);
        r->fds[r->cur] = nfd;
        return true;
    }
    if (stat(r->path, &st) == 0 && (st.st_ino != r->ino || st.st_dev != r->dev)) {
        r->switching = true; /* read what was written before the rename first */
        return true;
    }
    off_t off = lseek(fd, 0, SEEK_CUR);
    if (fstat(fd, &cur) == 0 && off > cur.st_size) { /* truncated in place */
        lseek(fd, 0, SEEK_SET);
        r->rec.len = 0;
        return true;
    }
    return false;
}

int kl_logr_pump(kl_logr *r, size_t budget, kl_line_fn fn, void *ud, sk_err *err)
{
    size_t used = 0;
    for (;;) {
        if (r->stopped) return 0;
        int fd = r->fds[r->cur];
        ssize_t n = fd >= 0 ? read(fd, r->rbuf, CHUNK) : 0;
        if (n < 0) {
            if (errno == EINTR) continue;
            return sk_err_sys(err, "read %s", r->path);
        }
        if (n > 0) {
            if (feed(r, r->rbuf, (size_t)n, fn, ud) < 0) {
                r->stopped = true;
                return 0;
            }
            used += (size_t)n;
            if (used >= budget) return 2;
            continue;
        }
        if (r->cur < r->nfiles - 1) { /* a rotated file is done */
            if (end_record(r, fn, ud) < 0) {
                r->stopped = true;
                return 0;
            }
            if (fd >= 0) close(fd);
            r->fds[r->cur++] = -1;
            continue;
        }
        if (!r->o.follow || !live_changed(r)) return 1;
    }
}

int kl_logr_finish(kl_logr *r, kl_line_fn fn, void *ud)
{
    if (r->stopped) return 0;
    if (end_record(r, fn, ud) < 0) return -1;
    for (int s = 0; s < 2; s++) {
        struct part *pt = &r->part[s];
        if (!pt->active) continue;
        pt->active = false;
        if (pt->buf.len && emit_part(r, pt, s, false, fn, ud) < 0) return -1;
    }
    return 0;
}

/* ---- formatting ------------------------------------------------------------------- */

void kl_logfmt_init(struct kl_logfmt *f, const struct sk_kl_log_opts *o)
{
    f->timestamps = o->timestamps;
    f->remaining = o->limit_bytes > 0 ? o->limit_bytes : INT64_MAX;
    f->out = (sk_buf)SK_BUF_INIT;
}

static void fmt_add(struct kl_logfmt *f, const char *p, size_t n)
{
    if ((int64_t)n > f->remaining) n = (size_t)f->remaining;
    if (!n) return;
    sk_buf_add(&f->out, p, n);
    f->remaining -= (int64_t)n;
}

int kl_logfmt_line(struct kl_logfmt *f, const struct kl_log_line *l)
{
    if (f->remaining <= 0) return 1;
    if (f->timestamps && !l->continuation) {
        char ts[40];
        sk_time_format_ns(l->ts_ns, ts);
        fmt_add(f, ts, strlen(ts));
        fmt_add(f, " ", 1);
    }
    fmt_add(f, l->data, l->len);
    if (l->newline) fmt_add(f, "\n", 1);
    return f->remaining <= 0;
}

/* ---- the public reader -------------------------------------------------------------- */

struct stream_ctx {
    struct kl_logfmt fmt;
    int (*write_fn)(void *ud, const char *p, size_t n);
    void *ud;
};

static int stream_line(void *ud, const struct kl_log_line *l)
{
    struct stream_ctx *c = ud;
    int full = kl_logfmt_line(&c->fmt, l);
    if (c->fmt.out.len) {
        int rc = c->write_fn(c->ud, c->fmt.out.data, c->fmt.out.len);
        c->fmt.out.len = 0;
        if (rc < 0) return -1;
    }
    return full ? -1 : 0;
}

int sk_kl_log_stream(const char *path, const struct sk_kl_log_opts *o,
                     int (*write_fn)(void *ud, const char *p, size_t n), bool (*alive)(void *ud),
                     void *ud, volatile int *stop, sk_err *err)
{
    kl_logr *r = kl_logr_open(path, o, err);
    if (!r) return -1;
    struct stream_ctx c = {.write_fn = write_fn, .ud = ud};
    kl_logfmt_init(&c.fmt, o);
    int rc;
    bool dying = false;
    for (;;) {
        rc = kl_logr_pump(r, 1 << 20, stream_line, &c, err);
        if (rc <= 0 || (stop && *stop)) break;
        if (rc == 2) continue;
        if (!o->follow || dying) {
            kl_logr_finish(r, stream_line, &c);
            break;
        }
        /* One more pass after the container is gone reads its last words. */
        if (alive && !alive(ud)) {
            dying = true;
            continue;
        }
        poll(NULL, 0, 100);
    }
    sk_buf_release(&c.fmt.out);
    kl_logr_free(r);
    return rc < 0 ? -1 : 0;
}

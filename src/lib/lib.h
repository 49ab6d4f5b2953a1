/* skiff base library: errors, logging, allocation with scope cleanup, a
 * growable byte buffer, time formatting and small JSON helpers.
 *
 * Everything here is thread-safe unless stated; nothing here prints except
 * sk_log, and nothing exits except the allocation wrappers on OOM. */
#ifndef SK_LIB_H
#define SK_LIB_H

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- errors ------------------------------------------------------------ */

/* Codes map 1:1 to Kubernetes Status reasons so the API server translates
 * without guessing. */
enum sk_code {
    SK_OK = 0,
    SK_EINTERNAL,      /* InternalError 500 */
    SK_ENOTFOUND,      /* NotFound 404 */
    SK_EEXIST,         /* AlreadyExists 409 */
    SK_ECONFLICT,      /* Conflict 409 */
    SK_EINVALID,       /* Invalid 422 */
    SK_EBADREQUEST,    /* BadRequest 400 */
    SK_EUNAUTHORIZED,  /* Unauthorized 401 */
    SK_EFORBIDDEN,     /* Forbidden 403 */
    SK_ENOTALLOWED,    /* MethodNotAllowed 405 */
    SK_ENOTACCEPTABLE, /* NotAcceptable 406 */
    SK_EGONE,          /* Expired 410 */
    SK_ETOOLARGE,      /* RequestEntityTooLarge 413 */
    SK_EMEDIATYPE,     /* UnsupportedMediaType 415 */
    SK_ETIMEOUT,       /* Timeout 504 */
    SK_EUNAVAILABLE,   /* ServiceUnavailable 503 */
};

/* Caller-owned, lives on the stack: nothing to free. */
typedef struct sk_err {
    enum sk_code code;
    int sys_errno;
    char msg[512];
    json_t *causes; /* optional: array of {reason,message,field}; owned, freed by sk_err_clear */
} sk_err;

#define SK_ERR_INIT {0}
/* Sets code and message; returns -1 so callers can `return sk_err_set(...)`. */
int sk_err_set(sk_err *err, enum sk_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like sk_err_set with SK_EINTERNAL, appending ": strerror(errno)". */
int sk_err_sys(sk_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes the existing message with context ("open x: <old msg>"). */
int sk_err_wrap(sk_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends a field cause (Invalid errors). */
void sk_err_cause(sk_err *err, const char *reason, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void sk_err_clear(sk_err *err);
const char *sk_code_reason(enum sk_code code); /* "NotFound" */
int sk_code_http(enum sk_code code);           /* 404 */

/* ---- logging ------------------------------------------------------------ */

enum sk_level { SK_DEBUG, SK_INFO, SK_WARN, SK_ERROR };
extern int sk_log_level; /* frozen before threads start */
void sk_log_write(enum sk_level lvl, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define sk_log(lvl, tag, ...) \
    do { if ((lvl) >= sk_log_level) sk_log_write((lvl), (tag), __VA_ARGS__); } while (0)

/* ---- allocation and cleanup --------------------------------------------- */

void *sk_malloc(size_t n);           /* aborts on OOM */
void *sk_calloc(size_t n, size_t m); /* aborts on OOM */
void *sk_realloc(void *p, size_t n); /* aborts on OOM */
char *sk_strdup(const char *s);      /* NULL -> NULL */
char *sk_strndup(const char *s, size_t n);
char *sk_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* caller frees */
/* Hands freed heap pages back to the system: after a burst of transient
 * work, or from a periodic loop of a process that goes quiet. `full`
 * returns every free page, else only those free for longer than the
 * allocator's decay time. glibc's malloc_trim unless the binary installs
 * its allocator's own way first (sk_mem_set_trim, before any thread). */
void sk_mem_trim(bool full);
void sk_mem_set_trim(void (*fn)(bool full));
/* Called first thing by a thread that allocates little and should not
 * hold a per-thread allocation cache: short-lived ones (one per async job,
 * maybe a hundred at once), whose caches' slabs stay fragmented in the heap
 * after they are gone, and a node agent's pod workers. A no-op unless the
 * binary installs its allocator's way (before any thread). */
void sk_mem_thread_nocache(void);
void sk_mem_set_thread_nocache(void (*fn)(void));

static inline void sk__freep(void *p) { free(*(void **)p); }
static inline void sk__closep(int *fd) { if (*fd >= 0) close(*fd); }
static inline void sk__json_decrefp(json_t **j) { json_decref(*j); }
#define _sk_free_ __attribute__((cleanup(sk__freep)))
#define _sk_close_ __attribute__((cleanup(sk__closep)))
#define _sk_json_ __attribute__((cleanup(sk__json_decrefp)))
#define SK_TAKE(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })
#define SK_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SK_MUST_CHECK __attribute__((warn_unused_result))

/* ---- growable buffer (embeddable value type) ----------------------------- */

typedef struct sk_buf {
    char *data; /* NUL-terminated when len > 0 */
    size_t len;
    size_t cap;
} sk_buf;
#define SK_BUF_INIT {NULL, 0, 0}
void sk_buf_add(sk_buf *b, const void *p, size_t n);
void sk_buf_adds(sk_buf *b, const char *s);
void sk_buf_addf(sk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sk_buf_release(sk_buf *b);
char *sk_buf_take(sk_buf *b); /* returns the string (caller frees), resets b */

/* ---- time ---------------------------------------------------------------- */

int64_t sk_now_ms(void);       /* monotonic clock */
int64_t sk_wall_ms(void);      /* realtime clock */
/* pthread_cond_timedwait for at most ms from now; clock is the condition
 * variable's (CLOCK_MONOTONIC if set with pthread_condattr_setclock, else
 * CLOCK_REALTIME). Returns what pthread_cond_timedwait returns. */
int sk_cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, clockid_t clock, int64_t ms);
/* RFC 3339 UTC, second precision: "2026-11-28T20:34:17Z". out >= 32 bytes. */
void sk_time_format(int64_t unix_sec, char *out, size_t n);
/* Parses RFC 3339 (Z or offset, optional fraction); -1 on error. */
int64_t sk_time_parse(const char *s);
/* RFC3339Nano: "2026-11-28T20:34:17.123456789Z" (UTC, 9 digits). */
void sk_time_format_ns(int64_t unix_ns, char out[40]);
/* Parses RFC 3339 (fraction up to 9 digits, Z or +hh:mm) of n bytes into
 * unix nanoseconds; false when invalid or outside years 1680..2260. */
bool sk_time_parse_ns(const char *s, size_t n, int64_t *out);
/* Kubernetes-style short age: "5s", "3m12s", "4h", "2d3h", "90d". */
void sk_duration_human(int64_t secs, char *out, size_t n);

/* ---- misc --------------------------------------------------------------- */

/* Random lowercase alphanumerics without vowels, like k8s rand.String. */
void sk_rand_suffix(char *out, size_t n); /* writes n-1 chars + NUL */
void sk_uuid4(char out[37]);
/* Reads a whole file (caller frees); NULL + err on failure. */
char *sk_read_file(const char *path, size_t *len, sk_err *err);
/* Writes atomically (tmp + fsync + rename) with mode. */
int sk_write_file(const char *path, const void *data, size_t len, int mode, sk_err *err);
int sk_mkdir_p(const char *path, int mode, sk_err *err);

/* JSON helpers: borrowed getters tolerant of missing/odd types. */
const char *sk_json_str(const json_t *obj, const char *key); /* NULL if absent/not string */
json_t *sk_json_path(const json_t *obj, const char *dotted);  /* "metadata.name", borrowed */
const char *sk_json_path_str(const json_t *obj, const char *dotted);
/* Returns obj[key], creating an empty object there if absent or not an object. */
json_t *sk_json_obj(json_t *obj, const char *key);

#endif

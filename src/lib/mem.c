/* Allocation wrappers that abort on OOM, and the growable buffer. */
#include "lib.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>

static void (*g_trim)(bool full); /* set once before threads, read-only after */
static void (*g_nocache)(void);  /* likewise */

void sk_mem_set_trim(void (*fn)(bool full))
{
    g_trim = fn;
}

void sk_mem_trim(bool full)
{
    if (g_trim) g_trim(full);
    else if (full) malloc_trim(0);
}

void sk_mem_set_thread_nocache(void (*fn)(void))
{
    g_nocache = fn;
}

void sk_mem_thread_nocache(void)
{
    if (g_nocache) g_nocache();
}

static void oom(size_t n)
{
    fprintf(stderr, "skiff: out of memory allocating %zu bytes\n", n);
    abort();
}

void *sk_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *sk_calloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p) oom(n * m);
    return p;
}

void *sk_realloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) oom(n);
    return p;
}

char *sk_strdup(const char *s)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) oom(strlen(s));
    return d;
}

char *sk_strndup(const char *s, size_t n)
{
    char *d = strndup(s, n);
    if (!d) oom(n);
    return d;
}

char *sk_printf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) oom(0);
    return s;
}

static void buf_grow(sk_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap *= 2;
    b->data = sk_realloc(b->data, cap);
    b->cap = cap;
}

void sk_buf_add(sk_buf *b, const void *p, size_t n)
{
    buf_grow(b, n);
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
}

void sk_buf_adds(sk_buf *b, const char *s) { sk_buf_add(b, s, strlen(s)); }

void sk_buf_addf(sk_buf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n > 0) {
        buf_grow(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

void sk_buf_release(sk_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *sk_buf_take(sk_buf *b)
{
    char *d = b->data ? b->data : sk_strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

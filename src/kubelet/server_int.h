/* Internals of the node agent's HTTPS API (server*.c): the daemon and its
 * requests (server.c), the CRI log reader (server_logs.c), the log endpoint
 * (server_logs_http.c), WebSocket framing (server_ws.c) and the exec,
 * attach and port-forward sessions (server_exec.c, server_pf.c).
 *
 * Threads: libmicrohttpd runs one thread per connection. Upgraded
 * connections (exec, attach, port-forward) run on a session thread of
 * their own, because with TLS the connection's thread forwards the bytes
 * between TLS and the socket the session reads, and only starts doing so
 * once the upgrade handler has returned. */
#ifndef SK_KL_SERVER_INT_H
#define SK_KL_SERVER_INT_H

#include "kubelet/agent_int.h"

#include <microhttpd.h>
#include <pthread.h>
#include <wslay/wslay.h>

/* ---- CRI log reader (server_logs.c) ------------------------------------------ */

#define KL_LOG_LINE_MAX (1 << 20)  /* a joined line is emitted in pieces beyond this */
#define KL_LOG_RECORD_MAX (1 << 20) /* bytes of one CRI record kept; the rest is dropped */
#define KL_LOG_MAX_ROTATED 64      /* rotated files considered: PATH.1 .. PATH.64 */

/* One decoded line (CRI partials of one stream joined), or a piece of one. */
struct kl_log_line {
    int64_t ts_ns;      /* the first fragment's timestamp */
    int stream;         /* 0 stdout, 1 stderr */
    const char *data;   /* content, without the newline */
    size_t len;
    bool newline;       /* the line ended here (an F record) */
    bool continuation;  /* a later piece of an over-long line: no timestamp prefix */
};
/* Returns < 0 to stop reading. */
typedef int (*kl_line_fn)(void *ud, const struct kl_log_line *l);

typedef struct kl_logr kl_logr;

/* Opens path and its rotated files (oldest first) and positions at the
 * start of the last o->tail_lines lines; honours o->since_ns. SK_ENOTFOUND
 * when neither path nor a rotated file exists. */
kl_logr *kl_logr_open(const char *path, const struct sk_kl_log_opts *o, sk_err *err);
/* Decodes what is available, up to about budget bytes: 1 when at the end
 * of the live file (more may come), 2 when the budget ran out first, 0 when
 * fn stopped it, -1 + err on a read error. Follows rotation (the live file
 * replaced by a new one) when o->follow. */
int kl_logr_pump(kl_logr *r, size_t budget, kl_line_fn fn, void *ud, sk_err *err);
/* At the end: emits an incomplete trailing record and pending partial
 * lines. 0, or what fn returned when it stopped. */
int kl_logr_finish(kl_logr *r, kl_line_fn fn, void *ud);
void kl_logr_free(kl_logr *r); /* NULL ok */

/* Formats lines as the kubelet writes them: optional timestamp prefix,
 * content, newline, cut at limit_bytes. */
struct kl_logfmt {
    bool timestamps;
    int64_t remaining; /* bytes still allowed */
    sk_buf out;
};
void kl_logfmt_init(struct kl_logfmt *f, const struct sk_kl_log_opts *o);
/* Appends l to f->out; 1 when the byte limit is reached (stop), else 0. */
int kl_logfmt_line(struct kl_logfmt *f, const struct kl_log_line *l);

/* ---- the daemon (server.c) ---------------------------------------------------- */

/* Something that outlives its request (an upgraded session): the server
 * shuts its socket down and waits for it on free. */
struct kl_task {
    struct kl_task *prev, *next;
    int fd;             /* socket to shut down at server stop; -1 none */
    volatile int stop;  /* set at server stop */
};

struct sk_kl_server {
    struct sk_kl_server_config cfg; /* strings point at the copies below */
    char *cert, *key, *ca, *cn, *bind;
    struct MHD_Daemon *mhd;
    int port;
    volatile int stopping;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct kl_task *tasks;
    int ntasks;
};

struct kl_session;

/* One request; the handlers fill resp and status (101 for upgrades). */
struct kl_req {
    sk_kl_server *srv;
    struct MHD_Connection *conn;
    const char *method, *url;
    struct MHD_Response *resp;
    unsigned status;
    struct kl_session *session; /* run after a 101; freed here if the upgrade never happens */
};

/* Registers a session; false when the server is stopping (do not start). */
bool kl_task_add(sk_kl_server *s, struct kl_task *t);
/* Unregisters t and, under the same lock, closes the upgraded socket
 * through urh (may be NULL), so the server never shuts down a socket
 * number MHD already reused, nor stops MHD before the close. */
void kl_task_remove(sk_kl_server *s, struct kl_task *t, struct MHD_UpgradeResponseHandle *urh);

const char *kl_arg(struct kl_req *q, const char *name);
const char *kl_header(struct kl_req *q, const char *name);
bool kl_arg_true(struct kl_req *q, const char *name);
/* A Kubernetes Status reply (code from err->code). */
void kl_reply_err(struct kl_req *q, const sk_err *err);
void kl_reply_status(struct kl_req *q, enum sk_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void kl_reply_text(struct kl_req *q, unsigned status, const char *text);
/* Status JSON text (for the exec status channel too); caller frees. */
char *kl_status_json(const char *status, enum sk_code code, const char *reason, const char *msg,
                     json_t *causes /* stolen, may be NULL */);

/* Resolves the target through cfg.lookup; on failure replies with a Status
 * and returns -1. */
int kl_lookup(struct kl_req *q, const char *ns, const char *pod, const char *ctr,
              struct sk_kl_ctr_ref *ref);

/* ---- handlers ------------------------------------------------------------------- */

void kl_handle_logs(struct kl_req *q, const char *ns, const char *pod, const char *ctr);
/* exec and attach: attach = true for /attach. */
void kl_handle_exec(struct kl_req *q, const char *ns, const char *pod, const char *ctr,
                    bool attach);
void kl_handle_portforward(struct kl_req *q, const char *ns, const char *pod);

/* ---- WebSocket (server_ws.c) ---------------------------------------------------- */

/* True when the request asks for a WebSocket upgrade. */
bool kl_ws_requested(struct kl_req *q);
/* The first of `wanted` (in our preference order) offered in
 * Sec-WebSocket-Protocol, or NULL. */
const char *kl_ws_pick_protocol(struct kl_req *q, const char *const *wanted, size_t n);
/* An upgraded connection's work, run on a thread of its own. */
struct kl_session {
    struct kl_task task;       /* task.fd = the upgraded socket */
    sk_kl_server *srv;
    struct MHD_UpgradeResponseHandle *urh;
    char *extra;               /* bytes MHD read past the request */
    size_t nextra;
    void (*run)(struct kl_session *s); /* returns when done; the socket is closed after */
    void (*free_ctx)(void *ctx);
    void *ctx;
};
/* A session for q->session: run(s) with s->ctx = ctx once upgraded. */
struct kl_session *kl_session_new(struct kl_req *q, void (*run)(struct kl_session *s),
                                  void *ctx, void (*free_ctx)(void *ctx));
void kl_session_free(struct kl_session *s);
/* Replies 101 with the extra headers (name, value pairs, NULL-ended); the
 * upgraded socket goes to q->session. */
void kl_upgrade_reply(struct kl_req *q, const char *const *headers);
/* Checks the WebSocket handshake and replies 101 (protocol echoed) for
 * q->session; replies 400 on a bad handshake. */
void kl_ws_accept(struct kl_req *q, const char *protocol);

/* Server side of one WebSocket over a non-blocking socket. */
struct kl_ws {
    int fd;
    wslay_event_context_ptr ctx;
    const uint8_t *extra; /* bytes MHD read past the request */
    size_t nextra;
    bool eof;             /* peer gone or protocol error */
    void (*on_msg)(void *ud, const uint8_t *p, size_t n); /* binary/text messages */
    void *ud;
};
int kl_ws_init(struct kl_ws *w, int fd, const char *extra, size_t nextra,
               void (*on_msg)(void *ud, const uint8_t *p, size_t n), void *ud);
void kl_ws_release(struct kl_ws *w);
/* poll events wanted on w->fd. */
short kl_ws_events(const struct kl_ws *w);
/* Reads/writes after poll; -1 when the connection is finished or broken. */
int kl_ws_io(struct kl_ws *w, short revents);
/* Queues a binary message: channel byte + data. */
void kl_ws_send(struct kl_ws *w, uint8_t channel, const void *p, size_t n);
/* Bytes queued and not yet sent (back-pressure). */
size_t kl_ws_queued(const struct kl_ws *w);
void kl_ws_close(struct kl_ws *w, uint16_t code);
/* Sends what is queued (close included) and waits for the peer's close,
 * at most timeout_ms. */
void kl_ws_drain(struct kl_ws *w, int timeout_ms);

#endif

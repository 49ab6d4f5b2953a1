/* Internals of port-forward sessions shared by portfwd.c (the session,
 * SPDY streams, the poll loop) and portfwd_dial.c (connecting inside the
 * pod's network namespace). */
#ifndef SK_PORTFWD_INT_H
#define SK_PORTFWD_INT_H

#include "kubelet/spdy.h"
#include "network/network.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <wslay/wslay.h>

#define PF_READ_CHUNK (64 * 1024)
#define PF_HIGH_WATER (1u << 20)    /* bytes queued before we stop reading */
#define PF_MAX_PAIRS 1024           /* concurrent forwarded connections */
#define PF_PAIR_TIMEOUT_MS 30000    /* kubelet's streamCreationTimeout */
#define PF_LINGER_MS 1000           /* containerd's wait after one side ends */

enum pf_state { PF_WAIT, PF_CONNECTING, PF_OPEN };

/* One forwarded connection: the error and data streams of a requestid. */
struct pf_pair {
    char request_id[64];
    uint32_t err_id, data_id;  /* 0 = not (or no longer) open */
    uint16_t port;
    int64_t created_ms;
    int64_t linger_until;      /* after our SHUT_WR: end the pair by then (0 = no) */
    enum pf_state state;
    bool dead;                 /* finished; freed at the end of the loop turn */
    int fd;                    /* the pod socket, connecting or open */
    int spare[2];              /* made in the netns: [0] IPv4, [1] IPv6 */
    int attempt;               /* 0 = 127.0.0.1, 1 = ::1 */
    char dial_err[2][160];
    sk_buf to_pod;             /* client bytes not yet written */
    size_t to_pod_off;
    bool client_fin, wr_shut, wr_dead;
};

struct pf_sess {
    int fd;
    bool ws;
    wslay_event_context_ptr wctx;
    bool ws_feeding;           /* the current WebSocket frame carries SPDY bytes */
    int read_budget;
    sk_buf out;                /* raw mode: bytes for the client */
    size_t out_off;
    bool peer_gone, done, failed;
    sk_err ferr;
    uint8_t *rbuf;             /* PF_READ_CHUNK */
    sk_spdy_parser *parser;
    sk_spdy_deflater *zout;
    struct pf_pair **pairs;
    size_t n_pairs, cap_pairs;
    uint32_t last_id;          /* highest client stream id seen */
    const char *netns_path;    /* NULL = ours */
    char ns_id[128];           /* its basename: the sandbox id */
};


/* portfwd.c */
void pf_pair_finish(struct pf_sess *s, struct pf_pair *p, const char *msg);
void pf_pod_flush(struct pf_pair *p);
/* portfwd_dial.c: both streams are there: connect to the pod's port */
void pf_pair_connect(struct pf_sess *s, struct pf_pair *p);
/* the non-blocking connect finished (POLLOUT): open the pair or try the next address */
void pf_connect_done(struct pf_sess *s, struct pf_pair *p);

#endif

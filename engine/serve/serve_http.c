/* serve_http.c: the HTTP layer of `yuanzhu serve` on libmicrohttpd (the only file that includes
 * microhttpd.h): a daemon with a thread pool on a TCP or Unix socket, request bodies collected up
 * to a limit, and a deadline for each request to arrive, so a client that sends a byte now and
 * then (slow loris) cannot hold a connection for long.  A connection whose answer waits for the
 * store is suspended, so its pool thread serves the others meanwhile: without that, the clients
 * that happened to share a thread queued behind each recording. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <microhttpd.h>

#include "serve.h"

/* one TCP (or Unix) connection, on the list the watchdog walks */
typedef struct conn {
    int fd;
    double since; /* when the request being received began (the connection opened, or the last ended) */
    bool busy;    /* a whole request arrived and is being answered: no deadline */
    struct conn *prev, *next;
} conn;

/* one request */
typedef struct request {
    serve_http *h;
    struct MHD_Connection *c;
    serve_pending *pending; /* its answer waits: the connection is suspended until done() */
    bool counted;           /* in h->npending (from suspend until the answer is made or dropped) */
    conn *cn;
    char *body;
    size_t len, cap;
    bool too_big;
    bool answered; /* a response was queued from the headers alone */
    double t0;
    int route, status;
} request;

struct serve_http {
    struct MHD_Daemon *d;
    serve_handler preflight, handle;
    void *ctx;
    serve_http_options o;
    char url[320];
    char unix_path[108];
    int listen_fd;
    pthread_mutex_t mu;
    conn *conns;
    pthread_t watchdog;
    pthread_cond_t stop_cv;
    bool stopping;
    /* suspended connections whose answer has not come yet: stopping waits for them */
    pthread_mutex_t pmu;
    pthread_cond_t pcv;
    unsigned npending;
};

static const char *header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static void remote_of(struct MHD_Connection *c, char *out, size_t n)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, n, "unix");
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    char ip[INET6_ADDRSTRLEN] = "";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        snprintf(out, n, "%s:%u", ip, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &in->sin6_addr, ip, sizeof ip);
        snprintf(out, n, "[%s]:%u", ip, ntohs(in->sin6_port));
    }
}

static enum MHD_Result send_resp(struct MHD_Connection *c, request *r, serve_resp *resp)
{
    struct MHD_Response *m =
        MHD_create_response_from_buffer(resp->len, resp->body ? resp->body : (void *)"", resp->body ? MHD_RESPMEM_MUST_FREE
                                                                                                    : MHD_RESPMEM_PERSISTENT);
    if (!m) {
        free(resp->body);
        return MHD_NO;
    }
    MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE,
                            resp->content_type ? resp->content_type : "application/json; charset=utf-8");
    MHD_add_response_header(m, MHD_HTTP_HEADER_CACHE_CONTROL, resp->cache ? resp->cache : "no-store");
    MHD_add_response_header(m, "X-Content-Type-Options", "nosniff");
    /* the page and everything it loads come from this server: nothing from elsewhere, no frames */
    MHD_add_response_header(m, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "
                            "form-action 'self'");
    MHD_add_response_header(m, "Referrer-Policy", "no-referrer");
    if (resp->location[0])
        MHD_add_response_header(m, MHD_HTTP_HEADER_LOCATION, resp->location);
    if (resp->allow)
        MHD_add_response_header(m, MHD_HTTP_HEADER_ALLOW, resp->allow);
    if (resp->challenge)
        MHD_add_response_header(m, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"yuanzhu\"");
    r->route = resp->route;
    r->status = resp->status;
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)resp->status, m);
    MHD_destroy_response(m);
    return ret;
}

static void fill_req(struct MHD_Connection *c, const char *url, const char *method, serve_req *q, char *remote,
                     size_t rn)
{
    memset(q, 0, sizeof *q);
    q->method = method;
    q->path = url;
    q->content_type = header(c, MHD_HTTP_HEADER_CONTENT_TYPE);
    q->authorization = header(c, MHD_HTTP_HEADER_AUTHORIZATION);
    remote_of(c, remote, rn);
    q->remote = remote;
    const char *cl = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
    q->content_length = -1;
    if (cl) {
        char *end;
        errno = 0;
        long long v = strtoll(cl, &end, 10);
        if (!errno && end != cl && !*end && v >= 0)
            q->content_length = v;
    }
}

/* done() of a pending answer (serve.h), on whichever thread finished the work: the connection's
   HTTP thread takes it up again and calls on_request, which finishes the answer.  r may be freed
   as soon as the connection resumes, so nothing after that touches it; pmu keeps serve_http_stop
   from stopping the daemon while MHD_resume_connection runs (pending_over waits for it too). */
static void resume_request(void *arg)
{
    request *r = arg;
    serve_http *h = r->h;
    struct MHD_Connection *c = r->c;
    pthread_mutex_lock(&h->pmu);
    MHD_resume_connection(c);
    pthread_mutex_unlock(&h->pmu);
}

/* the connection of r is no longer suspended (libmicrohttpd refuses to stop with one that is) */
static void pending_over(serve_http *h, request *r)
{
    if (!r->counted)
        return;
    r->counted = false;
    pthread_mutex_lock(&h->pmu);
    h->npending--;
    pthread_cond_broadcast(&h->pcv);
    pthread_mutex_unlock(&h->pmu);
}

/* the answer of a resumed connection, made on its HTTP thread; the connection stops counting as
   pending */
static void finish_pending(serve_http *h, request *r, serve_resp *resp)
{
    memset(resp, 0, sizeof *resp);
    resp->route = r->route;
    serve_pending *p = r->pending;
    r->pending = NULL;
    p->finish(p, resp);
    pending_over(h, r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    serve_http *h = cls;
    request *r = *con_cls;
    char remote[80];
    serve_req q;
    serve_resp resp;
    if (!r) {
        r = sv_calloc(1, sizeof *r);
        r->h = h;
        r->c = c;
        r->t0 = serve_clock();
        r->route = -1;
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        r->cn = ci ? ci->socket_context : NULL;
        *con_cls = r;
        fill_req(c, url, method, &q, remote, sizeof remote);
        memset(&resp, 0, sizeof resp);
        resp.route = -1;
        if (q.content_length > (int64_t)h->o.max_body) {
            resp.status = 413;
            resp.body = sv_printf("{\"error\":{\"code\":\"too_large\",\"message\":\"the request body of %lld bytes is "
                                  "larger than the limit of %zu bytes\"}}\n",
                                  (long long)q.content_length, h->o.max_body);
            resp.len = strlen(resp.body);
            r->answered = true;
            return send_resp(c, r, &resp);
        }
        if (h->preflight(h->ctx, &q, &resp) != 0) {
            r->answered = true;
            return send_resp(c, r, &resp);
        }
        return MHD_YES;
    }
    if (r->pending) { /* resumed: the work it waited for is done */
        finish_pending(h, r, &resp);
        return send_resp(c, r, &resp);
    }
    if (r->answered) { /* the rest of a body already refused */
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        if (r->len + *upload_size > h->o.max_body)
            r->too_big = true;
        if (!r->too_big) {
            if (r->len + *upload_size + 1 > r->cap) {
                r->cap = (r->len + *upload_size + 1) * 2;
                if (r->cap > h->o.max_body + 1)
                    r->cap = h->o.max_body + 1;
                r->body = sv_realloc(r->body, r->cap);
            }
            memcpy(r->body + r->len, upload, *upload_size);
            r->len += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    /* the whole request is here */
    if (r->cn) {
        pthread_mutex_lock(&h->mu);
        r->cn->busy = true;
        pthread_mutex_unlock(&h->mu);
    }
    fill_req(c, url, method, &q, remote, sizeof remote);
    memset(&resp, 0, sizeof resp);
    resp.route = -1;
    if (r->too_big) {
        resp.status = 413;
        resp.body = sv_printf("{\"error\":{\"code\":\"too_large\",\"message\":\"the request body is larger than the "
                              "limit of %zu bytes\"}}\n",
                              h->o.max_body);
        resp.len = strlen(resp.body);
        return send_resp(c, r, &resp);
    }
    if (!r->body)
        r->body = sv_calloc(1, 1);
    r->body[r->len] = '\0';
    q.body = r->body;
    q.body_len = r->len;
    h->handle(h->ctx, &q, &resp);
    if (resp.pending) {
        r->pending = resp.pending;
        r->route = resp.route;
        pthread_mutex_lock(&h->pmu);
        h->npending++;
        pthread_mutex_unlock(&h->pmu);
        r->counted = true;
        MHD_suspend_connection(c);
        r->pending->start(r->pending, resume_request, r);
        return MHD_YES;
    }
    return send_resp(c, r, &resp);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)c;
    (void)toe;
    serve_http *h = cls;
    request *r = *con_cls;
    if (!r)
        return;
    if (r->pending) { /* resumed, but the client had gone: the answer is made and dropped */
        serve_resp resp;
        finish_pending(h, r, &resp);
        free(resp.body);
    }
    if (r->status)
        metrics_request(r->route, r->status, serve_clock() - r->t0);
    if (r->cn) {
        pthread_mutex_lock(&h->mu);
        r->cn->busy = false;
        r->cn->since = serve_clock();
        pthread_mutex_unlock(&h->mu);
    }
    free(r->body);
    free(r);
    *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context, enum MHD_ConnectionNotificationCode toe)
{
    serve_http *h = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        conn *cn = sv_calloc(1, sizeof *cn);
        cn->fd = ci ? ci->connect_fd : -1;
        cn->since = serve_clock();
        pthread_mutex_lock(&h->mu);
        cn->next = h->conns;
        if (h->conns)
            h->conns->prev = cn;
        h->conns = cn;
        pthread_mutex_unlock(&h->mu);
        *socket_context = cn;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
        /* called before the socket is closed: once off the list, the watchdog cannot touch the fd */
        conn *cn = *socket_context;
        pthread_mutex_lock(&h->mu);
        if (cn->prev)
            cn->prev->next = cn->next;
        else
            h->conns = cn->next;
        if (cn->next)
            cn->next->prev = cn->prev;
        pthread_mutex_unlock(&h->mu);
        free(cn);
        *socket_context = NULL;
    }
}

/* Closes connections whose request has been arriving for longer than the deadline (a slow
   client, or one idle between requests): shutting the socket down makes the pool thread see the
   end of the stream and close the connection itself. */
static void *watchdog_main(void *p)
{
    serve_http *h = p;
    pthread_mutex_lock(&h->mu);
    while (!h->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 250 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&h->stop_cv, &h->mu, &ts);
        double now = serve_clock();
        for (conn *cn = h->conns; cn; cn = cn->next)
            if (!cn->busy && cn->fd >= 0 && now - cn->since > h->o.request_timeout) {
                shutdown(cn->fd, SHUT_RDWR);
                cn->fd = -1; /* once */
            }
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        msg[--n] = '\0';
    serve_log("http: %s", msg);
}

/* "unix:PATH": a socket file readable and writable by its owner and group */
static int listen_unix(serve_http *h, const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (!*path || strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "--listen unix:PATH needs a path of 1 to %zu bytes", sizeof sa.sun_path - 1);
        return -1;
    }
    strcpy(sa.sun_path, path);
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "%s exists and is not a socket: choose another path", path);
            return -1;
        }
        /* a socket left by a server that is gone can be replaced; one that answers cannot */
        int probe = socket(AF_UNIX, SOCK_STREAM, 0);
        if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0) {
            close(probe);
            snprintf(err, errlen, "another server is listening on %s", path);
            return -1;
        }
        if (probe >= 0)
            close(probe);
        unlink(path);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    mode_t old = umask(007);
    int rc = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (rc != 0 || listen(fd, 128) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    snprintf(h->unix_path, sizeof h->unix_path, "%s", path);
    snprintf(h->url, sizeof h->url, "unix:%s", path);
    return fd;
}

/* "HOST:PORT" with a numeric IPv4 or [IPv6] host; port 0 picks a free one */
static int listen_tcp(serve_http *h, const char *addr, char *err, size_t errlen)
{
    char host[64];
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr || (size_t)(colon - addr) >= sizeof host) {
        snprintf(err, errlen, "--listen takes HOST:PORT (127.0.0.1:8080, [::1]:8080) or unix:PATH, not '%s'", addr);
        return -1;
    }
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 0 || port > 65535) {
        snprintf(err, errlen, "--listen: '%s' is not a port number (0 to 65535)", colon + 1);
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    size_t hl = strlen(host);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) != 1) {
            snprintf(err, errlen, "--listen: '%s' is not an IPv6 address", host + 1);
            return -1;
        }
        sl = sizeof *in6;
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        if (!strcmp(host, "localhost"))
            strcpy(host, "127.0.0.1");
        if (inet_pton(AF_INET, host, &in->sin_addr) != 1) {
            snprintf(err, errlen, "--listen: '%s' is not an IPv4 address (give 127.0.0.1, 0.0.0.0 or [::1])", host);
            return -1;
        }
        sl = sizeof *in;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 256) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    char ip[INET6_ADDRSTRLEN];
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        snprintf(h->url, sizeof h->url, "http://[%s]:%u", ip, ntohs(in6->sin6_port));
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        snprintf(h->url, sizeof h->url, "http://%s:%u", ip, ntohs(in->sin_port));
    }
    return fd;
}

/* the listening socket (a Unix socket's file too) and h itself */
static void http_free(serve_http *h)
{
    close(h->listen_fd);
    if (h->unix_path[0])
        unlink(h->unix_path);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->stop_cv);
    pthread_mutex_destroy(&h->pmu);
    pthread_cond_destroy(&h->pcv);
    free(h);
}

serve_http *serve_http_start(const char *addr, const serve_http_options *o, serve_handler preflight,
                             serve_handler handle, void *ctx, char *err, size_t errlen)
{
    serve_http *h = sv_calloc(1, sizeof *h);
    h->preflight = preflight;
    h->handle = handle;
    h->ctx = ctx;
    h->o = *o;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->stop_cv, NULL);
    pthread_mutex_init(&h->pmu, NULL);
    pthread_cond_init(&h->pcv, NULL);
    h->listen_fd = !strncmp(addr, "unix:", 5) ? listen_unix(h, addr + 5, err, errlen) : listen_tcp(h, addr, err, errlen);
    if (h->listen_fd < 0) {
        h->unix_path[0] = '\0';
        http_free(h); /* close(-1) does nothing */
        return NULL;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_SUSPEND_RESUME;
    /* one thread: the daemon's own polling thread (a pool of one is refused with a warning) */
    struct MHD_OptionItem pool[] = {{o->threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, (intptr_t)o->threads, NULL},
                                    {MHD_OPTION_END, 0, NULL}};
    h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
                            MHD_OPTION_LISTEN_SOCKET, (MHD_socket)h->listen_fd,
                            MHD_OPTION_ARRAY, pool,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o->idle_timeout,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)o->max_connections,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                            MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
                            MHD_OPTION_END);
    if (!h->d) {
        snprintf(err, errlen, "cannot start the HTTP server on %s (libmicrohttpd refused; see the message above)", addr);
        http_free(h);
        return NULL;
    }
    int e = pthread_create(&h->watchdog, NULL, watchdog_main, h);
    if (e) {
        snprintf(err, errlen, "cannot start the connection watchdog thread: %s", strerror(e));
        MHD_stop_daemon(h->d);
        http_free(h);
        return NULL;
    }
    return h;
}

const char *serve_http_url(const serve_http *h)
{
    return h->url;
}

void serve_http_stop(serve_http *h)
{
    if (!h)
        return;
    /* stop taking connections, let the answers that wait for the store come, then let the pool
       finish the requests it has */
    MHD_quiesce_daemon(h->d);
    pthread_mutex_lock(&h->pmu);
    while (h->npending)
        pthread_cond_wait(&h->pcv, &h->pmu);
    pthread_mutex_unlock(&h->pmu);
    pthread_mutex_lock(&h->mu);
    h->stopping = true;
    pthread_cond_signal(&h->stop_cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->watchdog, NULL);
    MHD_stop_daemon(h->d);
    http_free(h);
}

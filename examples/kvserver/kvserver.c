/* SPDX-License-Identifier: MIT */
/*
 * tricolor-kvserver - a multithreaded key-value server speaking a subset of
 * the Redis protocol, with every connection, buffer, key and value on the
 * tricolor garbage-collected heap.
 *
 * Threads: N workers, each with its own epoll instance that holds the
 * (shared) listening socket with EPOLLEXCLUSIVE, the read end of the
 * shutdown self-pipe and the worker's own connections. A worker keeps its
 * connections in a heap array indexed by descriptor; the array hangs off
 * the server object, which is reachable from the registered root g_srv.
 *
 * Descriptor ownership: each connection object owns its socket. A cleanup
 * (tri_add_cleanup, default) or a finalizer (--cleanup-mode finalizer)
 * closes the descriptor if the object is ever dropped without being
 * closed. A normal close stops the cleanup / clears the finalizer first.
 * --forget makes a worker drop connections whose client vanished without
 * QUIT (EOF, reset, hang-up) without closing them: only the collector then
 * closes the socket (the leak test in perf/kvserver-bench).
 *
 * Blocking: epoll_wait, accept, read and write run inside TRI_BLOCKING
 * (a blocking region that keeps the call's errno). read() fills a heap
 * buffer inside the region, which the contract in include/tricolor.h
 * allows: the buffer is an atomic (pointer-free) block kept reachable by
 * the connection and by the pointer on our stack for the whole call.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <tricolor.h>

#include "kv_table.h"
#include "stats.h"

#define MAX_WORKERS 256
#define MAX_ARGS 256
#define RBUF_INIT 4096
#define WBUF_INIT 4096
#define BUF_SHRINK 65536	    /* shrink idle buffers above this size */
#define MAX_BULK (512u << 20) /* Redis' proto-max-bulk-len */
#define MAX_INLINE (64u << 10)
#define TAG_LISTEN UINT64_MAX
#define TAG_STOP (UINT64_MAX - 1)

enum cleanup_mode { MODE_CLEANUP, MODE_FINALIZER };

static struct {
	int port;
	int threads;
	int gc_percent; /* -2: library default */
	enum cleanup_mode mode;
	int stats;
	int forget;
	const char *bind;
	long fd_limit; /* -1: default (half of RLIMIT_NOFILE, at most 1024); 0: off */
} opt = { 6379, 0, -2, MODE_CLEANUP, 0, 0, "127.0.0.1", -1 };

struct conn {
	char *rbuf; /* tri_alloc_atomic */
	char *wbuf; /* tri_alloc_atomic */
	size_t rcap, rpos, rlen;
	size_t wcap, wpos, wlen;
	tri_cleanup cleanup;
	int fd;
	int closing;  /* QUIT seen: close once the replies are written */
	int want_out; /* registered for EPOLLOUT (reads paused) */
};

struct worker {
	struct conn **conns; /* tri_alloc, indexed by fd */
	size_t nconns;
	int epfd;
	int id;
	pthread_t thread;
	/* counters (this worker only) */
	uint64_t accepted, closed, forgotten, commands, emfile;
};

struct server {
	struct kv_table *table;
	struct worker *workers[MAX_WORKERS];
};

/* The root of everything: registered with tri_add_roots in main. */
static struct server *g_srv;

static int g_listen_fd = -1;
static int g_stop_pipe[2] = { -1, -1 };
static volatile sig_atomic_t g_stop;
static uint64_t g_gc_closed; /* sockets closed by a cleanup / finalizer */
/* Client sockets owned by connection objects, counted toward the
 * collector's pacing (tri_resource_*): dropped connections (--forget) get
 * collected when descriptors run short, not only when memory does. NULL
 * with --fd-limit 0. Set in main before the workers start. */
static tri_resource *g_fds;

static void fd_released(void)
{
	if (g_fds)
		tri_resource_release(g_fds);
}

/* ------------------------------------------------------------------ */
/* Descriptor safety nets                                              */
/* ------------------------------------------------------------------ */

/* Cleanup: arg encodes fd + 1 (a non-heap pointer value). */
static void close_fd_cleanup(void *arg)
{
	int fd = (int)((intptr_t)arg - 1);
	close(fd);
	fd_released();
	__atomic_fetch_add(&g_gc_closed, 1, __ATOMIC_RELAXED);
}

static void conn_finalizer(void *obj)
{
	struct conn *c = obj;
	close(c->fd);
	fd_released();
	__atomic_fetch_add(&g_gc_closed, 1, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------ */
/* Connections                                                         */
/* ------------------------------------------------------------------ */

static int worker_put(struct worker *w, int fd, struct conn *c)
{
	if ((size_t)fd >= w->nconns) {
		size_t n = w->nconns ? w->nconns : 1024;
		while (n <= (size_t)fd)
			n *= 2;
		struct conn **na = tri_alloc(n * sizeof *na);
		if (!na)
			return -1;
		if (w->nconns)
			tri_memmove(na, w->conns, w->nconns * sizeof *na);
		TRI_STORE(w->conns, na);
		w->nconns = n;
	}
	TRI_STORE(w->conns[fd], c);
	return 0;
}

static struct conn *worker_get(struct worker *w, int fd)
{
	if ((size_t)fd >= w->nconns)
		return NULL;
	return w->conns[fd];
}

static void conn_new(struct worker *w, int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

	struct conn *c = tri_alloc(sizeof *c);
	char *rb = tri_alloc_atomic(RBUF_INIT);
	char *wb = tri_alloc_atomic(WBUF_INIT);
	if (!c || !rb || !wb) {
		close(fd);
		return;
	}
	/* c is not published yet: plain stores. */
	c->rbuf = rb;
	c->rcap = RBUF_INIT;
	c->wbuf = wb;
	c->wcap = WBUF_INIT;
	c->fd = fd;
	if (opt.mode == MODE_CLEANUP)
		c->cleanup = tri_add_cleanup(c, close_fd_cleanup,
					     (void *)(intptr_t)(fd + 1));
	else
		tri_set_finalizer(c, conn_finalizer);
	if (g_fds) /* c owns fd now: its safety net releases the count */
		tri_resource_acquire(g_fds);

	if (worker_put(w, fd, c) != 0) {
		/* The safety net closes fd once c is collected. */
		return;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)fd };
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		perror("epoll_ctl ADD");
		TRI_STORE(w->conns[fd], NULL);
		return;
	}
	w->accepted++;
}

/* Close normally, or (forget) drop our reference with the socket open. */
static void conn_close(struct worker *w, struct conn *c, int forget)
{
	int fd = c->fd;
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
	TRI_STORE(w->conns[fd], NULL);
	if (forget) {
		w->forgotten++;
		return;
	}
	if (opt.mode == MODE_CLEANUP)
		tri_cleanup_stop(c->cleanup);
	else
		tri_set_finalizer(c, NULL);
	close(fd);
	fd_released();
	w->closed++;
	tri_keep_alive(c);
}

static void conn_set_out(struct worker *w, struct conn *c, int out)
{
	if (c->want_out == out)
		return;
	struct epoll_event ev = { .events = out ? EPOLLOUT : EPOLLIN,
				  .data.u64 = (uint64_t)c->fd };
	epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	c->want_out = out;
}

/* ------------------------------------------------------------------ */
/* Reply buffer                                                        */
/* ------------------------------------------------------------------ */

static int wreserve(struct conn *c, size_t n)
{
	if (c->wcap - c->wlen >= n)
		return 0;
	if (c->wpos > 0) {
		memmove(c->wbuf, c->wbuf + c->wpos, c->wlen - c->wpos);
		c->wlen -= c->wpos;
		c->wpos = 0;
		if (c->wcap - c->wlen >= n)
			return 0;
	}
	size_t cap = c->wcap * 2;
	while (cap - c->wlen < n)
		cap *= 2;
	char *nb = tri_alloc_atomic(cap);
	if (!nb)
		return -1;
	memcpy(nb, c->wbuf, c->wlen);
	TRI_STORE(c->wbuf, nb);
	c->wcap = cap;
	return 0;
}

static void wadd(struct conn *c, const char *p, size_t n)
{
	if (wreserve(c, n) != 0)
		return; /* out of memory: the reply is lost, client times out */
	memcpy(c->wbuf + c->wlen, p, n);
	c->wlen += n;
}

static void wstr(struct conn *c, const char *s)
{
	wadd(c, s, strlen(s));
}

static void wint(struct conn *c, long long v)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, ":%lld\r\n", v);
	wadd(c, buf, (size_t)n);
}

static void wbulk(struct conn *c, const char *p, size_t len)
{
	char hdr[32];
	int n = snprintf(hdr, sizeof hdr, "$%zu\r\n", len);
	if (wreserve(c, (size_t)n + len + 2) != 0)
		return;
	wadd(c, hdr, (size_t)n);
	wadd(c, p, len);
	wadd(c, "\r\n", 2);
}

static void warray(struct conn *c, long n)
{
	char hdr[32];
	int k = snprintf(hdr, sizeof hdr, "*%ld\r\n", n);
	wadd(c, hdr, (size_t)k);
}

/* ------------------------------------------------------------------ */
/* Request parsing                                                     */
/* ------------------------------------------------------------------ */

struct arg {
	const char *p;
	size_t n;
};

/*
 * Redis' own reading of a request (networking.c, processInlineBuffer and
 * processMultibulkBuffer, Redis 7), so that a malformed request gets the
 * same reply as from redis-server, and the connection is closed after it:
 *  - a line ends at the first '\r' (multibulk) or '\n' (inline); Redis
 *    searches with strchr on a NUL-terminated buffer, so a NUL byte before
 *    the terminator means "no line yet" here too (find_byte);
 *  - counts and lengths are parsed with string2ll's rules (kv_parse_i64);
 *  - "*N" with N <= 0 is an empty command (skipped), N > INT_MAX is an
 *    invalid multibulk length; the two bytes after a bulk are skipped
 *    without looking at them;
 *  - inline lines are split as Redis' sdssplitargs splits them (quotes
 *    and escapes included, split_inline).
 * tricolor-kvserver's one extra limit: more than MAX_ARGS arguments.
 */
static const char *find_byte(const char *p, const char *end, char c)
{
	for (; p < end && *p; p++)
		if (*p == c)
			return p;
	return NULL;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/*
 * Redis' sdssplitargs on the line [line, le), which Redis sees as a C
 * string (it ends at a NUL): blanks separate arguments, "..." reads the
 * escapes \n \r \t \b \a \xHH and \<c>, '...' reads \', and a closing quote
 * must be followed by a blank or the end. Arguments are unescaped in place
 * (an argument is never longer than its text). Returns 0, -1 (unbalanced
 * quotes) or -2 (more than MAX_ARGS arguments).
 */
static int split_inline(char *line, const char *le, struct arg *argv, int *argc)
{
#define CH(q) ((q) < le ? *(q) : 0)
	char *q = line;
	for (;;) {
		while (CH(q) && (is_space(*q)))
			q++;
		if (!CH(q))
			return 0;
		char *w = q, *start = q;
		char quote = 0; /* '"' or '\'' inside quotes */
		int done = 0;
		while (!done) {
			char ch = CH(q);
			if (quote == '"' && ch == '\\' && CH(q + 1) == 'x' && hexval(CH(q + 2)) >= 0 &&
			    hexval(CH(q + 3)) >= 0) {
				*w++ = (char)(hexval(q[2]) * 16 + hexval(q[3]));
				q += 3;
			} else if (quote == '"' && ch == '\\' && CH(q + 1)) {
				char e = *++q;
				*w++ = e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t'
				       : e == 'b' ? '\b' : e == 'a' ? '\a' : e;
			} else if (quote == '\'' && ch == '\\' && CH(q + 1) == '\'') {
				*w++ = *++q;
			} else if (quote && ch == quote) {
				if (CH(q + 1) && !is_space(q[1]))
					return -1; /* a closing quote ends the argument */
				done = 1;
			} else if (quote && !ch) {
				return -1;
			} else if (quote) {
				*w++ = ch;
			} else if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t' || !ch) {
				done = 1;
			} else if (ch == '"' || ch == '\'') {
				quote = ch;
			} else {
				*w++ = ch;
			}
			if (CH(q))
				q++;
		}
		if (*argc == MAX_ARGS)
			return -2;
		argv[*argc].p = start;
		argv[*argc].n = (size_t)(w - start);
		(*argc)++;
	}
#undef CH
}

/*
 * Parse one request from buf[0..n). Returns 1 (complete: *argc args,
 * *used bytes; argc may be 0; inline arguments are unescaped in buf), 0 (incomplete) or -1 (protocol error: *err
 * is the reply).
 */
static int parse_request(char *buf, size_t n, struct arg *argv,
			 int *argc, size_t *used, const char **err)
{
	static __thread char errbuf[64];
	const char *p = buf, *end = buf + n;
	*argc = 0;
	if (n == 0)
		return 0;
	if (*p != '*') {
		const char *nl = find_byte(p, end, '\n');
		if (!nl) {
			if (n > MAX_INLINE) {
				*err = "-ERR Protocol error: too big inline request\r\n";
				return -1;
			}
			return 0;
		}
		const char *le = nl;
		if (le > p && le[-1] == '\r')
			le--;
		int r = split_inline(buf, le, argv, argc);
		if (r < 0) {
			*err = r == -1 ? "-ERR Protocol error: unbalanced quotes in request\r\n"
				       : "-ERR Protocol error: too many arguments\r\n";
			return -1;
		}
		*used = (size_t)(nl + 1 - buf);
		return 1;
	}
	/* Multibulk: *<count>\r\n then count times $<len>\r\n<bytes>\r\n */
	const char *cr = find_byte(p, end, '\r');
	if (!cr) {
		if (n > MAX_INLINE) {
			*err = "-ERR Protocol error: too big mbulk count string\r\n";
			return -1;
		}
		return 0;
	}
	if (cr + 2 > end)
		return 0; /* the byte after '\r' has not arrived */
	int64_t cnt;
	if (kv_parse_i64(p + 1, (size_t)(cr - p - 1), &cnt) != 0 || cnt > INT_MAX) {
		*err = "-ERR Protocol error: invalid multibulk length\r\n";
		return -1;
	}
	p = cr + 2;
	if (cnt <= 0) {
		*used = (size_t)(p - buf);
		return 1;
	}
	if (cnt > MAX_ARGS) {
		*err = "-ERR Protocol error: too many arguments\r\n";
		return -1;
	}
	for (int64_t i = 0; i < cnt; i++) {
		if (p >= end)
			return 0;
		cr = find_byte(p, end, '\r');
		if (!cr) {
			if ((size_t)(end - p) > MAX_INLINE) {
				*err = "-ERR Protocol error: too big bulk count string\r\n";
				return -1;
			}
			return 0;
		}
		if (cr + 2 > end)
			return 0;
		if (*p != '$') {
			/* Redis' addReplyErrorFormat turns CR and LF into spaces. */
			snprintf(errbuf, sizeof errbuf, "-ERR Protocol error: expected '$', got '%c'\r\n",
				 *p == '\r' || *p == '\n' ? ' ' : *p);
			*err = errbuf;
			return -1;
		}
		int64_t len;
		if (kv_parse_i64(p + 1, (size_t)(cr - p - 1), &len) != 0 || len < 0 ||
		    len > (int64_t)MAX_BULK) {
			*err = "-ERR Protocol error: invalid bulk length\r\n";
			return -1;
		}
		p = cr + 2;
		if ((size_t)(end - p) < (size_t)len + 2)
			return 0;
		argv[i].p = p;
		argv[i].n = (size_t)len;
		p += len + 2; /* Redis skips the two bytes after the bulk unread */
	}
	*argc = (int)cnt;
	*used = (size_t)(p - buf);
	return 1;
}

/* ------------------------------------------------------------------ */
/* Commands                                                            */
/* ------------------------------------------------------------------ */

/* Wall-clock milliseconds: Redis checks expire deadlines against it. */
static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* SET's EX/PX value as Redis' getExpireMillisecondsOrReply accepts it:
 * positive, and the absolute deadline in ms does not overflow. */
static int expire_ms_in_range(int64_t v, int seconds)
{
	if (v <= 0 || (seconds && v > INT64_MAX / 1000))
		return 0;
	int64_t ms = seconds ? v * 1000 : v;
	return ms <= INT64_MAX - wall_ms();
}

static int is(const struct arg *a, const char *name)
{
	size_t n = strlen(name);
	return a->n == n && strncasecmp(a->p, name, n) == 0;
}

static void wrong_args(struct conn *c, const struct arg *cmd)
{
	char name[33], buf[128];
	size_t k = cmd->n > 32 ? 32 : cmd->n;
	for (size_t i = 0; i < k; i++) {
		char ch = cmd->p[i];
		name[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
	}
	name[k] = 0;
	int n = snprintf(buf, sizeof buf,
			 "-ERR wrong number of arguments for '%s' command\r\n", name);
	wadd(c, buf, (size_t)n);
}

static void config_get(struct conn *c, const struct arg *param)
{
	/* What redis-benchmark asks at start (CONFIG GET save / appendonly)
	 * and a few other common parameters; anything else: no match. */
	static const char *const known[][2] = {
		{ "save", "" },
		{ "appendonly", "no" },
		{ "databases", "1" },
		{ "maxmemory", "0" },
	};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
		if (is(param, known[i][0])) {
			warray(c, 2);
			wbulk(c, known[i][0], strlen(known[i][0]));
			wbulk(c, known[i][1], strlen(known[i][1]));
			return;
		}
	}
	warray(c, 0);
}

/* An argument as C's "%.*s" prints it: up to its first NUL byte. */
static int cstr_len(const struct arg *a, int max)
{
	const char *z = memchr(a->p, 0, a->n);
	size_t n = z ? (size_t)(z - a->p) : a->n;
	return (int)(n < (size_t)max ? n : (size_t)max);
}

/* Redis 7's reply, word for word (server.c processCommand): the name and
 * the first arguments, up to about 128 bytes, CR and LF made spaces. */
static void unknown_command(struct conn *c, const struct arg *argv, int argc)
{
	char args[512], buf[768];
	size_t alen = 0;
	args[0] = 0;
	for (int i = 1; i < argc && alen < 128; i++) {
		int w = snprintf(args + alen, sizeof args - alen, "'%.*s' ",
				 cstr_len(&argv[i], 128 - (int)alen), argv[i].p);
		if (w > 0)
			alen += (size_t)w;
	}
	int n = snprintf(buf, sizeof buf, "-ERR unknown command '%.*s', with args beginning with: %s\r\n",
			 cstr_len(&argv[0], 128), argv[0].p, args);
	if (n < 0 || (size_t)n >= sizeof buf)
		n = (int)sizeof buf - 1;
	for (int i = 1; i < n - 2; i++)
		if (buf[i] == '\r' || buf[i] == '\n')
			buf[i] = ' ';
	buf[n - 2] = '\r';
	buf[n - 1] = '\n';
	wadd(c, buf, (size_t)n);
}

static void dispatch(struct worker *w, struct conn *c, struct arg *argv,
		     int argc)
{
	struct kv_table *t = g_srv->table;
	struct arg *cmd = &argv[0];
	w->commands++;
	/* Redis' arity check (its command table): n exactly, or -n at least. */
	static const struct { const char *name; int arity; } arity[] = {
		{ "GET", 2 }, { "SET", -3 }, { "DEL", -2 }, { "UNLINK", -2 }, { "INCR", 2 },
		{ "DECR", 2 }, { "INCRBY", 3 }, { "DECRBY", 3 }, { "EXPIRE", -3 }, { "TTL", 2 },
		{ "EXISTS", -2 }, { "ECHO", 2 }, { "DBSIZE", 1 }, { "SELECT", 2 }, { "CONFIG", -2 },
	};
	for (size_t i = 0; i < sizeof arity / sizeof arity[0]; i++)
		if (is(cmd, arity[i].name) && (arity[i].arity > 0 ? argc != arity[i].arity
								   : argc < -arity[i].arity))
			return wrong_args(c, cmd);

	if (is(cmd, "GET")) {
		if (argc != 2)
			return wrong_args(c, cmd);
		struct kv_value v;
		if (kv_get(t, argv[1].p, argv[1].n, &v))
			wbulk(c, v.data, v.len);
		else
			wstr(c, "$-1\r\n");
	} else if (is(cmd, "SET")) {
		if (argc < 3)
			return wrong_args(c, cmd);
		int64_t ex = 0, v;
		const struct arg *exarg = NULL;
		int ms = 0;
		/* Redis' parseExtendedStringArgumentsOrReply: the syntax first
		 * (EX or PX, with a value; other options are not supported here),
		 * then the value. */
		for (int j = 3; j < argc; j++) {
			int px = is(&argv[j], "PX");
			/* As Redis: EX twice is fine (the last wins), EX and PX not. */
			if ((!px && !is(&argv[j], "EX")) || (exarg && px != ms) || j + 1 >= argc)
				return wstr(c, "-ERR syntax error\r\n");
			ms = px;
			exarg = &argv[++j];
		}
		if (exarg) {
			if (kv_parse_i64(exarg->p, exarg->n, &v) != 0)
				return wstr(c, "-ERR value is not an integer or out of range\r\n");
			if (!expire_ms_in_range(v, !ms))
				return wstr(c, "-ERR invalid expire time in 'set' command\r\n");
			ex = ms ? (v + 999) / 1000 : v;
		}
		if (kv_set(t, argv[1].p, argv[1].n, argv[2].p, argv[2].n) != 0)
			return wstr(c, "-OOM out of memory\r\n");
		if (exarg)
			kv_expire(t, argv[1].p, argv[1].n, ex);
		wstr(c, "+OK\r\n");
	} else if (is(cmd, "PING")) {
		if (argc == 1)
			wstr(c, "+PONG\r\n");
		else if (argc == 2)
			wbulk(c, argv[1].p, argv[1].n);
		else
			wrong_args(c, cmd);
	} else if (is(cmd, "DEL") || is(cmd, "UNLINK")) {
		if (argc < 2)
			return wrong_args(c, cmd);
		long long n = 0;
		for (int i = 1; i < argc; i++)
			n += kv_del(t, argv[i].p, argv[i].n);
		wint(c, n);
	} else if (is(cmd, "INCR") || is(cmd, "DECR") || is(cmd, "INCRBY") ||
		   is(cmd, "DECRBY")) {
		int by = is(cmd, "INCRBY") || is(cmd, "DECRBY");
		if (argc != 2 + by)
			return wrong_args(c, cmd);
		int64_t d = 1, r;
		if (by && kv_parse_i64(argv[2].p, argv[2].n, &d) != 0)
			return wstr(c, "-ERR value is not an integer or out of range\r\n");
		if (is(cmd, "DECR") || is(cmd, "DECRBY")) {
			if (d == INT64_MIN)
				return wstr(c, "-ERR decrement would overflow\r\n");
			d = -d;
		}
		int rc = kv_incrby(t, argv[1].p, argv[1].n, d, &r);
		if (rc == -1)
			wstr(c, "-ERR value is not an integer or out of range\r\n");
		else if (rc == -3)
			wstr(c, "-ERR increment or decrement would overflow\r\n");
		else if (rc != 0)
			wstr(c, "-OOM out of memory\r\n");
		else
			wint(c, r);
	} else if (is(cmd, "EXPIRE")) {
		int64_t s;
		if (argc != 3)
			return wrong_args(c, cmd);
		if (kv_parse_i64(argv[2].p, argv[2].n, &s) != 0)
			return wstr(c, "-ERR value is not an integer or out of range\r\n");
		/* Redis' expireGenericCommand: the deadline in ms must fit. */
		if (s > INT64_MAX / 1000 || s < INT64_MIN / 1000 ||
		    s * 1000 > INT64_MAX - wall_ms())
			return wstr(c, "-ERR invalid expire time in 'expire' command\r\n");
		wint(c, kv_expire(t, argv[1].p, argv[1].n, s));
	} else if (is(cmd, "TTL")) {
		if (argc != 2)
			return wrong_args(c, cmd);
		wint(c, kv_ttl(t, argv[1].p, argv[1].n));
	} else if (is(cmd, "EXISTS")) {
		if (argc < 2)
			return wrong_args(c, cmd);
		long long n = 0;
		struct kv_value v;
		for (int i = 1; i < argc; i++)
			n += kv_get(t, argv[i].p, argv[i].n, &v);
		wint(c, n);
	} else if (is(cmd, "ECHO")) {
		if (argc != 2)
			return wrong_args(c, cmd);
		wbulk(c, argv[1].p, argv[1].n);
	} else if (is(cmd, "QUIT")) {
		wstr(c, "+OK\r\n");
		c->closing = 1;
	} else if (is(cmd, "DBSIZE")) {
		wint(c, (long long)kv_count(t));
	} else if (is(cmd, "FLUSHALL") || is(cmd, "FLUSHDB")) {
		if (argc > 2 || (argc == 2 && !is(&argv[1], "ASYNC") && !is(&argv[1], "SYNC")))
			return wstr(c, "-ERR syntax error\r\n");
		kv_flush(t);
		wstr(c, "+OK\r\n");
	} else if (is(cmd, "SELECT")) {
		if (argc == 2 && argv[1].n == 1 && argv[1].p[0] == '0')
			wstr(c, "+OK\r\n");
		else
			wstr(c, "-ERR DB index is out of range\r\n");
	} else if (is(cmd, "CONFIG")) {
		if (argc == 3 && is(&argv[1], "GET"))
			config_get(c, &argv[2]);
		else if (argc >= 2 && is(&argv[1], "RESETSTAT"))
			wstr(c, "+OK\r\n");
		else
			wstr(c, "-ERR unsupported CONFIG subcommand\r\n");
	} else if (is(cmd, "COMMAND")) {
		/* redis-cli asks COMMAND DOCS in interactive mode: nothing. */
		if (argc >= 2 && is(&argv[1], "COUNT"))
			wint(c, 0);
		else
			warray(c, 0);
	} else if (is(cmd, "CLIENT")) {
		wstr(c, "+OK\r\n");
	} else {
		unknown_command(c, argv, argc);
	}
}

/* ------------------------------------------------------------------ */
/* I/O                                                                 */
/* ------------------------------------------------------------------ */

/* Write what is pending. Returns 0 (all written or would block), -1 on a
 * write error (the connection must go). */
static int conn_flush(struct worker *w, struct conn *c)
{
	while (c->wpos < c->wlen) {
		const char *src = c->wbuf + c->wpos;
		size_t len = c->wlen - c->wpos;
		ssize_t n = TRI_BLOCKING(write(c->fd, src, len));
		int e = errno;
		if (n > 0) {
			c->wpos += (size_t)n;
			continue;
		}
		if (n < 0 && (e == EAGAIN || e == EWOULDBLOCK)) {
			conn_set_out(w, c, 1);
			return 0;
		}
		if (n < 0 && e == EINTR)
			continue;
		return -1;
	}
	c->wpos = c->wlen = 0;
	if (c->wcap > BUF_SHRINK) {
		char *nb = tri_alloc_atomic(WBUF_INIT);
		if (nb) {
			TRI_STORE(c->wbuf, nb);
			c->wcap = WBUF_INIT;
		}
	}
	conn_set_out(w, c, 0);
	return 0;
}

/* Make room for at least min free bytes at the end of the read buffer. */
static int rreserve(struct conn *c, size_t min)
{
	if (c->rpos == c->rlen) {
		c->rpos = c->rlen = 0;
		if (c->rcap > BUF_SHRINK) {
			char *nb = tri_alloc_atomic(RBUF_INIT);
			if (nb) {
				TRI_STORE(c->rbuf, nb);
				c->rcap = RBUF_INIT;
			}
		}
	}
	if (c->rcap - c->rlen >= min)
		return 0;
	if (c->rpos > 0) {
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
		c->rlen -= c->rpos;
		c->rpos = 0;
		if (c->rcap - c->rlen >= min)
			return 0;
	}
	size_t cap = c->rcap * 2;
	while (cap - c->rlen < min)
		cap *= 2;
	char *nb = tri_alloc_atomic(cap);
	if (!nb)
		return -1;
	memcpy(nb, c->rbuf, c->rlen);
	TRI_STORE(c->rbuf, nb);
	c->rcap = cap;
	return 0;
}

/* Readable: read once, run every complete request, write the replies. */
static void conn_readable(struct worker *w, struct conn *c)
{
	/* Read at least 16 KiB at a time once the buffer has grown. */
	if (rreserve(c, c->rcap >= 32768 ? 16384 : 1024) != 0) {
		conn_close(w, c, 0);
		return;
	}
	char *dst = c->rbuf + c->rlen;
	size_t room = c->rcap - c->rlen;
	ssize_t n = TRI_BLOCKING(read(c->fd, dst, room));
	int e = errno;
	if (n == 0 || (n < 0 && e != EAGAIN && e != EWOULDBLOCK &&
		       e != EINTR)) {
		/* The client vanished without QUIT. */
		conn_close(w, c, opt.forget);
		return;
	}
	if (n < 0)
		return;
	c->rlen += (size_t)n;

	struct arg argv[MAX_ARGS];
	while (c->rpos < c->rlen && !c->closing) {
		int argc;
		size_t used;
		const char *err = NULL;
		int r = parse_request(c->rbuf + c->rpos, c->rlen - c->rpos,
				      argv, &argc, &used, &err);
		if (r == 0)
			break;
		if (r < 0) {
			wstr(c, err);
			c->closing = 1;
			c->rpos = c->rlen;
			break;
		}
		c->rpos += used;
		if (argc > 0)
			dispatch(w, c, argv, argc);
	}
	if (conn_flush(w, c) != 0) {
		conn_close(w, c, opt.forget);
		return;
	}
	if (c->closing && c->wpos == c->wlen)
		conn_close(w, c, 0);
}

static void conn_writable(struct worker *w, struct conn *c)
{
	if (conn_flush(w, c) != 0) {
		conn_close(w, c, opt.forget);
		return;
	}
	if (c->closing && c->wpos == c->wlen)
		conn_close(w, c, 0);
}

static void accept_some(struct worker *w)
{
	for (int i = 0; i < 64; i++) {
		int fd = TRI_BLOCKING(accept4(g_listen_fd, NULL, NULL,
					      SOCK_NONBLOCK | SOCK_CLOEXEC));
		int e = errno;
		if (fd >= 0) {
			conn_new(w, fd);
			continue;
		}
		if (e == EMFILE || e == ENFILE) {
			/* Out of descriptors: let the collector close the
			 * ones dropped connections still hold, then retry
			 * on the next wake-up. Counted: should stay 0. */
			w->emfile++;
			tri_collect();
			tri_drain(100);
		}
		return;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	tri_thread_attach();
	struct epoll_event evs[256];
	while (!g_stop) {
		int n = TRI_BLOCKING(epoll_wait(w->epfd, evs, 256, -1));
		for (int i = 0; i < n && !g_stop; i++) {
			uint64_t tag = evs[i].data.u64;
			if (tag == TAG_STOP) {
				g_stop = 1;
				break;
			}
			if (tag == TAG_LISTEN) {
				accept_some(w);
				continue;
			}
			struct conn *c = worker_get(w, (int)tag);
			if (!c)
				continue;
			if (c->want_out)
				conn_writable(w, c);
			else
				conn_readable(w, c);
		}
	}
	/* Shutdown: close every connection of this worker normally. */
	for (size_t fd = 0; fd < w->nconns; fd++) {
		struct conn *c = w->conns[fd];
		if (c)
			conn_close(w, c, 0);
	}
	tri_thread_detach();
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Start-up, signals, statistics                                       */
/* ------------------------------------------------------------------ */

static void on_signal(int sig)
{
	(void)sig;
	int e = errno;
	g_stop = 1;
	ssize_t r = write(g_stop_pipe[1], "x", 1);
	(void)r;
	errno = e;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t metric(const char *name)
{
	uint64_t v = 0;
	if (tri_read_metric(name, &v) != 0)
		return 0;
	return v;
}

static void print_stats(int nworkers)
{
	uint64_t acc = 0, cls = 0, fgt = 0, cmds = 0, emf = 0;
	for (int i = 0; i < nworkers; i++) {
		struct worker *w = g_srv->workers[i];
		acc += w->accepted;
		cls += w->closed;
		fgt += w->forgotten;
		cmds += w->commands;
		emf += w->emfile;
	}
	printf("STAT mode %s\n", opt.mode == MODE_CLEANUP ? "cleanup" : "finalizer");
	printf("STAT threads %d\n", nworkers);
	printf("STAT commands %" PRIu64 "\n", cmds);
	printf("STAT conns_accepted %" PRIu64 "\n", acc);
	printf("STAT conns_closed %" PRIu64 "\n", cls);
	printf("STAT conns_forgotten %" PRIu64 "\n", fgt);
	printf("STAT fd_limit %ld\n", opt.fd_limit);
	printf("STAT fds_owned %" PRIu64 "\n", g_fds ? tri_resource_count(g_fds) : 0);
	printf("STAT conns_closed_by_gc %" PRIu64 "\n",
	       __atomic_load_n(&g_gc_closed, __ATOMIC_RELAXED));
	printf("STAT emfile %" PRIu64 "\n", emf);
	printf("STAT keys %" PRIu64 "\n", kv_count(g_srv->table));
	printf("STAT gc_cycles %" PRIu64 "\n", metric("/gc/cycles/total:gc-cycles"));
	printf("STAT heap_live_bytes %" PRIu64 "\n", metric("/gc/heap/live:bytes"));
	printf("STAT heap_objects_bytes %" PRIu64 "\n",
	       metric("/memory/classes/heap/objects:bytes"));
	printf("STAT heap_mapped_bytes %" PRIu64 "\n", metric("/memory/classes/total:bytes"));
	printf("STAT heap_allocs_bytes %" PRIu64 "\n", metric("/gc/heap/allocs:bytes"));
	printf("STAT pause_count %" PRIu64 "\n", metric("/gc/pauses/count:pauses"));
	printf("STAT pause_total_ns %" PRIu64 "\n", metric("/gc/pauses/total:nanoseconds"));
	printf("STAT pause_max_ns %" PRIu64 "\n", metric("/gc/pauses/max:nanoseconds"));
	printf("STAT mark_time_ns %" PRIu64 "\n", metric("/gc/mark/time:nanoseconds"));
	printf("STAT cleanups_executed %" PRIu64 "\n",
	       metric("/gc/cleanups/executed:cleanups"));
	printf("STAT finalizers_executed %" PRIu64 "\n",
	       metric("/gc/finalizers/executed:finalizers"));

	/* The pause distribution from the per-thread pause rings; percentiles
	 * by nearest rank (stats.h). */
	size_t max = 1u << 20;
	tri_pause *ps = malloc(max * sizeof *ps);
	uint64_t *len = malloc(max * sizeof *len);
	size_t n = ps && len ? tri_pauses(ps, max) : 0;
	uint64_t kmax[5] = { 0 }, kcnt[5] = { 0 };
	for (size_t i = 0; i < n; i++) {
		len[i] = ps[i].length_ns;
		uint32_t k = ps[i].kind < 5 ? ps[i].kind : 0;
		kcnt[k]++;
		if (len[i] > kmax[k])
			kmax[k] = len[i];
	}
	qsort(len, n, sizeof *len, cmp_u64);
	printf("STAT pause_samples %zu\n", n);
	printf("STAT pause_p50_ns %" PRIu64 "\n", nearest_rank(len, n, 50));
	printf("STAT pause_p99_ns %" PRIu64 "\n", nearest_rank(len, n, 99));
	printf("STAT pause_sample_max_ns %" PRIu64 "\n", n ? len[n - 1] : 0);
	static const char *const kinds[5] = { "other", "handshake", "assist",
					       "stop", "wait" };
	for (int k = 0; k < 5; k++)
		if (kcnt[k])
			printf("STAT pause_%s count %" PRIu64 " max_ns %" PRIu64 "\n",
			       kinds[k], kcnt[k], kmax[k]);
	free(ps);
	free(len);
	fflush(stdout);
}

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
		"usage: %s [options]\n"
		"  --port N              TCP port (default 6379)\n"
		"  --bind ADDR           IPv4 address (default 127.0.0.1)\n"
		"  --threads N           worker threads (default: number of CPUs)\n"
		"  --gc-percent N        tricolor gc_percent (default: library's, 100)\n"
		"  --cleanup-mode M      cleanup (tri_add_cleanup, default) or finalizer\n"
		"  --forget              drop connections whose client vanished without\n"
		"                        QUIT without closing them (leak test)\n"
		"  --fd-limit N          soft limit of client sockets owned by connection\n"
		"                        objects: a collection starts as they near it\n"
		"                        (tri_resource_*; default: half of RLIMIT_NOFILE,\n"
		"                        at most 1024; 0: off)\n"
		"  --stats               print GC statistics at exit\n",
		argv0);
}

static int parse_int(const char *s, int lo, int hi, const char *what)
{
	char *e;
	errno = 0;
	long v = strtol(s, &e, 10);
	if (errno || *e || e == s || v < lo || v > hi) {
		fprintf(stderr, "tricolor-kvserver: bad %s '%s'\n", what, s);
		exit(2);
	}
	return (int)v;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "threads", required_argument, NULL, 't' },
		{ "gc-percent", required_argument, NULL, 'g' },
		{ "cleanup-mode", required_argument, NULL, 'm' },
		{ "forget", no_argument, NULL, 'f' },
		{ "stats", no_argument, NULL, 's' },
		{ "fd-limit", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "p:b:t:g:m:fshF:", lopts, NULL)) != -1) {
		switch (ch) {
		case 'p': opt.port = parse_int(optarg, 0, 65535, "port"); break;
		case 'b': opt.bind = optarg; break;
		case 't': opt.threads = parse_int(optarg, 1, MAX_WORKERS, "thread count"); break;
		case 'g': opt.gc_percent = parse_int(optarg, -1, 1000000, "gc percent"); break;
		case 'm':
			if (strcmp(optarg, "cleanup") == 0)
				opt.mode = MODE_CLEANUP;
			else if (strcmp(optarg, "finalizer") == 0)
				opt.mode = MODE_FINALIZER;
			else {
				fprintf(stderr, "tricolor-kvserver: bad cleanup mode '%s'\n", optarg);
				return 2;
			}
			break;
		case 'f': opt.forget = 1; break;
		case 's': opt.stats = 1; break;
		case 'F': opt.fd_limit = parse_int(optarg, 0, 1 << 30, "fd limit"); break;
		case 'h': usage(stdout, argv[0]); return 0;
		default: usage(stderr, argv[0]); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr, argv[0]);
		return 2;
	}
	if (opt.threads == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		opt.threads = n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : (int)n;
	}

	/* As many descriptors as we may have. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);

	char topts[64] = "";
	if (opt.gc_percent == -1)
		snprintf(topts, sizeof topts, "gc_percent=off");
	else if (opt.gc_percent >= 0)
		snprintf(topts, sizeof topts, "gc_percent=%d", opt.gc_percent);
	int rc = tri_init(topts[0] ? topts : NULL);
	if (rc != 0) {
		fprintf(stderr, "tricolor-kvserver: tri_init: %s\n", strerror(rc));
		return 1;
	}
	if (opt.fd_limit < 0)
		opt.fd_limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur / 2 < 1024
				       ? (long)(rl.rlim_cur / 2) : 1024;
	if (opt.fd_limit > 0 && !(g_fds = tri_resource_new("client sockets", (uint64_t)opt.fd_limit))) {
		fprintf(stderr, "tricolor-kvserver: out of memory\n");
		return 1;
	}
	tri_add_roots(&g_srv, &g_srv + 1);
	struct server *srv = tri_alloc(sizeof *srv);
	if (!srv) {
		fprintf(stderr, "tricolor-kvserver: out of memory\n");
		return 1;
	}
	TRI_STORE(g_srv, srv);
	struct kv_table *table = kv_table_new();
	if (!table) {
		fprintf(stderr, "tricolor-kvserver: out of memory\n");
		return 1;
	}
	TRI_STORE(srv->table, table);

	/* Listening socket. */
	g_listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (g_listen_fd < 0) {
		perror("socket");
		return 1;
	}
	int one = 1;
	setsockopt(g_listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port) };
	if (inet_pton(AF_INET, opt.bind, &sa.sin_addr) != 1) {
		fprintf(stderr, "tricolor-kvserver: bad address '%s'\n", opt.bind);
		return 2;
	}
	if (bind(g_listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		fprintf(stderr, "tricolor-kvserver: bind %s:%d: %s\n", opt.bind,
			opt.port, strerror(errno));
		return 1;
	}
	if (listen(g_listen_fd, 4096) != 0) {
		perror("listen");
		return 1;
	}
	socklen_t sl = sizeof sa;
	getsockname(g_listen_fd, (struct sockaddr *)&sa, &sl);

	/* Shutdown: the signal handler writes to a pipe that every worker's
	 * epoll set holds (level-triggered, never drained: wakes them all). */
	if (pipe2(g_stop_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
		perror("pipe2");
		return 1;
	}
	struct sigaction act;
	memset(&act, 0, sizeof act);
	act.sa_handler = on_signal;
	sigemptyset(&act.sa_mask);
	sigaction(SIGINT, &act, NULL);
	sigaction(SIGTERM, &act, NULL);

	/* Workers start with SIGINT/SIGTERM blocked: the main thread takes
	 * them. */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	int started = 0;
	for (int i = 0; i < opt.threads; i++) {
		struct worker *w = tri_alloc(sizeof *w);
		if (!w)
			break;
		w->id = i;
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (w->epfd < 0) {
			perror("epoll_create1");
			return 1;
		}
		struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE,
					  .data.u64 = TAG_LISTEN };
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, g_listen_fd, &ev) != 0) {
			perror("epoll_ctl listen");
			return 1;
		}
		struct epoll_event sev = { .events = EPOLLIN, .data.u64 = TAG_STOP };
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, g_stop_pipe[0], &sev) != 0) {
			perror("epoll_ctl pipe");
			return 1;
		}
		TRI_STORE(srv->workers[i], w);
		int e = pthread_create(&w->thread, NULL, worker_main, w);
		if (e != 0) {
			fprintf(stderr, "tricolor-kvserver: pthread_create: %s\n", strerror(e));
			TRI_STORE(srv->workers[i], NULL);
			break;
		}
		started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (started == 0)
		return 1;

	fprintf(stderr,
		"tricolor-kvserver: listening on %s:%d (%d threads, %s mode%s)\n",
		opt.bind, ntohs(sa.sin_port), started,
		opt.mode == MODE_CLEANUP ? "cleanup" : "finalizer",
		opt.forget ? ", forget" : "");

	/* A signal may have come before the handler could reach a worker. */
	if (g_stop) {
		ssize_t r = write(g_stop_pipe[1], "x", 1);
		(void)r;
	}
	for (int i = 0; i < started; i++) {
		pthread_t th = srv->workers[i]->thread;
		(void)TRI_BLOCKING(pthread_join(th, NULL));
	}
	if (opt.stats)
		print_stats(started);
	fprintf(stderr, "tricolor-kvserver: shut down\n");
	return 0;
}

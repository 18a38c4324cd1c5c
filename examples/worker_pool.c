/* SPDX-License-Identifier: MIT */
/*
 * worker_pool.c - a copyable tricolor example: four worker threads take
 * jobs (heap objects) from a queue; each job owns a file descriptor, closed
 * by a finalizer, and a payload whose malloc'd buffer is freed by a
 * cleanup. Nothing is freed or closed by hand: the collector finds the
 * dropped jobs. Built and run by `make check`; exit status 0 when every
 * descriptor was closed and every buffer freed.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tricolor.h>
#include <unistd.h>

enum { WORKERS = 4, JOBS = 2000, QCAP = 64 };

struct payload { char *text; size_t len; };  /* text: malloc'd, not on the heap */
struct job { int fd; struct payload *payload; };
struct queue {                                /* on the heap: item[] holds heap pointers */
	struct job *item[QCAP];
	int head, count, closed;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int fds_closed, buffers_freed;         /* under lock */

/* Take the lock without holding up the collector: try first, and if the
 * lock is busy, sleep on it inside a blocking region. */
static void take(void)
{
	if (pthread_mutex_trylock(&lock) != 0)
		(void)TRI_BLOCKING(pthread_mutex_lock(&lock));
}

/* Waiting on a condition variable is blocking too. */
static void wait_changed(void)
{
	(void)TRI_BLOCKING(pthread_cond_wait(&changed, &lock));
}

static void close_fd(void *obj)               /* finalizer: runs on the finalizer thread */
{
	struct job *j = obj;
	close(j->fd);
	take();
	fds_closed++;
	pthread_mutex_unlock(&lock);
}

static void free_text(void *text)             /* cleanup: runs on a cleanup worker */
{
	free(text);
	take();
	buffers_freed++;
	pthread_mutex_unlock(&lock);
}

static struct job *job_new(int i)
{
	struct job *j = tri_alloc(sizeof *j);
	struct payload *p = tri_alloc(sizeof *p);
	p->text = malloc(32);
	p->len = (size_t)snprintf(p->text, 32, "job %d\n", i);
	tri_add_cleanup(p, free_text, p->text);   /* frees text once p is garbage */
	j->fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (j->fd < 0) {
		perror("open /dev/null");
		exit(1);
	}
	TRI_STORE(j->payload, p);                 /* j is not published yet: a plain store
	                                             would do; TRI_STORE is always right */
	tri_set_finalizer(j, close_fd);           /* closes fd once j is garbage */
	return j;
}

static void *worker(void *arg)
{
	struct queue *q = arg;
	tri_thread_attach();                      /* q is on our stack from here on */
	tri_thread_set_name("worker");
	for (;;) {
		take();
		while (q->count == 0 && !q->closed)
			wait_changed();
		if (q->count == 0) {
			pthread_mutex_unlock(&lock);
			break;
		}
		struct job *j = q->item[q->head];
		TRI_STORE(q->item[q->head], NULL);    /* the queue forgets the job */
		q->head = (q->head + 1) % QCAP;
		q->count--;
		pthread_cond_broadcast(&changed);
		pthread_mutex_unlock(&lock);
		/* write() blocks at most briefly; the payload stays reachable from j */
		if (TRI_BLOCKING(write(j->fd, j->payload->text, j->payload->len)) < 0)
			perror("write");
		/* j is dropped here: its finalizer and cleanup run later */
	}
	tri_thread_detach();
	return NULL;
}

/* Not inlined: the stack is scanned conservatively, and a stale copy of
 * the last job's pointer in main's frame would keep that job alive. */
static __attribute__((noinline)) void produce(struct queue *q)
{
	for (int i = 0; i < JOBS; i++) {
		struct job *j = job_new(i);
		take();
		while (q->count == QCAP)
			wait_changed();
		TRI_STORE(q->item[(q->head + q->count) % QCAP], j);
		q->count++;
		pthread_cond_broadcast(&changed);
		pthread_mutex_unlock(&lock);
	}
}

int main(void)
{
	if (tri_init(NULL) != 0)
		return 1;
	struct queue *q = tri_alloc(sizeof *q);
	pthread_t th[WORKERS];
	for (int i = 0; i < WORKERS; i++)
		pthread_create(&th[i], NULL, worker, q);
	produce(q);
	take();
	q->closed = 1;
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < WORKERS; i++)
		(void)TRI_BLOCKING(pthread_join(th[i], NULL));

	/* A finalized job is freed one cycle later, and its payload's cleanup
	 * runs then: collect until everything is released. */
	int closed = 0, freed = 0;
	for (int round = 0; round < 20 && (closed < JOBS || freed < JOBS); round++) {
		tri_collect();
		tri_drain(-1);
		take();
		closed = fds_closed;
		freed = buffers_freed;
		pthread_mutex_unlock(&lock);
	}
	printf("worker_pool: %d jobs, %d descriptors closed, %d buffers freed\n", JOBS, closed, freed);
	return closed == JOBS && freed == JOBS ? 0 : 1;
}

/* SPDX-License-Identifier: MIT */
/* The README's example: a list on the tricolor heap, a cleanup, a collection. */
#include <stdio.h>
#include <stdlib.h>
#include <tricolor.h>

struct node { struct node *next; int value; };
static int closed;
static void close_it(void *arg) { closed += *(int *)arg; }   /* runs on a cleanup worker */

__attribute__((noinline)) static void make_garbage(void)
{
	int *fd = malloc(sizeof *fd);              /* a resource outside the heap */
	*fd = 1;
	tri_add_cleanup(tri_alloc(64), close_it, fd); /* object dropped at once */
}

int main(void)
{
	if (tri_init(NULL))                        /* attaches this thread */
		return 1;
	struct node *head = NULL;
	for (int i = 0; i < 1000000; i++) {        /* ~32 MB allocated, 16 KB live */
		struct node *n = tri_alloc(sizeof *n); /* zeroed, never freed by hand */
		n->value = i;
		TRI_STORE(n->next, i % 1000 ? head : NULL); /* barriered pointer store */
		head = n;
	}
	make_garbage();
	tri_collect();                             /* one full cycle, like runtime.GC() */
	tri_drain(-1);                             /* wait for queued cleanups */
	uint64_t cycles;
	tri_read_metric("/gc/cycles/total:gc-cycles", &cycles);
	printf("head %d, %llu cycles, cleanups run: %d\n", head->value,
	       (unsigned long long)cycles, closed);
	return closed == 1 && head->value == 999999 ? 0 : 1;
}

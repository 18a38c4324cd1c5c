/* SPDX-License-Identifier: MIT */
/*
 * valgrind_uaf.c - the program tests/valgrind-client-requests.sh runs under
 * memcheck to prove that the heap's client requests (src/alloc/memcheck.h)
 * work. It makes exactly three invalid reads, on purpose:
 *
 *  1. a small object (24 bytes) read after the collector freed it,
 *  2. a large object (64 KiB) read after the collector freed it,
 *  3. the free, never allocated slot just past a live 48-byte object;
 *
 * and every other heap access is valid (the objects are filled and checked
 * while live). Collection is proved by a cleanup (it runs only after the
 * sweep freed the object); the addresses are kept XOR-masked so that no
 * scanned word retains the objects. Natively the program only prints what
 * it read (the sweeper zeroed the objects); the script checks memcheck's
 * log: three errors, each an "Invalid read" of the expected kind.
 * Exit status: 0 done, 2 an object was never collected (retained).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <tricolor.h>

#define MASK ((uintptr_t)0x5a5a5a5a5a5a5a5aull)

static volatile int collected[2];

static void on_collect(void *arg)
{
	*(volatile int *)arg = 1;
}

/* Allocate n bytes, fill and check them, attach a cleanup, return the
 * masked address; the object itself is dropped on return. */
static __attribute__((noinline)) uintptr_t make_garbage(size_t n, volatile int *flag)
{
	unsigned char *p = tri_alloc(n);
	if (!p)
		return 0;
	memset(p, 0xab, n);
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0xab)
			return 0;
	tri_add_cleanup(p, on_collect, (void *)flag);
	return (uintptr_t)p ^ MASK;
}

static __attribute__((noinline)) void scrub_stack(void)
{
	volatile char buf[16384];
	memset((char *)buf, 0, sizeof buf);
}

static int collect_until(volatile int *flag)
{
	for (int i = 0; i < 20 && !*flag; i++) {
		scrub_stack();
		tri_collect();
		tri_drain(-1);
	}
	return *flag;
}

static __attribute__((noinline)) uint64_t read_word(uintptr_t masked)
{
	return *(volatile uint64_t *)(masked ^ MASK);
}

int main(void)
{
	if (tri_init("gc_percent=off"))
		return 1;
	uintptr_t small = make_garbage(24, &collected[0]);
	uintptr_t large = make_garbage(64 << 10, &collected[1]);
	if (!small || !large)
		return 1;
	if (!collect_until(&collected[0]) || !collect_until(&collected[1])) {
		fprintf(stderr, "valgrind_uaf: an object was not collected (retained)\n");
		return 2;
	}
	printf("small object after collection: %#llx\n", (unsigned long long)read_word(small));
	printf("large object after collection: %#llx\n", (unsigned long long)read_word(large));

	uint64_t *live = tri_alloc(48);
	live[0] = 1;
	live[5] = 6;
	size_t size = tri_size(live);
	if (live[0] + live[5] != 7 || size != 48)
		return 1;
	printf("slot past a live object: %#llx\n",
	       (unsigned long long)read_word(((uintptr_t)live + size) ^ MASK));
	printf("live object: %llu\n", (unsigned long long)(live[0] + live[5]));
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * test_cxx.cc - include/tricolor.h from C++: it compiles as C++11, C++17 and
 * C++20 with g++ and clang++ (tests/packaging/cxx.sh builds this file in
 * every mode with -Wall -Wextra -pedantic -Werror), its declarations have C
 * linkage (the program links against the C library), and the macros and
 * inline functions work: TRI_STORE (a static_assert under C++), tri_store,
 * tri_load, tri_keep_alive, TRI_BLOCKING. Exit status 0 when every check
 * holds; a message on stderr names the one that failed.
 */
#include <tricolor.h>
#include <cstdio>
#include <cstring>
#include <unistd.h>

struct node {
	node *next;
	int value;
};

static int fails;
#define CHECK(c)                                                              \
	do {                                                                  \
		if (!(c)) {                                                   \
			std::fprintf(stderr, "test_cxx: %s failed (line %d)\n", #c, __LINE__); \
			fails++;                                              \
		}                                                             \
	} while (0)

int main()
{
	CHECK(tri_init("preempt_ms=off") == 0);
	CHECK(std::strcmp(tri_version(), TRI_VERSION_STRING) == 0);
	node *head = nullptr;
	for (int i = 0; i < 10000; i++) {
		node *n = static_cast<node *>(tri_alloc(sizeof(node)));
		n->value = i;
		TRI_STORE(n->next, head);
		head = n;
	}
	node *root = static_cast<node *>(tri_calloc(1, sizeof(node)));
	tri_store(&root->next, head);
	CHECK(tri_load(&root->next) == head);
	tri_collect();
	int count = 0;
	for (node *n = root->next; n; n = n->next)
		count++;
	CHECK(count == 10000);
	char *s = tri_strdup("c++");
	CHECK(std::strcmp(s, "c++") == 0);
	int r = TRI_BLOCKING(close(-1));
	CHECK(r == -1 && errno == EBADF);
	tri_keep_alive(root);
	uint64_t cycles = 0;
	CHECK(tri_read_metric("/gc/cycles/total:gc-cycles", &cycles) == 0 && cycles >= 1);
	if (!fails)
		std::printf("test_cxx: ok (C++ %ld)\n", static_cast<long>(__cplusplus));
	return fails ? 1 : 0;
}

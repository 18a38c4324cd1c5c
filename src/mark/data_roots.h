/* SPDX-License-Identifier: MIT */
/*
 * data_roots.h - the program's and loaded libraries' writable data and bss
 * segments as roots (option data_roots, on by default; see data_roots.c).
 */
#ifndef TRI_DATA_ROOTS_H
#define TRI_DATA_ROOTS_H
#include "mark/roots.h"

/* Call visit on a snapshot of every writable PT_LOAD segment of every
 * loaded object but tricolor's own (when it is a shared library), as
 * listed by the last data_roots_scan (no malloc, no loader lock: the
 * checkmark calls it with the world stopped). The ranges passed are copies
 * of the segments' contents, taken just before the call: read them, never
 * write them or keep their addresses. No-op with data_roots=off.
 * Coordinator thread only (checkmark). */
void data_roots_visit(range_visitor visit, void *ctx);
/* List the segments anew (dl_iterate_phdr) and scan them into w.
 * Coordinator thread only (the cycle's root scan). */
void data_roots_scan(struct gcwork *w);
#endif

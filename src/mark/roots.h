/* SPDX-License-Identifier: MIT */
/*
 * roots.h - registered root ranges (tri_add_roots). The list is guarded by
 * roots_lock; the marker holds it while scanning, so a range cannot be
 * removed (and its memory unmapped) under the scanner.
 */
#ifndef TRI_ROOTS_H
#define TRI_ROOTS_H
#include "mark/grey_queue.h"
#include <stdint.h>
typedef void (*range_visitor)(uintptr_t lo, uintptr_t hi, void *ctx);
/* Call visit on every registered range, under the roots lock. */
void roots_visit(range_visitor visit, void *ctx);
void roots_scan(struct gcwork *w);
/* fork (runtime/fork.c): take / release the roots lock. */
void roots_fork_lock(void);
void roots_fork_unlock(void);
#endif

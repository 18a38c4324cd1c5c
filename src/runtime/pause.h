/* SPDX-License-Identifier: MIT */
/*
 * pause.h - the per-thread pause ring: every pause a thread sees (a
 * handshake action it ran or that ran on its behalf, an assist, a wait for
 * a cycle, a debug stop) and every other stall inside tricolor longer than
 * PAUSE_STALL_NS (lazy sweep, allocator lock wait, page-heap growth or
 * fresh-span clearing, callback hand-off) is recorded with its kind, start
 * and length. A ring holds the last PAUSE_RING_CAP pauses; rings of exited
 * threads are kept (and recycled once there are many) so tri_pauses reports
 * them too.
 *
 * Synchronization: a ring has one writer, the thread it belongs to, which
 * never takes a lock to record (a mutator must not wait for a reader of
 * tri_pauses). Each entry carries a sequence word (a per-entry seqlock):
 * odd while the owner rewrites the entry, even when it is complete; a
 * reader copies the entry between two equal even reads and otherwise skips
 * it. `next` is written by the owner only (release) and read by readers
 * (acquire). pause_lock protects only the list of rings and their
 * retired/thread fields at attach and detach; readers hold it so a ring is
 * not recycled while they copy it. The global pause figures (tri_stats) are
 * relaxed atomics (max by CAS).
 */
#ifndef TRI_PAUSE_H
#define TRI_PAUSE_H
#include <stdint.h>
#include "tricolor.h"

#define PAUSE_RING_CAP 8192
/* A stall shorter than this is not recorded (handshakes, assists, waits and
 * stops are recorded whatever their length). */
#define PAUSE_STALL_NS 2000u
/* Kinds are 1 .. PAUSE_KINDS - 1 (TRI_PAUSE_* in tricolor.h). */
#define PAUSE_KINDS (TRI_PAUSE_CALLBACK + 1)

struct pause_entry {
	uint32_t seq; /* owner: odd while writing, even when complete */
	tri_pause p;
};

struct pause_ring {
	uint32_t thread;
	uint64_t next; /* owner (release); readers (acquire) */
	struct pause_entry e[PAUSE_RING_CAP];
	struct pause_ring *all_next;
	int retired;
};

struct pause_ring *pause_ring_get(uint32_t thread_id);
void pause_ring_retire(struct pause_ring *r);
/* Record a pause in ring r (the caller's own ring, or NULL: global figures
 * only, for collector threads). Lock-free; callable from any thread. */
void pause_record(struct pause_ring *r, uint32_t kind, uint64_t start_ns, uint64_t len_ns);
/* A stall of the calling thread that began at start_ns and ends now: recorded
 * in its ring if it is an attached thread and the stall is longer than
 * PAUSE_STALL_NS; collector threads (not attached) record nothing. */
void pause_stall(uint32_t kind, uint64_t start_ns);
/* The longest pause recorded since the previous call (gctrace: "this
 * cycle's" max), and reset it (atomic exchange). */
uint64_t pause_cycle_max_take(void);
/* fork (runtime/fork.c): take / release the pause lock. */
void pause_fork_lock(void);
void pause_fork_unlock(void);
#endif

/*
 * pause.h - the per-thread pause ring: every pause a thread sees (a
 * handshake action it ran or that ran on its behalf, an assist, a wait for
 * a cycle, a debug stop) is recorded with its start and length. A ring holds
 * the last PAUSE_RING_CAP pauses; rings of exited threads are kept (and
 * recycled once there are many) so tri_pauses reports them too. Rings and
 * the global pause figures are written under pause_lock.
 */
#ifndef TRI_PAUSE_H
#define TRI_PAUSE_H
#include <stdint.h>
#include "tricolor.h"

#define PAUSE_RING_CAP 8192

struct pause_ring {
	uint32_t thread;
	uint64_t next;
	tri_pause e[PAUSE_RING_CAP];
	struct pause_ring *all_next;
	int retired;
};

struct pause_ring *pause_ring_get(uint32_t thread_id);
void pause_ring_retire(struct pause_ring *r);
void pause_record(struct pause_ring *r, uint32_t kind, uint64_t start_ns, uint64_t len_ns);
/* The longest pause recorded since the previous call (gctrace: "this
 * cycle's" max), and reset it; under pause_lock. */
uint64_t pause_cycle_max_take(void);
#endif

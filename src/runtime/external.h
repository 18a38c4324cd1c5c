/* SPDX-License-Identifier: MIT */
/*
 * external.h - external resource counters (tri_resource_*, see
 * tricolor.h) and their one hook into pacing: cycle.c's trigger check asks
 * external_cycle_due() when a mutator signalled a cycle.
 */
#ifndef TRI_EXTERNAL_H
#define TRI_EXTERNAL_H
#include <stdbool.h>
/* A resource counter asked for a cycle since the last call (consumes it). */
bool external_cycle_due(void);
#endif

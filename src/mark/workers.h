/* SPDX-License-Identifier: MIT */
/*
 * workers.h - background mark workers: mark_workers threads (not attached:
 * they never allocate or touch stacks) that sleep on the grey queue's work
 * condition and drain grey objects while marking is enabled.
 */
#ifndef TRI_WORKERS_H
#define TRI_WORKERS_H
int mark_workers_start(int n);
/* Wake every sleeping worker (marking was just enabled). */
void mark_workers_wake(void);
#endif

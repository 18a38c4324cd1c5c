/* SPDX-License-Identifier: MIT */
/*
 * checkmark.h - debug=checkmark: verify a concurrent mark from scratch.
 *
 * Right after termination (before any sweeping and while every thread still
 * allocates black), the coordinator stops every thread (HS_STOP), marks the
 * heap again single-threaded into a fresh side bitmap from the same roots
 * (root ranges, every stack and register set, finalizer referents, cleanup
 * arguments, queued callbacks), and aborts naming the first object that the
 * fresh mark reaches but the concurrent mark left white (neither marked nor
 * allocated black this cycle). Stack words are roots too, but a white object
 * named only by a stack word is skipped, not reported: conservative stacks
 * hold stale slots from frames pushed after the stack was scanned. So the
 * check is: everything reachable through heap edges from the global roots,
 * the specials, the queues and every marked object named by a stack is
 * marked - exactly what a missing barrier breaks. A missing write barrier, in the library or in
 * the program, shows up here instead of as a use-after-free later.
 */
#ifndef TRI_CHECKMARK_H
#define TRI_CHECKMARK_H
void checkmark_run(void);
#endif

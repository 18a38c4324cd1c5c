/* SPDX-License-Identifier: MIT */
/*
 * fork.h - fork() while the collector runs (runtime/fork.c says how).
 */
#ifndef TRI_FORK_H
#define TRI_FORK_H
/* Install the pthread_atfork handlers, once (tri_init). */
void fork_handlers_install(void);
#endif

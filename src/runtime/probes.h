/* SPDX-License-Identifier: MIT */
/*
 * probes.h - USDT probes (provider "tricolor") for perf and bpftrace.
 * Compiled to a single nop plus an ELF note when <sys/sdt.h> is available
 * (Debian: systemtap-sdt-dev), to nothing otherwise. docs/perf.md lists them.
 */
#ifndef TRI_PROBES_H
#define TRI_PROBES_H
#include "config.h"
#ifdef HAVE_SYS_SDT_H
#include <sys/sdt.h>
#define TRI_PROBE0(name) DTRACE_PROBE(tricolor, name)
#define TRI_PROBE1(name, a) DTRACE_PROBE1(tricolor, name, a)
#define TRI_PROBE2(name, a, b) DTRACE_PROBE2(tricolor, name, a, b)
#define TRI_PROBE3(name, a, b, c) DTRACE_PROBE3(tricolor, name, a, b, c)
#else
#define TRI_PROBE0(name) ((void)0)
#define TRI_PROBE1(name, a) ((void)(a))
#define TRI_PROBE2(name, a, b) ((void)(a), (void)(b))
#define TRI_PROBE3(name, a, b, c) ((void)(a), (void)(b), (void)(c))
#endif
#endif

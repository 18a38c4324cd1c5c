/* SPDX-License-Identifier: MIT */
/*
 * tricolor.h - a concurrent garbage-collected heap for multithreaded C.
 *
 * tricolor brings Go's runtime memory model to C on pthreads: per-thread
 * allocation caches, a concurrent tri-color marker with a write barrier,
 * conservative stack scanning at safepoints, a concurrent sweeper,
 * finalizers with runtime.SetFinalizer semantics, cleanups with
 * runtime.AddCleanup semantics, and tri_keep_alive (runtime.KeepAlive).
 *
 * The rules a program follows:
 *  - Every thread that touches the heap is attached (tri_init attaches the
 *    first; others call tri_thread_attach). A heap function called from a
 *    thread that is not attached aborts with "... not attached".
 *  - Pointer stores into heap objects and registered roots go through
 *    tri_store / TRI_STORE (the write barrier). Plain stores are allowed only
 *    into an object the thread has just allocated and not yet published.
 *  - A thread that blocks for long (I/O, locks, condition variables, joins)
 *    brackets the call with tri_blocking_enter / tri_blocking_leave, and a
 *    thread that computes for long without allocating calls tri_safepoint
 *    now and then. Otherwise it delays the collector (not other threads).
 *    As a fallback, a thread that holds up the collector for preempt_ms
 *    while inside a C library call (a read or sem_wait it did not bracket)
 *    is preempted by a signal (SIGURG) whose handler does the collector's
 *    work for it; such a call may then fail with EINTR where POSIX allows
 *    it (nanosleep, poll, epoll_wait...). A thread computing in its own code
 *    is never preempted: it must call tri_safepoint.
 *  - Pointers to heap objects are found conservatively in stacks, registers,
 *    thread-local (__thread, thread_local) variables of attached threads
 *    (see tri_thread_attach for the exceptions), registered root ranges,
 *    objects from tri_alloc and (option data_roots, on by default) the
 *    data and bss segments of the program and its loaded libraries. Memory
 *    from malloc or mmap that is not registered is invisible to the
 *    collector; tri_add_roots registers it.
 *
 * Every function aborts with a message on stderr naming itself on misuse.
 * Abort messages are listed in docs/misuse.md.
 */
#ifndef TRICOLOR_H
#define TRICOLOR_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The version of this header. tri_version() returns the library's, which
 * may differ when a program runs against a newer shared library than the
 * one it was compiled with. TRI_VERSION_NUMBER is major*10000 +
 * minor*100 + patch, for #if comparisons. Releases follow semantic
 * versioning (NEWS lists them); the shared library's soname changes only
 * when a release breaks the ABI (docs/abi.md).
 */
#define TRI_VERSION_MAJOR 0
#define TRI_VERSION_MINOR 1
#define TRI_VERSION_PATCH 0
#define TRI_VERSION_STRING "0.1.0"
#define TRI_VERSION_NUMBER \
	(TRI_VERSION_MAJOR * 10000 + TRI_VERSION_MINOR * 100 + TRI_VERSION_PATCH)

#if defined(__GNUC__)
#define TRI_API __attribute__((visibility("default")))
#define TRI_MALLOC_ATTR __attribute__((malloc, alloc_size(1)))
#define TRI_CALLOC_ATTR_ __attribute__((malloc, alloc_size(1, 2)))
#define TRI_STRDUP_ATTR_ __attribute__((malloc))
#else
#define TRI_API
#define TRI_MALLOC_ATTR
#define TRI_CALLOC_ATTR_
#define TRI_STRDUP_ATTR_
#endif

/* ------------------------------------------------------------------ */
/* Start-up and threads                                                */
/* ------------------------------------------------------------------ */

/*
 * tri_init: start the runtime and attach the calling thread.
 * options: NULL or "key=value,key=value". The environment overrides it:
 * TRICOLOR_OPTIONS (same syntax) and then one variable per option,
 * TRICOLOR_<KEY> in upper case (TRICOLOR_GC_PERCENT=50).
 * Keys: gc_percent (int >= 0 or "off", default 100), memory_limit (bytes,
 * suffixes k/m/g, default none; a soft limit on the resident heap, as Go's
 * GOMEMLIMIT: it lowers the heap goal and, above 1.25x the limit, makes
 * allocating threads wait for collections; once one fails to bring the
 * resident heap back under the limit (live data plus fragmentation exceed it: spans
 * that keep a live object cannot be returned) the heap is allowed to grow
 * past it, the next forced collection coming only after as long again as
 * that one took and another limit/8 bytes allocated), mark_workers (default max(1, ncpu/4)),
 * cleanup_workers (default max(4, ncpu)), heap_reserve (address space
 * reserved for the heap, default 64g), min_heap (default 4m),
 * slow_finalizer_ms (default 1000), preempt_ms (delay before a thread that
 * holds up a handshake inside a C library call is preempted by a signal,
 * default 1, "off" to never send one), preempt_signal (default SIGURG; the
 * program's own handler for it still gets the signals tricolor did not
 * send, as long as it was installed before tri_init), gc_period_ms
 * (default 120000, Go's forcegcperiod: a cycle starts when none has run for
 * this long, however little the program allocates, so the cleanups of
 * dropped objects run within that bound; "off" never), debug (a
 * '+'-separated list of gctrace, checkmark, checkstacks, poison, checkfinalizers,
 * stats, trace=PATH, heapprofile=PATH), data_roots (on or off, default on:
 * see below), show_stats (1: statistics at exit, as debug=stats),
 * heapprofile_rate (bytes per heap-profile sample, default 512k).
 * docs/options.md lists every key with its default and range.
 * debug=gctrace prints Go's gctrace line per cycle on stderr; its
 * "H0->H1->H2 MB" are the heap at the cycle's start, the heap when marking
 * terminated, and the marked live heap (objects the mark reached; objects
 * allocated during the cycle are not in it), so H2 <= H1; a second line
 * "tricolor gc N: ..." ends with the bytes the sweep kept (docs/perf.md).
 *
 * data_roots=on (the default, as in bdwgc) scans the writable data and bss
 * segments of the program and of every loaded shared library (found with
 * dl_iterate_phdr at each cycle, so dlopen'd libraries count from the next
 * cycle on) as roots, so a heap pointer kept in a global or static
 * variable keeps its object alive without tri_add_roots. tricolor's own
 * segments are skipped when it is a shared library. Stores into globals
 * must still use tri_store / TRI_STORE. Why on: a C program ported from
 * malloc or bdwgc keeps pointers in globals, and a global the collector
 * does not see is a use-after-free; the cost is a conservative scan of
 * those segments once per cycle, concurrent with the program (no pause):
 * about 90 KiB for a small C program on glibc, some 15-25 us of one
 * collector thread per cycle; the bytes are counted in the metric
 * "/gc/mark/scanned:bytes".
 * data_roots=off scans only what tri_add_roots registered: for a program
 * with large pointer-free globals whose values could retain garbage by
 * chance.
 * Returns 0, EINVAL for an unknown key or bad value (a message naming it is
 * printed on stderr and nothing is started), ENOMEM if the heap cannot be
 * reserved, EALREADY if called twice (the second call changes nothing).
 * Call once, from the thread that will use the heap first.
 */
TRI_API int tri_init(const char *options);

/*
 * tri_thread_attach: register the calling thread with the collector. Its
 * stack, registers and thread-local storage (below) become roots. Any
 * thread may call it after tri_init, also while a collection runs (a thread
 * attaching during marking scans its own stack, so what it received from
 * its creator survives); attaching an attached thread is a no-op. Aborts if
 * tri_init was not called.
 * The thread's stack is the one pthreads gave it: switching stacks
 * (ucontext, coroutine libraries, sigaltstack handlers) and calling tricolor
 * there is not supported and aborts ("stack pointer ... is outside this
 * thread's stack") where it is noticed.
 * Thread-local variables (__thread, C11 _Thread_local, C++ thread_local) of
 * an attached thread are roots, scanned with its stack every cycle (the
 * main thread's too): at attach the thread records, for every module
 * loaded then (the program and its shared libraries), the TLS block the
 * module has for this thread. Two kinds are not covered:
 *  - the TLS of a module dlopen'd after the thread attached;
 *  - a TLS block not yet allocated for the thread when it attached
 *    (glibc allocates a dlopen'd library's dynamic TLS lazily, at the
 *    thread's first access to one of its variables).
 * For those, register the variable from its thread once it has touched it,
 * tri_add_roots(&var, &var + 1), store into it with tri_store, and
 * tri_remove_roots(&var, &var + 1) before the thread exits (the block is
 * freed with the thread). A detached thread's TLS is no longer a root.
 */
TRI_API void tri_thread_attach(void);

/*
 * tri_thread_detach: unregister the calling thread; its stack stops being a
 * root and its allocation cache is handed back. Call before the thread
 * exits (a thread that exits attached is detached by a pthread key
 * destructor, but its last frames are then no longer scanned). Aborts if the
 * thread is not attached or is inside tri_blocking_enter.
 */
TRI_API void tri_thread_detach(void);

/* tri_thread_is_attached: 1 if the calling thread is attached, else 0. */
TRI_API int tri_thread_is_attached(void);

/*
 * tri_thread_set_name: name the calling thread in traces (debug=trace),
 * reports and statistics. The name is copied; names longer than
 * TRI_THREAD_NAME_MAX - 1 bytes are truncated. NULL or "" clears it (the
 * thread is then shown by its number). The first 15 bytes also become the
 * operating system's name of the thread (pthread_setname_np: ps, top,
 * gdb, perf). May be called any number of times, from an attached thread
 * only; aborts with "tri_thread_set_name: thread not attached" otherwise.
 */
#define TRI_THREAD_NAME_MAX 32
TRI_API void tri_thread_set_name(const char *name);

/*
 * tri_version: the version of the library the program runs against, as
 * "MAJOR.MINOR.PATCH" (compare with TRI_VERSION_STRING, the header's).
 * Any thread, before or after tri_init.
 */
TRI_API const char *tri_version(void);

/* ------------------------------------------------------------------ */
/* Allocation                                                          */
/* ------------------------------------------------------------------ */

/*
 * tri_alloc: n bytes of zeroed memory, 16-byte aligned, scanned
 * conservatively for pointers. tri_alloc(0) returns one shared non-NULL
 * address that must not be written. Returns NULL with errno = ENOMEM when
 * the heap cannot grow (the heap keeps working). Attached threads only.
 */
TRI_API void *tri_alloc(size_t n) TRI_MALLOC_ATTR;

/*
 * tri_alloc_atomic: like tri_alloc, but the collector never scans the
 * memory: use it for data with no pointers to heap objects (strings,
 * buffers, numbers).
 */
TRI_API void *tri_alloc_atomic(size_t n) TRI_MALLOC_ATTR;

/*
 * tri_size: the usable size of the block that contains p (>= the size
 * asked for), or 0 if p is not inside a heap block. Any thread.
 */
TRI_API size_t tri_size(const void *p);

/*
 * tri_base: the start of the heap block containing p (p may point anywhere
 * inside it), or NULL if p is not inside an allocated block.
 */
TRI_API void *tri_base(const void *p);

/* tri_is_heap_ptr: 1 if p points into an allocated heap block, else 0. */
TRI_API int tri_is_heap_ptr(const void *p);

/*
 * tri_calloc: nmemb * size bytes of zeroed, scanned memory, like
 * tri_alloc(nmemb * size), for porting calloc calls. Returns NULL with
 * errno = ENOMEM when nmemb * size overflows size_t or the heap cannot
 * grow. Attached threads only.
 */
TRI_API void *tri_calloc(size_t nmemb, size_t size) TRI_CALLOC_ATTR_;

/*
 * tri_realloc: resize the heap block that starts at p to n bytes, like
 * realloc. p == NULL is tri_alloc(n). If n fits in the block's usable size
 * (tri_size(p)), p is returned and the bytes from n to the block's end are
 * cleared (through the write barrier for a scanned block), so shrinking
 * retains nothing. Otherwise a new block of the same kind (scanned, or
 * atomic for a block from tri_alloc_atomic) is allocated, the old block's
 * contents are copied into it (through the write barrier) and it is
 * returned; the old block is not freed by hand but left to the collector,
 * so other pointers to it stay valid and see the old contents.
 * n == 0 returns the tri_alloc(0) address. On failure returns NULL with
 * errno = ENOMEM and p is unchanged. A finalizer or cleanups attached to
 * p stay with the old block. Attached threads only. Aborts with
 * "tri_realloc: pointer not in allocated block" or "tri_realloc: pointer
 * not at beginning of allocated block" when p is not a block's start.
 */
TRI_API void *tri_realloc(void *p, size_t n);

/*
 * tri_strdup / tri_strndup: a copy of the string s (at most n bytes of it
 * for tri_strndup, plus the terminating NUL) in atomic (pointer-free) heap
 * memory. Returns NULL with errno = ENOMEM when the heap cannot grow.
 * Attached threads only. Abort with "tri_strdup: s is NULL" /
 * "tri_strndup: s is NULL".
 */
TRI_API char *tri_strdup(const char *s) TRI_STRDUP_ATTR_;
TRI_API char *tri_strndup(const char *s, size_t n) TRI_STRDUP_ATTR_;

/* ------------------------------------------------------------------ */
/* Precise layouts                                                     */
/* ------------------------------------------------------------------ */

/*
 * A layout names the words of a type that hold heap pointers, so that
 * the collector reads only those words of an object allocated with it:
 * an integer, hash or float in any other word can never keep garbage alive
 * (tri_alloc scans every word conservatively; stacks, registers and root
 * ranges stay conservative whatever the heap holds). Like bdwgc's
 * GC_make_descriptor and GC_malloc_explicitly_typed.
 *
 *     struct node { struct node *left, *right; uint64_t key; char pay[64]; };
 *     static const size_t offs[] = { offsetof(struct node, left),
 *                                    offsetof(struct node, right) };
 *     const tri_layout *L = tri_layout_make(sizeof(struct node), offs, 2);
 *     struct node *n = tri_alloc_typed(L);
 *     struct node *v = tri_alloc_array_typed(L, 1000);
 */
typedef struct tri_layout tri_layout;

/*
 * tri_layout_make: a layout for objects of size bytes whose pointer fields
 * sit at the byte offsets ptr_offsets[0..count) (offsetof of each field
 * that may hold a heap pointer; any order). Make each layout once (at
 * start-up, or once per type) and keep it: layouts are never freed, and
 * the region they come from holds some hundreds of thousands of small ones.
 * count == 0 is a pointer-free layout (its objects are allocated like
 * tri_alloc_atomic); a layout whose every word is a pointer allocates
 * like tri_alloc (exact already). Any thread, before or after tri_init.
 * Returns NULL with errno = ENOMEM when the layout region is full.
 * Aborts: "tri_layout_make: size is 0", "...: ptr_offsets is NULL but
 * count is N", "...: size N is larger than the limit of 67108864 bytes",
 * "...: size N is not a multiple of the pointer size (8), so it cannot
 * hold a pointer field", "...: pointer offset N is not a multiple of the
 * pointer size (8)", "...: pointer word at offset N is beyond the size
 * M", "...: pointer offset N is listed twice".
 */
TRI_API const tri_layout *tri_layout_make(size_t size, const size_t *ptr_offsets, size_t count);

/*
 * tri_alloc_typed: one zeroed object of the layout's size, 16-byte
 * aligned, whose pointer words (and only those) are scanned. The block
 * carries the layout in one hidden word after the object (8 bytes;
 * tri_size returns the usable size without it). If the block has room
 * past the object for whole further objects of the layout (small layouts
 * in a larger size class), those bytes are scanned with the layout too:
 * write there only what the layout allows. Writing past tri_size(p)
 * overwrites the layout word, and the collector aborts with "tricolor:
 * typed object P: its layout word (...) does not name a layout" when it
 * next scans the object. Everything else is as tri_alloc: tri_store for
 * pointer stores, finalizers and cleanups, tri_realloc (the new block
 * keeps the layout: an array of it of enough elements). Returns NULL with
 * errno = ENOMEM. Attached threads only. Aborts: "tri_alloc_typed: layout
 * is NULL", "tri_alloc_typed: P is not a layout made by tri_layout_make",
 * "tri_alloc_typed: thread not attached ...".
 */
TRI_API void *tri_alloc_typed(const tri_layout *layout) TRI_STRDUP_ATTR_;

/*
 * tri_alloc_array_typed: a zeroed array of n objects of the layout, one
 * after another (stride: the layout's size), scanned as tri_alloc_typed
 * describes; the layout is stored once, not per element. n == 0 returns
 * the tri_alloc(0) address. Returns NULL with errno = ENOMEM when n times
 * the size overflows or the heap cannot grow. Aborts as tri_alloc_typed,
 * naming tri_alloc_array_typed.
 */
TRI_API void *tri_alloc_array_typed(const tri_layout *layout, size_t n) TRI_STRDUP_ATTR_;

/* ------------------------------------------------------------------ */
/* Safepoints and blocking regions                                     */
/* ------------------------------------------------------------------ */

/*
 * tri_safepoint: poll for collector work pending on this thread (a
 * handshake action: stack scan, buffer flush). Cheap when nothing is pending
 * (one load, one branch). Attached threads only.
 */
TRI_API void tri_safepoint(void);

/*
 * tri_blocking_enter / tri_blocking_leave: bracket a call that may block
 * (read, epoll_wait, pthread_join, sleeping on a lock). Between them the
 * collector does not wait for the thread: it scans the thread's stack
 * frames that were live at tri_blocking_enter (and the registers saved
 * there) on the thread's behalf, at any moment, while the thread runs on.
 *
 * Inside a blocking region a thread MAY call any code that calls no tri_*
 * function, load pointers, and read and write the pointer-free bytes
 * (a tri_alloc_atomic buffer, an integer field) of heap objects that stay
 * reachable for the whole region from what the collector sees: the frames
 * live at tri_blocking_enter, roots, or objects reachable from those that
 * no other thread unlinks meanwhile. read(fd, conn->buf, n) into a
 * connection's atomic buffer is the typical case.
 * It MUST NOT: allocate or call any tri_* function but tri_blocking_leave
 * (tri_* functions abort or are undefined there); store a heap pointer
 * into a heap object, a root or a variable of a frame live at enter (no
 * write barrier runs, and those frames may already have been scanned);
 * or keep an object alive only through a pointer it holds in frames or
 * registers created inside the region (they are not scanned).
 * Nesting is not allowed: entering twice or leaving without entering
 * aborts. tri_blocking_leave may wait for a stack scan in progress to end.
 */
TRI_API void tri_blocking_enter(void);
TRI_API void tri_blocking_leave(void);

/*
 * TRI_BLOCKING(call): evaluate call (an expression of non-void type, such
 * as read(fd, buf, n)) inside a blocking region and yield its value, with
 * the errno the call left (tri_blocking_leave may change errno; this
 * restores it). The call's arguments are evaluated inside the region too,
 * so they follow its rules:
 *     ssize_t n = TRI_BLOCKING(read(c->fd, c->buf, c->cap));
 *     if (n < 0 && errno == EAGAIN) ...
 * A GNU statement expression (GCC and Clang, C and C++).
 */
#define TRI_BLOCKING(call)                                                    \
	__extension__({                                                       \
		tri_blocking_enter();                                         \
		__typeof__(call) tri_br_ = (call);                            \
		int tri_be_ = errno;                                          \
		tri_blocking_leave();                                         \
		errno = tri_be_;                                              \
		tri_br_;                                                      \
	})

/* ------------------------------------------------------------------ */
/* Write barrier                                                       */
/* ------------------------------------------------------------------ */

/* Internal: nonzero while any collection has the write barrier enabled. */
extern TRI_API volatile int tri_barrier_enabled_;
TRI_API void tri_store_slow_(void **slot, const void *value);

/*
 * tri_store: *(void **)slot = value, through the write barrier. slot is a
 * pointer-sized, pointer-aligned field inside a heap object or a registered
 * root range. Inline fast path: one load and one branch when no collection
 * is marking. The store is a release store (a plain move on x86-64): an
 * object initialised before it is published this way is seen initialised by
 * a thread that reads the pointer with tri_load. Attached threads only (the
 * slow path aborts otherwise).
 */
static inline void tri_store(void *slot, const void *value)
{
	if (__builtin_expect(__atomic_load_n(&tri_barrier_enabled_, __ATOMIC_RELAXED), 0))
		tri_store_slow_((void **)slot, value);
	else
		__atomic_store_n((void **)slot, (void *)value, __ATOMIC_RELEASE);
}

/* C11's _Static_assert is no C++ keyword; C++11 has static_assert. */
#ifdef __cplusplus
#define TRI_STATIC_ASSERT_(cond, msg) static_assert(cond, msg)
#else
#define TRI_STATIC_ASSERT_(cond, msg) _Static_assert(cond, msg)
#endif

/* TRI_STORE(lvalue, value): typed form, e.g. TRI_STORE(node->next, other). */
#define TRI_STORE(lvalue, value)                                             \
	do {                                                                 \
		__typeof__(lvalue) tri_v_ = (value);                           \
		TRI_STATIC_ASSERT_(sizeof(lvalue) == sizeof(void *),         \
				   "TRI_STORE needs a pointer-sized lvalue"); \
		tri_store((void *)&(lvalue), (const void *)tri_v_);          \
	} while (0)

/*
 * tri_load: an acquire load of a pointer field that other threads store to
 * with tri_store (a plain move on x86-64). Plain loads are fine where the
 * program already synchronizes; this is for racing readers, and pairs with
 * tri_store's release so the pointed-to object's contents are visible.
 */
static inline void *tri_load(const void *slot)
{
	return __atomic_load_n((void *const *)slot, __ATOMIC_ACQUIRE);
}

/*
 * tri_cas: atomic compare-and-swap of a pointer field through the write
 * barrier. If *slot == expected, stores desired and returns 1; else 0.
 */
TRI_API int tri_cas(void *slot, const void *expected, const void *desired);

/*
 * tri_memmove: memmove for memory that may hold pointers (heap objects or
 * root ranges) through the write barrier. dst and src must be 8-byte aligned
 * when n >= 8; the byte tail, if any, is copied plainly.
 */
TRI_API void *tri_memmove(void *dst, const void *src, size_t n);

/* ------------------------------------------------------------------ */
/* Roots and collection                                                */
/* ------------------------------------------------------------------ */

/*
 * tri_add_roots: register [start, end) as a root range, scanned
 * conservatively every cycle. Stores of heap pointers into it must use
 * tri_store. Ranges may overlap; any attached or unattached thread after
 * tri_init. This is how memory the collector does not scan by itself
 * becomes a root: malloc'd or mmap'd memory, globals with data_roots=off,
 * and the thread-local variables tri_thread_attach does not cover (a
 * module dlopen'd after the thread attached, lazily allocated TLS).
 * Pointers already in the range: when a cycle is marking, the call scans
 * the range itself, so they count as roots of that cycle. Memory that is not
 * registered is invisible to the collector, so a heap pointer held only
 * there across the end of a cycle's marking is garbage to that cycle, and
 * registering the range afterwards cannot bring its object back. Register a
 * range before storing the only copy of a heap pointer in it, or keep the
 * pointer reachable elsewhere (a local variable passed to tri_keep_alive
 * after this call) until tri_add_roots returns.
 */
TRI_API void tri_add_roots(void *start, void *end);

/* tri_remove_roots: unregister a range registered with the same bounds.
 * Aborts with a message if no such range is registered. */
TRI_API void tri_remove_roots(void *start, void *end);

/*
 * tri_collect: Go's runtime.GC(). Finishes any cycle in progress, runs one
 * full cycle (mark and sweep) and returns. The caller's stack is a root.
 * On return every finalizer and cleanup of an object the cycle found dead is
 * queued (tri_drain waits for them to run). Safe from several threads.
 */
TRI_API void tri_collect(void);

/*
 * tri_gc_percent: set gc_percent (Go's debug.SetGCPercent); returns the old
 * value. -1 means off.
 */
TRI_API int tri_gc_percent(int percent);

/* ------------------------------------------------------------------ */
/* Finalizers, cleanups, keep-alive                                    */
/* ------------------------------------------------------------------ */

/*
 * tri_set_finalizer: Go's runtime.SetFinalizer. obj must be the start of a
 * block from tri_alloc, tri_alloc_atomic or tri_alloc_typed (or another
 * allocator of this header). When a cycle finds obj unreachable,
 * the finalizer is removed, obj (and what it references) is kept alive and
 * fn(obj) is queued for the finalizer thread, which runs finalizers one at a
 * time. fn == NULL removes the finalizer (silently if none). Objects in a
 * cycle of references with a finalizer are never finalized or freed. If A
 * points to B and both have finalizers, A's runs first, B's in a later cycle.
 * Aborts on misuse: "tri_set_finalizer: pointer is NULL", "... pointer not
 * in allocated block", "... pointer not at beginning of allocated block",
 * "... finalizer already set". The tri_alloc(0) address is ignored.
 * Finalizers are not guaranteed to run before the program exits.
 */
TRI_API void tri_set_finalizer(void *obj, void (*fn)(void *obj));

/* Handle for a cleanup registered with tri_add_cleanup. */
typedef struct tri_cleanup {
	uint64_t id;
} tri_cleanup;

/*
 * tri_add_cleanup: Go's runtime.AddCleanup. When the object ptr points into
 * becomes unreachable, fn(arg) is queued for the cleanup worker pool; the
 * object is freed in that same cycle (never resurrected, fn never sees it).
 * Any number per object; ptr may point anywhere inside it. arg is kept alive
 * until the cleanup ran or was stopped. If the object also has a finalizer,
 * the finalizer runs first and the cleanups run once the object is
 * unreachable again. Aborts on misuse: "tri_add_cleanup: ptr is NULL",
 * "... fn is NULL", "... ptr not in allocated block", "... ptr is equal to
 * arg, cleanup will never run", "... arg points into ptr's object, cleanup
 * will never run".
 * For the tri_alloc(0) address it does nothing and returns a zero handle.
 */
TRI_API tri_cleanup tri_add_cleanup(void *ptr, void (*fn)(void *arg),
				    void *arg);

/*
 * tri_cleanup_stop: cancel a cleanup that has not been queued yet. No-op if
 * it was queued or ran, if called twice, or for a zero handle. Handles are
 * unique for the life of the process and never cancel another cleanup.
 */
TRI_API void tri_cleanup_stop(tri_cleanup c);

/*
 * tri_drain: wait until every finalizer and cleanup queued at the time of
 * the call has finished. Returns 0, or ETIMEDOUT after timeout_ms (< 0:
 * wait forever). Aborts if called from a finalizer or cleanup.
 */
TRI_API int tri_drain(long timeout_ms);

/*
 * tri_keep_alive: Go's runtime.KeepAlive. Keeps p reachable (so its
 * finalizer or cleanups cannot run) at least until this point.
 */
#define tri_keep_alive(p)                                                     \
	do {                                                                  \
		const void *tri_ka_ = (const void *)(p);                      \
		__asm__ __volatile__("" : : "r"(tri_ka_) : "memory");         \
	} while (0)

/* ------------------------------------------------------------------ */
/* Weak pointers and interning                                         */
/* ------------------------------------------------------------------ */

/*
 * A weak pointer (Go's weak.Pointer): names an object without keeping it
 * alive. A plain value of two words; the zero value {0} is the zero handle.
 * Keep it where the collector scans (stack, registers, tri_alloc memory,
 * registered roots), like a pointer: it holds a small heap cell (16 bytes,
 * one per object however many handles are made) that lives as long as the
 * object or a handle does.
 */
typedef struct tri_weak {
	void *cell_;	 /* private */
	uintptr_t off_; /* private: offset of the pointer into its object */
} tri_weak;

/*
 * tri_weak_make: a weak pointer to the object p points into (any interior
 * pointer; tri_weak_get returns p itself). Handles made from equal pointers
 * are equal, by value (memcmp, hashing the two words) and by
 * tri_weak_equal, also after the object died; handles made from pointers
 * to different offsets of one object are not equal (as in Go). O(1) for an
 * object that already has a handle. tri_weak_make(NULL) is the zero handle;
 * the tri_alloc(0) address gives a handle that never reads NULL. Callable
 * from attached threads. Aborts on misuse: "tri_weak_make: pointer not in
 * allocated block (%p)", "tri_weak_make: thread not attached".
 */
TRI_API tri_weak tri_weak_make(void *p);

/*
 * tri_weak_get: the original pointer while the object is reachable; NULL
 * once a cycle has found it unreachable, and from then on forever (also
 * for the zero handle). The pointer returned is an ordinary strong pointer:
 * it keeps the object alive, even if the call races with a cycle that is
 * marking (the object is marked before it is returned) or sweeping (an
 * object the cycle found dead is never handed back). A weak pointer to an
 * object with a finalizer reads NULL from the cycle that queues the
 * finalizer on, even though the finalizer resurrects the object; cleanups
 * of an object run after its weak pointers read NULL. Callable from
 * attached threads outside blocking regions (the result is kept alive by
 * the caller's stack, which a cycle scans at the thread's safepoints).
 * Aborts on misuse: "tri_weak_get: thread not attached"; in
 * --enable-debug builds also "tri_weak_get: not a weak handle".
 */
TRI_API void *tri_weak_get(tri_weak w);

/*
 * tri_weak_store: *slot = w, through the write barrier (the handle's cell
 * pointer is a heap pointer). Use it to put a handle into tri_alloc memory
 * or a registered root range, as tri_store for a pointer; a handle in a
 * local variable needs nothing.
 */
static inline void tri_weak_store(tri_weak *slot, tri_weak w)
{
	slot->off_ = w.off_;
	tri_store(&slot->cell_, w.cell_);
}

/* tri_weak_equal: 1 if a and b were made from equal pointers (or are both
 * zero), else 0; the same as comparing the two values' bytes. */
TRI_API int tri_weak_equal(tri_weak a, tri_weak b);

/*
 * tri_intern: Go's unique.Make for byte strings. Returns the canonical
 * read-only heap copy of bytes[0..n): equal byte strings give equal
 * pointers, for as long as one of them is held. A canonical copy no one
 * references any more is dropped by the collector (the table holds it
 * weakly), and a later call makes a new one. Do not write through the
 * result. Any attached thread; finding a value that is already interned
 * takes no lock (a lock-free hash table, RCU). n == 0 returns the
 * tri_alloc(0) address. Returns NULL with errno ENOMEM when a new copy
 * cannot be allocated. Aborts on misuse: "tri_intern: bytes is NULL",
 * "tri_intern: thread not attached".
 */
TRI_API const void *tri_intern(const void *bytes, size_t n);

/* ------------------------------------------------------------------ */
/* External resources                                                  */
/* ------------------------------------------------------------------ */

/*
 * A counter of a scarce resource outside the heap (file descriptors,
 * sockets, handles) that heap objects own and a cleanup or finalizer
 * releases. The collector is paced on heap bytes; a program that drops
 * objects owning descriptors but allocates little would run out of
 * descriptors long before the heap asks for a cycle. Counting the resource
 * lets the collector run on its account too (as .NET's HandleCollector and
 * GC.AddMemoryPressure do).
 *
 * Pacing, with L the soft limit and low the smallest count seen since the
 * last cycle this resource triggered: tri_resource_acquire starts a cycle
 * (without waiting) when the count reaches low + max((L - low) / 2, low / 4)
 * and a cycle has completed since the last one it started, so the cycle and
 * the cleanups it queues have the other half of the way to run (and a
 * program that keeps L or more units reachable gets a cycle per 25% of
 * growth, not one after another). When the count exceeds L,
 * the acquiring thread collects and waits (at most 1 s) for the queued
 * finalizers and cleanups, provided the last such wait brought the count
 * back under L: a program that keeps more than L reachable makes the limit
 * soft (no collection per acquisition) until the count falls below L / 2.
 * The wait is skipped in a finalizer or cleanup and on threads that are not
 * attached. In a program whose garbage holds the resources, the count stays
 * within L plus what other threads acquire during one such wait.
 */
typedef struct tri_resource tri_resource;

/*
 * tri_resource_new: a counter named name (copied; used in messages and
 * debug=stats) with soft limit soft_limit (> 0). Counters live until exit.
 * Returns NULL with errno ENOMEM. Aborts: "tri_resource_new: soft_limit
 * is 0", and before tri_init.
 */
TRI_API tri_resource *tri_resource_new(const char *name, uint64_t soft_limit);

/*
 * tri_resource_acquire / tri_resource_release: one unit was acquired /
 * released (call release in the cleanup or finalizer that closes it, and
 * where the program closes it itself). Any thread. Aborts on misuse:
 * "tri_resource_release: resource \"NAME\" released more often than
 * acquired", "...: resource is NULL".
 */
TRI_API void tri_resource_acquire(tri_resource *r);
TRI_API void tri_resource_release(tri_resource *r);

/* tri_resource_count: units acquired and not yet released. */
TRI_API uint64_t tri_resource_count(const tri_resource *r);

/* ------------------------------------------------------------------ */
/* Metrics                                                             */
/* ------------------------------------------------------------------ */

/*
 * tri_read_metric: read one metric by its Go runtime/metrics style name
 * (e.g. "/gc/cycles/total:gc-cycles"). Returns 0, ENOENT for an unknown
 * name, EINVAL if name or value is NULL. Any thread, attached or not.
 * Values are unsigned: "/gc/gogc:percent" reads UINT64_MAX when gc_percent
 * is off.
 */
TRI_API int tri_read_metric(const char *name, uint64_t *value);

/* One metric's name and one-line description. */
typedef struct tri_metric_desc {
	const char *name;
	const char *description;
} tri_metric_desc;

/* tri_metrics_list: all metric names; *count receives their number. */
TRI_API const tri_metric_desc *tri_metrics_list(size_t *count);

/*
 * tri_pause_sample: one pause a thread saw, as recorded in the per-thread
 * pause ring: a handshake action, an assist, a global stop (checkmark), a
 * wait for a cycle, and every other stall of an attached thread inside
 * tricolor longer than 2 us (lazy sweep, allocator lock wait, page-heap
 * growth, callback hand-off). Handshake actions, assists, waits and stops
 * are recorded whatever their length.
 */
typedef struct tri_pause {
	uint64_t start_ns; /* CLOCK_MONOTONIC */
	uint64_t length_ns;
	uint32_t kind; /* TRI_PAUSE_* */
	uint32_t thread; /* registry id */
} tri_pause;

enum {
	TRI_PAUSE_HANDSHAKE = 1,
	TRI_PAUSE_ASSIST = 2, /* mark assist; also a full barrier buffer's flush (over 2 us) */
	TRI_PAUSE_STOP = 3, /* checkmark stop-the-world (debug only) */
	TRI_PAUSE_WAIT = 4, /* allocation waited for a cycle (heap limit, hard goal) */
	TRI_PAUSE_SWEEP = 5, /* allocation swept spans itself (lazy sweep) */
	TRI_PAUSE_LOCK = 6, /* waited for an allocator lock another thread held */
	TRI_PAUSE_HEAP = 7, /* page heap: arena growth from the OS, clearing a fresh span */
	TRI_PAUSE_CALLBACK = 8 /* handing a finalizer or cleanup to its queue */
};

/*
 * tri_pauses: copy up to max recorded pauses (the most recent ones of every
 * thread, live and exited) into out; returns how many were copied.
 */
TRI_API size_t tri_pauses(tri_pause *out, size_t max);

#ifdef __cplusplus
}
#endif
#endif /* TRICOLOR_H */

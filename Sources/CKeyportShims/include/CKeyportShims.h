#ifndef CKEYPORT_SHIMS_H
#define CKEYPORT_SHIMS_H

#include <stddef.h>
#include <sys/types.h>

/// Fills exactly `length` bytes from the kernel CSPRNG; small requests come from a per-thread block of
/// getrandom(2) bytes, each used once. Returns 0, or -1 with errno set.
int keyport_random_fill(void *buffer, size_t length);

/// Returns freed heap pages to the kernel (glibc's malloc_trim); does nothing on other C libraries.
int keyport_malloc_trim(size_t pad);

/// CPUs this process may run on (sched_getaffinity), or 0 when unknown.
int keyport_affinity_cpu_count(void);

#endif

// Wrappers for C library functions and macros that Glibc's Swift module does not export.
#define _GNU_SOURCE
#include "CKeyportShims.h"

#include <sched.h>
#include <sys/random.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

ssize_t keyport_getrandom(void *buffer, size_t length) {
    return getrandom(buffer, length, 0);
}

int keyport_malloc_trim(size_t pad) {
#ifdef __GLIBC__
    return malloc_trim(pad);
#else
    (void)pad;
    return 0;
#endif
}

int keyport_affinity_cpu_count(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) {
        return 0;
    }
    return CPU_COUNT(&set);
}

// Wrappers for C library functions and macros that Glibc's Swift module does not export.
#define _GNU_SOURCE
#include "CKeyportShims.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/random.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

// One getrandom(2) call here costs about three times what the kernel takes to make 32 bytes, so small
// requests are served from a per-thread block of kernel bytes; each byte is handed out once, then wiped.
#define KEYPORT_RANDOM_POOL 4096
static _Thread_local unsigned char random_pool[KEYPORT_RANDOM_POOL];
static _Thread_local size_t random_pool_left;

int keyport_random_fill(void *buffer, size_t length) {
    if (length > KEYPORT_RANDOM_POOL / 16) {
        size_t filled = 0;
        while (filled < length) {
            ssize_t count = getrandom((unsigned char *)buffer + filled, length - filled, 0);
            if (count < 0) {
                if (errno == EINTR) continue;
                return -1;
            }
            filled += (size_t)count;
        }
        return 0;
    }
    if (random_pool_left < length) {
        size_t filled = 0;
        while (filled < KEYPORT_RANDOM_POOL) {
            ssize_t count = getrandom(random_pool + filled, KEYPORT_RANDOM_POOL - filled, 0);
            if (count < 0) {
                if (errno == EINTR) continue;
                return -1;
            }
            filled += (size_t)count;
        }
        random_pool_left = KEYPORT_RANDOM_POOL;
    }
    unsigned char *source = random_pool + (KEYPORT_RANDOM_POOL - random_pool_left);
    memcpy(buffer, source, length);
    explicit_bzero(source, length);
    random_pool_left -= length;
    return 0;
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

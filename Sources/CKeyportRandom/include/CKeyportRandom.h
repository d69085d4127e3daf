#ifndef CKEYPORT_RANDOM_H
#define CKEYPORT_RANDOM_H

#include <stddef.h>
#include <sys/types.h>

/// Fills up to `length` bytes from the kernel CSPRNG; returns the count or -1 with errno set.
ssize_t keyport_getrandom(void *buffer, size_t length);

#endif

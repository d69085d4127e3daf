#include "CKeyportRandom.h"

#include <sys/random.h>

ssize_t keyport_getrandom(void *buffer, size_t length) {
    return getrandom(buffer, length, 0);
}

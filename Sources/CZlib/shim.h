// zlib's inflate for gzip-compressed ports files: the system library (Debian zlib1g-dev to build; libz.so.1
// is in every Debian image, the slim runtime too), rather than a package that wraps it with NIO buffers.
#include <zlib.h>

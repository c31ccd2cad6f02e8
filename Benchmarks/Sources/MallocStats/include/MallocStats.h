#include <stddef.h>

/// Bytes the allocator has handed out and not taken back (glibc's mallinfo2), or 0 elsewhere.
size_t docket_heap_in_use(void);

#include "agent/ops/heap.h"

#include <cstdlib>

#ifdef TANDEM_WITH_JEMALLOC
#include <sys/types.h>

#include <jemalloc/jemalloc.h>
#elif defined(__GLIBC__)
#include <malloc.h>
#endif

#ifdef TANDEM_WITH_JEMALLOC
// jemalloc keeps freed pages for dirty_decay_ms (10 s by default) before it gives them back, so
// during a bulk load the anonymous memory followed the rate of allocation rather than what was
// held: 100,000 records loaded, the peak RssAnon was 40-53 MB with the default and 29-33 MB with
// 1 s in most runs, at the same CPU per record (freed pages are reused long before a second has
// passed). Read by jemalloc when it starts (a setting made later through mallctl misses the arenas
// that exist by then); MALLOC_CONF in the environment wins.
extern "C" {
const char* malloc_conf = "dirty_decay_ms:1000";
}
#endif

namespace tandem::agent::ops::heap {

void tune() {
#if !defined(TANDEM_WITH_JEMALLOC) && defined(__GLIBC__)
  // glibc raises its mmap threshold to the largest block freed so far (up to 32 MiB): after the
  // first feed page or large HTTP body, such buffers come from the heap and, freed between
  // longer-lived allocations, stay with the process, so a daemon's anonymous memory grows with
  // the work it has done rather than with what it holds. A fixed threshold keeps buffers above
  // 256 KiB in their own mappings, given back when freed. Not lower: every RapidJSON document
  // starts with a 64 KiB chunk, and at a 64 KiB threshold each was an mmap and a munmap, whose
  // TLB shootdown interrupts both cores (a third of the agent's CPU was in the kernel during a
  // load; 30k load: 2,316 -> 2,890 records/s, peak RssAnon 42.8 -> 32.9 MB). Two arenas are
  // enough for the agent's few threads. MALLOC_MMAP_THRESHOLD_ / MALLOC_ARENA_MAX in the
  // environment win.
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) {
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  }
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) {
    mallopt(M_ARENA_MAX, 2);
  }
#endif
}

std::string allocatorName() {
#ifdef TANDEM_WITH_JEMALLOC
  const char* version = nullptr;
  size_t size = sizeof(version);
  if (mallctl("version", static_cast<void*>(&version), &size, nullptr, 0) == 0 &&
      version != nullptr) {
    return std::string("jemalloc ") + version;
  }
  return "jemalloc";
#else
  return "glibc malloc";
#endif
}

void releaseFree() {
#ifdef TANDEM_WITH_JEMALLOC
  const std::string purge = "arena." + std::to_string(MALLCTL_ARENAS_ALL) + ".purge";
  mallctl(purge.c_str(), nullptr, nullptr, nullptr, 0);
#elif defined(__GLIBC__)
  malloc_trim(0);
#endif
}

std::optional<uint64_t> threadAllocatedBytes() {
#ifdef TANDEM_WITH_JEMALLOC
  uint64_t allocated = 0;
  size_t size = sizeof(allocated);
  if (mallctl("thread.allocated", static_cast<void*>(&allocated), &size, nullptr, 0) == 0) {
    return allocated;
  }
#endif
  return std::nullopt;
}

std::optional<int64_t> dirtyDecayMs() {
#ifdef TANDEM_WITH_JEMALLOC
  ssize_t decay = 0;
  size_t size = sizeof(decay);
  if (mallctl("arenas.dirty_decay_ms", static_cast<void*>(&decay), &size, nullptr, 0) == 0) {
    return static_cast<int64_t>(decay);
  }
#endif
  return std::nullopt;
}

}  // namespace tandem::agent::ops::heap

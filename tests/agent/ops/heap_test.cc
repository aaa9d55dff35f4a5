// agent/ops/heap.h: the program's allocator is the one it was built with, and giving the free
// heap back returns memory to the system.

#include "agent/ops/heap.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace tandem::agent::ops::heap {
namespace {

// Resident pages of this process (/proc/self/statm).
long residentPages() {
  long size = 0;
  long resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) {
    return -1;
  }
  if (std::fscanf(f, "%ld %ld", &size, &resident) != 2) {
    resident = -1;
  }
  std::fclose(f);
  return resident;
}

void* volatile kept = nullptr;  // what the allocation test allocated, so it is not elided

#ifdef TANDEM_WITH_JEMALLOC
TEST(Heap, MallocGoesToJemalloc) {
  EXPECT_EQ(allocatorName().rfind("jemalloc 5.", 0), 0u) << allocatorName();
  const auto before = threadAllocatedBytes();
  ASSERT_TRUE(before.has_value());
  kept = std::malloc(1 << 20);
  ASSERT_NE(kept, nullptr);
  std::memset(kept, 1, 1 << 20);
  const auto after = threadAllocatedBytes();
  std::free(kept);
  ASSERT_TRUE(after.has_value());
  EXPECT_GE(*after - *before, uint64_t{1} << 20);
}

TEST(Heap, FreedPagesAreKeptOneSecond) {
  if (std::getenv("MALLOC_CONF") != nullptr) {
    GTEST_SKIP() << "MALLOC_CONF is set, and wins over the program's setting";
  }
  EXPECT_EQ(dirtyDecayMs(), kDirtyDecayMs);
}
#else
TEST(Heap, WithoutJemallocTheCLibraryMallocIsNamed) {
  EXPECT_FALSE(dirtyDecayMs().has_value());
  EXPECT_EQ(allocatorName(), "glibc malloc");
  EXPECT_FALSE(threadAllocatedBytes().has_value());
}
#endif

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
TEST(Heap, ReleaseFreeGivesFreedMemoryBack) {
  GTEST_SKIP() << "a sanitizer's allocator keeps freed memory in quarantine";
}
#else
// 64 MiB in 16 KiB blocks (below glibc's mmap threshold and jemalloc's own-mapping size),
// written, then freed: the allocator keeps the pages until told to give them back (jemalloc for
// its decay time, 10 s).
TEST(Heap, ReleaseFreeGivesFreedMemoryBack) {
  tune();
  constexpr size_t kBlock = 16 << 10;
  constexpr size_t kBlocks = 4096;
  std::vector<void*> blocks;
  blocks.reserve(kBlocks);
  for (size_t i = 0; i < kBlocks; ++i) {
    blocks.push_back(std::malloc(kBlock));
    ASSERT_NE(blocks.back(), nullptr);
    std::memset(blocks.back(), 1, kBlock);
  }
  // Held through the release, above the freed blocks: glibc's free() gives back the top of its
  // heap by itself, so without it the test would pass without releaseFree().
  kept = std::malloc(kBlock);
  ASSERT_NE(kept, nullptr);
  const long page = sysconf(_SC_PAGESIZE);
  const long full = residentPages();
  for (void* b : blocks) {
    std::free(b);
  }
  releaseFree();
  const long released = residentPages();
  std::free(kept);
  ASSERT_GT(full, 0);
  ASSERT_GT(released, 0);
  // Three quarters of the 64 MiB at least are back with the system (jemalloc gives back about a
  // third within the test without being told).
  EXPECT_GE((full - released) * page, static_cast<long>(kBlock * kBlocks * 3 / 4))
      << "resident before " << full << " pages, after " << released << " (" << allocatorName()
      << ")";
}
#endif

}  // namespace
}  // namespace tandem::agent::ops::heap

#pragma once

// The heap allocator the `tandem` program runs on. The program is linked with jemalloc (CMake
// option TANDEM_JEMALLOC, on unless a sanitizer build): the agent's work is many small,
// short-lived allocations (each record's decoded fields, shadows and push plans, on every writer
// visit), and glibc's malloc spent a fifth of the store writer's time on them. The same writer
// calls (bench_engine_load, 50,000 records, one core) took 76-80 us per record with glibc's
// malloc and 64-67 with jemalloc; in the full load (bench_e2e_sync, 100,000 records) the agent's
// CPU per record went from 116-128 us to 109-110 for ~5 MB more peak RSS. mimalloc and tcmalloc
// were as fast alone but kept 15-30 MB more. Only the program and the benchmarks standing for
// its work link this; the libraries and their tests keep the C library's malloc.

#include <cstdint>
#include <optional>
#include <string>

namespace tandem::agent::ops::heap {

// Settings made once at the start of the program: glibc's mmap threshold and arenas (see
// heap.cc). jemalloc's are read when it starts, from heap.cc's malloc_conf.
void tune();
inline constexpr int64_t kDirtyDecayMs = 1000;  // jemalloc's, in heap.cc's malloc_conf

// How long jemalloc keeps freed pages before it gives them back (arenas created from now on);
// nullopt on glibc.
std::optional<int64_t> dirtyDecayMs();

// "jemalloc 5.3.0-0-g..." when the program runs on jemalloc, else "glibc malloc".
std::string allocatorName();

// Gives the heap's free memory back to the system now: jemalloc purges every arena's unused
// pages (it otherwise does so only as it allocates, so an idle daemon would keep them), glibc
// trims its arenas.
void releaseFree();

// The bytes this thread has allocated so far, as the allocator counts them; nullopt when it does
// not (glibc). A test shows with it that malloc really goes to jemalloc.
std::optional<uint64_t> threadAllocatedBytes();

}  // namespace tandem::agent::ops::heap

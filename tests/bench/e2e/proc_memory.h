#pragma once

// The memory of the `tandem run` child the World started, read from /proc: the World keeps the
// child's pid private, so the bench finds it as the child of this process named "tandem".

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace tandem::bench {

// The pid of this process's child whose command name is "tandem", if there is exactly one.
std::optional<pid_t> findAgentPid();

struct ProcMemory {
  int64_t peak_kb = 0;  // VmHWM: the peak resident set since the process started
  int64_t rss_kb = 0;   // VmRSS: resident now
  int64_t anon_kb = 0;  // RssAnon: the heap and stacks, resident now
  int64_t file_kb = 0;  // RssFile: mapped files resident now (LMDB's map, the program)
};

// VmHWM, VmRSS, RssAnon and RssFile of `pid`; nullopt when the process is gone.
std::optional<ProcMemory> readMemory(pid_t pid);

// User plus system CPU seconds `pid` has used (/proc/<pid>/stat); nullopt when it is gone.
std::optional<double> readCpuSeconds(pid_t pid);

}  // namespace tandem::bench

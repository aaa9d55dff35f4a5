#pragma once

// The initial load: `n` customers in the CRM only, created in the ERP and in finance, once by
// the real `tandem run` and once by the null copier, each in a fresh set of fixture systems.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "tests/bench/e2e/proc_memory.h"

namespace tandem::e2e {
class World;
}  // namespace tandem::e2e

namespace tandem::bench {

struct LoadOptions {
  int64_t records = 100000;
  int max_in_flight = 8;    // per system, for the agent and the null copier alike
  double timeout_s = 3600;  // then the figures so far are reported with an error
};

struct LoadResult {
  std::string error;  // "" when every record reached both systems
  double seconds = 0;
  double records_per_s = 0;
  double requests_per_record = 0;  // HTTP requests the three systems served, per record
  // The agent's memory (zero for the null copier).
  int64_t peak_kb = 0;       // VmHWM at the end of the load
  int64_t peak_anon_kb = 0;  // the largest RssAnon sampled during the load
  ProcMemory rest;           // at rest: 2 s after the agent last read a record (see load.cc)
  int64_t lmdb_bytes = 0;    // the size of the state directory's files
  // CPU seconds over the load (to the last create's answer): the fixture server's one thread,
  // which serves all three systems, and the agent process (zero for the null copier, which runs
  // inside the benchmark).
  double fixture_cpu_s = 0;
  double agent_cpu_s = 0;
  double writer_busy_s = 0;  // the agent's store writer (status writer_busy_ms)
  // Records the agent's detectors reported from each system's feed per record loaded, when the
  // last create was answered / at rest: the CRM's records and the targets' echoes of the
  // creates, with every report again from a feed's overlap window ("crm 1.00 erp 1.00 fin 1.00"
  // at rest when each was reported once).
  std::string records_read;
};

// How much of the load's wall time the fixture server's one thread (all three systems) was busy,
// in percent: near 100 it bounds the rate.
double fixtureBusyPercent(const LoadResult& r);

LoadResult runAgentLoad(const LoadOptions& options);
// HTTP requests the three fixture systems of `w` have served so far (each counter asked twice:
// the control connection may have idled out).
int64_t totalRequests(e2e::World& w);
LoadResult runNullCopierLoad(const LoadOptions& options);
// Waits until the running count `sample` grew by at most `tolerance` between looks `every`
// apart, `looks` times in a row (a failed sample starts over), or `limit` has passed.
void waitUntilQuiet(const std::function<std::optional<int64_t>()>& sample, int64_t tolerance,
                    std::chrono::milliseconds every, int looks, std::chrono::seconds limit);

}  // namespace tandem::bench

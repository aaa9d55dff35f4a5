#pragma once

// Steady state: `records` customers already in sync, then people edit 1% of them per second,
// spread over the three systems (a new phone number each time); a watcher reads the other two
// systems until both show the new value. Latency is from the edit's answer to the moment the
// watcher saw the second system change, so it includes up to one pass of the watcher.

#include <cstdint>
#include <string>
#include <vector>

namespace tandem::bench {

struct SteadyOptions {
  int64_t records = 10000;
  bool webhooks = false;
  int64_t poll_interval_ms = 1000;
  double edit_seconds = 20;
  double edits_per_s_fraction = 0.01;  // of `records`
  int max_in_flight = 8;
};

struct Latencies {
  std::vector<double> ms;             // one per propagated edit
  int64_t lost = 0;                   // edits not seen in both other systems within 30 s
  double percentile(double p) const;  // of ms; NaN when empty
};

struct SteadyResult {
  std::string error;
  Latencies all;
  Latencies by_source[3];  // crm, erp, fin
  double edits_per_s = 0;
};

SteadyResult runSteady(const SteadyOptions& options);

}  // namespace tandem::bench

#pragma once

// Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
// Jitter"): the delay before retry `attempt` (0-based) is uniform in
// [0, min(maxMs, baseMs * 2^attempt)]. The RNG is seeded by the caller, so a test (or a replay)
// sees the same sequence for the same seed.

#include <cstdint>
#include <random>

namespace tandem::agent::sync {

struct BackoffPolicy {
  int64_t baseMs = 500;
  int64_t maxMs = 60'000;
};

class Backoff {
 public:
  Backoff(BackoffPolicy policy, uint64_t seed) : policy_(policy), rng_(seed) {}

  // The upper bound of the jittered delay for this attempt.
  static int64_t ceilingMs(const BackoffPolicy& policy, int attempt);
  int64_t delayMs(int attempt);
  // A server's Retry-After, when given, is a floor: never retry earlier than it asked.
  int64_t delayMs(int attempt, int64_t retryAfterMs);

 private:
  BackoffPolicy policy_;
  std::mt19937_64 rng_;  // fully specified by the standard: same seed, same sequence everywhere
};

}  // namespace tandem::agent::sync

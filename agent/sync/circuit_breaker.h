#pragma once

// A circuit breaker per external system: closed → open after `failureThreshold` consecutive
// failures → half-open once `cooldownMs` has passed (one probe request allowed) → closed when the
// probe succeeds, open again (for another cooldown) when it fails. Time comes from a Clock.
// Thread-safe.

#include <cstdint>
#include <mutex>
#include <string>

#include "agent/clock.h"

namespace tandem::agent::sync {

struct BreakerOptions {
  int failureThreshold = 5;
  int64_t cooldownMs = 30'000;
};

enum class BreakerState { kClosed, kOpen, kHalfOpen };

const char* toString(BreakerState state);

class CircuitBreaker {
 public:
  CircuitBreaker(std::string system, BreakerOptions options, const Clock& clock)
      : system_(std::move(system)), options_(options), clock_(clock) {}

  // True when a request may go out now. In half-open, true once (the probe) until its outcome
  // is recorded.
  bool allowRequest();
  void recordSuccess();
  void recordFailure();

  BreakerState state() const;
  // Milliseconds until an open breaker lets a probe through (0 when not open).
  int64_t msUntilProbe() const;
  // "breaker crm: open after 5 consecutive failures, probe in 1200 ms"
  std::string describe() const;

 private:
  const std::string system_;
  const BreakerOptions options_;
  const Clock& clock_;
  mutable std::mutex mu_;
  BreakerState state_ = BreakerState::kClosed;
  int consecutiveFailures_ = 0;
  int64_t openedAtMs_ = 0;
  bool probeInFlight_ = false;
};

}  // namespace tandem::agent::sync

#include "agent/sync/circuit_breaker.h"

#include <algorithm>

namespace tandem::agent::sync {

const char* toString(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed:
      return "closed";
    case BreakerState::kOpen:
      return "open";
    case BreakerState::kHalfOpen:
      return "half-open";
  }
  return "?";
}

bool CircuitBreaker::allowRequest() {
  std::lock_guard lock(mu_);
  switch (state_) {
    case BreakerState::kClosed:
      return true;
    case BreakerState::kOpen:
      if (clock_.monotonicMs() - openedAtMs_ < options_.cooldownMs) {
        return false;
      }
      state_ = BreakerState::kHalfOpen;
      probeInFlight_ = true;
      return true;
    case BreakerState::kHalfOpen:
      if (probeInFlight_) {
        return false;
      }
      probeInFlight_ = true;
      return true;
  }
  return false;
}

void CircuitBreaker::recordSuccess() {
  std::lock_guard lock(mu_);
  state_ = BreakerState::kClosed;
  consecutiveFailures_ = 0;
  probeInFlight_ = false;
}

void CircuitBreaker::recordFailure() {
  std::lock_guard lock(mu_);
  ++consecutiveFailures_;
  probeInFlight_ = false;
  if (state_ == BreakerState::kHalfOpen ||
      (state_ == BreakerState::kClosed && consecutiveFailures_ >= options_.failureThreshold)) {
    state_ = BreakerState::kOpen;
    openedAtMs_ = clock_.monotonicMs();
  }
}

BreakerState CircuitBreaker::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

int64_t CircuitBreaker::msUntilProbe() const {
  std::lock_guard lock(mu_);
  if (state_ != BreakerState::kOpen) {
    return 0;
  }
  return std::max<int64_t>(0, openedAtMs_ + options_.cooldownMs - clock_.monotonicMs());
}

std::string CircuitBreaker::describe() const {
  const BreakerState s = state();
  std::string out = "breaker " + system_ + ": " + toString(s);
  if (s == BreakerState::kOpen) {
    std::lock_guard lock(mu_);
    out += " after " + std::to_string(consecutiveFailures_) + " consecutive failures, probe in " +
           std::to_string(
               std::max<int64_t>(0, openedAtMs_ + options_.cooldownMs - clock_.monotonicMs())) +
           " ms";
  }
  return out;
}

}  // namespace tandem::agent::sync

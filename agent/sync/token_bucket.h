#pragma once

// A token bucket: `ratePerSecond` tokens per second, holding at most `burst`. Pure; time comes
// from the Clock's monotonic reading. Not thread-safe on its own (RateLimiter locks it).

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "agent/clock.h"

namespace tandem::agent::sync {

class TokenBucket {
 public:
  TokenBucket(double ratePerSecond, double burst, const Clock& clock)
      : rate_(ratePerSecond),
        burst_(std::max(burst, 1.0)),
        clock_(clock),
        tokens_(burst_),
        lastMs_(clock.monotonicMs()) {}

  // Takes a token and returns 0, or takes nothing and returns how many ms until one is there.
  int64_t tryTake() {
    refill();
    if (tokens_ >= 1.0) {
      tokens_ -= 1.0;
      return 0;
    }
    if (rate_ <= 0) {
      return INT64_MAX;
    }
    return std::max<int64_t>(1, static_cast<int64_t>(std::ceil((1.0 - tokens_) * 1000.0 / rate_)));
  }

  double tokens() {
    refill();
    return tokens_;
  }

 private:
  void refill() {
    const int64_t now = clock_.monotonicMs();
    if (now > lastMs_) {
      tokens_ = std::min(burst_, tokens_ + static_cast<double>(now - lastMs_) * rate_ / 1000.0);
      lastMs_ = now;
    }
  }

  const double rate_;
  const double burst_;
  const Clock& clock_;
  double tokens_;
  int64_t lastMs_;
};

}  // namespace tandem::agent::sync

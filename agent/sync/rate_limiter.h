#pragma once

// Per-system request pacing for coroutines: a token bucket (requests per second, burst) plus a
// cap on concurrent requests. `co_await limiter.acquire()` waits on a timer for a token and a
// free slot; the returned Permit frees the slot when it goes out of scope.

#include <cstdint>
#include <mutex>

#include <boost/asio/awaitable.hpp>

#include "agent/clock.h"
#include "agent/sync/token_bucket.h"

namespace tandem::agent::sync {

struct RateLimitOptions {
  double requestsPerSecond = 10;
  double burst = 10;
  int maxConcurrency = 4;
};

class RateLimiter;

class Permit {
 public:
  Permit() = default;
  explicit Permit(RateLimiter* owner) : owner_(owner) {}
  Permit(Permit&& other) noexcept : owner_(other.owner_) { other.owner_ = nullptr; }
  Permit& operator=(Permit&& other) noexcept;
  Permit(const Permit&) = delete;
  Permit& operator=(const Permit&) = delete;
  ~Permit() { release(); }
  void release();
  bool valid() const { return owner_ != nullptr; }

 private:
  RateLimiter* owner_ = nullptr;
};

class RateLimiter {
 public:
  RateLimiter(RateLimitOptions options, const Clock& clock)
      : options_(options), bucket_(options.requestsPerSecond, options.burst, clock) {}

  // Non-blocking: a permit, or an invalid one plus the ms to wait before trying again.
  Permit tryAcquire(int64_t* waitMs);
  // Waits (on a timer of the calling coroutine's executor) until a permit is available.
  boost::asio::awaitable<Permit> acquire();

  int inFlight() const;

 private:
  friend class Permit;
  void release();

  const RateLimitOptions options_;
  mutable std::mutex mu_;
  TokenBucket bucket_;
  int inFlight_ = 0;
};

}  // namespace tandem::agent::sync

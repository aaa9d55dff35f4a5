#pragma once

// Per-system request pacing for coroutines: a token bucket (requests per second, burst) plus a
// cap on concurrent requests. `co_await limiter.acquire(priority)` queues the caller and waits
// on a timer for its turn, a token and a free slot; the returned Permit frees the slot when it
// goes out of scope.
//
// Waiters are served in order: writes before reads, first come first served within each. A
// write finishes work the agent has already taken in (a reconciled record on its way out), so
// under a tight limit it must not starve behind an endless stream of feed pages and webhook
// read-backs; and without an order, whichever waiter's timer fired first took each freed token.
// Nor may reads starve behind a backlog of pushes: after three writes in a row a waiting read
// goes next, so a system's feed is still read while its outbox drains.
// A released slot or a waiter leaving wakes the new head at once (its timer is cancelled), so a
// slot never sits idle while someone waits for it. Safe from any thread and any executor.

#include <cstdint>
#include <deque>
#include <memory>
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

// Who goes first when requests queue for the limiter.
enum class RequestPriority { kRead = 0, kWrite = 1 };

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
  RateLimiter(RateLimitOptions options, const Clock& clock);
  ~RateLimiter();

  // Non-blocking: a permit, or an invalid one plus the ms to wait before trying again. Never
  // jumps the queue: while anyone waits in acquire(), it gives nothing.
  Permit tryAcquire(int64_t* waitMs);
  // Waits for the caller's turn, then for a token and a free slot. An invalid permit means the
  // wait was cancelled.
  boost::asio::awaitable<Permit> acquire(RequestPriority priority = RequestPriority::kRead);

  int inFlight() const;
  // How many acquire() calls are waiting.
  int waiting() const;

  struct Waiter;
  struct Shared;

 private:
  friend class Permit;
  void release();

  // Shared with waiting coroutines, so a coroutine frame destroyed after the limiter (at
  // shutdown) can still leave the queue safely.
  std::shared_ptr<Shared> shared_;
};

}  // namespace tandem::agent::sync

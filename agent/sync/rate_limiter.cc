#include "agent/sync/rate_limiter.h"

#include <algorithm>
#include <chrono>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace tandem::agent::sync {
namespace {

// While every slot is busy, a waiter looks again this often (slots free up on other strands,
// which a plain timer cannot be safely woken from).
constexpr int64_t kSlotPollMs = 5;

}  // namespace

Permit& Permit::operator=(Permit&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = other.owner_;
    other.owner_ = nullptr;
  }
  return *this;
}

void Permit::release() {
  if (owner_ != nullptr) {
    owner_->release();
    owner_ = nullptr;
  }
}

Permit RateLimiter::tryAcquire(int64_t* waitMs) {
  std::lock_guard lock(mu_);
  if (inFlight_ >= options_.maxConcurrency) {
    *waitMs = kSlotPollMs;
    return Permit();
  }
  const int64_t wait = bucket_.tryTake();
  if (wait > 0) {
    *waitMs = wait;
    return Permit();
  }
  ++inFlight_;
  *waitMs = 0;
  return Permit(this);
}

boost::asio::awaitable<Permit> RateLimiter::acquire() {
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
  for (;;) {
    int64_t waitMs = 0;
    Permit permit = tryAcquire(&waitMs);
    if (permit.valid()) {
      co_return permit;
    }
    timer.expires_after(std::chrono::milliseconds(std::min<int64_t>(waitMs, 60'000)));
    auto [ec] = co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    if (ec) {
      co_return Permit();  // cancelled: an invalid permit, the caller gives up
    }
  }
}

int RateLimiter::inFlight() const {
  std::lock_guard lock(mu_);
  return inFlight_;
}

void RateLimiter::release() {
  std::lock_guard lock(mu_);
  --inFlight_;
}

}  // namespace tandem::agent::sync

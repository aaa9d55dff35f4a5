#include "agent/sync/rate_limiter.h"

#include <algorithm>
#include <chrono>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace tandem::agent::sync {
namespace asio = boost::asio;

namespace {

// What tryAcquire() tells a caller to wait while every slot is busy or others are queued.
constexpr int64_t kSlotPollMs = 5;
// A queued waiter that is not at the head, or a head waiting for a slot, is woken when its turn
// comes; this is only the backstop against a wake-up that never arrives.
constexpr int64_t kBackstopMs = 1000;
// Slot busy (takeLocked's answer).
constexpr int64_t kNoSlot = -1;
// Writes go first, but after this many in a row a waiting read goes: a backlog of pushes that
// keeps the queue full of writes must not stop the system's feed from being read.
constexpr int kWritesPerRead = 3;

}  // namespace

struct RateLimiter::Waiter {
  Waiter(const asio::any_io_executor& executor, RequestPriority p) : timer(executor), priority(p) {}
  // Armed and cancelled only under Shared::mu, so a wake-up from any thread is safe whatever
  // executor the waiting coroutine runs on.
  asio::steady_timer timer;
  const RequestPriority priority;
  bool woken = false;  // under Shared::mu: look again, something changed since the last look
};

struct RateLimiter::Shared {
  Shared(RateLimitOptions o, const Clock& clock)
      : options(o), bucket(o.requestsPerSecond, o.burst, clock) {}

  // 0: a token and a slot are taken. Otherwise kNoSlot, or the ms until the next token.
  int64_t takeLocked() {
    if (inFlight >= options.maxConcurrency) {
      return kNoSlot;
    }
    const int64_t wait = bucket.tryTake();
    if (wait > 0) {
      return wait;
    }
    ++inFlight;
    return 0;
  }

  // Whose turn it is: the first write, unless kWritesPerRead writes went in a row and a read
  // waits; then the first read. Null when nobody waits.
  Waiter* headLocked() const {
    if (queue.empty()) {
      return nullptr;
    }
    if (writes_in_a_row >= kWritesPerRead) {
      for (const auto& w : queue) {
        if (w->priority == RequestPriority::kRead) {
          return w.get();
        }
      }
    }
    return queue.front().get();
  }

  // A waiter was given its permit.
  void grantedLocked(const Waiter& waiter) {
    writes_in_a_row = waiter.priority == RequestPriority::kWrite ? writes_in_a_row + 1 : 0;
  }

  // Tells whoever's turn it is to look again.
  void wakeHeadLocked() {
    Waiter* head = headLocked();
    if (head == nullptr || head->woken) {
      return;
    }
    head->woken = true;
    head->timer.cancel();
  }

  void removeLocked(const Waiter* waiter) {
    auto it = std::find_if(queue.begin(), queue.end(),
                           [&](const std::shared_ptr<Waiter>& w) { return w.get() == waiter; });
    if (it == queue.end()) {
      return;
    }
    queue.erase(it);
    wakeHeadLocked();  // the turn may have passed to another (a no-op when it is woken already)
  }

  const RateLimitOptions options;
  std::mutex mu;
  TokenBucket bucket;
  int inFlight = 0;
  // Writes first, then reads; arrival order within each.
  std::deque<std::shared_ptr<Waiter>> queue;
  int writes_in_a_row = 0;  // permits given to queued writes since the last queued read's
};

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

RateLimiter::RateLimiter(RateLimitOptions options, const Clock& clock)
    : shared_(std::make_shared<Shared>(options, clock)) {}

RateLimiter::~RateLimiter() = default;

Permit RateLimiter::tryAcquire(int64_t* waitMs) {
  std::lock_guard lock(shared_->mu);
  const int64_t wait = shared_->queue.empty() ? shared_->takeLocked() : kNoSlot;
  if (wait != 0) {
    *waitMs = wait == kNoSlot ? kSlotPollMs : wait;
    return Permit();
  }
  *waitMs = 0;
  return Permit(this);
}

asio::awaitable<Permit> RateLimiter::acquire(RequestPriority priority) {
  const std::shared_ptr<Shared> shared = shared_;
  std::shared_ptr<Waiter> me;
  {
    std::lock_guard lock(shared->mu);
    if (shared->queue.empty() && shared->takeLocked() == 0) {
      co_return Permit(this);
    }
  }
  me = std::make_shared<Waiter>(co_await asio::this_coro::executor, priority);
  {
    std::lock_guard lock(shared->mu);
    auto after =
        std::find_if(shared->queue.begin(), shared->queue.end(),
                     [&](const std::shared_ptr<Waiter>& w) { return w->priority < priority; });
    shared->queue.insert(after, me);
  }
  // Leaves the queue however the wait ends (permit, cancellation, or the frame destroyed at
  // shutdown), waking whoever is at the head next.
  struct Leave {
    std::shared_ptr<Shared> shared;
    const Waiter* waiter;
    ~Leave() {
      std::lock_guard lock(shared->mu);
      shared->removeLocked(waiter);
    }
  } leave{shared, me.get()};

  for (;;) {
    int64_t waitMs = kBackstopMs;
    {
      std::lock_guard lock(shared->mu);
      me->woken = false;
      if (shared->headLocked() == me.get()) {
        const int64_t wait = shared->takeLocked();
        if (wait == 0) {
          shared->grantedLocked(*me);
          co_return Permit(this);
        }
        if (wait != kNoSlot) {
          waitMs = std::min(wait, kBackstopMs);
        }
      }
    }
    // Armed under the lock, so a wake-up between the look above and this wait is not lost: it
    // either finds the timer armed and cancels it, or leaves `woken` for this to see.
    auto token = asio::as_tuple(asio::use_awaitable);
    auto [ec] = co_await asio::async_initiate<decltype(token), void(boost::system::error_code)>(
        [&](auto handler) {
          std::lock_guard lock(shared->mu);
          if (me->woken) {
            me->timer.expires_at(asio::steady_timer::time_point::min());
          } else {
            me->timer.expires_after(std::chrono::milliseconds(waitMs));
          }
          me->timer.async_wait(std::move(handler));
        },
        token);
    if (ec) {
      const auto state = co_await asio::this_coro::cancellation_state;
      if (state.cancelled() != asio::cancellation_type::none) {
        co_return Permit();  // cancelled: an invalid permit, the caller gives up
      }
      // Otherwise our own wake-up: our turn, or a slot, may have come.
    }
  }
}

int RateLimiter::inFlight() const {
  std::lock_guard lock(shared_->mu);
  return shared_->inFlight;
}

int RateLimiter::waiting() const {
  std::lock_guard lock(shared_->mu);
  return static_cast<int>(shared_->queue.size());
}

void RateLimiter::release() {
  std::lock_guard lock(shared_->mu);
  --shared_->inFlight;
  shared_->wakeHeadLocked();
}

}  // namespace tandem::agent::sync

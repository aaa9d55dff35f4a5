// Signals delivered in-process: asio's signal_set turns them into completions on the
// io_context, so raise() here is exactly what a `kill -TERM` would do.

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include "agent/daemon/lifecycle.h"
#include "agent/net/http_client.h"
#include "agent/net/http_server.h"
#include "agent/sync/rate_limiter.h"
#include "tests/agent/io_runner.h"

namespace tandem::agent {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::IoRunner;
using testing::waitFor;

TEST(Lifecycle, SighupCallsReload) {
  IoRunner io;
  std::atomic<int> reloads{0};
  daemon::Lifecycle lifecycle(io.ioc(), {.onReload = [&] { reloads.fetch_add(1); },
                                         .stopIntake = nullptr,
                                         .drain = nullptr,
                                         .onExit = nullptr});
  ASSERT_TRUE(lifecycle.start().has_value());
  ASSERT_EQ(std::raise(SIGHUP), 0);
  EXPECT_TRUE(waitFor([&] { return reloads.load() == 1; }));
  ASSERT_EQ(std::raise(SIGHUP), 0);
  EXPECT_TRUE(waitFor([&] { return reloads.load() == 2; }));
  EXPECT_TRUE(lifecycle.ready());
  EXPECT_FALSE(lifecycle.stopping());
}

// SIGTERM with a real server: /readyz flips to 503 while a slow request still completes, then
// the drain finishes and the exit code is 0.
TEST(Lifecycle, SigtermDrainsThenExitsZero) {
  IoRunner io;
  std::atomic<int> entered{0};
  std::promise<int> exitCode;
  std::atomic<bool> intakeStopped{false};
  std::unique_ptr<daemon::Lifecycle> lifecycle;

  net::Router router;
  router.add("GET", "/readyz", [&](net::HttpRequest) -> asio::awaitable<net::HttpResponse> {
    net::HttpResponse r;
    r.status = lifecycle->ready() ? 200 : 503;
    r.body = lifecycle->ready() ? "ready" : "draining";
    co_return r;
  });
  router.add("GET", "/slow", [&](net::HttpRequest) -> asio::awaitable<net::HttpResponse> {
    entered.fetch_add(1);
    asio::steady_timer timer(co_await asio::this_coro::executor, 300ms);
    co_await timer.async_wait(asio::use_awaitable);
    net::HttpResponse r;
    r.body = "finished";
    co_return r;
  });
  net::HttpServer server(io.ioc(), {}, std::move(router));
  ASSERT_TRUE(server.start().has_value());
  lifecycle = std::make_unique<daemon::Lifecycle>(
      io.ioc(), daemon::LifecycleHooks{
                    .onReload = nullptr,
                    .stopIntake = [&] { intakeStopped = true; },
                    .drain = [&](std::function<void()> done) { server.drain(5s, std::move(done)); },
                    .onExit = [&](int code) { exitCode.set_value(code); }});
  ASSERT_TRUE(lifecycle->start().has_value());

  net::HttpClientOptions options;
  options.useSystemCaStore = false;
  auto client = std::move(*net::makeHttpClient(io.ioc(), options));
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  net::HttpRequest ready;
  ready.target = base + "/readyz";
  auto before = io.run(client->send(ready));
  ASSERT_TRUE(before && before->has_value());
  EXPECT_EQ((*before)->status, 200);

  net::HttpRequest slow;
  slow.target = base + "/slow";
  auto inflight = io.spawn(client->send(slow));
  ASSERT_TRUE(waitFor([&] { return entered.load() == 1; }));
  ASSERT_EQ(std::raise(SIGTERM), 0);
  ASSERT_TRUE(waitFor([&] { return lifecycle->stopping(); }));
  EXPECT_FALSE(lifecycle->ready());
  EXPECT_TRUE(intakeStopped.load());

  ASSERT_EQ(inflight.wait_for(5s), std::future_status::ready);
  auto done = inflight.get();
  ASSERT_TRUE(done.has_value()) << done.error().message;
  EXPECT_EQ(done->body, "finished");
  auto code = exitCode.get_future();
  ASSERT_EQ(code.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(code.get(), 0);
}

TEST(Lifecycle, SecondSigtermStopsWaitingForTheDrain) {
  IoRunner io;
  std::promise<int> exitCode;
  std::function<void()> pendingDone;  // the drain never finishes by itself
  daemon::Lifecycle lifecycle(
      io.ioc(), {.onReload = nullptr,
                 .stopIntake = nullptr,
                 .drain = [&](std::function<void()> done) { pendingDone = std::move(done); },
                 .onExit = [&](int code) { exitCode.set_value(code); }});
  ASSERT_TRUE(lifecycle.start().has_value());
  lifecycle.requestShutdown();
  ASSERT_TRUE(waitFor([&] { return lifecycle.stopping(); }));
  ASSERT_EQ(std::raise(SIGINT), 0);
  auto code = exitCode.get_future();
  ASSERT_EQ(code.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(code.get(), 1);
}

// The async side of the limiter: a token is awaited on a timer, not spun for. Real time with
// only lower bounds asserted (the pure bucket arithmetic is tested under simulated time).
TEST(RateLimiter, AcquireWaitsForTokensAndCapsConcurrency) {
  IoRunner io;
  SystemClock clock;
  sync::RateLimiter limiter({.requestsPerSecond = 20, .burst = 1, .maxConcurrency = 2}, clock);
  const auto start = std::chrono::steady_clock::now();
  auto took = io.run([&]() -> asio::awaitable<int> {
    int granted = 0;
    for (int i = 0; i < 3; ++i) {
      sync::Permit p = co_await limiter.acquire();
      granted += p.valid() ? 1 : 0;
    }
    co_return granted;
  }());
  ASSERT_TRUE(took.has_value());
  EXPECT_EQ(*took, 3);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 95ms);  // 2 tokens at 50 ms each

  int64_t wait = 0;
  SimulatedClock sim;
  sync::RateLimiter capped({.requestsPerSecond = 1000, .burst = 10, .maxConcurrency = 2}, sim);
  sync::Permit a = capped.tryAcquire(&wait);
  sync::Permit b = capped.tryAcquire(&wait);
  ASSERT_TRUE(a.valid() && b.valid());
  sync::Permit c = capped.tryAcquire(&wait);
  EXPECT_FALSE(c.valid());
  EXPECT_EQ(capped.inFlight(), 2);
  a.release();
  c = capped.tryAcquire(&wait);
  EXPECT_TRUE(c.valid());
  EXPECT_EQ(capped.inFlight(), 2);
}

// A limiter with plenty of tokens and one slot, which `held` takes: whoever acquires now queues.
struct OneSlotHeld {
  SystemClock clock;
  sync::RateLimiter limiter{{.requestsPerSecond = 100000, .burst = 1000, .maxConcurrency = 1},
                            clock};
  int64_t wait = 0;
  sync::Permit held = limiter.tryAcquire(&wait);
};

// Takes a permit and notes `name` in the order the permits were given.
struct GrantOrder {
  std::mutex mu;
  std::vector<std::string> names;
  asio::awaitable<bool> take(sync::RateLimiter& limiter, std::string name,
                             sync::RequestPriority priority) {
    sync::Permit permit = co_await limiter.acquire(priority);
    {
      std::lock_guard lock(mu);
      names.push_back(name);
    }
    co_return permit.valid();
  }
};

// Under a tight limit, whichever waiter's timer fired first used to take each freed slot, so a
// push could starve behind a stream of reads. Now queued writes go first, then reads, each kind
// in arrival order, and a freed slot is handed on at once (woken, not polled for). Two threads
// on a plain executor: the hand-over must be safe without a strand.
TEST(RateLimiter, QueuedWritesGoBeforeReadsAndEachKindInArrivalOrder) {
  IoRunner io;
  OneSlotHeld full;
  ASSERT_TRUE(full.held.valid());
  sync::RateLimiter& limiter = full.limiter;
  int64_t wait = 0;

  GrantOrder order;
  auto take = [&](std::string name, sync::RequestPriority priority) {
    return order.take(limiter, std::move(name), priority);
  };
  const std::pair<const char*, sync::RequestPriority> arrivals[] = {
      {"read1", sync::RequestPriority::kRead},
      {"write1", sync::RequestPriority::kWrite},
      {"read2", sync::RequestPriority::kRead},
      {"write2", sync::RequestPriority::kWrite}};
  std::vector<std::future<bool>> done;
  for (const auto& [name, priority] : arrivals) {
    done.push_back(io.spawn(take(name, priority)));
    const int queued = static_cast<int>(done.size());
    ASSERT_TRUE(waitFor([&] { return limiter.waiting() == queued; }));
  }
  EXPECT_FALSE(limiter.tryAcquire(&wait).valid());  // never past the queue

  const auto released = std::chrono::steady_clock::now();
  full.held.release();
  for (auto& f : done) {
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
    EXPECT_TRUE(f.get());
  }
  EXPECT_LT(std::chrono::steady_clock::now() - released, 500ms);  // not the 1 s backstop
  EXPECT_EQ(order.names, (std::vector<std::string>{"write1", "write2", "read1", "read2"}));
  EXPECT_EQ(limiter.inFlight(), 0);
  EXPECT_EQ(limiter.waiting(), 0);
}

// Writes first, but not forever: a backlog of pushes keeping the queue full of writes must not
// stop the system's feed from being read. After three writes in a row a waiting read goes.
TEST(RateLimiter, AReadStillGoesAfterThreeWritesInARow) {
  IoRunner io;
  OneSlotHeld full;
  ASSERT_TRUE(full.held.valid());
  sync::RateLimiter& limiter = full.limiter;

  GrantOrder order;
  auto take = [&](std::string name, sync::RequestPriority priority) {
    return order.take(limiter, std::move(name), priority);
  };
  std::vector<std::future<bool>> done;
  done.push_back(io.spawn(take("read", sync::RequestPriority::kRead)));
  ASSERT_TRUE(waitFor([&] { return limiter.waiting() == 1; }));
  for (int i = 1; i <= 5; ++i) {
    done.push_back(io.spawn(take("write" + std::to_string(i), sync::RequestPriority::kWrite)));
    const int queued = i + 1;
    ASSERT_TRUE(waitFor([&] { return limiter.waiting() == queued; }));
  }
  full.held.release();
  for (auto& f : done) {
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
    EXPECT_TRUE(f.get());
  }
  EXPECT_EQ(order.names,
            (std::vector<std::string>{"write1", "write2", "write3", "read", "write4", "write5"}));
}

// A waiter cancelled while queued (its operation timed out, the agent is stopping) gives up with
// an invalid permit and leaves the queue, and the one behind it is served.
TEST(RateLimiter, ACancelledWaiterLeavesTheQueueAndTheNextIsServed) {
  IoRunner io(1);
  OneSlotHeld full;
  ASSERT_TRUE(full.held.valid());
  sync::RateLimiter& limiter = full.limiter;

  asio::cancellation_signal cancel;
  auto valid = [&]() -> asio::awaitable<bool> {
    sync::Permit permit = co_await limiter.acquire();
    co_return permit.valid();
  };
  auto first = asio::co_spawn(io.ioc(), valid(),
                              asio::bind_cancellation_slot(cancel.slot(), asio::use_future));
  ASSERT_TRUE(waitFor([&] { return limiter.waiting() == 1; }));
  auto second = io.spawn(valid());
  ASSERT_TRUE(waitFor([&] { return limiter.waiting() == 2; }));

  asio::post(io.ioc(), [&] { cancel.emit(asio::cancellation_type::terminal); });
  ASSERT_EQ(first.wait_for(5s), std::future_status::ready);
  EXPECT_FALSE(first.get());
  EXPECT_TRUE(waitFor([&] { return limiter.waiting() == 1; }));

  full.held.release();
  ASSERT_EQ(second.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(second.get());
  EXPECT_EQ(limiter.waiting(), 0);
  EXPECT_EQ(limiter.inFlight(), 0);
}

}  // namespace
}  // namespace tandem::agent

#pragma once

// Test helper: an io_context running on its own threads, and a way to run a coroutine on it and
// wait for its result with a bounded deadline (no sleeps waiting for luck).

#include <chrono>
#include <future>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

namespace tandem::agent::testing {

class IoRunner {
 public:
  explicit IoRunner(int threads = 2) : guard_(ioc_.get_executor()) {
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this] { ioc_.run(); });
    }
  }
  ~IoRunner() { stop(); }

  void stop() {
    guard_.reset();
    ioc_.stop();
    for (auto& t : threads_) {
      if (t.joinable()) {
        t.join();
      }
    }
  }

  boost::asio::io_context& ioc() { return ioc_; }

  // Starts a coroutine now; get() on the future waits for it.
  template <class T>
  std::future<T> spawn(boost::asio::awaitable<T> coro) {
    return boost::asio::co_spawn(ioc_, std::move(coro), boost::asio::use_future);
  }

  template <class T>
  std::optional<T> run(boost::asio::awaitable<T> coro,
                       std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    auto future = spawn(std::move(coro));
    if (future.wait_for(deadline) != std::future_status::ready) {
      return std::nullopt;
    }
    return future.get();
  }

 private:
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::vector<std::thread> threads_;
};

// Waits until pred() holds, checking every millisecond, for at most `deadline`.
template <class Pred>
bool waitFor(Pred pred, std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return pred();
}

}  // namespace tandem::agent::testing

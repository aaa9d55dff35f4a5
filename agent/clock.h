#pragma once

// The time seam (STYLE.md items 1 and 13, after Envoy's TimeSource / SimulatedTimeSystem):
// everything in the agent that depends on time takes a Clock, and tests advance a simulated one
// instead of sleeping.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace tandem::agent {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, milliseconds since the Unix epoch (for timestamps that leave the process:
  // webhook signatures, Retry-After dates, actor clocks).
  virtual int64_t nowMs() const = 0;
  // Monotonic time in milliseconds from an arbitrary origin (for durations: cooldowns, buckets).
  virtual int64_t monotonicMs() const = 0;
};

using ClockPtr = std::unique_ptr<Clock>;

class SystemClock final : public Clock {
 public:
  int64_t nowMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  int64_t monotonicMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

// A clock that moves only when told to. Both readings advance together. Thread-safe reads.
class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(int64_t startMs = 1'700'000'000'000) : nowMs_(startMs) {}
  int64_t nowMs() const override { return nowMs_.load(); }
  int64_t monotonicMs() const override { return nowMs_.load(); }
  void advanceMs(int64_t deltaMs) { nowMs_.fetch_add(deltaMs); }
  void setMs(int64_t ms) { nowMs_.store(ms); }

 private:
  std::atomic<int64_t> nowMs_;
};

}  // namespace tandem::agent

// Initial-load progress lines (see progress.h).

#include "agent/runtime/progress.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>

namespace tandem::agent::runtime {

namespace {

std::mutex& streamMutex() {
  static std::mutex mu;  // several detectors may share one terminal
  return mu;
}

std::string oneDecimal(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

}  // namespace

Progress::Progress(std::ostream* out, bool tty, Logger& log, const Clock& clock, std::string label)
    : out_(out),
      tty_(tty),
      log_(log),
      clock_(clock),
      label_(std::move(label)),
      start_ms_(clock.monotonicMs()) {}

std::string Progress::describe(uint64_t records, std::optional<uint64_t> total,
                               int64_t elapsed_ms) {
  const double seconds = static_cast<double>(std::max<int64_t>(elapsed_ms, 1)) / 1000.0;
  const double rate = static_cast<double>(records) / seconds;
  std::string s = std::to_string(records) + " records, " + oneDecimal(rate) + " records/s";
  if (total && *total > 0) {
    const uint64_t done = std::min(records, *total);
    s += ", " + std::to_string(done * 100 / *total) + "% of " + std::to_string(*total);
    if (rate > 0) {
      const auto eta = static_cast<int64_t>(std::ceil(static_cast<double>(*total - done) / rate));
      s += ", ETA " + std::to_string(eta) + " s";
    }
  }
  return s;
}

void Progress::update(uint64_t records, std::optional<uint64_t> total) {
  const int64_t now = clock_.monotonicMs();
  const std::string text = describe(records, total, now - start_ms_);
  if (tty_ || last_line_ms_ < 0 || now - last_line_ms_ >= 1000) {
    last_line_ms_ = now;
    write("initial load " + label_ + ": " + text, false);
  }
  if (last_log_ms_ < 0 || now - last_log_ms_ >= 5000) {
    last_log_ms_ = now;
    log_.info("initial load", {{"detector", label_}, {"records", records}, {"progress", text}});
  }
}

void Progress::finish(uint64_t records) {
  const int64_t elapsed = clock_.monotonicMs() - start_ms_;
  const std::string text = describe(records, std::nullopt, elapsed);
  write("initial load " + label_ + ": done, " + text, true);
  log_.info("initial load done",
            {{"detector", label_}, {"records", records}, {"elapsed_ms", elapsed}});
}

void Progress::write(const std::string& line, bool final) {
  if (out_ == nullptr) {
    return;
  }
  std::lock_guard lock(streamMutex());
  if (tty_) {
    // Redraw in place; clear what a longer previous line left behind.
    *out_ << '\r' << line << "\x1b[K";
    if (final) {
      *out_ << '\n';
    }
    drawn_ = !final;
  } else {
    *out_ << line << '\n';
  }
  out_->flush();
}

}  // namespace tandem::agent::runtime

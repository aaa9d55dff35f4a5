#pragma once

// Initial-load progress of one detector: records read, records/s and, when the feed says how
// many there are, an ETA. On a TTY one line redrawn in place (\r); otherwise plain lines, at most
// one a second. Also log lines, at most one every five seconds, and one at the end.

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "agent/clock.h"
#include "agent/log.h"

namespace tandem::agent::runtime {

class Progress {
 public:
  Progress(std::ostream* out, bool tty, Logger& log, const Clock& clock, std::string label);

  // After each batch: the records read so far and, when known, how many there are in all.
  void update(uint64_t records, std::optional<uint64_t> total = std::nullopt);
  // The feed was read to its end.
  void finish(uint64_t records);

  // "1200 records, 350.0 records/s, 40% of 3000, ETA 5 s" (pure, for tests).
  static std::string describe(uint64_t records, std::optional<uint64_t> total, int64_t elapsed_ms);

 private:
  void write(const std::string& line, bool final);

  std::ostream* out_;
  bool tty_;
  Logger& log_;
  const Clock& clock_;
  std::string label_;
  int64_t start_ms_;
  int64_t last_line_ms_ = -1;
  int64_t last_log_ms_ = -1;
  bool drawn_ = false;
};

}  // namespace tandem::agent::runtime

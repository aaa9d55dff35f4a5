#pragma once

// How a failure that repeats is logged, so that a system down for an hour is neither one line
// nobody sees again nor a line per poll or per record: the first failure of each kind (its
// text with the numbers left out) in a stretch of failures at the caller's level, repeats of a
// kind already seen at debug level, and while they go on a line again every `rewarn_ms` with
// failures= and failing_for_s=. The first success after failures ends the stretch and is
// logged once, at info, with failures= and failed_for_s=. A kind said less than `rewarn_ms`
// ago in an earlier stretch is not said again when it comes back (a nearly full disk or a
// flapping link alternates failures and successes): its line, and the success that ends a
// stretch of such lines only, are debug lines.
// Not thread-safe: one per detector or pusher, used on its strand.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/log.h"

namespace tandem::agent::runtime::detail {

class RepeatedFailures {
 public:
  // `ignore` (a record id, say) is left out of the failure's kind as its numbers are, so that
  // the same failure of different records is one kind.
  void failed(Logger& log, LogLevel first, std::string_view what, std::vector<LogField> fields,
              std::string_view error, int64_t now_ms, int64_t rewarn_ms,
              std::string_view ignore = {});
  void succeeded(Logger& log, std::string_view what, std::vector<LogField> fields, int64_t now_ms);

 private:
  struct Kind {
    std::string shape;       // the failure's text with its numbers left out
    int64_t said_ms = 0;     // unix ms of its last line above debug level
    bool in_stretch = true;  // seen in the stretch under way
  };
  std::vector<Kind> kinds_;       // the last kMaxKinds kinds seen, in this stretch or before
  uint64_t failures_ = 0;         // in a row, since since_ms_
  int64_t since_ms_ = 0;          // unix ms of the first of them
  int64_t last_said_ms_ = 0;      // unix ms of the last line above debug level about them
  bool said_in_stretch_ = false;  // a line of this stretch was above debug level
};

}  // namespace tandem::agent::runtime::detail

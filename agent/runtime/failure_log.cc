#include "agent/runtime/failure_log.h"

#include <algorithm>

namespace tandem::agent::runtime::detail {

namespace {

// The text with its numbers left out: "breaker fin: open ..., probe in 29800 ms" repeats as the
// same failure while the countdown runs.
std::string shapeOf(std::string_view what, std::string_view error, std::string_view ignore) {
  std::string out;
  out.reserve(what.size() + error.size());
  for (std::string_view part : {what, error}) {
    for (size_t i = 0; i < part.size(); ++i) {
      if (!ignore.empty() && part.substr(i, ignore.size()) == ignore) {
        i += ignore.size() - 1;
      } else if (part[i] < '0' || part[i] > '9') {
        out += part[i];
      }
    }
    out += '\n';
  }
  return out;
}

// Kinds of failure remembered in one stretch; an older one seen again counts as new.
constexpr size_t kMaxKinds = 16;

int64_t seconds(int64_t ms) {
  return ms / 1000;
}

}  // namespace

void RepeatedFailures::failed(Logger& log, LogLevel first, std::string_view what,
                              std::vector<LogField> fields, std::string_view error, int64_t now_ms,
                              int64_t rewarn_ms, std::string_view ignore) {
  std::string shape = shapeOf(what, error, ignore);
  if (failures_++ == 0) {
    since_ms_ = now_ms;
  }
  fields.emplace_back("error", error);
  LogLevel level = first;
  if (std::find(kinds_.begin(), kinds_.end(), shape) == kinds_.end()) {
    if (kinds_.size() == kMaxKinds) {
      kinds_.erase(kinds_.begin());
    }
    kinds_.push_back(std::move(shape));
    last_said_ms_ = now_ms;
  } else if (now_ms - last_said_ms_ >= rewarn_ms) {
    last_said_ms_ = now_ms;
    fields.emplace_back("failures", failures_);
    fields.emplace_back("failing_for_s", seconds(now_ms - since_ms_));
  } else {
    level = LogLevel::Debug;
  }
  log.log(level, what, fields);
}

void RepeatedFailures::succeeded(Logger& log, std::string_view what, std::vector<LogField> fields,
                                 int64_t now_ms) {
  if (failures_ == 0) {
    return;
  }
  fields.emplace_back("failures", failures_);
  fields.emplace_back("failed_for_s", seconds(now_ms - since_ms_));
  log.log(LogLevel::Info, what, fields);
  failures_ = 0;
  kinds_.clear();
}

}  // namespace tandem::agent::runtime::detail

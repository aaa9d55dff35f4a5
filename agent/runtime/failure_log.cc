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

// Kinds of failure remembered; an older one seen again counts as new.
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
    said_in_stretch_ = false;
  }
  fields.emplace_back("error", error);
  LogLevel level = first;
  auto kind = std::find_if(kinds_.begin(), kinds_.end(),
                           [&shape](const Kind& k) { return k.shape == shape; });
  if (kind == kinds_.end()) {
    if (kinds_.size() == kMaxKinds) {
      kinds_.erase(kinds_.begin());
    }
    kinds_.push_back(Kind{std::move(shape), now_ms, true});
    last_said_ms_ = now_ms;
  } else if (!kind->in_stretch && now_ms - kind->said_ms >= rewarn_ms) {
    // Seen in an earlier stretch, long enough ago: said again, as new.
    kind->said_ms = now_ms;
    kind->in_stretch = true;
    last_said_ms_ = now_ms;
  } else if (now_ms - last_said_ms_ >= rewarn_ms) {
    kind->said_ms = now_ms;
    kind->in_stretch = true;
    last_said_ms_ = now_ms;
    fields.emplace_back("failures", failures_);
    fields.emplace_back("failing_for_s", seconds(now_ms - since_ms_));
  } else {
    // A repeat, or a failure that comes back within rewarn_ms of being said in a stretch that
    // then ended (a flapping store or feed): debug level.
    kind->in_stretch = true;
    level = LogLevel::Debug;
  }
  said_in_stretch_ = said_in_stretch_ || level != LogLevel::Debug;
  log.log(level, what, fields);
}

void RepeatedFailures::succeeded(Logger& log, std::string_view what, std::vector<LogField> fields,
                                 int64_t now_ms) {
  if (failures_ == 0) {
    return;
  }
  fields.emplace_back("failures", failures_);
  fields.emplace_back("failed_for_s", seconds(now_ms - since_ms_));
  // Said at the level its failures were: a stretch whose failures were all debug lines (they came
  // back within rewarn_ms of being said) ends with a debug line too.
  log.log(said_in_stretch_ ? LogLevel::Info : LogLevel::Debug, what, fields);
  failures_ = 0;
  for (auto& kind : kinds_) {
    kind.in_stretch = false;
  }
}

}  // namespace tandem::agent::runtime::detail

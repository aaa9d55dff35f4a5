#pragma once

// Structured logs for the daemon: one line per event, as text for a person or as JSON lines for
// a log shipper (agent.log_format). Fields are key/value pairs, never free-form interpolation,
// so a line can be filtered by key:
//
//   text: 2026-11-29T10:00:00.123Z INFO  push failed system=erp record=r-1 error="503 ..."
//   json: {"ts":"2026-11-29T10:00:00.123Z","level":"info","msg":"push failed","system":"erp",...}
//
// Secrets never reach the output: every resolved secret of the configuration is registered with
// addSecret() at start, and any occurrence of one in a message or a field value is replaced by
// "***" (a system's error text may echo a token back). Thread-safe: one line is one write.

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mappers/config.h"

namespace tandem::agent {

enum class LogLevel : uint8_t { Debug, Info, Warn, Error };

std::string_view logLevelName(LogLevel level);  // "debug", "info", "warn", "error"
// The configuration's agent.log_level.
LogLevel logLevelOf(mappers::LogLevelSetting setting);

struct LogField {
  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(v) {}
  LogField(std::string_view k, int64_t v) : key(k), value(std::to_string(v)), number(true) {}
  LogField(std::string_view k, uint64_t v) : key(k), value(std::to_string(v)), number(true) {}
  LogField(std::string_view k, int v) : key(k), value(std::to_string(v)), number(true) {}
  LogField(std::string_view k, double v);

  std::string_view key;
  std::string value;
  bool number = false;  // written unquoted in JSON
};

class Logger {
 public:
  // `now_ms` gives the timestamp of each line (wall clock, ms since the epoch); tests pass a
  // fixed one.
  Logger(std::ostream& out, mappers::LogFormat format, LogLevel min_level = LogLevel::Info,
         std::function<int64_t()> now_ms = {});

  void log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});
  void log(LogLevel level, std::string_view msg, const std::vector<LogField>& fields);
  void debug(std::string_view msg, std::initializer_list<LogField> fields = {}) {
    log(LogLevel::Debug, msg, fields);
  }
  void info(std::string_view msg, std::initializer_list<LogField> fields = {}) {
    log(LogLevel::Info, msg, fields);
  }
  void warn(std::string_view msg, std::initializer_list<LogField> fields = {}) {
    log(LogLevel::Warn, msg, fields);
  }
  void error(std::string_view msg, std::initializer_list<LogField> fields = {}) {
    log(LogLevel::Error, msg, fields);
  }

  bool enabled(LogLevel level) const { return level >= min_level_.load(); }
  void setFormat(mappers::LogFormat format);
  void setMinLevel(LogLevel level);

  // Values that must never be printed (tokens, passwords, webhook secrets). Empty and very short
  // values (under 4 bytes) are ignored: masking "a" everywhere would make logs unreadable and
  // such a value is no secret.
  void addSecret(std::string value);
  // Every secret of a loaded configuration: auth secrets, webhook secrets, the admin token.
  void addSecrets(const mappers::Config& config);

  // The line as it would be written, without the trailing newline (for tests).
  std::string format(LogLevel level, std::string_view msg,
                     const std::vector<LogField>& fields) const;

 private:
  std::string redact(std::string_view text) const;

  std::ostream& out_;
  mappers::LogFormat format_;
  std::atomic<LogLevel> min_level_;
  std::function<int64_t()> now_ms_;
  std::vector<std::string> secrets_;
  mutable std::mutex mu_;
};

// A logger that writes nothing (for tests and tools that have no log).
Logger& nullLogger();

// "2026-11-29T10:00:00.123Z"
std::string formatUtcMs(int64_t ms);

}  // namespace tandem::agent

#include "agent/log.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <sstream>

#include "conflict/value.h"

namespace tandem::agent {
namespace {

int64_t systemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Text values are quoted when they hold a space, a quote, an '=' or a control character, so that
// `key=value` pairs split unambiguously.
void appendTextValue(std::string& out, std::string_view v) {
  const bool plain = !v.empty() && std::none_of(v.begin(), v.end(), [](char c) {
    return c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20;
  });
  if (plain) {
    out += v;
  } else {
    conflict::appendJsonString(out, v);
  }
}

}  // namespace

LogLevel logLevelOf(mappers::LogLevelSetting setting) {
  switch (setting) {
    case mappers::LogLevelSetting::Debug:
      return LogLevel::Debug;
    case mappers::LogLevelSetting::Info:
      return LogLevel::Info;
    case mappers::LogLevelSetting::Warn:
      return LogLevel::Warn;
    case mappers::LogLevelSetting::Error:
      return LogLevel::Error;
  }
  return LogLevel::Info;
}

std::string_view logLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::Debug:
      return "debug";
    case LogLevel::Info:
      return "info";
    case LogLevel::Warn:
      return "warn";
    case LogLevel::Error:
      return "error";
  }
  return "info";
}

LogField::LogField(std::string_view k, double v) : key(k), number(true) {
  std::ostringstream s;
  s << v;
  value = s.str();
}

std::string formatUtcMs(int64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];  // room for any int the compiler cannot rule out (-Wformat-truncation)
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

Logger::Logger(std::ostream& out, mappers::LogFormat format, LogLevel min_level,
               std::function<int64_t()> now_ms)
    : out_(out), format_(format), min_level_(min_level), now_ms_(std::move(now_ms)) {
  if (!now_ms_) {
    now_ms_ = systemNowMs;
  }
}

void Logger::setFormat(mappers::LogFormat format) {
  std::lock_guard lock(mu_);
  format_ = format;
}

void Logger::setMinLevel(LogLevel level) {
  min_level_.store(level);
}

void Logger::addSecret(std::string value) {
  if (value.size() < 4) {
    return;
  }
  std::lock_guard lock(mu_);
  if (std::find(secrets_.begin(), secrets_.end(), value) == secrets_.end()) {
    secrets_.push_back(std::move(value));
    // Longest first, so a secret that contains another is masked whole.
    std::sort(secrets_.begin(), secrets_.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  }
}

void Logger::addSecrets(const mappers::Config& config) {
  addSecret(config.agent.admin.token.reveal());
  for (const auto& system : config.systems) {
    addSecret(system.auth.secret.reveal());
    for (const auto& entity : system.entities) {
      if (entity.connector.webhook) {
        addSecret(entity.connector.webhook->secret.reveal());
      }
    }
  }
}

std::string Logger::redact(std::string_view text) const {
  std::string out(text);
  for (const auto& secret : secrets_) {
    size_t pos = 0;
    while ((pos = out.find(secret, pos)) != std::string::npos) {
      out.replace(pos, secret.size(), "***");
      pos += 3;
    }
  }
  return out;
}

std::string Logger::format(LogLevel level, std::string_view msg,
                           const std::vector<LogField>& fields) const {
  const std::string ts = formatUtcMs(now_ms_());
  std::string line;
  line.reserve(96 + msg.size());
  if (format_ == mappers::LogFormat::Json) {
    line += "{\"ts\":\"" + ts + "\",\"level\":\"";
    line += logLevelName(level);
    line += "\",\"msg\":";
    conflict::appendJsonString(line, redact(msg));
    for (const auto& f : fields) {
      line += ',';
      conflict::appendJsonString(line, f.key);
      line += ':';
      if (f.number) {
        line += f.value;
      } else {
        conflict::appendJsonString(line, redact(f.value));
      }
    }
    line += '}';
  } else {
    line += ts;
    line += ' ';
    std::string name(logLevelName(level));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](char c) { return static_cast<char>(c - 'a' + 'A'); });
    name.resize(5, ' ');
    line += name;
    line += ' ';
    line += redact(msg);
    for (const auto& f : fields) {
      line += ' ';
      line += f.key;
      line += '=';
      appendTextValue(line, redact(f.value));
    }
  }
  return line;
}

void Logger::log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
  if (!enabled(level)) {
    return;
  }
  log(level, msg, std::vector<LogField>(fields));
}

void Logger::log(LogLevel level, std::string_view msg, const std::vector<LogField>& fields) {
  if (!enabled(level)) {
    return;
  }
  std::lock_guard lock(mu_);
  std::string line = format(level, msg, fields);
  line += '\n';
  out_.write(line.data(), static_cast<std::streamsize>(line.size()));
  out_.flush();
}

Logger& nullLogger() {
  // An ostream without a buffer: every write fails quietly and nothing is kept.
  static std::ostream sink(nullptr);
  static Logger logger(sink, mappers::LogFormat::Text, LogLevel::Error);
  return logger;
}

}  // namespace tandem::agent

#include "tests/bench/e2e/proc_memory.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace tandem::bench {
namespace {

// A /proc/<pid>/stat line, "pid (comm) state ppid ...": comm may contain spaces, so it is split
// at the last ')'. `rest` holds the fields after it, from state on.
struct StatLine {
  std::string comm;
  std::string rest;
};

std::optional<StatLine> readStat(const std::filesystem::path& dir) {
  std::ifstream in(dir / "stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto open = text.find('(');
  const auto close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) {
    return std::nullopt;
  }
  return StatLine{text.substr(open + 1, close - open - 1), text.substr(close + 1)};
}

bool childNamed(const std::filesystem::path& dir, pid_t parent, const std::string& name) {
  const auto stat = readStat(dir);
  if (!stat) {
    return false;
  }
  std::istringstream rest(stat->rest);
  char state = 0;
  pid_t ppid = 0;
  rest >> state >> ppid;
  return ppid == parent && stat->comm == name;
}

int64_t fieldKb(const std::string& text, const std::string& key) {
  const auto at = text.find(key + ":");
  if (at == std::string::npos) {
    return 0;
  }
  return std::stoll(text.substr(at + key.size() + 1));
}

}  // namespace

std::optional<pid_t> findAgentPid() {
  std::optional<pid_t> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    if (childNamed(entry.path(), ::getpid(), "tandem")) {
      if (found) {
        return std::nullopt;
      }
      found = static_cast<pid_t>(std::stol(name));
    }
  }
  return found;
}

std::optional<double> readCpuSeconds(pid_t pid) {
  const auto stat = readStat("/proc/" + std::to_string(pid));
  if (!stat) {
    return std::nullopt;
  }
  // After "(comm)": state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
  // utime stime (fields 3 to 15 of proc(5)).
  std::istringstream rest(stat->rest);
  std::string field;
  for (int i = 0; i < 11 && rest >> field; ++i) {
  }
  int64_t utime = 0;
  int64_t stime = 0;
  if (!(rest >> utime >> stime)) {
    return std::nullopt;
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::optional<ProcMemory> readMemory(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  if (!in) {
    return std::nullopt;
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ProcMemory m{fieldKb(text, "VmHWM"), fieldKb(text, "VmRSS"), fieldKb(text, "RssAnon"),
               fieldKb(text, "RssFile")};
  if (m.peak_kb == 0 && m.rss_kb == 0) {
    return std::nullopt;  // a zombie has no memory lines
  }
  return m;
}

}  // namespace tandem::bench

#include "tests/bench/e2e/load.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "tests/bench/e2e/null_copier.h"
#include "tests/e2e/world.h"

namespace tandem::bench {
namespace {

using Clock = std::chrono::steady_clock;

e2e::WorldOptions worldOptions(const LoadOptions& options) {
  e2e::WorldOptions wo;
  wo.poll_interval_ms = 1000;
  // The agent's own limits must not be what is measured; the fixtures have none by default.
  wo.requests_per_second = 100000;  // the config's maximum
  wo.max_in_flight = options.max_in_flight;
  return wo;
}

int64_t dirBytes(const std::string& dir) {
  int64_t total = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec)) {
      total += static_cast<int64_t>(e.file_size(ec));
    }
  }
  return total;
}

// Both targets hold `n` records the load created.
bool created(e2e::World& w, int64_t n) {
  auto erp = w.counter("erp", "api_creates");
  auto fin = w.counter("fin", "api_creates");
  return erp && fin && *erp >= n && *fin >= n;
}

// A fixture counter. The control connection may sit idle through a long load, past the
// fixture server's idle timeout, and the test client reports a dropped connection instead of
// retrying silently: ask twice.
Result<int64_t> counter(e2e::World& w, const char* system, const char* name) {
  auto c = w.counter(system, name);
  return c ? c : w.counter(system, name);
}

double requestsPerRecord(e2e::World& w, int64_t n) {
  return static_cast<double>(totalRequests(w)) / static_cast<double>(std::max<int64_t>(n, 1));
}

std::string countCheck(e2e::World& w, int64_t n) {
  for (const char* system : {"erp", "fin"}) {
    auto c = counter(w, system, "api_creates");
    if (!c || *c != n) {
      return std::string(system) + ": " + (c ? std::to_string(*c) : c.error().message) +
             " creates, expected " + std::to_string(n);
    }
  }
  return "";
}

// "crm 1.00 erp 1.43 fin 1.00": each detector's records read per record loaded.
std::string recordsRead(e2e::World& w, int64_t n) {
  auto by_system = w.detectorRecordsBySystem();
  if (!by_system) {
    return by_system.error().message;
  }
  std::string out;
  for (const auto& [system, records] : *by_system) {
    char figure[32];
    std::snprintf(figure, sizeof figure, " %.2f",
                  static_cast<double>(records) / static_cast<double>(std::max<int64_t>(n, 1)));
    out += (out.empty() ? "" : " ") + system + figure;
  }
  return out;
}

}  // namespace

int64_t totalRequests(e2e::World& w) {
  int64_t total = 0;
  for (const char* system : {"crm", "erp", "fin"}) {
    total += counter(w, system, "requests").value_or(0);
  }
  return total;
}

void waitUntilQuiet(const std::function<std::optional<int64_t>()>& sample, int64_t tolerance,
                    std::chrono::milliseconds every, int looks, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  std::optional<int64_t> last = sample();
  for (int quiet = 0; quiet < looks && Clock::now() < deadline;) {
    std::this_thread::sleep_for(every);
    const std::optional<int64_t> now = sample();
    quiet = now && last && *now - *last <= tolerance ? quiet + 1 : 0;
    last = now;
  }
}

LoadResult runAgentLoad(const LoadOptions& options) {
  LoadResult out;
  e2e::World w(worldOptions(options));
  if (auto s = w.fixtures().seed(options.records, {"crm"}); !s) {
    out.error = "seed: " + s.error().message;
    return out;
  }
  const auto start = Clock::now();
  const double fixture_cpu_start = w.fixtureCpuSeconds();
  if (auto s = w.startAgent(); !s) {
    out.error = s.error().message;
    return out;
  }
  const auto pid = findAgentPid();
  if (!pid) {
    out.error = "no single child process named tandem";
    return out;
  }
  const auto deadline = start + std::chrono::duration<double>(options.timeout_s);
  while (true) {
    if (auto m = readMemory(*pid)) {
      out.peak_anon_kb = std::max(out.peak_anon_kb, m->anon_kb);
    }
    if (created(w, options.records)) {
      auto depth = w.outboxDepth();
      if (depth && *depth == 0) {
        break;
      }
    }
    if (!w.agentRunning()) {
      out.error = "the agent exited:\n" + w.agentLogTail();
      return out;
    }
    if (Clock::now() > deadline) {
      // The rate so far (the slower target's creates), so a slow run still gives a figure.
      out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
      const int64_t done = std::min(w.counter("erp", "api_creates").value_or(0),
                                    w.counter("fin", "api_creates").value_or(0));
      out.records_per_s = static_cast<double>(done) / out.seconds;
      if (auto m = readMemory(*pid)) {
        out.peak_kb = m->peak_kb;
        out.rest = *m;
      }
      out.requests_per_record = requestsPerRecord(w, std::max<int64_t>(done, 1));
      out.lmdb_bytes = dirBytes(w.dir() + "/state");
      out.error = "timed out after " + std::to_string(static_cast<int64_t>(out.seconds)) +
                  " s with " + std::to_string(done) + " of " + std::to_string(options.records) +
                  " records in both targets (records/s and memory are up to then)";
      return out;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  out.records_per_s = static_cast<double>(options.records) / out.seconds;
  out.fixture_cpu_s = w.fixtureCpuSeconds() - fixture_cpu_start;
  out.agent_cpu_s = readCpuSeconds(*pid).value_or(0);
  out.writer_busy_s = static_cast<double>(w.statusNumber("writer_busy_ms").value_or(0)) / 1000;
  const std::string read_by_end = recordsRead(w, options.records);
  // At rest: once the last creates are answered the agent still reads their echoes from the
  // targets' feeds for a while. Sampled 2 s after it last read a record (at most a minute on).
  waitUntilQuiet(
      [&]() -> std::optional<int64_t> {
        auto read = w.detectorRecords();
        return read ? std::optional<int64_t>(static_cast<int64_t>(*read)) : std::nullopt;
      },
      0, std::chrono::milliseconds(100), 20, std::chrono::seconds(60));
  if (auto m = readMemory(*pid)) {
    out.peak_kb = m->peak_kb;
    out.rest = *m;
  }
  out.records_read = read_by_end + " / " + recordsRead(w, options.records);
  out.error = countCheck(w, options.records);
  out.requests_per_record = requestsPerRecord(w, options.records);
  (void)w.stopAgent();
  out.lmdb_bytes = dirBytes(w.dir() + "/state");
  return out;
}

double fixtureBusyPercent(const LoadResult& r) {
  return r.seconds > 0 ? 100 * r.fixture_cpu_s / r.seconds : 0.0;
}

LoadResult runNullCopierLoad(const LoadOptions& options) {
  LoadResult out;
  e2e::World w(worldOptions(options));
  if (auto s = w.fixtures().seed(options.records, {"crm"}); !s) {
    out.error = "seed: " + s.error().message;
    return out;
  }
  const double fixture_cpu_start = w.fixtureCpuSeconds();
  const CopyResult r = runNullCopier(w.ports(), options.max_in_flight);
  out.fixture_cpu_s = w.fixtureCpuSeconds() - fixture_cpu_start;
  out.seconds = r.seconds;
  out.records_per_s = static_cast<double>(options.records) / r.seconds;
  if (r.read != options.records) {
    out.error = "read " + std::to_string(r.read) + " of " + std::to_string(options.records);
  }
  if (!r.first_error.empty()) {
    out.error += (out.error.empty() ? "" : "; ") + std::to_string(r.failed) +
                 " failed requests, first: " + r.first_error;
  }
  if (out.error.empty()) {
    out.error = countCheck(w, options.records);
  }
  out.requests_per_record = requestsPerRecord(w, options.records);
  return out;
}

}  // namespace tandem::bench

// bench_engine_load: the store writer's work per record of an initial load, on one core, with
// no HTTP, no threads and no fixtures. In bench_e2e_sync the writer strand is busy ~75% of a
// load's wall time and bounds its rate; its work per record there is hard to measure (the two
// cores are shared with the fixtures and the connectors, and one run differs from the next by
// 10%). Here the same calls, in the order the agent makes them, run alone on a real LMDB store
// (deferred durability, as the agent commits), and the CPU time of each kind of call is
// reported per record.
//
// The sequence, per page of the CRM feed (`page` records, 12 fields, matched by email):
//   ingest(crm, page, cursor)       the detector's batch; the cursor as large as the agent's
//                                   (seen holds up to 2,000 entries: ~90 KB of JSON)
//   duePushes(erp|fin, 800, Deferred) the pusher's refill, creates marked sent (800: what the
//                                   pusher takes ahead with 8 requests in flight and batch
//                                   creates of 100, Pusher::prefetch)
//   completePushes(erp|fin, 50 at a time) the answers of batch creates
//   ingest(erp|fin, echoes)         the feeds' reports of what tandem created there: same
//                                   values, the system's own updated time and version token
// Environment: TANDEM_BENCH_RECORDS (default 100000), TANDEM_BENCH_CURSOR_BYTES (default
// 90000), TMPDIR for the store, TANDEM_BENCH_KEEP=1 to leave the store there (for mdb_stat).

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "agent/clock.h"
#include "agent/engine/engine.h"
#include "agent/ops/heap.h"
#include "state/store.h"
#include "tests/agent/engine/three_systems.h"

namespace {

using namespace tandem;  // a benchmark program, not a header
using conflict::ActorId;
using conflict::Value;

using engine::testing::kCrm;
using engine::testing::kErp;
using engine::testing::kFin;
constexpr size_t kPage = 200;
constexpr size_t kRefill = 800;
constexpr size_t kAnswerBatch = 50;

const std::vector<std::string> kFields = {"address",      "city",  "company", "country",
                                          "credit_limit", "email", "first",   "last",
                                          "lifecycle",    "phone", "tags",    "zip"};

size_t envSize(const char* name, size_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? static_cast<size_t>(std::strtoull(v, nullptr, 10)) : fallback;
}

double cpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);  // the writer's own time, not the flusher's
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// What system `s` reports of customer `i`: the same canonical values everywhere.
engine::Incoming report(ActorId s, const std::string& native, size_t i, int64_t ts) {
  engine::Incoming in;
  in.native_id = native;
  in.report.system = s;
  const std::string n = std::to_string(i);
  for (const auto& f : kFields) {
    if (f == "credit_limit") {
      in.report.fields[f] = Value::number(static_cast<double>(1000 + i % 9000));
    } else if (f == "email") {
      in.report.fields[f] = Value::string("customer" + n + "@example.com");
    } else {
      in.report.fields[f] = Value::string(f + " of customer " + n);
    }
  }
  in.report.deleted = false;
  in.report.source_ts_ms = ts;
  in.report.version_token = s == kFin ? "0" : "";
  in.match_values.emplace_back("email", "customer" + n + "@example.com");
  return in;
}

struct Phase {
  const char* name;
  double cpu_s = 0;
  size_t calls = 0;
};

template <class F>
auto timed(Phase& p, F&& f) {
  const double from = cpuSeconds();
  auto r = f();
  p.cpu_s += cpuSeconds() - from;
  ++p.calls;
  if (!r) {
    std::fprintf(stderr, "bench_engine_load: %s: %s\n", p.name, r.error().message.c_str());
    std::exit(1);
  }
  return r;
}

}  // namespace

int main() {
  const size_t n = envSize("TANDEM_BENCH_RECORDS", 100'000);
  const size_t cursor_bytes = envSize("TANDEM_BENCH_CURSOR_BYTES", 90'000);
  const auto dir = std::filesystem::temp_directory_path() /
                   ("tandem-bench-engine-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  state::Options o;
  o.sync = true;  // the flusher's fsyncs run beside the writer, as in the agent
  auto store = state::Store::open(dir.string(), o);
  if (!store) {
    std::fprintf(stderr, "bench_engine_load: %s\n", store.error().message.c_str());
    return 1;
  }
  agent::SimulatedClock clock(1'796'000'000'000);
  engine::SyncEngine eng(**store, clock, engine::testing::threeSystems(kFields));
  const std::string cursor(cursor_bytes, 'c');

  Phase ingest_crm{"ingest, CRM page (new records)"};
  Phase due{"duePushes (refill, creates marked sent)"};
  Phase complete{"completePushes (create answers)"};
  Phase echo{"ingest, ERP/finance echoes"};
  std::map<ActorId, size_t> next_native{{kErp, 0}, {kFin, 0}};
  size_t pushed = 0;

  const auto wall_from = std::chrono::steady_clock::now();
  for (size_t first = 0; first < n; first += kPage) {
    const size_t last = std::min(n, first + kPage);
    std::vector<engine::Incoming> page;
    for (size_t i = first; i < last; ++i) {
      page.push_back(report(kCrm, "crm-" + std::to_string(i), i, clock.nowMs()));
    }
    timed(ingest_crm, [&] { return eng.ingest(kCrm, "customer", std::move(page), cursor); });
    clock.advanceMs(25);
    for (ActorId s : {kErp, kFin}) {
      for (;;) {
        auto jobs =
            timed(due, [&] { return eng.duePushes(s, kRefill, {}, state::Durability::Deferred); });
        if (jobs->empty()) {
          break;
        }
        std::vector<engine::Incoming> echoes;
        for (size_t b = 0; b < jobs->size(); b += kAnswerBatch) {
          std::vector<engine::Completion> done;
          for (size_t j = b; j < std::min(jobs->size(), b + kAnswerBatch); ++j) {
            const engine::PushJob& job = (*jobs)[j];
            const std::string native =
                (s == kErp ? "erp-" : "fin-") + std::to_string(++next_native[s]);
            done.push_back({job, engine::PushSuccess{native, s == kFin ? "0" : "",
                                                     s == kFin ? clock.nowMs() : 0}});
            // The customer number is in the email the create carries.
            size_t customer = 0;
            for (const auto& f : job.plan.fields) {
              if (f.name == "email") {
                const std::string& e = f.value.asString();
                customer = std::strtoull(e.c_str() + 8, nullptr, 10);
              }
            }
            echoes.push_back(report(s, native, customer, clock.nowMs()));
          }
          timed(complete, [&] { return eng.completePushes(s, done); });
          pushed += done.size();
        }
        clock.advanceMs(5);
        timed(echo, [&] { return eng.ingest(s, "customer", std::move(echoes), cursor); });
      }
    }
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_from).count();
  const bool keep = envSize("TANDEM_BENCH_KEEP", 0) != 0;
  if (!keep) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  const double total = ingest_crm.cpu_s + due.cpu_s + complete.cpu_s + echo.cpu_s;
  std::printf("engine load: %zu records, %zu pushes, one core, LMDB under %s, heap: %s\n", n,
              pushed, dir.parent_path().c_str(), agent::ops::heap::allocatorName().c_str());
  std::printf("%-46s %12s %10s\n", "writer call", "us/record", "calls");
  for (const Phase* p : {&ingest_crm, &due, &complete, &echo}) {
    std::printf("%-46s %12.1f %10zu\n", p->name, 1e6 * p->cpu_s / static_cast<double>(n), p->calls);
  }
  std::printf("%-46s %12.1f\n", "total writer CPU", 1e6 * total / static_cast<double>(n));
  std::printf("%-46s %12.0f\n", "records/s (writer alone, wall)", static_cast<double>(n) / wall);
  if (keep) {
    std::printf("store kept in %s\n", dir.c_str());
  }
  return pushed == 2 * n ? 0 : 1;
}

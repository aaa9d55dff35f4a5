// bench_peer: tandem against a peer, PouchDB, side by side in one run (issue 6).
//
//   TANDEM_BENCH_PEER_RECORDS=10000  customers synced by both (N)
//   TANDEM_BENCH_PEER_EDITS=1000     customers edited concurrently in two places (K)
//   TANDEM_BENCH_PEER_RPS=100000     the agent's request rate limit per system, by default the
//                                    most a config accepts: PouchDB has none, and World's
//                                    default of 5000 would cap each system at 5000 requests/s
//   TANDEM_BENCH_PEER_TMPFS=/dev/shm  a tmpfs for a second tandem run ("0": none)
//   TANDEM_BENCH_PEER_POLL_MS=2000   the agent's feed poll interval: the demo config's. World's
//                                    200 ms (a test setting) re-reads the feeds' overlap
//                                    windows ten times as often, which at N = 10,000 took a
//                                    third of tandem's throughput on 2 cores
//
// tandem: CRM → ERP and finance over loopback HTTP, the real `tandem run` (tandem_side.h),
// twice: with its LMDB state where TMPDIR says (as shipped: fsync'd, normally on disk), and with
// it on tmpfs, where fsync is free, like PouchDB's memory adapter.
// PouchDB: express-pouchdb over loopback HTTP ↔ a local in-memory PouchDB (pouchdb_peer.js).
// The null copier (tests/bench/e2e/null_copier.h: the CRM feed read, each record created in the
// ERP and finance, no mapping, merge or state) on the same fixtures and N: what the endpoints
// themselves serve, so a reader can see how far any agent could get ahead of PouchDB here.
// Prints one table; goal (issue 6): tandem ≥ 20× PouchDB's docs/s. When node or the npm
// packages are missing, tandem's figures are printed alone with a loud note, exit 0.

#include <linux/magic.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "tests/bench/e2e/load.h"
#include "tests/bench/peer/pouchdb_side.h"
#include "tests/bench/peer/tandem_side.h"

#ifndef TANDEM_PEER_SOURCE_DIR
#error "TANDEM_PEER_SOURCE_DIR (tests/bench/peer in the source tree) must be defined"
#endif
#ifndef TANDEM_PEER_CACHE_DIR
#error "TANDEM_PEER_CACHE_DIR (the node_modules cache in the build tree) must be defined"
#endif

namespace {

using tandem::bench::LoadResult;
using tandem::bench::PeerFigures;
using tandem::bench::TandemFigures;

constexpr double kGoal = 20.0;

// A positive number from the environment, else `fallback`; garbage is reported, not guessed.
double envNumber(const char* name, double fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') {
    return fallback;
  }
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(v > 0)) {
    std::fprintf(stderr, "bench_peer: %s=\"%s\" is not a positive number, using %.0f\n", name, text,
                 fallback);
    return fallback;
  }
  return v;
}

// One tandem run: where its state lived and what it measured.
struct TandemColumn {
  std::string title;
  TandemFigures figures;
  std::string error;  // the run failed: why (its cells read "failed")
};

// "tmpfs" or "disk" for the filesystem holding `dir`, as statfs says.
std::string fsKind(const std::string& dir) {
  struct statfs st {};
  if (::statfs(dir.c_str(), &st) != 0) {
    return "?";
  }
  return st.f_type == TMPFS_MAGIC ? "tmpfs" : "disk";
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string count(int64_t n, int64_t of) {
  return std::to_string(n) + " / " + std::to_string(of);
}

class Table {
 public:
  Table(const std::vector<TandemColumn>& tandem, const PeerFigures* peer)
      : tandem_(tandem), peer_(peer) {}

  // One line: the label, each tandem run's cell, then PouchDB's (or "-").
  void row(const char* label, const std::function<std::string(const TandemFigures&)>& cell,
           const std::function<std::string(const PeerFigures&)>& peer_cell = {}) const {
    std::printf("  %-44s", label);
    for (const auto& c : tandem_) {
      std::printf(" %22s", c.error.empty() ? cell(c.figures).c_str() : "failed");
    }
    std::printf(" %22s\n", peer_ != nullptr && peer_cell ? peer_cell(*peer_).c_str() : "-");
  }

  void header() const {
    std::printf("  %-44s", "");
    for (const auto& c : tandem_) {
      std::printf(" %22s", c.title.c_str());
    }
    std::printf(" %22s\n", peer_ != nullptr ? "PouchDB" : "PouchDB (not run)");
  }

 private:
  const std::vector<TandemColumn>& tandem_;
  const PeerFigures* peer_;
};

// The endpoints' own speed: the null copier on the same fixtures, set against PouchDB.
void printCopier(int64_t n, const LoadResult& copier, const PeerFigures* p) {
  std::printf(
      "  null copier, same fixtures and N (CRM feed -> one create per record in ERP and "
      "finance, no mapping, merge or state):\n");
  if (!copier.error.empty()) {
    std::printf("    FAILED: %s\n", copier.error.c_str());
    return;
  }
  std::printf(
      "    %.3f s, %.0f docs/s, %.2f requests per record; the fixture thread %.0f%% busy, "
      "%.0f us of its CPU per doc\n",
      copier.seconds, copier.records_per_s, copier.requests_per_record,
      tandem::bench::fixtureBusyPercent(copier),
      1e6 * copier.fixture_cpu_s / static_cast<double>(n));
  if (p != nullptr && p->docs_per_s > 0) {
    const double ceiling = copier.records_per_s / p->docs_per_s;
    std::printf(
        "    null copier/PouchDB %.2fx: %.0fx PouchDB is %.0f docs/s, %.1fx what the copier "
        "gets from these endpoints\n",
        ceiling, kGoal, kGoal * p->docs_per_s, kGoal / ceiling);
  }
}

void printTable(int64_t n, int64_t k, double rps, int64_t poll_ms,
                const std::vector<TandemColumn>& runs, const LoadResult& copier,
                const PeerFigures* p) {
  std::printf(
      "peer comparison (issue 6): %ld cores, N = %lld customers, K = %lld edited in two "
      "places\n",
      ::sysconf(_SC_NPROCESSORS_ONLN), static_cast<long long>(n), static_cast<long long>(k));
  std::printf(
      "  tandem: real `tandem run`, CRM -> ERP + finance over loopback HTTP, agent limit "
      "%.0f req/s per system, feeds polled every %lld ms; LMDB state fsync'd as shipped\n",
      rps, static_cast<long long>(poll_ms));
  if (p != nullptr) {
    std::printf("  PouchDB %s: %s <-> local memory PouchDB, %s\n", p->version.c_str(),
                p->server.c_str(), p->mode.c_str());
  }
  const Table t(runs, p);
  t.header();
  t.row(
      "initial sync, s", [](const TandemFigures& f) { return fixed(f.sync_seconds, 3); },
      [](const PeerFigures& f) { return fixed(f.sync_seconds, 3); });
  t.row(
      "docs/s (tandem: customers in BOTH ERP+fin)",
      [](const TandemFigures& f) { return fixed(f.customers_per_s, 0); },
      [](const PeerFigures& f) { return fixed(f.docs_per_s, 0); });
  if (p != nullptr && p->docs_per_s > 0) {
    t.row("ratio tandem/PouchDB (goal >= 20x)", [p](const TandemFigures& f) {
      const double ratio = f.customers_per_s / p->docs_per_s;
      return fixed(ratio, 2) + "x " + (ratio >= kGoal ? "met" : "NOT met");
    });
  }
  if (copier.error.empty() && copier.records_per_s > 0) {
    t.row("ratio tandem/null copier", [&copier](const TandemFigures& f) {
      return fixed(f.customers_per_s / copier.records_per_s, 2) + "x";
    });
  }
  t.row("  first create / all in ERP / all in fin, s", [](const TandemFigures& f) {
    return fixed(f.first_create_seconds, 1) + " / " + fixed(f.erp_done_seconds, 1) + " / " +
           fixed(f.fin_done_seconds, 1);
  });
  t.row("  CPU s: agent / bench (3 fixtures, polling)", [](const TandemFigures& f) {
    return fixed(f.agent_cpu_seconds, 1) + " / " + fixed(f.bench_cpu_seconds, 1);
  });
  // The three fixture systems answer on one thread in this process: at most one core's worth of
  // their CPU per second, however fast the agent.
  t.row("  fixtures' ceiling, docs/s (N / bench CPU s)", [n](const TandemFigures& f) {
    return f.bench_cpu_seconds > 0 ? fixed(static_cast<double>(n) / f.bench_cpu_seconds, 0)
                                   : std::string("?");
  });
  for (const char* system : {"crm", "erp", "fin"}) {
    const std::string label = std::string("  ") + system + " requests (searches, reads)";
    t.row(label.c_str(), [system](const TandemFigures& f) {
      auto it = f.requests.find(system);
      if (it == f.requests.end()) {
        return std::string("?");
      }
      return std::to_string(it->second.requests) + " (" + std::to_string(it->second.searches) +
             ", " + std::to_string(it->second.reads) + ")";
    });
  }
  t.row("  feeds through the echoes, s after convergence",
        [](const TandemFigures& f) { return fixed(f.catch_up_seconds, 1); });
  t.row("  idle once through, req/s (crm / erp / fin)", [](const TandemFigures& f) {
    auto at = [&f](const char* system) {
      auto it = f.idle_requests_per_s.find(system);
      return it == f.idle_requests_per_s.end() ? std::string("?") : fixed(it->second, 0);
    };
    return at("crm") + " / " + at("erp") + " / " + at("fin");
  });
  t.row("creates per target (erp / fin)", [](const TandemFigures& f) {
    return std::to_string(f.erp_creates) + " / " + std::to_string(f.fin_creates);
  });
  t.row(
      "converged after initial sync",
      [](const TandemFigures& f) { return std::string(f.converged.empty() ? "yes" : "NO"); },
      [](const PeerFigures&) { return std::string("yes"); });
  t.row(
      "edit round (stop, edit, sync), s",
      [](const TandemFigures& f) { return fixed(f.edit_seconds, 3); },
      [](const PeerFigures& f) { return fixed(f.edit_seconds, 3); });
  t.row(
      "kept BOTH edits everywhere", [k](const TandemFigures& f) { return count(f.kept_both, k); },
      [k](const PeerFigures& f) { return count(f.kept_both, k); });
  t.row(
      "  only the city edit (CRM / A)",
      [](const TandemFigures& f) { return std::to_string(f.city_only); },
      [](const PeerFigures& f) { return std::to_string(f.a.city_only); });
  t.row(
      "  only the phone edit (ERP / B)",
      [](const TandemFigures& f) { return std::to_string(f.phone_only); },
      [](const PeerFigures& f) { return std::to_string(f.a.phone_only); });
  t.row(
      "  neither / missing", [](const TandemFigures& f) { return std::to_string(f.neither); },
      [k](const PeerFigures& f) {
        return std::to_string(k - f.a.both - f.a.city_only - f.a.phone_only);
      });
  t.row(
      "other edit hidden in _conflicts (A / B)", [](const TandemFigures&) { return "-"; },
      [](const PeerFigures& f) {
        return std::to_string(f.a.with_conflicts) + " / " + std::to_string(f.b.with_conflicts);
      });
  t.row("conflict log entries on city/phone",
        [](const TandemFigures& f) { return std::to_string(f.conflict_entries); });
  printCopier(n, copier, p);
  for (const auto& run : runs) {
    const TandemFigures& f = run.figures;
    if (!run.error.empty()) {
      std::printf("  %s FAILED: %s\n", run.title.c_str(), run.error.c_str());
      continue;
    }
    if (!f.converged.empty()) {
      std::printf("  %s did not converge after the initial sync:\n%s\n", run.title.c_str(),
                  f.converged.c_str());
    }
    if (!f.edit_converged.empty()) {
      std::printf("  %s did not converge after the edit round:\n%s\n", run.title.c_str(),
                  f.edit_converged.c_str());
    }
    if (!f.dir.empty()) {
      std::printf("  %s: world kept in %s (agent.log there)\n", run.title.c_str(), f.dir.c_str());
    }
  }
}

}  // namespace

int main() {
  const auto n = static_cast<int64_t>(envNumber("TANDEM_BENCH_PEER_RECORDS", 10000));
  const auto k = std::min(n, static_cast<int64_t>(envNumber("TANDEM_BENCH_PEER_EDITS", 1000)));
  const double rps = envNumber("TANDEM_BENCH_PEER_RPS", 1e5);
  const auto poll_ms = static_cast<int64_t>(envNumber("TANDEM_BENCH_PEER_POLL_MS", 2000));

  // tandem as shipped (state where TMPDIR says, normally disk), then with its state on tmpfs,
  // where fsync costs nothing, as with PouchDB's memory adapter.
  std::vector<std::string> dirs = {std::filesystem::temp_directory_path().string()};
  const char* tmpfs = std::getenv("TANDEM_BENCH_PEER_TMPFS");
  const std::string shm = tmpfs != nullptr ? tmpfs : "/dev/shm";
  if (!shm.empty() && shm != "0" && std::filesystem::is_directory(shm) && fsKind(shm) == "tmpfs" &&
      fsKind(dirs[0]) != "tmpfs") {
    dirs.push_back(shm);
  }
  std::vector<TandemColumn> runs;
  for (const auto& dir : dirs) {
    auto figures = tandem::bench::measureTandem({.records = n,
                                                 .edits = k,
                                                 .requests_per_second = rps,
                                                 .poll_interval_ms = poll_ms,
                                                 .temp_dir = dir});
    TandemColumn run;
    run.title = "tandem, " + fsKind(dir) + " state";
    if (figures) {
      run.figures = std::move(*figures);
    } else {
      run.error = figures.error().message;
    }
    runs.push_back(std::move(run));
  }
  const LoadResult copier = tandem::bench::runNullCopierLoad(
      {.records = n, .max_in_flight = tandem::bench::TandemOptions{}.max_in_flight});
  auto peer = tandem::bench::measurePouchDb({.records = n,
                                             .edits = k,
                                             .source_dir = TANDEM_PEER_SOURCE_DIR,
                                             .cache_dir = TANDEM_PEER_CACHE_DIR});
  if (!peer) {
    std::printf(
        "\n"
        "  !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        "  !! bench_peer: PouchDB NOT MEASURED, tandem's figures alone, no ratio:\n"
        "  !! %s\n"
        "  !! (needs node >= 18 and npm on PATH, and the npm registry once)\n"
        "  !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n",
        peer.error().message.c_str());
  }
  printTable(n, k, rps, poll_ms, runs, copier, peer ? &*peer : nullptr);
  for (const auto& run : runs) {
    if (!run.error.empty() || !run.figures.converged.empty() ||
        !run.figures.edit_converged.empty()) {
      return 1;
    }
  }
  return copier.error.empty() ? 0 : 1;
}

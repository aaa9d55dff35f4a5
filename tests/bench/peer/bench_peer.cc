// bench_peer: tandem against a peer, PouchDB, side by side in one run (issue 6).
//
//   TANDEM_BENCH_PEER_RECORDS=10000  customers synced by both (N)
//   TANDEM_BENCH_PEER_EDITS=1000     customers edited concurrently in two places (K)
//   TANDEM_BENCH_PEER_RPS=100000     the agent's request rate limit per system, by default the
//                                    most a config accepts: PouchDB has none, and World's
//                                    default of 5000 would cap finance (no batch create) at
//                                    5000 customers/s
//
// tandem: CRM → ERP and finance over loopback HTTP, the real `tandem run` (tandem_side.h).
// PouchDB: express-pouchdb over loopback HTTP ↔ a local in-memory PouchDB (pouchdb_peer.js).
// Prints one table; goal (issue 6): tandem ≥ 20× PouchDB's docs/s. When node or the npm
// packages are missing, tandem's figures are printed alone with a loud note, exit 0.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/bench/peer/pouchdb_side.h"
#include "tests/bench/peer/tandem_side.h"

#ifndef TANDEM_PEER_SOURCE_DIR
#error "TANDEM_PEER_SOURCE_DIR (tests/bench/peer in the source tree) must be defined"
#endif
#ifndef TANDEM_PEER_CACHE_DIR
#error "TANDEM_PEER_CACHE_DIR (the node_modules cache in the build tree) must be defined"
#endif

namespace {

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

void row(const char* label, const std::string& tandem, const std::string& peer) {
  std::printf("  %-40s %20s %20s\n", label, tandem.c_str(), peer.c_str());
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string count(int64_t n, int64_t of) {
  return std::to_string(n) + " / " + std::to_string(of);
}

void printTable(int64_t n, int64_t k, double rps, const TandemFigures& t, const PeerFigures* p) {
  const std::string none = "-";
  std::printf(
      "peer comparison (issue 6): %ld cores, N = %lld customers, K = %lld edited in two "
      "places\n",
      ::sysconf(_SC_NPROCESSORS_ONLN), static_cast<long long>(n), static_cast<long long>(k));
  std::printf(
      "  tandem: real `tandem run`, CRM -> ERP + finance over loopback HTTP, agent limit "
      "%.0f req/s per system\n",
      rps);
  if (p != nullptr) {
    std::printf("  PouchDB %s: %s <-> local memory PouchDB, %s\n", p->version.c_str(),
                p->server.c_str(), p->mode.c_str());
  }
  row("", "tandem", p != nullptr ? "PouchDB" : "PouchDB (not run)");
  row("initial sync, s", fixed(t.sync_seconds, 3), p ? fixed(p->sync_seconds, 3) : none);
  row("docs/s (tandem: customers in BOTH ERP+fin)", fixed(t.customers_per_s, 0),
      p ? fixed(p->docs_per_s, 0) : none);
  row("creates per target (erp / fin)",
      std::to_string(t.erp_creates) + " / " + std::to_string(t.fin_creates), none);
  row("converged after initial sync", t.converged.empty() ? "yes" : "NO", p ? "yes" : none);
  row("edit round (stop, edit, sync), s", fixed(t.edit_seconds, 3),
      p ? fixed(p->edit_seconds, 3) : none);
  row("kept BOTH edits everywhere", count(t.kept_both, k), p ? count(p->kept_both, k) : none);
  row("  only the city edit (CRM / A)", std::to_string(t.city_only),
      p ? std::to_string(p->a.city_only) : none);
  row("  only the phone edit (ERP / B)", std::to_string(t.phone_only),
      p ? std::to_string(p->a.phone_only) : none);
  row("  neither / missing", std::to_string(t.neither),
      p ? std::to_string(k - p->a.both - p->a.city_only - p->a.phone_only) : none);
  row("other edit hidden in _conflicts (A / B)", none,
      p ? std::to_string(p->a.with_conflicts) + " / " + std::to_string(p->b.with_conflicts) : none);
  row("conflict log entries on city/phone", std::to_string(t.conflict_entries), none);
  if (p != nullptr && p->docs_per_s > 0) {
    const double ratio = t.customers_per_s / p->docs_per_s;
    std::printf("  ratio tandem/PouchDB docs/s: %.2fx (goal >= %.0fx: %s)\n", ratio, kGoal,
                ratio >= kGoal ? "met" : "NOT met");
  }
  if (!t.converged.empty()) {
    std::printf("  tandem did not converge after the initial sync:\n%s\n", t.converged.c_str());
  }
  if (!t.edit_converged.empty()) {
    std::printf("  tandem did not converge after the edit round:\n%s\n", t.edit_converged.c_str());
  }
  if (!t.log_dir.empty()) {
    std::printf("  world kept in %s (agent.log there)\n", t.log_dir.c_str());
  }
}

}  // namespace

int main() {
  const auto n = static_cast<int64_t>(envNumber("TANDEM_BENCH_PEER_RECORDS", 10000));
  const auto k = std::min(n, static_cast<int64_t>(envNumber("TANDEM_BENCH_PEER_EDITS", 1000)));
  const double rps = envNumber("TANDEM_BENCH_PEER_RPS", 1e5);

  auto tandem =
      tandem::bench::measureTandem({.records = n, .edits = k, .requests_per_second = rps});
  if (!tandem) {
    std::printf("bench_peer: tandem failed: %s\n", tandem.error().message.c_str());
    return 1;
  }
  std::fflush(stdout);
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
  printTable(n, k, rps, *tandem, peer ? &*peer : nullptr);
  return tandem->converged.empty() && tandem->edit_converged.empty() ? 0 : 1;
}

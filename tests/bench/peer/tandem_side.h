#pragma once

// tandem's side of the peer comparison (issue 6), measured on the end-to-end world
// (tests/e2e/world.h): the three fixture systems in-process on loopback and the real
// `tandem run` as a child process.
//
//  1. Initial sync: N customers seeded in the CRM only (not timed), then the clock runs from
//     starting the agent until the ERP and finance have each received N creates (fixture
//     counter api_creates). A customer counts once it is in BOTH other systems, so
//     customers/s = N / that time, and each customer is 2 create requests plus the reads.
//  2. Concurrent edits: the agent stopped (SIGTERM), `city` changed in the CRM and `phone` in
//     the ERP of K customers, the agent started again; timed until converged. A customer
//     "kept both" when every system holds the new city and the new phone.

#include <cstdint>
#include <map>
#include <string>

#include "conflict/result.h"

namespace tandem::bench {

struct TandemOptions {
  int64_t records = 10000;
  int64_t edits = 1000;
  // The agent's own limit per system: the most a config accepts (World's default is 5000).
  double requests_per_second = 1e5;
  int max_in_flight = 8;
  int64_t poll_interval_ms = 2000;  // the demo config's
  // Where the world's directory (the agent's LMDB state) goes; "" = TMPDIR or /tmp. A tmpfs
  // here makes the agent's fsync per commit free, which is how PouchDB's memory adapter runs.
  std::string temp_dir;
};

struct RequestCounts {
  int64_t requests = 0;
  int64_t searches = 0;  // feed pages and look-ups
  int64_t reads = 0;
};

struct TandemFigures {
  double sync_seconds = 0;
  double customers_per_s = 0;
  double first_create_seconds = 0;  // from the agent's start to the first create seen
  double erp_done_seconds = 0;      // ... to the ERP's N-th create
  double fin_done_seconds = 0;      // ... to finance's N-th create
  int64_t erp_creates = 0;          // exactly N when nothing was duplicated
  int64_t fin_creates = 0;
  std::string converged;  // "" when the world converged after the initial sync, else why not
  double edit_seconds = 0;
  int64_t kept_both = 0;         // both edits in all three systems
  int64_t city_only = 0;         // in at least one system only the CRM's edit survived
  int64_t phone_only = 0;        // ... only the ERP's
  int64_t neither = 0;           // ... neither edit, or the customer is missing or doubled
  int64_t conflict_entries = 0;  // conflict log entries on city or phone after the round
  std::string edit_converged;    // "" or why not
  // During the initial sync: per system, as the fixtures counted them.
  std::map<std::string, RequestCounts> requests;
  // After convergence the feeds still read the echoes of tandem's creates: how long until
  // they are through (no system asked more than a poll's worth in two poll intervals), and
  // then, nothing changing, the requests per second each system still serves.
  double catch_up_seconds = 0;
  std::map<std::string, double> idle_requests_per_s;
  double agent_cpu_seconds = 0;  // the agent, initial sync and the convergence check after it
  double bench_cpu_seconds = 0;  // this process: the three fixture systems and the polling
  std::string dir;               // the world's directory when kept (TANDEM_E2E_KEEP)
};

// Runs both rounds; an error when the world cannot be set up or the agent does not finish
// the initial sync in time (the message carries the tail of the agent's log).
Result<TandemFigures> measureTandem(const TandemOptions& options);

}  // namespace tandem::bench

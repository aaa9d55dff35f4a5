#pragma once

// The running agent (DESIGN.md "Data flow"): for every (system, entity) a detector (polling on
// agent.poll_interval_ms, woken at once by a verified webhook) and for every system a pusher
// that drains the outbox. Detectors map what they fetch (mappers::toCanonical) and hand it to the
// SyncEngine; pushers map outbox jobs (mappers::toSystemDocument) and send them through the
// declarative connector. All engine calls run on one writer strand (STYLE.md item 10).
//
//   auto agent = Agent::make(ioc, std::move(config), {.log = &log});
//   agent->addRoutes(router);          // webhook receivers, served by the admin HTTP server
//   agent->start();                    // detectors and pushers begin
//   ...                                // ioc.run() on one or more threads
//   agent->stopIntake(); agent->drain(done);   // SIGTERM
//
// This header is the contract between the runtime (agent/runtime/) and the operator side
// (agent/ops/: admin API, metrics, CLI). Changing it means changing both.

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "agent/clock.h"
#include "agent/connector/connector.h"
#include "agent/engine/engine.h"
#include "agent/log.h"
#include "agent/net/http_server.h"
#include "conflict/result.h"
#include "conflict/value.h"
#include "mappers/config.h"
#include "state/store.h"

namespace boost::asio {
class io_context;
}

namespace tandem::agent::runtime {

// ---- What the agent reports (rendered by agent/ops as JSON and Prometheus text) -------------

// Upper bounds (seconds) of the HTTP latency histogram buckets; +Inf is implied.
inline constexpr std::array<double, 11> kLatencyBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                           0.1,   0.25,   0.5,   1,    5};

struct DetectorStatus {
  std::string system;
  std::string entity;
  bool webhook = false;            // a webhook also wakes this detector
  bool initial_load_done = false;  // the feed has been read to its end once
  int64_t last_success_ms = 0;     // wall clock of the last complete fetch (0: none yet)
  int64_t lag_ms = 0;              // now - last_success_ms while running (0 before the first)
  uint64_t batches = 0;            // batches ingested
  uint64_t records = 0;            // records reported by the feed (after de-duplication)
  uint64_t errors = 0;             // failed fetches / ingests
  std::string last_error;          // "" when the last fetch succeeded
  // The periodic existence check (agent.existence_check): full checks ended, records fetched,
  // linked records found gone (reported deleted) since start.
  uint64_t existence_checks = 0;
  uint64_t existence_checked = 0;
  uint64_t existence_deletes = 0;
};

struct PushCounters {
  uint64_t success = 0;
  uint64_t retryable = 0;
  uint64_t stale = 0;
  uint64_t permanent = 0;  // dead-lettered
  uint64_t not_found = 0;
};

struct SystemStatus {
  std::string name;
  std::string breaker;  // "closed", "open", "half-open"
  PushCounters pushes;
  uint64_t creates = 0;  // successful creates (part of pushes.success)
  size_t outbox_depth = 0;
  size_t dead_letters = 0;
};

struct HttpLatency {
  std::string system;
  std::string op;  // "feed", "get", "create", "update", "delete"
  std::array<uint64_t, kLatencyBuckets.size()> buckets{};  // non-cumulative counts per bucket
  uint64_t over = 0;                                       // above the last bound
  uint64_t count = 0;
  double sum_seconds = 0;
  std::array<uint64_t, 6> status_classes{};  // [0]: no answer, [1..5]: 1xx..5xx
};

struct WebhookCounters {
  std::string system;
  std::string entity;
  uint64_t accepted = 0;
  uint64_t rejected = 0;  // bad signature, stale timestamp, unparsable payload
};

struct AgentStatus {
  std::string state;  // "starting", "running", "draining", "stopped"
  bool ready = false;
  int64_t started_ms = 0;
  uint64_t records_total = 0;    // canonical records in the store
  uint64_t records_synced = 0;   // records ingested that changed the canonical record
  uint64_t conflicts_total = 0;  // conflict entries written since start
  // Time the store's one writer spent on engine calls since start: near the wall time, the
  // writer is what bounds the rate (every ingest, push answer and outbox pick goes through it).
  uint64_t writer_busy_ms = 0;
  size_t open_conflicts = 0;
  size_t outbox_depth = 0;
  size_t dead_letters = 0;
  std::vector<DetectorStatus> detectors;
  std::vector<SystemStatus> systems;
  std::vector<HttpLatency> http;
  std::vector<WebhookCounters> webhooks;
};

// ---- The agent --------------------------------------------------------------------------

// Builds a connector for one (system, entity). The default is connector::Connector::make; tests
// may hand in fakes.
using ConnectorFactory = std::function<Result<std::unique_ptr<connector::Connector>>(
    connector::SystemChannel&, const mappers::SystemConfig&, const mappers::SystemEntity&)>;
// Builds the channel of one system. The default is connector::SystemChannel::make; tests may hand
// in fakes (with a fake connector).
using ChannelFactory = std::function<Result<std::unique_ptr<connector::SystemChannel>>(
    boost::asio::io_context&, const mappers::SystemConfig&, const Clock&,
    connector::ChannelOptions)>;

struct AgentOptions {
  Logger* log = nullptr;               // required
  const Clock* clock = nullptr;        // SystemClock when null
  state::Options store;                // LMDB options (sync on by default)
  std::string state_dir_override;      // "" = config.agent.state_dir
  ConnectorFactory connector_factory;  // empty = the declarative REST connector
  ChannelFactory channel_factory;      // empty = connector::SystemChannel::make
  engine::BackoffFn backoff;           // empty = engine::defaultBackoffMs (tests: shorter)
  // Initial-load progress: a bar redrawn in place on a TTY, plain lines otherwise (also logged).
  std::ostream* progress = nullptr;
  bool progress_is_tty = false;
  std::string ca_file;  // extra PEM trust for https systems
  // A feed or a push failing the same way again and again is logged once per kind of failure,
  // its repeats at debug level, and again this often while it lasts (with the count and since
  // when): agent/runtime/failure_log.h.
  int64_t failure_rewarn_ms = 5 * 60 * 1000;
  // The store writer's own io_context, which the caller runs on one thread of its own and keeps
  // until the agent is gone: every store write then runs there, never queued behind the reading,
  // mapping and HTTP work of the agent's io_context (the writer bounds a bulk load). Null: the
  // writer is a strand of the agent's io_context.
  boost::asio::io_context* writer_context = nullptr;
};

class Agent {
 public:
  // Opens the store (state dir created when missing), registers the actors of every configured
  // system and builds channels and connectors. Nothing runs until start().
  static Result<std::unique_ptr<Agent>> make(boost::asio::io_context& ioc, mappers::Config config,
                                             AgentOptions options);
  virtual ~Agent() = default;

  // Registers one POST route per configured webhook path: verify → 401 with the reason (and a
  // log line) or 200 at once, then the named records are fetched and ingested.
  virtual void addRoutes(net::Router& router) = 0;
  // Starts detectors and pushers. ready() turns true once every detector has started.
  virtual Status start() = 0;
  virtual bool ready() const = 0;

  // SIGTERM: no new fetches or pushes start; webhooks are refused with 503.
  virtual void stopIntake() = 0;
  // Lets in-flight fetches, ingests and pushes finish (each is one LMDB transaction, so cutting
  // one is safe too), then calls `done` once, on an io_context thread.
  virtual void drain(std::function<void()> done) = 0;

  // SIGHUP with a configuration that validated: swaps systems, mappings and policies. Systems
  // may be added; removing one keeps its actor (DESIGN.md "Actors and counters"). Error when
  // the new configuration cannot be applied (the old one stays).
  virtual Status reload(mappers::Config config) = 0;

  // Thread-safe snapshot of counters and store gauges.
  virtual AgentStatus status() const = 0;
  // status() without the store's gauges (records_total, open_conflicts, outbox and dead-letter
  // depths stay 0): no walk of the outbox, for callers that only watch the counters often.
  virtual AgentStatus counters() const { return status(); }

  // Operator actions, run on the writer strand. Errors are the engine's ("engine: resolve
  // conflict 7: no such conflict").
  virtual boost::asio::awaitable<Status> resolveConflict(uint64_t conflict_id,
                                                         conflict::Value chosen,
                                                         std::string note) = 0;
  virtual boost::asio::awaitable<Status> retryDeadLetter(std::string system,
                                                         std::string record) = 0;

  virtual const mappers::Config& config() const = 0;
  virtual state::Store& store() = 0;
};

// The engine's view of a configuration: actor ids (registered in the store when new, never
// re-bound), entity policies, match keys, archive systems. Used by the agent and by the CLI when
// it resolves a conflict with no agent running.
Result<engine::EngineConfig> buildEngineConfig(const mappers::Config& config, state::Store& store);

// `tandem plan`: one pass of every detector from the stored cursors against a scratch copy of the
// state (the real state is only read), and what the agent would do.
struct PlanItem {
  std::string system;
  std::string entity;
  std::string native_id;
  std::string action;  // "create in erp", "update crm (email, phone)", "conflict on phone", ...
};
struct PlanReport {
  size_t fetched = 0;
  size_t new_records = 0;
  size_t updated_records = 0;
  size_t conflicts = 0;
  size_t creates = 0;  // pushes that would create a record, by all systems
  size_t updates = 0;
  size_t errors = 0;  // records that would be dead-lettered (mapping errors)
  std::vector<PlanItem> items;
};
Result<PlanReport> plan(boost::asio::io_context& ioc, const mappers::Config& config,
                        AgentOptions options);

}  // namespace tandem::agent::runtime

#pragma once

// The end-to-end world: the three fixture systems in-process on port 0, the demo configuration
// rewritten for them in a temp dir, and the real `tandem run` as a child process that tests can
// stop with SIGTERM or kill with SIGKILL and start again on the same state.
//
//   World w({.poll_interval_ms = 200});
//   w.fixtures().seed(500, {"crm"});
//   w.startAgent();
//   std::string why = w.waitConverged(std::chrono::seconds(60));   // "" when converged
//
// "Converged" is CONVERGENCE.md's: every live customer exists once in every system (by the
// entity's match key, email) and every field that two systems both read and write agrees, as
// compared through the configured mappings, so the check speaks canonical values, not the
// systems' spellings.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conflict/field_map.h"
#include "conflict/result.h"
#include "conflict/value.h"
#include "fixtures/client/fixture_client.h"
#include "fixtures/fixture_server.h"
#include "mappers/config.h"
#include "mappers/mapper.h"

namespace tandem::e2e {

struct WorldOptions {
  int64_t poll_interval_ms = 200;
  bool webhooks = false;  // fixtures deliver webhooks to the agent's admin port
  uint64_t seed = 1;
  // Rate limits the agent uses against each fixture system (the demo's are a person's pace).
  double requests_per_second = 5000;
  int max_in_flight = 8;
  std::string fixture_settings;  // FixtureOptions::configJson
};

// One system's live records in canonical form, by match key (email).
struct SystemView {
  std::map<std::string, std::vector<conflict::FieldMap<conflict::Value>>> by_email;
  std::vector<std::string> errors;  // records whose mapping failed, with the reason
  size_t live = 0;
};

class World {
 public:
  explicit World(WorldOptions options = {});
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  fixtures::FixtureClient& fixtures() { return *client_; }
  const fixtures::FixturePorts& ports() const;
  // CPU seconds the fixture server's thread has used (FixtureServer::cpuSeconds).
  double fixtureCpuSeconds() const;
  const mappers::Config& config() const { return config_; }
  const std::string& dir() const { return dir_; }
  const std::string& configPath() const { return config_path_; }
  uint16_t adminPort() const { return admin_port_; }

  // Starts `tandem run CONFIG` (stderr and stdout appended to dir()/agent.log). Error when the
  // agent already runs or exits within its first 100 ms.
  Status startAgent();
  // "NAME=value" entries added to the environment of every agent started from now on.
  void setAgentEnv(std::vector<std::string> env) { agent_env_ = std::move(env); }
  // SIGTERM and wait; the exit status (0 = drained cleanly).
  Result<int> stopAgent(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // SIGKILL and reap: the crash.
  void killAgent();
  bool agentRunning();
  // SIGSTOP / SIGCONT: while paused the agent observes nothing, so edits made meanwhile in
  // different systems are concurrent for it (cases 5 to 7) without racing its polls.
  Status pauseAgent();
  Status resumeAgent();

  // A GET on the agent's admin API: the body of a 200, else an error.
  Result<std::string> adminGet(const std::string& target);
  // The agent's GET /v1/status body, or an error when it does not answer.
  Result<std::string> agentStatus() { return adminGet("/v1/status"); }
  Result<int64_t> outboxDepth();
  // A top-level integer of /v1/status (outbox_depth, writer_busy_ms, ...).
  Result<int64_t> statusNumber(const std::string& key);
  // Every conflict entry (state=all), all pages, as one JSON array.
  Result<std::string> allConflicts();
  // /v1/status detectors[].records by system: feed records read since this agent started.
  Result<std::map<std::string, uint64_t>> detectorRecordsBySystem();
  // Their sum.
  Result<uint64_t> detectorRecords();

  // Live records of each system mapped to canonical values.
  Result<std::map<std::string, SystemView>> views();
  // "" when converged; else every problem found, one per line (at most 20).
  std::string checkConverged();
  // Polls (outbox empty and checkConverged() == "") until `timeout`; returns "" or the last
  // problems with the tail of the agent's log.
  std::string waitConverged(std::chrono::milliseconds timeout);

  // The fixture counters as JSON, and one of them ("crm", "api_creates").
  Result<std::string> counters();
  Result<int64_t> counter(const std::string& system, const std::string& name);

  // The running agent's file-size limit (RLIMIT_FSIZE, set from outside with prlimit): a write
  // past `bytes` fails with EFBIG, as a full disk fails it with ENOSPC. nullopt lifts it.
  Status limitAgentFileSize(std::optional<uint64_t> bytes);
  // Copies agent.log to agent.log.1 and empties it (the running agent appends on): a file-size
  // limit then leaves the log room.
  Status setAsideAgentLog();
  // The size of a file under dir() ("state/data.mdb", "agent.log"); 0 when missing.
  uint64_t fileSize(const std::string& relative) const;

  // Removes the agent's LMDB state directory (the agent must not be running): case 22.
  Status loseState();

  // The last `lines` lines of the agent's log (those containing `containing`).
  std::string agentLogTail(size_t lines = 40, std::string_view containing = {}) const;
  // With TANDEM_E2E_GDB set: the running agent's thread stacks, saved beside its log; else "".
  std::string agentStacks() const;

 private:
  Status writeConfig();

  WorldOptions options_;
  std::string dir_;
  std::string config_path_;
  uint16_t admin_port_ = 0;
  std::unique_ptr<fixtures::FixtureServer> server_;
  std::unique_ptr<fixtures::FixtureClient> client_;
  mappers::Config config_;
  std::map<std::string, mappers::MappingPlan> plans_;
  pid_t agent_pid_ = -1;
  std::vector<std::string> agent_env_;
};

}  // namespace tandem::e2e

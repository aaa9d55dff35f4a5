#pragma once

// The functions behind the `tandem` subcommands (main.cc wires them with CLI11). Each returns the
// process exit code: 0 ok, 1 failure, 2 bad usage; people read `out`, problems go to `err`.
//
// Read-only commands (conflicts list/show, deadletters list, status when the agent is down) read
// the LMDB store directly: LMDB lets other processes read while the agent writes. Writes (resolve,
// retry) go through the running agent's admin API; with no agent answering they run on the store
// through a SyncEngine, built from what CliContext::engine_config gives (runtime::
// buildEngineConfig in the program, a hand-made config in tests).

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "agent/clock.h"
#include "agent/engine/engine.h"
#include "agent/net/http_message.h"
#include "agent/ops/conflict_query.h"
#include "agent/runtime/agent.h"
#include "conflict/result.h"
#include "mappers/config.h"
#include "mappers/config_loader.h"
#include "state/store.h"

namespace tandem::agent::ops {

// Sends a request (target: "/v1/status") to the admin API of the agent `config` describes.
// nullopt: nothing answers there (the agent is not running); error: it answered badly.
using AdminCall = std::function<Result<std::optional<net::HttpResponse>>(const mappers::Config&,
                                                                         net::HttpRequest)>;
using EngineConfigFn =
    std::function<Result<engine::EngineConfig>(const mappers::Config&, state::Store&)>;

struct CliContext {
  const mappers::ConfigEnv* env = nullptr;  // null: the process environment and file system
  AdminCall admin;                          // empty: HTTP to agent.admin.bind:port
  EngineConfigFn engine_config;             // empty: offline writes are refused
  Clock* clock = nullptr;                   // null: the system clock
  state::Options store;
};

// The default AdminCall: HTTP/1.1 to the configured admin address (0.0.0.0 → 127.0.0.1), with
// the admin token when one is configured. Connect timeout 2 s.
Result<std::optional<net::HttpResponse>> callAdminOverHttp(const mappers::Config& config,
                                                           net::HttpRequest request);

int runStatus(const std::string& config_path, std::ostream& out, std::ostream& err,
              const CliContext& ctx);

int runConflictsList(const std::string& config_path, bool all, std::ostream& out, std::ostream& err,
                     const CliContext& ctx);
// With filters (record, field); the query's limit is ignored: up to 1000 matches are listed.
int runConflictsList(const std::string& config_path, const ConflictQuery& query, std::ostream& out,
                     std::ostream& err, const CliContext& ctx);
int runConflictsShow(const std::string& config_path, const std::string& id, std::ostream& out,
                     std::ostream& err, const CliContext& ctx);
// Exactly one of `take` (a system) and `value` (JSON text) must be given, else exit 2.
int runConflictsResolve(const std::string& config_path, const std::string& id,
                        const std::optional<std::string>& take,
                        const std::optional<std::string>& value, const std::string& note,
                        std::ostream& out, std::ostream& err, const CliContext& ctx);

int runDeadLettersList(const std::string& config_path, std::ostream& out, std::ostream& err,
                       const CliContext& ctx);
// Both or neither of system and record (neither: every dead letter), else exit 2.
int runDeadLettersRetry(const std::string& config_path, const std::optional<std::string>& system,
                        const std::optional<std::string>& record, std::ostream& out,
                        std::ostream& err, const CliContext& ctx);

// `tandem plan`: the report as a table. `plan` is runtime::plan in the program.
using PlanFn = std::function<Result<runtime::PlanReport>(const mappers::Config&)>;
int runPlan(const std::string& config_path, const PlanFn& plan, std::ostream& out,
            std::ostream& err, const CliContext& ctx);
void printPlan(const runtime::PlanReport& report, std::ostream& out);

// ---- shared by the command files ----
namespace cli_detail {
// Which secret references are resolved (read from the environment or file) while loading; the
// others are only checked for shape.
enum class Secrets {
  All,         // the agent's own work (run, plan)
  AdminToken,  // talking to the running agent: its admin API token only
  None,
};
// Loads the configuration or prints every diagnostic (file:line:col) to `err`.
std::optional<mappers::Config> loadConfig(const std::string& path, Secrets secrets,
                                          std::ostream& err, const CliContext& ctx);
// Opens the state the configuration names, refusing to create one that does not exist.
Result<std::unique_ptr<state::Store>> openExistingStore(const mappers::Config& config,
                                                        const CliContext& ctx);
// The stored state of a configuration with one read snapshot of it, for the read-only listings
// (members in this order: the snapshot ends before the store closes). On failure the reason is
// printed as "tandem <command>: <reason>" and nullopt returned.
struct StoredState {
  std::unique_ptr<state::Store> store;
  state::Snapshot snap;
};
std::optional<StoredState> readStoredState(const std::string& config_path, std::string_view command,
                                           std::ostream& err, const CliContext& ctx);
Result<std::optional<net::HttpResponse>> callAdmin(const CliContext& ctx,
                                                   const mappers::Config& config,
                                                   net::HttpRequest request);
// The "error" member of a JSON error body, or the body itself.
std::string errorOf(const net::HttpResponse& response);
std::string adminAddress(const mappers::Config& config);
}  // namespace cli_detail

}  // namespace tandem::agent::ops

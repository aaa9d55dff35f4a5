#pragma once

// `tandem run CONFIG`: the daemon in the foreground. Loads the configuration (every problem with
// its file:line:col), logs as agent.log_format says to `log_out` with every secret masked, makes
// the agent, serves the admin API and the webhook receivers on agent.admin.bind:port, and runs
// the agent's io_context on `threads` threads, and its store writer on one more of its own
// (AgentOptions::writer_context), until:
//   SIGTERM/SIGINT: /readyz goes 503, intake stops, the agent and the server drain, exit 0;
//   SIGHUP:         the configuration is read again and swapped in only if it validates (and the
//                   agent accepts it); the outcome is logged either way.

#include <chrono>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "agent/runtime/agent.h"
#include "mappers/config_loader.h"

namespace boost::asio {
class io_context;
}

namespace tandem::agent::ops {

using AgentFactory = std::function<Result<std::unique_ptr<runtime::Agent>>(
    boost::asio::io_context&, mappers::Config, runtime::AgentOptions)>;

// Handed to RunOptions::on_started once the admin API listens and the agent started.
struct DaemonHandle {
  uint16_t admin_port = 0;
  std::function<void()> shutdown;  // as SIGTERM
  std::function<void()> reload;    // as SIGHUP
};

struct RunOptions {
  AgentFactory make_agent;                  // runtime::Agent::make in the program, a fake in tests
  std::ostream* log_out = nullptr;          // required: where log lines go (stderr in the program)
  bool log_is_tty = false;                  // initial-load progress redrawn in place
  const mappers::ConfigEnv* env = nullptr;  // null: the process environment and file system
  // The io_context's threads (feeds, pushes, mapping, HTTP). With the writer's own thread, one
  // is enough for two cores: a second one only competes with the writer, which bounds a bulk
  // load (bench_e2e_sync, 100,000 records, 2 cores: ~5% more records/s with 1 than with 2).
  int threads = 1;
  std::function<void(const DaemonHandle&)> on_started;
  std::chrono::milliseconds drain_deadline{10000};  // then remaining admin connections are cut
  // Once the agent has gone quiet after work (no record read, merged or pushed for two looks
  // `quiet_check` apart), the heap it freed is given back to the system: an initial load
  // leaves tens of MB free in malloc's arenas that an idle daemon would otherwise keep.
  std::chrono::milliseconds quiet_check{500};
  std::function<void()> release_heap;  // null: malloc_trim(0) (glibc), else nothing
  // Named in the "tandem running" line when set (the program's heap::allocatorName()).
  std::string allocator;
};

// Returns the exit code: 0 after a clean drain, 1 when it could not start (reason on `err` and
// in the log) or when asked to stop twice.
int runDaemon(const std::string& config_path, const RunOptions& options, std::ostream& err);

}  // namespace tandem::agent::ops

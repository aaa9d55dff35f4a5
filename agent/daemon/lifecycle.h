#pragma once

// The daemon's process lifecycle on the one io_context (STYLE.md item 16):
//   SIGTERM / SIGINT: readiness goes false (/readyz answers 503), intake stops, in-flight work
//                     drains, then onExit(0). A second SIGTERM/SIGINT during the drain exits
//                     at once with onExit(1).
//   SIGHUP:           onReload() (re-read config, swap only if it validates; the callback's job).
// Signals arrive through boost::asio::signal_set, so handlers run as ordinary completions on the
// io_context, never inside a signal handler.

#include <functional>
#include <memory>

#include "conflict/result.h"

namespace boost::asio {
class io_context;
}

namespace tandem::agent::daemon {

struct LifecycleHooks {
  std::function<void()> onReload;
  std::function<void()> stopIntake;
  // Drain in-flight work and call `done` when finished (e.g. HttpServer::drain(deadline, done)).
  std::function<void(std::function<void()> done)> drain;
  std::function<void(int exitCode)> onExit;
};

class Lifecycle {
 public:
  Lifecycle(boost::asio::io_context& ioc, LifecycleHooks hooks);
  ~Lifecycle();
  Lifecycle(const Lifecycle&) = delete;
  Lifecycle& operator=(const Lifecycle&) = delete;

  // Installs the signal handlers. Error: "lifecycle: signals: <reason>".
  Status start();
  // The same sequence as SIGTERM, for the admin API and tests. Thread-safe.
  void requestShutdown();

  bool ready() const;
  void setReady(bool ready);
  bool stopping() const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;  // kept alive by its own signal handlers
};

}  // namespace tandem::agent::daemon

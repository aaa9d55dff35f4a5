// Counters and the status() snapshot.

#include "agent/runtime/status.h"

#include <limits>

namespace tandem::agent::runtime::detail {

void Stats::observe(const connector::RequestObservation& o) {
  std::lock_guard lock(mu);
  auto& h = http[{std::string(o.system), std::string(o.op)}];
  if (h.system.empty()) {
    h.system = std::string(o.system);
    h.op = std::string(o.op);
  }
  size_t i = 0;
  while (i < kLatencyBuckets.size() && o.seconds > kLatencyBuckets[i]) {
    ++i;
  }
  if (i < kLatencyBuckets.size()) {
    ++h.buckets[i];
  } else {
    ++h.over;
  }
  ++h.count;
  h.sum_seconds += o.seconds;
  const int cls = o.status / 100;
  ++h.status_classes[cls >= 1 && cls <= 5 ? cls : 0];
}

void Stats::countPush(const std::string& system, const engine::PushOutcome& outcome, bool create) {
  std::lock_guard lock(mu);
  auto& s = systems[system];
  s.name = system;
  std::visit(
      [&](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, engine::PushSuccess>) {
          ++s.pushes.success;
          if (create) {
            ++s.creates;
          }
        } else if constexpr (std::is_same_v<T, engine::PushRetryable>) {
          ++s.pushes.retryable;
        } else if constexpr (std::is_same_v<T, engine::PushStale>) {
          ++s.pushes.stale;
        } else if constexpr (std::is_same_v<T, engine::PushPermanent>) {
          ++s.pushes.permanent;
        } else {
          ++s.pushes.not_found;
        }
      },
      outcome);
}

void Stats::setBreaker(const std::string& system, std::string state) {
  std::lock_guard lock(mu);
  auto& s = systems[system];
  s.name = system;
  s.breaker = std::move(state);
}

AgentStatus buildStatus(Core& core, bool store_gauges) {
  AgentStatus out;
  const bool started = core.started.load();
  if (core.drained()) {
    out.state = "stopped";
  } else if (core.stopping()) {
    out.state = "draining";
  } else {
    out.state = started ? "running" : "starting";
  }
  out.ready = core.ready.load();
  out.started_ms = core.started_ms;
  {
    Stats& st = core.stats();
    std::lock_guard lock(st.mu);
    out.records_synced = st.records_synced;
    out.conflicts_total = st.conflicts_total;
    out.writer_busy_ms = st.writer_busy_ns.load() / 1'000'000;
    const int64_t now = core.clock().nowMs();
    for (const auto& [key, d] : st.detectors) {
      DetectorStatus copy = d;
      copy.lag_ms = copy.last_success_ms > 0 ? now - copy.last_success_ms : 0;
      out.detectors.push_back(std::move(copy));
    }
    for (const auto& [name, s] : st.systems) {
      out.systems.push_back(s);
    }
    for (const auto& [key, h] : st.http) {
      out.http.push_back(h);
    }
    for (const auto& [key, w] : st.webhooks) {
      out.webhooks.push_back(w);
    }
  }
  if (!store_gauges) {
    return out;
  }
  // Gauges from the store (one read snapshot; counters above are already copied).
  auto snap = core.store().read();
  if (!snap) {
    return out;
  }
  if (auto n = snap->recordCount()) {
    out.records_total = *n;
  }
  constexpr size_t kScan = std::numeric_limits<uint32_t>::max();
  if (auto open = snap->openConflicts(kScan)) {
    out.open_conflicts = open->size();
  }
  std::map<conflict::ActorId, std::string> names;
  if (auto actors = snap->actors()) {
    for (const auto& [name, id] : *actors) {
      names[id] = name;
    }
  }
  auto systemOf = [&](conflict::ActorId id) -> SystemStatus* {
    auto n = names.find(id);
    for (auto& s : out.systems) {
      if (n != names.end() && s.name == n->second) {
        return &s;
      }
    }
    return nullptr;
  };
  if (auto outbox = snap->dueOutbox(std::numeric_limits<int64_t>::max(), kScan)) {
    out.outbox_depth = outbox->size();
    for (const auto& e : *outbox) {
      if (SystemStatus* s = systemOf(e.system)) {
        ++s->outbox_depth;
      }
    }
  }
  if (auto dead = snap->deadLetters(std::nullopt, kScan)) {
    out.dead_letters = dead->size();
    for (const auto& d : *dead) {
      if (SystemStatus* s = systemOf(d.system)) {
        ++s->dead_letters;
      }
    }
  }
  return out;
}

}  // namespace tandem::agent::runtime::detail

#include "agent/ops/metrics.h"

#include <array>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <utility>

namespace tandem::agent::ops {

namespace {

using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

std::string formatNumber(double v) {
  if (std::isnan(v)) {
    return "NaN";
  }
  if (std::isinf(v)) {
    return v > 0 ? "+Inf" : "-Inf";
  }
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof buf, v);  // shortest form that reads back exactly
  return std::string(buf, res.ptr);
}

class Writer {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  void sample(std::string_view name, Labels labels, std::string_view value) {
    out_ += name;
    if (labels.size() > 0) {
      out_ += '{';
      bool first = true;
      for (const auto& [k, v] : labels) {
        if (!first) {
          out_ += ',';
        }
        first = false;
        out_ += k;
        out_ += "=\"";
        out_ += escapeLabelValue(v);
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }
  void sample(std::string_view name, Labels labels, uint64_t value) {
    sample(name, labels, std::to_string(value));
  }
  void sample(std::string_view name, Labels labels, double value) {
    sample(name, labels, formatNumber(value));
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

constexpr std::array<const char*, 6> kStatusClasses = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};

void renderSystems(Writer& w, const runtime::AgentStatus& s) {
  w.family("tandem_pushes_total", "counter", "Pushes to a system by outcome.");
  for (const auto& sys : s.systems) {
    const auto& p = sys.pushes;
    for (const auto& [outcome, n] :
         {std::pair{"success", p.success}, std::pair{"retryable", p.retryable},
          std::pair{"stale", p.stale}, std::pair{"permanent", p.permanent},
          std::pair{"not_found", p.not_found}}) {
      w.sample("tandem_pushes_total", {{"system", sys.name}, {"outcome", outcome}}, n);
    }
  }
  w.family("tandem_creates_total", "counter", "Records created in a system.");
  for (const auto& sys : s.systems) {
    w.sample("tandem_creates_total", {{"system", sys.name}}, sys.creates);
  }
  w.family("tandem_outbox_depth", "gauge", "Pushes waiting in the outbox, per system.");
  for (const auto& sys : s.systems) {
    w.sample("tandem_outbox_depth", {{"system", sys.name}}, uint64_t{sys.outbox_depth});
  }
  w.family("tandem_outbox_entries", "gauge", "Pushes waiting in the outbox, all systems.");
  w.sample("tandem_outbox_entries", {}, uint64_t{s.outbox_depth});
  w.family("tandem_dead_letters", "gauge", "Pushes given up on, kept for an operator.");
  for (const auto& sys : s.systems) {
    w.sample("tandem_dead_letters", {{"system", sys.name}}, uint64_t{sys.dead_letters});
  }
  w.family("tandem_breaker_open", "gauge", "1 while the system's circuit breaker is open.");
  for (const auto& sys : s.systems) {
    w.sample("tandem_breaker_open", {{"system", sys.name}}, uint64_t{sys.breaker == "open"});
  }
}

void renderDetectors(Writer& w, const runtime::AgentStatus& s) {
  w.family("tandem_detector_lag_seconds", "gauge",
           "Seconds since the detector's last complete fetch.");
  for (const auto& d : s.detectors) {
    w.sample("tandem_detector_lag_seconds", {{"system", d.system}, {"entity", d.entity}},
             static_cast<double>(d.lag_ms) / 1000.0);
  }
  w.family("tandem_detector_errors_total", "counter", "Failed fetches and ingests.");
  for (const auto& d : s.detectors) {
    w.sample("tandem_detector_errors_total", {{"system", d.system}, {"entity", d.entity}},
             d.errors);
  }
  w.family("tandem_detector_batches_total", "counter", "Batches ingested by the detector.");
  for (const auto& d : s.detectors) {
    w.sample("tandem_detector_batches_total", {{"system", d.system}, {"entity", d.entity}},
             d.batches);
  }
  w.family("tandem_detector_initial_load_done", "gauge",
           "1 once the detector has read its feed to the end.");
  for (const auto& d : s.detectors) {
    w.sample("tandem_detector_initial_load_done", {{"system", d.system}, {"entity", d.entity}},
             uint64_t{d.initial_load_done});
  }
  w.family("tandem_existence_checks_total", "counter",
           "Full existence checks of the records linked to the system that ended.");
  for (const auto& d : s.detectors) {
    w.sample("tandem_existence_checks_total", {{"system", d.system}, {"entity", d.entity}},
             d.existence_checks);
  }
  w.family("tandem_existence_checked_total", "counter",
           "Linked records fetched by existence checks.");
  for (const auto& d : s.detectors) {
    w.sample("tandem_existence_checked_total", {{"system", d.system}, {"entity", d.entity}},
             d.existence_checked);
  }
  w.family("tandem_existence_deletes_total", "counter",
           "Linked records an existence check found gone (reported deleted).");
  for (const auto& d : s.detectors) {
    w.sample("tandem_existence_deletes_total", {{"system", d.system}, {"entity", d.entity}},
             d.existence_deletes);
  }
}

void renderHttp(Writer& w, const runtime::AgentStatus& s) {
  const char* hist = "tandem_http_request_duration_seconds";
  w.family(hist, "histogram", "Latency of requests to the systems' APIs.");
  for (const auto& h : s.http) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < runtime::kLatencyBuckets.size(); ++i) {
      cumulative += h.buckets[i];
      const std::string le = formatNumber(runtime::kLatencyBuckets[i]);
      w.sample("tandem_http_request_duration_seconds_bucket",
               {{"system", h.system}, {"op", h.op}, {"le", le}}, cumulative);
    }
    w.sample("tandem_http_request_duration_seconds_bucket",
             {{"system", h.system}, {"op", h.op}, {"le", "+Inf"}}, cumulative + h.over);
    w.sample("tandem_http_request_duration_seconds_sum", {{"system", h.system}, {"op", h.op}},
             h.sum_seconds);
    w.sample("tandem_http_request_duration_seconds_count", {{"system", h.system}, {"op", h.op}},
             cumulative + h.over);
  }
  w.family("tandem_http_responses_total", "counter",
           "Answers from the systems' APIs by status class (none: no answer).");
  for (const auto& h : s.http) {
    for (size_t c = 0; c < kStatusClasses.size(); ++c) {
      w.sample("tandem_http_responses_total",
               {{"system", h.system}, {"op", h.op}, {"class", kStatusClasses[c]}},
               h.status_classes[c]);
    }
  }
  w.family("tandem_webhooks_total", "counter", "Webhook deliveries by result.");
  for (const auto& hook : s.webhooks) {
    w.sample("tandem_webhooks_total",
             {{"system", hook.system}, {"entity", hook.entity}, {"result", "accepted"}},
             hook.accepted);
    w.sample("tandem_webhooks_total",
             {{"system", hook.system}, {"entity", hook.entity}, {"result", "rejected"}},
             hook.rejected);
  }
}

}  // namespace

std::string escapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string renderMetrics(const runtime::AgentStatus& s) {
  Writer w;
  w.family("tandem_up", "gauge", "1 while the agent process runs.");
  w.sample("tandem_up", {}, uint64_t{1});
  w.family("tandem_ready", "gauge", "1 when the agent is ready (every detector started).");
  w.sample("tandem_ready", {}, uint64_t{s.ready});
  w.family("tandem_start_time_seconds", "gauge", "When the agent started, Unix seconds.");
  w.sample("tandem_start_time_seconds", {}, static_cast<double>(s.started_ms) / 1000.0);
  w.family("tandem_records", "gauge", "Canonical records in the store.");
  w.sample("tandem_records", {}, s.records_total);
  w.family("tandem_records_synced_total", "counter",
           "Records ingested that changed the canonical record.");
  w.sample("tandem_records_synced_total", {}, s.records_synced);
  w.family("tandem_writer_busy_seconds_total", "counter",
           "Time the store's writer spent on engine calls (all store writes go through it).");
  w.sample("tandem_writer_busy_seconds_total", {}, static_cast<double>(s.writer_busy_ms) / 1000.0);
  w.family("tandem_conflicts_open", "gauge", "Conflicts waiting for a person.");
  w.sample("tandem_conflicts_open", {}, uint64_t{s.open_conflicts});
  w.family("tandem_conflicts_total", "counter", "Conflict entries written since start.");
  w.sample("tandem_conflicts_total", {}, s.conflicts_total);
  renderSystems(w, s);
  renderDetectors(w, s);
  renderHttp(w, s);
  return w.take();
}

}  // namespace tandem::agent::ops

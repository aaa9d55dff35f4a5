// Prometheus text format 0.0.4 of a known AgentStatus: the exact text, and every line parsable.

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>

#include "agent/ops/metrics.h"

namespace tandem::agent::ops {
namespace {

runtime::AgentStatus sampleStatus() {
  runtime::AgentStatus s;
  s.state = "running";
  s.ready = true;
  s.started_ms = 1'764'410'400'500;
  s.records_total = 56;
  s.records_synced = 70;
  s.conflicts_total = 3;
  s.writer_busy_ms = 1500;
  s.open_conflicts = 1;
  s.outbox_depth = 4;
  s.dead_letters = 1;
  s.systems.push_back(runtime::SystemStatus{
      .name = "erp",
      .breaker = "open",
      .pushes = {.success = 10, .retryable = 2, .stale = 1, .permanent = 1, .not_found = 0},
      .creates = 6,
      .outbox_depth = 4,
      .dead_letters = 1});
  s.detectors.push_back(runtime::DetectorStatus{.system = "crm",
                                                .entity = "customer",
                                                .webhook = true,
                                                .initial_load_done = true,
                                                .last_success_ms = 1,
                                                .lag_ms = 1500,
                                                .batches = 7,
                                                .records = 56,
                                                .errors = 2,
                                                .last_error = "",
                                                .existence_checks = 3,
                                                .existence_checked = 150,
                                                .existence_deletes = 2});
  runtime::HttpLatency h;
  h.system = "erp";
  h.op = "update";
  h.buckets = {0, 1, 0, 2, 0, 0, 0, 0, 0, 1, 0};
  h.over = 1;
  h.count = 5;
  h.sum_seconds = 7.5;
  h.status_classes = {1, 0, 3, 0, 1, 0};
  s.http.push_back(h);
  s.webhooks.push_back(runtime::WebhookCounters{
      .system = "crm", .entity = "customer", .accepted = 9, .rejected = 1});
  return s;
}

TEST(Metrics, ExactTextForAKnownStatus) {
  const std::string expected = R"(# HELP tandem_up 1 while the agent process runs.
# TYPE tandem_up gauge
tandem_up 1
# HELP tandem_ready 1 when the agent is ready (every detector started).
# TYPE tandem_ready gauge
tandem_ready 1
# HELP tandem_start_time_seconds When the agent started, Unix seconds.
# TYPE tandem_start_time_seconds gauge
tandem_start_time_seconds 1764410400.5
# HELP tandem_records Canonical records in the store.
# TYPE tandem_records gauge
tandem_records 56
# HELP tandem_records_synced_total Records ingested that changed the canonical record.
# TYPE tandem_records_synced_total counter
tandem_records_synced_total 70
# HELP tandem_writer_busy_seconds_total Time the store's writer spent on engine calls (all store writes go through it).
# TYPE tandem_writer_busy_seconds_total counter
tandem_writer_busy_seconds_total 1.5
# HELP tandem_conflicts_open Conflicts waiting for a person.
# TYPE tandem_conflicts_open gauge
tandem_conflicts_open 1
# HELP tandem_conflicts_total Conflict entries written since start.
# TYPE tandem_conflicts_total counter
tandem_conflicts_total 3
# HELP tandem_pushes_total Pushes to a system by outcome.
# TYPE tandem_pushes_total counter
tandem_pushes_total{system="erp",outcome="success"} 10
tandem_pushes_total{system="erp",outcome="retryable"} 2
tandem_pushes_total{system="erp",outcome="stale"} 1
tandem_pushes_total{system="erp",outcome="permanent"} 1
tandem_pushes_total{system="erp",outcome="not_found"} 0
# HELP tandem_creates_total Records created in a system.
# TYPE tandem_creates_total counter
tandem_creates_total{system="erp"} 6
# HELP tandem_outbox_depth Pushes waiting in the outbox, per system.
# TYPE tandem_outbox_depth gauge
tandem_outbox_depth{system="erp"} 4
# HELP tandem_outbox_entries Pushes waiting in the outbox, all systems.
# TYPE tandem_outbox_entries gauge
tandem_outbox_entries 4
# HELP tandem_dead_letters Pushes given up on, kept for an operator.
# TYPE tandem_dead_letters gauge
tandem_dead_letters{system="erp"} 1
# HELP tandem_breaker_open 1 while the system's circuit breaker is open.
# TYPE tandem_breaker_open gauge
tandem_breaker_open{system="erp"} 1
# HELP tandem_detector_lag_seconds Seconds since the detector's last complete fetch.
# TYPE tandem_detector_lag_seconds gauge
tandem_detector_lag_seconds{system="crm",entity="customer"} 1.5
# HELP tandem_detector_errors_total Failed fetches and ingests.
# TYPE tandem_detector_errors_total counter
tandem_detector_errors_total{system="crm",entity="customer"} 2
# HELP tandem_detector_batches_total Batches ingested by the detector.
# TYPE tandem_detector_batches_total counter
tandem_detector_batches_total{system="crm",entity="customer"} 7
# HELP tandem_detector_initial_load_done 1 once the detector has read its feed to the end.
# TYPE tandem_detector_initial_load_done gauge
tandem_detector_initial_load_done{system="crm",entity="customer"} 1
# HELP tandem_existence_checks_total Full existence checks of the records linked to the system that ended.
# TYPE tandem_existence_checks_total counter
tandem_existence_checks_total{system="crm",entity="customer"} 3
# HELP tandem_existence_checked_total Linked records fetched by existence checks.
# TYPE tandem_existence_checked_total counter
tandem_existence_checked_total{system="crm",entity="customer"} 150
# HELP tandem_existence_deletes_total Linked records an existence check found gone (reported deleted).
# TYPE tandem_existence_deletes_total counter
tandem_existence_deletes_total{system="crm",entity="customer"} 2
# HELP tandem_http_request_duration_seconds Latency of requests to the systems' APIs.
# TYPE tandem_http_request_duration_seconds histogram
tandem_http_request_duration_seconds_bucket{system="erp",op="update",le="0.001"} 0
tandem_http_request_duration_seconds_bucket{system="erp",op="update",le="0.0025"} 1
tandem_http_request_duration_seconds_bucket{system="erp",op="update",le="0.005"} 1
tandem_http_request_duration_seconds_bucket{system="erp",op="update",le="0.01"} 3
tandem_http_request_duration_seconds_bucket{system="erp",op="update",le="0.025"} 3
tandem_http_request_duration_seconds_bucket{system="erp",op="update",le="0.05"} 3
tandem_http_request_duration_seconds_bucket{system="erp",op="update",le="0.1"} 3
tandem_http_request_duration_seconds_bucket{system="erp",op="update",le="0.25"} 3
tandem_http_request_duration_seconds_bucket{system="erp",op="update",le="0.5"} 3
tandem_http_request_duration_seconds_bucket{system="erp",op="update",le="1"} 4
tandem_http_request_duration_seconds_bucket{system="erp",op="update",le="5"} 4
tandem_http_request_duration_seconds_bucket{system="erp",op="update",le="+Inf"} 5
tandem_http_request_duration_seconds_sum{system="erp",op="update"} 7.5
tandem_http_request_duration_seconds_count{system="erp",op="update"} 5
# HELP tandem_http_responses_total Answers from the systems' APIs by status class (none: no answer).
# TYPE tandem_http_responses_total counter
tandem_http_responses_total{system="erp",op="update",class="none"} 1
tandem_http_responses_total{system="erp",op="update",class="1xx"} 0
tandem_http_responses_total{system="erp",op="update",class="2xx"} 3
tandem_http_responses_total{system="erp",op="update",class="3xx"} 0
tandem_http_responses_total{system="erp",op="update",class="4xx"} 1
tandem_http_responses_total{system="erp",op="update",class="5xx"} 0
# HELP tandem_webhooks_total Webhook deliveries by result.
# TYPE tandem_webhooks_total counter
tandem_webhooks_total{system="crm",entity="customer",result="accepted"} 9
tandem_webhooks_total{system="crm",entity="customer",result="rejected"} 1
)";
  EXPECT_EQ(renderMetrics(sampleStatus()), expected);
}

// Every line is a comment (HELP/TYPE of a known type) or `name{labels} value`; every sample
// belongs to the family its TYPE announced; histogram buckets never decrease.
TEST(Metrics, EveryLineParses) {
  runtime::AgentStatus s = sampleStatus();
  s.systems[0].name = "we\"ird\\sys\nx";  // escaped, not breaking the line
  const std::string text = renderMetrics(s);
  const std::regex comment(R"(# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*))");
  const std::regex sample(
      R"re(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? ([-+0-9.eE]+|\+Inf|NaN))re");
  std::istringstream in(text);
  std::string line, family;
  std::set<std::string> typed;
  size_t samples = 0;
  uint64_t last_bucket = 0;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, comment)) {
      family = m[2];
      if (m[1] == "TYPE") {
        EXPECT_TRUE(m[3] == "gauge" || m[3] == "counter" || m[3] == "histogram") << line;
        EXPECT_TRUE(typed.insert(family).second) << "family typed twice: " << family;
      }
      last_bucket = 0;
      continue;
    }
    ASSERT_TRUE(std::regex_match(line, m, sample)) << "unparsable line: " << line;
    ++samples;
    const std::string name = m[1];
    EXPECT_EQ(name.rfind(family, 0), 0u) << name << " outside its family " << family;
    if (name.ends_with("_bucket")) {
      const uint64_t v = std::stoull(m[5]);
      EXPECT_GE(v, last_bucket) << line;
      last_bucket = v;
    }
  }
  EXPECT_EQ(samples, 47u);  // as many as in ExactTextForAKnownStatus
  EXPECT_NE(text.find(R"(tandem_creates_total{system="we\"ird\\sys\nx"} 6)"), std::string::npos)
      << text;
}

TEST(Metrics, LabelEscaping) {
  EXPECT_EQ(escapeLabelValue("plain"), "plain");
  EXPECT_EQ(escapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
}

TEST(Metrics, EmptyStatusStillHasEveryFamily) {
  const std::string text = renderMetrics(runtime::AgentStatus{});
  EXPECT_NE(text.find("tandem_up 1\n"), std::string::npos);
  EXPECT_NE(text.find("tandem_ready 0\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE tandem_http_request_duration_seconds histogram\n"),
            std::string::npos);
  EXPECT_EQ(text.find("_bucket"), std::string::npos);
}

}  // namespace
}  // namespace tandem::agent::ops

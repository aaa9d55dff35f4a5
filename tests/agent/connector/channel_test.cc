// The system channel against the fixture servers: the circuit breaker opens, fails fast and
// recovers on simulated time; the request observer sees every request.
#include <mutex>

#include "tests/agent/connector/connector_test_util.h"

namespace tandem::agent::connector::testing {
namespace {

TEST_F(ConnectorTest, BreakerOpensAfterConsecutiveFailuresFailsFastAndRecovers) {
  SimulatedClock sim;
  ChannelOptions options;
  options.breaker_failures = 3;
  options.breaker_cooldown_ms = 30000;
  Connector& c = connector("erp", options, &sim);
  SystemChannel& channel = lastChannel();
  EXPECT_EQ(channel.breakerState(), "closed");
  settings("erp", R"({"p_500":1})");
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(fetch(c, std::nullopt));
  }
  EXPECT_EQ(channel.breakerState(), "open");
  const int64_t sent = counter("erp", "requests");
  auto fast = fetch(c, std::nullopt);
  ASSERT_FALSE(fast);
  EXPECT_EQ(fast.error().message,
            "connector erp.customer feed: page 1: breaker erp: open after 3 consecutive failures, "
            "probe in 30000 ms");
  rapidjson::Document fields = parseJson(R"({"phone":"1"})");
  const auto pushed = run(c.update("1", fields, ""));
  const auto* retry = as<engine::PushRetryable>(pushed);
  ASSERT_TRUE(retry) << describe(pushed);
  EXPECT_EQ(retry->retry_after_ms, 30000);
  EXPECT_EQ(counter("erp", "requests"), sent) << "an open breaker sent requests";

  // After the cooldown one probe goes out; failing, it opens the breaker again.
  sim.advanceMs(30000);
  EXPECT_FALSE(fetch(c, std::nullopt));
  EXPECT_EQ(counter("erp", "requests"), sent + 1);
  EXPECT_EQ(channel.breakerState(), "open");

  settings("erp", R"({"p_500":0})");
  sim.advanceMs(30000);
  auto probe = fetch(c, std::nullopt);
  EXPECT_TRUE(probe) << probe.error().message;
  EXPECT_EQ(channel.breakerState(), "closed");
}

TEST_F(ConnectorTest, ObserverSeesEveryRequestWithItsOperationAndStatus) {
  std::mutex mu;
  std::vector<std::string> seen;
  ChannelOptions options;
  options.observer = [&](const RequestObservation& o) {
    std::lock_guard lock(mu);
    seen.push_back(std::string(o.system) + " " + std::string(o.op) + " " +
                   std::to_string(o.status));
    EXPECT_GE(o.seconds, 0);
  };
  Connector& c = connector("crm", options);
  auto doc = parseJson(R"({"properties":{"email":"o@x.io"}})");
  const auto created = run(c.create(doc, ""));
  const auto* ok = as<engine::PushSuccess>(created);
  ASSERT_TRUE(ok) << describe(created);
  ASSERT_TRUE(fetch(c, std::nullopt));
  ASSERT_TRUE(run(c.get(ok->native_id)));
  auto patch = parseJson(R"({"properties":{"phone":"2"}})");
  run(c.update(ok->native_id, patch, ""));
  run(c.remove(ok->native_id, ""));
  run(c.remove(ok->native_id, ""));  // archived already: 404
  std::lock_guard lock(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{"crm create 201", "crm feed 200", "crm get 200",
                                            "crm update 200", "crm delete 204", "crm delete 404"}));
}

}  // namespace
}  // namespace tandem::agent::connector::testing

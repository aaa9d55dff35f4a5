// "existence_check" under "agent" (the default) and under a system (its keys override the
// agent's): values, defaults and validation errors with file:line:col and path.

#include <gtest/gtest.h>

#include "mappers/config_loader.h"
#include "tests/mappers/test_env.h"

namespace tandem::mappers {
namespace {

// Two systems; `agent_check` and `a_check` are the existence_check members of the agent and of
// system "a" ("" = none). Line numbers matter: the agent's is on line 2, system a's on line 7.
std::string config(const std::string& agent_check, const std::string& a_check) {
  return R"({
  "agent": {"poll_interval_ms": 1000)" +
         (agent_check.empty() ? "" : ", \"existence_check\": " + agent_check) + R"(},
  "entities": [{"name": "c", "match_keys": ["email"], "fields": {"email": {"type": "string"}}}],
  "systems": [
    {"name": "a", "base_url": "http://h", "auth": {"kind": "none"},)" +
         R"(
     "entities": {},)" +
         R"(
     "default_backoff_ms": 10)" +
         (a_check.empty() ? "" : ", \"existence_check\": " + a_check) + R"(},
    {"name": "b", "base_url": "http://h", "auth": {"kind": "none"}, "entities": {}}
  ]
})";
}

ConfigResult load(const std::string& text) {
  testing::FakeEnv env;
  return loadConfigText(text, "c.json", env);
}

std::vector<std::string> errorsOf(const std::string& text) {
  return testing::errorsOf(load(text));
}

using Errors = std::vector<std::string>;

TEST(ExistenceCheckConfig, OffByDefault) {
  auto cfg = load(config("", ""));
  ASSERT_TRUE(cfg) << cfg.error().formatAll();
  EXPECT_EQ(cfg->agent.existence_check.interval_ms, 0);
  EXPECT_EQ(cfg->existenceCheck(cfg->systems[0]).interval_ms, 0);
  EXPECT_EQ(cfg->existenceCheck(cfg->systems[0]).max_per_s, 5);
}

TEST(ExistenceCheckConfig, AgentDefaultAndSystemOverrideOfTheKeysItGives) {
  auto cfg = load(config(R"({"interval_s": 21600, "max_per_s": 5})", R"({"max_per_s": 0.5})"));
  ASSERT_TRUE(cfg) << cfg.error().formatAll();
  const ExistenceCheck a = cfg->existenceCheck(cfg->systems[0]);
  const ExistenceCheck b = cfg->existenceCheck(cfg->systems[1]);
  EXPECT_EQ(a.interval_ms, 21600 * 1000);  // the agent's
  EXPECT_EQ(a.max_per_s, 0.5);             // its own
  EXPECT_EQ(b.interval_ms, 21600 * 1000);
  EXPECT_EQ(b.max_per_s, 5);
}

TEST(ExistenceCheckConfig, SystemTurnsItOffWithZero) {
  auto cfg = load(config(R"({"interval_s": 3600})", R"({"interval_s": 0})"));
  ASSERT_TRUE(cfg) << cfg.error().formatAll();
  EXPECT_EQ(cfg->existenceCheck(cfg->systems[0]).interval_ms, 0);
  EXPECT_EQ(cfg->existenceCheck(cfg->systems[1]).interval_ms, 3600 * 1000);
}

TEST(ExistenceCheckConfig, IntervalBelowAMinuteIsRefused) {
  EXPECT_EQ(errorsOf(config(R"({"interval_s": 30})", "")),
            Errors{"c.json:2:73: agent.existence_check.interval_s: an existence check runs at "
                   "most once a minute: 0 (off) or at least 60"});
}

TEST(ExistenceCheckConfig, OutOfRangeWrongTypeAndUnknownKeyEachReported) {
  EXPECT_EQ(errorsOf(config(R"({"interval_s": 99999999, "max_per_s": 0})",
                            R"({"interval_s": "often", "max_per_sec": 2})")),
            (Errors{"c.json:2:73: agent.existence_check.interval_s: out of range: 99999999 is "
                    "not in [0, 2592000]",
                    "c.json:2:96: agent.existence_check.max_per_s: out of range: 0",
                    "c.json:7:66: systems[0].existence_check.interval_s: expected integer, got "
                    "string",
                    "c.json:7:75: systems[0].existence_check.max_per_sec: unknown key "
                    "\"max_per_sec\" (did you mean \"max_per_s\"?)"}));
}

TEST(ExistenceCheckConfig, NotAnObject) {
  EXPECT_EQ(errorsOf(config("21600", "")),
            Errors{"c.json:2:58: agent.existence_check: expected object, got integer"});
}

}  // namespace
}  // namespace tandem::mappers

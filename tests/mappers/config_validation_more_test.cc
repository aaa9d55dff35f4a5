// More validation cases, each with its exact message and location.

#include <gtest/gtest.h>

#include "mappers/config_loader.h"
#include "tests/mappers/test_env.h"

namespace tandem::mappers {
namespace {

// One system, one entity; `connector_extra` and `mapping` vary. Line numbers matter.
std::string config(const std::string& connector_extra, const std::string& mapping,
                   const std::string& top_extra = "") {
  return R"({)" + top_extra + R"(
  "entities": [{"name": "c", "match_keys": ["email"], "fields": {
    "email": {"type": "string"}, "first": {"type": "string"}, "last": {"type": "string"},
    "n": {"type": "integer"}}}],
  "systems": [{"name": "a", "base_url": "http://h", "auth": {"kind": "none"},
    "entities": {"c": {"connector": {
      "feed": {"url": "/f", "records": "", "since": {}, "paging": {"kind": "none",
               "max_results": 10}},
      "record": {"id": "/id", "updated": "/u"}, "get": {"url": "/g/{id}"},
      "create": {"url": "/c", "id": {"header": "Location"}}, "update": {"url": "/u/{id}"})" +
         connector_extra + R"(},
      "mapping": )" +
         mapping + R"(}}}]
})";
}

const std::string kMapping = R"({"fields": {"email": {"path": "/email"}}})";

std::vector<std::string> errorsOf(const std::string& text) {
  testing::FakeEnv env;
  env.vars["SECRET"] = "s";
  return testing::errorsOf(loadConfigText(text, "c.json", env));
}

using Errors = std::vector<std::string>;

TEST(ConfigValidationMore, BaseIsValid) {
  EXPECT_EQ(errorsOf(config("", kMapping)), Errors{});
}

TEST(ConfigValidationMore, WebhookSignature) {
  EXPECT_EQ(
      errorsOf(config(R"(, "webhook": {"path": "/h", "ids": "/*/id", "signature": {
        "header": "X-Sig", "encoding": "base46", "parts": ["body", "timestmap", "timestamp"],
        "secret": {"env": "SECRET"}}})",
                      kMapping)),
      (Errors{"c.json:11:40: systems[0].entities.c.connector.webhook.signature.encoding: unknown "
              "encoding \"base46\" (did you mean \"base64\"?)",
              "c.json:11:68: systems[0].entities.c.connector.webhook.signature.parts[1]: unknown "
              "signature part \"timestmap\" (did you mean \"timestamp\"?)",
              "c.json:10:147: systems[0].entities.c.connector.webhook.signature: signature part "
              "\"timestamp\" needs \"timestamp_header\""}));
}

TEST(ConfigValidationMore, DuplicateKeyFirstOneCounts) {
  EXPECT_EQ(errorsOf(config(R"(, "get": {"url": "/g/{id}", "record": "/items/*"})", kMapping)),
            Errors{"c.json:10:92: systems[0].entities.c.connector.get: duplicate key \"get\""});
}

TEST(ConfigValidationMore, WildcardOnlyInWebhookIds) {
  std::string text = config("", kMapping);
  text.replace(text.find(R"("records": "")"), 13, R"("records": "/a/*")");
  EXPECT_EQ(errorsOf(text),
            Errors{"c.json:7:40: systems[0].entities.c.connector.feed.records: wildcard \"*\" "
                   "is only allowed in webhook ids"});
}

TEST(ConfigValidationMore, DeleteByFieldNeedsFields) {
  EXPECT_EQ(errorsOf(config(R"(, "delete": {"mode": "field"})", kMapping)),
            Errors{"c.json:10:102: systems[0].entities.c.connector.delete: missing required key "
                   "\"fields\""});
}

TEST(ConfigValidationMore, JoinsAndEncodings) {
  std::string mapping = R"({"fields": {"email": {"path": "/email"},
        "n": {"path": "/n", "as": "many2one", "default_on_create": "seven",
              "empty_as": 0}},
        "joins": [{"path": "/name", "fields": ["first", "lsat", "n"], "separator": ""}]})";
  EXPECT_EQ(errorsOf(config("", mapping)),
            (Errors{"c.json:13:27: systems[0].entities.c.mapping.fields.n.empty_as: expected "
                    "null, \"\" or false",
                    "c.json:12:68: systems[0].entities.c.mapping.fields.n.default_on_create: "
                    "expected a value of type integer, got string",
                    "c.json:14:19: systems[0].entities.c.mapping.joins[0].separator: separator "
                    "cannot be empty",
                    "c.json:14:57: systems[0].entities.c.mapping.joins[0].fields[1]: unknown field "
                    "\"lsat\" of entity c (did you mean \"last\"?)",
                    "c.json:14:65: systems[0].entities.c.mapping.joins[0].fields[2]: a join needs "
                    "string fields"}));
}

TEST(ConfigValidationMore, AgentSettings) {
  EXPECT_EQ(errorsOf(config("", kMapping,
                            R"( "agent": {"admin": {"bind": "0.0.0.0", "port": 70000},
                                "log_format": "jsno"},)")),
            (Errors{"c.json:2:47: agent.log_format: unknown log_format \"jsno\" (did you mean "
                    "\"json\"?)",
                    "c.json:1:50: agent.admin.port: out of range: 70000 is not in [0, 65535]",
                    "c.json:1:22: agent.admin: an admin API bound beyond loopback needs a "
                    "\"token\""}));
}

TEST(ConfigValidationMore, LogLevel) {
  testing::FakeEnv env;
  auto cfg =
      loadConfigText(config("", kMapping, R"( "agent": {"log_level": "debug"},)"), "c.json", env);
  ASSERT_TRUE(cfg) << cfg.error().formatAll();
  EXPECT_EQ(cfg->agent.log_level, LogLevelSetting::Debug);
  auto plain = loadConfigText(config("", kMapping), "c.json", env);
  ASSERT_TRUE(plain) << plain.error().formatAll();
  EXPECT_EQ(plain->agent.log_level, LogLevelSetting::Info);
  EXPECT_EQ(errorsOf(config("", kMapping, R"( "agent": {"log_level": "debgu"},)")),
            (Errors{"c.json:1:26: agent.log_level: unknown log_level \"debgu\" (did you mean "
                    "\"debug\"?)"}));
}

// batch.create's "error": a pointer into each result (QuickBooks: "/Fault"), checked like the
// other pointers, not "" (every result would fail), and only where results are read (create).
TEST(ConfigValidationMore, BatchCreateErrorPointer) {
  const auto batch = [](const std::string& create_extra, const std::string& read_extra = "") {
    return config(R"(, "batch": {"create": {"url": "/b", "body": {"items": []},
        "items_at": "/items", "results": "/results", "id": "/id")" +
                      create_extra + R"(}, "read": {"url": "/r")" + read_extra + "}}",
                  kMapping);
  };
  testing::FakeEnv env;
  auto cfg = loadConfigText(batch(R"(, "error": "/Fault")"), "c.json", env);
  ASSERT_TRUE(cfg) << cfg.error().formatAll();
  const auto& endpoints = cfg->systems[0].entities[0].connector.batch;
  ASSERT_EQ(endpoints.size(), 2u);
  EXPECT_EQ(endpoints[0].name, "create");
  EXPECT_EQ(endpoints[0].error_pointer, "/Fault");
  EXPECT_EQ(endpoints[1].error_pointer, "");
  EXPECT_EQ(errorsOf(batch(R"(, "error": "Fault")")),
            Errors{"c.json:11:76: systems[0].entities.c.connector.batch.create.error: invalid JSON "
                   "pointer \"Fault\": it is empty or starts with '/', and '~' is written ~0"});
  EXPECT_EQ(errorsOf(batch(R"(, "error": 5)")),
            Errors{"c.json:11:76: systems[0].entities.c.connector.batch.create.error: expected "
                   "string, got integer"});
  EXPECT_EQ(errorsOf(batch(R"(, "error": "")")),
            Errors{"c.json:11:76: systems[0].entities.c.connector.batch.create.error: \"\" would "
                   "make every result a failure: point at the member that carries a result's "
                   "error"});
  EXPECT_EQ(errorsOf(batch("", R"(, "error": "/Fault")")),
            Errors{"c.json:11:90: systems[0].entities.c.connector.batch.read.error: unknown key "
                   "\"error\""});
}

TEST(ConfigValidationMore, IncludeStandsAlone) {
  EXPECT_EQ(errorsOf(config("", R"({"include": "m.json", "fields": {}})")),
            Errors{"c.json:11:18: systems[0].entities.c.mapping: \"include\" stands alone: put "
                   "the other keys in the included file"});
}

}  // namespace
}  // namespace tandem::mappers

// Configuration validation: every problem at once, each with file:line:col, JSON path, exact
// message and a suggestion where a name is close to a known one.

#include <gtest/gtest.h>

#include "mappers/config_loader.h"
#include "tests/mappers/test_env.h"

namespace tandem::mappers {
namespace {

// A minimal valid configuration; tests replace one piece at a time. Line numbers matter.
const std::string kBase = R"({
  "entities": [{
    "name": "customer",
    "fields": {
      "email": {"type": "string", "normalize": {"case": "lower"}},
      "tags": {"type": "string-set", "policy": "union"},
      "score": {"type": "number"}
    },
    "match_keys": ["email"]
  }],
  "systems": [{
    "name": "crm",
    "base_url": "http://127.0.0.1:1",
    "auth": {"kind": "bearer", "token": {"env": "CRM_TOKEN"}},
    "entities": {"customer": {
      "connector": {
        "feed": {"url": "/feed?since={since}", "records": "/results",
                 "since": {"format": "epoch_ms"}, "paging": {"kind": "none", "max_results": 100}},
        "record": {"id": "/id", "updated": "/updatedAt"},
        "get": {"url": "/c/{id}"},
        "create": {"url": "/c", "id": {"body": "/id"}},
        "update": {"url": "/c/{id}"}
      },
      "mapping": {"fields": {"email": {"path": "/properties/email"},
                             "tags": {"path": "/properties/tags", "as": "string"}}}
    }}
  }]
}
)";

std::vector<std::string> errorsOf(const std::string& text, testing::FakeEnv env = {}) {
  env.vars.emplace("CRM_TOKEN", "t0ken");
  auto cfg = loadConfigText(text, "cfg/demo.json", env);
  std::vector<std::string> out;
  if (!cfg) {
    for (const auto& d : cfg.error().items()) {
      out.push_back(d.format());
    }
  }
  return out;
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

using Errors = std::vector<std::string>;

TEST(ConfigValidation, BaseIsValid) {
  EXPECT_EQ(errorsOf(kBase), Errors{});
}

TEST(ConfigValidation, UnknownEnumValueWithSuggestion) {
  EXPECT_EQ(errorsOf(replaced(kBase, R"("format": "epoch_ms")", R"("format": "epoch_sec")")),
            Errors{"cfg/demo.json:18:38: systems[0].entities.customer.connector.feed.since.format:"
                   " unknown format \"epoch_sec\" (did you mean \"epoch_s\"?)"});
}

TEST(ConfigValidation, UnknownKeyWithSuggestionAndMissingKey) {
  EXPECT_EQ(errorsOf(replaced(kBase, R"("base_url": "http://127.0.0.1:1")",
                              R"("base_ulr": "http://127.0.0.1:1")")),
            (Errors{"cfg/demo.json:11:15: systems[0]: missing required key \"base_url\"",
                    "cfg/demo.json:13:5: systems[0].base_ulr: unknown key \"base_ulr\" (did you "
                    "mean \"base_url\"?)"}));
}

TEST(ConfigValidation, WrongTypes) {
  EXPECT_EQ(errorsOf(replaced(kBase, R"("max_results": 100)", R"("max_results": "100")")),
            Errors{"cfg/demo.json:18:93: systems[0].entities.customer.connector.feed.paging."
                   "max_results: expected integer, got string"});
}

TEST(ConfigValidation, EveryProblemAtOnce) {
  std::string text = replaced(kBase, R"("policy": "union")", R"("policy": "max")");
  text = replaced(text, R"(["email"])", R"(["emial"])");
  text = replaced(text, R"({"env": "CRM_TOKEN"})", R"("abc")");
  text = replaced(text, R"("/c/{id}"})", R"("/c/{ID}"})");
  EXPECT_EQ(errorsOf(text),
            (Errors{
                "cfg/demo.json:6:48: entities[0].fields.tags.policy: policy \"max\" does not fit "
                "type string-set",
                "cfg/demo.json:9:20: entities[0].match_keys[0]: unknown field \"emial\" (did you "
                "mean \"email\"?)",
                "cfg/demo.json:14:41: systems[0].auth.token: secrets are never inline: write "
                "{\"env\": \"NAME\"} or {\"file\": \"path\"}",
                "cfg/demo.json:20:24: systems[0].entities.customer.connector.get.url: unknown "
                "placeholder \"{ID}\" (did you mean \"id\"?)",
            }));
}

TEST(ConfigValidation, MappingProblems) {
  std::string text = replaced(kBase, R"("email": {"path": "/properties/email"})",
                              R"("emails": {"path": "/properties/email"},
                               "score": {"path": "properties/score", "format": "rfc3339"})");
  EXPECT_EQ(errorsOf(text),
            (Errors{"cfg/demo.json:24:30: systems[0].entities.customer.mapping.fields.emails: "
                    "unknown field \"emails\" of entity customer (did you mean \"email\"?)",
                    "cfg/demo.json:25:50: systems[0].entities.customer.mapping.fields.score.path:"
                    " invalid JSON pointer \"properties/score\": it is empty or starts with '/', "
                    "and '~' is written ~0",
                    "cfg/demo.json:25:80: systems[0].entities.customer.mapping.fields.score.format"
                    ": \"format\" is only for date-time fields"}));
}

TEST(ConfigValidation, NonInvertibleMapIsAnErrorUnlessOneWay) {
  std::string field = R"("email": {"path": "/properties/email", "map": {"a": "x", "b": "x"}})";
  std::string text = replaced(kBase, R"("email": {"path": "/properties/email"})", field);
  EXPECT_EQ(errorsOf(text),
            Errors{"cfg/demo.json:24:92: systems[0].entities.customer.mapping.fields.email.map.b"
                   ": map is not invertible: \"a\" and \"b\" both map to \"x\"; declare "
                   "\"direction\": \"read\" or keep one"});
  std::string one_way = R"("email": {"path": "/properties/email", "direction": "read",
                                     "map": {"a": "x", "b": "x"}})";
  EXPECT_EQ(errorsOf(replaced(kBase, R"("email": {"path": "/properties/email"})", one_way)),
            Errors{});
}

TEST(ConfigValidation, TwoFieldsWritingOnePath) {
  std::string text =
      replaced(kBase, R"("path": "/properties/tags")", R"("path": "/properties/email")");
  EXPECT_EQ(errorsOf(text),
            Errors{"cfg/demo.json:25:38: systems[0].entities.customer.mapping.fields.tags: path "
                   "\"/properties/email\" is already written by "
                   "systems[0].entities.customer.mapping.fields.email"});
}

TEST(ConfigValidation, PolicySystemsMustExist) {
  std::string text =
      replaced(kBase, R"("type": "number"})",
               R"("type": "number", "policy": {"kind": "prefer", "systems": ["crn"]}})");
  EXPECT_EQ(errorsOf(text),
            Errors{"cfg/demo.json:7:76: entities[0].fields.score.policy.systems[0]: unknown "
                   "system \"crn\" (did you mean \"crm\"?)"});
}

TEST(ConfigValidation, ParseErrorsCarryLineAndColumn) {
  EXPECT_EQ(errorsOf("{\n  \"systems\": [\n    {\"name\": \"crm\" \"x\": 1}\n  ]\n}\n"),
            Errors{"cfg/demo.json:3:20: parse error: Missing a comma or '}' after an object "
                   "member."});
  EXPECT_EQ(errorsOf("{\"a\": \"\xff\"}"),
            Errors{"cfg/demo.json:1:8: parse error: Invalid encoding in string."});
  std::string deep(100, '[');
  EXPECT_EQ(errorsOf(deep),
            Errors{"cfg/demo.json:1:65: parse error: nesting deeper than 64 levels"});
}

TEST(ConfigValidation, CommentsAndTrailingCommasAreAllowed) {
  std::string text = replaced(kBase, R"("match_keys": ["email"])",
                              "// who is who\n    \"match_keys\": [\"email\",], /* ok */");
  EXPECT_EQ(errorsOf(text), Errors{});
}

TEST(ConfigValidation, IncludedMappingReportsItsOwnFile) {
  testing::FakeEnv env;
  env.files["cfg/maps/crm.json"] = "{\n  \"fields\": {\n    \"email\": {\"path\": 7}\n  }\n}\n";
  std::string text =
      replaced(kBase, R"("mapping": {"fields": {"email": {"path": "/properties/email"},
                             "tags": {"path": "/properties/tags", "as": "string"}}})",
               R"("mapping": {"include": "maps/crm.json"})");
  EXPECT_EQ(errorsOf(text, env),
            Errors{"cfg/maps/crm.json:3:23: systems[0].entities.customer.mapping.fields.email."
                   "path: expected string, got integer"});
  EXPECT_EQ(errorsOf(replaced(text, "maps/crm.json", "maps/none.json"), env),
            Errors{"cfg/demo.json:24:30: systems[0].entities.customer.mapping.include: cannot "
                   "include \"maps/none.json\": cannot open cfg/maps/none.json"});
}

TEST(ConfigValidation, SecretsResolvedThroughTheInjectedEnvironment) {
  testing::FakeEnv env;
  env.files["cfg/secrets/crm"] = "s3cret\n";
  std::string text = replaced(kBase, R"({"env": "CRM_TOKEN"})", R"({"file": "secrets/crm"})");
  auto cfg = loadConfigText(text, "cfg/demo.json", env);
  ASSERT_TRUE(cfg.has_value()) << cfg.error().formatAll();
  EXPECT_EQ(cfg->systems[0].auth.secret.reveal(), "s3cret");
  EXPECT_EQ(cfg->systems[0].auth.secret.describe(), "file:secrets/crm");
  testing::FakeEnv empty;
  auto missing = loadConfigText(kBase, "cfg/demo.json", empty);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().formatAll(),
            "cfg/demo.json:14:41: systems[0].auth.token: environment variable CRM_TOKEN is not "
            "set\n");
}

TEST(ConfigValidation, ConnectorConsistency) {
  std::string text = replaced(kBase, R"("update": {"url": "/c/{id}"})",
                              R"("update": {"url": "/c/{id}", "concurrency": "if_match"})");
  EXPECT_EQ(errorsOf(text),
            Errors{"cfg/demo.json:22:19: systems[0].entities.customer.connector.update: "
                   "concurrency needs \"stale\": the status (and error code) of a stale write"});
}

// The feed's dense_fallback: a pageable request for one updated second ({from}..{to}).
const std::string kFallback =
    R"("paging": {"kind": "none", "max_results": 100},
                 "dense_fallback": {"url": "/q?from={from}&to={to}&start={offset}",
                                    "records": "/QueryResponse/Customer",
                                    "paging": {"kind": "offset_limit", "offset_base": 1}}},)";

std::string withFallback(const std::string& from = "", const std::string& to = "") {
  std::string text =
      replaced(kBase, R"("paging": {"kind": "none", "max_results": 100}},)", kFallback);
  return from.empty() ? text : replaced(text, from, to);
}

TEST(ConfigValidation, DenseFallbackIsValid) {
  EXPECT_EQ(errorsOf(withFallback()), Errors{});
  auto cfg = loadConfigText(withFallback(), "cfg/demo.json", [] {
    testing::FakeEnv env;
    env.vars.emplace("CRM_TOKEN", "t0ken");
    return env;
  }());
  ASSERT_TRUE(cfg) << cfg.error().formatAll();
  const auto& feed = cfg->systems[0].entities[0].connector.feed;
  ASSERT_TRUE(feed.dense_fallback);
  EXPECT_EQ(feed.dense_fallback->paging.kind, PagingKind::OffsetLimit);
  EXPECT_EQ(feed.dense_fallback->paging.offset_base, 1);
  EXPECT_EQ(feed.dense_fallback->format, TimeFormat::EpochMs) << "the feed's since format";
  EXPECT_EQ(feed.dense_fallback->records_pointer, "/QueryResponse/Customer");
}

TEST(ConfigValidation, DenseFallbackProblems) {
  std::string text = withFallback(R"("records": "/QueryResponse/Customer",)", "");
  text = replaced(text, "start={offset}", "start={since}");
  text = replaced(text, R"({"kind": "offset_limit", "offset_base": 1})",
                  R"({"kind": "none", "offset_base": 2, "max_results": 10})");
  EXPECT_EQ(
      errorsOf(text),
      (Errors{"cfg/demo.json:19:44: systems[0].entities.customer.connector.feed.dense_fallback.url:"
              " unknown placeholder \"{since}\"",
              "cfg/demo.json:19:36: systems[0].entities.customer.connector.feed.dense_fallback: "
              "missing required key \"records\"",
              "cfg/demo.json:21:79: systems[0].entities.customer.connector.feed.dense_fallback."
              "paging.offset_base: out of range: 2 is not in [0, 1]",
              "cfg/demo.json:21:97: systems[0].entities.customer.connector.feed.dense_fallback."
              "paging.max_results: the dense fallback reads its second to the end: it cannot "
              "have a cap",
              "cfg/demo.json:21:56: systems[0].entities.customer.connector.feed.dense_fallback."
              "paging.kind: the dense fallback must page through its second: offset_limit, "
              "starting_after, body_token or next_url"}));
}

TEST(ConfigValidation, DenseFallbackMustSelectTheSecondOfACappedFeed) {
  std::string text = withFallback("/q?from={from}&to={to}&start={offset}", "/q?start={offset}");
  text = replaced(text, R"("since": {"format": "epoch_ms"})",
                  R"("since": {"source": "token", "token_pointer": "/next"})");
  EXPECT_EQ(errorsOf(text),
            (Errors{"cfg/demo.json:19:36: systems[0].entities.customer.connector.feed."
                    "dense_fallback: the request must select the second by {from} (and {to}, one "
                    "second later)",
                    "cfg/demo.json:19:36: systems[0].entities.customer.connector.feed."
                    "dense_fallback: a dense fallback needs since.source \"max_updated\": it "
                    "reads one updated second"}));
  EXPECT_EQ(errorsOf(withFallback(R"("max_results": 100)", R"("max_results": 0)")),
            Errors{"cfg/demo.json:19:36: systems[0].entities.customer.connector.feed."
                   "dense_fallback: a dense fallback needs paging.max_results: it is used when "
                   "the feed reaches that cap within one second"});
}

}  // namespace
}  // namespace tandem::mappers

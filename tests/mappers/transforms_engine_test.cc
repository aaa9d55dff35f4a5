// Every encoding through the engine, both directions: date-time forms, epoch numbers and
// strings, bools and integers as strings, fixed decimals, string-set as array and delimited.

#include <gtest/gtest.h>

#include "mappers/config_loader.h"
#include "mappers/mapper.h"
#include "mappers/record_json.h"
#include "tests/mappers/test_env.h"

namespace tandem::mappers {
namespace {

using conflict::Value;

MappingPlan planFor(const std::string& mapping_fields) {
  std::string cfg = R"({
    "entities": [{"name": "e", "match_keys": ["s"], "fields": {
      "s": {"type": "string"}, "t": {"type": "date-time"}, "b": {"type": "bool"},
      "i": {"type": "integer"}, "n": {"type": "number"}, "set": {"type": "string-set"}}}],
    "systems": [{"name": "a", "base_url": "http://h", "auth": {"kind": "none"},
      "entities": {"e": {"connector": {
        "feed": {"url": "/f", "records": "", "since": {}, "paging": {"kind": "none",
                 "max_results": 10}},
        "record": {"id": "/id", "updated": "/u"}, "get": {"url": "/g/{id}"},
        "create": {"url": "/c", "id": {"header": "Location"}}, "update": {"url": "/u/{id}"}},
        "mapping": {"fields": )" +
                    mapping_fields + R"(}}}}]})";
  auto config = loadConfigText(cfg, "t.json", testing::FakeEnv{});
  EXPECT_TRUE(config.has_value()) << config.error().formatAll();
  auto plan = compilePlan(*config, "a", "e");
  EXPECT_TRUE(plan.has_value());
  return std::move(*plan);
}

// Reads `record`, expects `field` == `expected`, writes back and expects `written`.
void both(const MappingPlan& plan, const std::string& record, const char* field,
          const Value& expected, const std::string& written) {
  auto doc = parseRecord(record);
  ASSERT_TRUE(doc.has_value());
  auto v = toCanonical(plan, *doc);
  ASSERT_TRUE(v.has_value()) << describe(v.error());
  ASSERT_NE(v->find(field), nullptr);
  EXPECT_EQ(*v->find(field), expected) << record;
  std::vector<std::string> only = {field};
  auto out = toSystem(plan, *v, WriteMode::Update, only);
  ASSERT_TRUE(out.has_value()) << describe(out.error());
  EXPECT_EQ(*out, written);
}

constexpr int64_t kMs = 1795914245000;  // 2026-11-29T01:04:05Z

TEST(EngineTransforms, DateTimeForms) {
  both(planFor(R"({"t": {"path": "/t"}})"), R"({"t":"2026-11-28T17:04:05-08:00"})", "t",
       Value::integer(kMs), R"({"t":"2026-11-29T01:04:05Z"})");
  both(planFor(R"({"t": {"path": "/t", "format": "rfc3339_offset"}})"),
       R"({"t":"2026-11-29T01:04:05+0000"})", "t", Value::integer(kMs),
       R"({"t":"2026-11-29T01:04:05+0000"})");
  both(planFor(R"({"t": {"path": "/t", "format": "epoch_s"}})"), R"({"t":1795914245})", "t",
       Value::integer(kMs), R"({"t":1795914245})");
  both(planFor(R"({"t": {"path": "/t", "format": "epoch_ms", "as": "string"}})"),
       R"({"t":"1795914245000"})", "t", Value::integer(kMs), R"({"t":"1795914245000"})");
  both(planFor(R"({"t": {"path": "/t", "format": "naive_utc_seconds"}})"),
       R"({"t":"2026-11-29 01:04:05"})", "t", Value::integer(kMs),
       R"({"t":"2026-11-29 01:04:05"})");
  both(planFor(R"({"t": {"path": "/t", "format": "naive_utc"}})"),
       R"({"t":"2026-11-29 01:04:05.250"})", "t", Value::integer(kMs + 250),
       R"({"t":"2026-11-29 01:04:05.250"})");
}

TEST(EngineTransforms, UnparsableDateIsAFieldError) {
  auto plan = planFor(R"({"t": {"path": "/w/t", "format": "naive_utc_seconds"}})");
  auto doc = parseRecord(R"({"w":{"t":"2026-11-29T01:04:05Z"}})");
  auto v = toCanonical(plan, *doc);
  ASSERT_FALSE(v.has_value());
  EXPECT_EQ(describe(v.error()),
            "field t (/w/t): cannot parse \"2026-11-29T01:04:05Z\" as naive_utc_seconds");
}

TEST(EngineTransforms, ScalarsAsStringsAndNative) {
  both(planFor(R"({"b": {"path": "/b", "as": "string"}})"), R"({"b":"true"})", "b",
       Value::boolean(true), R"({"b":"true"})");
  both(planFor(R"({"b": {"path": "/b"}})"), R"({"b":false})", "b", Value::boolean(false),
       R"({"b":false})");
  both(planFor(R"({"i": {"path": "/i", "as": "string"}})"), R"({"i":"-42"})", "i",
       Value::integer(-42), R"({"i":"-42"})");
  both(planFor(R"({"i": {"path": "/i"}})"), R"({"i":9007199254740993})", "i",
       Value::integer(9007199254740993), R"({"i":9007199254740993})");
  both(planFor(R"({"n": {"path": "/n", "as": "string", "decimals": 2}})"), R"({"n":"2500.50"})",
       "n", Value::number(2500.5), R"({"n":"2500.50"})");
  both(planFor(R"({"n": {"path": "/n"}})"), R"({"n":0.1})", "n", Value::number(0.1),
       R"({"n":0.1})");
  both(planFor(R"({"n": {"path": "/n"}})"), R"({"n":100000})", "n", Value::number(100000),
       R"({"n":100000})");
}

TEST(EngineTransforms, StringSets) {
  both(planFor(R"({"set": {"path": "/tags"}})"), R"({"tags":["b","a","b"," c "]})", "set",
       Value::stringSet({"a", "b", "c"}), R"({"tags":["a","b","c"]})");
  both(planFor(R"({"set": {"path": "/tags", "as": "string", "delimiter": ", "}})"),
       R"({"tags":"x, y"})", "set", Value::stringSet({"x", "y"}), R"({"tags":"x, y"})");
  both(planFor(R"({"set": {"path": "/tags"}})"), R"({"tags":[]})", "set", Value::null(),
       R"({"tags":null})");
}

TEST(EngineTransforms, WriteOnlyReadOnlyAndConstants) {
  auto plan = planFor(R"({"s": {"path": "/s", "direction": "read"},
                          "i": {"path": "/i", "direction": "write", "default_on_create": 7}},
                          "constants": [{"path": "/kind", "value": "person", "on": "always"},
                                        {"path": "/source", "value": {"app": "tandem"}}])");
  auto doc = parseRecord(R"({"s":"x","i":5})");
  auto v = toCanonical(plan, *doc);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->size(), 1u);  // i is write-only
  EXPECT_EQ(*toSystem(plan, *v, WriteMode::Create),
            R"({"i":7,"kind":"person","source":{"app":"tandem"}})");
  EXPECT_EQ(*toSystem(plan, *v, WriteMode::Update), R"({"i":null,"kind":"person"})");
}

}  // namespace
}  // namespace tandem::mappers

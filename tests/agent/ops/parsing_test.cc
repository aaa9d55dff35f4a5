// The small parsers and printers behind the admin API and the CLI, with their wrong input.

#include <gtest/gtest.h>

#include <sstream>

#include "agent/ops/admin_api.h"
#include "agent/ops/json_out.h"
#include "agent/ops/resolve.h"
#include "agent/ops/table.h"

namespace tandem::agent::ops {
namespace {

using conflict::Value;
using mappers::FieldType;

TEST(Query, SplitsAndPercentDecodes) {
  using Q = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(parseQuery("/v1/conflicts"), Q{});
  EXPECT_EQ(parseQuery("/x?a=1&b=%2Fr%20x+y&flag&&c="),
            (Q{{"a", "1"}, {"b", "/r x y"}, {"flag", ""}, {"c", ""}}));
  EXPECT_EQ(parseQuery("/x?bad=%zz%4"), (Q{{"bad", "%zz%4"}}));
}

TEST(ResolveBody, ValueIsTypedByTheField) {
  auto parse = [](std::string_view json, FieldType type) { return parseValue(json, type, "f"); };
  EXPECT_EQ(*parse("\"x\"", FieldType::String), Value::string("x"));
  EXPECT_EQ(*parse("null", FieldType::String), Value::null());
  EXPECT_EQ(*parse("5000", FieldType::Number), Value::number(5000));
  EXPECT_EQ(*parse("2.5", FieldType::Number), Value::number(2.5));
  EXPECT_EQ(*parse("7", FieldType::Integer), Value::integer(7));
  EXPECT_EQ(*parse("1764410400000", FieldType::DateTime), Value::integer(1764410400000));
  EXPECT_EQ(*parse("true", FieldType::Bool), Value::boolean(true));
  EXPECT_EQ(*parse(R"(["b","a","b"])", FieldType::StringSet), Value::stringSet({"a", "b"}));

  EXPECT_EQ(parse("2.5", FieldType::Integer).error().message,
            "value: field f is an integer, got 2.5");
  EXPECT_EQ(parse("\"2026-01-01\"", FieldType::DateTime).error().message,
            "value: field f is a date-time, got \"2026-01-01\"");
  EXPECT_EQ(parse(R"(["a",1])", FieldType::StringSet).error().message,
            R"(value: field f is a string-set, got ["a",1])");
  EXPECT_EQ(parse("\"yes\"", FieldType::Bool).error().message,
            "value: field f is a bool, got \"yes\"");
  EXPECT_EQ(
      parse(std::string(100, '"'), FieldType::String).error().message.rfind("value: not JSON: ", 0),
      0u);
  const std::string long_text = "\"" + std::string(80, 'x') + "\"";
  EXPECT_EQ(parse(long_text, FieldType::Integer).error().message,
            "value: field f is an integer, got \"" + std::string(56, 'x') + "...");
}

TEST(ResolveBody, RetryBodies) {
  EXPECT_TRUE(parseRetryBody("")->system.empty());
  EXPECT_TRUE(parseRetryBody(" {} ")->record.empty());
  auto one = parseRetryBody(R"({"system":"erp","record":"r-1"})");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->system, "erp");
  EXPECT_EQ(one->record, "r-1");
  EXPECT_EQ(parseRetryBody(R"({"system":"erp","record":""})").error().message,
            "body.record: expected a non-empty string");
  EXPECT_EQ(parseRetryBody(R"({"system":"erp","id":"r-1"})").error().message,
            "body.id: unknown member (expected system, record)");
  EXPECT_EQ(parseRetryBody("[]").error().message,
            R"(body: expected a JSON object like {"system":"erp","record":"r-1"})");
}

TEST(StatusJson, RefusesWhatIsNotAStatus) {
  EXPECT_EQ(statusFromJson("nope").error().message, "status: not JSON: Invalid value. at offset 1");
  EXPECT_EQ(statusFromJson("[]").error().message, "status: expected a JSON object");
  runtime::AgentStatus s;
  s.systems.push_back({.name = "erp",
                       .breaker = "closed",
                       .pushes = {},
                       .creates = 0,
                       .outbox_depth = 0,
                       .dead_letters = 0});
  std::string text = statusToJson(s);
  text.replace(text.find("\"name\":\"erp\""), 12, "\"name\":5");
  EXPECT_EQ(statusFromJson(text).error().message, "status.systems[0].name: expected a string");
  EXPECT_EQ(statusFromJson(R"({"state":"running"})").error().message, "status.ready: missing");
}

TEST(Table, PadsColumnsByCharactersNotBytes) {
  Table t({"A", "B", "C"});
  t.row({"München", "x", "1"});
  t.row({"z", "yy", "22"});
  std::ostringstream out;
  t.print(out);
  EXPECT_EQ(out.str(),
            "A        B   C\n"
            "München  x   1\n"
            "z        yy  22\n");
  EXPECT_EQ(ellipsize("short", 10), "short");
  EXPECT_EQ(ellipsize("ääääääääää", 6), "äää...");
}

TEST(ActorNamesTest, UnknownIdsAreNamedByNumber) {
  ActorNames names({{"crm", 1}, {"fin", 2}});
  EXPECT_EQ(names.name(2), "fin");
  EXPECT_EQ(names.name(9), "actor 9");
  EXPECT_EQ(names.id("crm"), conflict::ActorId{1});
  EXPECT_FALSE(names.id("erp"));
}

}  // namespace
}  // namespace tandem::agent::ops

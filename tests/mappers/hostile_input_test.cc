// Hostile records are refused cleanly with exact reasons: size, depth, string length, invalid
// UTF-8, numbers out of range; and the mapper refuses values it cannot represent.

#include <gtest/gtest.h>

#include "mappers/config_loader.h"
#include "mappers/mapper.h"
#include "mappers/record_json.h"

namespace tandem::mappers {
namespace {

std::string errorOf(std::string_view text, const RecordLimits& limits = {}) {
  auto r = parseRecord(text, limits);
  return r ? "" : r.error().message;
}

TEST(HostileInput, DeepNestingIsRefusedWithoutRecursionBlowUp) {
  std::string deep(100000, '[');
  EXPECT_EQ(errorOf(deep), "record: nesting deeper than 32 levels at offset 33");
  std::string ok = std::string(32, '[') + std::string(32, ']');
  EXPECT_EQ(errorOf(ok), "");
}

TEST(HostileInput, HugeInputsAreRefused) {
  std::string big = "\"" + std::string(5u << 20, 'a') + "\"";
  EXPECT_EQ(errorOf(big), "record: 5242882 bytes is more than the limit of 4194304");
  RecordLimits small;
  small.max_string = 16;
  EXPECT_EQ(errorOf(R"({"a":"0123456789abcdefg"})", small),
            "record: string longer than 16 bytes at offset 24");
  EXPECT_EQ(errorOf(R"({"0123456789abcdefg":1})", small),
            "record: string longer than 16 bytes at offset 20");
}

TEST(HostileInput, InvalidUtf8IsRefused) {
  EXPECT_EQ(errorOf("{\"n\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}"), "");
  EXPECT_EQ(errorOf("{\"n\":\"\xc0\xaf\"}"), "record: invalid UTF-8 at offset 6");  // overlong
  EXPECT_EQ(errorOf("{\"n\":\"\xf4\x90\x80\x80\"}"), "record: invalid UTF-8 at offset 6");
  EXPECT_EQ(errorOf("{\"\xff\":1}"), "record: invalid UTF-8 at offset 2");  // in a key
  EXPECT_EQ(errorOf("{\"n\":\"abcdefgh\xe2\x82\"}"), "record: invalid UTF-8 at offset 14");
  EXPECT_EQ(errorOf("{\"email\":\"a\xc3(\"}"), "record: invalid UTF-8 at offset 11");
  EXPECT_EQ(errorOf("{\"email\":\"\xed\xa0\x80\"}"), "record: invalid UTF-8 at offset 10");
}

TEST(HostileInput, NumbersOutOfRangeAndNonJsonAreRefused) {
  EXPECT_EQ(errorOf(R"({"credit_limit":1e400})"), "record: number too big at offset 16");
  EXPECT_EQ(errorOf(R"({"credit_limit":NaN})"), "record: Invalid value. at offset 16");
  EXPECT_EQ(errorOf(R"({"a":1} {"b":2})"), "record: text after the JSON value at offset 8");
  EXPECT_EQ(errorOf(""), "record: The document is empty. at offset 0");
  EXPECT_EQ(errorOf(std::string_view("{\"a\":1}\0x", 9)),
            "record: text after the JSON value at offset 7");
  EXPECT_EQ(errorOf(std::string_view("{\"a\":\"b\0c\"}", 11)),
            "record: Missing a closing quotation mark in string. at offset 7");
}

class TestEnv : public ConfigEnv {
 public:
  std::optional<std::string> env(const std::string&) const override { return "x"; }
  Result<std::string> readFile(const std::string&) const override { return fail("no files"); }
};

TEST(HostileInput, MapperRefusesOutOfRangeAndWrongShapes) {
  const char* cfg = R"({
    "entities": [{"name": "c", "match_keys": ["n"], "fields": {
      "n": {"type": "integer"}, "x": {"type": "number"}, "t": {"type": "date-time"},
      "s": {"type": "string-set"}}}],
    "systems": [{"name": "a", "base_url": "http://h", "auth": {"kind": "none"},
      "entities": {"c": {"connector": {
        "feed": {"url": "/f", "records": "", "since": {}, "paging": {"kind": "none",
                 "max_results": 10}},
        "record": {"id": "/id", "updated": "/u"}, "get": {"url": "/g/{id}"},
        "create": {"url": "/c", "id": {"header": "Location"}}, "update": {"url": "/u/{id}"}},
        "mapping": {"fields": {"n": {"path": "/n"}, "x": {"path": "/x", "as": "string"},
                               "t": {"path": "/t", "format": "epoch_s"}, "s": {"path": "/s"}}}}}}]
  })";
  auto config = loadConfigText(cfg, "h.json", TestEnv{});
  ASSERT_TRUE(config.has_value()) << config.error().formatAll();
  auto plan = compilePlan(*config, "a", "c");
  ASSERT_TRUE(plan.has_value());
  auto doc =
      parseRecord(R"({"n":18446744073709551615,"x":"1e999","t":9223372036854775807,"s":["a",1]})");
  ASSERT_TRUE(doc.has_value());
  auto out = toCanonical(*plan, *doc);
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(describe(out.error()),
            "field n (/n): integer out of range; "
            "field s (/s): expected an array of strings, found integer; "
            "field t (/t): date-time out of range; "
            "field x (/x): expected a decimal number, got \"1e999\"");
  auto n2 = parseRecord(R"({"n":2.5,"t":"1700000000"})");
  auto out2 = toCanonical(*plan, *n2);
  ASSERT_FALSE(out2.has_value());
  EXPECT_EQ(describe(out2.error()),
            "field n (/n): expected integer, got number; field t (/t): expected integer, got "
            "string");
  auto arr = parseRecord(R"([1,2])");
  auto out3 = toCanonical(*plan, *arr);
  ASSERT_FALSE(out3.has_value());
  EXPECT_EQ(describe(out3.error()), "field * (): expected a record object, got array");
}

}  // namespace
}  // namespace tandem::mappers

// Reading one record through the pointers, alone.
#include <gtest/gtest.h>

#include <cstring>

#include "agent/connector/records.h"
#include "mappers/record_json.h"

namespace tandem::agent::connector {
namespace {

// Answers are parsed in place, so their strings live in the answer's buffer. The record must
// own copies: the runtime maps it after the answer is gone.
TEST(ReadRecord, BodyOwnsItsStringsAfterTheAnswerIsGone) {
  rapidjson::Document answer;
  ASSERT_TRUE(mappers::parseRecordInto(
      R"({"id":"a1","updated":"2026-11-23T11:04:05Z","name":"Ada","tags":["x"]})", answer));
  mappers::RecordPointers pointers;
  pointers.id = "/id";
  pointers.updated = "/updated";
  const NativeRecord rec = readRecord(pointers, answer);
  ASSERT_TRUE(rec.error.empty()) << rec.error;
  EXPECT_EQ(rec.id, "a1");
  EXPECT_EQ(rec.updated_ms, 1795431845000);
  // Scribble over the answer's buffer where its strings are.
  std::memset(const_cast<char*>(answer["name"].GetString()), 'X', 3);
  std::memset(const_cast<char*>(answer.MemberBegin()->name.GetString()), 'Y', 2);
  std::memset(const_cast<char*>(answer["tags"][0].GetString()), 'Z', 1);
  ASSERT_TRUE(rec.body.IsObject());
  ASSERT_TRUE(rec.body.HasMember("id"));
  EXPECT_STREQ(rec.body["name"].GetString(), "Ada");
  EXPECT_STREQ(rec.body["tags"][0].GetString(), "x");
}

TEST(ReadRecord, EpochSecondsAndActiveFalse) {
  rapidjson::Document answer;
  answer.Parse(R"({"Id":7,"ts":"1700000000","Active":false,"SyncToken":3})");
  mappers::RecordPointers pointers;
  pointers.id = "/Id";
  pointers.updated = "/ts";
  pointers.updated_format = mappers::TimeFormat::EpochS;
  pointers.active = "/Active";
  pointers.version = "/SyncToken";
  const NativeRecord rec = readRecord(pointers, answer);
  ASSERT_TRUE(rec.error.empty()) << rec.error;
  EXPECT_EQ(rec.id, "7");
  EXPECT_EQ(rec.updated_ms, 1700000000000);
  EXPECT_TRUE(rec.archived);
  EXPECT_EQ(rec.version, "3");
}

}  // namespace
}  // namespace tandem::agent::connector

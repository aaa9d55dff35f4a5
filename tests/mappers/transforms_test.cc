// The value transforms, both ways: decimals, integers, date-time forms, normalisation.

#include <gtest/gtest.h>

#include "mappers/transforms.h"

namespace tandem::mappers {
namespace {

TEST(Transforms, DecimalsParseExactlyAndRefuseJunk) {
  EXPECT_EQ(parseDecimal("2500.50"), 2500.5);
  EXPECT_EQ(parseDecimal("-0.1"), -0.1);
  EXPECT_EQ(parseDecimal("1e3"), 1000.0);
  EXPECT_EQ(parseDecimal(".5"), 0.5);
  for (const char* bad :
       {"", "nan", "NaN", "inf", "-inf", "+1", " 1", "1 ", "1,5", "0x10", "1e400", "abc", "-"}) {
    EXPECT_EQ(parseDecimal(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(formatNumber(2500.5), "2500.5");
  EXPECT_EQ(formatNumber(2500.5, 2), "2500.50");
  EXPECT_EQ(formatNumber(0.1), "0.1");
  EXPECT_EQ(formatNumber(1e21), "1e+21");
  EXPECT_EQ(parseDecimal(formatNumber(0.1 + 0.2)), 0.1 + 0.2);
}

TEST(Transforms, Integers) {
  EXPECT_EQ(parseInteger("42"), 42);
  EXPECT_EQ(parseInteger("-9223372036854775808"), INT64_MIN);
  EXPECT_EQ(parseInteger("9223372036854775808"), std::nullopt);
  EXPECT_EQ(parseInteger("+1"), std::nullopt);
  EXPECT_EQ(parseInteger("1.0"), std::nullopt);
}

constexpr int64_t kT = 1796000645123;  // 2026-11-30T01:04:05.123Z

TEST(Transforms, DateTimeFormsRoundTrip) {
  EXPECT_EQ(formatTime(kT, TimeFormat::Rfc3339), "2026-11-30T01:04:05.123Z");
  EXPECT_EQ(formatTime(kT, TimeFormat::Rfc3339Offset), "2026-11-30T01:04:05.123+0000");
  EXPECT_EQ(formatTime(kT, TimeFormat::EpochS), "1796000645");
  EXPECT_EQ(formatTime(kT, TimeFormat::EpochMs), "1796000645123");
  EXPECT_EQ(formatTime(kT, TimeFormat::NaiveUtc), "2026-11-30 01:04:05.123");
  EXPECT_EQ(formatTime(kT, TimeFormat::NaiveUtcSeconds), "2026-11-30 01:04:05");
  EXPECT_EQ(formatTime(kT - 123, TimeFormat::Rfc3339), "2026-11-30T01:04:05Z");
  for (auto f : {TimeFormat::Rfc3339, TimeFormat::Rfc3339Offset, TimeFormat::EpochMs,
                 TimeFormat::NaiveUtc}) {
    EXPECT_EQ(parseTime(formatTime(kT, f), f), kT) << timeFormatName(f);
  }
  EXPECT_EQ(parseTime(formatTime(kT, TimeFormat::EpochS), TimeFormat::EpochS), kT - 123);
  EXPECT_EQ(parseTime("2026-11-30 01:04:05", TimeFormat::NaiveUtcSeconds), kT - 123);
  EXPECT_EQ(formatTime(-1, TimeFormat::Rfc3339), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(parseTime("1969-12-31T23:59:59.999Z", TimeFormat::Rfc3339), -1);
}

TEST(Transforms, OffsetsAreConvertedToUtc) {
  // QuickBooks-like local offsets, HubSpot-like +0000.
  EXPECT_EQ(parseTime("2026-11-29T17:04:05.123-08:00", TimeFormat::Rfc3339), kT);
  EXPECT_EQ(parseTime("2026-11-30T01:04:05.123+0000", TimeFormat::Rfc3339), kT);
  EXPECT_EQ(parseTime("2026-11-30T06:34:05.123+05:30", TimeFormat::Rfc3339Offset), kT);
  EXPECT_EQ(parseTime("2026-11-30T01:04:05.123456Z", TimeFormat::Rfc3339), kT);
}

TEST(Transforms, BadDatesAreRefused) {
  for (const char* bad : {"2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-11-30T24:00:00Z",
                          "2026-11-30T01:04:05", "2026-11-30", "2026-11-30T01:04:05+25:00",
                          "2026-11-30T01:04:05.Z", "2026-11-30T01:04:05Zjunk", "yesterday"}) {
    EXPECT_EQ(parseTime(bad, TimeFormat::Rfc3339), std::nullopt) << bad;
  }
  EXPECT_EQ(parseTime("2028-02-29T00:00:00Z", TimeFormat::Rfc3339).has_value(), true);
  EXPECT_EQ(parseTime("2026-11-30 01:04:05Z", TimeFormat::NaiveUtc), std::nullopt);
  EXPECT_EQ(parseTime("99999999999999999", TimeFormat::EpochS), std::nullopt);
}

TEST(Transforms, Normalisation) {
  std::string s = "  Ada.LOVELACE@Example.com \n";
  normalizeString(s, Normalize{.trim = true, .collapse_spaces = false, .fold = CaseFold::Lower});
  EXPECT_EQ(s, "ada.lovelace@example.com");
  s = " Mary   Ann\tSmith ";
  normalizeString(s, Normalize{.trim = true, .collapse_spaces = true, .fold = CaseFold::None});
  EXPECT_EQ(s, "Mary Ann Smith");
  s = "gb";
  normalizeString(s, Normalize{.trim = true, .collapse_spaces = false, .fold = CaseFold::Upper});
  EXPECT_EQ(s, "GB");
}

}  // namespace
}  // namespace tandem::mappers

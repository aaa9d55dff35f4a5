// RepeatedFailures (agent/runtime/failure_log.h): how failures that repeat, and failures that
// come and go, are logged.

#include "agent/runtime/failure_log.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

namespace tandem::agent::runtime::detail {
namespace {

constexpr int64_t kRewarnMs = 60'000;

class FailureLogTest : public ::testing::Test {
 protected:
  void fail(int64_t now_ms, const std::string& error = "state: commit: EIO") {
    failures_.failed(log_, LogLevel::Warn, "detector: ingest failed", {{"system", "crm"}}, error,
                     now_ms, kRewarnMs);
  }
  void succeed(int64_t now_ms) {
    failures_.succeeded(log_, "detector: reading again", {{"system", "crm"}}, now_ms);
  }
  // Lines at `level` ("WARN ", "INFO ", "DEBUG") containing `text`.
  size_t lines(const std::string& level, const std::string& text) const {
    std::istringstream in(out_.str());
    size_t n = 0;
    for (std::string line; std::getline(in, line);) {
      n += line.find(level) != std::string::npos && line.find(text) != std::string::npos ? 1 : 0;
    }
    return n;
  }

  std::ostringstream out_;
  Logger log_{out_, mappers::LogFormat::Text, LogLevel::Debug, [] { return int64_t{0}; }};
  RepeatedFailures failures_;
};

TEST_F(FailureLogTest, AStretchOfFailuresIsOneWarningThenDebugThenOneRecoveryLine) {
  for (int64_t t = 0; t < 10'000; t += 200) {
    fail(t);
  }
  succeed(10'000);
  EXPECT_EQ(lines("WARN ", "ingest failed"), 1u) << out_.str();
  EXPECT_EQ(lines("DEBUG", "ingest failed"), 49u) << out_.str();
  EXPECT_EQ(lines("INFO ", "reading again"), 1u) << out_.str();
  EXPECT_NE(out_.str().find("failures=50"), std::string::npos) << out_.str();
}

// A nearly full disk: some commits fit in free pages, so failures and successes alternate. The
// failure is said once, and neither it nor the recoveries fill the log at warning and info
// level, until rewarn_ms has passed since it was said.
TEST_F(FailureLogTest, FailuresThatComeAndGoAreSaidOnceUntilTheRewarnInterval) {
  for (int64_t t = 0; t < 30'000; t += 400) {
    fail(t);
    succeed(t + 200);
  }
  EXPECT_EQ(lines("WARN ", "ingest failed"), 1u) << out_.str();
  EXPECT_EQ(lines("INFO ", "reading again"), 1u) << out_.str();
  EXPECT_EQ(lines("DEBUG", "reading again"), 74u) << out_.str();
  fail(kRewarnMs + 1'000);  // long after it was said: said again
  EXPECT_EQ(lines("WARN ", "ingest failed"), 2u) << out_.str();
  succeed(kRewarnMs + 1'200);
  EXPECT_EQ(lines("INFO ", "reading again"), 2u) << out_.str();
}

TEST_F(FailureLogTest, ADifferentFailureIsSaidAtOnceEvenRightAfterAnother) {
  fail(0);
  succeed(100);
  fail(200, "state: commit: File too large");
  EXPECT_EQ(lines("WARN ", "File too large"), 1u) << out_.str();
  succeed(300);
  EXPECT_EQ(lines("INFO ", "reading again"), 2u) << out_.str();
}

}  // namespace
}  // namespace tandem::agent::runtime::detail

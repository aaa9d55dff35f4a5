#include "agent/log.h"

#include <gtest/gtest.h>

#include <sstream>
#include <thread>
#include <vector>

namespace tandem::agent {
namespace {

constexpr int64_t kTs = 1'764'410'400'123;  // 2025-11-29T10:00:00.123Z

TEST(Log, TextLineQuotesValuesThatNeedIt) {
  std::ostringstream out;
  Logger log(out, mappers::LogFormat::Text, LogLevel::Info, [] { return kTs; });
  log.warn("push failed",
           {{"system", "erp"}, {"attempt", 3}, {"error", "503 Service Unavailable"}});
  EXPECT_EQ(out.str(),
            "2025-11-29T10:00:00.123Z WARN  push failed system=erp attempt=3 "
            "error=\"503 Service Unavailable\"\n");
}

TEST(Log, JsonLineIsOneObjectWithTypedNumbers) {
  std::ostringstream out;
  Logger log(out, mappers::LogFormat::Json, LogLevel::Info, [] { return kTs; });
  log.info("batch", {{"system", "crm"}, {"records", uint64_t{100}}, {"note", "a \"b\"\n"}});
  EXPECT_EQ(out.str(),
            "{\"ts\":\"2025-11-29T10:00:00.123Z\",\"level\":\"info\",\"msg\":\"batch\","
            "\"system\":\"crm\",\"records\":100,\"note\":\"a \\\"b\\\"\\n\"}\n");
}

TEST(Log, BelowMinimumLevelNothingIsWritten) {
  std::ostringstream out;
  Logger log(out, mappers::LogFormat::Text, LogLevel::Warn, [] { return kTs; });
  log.info("quiet");
  log.debug("quieter");
  EXPECT_EQ(out.str(), "");
  log.setMinLevel(LogLevel::Debug);
  log.debug("now");
  EXPECT_NE(out.str().find("DEBUG now"), std::string::npos);
}

TEST(Log, SecretsAreMaskedInMessagesAndFieldsInBothFormats) {
  for (auto format : {mappers::LogFormat::Text, mappers::LogFormat::Json}) {
    std::ostringstream out;
    Logger log(out, format, LogLevel::Info, [] { return kTs; });
    log.addSecret("s3cr3t-token");
    log.addSecret("ab");  // too short to be a secret: never masked
    log.error("auth failed with s3cr3t-token", {{"header", "Bearer s3cr3t-token"}, {"x", "ab"}});
    const std::string line = out.str();
    EXPECT_EQ(line.find("s3cr3t-token"), std::string::npos) << line;
    EXPECT_NE(line.find("auth failed with ***"), std::string::npos) << line;
    EXPECT_NE(line.find("Bearer ***"), std::string::npos) << line;
    EXPECT_NE(line.find("ab"), std::string::npos) << line;
  }
}

TEST(Log, ALongerSecretContainingAShorterOneIsMaskedWhole) {
  std::ostringstream out;
  Logger log(out, mappers::LogFormat::Text, LogLevel::Info, [] { return kTs; });
  log.addSecret("token");
  log.addSecret("token-extended");
  log.info("x", {{"v", "token-extended"}});
  EXPECT_NE(out.str().find("v=***\n"), std::string::npos) << out.str();
}

TEST(Log, ConcurrentWritersNeverInterleaveWithinALine) {
  std::ostringstream out;
  Logger log(out, mappers::LogFormat::Text, LogLevel::Info, [] { return kTs; });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&log, t] {
      for (int i = 0; i < 200; ++i) {
        log.info("line", {{"thread", t}, {"i", i}});
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  std::istringstream in(out.str());
  std::string line;
  int count = 0;
  while (std::getline(in, line)) {
    ++count;
    EXPECT_EQ(line.rfind("2025-11-29T10:00:00.123Z INFO  line thread=", 0), 0u) << line;
  }
  EXPECT_EQ(count, 800);
}

}  // namespace
}  // namespace tandem::agent

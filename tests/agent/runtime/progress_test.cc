// Initial-load progress: the text, in-place redraw on a TTY, plain lines otherwise.

#include <gtest/gtest.h>

#include <sstream>

#include "agent/runtime/progress.h"

namespace tandem::agent::runtime {
namespace {

TEST(Progress, DescribesRateAndEtaWhenTheTotalIsKnown) {
  EXPECT_EQ(Progress::describe(1200, std::nullopt, 4000), "1200 records, 300.0 records/s");
  EXPECT_EQ(Progress::describe(1200, 3000, 4000),
            "1200 records, 300.0 records/s, 40% of 3000, ETA 6 s");
  EXPECT_EQ(Progress::describe(0, std::nullopt, 0), "0 records, 0.0 records/s");
}

TEST(Progress, RedrawsInPlaceOnATty) {
  std::ostringstream out;
  std::ostringstream logs;
  Logger log(logs, mappers::LogFormat::Text);
  SimulatedClock clock;
  Progress p(&out, true, log, clock, "crm.customer");
  clock.advanceMs(1000);
  p.update(100);
  clock.advanceMs(1000);
  p.update(250);
  p.finish(300);
  EXPECT_EQ(out.str(),
            "\rinitial load crm.customer: 100 records, 100.0 records/s\x1b[K"
            "\rinitial load crm.customer: 250 records, 125.0 records/s\x1b[K"
            "\rinitial load crm.customer: done, 300 records, 150.0 records/s\x1b[K\n");
  EXPECT_NE(logs.str().find("initial load done"), std::string::npos);
}

TEST(Progress, PlainLinesAtMostOneASecondOtherwise) {
  std::ostringstream lines;
  SimulatedClock clock;
  Progress p(&lines, false, nullLogger(), clock, "erp.customer");
  clock.advanceMs(500);
  p.update(50);
  clock.advanceMs(200);
  p.update(70);  // within the second: not printed
  clock.advanceMs(1000);
  p.update(170);
  p.finish(170);
  EXPECT_EQ(lines.str(),
            "initial load erp.customer: 50 records, 100.0 records/s\n"
            "initial load erp.customer: 170 records, 100.0 records/s\n"
            "initial load erp.customer: done, 170 records, 100.0 records/s\n");
}

}  // namespace
}  // namespace tandem::agent::runtime

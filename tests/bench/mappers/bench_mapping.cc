// Mapping throughput on one core: a 15-field HubSpot-like customer, system → canonical (JSON
// parse included) and canonical → system (JSON text out). Prints a table; goal 500,000/s.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "mappers/config_loader.h"
#include "mappers/mapper.h"
#include "mappers/record_json.h"

namespace {

using Clock = std::chrono::steady_clock;

const char* kRecord = R"({"id":"1001","properties":{"email":"Ada.Lovelace@Example.com",)"
                      R"("firstname":"Ada","lastname":"Lovelace","phone":"+44 20 7946 0000",)"
                      R"("company":"Analytical Engines","address":"12 St James's Square",)"
                      R"("city":"London","zip":"SW1Y 4JH","country":"GB",)"
                      R"("lifecyclestage":"customer","hs_lead_status":"OPEN",)"
                      R"("tags":"vip;beta;newsletter","credit_limit":"2500.50",)"
                      R"("lastmodifieddate":"1795000000000","hs_object_id":"1001"},)"
                      R"("createdAt":"2026-11-01T10:00:00.000Z",)"
                      R"("updatedAt":"2026-11-23T03:04:05.123Z","archived":false})";

class NoEnv : public tandem::mappers::SystemConfigEnv {
 public:
  std::optional<std::string> env(const std::string&) const override { return "x"; }
};

template <class F>
double rate(F&& f) {
  // Warm up, then run for about one second.
  for (int i = 0; i < 10000; ++i) {
    f();
  }
  size_t n = 0;
  auto start = Clock::now();
  auto end = start + std::chrono::seconds(1);
  while (Clock::now() < end) {
    for (int i = 0; i < 1000; ++i) {
      f();
    }
    n += 1000;
  }
  std::chrono::duration<double> secs = Clock::now() - start;
  return static_cast<double>(n) / secs.count();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tandem::mappers;
  std::string config =
      argc > 1 ? argv[1] : std::string(TANDEM_SOURCE_DIR) + "/fixtures/config/demo.json";
  auto cfg = loadConfig(config, NoEnv{}, LoadOptions{.resolve_secrets = false});
  if (!cfg) {
    std::fprintf(stderr, "%s", cfg.error().formatAll().c_str());
    return 1;
  }
  auto plan = compilePlan(*cfg, "crm", "customer");
  if (!plan) {
    std::fprintf(stderr, "%s\n", plan.error().message.c_str());
    return 1;
  }
  std::string text = kRecord;
  size_t sink = 0;
  double in = rate([&] {
    char buffer[16384];
    rapidjson::MemoryPoolAllocator<> pool(buffer, sizeof buffer);
    rapidjson::Document doc(&pool);
    if (!parseRecordInto(text, doc)) {
      std::abort();
    }
    auto values = toCanonical(*plan, doc);
    sink += values->size();
  });
  auto doc = parseRecord(text);
  CanonicalValues values = *toCanonical(*plan, *doc);
  double out_full = rate([&] {
    auto body = toSystem(*plan, values, WriteMode::Create);
    sink += body->size();
  });
  std::vector<std::string> changed = {"phone", "city"};
  double out_partial = rate([&] {
    auto body = toSystem(*plan, values, WriteMode::Update, changed);
    sink += body->size();
  });
  std::printf("bench_mapping: HubSpot-like customer, %zu bytes, %zu canonical fields, 1 core\n",
              text.size(), values.size());
  std::printf("%-44s %14s %10s\n", "direction", "records/s", "goal");
  std::printf("%-44s %14.0f %10s\n", "crm -> canonical (parse + map)", in,
              in >= 500000 ? "met" : "MISSED");
  std::printf("%-44s %14.0f %10s\n", "canonical -> crm create body (JSON text)", out_full,
              out_full >= 500000 ? "met" : "MISSED");
  std::printf("%-44s %14.0f %10s\n", "canonical -> crm partial update, 2 fields", out_partial,
              out_partial >= 500000 ? "met" : "MISSED");
  return sink == 0 ? 1 : 0;
}

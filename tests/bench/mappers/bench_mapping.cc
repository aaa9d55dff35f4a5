// Mapping throughput on one core: a 15-field HubSpot-like customer, system → canonical (JSON
// parse included) and canonical → system (JSON text out). Prints a table; goal 500,000/s.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
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

double cpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Rate {
  double wall = 0;  // records per wall-clock second
  double cpu = 0;   // records per second of this thread's CPU time (fair on a shared machine)
};

template <class F>
Rate rate(F&& f) {
  // Warm up, then run for about one second.
  for (int i = 0; i < 10000; ++i) {
    f();
  }
  size_t n = 0;
  double cpu_start = cpuSeconds();
  auto start = Clock::now();
  auto end = start + std::chrono::seconds(1);
  while (Clock::now() < end) {
    for (int i = 0; i < 1000; ++i) {
      f();
    }
    n += 1000;
  }
  std::chrono::duration<double> secs = Clock::now() - start;
  double cpu = cpuSeconds() - cpu_start;
  return Rate{static_cast<double>(n) / secs.count(), static_cast<double>(n) / cpu};
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
  Rate in = rate([&] {
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
  Rate out_full = rate([&] {
    auto body = toSystem(*plan, values, WriteMode::Create);
    sink += body->size();
  });
  std::vector<std::string> changed = {"phone", "city"};
  Rate out_partial = rate([&] {
    auto body = toSystem(*plan, values, WriteMode::Update, changed);
    sink += body->size();
  });
  std::printf("bench_mapping: HubSpot-like customer, %zu bytes, %zu canonical fields, 1 core\n",
              text.size(), values.size());
  std::printf("%-44s %14s %14s %8s\n", "direction", "records/s cpu", "records/s wall", "goal");
  auto row = [](const char* name, Rate r) {
    std::printf("%-44s %14.0f %14.0f %8s\n", name, r.cpu, r.wall,
                r.cpu >= 500000 ? "met" : "MISSED");
  };
  row("crm -> canonical (parse + map)", in);
  row("canonical -> crm create body (JSON text)", out_full);
  row("canonical -> crm partial update, 2 fields", out_partial);
  return sink == 0 ? 1 : 0;
}

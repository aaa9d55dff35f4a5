#include "tests/bench/peer/tandem_side.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <thread>
#include <vector>

#include <rapidjson/document.h>

#include "tests/e2e/world.h"

namespace tandem::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kIdleWindow = std::chrono::seconds(3);

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Person {
  std::string email;
  std::string crm;
};

// Seeds in chunks so no control call comes near the client's 10 s timeout.
Result<std::vector<Person>> seedCrm(e2e::World& w, int64_t count) {
  std::vector<Person> out;
  out.reserve(static_cast<size_t>(count));
  constexpr int64_t kChunk = 2000;
  for (int64_t done = 0; done < count; done += kChunk) {
    TANDEM_ASSIGN_OR_RETURN(auto body, w.fixtures().seed(std::min(kChunk, count - done), {"crm"}));
    rapidjson::Document doc;
    doc.Parse(body.c_str());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("records")) {
      return fail("bench_peer: seed answered without records: " + body.substr(0, 200));
    }
    for (const auto& r : doc["records"].GetArray()) {
      out.push_back({r["email"].GetString(), r["crm"].GetString()});
    }
  }
  return out;
}

// The counters of the two systems the CRM's customers must reach.
Result<std::pair<int64_t, int64_t>> erpAndFinCreates(e2e::World& w) {
  TANDEM_ASSIGN_OR_RETURN(auto body, w.counters());
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  auto get = [&doc](const char* system) -> int64_t {
    if (!doc.IsObject() || !doc.HasMember(system) || !doc[system].HasMember("api_creates")) {
      return 0;
    }
    return doc[system]["api_creates"].GetInt64();
  };
  if (doc.HasParseError()) {
    return fail("bench_peer: counters are not JSON: " + body.substr(0, 200));
  }
  return std::pair{get("erp"), get("fin")};
}

// The ERP's id of each live partner, by e-mail, from the fixtures' snapshot.
Result<std::map<std::string, std::string>> erpIdsByEmail(e2e::World& w) {
  TANDEM_ASSIGN_OR_RETURN(auto snap, w.fixtures().snapshot());
  rapidjson::Document doc;
  doc.Parse(snap.c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("erp")) {
    return fail("bench_peer: snapshot has no erp records");
  }
  std::map<std::string, std::string> out;
  for (const auto& r : doc["erp"].GetArray()) {
    if (r.HasMember("email") && r["email"].IsString() && r.HasMember("id") && r["id"].IsInt64()) {
      out[r["email"].GetString()] = std::to_string(r["id"].GetInt64());
    }
  }
  return out;
}

std::string newCity(size_t i) {
  return "City-A-" + std::to_string(i);
}

std::string newPhone(size_t i) {
  std::string n = std::to_string(i % 10000);
  return "+44 20 7000 " + std::string(4 - n.size(), '0') + n;
}

struct CpuTimes {
  double self = 0;      // this process: the in-process fixtures, and this bench's polling
  double children = 0;  // reaped children: the agent
};

CpuTimes cpuTimes() {
  auto seconds = [](const rusage& r) {
    return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
  };
  rusage self{};
  rusage children{};
  ::getrusage(RUSAGE_SELF, &self);
  ::getrusage(RUSAGE_CHILDREN, &children);
  return {seconds(self), seconds(children)};
}

// HTTP requests each system served, and how many of them were searches (the feeds) and reads.
Result<std::map<std::string, RequestCounts>> requestCounts(e2e::World& w) {
  TANDEM_ASSIGN_OR_RETURN(auto body, w.counters());
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  if (doc.HasParseError() || !doc.IsObject()) {
    return fail("bench_peer: counters are not JSON: " + body.substr(0, 200));
  }
  std::map<std::string, RequestCounts> out;
  for (const char* system : {"crm", "erp", "fin"}) {
    if (!doc.HasMember(system) || !doc[system].IsObject()) {
      continue;
    }
    const auto& c = doc[system];
    auto get = [&c](const char* name) -> int64_t {
      return c.HasMember(name) && c[name].IsInt64() ? c[name].GetInt64() : 0;
    };
    out[system] = {get("requests"), get("searches"), get("reads")};
  }
  return out;
}

// Conflict log entries on `field` (state=all), paged through.
Result<int64_t> conflictEntries(e2e::World& w, const std::string& field) {
  int64_t total = 0;
  std::string after;
  while (true) {
    TANDEM_ASSIGN_OR_RETURN(
        auto body, w.adminGet("/v1/conflicts?state=all&field=" + field + "&limit=100" + after));
    rapidjson::Document doc;
    doc.Parse(body.c_str());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("conflicts")) {
      return fail("bench_peer: /v1/conflicts is not a conflict list: " + body.substr(0, 200));
    }
    total += static_cast<int64_t>(doc["conflicts"].Size());
    if (doc["conflicts"].Empty() || !doc.HasMember("next_after")) {
      return total;
    }
    after = "&after=" + std::to_string(doc["next_after"].GetUint64());
  }
}

Status editRound(e2e::World& w, const std::vector<Person>& people, const TandemOptions& o,
                 TandemFigures& f) {
  TANDEM_ASSIGN_OR_RETURN(auto erp_ids, erpIdsByEmail(w));
  const size_t k = static_cast<size_t>(std::min<int64_t>(o.edits, std::ssize(people)));
  for (size_t i = 0; i < k; ++i) {
    auto it = erp_ids.find(people[i].email);
    if (it == erp_ids.end()) {
      return fail("bench_peer: " + people[i].email + " is not in the ERP after the sync");
    }
    TANDEM_RETURN_IF_ERROR(w.fixtures().humanEdit(
        "crm", people[i].crm, R"({"properties":{"city":")" + newCity(i) + R"("}})"));
    TANDEM_RETURN_IF_ERROR(
        w.fixtures().humanEdit("erp", it->second, R"({"phone":")" + newPhone(i) + R"("})"));
  }
  const auto start = Clock::now();
  TANDEM_RETURN_IF_ERROR(w.startAgent());
  f.edit_converged = w.waitConverged(std::chrono::seconds(60) + std::chrono::milliseconds(k * 20));
  f.edit_seconds = secondsSince(start);
  TANDEM_ASSIGN_OR_RETURN(auto views, w.views());
  for (size_t i = 0; i < k; ++i) {
    bool all_city = true;
    bool all_phone = true;
    bool whole = true;
    for (const char* system : {"crm", "erp", "fin"}) {
      const auto& by_email = views[system].by_email;
      auto it = by_email.find(people[i].email);
      if (it == by_email.end() || it->second.size() != 1) {
        whole = false;
        continue;
      }
      const conflict::Value* city = it->second.front().find("city");
      const conflict::Value* phone = it->second.front().find("phone");
      auto is = [](const conflict::Value* v, const std::string& want) {
        return v != nullptr && v->kind() == conflict::Value::Kind::String && v->asString() == want;
      };
      all_city = all_city && is(city, newCity(i));
      all_phone = all_phone && is(phone, newPhone(i));
    }
    if (!whole || (!all_city && !all_phone)) {
      ++f.neither;
    } else if (all_city && all_phone) {
      ++f.kept_both;
    } else if (all_city) {
      ++f.city_only;
    } else {
      ++f.phone_only;
    }
  }
  TANDEM_ASSIGN_OR_RETURN(auto on_city, conflictEntries(w, "city"));
  TANDEM_ASSIGN_OR_RETURN(auto on_phone, conflictEntries(w, "phone"));
  f.conflict_entries = on_city + on_phone;
  return {};
}

}  // namespace

Result<TandemFigures> measureTandem(const TandemOptions& o) {
  // World makes its directory, the agent's LMDB state among it, under TMPDIR.
  const char* old_tmp = std::getenv("TMPDIR");
  const std::string saved_tmp = old_tmp != nullptr ? old_tmp : "";
  if (!o.temp_dir.empty()) {
    setenv("TMPDIR", o.temp_dir.c_str(), 1);
  }
  e2e::World w({.poll_interval_ms = o.poll_interval_ms,
                .requests_per_second = o.requests_per_second,
                .max_in_flight = o.max_in_flight,
                .fixture_settings = {}});
  if (old_tmp != nullptr) {
    setenv("TMPDIR", saved_tmp.c_str(), 1);
  } else {
    unsetenv("TMPDIR");
  }
  TandemFigures f;
  f.dir = w.dir();
  TANDEM_ASSIGN_OR_RETURN(auto people, seedCrm(w, o.records));

  // Generous: with fsync on every commit on a shared disk, tandem was seen at 55 customers/s.
  const auto timeout = std::chrono::seconds(60) + std::chrono::milliseconds(o.records * 50);
  const CpuTimes cpu_before = cpuTimes();
  const auto start = Clock::now();
  TANDEM_RETURN_IF_ERROR(w.startAgent());
  std::pair<int64_t, int64_t> creates{0, 0};
  while (true) {
    TANDEM_ASSIGN_OR_RETURN(creates, erpAndFinCreates(w));
    const double now = secondsSince(start);
    if (f.first_create_seconds == 0 && (creates.first > 0 || creates.second > 0)) {
      f.first_create_seconds = now;
    }
    if (f.erp_done_seconds == 0 && creates.first >= o.records) {
      f.erp_done_seconds = now;
    }
    if (f.fin_done_seconds == 0 && creates.second >= o.records) {
      f.fin_done_seconds = now;
    }
    if (std::getenv("TANDEM_BENCH_PEER_TRACE") != nullptr) {
      std::fprintf(stderr, "bench_peer: %.3f s erp %lld fin %lld\n", now,
                   static_cast<long long>(creates.first), static_cast<long long>(creates.second));
    }
    if (creates.first >= o.records && creates.second >= o.records) {
      break;
    }
    if (Clock::now() - start > timeout || !w.agentRunning()) {
      return fail("bench_peer: tandem did not sync " + std::to_string(o.records) +
                  " customers in " + std::to_string(secondsSince(start)) + " s (erp " +
                  std::to_string(creates.first) + ", fin " + std::to_string(creates.second) +
                  " created" + (w.agentRunning() ? "" : ", the agent exited") +
                  "); agent log tail:\n" + w.agentLogTail());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  f.sync_seconds = secondsSince(start);
  f.customers_per_s = f.sync_seconds > 0 ? static_cast<double>(o.records) / f.sync_seconds : 0;
  f.bench_cpu_seconds = cpuTimes().self - cpu_before.self;
  TANDEM_ASSIGN_OR_RETURN(f.requests, requestCounts(w));
  f.converged = w.waitConverged(std::chrono::seconds(60));
  // The feeds read the echoes of the creates after the data converged: wait for them to be
  // through (at most 60 s), or the idle figure below would count that catching up.
  {
    const auto from = Clock::now();
    const auto window = std::chrono::milliseconds(2 * o.poll_interval_ms);
    for (;;) {
      TANDEM_ASSIGN_OR_RETURN(auto before, requestCounts(w));
      std::this_thread::sleep_for(window);
      TANDEM_ASSIGN_OR_RETURN(auto after, requestCounts(w));
      bool quiet = true;
      for (const auto& [system, c] : after) {
        quiet = quiet && c.requests - before[system].requests <= 4;  // two polls, a page each
      }
      if (quiet || Clock::now() - from > std::chrono::seconds(60)) {
        break;
      }
    }
    f.catch_up_seconds = secondsSince(from);
  }
  // Converged and nothing changes: what the agent still asks of each system.
  {
    TANDEM_ASSIGN_OR_RETURN(auto before, requestCounts(w));
    const auto idle_start = Clock::now();
    std::this_thread::sleep_for(kIdleWindow);
    TANDEM_ASSIGN_OR_RETURN(auto after, requestCounts(w));
    const double idle_s = secondsSince(idle_start);
    for (const auto& [system, c] : after) {
      f.idle_requests_per_s[system] =
          static_cast<double>(c.requests - before[system].requests) / idle_s;
    }
  }
  TANDEM_ASSIGN_OR_RETURN(creates, erpAndFinCreates(w));
  f.erp_creates = creates.first;
  f.fin_creates = creates.second;

  // The agent's CPU: a child's rusage is counted once it is reaped, which stopping it does.
  auto code = w.stopAgent();
  if (!code || *code != 0) {
    return fail("bench_peer: the agent did not drain cleanly after the initial sync: " +
                (code ? "exit " + std::to_string(*code) : code.error().message) + "\n" +
                w.agentLogTail());
  }
  f.agent_cpu_seconds = cpuTimes().children - cpu_before.children;

  TANDEM_RETURN_IF_ERROR(editRound(w, people, o, f));
  (void)w.stopAgent();
  if (std::getenv("TANDEM_E2E_KEEP") == nullptr) {
    f.dir.clear();  // World removes it
  }
  return f;
}

}  // namespace tandem::bench

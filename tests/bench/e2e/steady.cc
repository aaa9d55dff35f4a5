#include "tests/bench/e2e/steady.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <random>
#include <thread>

#include <rapidjson/document.h>

#include "tests/bench/e2e/load.h"
#include "tests/e2e/world.h"

namespace tandem::bench {
namespace {

using Clock = std::chrono::steady_clock;
const char* const kSystems[3] = {"crm", "erp", "fin"};

struct Ids {
  std::string id[3];  // crm, erp, fin
};

struct Pending {
  size_t record = 0;
  int source = 0;
  std::string phone;
  Clock::time_point edited;
  bool seen[3] = {false, false, false};
};

// email → ids in each system, from one snapshot of the converged systems.
std::vector<Ids> linkIds(e2e::World& w, std::string& error) {
  auto snap = w.fixtures().snapshot();
  if (!snap) {
    error = "snapshot: " + snap.error().message;
    return {};
  }
  rapidjson::Document doc;
  doc.Parse(snap->c_str());
  std::map<std::string, Ids> by_email;
  for (const auto& r : doc["crm"].GetArray()) {
    by_email[r["properties"]["email"].GetString()].id[0] = r["id"].GetString();
  }
  for (const auto& r : doc["erp"].GetArray()) {
    if (r["email"].IsString()) {
      by_email[r["email"].GetString()].id[1] = std::to_string(r["id"].GetInt64());
    }
  }
  for (const auto& r : doc["fin"].GetArray()) {
    if (r.HasMember("PrimaryEmailAddr")) {
      by_email[r["PrimaryEmailAddr"]["Address"].GetString()].id[2] = r["Id"].GetString();
    }
  }
  std::vector<Ids> out;
  for (auto& [email, ids] : by_email) {
    if (!ids.id[0].empty() && !ids.id[1].empty() && !ids.id[2].empty()) {
      out.push_back(std::move(ids));
    }
  }
  return out;
}

std::string editBody(int system, const std::string& phone) {
  if (system == 0) {
    return R"({"properties":{"phone":")" + phone + "\"}}";
  }
  if (system == 1) {
    return R"({"phone":")" + phone + "\"}";
  }
  return R"({"PrimaryPhone":{"FreeFormNumber":")" + phone + "\"}}";
}

// The phone a system holds for the record now; "" on any error.
std::string readPhone(fixtures::FixtureClient& c, int system, const std::string& id) {
  rapidjson::Document doc;
  if (system == 0) {
    auto r = c.crm().get("/crm/v3/objects/contacts/" + id + "?properties=phone");
    if (!r || r->status != 200) {
      return "";
    }
    doc.Parse(r->body.c_str());
    const auto& v = doc["properties"]["phone"];
    return v.IsString() ? v.GetString() : "";
  }
  if (system == 1) {
    auto r =
        c.erp().post("/json/2/res.partner/read", R"({"ids":[)" + id + R"(],"fields":["phone"]})");
    if (!r || r->status != 200) {
      return "";
    }
    doc.Parse(r->body.c_str());
    const auto& v = doc[0]["phone"];
    return v.IsString() ? v.GetString() : "";
  }
  auto r = c.fin().get("/v3/company/" + c.realm() + "/customer/" + id);
  if (!r || r->status != 200) {
    return "";
  }
  doc.Parse(r->body.c_str());
  const auto& cust = doc["Customer"];
  if (!cust.HasMember("PrimaryPhone")) {
    return "";
  }
  const auto& v = cust["PrimaryPhone"]["FreeFormNumber"];
  return v.IsString() ? v.GetString() : "";
}

double msSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

}  // namespace

double Latencies::percentile(double p) const {
  if (ms.empty()) {
    return std::nan("");
  }
  std::vector<double> v = ms;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}

SteadyResult runSteady(const SteadyOptions& options) {
  SteadyResult out;
  e2e::WorldOptions wo;
  wo.poll_interval_ms = options.poll_interval_ms;
  wo.webhooks = options.webhooks;
  wo.requests_per_second = 100000;  // the config's maximum
  wo.max_in_flight = options.max_in_flight;
  e2e::World w(wo);
  if (auto s = w.fixtures().seed(options.records, {"crm"}); !s) {
    out.error = "seed: " + s.error().message;
    return out;
  }
  if (auto s = w.startAgent(); !s) {
    out.error = s.error().message;
    return out;
  }
  // The initial load first; the bench measures edits on records already in sync.
  const auto load_deadline = Clock::now() + std::chrono::seconds(600);
  while (true) {
    auto erp = w.counter("erp", "api_creates");
    auto fin = w.counter("fin", "api_creates");
    auto depth = w.outboxDepth();
    if (erp && fin && depth && *erp >= options.records && *fin >= options.records && *depth == 0) {
      break;
    }
    if (Clock::now() > load_deadline || !w.agentRunning()) {
      out.error = "initial load did not finish:\n" + w.agentLogTail(10);
      return out;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // Steady state starts once the load's tail is over: the echoes of the load's creates (a feed
  // page each poll, and with webhooks one finance notification and one read per create) may
  // still be read for seconds after the last create. Quiet: the three systems served at most a
  // few requests a second (the polls) for two seconds running.
  std::this_thread::sleep_for(std::chrono::milliseconds(2 * options.poll_interval_ms + 1000));
  waitUntilQuiet([&]() -> std::optional<int64_t> { return totalRequests(w); }, 10,
                 std::chrono::milliseconds(500), 4, std::chrono::seconds(120));
  std::vector<Ids> ids = linkIds(w, out.error);
  if (ids.size() != static_cast<size_t>(options.records)) {
    out.error += "linked " + std::to_string(ids.size()) + " of " + std::to_string(options.records) +
                 " records across the three systems";
    return out;
  }

  std::mutex mu;
  std::vector<Pending> pending;
  std::atomic<bool> editing{true};
  auto finish = [&out](const Pending& p, double ms) {
    out.all.ms.push_back(ms);
    out.by_source[p.source].ms.push_back(ms);
  };
  std::thread watcher([&] {
    fixtures::FixtureClient c(w.ports());
    while (true) {
      std::vector<Pending> todo;
      {
        std::lock_guard lock(mu);
        if (pending.empty() && !editing) {
          return;
        }
        todo = pending;
      }
      std::vector<std::pair<size_t, double>> done;  // record, latency
      std::vector<std::pair<size_t, int>> seen;
      for (const auto& p : todo) {
        bool all = true;
        for (int s = 0; s < 3; ++s) {
          if (s == p.source || p.seen[s]) {
            continue;
          }
          if (readPhone(c, s, ids[p.record].id[s]) == p.phone) {
            seen.emplace_back(p.record, s);
          } else {
            all = false;
          }
        }
        if (all) {
          done.emplace_back(p.record, msSince(p.edited));
        } else if (msSince(p.edited) > 30000) {
          done.emplace_back(p.record, -1);
        }
      }
      std::lock_guard lock(mu);
      for (const auto& [rec, s] : seen) {
        for (auto& p : pending) {
          p.seen[s] = p.seen[s] || p.record == rec;
        }
      }
      for (const auto& [rec, ms] : done) {
        auto it = std::find_if(pending.begin(), pending.end(),
                               [rec](const Pending& p) { return p.record == rec; });
        if (ms < 0) {
          ++out.all.lost;
          ++out.by_source[it->source].lost;
        } else {
          finish(*it, ms);
        }
        pending.erase(it);
      }
      if (todo.empty()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
  });

  // People edit at a steady rate; a record is not edited again while its last edit is pending
  // or younger than ten seconds (two people racing on one field is the conflict bench's topic).
  std::mt19937_64 rng(42);
  std::vector<Clock::time_point> last_edit(ids.size(), Clock::time_point{});
  const double rate = options.edits_per_s_fraction * static_cast<double>(options.records);
  const auto interval = std::chrono::duration<double>(1.0 / rate);
  const auto start = Clock::now();
  const auto stop = start + std::chrono::duration<double>(options.edit_seconds);
  int64_t edits = 0;
  fixtures::FixtureClient control(w.ports());
  for (auto next = start; next < stop;
       next += std::chrono::duration_cast<Clock::duration>(interval)) {
    std::this_thread::sleep_until(next);
    size_t rec = rng() % ids.size();
    while (Clock::now() - last_edit[rec] < std::chrono::seconds(10)) {
      rec = rng() % ids.size();
    }
    const int source = static_cast<int>(rng() % 3);
    const std::string phone = "+1 555 " + std::to_string(1000000 + edits);
    auto r = control.humanEdit(kSystems[source], ids[rec].id[source], editBody(source, phone));
    if (!r) {
      out.error = std::string("edit ") + kSystems[source] + ": " + r.error().message;
      break;
    }
    last_edit[rec] = Clock::now();
    ++edits;
    std::lock_guard lock(mu);
    pending.push_back({rec, source, phone, last_edit[rec]});
  }
  out.edits_per_s =
      static_cast<double>(edits) / std::chrono::duration<double>(Clock::now() - start).count();
  editing = false;
  watcher.join();
  (void)w.stopAgent();
  return out;
}

}  // namespace tandem::bench

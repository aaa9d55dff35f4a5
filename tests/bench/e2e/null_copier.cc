#include "tests/bench/e2e/null_copier.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "agent/net/http_client.h"

namespace tandem::bench {
namespace {

namespace asio = boost::asio;
using agent::net::HttpClient;
using agent::net::HttpRequest;

constexpr int kPageSize = 200;         // the demo feed's paging.limit
constexpr int64_t kSearchCap = 10000;  // the CRM search's cap on `after`
const char* const kRealm = "9130357992222222";

struct Person {
  std::string email, first, last, phone, company, street, city, zip, country, credit;
};

std::string prop(const rapidjson::Value& props, const char* name) {
  const auto it = props.FindMember(name);
  return it != props.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}

// "2026-11-29T14:00:00.123Z" → epoch ms.
int64_t isoToMs(const std::string& iso) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(iso.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) < 6) {
    return 0;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

class Copier {
 public:
  Copier(asio::io_context& ioc, const fixtures::FixturePorts& ports, int max_in_flight)
      : ioc_(ioc), ports_(ports) {
    agent::net::HttpClientOptions options;
    options.useSystemCaStore = false;
    options.maxConnectionsPerOrigin = static_cast<size_t>(max_in_flight);
    options.maxIdlePerOrigin = static_cast<size_t>(max_in_flight);
    client_ = std::move(*agent::net::makeHttpClient(ioc, options));
  }

  CopyResult& result() { return result_; }

  // Pages through the CRM search by lastmodifieddate; when the next page would pass the
  // search's cap, starts again at the last updated time read, skipping ids already read.
  asio::awaitable<void> read() {
    int64_t since = 0;
    int64_t after = 0;
    while (true) {
      HttpRequest r = base("POST", ports_.crm, "/crm/v3/objects/contacts/search", "crm-token");
      r.body =
          R"({"filterGroups":[{"filters":[{"propertyName":"lastmodifieddate","operator":"GTE","value":")" +
          std::to_string(since) +
          R"("}]}],"sorts":[{"propertyName":"lastmodifieddate","direction":"ASCENDING"}],)"
          R"("properties":["email","firstname","lastname","phone","company","address","city",)"
          R"("zip","country","lifecyclestage","hs_lead_status","tags","credit_limit",)"
          R"("lastmodifieddate"],"limit":)" +
          std::to_string(kPageSize) + R"(,"after":")" + std::to_string(after) + "\"}";
      auto answer = co_await client_->send(std::move(r));
      if (!answer || answer->status != 200) {
        fail(answer ? "crm search: HTTP " + std::to_string(answer->status) + " " + answer->body
                    : "crm search: " + answer.error().message);
        break;
      }
      rapidjson::Document doc;
      doc.Parse(answer->body.c_str());
      int64_t last_updated = since;
      for (const auto& rec : doc["results"].GetArray()) {
        const std::string id = rec["id"].GetString();
        const auto& p = rec["properties"];
        last_updated = isoToMs(prop(p, "lastmodifieddate"));
        if (!seen_.insert(id).second) {
          continue;
        }
        people_.push_back({prop(p, "email"), prop(p, "firstname"), prop(p, "lastname"),
                           prop(p, "phone"), prop(p, "company"), prop(p, "address"),
                           prop(p, "city"), prop(p, "zip"), prop(p, "country"),
                           prop(p, "credit_limit")});
        ++result_.read;
      }
      const auto paging = doc.FindMember("paging");
      if (paging == doc.MemberEnd()) {
        break;
      }
      after = std::stoll(paging->value["next"]["after"].GetString());
      if (after >= kSearchCap) {
        since = last_updated;
        after = 0;
      }
    }
    reading_ = false;
  }

  // One of max_in_flight workers per target system: takes the next record read and creates it.
  asio::awaitable<void> write(bool erp) {
    size_t& next = erp ? next_erp_ : next_fin_;
    asio::steady_timer timer(ioc_);
    while (true) {
      if (next >= people_.size()) {
        if (!reading_) {
          co_return;
        }
        timer.expires_after(std::chrono::milliseconds(1));
        co_await timer.async_wait(asio::use_awaitable);
        continue;
      }
      const Person& p = people_[next++];
      HttpRequest r = erp ? erpCreate(p) : finCreate(p);
      auto answer = co_await client_->send(std::move(r));
      if (!answer || answer->status != 200) {
        fail(std::string(erp ? "erp" : "fin") + " create: " +
             (answer ? "HTTP " + std::to_string(answer->status) + " " + answer->body
                     : answer.error().message));
        continue;
      }
      ++(erp ? result_.erp_created : result_.fin_created);
    }
  }

 private:
  HttpRequest base(const char* method, uint16_t port, const std::string& path, const char* token,
                   const char* scheme = "Bearer") {
    HttpRequest r;
    r.method = method;
    r.target = "http://127.0.0.1:" + std::to_string(port) + path;
    r.headers = {{"Authorization", std::string(scheme) + " " + token},
                 {"Content-Type", "application/json"}};
    return r;
  }

  HttpRequest erpCreate(const Person& p) {
    HttpRequest r = base("POST", ports_.erp, "/json/2/res.partner/create", "erp-key", "bearer");
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("vals_list");
    w.StartArray();
    w.StartObject();
    w.Key("name");
    w.String((p.first + " " + p.last).c_str());
    for (const auto& [k, v] : {std::pair<const char*, const std::string*>{"email", &p.email},
                               {"phone", &p.phone},
                               {"street", &p.street},
                               {"city", &p.city},
                               {"zip", &p.zip}}) {
      w.Key(k);
      w.String(v->c_str());
    }
    w.Key("credit_limit");
    w.Double(p.credit.empty() ? 0.0 : std::stod(p.credit));
    w.EndObject();
    w.EndArray();
    w.EndObject();
    r.body = buf.GetString();
    return r;
  }

  HttpRequest finCreate(const Person& p) {
    HttpRequest r = base("POST", ports_.fin,
                         "/v3/company/" + std::string(kRealm) + "/customer?requestid=nc-" + p.email,
                         "fin-token");
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    auto str = [&w](const char* k, const std::string& v) {
      if (!v.empty()) {
        w.Key(k);
        w.String(v.c_str());
      }
    };
    w.StartObject();
    str("DisplayName", p.first + " " + p.last + " " + p.email);
    str("GivenName", p.first);
    str("FamilyName", p.last);
    str("CompanyName", p.company);
    w.Key("PrimaryEmailAddr");
    w.StartObject();
    str("Address", p.email);
    w.EndObject();
    w.Key("PrimaryPhone");
    w.StartObject();
    str("FreeFormNumber", p.phone);
    w.EndObject();
    w.Key("BillAddr");
    w.StartObject();
    str("Line1", p.street);
    str("City", p.city);
    str("PostalCode", p.zip);
    str("Country", p.country);
    w.EndObject();
    if (!p.credit.empty()) {
      w.Key("CreditLimit");
      w.Double(std::stod(p.credit));
    }
    w.EndObject();
    r.body = buf.GetString();
    return r;
  }

  void fail(std::string why) {
    if (result_.first_error.empty()) {
      result_.first_error = std::move(why);
    }
    ++result_.failed;
  }

  asio::io_context& ioc_;
  fixtures::FixturePorts ports_;
  std::unique_ptr<HttpClient> client_;
  std::unordered_set<std::string> seen_;
  std::vector<Person> people_;
  bool reading_ = true;
  size_t next_erp_ = 0;
  size_t next_fin_ = 0;
  CopyResult result_;
};

}  // namespace

CopyResult runNullCopier(const fixtures::FixturePorts& ports, int max_in_flight) {
  // One thread: the coroutines share the copier's vectors without locks.
  asio::io_context ioc(1);
  Copier copier(ioc, ports, max_in_flight);
  const auto start = std::chrono::steady_clock::now();
  asio::co_spawn(ioc, copier.read(), asio::detached);
  for (int i = 0; i < max_in_flight; ++i) {
    asio::co_spawn(ioc, copier.write(true), asio::detached);
    asio::co_spawn(ioc, copier.write(false), asio::detached);
  }
  ioc.run();
  copier.result().seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return copier.result();
}

}  // namespace tandem::bench

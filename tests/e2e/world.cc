#include "tests/e2e/world.h"

#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "mappers/config_loader.h"

#ifndef TANDEM_BIN
#error "TANDEM_BIN (the path of the tandem program) must be defined by the build"
#endif
#ifndef TANDEM_SOURCE_DIR
#error "TANDEM_SOURCE_DIR must be defined by the build"
#endif

namespace tandem::e2e {
namespace fs = std::filesystem;
namespace {

// A port free now, below Linux's ephemeral range (32768 and up): the agent binds it a moment
// later and again after every restart, and a port from the ephemeral range can be taken in
// between as the source port of some outgoing connection (the agent's own, to the fixtures),
// which failed a restart now and then.
uint16_t freePort() {
  static std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> pick(20000, 32000);
  for (int attempt = 0; attempt < 200; ++attempt) {
    const auto port = static_cast<uint16_t>(pick(rng));
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (ok) {
      return port;
    }
  }
  return 0;
}

std::string makeTempDir() {
  std::string tmpl = (fs::temp_directory_path() / "tandem-e2e-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    return {};
  }
  return tmpl;
}

void setMember(rapidjson::Value& obj, const char* name, rapidjson::Value value,
               rapidjson::Document::AllocatorType& a) {
  if (obj.HasMember(name)) {
    obj[name] = value;
  } else {
    obj.AddMember(rapidjson::Value(name, a), value, a);
  }
}

bool isLive(const std::string& system, const rapidjson::Value& rec) {
  if (system == "crm") {
    return !(rec.HasMember("archived") && rec["archived"].IsBool() && rec["archived"].GetBool());
  }
  if (system == "erp") {
    return rec.HasMember("active") && rec["active"].IsBool() && rec["active"].GetBool();
  }
  return rec.HasMember("Active") && rec["Active"].IsBool() && rec["Active"].GetBool();
}

const std::vector<std::string> kSystems = {"crm", "erp", "fin"};

}  // namespace

World::World(WorldOptions options) : options_(std::move(options)) {
  dir_ = makeTempDir();
  fixtures::FixtureOptions fo;
  fo.seed = options_.seed;
  fo.configJson = options_.fixture_settings;
  auto server = fixtures::FixtureServer::start(fo);
  if (!server) {
    ADD_FAILURE() << "fixtures: " << server.error().message;
    return;
  }
  server_ = std::move(*server);
  client_ = std::make_unique<fixtures::FixtureClient>(server_->ports());
  admin_port_ = freePort();
  setenv("CRM_TOKEN", "crm-token", 1);
  setenv("ERP_KEY", "erp-key", 1);
  setenv("FIN_TOKEN", "fin-token", 1);
  setenv("CRM_WEBHOOK_SECRET", "crm-client-secret", 1);
  setenv("FIN_WEBHOOK_VERIFIER", "fin-verifier-token", 1);
  if (auto st = writeConfig(); !st) {
    ADD_FAILURE() << st.error().message;
  }
  if (options_.webhooks) {
    const std::string base = "http://127.0.0.1:" + std::to_string(admin_port_);
    EXPECT_TRUE(client_->setWebhook("crm", base + "/hooks/crm", "crm-client-secret"));
    EXPECT_TRUE(client_->setWebhook("fin", base + "/hooks/fin", "fin-verifier-token"));
  }
}

World::~World() {
  if (agent_pid_ > 0) {
    killAgent();
  }
  client_.reset();
  if (server_) {
    server_->stop();
  }
  if (!dir_.empty() && std::getenv("TANDEM_E2E_KEEP") == nullptr) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

const fixtures::FixturePorts& World::ports() const {
  return server_->ports();
}

double World::fixtureCpuSeconds() const {
  return server_->cpuSeconds();
}

Status World::writeConfig() {
  const std::string src = std::string(TANDEM_SOURCE_DIR) + "/fixtures/config";
  std::ifstream in(src + "/demo.json");
  std::stringstream text;
  text << in.rdbuf();
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseCommentsFlag | rapidjson::kParseTrailingCommasFlag>(
      text.str().c_str());
  if (doc.HasParseError()) {
    return fail("e2e: demo.json: " + std::string(rapidjson::GetParseError_En(doc.GetParseError())));
  }
  auto& a = doc.GetAllocator();
  auto& agent = doc["agent"];
  setMember(agent, "state_dir", rapidjson::Value("state", a), a);
  setMember(agent, "poll_interval_ms", rapidjson::Value(options_.poll_interval_ms), a);
  // Each feed page in the log: a failure's log tail then shows what every feed last returned.
  setMember(agent, "log_level", rapidjson::Value("debug", a), a);
  agent["admin"]["port"] = rapidjson::Value(admin_port_);
  const auto& p = server_->ports();
  for (auto& system : doc["systems"].GetArray()) {
    const std::string name = system["name"].GetString();
    const uint16_t port = name == "crm" ? p.crm : name == "erp" ? p.erp : p.fin;
    system["base_url"] = rapidjson::Value(("http://127.0.0.1:" + std::to_string(port)).c_str(), a);
    rapidjson::Value limits(rapidjson::kObjectType);
    limits.AddMember("requests_per_second", options_.requests_per_second, a);
    limits.AddMember("burst", static_cast<int>(options_.requests_per_second / 10 + 1), a);
    limits.AddMember("max_in_flight", options_.max_in_flight, a);
    setMember(system, "rate_limits", std::move(limits), a);
  }
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  doc.Accept(w);
  config_path_ = dir_ + "/tandem.json";
  std::ofstream(config_path_) << buf.GetString();
  std::error_code ec;
  fs::copy(src + "/mappings", dir_ + "/mappings", fs::copy_options::recursive, ec);
  if (ec) {
    return fail("e2e: copy mappings: " + ec.message());
  }
  mappers::SystemConfigEnv env;
  auto cfg = mappers::loadConfig(config_path_, env);
  if (!cfg) {
    return fail("e2e: config does not load:\n" + cfg.error().formatAll());
  }
  config_ = std::move(*cfg);
  for (const auto& system : kSystems) {
    auto plan = mappers::compilePlan(config_, system, "customer");
    if (!plan) {
      return failWith("e2e: plan " + system, plan.error());
    }
    plans_.emplace(system, std::move(*plan));
  }
  return {};
}

Status World::startAgent() {
  if (agent_pid_ > 0) {
    return fail("e2e: the agent already runs (pid " + std::to_string(agent_pid_) + ")");
  }
  const std::string log = dir_ + "/agent.log";
  // Built before the fork, so the child sets no variable itself (setenv after fork in a
  // threaded process can block on a lock another thread held).
  std::vector<std::string> env_entries;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const auto name = entry.substr(0, entry.find('=') + 1);
    if (std::none_of(agent_env_.begin(), agent_env_.end(),
                     [&](const std::string& extra) { return extra.starts_with(name); })) {
      env_entries.emplace_back(entry);
    }
  }
  env_entries.insert(env_entries.end(), agent_env_.begin(), agent_env_.end());
  std::vector<const char*> envp;
  for (const auto& entry : env_entries) {
    envp.push_back(entry.c_str());
  }
  envp.push_back(nullptr);
  const std::vector<const char*> argv{"tandem", "run", config_path_.c_str(), nullptr};
  pid_t pid = ::fork();
  if (pid < 0) {
    return fail("e2e: fork failed");
  }
  if (pid == 0) {
    FILE* f = std::fopen(log.c_str(), "a");
    if (f != nullptr) {
      ::dup2(fileno(f), STDOUT_FILENO);
      ::dup2(fileno(f), STDERR_FILENO);
    }
    ::execve(TANDEM_BIN, const_cast<char* const*>(argv.data()),
             const_cast<char* const*>(envp.data()));
    std::_Exit(127);
  }
  agent_pid_ = pid;
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) == pid) {
    agent_pid_ = -1;
    return fail("e2e: tandem run exited at once:\n" + agentLogTail());
  }
  return {};
}

Status World::limitAgentFileSize(std::optional<uint64_t> bytes) {
  if (agent_pid_ <= 0) {
    return fail("e2e: the agent is not running");
  }
  rlimit old{};
  if (::prlimit(agent_pid_, RLIMIT_FSIZE, nullptr, &old) != 0) {
    return fail(std::string("e2e: prlimit: ") + std::strerror(errno));
  }
  rlimit lim = old;
  lim.rlim_cur = bytes ? std::min<rlim_t>(*bytes, old.rlim_max) : old.rlim_max;
  if (::prlimit(agent_pid_, RLIMIT_FSIZE, &lim, nullptr) != 0) {
    return fail(std::string("e2e: prlimit: ") + std::strerror(errno));
  }
  return {};
}

Status World::setAsideAgentLog() {
  const std::string log = dir_ + "/agent.log";
  std::error_code ec;
  std::filesystem::copy_file(log, log + ".1", std::filesystem::copy_options::overwrite_existing,
                             ec);
  if (ec) {
    return fail("e2e: copy " + log + ": " + ec.message());
  }
  std::filesystem::resize_file(log, 0, ec);
  if (ec) {
    return fail("e2e: empty " + log + ": " + ec.message());
  }
  return {};
}

uint64_t World::fileSize(const std::string& relative) const {
  std::error_code ec;
  const auto size = std::filesystem::file_size(dir_ + "/" + relative, ec);
  return ec ? 0 : static_cast<uint64_t>(size);
}

Result<int> World::stopAgent(std::chrono::milliseconds timeout) {
  if (agent_pid_ <= 0) {
    return fail("e2e: the agent is not running");
  }
  ::kill(agent_pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(agent_pid_, &status, WNOHANG) == agent_pid_) {
      agent_pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  killAgent();
  return fail("e2e: the agent did not exit within the drain timeout after SIGTERM");
}

void World::killAgent() {
  if (agent_pid_ <= 0) {
    return;
  }
  ::kill(agent_pid_, SIGKILL);
  int status = 0;
  ::waitpid(agent_pid_, &status, 0);
  agent_pid_ = -1;
}

bool World::agentRunning() {
  if (agent_pid_ <= 0) {
    return false;
  }
  int status = 0;
  if (::waitpid(agent_pid_, &status, WNOHANG) == agent_pid_) {
    agent_pid_ = -1;
    return false;
  }
  return true;
}

Status World::pauseAgent() {
  if (agent_pid_ <= 0 || ::kill(agent_pid_, SIGSTOP) != 0) {
    return fail("e2e: cannot pause the agent: it is not running");
  }
  // SIGSTOP is asynchronous: wait until the process is really stopped.
  int status = 0;
  if (::waitpid(agent_pid_, &status, WUNTRACED) != agent_pid_ || !WIFSTOPPED(status)) {
    agent_pid_ = -1;
    return fail("e2e: the agent exited instead of stopping");
  }
  return {};
}

Status World::resumeAgent() {
  if (agent_pid_ <= 0 || ::kill(agent_pid_, SIGCONT) != 0) {
    return fail("e2e: cannot resume the agent: it is not running");
  }
  return {};
}

Result<std::string> World::adminGet(const std::string& target) {
  fixtures::HttpClient http("127.0.0.1", admin_port_, std::chrono::seconds(5));
  auto r = http.get(target);
  if (!r) {
    return std::unexpected(r.error());
  }
  if (r->status != 200) {
    return fail("e2e: " + target + " answered " + std::to_string(r->status) + ": " + r->body);
  }
  return r->body;
}

Status World::loseState() {
  if (agent_pid_ > 0) {
    return fail("e2e: stop the agent before removing its state");
  }
  std::error_code ec;
  fs::remove_all(dir_ + "/state", ec);
  if (ec) {
    return fail("e2e: remove state: " + ec.message());
  }
  return {};
}

Result<int64_t> World::outboxDepth() {
  return statusNumber("outbox_depth");
}

Result<int64_t> World::statusNumber(const std::string& key) {
  TANDEM_ASSIGN_OR_RETURN(auto body, agentStatus());
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember(key.c_str()) ||
      !doc[key.c_str()].IsInt64()) {
    return fail("e2e: /v1/status has no integer " + key + ": " + body);
  }
  return doc[key.c_str()].GetInt64();
}

Result<std::string> World::allConflicts() {
  std::string out = "[";
  std::string after;
  while (true) {
    TANDEM_ASSIGN_OR_RETURN(auto body, adminGet("/v1/conflicts?state=all&limit=1000" + after));
    rapidjson::Document doc;
    doc.Parse(body.c_str());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("conflicts") ||
        !doc["conflicts"].IsArray()) {
      return fail("e2e: /v1/conflicts has no conflicts array: " + body);
    }
    for (const auto& c : doc["conflicts"].GetArray()) {
      rapidjson::StringBuffer buf;
      rapidjson::Writer<rapidjson::StringBuffer> w(buf);
      c.Accept(w);
      out += (out.size() > 1 ? "," : "") + std::string(buf.GetString());
    }
    if (!doc.HasMember("next_after") || !doc["next_after"].IsUint64()) {
      break;
    }
    after = "&after=" + std::to_string(doc["next_after"].GetUint64());
  }
  return out + "]";
}

Result<std::map<std::string, uint64_t>> World::detectorRecordsBySystem() {
  TANDEM_ASSIGN_OR_RETURN(auto body, agentStatus());
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("detectors") ||
      !doc["detectors"].IsArray()) {
    return fail("e2e: /v1/status has no detectors array: " + body);
  }
  std::map<std::string, uint64_t> out;
  for (const auto& d : doc["detectors"].GetArray()) {
    if (d.IsObject() && d.HasMember("records") && d["records"].IsUint64()) {
      const bool named = d.HasMember("system") && d["system"].IsString();
      out[named ? d["system"].GetString() : ""] += d["records"].GetUint64();
    }
  }
  return out;
}

Result<uint64_t> World::detectorRecords() {
  TANDEM_ASSIGN_OR_RETURN(auto by_system, detectorRecordsBySystem());
  uint64_t n = 0;
  for (const auto& [system, records] : by_system) {
    n += records;
  }
  return n;
}

Result<std::map<std::string, SystemView>> World::views() {
  TANDEM_ASSIGN_OR_RETURN(auto snap, client_->snapshot());
  rapidjson::Document doc;
  doc.Parse(snap.c_str());
  if (doc.HasParseError() || !doc.IsObject()) {
    return fail("e2e: snapshot is not a JSON object");
  }
  std::map<std::string, SystemView> out;
  for (const auto& system : kSystems) {
    SystemView& view = out[system];
    for (const auto& rec : doc[system.c_str()].GetArray()) {
      if (!isLive(system, rec)) {
        continue;
      }
      ++view.live;
      auto canon = mappers::toCanonical(plans_.at(system), rec);
      if (!canon) {
        view.errors.push_back(mappers::describe(canon.error()));
        continue;
      }
      const conflict::Value* email = canon->find("email");
      const std::string key = email != nullptr && !email->isNull() ? email->asString() : "";
      view.by_email[key].push_back(std::move(*canon));
    }
  }
  return out;
}

std::string World::checkConverged() {
  auto views_or = views();
  if (!views_or) {
    return views_or.error().message;
  }
  auto& v = *views_or;
  std::vector<std::string> problems;
  auto add = [&problems](std::string p) {
    if (problems.size() < 20) {
      problems.push_back(std::move(p));
    }
  };
  std::set<std::string> emails;
  for (const auto& system : kSystems) {
    for (const auto& e : v[system].errors) {
      add(system + ": unmappable record: " + e);
    }
    for (const auto& [email, recs] : v[system].by_email) {
      emails.insert(email);
      if (email.empty()) {
        add(system + ": " + std::to_string(recs.size()) + " live record(s) without an email");
      } else if (recs.size() > 1) {
        add(system + ": " + email + " exists " + std::to_string(recs.size()) + " times");
      }
    }
  }
  for (const auto& email : emails) {
    for (const auto& system : kSystems) {
      if (v[system].by_email.count(email) == 0) {
        add(system + ": " + email + " is missing");
      }
    }
  }
  // Fields two systems both read and write must agree.
  for (size_t i = 0; i < kSystems.size(); ++i) {
    for (size_t j = i + 1; j < kSystems.size(); ++j) {
      const auto& a = plans_.at(kSystems[i]);
      const auto& b = plans_.at(kSystems[j]);
      std::vector<std::string> shared;
      for (const auto& f : a.readFields()) {
        auto in = [&f](const std::vector<std::string>& xs) {
          return std::binary_search(xs.begin(), xs.end(), f);
        };
        if (in(a.writeFields()) && in(b.readFields()) && in(b.writeFields())) {
          shared.push_back(f);
        }
      }
      for (const auto& email : emails) {
        auto ia = v[kSystems[i]].by_email.find(email);
        auto ib = v[kSystems[j]].by_email.find(email);
        if (ia == v[kSystems[i]].by_email.end() || ib == v[kSystems[j]].by_email.end()) {
          continue;
        }
        for (const auto& f : shared) {
          const conflict::Value* va = ia->second.front().find(f);
          const conflict::Value* vb = ib->second.front().find(f);
          const conflict::Value null;
          const conflict::Value& x = va != nullptr ? *va : null;
          const conflict::Value& y = vb != nullptr ? *vb : null;
          if (!(x == y)) {
            add(email + "." + f + ": " + kSystems[i] + "=" + x.toJson() + " " + kSystems[j] + "=" +
                y.toJson());
          }
        }
      }
    }
  }
  std::string out;
  for (const auto& p : problems) {
    out += p + "\n";
  }
  return out;
}

std::string World::waitConverged(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last;
  while (true) {
    auto depth = outboxDepth();
    if (!depth) {
      last = "agent status: " + depth.error().message + "\n";
    } else if (*depth != 0) {
      last = "outbox depth " + std::to_string(*depth) + "\n";
    } else {
      last = checkConverged();
      if (last.empty()) {
        return "";
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // What the agent says of itself (each detector's last error, each system's breaker, the
  // outbox) and its last warnings: the tail alone is often a burst of info lines.
  std::string status = "(the agent is not running)\n";
  std::string stacks;
  if (agentRunning()) {
    auto body = agentStatus();
    status = (body ? *body : body.error().message) + "\n";
    stacks = agentStacks();
  }
  return "not converged: " + last + stacks + "agent status: " + status +
         "agent warnings (last 30):\n" + agentLogTail(30, " WARN ") + "agent errors (last 10):\n" +
         agentLogTail(10, " ERROR ") + "agent log tail:\n" + agentLogTail();
}

Result<std::string> World::counters() {
  return client_->counters();
}

Result<int64_t> World::counter(const std::string& system, const std::string& name) {
  TANDEM_ASSIGN_OR_RETURN(auto body, counters());
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember(system.c_str())) {
    return fail("e2e: counters have no " + system);
  }
  const auto& s = doc[system.c_str()];
  if (!s.HasMember(name.c_str())) {
    return int64_t{0};
  }
  return s[name.c_str()].GetInt64();
}

// TANDEM_E2E_GDB=1 (a local hunt, not CI): every thread's stack of the running agent, written
// beside its log, so a stall shows where each thread waits.
std::string World::agentStacks() const {
  if (std::getenv("TANDEM_E2E_GDB") == nullptr || agent_pid_ <= 0) {
    return "";
  }
  const std::string out = dir_ + "/agent.stacks";
  const std::string cmd = "gdb -p " + std::to_string(agent_pid_) +
                          " -batch -ex 'thread apply all bt' > " + out + " 2>&1";
  const int rc = std::system(cmd.c_str());
  return "agent stacks (gdb exit " + std::to_string(rc) + "): " + out + "\n";
}

std::string World::agentLogTail(size_t lines, std::string_view containing) const {
  std::ifstream in(dir_ + "/agent.log");
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(containing) == std::string::npos) {
      continue;
    }
    tail.push_back(line);
    if (tail.size() > lines) {
      tail.pop_front();
    }
  }
  std::string out;
  for (const auto& l : tail) {
    out += l + "\n";
  }
  return out;
}

}  // namespace tandem::e2e

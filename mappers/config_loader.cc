// The top of the configuration: agent settings, systems (auth, limits, connectors, mappings)
// and entities. The other parts of the schema live beside this file.

#include "mappers/config_loader.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "mappers/config_internal.h"

namespace tandem::mappers {

std::optional<std::string> SystemConfigEnv::env(const std::string& name) const {
  const char* v = std::getenv(name.c_str());
  return v == nullptr ? std::nullopt : std::optional<std::string>(v);
}

Result<std::string> SystemConfigEnv::readFile(const std::string& path) const {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail("cannot open " + path);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    return fail("cannot read " + path);
  }
  return ss.str();
}

const SystemEntity* SystemConfig::findEntity(std::string_view n) const {
  for (const auto& e : entities) {
    if (e.entity == n) {
      return &e;
    }
  }
  return nullptr;
}

const CanonicalField* EntityConfig::findField(std::string_view n) const {
  auto it =
      std::lower_bound(fields.begin(), fields.end(), n,
                       [](const CanonicalField& f, std::string_view k) { return f.name < k; });
  return it != fields.end() && it->name == n ? &*it : nullptr;
}

const SystemConfig* Config::findSystem(std::string_view name) const {
  for (const auto& s : systems) {
    if (s.name == name) {
      return &s;
    }
  }
  return nullptr;
}

ExistenceCheck Config::existenceCheck(const SystemConfig& system) const {
  ExistenceCheck out = agent.existence_check;
  out.interval_ms = system.existence_check.interval_ms.value_or(out.interval_ms);
  out.max_per_s = system.existence_check.max_per_s.value_or(out.max_per_s);
  return out;
}

const EntityConfig* Config::findEntity(std::string_view name) const {
  for (const auto& e : entities) {
    if (e.name == name) {
      return &e;
    }
  }
  return nullptr;
}

namespace detail {

std::string joinPath(std::string_view dir, std::string_view file) {
  if (file.starts_with('/') || dir.empty()) {
    return std::string(file);
  }
  return std::string(dir) + "/" + std::string(file);
}

namespace {

constexpr std::array<Choice<TimeFormat>, 6> kTimeFormats{
    {{"rfc3339", TimeFormat::Rfc3339},
     {"rfc3339_offset", TimeFormat::Rfc3339Offset},
     {"epoch_s", TimeFormat::EpochS},
     {"epoch_ms", TimeFormat::EpochMs},
     {"naive_utc", TimeFormat::NaiveUtc},
     {"naive_utc_seconds", TimeFormat::NaiveUtcSeconds}}};
constexpr std::array<Choice<LogFormat>, 2> kLogFormats{
    {{"text", LogFormat::Text}, {"json", LogFormat::Json}}};
constexpr std::array<Choice<LogLevelSetting>, 4> kLogLevels{{{"debug", LogLevelSetting::Debug},
                                                             {"info", LogLevelSetting::Info},
                                                             {"warn", LogLevelSetting::Warn},
                                                             {"error", LogLevelSetting::Error}}};
constexpr std::array<Choice<AuthKind>, 4> kAuthKinds{{{"none", AuthKind::None},
                                                      {"bearer", AuthKind::Bearer},
                                                      {"api_key", AuthKind::ApiKeyHeader},
                                                      {"basic", AuthKind::Basic}}};

bool isName(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// "existence_check": {"interval_s": 0 (off) or 60..2592000, "max_per_s": 0.01..1000}; only the
// keys given are set.
ExistenceCheckOverride parseExistenceCheck(ObjectReader& r) {
  ExistenceCheckOverride out;
  auto ec = r.object("existence_check");
  if (!ec) {
    return out;
  }
  if (const JNode* n = ec->get("interval_s")) {
    const int64_t s = ec->integer("interval_s", -1, 0, 30LL * 86400);
    if (s > 0 && s < 60) {
      ec->diags().add(n->loc, ec->pathOf("interval_s"),
                      "an existence check runs at most once a minute: 0 (off) or at least 60");
    } else if (s >= 0) {
      out.interval_ms = s * 1000;
    }
  }
  if (ec->get("max_per_s") != nullptr) {
    const double rate = ec->number("max_per_s", -1, 0.01, 1000);
    if (rate > 0) {
      out.max_per_s = rate;
    }
  }
  ec->finish();
  return out;
}

AgentSettings parseAgent(ObjectReader& r, LoadContext& ctx) {
  AgentSettings a;
  // Relative to the configuration file, like includes and secret files: the daemon and the CLI
  // find the same state whatever directory they are started from.
  a.state_dir = joinPath(ctx.base_dir, r.strOr("state_dir", a.state_dir));
  a.poll_interval_ms = r.integer("poll_interval_ms", a.poll_interval_ms, 100, 86400000);
  a.log_format = r.choice<LogFormat>("log_format", kLogFormats, LogFormat::Text);
  a.log_level = r.choice<LogLevelSetting>("log_level", kLogLevels, LogLevelSetting::Info);
  const ExistenceCheckOverride ec = parseExistenceCheck(r);
  a.existence_check.interval_ms = ec.interval_ms.value_or(a.existence_check.interval_ms);
  a.existence_check.max_per_s = ec.max_per_s.value_or(a.existence_check.max_per_s);
  if (auto ad = r.object("admin")) {
    a.admin.bind = ad->strOr("bind", a.admin.bind);
    a.admin.port = static_cast<uint16_t>(ad->integer("port", a.admin.port, 0, 65535));
    if (const JNode* t = ad->get("token")) {
      a.admin.token = readSecret(t, ad->pathOf("token"), ctx);
    } else if (a.admin.bind != "127.0.0.1" && a.admin.bind != "::1" &&
               a.admin.bind != "localhost") {
      ctx.diags.add(ad->node()->loc, ad->path(),
                    "an admin API bound beyond loopback needs a \"token\"");
    }
    ad->finish();
  }
  return a;
}

Auth parseAuth(ObjectReader& r, LoadContext& ctx) {
  Auth a;
  a.kind = r.choice<AuthKind>("kind", kAuthKinds, AuthKind::None, true);
  switch (a.kind) {
    case AuthKind::None:
      break;
    case AuthKind::Bearer:
      a.header = r.strOr("header", "Authorization");
      a.scheme = r.strOr("scheme", "Bearer");
      a.secret = readSecret(r.require("token"), r.pathOf("token"), ctx);
      break;
    case AuthKind::ApiKeyHeader:
      a.header = r.str("header", true).value_or("");
      a.secret = readSecret(r.require("key"), r.pathOf("key"), ctx);
      break;
    case AuthKind::Basic:
      a.header = "Authorization";
      a.username = r.str("username", true).value_or("");
      a.secret = readSecret(r.require("password"), r.pathOf("password"), ctx);
      break;
  }
  return a;
}

std::vector<ThrottleSignal> parseThrottle(ObjectReader& r, LoadContext& ctx) {
  std::vector<ThrottleSignal> out;
  const JNode* list = r.get("throttle");
  if (list == nullptr || !expectType(*list, JType::Array, r.pathOf("throttle"), ctx.diags)) {
    return {ThrottleSignal{429, "Retry-After", "", ""}};
  }
  for (size_t i = 0; i < list->items.size(); ++i) {
    ObjectReader t(&list->items[i], r.pathOf("throttle") + "[" + std::to_string(i) + "]",
                   ctx.diags);
    ThrottleSignal s;
    s.status = static_cast<int>(t.integer("status", 429, 100, 599, true));
    s.retry_after_header = t.strOr("retry_after_header", "");
    s.error_code_pointer = t.strOr("error_code_pointer", "");
    s.error_code = t.strOr("error_code", "");
    t.finish();
    out.push_back(std::move(s));
  }
  return out;
}

void parseSystemEntities(ObjectReader& r, SystemConfig& s, LoadContext& ctx) {
  auto ents = r.object("entities", true);
  if (!ents) {
    return;
  }
  std::vector<std::string> entity_names;
  for (const auto& e : *ctx.entities) {
    entity_names.push_back(e.name);
  }
  std::vector<std::string> var_names;
  for (const auto& v : s.vars) {
    var_names.push_back(v.first);
  }
  for (const JNode& en : ents->node()->items) {
    std::string epath = ents->pathOf(en.key);
    const EntityConfig* entity = nullptr;
    for (const auto& e : *ctx.entities) {
      if (e.name == en.key) {
        entity = &e;
      }
    }
    if (entity == nullptr) {
      ctx.diags.add(en.key_loc, epath,
                    "unknown entity \"" + en.key + "\"" + suggestion(en.key, entity_names));
      continue;
    }
    ObjectReader er(&en, epath, ctx.diags);
    SystemEntity se;
    se.entity = en.key;
    if (auto c = er.object("connector", true)) {
      se.connector = parseConnector(*c, var_names, ctx);
      c->finish();
    }
    if (const JNode* m = er.require("mapping");
        m != nullptr && expectType(*m, JType::Object, er.pathOf("mapping"), ctx.diags)) {
      const JNode* inc = m->get("include");
      if (inc != nullptr && m->items.size() == 1 &&
          expectType(*inc, JType::String, er.pathOf("mapping.include"), ctx.diags)) {
        std::string file = joinPath(ctx.base_dir, inc->text);
        auto text = ctx.env.readFile(file);
        if (!text) {
          ctx.diags.add(inc->loc, er.pathOf("mapping.include"),
                        "cannot include \"" + inc->text + "\": " + text.error().message);
        } else if (auto root = parseJsonWithLocations(*text, file); !root) {
          ctx.diags.addFormatted(root.error().message);
        } else {
          se.mapping = parseMapping(*root, er.pathOf("mapping"), *entity, s.name, ctx);
        }
      } else if (inc == nullptr) {
        se.mapping = parseMapping(*m, er.pathOf("mapping"), *entity, s.name, ctx);
      } else {
        ctx.diags.add(m->loc, er.pathOf("mapping"),
                      "\"include\" stands alone: put the other keys in the included file");
      }
    }
    er.finish();
    s.entities.push_back(std::move(se));
  }
}

SystemConfig parseSystem(const JNode& n, const std::string& path, LoadContext& ctx) {
  ObjectReader r(&n, path, ctx.diags);
  SystemConfig s;
  s.name = r.str("name", true).value_or("");
  if (auto url = r.str("base_url", true)) {
    s.base_url = *url;
    if (!url->starts_with("http://") && !url->starts_with("https://")) {
      ctx.diags.add(r.get("base_url")->loc, r.pathOf("base_url"),
                    "base_url must start with http:// or https://");
    }
  }
  if (auto a = r.object("auth", true)) {
    s.auth = parseAuth(*a, ctx);
    a->finish();
  }
  if (auto rl = r.object("rate_limits")) {
    s.rate_limits.requests_per_second = rl->number("requests_per_second", 10, 0.001, 100000);
    s.rate_limits.burst = static_cast<int>(rl->integer("burst", 10, 1, 100000));
    s.rate_limits.max_in_flight = static_cast<int>(rl->integer("max_in_flight", 4, 1, 1000));
    rl->finish();
  }
  if (auto t = r.object("timeouts")) {
    s.timeouts.connect_ms = t->integer("connect_ms", 5000, 1, 600000);
    s.timeouts.request_ms = t->integer("request_ms", 30000, 1, 3600000);
    t->finish();
  }
  if (auto v = r.object("vars")) {
    for (const JNode& item : v->node()->items) {
      if (expectType(item, JType::String, v->pathOf(item.key), ctx.diags)) {
        s.vars.emplace_back(item.key, item.text);
      }
    }
  }
  s.throttle = parseThrottle(r, ctx);
  s.default_backoff_ms = r.integer("default_backoff_ms", 1000, 1, 3600000);
  s.existence_check = parseExistenceCheck(r);
  parseSystemEntities(r, s, ctx);
  r.finish();
  return s;
}

}  // namespace

void parseTimeFormat(ObjectReader& r, std::string_view key, TimeFormat& out) {
  out = r.choice<TimeFormat>(key, kTimeFormats, out);
}

Secret readSecret(const JNode* n, const std::string& path, LoadContext& ctx) {
  if (n == nullptr) {
    return {};
  }
  if (n->isString()) {
    ctx.diags.add(n->loc, path,
                  "secrets are never inline: write {\"env\": \"NAME\"} or {\"file\": \"path\"}");
    return {};
  }
  ObjectReader r(n, path, ctx.diags);
  Secret out;
  const bool resolve =
      ctx.opts.resolve_secrets || (ctx.opts.resolve_admin_token && path == "agent.admin.token");
  if (auto name = r.str("env")) {
    auto v = resolve ? ctx.env.env(*name) : std::optional<std::string>("");
    if (!v) {
      ctx.diags.add(n->loc, path, "environment variable " + *name + " is not set");
    } else {
      out = Secret("env:" + *name, *v);
    }
  } else if (auto file = r.str("file")) {
    auto v = resolve ? ctx.env.readFile(joinPath(ctx.base_dir, *file)) : Result<std::string>("");
    if (!v) {
      ctx.diags.add(n->loc, path, "cannot read secret file: " + v.error().message);
    } else {
      std::string s = *v;
      while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) {
        s.pop_back();
      }
      out = Secret("file:" + *file, std::move(s));
    }
  } else if (r.valid()) {
    ctx.diags.add(n->loc, path, "a secret needs \"env\" or \"file\"");
  }
  r.finish();
  return out;
}

}  // namespace detail

ConfigResult loadConfigText(std::string_view text, const std::string& path, const ConfigEnv& env,
                            LoadOptions opts) {
  Diagnostics diags;
  auto root = parseJsonWithLocations(text, path);
  if (!root) {
    diags.addFormatted(root.error().message);
    return std::unexpected(std::move(diags));
  }
  size_t slash = path.rfind('/');
  detail::LoadContext ctx{diags, env,     slash == std::string::npos ? "" : path.substr(0, slash),
                          {},    nullptr, opts};
  Config cfg;
  cfg.path = path;
  ObjectReader r(&*root, "", diags);
  if (auto a = r.object("agent")) {
    cfg.agent = detail::parseAgent(*a, ctx);
    a->finish();
  }
  const JNode* systems = r.require("systems");
  bool systems_ok = systems != nullptr && expectType(*systems, JType::Array, "systems", diags);
  if (systems_ok) {
    for (size_t i = 0; i < systems->items.size(); ++i) {
      const JNode* name = systems->items[i].get("name");
      if (name == nullptr || !name->isString()) {
        continue;
      }
      std::string npath = "systems[" + std::to_string(i) + "].name";
      if (!detail::isName(name->text)) {
        diags.add(name->loc, npath, "a system name is lower-case letters, digits, '_' or '-'");
      } else if (std::find(ctx.system_names.begin(), ctx.system_names.end(), name->text) !=
                 ctx.system_names.end()) {
        diags.add(name->loc, npath, "duplicate system \"" + name->text + "\"");
      }
      ctx.system_names.push_back(name->text);
    }
  }
  if (const JNode* ents = r.require("entities");
      ents != nullptr && expectType(*ents, JType::Array, "entities", diags)) {
    for (size_t i = 0; i < ents->items.size(); ++i) {
      cfg.entities.push_back(
          detail::parseEntity(ents->items[i], "entities[" + std::to_string(i) + "]", ctx));
      for (size_t k = 0; k + 1 < cfg.entities.size(); ++k) {
        if (cfg.entities[k].name == cfg.entities.back().name) {
          diags.add(ents->items[i].loc, "entities[" + std::to_string(i) + "].name",
                    "duplicate entity \"" + cfg.entities.back().name + "\"");
        }
      }
    }
  }
  ctx.entities = &cfg.entities;
  if (systems_ok) {
    if (systems->items.empty()) {
      diags.add(systems->loc, "systems", "at least one system is needed");
    }
    for (size_t i = 0; i < systems->items.size(); ++i) {
      cfg.systems.push_back(
          detail::parseSystem(systems->items[i], "systems[" + std::to_string(i) + "]", ctx));
    }
  }
  r.finish();
  if (!diags.empty()) {
    return std::unexpected(std::move(diags));
  }
  return cfg;
}

ConfigResult loadConfig(const std::string& path, const ConfigEnv& env, LoadOptions opts) {
  auto text = env.readFile(path);
  if (!text) {
    Diagnostics diags;
    diags.addPlain(path, text.error().message);
    return std::unexpected(std::move(diags));
  }
  return loadConfigText(*text, path, env, opts);
}

}  // namespace tandem::mappers

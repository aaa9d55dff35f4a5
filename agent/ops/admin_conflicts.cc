// The admin API's operator routes: conflict review and resolution, dead letters.

#include <charconv>

#include "agent/ops/admin_api.h"
#include "agent/ops/conflict_query.h"
#include "agent/ops/json_out.h"
#include "agent/ops/resolve.h"

namespace tandem::agent::ops {

namespace {

std::optional<uint64_t> parseId(std::string_view text) {
  uint64_t id = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc{} || ptr != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return id;
}

Result<ConflictQuery> conflictQuery(std::string_view target) {
  ConflictQuery q;
  for (const auto& [k, v] : parseQuery(target)) {
    if (k == "state") {
      if (v != "open" && v != "all") {
        return fail("query state=" + v + ": expected open or all");
      }
      q.all = v == "all";
    } else if (k == "record") {
      q.record = v;
    } else if (k == "field") {
      q.field = v;
    } else if (k == "after" || k == "limit") {
      auto n = parseId(v);
      if (!n || (k == "limit" && (*n == 0 || *n > kMaxConflictLimit))) {
        return fail("query " + k + "=" + v + ": expected " +
                    (k == "limit" ? "a number from 1 to " + std::to_string(kMaxConflictLimit)
                                  : std::string("a conflict id")));
      }
      (k == "after" ? q.after : q.limit) = *n;
    } else {
      return fail("query " + k +
                  ": unknown parameter (expected state, record, field, after, "
                  "limit)");
    }
  }
  return q;
}

// 404 for an unknown conflict, 409 for a closed one, 500 for the rest.
int statusOfEngineError(const std::string& message) {
  if (message.find("no such conflict") != std::string::npos ||
      message.find("no such dead letter") != std::string::npos) {
    return 404;
  }
  if (message.find("already closed") != std::string::npos ||
      message.find("already resolved") != std::string::npos) {
    return 409;
  }
  return 500;
}

}  // namespace

AdminApi::Response AdminApi::listConflicts(net::HttpRequest request) {
  auto query = conflictQuery(request.target);
  if (!query) {
    co_return net::jsonError(400, query.error().message);
  }
  auto snap = agent_.store().read();
  if (!snap) {
    co_return net::jsonError(500, snap.error().message);
  }
  auto page = queryConflicts(*snap, *query);
  auto actors = snap->actors();
  if (!page || !actors) {
    co_return net::jsonError(500, !page ? page.error().message : actors.error().message);
  }
  co_return jsonResponse(
      200, conflictsToJson(page->entries, ActorNames(std::move(*actors)), page->next_after));
}

AdminApi::Response AdminApi::conflictSubtree(net::HttpRequest request) {
  constexpr std::string_view kPrefix = "/v1/conflicts/";
  std::string_view rest = request.path().substr(kPrefix.size());
  const size_t slash = rest.find('/');
  const std::string_view id_text = rest.substr(0, slash);
  const std::string_view action =
      slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  if (action != "" && action != "resolve") {
    co_return net::jsonError(404,
                             "no route for " + request.method + " " + std::string(request.path()));
  }
  const std::string expected_method = action.empty() ? "GET" : "POST";
  if (request.method != expected_method) {
    auto r = net::jsonError(
        405, "method " + request.method + " not allowed on " + std::string(request.path()));
    r.headers.emplace_back("Allow", expected_method);
    co_return r;
  }
  const auto id = parseId(id_text);
  if (!id) {
    co_return net::jsonError(400, "conflict id \"" + std::string(id_text) + "\" is not a number");
  }
  if (action.empty()) {
    co_return co_await showConflict(*id);
  }
  co_return co_await resolveConflict(*id, std::move(request.body));
}

AdminApi::Response AdminApi::showConflict(uint64_t id) {
  co_return conflictResponse(id);
}

net::HttpResponse AdminApi::conflictResponse(uint64_t id) {
  auto snap = agent_.store().read();
  if (!snap) {
    return net::jsonError(500, snap.error().message);
  }
  auto entry = snap->conflict(id);
  auto actors = snap->actors();
  if (!entry || !actors) {
    return net::jsonError(500, !entry ? entry.error().message : actors.error().message);
  }
  if (!*entry) {
    return net::jsonError(404, "conflict " + std::to_string(id) + ": no such conflict");
  }
  return jsonResponse(200, conflictToJson(**entry, ActorNames(std::move(*actors))));
}

// GCC 12 warns that asio's awaitable frame is freed by a mismatched operator delete here: a false
// positive of -Wmismatched-new-delete on coroutine frames with a class-specific operator new
// (GCC bug 109224). Silenced for this one function so -Werror builds pass.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
AdminApi::Response AdminApi::resolveConflict(uint64_t id, std::string body) {
  const std::string where = "conflict " + std::to_string(id);
  auto request = parseResolveBody(body);
  if (!request) {
    co_return net::jsonError(400, request.error().message);
  }
  conflict::Value chosen;
  {
    auto snap = agent_.store().read();
    if (!snap) {
      co_return net::jsonError(500, snap.error().message);
    }
    auto entry = snap->conflict(id);
    auto actors = snap->actors();
    if (!entry || !actors) {
      co_return net::jsonError(500, !entry ? entry.error().message : actors.error().message);
    }
    if (!*entry) {
      co_return net::jsonError(404, where + ": no such conflict");
    }
    if (!(*entry)->open) {
      co_return net::jsonError(
          409, where + ": already closed (resolved " + formatUtcMs((*entry)->resolved_ms) + ")");
    }
    auto value = chosenValue(*request, **entry, ActorNames(std::move(*actors)), agent_.config());
    if (!value) {
      co_return net::jsonError(400, value.error().message);
    }
    chosen = std::move(*value);
  }  // the snapshot ends before the agent writes
  const std::string note = resolveNote(*request, "through the admin API");
  auto done = co_await agent_.resolveConflict(id, chosen, note);
  if (!done) {
    co_return net::jsonError(statusOfEngineError(done.error().message), done.error().message);
  }
  log_.info("resolved through the admin API",
            {{"conflict", id}, {"value", chosen.toJson()}, {"note", note}});
  co_return conflictResponse(id);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

AdminApi::Response AdminApi::listDeadLetters(net::HttpRequest request) {
  std::optional<std::string> system;
  for (const auto& [k, v] : parseQuery(request.target)) {
    if (k != "system") {
      co_return net::jsonError(400, "query " + k + ": unknown parameter (expected system)");
    }
    system = v;
  }
  auto snap = agent_.store().read();
  if (!snap) {
    co_return net::jsonError(500, snap.error().message);
  }
  auto actors = snap->actors();
  if (!actors) {
    co_return net::jsonError(500, actors.error().message);
  }
  ActorNames names(std::move(*actors));
  std::optional<conflict::ActorId> system_id;
  if (system) {
    system_id = names.id(*system);
    if (!system_id) {
      co_return net::jsonError(404, "system \"" + *system + "\" is unknown to the store");
    }
  }
  auto dead = snap->deadLetters(system_id, kMaxConflictLimit);
  if (!dead) {
    co_return net::jsonError(500, dead.error().message);
  }
  co_return jsonResponse(200, deadLettersToJson(*dead, names));
}

AdminApi::Response AdminApi::retryDeadLetters(net::HttpRequest request) {
  std::vector<std::pair<std::string, std::string>> targets;  // (system, record)
  auto parsed = parseRetryBody(request.body);
  if (!parsed) {
    co_return net::jsonError(400, parsed.error().message);
  }
  if (parsed->system.empty()) {
    auto snap = agent_.store().read();
    if (!snap) {
      co_return net::jsonError(500, snap.error().message);
    }
    auto actors = snap->actors();
    auto dead = snap->deadLetters(std::nullopt, kMaxConflictLimit);
    if (!actors || !dead) {
      co_return net::jsonError(500, !actors ? actors.error().message : dead.error().message);
    }
    ActorNames names(std::move(*actors));
    for (const auto& d : *dead) {
      targets.emplace_back(names.name(d.system), d.record);
    }
  } else {
    targets.emplace_back(parsed->system, parsed->record);
  }
  std::vector<std::string> failures;
  size_t retried = 0;
  for (auto& [system, record] : targets) {
    auto done = co_await agent_.retryDeadLetter(system, record);
    if (done) {
      ++retried;
      log_.info("dead letter retried through the admin API",
                {{"system", system}, {"record", record}});
    } else if (!parsed->system.empty()) {
      co_return net::jsonError(statusOfEngineError(done.error().message), done.error().message);
    } else {
      failures.push_back(done.error().message);
    }
  }
  std::string body = "{\"retried\":" + std::to_string(retried) + ",\"failed\":[";
  for (size_t i = 0; i < failures.size(); ++i) {
    body += (i ? "," : "") + errorJson(failures[i]);
  }
  body += "]}";
  co_return jsonResponse(failures.empty() ? 200 : 500, std::move(body));
}

}  // namespace tandem::agent::ops

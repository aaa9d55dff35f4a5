// Webhook receivers (see webhooks.h).

#include "agent/runtime/webhooks.h"

#include <set>

#include "agent/runtime/detector.h"

namespace tandem::agent::runtime::detail {

namespace {

void count(Core& core, const std::string& system, const std::string& entity, bool accepted) {
  Stats& st = core.stats();
  std::lock_guard lock(st.mu);
  auto& w = st.webhooks[{system, entity}];
  w.system = system;
  w.entity = entity;
  ++(accepted ? w.accepted : w.rejected);
}

asio::awaitable<net::HttpResponse> receive(std::weak_ptr<Core> weak, std::string system,
                                           std::string entity, net::HttpRequest request) {
  auto core = weak.lock();
  if (!core || core->stopping()) {
    co_return net::jsonError(503, "webhook " + system + ": the agent is stopping");
  }
  auto rt = core->system(system);
  EntityRuntime* ent = rt ? rt->entity(entity) : nullptr;
  if (ent == nullptr || ent->connector->webhook() == nullptr) {
    co_return net::jsonError(
        404, "webhook " + system + "." + entity + ": not configured (removed by a reload?)");
  }
  auto delivery = ent->connector->verifyWebhook(request, core->clock().nowMs());
  if (!delivery) {
    count(*core, system, entity, false);
    core->log().warn("webhook rejected",
                     {{"system", system}, {"entity", entity}, {"error", delivery.error().message}});
    co_return net::jsonError(401, delivery.error().message);
  }
  count(*core, system, entity, true);
  std::vector<std::string> ids;
  std::set<std::string> seen;
  for (auto& id : delivery->ids) {
    if (!id.empty() && seen.insert(id).second) {
      ids.push_back(std::move(id));
    }
  }
  core->log().debug(
      "webhook accepted",
      {{"system", system}, {"entity", entity}, {"ids", static_cast<uint64_t>(ids.size())}});
  if (ids.empty()) {
    ent->detector->wake(rt);
  } else {
    core->spawn(rt->strand, ent->detector->fetchIds(rt, ids),
                "webhook fetch " + system + "." + entity);
  }
  net::HttpResponse response;
  response.status = 200;
  response.headers.emplace_back("Content-Type", "application/json");
  response.body = "{\"accepted\":" + std::to_string(ids.size()) + "}";
  co_return response;
}

asio::awaitable<net::HttpResponse> notFound(std::string method, std::string path) {
  co_return net::jsonError(404, "no route for " + method + " " + path);
}

}  // namespace

void addWebhookRoutes(const std::shared_ptr<Core>& core, net::Router& router) {
  // One catch-all (the shortest prefix, so every other route goes first) finds the webhook in the
  // configuration in force: one a reload adds, moves or removes needs no restart.
  std::weak_ptr<Core> any = core;
  router.addPrefix("POST", "/", [any](net::HttpRequest request) {
    std::string path(request.path());
    if (auto live = any.lock()) {
      for (const auto& sys : live->config()->systems) {
        for (const auto& se : sys.entities) {
          if (se.connector.webhook && se.connector.webhook->path == path) {
            return receive(any, sys.name, se.entity, std::move(request));
          }
        }
      }
    }
    return notFound("POST", std::move(path));
  });
  // Other methods on paths nothing else serves: not found, not "method not allowed".
  router.addPrefix("GET", "/", [](net::HttpRequest request) {
    return notFound("GET", std::string(request.path()));
  });
}

}  // namespace tandem::agent::runtime::detail

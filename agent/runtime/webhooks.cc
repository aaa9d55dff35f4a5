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

}  // namespace

void addWebhookRoutes(const std::shared_ptr<Core>& core, net::Router& router) {
  std::set<std::string> paths;
  for (const auto& sys : core->config()->systems) {
    for (const auto& se : sys.entities) {
      if (!se.connector.webhook || !paths.insert(se.connector.webhook->path).second) {
        continue;
      }
      std::weak_ptr<Core> weak = core;
      router.add("POST", se.connector.webhook->path,
                 [weak, system = sys.name, entity = se.entity](net::HttpRequest request) {
                   return receive(weak, system, entity, std::move(request));
                 });
    }
  }
}

}  // namespace tandem::agent::runtime::detail

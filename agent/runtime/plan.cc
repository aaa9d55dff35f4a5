// `tandem plan`: one pass of every detector against a scratch copy of the state, and what the
// agent would push. The real state is only read (copied with mdb_env_copy); nothing is pushed.

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <map>

#include <boost/asio/use_future.hpp>

#include "agent/runtime/agent.h"
#include "agent/runtime/core.h"

namespace tandem::agent::runtime {

namespace {

using detail::Core;
namespace asio = boost::asio;

class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tandem-plan-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) {
      path_ = tmpl;
    }
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) {
      std::filesystem::remove_all(path_, ec);
    }
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Source {
  std::string system;
  std::string entity;
  std::string native_id;
};

// Which system's report a record's change came from: the source of its fields (the first planned
// field for a push, any field otherwise), and that system's native id of the record.
Result<Source> sourceOf(state::Store& store, const std::string& record, std::string_view entity,
                        const std::vector<std::string>& fields) {
  Source out{"", std::string(entity), ""};
  TANDEM_ASSIGN_OR_RETURN(auto snap, store.read());
  TANDEM_ASSIGN_OR_RETURN(auto rec, snap.record(record));
  if (!rec) {
    return out;
  }
  std::optional<conflict::ActorId> actor;
  for (const auto& name : fields) {
    if (const auto* f = rec->fields.find(name)) {
      actor = f->source;
      break;
    }
  }
  if (!actor && !rec->fields.empty()) {
    actor = rec->fields.begin()->second.source;
  }
  if (!actor) {
    return out;
  }
  TANDEM_ASSIGN_OR_RETURN(auto actors, snap.actors());
  for (const auto& [name, id] : actors) {
    if (id == *actor) {
      out.system = name;
    }
  }
  TANDEM_ASSIGN_OR_RETURN(auto native, snap.nativeId(record, *actor));
  out.native_id = native.value_or("");
  return out;
}

std::string fieldList(const conflict::PushPlan& plan) {
  std::string out;
  for (const auto& f : plan.fields) {
    out += (out.empty() ? "" : ", ") + f.name;
  }
  return out;
}

asio::awaitable<Status> planPass(std::shared_ptr<Core> core, PlanReport& report) {
  uint64_t conflicts_before = 0;
  {
    TANDEM_CO_ASSIGN_OR_RETURN(auto snap, core->store().read());
    TANDEM_CO_ASSIGN_OR_RETURN(conflicts_before, snap.conflictSeq());
  }
  for (auto& rt : core->systems()) {
    for (auto& ent : rt->entities) {
      std::optional<std::string> cursor;
      {
        TANDEM_CO_ASSIGN_OR_RETURN(auto snap, core->store().read());
        TANDEM_CO_ASSIGN_OR_RETURN(cursor, snap.cursor(rt->id, ent->entity->name));
      }
      for (;;) {
        const detail::SystemRuntime::ReadMark read(*rt);
        auto batch = co_await ent->connector->fetchChanges(cursor);
        if (!batch) {
          co_return failWith("plan: fetch " + rt->name() + "." + ent->entity->name, batch.error());
        }
        report.fetched += batch->records.size();
        detail::MappedBatch mapped = detail::mapRecords(*rt, *ent, batch->records);
        for (const auto& [native, reason] : mapped.failures) {
          ++report.errors;
          report.items.push_back({rt->name(), ent->entity->name, native, "dead-letter: " + reason});
        }
        auto result =
            co_await core->ingest(*rt, *ent, std::move(mapped.incoming), std::move(mapped.failures),
                                  batch->cursor, read.started());
        if (!result) {
          co_return failWith("plan: ingest " + rt->name() + "." + ent->entity->name,
                             result.error());
        }
        report.new_records += result->new_records;
        report.updated_records += result->updated_records;
        report.conflicts += result->conflicts;
        if (batch->cursor) {
          cursor = batch->cursor;
        }
        if (!batch->more) {
          break;
        }
      }
    }
  }
  for (auto& rt : core->systems()) {
    auto jobs = co_await core->onWriter(
        [&] { return core->engine().duePushes(rt->id, std::numeric_limits<uint32_t>::max()); });
    if (!jobs) {
      co_return failWith("plan: pushes to " + rt->name(), jobs.error());
    }
    for (const auto& job : *jobs) {
      std::vector<std::string> planned;
      for (const auto& f : job.plan.fields) {
        planned.push_back(f.name);
      }
      TANDEM_CO_ASSIGN_OR_RETURN(Source s,
                                 sourceOf(core->store(), job.record, job.entity, planned));
      std::string action;
      if (job.plan.op == conflict::PushOp::Delete) {
        action = "delete in " + rt->name();
        ++report.updates;
      } else if (job.native_id.empty()) {
        action = "create in " + rt->name();
        ++report.creates;
      } else {
        action = "update " + rt->name() + " (" + fieldList(job.plan) + ")";
        ++report.updates;
      }
      report.items.push_back({s.system, s.entity, s.native_id, std::move(action)});
    }
  }
  std::vector<conflict::ConflictEntry> conflicts;
  {
    TANDEM_CO_ASSIGN_OR_RETURN(auto snap, core->store().read());
    TANDEM_CO_ASSIGN_OR_RETURN(conflicts, snap.conflicts(conflicts_before + 1, 1'000'000));
  }
  for (const auto& c : conflicts) {
    TANDEM_CO_ASSIGN_OR_RETURN(Source s, sourceOf(core->store(), c.record, c.entity, {c.field}));
    report.items.push_back({s.system, s.entity, s.native_id, "conflict on " + c.field});
  }
  co_return Status{};
}

}  // namespace

Result<PlanReport> plan(boost::asio::io_context& ioc, const mappers::Config& config,
                        AgentOptions options) {
  if (options.log == nullptr) {
    options.log = &nullLogger();
  }
  const std::string real =
      options.state_dir_override.empty() ? config.agent.state_dir : options.state_dir_override;
  ScratchDir scratch;
  if (scratch.path().empty()) {
    return fail("plan: cannot create a scratch directory under " +
                std::filesystem::temp_directory_path().string());
  }
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::path(real) / "data.mdb", ec)) {
    state::Options ro = options.store;
    auto store = state::Store::open(real, ro);
    if (!store) {
      return failWith("plan: open state", store.error());
    }
    TANDEM_RETURN_IF_ERROR((*store)->copyTo(scratch.path()));
  }
  options.state_dir_override = scratch.path();
  options.store.sync = false;
  // All of it on `ioc`, which the loop below runs itself: a writer context the caller passed
  // might not be running.
  options.writer_context = nullptr;
  auto core = std::make_shared<Core>(ioc, std::move(options));
  TANDEM_RETURN_IF_ERROR(core->open(config));

  PlanReport report;
  auto future = asio::co_spawn(ioc, planPass(core, report), asio::use_future);
  // Works whether or not other threads run the io_context.
  while (future.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready) {
    if (ioc.stopped()) {
      ioc.restart();
    }
    ioc.run_one_for(std::chrono::milliseconds(10));
  }
  Status done = future.get();
  if (!done) {
    return std::unexpected(done.error());
  }
  return report;
}

}  // namespace tandem::agent::runtime

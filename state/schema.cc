#include "state/schema.h"

#include <array>
#include <span>

#include "conflict/bytes.h"
#include "state/keys.h"
#include "state/store.h"

namespace tandem::state {

namespace {

// 1 -> 2: records and shadows are written in value format 2 (conflict/codec.cc). Format 1
// values are still read and each is rewritten when it next changes, so nothing needs
// rewriting here: the new version only makes a build that cannot read format 2 refuse the
// store instead of failing on its first record.
Status migrate1to2(lmdb::WriteTxn& /*txn*/, const Tables& /*tables*/) {
  return {};
}

// A change of layout adds {n, &migrateNtoN+1} here and bumps kSchemaVersion.
constexpr std::array<MigrationStep, 1> kMigrations{{{1, &migrate1to2}}};

std::string encodeVersion(uint32_t v) {
  std::string out;
  ByteWriter(out).varint(v);
  return out;
}

Result<uint32_t> decodeVersion(std::string_view bytes) {
  ByteReader r(bytes);
  TANDEM_ASSIGN_OR_RETURN(uint64_t v, r.varint("schema version"));
  if (!r.atEnd() || v > UINT32_MAX) {
    return fail("corrupt value: schema version");
  }
  return static_cast<uint32_t>(v);
}

Migration findMigration(std::span<const MigrationStep> steps, uint32_t from) {
  for (const auto& s : steps) {
    if (s.from == from) {
      return s.run;
    }
  }
  return nullptr;
}

}  // namespace

Result<Tables> openTables(lmdb::WriteTxn& txn) {
  Tables t;
  TANDEM_ASSIGN_OR_RETURN(t.meta, txn.openDbi("meta", keys::formatRaw));
  TANDEM_ASSIGN_OR_RETURN(t.records, txn.openDbi("records", keys::formatRaw));
  TANDEM_ASSIGN_OR_RETURN(t.links, txn.openDbi("links", keys::formatSystemString));
  TANDEM_ASSIGN_OR_RETURN(t.links_by_record,
                          txn.openDbi("links_by_record", keys::formatStringSystem));
  TANDEM_ASSIGN_OR_RETURN(t.matchkeys, txn.openDbi("matchkeys", keys::formatStrings));
  TANDEM_ASSIGN_OR_RETURN(t.shadows, txn.openDbi("shadows", keys::formatSystemString));
  TANDEM_ASSIGN_OR_RETURN(t.cursors, txn.openDbi("cursors", keys::formatSystemString));
  TANDEM_ASSIGN_OR_RETURN(t.outbox, txn.openDbi("outbox", keys::formatOutbox));
  TANDEM_ASSIGN_OR_RETURN(t.outbox_index, txn.openDbi("outbox_index", keys::formatSystemString));
  TANDEM_ASSIGN_OR_RETURN(t.conflicts, txn.openDbi("conflicts", keys::formatId));
  TANDEM_ASSIGN_OR_RETURN(t.conflicts_open, txn.openDbi("conflicts_open", keys::formatId));
  TANDEM_ASSIGN_OR_RETURN(t.conflicts_by_rec,
                          txn.openDbi("conflicts_by_rec", keys::formatStringId));
  TANDEM_ASSIGN_OR_RETURN(t.deadletters, txn.openDbi("deadletters", keys::formatSystemString));
  return t;
}

std::span<const MigrationStep> migrations() {
  return kMigrations;
}

Status checkSchema(lmdb::WriteTxn& txn, const Tables& tables, const std::string& dir,
                   std::span<const MigrationStep> steps) {
  TANDEM_ASSIGN_OR_RETURN(auto stored, txn.get(tables.meta, kMetaSchema));
  if (!stored) {
    return txn.put(tables.meta, kMetaSchema, encodeVersion(kSchemaVersion));
  }
  auto version = decodeVersion(*stored);
  if (!version) {
    return fail("state: " + dir + ": meta[\"schema_version\"]: " + version.error().message);
  }
  if (*version > kSchemaVersion) {
    return fail("state: " + dir + ": schema version " + std::to_string(*version) +
                " is newer than this build (" + std::to_string(kSchemaVersion) +
                "); refusing to open");
  }
  for (uint32_t v = *version; v < kSchemaVersion; ++v) {
    Migration m = findMigration(steps, v);
    if (m == nullptr) {
      return fail("state: " + dir + ": no migration from schema version " + std::to_string(v) +
                  " to " + std::to_string(v + 1));
    }
    auto done = m(txn, tables);
    if (!done) {
      return failWith("state: " + dir + ": migrate schema " + std::to_string(v) + " -> " +
                          std::to_string(v + 1),
                      done.error());
    }
  }
  if (*version != kSchemaVersion) {
    return txn.put(tables.meta, kMetaSchema, encodeVersion(kSchemaVersion));
  }
  return {};
}

}  // namespace tandem::state

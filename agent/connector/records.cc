#include "agent/connector/records.h"

#include "agent/connector/json_util.h"
#include "mappers/transforms.h"

namespace tandem::agent::connector {
namespace {

// The time at `pointer`: 0 when absent or null; an error text when unreadable.
std::expected<int64_t, std::string> timeAt(const rapidjson::Value& record,
                                           const std::string& pointer, mappers::TimeFormat format) {
  if (pointer.empty()) {
    return 0;
  }
  const rapidjson::Value* v = valueAt(record, pointer);
  if (v == nullptr || v->IsNull()) {
    return 0;
  }
  const std::string what = "updated at \"" + pointer + "\"";
  if (mappers::isEpochFormat(format)) {
    int64_t n = 0;
    if (v->IsInt64()) {
      n = v->GetInt64();
    } else if (v->IsString()) {
      const auto parsed =
          mappers::parseInteger(std::string_view(v->GetString(), v->GetStringLength()));
      if (!parsed) {
        return std::unexpected(what + ": expected " + mappers::timeFormatName(format) + ", got " +
                               quoteForError(v->GetString()));
      }
      n = *parsed;
    } else {
      return std::unexpected(what + ": expected " + mappers::timeFormatName(format) + ", got " +
                             jsonTypeName(*v));
    }
    return format == mappers::TimeFormat::EpochS ? n * 1000 : n;
  }
  if (!v->IsString()) {
    return std::unexpected(what + ": expected a " + mappers::timeFormatName(format) +
                           " string, got " + jsonTypeName(*v));
  }
  const std::string_view text(v->GetString(), v->GetStringLength());
  const auto ms = mappers::parseTime(text, format);
  if (!ms) {
    return std::unexpected(what + ": expected " + mappers::timeFormatName(format) + ", got " +
                           quoteForError(text));
  }
  return *ms;
}

// A flag at `pointer`: nullopt when absent/null, an error when not a bool.
std::expected<std::optional<bool>, std::string> flagAt(const rapidjson::Value& record,
                                                       const std::string& pointer,
                                                       const char* name) {
  if (pointer.empty()) {
    return std::optional<bool>();
  }
  const rapidjson::Value* v = valueAt(record, pointer);
  if (v == nullptr || v->IsNull()) {
    return std::optional<bool>();
  }
  if (!v->IsBool()) {
    return std::unexpected(std::string(name) + " at \"" + pointer + "\": expected bool, got " +
                           jsonTypeName(*v));
  }
  return std::optional<bool>(v->GetBool());
}

}  // namespace

NativeRecord readRecord(const mappers::RecordPointers& pointers, const rapidjson::Value& value) {
  NativeRecord rec;
  rec.body.CopyFrom(value, rec.body.GetAllocator());
  if (!value.IsObject()) {
    rec.error = std::string("expected an object, got ") + jsonTypeName(value);
    return rec;
  }
  std::string errors;
  auto note = [&](const std::string& e) { errors += (errors.empty() ? "" : "; ") + e; };
  const rapidjson::Value* id = valueAt(value, pointers.id);
  if (id == nullptr || id->IsNull()) {
    note("id at \"" + pointers.id + "\" is missing");
  } else if (auto text = scalarText(*id); !text || text->empty()) {
    note("id at \"" + pointers.id + "\": expected a non-empty string or an integer, got " +
         (text ? std::string("\"\"") : std::string(jsonTypeName(*id))));
  } else {
    rec.id = std::move(*text);
  }
  if (auto updated = timeAt(value, pointers.updated, pointers.updated_format)) {
    rec.updated_ms = *updated;
  } else {
    note(updated.error());
  }
  if (!pointers.version.empty()) {
    const rapidjson::Value* v = valueAt(value, pointers.version);
    if (v != nullptr && !v->IsNull()) {
      if (auto text = scalarText(*v)) {
        rec.version = std::move(*text);
      } else {
        note("version at \"" + pointers.version + "\": expected a string or an integer, got " +
             jsonTypeName(*v));
      }
    }
  }
  if (auto deleted = flagAt(value, pointers.deleted, "deleted")) {
    rec.deleted = deleted->value_or(false);
  } else {
    note(deleted.error());
  }
  if (auto archived = flagAt(value, pointers.archived, "archived")) {
    rec.archived = archived->value_or(false);
  } else {
    note(archived.error());
  }
  if (auto active = flagAt(value, pointers.active, "active")) {
    rec.archived = rec.archived || !active->value_or(true);
  } else {
    note(active.error());
  }
  rec.error = std::move(errors);
  return rec;
}

int64_t readUpdatedMs(const mappers::RecordPointers& pointers, const rapidjson::Value& value) {
  auto ms = timeAt(value, pointers.updated, pointers.updated_format);
  return ms ? *ms : 0;
}

}  // namespace tandem::agent::connector

// The connector description of one system × entity: feed, record pointers, get, create,
// update, delete, batch endpoints and webhooks. Consumed by agent/ (DESIGN.md "Connectors are
// data, not code"); validated here.

#include <algorithm>
#include <array>

#include "mappers/config_internal.h"

namespace tandem::mappers::detail {
namespace {

constexpr std::array<Choice<int>, 5> kMethods{
    {{"GET", 0}, {"POST", 1}, {"PUT", 2}, {"PATCH", 3}, {"DELETE", 4}}};

void checkTemplate(const std::string& text, const JNode& at, const std::string& path,
                   const std::vector<std::string>& allowed, LoadContext& ctx) {
  size_t pos = 0;
  while ((pos = text.find('{', pos)) != std::string::npos) {
    size_t end = text.find('}', pos);
    if (end == std::string::npos) {
      ctx.diags.add(at.loc, path, "unclosed placeholder in \"" + text + "\"");
      return;
    }
    std::string name = text.substr(pos + 1, end - pos - 1);
    bool ok = std::find(allowed.begin(), allowed.end(), name) != allowed.end();
    if (!ok) {
      ctx.diags.add(at.loc, path,
                    "unknown placeholder \"{" + name + "}\"" + suggestion(name, allowed));
    }
    pos = end + 1;
  }
}

void checkTemplateTree(const JNode& n, const std::string& path,
                       const std::vector<std::string>& allowed, LoadContext& ctx) {
  if (n.isString()) {
    checkTemplate(n.text, n, path, allowed, ctx);
  }
  for (size_t i = 0; i < n.items.size(); ++i) {
    const JNode& c = n.items[i];
    checkTemplateTree(c, n.isObject() ? path + "." + c.key : path + "[" + std::to_string(i) + "]",
                      allowed, ctx);
  }
}

RequestSpec parseRequest(ObjectReader& r, std::vector<std::string> allowed,
                         const std::vector<std::string>& vars, LoadContext& ctx,
                         const char* default_method) {
  RequestSpec q;
  allowed.insert(allowed.end(), vars.begin(), vars.end());
  int m = r.choice<int>("method", kMethods, -1);
  q.method = m >= 0 ? std::string(kMethods[static_cast<size_t>(m)].name) : default_method;
  if (auto url = r.str("url", true)) {
    q.url = *url;
    checkTemplate(q.url, *r.get("url"), r.pathOf("url"), allowed, ctx);
  }
  if (auto h = r.object("headers")) {
    for (const JNode& item : h->node()->items) {
      if (expectType(item, JType::String, h->pathOf(item.key), ctx.diags)) {
        checkTemplate(item.text, item, h->pathOf(item.key), allowed, ctx);
        q.headers.emplace_back(item.key, item.text);
      }
    }
  }
  if (const JNode* body = r.get("body")) {
    checkTemplateTree(*body, r.pathOf("body"), allowed, ctx);
    q.body = body->toJson();
  }
  return q;
}

std::string pointer(ObjectReader& r, std::string_view key, bool required = false,
                    bool wildcard = false) {
  const JNode* n = required ? r.require(key) : r.get(key);
  if (n == nullptr || !expectType(*n, JType::String, r.pathOf(key), r.diags())) {
    return "";
  }
  std::string problem = pointerProblem(n->text, wildcard);
  if (!problem.empty()) {
    r.diags().add(n->loc, r.pathOf(key), problem);
    return "";
  }
  return n->text;
}

WriteSpec parseWrite(ObjectReader& r, std::vector<std::string> allowed,
                     const std::vector<std::string>& vars, LoadContext& ctx,
                     const char* default_method) {
  WriteSpec w;
  w.request = parseRequest(r, std::move(allowed), vars, ctx, default_method);
  w.record_at = pointer(r, "record_at");
  w.response_record_pointer = pointer(r, "response_record");
  return w;
}

constexpr std::array<Choice<IdType>, 2> kIdTypes{
    {{"string", IdType::String}, {"integer", IdType::Integer}}};
constexpr std::array<Choice<SinceSource>, 2> kSinceSources{
    {{"max_updated", SinceSource::MaxUpdated}, {"token", SinceSource::Token}}};
constexpr std::array<Choice<PagingKind>, 5> kPaging{
    {{"none", PagingKind::None},
     {"body_token", PagingKind::BodyToken},
     {"next_url", PagingKind::NextUrl},
     {"offset_limit", PagingKind::OffsetLimit},
     {"starting_after", PagingKind::StartingAfter}}};
constexpr std::array<Choice<ConcurrencyKind>, 3> kConcurrency{
    {{"none", ConcurrencyKind::None},
     {"if_match", ConcurrencyKind::IfMatch},
     {"body_version", ConcurrencyKind::BodyVersion}}};
constexpr std::array<Choice<DeleteMode>, 3> kDeleteModes{{{"none", DeleteMode::None},
                                                          {"request", DeleteMode::Request},
                                                          {"field", DeleteMode::FieldWrite}}};
constexpr std::array<Choice<SignatureEncoding>, 2> kEncodings{
    {{"hex", SignatureEncoding::Hex}, {"base64", SignatureEncoding::Base64}}};
constexpr std::array<Choice<SignaturePart>, 4> kParts{{{"method", SignaturePart::Method},
                                                       {"uri", SignaturePart::Uri},
                                                       {"body", SignaturePart::Body},
                                                       {"timestamp", SignaturePart::Timestamp}}};
constexpr std::array<Choice<bool>, 2> kUnits{{{"ms", true}, {"s", false}}};

// The paging of the feed or of its dense_fallback (`fallback`: it must page, and it has no cap
// since it reads one second to its end).
Paging parsePaging(ObjectReader& p, bool fallback, LoadContext& ctx) {
  Paging g;
  g.kind = p.choice<PagingKind>("kind", kPaging, PagingKind::None, true);
  g.token_pointer = pointer(p, "token_pointer", g.kind == PagingKind::BodyToken);
  g.next_url_pointer = pointer(p, "next_url_pointer", g.kind == PagingKind::NextUrl);
  g.has_more_pointer = pointer(p, "has_more_pointer");
  g.limit = p.integer("limit", 100, 1, 100000);
  g.offset_base = p.integer("offset_base", 0, 0, 1);
  if (!fallback) {
    g.max_results = p.integer("max_results", 0, 0, INT64_MAX, g.kind == PagingKind::None);
    return g;
  }
  if (const JNode* cap = p.get("max_results")) {
    ctx.diags.add(cap->loc, p.pathOf("max_results"),
                  "the dense fallback reads its second to the end: it cannot have a cap");
  }
  if (const JNode* kind = p.get("kind"); kind != nullptr && g.kind == PagingKind::None) {
    ctx.diags.add(kind->loc, p.pathOf("kind"),
                  "the dense fallback must page through its second: offset_limit, "
                  "starting_after, body_token or next_url");
  }
  return g;
}

bool mentions(const RequestSpec& q, std::string_view placeholder) {
  const std::string hole = "{" + std::string(placeholder) + "}";
  if (q.url.find(hole) != std::string::npos || q.body.find(hole) != std::string::npos) {
    return true;
  }
  return std::any_of(q.headers.begin(), q.headers.end(),
                     [&](const auto& h) { return h.second.find(hole) != std::string::npos; });
}

DenseFallback parseDenseFallback(ObjectReader& r, const FeedSpec& feed,
                                 const std::vector<std::string>& vars, LoadContext& ctx) {
  DenseFallback d;
  d.request = parseRequest(r, {"from", "to", "after", "offset", "limit"}, vars, ctx, "GET");
  d.records_pointer = pointer(r, "records", true);
  d.format = feed.since_format;
  parseTimeFormat(r, "format", d.format);
  if (auto p = r.object("paging", true)) {
    d.paging = parsePaging(*p, true, ctx);
    p->finish();
  }
  const JNode* at = r.node();
  if (!d.request.url.empty() && !mentions(d.request, "from")) {
    ctx.diags.add(at->loc, r.path(),
                  "the request must select the second by {from} (and {to}, one second later)");
  }
  if (feed.since_source != SinceSource::MaxUpdated) {
    ctx.diags.add(at->loc, r.path(),
                  "a dense fallback needs since.source \"max_updated\": it reads one updated "
                  "second");
  } else if (feed.paging.max_results <= 0) {
    ctx.diags.add(at->loc, r.path(),
                  "a dense fallback needs paging.max_results: it is used when the feed reaches "
                  "that cap within one second");
  }
  return d;
}

FeedSpec parseFeed(ObjectReader& r, const std::vector<std::string>& vars, LoadContext& ctx) {
  FeedSpec f;
  f.request = parseRequest(r, {"since", "after", "offset", "limit"}, vars, ctx, "GET");
  f.records_pointer = pointer(r, "records", true);
  f.total_pointer = pointer(r, "total");
  if (auto s = r.object("since", true)) {
    f.since_source = s->choice<SinceSource>("source", kSinceSources, SinceSource::MaxUpdated);
    parseTimeFormat(*s, "format", f.since_format);
    f.token_pointer = pointer(*s, "token_pointer", f.since_source == SinceSource::Token);
    f.since_inclusive = s->boolean("inclusive", true);
    f.overlap_ms = s->integer("overlap_ms", 0, 0, 86400000);
    s->finish();
  }
  if (auto p = r.object("paging", true)) {
    f.paging = parsePaging(*p, false, ctx);
    p->finish();
  }
  if (auto d = r.object("dense_fallback")) {
    f.dense_fallback = parseDenseFallback(*d, f, vars, ctx);
    d->finish();
  }
  return f;
}

// `key` is a literal: the reader keeps a view of every key it was asked for.
std::vector<AnswerSignal> parseSignals(ObjectReader& r, const char* key, LoadContext& ctx) {
  std::vector<AnswerSignal> out;
  const JNode* list = r.get(key);
  if (list == nullptr || !expectType(*list, JType::Array, r.pathOf(key), ctx.diags)) {
    return out;
  }
  for (size_t i = 0; i < list->items.size(); ++i) {
    ObjectReader s(&list->items[i], r.pathOf(key) + "[" + std::to_string(i) + "]", ctx.diags);
    AnswerSignal sig;
    sig.status = static_cast<int>(s.integer("status", 0, 100, 599, true));
    sig.error_code_pointer = pointer(s, "error_code_pointer");
    sig.error_code = s.strOr("error_code", "");
    if (!sig.error_code_pointer.empty() && sig.error_code.empty()) {
      ctx.diags.add(list->items[i].loc, s.path(),
                    "\"error_code_pointer\" needs \"error_code\" beside it");
    }
    s.finish();
    out.push_back(std::move(sig));
  }
  return out;
}

WebhookSpec parseWebhook(ObjectReader& r, LoadContext& ctx) {
  WebhookSpec w;
  w.path = r.str("path", true).value_or("");
  w.ids_pointer = pointer(r, "ids", true, true);
  if (auto s = r.object("signature", true)) {
    w.signature_header = s->str("header", true).value_or("");
    w.encoding = s->choice<SignatureEncoding>("encoding", kEncodings, SignatureEncoding::Base64);
    if (const JNode* parts = s->require("parts");
        parts != nullptr && expectType(*parts, JType::Array, s->pathOf("parts"), ctx.diags)) {
      ObjectReader holder(nullptr, s->pathOf("parts"), ctx.diags);
      for (size_t i = 0; i < parts->items.size(); ++i) {
        const JNode& p = parts->items[i];
        std::string ppath = s->pathOf("parts") + "[" + std::to_string(i) + "]";
        if (!expectType(p, JType::String, ppath, ctx.diags)) {
          continue;
        }
        std::vector<std::string_view> names;
        bool found = false;
        for (const auto& c : kParts) {
          names.push_back(c.name);
          if (c.name == p.text) {
            w.signed_parts.push_back(c.value);
            found = true;
          }
        }
        if (!found) {
          ctx.diags.add(p.loc, ppath, unknownNameMessage("signature part", p.text, names));
        }
      }
    }
    w.timestamp_header = s->strOr("timestamp_header", "");
    w.timestamp_in_ms = s->choice<bool>("timestamp_unit", kUnits, true);
    w.tolerance_ms = s->integer("tolerance_ms", 300000, 0, 86400000);
    w.secret = readSecret(s->require("secret"), s->pathOf("secret"), ctx);
    for (auto part : w.signed_parts) {
      if (part == SignaturePart::Timestamp && w.timestamp_header.empty()) {
        ctx.diags.add(s->node()->loc, s->path(),
                      "signature part \"timestamp\" needs \"timestamp_header\"");
      }
    }
    s->finish();
  }
  return w;
}

}  // namespace

ConnectorSpec parseConnector(ObjectReader& r, const std::vector<std::string>& vars,
                             LoadContext& ctx) {
  ConnectorSpec c;
  c.id_type = r.choice<IdType>("id_type", kIdTypes, IdType::String);
  if (auto f = r.object("feed", true)) {
    c.feed = parseFeed(*f, vars, ctx);
    f->finish();
  }
  if (auto p = r.object("record", true)) {
    c.pointers.id = pointer(*p, "id", true);
    c.pointers.updated = pointer(*p, "updated", true);
    parseTimeFormat(*p, "updated_format", c.pointers.updated_format);
    c.pointers.version = pointer(*p, "version");
    c.pointers.deleted = pointer(*p, "deleted");
    c.pointers.archived = pointer(*p, "archived");
    c.pointers.active = pointer(*p, "active");
    p->finish();
  }
  if (auto g = r.object("get", true)) {
    c.get.request = parseRequest(*g, {"id"}, vars, ctx, "GET");
    c.get.record_pointer = pointer(*g, "record");
    g->finish();
  }
  if (auto w = r.object("create", true)) {
    c.create.write = parseWrite(*w, {"idempotency_key"}, vars, ctx, "POST");
    if (auto id = w->object("id", true)) {
      if (id->get("header") != nullptr) {
        c.create.id_source = IdSource::LocationHeader;
        std::string h = id->strOr("header", "");
        if (h != "Location") {
          ctx.diags.add(id->get("header")->loc, id->pathOf("header"),
                        "only the \"Location\" header can carry a new id");
        }
      } else {
        c.create.id_pointer = pointer(*id, "body", true);
      }
      id->finish();
    }
    if (auto idem = w->object("idempotency")) {
      if (auto h = idem->str("header")) {
        c.create.idempotency = IdempotencyPlace::Header;
        c.create.idempotency_name = *h;
      } else if (auto q = idem->str("query")) {
        c.create.idempotency = IdempotencyPlace::Query;
        c.create.idempotency_name = *q;
      }
      idem->finish();
    }
    w->finish();
  }
  if (auto u = r.object("update", true)) {
    c.update.write = parseWrite(*u, {"id", "version"}, vars, ctx, "PATCH");
    c.update.partial = u->boolean("partial", true);
    c.update.concurrency =
        u->choice<ConcurrencyKind>("concurrency", kConcurrency, ConcurrencyKind::None);
    c.update.stale = parseSignals(*u, "stale", ctx);
    if (c.update.concurrency != ConcurrencyKind::None && c.update.stale.empty()) {
      ctx.diags.add(u->node()->loc, u->path(),
                    "concurrency needs \"stale\": the status (and error code) of a stale write");
    }
    if (c.update.concurrency == ConcurrencyKind::BodyVersion && c.pointers.version.empty()) {
      ctx.diags.add(u->node()->loc, u->path(), "concurrency \"body_version\" needs record.version");
    }
    u->finish();
  }
  if (auto d = r.object("delete")) {
    c.del.mode = d->choice<DeleteMode>("mode", kDeleteModes, DeleteMode::None, true);
    if (c.del.mode == DeleteMode::Request) {
      c.del.request = parseRequest(*d, {"id"}, vars, ctx, "DELETE");
    } else if (c.del.mode == DeleteMode::FieldWrite) {
      if (const JNode* f = d->require("fields")) {
        if (expectType(*f, JType::Object, d->pathOf("fields"), ctx.diags)) {
          c.del.fields = f->toJson();
        }
      }
    }
    d->finish();
  }
  if (auto b = r.object("batch")) {
    for (const JNode& item : b->node()->items) {
      ObjectReader br(&item, b->pathOf(item.key), ctx.diags);
      BatchEndpoint e;
      e.name = item.key;
      e.request = parseRequest(br, {}, vars, ctx, "POST");
      e.max_items = static_cast<int>(br.integer("max_items", 100, 1, 10000));
      if (e.name == "create") {
        e.items_at = pointer(br, "items_at", true);
        if (const JNode* it = br.get("item")) {
          if (expectType(*it, JType::Object, br.pathOf("item"), ctx.diags)) {
            std::vector<std::string> allowed = vars;
            allowed.emplace_back("idempotency_key");
            checkTemplateTree(*it, br.pathOf("item"), allowed, ctx);
            e.item = it->toJson();
          }
        }
        e.record_at = pointer(br, "record_at");
        e.results_pointer = pointer(br, "results");
        e.id_pointer = pointer(br, "id");
        e.response_record_pointer = pointer(br, "response_record");
        if (auto corr = br.object("correlate")) {
          e.correlate_item = pointer(*corr, "item", true);
          e.correlate_result = pointer(*corr, "result", true);
          corr->finish();
        }
        e.error_pointer = pointer(br, "error");
        if (const JNode* err = br.get("error");
            err != nullptr && err->isString() && err->text.empty()) {
          ctx.diags.add(err->loc, br.pathOf("error"),
                        "\"\" would make every result a failure: point at the member that "
                        "carries a result's error");
        }
      }
      br.finish();
      c.batch.push_back(std::move(e));
    }
  }
  if (auto w = r.object("webhook")) {
    c.webhook = parseWebhook(*w, ctx);
    w->finish();
  }
  c.not_found = parseSignals(r, "not_found", ctx);
  return c;
}

}  // namespace tandem::mappers::detail

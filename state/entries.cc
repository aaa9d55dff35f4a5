#include "state/entries.h"

#include "conflict/bytes.h"

namespace tandem::state {

namespace {

constexpr uint8_t kOutboxFormat = 1;
constexpr uint8_t kDeadLetterFormat = 1;

Status expectFormat(ByteReader& r, uint8_t want, const char* what) {
  TANDEM_ASSIGN_OR_RETURN(uint8_t got, r.u8(what));
  if (got != want) {
    return fail(std::string("unknown ") + what + " " + std::to_string(got) + " (this build reads " +
                std::to_string(want) + ")");
  }
  return {};
}

Result<PushKind> readKind(ByteReader& r) {
  TANDEM_ASSIGN_OR_RETURN(uint8_t k, r.u8("push kind"));
  if (k > static_cast<uint8_t>(PushKind::Archive)) {
    return fail("corrupt value: push kind " + std::to_string(k) + " out of range");
  }
  return static_cast<PushKind>(k);
}

Result<uint32_t> readAttempts(ByteReader& r) {
  TANDEM_ASSIGN_OR_RETURN(uint64_t n, r.varint("attempts"));
  if (n > UINT32_MAX) {
    return fail("corrupt value: attempts " + std::to_string(n) + " out of range");
  }
  return static_cast<uint32_t>(n);
}

Status expectEnd(const ByteReader& r, const char* what) {
  if (!r.atEnd()) {
    return fail(std::string("corrupt value: ") + std::to_string(r.remaining()) +
                " trailing bytes after " + what);
  }
  return {};
}

}  // namespace

const char* pushKindName(PushKind k) {
  switch (k) {
    case PushKind::Create:
      return "create";
    case PushKind::Update:
      return "update";
    case PushKind::Delete:
      return "delete";
    case PushKind::Archive:
      return "archive";
  }
  return "?";
}

std::string encodeOutboxValue(const OutboxEntry& e) {
  std::string out;
  out.reserve(8 + e.last_error.size() + e.idempotency_key.size() + 10);
  ByteWriter w(out);
  w.u8(kOutboxFormat);
  w.u8(static_cast<uint8_t>(e.kind));
  w.varint(e.attempts);
  w.str(e.last_error);
  w.str(e.idempotency_key);
  w.svarint(e.enqueued_ms);
  return out;
}

Status decodeOutboxValue(std::string_view bytes, OutboxEntry& into) {
  ByteReader r(bytes);
  TANDEM_RETURN_IF_ERROR(expectFormat(r, kOutboxFormat, "outbox format"));
  TANDEM_ASSIGN_OR_RETURN(into.kind, readKind(r));
  TANDEM_ASSIGN_OR_RETURN(into.attempts, readAttempts(r));
  TANDEM_ASSIGN_OR_RETURN(into.last_error, r.str("last error"));
  TANDEM_ASSIGN_OR_RETURN(into.idempotency_key, r.str("idempotency key"));
  TANDEM_ASSIGN_OR_RETURN(into.enqueued_ms, r.svarint("enqueued time"));
  return expectEnd(r, "outbox entry");
}

std::string encodeDeadLetterValue(const DeadLetter& d) {
  std::string out;
  ByteWriter w(out);
  w.u8(kDeadLetterFormat);
  w.u8(static_cast<uint8_t>(d.kind));
  w.varint(d.attempts);
  w.str(d.reason);
  w.svarint(d.time_ms);
  return out;
}

Status decodeDeadLetterValue(std::string_view bytes, DeadLetter& into) {
  ByteReader r(bytes);
  TANDEM_RETURN_IF_ERROR(expectFormat(r, kDeadLetterFormat, "dead letter format"));
  TANDEM_ASSIGN_OR_RETURN(into.kind, readKind(r));
  TANDEM_ASSIGN_OR_RETURN(into.attempts, readAttempts(r));
  TANDEM_ASSIGN_OR_RETURN(into.reason, r.str("reason"));
  TANDEM_ASSIGN_OR_RETURN(into.time_ms, r.svarint("time"));
  return expectEnd(r, "dead letter");
}

std::string encodeClock(const conflict::ActorClock& c) {
  std::string out;
  out.reserve(8 * conflict::kMaxActors);
  ByteWriter w(out);
  for (size_t a = 0; a < conflict::kMaxActors; ++a) {
    w.fixed64(c.get(static_cast<ActorId>(a)));
  }
  return out;
}

Result<conflict::ActorClock> decodeClock(std::string_view bytes) {
  ByteReader r(bytes);
  conflict::ActorClock c;
  for (size_t a = 0; a < conflict::kMaxActors; ++a) {
    TANDEM_ASSIGN_OR_RETURN(uint64_t v, r.fixed64("actor counter"));
    c.set(static_cast<ActorId>(a), v);
  }
  TANDEM_RETURN_IF_ERROR(expectEnd(r, "actor clock"));
  return c;
}

}  // namespace tandem::state

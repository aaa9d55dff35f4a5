// bench_codec: how fast the store's values are decoded and encoded on one core. The writer
// decodes a record's shadows several times per synced record (the echo check, recording a push
// answer, planning the next push), so this is on the agent's serial path.
//
// Values as the store writes them: customer records of 12 fields (format 3, names numbered), 3
// systems plus the agent in the version vectors, shadows without pending writes, in format 3
// (whole, as the store wrote them up to schema 4) and in format 4 (against their record, as in
// a row since schema 5: settled, so two bits a field). Prints one table: nanoseconds per decode
// and per encode of each, and of reading a shadow's base from its record's bytes.

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "conflict/codec.h"
#include "tests/conflict/memory_names.h"

namespace {

using namespace tandem::conflict;  // a benchmark program, not a header

constexpr size_t kValues = 4'096;
constexpr int kRounds = 50;

const char* kNames[] = {"address", "city", "company",   "country", "credit_limit", "email",
                        "first",   "last", "lifecycle", "phone",   "tags",         "zip"};

VersionVector vv(uint64_t base, uint64_t i) {
  VersionVector v;
  v.set(0, base + i);
  v.set(1, base + 3 * i);
  v.set(3, base + 7);
  return v;
}

Record record(uint64_t i) {
  Record r;
  r.id = "01a22d9d8365" + std::to_string(100000 + i);
  r.entity = "customer";
  const uint64_t base = 1'796'000'000'000 + i * 1000;
  for (size_t f = 0; f < std::size(kNames); ++f) {
    FieldState& s = r.fields[kNames[f]];
    s.value = Value::string("value " + std::to_string(i * 31 + f));
    s.vv = vv(base, f);
    s.source = 1;
    s.source_ts_ms = static_cast<int64_t>(base + f);
  }
  return r;
}

Shadow shadow(uint64_t i) {
  Shadow s;
  const uint64_t base = 1'796'000'000'000 + i * 1000;
  s.version_token = std::to_string(i % 7);
  s.source_ts_ms = static_cast<int64_t>(base);
  for (size_t f = 0; f < std::size(kNames); ++f) {
    ShadowField& sf = s.fields[kNames[f]];
    sf.hash = Value::string("value " + std::to_string(i * 31 + f)).hash();
    sf.vv = vv(base, f);
  }
  return s;
}

template <class F>
double nsPer(size_t n, F&& f) {
  const auto start = std::chrono::steady_clock::now();
  for (int round = 0; round < kRounds; ++round) {
    f();
  }
  const auto took = std::chrono::steady_clock::now() - start;
  return std::chrono::duration<double, std::nano>(took).count() /
         (static_cast<double>(n) * kRounds);
}

}  // namespace

int main() {
  testing::MemoryNames names;
  std::vector<Record> records;
  std::vector<Shadow> shadows;
  std::vector<std::string> record_bytes;
  std::vector<std::string> shadow_bytes;
  std::vector<ShadowBase> bases;
  std::vector<std::string> against_bytes;  // format 4
  for (size_t i = 0; i < kValues; ++i) {
    records.push_back(record(i));
    shadows.push_back(shadow(i));
    record_bytes.push_back(*encodeRecord(records.back(), names));
    shadow_bytes.push_back(*encodeShadow(shadows.back(), names));
  }
  for (size_t i = 0; i < kValues; ++i) {
    bases.push_back(ShadowBase::of(records[i]));
    against_bytes.push_back(*encodeShadowAgainst(shadows[i], bases.back(), names));
  }
  size_t sink = 0;
  const double dec_shadow = nsPer(kValues, [&] {
    for (const auto& b : shadow_bytes) {
      sink += decodeShadow(b, &names)->fields.size();
    }
  });
  const double dec_record = nsPer(kValues, [&] {
    for (const auto& b : record_bytes) {
      sink += decodeRecord(b, &names)->fields.size();
    }
  });
  const double enc_shadow = nsPer(kValues, [&] {
    for (const auto& s : shadows) {
      sink += encodeShadow(s, names)->size();
    }
  });
  const double enc_record = nsPer(kValues, [&] {
    for (const auto& r : records) {
      sink += encodeRecord(r, names)->size();
    }
  });
  const double read_base = nsPer(kValues, [&] {
    for (const auto& b : record_bytes) {
      sink += ShadowBase::read(b, &names)->fields.size();
    }
  });
  const double dec_against = nsPer(kValues, [&] {
    for (size_t i = 0; i < kValues; ++i) {
      sink += decodeShadowAgainst(against_bytes[i], bases[i], &names)->fields.size();
    }
  });
  const double enc_against = nsPer(kValues, [&] {
    for (size_t i = 0; i < kValues; ++i) {
      sink += encodeShadowAgainst(shadows[i], bases[i], names)->size();
    }
  });
  // Every value must come back as it went in, or the figures mean nothing.
  for (size_t i = 0; i < kValues; ++i) {
    if (*decodeShadow(shadow_bytes[i], &names) != shadows[i] ||
        *decodeShadowAgainst(against_bytes[i], bases[i], &names) != shadows[i] ||
        *decodeRecord(record_bytes[i], &names) != records[i]) {
      std::fprintf(stderr, "bench_codec: value %zu does not round-trip\n", i);
      return 1;
    }
  }
  std::printf("%-34s %10s %8s\n", "12-field customer, format 3", "ns/value", "bytes");
  std::printf("%-34s %10.0f %8zu\n", "decode shadow", dec_shadow, shadow_bytes[0].size());
  std::printf("%-34s %10.0f %8zu\n", "decode record", dec_record, record_bytes[0].size());
  std::printf("%-34s %10.0f\n", "encode shadow", enc_shadow);
  std::printf("%-34s %10.0f\n", "encode record", enc_record);
  std::printf("%-34s %10.0f %8zu\n", "decode shadow, format 4", dec_against,
              against_bytes[0].size());
  std::printf("%-34s %10.0f\n", "encode shadow, format 4", enc_against);
  std::printf("%-34s %10.0f\n", "shadow base from record bytes", read_base);
  std::printf("(checksum %zu)\n", sink);
  return 0;
}

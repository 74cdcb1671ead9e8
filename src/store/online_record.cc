// Online record encoding: 0x01 | varint len, version | varint window_end (two's
// complement as u64) | varint n | n × f64 LE | u64 LE XXH3 of everything before it.
#include <xxhash.h>

#include <cstring>

#include "common/serial.h"
#include "dnsight/online_store.h"

namespace dnsight {
namespace {

constexpr uint8_t kFormat = 1;
// A view has at most a few thousand features; anything above this is corrupt input.
constexpr uint64_t kMaxValues = 1 << 20;
constexpr uint64_t kMaxVersionBytes = 64;

uint64_t Checksum(std::string_view bytes) {
  return XXH3_64bits(bytes.data(), bytes.size());
}

}  // namespace

std::string EncodeOnlineRecord(const OnlineRecord& r) {
  std::string out;
  out.reserve(16 + r.version.size() + 8 * r.values.size() + 8);
  out.push_back(static_cast<char>(kFormat));
  PutVarint(&out, r.version.size());
  out.append(r.version);
  PutVarint(&out, static_cast<uint64_t>(r.window_end_ns));
  PutVarint(&out, r.values.size());
  for (double v : r.values) PutF64(&out, v);
  const uint64_t sum = Checksum(out);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((sum >> (8 * i)) & 0xff));
  return out;
}

Result<OnlineRecord> DecodeOnlineRecord(std::string_view view, std::string_view entity,
                                        std::string_view bytes) {
  if (bytes.size() < 9) return Status::InvalidArgument("online record: too short");
  const std::string_view body = bytes.substr(0, bytes.size() - 8);
  uint64_t stored = 0;
  for (int i = 0; i < 8; ++i)
    stored |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[body.size() + i])) << (8 * i);
  if (stored != Checksum(body)) return Status::InvalidArgument("online record: bad checksum");
  SerialReader in{body};
  uint8_t format = 0;
  uint64_t version_len = 0, window_end = 0, n = 0;
  std::string_view version;
  if (!in.U8(&format) || format != kFormat)
    return Status::InvalidArgument("online record: unknown format");
  if (!in.Varint(&version_len) || version_len > kMaxVersionBytes ||
      !in.Bytes(version_len, &version) || !in.Varint(&window_end) || !in.Varint(&n) ||
      n > kMaxValues || in.in.size() != n * 8)
    return Status::InvalidArgument("online record: malformed");
  OnlineRecord r;
  r.view = view;
  r.entity = entity;
  r.version = version;
  r.window_end_ns = static_cast<int64_t>(window_end);
  r.values.resize(n);
  for (uint64_t i = 0; i < n; ++i) in.F64(&r.values[i]);
  return r;
}

Result<std::optional<OnlineRecord>> OnlineStore::Get(std::string_view view,
                                                     const std::string& entity) {
  std::vector<std::optional<OnlineRecord>> out;
  Status s = MultiGet(view, std::span<const std::string>(&entity, 1), &out);
  if (!s.ok()) return s;
  return std::move(out[0]);
}

}  // namespace dnsight

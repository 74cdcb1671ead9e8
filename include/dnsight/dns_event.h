// DnsEvent and DnsEventBatch: normalized DNS transactions, as they travel through the
// engine.
//
// A DnsEvent is a fixed-size record; its names live in the owning batch's string arena
// and are reached through the batch (qname(), registered_domain()). Names are already
// normalized: lowercase ASCII, no trailing dot. registered_domain is the eTLD+1 from the
// public suffix list and is always a suffix of qname (empty when qname is itself a public
// suffix or the root).
//
// Ownership: a batch owns its events and arena. Once filled, a batch is immutable and may
// be read from several shard threads at once (it is shared through shared_ptr<const>).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dnsight/ip_address.h"
#include "dnsight/observation.h"

namespace dnsight {

struct DnsEvent {
  int64_t ts_ns = 0;        // event time: query time, else response time (UTC ns)
  int64_t latency_ns = -1;  // response time minus query time; -1 when unknown
  IpAddress client;         // possibly redacted (truncated or pseudonymized)
  IpAddress server;
  uint16_t client_port = 0;
  uint16_t server_port = 0;
  uint16_t qtype = 0;
  int16_t rcode = -1;  // -1: no response observed
  uint32_t query_size = 0;
  uint32_t response_size = 0;
  int64_t min_ttl = -1;  // smallest answer TTL, -1 if no answer
  uint16_t answer_count = 0;
  Transport transport = Transport::kUnknown;
  bool new_domain = false;  // first time this registered domain was seen (bounded memory)
  uint16_t label_count = 0;
  float label_entropy = 0;  // mean over labels of the Shannon entropy of its characters
  float dga_score = 0;      // NameModel::DgaScore of the registered label (0 unless scored)
  uint32_t qname_off = 0;   // into the batch arena
  uint16_t qname_len = 0;
  uint16_t rd_len = 0;  // registered domain = last rd_len bytes of qname
};

enum class DnsField : uint8_t;

// The categorical fields whose key hashes a batch can carry (DnsEventBatch::FieldHashes):
// qname, registered domain, subdomain, client, server.
inline constexpr size_t kHashedFieldCount = 5;
// The column of `f` in DnsEventBatch::field_hashes, or -1 when f has none.
int HashedFieldSlot(DnsField f);

class DnsEventBatch {
 public:
  std::vector<DnsEvent> events;
  std::string arena;
  // XXH3_64bits of CategoryField(*this, events[i], f), one per event, for the fields the
  // normalizer was asked to hash (NormalizerOptions::hashed_fields); other columns stay
  // empty. Sketches of those fields then skip hashing the key again in every view.
  std::array<std::vector<uint64_t>, kHashedFieldCount> field_hashes;
  // The engine pane of each event (FloorDiv(ts_ns, engine pane)), one per event when the
  // pipeline filled it, else empty. Every view reads it instead of the event's timestamp.
  std::vector<int64_t> panes;

  size_t size() const { return events.size(); }
  std::string_view qname(const DnsEvent& e) const {
    return {arena.data() + e.qname_off, e.qname_len};
  }
  std::string_view registered_domain(const DnsEvent& e) const {
    return {arena.data() + e.qname_off + (e.qname_len - e.rd_len), e.rd_len};
  }
  // The labels left of the registered domain, without the joining dot ("" if none).
  std::string_view subdomain(const DnsEvent& e) const {
    if (e.rd_len == 0 || e.rd_len >= e.qname_len) return {};
    return {arena.data() + e.qname_off, static_cast<size_t>(e.qname_len - e.rd_len - 1)};
  }
  // The hash column of `f` when it holds one hash per event, else nullptr.
  const uint64_t* FieldHashes(DnsField f) const {
    const int slot = HashedFieldSlot(f);
    if (slot < 0) return nullptr;
    const auto& column = field_hashes[static_cast<size_t>(slot)];
    return column.size() == events.size() && !column.empty() ? column.data() : nullptr;
  }
  // Removes the last event with its name bytes and hashes. REQUIRES: !events.empty(), and
  // the last event's qname is the tail of the arena (as the normalizer appends them).
  void PopBack() {
    arena.resize(events.back().qname_off);
    events.pop_back();
    for (auto& column : field_hashes)
      if (column.size() > events.size()) column.resize(events.size());
    if (panes.size() > events.size()) panes.resize(events.size());
  }
  void clear() {
    events.clear();
    arena.clear();
    for (auto& column : field_hashes) column.clear();
    panes.clear();
  }
};

// The event fields a feature view can filter on or aggregate. Numeric fields give a
// double (NaN when absent for that event, e.g. latency without a response); categorical
// fields give a string key.
enum class DnsField : uint8_t {
  kQnameLength,
  kLabelCount,
  kLabelEntropy,
  kLatencyMs,
  kTtl,
  kResponseSize,
  kQuerySize,
  kAnswerCount,
  kRcode,
  kQtype,
  kQname,
  kRegisteredDomain,
  kSubdomain,
  kSubdomainLength,
  kClient,
  kServer,
  kTransport,
  kNewDomain,  // 1 for the first sighting of the registered domain, else 0
  kDgaScore,   // 0..1: how algorithmically generated the registered label looks (NameModel)
};

bool IsNumericField(DnsField f);
// Parses a field name as used in YAML ("latency_ms", "qname", ...).
bool ParseDnsField(std::string_view name, DnsField* out);
std::string_view DnsFieldName(DnsField f);
// Numeric value; NaN when the field is absent for this event.
double NumericField(const DnsEventBatch& b, const DnsEvent& e, DnsField f);
// Categorical value as bytes (names as text, addresses as raw bytes, codes as decimal
// text). `scratch` backs values that are not stored in the batch.
std::string_view CategoryField(const DnsEventBatch& b, const DnsEvent& e, DnsField f,
                               std::string* scratch);

}  // namespace dnsight

// Pending queries live in a slab of slots that is reused, so a steady stream of
// transactions allocates nothing once the slab and each slot's qname string have grown
// to their working size. Two intrusive index structures run through the slab:
//   - hash chains (bucket heads + per-slot next index) for lookup by transaction key;
//   - a doubly linked age list in arrival order, for expiry and oldest-first eviction.
#include "ingest/dns_matcher.h"

#include <xxhash.h>

#include <cstring>
#include <string>
#include <vector>

namespace dnsight {
namespace {

constexpr uint32_t kNil = UINT32_MAX;
constexpr size_t kInitialBuckets = 1024;

inline char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  return true;
}

// The transaction key as the lookup sees it. Addresses are stored whole (the unused tail
// of an IPv4 address is zero), so byte comparison is exact.
struct Key {
  const IpAddress* client;
  const IpAddress* server;
  uint16_t client_port;
  uint16_t server_port;
  uint16_t id;
  uint16_t qtype;
  Transport transport;
  std::string_view qname;
};

uint64_t HashKey(const Key& k) {
  // Fixed part, then the qname lowercased (matching is case-insensitive: a response need
  // not echo a 0x20-randomized question byte for byte to be counted as its answer).
  uint8_t buf[2 * 17 + 9 + sizeof DnsMessageInfo::qname_buf];
  size_t n = 0;
  std::memcpy(buf + n, k.client->bytes.data(), 16);
  n += 16;
  buf[n++] = static_cast<uint8_t>(k.client->family);
  std::memcpy(buf + n, k.server->bytes.data(), 16);
  n += 16;
  buf[n++] = static_cast<uint8_t>(k.server->family);
  for (uint16_t v : {k.client_port, k.server_port, k.id, k.qtype}) {
    buf[n++] = static_cast<uint8_t>(v >> 8);
    buf[n++] = static_cast<uint8_t>(v);
  }
  buf[n++] = static_cast<uint8_t>(k.transport);
  const size_t qlen = k.qname.size() < sizeof DnsMessageInfo::qname_buf
                          ? k.qname.size()
                          : sizeof DnsMessageInfo::qname_buf;
  for (size_t i = 0; i < qlen; ++i) buf[n++] = static_cast<uint8_t>(AsciiLower(k.qname[i]));
  return XXH3_64bits(buf, n);
}

}  // namespace

struct DnsTransactionMatcher::Impl {
  struct Pending {
    int64_t time_ns = 0;
    uint64_t hash = 0;
    IpAddress client;
    IpAddress server;
    uint16_t client_port = 0;
    uint16_t server_port = 0;
    uint16_t id = 0;
    uint16_t qtype = 0;
    uint16_t qclass = 0;
    Transport transport = Transport::kUnknown;
    uint32_t query_size = 0;
    uint32_t chain_next = kNil;  // hash chain; doubles as the free-list link
    uint32_t older = kNil;       // age list
    uint32_t newer = kNil;
    std::string qname;  // capacity is kept when the slot is reused
  };

  Impl(Options o, ObservationSink& s, DnsMatcherCounters& c) : options(o), sink(s), counters(c) {
    buckets.assign(kInitialBuckets, kNil);
  }

  Options options;
  ObservationSink& sink;
  DnsMatcherCounters& counters;
  std::vector<Pending> slots;
  std::vector<uint32_t> buckets;  // size is a power of two
  uint32_t free_head = kNil;
  uint32_t oldest = kNil;
  uint32_t newest = kNil;
  size_t live = 0;

  size_t BucketOf(uint64_t hash) const { return static_cast<size_t>(hash) & (buckets.size() - 1); }

  static bool Matches(const Pending& p, uint64_t hash, const Key& k) {
    return p.hash == hash && p.id == k.id && p.qtype == k.qtype && p.client_port == k.client_port &&
           p.server_port == k.server_port && p.transport == k.transport && p.client == *k.client &&
           p.server == *k.server && EqualsIgnoreCase(p.qname, k.qname);
  }

  void Grow() {
    std::vector<uint32_t> next(buckets.size() * 2, kNil);
    buckets.swap(next);
    for (uint32_t i = oldest; i != kNil; i = slots[i].newer) {
      const size_t b = BucketOf(slots[i].hash);
      slots[i].chain_next = buckets[b];
      buckets[b] = i;
    }
  }

  uint32_t Allocate() {
    if (free_head != kNil) {
      const uint32_t i = free_head;
      free_head = slots[i].chain_next;
      return i;
    }
    slots.emplace_back();
    return static_cast<uint32_t>(slots.size() - 1);
  }

  void Insert(int64_t time_ns, const Key& k, uint16_t qclass, uint32_t query_size) {
    if (live + 1 > buckets.size()) Grow();
    const uint32_t i = Allocate();
    Pending& p = slots[i];
    p.time_ns = time_ns;
    p.hash = HashKey(k);
    p.client = *k.client;
    p.server = *k.server;
    p.client_port = k.client_port;
    p.server_port = k.server_port;
    p.id = k.id;
    p.qtype = k.qtype;
    p.qclass = qclass;
    p.transport = k.transport;
    p.query_size = query_size;
    p.qname.assign(k.qname);
    const size_t b = BucketOf(p.hash);
    p.chain_next = buckets[b];
    buckets[b] = i;
    p.newer = kNil;
    p.older = newest;
    if (newest != kNil) slots[newest].newer = i;
    newest = i;
    if (oldest == kNil) oldest = i;
    ++live;
  }

  // Unlinks slot i from its chain and the age list and puts it on the free list.
  void Remove(uint32_t i) {
    Pending& p = slots[i];
    uint32_t* link = &buckets[BucketOf(p.hash)];
    while (*link != i) link = &slots[*link].chain_next;
    *link = p.chain_next;
    if (p.older != kNil)
      slots[p.older].newer = p.newer;
    else
      oldest = p.newer;
    if (p.newer != kNil)
      slots[p.newer].older = p.older;
    else
      newest = p.older;
    p.chain_next = free_head;
    free_head = i;
    --live;
  }

  // The oldest pending query with this key, or kNil. Chains are newest-first, so the
  // last match on the chain is the oldest (retransmitted queries are answered in order).
  uint32_t Find(const Key& k) const {
    const uint64_t hash = HashKey(k);
    uint32_t found = kNil;
    for (uint32_t i = buckets[BucketOf(hash)]; i != kNil; i = slots[i].chain_next)
      if (Matches(slots[i], hash, k)) found = i;
    return found;
  }

  static RawDnsObservation QueryObservation(const Pending& p) {
    RawDnsObservation o;
    o.query_time_ns = p.time_ns;
    o.client = p.client;
    o.server = p.server;
    o.client_port = p.client_port;
    o.server_port = p.server_port;
    o.transport = p.transport;
    o.qname = p.qname;
    o.qtype = p.qtype;
    o.qclass = p.qclass;
    o.query_size = p.query_size;
    return o;
  }

  void EmitUnanswered(uint32_t i) {
    RawDnsObservation o = QueryObservation(slots[i]);
    ++counters.unanswered;
    sink.OnObservation(o);
    Remove(i);
  }
};

namespace {

RawDnsObservation ResponseObservation(int64_t time_ns, const IpAddress& client,
                                      uint16_t client_port, const IpAddress& server,
                                      uint16_t server_port, Transport transport,
                                      const DnsMessageInfo& msg) {
  RawDnsObservation o;
  o.response_time_ns = time_ns;
  o.client = client;
  o.server = server;
  o.client_port = client_port;
  o.server_port = server_port;
  o.transport = transport;
  o.qname = msg.qname();
  o.qtype = msg.qtype;
  o.qclass = msg.qclass;
  o.rcode = msg.rcode;
  o.response_size = msg.size;
  o.answer_count = msg.ancount;
  o.min_ttl = msg.min_answer_ttl;
  return o;
}

}  // namespace

DnsTransactionMatcher::DnsTransactionMatcher(Options options, ObservationSink& sink)
    : impl_(new Impl(options, sink, counters_)) {}

DnsTransactionMatcher::~DnsTransactionMatcher() {
  delete impl_;
}

void DnsTransactionMatcher::OnQuery(int64_t time_ns, const IpAddress& client, uint16_t client_port,
                                    const IpAddress& server, uint16_t server_port,
                                    Transport transport, const DnsMessageInfo& msg) {
  Impl& m = *impl_;
  const Key k{&client, &server,   client_port, server_port,
              msg.id,  msg.qtype, transport,   msg.qname()};
  if (m.options.max_pending == 0) {
    // Nothing may wait: the query is unanswered as soon as it is seen.
    Impl::Pending p;
    p.time_ns = time_ns;
    p.client = client;
    p.server = server;
    p.client_port = client_port;
    p.server_port = server_port;
    p.qtype = msg.qtype;
    p.qclass = msg.qclass;
    p.transport = transport;
    p.query_size = msg.size;
    RawDnsObservation o = Impl::QueryObservation(p);
    o.qname = msg.qname();
    ++counters_.pending_overflow;
    ++counters_.unanswered;
    m.sink.OnObservation(o);
    return;
  }
  while (m.live >= m.options.max_pending) {
    ++counters_.pending_overflow;
    m.EmitUnanswered(m.oldest);
  }
  m.Insert(time_ns, k, msg.qclass, msg.size);
}

void DnsTransactionMatcher::OnResponse(int64_t time_ns, const IpAddress& client,
                                       uint16_t client_port, const IpAddress& server,
                                       uint16_t server_port, Transport transport,
                                       const DnsMessageInfo& msg, int64_t query_time_ns) {
  Impl& m = *impl_;
  RawDnsObservation o =
      ResponseObservation(time_ns, client, client_port, server, server_port, transport, msg);
  if (query_time_ns >= 0) {
    o.query_time_ns = query_time_ns;
    ++counters_.matched;
    m.sink.OnObservation(o);
    return;
  }
  const Key k{&client, &server,   client_port, server_port,
              msg.id,  msg.qtype, transport,   msg.qname()};
  const uint32_t i = m.live == 0 ? kNil : m.Find(k);
  if (i == kNil) {
    ++counters_.unmatched_responses;
    m.sink.OnObservation(o);
    return;
  }
  const Impl::Pending& p = m.slots[i];
  o.query_time_ns = p.time_ns;
  o.query_size = p.query_size;
  o.qname = p.qname;
  o.qclass = p.qclass;
  ++counters_.matched;
  m.sink.OnObservation(o);
  m.Remove(i);
}

void DnsTransactionMatcher::Expire(int64_t now_ns) {
  Impl& m = *impl_;
  int64_t cutoff = 0;
  if (__builtin_sub_overflow(now_ns, m.options.timeout_ns, &cutoff)) {
    cutoff = m.options.timeout_ns > 0 ? INT64_MIN : INT64_MAX;
  }
  while (m.oldest != kNil && m.slots[m.oldest].time_ns < cutoff) m.EmitUnanswered(m.oldest);
}

void DnsTransactionMatcher::Flush() {
  Impl& m = *impl_;
  while (m.oldest != kNil) m.EmitUnanswered(m.oldest);
}

void AppendMatcherCounters(const DnsMatcherCounters& c,
                           std::vector<std::pair<std::string, uint64_t>>* out) {
  out->emplace_back("matched", c.matched);
  out->emplace_back("unanswered", c.unanswered);
  out->emplace_back("unmatched_responses", c.unmatched_responses);
  out->emplace_back("pending_overflow", c.pending_overflow);
}

}  // namespace dnsight

#include "ingest/tcp_dns_stream.h"

#include <xxhash.h>

#include <algorithm>
#include <unordered_map>
#include <vector>

namespace dnsight {
namespace {

constexpr uint32_t kNil = UINT32_MAX;
// A flow buffer that grew past this is released when its flow ends, so reused slots do
// not pin large buffers.
constexpr size_t kKeepBufferCapacity = 4096;

struct FlowKey {
  IpAddress src;
  IpAddress dst;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  friend bool operator==(const FlowKey&, const FlowKey&) = default;
};
static_assert(sizeof(FlowKey) == 2 * 17 + 4, "FlowKey must have no padding to be hashed as bytes");

struct FlowKeyHash {
  size_t operator()(const FlowKey& k) const {
    return static_cast<size_t>(XXH3_64bits(&k, sizeof k));
  }
};

inline uint16_t Be16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

}  // namespace

struct TcpDnsStream::Impl {
  struct Flow {
    FlowKey key;
    uint32_t next_seq = 0;
    int64_t last_seen_ns = 0;
    std::vector<uint8_t> buf;  // the partial message, length prefix included
    uint32_t newer = kNil;     // LRU list
    uint32_t older = kNil;
    uint32_t next_free = kNil;
  };

  Impl(Options o, TcpDnsStreamCounters& c) : options(o), counters(c) {}

  Options options;
  TcpDnsStreamCounters& counters;
  std::vector<Flow> flows;
  std::unordered_map<FlowKey, uint32_t, FlowKeyHash> index;
  uint32_t free_head = kNil;
  uint32_t newest = kNil;
  uint32_t oldest = kNil;
  size_t buffered = 0;

  void Unlink(uint32_t i) {
    Flow& f = flows[i];
    if (f.older != kNil)
      flows[f.older].newer = f.newer;
    else
      oldest = f.newer;
    if (f.newer != kNil)
      flows[f.newer].older = f.older;
    else
      newest = f.older;
    f.newer = f.older = kNil;
  }

  void PushNewest(uint32_t i) {
    Flow& f = flows[i];
    f.older = newest;
    f.newer = kNil;
    if (newest != kNil) flows[newest].newer = i;
    newest = i;
    if (oldest == kNil) oldest = i;
  }

  void Touch(uint32_t i, int64_t time_ns) {
    flows[i].last_seen_ns = time_ns;
    if (newest == i) return;
    Unlink(i);
    PushNewest(i);
  }

  void DropPartial(Flow& f) {
    if (f.buf.empty()) return;
    ++counters.incomplete_messages;
    buffered -= f.buf.size();
    f.buf.clear();
  }

  void Close(uint32_t i) {
    Flow& f = flows[i];
    DropPartial(f);
    if (f.buf.capacity() > kKeepBufferCapacity) std::vector<uint8_t>().swap(f.buf);
    index.erase(f.key);
    Unlink(i);
    f.next_free = free_head;
    free_head = i;
  }

  uint32_t Open(const FlowKey& key, uint32_t seq, int64_t time_ns) {
    while (index.size() >= options.max_flows && oldest != kNil) {
      ++counters.flows_evicted;
      Close(oldest);
    }
    uint32_t i;
    if (free_head != kNil) {
      i = free_head;
      free_head = flows[i].next_free;
    } else {
      flows.emplace_back();
      i = static_cast<uint32_t>(flows.size() - 1);
    }
    Flow& f = flows[i];
    f.key = key;
    f.next_seq = seq;
    f.last_seen_ns = time_ns;
    f.next_free = kNil;
    PushNewest(i);
    index.emplace(key, i);
    ++counters.flows_opened;
    return i;
  }

  // Makes room for `need` more buffered bytes by evicting other flows, oldest first.
  // False if even that is not enough.
  bool Reserve(uint32_t self, size_t need) {
    while (buffered + need > options.max_buffered_bytes) {
      uint32_t victim = oldest;
      while (victim != kNil && (victim == self || flows[victim].buf.empty()))
        victim = flows[victim].newer;
      if (victim == kNil) return false;
      ++counters.flows_evicted;
      Close(victim);
    }
    return true;
  }

  void Append(Flow& f, std::span<const uint8_t> bytes) {
    f.buf.insert(f.buf.end(), bytes.begin(), bytes.end());
    buffered += bytes.size();
  }

  void Emit(std::span<const uint8_t> message, Handler& handler) {
    ++counters.messages;
    handler.OnDnsMessage(message);
  }

  // Consumes in-order stream bytes of flow i. False if the flow had to be dropped.
  bool Consume(uint32_t i, std::span<const uint8_t> data, Handler& handler) {
    // First complete the message already buffered, copying only what it still needs.
    while (!flows[i].buf.empty() && !data.empty()) {
      Flow& f = flows[i];
      size_t want = 2;
      if (f.buf.size() >= 2) want = 2 + static_cast<size_t>(Be16(f.buf.data()));
      const size_t take = std::min(want - f.buf.size(), data.size());
      if (!Reserve(i, take)) {
        ++counters.flows_evicted;
        Close(i);
        return false;
      }
      Append(flows[i], data.first(take));
      data = data.subspan(take);
      Flow& g = flows[i];
      if (g.buf.size() >= 2 && g.buf.size() == 2 + static_cast<size_t>(Be16(g.buf.data()))) {
        Emit(std::span<const uint8_t>(g.buf).subspan(2), handler);
        buffered -= g.buf.size();
        g.buf.clear();
      }
    }
    // Then whole messages straight from the segment.
    while (data.size() >= 2) {
      const size_t len = Be16(data.data());
      if (data.size() < 2 + len) break;
      Emit(data.subspan(2, len), handler);
      data = data.subspan(2 + len);
    }
    if (!data.empty()) {  // the start of a message that continues in a later segment
      if (!Reserve(i, data.size())) {
        ++counters.flows_evicted;
        Close(i);
        return false;
      }
      Append(flows[i], data);
    }
    return true;
  }
};

TcpDnsStream::TcpDnsStream(Options options) : impl_(std::make_unique<Impl>(options, counters_)) {}

TcpDnsStream::~TcpDnsStream() = default;

size_t TcpDnsStream::flow_count() const {
  return impl_->index.size();
}
size_t TcpDnsStream::buffered_bytes() const {
  return impl_->buffered;
}

void TcpDnsStream::OnSegment(int64_t time_ns, const DecodedPacket& seg, Handler& handler) {
  Impl& m = *impl_;
  ++counters_.segments;
  FlowKey key;
  key.src = seg.src;
  key.dst = seg.dst;
  key.src_port = seg.src_port;
  key.dst_port = seg.dst_port;
  auto it = m.index.find(key);
  uint32_t i = it == m.index.end() ? kNil : it->second;

  if ((seg.tcp_flags & kTcpRst) != 0) {
    if (i != kNil) {
      ++counters_.flows_closed;
      m.Close(i);
    }
    return;
  }
  const bool syn = (seg.tcp_flags & kTcpSyn) != 0;
  const bool fin = (seg.tcp_flags & kTcpFin) != 0;
  // SYN takes one sequence number; data on a SYN (TCP Fast Open) starts after it.
  const uint32_t data_seq = syn ? seg.tcp_seq + 1 : seg.tcp_seq;
  if (syn && i != kNil) {
    m.DropPartial(m.flows[i]);
    m.flows[i].next_seq = data_seq;
  }
  if (i == kNil) {
    if (!syn && seg.payload.empty()) return;  // a bare ACK or FIN of a flow we never saw
    i = m.Open(key, data_seq, time_ns);
  }
  m.Touch(i, time_ns);

  std::span<const uint8_t> data = seg.payload;
  if (!data.empty()) {
    Impl::Flow& f = m.flows[i];
    const auto ahead = static_cast<int32_t>(data_seq - f.next_seq);
    if (ahead > 0) {
      ++counters_.gaps;
      m.DropPartial(f);
      f.next_seq = data_seq;
    } else if (ahead < 0) {
      ++counters_.retransmissions;
      const size_t seen = static_cast<size_t>(-static_cast<int64_t>(ahead));
      data = seen >= data.size() ? std::span<const uint8_t>() : data.subspan(seen);
    }
    const uint32_t end_seq = data_seq + static_cast<uint32_t>(seg.payload.size());
    if (static_cast<int32_t>(end_seq - f.next_seq) > 0) f.next_seq = end_seq;
    if (!data.empty() && !m.Consume(i, data, handler)) return;
  }
  if (fin) {
    ++counters_.flows_closed;
    m.Close(i);
  }
}

void TcpDnsStream::ExpireIdle(int64_t now_ns) {
  Impl& m = *impl_;
  int64_t cutoff = 0;
  if (__builtin_sub_overflow(now_ns, m.options.idle_timeout_ns, &cutoff)) {
    cutoff = m.options.idle_timeout_ns > 0 ? INT64_MIN : INT64_MAX;
  }
  while (m.oldest != kNil && m.flows[m.oldest].last_seen_ns < cutoff) {
    ++counters_.flows_expired;
    m.Close(m.oldest);
  }
}

}  // namespace dnsight

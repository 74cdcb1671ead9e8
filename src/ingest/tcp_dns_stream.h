// TcpDnsStream: recovers DNS messages from captured DNS-over-TCP segments.
//
// Each direction of a TCP connection is a flow, keyed by (source address, source port,
// destination address, destination port). A flow's bytes are a sequence of messages,
// each behind a 2-byte big-endian length (RFC 1035 4.2.2). Messages split across
// segments and several messages in one segment are both handled; a message that ends in
// the segment at hand is handed to the handler before OnSegment() returns.
//
// Only in-order data is reassembled. A retransmission of bytes already seen is dropped
// (the new tail of a partial overlap is kept). A segment that starts after the expected
// sequence number means bytes were lost: the flow's partial message is discarded, the
// loss is counted as a gap, and the flow restarts at that segment on the assumption that
// it begins a message (the same assumption is made for a flow first seen without its
// SYN, e.g. when capture started mid-connection). SYN (re)starts a flow, FIN and RST end
// it; a partial message left at the end is counted in incomplete_messages.
//
// Memory is bounded: at most max_flows flows (least recently used evicted first), at most
// 64 KiB + 2 buffered per flow (one message, since complete messages are delivered at
// once), and at most max_buffered_bytes across all flows. Complete messages inside one
// segment are delivered straight from the segment without copying.
//
// Thread-safety: not thread-safe; one per decoder thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "ingest/packet_decoder.h"

namespace dnsight {

struct TcpDnsStreamCounters {
  uint64_t segments = 0;         // segments passed in
  uint64_t messages = 0;         // complete messages delivered
  uint64_t gaps = 0;             // "tcp_gap": data after a hole; the flow was restarted
  uint64_t retransmissions = 0;  // segments holding bytes already seen
  uint64_t flows_opened = 0;
  uint64_t flows_closed = 0;         // by FIN or RST
  uint64_t flows_evicted = 0;        // by max_flows (LRU) or max_buffered_bytes
  uint64_t flows_expired = 0;        // idle longer than idle_timeout_ns
  uint64_t incomplete_messages = 0;  // partial messages discarded (gap, close, eviction)
};

class TcpDnsStream {
 public:
  struct Options {
    // Flows tracked at once. Each costs ~100 bytes plus its buffer.
    size_t max_flows = 16384;
    // Bytes buffered across all flows for messages still incomplete. Worst case without
    // it would be max_flows * 64 KiB.
    size_t max_buffered_bytes = 64 << 20;
    // A flow with no segment for this long is dropped by ExpireIdle().
    int64_t idle_timeout_ns = 120'000'000'000;
  };

  class Handler {
   public:
    virtual ~Handler() = default;
    // One complete DNS message (without its length prefix). The view is valid only for
    // the duration of the call.
    virtual void OnDnsMessage(std::span<const uint8_t> message) = 0;
  };

  explicit TcpDnsStream(Options options);
  ~TcpDnsStream();
  TcpDnsStream(const TcpDnsStream&) = delete;
  TcpDnsStream& operator=(const TcpDnsStream&) = delete;

  // REQUIRES: segment.transport == Transport::kTcp (as PacketDecoder produces it).
  // time_ns orders flows for idle expiry only.
  void OnSegment(int64_t time_ns, const DecodedPacket& segment, Handler& handler);
  // Drops flows idle since before now_ns - idle_timeout_ns.
  void ExpireIdle(int64_t now_ns);

  size_t flow_count() const;
  size_t buffered_bytes() const;
  const TcpDnsStreamCounters& counters() const { return counters_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  TcpDnsStreamCounters counters_;
};

}  // namespace dnsight

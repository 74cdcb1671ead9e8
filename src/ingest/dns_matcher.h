// DnsTransactionMatcher: pairs DNS queries with their responses to measure latency.
//
// Decoders that see queries and responses as separate messages (pcap, dnstap) feed both
// in time order. A response is matched to the pending query with the same (client
// address, client port, server address, server port, DNS id, qtype, qname) and one
// observation with both timestamps is emitted. A query with no response within
// `timeout_ns` (measured against the times passed in, never a wall clock) is emitted as
// unanswered (rcode -1). A response with no pending query is emitted on its own.
//
// Memory is bounded by max_pending: when full, the oldest pending query is emitted as
// unanswered and counted in pending_overflow.
//
// Thread-safety: not thread-safe; one per decoder thread. The sink must outlive it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "dnsight/dns_wire.h"
#include "dnsight/observation.h"

namespace dnsight {

struct DnsMatcherCounters {
  uint64_t matched = 0;
  uint64_t unanswered = 0;
  uint64_t unmatched_responses = 0;
  uint64_t pending_overflow = 0;
};

// Appends the counters as name/value pairs (for DnsSource::Counters()).
void AppendMatcherCounters(const DnsMatcherCounters& c,
                           std::vector<std::pair<std::string, uint64_t>>* out);

class DnsTransactionMatcher {
 public:
  struct Options {
    int64_t timeout_ns = 5'000'000'000;
    size_t max_pending = 1 << 20;
  };
  DnsTransactionMatcher(Options options, ObservationSink& sink);
  ~DnsTransactionMatcher();
  DnsTransactionMatcher(const DnsTransactionMatcher&) = delete;
  DnsTransactionMatcher& operator=(const DnsTransactionMatcher&) = delete;

  // A query message sent by client to server at time_ns.
  void OnQuery(int64_t time_ns, const IpAddress& client, uint16_t client_port,
               const IpAddress& server, uint16_t server_port, Transport transport,
               const DnsMessageInfo& msg);
  // A response sent by server to client at time_ns. query_time_ns, when >= 0, is a
  // query time the producer already knows (dnstap responses often carry it); the
  // response is then emitted at once without a lookup.
  void OnResponse(int64_t time_ns, const IpAddress& client, uint16_t client_port,
                  const IpAddress& server, uint16_t server_port, Transport transport,
                  const DnsMessageInfo& msg, int64_t query_time_ns = -1);
  // Emits queries pending since before now_ns - timeout_ns as unanswered.
  void Expire(int64_t now_ns);
  // End of input: emits every pending query as unanswered.
  void Flush();

  const DnsMatcherCounters& counters() const { return counters_; }

 private:
  struct Impl;
  Impl* impl_;
  DnsMatcherCounters counters_;
};

}  // namespace dnsight

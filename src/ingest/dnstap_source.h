// dnstap sources: DNS observations from Frame Streams carrying dnstap, read from a file
// (as written by fstrm_capture, dnstap-ldns -w, unbound/knot file output), a unix socket
// or a TCP socket (as used by unbound's dnstap-socket-path / dnstap-ip, knot, dnsdist).
//
// All three run the same FrameStreamReader per stream and one DnstapDecoder (and so one
// transaction matcher) per source, so a query and its response pair up even when a
// producer spreads messages over several connections. Socket sources are servers: the
// DNS software connects to them. They accept bidirectional writers (READY/ACCEPT/START
// ... STOP/FINISH, e.g. unbound, libfstrm's unix and TCP writers) and unidirectional ones
// (START first). Connections are served from the Run() thread with poll(); each has its
// own frame buffer, bounded by about max_frame_size + read_chunk_size.
//
// Failure handling: a connection that breaks the protocol (bad framing, oversized
// frame, wrong content type) is closed and counted under its reason token in
// protocol_errors; a malformed dnstap payload is counted and reported to the sink. Neither
// stops the source. A corrupt file cannot be re-synchronized, so DnstapFileSource stops
// at the first framing error and Run() returns it (reason token first, e.g.
// "frame_too_large: ..."); input that simply ends mid-frame or without STOP (a writer
// that was killed) is reported/counted and Run() returns OK.
//
// Time: only event time from the dnstap messages drives matching and expiry; there is no
// wall clock. Pending queries are flushed when Run() returns.
//
// Thread-safety: as DnsSource. counters() and the socket sources' Listen()/port() may be
// called from any thread; counters() returns a snapshot refreshed after every poll
// wakeup (sockets) or read chunk (files) and when Run() returns.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "dnsight/source.h"
#include "ingest/dnstap_decoder.h"
#include "ingest/frame_streams.h"

namespace dnsight {

struct DnstapSourceOptions {
  // Message types, matcher settings and expiry cadence.
  DnstapDecoder::Options decoder;
  // Content type expected in READY/START.
  std::string content_type = std::string(kDnstapContentType);
  // Longer data frames are a protocol error (frame_too_large). Memory per connection is
  // up to about this plus read_chunk_size. Default 1 MiB.
  size_t max_frame_size = kFstrmDefaultMaxFrameSize;
  // Bytes per read() call. Larger means fewer syscalls and more memory per connection.
  size_t read_chunk_size = 64 * 1024;
  // Sockets: concurrent connections served; further ones are accepted and closed at once
  // (connections_rejected). Each costs one frame buffer.
  size_t max_connections = 64;
  // Sockets: poll() timeout, i.e. how often an idle source wakes to expire pending
  // queries and publish counters. RequestStop() wakes it immediately regardless.
  int poll_timeout_ms = 200;
  // Unix socket: permissions set on the socket file after creation (e.g. 0660 so a
  // resolver running as another user in the same group can connect); 0 leaves the
  // umask-derived mode.
  uint32_t unix_socket_mode = 0;
};

struct DnstapSourceCounters {
  uint64_t bytes_read = 0;
  uint64_t data_frames = 0;
  uint64_t control_frames = 0;
  uint64_t streams_started = 0;  // START frames accepted
  uint64_t streams_stopped = 0;  // STOP frames received (clean end of a stream)
  // Sockets.
  uint64_t connections_accepted = 0;
  uint64_t connections_rejected = 0;  // over max_connections
  uint64_t connections_closed = 0;    // all closes, clean or not
  uint64_t connections_failed = 0;    // closed for a protocol or I/O error
  uint64_t active_connections = 0;
  uint64_t io_errors = 0;  // read/write/accept errors other than would-block
  // Stream-level problems by FstrmError (index = enum value), including truncated_frame
  // and missing_stop at end of input.
  std::array<uint64_t, kFstrmErrorCount> protocol_errors{};
  DnstapDecoderCounters decoder;
  DnsMatcherCounters matcher;
};

class DnstapSocketServer;  // shared implementation of the socket sources

// Flattens the counters for the counters report (zero-valued error kinds left out).
std::vector<std::pair<std::string, uint64_t>> DnstapCounterList(const DnstapSourceCounters& c);

// Reads one Frame Streams file. Path "-" reads standard input. Concatenated captures
// (START...STOP START...STOP) are read as one.
class DnstapFileSource : public DnsSource {
 public:
  explicit DnstapFileSource(std::string path, DnstapSourceOptions options = {});
  ~DnstapFileSource() override;

  Status Run(ObservationSink& sink) override;
  void RequestStop() override { stop_.store(true, std::memory_order_relaxed); }
  std::string Describe() const override { return "dnstap-file:" + path_; }
  DnstapSourceCounters counters() const;
  std::vector<std::pair<std::string, uint64_t>> Counters() const override {
    return DnstapCounterList(counters());
  }

 private:
  void Publish(const DnstapSourceCounters& c);

  std::string path_;
  DnstapSourceOptions options_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  DnstapSourceCounters published_;
};

// Listens on a unix stream socket. Listen() (or Run()) removes a stale socket file at
// the path (only a socket, never another kind of file) and creates it; the file is
// removed again when the source is destroyed.
class DnstapUnixSource : public DnsSource {
 public:
  explicit DnstapUnixSource(std::string socket_path, DnstapSourceOptions options = {});
  ~DnstapUnixSource() override;

  // Creates the socket now, so writers can connect before Run() starts. Optional; Run()
  // calls it if needed. REQUIRES: not called concurrently with Run().
  Status Listen();
  Status Run(ObservationSink& sink) override;
  void RequestStop() override;
  std::string Describe() const override;
  DnstapSourceCounters counters() const;
  std::vector<std::pair<std::string, uint64_t>> Counters() const override {
    return DnstapCounterList(counters());
  }

 private:
  std::unique_ptr<DnstapSocketServer> server_;
};

// Listens on TCP. bind_address is a numeric IPv4 or IPv6 address ("127.0.0.1", "::");
// port 0 picks a free port, readable from port() after Listen().
class DnstapTcpSource : public DnsSource {
 public:
  DnstapTcpSource(std::string bind_address, uint16_t port, DnstapSourceOptions options = {});
  ~DnstapTcpSource() override;

  // Binds and listens now. Optional; Run() calls it if needed. REQUIRES: not called
  // concurrently with Run().
  Status Listen();
  // The bound port; 0 before a successful Listen().
  uint16_t port() const;
  Status Run(ObservationSink& sink) override;
  void RequestStop() override;
  std::string Describe() const override;
  DnstapSourceCounters counters() const;
  std::vector<std::pair<std::string, uint64_t>> Counters() const override {
    return DnstapCounterList(counters());
  }

 private:
  std::unique_ptr<DnstapSocketServer> server_;
};

}  // namespace dnsight

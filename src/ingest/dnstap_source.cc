#include "ingest/dnstap_source.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace dnsight {
namespace {

std::string ErrnoText(int err) {
  return std::strerror(err);
}

// Runs the reader until it needs input, fails or sees STOP; data frames go to the
// decoder. Returns the event that ended the loop (kNeedMore, kError or kStopped).
FrameStreamReader::Event DrainFrames(FrameStreamReader& reader, DnstapDecoder& decoder,
                                     DnstapSourceCounters& c) {
  const uint64_t control_before = reader.control_frames();
  std::span<const uint8_t> payload;
  FrameStreamReader::Event ev;
  for (;;) {
    ev = reader.Next(&payload);
    if (ev == FrameStreamReader::Event::kData) {
      ++c.data_frames;
      decoder.Decode(payload);
    } else if (ev == FrameStreamReader::Event::kStarted) {
      ++c.streams_started;
    } else {
      break;
    }
  }
  if (ev == FrameStreamReader::Event::kStopped) ++c.streams_stopped;
  c.control_frames += reader.control_frames() - control_before;
  return ev;
}

void CountError(FstrmError e, DnstapSourceCounters& c) {
  ++c.protocol_errors[static_cast<size_t>(e)];
}

void Snapshot(const DnstapDecoder& decoder, DnstapSourceCounters& c) {
  c.decoder = decoder.counters();
  c.matcher = decoder.matcher_counters();
}

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ > 2) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

}  // namespace

// ---------------------------------------------------------------------------------------
// DnstapFileSource

DnstapFileSource::DnstapFileSource(std::string path, DnstapSourceOptions options)
    : path_(std::move(path)), options_(std::move(options)) {}

DnstapFileSource::~DnstapFileSource() = default;

DnstapSourceCounters DnstapFileSource::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return published_;
}

void DnstapFileSource::Publish(const DnstapSourceCounters& c) {
  std::lock_guard<std::mutex> lock(mu_);
  published_ = c;
}

Status DnstapFileSource::Run(ObservationSink& sink) {
  const int fd = path_ == "-" ? STDIN_FILENO : ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::IoError("cannot open dnstap file " + path_ + ": " + ErrnoText(errno));
  }
  FdCloser closer(fd);
  FrameStreamReader::Options ropt;
  ropt.content_type = options_.content_type;
  ropt.max_frame_size = options_.max_frame_size;
  ropt.bidirectional = false;
  ropt.allow_restart = true;
  FrameStreamReader reader(std::move(ropt));
  DnstapDecoder decoder(options_.decoder, sink);
  DnstapSourceCounters c;
  Status result;
  const size_t chunk = options_.read_chunk_size > 0 ? options_.read_chunk_size : 64 * 1024;
  bool at_eof = false;
  while (!stop_.load(std::memory_order_relaxed)) {
    std::span<uint8_t> space = reader.PrepareWrite(chunk);
    const ssize_t n = ::read(fd, space.data(), space.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      result = Status::IoError("read " + path_ + ": " + ErrnoText(errno));
      break;
    }
    if (n == 0) {
      at_eof = true;
      break;
    }
    reader.CommitWrite(static_cast<size_t>(n));
    c.bytes_read += static_cast<uint64_t>(n);
    if (DrainFrames(reader, decoder, c) == FrameStreamReader::Event::kError) {
      // The framing is lost; nothing after this point can be trusted.
      CountError(reader.error(), c);
      sink.OnMalformed(FstrmErrorName(reader.error()), reader.buffered_bytes());
      result = Status(reader.status().code(), reader.status().message() + " in " + path_);
      break;
    }
    Snapshot(decoder, c);
    Publish(c);
  }
  if (at_eof) {
    // A writer that was killed leaves a partial frame or no STOP: report, keep the data.
    const FstrmError end = reader.FinishError();
    if (end == FstrmError::kTruncatedFrame) {
      CountError(end, c);
      sink.OnMalformed(FstrmErrorName(end), reader.buffered_bytes());
    } else if (end == FstrmError::kMissingStop) {
      CountError(end, c);
    }
  }
  decoder.Flush();
  Snapshot(decoder, c);
  Publish(c);
  return result;
}

// ---------------------------------------------------------------------------------------
// DnstapSocketServer: the poll() loop behind DnstapUnixSource and DnstapTcpSource.

class DnstapSocketServer {
 public:
  enum class Kind { kUnix, kTcp };

  DnstapSocketServer(Kind kind, std::string address, uint16_t port, DnstapSourceOptions options)
      : kind_(kind), address_(std::move(address)), options_(std::move(options)) {
    requested_port_ = port;
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  }

  ~DnstapSocketServer() {
    CloseListener();
    if (wake_fd_ >= 0) ::close(wake_fd_);
  }

  DnstapSocketServer(const DnstapSocketServer&) = delete;
  DnstapSocketServer& operator=(const DnstapSocketServer&) = delete;

  Status Listen() {
    if (listen_fd_ >= 0) return Status::Ok();
    return kind_ == Kind::kUnix ? ListenUnix() : ListenTcp();
  }

  uint16_t port() const { return bound_port_.load(std::memory_order_acquire); }

  std::string Describe() const {
    if (kind_ == Kind::kUnix) return "dnstap-unix:" + address_;
    const uint16_t p = port() != 0 ? port() : requested_port_;
    if (address_.find(':') != std::string::npos) {
      return "dnstap-tcp:[" + address_ + "]:" + std::to_string(p);
    }
    return "dnstap-tcp:" + address_ + ":" + std::to_string(p);
  }

  void RequestStop() {
    stop_.store(true, std::memory_order_release);
    if (wake_fd_ >= 0) {
      const uint64_t one = 1;
      // A full counter (impossible in practice) still leaves the fd readable.
      [[maybe_unused]] ssize_t r = ::write(wake_fd_, &one, sizeof one);
    }
  }

  DnstapSourceCounters counters() const {
    std::lock_guard<std::mutex> lock(mu_);
    return published_;
  }

  Status Run(ObservationSink& sink);

 private:
  struct Connection {
    Connection(int f, FrameStreamReader::Options o) : fd(f), reader(std::move(o)) {}
    int fd;
    FrameStreamReader reader;
    bool dead = false;
  };

  Status ListenUnix();
  Status ListenTcp();
  void CloseListener();
  void AcceptAll();
  void Service(Connection& conn, short revents);
  void ReadConnection(Connection& conn, int max_reads);
  bool FlushOutput(Connection& conn);
  void Close(Connection& conn, bool failed);
  void Publish();

  const Kind kind_;
  const std::string address_;
  const DnstapSourceOptions options_;
  uint16_t requested_port_ = 0;
  std::atomic<uint16_t> bound_port_{0};
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  bool created_socket_file_ = false;
  bool accept_backoff_ = false;
  std::atomic<bool> stop_{false};

  // Run() state.
  ObservationSink* sink_ = nullptr;
  DnstapDecoder* decoder_ = nullptr;
  std::vector<std::unique_ptr<Connection>> conns_;
  DnstapSourceCounters c_;

  mutable std::mutex mu_;
  DnstapSourceCounters published_;
};

Status DnstapSocketServer::ListenUnix() {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (address_.empty() || address_.size() >= sizeof sa.sun_path) {
    return Status::InvalidArgument("unix socket path \"" + address_ +
                                   "\" is empty or longer than " +
                                   std::to_string(sizeof sa.sun_path - 1) + " bytes");
  }
  std::memcpy(sa.sun_path, address_.data(), address_.size());
  struct stat st;
  if (::lstat(address_.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Status::InvalidArgument(address_ + " exists and is not a socket");
    }
    // A socket file is stale unless something still accepts on it.
    const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe >= 0) {
      const bool in_use = ::connect(probe, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
      ::close(probe);
      if (in_use) return Status::Unavailable("unix socket " + address_ + " is in use");
    }
    if (::unlink(address_.c_str()) != 0 && errno != ENOENT) {
      return Status::IoError("cannot remove stale socket " + address_ + ": " + ErrnoText(errno));
    }
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IoError("socket(AF_UNIX): " + ErrnoText(errno));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::IoError("bind " + address_ + ": " + ErrnoText(err));
  }
  created_socket_file_ = true;
  if (options_.unix_socket_mode != 0 &&
      ::chmod(address_.c_str(), static_cast<mode_t>(options_.unix_socket_mode)) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::IoError("chmod " + address_ + ": " + ErrnoText(err));
  }
  if (::listen(fd, SOMAXCONN) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::IoError("listen " + address_ + ": " + ErrnoText(err));
  }
  listen_fd_ = fd;
  return Status::Ok();
}

Status DnstapSocketServer::ListenTcp() {
  const std::optional<IpAddress> ip = IpAddress::Parse(address_);
  if (!ip) return Status::InvalidArgument("bad bind address \"" + address_ + "\"");
  sockaddr_storage ss{};
  socklen_t len;
  if (ip->family == IpFamily::kV4) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(requested_port_);
    std::memcpy(&sin->sin_addr, ip->bytes.data(), 4);
    len = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(requested_port_);
    std::memcpy(&sin6->sin6_addr, ip->bytes.data(), 16);
    len = sizeof(sockaddr_in6);
  }
  const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IoError("socket: " + ErrnoText(errno));
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, SOMAXCONN) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::IoError("listen on " + Describe() + ": " + ErrnoText(err));
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof bound;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::IoError("getsockname: " + ErrnoText(err));
  }
  const uint16_t p = bound.ss_family == AF_INET
                         ? ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port)
                         : ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  bound_port_.store(p, std::memory_order_release);
  listen_fd_ = fd;
  return Status::Ok();
}

void DnstapSocketServer::CloseListener() {
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
  if (created_socket_file_) {
    ::unlink(address_.c_str());
    created_socket_file_ = false;
  }
}

void DnstapSocketServer::Publish() {
  c_.active_connections = conns_.size();
  Snapshot(*decoder_, c_);
  std::lock_guard<std::mutex> lock(mu_);
  published_ = c_;
}

void DnstapSocketServer::AcceptAll() {
  for (;;) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // The pending connection stays queued and the listener readable: skip it for one
        // poll cycle instead of spinning until descriptors free up.
        accept_backoff_ = true;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK) ++c_.io_errors;
      return;
    }
    if (conns_.size() >= options_.max_connections) {
      ::close(fd);
      ++c_.connections_rejected;
      continue;
    }
    FrameStreamReader::Options ropt;
    ropt.content_type = options_.content_type;
    ropt.max_frame_size = options_.max_frame_size;
    ropt.bidirectional = true;
    ropt.allow_restart = false;
    conns_.push_back(std::make_unique<Connection>(fd, std::move(ropt)));
    ++c_.connections_accepted;
  }
}

void DnstapSocketServer::Close(Connection& conn, bool failed) {
  if (conn.dead) return;
  conn.dead = true;
  ::close(conn.fd);
  conn.fd = -1;
  ++c_.connections_closed;
  if (failed) ++c_.connections_failed;
}

// Sends queued replies. False if the peer is gone or the send failed.
bool DnstapSocketServer::FlushOutput(Connection& conn) {
  std::string& out = conn.reader.output();
  while (!out.empty()) {
    const ssize_t n = ::send(conn.fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      out.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;  // wait for POLLOUT
    return false;
  }
  return true;
}

void DnstapSocketServer::ReadConnection(Connection& conn, int max_reads) {
  const size_t chunk = options_.read_chunk_size > 0 ? options_.read_chunk_size : 64 * 1024;
  for (int i = 0; i < max_reads && !conn.dead; ++i) {
    std::span<uint8_t> space = conn.reader.PrepareWrite(chunk);
    const ssize_t n = ::recv(conn.fd, space.data(), space.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      ++c_.io_errors;
      Close(conn, /*failed=*/true);
      return;
    }
    if (n == 0) {
      // The writer hung up. Without STOP (e.g. it was killed) that is counted, not fatal.
      const FstrmError end = conn.reader.FinishError();
      if (end == FstrmError::kTruncatedFrame) {
        CountError(end, c_);
        sink_->OnMalformed(FstrmErrorName(end), conn.reader.buffered_bytes());
      } else if (end == FstrmError::kMissingStop) {
        CountError(end, c_);
      }
      Close(conn, end == FstrmError::kTruncatedFrame);
      return;
    }
    conn.reader.CommitWrite(static_cast<size_t>(n));
    c_.bytes_read += static_cast<uint64_t>(n);
    switch (DrainFrames(conn.reader, *decoder_, c_)) {
      case FrameStreamReader::Event::kError:
        CountError(conn.reader.error(), c_);
        sink_->OnMalformed(FstrmErrorName(conn.reader.error()), conn.reader.buffered_bytes());
        Close(conn, /*failed=*/true);
        return;
      case FrameStreamReader::Event::kStopped:
        // Best effort FINISH: some writers (unbound) close right after STOP.
        FlushOutput(conn);
        Close(conn, /*failed=*/false);
        return;
      default:
        break;
    }
    if (!FlushOutput(conn)) {
      ++c_.io_errors;
      Close(conn, /*failed=*/true);
      return;
    }
    if (static_cast<size_t>(n) < space.size()) return;  // socket drained for now
  }
}

void DnstapSocketServer::Service(Connection& conn, short revents) {
  if ((revents & POLLOUT) != 0 && !FlushOutput(conn)) {
    ++c_.io_errors;
    Close(conn, /*failed=*/true);
    return;
  }
  if ((revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
    // A few reads per wakeup keep one busy writer from starving the others.
    ReadConnection(conn, 8);
  }
}

Status DnstapSocketServer::Run(ObservationSink& sink) {
  if (wake_fd_ < 0) return Status::IoError("eventfd: cannot create the stop channel");
  Status listening = Listen();
  if (!listening.ok()) return listening;
  DnstapDecoder decoder(options_.decoder, sink);
  sink_ = &sink;
  decoder_ = &decoder;
  c_ = DnstapSourceCounters();
  Status result;
  std::vector<pollfd> fds;
  while (!stop_.load(std::memory_order_acquire)) {
    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    fds.push_back({accept_backoff_ ? -1 : listen_fd_, POLLIN, 0});  // fd -1: ignored
    accept_backoff_ = false;
    for (const auto& conn : conns_) {
      const short events =
          static_cast<short>(POLLIN | (conn->reader.output().empty() ? 0 : POLLOUT));
      fds.push_back({conn->fd, events, 0});
    }
    const int n = ::poll(fds.data(), fds.size(), options_.poll_timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      result = Status::IoError("poll: " + ErrnoText(errno));
      break;
    }
    if (stop_.load(std::memory_order_acquire)) break;
    // Connections first: fds[2 + i] belongs to conns_[i] until new ones are appended.
    const size_t polled = fds.size() - 2;
    for (size_t i = 0; i < polled; ++i) {
      if (fds[2 + i].revents != 0) Service(*conns_[i], fds[2 + i].revents);
    }
    if ((fds[1].revents & POLLIN) != 0) AcceptAll();
    std::erase_if(conns_, [](const std::unique_ptr<Connection>& c) { return c->dead; });
    decoder.Expire();
    Publish();
  }
  // Stopping: take what the writers have already sent, then hang up.
  for (auto& conn : conns_) {
    ReadConnection(*conn, 1024);
    Close(*conn, /*failed=*/false);
  }
  conns_.clear();
  CloseListener();
  uint64_t drained;
  while (::read(wake_fd_, &drained, sizeof drained) > 0) {
  }
  decoder.Flush();
  Publish();
  sink_ = nullptr;
  decoder_ = nullptr;
  return result;
}

// ---------------------------------------------------------------------------------------
// Public wrappers

DnstapUnixSource::DnstapUnixSource(std::string socket_path, DnstapSourceOptions options)
    : server_(std::make_unique<DnstapSocketServer>(
          DnstapSocketServer::Kind::kUnix, std::move(socket_path), 0, std::move(options))) {}
DnstapUnixSource::~DnstapUnixSource() = default;
Status DnstapUnixSource::Listen() {
  return server_->Listen();
}
Status DnstapUnixSource::Run(ObservationSink& sink) {
  return server_->Run(sink);
}
void DnstapUnixSource::RequestStop() {
  server_->RequestStop();
}
std::string DnstapUnixSource::Describe() const {
  return server_->Describe();
}
DnstapSourceCounters DnstapUnixSource::counters() const {
  return server_->counters();
}

DnstapTcpSource::DnstapTcpSource(std::string bind_address, uint16_t port,
                                 DnstapSourceOptions options)
    : server_(std::make_unique<DnstapSocketServer>(
          DnstapSocketServer::Kind::kTcp, std::move(bind_address), port, std::move(options))) {}
DnstapTcpSource::~DnstapTcpSource() = default;
Status DnstapTcpSource::Listen() {
  return server_->Listen();
}
uint16_t DnstapTcpSource::port() const {
  return server_->port();
}
Status DnstapTcpSource::Run(ObservationSink& sink) {
  return server_->Run(sink);
}
void DnstapTcpSource::RequestStop() {
  server_->RequestStop();
}
std::string DnstapTcpSource::Describe() const {
  return server_->Describe();
}
DnstapSourceCounters DnstapTcpSource::counters() const {
  return server_->counters();
}

}  // namespace dnsight

namespace dnsight {

std::vector<std::pair<std::string, uint64_t>> DnstapCounterList(const DnstapSourceCounters& c) {
  std::vector<std::pair<std::string, uint64_t>> out = {
      {"bytes_read", c.bytes_read},
      {"data_frames", c.data_frames},
      {"control_frames", c.control_frames},
      {"streams_started", c.streams_started},
      {"streams_stopped", c.streams_stopped},
      {"connections_accepted", c.connections_accepted},
      {"connections_rejected", c.connections_rejected},
      {"connections_failed", c.connections_failed},
      {"active_connections", c.active_connections},
      {"io_errors", c.io_errors},
      {"queries", c.decoder.queries},
      {"responses", c.decoder.responses},
      {"filtered", c.decoder.filtered},
  };
  AppendMatcherCounters(c.matcher, &out);
  for (size_t i = 0; i < c.protocol_errors.size(); ++i) {
    if (c.protocol_errors[i] == 0) continue;
    out.emplace_back("protocol_error_" + std::string(FstrmErrorName(static_cast<FstrmError>(i))),
                     c.protocol_errors[i]);
  }
  return out;
}

}  // namespace dnsight

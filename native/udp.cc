#include <sys/socket.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/udp.h>
#include <cstdlib>

#include "udp.h"

namespace wgts {

namespace {

Napi::Int32Array Int32Arg(const Napi::Value& v, const char* name) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(v.Env(), std::string(name) + " must be an Int32Array");
  return v.As<Napi::Int32Array>();
}

void RaiseBuffer(int fd, int opt, int forceOpt, int size) {
  // As root the FORCE variant ignores net.core.[rw]mem_max; otherwise take what we get.
  if (::setsockopt(fd, SOL_SOCKET, forceOpt, &size, sizeof size) < 0)
    ::setsockopt(fd, SOL_SOCKET, opt, &size, sizeof size);
}

}  // namespace

Napi::Function Udp::Init(Napi::Env env) {
  return DefineClass(env, "Udp", {
    InstanceMethod<&Udp::Bind>("bind"),
    InstanceMethod<&Udp::Start>("start"),
    InstanceMethod<&Udp::SendBatch>("sendBatch"),
    InstanceMethod<&Udp::SetMark>("setMark"),
    InstanceMethod<&Udp::GsoEnabled>("gsoEnabled"),
    InstanceMethod<&Udp::LocalPort>("localPort"),
    InstanceMethod<&Udp::Close>("close"),
  });
}

// new Udp(recvBuffer, slotSize, recvMeta, sendBuffer, sendMeta)
// recvMeta per message (16 int32s): [0] length (-1 truncated), [1] family 4|6, [2] port,
//   [3] local family (0 unknown, 4, 6), [4..7] remote address bytes, [8..11] local address
//   bytes (the address the datagram arrived on), [12] interface index.
// sendMeta per message: [0] offset, [1] length, [2] family, [3] port, [4..7] address bytes,
//   [8] source family (0 = let the kernel choose), [9..12] source address bytes, [13] interface
//   index, [14] out: 1 when the source was refused (address gone) and the message went without it.
Udp::Udp(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Udp>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5) throw Napi::TypeError::New(env, "Udp(recvBuffer, slotSize, recvMeta, sendBuffer, sendMeta)");
  ByteView rb = GetBytes(info[0], "recvBuffer");
  slotSize_ = info[1].ToNumber().Uint32Value();
  Napi::Int32Array rm = Int32Arg(info[2], "recvMeta");
  ByteView sb = GetBytes(info[3], "sendBuffer");
  Napi::Int32Array sm = Int32Arg(info[4], "sendMeta");
  if (slotSize_ < 64) throw Napi::RangeError::New(env, "slotSize too small");
  recvBuf_ = rb.data;
  recvMax_ = std::min(rb.length / slotSize_, rm.ElementLength() / kMetaStride);
  recvMeta_ = rm.Data();
  sendBuf_ = sb.data;
  sendCap_ = sb.length;
  sendMeta_ = sm.Data();
  sendMax_ = sm.ElementLength() / kMetaStride;
  if (recvMax_ == 0 || sendMax_ == 0) throw Napi::RangeError::New(env, "buffers too small for one message");
  for (int i = 0; i < 4; i++) refs_[i] = Napi::Persistent(info[i == 0 ? 0 : i + 1].As<Napi::Object>());

  recvControl_.reset(new uint8_t[recvMax_ * kControlSize]);
  sendControl_.reset(new uint8_t[sendMax_ * kControlSize]);
  recvMsgs_.reset(new struct mmsghdr[recvMax_]);
  recvIov_.reset(new struct iovec[recvMax_]);
  recvAddrs_.reset(new struct sockaddr_in6[recvMax_]);
  std::memset(recvMsgs_.get(), 0, sizeof(struct mmsghdr) * recvMax_);
  for (size_t i = 0; i < recvMax_; i++) {
    recvIov_[i].iov_base = recvBuf_ + i * slotSize_;
    recvIov_[i].iov_len = slotSize_;
    recvMsgs_[i].msg_hdr.msg_iov = &recvIov_[i];
    recvMsgs_[i].msg_hdr.msg_iovlen = 1;
    recvMsgs_[i].msg_hdr.msg_name = &recvAddrs_[i];
    recvMsgs_[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in6);
    recvMsgs_[i].msg_hdr.msg_control = recvControl_.get() + i * kControlSize;
    recvMsgs_[i].msg_hdr.msg_controllen = kControlSize;
  }
  sendMsgs_.reset(new struct mmsghdr[sendMax_]);
  sendIov_.reset(new struct iovec[sendMax_]);
  sendAddrs_.reset(new struct sockaddr_in6[sendMax_]);
  groupFirst_.reset(new uint32_t[sendMax_]);
  groupBytes_.reset(new size_t[sendMax_]);
  std::memset(sendMsgs_.get(), 0, sizeof(struct mmsghdr) * sendMax_);
}

Udp::~Udp() { fd_.Close(); }

void Udp::CheckOpen(Napi::Env env) {
  if (!fd_.open()) throw Napi::Error::New(env, "UDP socket is closed");
}

// bind(port, family: 0 = dual-stack if possible, 4, 6; fwmark) -> bound port
Napi::Value Udp::Bind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t port = info[0].ToNumber().Uint32Value();
  int want = info.Length() > 1 ? info[1].ToNumber().Int32Value() : 0;
  uint32_t mark = info.Length() > 2 ? info[2].ToNumber().Uint32Value() : 0;
  if (port > 65535) throw Napi::RangeError::New(env, "port out of range");
  if (fd_.open()) throw Napi::Error::New(env, "already bound");

  int fd = -1;
  int family = 0;
  if (want != 4) {
    fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0) family = AF_INET6;
    else if (want == 6) throw ErrnoError(env, "socket(AF_INET6)", errno);
  }
  if (fd < 0) {
    fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw ErrnoError(env, "socket(AF_INET)", errno);
    family = AF_INET;
  }
  int one = 1, zero = 0;
  if (family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, want == 6 ? &one : &zero, sizeof(int));
  // Learn which local address each datagram arrived on ("sticky" replies, like wireguard-go).
  ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
  if (family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
  RaiseBuffer(fd, SO_RCVBUF, SO_RCVBUFFORCE, 7 << 20);
  RaiseBuffer(fd, SO_SNDBUF, SO_SNDBUFFORCE, 7 << 20);
  if (mark != 0 && ::setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0) {
    int err = errno;
    ::close(fd);
    throw ErrnoError(env, "SO_MARK", err);
  }
  struct sockaddr_storage ss;
  std::memset(&ss, 0, sizeof ss);
  socklen_t len;
  if (family == AF_INET6) {
    auto* a = reinterpret_cast<struct sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(port));
    a->sin6_addr = in6addr_any;
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<struct sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(port));
    a->sin_addr.s_addr = htonl(INADDR_ANY);
    len = sizeof *a;
  }
  if (::bind(fd, reinterpret_cast<struct sockaddr*>(&ss), len) < 0) {
    int err = errno;
    ::close(fd);
    throw ErrnoError(env, "bind", err);
  }
  fd_.Adopt(fd);
  family_ = family;
  // UDP GSO: the kernel has it when the option can be read (Linux >= 4.18).
  int seg = 0;
  socklen_t segLen = sizeof seg;
  gso_ = std::getenv("WGTS_NO_GSO") == nullptr && ::getsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, &segLen) == 0;
  return LocalPort(info);
}

Napi::Value Udp::LocalPort(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (::getsockname(fd_.fd(), reinterpret_cast<struct sockaddr*>(&ss), &len) < 0) throw ErrnoError(env, "getsockname", errno);
  uint16_t p = ss.ss_family == AF_INET6 ? reinterpret_cast<struct sockaddr_in6*>(&ss)->sin6_port
                                        : reinterpret_cast<struct sockaddr_in*>(&ss)->sin_port;
  return Napi::Number::New(env, ntohs(p));
}

Napi::Value Udp::SetMark(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  uint32_t mark = info[0].ToNumber().Uint32Value();
  if (::setsockopt(fd_.fd(), SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0) throw ErrnoError(env, "SO_MARK", errno);
  return env.Undefined();
}

Napi::Value Udp::GsoEnabled(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), gso_); }

// start(onRecv(count), onError(errno, message))
Napi::Value Udp::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (info.Length() < 2 || !info[0].IsFunction() || !info[1].IsFunction())
    throw Napi::TypeError::New(env, "start(onRecv, onError)");
  if (fd_.polling()) throw Napi::Error::New(env, "already started");
  onRecv_ = Napi::Persistent(info[0].As<Napi::Function>());
  onError_ = Napi::Persistent(info[1].As<Napi::Function>());
  ctx_.reset(new Napi::AsyncContext(env, "wgts.udp"));
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  int r = fd_.Start(loop, this, &Udp::OnPoll);
  if (r != 0) throw Napi::Error::New(env, std::string("uv_poll_start: ") + uv_strerror(r));
  env_ = env;
  Ref();
  // A worker thread's environment may end with the handle still polling: release it then,
  // and let the teardown wait until libuv has closed it.
  if (napi_add_async_cleanup_hook(env, &Udp::CleanupHook, this, &cleanupHook_) == napi_ok) hooked_ = true;
  return env.Undefined();
}

void Udp::OnPoll(void* owner, int status, int /*events*/) {
  Udp* self = static_cast<Udp*>(owner);
  if (status < 0) {
    Napi::HandleScope scope(self->env_);
    CallJs(self->env_, self->onError_, self->ctx_.get(),
           {Napi::Number::New(self->env_, -status), Napi::String::New(self->env_, uv_strerror(status))});
    return;
  }
  self->RecvBatch();
}

void Udp::RecvBatch() {
  // The kernel rewrote the lengths and flags of the messages it filled last time only: reset
  // those (one datagram in flight touches one header, not all 64).
  for (size_t i = 0; i < recvDirty_; i++) {
    recvMsgs_[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in6);
    recvMsgs_[i].msg_hdr.msg_flags = 0;
    recvMsgs_[i].msg_hdr.msg_controllen = kControlSize;
  }
  recvDirty_ = 0;
  int n;
  do {
    n = ::recvmmsg(fd_.fd(), recvMsgs_.get(), static_cast<unsigned>(recvMax_), MSG_DONTWAIT, nullptr);
  } while (n < 0 && errno == EINTR);
  // After a failure the first header may have been written to: reset it next time too.
  recvDirty_ = n > 0 ? static_cast<size_t>(n) : 1;
  if (n <= 0) return;  // EAGAIN, or a transient error (ICMP unreachable reported as ECONNREFUSED): ignore
  for (int i = 0; i < n; i++) {
    int32_t* m = recvMeta_ + i * kMetaStride;
    uint8_t* addr = reinterpret_cast<uint8_t*>(m + 4);
    const struct sockaddr* sa = reinterpret_cast<const struct sockaddr*>(&recvAddrs_[i]);
    // A truncated datagram is larger than any packet we accept: mark it with length -1.
    m[0] = (recvMsgs_[i].msg_hdr.msg_flags & MSG_TRUNC) ? -1 : static_cast<int32_t>(recvMsgs_[i].msg_len);
    std::memset(addr, 0, 16);
    if (sa->sa_family == AF_INET6) {
      const auto* a6 = reinterpret_cast<const struct sockaddr_in6*>(sa);
      m[2] = ntohs(a6->sin6_port);
      if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
        m[1] = 4;
        std::memcpy(addr, a6->sin6_addr.s6_addr + 12, 4);
      } else {
        m[1] = 6;
        std::memcpy(addr, a6->sin6_addr.s6_addr, 16);
      }
    } else {
      const auto* a4 = reinterpret_cast<const struct sockaddr_in*>(sa);
      m[1] = 4;
      m[2] = ntohs(a4->sin_port);
      std::memcpy(addr, &a4->sin_addr, 4);
    }
    m[3] = 0;
    uint8_t* local = reinterpret_cast<uint8_t*>(m + 8);
    std::memset(local, 0, 16);
    m[12] = 0;
    struct msghdr* h = &recvMsgs_[i].msg_hdr;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(h); c != nullptr; c = CMSG_NXTHDR(h, c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        struct in_pktinfo pi;
        std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
        m[3] = 4;
        std::memcpy(local, &pi.ipi_addr, 4);
        m[12] = pi.ipi_ifindex;
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO && m[3] == 0) {
        struct in6_pktinfo pi;
        std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
        if (IN6_IS_ADDR_V4MAPPED(&pi.ipi6_addr)) {
          m[3] = 4;
          std::memcpy(local, pi.ipi6_addr.s6_addr + 12, 4);
        } else {
          m[3] = 6;
          std::memcpy(local, pi.ipi6_addr.s6_addr, 16);
        }
        m[12] = static_cast<int32_t>(pi.ipi6_ifindex);
      }
    }
  }
  Napi::HandleScope scope(env_);
  CallJs(env_, onRecv_, ctx_.get(), {Napi::Number::New(env_, n)});
}

namespace {

bool SameDestination(const int32_t* x, const int32_t* y) {
  // family, port, address, source family, source address, ifindex
  if (x[2] != y[2] || x[3] != y[3] || x[8] != y[8]) return false;
  if (std::memcmp(x + 4, y + 4, 16) != 0) return false;
  if (x[8] != 0 && (std::memcmp(x + 9, y + 9, 16) != 0 || x[13] != y[13])) return false;
  return true;
}

// Appends one cmsg to h (whose control buffer has room); returns its data pointer.
uint8_t* AddCmsg(struct msghdr& h, size_t cap, int level, int type, size_t len) {
  if (h.msg_controllen + CMSG_SPACE(len) > cap) return nullptr;
  struct cmsghdr* c = reinterpret_cast<struct cmsghdr*>(static_cast<uint8_t*>(h.msg_control) + h.msg_controllen);
  std::memset(c, 0, CMSG_SPACE(len));
  c->cmsg_level = level;
  c->cmsg_type = type;
  c->cmsg_len = CMSG_LEN(len);
  h.msg_controllen += CMSG_SPACE(len);
  return CMSG_DATA(c);
}

constexpr size_t kGsoMaxSegments = 64;
constexpr size_t kGsoMaxBytes = 65000;  // a UDP datagram's payload, with headers, stays under 64 KiB

}  // namespace

// Fills the control buffer of group g: sticky source (unless dropped) and the GSO segment size.
void Udp::BuildControl(size_t g, bool withSource) {
  struct msghdr& h = sendMsgs_[g].msg_hdr;
  const int32_t* m = sendMeta_ + groupFirst_[g] * kMetaStride;
  h.msg_control = sendControl_.get() + g * kControlSize;
  h.msg_controllen = 0;
  if (withSource && m[8] == 4 && m[2] == 4) {
    struct in_pktinfo pi;
    std::memset(&pi, 0, sizeof pi);
    std::memcpy(&pi.ipi_spec_dst, m + 9, 4);
    uint8_t* d = AddCmsg(h, kControlSize, IPPROTO_IP, IP_PKTINFO, sizeof pi);
    if (d) std::memcpy(d, &pi, sizeof pi);
  } else if (withSource && m[8] == 6 && m[2] == 6 && family_ == AF_INET6) {
    struct in6_pktinfo pi;
    std::memset(&pi, 0, sizeof pi);
    std::memcpy(pi.ipi6_addr.s6_addr, m + 9, 16);
    pi.ipi6_ifindex = static_cast<unsigned>(m[13]);
    uint8_t* d = AddCmsg(h, kControlSize, IPPROTO_IPV6, IPV6_PKTINFO, sizeof pi);
    if (d) std::memcpy(d, &pi, sizeof pi);
  }
  if (h.msg_iovlen > 1) {
    uint16_t seg = static_cast<uint16_t>(sendMeta_[groupFirst_[g] * kMetaStride + 1]);
    uint8_t* d = AddCmsg(h, kControlSize, SOL_UDP, UDP_SEGMENT, sizeof seg);
    if (d) std::memcpy(d, &seg, sizeof seg);
  }
  if (h.msg_controllen == 0) h.msg_control = nullptr;
}

// Sends group g one message at a time (after the kernel refused it as one GSO datagram).
size_t Udp::SendGroupSingly(size_t g) {
  size_t ok = 0;
  struct msghdr base = sendMsgs_[g].msg_hdr;
  const int32_t* first = sendMeta_ + groupFirst_[g] * kMetaStride;
  bool withSource = first[8] != 0 && first[14] == 0;
  for (size_t k = 0; k < base.msg_iovlen; k++) {
    struct msghdr h = base;
    h.msg_iov = base.msg_iov + k;
    h.msg_iovlen = 1;
    uint8_t ctl[kControlSize];
    for (int attempt = 0; attempt < 2; attempt++) {
      h.msg_control = nullptr;
      h.msg_controllen = 0;
      const int32_t* m = sendMeta_ + (groupFirst_[g] + k) * kMetaStride;
      if (withSource && m[8] != 0) {
        h.msg_control = ctl;
        if (m[8] == 4 && m[2] == 4) {
          struct in_pktinfo pi;
          std::memset(&pi, 0, sizeof pi);
          std::memcpy(&pi.ipi_spec_dst, m + 9, 4);
          uint8_t* d = AddCmsg(h, sizeof ctl, IPPROTO_IP, IP_PKTINFO, sizeof pi);
          if (d) std::memcpy(d, &pi, sizeof pi);
        } else if (m[8] == 6 && m[2] == 6 && family_ == AF_INET6) {
          struct in6_pktinfo pi;
          std::memset(&pi, 0, sizeof pi);
          std::memcpy(pi.ipi6_addr.s6_addr, m + 9, 16);
          pi.ipi6_ifindex = static_cast<unsigned>(m[13]);
          uint8_t* d = AddCmsg(h, sizeof ctl, IPPROTO_IPV6, IPV6_PKTINFO, sizeof pi);
          if (d) std::memcpy(d, &pi, sizeof pi);
        }
        if (h.msg_controllen == 0) h.msg_control = nullptr;
      }
      ssize_t n;
      do {
        n = ::sendmsg(fd_.fd(), &h, MSG_DONTWAIT);
      } while (n < 0 && errno == EINTR);
      if (n >= 0) {
        ok++;
        break;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK || h.msg_control == nullptr) break;
      // The sticky source is gone: retry without it and tell JS.
      withSource = false;
      for (size_t j = 0; j < base.msg_iovlen; j++) sendMeta_[(groupFirst_[g] + j) * kMetaStride + 14] = 1;
    }
  }
  return ok;
}

// sendBatch(count) -> number of messages handed to the kernel (the rest are dropped;
// UDP gives no delivery promise and a full socket buffer must not block the loop).
// Consecutive messages to the same destination with the same length (the last may be
// shorter) go out as one UDP GSO datagram when the kernel supports it.
Napi::Value Udp::SendBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  size_t count = info[0].ToNumber().Uint32Value();
  if (count > sendMax_) throw Napi::RangeError::New(env, "count exceeds sendMeta");
  size_t groups = 0;
  for (size_t i = 0; i < count; i++) {
    int32_t* m = sendMeta_ + i * kMetaStride;
    m[14] = 0;
    size_t off = static_cast<uint32_t>(m[0]), len = static_cast<uint32_t>(m[1]);
    if (off > sendCap_ || len > sendCap_ - off) throw Napi::RangeError::New(env, "message outside sendBuffer");
    if (family_ != AF_INET6 && m[2] != 4) continue;  // no IPv6 on this host: dropped
    sendIov_[i].iov_base = sendBuf_ + off;
    sendIov_[i].iov_len = len;
    if (groups > 0 && gso_) {
      size_t g = groups - 1;
      struct msghdr& h = sendMsgs_[g].msg_hdr;
      const int32_t* first = sendMeta_ + groupFirst_[g] * kMetaStride;
      size_t seg = static_cast<uint32_t>(first[1]);
      size_t lastLen = sendIov_[groupFirst_[g] + h.msg_iovlen - 1].iov_len;
      if (groupFirst_[g] + h.msg_iovlen == i && SameDestination(first, m) && len <= seg && lastLen == seg &&
          h.msg_iovlen < kGsoMaxSegments && groupBytes_[g] + len <= kGsoMaxBytes && len > 0) {
        h.msg_iovlen++;
        groupBytes_[g] += len;
        continue;
      }
    }
    size_t g = groups++;
    groupFirst_[g] = static_cast<uint32_t>(i);
    groupBytes_[g] = len;
    struct sockaddr_in6& dst = sendAddrs_[g];
    std::memset(&dst, 0, sizeof dst);
    const uint8_t* addr = reinterpret_cast<const uint8_t*>(m + 4);
    socklen_t alen;
    if (family_ == AF_INET6) {
      dst.sin6_family = AF_INET6;
      dst.sin6_port = htons(static_cast<uint16_t>(m[3]));
      if (m[2] == 4) {
        dst.sin6_addr.s6_addr[10] = 0xff;
        dst.sin6_addr.s6_addr[11] = 0xff;
        std::memcpy(dst.sin6_addr.s6_addr + 12, addr, 4);
      } else {
        std::memcpy(dst.sin6_addr.s6_addr, addr, 16);
      }
      alen = sizeof(struct sockaddr_in6);
    } else {
      auto* a4 = reinterpret_cast<struct sockaddr_in*>(&dst);
      a4->sin_family = AF_INET;
      a4->sin_port = htons(static_cast<uint16_t>(m[3]));
      std::memcpy(&a4->sin_addr, addr, 4);
      alen = sizeof(struct sockaddr_in);
    }
    struct msghdr& h = sendMsgs_[g].msg_hdr;
    h.msg_name = &dst;
    h.msg_namelen = alen;
    h.msg_iov = &sendIov_[i];
    h.msg_iovlen = 1;
    h.msg_flags = 0;
  }
  for (size_t g = 0; g < groups; g++) BuildControl(g, true);

  size_t sentMsgs = 0;
  size_t g = 0;
  while (g < groups) {
    int n = ::sendmmsg(fd_.fd(), sendMsgs_.get() + g, static_cast<unsigned>(groups - g), MSG_DONTWAIT);
    if (n > 0) {
      for (int k = 0; k < n; k++) sentMsgs += sendMsgs_[g + k].msg_hdr.msg_iovlen;
      g += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    struct msghdr& h = sendMsgs_[g].msg_hdr;
    int32_t* first = sendMeta_ + groupFirst_[g] * kMetaStride;
    if (first[8] != 0 && first[14] == 0) {
      // The sticky source is gone (address removed): send without it and tell JS to forget it.
      for (size_t k = 0; k < h.msg_iovlen; k++) sendMeta_[(groupFirst_[g] + k) * kMetaStride + 14] = 1;
      BuildControl(g, false);
      continue;
    }
    if (h.msg_iovlen > 1) {
      // The kernel would not take it as one GSO datagram (no offload on this path): stop using GSO.
      if (errno == EIO || errno == EINVAL || errno == EOPNOTSUPP) gso_ = false;
      sentMsgs += SendGroupSingly(g);
    }
    g++;  // failed (unreachable, bad address): skip it, send the rest
  }
  return Napi::Number::New(env, static_cast<double>(sentMsgs));
}

void Udp::CleanupHook(napi_async_cleanup_hook_handle handle, void* arg) {
  Udp* self = static_cast<Udp*>(arg);
  self->hooked_ = false;
  self->fd_.Close(handle);
}

Napi::Value Udp::Close(const Napi::CallbackInfo& info) {
  bool started = !onRecv_.IsEmpty();
  fd_.Close();
  if (hooked_) {
    napi_remove_async_cleanup_hook(cleanupHook_);
    hooked_ = false;
  }
  if (started) {
    onRecv_.Reset();
    onError_.Reset();
    Unref();
  }
  return info.Env().Undefined();
}

}  // namespace wgts

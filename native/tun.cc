// Linux TUN device: create or attach (IFF_TUN | IFF_NO_PI), batched
// non-blocking reads delivered to JS as one callback per batch, writes, MTU.
#include "tun.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

namespace wgts {

namespace {
constexpr size_t kMaxPacket = 65535;

}  // namespace

// SIOC[GS]IFMTU through a datagram socket kept open (the daemon reads the MTU on every UAPI
// request and once a second: one syscall instead of socket + ioctl + close).
int Tun::IfaceIoctl(unsigned long req, struct ifreq* ifr) {
  if (ctlFd_ < 0) {
    ctlFd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (ctlFd_ < 0) ctlFd_ = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (ctlFd_ < 0) return -errno;
  }
  return ::ioctl(ctlFd_, req, ifr) < 0 ? -errno : 0;
}

void Tun::CloseCtl() {
  if (ctlFd_ >= 0) {
    ::close(ctlFd_);
    ctlFd_ = -1;
  }
}

Napi::Function Tun::Init(Napi::Env env) {
  return DefineClass(env, "Tun", {
    InstanceMethod<&Tun::Start>("start"),
    InstanceMethod<&Tun::Write>("write"),
    InstanceMethod<&Tun::GetMtu>("getMtu"),
    InstanceMethod<&Tun::SetMtu>("setMtu"),
    InstanceMethod<&Tun::Close>("close"),
    InstanceAccessor<&Tun::GetName>("name"),
    InstanceAccessor<&Tun::GetFd>("fd"),
  });
}

// new Tun(nameOrFd, readBuffer, readMeta: Int32Array of [offset, length] pairs, multiQueue?)
Tun::Tun(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Tun>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3) throw Napi::TypeError::New(env, "Tun(nameOrFd, readBuffer, readMeta)");
  ByteView buf = GetBytes(info[1], "readBuffer");
  if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(env, "readMeta must be an Int32Array");
  if (buf.length < kMaxPacket) throw Napi::RangeError::New(env, "readBuffer must hold at least 65535 bytes");
  Napi::Int32Array meta = info[2].As<Napi::Int32Array>();
  readBuf_ = buf.data;
  readCap_ = buf.length;
  meta_ = meta.Data();
  maxBatch_ = meta.ElementLength() / 2;
  if (maxBatch_ == 0) throw Napi::RangeError::New(env, "readMeta too small");
  bufRef_ = Napi::Persistent(info[1].As<Napi::Object>());
  metaRef_ = Napi::Persistent(info[2].As<Napi::Object>());
  bool multiQueue = info.Length() > 3 && info[3].ToBoolean().Value();

  int fd;
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  if (info[0].IsNumber()) {
    // Attach to an inherited, already configured descriptor (WG_TUN_FD).
    fd = info[0].As<Napi::Number>().Int32Value();
    if (::ioctl(fd, TUNGETIFF, &ifr) < 0) throw ErrnoError(env, "TUNGETIFF on inherited fd", errno);
    int fl = ::fcntl(fd, F_GETFL);
    if (fl < 0 || ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) throw ErrnoError(env, "fcntl O_NONBLOCK", errno);
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  } else {
    std::string name = info[0].ToString().Utf8Value();
    if (name.size() >= IFNAMSIZ) throw Napi::RangeError::New(env, "interface name too long (max 15 bytes)");
    fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) throw ErrnoError(env, "open /dev/net/tun", errno);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (multiQueue ? IFF_MULTI_QUEUE : 0);
    std::memcpy(ifr.ifr_name, name.data(), name.size());
    if (::ioctl(fd, TUNSETIFF, &ifr) < 0) {
      int err = errno;
      ::close(fd);
      throw ErrnoError(env, "TUNSETIFF", err);
    }
  }
  name_.assign(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ));
  fd_.Adopt(fd);
}

Tun::~Tun() {
  fd_.Close();
  CloseCtl();
}

Napi::Value Tun::GetName(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), name_); }
Napi::Value Tun::GetFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_.fd()); }

void Tun::CheckOpen(Napi::Env env) {
  if (!fd_.open()) throw Napi::Error::New(env, "TUN device is closed");
}

// start(onRead(count), onError(errno, message))
Napi::Value Tun::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (info.Length() < 2 || !info[0].IsFunction() || !info[1].IsFunction())
    throw Napi::TypeError::New(env, "start(onRead, onError)");
  if (fd_.polling()) throw Napi::Error::New(env, "already started");
  onRead_ = Napi::Persistent(info[0].As<Napi::Function>());
  onError_ = Napi::Persistent(info[1].As<Napi::Function>());
  ctx_.reset(new Napi::AsyncContext(env, "wgts.tun"));
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  int r = fd_.Start(loop, this, &Tun::OnPoll);
  if (r != 0) throw Napi::Error::New(env, std::string("uv_poll_start: ") + uv_strerror(r));
  env_ = env;
  Ref();  // stay alive while the loop may call us
  // A worker thread's environment may end with the handle still polling: release it then,
  // and let the teardown wait until libuv has closed it.
  if (napi_add_async_cleanup_hook(env, &Tun::CleanupHook, this, &cleanupHook_) == napi_ok) hooked_ = true;
  return env.Undefined();
}

void Tun::OnPoll(void* owner, int status, int /*events*/) {
  Tun* self = static_cast<Tun*>(owner);
  if (status < 0) {
    self->Fail(-status == EBADF ? EBADFD : -status, uv_strerror(status));
    return;
  }
  self->ReadBatch();
}

void Tun::ReadBatch() {
  size_t off = 0;
  size_t count = 0;
  int err = 0;
  while (count < maxBatch_ && readCap_ - off >= kMaxPacket) {
    ssize_t n = ::read(fd_.fd(), readBuf_ + off, kMaxPacket);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) err = errno;
      break;
    }
    if (n == 0) {
      err = EBADFD;
      break;
    }
    meta_[2 * count] = static_cast<int32_t>(off);
    meta_[2 * count + 1] = static_cast<int32_t>(n);
    count++;
    off += (static_cast<size_t>(n) + 15) & ~static_cast<size_t>(15);
  }
  if (count > 0) {
    Napi::HandleScope scope(env_);
    CallJs(env_, onRead_, ctx_.get(), {Napi::Number::New(env_, static_cast<double>(count))});
  }
  // EBADFD / EIO: the interface went away (deleted); anything else is reported too.
  if (err != 0 && fd_.open()) Fail(err, std::strerror(err));
}

void Tun::Fail(int err, const char* message) {
  fd_.StopPoll();
  Napi::HandleScope scope(env_);
  CallJs(env_, onError_, ctx_.get(), {Napi::Number::New(env_, err), Napi::String::New(env_, message)});
}

// write(bytes) -> bytes written, or -errno (EAGAIN: the kernel queue is full; the packet is dropped)
Napi::Value Tun::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  ByteView b = GetBytes(info[0], "packet");
  ssize_t n;
  do {
    n = ::write(fd_.fd(), b.data, b.length);
  } while (n < 0 && errno == EINTR);
  return Napi::Number::New(env, n < 0 ? -errno : static_cast<double>(n));
}

Napi::Value Tun::GetMtu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  std::memcpy(ifr.ifr_name, name_.data(), name_.size());
  int r = IfaceIoctl(SIOCGIFMTU, &ifr);
  if (r < 0) throw ErrnoError(env, "SIOCGIFMTU", -r);
  return Napi::Number::New(env, ifr.ifr_mtu);
}

Napi::Value Tun::SetMtu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "setMtu(number)");
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  std::memcpy(ifr.ifr_name, name_.data(), name_.size());
  ifr.ifr_mtu = info[0].As<Napi::Number>().Int32Value();
  int r = IfaceIoctl(SIOCSIFMTU, &ifr);
  if (r < 0) throw ErrnoError(env, "SIOCSIFMTU", -r);
  return env.Undefined();
}

void Tun::CleanupHook(napi_async_cleanup_hook_handle handle, void* arg) {
  Tun* self = static_cast<Tun*>(arg);
  self->hooked_ = false;
  self->fd_.Close(handle);
}

Napi::Value Tun::Close(const Napi::CallbackInfo& info) {
  bool wasPolling = fd_.polling() || !onRead_.IsEmpty();
  fd_.Close();
  CloseCtl();
  if (hooked_) {
    napi_remove_async_cleanup_hook(cleanupHook_);
    hooked_ = false;
  }
  if (wasPolling && !onRead_.IsEmpty()) {
    onRead_.Reset();
    onError_.Reset();
    Unref();
  }
  return info.Env().Undefined();
}

}  // namespace wgts

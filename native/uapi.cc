// The UAPI unix socket (/var/run/wireguard/IFACE.sock) served from the addon:
// non-blocking accept and reads on the Node event loop, requests framed up to the
// first empty line, each complete request handed to JS (which answers with a
// string at once, or later through respond()), answers written with partial
// writes queued until the socket is writable. No node:net stream per client:
// `wg set` connects twice, and each node:net connection costs several hundred µs.
#include "uapi.h"

#include <sched.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

namespace wgts {

namespace {
constexpr char kEinval[] = "errno=-22\n\n";

// Index just past the empty line ending the first request, or npos. A leading empty line is a request too.
size_t FindRequestEnd(const std::string& s, size_t from) {
  if (!s.empty() && s[0] == '\n') return 1;
  if (s.size() < 2) return std::string::npos;
  size_t i = s.find("\n\n", from);
  return i == std::string::npos ? i : i + 2;
}

bool WellFormed(const std::string& r) {
  return r.size() >= 6 && (r.compare(0, 6, "get=1\n") == 0 || r.compare(0, 6, "set=1\n") == 0);
}
}  // namespace

Napi::Function UapiListener::Init(Napi::Env env) {
  return DefineClass(env, "UapiListener", {
    InstanceMethod<&UapiListener::Start>("start"),
    InstanceMethod<&UapiListener::Respond>("respond"),
    InstanceMethod<&UapiListener::Close>("close"),
    InstanceAccessor<&UapiListener::GetFd>("fd"),
    InstanceAccessor<&UapiListener::GetConnections>("connections"),
    InstanceAccessor<&UapiListener::GetOversize>("oversize"),
    InstanceAccessor<&UapiListener::GetRefused>("refused"),
  });
}

// new UapiListener(pathOrListeningFd, maxRequestBytes, maxConnections)
// A path is bound under umask 077 (the socket reachable by root only, like wireguard-go);
// a number is an already listening descriptor (WG_UAPI_FD), adopted and made non-blocking.
UapiListener::UapiListener(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UapiListener>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !(info[0].IsString() || info[0].IsNumber()) || !info[1].IsNumber() || !info[2].IsNumber())
    throw Napi::TypeError::New(env, "UapiListener(pathOrFd, maxRequestBytes, maxConnections)");
  double maxReq = info[1].As<Napi::Number>().DoubleValue();
  double maxConn = info[2].As<Napi::Number>().DoubleValue();
  if (!(maxReq >= 16 && maxReq <= 1073741824.0)) throw Napi::RangeError::New(env, "maxRequestBytes must be 16..1 GiB");
  if (!(maxConn >= 1 && maxConn <= 65536)) throw Napi::RangeError::New(env, "maxConnections must be 1..65536");
  maxRequest_ = static_cast<size_t>(maxReq);
  maxConnections_ = static_cast<size_t>(maxConn);
  if (info[0].IsNumber()) {
    int fd = info[0].As<Napi::Number>().Int32Value();
    int type = 0;
    socklen_t len = sizeof type;
    if (fd < 0 || ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) throw ErrnoError(env, "UAPI fd", fd < 0 ? EBADF : errno);
    if (type != SOCK_STREAM) throw ErrnoError(env, "UAPI fd", EINVAL);
    int fl = ::fcntl(fd, F_GETFL);
    if (fl < 0 || ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) throw ErrnoError(env, "UAPI fd", errno);
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    listen_.Adopt(fd);
    return;
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  struct sockaddr_un addr;
  std::memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) throw ErrnoError(env, "UAPI socket path", ENAMETOOLONG);
  std::memcpy(addr.sun_path, path.data(), path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw ErrnoError(env, "socket", errno);
  mode_t old = ::umask(0077);
  int r = ::bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr);
  int err = errno;
  ::umask(old);
  if (r < 0 || ::listen(fd, 511) < 0) {
    if (r == 0) err = errno;
    ::close(fd);
    throw ErrnoError(env, r < 0 ? "bind" : "listen", err);
  }
  listen_.Adopt(fd);
}

UapiListener::~UapiListener() {
  if (hooked_) {
    napi_remove_async_cleanup_hook(cleanupHook_);
    hooked_ = false;
  }
  CloseAll(nullptr);
}

Napi::Value UapiListener::GetFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), listen_.fd()); }
Napi::Value UapiListener::GetConnections(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(clients_.size()));
}
Napi::Value UapiListener::GetOversize(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), oversize_); }
Napi::Value UapiListener::GetRefused(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), refused_); }

// start(onRequest(id, text) -> string (the answer, written now) | undefined (answered later with respond(id, text)))
Napi::Value UapiListener::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_ || !listen_.open()) throw Napi::Error::New(env, "UAPI listener is closed");
  if (info.Length() < 1 || !info[0].IsFunction()) throw Napi::TypeError::New(env, "start(onRequest)");
  if (started_) throw Napi::Error::New(env, "already started");
  onRequest_ = Napi::Persistent(info[0].As<Napi::Function>());
  ctx_.reset(new Napi::AsyncContext(env, "wgts.uapi"));
  napi_get_uv_event_loop(env, &loop_);
  env_ = env;
  int r = listen_.Start(loop_, this, &UapiListener::OnListenPoll);
  if (r != 0) {
    onRequest_.Reset();
    throw Napi::Error::New(env, std::string("uv_poll_start: ") + uv_strerror(r));
  }
  started_ = true;
  spareFd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  Ref();  // stay alive while the loop may call us
  if (napi_add_async_cleanup_hook(env, &UapiListener::CleanupHook, this, &cleanupHook_) == napi_ok) hooked_ = true;
  return env.Undefined();
}

void UapiListener::OnListenPoll(void* owner, int status, int /*events*/) {
  UapiListener* self = static_cast<UapiListener*>(owner);
  if (status < 0) return;  // transient; the listener keeps polling
  self->Accept();
}

void UapiListener::Accept() {
  for (int i = 0; i < 64 && !closed_; i++) {
    int fd = ::accept4(listen_.fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if ((errno == EMFILE || errno == ENFILE) && spareFd_ >= 0) {
        // Out of descriptors: the pending connection would keep the level-triggered poll firing.
        // Free the spare, accept and close it (the client sees EOF), take the spare back (as libuv does).
        ::close(spareFd_);
        int drop = ::accept4(listen_.fd(), nullptr, nullptr, SOCK_CLOEXEC);
        if (drop >= 0) {
          ::close(drop);
          refused_++;
        }
        spareFd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (drop >= 0) continue;
      }
      return;  // EAGAIN, or an error the daemon survives
    }
    if (clients_.size() >= maxConnections_) {
      ::close(fd);
      refused_++;
      continue;
    }
    uint32_t id = nextId_++;
    if (id == 0) id = nextId_++;
    auto c = std::make_unique<Client>();
    c->id = id;
    c->owner = this;
    c->fd.Adopt(fd);
    // FdPoller clears the handle's back-pointer when the client closes: no event reaches a freed Client.
    if (c->fd.Start(loop_, c.get(), &UapiListener::OnClientPoll) != 0) continue;  // c closes fd
    clients_.emplace(id, std::move(c));
  }
}

void UapiListener::OnClientPoll(void* owner, int status, int events) {
  Client* c = static_cast<Client*>(owner);
  UapiListener* self = c->owner;
  // JS may close the listener (and drop its last reference) from inside the request callback:
  // hold the wrapper until this event is handled.
  self->Ref();
  self->ClientEvent(c->id, status, events);
  self->Unref();
}

void UapiListener::UpdateEvents(Client* c) {
  int ev = 0;
  // Read while no answer is pending (backpressure on pipelining), and to drain a closing client until it hangs up.
  if (!c->eof && !c->awaiting) ev |= UV_READABLE;
  if (c->outOff < c->out.size()) ev |= UV_WRITABLE;
  c->fd.SetEvents(ev);
}

void UapiListener::Drop(uint32_t id) { clients_.erase(id); }  // ~Client closes the poll handle and fd

bool UapiListener::Flush(Client* c) {
  while (c->outOff < c->out.size()) {
    ssize_t n = ::send(c->fd.fd(), c->out.data() + c->outOff, c->out.size() - c->outOff, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      Drop(c->id);
      return false;
    }
    c->outOff += static_cast<size_t>(n);
  }
  if (c->outOff == c->out.size()) {
    c->out.clear();
    c->outOff = 0;
    if (c->closing) {
      // Answer sent: FIN, then discard whatever the client still sends until it hangs up.
      ::shutdown(c->fd.fd(), SHUT_WR);
      if (c->eof) {
        Drop(c->id);
        return false;
      }
    }
  }
  UpdateEvents(c);
  return true;
}

bool UapiListener::Process(uint32_t id) {
  for (;;) {
    auto it = clients_.find(id);
    if (it == clients_.end()) return false;
    Client* c = it->second.get();
    if (c->awaiting || c->closing) break;
    size_t end = FindRequestEnd(c->in, c->scanned);
    if (end == std::string::npos) {
      c->scanned = c->in.size() > 0 ? c->in.size() - 1 : 0;
      if (c->eof) {
        c->in.clear();  // an incomplete request when the client is done: nothing to answer
        c->closing = true;
      }
      break;
    }
    std::string request = c->in.substr(0, end);
    c->in.erase(0, end);
    c->scanned = 0;
    if (!WellFormed(request)) {
      // Not the protocol at all: answer and stop reading this client.
      c->in.clear();
      c->out.append(kEinval);
      c->closing = true;
      break;
    }
    c->awaiting = true;
    std::string answer;
    bool now = false;
    {
      Napi::Env env(env_);
      Napi::HandleScope scope(env);
      uint32_t outer = dispatching_;
      dispatching_ = id;
      try {
        Napi::Value v = onRequest_.MakeCallback(env.Global(), {Napi::Number::New(env, id), Napi::String::New(env, request.data(), request.size())}, *ctx_);
        if (v.IsString()) {
          answer = v.As<Napi::String>().Utf8Value();
          now = true;
        }
      } catch (const Napi::Error&) {
        answer = kEinval;
        now = true;
      }
      dispatching_ = outer;
    }
    it = clients_.find(id);  // the callback may have closed everything
    if (it == clients_.end()) return false;
    c = it->second.get();
    if (now && c->awaiting) {
      c->awaiting = false;
      c->out.append(answer);
    }
  }
  auto it = clients_.find(id);
  if (it == clients_.end()) return false;
  return Flush(it->second.get());
}

// respond(id, text): the answer to the request that onRequest left pending, or — called from inside
// onRequest for the request it is handling — written at once, before onRequest returns (which must
// then return undefined). False when that client is gone.
Napi::Value UapiListener::Respond(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) throw Napi::Error::New(env, "UAPI listener is closed");
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsString()) throw Napi::TypeError::New(env, "respond(id, text)");
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  auto it = clients_.find(id);
  if (it == clients_.end() || !it->second->awaiting) return Napi::Boolean::New(env, false);
  Client* c = it->second.get();
  c->awaiting = false;
  c->out.append(info[1].As<Napi::String>().Utf8Value());
  if (id == dispatching_) {
    // Answered from inside onRequest (the daemon answers a validated set before applying it):
    // write it now; the next request of this client waits until onRequest has returned.
    Flush(c);
    // The client was just woken, often onto this CPU (a unix socket wakes its reader as a
    // synchronous wakeup), and onRequest still has the set to apply: let the client finish
    // first instead of waiting behind that work (`wg set` ~0.1–0.2 ms sooner, measured).
    sched_yield();
    return Napi::Boolean::New(env, true);
  }
  Process(id);
  return Napi::Boolean::New(env, true);
}

void UapiListener::ClientEvent(uint32_t id, int status, int events) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  Client* c = it->second.get();
  if (status < 0) {
    Drop(id);
    return;
  }
  if ((events & UV_WRITABLE) && !Flush(c)) return;
  if (!(events & UV_READABLE) || c->eof || c->awaiting) return;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(c->fd.fd(), buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      Drop(id);
      return;
    }
    if (n == 0) {
      c->eof = true;
      break;
    }
    if (c->closing) continue;  // answered and shut: discard until the client hangs up
    c->in.append(buf, static_cast<size_t>(n));
    if (c->in.size() > maxRequest_) {
      if (FindRequestEnd(c->in, c->scanned) == std::string::npos) {
        oversize_++;
        c->in.clear();
        c->in.shrink_to_fit();
        c->out.append(kEinval);
        c->closing = true;
        continue;
      }
      break;  // complete requests waiting: answer them first (the poll is level-triggered)
    }
  }
  if (c->closing) {
    if (c->eof && c->outOff >= c->out.size()) {
      Drop(id);
      return;
    }
    Flush(c);
    return;
  }
  Process(id);
}

void UapiListener::CloseAll(napi_async_cleanup_hook_handle hook) {
  closed_ = true;
  if (spareFd_ >= 0) {
    ::close(spareFd_);
    spareFd_ = -1;
  }
  clients_.clear();  // their poll handles close before the listener's (libuv closes in order)
  listen_.Close(hook);
}

void UapiListener::CleanupHook(napi_async_cleanup_hook_handle handle, void* arg) {
  UapiListener* self = static_cast<UapiListener*>(arg);
  self->hooked_ = false;
  self->CloseAll(handle);
}

// close(): stops listening and drops every client. The socket file is the caller's (JS unlinks it).
Napi::Value UapiListener::Close(const Napi::CallbackInfo& info) {
  if (closed_) return info.Env().Undefined();
  CloseAll(nullptr);
  if (hooked_) {
    napi_remove_async_cleanup_hook(cleanupHook_);
    hooked_ = false;
  }
  if (started_) {
    onRequest_.Reset();
    Unref();
  }
  return info.Env().Undefined();
}

}  // namespace wgts

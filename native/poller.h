// A non-blocking fd watched by libuv on the Node event loop. The owner gets
// OnReadable() on the loop thread; JS callbacks run through MakeCallback so
// microtasks drain after each batch, like any other Node I/O callback.
#pragma once

#include "common.h"
#include <unistd.h>

namespace wgts {

class FdPoller {
 public:
  using Handler = void (*)(void* owner, int status, int events);

  FdPoller() = default;
  FdPoller(const FdPoller&) = delete;
  FdPoller& operator=(const FdPoller&) = delete;
  ~FdPoller() { Close(); }

  // Takes ownership of fd; closes it on Close().
  void Adopt(int fd) { fd_ = fd; }
  int fd() const { return fd_; }
  bool open() const { return fd_ >= 0; }
  bool polling() const { return poll_ != nullptr; }

  int Start(uv_loop_t* loop, void* owner, Handler handler) {
    if (fd_ < 0) return UV_EBADF;
    if (poll_) return 0;
    owner_ = owner;
    handler_ = handler;
    poll_ = &(new Closing{})->poll;
    int r = uv_poll_init(loop, poll_, fd_);
    if (r != 0) {
      delete reinterpret_cast<Closing*>(poll_);
      poll_ = nullptr;
      return r;
    }
    poll_->data = this;
    r = uv_poll_start(poll_, UV_READABLE, &FdPoller::OnPoll);
    if (r != 0) StopPoll();
    return r;
  }

  // Changes the watched events (UV_READABLE | UV_WRITABLE); 0 pauses. Needs Start() first.
  int SetEvents(int events) {
    if (!poll_) return UV_EBADF;
    if (events == 0) return uv_poll_stop(poll_);
    return uv_poll_start(poll_, events, &FdPoller::OnPoll);
  }

  // `hook`: an environment teardown waiting for this handle; released once libuv is done
  // with it, so the addon is never unloaded while a close callback into it is pending.
  void StopPoll(napi_async_cleanup_hook_handle hook = nullptr) {
    if (!poll_) {
      if (hook) napi_remove_async_cleanup_hook(hook);
      return;
    }
    uv_poll_stop(poll_);  // also removes the fd from epoll, so closing it next is safe
    poll_->data = nullptr;
    reinterpret_cast<Closing*>(poll_)->hook = hook;
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), &FdPoller::OnClosed);
    poll_ = nullptr;
  }

  void Close(napi_async_cleanup_hook_handle hook = nullptr) {
    StopPoll(hook);
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

 private:
  struct Closing {
    uv_poll_t poll;  // first member: the uv handle pointer is the struct pointer
    napi_async_cleanup_hook_handle hook = nullptr;
  };

  static void OnClosed(uv_handle_t* h) {
    Closing* c = reinterpret_cast<Closing*>(h);
    napi_async_cleanup_hook_handle hook = c->hook;
    delete c;
    if (hook) napi_remove_async_cleanup_hook(hook);
  }

  static void OnPoll(uv_poll_t* h, int status, int events) {
    FdPoller* self = static_cast<FdPoller*>(h->data);
    if (!self || !self->handler_) return;
    self->handler_(self->owner_, status, events);
  }

  int fd_ = -1;
  uv_poll_t* poll_ = nullptr;
  void* owner_ = nullptr;
  Handler handler_ = nullptr;
};

// Calls a JS function from a libuv callback; a throw becomes an uncaught
// exception in Node (process 'uncaughtException'), never a C++ crash.
inline void CallJs(Napi::Env env, Napi::FunctionReference& fn, Napi::AsyncContext* ctx, std::initializer_list<napi_value> args) {
  if (fn.IsEmpty()) return;
  Napi::HandleScope scope(env);
  try {
    fn.MakeCallback(env.Global(), args, *ctx);
  } catch (const Napi::Error& e) {
    napi_fatal_exception(env, e.Value());
  }
}

}  // namespace wgts

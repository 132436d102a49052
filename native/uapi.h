#pragma once

#include <map>
#include <memory>
#include <string>
#include "poller.h"

namespace wgts {

// The UAPI unix socket served on the event loop without node:net: accepts, frames requests
// (up to the first empty line), hands each complete one to JS and writes the answer back.
class UapiListener : public Napi::ObjectWrap<UapiListener> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit UapiListener(const Napi::CallbackInfo& info);
  ~UapiListener() override;

 private:
  struct Client {
    uint32_t id = 0;
    UapiListener* owner = nullptr;
    FdPoller fd;
    std::string in;   // bytes read, not yet a complete request
    size_t scanned = 0;  // in[0..scanned) holds no request end
    std::string out;  // answer bytes not yet written
    size_t outOff = 0;
    bool awaiting = false;  // a request is with JS (async answer pending): read no further requests
    bool eof = false;       // the client shut down its side
    bool closing = false;   // close once `out` is written
  };

  static void OnListenPoll(void* owner, int status, int events);
  static void OnClientPoll(void* owner, int status, int events);
  static void CleanupHook(napi_async_cleanup_hook_handle handle, void* arg);
  void Accept();
  void ClientEvent(uint32_t id, int status, int events);
  // Answers complete requests while possible; false when the client was dropped.
  bool Process(uint32_t id);
  // Writes what is queued; false when the client was dropped.
  bool Flush(Client* c);
  void UpdateEvents(Client* c);
  void Drop(uint32_t id);
  void CloseAll(napi_async_cleanup_hook_handle hook);

  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Respond(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value GetFd(const Napi::CallbackInfo& info);
  Napi::Value GetConnections(const Napi::CallbackInfo& info);
  Napi::Value GetOversize(const Napi::CallbackInfo& info);
  Napi::Value GetRefused(const Napi::CallbackInfo& info);

  FdPoller listen_;
  std::map<uint32_t, std::unique_ptr<Client>> clients_;
  uint32_t nextId_ = 1;
  size_t maxRequest_ = 64u << 20;
  size_t maxConnections_ = 64;
  double oversize_ = 0;
  double refused_ = 0;
  bool started_ = false;
  int spareFd_ = -1;  // kept open to shed a connection when accept fails with EMFILE
  bool closed_ = false;
  uint32_t dispatching_ = 0;  // the client whose request onRequest is handling right now (0: none)
  Napi::FunctionReference onRequest_;
  std::unique_ptr<Napi::AsyncContext> ctx_;
  napi_env env_ = nullptr;
  uv_loop_t* loop_ = nullptr;
  napi_async_cleanup_hook_handle cleanupHook_ = nullptr;
  bool hooked_ = false;
};

}  // namespace wgts

#pragma once

#include <linux/if.h>
#include <memory>
#include "poller.h"

namespace wgts {

class Tun : public Napi::ObjectWrap<Tun> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit Tun(const Napi::CallbackInfo& info);
  ~Tun() override;

 private:
  static void OnPoll(void* owner, int status, int events);
  static void CleanupHook(napi_async_cleanup_hook_handle handle, void* arg);
  napi_async_cleanup_hook_handle cleanupHook_ = nullptr;
  bool hooked_ = false;
  void ReadBatch();
  void Fail(int err, const char* message);
  void CheckOpen(Napi::Env env);
  int IfaceIoctl(unsigned long req, struct ifreq* ifr);
  void CloseCtl();

  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value GetMtu(const Napi::CallbackInfo& info);
  Napi::Value SetMtu(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value GetName(const Napi::CallbackInfo& info);
  Napi::Value GetFd(const Napi::CallbackInfo& info);

  FdPoller fd_;
  int ctlFd_ = -1;  // for interface ioctls (MTU)
  std::string name_;
  uint8_t* readBuf_ = nullptr;
  size_t readCap_ = 0;
  int32_t* meta_ = nullptr;
  size_t maxBatch_ = 0;
  Napi::ObjectReference bufRef_;
  Napi::ObjectReference metaRef_;
  Napi::FunctionReference onRead_;
  Napi::FunctionReference onError_;
  std::unique_ptr<Napi::AsyncContext> ctx_;
  napi_env env_ = nullptr;
};

}  // namespace wgts

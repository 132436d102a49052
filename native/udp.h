#pragma once

#include <memory>
#include <netinet/in.h>
#include "poller.h"

namespace wgts {

// A UDP socket for the data plane: dual-stack when the host has IPv6,
// recvmmsg/sendmmsg batches through shared buffers (no allocation per packet).
class Udp : public Napi::ObjectWrap<Udp> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit Udp(const Napi::CallbackInfo& info);
  ~Udp() override;

  static constexpr int kMetaStride = 16;  // int32s per message in the meta arrays
  static constexpr size_t kControlSize = 128;  // room for IP_PKTINFO / IPV6_PKTINFO

 private:
  static void OnPoll(void* owner, int status, int events);
  static void CleanupHook(napi_async_cleanup_hook_handle handle, void* arg);
  napi_async_cleanup_hook_handle cleanupHook_ = nullptr;
  bool hooked_ = false;
  void RecvBatch();
  void CheckOpen(Napi::Env env);
  void BuildControl(size_t group, bool withSource);
  size_t SendGroupSingly(size_t group);

  Napi::Value Bind(const Napi::CallbackInfo& info);
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value SendBatch(const Napi::CallbackInfo& info);
  Napi::Value SetMark(const Napi::CallbackInfo& info);
  Napi::Value GsoEnabled(const Napi::CallbackInfo& info);
  Napi::Value LocalPort(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  FdPoller fd_;
  int family_ = 0;
  uint8_t* recvBuf_ = nullptr;
  size_t slotSize_ = 0;
  int32_t* recvMeta_ = nullptr;
  size_t recvMax_ = 0;
  size_t recvDirty_ = 0;  // messages the last recvmmsg filled (their headers need a reset)
  uint8_t* sendBuf_ = nullptr;
  size_t sendCap_ = 0;
  int32_t* sendMeta_ = nullptr;
  size_t sendMax_ = 0;
  std::unique_ptr<struct mmsghdr[]> recvMsgs_;
  std::unique_ptr<struct iovec[]> recvIov_;
  std::unique_ptr<struct sockaddr_in6[]> recvAddrs_;
  std::unique_ptr<struct mmsghdr[]> sendMsgs_;
  std::unique_ptr<struct iovec[]> sendIov_;
  std::unique_ptr<struct sockaddr_in6[]> sendAddrs_;
  std::unique_ptr<uint8_t[]> recvControl_;
  std::unique_ptr<uint8_t[]> sendControl_;
  std::unique_ptr<uint32_t[]> groupFirst_;  // send group → its first sendMeta row
  std::unique_ptr<size_t[]> groupBytes_;
  bool gso_ = false;
  Napi::ObjectReference refs_[4];
  Napi::FunctionReference onRecv_;
  Napi::FunctionReference onError_;
  std::unique_ptr<Napi::AsyncContext> ctx_;
  napi_env env_ = nullptr;
};

}  // namespace wgts

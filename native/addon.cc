// wgts native addon: TUN devices and batched UDP for kernel TUN mode.
#include "tun.h"
#include "udp.h"
#include "aead.h"
#include "blake2s.h"
#include "uapi.h"
#include "x25519.h"

Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  exports.Set("Tun", wgts::Tun::Init(env));
  exports.Set("Udp", wgts::Udp::Init(env));
  exports.Set("UapiListener", wgts::UapiListener::Init(env));
  exports.Set("aeadSeal", Napi::Function::New(env, wgts::AeadSeal, "aeadSeal"));
  exports.Set("aeadOpen", Napi::Function::New(env, wgts::AeadOpen, "aeadOpen"));
  exports.Set("xaeadSeal", Napi::Function::New(env, wgts::XaeadSeal, "xaeadSeal"));
  exports.Set("xaeadOpen", Napi::Function::New(env, wgts::XaeadOpen, "xaeadOpen"));
  exports.Set("blake2s", Napi::Function::New(env, wgts::Blake2sMac, "blake2s"));
  exports.Set("blake2sKdf", Napi::Function::New(env, wgts::Blake2sKdf, "blake2sKdf"));
  if (wgts::X25519Available()) {
    exports.Set("x25519", Napi::Function::New(env, wgts::X25519, "x25519"));
    exports.Set("x25519Base", Napi::Function::New(env, wgts::X25519Base, "x25519Base"));
  }
  exports.Set("version", Napi::Number::New(env, 1));
  return exports;
}

NODE_API_MODULE(wgts_native, InitAddon)

#pragma once

#include <napi.h>

namespace wgts {

// True when Node's OpenSSL exports its raw X25519 functions (then x25519 / x25519Base exist).
bool X25519Available();
Napi::Value X25519(const Napi::CallbackInfo& info);
Napi::Value X25519Base(const Napi::CallbackInfo& info);

}  // namespace wgts

// X25519 on raw 32-byte keys through the scalar multiplication inside Node's own OpenSSL.
//
// node:crypto only does X25519 on KeyObjects: every new public key (each handshake's peer
// ephemeral) is an import, and importing a private key derives its public key too, so a DH
// costs two or three scalar multiplications' worth of work plus object churn (~100 µs cold).
// OpenSSL's EVP API has the same import cost. Node's binary exports OpenSSL's internal
// ossl_x25519 / ossl_x25519_public_from_private (the same code EVP uses, with the x86-64
// assembly field arithmetic), which take raw bytes. They are looked up at run time: a Node
// linked against a shared libcrypto hides them, and then the addon does not offer X25519
// (the JS backend keeps node:crypto).
#include "x25519.h"

#include "common.h"  // ByteView, Bytes

#include <dlfcn.h>
#include <cstdint>
#include <cstring>

namespace wgts {
namespace {

// int ossl_x25519(uint8_t out[32], const uint8_t priv[32], const uint8_t pub[32]): 0 when the result is all zeros.
using X25519Fn = int (*)(uint8_t*, const uint8_t*, const uint8_t*);
// void ossl_x25519_public_from_private(uint8_t out[32], const uint8_t priv[32])
using X25519BaseFn = void (*)(uint8_t*, const uint8_t*);

struct Functions {
  X25519Fn dh = nullptr;
  X25519BaseFn base = nullptr;
  Functions() {
    dh = reinterpret_cast<X25519Fn>(dlsym(RTLD_DEFAULT, "ossl_x25519"));
    base = reinterpret_cast<X25519BaseFn>(dlsym(RTLD_DEFAULT, "ossl_x25519_public_from_private"));
    if (!dh || !base || !SelfTest()) dh = nullptr, base = nullptr;
  }
  // RFC 7748 §6.1: both public keys and the shared secret; refuses symbols with another meaning.
  bool SelfTest() const {
    static const uint8_t a[32] = {0x77, 0x07, 0x6d, 0x0a, 0x73, 0x18, 0xa5, 0x7d, 0x3c, 0x16, 0xc1, 0x72, 0x51, 0xb2, 0x66, 0x45,
                                  0xdf, 0x4c, 0x2f, 0x87, 0xeb, 0xc0, 0x99, 0x2a, 0xb1, 0x77, 0xfb, 0xa5, 0x1d, 0xb9, 0x2c, 0x2a};
    static const uint8_t aPub[32] = {0x85, 0x20, 0xf0, 0x09, 0x89, 0x30, 0xa7, 0x54, 0x74, 0x8b, 0x7d, 0xdc, 0xb4, 0x3e, 0xf7, 0x5a,
                                     0x0d, 0xbf, 0x3a, 0x0d, 0x26, 0x38, 0x1a, 0xf4, 0xeb, 0xa4, 0xa9, 0x8e, 0xaa, 0x9b, 0x4e, 0x6a};
    static const uint8_t bPub[32] = {0xde, 0x9e, 0xdb, 0x7d, 0x7b, 0x7d, 0xc1, 0xb4, 0xd3, 0x5b, 0x61, 0xc2, 0xec, 0xe4, 0x35, 0x37,
                                     0x3f, 0x83, 0x43, 0xc8, 0x5b, 0x78, 0x67, 0x4d, 0xad, 0xfc, 0x7e, 0x14, 0x6f, 0x88, 0x2b, 0x4f};
    static const uint8_t shared[32] = {0x4a, 0x5d, 0x9d, 0x5b, 0xa4, 0xce, 0x2d, 0xe1, 0x72, 0x8e, 0x3b, 0xf4, 0x80, 0x35, 0x0f, 0x25,
                                       0xe0, 0x7e, 0x21, 0xc9, 0x47, 0xd1, 0x9e, 0x33, 0x76, 0xf0, 0x9b, 0x3c, 0x1e, 0x16, 0x17, 0x42};
    uint8_t out[32];
    base(out, a);
    if (std::memcmp(out, aPub, 32) != 0) return false;
    if (dh(out, a, bPub) != 1 || std::memcmp(out, shared, 32) != 0) return false;
    return true;
  }
};

const Functions& Fns() {
  static const Functions f;
  return f;
}

ByteView Key32(const Napi::CallbackInfo& info, size_t i, const char* name) {
  ByteView b = Bytes(info, i, name);
  if (b.length != 32) throw Napi::RangeError::New(info.Env(), std::string(name) + " must be 32 bytes");
  return b;
}

}  // namespace

bool X25519Available() { return Fns().dh != nullptr; }

// x25519(priv, pub, out) -> true, or false when the result is all zeros (a low-order point; out is zeroed).
// The private key is clamped inside, as RFC 7748 says.
Napi::Value X25519(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3) throw Napi::TypeError::New(env, "x25519(priv, pub, out)");
  ByteView priv = Key32(info, 0, "priv");
  ByteView pub = Key32(info, 1, "pub");
  ByteView out = Key32(info, 2, "out");
  uint8_t result[32];
  bool ok = Fns().dh(result, priv.data, pub.data) == 1;
  if (!ok) std::memset(result, 0, 32);
  std::memcpy(out.data, result, 32);
  // The shared secret is key material: leave no copy on this stack frame.
  volatile uint8_t* wipe = result;
  for (int i = 0; i < 32; i++) wipe[i] = 0;
  return Napi::Boolean::New(env, ok);
}

// x25519Base(priv, out): the public key of a private key (clamped inside).
Napi::Value X25519Base(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2) throw Napi::TypeError::New(env, "x25519Base(priv, out)");
  ByteView priv = Key32(info, 0, "priv");
  ByteView out = Key32(info, 1, "out");
  uint8_t result[32];
  Fns().base(result, priv.data);
  std::memcpy(out.data, result, 32);
  return env.Undefined();
}

}  // namespace wgts

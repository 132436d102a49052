/** wg-quick configs: parse, serialize, strip, and the UAPI text they turn into. */
export { ConfigError } from './errors.js';
export { parseConfig, type ParseOptions } from './parse.js';
export { serializeConfig } from './serialize.js';
export { stripConfig, firstNonWgLine, type StrippedLine } from './strip.js';
export { configPermissionWarning } from './permissions.js';
export { resolveEndpoints, type Lookup } from './resolve.js';
export {
  toUapiSet,
  toUapiSync,
  configToSetDevice,
  formatUapiSet,
  formatEndpoint,
  parseUapiGet,
  parseUapiSetReply,
  UapiError,
  type ToUapiOptions,
  type UapiDevice,
  type UapiPeer,
  type UapiSetDevice,
  type UapiSetPeer,
  type UapiSetAllowedIP,
} from './uapi.js';
export { keyFromBase64, keyToBase64, keyFromHex, keyToHex, keyIsZero, KEY_LENGTH } from './keys.js';
export { parseIP, parseIPv4, parseIPv6, parsePrefix, formatIP, formatPrefix, hostBitsZero, type IpPrefix, type IpFamily } from './ip.js';
export { parseHostPort, formatHostPort, isIpLiteral, isHostname } from './values.js';
export * from './types.js';

export { CONFIG_KEYS, ConfigError, loadConfig, type PlatformConfig, resolveDataDir } from './config.ts';
export { type InitOptions, type InitResult, initPlatform } from './init-platform.ts';
export { CA_BUNDLE_PATH, CRL_PATH, platformPaths } from './paths.ts';
export { clearServeState, readServeState, type ServeState, writeServeState } from './serve-state.ts';
export { type PlatformHandle, type StartOptions, startPlatform } from './start-platform.ts';

export { resolveDataDir } from '../shared/data-dir.ts';
export { clearServeState, readServeState, type ServeState, writeServeState } from '../shared/serve-state.ts';
export {
  type CeremonyOptions,
  type CeremonyResult,
  exportRootKeyToFile,
  importRootKeyFromFile,
  runRootCeremony,
  takeRootKeyOffline,
} from './ca-ceremony.ts';
export { crlUrlOf, ocspUrlOf } from './ca-settings.ts';
export { CONFIG_KEYS, ConfigError, loadConfig, type PlatformConfig } from './config.ts';
export { type InitOptions, type InitResult, initPlatform } from './init-platform.ts';
export { JoinError, type JoinOptions, type JoinResult, joinNode } from './join-node.ts';
export { CA_BUNDLE_PATH, CRL_PATH, platformPaths, ROOT_CRL_PATH } from './paths.ts';
export { type PlatformHandle, type StartOptions, startPlatform } from './start-platform.ts';
